"""The read-back of a workbook a client saved (every sheet parsed, issue 17): the quick path for rows as the run
wrote them («Не обработано», nothing typed) gives exactly the rows the full check gives, on a generated workbook
with edits of every kind (calamine and openpyxl reads alike) and on the cell values either reader returns."""

from __future__ import annotations

import random

import openpyxl

from crm_audit.documents import layout
from crm_audit.documents.edits import EditedRow
from crm_audit.documents.sheet_rows import cell_text, parse_rule_sheet
from exporters.xlsx_readback import WorkbookReader, _calamine_value

NEW = layout.STATUS_NEW
HEADER = ["ID правила", layout.HEADER_DEAL_ID, "Сделка", layout.HEADER_OWNER, layout.HEADER_STATUS,
          layout.HEADER_COMMENT, layout.HEADER_DECISION, layout.HEADER_DECISION_NOTE]
LETTERS = {"status": "E", "comment": "F", "decision": "G"}


def full_check(title: str, rows: list[list], value=lambda v: v) -> list[EditedRow]:
    """Every data row through EditedRow.build (no quick path): what parse_rule_sheet must return."""
    out = []
    for r, row in enumerate(rows, start=2):
        def text(i):
            return cell_text(value(row[i])) if i < len(row) else None
        deal = text(1)
        if deal is None or not deal.strip():
            continue
        out.append(EditedRow.build(
            (text(0) or "").strip(), deal, status_raw=text(4), comment=text(5), decision_raw=text(6),
            decision_note=text(7), owner=text(3), sheet=title, row=r, status_cell=f"E{r}", comment_cell=f"F{r}",
            decision_cell=f"G{r}"))
    return out


def generated_rows(n: int, seed: int = 17) -> list[list]:
    """Rows as written (blank cells as None or "", ids as text, int or float) and edited ones of every kind."""
    rnd = random.Random(seed)
    edits = [
        ("Исправлено", None, None, None), ("Не исправлено", "звонил клиенту", None, None),
        ("Не исправлено", None, None, None), ("не  исправлено ", "  ", None, None), ("Не обработано", "коммент", None, None),
        ("Не обработано", None, "Принято", None), ("Не обработано", None, None, "заметка"), ("Что-то", None, None, None),
        ("Не обработано ", None, None, None), ("Не обработано", " ", None, None), ("Не обработано", None, "Странно", None),
        (None, None, None, None), ("", "", "", ""), (NEW, 0, None, None), (NEW, None, False, None),
    ]
    rows = []
    for i in range(n):
        deal = rnd.choice([str(1000 + i), 1000 + i, float(1000 + i), f"{1000 + i}.0", f" {1000 + i} ", f"D-{i}"])
        owner = rnd.choice(["Иванов", None, "", 7.0])
        if rnd.random() < 0.7:
            blank = rnd.choice([None, ""])
            status, comment, decision, note = NEW, blank, rnd.choice([None, ""]), rnd.choice([None, ""])
        else:
            status, comment, decision, note = rnd.choice(edits)
        row = [rnd.choice(["R1", "R1", None, ""]), deal, f"Сделка {i}", owner, status, comment, decision, note]
        rows.append(row[: rnd.choice([8, 8, 8, 7, 6, 5])] if status == NEW and not any(row[5:]) else row)
    rows.insert(5, [None, None, "", None, "Исправлено", None, None, None])  # work in a row without a deal id
    rows.insert(9, [])
    return rows


def test_quick_path_is_the_full_check_on_every_value_kind():
    rows = generated_rows(3000)
    got = parse_rule_sheet("1.1 Сделки", iter([HEADER, *rows]), {"1.1": "R1"})
    want = full_check("1.1 Сделки", rows)
    for e in want:  # a row without a rule id takes the sheet's (as parse_rule_sheet does)
        e.rule_id = e.rule_id or "R1"
    got_data = [e for e in got if e.deal_id]
    assert got_data == want
    assert sum(e.status == NEW and not e.problems for e in got_data) > 1500  # the quick path was taken
    assert any(e.problems for e in got_data)
    orphans = [e for e in got if not e.deal_id]
    assert [e.problems[0].code for e in orphans] == ["no-deal-id"]


def test_calamine_values_quick_path_equals_full_check():
    # calamine gives "" for an empty cell and floats for numbers; _calamine_value makes them openpyxl's
    rows = [[("" if v is None else float(v) if isinstance(v, int) and not isinstance(v, bool) else v) for v in row]
            for row in generated_rows(2000, seed=3)]
    got = [e for e in parse_rule_sheet("1.1 x", iter([HEADER, *rows]), {"1.1": "R1"}, value=_calamine_value) if e.deal_id]
    want = full_check("1.1 x", rows, _calamine_value)
    for e in want:
        e.rule_id = e.rule_id or "R1"
    assert got == want


def test_saved_workbook_with_edits_reads_the_same_by_calamine_and_openpyxl(tmp_path):
    rows = generated_rows(4000, seed=5)
    wb = openpyxl.Workbook()
    wb.active.title = "Сводка"
    wb.active.append(["не лист правила"])
    for title, part in (("1.1 Сделки без задач", rows[:2500]), ("1.8 Без источника", rows[2500:])):
        ws = wb.create_sheet(title)
        ws.append(HEADER)
        for row in part:
            ws.append([v if v != "" else None for v in row] if row else [None])
    path = tmp_path / "saved.xlsx"
    wb.save(path)  # as a client saves it: nothing recorded as written, every sheet parsed
    reader = WorkbookReader(path, {"1.1": "R1", "1.8": "R1"})
    fast = reader._read_calamine()
    assert fast is not None and reader.unchanged == []
    assert fast == reader._read_openpyxl()
    assert len([e for e in fast if e.deal_id]) == sum(1 for row in rows if row and cell_text(row[1]) and cell_text(row[1]).strip())
    assert {e.status for e in fast} >= {NEW, "Исправлено", "Не исправлено", None}
