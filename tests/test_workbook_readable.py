"""Issue 16, point 5: the workbook answers a head of sales' questions without a second tool.

The FAQ explains every column the rule sheets have and how hits are counted;
rows past their due date and still «Не обработано» are highlighted; numbers
are numbers, right-aligned under right-aligned headers; «Учет попаданий» has
one-line date headers, rule titles, and a chart that shows something after a
single audit; a rule sheet prints landscape, fit to width, header repeated;
the ID and the head's columns warn on edit. Real runs of the CLI on the
bundled sample export and on the Bitrix24 fixture.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from crm_audit.cli import main
from crm_audit.documents.layout import HEADER_DUE, HEADER_STATUS, HEADER_STREAK, PROCESS_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = {
    "sample export": (ROOT / "crm_audit" / "demo_data" / "crm-audit.yaml", ROOT / "crm_audit" / "demo_data" / "pipedrive"),
    "bitrix24": (ROOT / "tests" / "fixtures" / "bitrix24" / "crm-audit.yaml", ROOT / "tests" / "fixtures" / "bitrix24" / "export"),
}


@pytest.fixture(scope="module", params=list(EXPORTS))
def workbook(request, tmp_path_factory):
    """The workbook of a first audit (one audit in the ledger), as `crm-audit run` writes it."""
    cfg, export = EXPORTS[request.param]
    d = tmp_path_factory.mktemp("readable")
    shutil.copy(cfg, d / "crm-audit.yaml")
    code = main(["run", "-c", str(d / "crm-audit.yaml"), "-e", str(export), "--as-of", "20.11.2026", "-o", str(d / "audit.xlsx"),
                 "--ledger", str(d / "crm-audit.db"), "-q"])
    assert code == 0
    return openpyxl.load_workbook(d / "audit.xlsx")


def _rule_sheets(wb):
    return [ws for ws in wb.worksheets if ws.title not in ("FAQ", "Учет попаданий")]


def _headers(ws) -> list[str]:
    out = []
    for cell in ws[1]:
        if cell.value is None:
            break
        out.append(cell.value)
    return out


def test_the_faq_explains_every_column_of_every_rule_sheet(workbook):
    faq = workbook["FAQ"]
    labels = {str(row[0].value) for row in faq.iter_rows(max_col=2) if row[0].value is not None}
    texts = " ".join(str(c.value) for row in faq.iter_rows(max_col=2) for c in row if c.value is not None)
    for ws in _rule_sheets(workbook):
        for header in _headers(ws):
            # a column of its own in the column list, or a rule's evidence column named in the rule's «Данные правила»
            assert header in labels or f"«{header}»" in texts, (ws.title, header)
    for p in PROCESS_COLUMNS:  # «Решение», «Комментарий руководителя», «Примечание», «Аудитов подряд», …
        assert p.header in labels
    assert "Как считаются попадания" in labels
    counted = next(row[1].value for row in faq.iter_rows(max_col=2) if row[0].value == "Как считаются попадания")
    assert "одна сделка на листе одного правила в одном аудите" in counted and "«Принято»" in counted


def test_rows_past_due_and_not_worked_on_are_highlighted(workbook):
    for ws in _rule_sheets(workbook):
        header = _headers(ws)
        s = openpyxl.utils.get_column_letter(header.index(HEADER_STATUS) + 1)
        d = openpyxl.utils.get_column_letter(header.index(HEADER_DUE) + 1)
        rules = [(str(rng.sqref), rule) for rng, rules in ws.conditional_formatting._cf_rules.items() for rule in rules]
        overdue = [(area, r) for area, r in rules if r.formula == [f'AND(${s}2="Не обработано",ISNUMBER(${d}2),${d}2<TODAY())']]
        assert len(overdue) == 1, ws.title
        area, rule = overdue[0]
        assert area.startswith("A2:") and rule.dxf.fill.fgColor.rgb.endswith("FFEB9C")


def test_numbers_are_numbers_right_aligned_under_right_aligned_headers(workbook):
    seen = 0
    for ws in _rule_sheets(workbook):
        header = _headers(ws)
        streak = header.index(HEADER_STREAK)
        assert ws.cell(1, streak + 1).alignment.horizontal == "right"
        assert ws.cell(1, header.index(HEADER_DUE) + 1).alignment.horizontal == "right"
        assert ws.cell(1, header.index(HEADER_STATUS) + 1).alignment.horizontal in (None, "general", "left")
        for row in ws.iter_rows(min_row=2, max_row=min(ws.max_row, 50)):
            for cell in row[: len(header)]:
                if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                    seen += 1
                    assert cell.alignment.horizontal == "right", (ws.title, cell.coordinate)
                    assert ws.cell(1, cell.column).alignment.horizontal == "right", (ws.title, ws.cell(1, cell.column).value)
            if ws.max_row > 1 and row[streak].value is not None:
                assert isinstance(row[streak].value, int)
    assert seen


def test_hits_sheet_reads_at_a_glance(workbook):
    ws = workbook["Учет попаданий"]
    head = [c.value for c in ws[1] if c.value is not None]
    rule_sheets = _rule_sheets(workbook)
    assert head[0] == "Менеджер" and head[-1] == "Всего" and len(head) == len(rule_sheets) + 2
    for text in head[1:-1]:
        code, _, title = text.partition(" ")
        assert title, text  # «1.1 Нет следующего дела», never a bare «1.1»
    for cell in ws[1][1:len(head) - 1]:
        assert cell.alignment.wrap_text and cell.alignment.horizontal == "right"
    # the history: one date column per audit, on one line, wide enough for dd.mm.yyyy
    hist = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "История: попадания по аудитам") + 1
    assert [ws.cell(hist, c).value for c in (1, 2, 3)] == ["Менеджер", "20.11.2026", "Всего"]
    date = ws.cell(hist, 2)
    assert not date.alignment.wrap_text and date.alignment.horizontal == "right"
    assert ws.column_dimensions["B"].width >= 12
    # after a single audit the chart is columns (a line through one point shows nothing), with data in it
    (chart,) = ws._charts
    assert chart.tagname == "barChart" and chart.type == "col" and chart.series


def test_a_rule_sheet_prints_readably(workbook):
    for ws in _rule_sheets(workbook):
        assert ws.page_setup.orientation == "landscape"
        # fit to two pages wide (a 20-column row on one page shrinks to ~2.4 pt), the deal's id and title on each page
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 2 and ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows == "$1:$1" and ws.print_title_cols == "$B:$C"
        assert int(ws.page_setup.paperSize) == 9  # A4


def test_id_and_head_columns_warn_on_edit_and_lock_nothing(workbook):
    for ws in _rule_sheets(workbook):
        header = _headers(ws)
        assert not ws.protection.sheet  # nothing locked: sorting and filtering keep working
        guards = [dv for dv in ws.data_validations.dataValidation if dv.type == "custom"]
        warned = {header[rng.min_col - 1] for dv in guards for rng in dv.sqref.ranges}
        assert warned >= {"ID сделки", "ID правила", "Комментарий руководителя"}
        assert all(dv.errorStyle == "warning" and "Продолжить" in dv.error for dv in guards)
        decision = next(dv for dv in ws.data_validations.dataValidation if dv.type == "list" and "Принято" in dv.formula1)
        assert decision.prompt.startswith("Заполняет руководитель")
