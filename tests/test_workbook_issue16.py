"""Issue 16, acceptance defects of the workbook: the deal title carries the link (D2), numbers are numbers and the
ID columns raise no "number stored as text" marker (D3), «Учет попаданий» says what changed since the last audit
(D1), a printed rule sheet is readable (D15). Real runs of the CLI on the bundled sample export."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from crm_audit.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "crm_audit" / "demo_data"


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """A first audit of the sample export: its folder and workbook path."""
    d = tmp_path_factory.mktemp("issue16")
    shutil.copy(DEMO / "crm-audit.yaml", d / "crm-audit.yaml")
    code = main(["run", "-c", str(d / "crm-audit.yaml"), "-e", str(DEMO / "pipedrive"), "--as-of", "20.11.2026",
                 "-o", str(d / "audit.xlsx"), "--ledger", str(d / "crm-audit.db"), "-q"])
    assert code == 0
    return d, d / "audit.xlsx"


def _rule_sheets(wb):
    return [ws for ws in wb.worksheets if ws.title not in ("FAQ", "Учет попаданий")]


def _column(ws, header: str) -> int:
    return next(c.column for c in ws[1] if c.value == header)


def test_the_deal_title_carries_the_deal_link(first):
    wb = openpyxl.load_workbook(first[1])
    checked = 0
    for ws in _rule_sheets(wb):
        url_c, title_c = _column(ws, "Ссылка на сделку"), _column(ws, "Название сделки")
        for row in ws.iter_rows(min_row=2):
            url, title = row[url_c - 1], row[title_c - 1]
            if url.value is None or title.value is None or not str(url.value).startswith("http"):
                continue
            assert url.hyperlink is not None and url.hyperlink.target == url.value  # the column the reference requires
            assert title.hyperlink is not None, (ws.title, title.coordinate)
            assert title.hyperlink.target == url.value
            assert title.font.u == "single"  # looks like a link
            assert title.data_type == "s"  # text, never a formula
            checked += 1
    assert checked > 100
    ws = wb["1.1 Открытые без задач"]
    assert ws["C2"].value == "Аудит сайта" and ws["C2"].hyperlink.target == "https://demo.pipedrive.com/deal/83"
