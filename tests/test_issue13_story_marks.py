"""Issue 13, acceptance R16: a «Исправлено» mark that did not fix the violation is counted by the audit right after it.

The HubSpot habit story (tests/fixtures/issue13-story: three English «all properties» exports two weeks apart). In the
20.11 workbook a manager marks 2.3/103 «Исправлено», but the task stays overdue: the 04.12 audit counts it
(«Исправлено», но осталось 1) and resets the row to «Не обработано» with a note. Nobody marks the row again, so the
18.12 audit counts 0 and the row has no note; 1.11/103, marked «Исправлено» in the 04.12 workbook and fixed, is gone.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl

from cli_helpers import findings_by_code, init_from_export, run_audit, mark_row

STORY = Path(__file__).parent / "fixtures" / "issue13-story"


_mark = mark_row


def _row(workbook: Path, code: str, deal: str) -> dict:
    wb = openpyxl.load_workbook(workbook)
    ws = next(wb[s] for s in wb.sheetnames if s.split(" ")[0] == code)
    header = [c.value for c in ws[1]]
    return next(dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True) if str(r[header.index("ID сделки")]) == deal)


def _fixed_failing(out: str) -> int:
    found = re.search(r"отмечено «Исправлено», но нарушение осталось: (\d+)", out)
    assert found, out
    return int(found.group(1))


def _first_audit(tmp_path, capsys, monkeypatch):
    """The story's three exports copied, init on the first, its audit of 20.11: (the work folder, its workbook)."""
    for d in STORY.iterdir():
        shutil.copytree(d, tmp_path / d.name)
    work = tmp_path / "work"
    work.mkdir()
    init_from_export(capsys, monkeypatch, work, "hubspot", tmp_path / "export-2026-11-20")
    run_audit(capsys, monkeypatch, work, tmp_path / "export-2026-11-20", "2026-11-20")
    return work, work / "audit.xlsx"


def test_a_fixed_mark_that_did_not_fix_is_counted_once(tmp_path, capsys, monkeypatch):
    work, book = _first_audit(tmp_path, capsys, monkeypatch)
    _mark(book, "2.3", "103", "Исправлено")  # the task stays overdue
    _mark(book, "1.1", "104", "Исправлено")  # fixed: task 507 in the next export

    out, _err = run_audit(capsys, monkeypatch, work, tmp_path / "export-2026-12-04", "2026-12-04")
    assert _fixed_failing(out) == 1
    row = _row(book, "2.3", "103")
    assert row["Статус"] == "Не обработано"
    assert row["Примечание"].startswith("Отмечено «Исправлено» в аудите от 20.11.2026, но нарушение осталось")
    assert "104" not in findings_by_code(work / "v.csv").get("1.1", set())
    _mark(book, "1.11", "103", "Исправлено")  # fixed: 103 gets its company in the next export

    out, _err = run_audit(capsys, monkeypatch, work, tmp_path / "export-2026-12-18", "2026-12-18")
    assert _fixed_failing(out) == 0
    row = _row(book, "2.3", "103")
    assert (row["Статус"], row["Примечание"]) == ("Не обработано", None)
    found = findings_by_code(work / "v.csv")
    assert found["2.3"] == {"101", "103", "104", "107"} and "1.11" not in found


def test_a_row_marked_again_after_the_reset_is_counted_again(tmp_path, capsys, monkeypatch):
    work, book = _first_audit(tmp_path, capsys, monkeypatch)
    _mark(book, "2.3", "103", "Исправлено")
    out, _err = run_audit(capsys, monkeypatch, work, tmp_path / "export-2026-12-04", "2026-12-04")
    assert _fixed_failing(out) == 1
    _mark(book, "2.3", "103", "Исправлено")  # the manager marks it again; still overdue on 18.12

    out, _err = run_audit(capsys, monkeypatch, work, tmp_path / "export-2026-12-18", "2026-12-18")
    assert _fixed_failing(out) == 1
    assert _row(book, "2.3", "103")["Примечание"].startswith("Отмечено «Исправлено» в аудите от 04.12.2026")


def test_skip_reasons_name_the_audited_exports_file_or_none(tmp_path, capsys, monkeypatch):
    """Acceptance R18: init's reasons end with the file it saw (dated by HubSpot); a later export's audit does not cite it."""
    for d in STORY.iterdir():
        shutil.copytree(d, tmp_path / d.name)
    work = tmp_path / "work"
    work.mkdir()
    settings = init_from_export(capsys, monkeypatch, work, "hubspot", tmp_path / "export-2026-11-20")
    assert "missing-source: в выгрузке нет поля «Источник сделки» (hubspot-crm-exports-all-deals-2026-11-20.csv)" in settings
    said = "1.8 Нет источника: Правило пропущено: правило выключено в настройках (rules: skip:): в выгрузке нет поля «Источник сделки»"
    out, _err = run_audit(capsys, monkeypatch, work, tmp_path / "export-2026-11-20", "2026-11-20")
    assert f"  {said} (hubspot-crm-exports-all-deals-2026-11-20.csv)" in out.splitlines()  # the file audited
    out, _err = run_audit(capsys, monkeypatch, work, tmp_path / "export-2026-12-04", "2026-12-04")
    assert f"  {said}" in out.splitlines()
    assert "2026-11-20.csv" not in out


def test_a_document_read_from_the_root_folder_keeps_its_leading_slash(tmp_path, monkeypatch):
    from crm_audit.cycle.request import ReadBack

    doc = ReadBack(str(tmp_path / "audit.xlsx"), "xlsx", "previous", None, None)
    monkeypatch.chdir("/")
    assert doc.name == str(tmp_path / "audit.xlsx")
    monkeypatch.chdir(tmp_path)
    assert doc.name == "audit.xlsx"
