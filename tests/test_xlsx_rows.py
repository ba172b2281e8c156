"""The rule sheets' data rows written column by column with Arrow (exporters/xlsx_rows.py) are the bytes the
per-row writer writes: quote prefixes, whitespace, multi-line rows, links and their cap, mixed columns (issue 17)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from openpyxl import Workbook

import exporters.xlsx as xlsx
from crm_audit.documents import build
from crm_audit.documents.model import Sheet, Table, TableColumn, linkable
from exporters.xlsx_rows import _SPACE_RE, _URL_RE

LONG = "длинный текст " * 2000  # past half of Excel's cell limit: cut to fit, cell by cell

TEXTS = [
    "Сделка 1", "=1+1", "+7 999 123-45-67", "-5 %", "@все", " ведущий пробел", "хвост ", "\u00a0неразрывный",
    "em\u2003", "x\u3000", "две\nстроки", "\n".join(["много"] * 12), "a & b < c > d \"кавычки\" 'апостроф'", None,
    "ё", "\t табуляция", "перевод\r\nстроки", LONG, "😀 эмодзи", "<t>не тег</t>",
]
URLS = [
    "https://demo.pipedrive.com/deal/1", "mailto:a@b.ru", "HTTP://X.RU/2", "https://x\ny", "ftp://nope",
    "https://" + "a" * 2100, None, "=HYPERLINK(\"https://x\")", "https://demo.pipedrive.com/deal/2?a=1&b=<2>",
    "Mailto:c@d.ru", " https://lead.space", "https://trail.space ",
]


def _column(values, n):
    return [values[i % len(values)] for i in range(n)]


def _sheet(n: int) -> Sheet:
    day = dt.date(2026, 11, 20)
    columns = [
        TableColumn(_column(URLS, n), build.LINK, links=True),
        TableColumn(_column([1, None, 2**40, -7, 0], n), build.NUMBER),
        TableColumn(_column(TEXTS, n), build.TEXT),
        TableColumn(_column([day, None, dt.date(1900, 1, 1), dt.date(1899, 12, 31), dt.date(2100, 2, 28)], n), build.DATE),
        TableColumn(_column([day, "не дата", 3, 2.5, None], n), build.DATE),  # a mixed column: cell by cell
        TableColumn(_column([1.5, None, 2.0, -0.1, 1e20], n), build.NUMBER),
        TableColumn(_column([2**70, 1, None], n), build.NUMBER),  # beyond int64: cell by cell
        TableColumn([None] * n, build.TEXT),
        TableColumn(_column(["Не обработано", "Исправлено", "=SUM(A1)"], n), build.TEXT),
    ]
    return Sheet("1.1 Проба", "rule", cells=[[None] * len(columns)], table=Table(columns, n))


def _both(sheet: Sheet) -> tuple[bytes, list, bytes, list]:
    wb = Workbook()
    ws = wb.active
    raw = xlsx._TableRows(ws, sheet, xlsx._StyleBook(ws))
    columnar = b"".join(bytes(c) if not isinstance(c, str) else c.encode() for c in raw.chunks(columnar=True))
    links_columnar = list(raw.links)
    rows = "".join(raw.chunks(columnar=False)).encode()
    return columnar, links_columnar, rows, list(raw.links)


@pytest.mark.parametrize("n", [1, 7, 40, 301])
def test_columnar_rows_are_the_per_row_writers_bytes(monkeypatch, n):
    monkeypatch.setattr(xlsx, "_COLUMNAR_ROWS_PER_CHUNK", 16)  # several blocks
    columnar, links_c, rows, links_r = _both(_sheet(n))
    assert columnar == rows
    assert links_c == links_r
    text = columnar.decode()
    assert "<f>" not in text and "<f " not in text  # never a formula
    if n >= 40:
        assert 'ht="120" customHeight="1"' in text  # twelve lines: the row shows eight
        assert "&lt;t&gt;не тег&lt;/t&gt;" in text and "a &amp; b" in text
        assert links_c[0] == ("A2", URLS[0]) and ("A3", "mailto:a@b.ru") in links_c


def test_the_hyperlink_cap_counts_across_blocks(monkeypatch):
    monkeypatch.setattr(xlsx, "_COLUMNAR_ROWS_PER_CHUNK", 5)
    monkeypatch.setattr(xlsx, "MAX_HYPERLINKS_PER_SHEET", 9)
    columnar, links_c, rows, links_r = _both(_sheet(60))
    assert columnar == rows and links_c == links_r
    assert len(links_c) == 9


def test_regexes_mean_what_python_means():
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    spaces = pc.match_substring_regex(pa.array(chars), _SPACE_RE).to_pylist()
    assert [c for c, s in zip(chars, spaces) if s != c.isspace()] == []
    urls = ["https://a", "HTTPS://a", "Http://a", "mailto:x", "MAILTO:x", "ftp://a", " https://a", "httpss://a", "https:"]
    got = pc.match_substring_regex(pa.array(urls), _URL_RE).to_pylist()
    assert got == [linkable(u) for u in urls]
