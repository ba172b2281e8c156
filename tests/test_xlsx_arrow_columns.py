"""The model hands the workbook writer Arrow slices of text, link and integer columns (issue 17: no Python object
per cell); the workbook is the one the list slices give, byte for byte, on adversarial cells."""

from __future__ import annotations

import datetime as dt
import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import exporters.xlsx as xlsx
from crm_audit.documents import build
from crm_audit.documents.cells import clean_text
from crm_audit.report import AuditReport, Column, RuleResult

TEXTS = ["Сделка 1", "=1+1", "", None, " ведущий пробел", "хвост ", "две\nстроки", "a & b < c > d", "\u00a0nbsp",
         "ё", "😀", "<t>не тег</t>", "длинный " * 3000]
URLS = ["https://demo.pipedrive.com/deal/1", "", None, " https://lead.space", "mailto:a@b.ru", "https://x\ny", "нет ссылки"]


def _cycle(values, n):
    return [values[i % len(values)] for i in range(n)]


def _report(n: int, *, control: bool = False) -> AuditReport:
    texts = TEXTS + (["управляющий\x07символ", "\x00"] if control else [])
    rows = pd.DataFrame({
        "deal_url": pd.Series(_cycle(URLS, n), dtype="str"),
        "deal_id": pd.Series([str(i) for i in range(n)], dtype="str"),
        "title": pd.Series(_cycle(texts, n), dtype="str"),
        "owner": pd.Series(_cycle(["Анна", "Борис", None], n), dtype="str"),
        "state": "Открыта", "reason": pd.Series([None] * n, dtype="str"), "pipeline": "Клиенты", "stage": "Квалификация",
        "ev0": np.arange(n, dtype=np.int64) * 1_000_003 - 7,
        "ev1": np.arange(n, dtype=np.int64),
        "ev2": np.arange(n, dtype=np.int64),
        "ev3": [dt.date(2026, 1, 1) + dt.timedelta(days=i % 40) if i % 3 else None for i in range(n)],
        "ev4": pd.Series(_cycle(texts[::-1], n), dtype="str"),
    })
    evidence = [Column("ev0", "Дней", "int"), Column("ev1", "Сумма", "number"), Column("ev2", "Число как текст", "text"),
                Column("ev3", "Дата", "date"), Column("ev4", "Текст", "text")]
    result = RuleResult("r", "2.4", "Правило", 2, "2.4 Правило", evidence, rows)
    return AuditReport(as_of=dt.date(2026, 11, 20), generated_at=dt.datetime(2026, 11, 20, 9, 0),
                       due_date=dt.date(2026, 11, 27), results=[result])


def _parts(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def _both(tmp_path, monkeypatch, report) -> tuple[dict, dict]:
    arrow = tmp_path / "arrow.xlsx"
    xlsx.write_workbook(report, arrow)
    monkeypatch.setattr(build.Converted, "arrow", lambda self, start, stop: None)
    lists = tmp_path / "lists.xlsx"
    xlsx.write_workbook(report, lists)
    return _parts(arrow), _parts(lists)


def test_arrow_slices_write_the_list_slices_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "_COLUMNAR_ROWS_PER_CHUNK", 16)  # several blocks
    report = _report(101)
    values = build.rule_sheet(report.results[0], "2.4 Правило", report).table.columns
    kinds = [type(c.values.arrow(0, 16)) if hasattr(c.values, "arrow") else None for c in values]
    assert kinds.count(pa.StringArray) >= 6 and kinds.count(pa.Int64Array) == 2  # the paths under test are taken
    arrow, lists = _both(tmp_path, monkeypatch, report)
    assert arrow.keys() == lists.keys() and arrow == lists
    sheet = next(v for k, v in arrow.items() if k.startswith("xl/worksheets/sheet") and b"<v>999996</v>" in v)
    assert b"<f>" not in sheet and "хвост ".encode() in sheet


def test_text_a_cell_must_clean_goes_the_list_way(tmp_path, monkeypatch):
    report = _report(30, control=True)
    title = build.rule_sheet(report.results[0], "2.4 Правило", report).table.columns[2].values
    assert title.arrow(0, 30) is None and title.arrow(0, 2) is not None
    arrow, lists = _both(tmp_path, monkeypatch, report)
    assert arrow == lists


def test_the_arrow_pattern_is_what_clean_text_removes():
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    hits = pc.match_substring_regex(pa.array(chars), build._ILLEGAL_RE2).to_pylist()
    assert [c for c, h in zip(chars, hits) if h != (clean_text(c) != c)] == []
