"""Reading a large audit document back: calamine reads what openpyxl read; only edited rows reach the ledger."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import openpyxl
import pytest

from crm_audit.documents.edits import EditedRow
from crm_audit.errors import InputError
from crm_audit.history.ledger import Ledger
from exporters.xlsx_readback import WorkbookReader, _sheets_with_formulas
from crm_audit.history.review import build_review
from crm_audit.history.pull import pull
from libreoffice import have_soffice
from test_workflow import D1, build, edit_workbook, env, scenario_deals  # noqa: F401  (env: the fixture)
from test_workflow import run as _run

NEW, FIXED, NOT_FIXED = "Не обработано", "Исправлено", "Не исправлено"
CODES = {"1.1": "open-deal-without-tasks", "1.8": "missing-source", "2.1": "missing-city-or-country"}


def same_as_openpyxl(path: Path, codes=CODES) -> list[EditedRow]:
    """The calamine read equals the openpyxl read (the reader before calamine), row for row."""
    reader = WorkbookReader(path, codes)
    fast = reader._read_calamine()
    assert fast is not None  # calamine read it
    assert fast == reader._read_openpyxl()
    assert fast == reader.read_edits()
    return fast




def _lo_resave(env, name: str) -> Path:
    out = env["dir"] / name
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{env['dir'] / 'lo-profile'}",
                    "--convert-to", "xlsx", "--outdir", str(out), str(env["out"])], check=True, capture_output=True, timeout=180)
    return out / env["out"].name


def test_calamine_reads_the_product_workbooks_like_openpyxl(env):
    # deal 9's formula-like title would become a formula when openpyxl edits the workbook below
    e1 = build(env["dir"] / "e1", [d for d in scenario_deals() if d["id"] != "9"], no_task={"1"})
    assert _run(env, e1, D1) == 0
    assert _sheets_with_formulas(env["out"]) == set()  # the product never writes a formula
    rows = same_as_openpyxl(env["out"])
    assert {(r.rule_id, r.deal_id, r.status) for r in rows} >= {("missing-source", "2", NEW), ("missing-city-or-country", "3", NEW)}
    lo = have_soffice()  # without it, the openpyxl-saved file only (README); in CI it must be there
    if lo:  # LibreOffice: shared strings, ids as numbers, its own styles
        resaved = _lo_resave(env, "lo1")
        assert _sheets_with_formulas(resaved) == set()
        assert [(r.rule_id, r.deal_id, r.status_raw, r.owner, r.status_cell) for r in same_as_openpyxl(resaved)] == [
            (r.rule_id, r.deal_id, r.status_raw, r.owner, r.status_cell) for r in rows]

    # a manager's edits: ids as numbers, rows reversed and deleted, a hand-typed status, «Не исправлено» without comment
    edit_workbook(env["out"], {
        ("1.8", "2"): {"Статус": "Не исправлено", "Комментарий": "Клиент не помнит", "Решение": "Принято", "Комментарий руководителя": 5},
        ("1.8", "6"): {"Статус": "Не исправлено"},
        ("2.1", "5"): {"Статус": "готово", "Комментарий": dt.datetime(2026, 11, 7)},
        ("2.1", "3"): {"Статус": "Исправлено", "ID правила": None},
    }, delete={("1.8", "7")}, reverse="1.8")
    assert _sheets_with_formulas(env["out"]) == set()
    rows = same_as_openpyxl(env["out"])
    by_key = {(r.rule_id, r.deal_id): r for r in rows}
    assert ("missing-source", "7") not in by_key
    two = by_key[("missing-source", "2")]
    assert two.decision == "Принято" and two.decision_note == "5" and two.comment == "Клиент не помнит"
    assert by_key[("missing-city-or-country", "5")].comment == "2026-11-07 00:00:00"
    assert by_key[("missing-city-or-country", "5")].problems and by_key[("missing-source", "6")].problems
    assert by_key[("missing-city-or-country", "3")].status == FIXED  # rule id column emptied: the sheet's code tells
    if lo:
        resaved = _lo_resave(env, "lo2")
        assert _sheets_with_formulas(resaved) == set()
        key = lambda r: (r.rule_id, r.deal_id, r.status_raw, r.comment, r.decision, r.decision_note, r.owner, r.status_cell)  # noqa: E731
        assert [key(r) for r in same_as_openpyxl(resaved)] == [key(r) for r in rows]

    # a formula typed in a cell: that sheet is read by openpyxl, the formula kept as written
    edit_workbook(env["out"], {("1.8", "4"): {"Комментарий": "=SUM(A1) проверю"}})
    assert {s.split(" ")[0] for s in _sheets_with_formulas(env["out"])} == {"1.8"}
    rows = same_as_openpyxl(env["out"])
    assert next(r for r in rows if r.deal_id == "4").comment == "=SUM(A1) проверю"


def test_calamine_reads_odd_cells_like_openpyxl(tmp_path):
    """Numbers, dates, times, booleans, gaps, a header off A1, escaped control characters."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "1.8 Нет источника"
    ws.append(["Ответственный", "ID сделки", " статус ", "Комментарий", "Решение", "Комментарий руководителя", "ID ПРАВИЛА", "ID сделки"])
    ws.append(["Иван", 123, "Не исправлено", dt.datetime(2026, 1, 2), None, 5, 7, 999])
    ws.append(["", "124", "готово", 1.5, "принято", "ок", None])
    ws.append([None, None, "Исправлено"])
    ws.append([None, 125.0, None, "a_x000D_b", None, None, "r1"])
    ws.append([True, 126, "Не исправлено", dt.time(10, 0), "Предупреждение", dt.datetime(2026, 1, 2, 10, 30), 3.5])
    ws.append([])
    ws.append([None, "127", "Исправлено", " ", None, None, 0])
    other = wb.create_sheet("2.1 Нет города")  # header not on the first row: not a rule sheet for either reader
    other["B2"], other["C2"], other["B3"], other["C3"] = "ID сделки", "Статус", 1, NEW
    shifted = wb.create_sheet("Заметки")
    shifted["C1"], shifted["D1"], shifted["C4"], shifted["D4"] = "ID сделки", "Статус", 7, FIXED
    wb.create_sheet("Пустой")
    path = tmp_path / "odd.xlsx"
    wb.save(path)
    rows = same_as_openpyxl(path, {"1.8": "missing-source", "Заметки": "notes"})
    assert [(r.rule_id, r.deal_id, r.row, r.status_cell) for r in rows] == [
        ("7", "123", 2, "C2"), ("missing-source", "124", 3, "C3"), ("", "", 4, "C4"), ("r1", "125", 5, "C5"),
        ("3.5", "126", 6, "C6"), ("missing-source", "127", 8, "C8"), ("notes", "7", 4, "D4")]
    # the status in a row without a deal id is reported at the id cell, never dropped silently
    assert [(p.code, p.cell) for p in rows[2].problems] == [("no-deal-id", "B4")]
    assert rows[0].comment == "2026-01-02 00:00:00" and rows[0].decision_note == "5" and rows[0].owner == "Иван"
    assert rows[1].owner is None and rows[1].problems and rows[1].decision == "Принято"
    assert rows[3].comment == "a_x000D_b" and rows[4].owner == "True" and rows[4].comment == "10:00:00"


def test_unreadable_document_is_reported(tmp_path):
    bad = tmp_path / "audit.xlsx"
    for content in (b"not a zip file", b"PK\x03\x04broken"):
        bad.write_bytes(content)
        with pytest.raises(InputError) as exc:
            WorkbookReader(bad).read_edits()
        assert "cannot read the previous audit document" in str(exc.value.problems[0].message)
        assert "nothing was overwritten" in str(exc.value.problems[0].message)


# ----------------------------------------------------------------------------- record_edits


def _ledger_with_audit(path: Path, keys, status=NEW, as_of="2026-11-06") -> tuple[Ledger, int]:
    from ledger_helpers import add_audit

    led = Ledger(path)
    audit_id = add_audit(led, as_of, [{"rule_id": r, "deal_id": d, "owner": "Иван", "status": status} for r, d in keys])
    return led, audit_id


def _row(deal, status=None, comment=None, decision=None, note=None, rule="missing-source"):
    return EditedRow.build(rule, deal, status_raw=status, comment=comment, decision_raw=decision, decision_note=note,
                           owner="Иван", sheet="1.8 Нет источника", row=2, status_cell="J2")


def test_record_edits_skips_untouched_rows_and_stores_changed_ones(tmp_path):
    keys = [("missing-source", str(i)) for i in range(1, 8)]
    led, a1 = _ledger_with_audit(tmp_path / "l.db", keys)
    with led:
        rows = [
            _row("1", NEW),  # as shown: skipped
            _row("2"),  # status cleared, nothing else: means the same, skipped
            _row("3", NOT_FIXED, "жду клиента"),
            _row("4", NEW, decision="Принято"),
            _row("5", FIXED),
            _row("6", " не обработано "),  # hand-typed, but it reads as what was shown: skipped
            _row("7", NEW, note="разберись"),
            _row("8", NEW),  # not in the audit's findings (a row a manager added): stored
        ]
        assert led.record_edits(rows, a1, "doc") == 5
        stored = led.last_edits()
        assert set(stored) == {("missing-source", d) for d in "34578"}
        assert stored[("missing-source", "3")]["comment"] == "жду клиента" and stored[("missing-source", "3")]["cell"] == "J2"
        assert led.record_edits(rows, a1, "doc") == 0  # the same document again
        # a row edited back to the default after an edit was stored differs from that edit: stored
        assert led.record_edits([_row("3", NEW)], a1, "doc") == 1
        assert led.last_edits()[("missing-source", "3")]["status"] == NEW
        # the same key twice in one document: compared with the row stored just before
        assert led.record_edits([_row("1", FIXED), _row("1", FIXED), _row("1", NEW)], a1, "doc") == 2

        # the next audit: «Исправлено» still failing is shown as «Не обработано» (a repeat); left as shown it is not
        # stored (the «Исправлено» edit stays the last one, so re-running that audit shows the same note)
        from ledger_helpers import add_audit

        a2 = add_audit(led, "2026-11-20", [{"rule_id": r, "deal_id": d, "owner": "Иван", "streak": 2, "status": NEW,
                                            "repeat": 1 if d == "5" else None} for r, d in keys])
        assert led.record_edits([_row("5", NEW), _row("2", NEW), _row("4", NEW)], a2, "doc") == 0
        last = led.last_edits()
        assert last[("missing-source", "5")]["status"] == FIXED
        assert ("missing-source", "2") not in last
        # a manager who answers in the new document is stored
        assert led.record_edits([_row("5", NOT_FIXED, "клиент не отвечает")], a2, "doc") == 1
        assert led.record_edits([_row("5", NEW)], a2, "doc") == 1  # and set back: differs from this document's stored edit
        last = led.last_edits()
        assert last[("missing-source", "5")]["status"] == NEW and last[("missing-source", "5")]["audit_id"] == a2
        # the review reads a skipped row from finding_audits: the same answer as a stored «Не обработано»
        rv = build_review(led, today=dt.date(2026, 11, 21))
        items = {i.deal_id: i for m in rv.managers for i in m.open}
        assert items["2"].status == NEW and items["2"].comment is None
        assert items["5"].status == NEW and items["5"].repeat
        assert items["3"].status == NEW  # edited in audit 1, shown as carried in audit 2's findings


def test_pull_of_a_large_workbook_stores_only_the_edited_rows(tmp_path):
    n = 20_000
    keys = [("missing-source", str(100_000 + i)) for i in range(n)]
    led, audit_id = _ledger_with_audit(tmp_path / "l.db", keys)
    edited = {
        10: (NOT_FIXED, "жду клиента", None, None),
        11: (NOT_FIXED, None, None, None),
        12: (FIXED, None, None, None),
        13: (NEW, None, "Принято", "ок"),
        14: (NOT_FIXED, "спорно", "Предупреждение", None),
        19_999: ("готово", "сделал", None, None),
    }
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("1.8 Нет источника")
    ws.append(["Ссылка на сделку", "ID сделки", "Ответственный", "Статус", "Комментарий", "Решение", "Комментарий руководителя", "ID правила"])
    for i, (rule, deal) in enumerate(keys):
        status, comment, decision, note = edited.get(i, (NEW, None, None, None))
        ws.append([f"https://example.com/deal/{deal}", float(deal) if i % 2 else deal, "Иван", status, comment, decision, note, rule])
    path = tmp_path / "audit.xlsx"
    wb.save(path)
    with led:
        res = pull(led, WorkbookReader(path, CODES), str(path))
        assert len(res.edits) == n and res.stored == len(edited)
        assert res.accepted == 1 and res.warned == 1
        assert {e.deal_id for e in res.problems} == {"100011", "119999"}
        assert led.con.execute("SELECT count(*) FROM edits").fetchone()[0] == len(edited)
        assert {k[1] for k in led.last_edits()} == {keys[i][1] for i in edited}
        assert [(w.rule_id, w.deal_id, w.note) for w in led.waivers()] == [("missing-source", "100013", "ок")]
        assert pull(led, WorkbookReader(path, CODES), str(path)).stored == 0  # pulled again: nothing new
