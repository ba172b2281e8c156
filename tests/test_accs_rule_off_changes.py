"""Acceptance S2: a rule switched off for one audit is neither «исправлено» nor «новых» in the comparison.

The Pipedrive story (tests/fixtures/accs/story, from /tmp/accS/story): audit 1 (20.11) flags 1.8 «Нет источника» for deals
2 (Иван Петров) and 6 (Мария Кузнецова), both marked «Не исправлено». Audit 2 (04.12) runs with
``rules: disable: [missing-source]``; audit 3 (18.12) with 1.8 back on. Neither deal changed. Only 1.1/2 was fixed
between 1 and 2 (a task added); between 2 and 3, 1.3/3 and 2.3/3 were fixed, 1.1/3 and 2.3/2 are new.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import openpyxl

from cli_helpers import cli_ru, findings_by_code, run_audit, mark_row
from crm_audit.history import ledger as ledger_mod
from crm_audit.history.ledger import Ledger

STORY = Path(__file__).parent / "fixtures" / "accs" / "story"
D1, D2, D3 = "2026-11-20", "2026-12-04", "2026-12-18"


_mark = mark_row


def _rows(workbook: Path, code: str) -> dict[str, dict]:
    wb = openpyxl.load_workbook(workbook)
    ws = next(wb[s] for s in wb.sheetnames if s.split(" ")[0] == code)
    header = [c.value for c in ws[1]]
    return {str(r[header.index("ID сделки")]): dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True)}


def _disable(work: Path, rules: str) -> None:
    settings = work / "crm-audit.yaml"
    text, n = re.subn(r"(?m)^  disable: \[.*\]", f"  disable: [{rules}]", settings.read_text(encoding="utf-8"))
    assert n == 1
    settings.write_text(text, encoding="utf-8")


def _since_last(workbook: Path) -> dict[str, tuple]:
    """«Учет попаданий», «С прошлого аудита»: manager -> (Новых, Исправлено, Осталось)."""
    ws = openpyxl.load_workbook(workbook)["Учет попаданий"]
    rows = [r for r in ws.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if str(r[0] or "").startswith("С прошлого аудита"))
    out = {}
    for r in rows[start + 2:]:
        if not r[0] or not isinstance(r[1], int):
            break
        out[r[0]] = tuple(r[1:4])
    return out


def _story(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    shutil.copytree(STORY, work)
    return work


def test_a_rule_switched_off_for_one_audit_is_neither_fixed_nor_new(tmp_path, capsys, monkeypatch):
    work = _story(tmp_path)
    book = work / "audit.xlsx"
    run_audit(capsys, monkeypatch, work, work / f"export-{D1}", D1)
    assert findings_by_code(work / "v.csv")["1.8"] == {"2", "6"}
    _mark(book, "1.8", "2", "Не исправлено", "жду клиента")
    _mark(book, "1.8", "6", "Не исправлено", "источник уточняю")
    _mark(book, "1.1", "2", "Исправлено")

    _disable(work, "missing-source")
    out, _err = run_audit(capsys, monkeypatch, work, work / f"export-{D2}", D2)
    assert "1.8" not in findings_by_code(work / "v.csv")
    assert ("С аудита от 20.11.2026: новых 9, исправлено 1, осталось 19, отмечено «Исправлено», но нарушение осталось: 0, "
            "принято 0, предупреждений 0.") in out
    # the code of the switched-off rule comes from the ledger (audit 1 ran it)
    assert ("  Не сравнивались 2 нарушения правил, которые не проверялись в одном из двух аудитов (1.8: 2): они не "
            "считаются ни новыми, ни исправленными.") in out
    assert re.search(r"Мария Кузнецова +\+5 +-0 +=8 ", out) and re.search(r"Иван Петров +\+3 +-1 +=7 ", out), out
    assert _since_last(book) == {"Мария Кузнецова": (5, 0, 8), "Иван Петров": (3, 1, 7), "Ольга Партнерова": (1, 0, 4),
                                 "Вся команда": (9, 1, 19)}

    _disable(work, "")
    out, _err = run_audit(capsys, monkeypatch, work, work / f"export-{D3}", D3)
    assert findings_by_code(work / "v.csv")["1.8"] == {"2", "6"}
    assert ("С аудита от 04.12.2026: новых 2, исправлено 2, осталось 26, отмечено «Исправлено», но нарушение осталось: 0, "
            "принято 0, предупреждений 0.") in out
    assert "(1.8: 2)" in out
    assert re.search(r"Мария Кузнецова +\+1 +-2 +=11 ", out) and re.search(r"Иван Петров +\+1 +-0 +=10 ", out), out
    assert _since_last(book) == {"Мария Кузнецова": (1, 2, 11), "Иван Петров": (1, 0, 10), "Ольга Партнерова": (0, 0, 5),
                                 "Вся команда": (2, 2, 26)}
    rows = _rows(book, "1.8")  # back with the marks of audit 1 and its first-seen date; 2 audits in a row that ran 1.8
    assert {d: (r["Статус"], r["Комментарий"], r["Впервые в аудите"].date().isoformat(), r["Аудитов подряд"])
            for d, r in rows.items()} == {"2": ("Не исправлено", "жду клиента", D1, 2), "6": ("Не исправлено", "источник уточняю", D1, 2)}
    assert _rows(book, "1.1")["3"]["Аудитов подряд"] == 1  # new in this audit

    with Ledger(work / "l.db") as led:  # the ledger knows which rules each audit ran
        ran = [led.rules_ran(a["id"]) for a in led.audits()]
    assert "missing-source" in ran[0] and "missing-source" not in ran[1] and ran[2]["missing-source"] == "1.8"
    assert len(ran[0]) == len(ran[2]) == len(ran[1]) + 1

    code, review, err = cli_ru(capsys, monkeypatch, "review", "-c", str(work / "crm-audit.yaml"), "--ledger", str(work / "l.db"),
                               "--today", D3)
    assert code == 0, err
    assert "новых 2, исправлено 2, осталось 26" in review and "(1.8: 2)" in review


def test_a_ledger_from_before_the_rules_were_recorded_compares_every_rule(tmp_path, capsys, monkeypatch):
    """An audit recorded before schema 8 has no rules_ran: every rule counts as run in it."""
    work = _story(tmp_path)
    run_audit(capsys, monkeypatch, work, work / f"export-{D1}", D1)
    con = sqlite3.connect(work / "l.db")
    con.execute("ALTER TABLE audits DROP COLUMN rules_ran")
    con.execute("PRAGMA user_version = 7")
    con.commit()
    con.close()
    with Ledger(work / "l.db") as led:
        assert led.con.execute("PRAGMA user_version").fetchone()[0] == len(ledger_mod.MIGRATIONS)
        assert led.rules_ran(led.latest_audit()["id"]) is None
    _disable(work, "missing-source")  # this audit knows it did not run 1.8: left out even against the old audit
    out, _err = run_audit(capsys, monkeypatch, work, work / f"export-{D2}", D2)
    # neither audit tells the rule's code: it is named by its id, as `rules: disable:` names it
    assert "новых 9, исправлено 1, осталось 19," in out and "(missing-source: 2)" in out
    with Ledger(work / "l.db") as led:
        assert [led.rules_ran(a["id"]) is None for a in led.audits()] == [True, False]


def test_a_partial_run_does_not_say_it_replaced_the_audit_of_its_date(tmp_path, capsys, monkeypatch):
    work = _story(tmp_path)
    run_audit(capsys, monkeypatch, work, work / f"export-{D1}", D1)
    code, out, err = cli_ru(capsys, monkeypatch, "run", "-c", str(work / "crm-audit.yaml"), "--export", str(work / f"export-{D1}"),
                            "--as-of", D1, "--rule", "missing-source", "--violations-csv", str(work / "partial.csv"),
                            "--ledger", str(work / "l.db"))
    assert code == 0, err
    assert "заменён этим запуском" not in out
    assert "Частичный запуск (--rule): история аудитов и документ команды не изменены." in out
    code, out, err = cli_ru(capsys, monkeypatch, "run", "-c", str(work / "crm-audit.yaml"), "--export", str(work / f"export-{D1}"),
                            "--as-of", D1, "--out", str(work / "audit.xlsx"), "--ledger", str(work / "l.db"), "--dry-run")
    assert code == 0, err
    assert "заменён этим запуском" not in out
    out, _err = run_audit(capsys, monkeypatch, work, work / f"export-{D1}", D1)  # a real re-run of the date does replace it
    assert "Аудит от 20.11.2026 заменён этим запуском (его документы прочитаны до записи)." in out
