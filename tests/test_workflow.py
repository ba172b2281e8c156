"""Audits over time: read back, carry over, decisions, review, crash safety."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
import yaml

from crm_audit.cli import main
from crm_audit.initfile import render_settings
from crm_audit.history.ledger import Ledger
from pipedrive_fixture import write_export

CASES = Path(__file__).parent / "rule_cases" / "_defaults.yaml"
DEFAULTS = yaml.safe_load(CASES.read_text(encoding="utf-8"))
D1, D2 = "2026-11-06", "2026-11-20"


def deal(i, **kw):
    return {**DEFAULTS["deal"], "id": str(i), "title": f"Сделка номер {i}", **kw}


def owner_of(i):
    return "Иван Петров" if i % 2 else "Мария Кузнецова"


def build(tmp: Path, deals: list[dict], no_task: set[str] = frozenset()) -> Path:
    orgs = [{"id": "100", "name": "ООО Ромашка", "owner": "", "Агентство ли это": "Нет"}]
    persons = [{"id": "200", "name": "Анна Смирнова", "owner": "", "org_name": "ООО Ромашка"}]
    acts = [{**DEFAULTS["activity"], "id": str(1000 + i), "deal_id": d["id"], "due_date": "2026-12-25"}
            for i, d in enumerate(deals) if d["id"] not in no_task]
    return write_export(tmp, deals, orgs, persons, acts)


def scenario_deals(changed: dict | None = None):
    ds = [
        deal(1),  # no task in audit 1 (1.1), fixed by audit 2
        deal(2, **{"Источник сделки": ""}),  # 1.8: not fixed + comment, accepted in the document
        deal(3, Город=""),  # 2.1: marked fixed but still failing
        deal(4, **{"Источник сделки": ""}),  # 1.8: not fixed + comment, warned from the CLI
        deal(5, Город=""),  # 2.1: a hand-typed status
        deal(6, **{"Источник сделки": ""}),  # 1.8: not fixed without comment
        deal(7, **{"Источник сделки": ""}),  # 1.8: the manager deletes the row
        deal(9, title="=SUM(A1) проверю", **{"Источник сделки": ""}),  # 1.8: formula-like text
    ]
    for d in ds:
        d["owner"] = owner_of(int(d["id"]))
    if changed:
        for d in ds:
            d.update(changed.get(d["id"], {}))
    return ds


@pytest.fixture()
def env(tmp_path):
    cfg = tmp_path / "crm-audit.yaml"
    cfg.write_text(render_settings("pipedrive"), encoding="utf-8")
    return {"cfg": cfg, "out": tmp_path / "audit.xlsx", "dir": tmp_path}


def run(env, export, as_of, *extra):
    return main(["run", "-c", str(env["cfg"]), "--export", str(export), "--as-of", as_of, "--out", str(env["out"]), "--quiet", *extra])


def sheet_rows(path, prefix):
    wb = openpyxl.load_workbook(path)
    ws = next(ws for ws in wb.worksheets if ws.title.startswith(prefix + " "))
    header = [c.value for c in ws[1]]
    out = {}
    for row in ws.iter_rows(min_row=2, values_only=True):
        rec = dict(zip(header, row))
        if rec.get("ID сделки"):
            out[str(rec["ID сделки"])] = rec
    return out


def edit_workbook(path, edits: dict, delete: set[tuple[str, str]] = frozenset(), reverse: str | None = None):
    """Set cells like a manager: edits[(sheet prefix, deal id)] = {header: value}."""
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        header = [c.value for c in ws[1]]
        if "ID сделки" not in header:
            continue
        prefix = ws.title.split(" ")[0]
        col = {h: i + 1 for i, h in enumerate(header) if h}
        rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
        rows = [r for r in rows if r[col["ID сделки"] - 1]]
        kept = []
        for r in rows:
            did = str(r[col["ID сделки"] - 1])
            if (prefix, did) in delete:
                continue
            for h, v in edits.get((prefix, did), {}).items():
                r[col[h] - 1] = v
            # what Excel does to an id typed as a number
            r[col["ID сделки"] - 1] = float(did)
            kept.append(r)
        if reverse == prefix:
            kept.reverse()
        ws.delete_rows(2, ws.max_row)
        for i, r in enumerate(kept, start=2):
            for j, v in enumerate(r, start=1):
                ws.cell(i, j, v)
    wb.save(path)


def test_multi_audit_scenario(env, capsys):
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    assert run(env, e1, D1) == 0
    first = sheet_rows(env["out"], "1.8")
    assert set(first) == {"2", "4", "6", "7", "9"}
    assert all(r["Статус"] == "Не обработано" and r["Аудитов подряд"] == 1 for r in first.values())

    # managers and the head of sales work in the workbook
    edit_workbook(env["out"], {
        ("1.8", "2"): {"Статус": "Не исправлено", "Комментарий": "Клиент не помнит, откуда пришёл", "Решение": "Принято", "Комментарий руководителя": "ок"},
        ("1.8", "4"): {"Статус": "не  исправлено ", "Комментарий": "Источник неизвестен"},
        ("1.8", "6"): {"Статус": "Не исправлено"},
        ("1.8", "9"): {"Статус": "Не исправлено", "Комментарий": "=SUM(A1) проверю"},
        ("2.1", "3"): {"Статус": "Исправлено"},
        ("2.1", "5"): {"Статус": "готово", "Комментарий": "сделал"},
    }, delete={("1.8", "7")}, reverse="1.8")
    assert main(["pull", "-c", str(env["cfg"])]) == 0
    pulled = capsys.readouterr().out
    assert "unknown status «готово»" in pulled and "2.1" in pulled
    assert "without a comment" in pulled and "Мария Кузнецова" in pulled  # deal 6's manager
    assert main(["warn", "-c", str(env["cfg"]), "missing-source", "4", "--note", "заполни источник"]) == 0

    # the export changes: deal 1 got a task, deal 8 is new; the rest still fails
    deals2 = scenario_deals() + [deal(8, owner="Иван Петров", **{"Источник сделки": ""})]
    e2 = build(env["dir"] / "e2", deals2)
    assert run(env, e2, D2) == 0

    assert sheet_rows(env["out"], "1.1") == {}
    r18 = sheet_rows(env["out"], "1.8")
    assert set(r18) == {"4", "6", "7", "8", "9"}  # 2 accepted -> gone
    assert r18["4"]["Статус"] == "Не исправлено" and r18["4"]["Комментарий"] == "Источник неизвестен"
    assert r18["4"]["Аудитов подряд"] == 2 and r18["4"]["Впервые в аудите"] == dt.datetime(2026, 11, 6)
    assert "Предупреждение руководителя от" in r18["4"]["Примечание"] and "заполни источник" in r18["4"]["Примечание"]
    assert r18["4"]["Решение"] is None  # this audit's decision is still to be taken
    assert r18["6"]["Статус"] == "Не исправлено" and r18["6"]["Комментарий"] is None
    assert r18["7"]["Статус"] == "Не обработано" and r18["7"]["Аудитов подряд"] == 2
    assert r18["8"]["Статус"] == "Не обработано" and r18["8"]["Аудитов подряд"] == 1
    assert r18["8"]["Впервые в аудите"] == dt.datetime(2026, 11, 20)
    assert r18["9"]["Комментарий"] == "=SUM(A1) проверю"  # text again, not a formula
    r21 = sheet_rows(env["out"], "2.1")
    assert r21["3"]["Статус"] == "Не обработано"
    assert "Исправлено" in r21["3"]["Примечание"] and "06.11.2026" in r21["3"]["Примечание"]
    assert r21["5"]["Статус"] == "готово" and r21["5"]["Комментарий"] == "сделал"  # kept as written

    # «Учет попаданий» grows a history: managers × audit dates, warnings, a native chart
    wb = openpyxl.load_workbook(env["out"])
    values = list(wb["Учет попаданий"].iter_rows(values_only=True))
    hi = next(i for i, r in enumerate(values) if r[0] == "История: попадания по аудитам")
    assert values[hi + 1][:3] == ("Менеджер", "06.11.2026", "20.11.2026")
    hist = {r[0]: r[1:5] for r in values[hi + 2:] if r[0] and r[0] not in ("Итого",) and not str(r[0]).startswith(("Никогда", "Попадание", "Все"))}
    assert hist["Мария Кузнецова"] == (3, 2, 5, 1)  # 1.8 ×2 + 1.1 in audit 1; 1.8 ×2 in audit 2; 1 warning
    import zipfile

    with zipfile.ZipFile(env["out"]) as z:
        assert any(n.startswith("xl/charts/chart") for n in z.namelist())

    with Ledger(env["dir"] / "crm-audit.db") as led:
        f1 = led.finding("open-deal-without-tasks", "1")
        assert f1["resolved_on"] == D2 and f1["first_seen"] == D1
        assert [(w.rule_id, w.deal_id) for w in led.waivers()] == [("missing-source", "2")]
        warns = led.warnings()
        assert [(w["rule_id"], w["deal_id"], w["owner"]) for w in warns if w["rule_id"] == "missing-source"] == [("missing-source", "4", "Мария Кузнецова")]
        assert len(led.audits()) == 2
        fa = led.findings_of(led.latest_audit()["id"])
        assert fa[("missing-city-or-country", "3")]["repeat"] == 1

    capsys.readouterr()
    assert main(["waivers", "-c", str(env["cfg"])]) == 0
    assert "missing-source" in capsys.readouterr().out

    # review: text, manager to-do, html
    html = env["dir"] / "review.html"
    assert main(["review", "-c", str(env["cfg"]), "--today", "2026-11-25", "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "Мария Кузнецова" in out and "waiting for your decision" in out and "without the mandatory comment" in out
    page = html.read_text(encoding="utf-8")
    assert "<svg" in page and "Мария Кузнецова" in page and "http" not in page.split("<body>")[0].replace("http-equiv", "")
    assert main(["review", "-c", str(env["cfg"]), "--manager", "иван петров", "--today", "2026-11-25"]) == 0
    todo = capsys.readouterr().out
    assert "Иван Петров" in todo and "https://example.pipedrive.com/deal/7" in todo and "Мария" not in todo

    # re-running the same audit is idempotent
    before = sheet_rows(env["out"], "1.8")
    assert run(env, e2, D2) == 0
    assert sheet_rows(env["out"], "1.8") == before
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert len(led.audits()) == 2

    # the accepted deal comes back when its audited fields change
    deals3 = [dict(d, title="Новое название сделки") if d["id"] == "2" else d for d in deals2]
    e3 = build(env["dir"] / "e3", deals3)
    assert run(env, e3, "2026-12-04") == 0
    r18 = sheet_rows(env["out"], "1.8")
    assert "2" in r18 and "изменились" in r18["2"]["Примечание"]


def test_cli_accept_with_expiry(env, capsys):
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    assert run(env, e1, D1) == 0
    assert main(["accept", "-c", str(env["cfg"]), "missing-source", "6", "--until", "2026-11-25", "--note", "до конца месяца"]) == 0
    assert run(env, e1, D2) == 0
    assert "6" not in sheet_rows(env["out"], "1.8")
    assert run(env, e1, "2026-12-04") == 0
    assert "6" in sheet_rows(env["out"], "1.8")  # the waiver expired
    assert main(["accept", "-c", str(env["cfg"]), "no-such-rule", "6"]) == 2
    capsys.readouterr()
    assert main(["waivers", "-c", str(env["cfg"])]) == 0
    assert "No accepted findings." in capsys.readouterr().out
    assert main(["waivers", "-c", str(env["cfg"]), "--all"]) == 0
    assert "ENDED 04.12.2026 (expired)" in capsys.readouterr().out


# ----------------------------------------------------------------------------- crash safety


def _snapshot(env):
    return env["out"].read_bytes(), None


def _audit1_with_comments(env):
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    assert run(env, e1, D1) == 0
    edit_workbook(env["out"], {
        ("1.8", "4"): {"Статус": "Не исправлено", "Комментарий": "Источник неизвестен"},
        ("2.1", "5"): {"Статус": "Не исправлено", "Комментарий": "город уточняю"},
    })
    return e1


@pytest.mark.parametrize("step", ["evaluate", "workbook", "csv", "ledger"])
def test_fault_at_each_step_loses_nothing(env, monkeypatch, step):
    e1 = _audit1_with_comments(env)
    before_bytes, _ = _snapshot(env)
    import crm_audit.engine.audit as audit_mod
    import crm_audit.history.record as record_mod
    import exporters.csv as csv_mod
    import exporters.xlsx as xlsx_mod

    def boom(*a, **k):
        raise RuntimeError(f"injected failure at {step}")

    target = {"evaluate": (audit_mod, "audit_export"), "workbook": (xlsx_mod, "write_workbook"),
              "csv": (csv_mod, "write_violations_csv"), "ledger": (record_mod, "record")}[step]
    if step == "evaluate":
        monkeypatch.setattr("crm_audit.engine.backends.duckdb_backend.DuckDBBackend.run", boom)
    else:
        monkeypatch.setattr(*target, boom)
    code = main(["run", "-c", str(env["cfg"]), "--export", str(e1), "--as-of", D2, "--out", str(env["out"]),
                 "--violations-csv", str(env["dir"] / "v.csv"), "--quiet"])
    assert code == 2
    if step in ("evaluate", "workbook"):
        assert env["out"].read_bytes() == before_bytes  # the previous document is intact
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert [a["as_of"] for a in led.audits()] == [D1] or step == "never"
    monkeypatch.undo()
    # a plain re-run completes and every comment survives
    assert run(env, e1, D2) == 0
    r18, r21 = sheet_rows(env["out"], "1.8"), sheet_rows(env["out"], "2.1")
    assert r18["4"]["Комментарий"] == "Источник неизвестен" and r18["4"]["Статус"] == "Не исправлено"
    assert r21["5"]["Комментарий"] == "город уточняю"
    assert not list(env["dir"].glob("*.tmp*")) and not list(env["dir"].glob(".*audit*"))


def test_killed_mid_write_keeps_previous_document(env):
    e1 = _audit1_with_comments(env)
    before_bytes, _ = _snapshot(env)
    code = f"""
import os, sys, time
sys.path.insert(0, {str(Path(__file__).parent)!r})
real = os.replace
def slow_replace(src, dst):
    if str(dst).endswith('audit.xlsx'):
        print('WRITING', flush=True)
        time.sleep(60)
    return real(src, dst)
os.replace = slow_replace
from crm_audit.cli import main
main(['run', '-c', {str(env['cfg'])!r}, '--export', {str(e1)!r}, '--as-of', {D2!r}, '--out', {str(env['out'])!r}, '--quiet'])
"""
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        assert "WRITING" in line, p.stderr.read()
        os.kill(p.pid, signal.SIGKILL)
    finally:
        p.wait(timeout=30)
    assert env["out"].read_bytes() == before_bytes
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert [a["as_of"] for a in led.audits()] == [D1]
    assert run(env, e1, D2) == 0
    assert sheet_rows(env["out"], "1.8")["4"]["Комментарий"] == "Источник неизвестен"
    assert sheet_rows(env["out"], "2.1")["5"]["Комментарий"] == "город уточняю"


def test_unreadable_previous_document_stops_before_writing(env, capsys):
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    env["out"].write_bytes(b"not a zip file")
    assert run(env, e1, D1) == 2
    assert env["out"].read_bytes() == b"not a zip file"
    assert "previous audit document" in capsys.readouterr().err


@pytest.mark.skipif(not __import__("shutil").which("soffice"), reason="LibreOffice (soffice) not installed")
def test_read_back_after_libreoffice_resave(env):
    """A manager's client: ids come back as numbers, text in shared strings, empty cells absent."""
    import shutil

    e1 = _audit1_with_comments(env)
    lo = env["dir"] / "lo"
    lo.mkdir()
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{env['dir'] / 'lo-profile'}",
                    "--convert-to", "xlsx", "--outdir", str(lo), str(env["out"])], check=True, capture_output=True, timeout=180)
    shutil.copy(lo / "audit.xlsx", env["out"])
    assert run(env, e1, D2) == 0
    r18, r21 = sheet_rows(env["out"], "1.8"), sheet_rows(env["out"], "2.1")
    assert r18["4"]["Статус"] == "Не исправлено" and r18["4"]["Комментарий"] == "Источник неизвестен"
    assert r21["5"]["Комментарий"] == "город уточняю" and r21["5"]["Аудитов подряд"] == 2


def test_fingerprint_ignores_the_audit_date_but_not_the_deal(tmp_path):
    """Days in stage grow with the audit date alone: a waived stuck deal stays waived; a renamed deal does not."""
    from crm_audit import settings as settings_mod
    from crm_audit.engine.audit import audit_export
    from crm_audit.history.carry import fingerprints

    stuck = [deal(i, owner=owner_of(i), stage_changed="2026-09-01") for i in (1, 2)]
    path = tmp_path / "crm-audit.yaml"
    path.write_text(render_settings("pipedrive"), encoding="utf-8")
    cfg = settings_mod.load(str(path))

    def fps(deals, as_of):
        report = audit_export(cfg, build(tmp_path / f"e{as_of}{deals[0]['title']}", deals), as_of=dt.date.fromisoformat(as_of))
        res = next(r for r in report.results if r.rule_id == "no-stage-movement")
        return dict(zip(res.rows["deal_id"].astype(str), fingerprints(res)))

    first, later = fps(stuck, "2026-11-06"), fps(stuck, "2026-11-20")
    assert set(first) == {"1", "2"} and first == later
    renamed = fps([dict(stuck[0], title="Другое название"), stuck[1]], "2026-11-20")
    assert renamed["1"] != first["1"] and renamed["2"] == first["2"]
    assert all(len(v) == 16 for v in first.values())


def test_a_version_1_ledger_is_migrated_without_losing_history(tmp_path):
    import sqlite3

    from crm_audit.history import ledger as ledger_mod

    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    for stmt in ledger_mod._statements(ledger_mod.MIGRATIONS[0]):
        con.execute(stmt)
    con.execute("PRAGMA user_version = 1")
    con.execute("INSERT INTO audits (id, as_of, ran_at) VALUES (1, '2026-11-06', '2026-11-06T10:00:00')")
    con.execute("INSERT INTO finding_audits (audit_id, rule_id, deal_id, owner, streak, status, comment) "
                "VALUES (1, 'missing-source', '7', 'Иван', 1, 'Не исправлено', 'жду клиента')")
    con.commit()
    con.close()
    with Ledger(path) as led:
        assert led.con.execute("PRAGMA user_version").fetchone()[0] == len(ledger_mod.MIGRATIONS)
        row = led.findings_of(1)[("missing-source", "7")]
        assert row["comment"] == "жду клиента" and row["title"] is None


def _lo_resave(env, name: str) -> None:
    """Open and save the workbook in LibreOffice Calc (headless), as a manager's client would."""
    import shutil

    lo = env["dir"] / f"lo-{name}"
    lo.mkdir()
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{env['dir'] / 'lo-profile'}",
                    "--convert-to", "xlsx", "--outdir", str(lo), str(env["out"])], check=True, capture_output=True, timeout=180)
    shutil.copy(lo / env["out"].name, env["out"])


@pytest.mark.skipif(not __import__("shutil").which("soffice"), reason="LibreOffice (soffice) not installed")
def test_manager_edits_in_a_libreoffice_saved_file_survive_and_stay_text(env):
    """LibreOffice → manager edits (a hand-typed status, a formula-like comment, a row marked fixed) → LibreOffice → audit 2."""
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    assert run(env, e1, D1) == 0
    _lo_resave(env, "1")
    wb = openpyxl.load_workbook(env["out"])
    ws = next(w for w in wb.worksheets if w.title.startswith("1.8 "))
    header = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(header) if h}
    for r in range(2, ws.max_row + 1):
        did = ws.cell(r, col["ID сделки"]).value
        if str(did).replace(".0", "") == "4":
            ws.cell(r, col["Статус"]).value = " не исправлено "
            cell = ws.cell(r, col["Комментарий"])
            cell.value = "=SUM(A1) проверю"
            cell.data_type = "s"  # typed into the text-formatted column: text, not a formula
        if str(did).replace(".0", "") == "6":
            ws.cell(r, col["Статус"]).value = "Исправлено"
    wb.save(env["out"])
    _lo_resave(env, "2")

    assert run(env, e1, D2) == 0
    r18 = sheet_rows(env["out"], "1.8")
    assert r18["4"]["Статус"] == "Не исправлено" and r18["4"]["Комментарий"] == "=SUM(A1) проверю"
    assert r18["6"]["Статус"] == "Исправлено"  # marked fixed after this export was taken: kept
    assert r18["4"]["Аудитов подряд"] == 2
    wb = openpyxl.load_workbook(env["out"])
    assert not [c.coordinate for w in wb.worksheets for row in w.iter_rows() for c in row if c.data_type == "f"]
    _lo_resave(env, "3")  # and it is still text after the next save in LibreOffice
    wb = openpyxl.load_workbook(env["out"])
    assert not [c.coordinate for w in wb.worksheets for row in w.iter_rows() for c in row if c.data_type == "f"]


def test_fixed_is_kept_when_the_export_has_not_changed(env):
    """«Исправлено» on the same export files (re-run, or a later as-of without a new export) stays «Исправлено»;
    in a new export that still fails it comes back as «Не обработано» with a note."""
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    assert run(env, e1, D1) == 0
    edit_workbook(env["out"], {("2.1", "3"): {"Статус": "исправлено", "Комментарий": "поправил город"}})
    assert run(env, e1, D1) == 0  # the same audit again
    assert sheet_rows(env["out"], "2.1")["3"]["Статус"] == "Исправлено"
    assert run(env, e1, D2) == 0  # a later date, the same export files
    r = sheet_rows(env["out"], "2.1")["3"]
    assert r["Статус"] == "Исправлено" and r["Комментарий"] == "поправил город" and not r["Примечание"]
    e2 = build(env["dir"] / "e2", scenario_deals({"9": {"title": "Другая сделка"}}), no_task={"1"})
    assert run(env, e2, "2026-12-04") == 0  # a new export: deal 3 still has no city
    r = sheet_rows(env["out"], "2.1")["3"]
    assert r["Статус"] == "Не обработано" and "Исправлено" in r["Примечание"] and r["Комментарий"] == "поправил город"
    assert run(env, e2, "2026-12-04") == 0  # re-running that audit is idempotent: the note stays
    assert sheet_rows(env["out"], "2.1")["3"] == r


def test_managers_who_never_appear_are_named_on_the_hit_sheet(env):
    deals = scenario_deals() + [deal(20, owner="Тихон Чистов")]  # a clean deal: he is never flagged
    e1 = build(env["dir"] / "e1", deals, no_task={"1"})
    assert run(env, e1, D1) == 0
    ws = openpyxl.load_workbook(env["out"])["Учет попаданий"]
    text = " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    assert "Никогда не попадали в аудит: Тихон Чистов" in text


def test_commands_on_a_missing_ledger_stop_instead_of_starting_a_new_history(env, capsys):
    missing = env["dir"] / "typo" / "x.db"
    for args in (["accept", "missing-source", "6"], ["warn", "missing-source", "6"], ["waivers"], ["pull"], ["review", "--no-pull"]):
        assert main([*args, "-c", str(env["cfg"]), "--ledger", str(missing)]) == 2, args
        assert "no audit history" in capsys.readouterr().err
    assert not missing.parent.exists()


@pytest.mark.parametrize("lock", [".~lock.audit.xlsx#", "~$audit.xlsx"])
def test_a_workbook_open_in_libreoffice_or_excel_is_not_overwritten(env, capsys, lock):
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    assert run(env, e1, D1) == 0
    before = env["out"].read_bytes()
    (env["dir"] / lock).write_text("manager,host", encoding="utf-8")
    assert run(env, e1, D2) == 2
    assert "is open in LibreOffice or Excel" in capsys.readouterr().err
    assert env["out"].read_bytes() == before
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert len(led.audits()) == 1


def test_decisions_need_a_real_finding_and_take_the_sheet_code(env, capsys):
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    assert run(env, e1, D1) == 0
    assert main(["warn", "-c", str(env["cfg"]), "missing-source", "99999"]) == 2  # a typo in the deal id
    assert "no finding of rule missing-source for deal 99999" in capsys.readouterr().err
    assert main(["accept", "-c", str(env["cfg"]), "1.8", "6", "--until", "2026-11-01"]) == 2  # already passed
    assert main(["accept", "-c", str(env["cfg"]), "1.8", "6", "--note", "ок"]) == 0  # the code from the sheet title
    assert main(["warn", "-c", str(env["cfg"]), "missing-source", "99999", "--force"]) == 0
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert [(w.rule_id, w.deal_id) for w in led.waivers()] == [("missing-source", "6")]


def test_a_partial_run_does_not_replace_the_teams_document(env, capsys):
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    assert run(env, e1, D1) == 0
    before = env["out"].read_bytes()
    assert run(env, e1, D2, "--rule", "missing-source") == 2
    assert "--rule runs part of the audit" in capsys.readouterr().err
    assert env["out"].read_bytes() == before
    partial = env["dir"] / "partial.xlsx"
    assert main(["run", "-c", str(env["cfg"]), "--export", str(e1), "--as-of", D2, "--out", str(partial), "--quiet",
                 "--rule", "missing-source"]) == 0
    assert [ws.title.split(" ")[0] for ws in openpyxl.load_workbook(partial).worksheets] == ["FAQ", "1.8", "Учет"]
    with Ledger(env["dir"] / "crm-audit.db") as led:
        assert len(led.audits()) == 1  # a partial run records no audit
