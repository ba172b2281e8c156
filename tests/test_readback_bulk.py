"""Reading a large audit document back: calamine reads what openpyxl read."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from crm_audit.cli import main
from crm_audit.errors import InputError
from crm_audit.initfile import render_settings
from crm_audit.readback import WorkbookReader, _sheets_with_formulas
from test_workflow import D1, build, edit_workbook, scenario_deals

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


@pytest.fixture()
def env(tmp_path):
    cfg = tmp_path / "crm-audit.yaml"
    cfg.write_text(render_settings("pipedrive"), encoding="utf-8")
    return {"cfg": cfg, "out": tmp_path / "audit.xlsx", "dir": tmp_path}


def _run(env, export, as_of):
    return main(["run", "-c", str(env["cfg"]), "--export", str(export), "--as-of", as_of, "--out", str(env["out"]), "--quiet"])


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
    lo = shutil.which("soffice") is not None
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
        ("7", "123", 2, "C2"), ("missing-source", "124", 3, "C3"), ("r1", "125", 5, "C5"), ("3.5", "126", 6, "C6"),
        ("missing-source", "127", 8, "C8"), ("notes", "7", 4, "D4")]
    assert rows[0].comment == "2026-01-02 00:00:00" and rows[0].decision_note == "5" and rows[0].owner == "Иван"
    assert rows[1].owner is None and rows[1].problems and rows[1].decision == "Принято"
    assert rows[2].comment == "a_x000D_b" and rows[3].owner == "True" and rows[3].comment == "10:00:00"


def test_unreadable_document_is_reported(tmp_path):
    bad = tmp_path / "audit.xlsx"
    for content in (b"not a zip file", b"PK\x03\x04broken"):
        bad.write_bytes(content)
        with pytest.raises(InputError) as exc:
            WorkbookReader(bad).read_edits()
        assert "cannot read the previous audit document" in str(exc.value.problems[0].message)
        assert "nothing was overwritten" in str(exc.value.problems[0].message)
