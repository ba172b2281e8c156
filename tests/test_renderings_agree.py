"""The workbook and the Google Sheet are two renderings of one document model: they must agree.

The same report is written as an .xlsx workbook (read back with openpyxl)
and published to the fake Sheets server (what it stores). Both must have
the same sheets in the same order, the same header row and the same value in
every cell, links on the same cells, the same drop-downs, the same
conditional highlights (the invalid-status one included), and no formula
anywhere. The reports: the bundled sample export (every rule hit) and the
Bitrix24 fixture (its HTML «Excel» deal list; rules it cannot support are
skipped with a note), carried over with what managers typed: an unknown
status, an unknown decision, text that looks like a formula.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from crm_audit import settings
from crm_audit.documents.layout import (
    DECISIONS, HEADER_COMMENT, HEADER_DECISION, HEADER_DECISION_NOTE, HEADER_DUE, HEADER_RULE_ID, HEADER_STATUS, STATUSES,
)
from crm_audit.engine.audit import audit_export
from crm_audit.report import HitHistory
from exporters import gsheet
from exporters.xlsx import write_workbook
from fake_sheets.server import FakeSheets, Formula
from test_gsheet import _xlsx_grid  # the workbook's values as Google holds them (dates as serials)

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 11, 20)
EXPORTS = {
    "sample export": (ROOT / "crm_audit" / "demo_data" / "crm-audit.yaml", ROOT / "crm_audit" / "demo_data" / "pipedrive"),
    "bitrix24": (ROOT / "tests" / "fixtures" / "bitrix24" / "crm-audit.yaml", ROOT / "tests" / "fixtures" / "bitrix24" / "export"),
}
#: What managers and the head of sales typed in the previous document, carried over: (status, comment, decision).
TYPED = [
    ("исправил", "=SUM(A1) проверю", None),  # an unknown status; a comment that looks like a formula
    ("Не исправлено", None, "бред"),  # «Не исправлено» without a comment; an unknown decision
    (" не  исправлено ", "+7 999 123-45-67 перезвонить", "принято"),  # recognisable: tidied
    ("Исправлено", "@Анна проверь", None),
]


def _carried(report):
    """``report`` with TYPED carried into the first rows of the two largest rule sheets, and a hit history."""
    largest = sorted((r for r in report.results if r.count), key=lambda r: -r.count)[:2]
    results = []
    for r in report.results:
        if r in largest:
            rows = r.rows.copy()
            n = min(len(rows), len(TYPED))
            rows["status"] = [t[0] for t in TYPED[:n]] + [None] * (len(rows) - n)
            rows["comment"] = [t[1] for t in TYPED[:n]] + [None] * (len(rows) - n)
            rows["decision"] = [t[2] for t in TYPED[:n]] + [None] * (len(rows) - n)
            rows.loc[rows.index[0], "title"] = '=HYPERLINK("http://evil.example","жми")'
            r = dataclasses.replace(r, rows=rows)
        results.append(r)
    owners = sorted({str(o) for r in report.results if r.rows is not None for o in r.rows["owner"].dropna()})
    history = HitHistory([dt.date(2026, 11, 6), AS_OF], {o: [i % 3, i % 5 + 1] for i, o in enumerate(owners)}, {},
                         ["Новый Менеджер"])
    return dataclasses.replace(report, results=results, hit_history=history)


@pytest.fixture(scope="module", params=list(EXPORTS))
def rendered(request, tmp_path_factory):
    """(report, the workbook as openpyxl reads it, the spreadsheet as the fake stores it, the fake's request log)."""
    cfg, export = EXPORTS[request.param]
    report = _carried(audit_export(settings.load(str(cfg)), str(export), as_of=AS_OF))
    path = write_workbook(report, tmp_path_factory.mktemp("agree") / "audit.xlsx")
    wb = openpyxl.load_workbook(path)
    retry = gsheet.RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05, sleep=lambda s: None,
                               writes_per_minute=10**9, reads_per_minute=10**9)
    with FakeSheets() as fake:
        fake.create("AGREE_0123456789")
        gsheet.publish(report, gsheet.open_spreadsheet("AGREE_0123456789", client=fake.client(), retry=retry), retry=retry)
        assert fake.errors == [], fake.errors[:3]
        yield report, wb, fake.book("AGREE_0123456789"), list(fake.log)


def _a1(grid: dict) -> str:
    return (f"{get_column_letter(grid['startColumnIndex'] + 1)}{grid['startRowIndex'] + 1}:"
            f"{get_column_letter(grid['endColumnIndex'])}{grid['endRowIndex']}")


def _hex(style: dict | None) -> str | None:
    if not style:
        return None
    rgb = style["rgbColor"]
    return "".join(f"{round(rgb.get(k, 0) * 255):02X}" for k in ("red", "green", "blue"))


def test_same_sheets_headers_and_values(rendered):
    report, wb, book, _ = rendered
    assert book.titles() == wb.sheetnames
    assert wb.sheetnames[0] == "FAQ" and wb.sheetnames[-1] == "Учет попаданий" and len(wb.sheetnames) == len(report.results) + 2
    for ws in wb.worksheets:
        xlsx, google = _xlsx_grid(ws), book.sheet(ws.title).grid()
        assert google[0] == xlsx[0], ws.title  # the header row
        assert len(google) == len(xlsx), ws.title
        for r, (g, x) in enumerate(zip(google, xlsx)):
            assert g == x, (ws.title, r + 1)
    # the carried values arrive as typed where unknown, tidied where recognisable, in both
    largest = max(report.results, key=lambda r: r.count)
    ws = wb[largest.sheet_title]
    header = [c.value for c in ws[1]]
    status, comment, decision = (header.index(h) for h in (HEADER_STATUS, HEADER_COMMENT, HEADER_DECISION))
    grid = book.sheet(largest.sheet_title).grid()
    assert [(row[status], row[comment] if len(row) > comment else None, row[decision] if len(row) > decision else None)
            for row in grid[1:5]] == [
        ("исправил", "=SUM(A1) проверю", None),
        ("Не исправлено", None, "бред"),
        ("Не исправлено", "+7 999 123-45-67 перезвонить", "Принято"),
        ("Исправлено", "@Анна проверь", None),
    ][: largest.count]
    assert largest.count >= 2


def test_same_links(rendered):
    _, wb, book, _ = rendered
    ids = {s.title: s.sheet_id for s in book.sheets}
    links = 0
    for ws in wb.worksheets:
        sheet = book.sheet(ws.title)
        xlsx = {}
        for row in ws.iter_rows():
            for cell in row:
                if cell.hyperlink is not None:
                    target = cell.hyperlink.location or cell.hyperlink.target
                    if cell.hyperlink.location:  # FAQ -> a rule sheet: a location in the workbook, #gid= in Google
                        target = "#gid=" + str(ids[cell.hyperlink.location.rsplit("!", 1)[0].strip("'").replace("''", "'")])
                    xlsx[(cell.row - 1, cell.column - 1)] = target
        google = {key: sheet.link(*key) for key in sheet.formats if sheet.link(*key)}
        assert google == xlsx, ws.title
        links += len(xlsx)
    assert links > 0


def _xlsx_dropdowns(ws) -> dict[str, tuple[str, ...]]:
    out = {}
    for dv in ws.data_validations.dataValidation:
        if dv.type == "custom":  # a guard (a warning on edit), not a drop-down: see test_same_guarded_columns
            continue
        assert dv.type == "list" and dv.showErrorMessage  # strict: other values are rejected
        choices = tuple(dv.formula1.strip('"').split(","))
        for rng in str(dv.sqref).split():
            out[rng] = choices
    return out


def _google_dropdowns(sheet) -> dict[str, tuple[str, ...]]:
    by_col: dict[tuple[int, tuple], list[int]] = {}
    for (r, c), rule in sheet.validation.items():
        assert rule["condition"]["type"] == "ONE_OF_LIST" and rule["strict"] is True
        by_col.setdefault((c, tuple(v["userEnteredValue"] for v in rule["condition"]["values"])), []).append(r)
    out = {}
    for (c, choices), rows in by_col.items():
        assert rows == list(range(min(rows), max(rows) + 1))  # one contiguous range per column
        letter = get_column_letter(c + 1)
        out[f"{letter}{min(rows) + 1}:{letter}{max(rows) + 1}"] = choices
    return out


def test_same_dropdowns(rendered):
    report, wb, book, _ = rendered
    for result in report.results:
        ws = wb[result.sheet_title]
        xlsx, google = _xlsx_dropdowns(ws), _google_dropdowns(book.sheet(result.sheet_title))
        assert google == xlsx, result.sheet_title
        assert sorted(xlsx.values()) == sorted([DECISIONS, STATUSES])
    for title in ("FAQ", "Учет попаданий"):
        assert _xlsx_dropdowns(wb[title]) == {} and book.sheet(title).validation == {}


def _xlsx_highlights(ws) -> list[tuple]:
    return sorted(
        (str(rng.sqref), rule.formula[0], rule.dxf.fill.fgColor.rgb[-6:] if rule.dxf.fill is not None else None,
         rule.dxf.font.color.rgb[-6:] if rule.dxf.font is not None and rule.dxf.font.color is not None else None)
        for rng, rules in ws.conditional_formatting._cf_rules.items() for rule in rules
    )


def _google_highlights(sheet) -> list[tuple]:
    out = []
    for rule in sheet.cond:
        (grid,) = rule["ranges"]
        cond = rule["booleanRule"]["condition"]
        assert cond["type"] == "CUSTOM_FORMULA"
        formula = cond["values"][0]["userEnteredValue"]
        assert formula.startswith("=")
        fmt = rule["booleanRule"]["format"]
        out.append((_a1(grid), formula[1:], _hex(fmt.get("backgroundColorStyle")),
                    _hex(fmt.get("textFormat", {}).get("foregroundColorStyle"))))
    return sorted(out)


def test_same_highlights_the_invalid_status_one_included(rendered):
    report, wb, book, _ = rendered
    for result in report.results:
        ws = wb[result.sheet_title]
        xlsx, google = _xlsx_highlights(ws), _google_highlights(book.sheet(result.sheet_title))
        assert google == xlsx, result.sheet_title
        header = [c.value for c in ws[1]]
        s = get_column_letter(header.index(HEADER_STATUS) + 1)
        invalid = [h for h in google if h[1].startswith(f"AND(LEN(TRIM(${s}2))>0,")]
        assert invalid == [(f"{s}2:{s}{result.count + 1 + 1000}",
                            f'AND(LEN(TRIM(${s}2))>0,TRIM(${s}2)<>"Не обработано",TRIM(${s}2)<>"Исправлено",'
                            f'TRIM(${s}2)<>"Не исправлено")', "FFC7CE", "9C0006")], result.sheet_title


def test_no_formula_anywhere(rendered):
    _, wb, book, log = rendered
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    formula_like = [(s.title, k) for s in book.sheets for k, v in s.values.items() if isinstance(v, str) and v[:1] in "=+-@"]
    assert formula_like  # the carried comments and the title are there, as text
    assert not any(isinstance(v, Formula) for s in book.sheets for v in s.values.values())
    writes = [e["body"] for e in log if e["path"].endswith("values:batchUpdate")]
    assert writes and {w["valueInputOption"] for w in writes} == {"RAW"}
    assert "HYPERLINK(" not in json.dumps([e["body"] for e in log if e["path"].endswith(":batchUpdate")
                                           and "requests" in (e["body"] or {})], ensure_ascii=False)


def test_past_due_rows_still_not_worked_on_are_highlighted_in_both(rendered):
    report, wb, book, _ = rendered
    for result in report.results:
        ws = wb[result.sheet_title]
        header = [c.value for c in ws[1]]
        s = get_column_letter(header.index(HEADER_STATUS) + 1)
        d = get_column_letter(header.index(HEADER_DUE) + 1)
        last = get_column_letter(header.index(HEADER_RULE_ID) + 1)
        want = (f"A2:{last}{result.count + 1 + 1000}", f'AND(${s}2="Не обработано",ISNUMBER(${d}2),${d}2<TODAY())',
                "FFEB9C", "9C5700")
        assert want in _xlsx_highlights(ws) and want in _google_highlights(book.sheet(result.sheet_title)), result.sheet_title


def test_same_guarded_columns(rendered):
    """«ID сделки», «ID правила» and the head's columns warn on edit (never lock): Excel a warning validation, Google a
    warning-only protected range."""
    report, wb, book, _ = rendered
    for result in report.results:
        ws = wb[result.sheet_title]
        header = [c.value for c in ws[1]]
        guards = [dv for dv in ws.data_validations.dataValidation if dv.type == "custom"]
        assert guards and all(dv.errorStyle == "warning" and dv.showErrorMessage and dv.formula1 == "FALSE" for dv in guards)
        guarded = {header[c.min_col - 1] for dv in guards for rng in dv.sqref.ranges for c in [rng]}
        # «Решение» keeps its drop-down (a cell holds one validation): its prompt says the head fills it
        assert guarded == {"ID сделки", HEADER_RULE_ID, HEADER_DECISION_NOTE}, result.sheet_title
        google = book.sheet(result.sheet_title).protected
        assert google and all(p["warningOnly"] for p in google)
        covered = {header[c] for p in google for c in range(p["range"]["startColumnIndex"], p["range"]["endColumnIndex"])}
        assert {"ID сделки", HEADER_RULE_ID, HEADER_DECISION, HEADER_DECISION_NOTE} <= covered
        assert HEADER_STATUS not in covered and HEADER_COMMENT not in covered


def test_the_hits_chart_agrees(rendered):
    _, wb, book, _ = rendered
    (chart,) = wb["Учет попаданий"]._charts
    (google,) = book.sheet("Учет попаданий").charts
    spec = google["spec"]["basicChart"] if "spec" in google else google["chart"]["spec"]["basicChart"]
    assert chart.tagname == "lineChart" and spec["chartType"] == "LINE"  # two audits in the history: lines
