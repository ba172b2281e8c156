"""The audit cycle as a library: documents found wherever the ledger recorded them, runs that change nothing,
a kill between the workbook and the ledger, file-system failures, the review's counts."""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from crm_audit import AuditRequest, run_cycle
from crm_audit.errors import OutputError, UsageError
from crm_audit.history.ledger import Ledger
from test_workflow import D1, D2, build, edit_workbook, env, scenario_deals, sheet_rows  # noqa: F401  (env: the fixture)
from crm_audit.cli import main

D3 = "2026-12-04"


def _req(env, export, as_of, out, **kw):
    import datetime as dt

    return AuditRequest(env["cfg"], export, dt.date.fromisoformat(as_of), out, **kw)


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _first_audit(env, out):
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    run_cycle(_req(env, e1, D1, out))
    edit_workbook(out, {("1.8", "4"): {"Статус": "Не исправлено", "Комментарий": "Источник неизвестен"},
                        ("1.8", "2"): {"Статус": "Не исправлено", "Комментарий": "клиент сам пришёл", "Решение": "Принято"},
                        ("2.1", "5"): {"Статус": "исправил"}})
    return e1


def test_a_new_dated_file_per_audit_carries_everything(env):
    first = env["dir"] / "audit-2026-11-06.xlsx"
    e1 = _first_audit(env, first)
    res = run_cycle(_req(env, e1, D2, env["dir"] / "audit-2026-11-20.xlsx"))
    assert [(Path(rb.name).name, rb.role, rb.result.worked, rb.result.decisions) for rb in res.read_back] == [
        ("audit-2026-11-06.xlsx", "previous", 3, 1)]
    r18 = sheet_rows(env["dir"] / "audit-2026-11-20.xlsx", "1.8")
    assert r18["4"]["Статус"] == "Не исправлено" and r18["4"]["Комментарий"] == "Источник неизвестен"
    assert "2" not in r18  # accepted in the document
    assert sheet_rows(env["dir"] / "audit-2026-11-20.xlsx", "2.1")["5"]["Статус"] == "исправил"  # kept as typed


def test_the_team_document_moved_stops_the_run_until_told_where(env, tmp_path):
    first = env["dir"] / "audit-2026-11-06.xlsx"
    e1 = _first_audit(env, first)
    moved = env["dir"] / "archive" / "audit.xlsx"
    moved.parent.mkdir()
    first.rename(moved)
    before = _hashes(env["dir"])
    with pytest.raises(UsageError) as exc:
        run_cycle(_req(env, e1, D2, env["dir"] / "audit-2026-11-20.xlsx"))
    assert str(first) in exc.value.message and "--previous" in exc.value.message and "--no-previous" in exc.value.message
    assert _hashes(env["dir"]) == before
    res = run_cycle(_req(env, e1, D2, env["dir"] / "audit-2026-11-20.xlsx", previous=str(moved)))
    assert [n.code for n in res.notices] == ["previous-moved"]
    assert sheet_rows(env["dir"] / "audit-2026-11-20.xlsx", "1.8")["4"]["Комментарий"] == "Источник неизвестен"
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert [d.location for d in led.documents(led.audits()[0]["id"])] == [str(moved)]
    # --no-previous: knowingly, with a notice
    moved.unlink()
    (env["dir"] / "audit-2026-11-20.xlsx").rename(env["dir"] / "gone.xlsx")
    res = run_cycle(_req(env, e1, D3, env["dir"] / "audit-2026-12-04.xlsx", no_previous=True))
    assert [n.code for n in res.notices] == ["no-previous"] and res.read_back == []


def test_a_test_rerun_into_another_file_keeps_the_team_document(env):
    out = env["out"]
    e1 = _first_audit(env, out)
    run_cycle(_req(env, e1, D2, out))
    edit_workbook(out, {("1.8", "6"): {"Статус": "Не исправлено", "Комментарий": "жду ответа"}})
    res = run_cycle(_req(env, e1, D2, env["dir"] / "check.xlsx"))
    assert res.replaced is not None and [rb.role for rb in res.read_back] == ["previous"]
    with Ledger(env["dir"] / "crm-audit.db") as led:
        docs = led.documents(led.latest_audit()["id"])
        assert [(Path(d.location).name, d.primary) for d in docs] == [("audit.xlsx", True), ("check.xlsx", False)]
    # managers keep typing in the team's document; the next run reads both, the team's last
    edit_workbook(out, {("1.8", "9"): {"Статус": "Не исправлено", "Комментарий": "=SUM(A1) проверю"}})
    res = run_cycle(_req(env, e1, D3, out))
    assert [(Path(rb.location).name, rb.role) for rb in res.read_back] == [("check.xlsx", "copy"), ("audit.xlsx", "previous")]
    r18 = sheet_rows(out, "1.8")
    assert r18["6"]["Комментарий"] == "жду ответа" and r18["9"]["Комментарий"] == "=SUM(A1) проверю"
    assert r18["4"]["Комментарий"] == "Источник неизвестен"


def test_dry_and_partial_runs_change_no_byte(env):
    out = env["out"]
    e1 = _first_audit(env, out)
    assert main(["accept", "-c", str(env["cfg"]), "missing-source", "4", "--until", "2026-11-10"]) == 0
    before = _hashes(env["dir"])
    run_cycle(_req(env, e1, D3, env["dir"] / "x.xlsx", dry_run=True, violations_csv=env["dir"] / "x.csv"))
    run_cycle(_req(env, e1, D3, None, dry_run=True, rule_ids=("missing-source",)))
    assert _hashes(env["dir"]) == before
    run_cycle(_req(env, e1, D3, env["dir"] / "part.xlsx", rule_ids=("missing-source",)))
    after = _hashes(env["dir"])
    assert after.pop("part.xlsx") and after == before
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert [w.ended_reason for w in led.waivers(active_only=False) if w.deal_id == "4"] == [None]


def _ledger_rows(path: Path) -> dict[str, list]:
    """Every table of the ledger (without wall-clock columns) and every audit's findings."""
    con = sqlite3.connect(path)
    out = {}
    for table, cols in (("audits", "as_of, export_dir, fingerprints, deal_count, violation_count, document"),
                        ("audit_hits", "*"),
                        ("edits", "audit_id, rule_id, deal_id, status_raw, status, comment, decision_raw, decision, decision_note, owner, source"),
                        ("decisions", "rule_id, deal_id, kind, note, owner, audit_id, decided_on, source, expires_on, fingerprint, active, ended_on, ended_reason"),
                        ("audit_documents", "audit_id, location, kind")):
        out[table] = sorted(map(tuple, con.execute(f"SELECT {cols} FROM {table}")), key=repr)
    con.close()
    with Ledger(path) as led:
        out["findings"] = sorted((repr(sorted(r.items())) for a in led.audits() for r in led.findings_of(a["id"]).values()))
    return out


def test_rerunning_an_audit_is_idempotent_notes_included(env):
    out = env["out"]
    e1 = _first_audit(env, out)
    assert main(["accept", "-c", str(env["cfg"]), "missing-source", "4", "--until", "2026-11-10"]) == 0
    run_cycle(_req(env, e1, D2, out))
    note = sheet_rows(out, "1.8")["4"]["Примечание"]
    assert "срок истёк" in note
    cells, rows = {p: sheet_rows(out, p) for p in ("1.8", "2.1")}, _ledger_rows(env["dir"] / "crm-audit.db")
    run_cycle(_req(env, e1, D2, out))
    assert {p: sheet_rows(out, p) for p in ("1.8", "2.1")} == cells
    assert _ledger_rows(env["dir"] / "crm-audit.db") == rows


def test_a_kill_between_the_workbook_and_the_ledger_is_reconciled(env, monkeypatch):
    out = env["out"]
    e1 = _first_audit(env, out)
    import crm_audit.history.record as record_mod

    def killed(*a, **k):
        raise KeyboardInterrupt  # the process dies after the workbook was renamed into place

    monkeypatch.setattr(record_mod, "record", killed)
    with pytest.raises(KeyboardInterrupt):
        run_cycle(_req(env, e1, D2, out))
    monkeypatch.undo()
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert [a["as_of"] for a in led.audits()] == [D1] and len(led.unfinished_writes()) == 1
    edit_workbook(out, {("1.8", "6"): {"Статус": "Не исправлено", "Комментарий": "написал в новом файле"}})
    res = run_cycle(_req(env, e1, D2, out))
    assert [n.code for n in res.notices] == ["unfinished-write"]
    assert sheet_rows(out, "1.8")["6"]["Комментарий"] == "написал в новом файле"
    assert sheet_rows(out, "1.8")["4"]["Комментарий"] == "Источник неизвестен"
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert [a["as_of"] for a in led.audits()] == [D1, D2] and led.unfinished_writes() == []


def test_leftover_temp_files_are_removed(env):
    out = env["out"]
    e1 = _first_audit(env, out)
    stale = env["dir"] / ".audit.xlsx.0badf00d.tmp"
    stale.write_bytes(b"half a workbook")
    res = run_cycle(_req(env, e1, D2, out))
    assert not stale.exists() and [n.code for n in res.notices] == ["temp-removed"]


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "disk is full"),  # the others: the same path, another text
                                         pytest.param(errno.EROFS, "read-only", marks=pytest.mark.slow),
                                         pytest.param(errno.EACCES, "", marks=pytest.mark.slow),
                                         pytest.param(errno.ENAMETOOLONG, "too long", marks=pytest.mark.slow)])
def test_file_system_failures_are_plain_and_keep_the_previous_outputs(env, monkeypatch, code, words):
    out = env["out"]
    e1 = _first_audit(env, out)
    before = _hashes(env["dir"])
    real = os.replace

    def failing(src, dst):
        if str(dst).endswith("audit.xlsx"):
            raise OSError(code, os.strerror(code), str(src))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    assert main(["run", "-c", str(env["cfg"]), "--export", str(e1), "--as-of", D2, "--out", str(out), "--quiet"]) == 2
    monkeypatch.undo()
    now = _hashes(env["dir"])
    assert now["audit.xlsx"] == before["audit.xlsx"] and not [n for n in now if n.endswith(".tmp")]
    with pytest.raises(OutputError) as exc:
        monkeypatch.setattr(os, "replace", failing)
        run_cycle(_req(env, e1, D2, out))
    assert str(out) in exc.value.message and words in exc.value.message and ".tmp" not in exc.value.message


def test_a_real_too_long_name_is_a_plain_message(env):
    e1 = build(env["dir"] / "e1", scenario_deals())
    code = main(["run", "-c", str(env["cfg"]), "--export", str(e1), "--as-of", D1, "--out", str(env["dir"] / ("a" * 300 + ".xlsx")), "-q"])
    assert code == 2


@pytest.mark.parametrize("args, words", [
    (["--out", "audit.xlsx", "--violations-csv", "audit.xlsx"], ".csv"),
    (["--violations-csv", "x.xlsx"], ".csv"),
    (["--out", "x.csv"], ".xlsx"),
    (["--violations-csv", "crm-audit.db"], ".csv"),
    (["--violations-csv", "crm-audit.csv", "--ledger", "crm-audit.csv"], "same file"),
])
def test_outputs_are_checked_together(env, capsys, monkeypatch, args, words):
    e1 = build(env["dir"] / "e1", scenario_deals())
    monkeypatch.chdir(env["dir"])
    before = _hashes(env["dir"])
    assert main(["run", "-c", str(env["cfg"]), "--export", str(e1), "--as-of", D1, "-q", *args]) == 2
    assert words in capsys.readouterr().err
    assert _hashes(env["dir"]) == before


def test_a_schema_2_ledger_gets_absolute_document_paths_and_findings_files(env, monkeypatch):
    """A ledger written before schema 3 stored the document relative to where `run` was started."""
    from crm_audit.history import ledger as ledger_mod

    path = env["dir"] / "crm-audit.db"
    con = sqlite3.connect(path)
    for migration in ledger_mod.MIGRATIONS[:2]:
        for stmt in ledger_mod._statements(migration):
            con.execute(stmt)
    con.execute("PRAGMA user_version = 2")
    con.execute("INSERT INTO audits (id, as_of, ran_at, document) VALUES (1, '2026-11-06', '2026-11-06T10:00:00', 'audit.xlsx')")
    con.execute("INSERT INTO finding_audits (audit_id, rule_id, deal_id, owner, streak, status, comment, title) "
                "VALUES (1, 'missing-source', '7', 'Иван', 1, 'Не исправлено', 'жду клиента', 'Сделка 7')")
    con.execute("INSERT INTO findings (rule_id, deal_id, owner, title, first_seen, last_seen) "
                "VALUES ('missing-source', '7', 'Иван', 'Сделка 7', '2026-10-23', '2026-11-06')")
    con.commit()
    con.close()
    (env["dir"] / "audit.xlsx").write_bytes(b"")
    monkeypatch.chdir(env["dir"].parent)  # another folder: the ledger's own folder is tried first
    with Ledger(path) as led:
        assert led.latest_audit()["document"] == str(env["dir"] / "audit.xlsx")
        assert [d.location for d in led.documents(1)] == [str(env["dir"] / "audit.xlsx")]
        row = led.finding_in(1, "missing-source", "7")
        assert (row["comment"], row["status"], row["first_seen"], row["title"]) == ("жду клиента", "Не исправлено", "2026-10-23", "Сделка 7")
        assert [tuple(h) for h in led.hits()] == [(1, "Иван", "missing-source", 1)]
    assert [p.suffix for p in (env["dir"] / "crm-audit.findings").iterdir()] == [".parquet"]


def test_the_review_counts_what_the_head_means(env, capsys):
    out = env["out"]
    e1 = _first_audit(env, out)
    assert main(["accept", "-c", str(env["cfg"]), "1.8", "6"]) == 0
    e2 = build(env["dir"] / "e2", scenario_deals(), no_task=set())
    edit_workbook(out, {("2.1", "3"): {"Статус": "Исправлено"}})
    run_cycle(_req(env, e2, D2, out))
    from crm_audit.history.review import build_review

    import datetime as dt

    with Ledger(env["dir"] / "crm-audit.db") as led:
        rv = build_review(led, due_days=3, today=dt.date(2026, 11, 30))
    by = {m.owner: m for m in rv.managers}
    ivan, maria = by["Иван Петров"], by["Мария Кузнецова"]
    # deal 3 (Иван, 2.1) marked fixed in audit 1, still failing in the new export
    assert [(i.rule_id, i.deal_id) for i in ivan.fixed_failing] == [("missing-city-or-country", "3")]
    # deal 5 (Иван, 2.1): «исправил» carried as typed — invalid, not handled, overdue
    assert [(i.deal_id, i.status) for i in ivan.invalid] == [("5", "исправил")]
    assert "5" in {i.deal_id for i in ivan.overdue}
    # deal 2 accepted in the document and deal 6 from the CLI: not in this audit at all (waived)
    assert not {i.deal_id for m in rv.managers for i in m.open} & {"2", "6"}
    assert rv.totals["fixed_failing"] == 1 and rv.totals["invalid"] == 1
    # since the last audit: deal 1 got its task (resolved), deals 2 and 6 accepted, deal 3 marked fixed but failing
    c = rv.changes.team
    assert (c.new, c.resolved, c.accepted, c.fixed_failing) == (0, 1, 2, 1), c
    assert rv.changes.by_manager["Иван Петров"].resolved == 1


def test_a_failing_csv_replaces_no_output_not_even_the_workbook(env):
    out = env["out"]
    e1 = _first_audit(env, out)
    before = _hashes(env["dir"])
    code = main(["run", "-c", str(env["cfg"]), "--export", str(e1), "--as-of", D2, "--out", str(out),
                 "--violations-csv", str(env["dir"] / "missing-folder" / "v.csv"), "-q"])
    outputs = lambda h: {k: v for k, v in h.items() if not k.startswith("crm-audit.db")}  # noqa: E731 (the read-back is kept)
    assert code == 2 and outputs(_hashes(env["dir"])) == outputs(before)  # all or nothing: not even the workbook
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert [a["as_of"] for a in led.audits()] == [D1]


def test_a_killed_runs_document_keeps_the_fix_marked_in_the_previous_one(env, monkeypatch):
    """«Исправлено» in audit 1's document; the run of audit 2 dies after writing its document; the re-run keeps the mark
    (the killed run's rows are read against what that document showed, not taken as the manager's words)."""
    out = env["out"]
    e1 = _first_audit(env, out)
    edit_workbook(out, {("1.8", "6"): {"Статус": "Исправлено"}})
    e2 = build(env["dir"] / "e2", scenario_deals())  # a new export (deal 1 got its task): deal 6 still fails
    import crm_audit.history.record as record_mod

    def killed(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(record_mod, "record", killed)
    with pytest.raises(KeyboardInterrupt):
        run_cycle(_req(env, e2, D2, out))
    monkeypatch.undo()
    assert sheet_rows(out, "1.8")["6"]["Статус"] == "Не обработано"  # what the killed run wrote (the fix is re-checked)
    res = run_cycle(_req(env, e2, D2, out))
    assert [n.code for n in res.notices] == ["unfinished-write"]
    row = sheet_rows(out, "1.8")["6"]
    assert row["Статус"] == "Не обработано" and "Отмечено «Исправлено»" in (row["Примечание"] or "")
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert led.findings_of(led.latest_audit()["id"])[("missing-source", "6")]["repeat"] == 1


def test_previous_must_be_the_previous_audits_document_of_this_ledger(env, tmp_path):
    first = env["dir"] / "audit-1.xlsx"
    e1 = _first_audit(env, first)
    run_cycle(_req(env, e1, D2, env["dir"] / "audit-2.xlsx"))
    (env["dir"] / "audit-2.xlsx").rename(env["dir"] / "gone.xlsx")
    with Ledger(env["dir"] / "crm-audit.db") as led:
        pointer = led.latest_audit()["document"]
    for wrong, words in ((first, "the document of the audit of 06.11.2026"), (env["dir"] / "typo.xlsx", "no such file")):
        with pytest.raises(UsageError) as exc:
            run_cycle(_req(env, e1, D3, env["dir"] / "audit-3.xlsx", previous=str(wrong)))
        assert words in exc.value.message
        with Ledger(env["dir"] / "crm-audit.db") as led:
            assert led.latest_audit()["document"] == pointer  # checked before the ledger follows it
    # another team's document (another ledger) is refused too
    other = tmp_path / "other"
    other.mkdir()
    (other / "crm-audit.yaml").write_text(env["cfg"].read_text(encoding="utf-8"), encoding="utf-8")
    run_cycle(AuditRequest(other / "crm-audit.yaml", e1, __import__("datetime").date(2026, 11, 20), other / "theirs.xlsx"))
    with pytest.raises(UsageError) as exc:
        run_cycle(_req(env, e1, D3, env["dir"] / "audit-3.xlsx", previous=str(other / "theirs.xlsx")))
    assert "another audit history" in exc.value.message
    res = run_cycle(_req(env, e1, D3, env["dir"] / "audit-3.xlsx", previous=str(env["dir"] / "gone.xlsx")))
    assert [n.code for n in res.notices] == ["previous-moved"]


def test_the_head_takes_a_decision_back_by_clearing_it_or_with_revoke(env, capsys):
    out = env["out"]
    _first_audit(env, out)  # deal 2: «Принято» in the document
    assert main(["pull", "-c", str(env["cfg"])]) == 0
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert [(w.rule_id, w.deal_id) for w in led.waivers()] == [("missing-source", "2")]
    edit_workbook(out, {("1.8", "2"): {"Решение": None, "Комментарий руководителя": None}})
    assert main(["pull", "-c", str(env["cfg"])]) == 0
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert led.waivers() == [] and [w.ended_reason for w in led.waivers(active_only=False)] == ["withdrawn"]
    assert main(["accept", "-c", str(env["cfg"]), "1.8", "4"]) == 0
    assert main(["warn", "-c", str(env["cfg"]), "1.8", "6"]) == 0
    assert main(["revoke", "-c", str(env["cfg"]), "1.8", "4"]) == 0
    assert main(["revoke", "-c", str(env["cfg"]), "1.8", "6", "--warning"]) == 0
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert led.waivers() == [] and [w["deal_id"] for w in led.warnings()] == []
    assert "Took back the acceptance of missing-source / deal 4" in capsys.readouterr().out


def test_rows_the_read_back_cannot_match_are_said(env):
    out = env["out"]
    e1 = _first_audit(env, out)
    import openpyxl

    wb = openpyxl.load_workbook(out)
    ws = next(w for w in wb.worksheets if w.title.startswith("1.8 "))
    header = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(header)}
    r = next(i for i in range(2, ws.max_row + 1) if str(ws.cell(i, col["ID сделки"]).value) == "6")
    ws.cell(r, col["ID сделки"]).value = None
    ws.cell(r, col["Статус"]).value = "Не исправлено"
    ws.cell(r, col["Комментарий"]).value = "без id"
    extra = ws.max_row + 1
    ws.cell(extra, col["ID сделки"]).value = "99999"
    ws.cell(extra, col["ID правила"]).value = "missing-source"
    ws.cell(extra, col["Статус"]).value = "Не исправлено"
    ws.cell(extra, col["Комментарий"]).value = "добавил сам"
    wb.save(out)
    res = run_cycle(_req(env, e1, D2, out))
    texts = [w.message for w in res.report.warnings if w.code == "document-edit"]
    id_col = openpyxl.utils.get_column_letter(col["ID сделки"])
    assert any(t.startswith(f"sheet 1.8, cell {id_col}{r}: «Не исправлено», «без id» in a row without «ID сделки»") for t in texts), texts
    assert any("deal 99999 is not in that audit's findings" in t for t in texts), texts


def test_pull_from_an_older_audits_document_records_it_for_that_audit(env):
    first = env["dir"] / "old.xlsx"
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    run_cycle(_req(env, e1, D1, first))
    edit_workbook(first, {("1.8", "4"): {"Статус": "Не исправлено", "Комментарий": "старое"}})
    run_cycle(_req(env, e1, D2, env["out"]))
    edit_workbook(env["out"], {("1.8", "4"): {"Статус": "Не исправлено", "Комментарий": "новое"}})
    assert main(["pull", "-c", str(env["cfg"])]) == 0
    assert main(["pull", "-c", str(env["cfg"]), "--from", str(first)]) == 0
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert led.last_edits()[("missing-source", "4")]["comment"] == "новое"  # the newer audit's words win


def test_rule_takes_the_sheet_code(env):
    e1 = build(env["dir"] / "e1", scenario_deals())
    res = run_cycle(_req(env, e1, D1, None, dry_run=True, rule_ids=("1.8",)))
    assert [r.rule_id for r in res.report.results] == ["missing-source"]


def test_the_review_still_shows_accepted_findings_after_a_test_rerun(env):
    import datetime as dt

    from crm_audit.history.review import build_review

    out = env["out"]
    e1 = _first_audit(env, out)  # deal 2 «Принято» in the document
    assert main(["accept", "-c", str(env["cfg"]), "1.8", "6"]) == 0
    assert main(["pull", "-c", str(env["cfg"])]) == 0

    def accepted():
        with Ledger(env["dir"] / "crm-audit.db") as led:
            rv = build_review(led, due_days=3, today=dt.date(2026, 11, 7))
        return sorted(i.deal_id for m in rv.managers for i in m.accepted)

    assert accepted() == ["2", "6"]
    run_cycle(_req(env, e1, D1, env["dir"] / "check.xlsx"))  # the same audit again, into another file
    assert accepted() == ["2", "6"]


def test_a_waiver_survives_a_field_that_only_lost_its_spaces(env):
    """«Источник сделки» "  " then "" (both empty per the reference): the accepted finding stays accepted."""
    deals = scenario_deals({"4": {"Источник сделки": "  "}})
    e1 = build(env["dir"] / "e1", deals)
    run_cycle(_req(env, e1, D1, env["out"]))
    assert main(["accept", "-c", str(env["cfg"]), "1.8", "4"]) == 0
    e2 = build(env["dir"] / "e2", scenario_deals({"4": {"Источник сделки": ""}}))
    run_cycle(_req(env, e2, D2, env["out"]))
    assert "4" not in sheet_rows(env["out"], "1.8")
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert [(w.deal_id, w.ended_reason) for w in led.waivers(active_only=False)] == [("4", None)]


def test_the_csv_written_meanwhile_is_put_in_place_only_with_the_other_outputs(env, monkeypatch):
    """The violations CSV is written in a second thread as soon as the audit's rows exist (issue 17); a failure
    after that (here: the carry-over) leaves the previous CSV as it was and no temporary file behind."""
    out, csv = env["out"], env["dir"] / "v.csv"
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    run_cycle(_req(env, e1, D1, out, violations_csv=csv))
    first = csv.read_bytes()
    assert first.startswith(b"rule_id,") and first.count(b"\n") > 1
    import crm_audit.history.carry as carry_mod

    def broken(*a, **k):
        raise RuntimeError("carry-over failed")

    monkeypatch.setattr(carry_mod, "carry_over", broken)
    with pytest.raises(RuntimeError):
        run_cycle(_req(env, e1, D2, out, violations_csv=csv))
    monkeypatch.undo()
    assert csv.read_bytes() == first and not [p for p in env["dir"].iterdir() if p.name.endswith(".tmp")]
    run_cycle(_req(env, e1, D2, out, violations_csv=csv))
    assert csv.read_bytes().replace(D2.encode(), D1.encode()) == first  # the same rows, dated by the new audit
