"""The document layer: one rule-sheet layout, one parser for every reader, the neutral sheet model.

* the same rule-sheet content read through the .xlsx reader and the Google
  reader (the fake Sheets server) gives identical EditedRows;
* every problem names its own cell;
* a carried-over status or decision that is none of the choices is highlighted;
* the model holds what the workbook shows (links, drop-downs, no formula).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crm_audit.documents import build, layout
from crm_audit.documents.edits import EditedRow, EditProblem
from crm_audit.documents.sheet_rows import parse_rule_sheet
from crm_audit.report import BASE_COLUMNS, AuditReport, Column, RuleResult
from exporters.xlsx import write_workbook
from exporters.xlsx_readback import WorkbookReader
from fake_sheets.server import FakeSheets
from libreoffice import have_soffice

AS_OF = dt.date(2026, 11, 20)
BY_CODE = {"1.8": "missing-source", "2.4": "no-stage-movement"}

# A rule sheet as a manager leaves it: columns reordered, «ID правила» deleted
# on one sheet, ids turned into numbers, hand-typed values, problems.
HEADER = ["Комментарий", "ID сделки", "Ответственный", " статус ", "Решение", "Комментарий руководителя", "ID правила"]
SHEETS = {
    "reordered": ("1.8 Нет источника", [
        HEADER,
        ["проверю", 101.0, "Анна", "не  исправлено", None, None, "missing-source"],
        [None, "102", "Борис", "Не исправлено", "Принято", "ок", "missing-source"],
        ["=SUM(A1) сделал", 103, "Анна", "исправил", "бред", None, None],
        [None, None, "Вера", "Исправлено", None, None, "missing-source"],  # no deal id: reported, not read
        [None, "104", None, "ИСПРАВЛЕНО", "предупреждение", "повтор", "missing-source"],
    ]),
    "rule id column deleted": ("2.4 Нет движения", [
        HEADER[:-1],
        [None, "201", "Анна", "Не исправлено", None, None],
        ["ок", 202.0, "Борис", None, "Принято", None],
    ]),
    "not a rule sheet": ("Заметки", [
        ["Менеджер", "Всего"],
        ["Анна", 3],
    ]),
}


def _xlsx_rows(tmp_path: Path, title: str, rows: list[list]) -> list[EditedRow]:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # typed as text by the manager's client, not a formula
    path = tmp_path / "audit.xlsx"
    wb.save(path)
    return WorkbookReader(path, BY_CODE).read_edits()


def _google_rows(title: str, rows: list[list]) -> list[EditedRow]:
    from exporters import gsheet

    names = {f.name for f in dataclasses.fields(gsheet.RetryPolicy)}
    options = {"attempts": 2, "base_delay": 0.01, "max_delay": 0.05, "sleep": lambda s: None,
               "writes_per_minute": 10**9, "reads_per_minute": 10**9}
    retry = gsheet.RetryPolicy(**{k: v for k, v in options.items() if k in names})
    with FakeSheets() as fake:
        book = fake.create("doc-layer-key", sheets=(title,))
        sheet = book.sheet(title)
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row):
                sheet.set(f"{openpyxl.utils.get_column_letter(c + 1)}{r}", value)
        spreadsheet = gsheet.open_spreadsheet("doc-layer-key", client=fake.client(), retry=retry)
        out = gsheet.GoogleSheetReader(spreadsheet, BY_CODE, retry=retry).read_edits()
        assert fake.errors == []
    return out


@pytest.mark.parametrize("case", list(SHEETS))
def test_xlsx_and_google_readers_read_a_rule_sheet_alike(tmp_path, case):
    title, rows = SHEETS[case]
    from_xlsx = _xlsx_rows(tmp_path, title, rows)
    from_google = _google_rows(title, rows)
    assert from_xlsx == from_google
    summary = [(e.rule_id, e.deal_id, e.status, e.comment, e.decision, e.owner) for e in from_xlsx]
    assert summary == {
        "reordered": [
            ("missing-source", "101", "Не исправлено", "проверю", None, "Анна"),
            ("missing-source", "102", "Не исправлено", None, "Принято", "Борис"),
            ("missing-source", "103", None, "=SUM(A1) сделал", None, "Анна"),  # rule id from the sheet title's code
            ("", "", None, None, None, None),  # the row without a deal id: only its problem (at B5) is kept
            ("missing-source", "104", "Исправлено", None, "Предупреждение", None),
        ],
        "rule id column deleted": [
            ("no-stage-movement", "201", "Не исправлено", None, None, "Анна"),
            ("no-stage-movement", "202", None, "ок", "Принято", "Борис"),
        ],
        "not a rule sheet": [],
    }[case]


def test_every_problem_names_its_own_cell(tmp_path):
    title, rows = SHEETS["reordered"]
    edits = {e.deal_id: e for e in _xlsx_rows(tmp_path, title, rows)}
    # columns: A Комментарий, B ID сделки, C Ответственный, D Статус, E Решение
    assert [(p.code, p.cell) for p in edits["102"].problems] == [("missing-comment", "A3")]
    assert [(p.code, p.cell) for p in edits["103"].problems] == [("unknown-status", "D4"), ("unknown-decision", "E4")]
    assert edits["101"].problems == [] and edits["104"].problems == []
    assert edits["103"].status_raw == "исправил" and edits["103"].decision_raw == "бред"  # kept as written
    assert [str(p) for p in edits["103"].problems] == [
        "unknown status «исправил» (expected one of: Не обработано, Исправлено, Не исправлено)",
        "unknown decision «бред» (expected one of: Принято, Предупреждение)",
    ]


def test_a_missing_comment_without_the_comment_column_is_reported_at_the_status_cell():
    rows = [["ID сделки", "Статус", "ID правила"], ["7", "Не исправлено", "r"]]
    (edit,) = parse_rule_sheet("1.1 Нет задач", rows)
    assert edit.problems == [EditProblem("missing-comment", "«Не исправлено» without a comment (the comment is mandatory)", "B2")]


def test_the_rule_id_most_rows_carry_fills_a_cleared_cell_when_the_title_has_no_known_code():
    rows = [["ID сделки", "Статус", "ID правила"], ["1", None, "r1"], ["2", None, None], ["3", None, "r1"], ["4", None, "r2"]]
    assert [(e.rule_id, e.deal_id) for e in parse_rule_sheet("Переименованный лист", rows)] == [
        ("r1", "1"), ("r1", "2"), ("r1", "3"), ("r2", "4")]


# --------------------------------------------------------------------------- the workbook


def _report(**extra_columns) -> AuditReport:
    rows = pd.DataFrame({
        "deal_url": ["https://crm.example/deal/1", "https://crm.example/deal/2", "javascript:alert(1)"],
        "deal_id": ["1", "2", "3"],
        "title": ["=HYPERLINK(\"x\")", "+7 999", "@who"],
        "owner": ["-Анна", "Борис", None],
        "state": ["Открыта"] * 3,
        "reason": [None] * 3,
        "pipeline": ["Клиенты"] * 3,
        "stage": ["=1+2", "Квалификация", "Квалификация"],
        "days": [20, 15, 30],
        **extra_columns,
    })
    result = RuleResult("no-stage-movement", "2.4", "Нет движения", 2, "2.4 Нет движения",
                        [Column("days", "Дней на этапе", "int")], rows, what="что", why="почему", how="как")
    return AuditReport(AS_OF, dt.datetime(2026, 11, 20, 9, 0), AS_OF + dt.timedelta(days=3), [result], deal_count=3)


def test_an_unknown_carried_status_and_decision_are_highlighted_on_their_cells(tmp_path):
    report = _report(status=["исправил", "не исправлено ", None], comment=[None, "почему", None],
                     decision=[None, "бред", "принято"])
    path = write_workbook(report, tmp_path / "a.xlsx")
    ws = openpyxl.load_workbook(path)["2.4 Нет движения"]
    header = [c.value for c in ws[1]]
    status = openpyxl.utils.get_column_letter(header.index("Статус") + 1)  # J
    decision = openpyxl.utils.get_column_letter(header.index("Решение") + 1)  # P
    assert (status, decision) == ("J", "P")
    # kept as written when unknown, tidied when recognisable
    assert [ws[f"{status}{r}"].value for r in (2, 3, 4)] == ["исправил", "Не исправлено", "Не обработано"]
    assert [ws[f"{decision}{r}"].value for r in (2, 3, 4)] == [None, "бред", "Принято"]
    rules = {str(rng.sqref): [(r.formula, r.dxf.fill.fgColor.rgb, r.dxf.font.color.rgb if r.dxf.font else None) for r in rs]
             for rng, rs in ws.conditional_formatting._cf_rules.items()}
    assert rules["A2:R1004"][0][0] == ['AND($J2="Не исправлено",LEN(TRIM($K2))=0)']  # «Не исправлено» without a comment
    assert rules["J2:J1004"] == [(
        ['AND(LEN(TRIM($J2))>0,TRIM($J2)<>"Не обработано",TRIM($J2)<>"Исправлено",TRIM($J2)<>"Не исправлено")'],
        "00FFC7CE", "009C0006")]
    assert rules["P2:P1004"] == [(['AND(LEN(TRIM($P2))>0,TRIM($P2)<>"Принято",TRIM($P2)<>"Предупреждение")'],
                                  "00FFC7CE", "009C0006")]
    if have_soffice():  # the highlight survives a save in LibreOffice Calc, as a manager's client does it
        profile = tmp_path / "lo-profile"
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{profile}", "--convert-to", "xlsx",
                        "--outdir", str(tmp_path / "lo"), str(path)], check=True, capture_output=True, timeout=180)
        resaved = openpyxl.load_workbook(tmp_path / "lo" / "a.xlsx")["2.4 Нет движения"]
        formulas = [r.formula for rs in resaved.conditional_formatting._cf_rules.values() for r in rs]
        assert any("TRIM($J2)" in f[0] and "Не исправлено" in f[0] for f in formulas)


def test_the_model_holds_what_the_workbook_shows(tmp_path):
    report = _report()
    document = build.build_document(report)
    faq, rule, hits = document.sheets
    assert [s.title for s in document.sheets] == ["FAQ", "2.4 Нет движения", "Учет попаданий"]
    link = next(c for row in faq.cells for c in row if c is not None and c.link is not None)
    assert (link.value, link.link.sheet, link.link.url) == ("2.4 Нет движения", "2.4 Нет движения", None)
    assert [c.value for c in rule.cells[0][:9]] == [c.title for c in BASE_COLUMNS] + ["Дней на этапе"]
    assert [c.value for c in rule.cells[0][9:18]] == list(layout.rule_sheet_headers(report.results[0])[9:])
    table = rule.table
    assert table.rows == 3 and table.columns[0].links and list(table.columns[8].values) == [20, 15, 30]
    assert list(table.columns[9].values) == ["Не обработано"] * 3 and list(table.columns[10].values) == [None] * 3
    assert list(table.columns[11].values) == [dt.date(2026, 11, 23)] * 3 and list(table.columns[12].values) == [AS_OF] * 3
    assert [r.value for r in rule.roles].count("manager") == 2 and [r.value for r in rule.roles].count("head") == 2
    assert [(v.column, v.first_row, v.last_row, v.choices, v.strict) for v in rule.validations] == [
        (9, 1, 1003, layout.STATUSES, True), (15, 1, 1003, layout.DECISIONS, True)]

    path = write_workbook(report, tmp_path / "a.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["2.4 Нет движения"]
    assert ws["A2"].hyperlink.target == "https://crm.example/deal/1" and ws["A4"].hyperlink is None
    assert wb["FAQ"].cell(
        next(r for r in range(1, 80) if wb["FAQ"].cell(r, 1).value == "2.4 Нет движения"), 1).hyperlink.location == "'2.4 Нет движения'!A1"
    # no cell anywhere is a formula; formula-like text is text with the quote prefix
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    assert [(ws[a].value, ws[a].data_type, ws[a].quotePrefix) for a in ("C2", "C3", "C4", "D2", "H2")] == [
        ('=HYPERLINK("x")', "s", True), ("+7 999", "s", True), ("@who", "s", True), ("-Анна", "s", True), ("=1+2", "s", True)]
    hits = wb["Учет попаданий"]
    assert [[c.value for c in row] for row in hits.iter_rows(min_row=1, max_row=5, max_col=3)] == [
        ["Менеджер", "2.4 Нет движения", "Всего"], ["(без ответственного)", 1, 1], ["-Анна", 1, 1], ["Борис", 1, 1], ["Итого", 3, 3]]
    assert hits["A3"].data_type == "s" and hits["A3"].quotePrefix
