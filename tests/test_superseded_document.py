"""A new dated file per audit: a manager who types into the OLDER file after the next audit exists loses nothing.

The tester's story (issue 16 acceptance H, D1) in small: three audits written to new file names from different
folders; the older file is edited with openpyxl after audit 2; audit 3 reads it (its edits are the older audit's: a
newer document's own edit wins), says which file and how many rows; an unchanged, re-saved or deleted older file says
nothing; a dry run writes nothing; ``pull`` and ``review`` read it too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from pathlib import Path

import openpyxl
import pytest

from crm_audit import AuditRequest, run_cycle
from crm_audit.cli import main
from crm_audit.history.ledger import Ledger
from test_workflow import D1, D2, build, edit_workbook, env, scenario_deals, sheet_rows  # noqa: F401  (env: the fixture)

D3 = "2026-12-04"


def _req(env, export, as_of, out, **kw):
    return AuditRequest(env["cfg"], export, dt.date.fromisoformat(as_of), out, **kw)


def _type_into(path: Path, sheet_prefix: str, deal: str, status: str | None, comment: str | None) -> None:
    """What the tester did: open the workbook with openpyxl, set two cells of one row, save."""
    wb = openpyxl.load_workbook(path)
    ws = next(ws for ws in wb.worksheets if ws.title.startswith(sheet_prefix + " "))
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if str(row[header.index("ID сделки")].value) == deal:
            row[header.index("Статус")].value = status
            row[header.index("Комментарий")].value = comment
    wb.save(path)


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def story(env):
    """Audits 1 and 2 written to out/audit-<date>.xlsx; audit 2's document has the manager's own word on deal 4."""
    d = env["dir"]
    (d / "out").mkdir()
    e1 = build(d / "e1", scenario_deals(), no_task={"1"})
    old, newer = d / "out" / f"audit-{D1}.xlsx", d / "out" / f"audit-{D2}.xlsx"
    run_cycle(_req(env, e1, D1, old))
    edit_workbook(old, {("1.8", "4"): {"Статус": "Не исправлено", "Комментарий": "первое слово"}})
    run_cycle(_req(env, e1, D2, newer))
    _type_into(newer, "1.8", "4", "Не исправлено", "новое слово")
    (d / "out3").mkdir()
    return {**env, "e1": e1, "old": old, "newer": newer, "out3": d / "out3" / f"audit-{D3}.xlsx"}


def _superseded(res):
    return [n for n in res.notices if n.code == "superseded-edited"]


def test_an_edit_in_the_older_file_reaches_the_ledger_and_the_new_document_a_newer_edit_wins(story, monkeypatch, capsys):
    # after audit 2: deal 6 (1.8) gets a status and comment in the OLD file; deal 4 too, but audit 2's file has its own
    _type_into(story["old"], "1.8", "6", "Не исправлено", "клиент в отпуске до февраля")
    _type_into(story["old"], "1.8", "4", "Исправлено", "позже, но в старом файле")
    monkeypatch.chdir(story["out3"].parent)  # run from another folder: the ledger's absolute paths find the files
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "ru")
    assert main(["run", "-c", str(story["cfg"]), "--export", str(story["e1"]), "--as-of", D3,
                 "--out", story["out3"].name]) == 0
    out = capsys.readouterr().out
    rows = sheet_rows(story["out3"], "1.8")
    assert (rows["6"]["Статус"], rows["6"]["Комментарий"]) == ("Не исправлено", "клиент в отпуске до февраля")
    assert (rows["4"]["Статус"], rows["4"]["Комментарий"]) == ("Не исправлено", "новое слово")  # never overwritten
    line = next(ln for ln in out.splitlines() if str(story["old"]) in ln and "аудит" in ln)
    assert "2 строки" in line and "1 из них" in line, line
    assert "Прочитано из" in out
    with Ledger(story["dir"] / "crm-audit.db") as led:
        audits = {a["as_of"]: a["id"] for a in led.audits()}
        last = led.last_edits()
        assert last[("missing-source", "6")]["comment"] == "клиент в отпуске до февраля"
        assert last[("missing-source", "6")]["audit_id"] == audits[D1]  # the older audit's edit, as it is
        assert last[("missing-source", "4")]["comment"] == "новое слово"
    # read once: the next run (a re-run of audit 3) says nothing about the older file
    res = run_cycle(_req(story, story["e1"], D3, story["out3"]))
    assert _superseded(res) == [] and "superseded" not in [rb.role for rb in res.read_back]


@pytest.fixture()
def english():
    """The suite's language (conftest: en), whatever a CLI run before chose."""
    from crm_audit import i18n

    i18n.use_language(None)
    yield
    i18n.use_language(None)


@pytest.fixture(autouse=True)
def _back_to_the_suites_language():
    from crm_audit import i18n

    yield
    i18n.use_language(None)


def test_the_notice_in_english_names_file_rows_and_the_newer_edit(story, english):
    _type_into(story["old"], "1.8", "6", "Не исправлено", "клиент в отпуске")
    _type_into(story["old"], "1.8", "4", None, "позже")
    res = run_cycle(_req(story, story["e1"], D3, story["out3"].with_name("a3.xlsx")))
    [n] = _superseded(res)
    assert str(story["old"]) in n.message or os.path.relpath(story["old"]) in n.message
    assert "06.11.2026" in n.message and "20.11.2026" in n.message
    assert "2 rows read into the history" in n.message and "1 of them not taken" in n.message
    [rb] = [rb for rb in res.read_back if rb.role == "superseded"]
    assert rb.result.stored == 2 and rb.location == str(story["old"])
    assert res.read_back[0].role == "superseded"  # read first: every current document's rows win


def test_an_unchanged_or_resaved_older_file_says_nothing(story):
    old = story["old"]
    os.utime(old, (old.stat().st_atime + 3600, old.stat().st_mtime + 3600))  # touched, same bytes
    res = run_cycle(_req(story, story["e1"], D3, story["out3"].with_name("a3.xlsx")))
    assert _superseded(res) == [] and [rb.role for rb in res.read_back] == ["previous"]
    # saved again by openpyxl without a change: new bytes, no new row
    wb = openpyxl.load_workbook(old)
    wb.save(old)
    res = run_cycle(_req(story, story["e1"], "2026-12-18", story["out3"].with_name("a4.xlsx")))
    assert _superseded(res) == []


def test_a_deleted_older_file_says_nothing(story):
    story["old"].unlink()
    res = run_cycle(_req(story, story["e1"], D3, story["out3"].with_name("a3.xlsx")))
    assert _superseded(res) == [] and [rb.role for rb in res.read_back] == ["previous"]
    assert not [n for n in res.notices if "audit-2026-11-06" in n.message]


def test_a_dry_run_writes_nothing_and_the_real_run_still_reads_it(story):
    _type_into(story["old"], "1.8", "6", "Не исправлено", "клиент в отпуске до февраля")
    before = _hashes(story["dir"])
    res = run_cycle(_req(story, story["e1"], D3, story["out3"].with_name("a3.xlsx"), dry_run=True))
    assert len(_superseded(res)) == 1  # said what the run would read
    assert _hashes(story["dir"]) == before
    res = run_cycle(_req(story, story["e1"], D3, story["out3"].with_name("a3.xlsx")))
    assert len(_superseded(res)) == 1
    assert sheet_rows(story["out3"].with_name("a3.xlsx"), "1.8")["6"]["Комментарий"] == "клиент в отпуске до февраля"


def test_pull_reads_the_older_file_too_and_the_run_then_has_nothing_new(story, capsys):
    _type_into(story["old"], "1.8", "6", "Не исправлено", "клиент в отпуске до февраля")
    assert main(["pull", "-c", str(story["cfg"])]) == 0
    out = capsys.readouterr().out
    assert str(story["old"]) in out
    with Ledger(story["dir"] / "crm-audit.db") as led:
        assert led.last_edits()[("missing-source", "6")]["comment"] == "клиент в отпуске до февраля"
    res = run_cycle(_req(story, story["e1"], D3, story["out3"].with_name("a3.xlsx")))
    assert _superseded(res) == []
    assert sheet_rows(story["out3"].with_name("a3.xlsx"), "1.8")["6"]["Статус"] == "Не исправлено"


def test_a_decision_left_standing_in_the_older_file_does_not_come_back(env, english):
    """The head accepted deal 2 in audit 1's file and took it back with `revoke` later; a manager then types into
    another row of that file: only that row is new — the standing «Принято» is not taken again."""
    d = env["dir"]
    e1 = build(d / "e1", scenario_deals(), no_task={"1"})
    old = d / "audit-1.xlsx"
    run_cycle(_req(env, e1, D1, old))
    edit_workbook(old, {("1.8", "2"): {"Статус": "Не исправлено", "Комментарий": "сам пришёл", "Решение": "Принято"}})
    run_cycle(_req(env, e1, D2, d / "audit-2.xlsx"))
    assert "2" not in sheet_rows(d / "audit-2.xlsx", "1.8")
    assert main(["revoke", "-c", str(env["cfg"]), "missing-source", "2"]) == 0
    _type_into(old, "1.8", "6", "Не исправлено", "позвоню")
    res = run_cycle(_req(env, e1, D3, d / "audit-3.xlsx"))
    [n] = _superseded(res)
    assert "1 row read" in n.message
    rows = sheet_rows(d / "audit-3.xlsx", "1.8")
    assert "2" in rows and rows["6"]["Комментарий"] == "позвоню"
    with Ledger(d / "crm-audit.db") as led:
        assert [w.deal_id for w in led.waivers()] == []


def test_review_reads_the_older_file_and_counts_its_edit_as_the_latest_word(story, capsys):
    from crm_audit.history.review import build_review

    _type_into(story["old"], "1.8", "6", "Не исправлено", "клиент в отпуске до февраля")
    _type_into(story["old"], "1.8", "4", "Исправлено", "позже, но в старом файле")
    time.sleep(1.1)  # the ledger's times are in seconds: a person types after the run's second, not within it
    assert main(["review", "-c", str(story["cfg"])]) == 0
    capsys.readouterr()
    with Ledger(story["dir"] / "crm-audit.db") as led:
        rv = build_review(led, today=dt.date(2026, 11, 21))
    items = {i.deal_id: i for m in rv.managers for i in m.open if i.rule_id == "missing-source"}
    assert (items["6"].status, items["6"].comment) == ("Не исправлено", "клиент в отпуске до февраля")
    assert (items["4"].status, items["4"].comment) == ("Не исправлено", "новое слово")  # audit 2's own word wins


def test_a_ledger_from_before_knows_no_read_state_the_next_audits_run_time_decides(story):
    """A ledger written before the read state was kept: the older file counts as changed when it was modified after
    the next audit ran (that run read it as its previous audit's document)."""
    import sqlite3

    con = sqlite3.connect(story["dir"] / "crm-audit.db")
    con.execute("DROP TABLE document_reads")
    con.commit()
    con.close()
    res = run_cycle(_req(story, story["e1"], D3, story["out3"].with_name("a3.xlsx")))
    assert _superseded(res) == [] and [rb.role for rb in res.read_back] == ["previous"]  # not modified since: not read
    _type_into(story["old"], "1.8", "6", "Не исправлено", "позвоню")
    later = dt.datetime.now().timestamp() + 5
    os.utime(story["old"], (later, later))
    res = run_cycle(_req(story, story["e1"], "2026-12-18", story["out3"].with_name("a4.xlsx")))
    [n] = _superseded(res)
    assert "1 row read" in n.message
    assert sheet_rows(story["out3"].with_name("a4.xlsx"), "1.8")["6"]["Комментарий"] == "позвоню"
