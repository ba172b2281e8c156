"""Notify gaps (issue 16, point 3), through the CLI against the fake Bot API and a real SMTP server:

- a long to-do goes to Telegram in parts; when the API fails half-way, the parts delivered are recorded one by one and
  the next `crm-audit notify` sends only the parts the chat has not got (never the first ones twice);
- a manager with nothing open gets nothing by default, and a short «нарушений нет» with `notify.all_clear: true`;
- the CLI's lines about it are Russian for a Russian team.
"""

from __future__ import annotations

import sqlite3

import pytest

pytest.importorskip("aiosmtpd")

from crm_audit import i18n  # noqa: E402
from crm_audit.cli import main  # noqa: E402
from fake_telegram.server import FakeTelegram, parse_html  # noqa: E402
from test_notify import IVAN, MARIA, PASSWORD, TOKEN, Inbox, Smtp, bodies, free_port, settings  # noqa: E402
from test_workflow import D1, D2, build, deal, env  # noqa: E402,F401

IVAN_CHAT, HEAD_CHAT = "111", "-1009"


@pytest.fixture(autouse=True)
def _secrets(monkeypatch):
    monkeypatch.setenv("CRM_AUDIT_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("CRM_AUDIT_TELEGRAM_TOKEN", TOKEN)
    yield
    i18n.use_language(None)


def many_deals(n: int) -> list[dict]:
    """Иван: ``n`` deals without «Источник сделки» and long titles (a to-do over Telegram's 4096 characters);
    Мария: one deal that is fine."""
    ds = [deal(i, owner=IVAN, title=f"ООО «Северный торговый дом {i}» — поставка оборудования, этап 2",
               **{"Источник сделки": ""}) for i in range(1, n + 1)]
    ds.append(deal(900, owner=MARIA))
    return ds


def audit(env, deals, as_of=D2) -> None:
    e = build(env["dir"] / f"e{as_of}", deals)
    assert main(["run", "-c", str(env["cfg"]), "--export", str(e), "--as-of", as_of, "--out", str(env["out"]), "--quiet"]) == 0


def notify(env, *args) -> int:
    return main(["notify", "-c", str(env["cfg"]), "--today", "2026-11-21", *args])


def ledger_rows(env) -> list[tuple]:
    con = sqlite3.connect(env["dir"] / "crm-audit.db")
    try:
        return con.execute("SELECT channel, recipient, kind FROM sent_messages ORDER BY id").fetchall()
    finally:
        con.close()


def test_a_long_telegram_todo_broken_off_half_way_is_completed_without_repeats(env, capsys):
    audit(env, many_deals(100))
    with FakeTelegram(TOKEN) as tg:
        settings(env, free_port(), telegram_url=tg.url, managers={IVAN: {"telegram": IVAN_CHAT}}, head={"telegram": HEAD_CHAT})
        tg.fails_after[IVAN_CHAT] = 2  # the API goes down for Иван's chat after two parts
        assert notify(env, "--channel", "telegram") == 2
        cap = capsys.readouterr()
        first = tg.delivered(IVAN_CHAT)
        assert len(first) == 2 and all(len(parse_html(p)[1]) <= 4096 and parse_html(p)[0] is None for p in first)
        failed = [ln for ln in cap.out.splitlines() if ln.startswith("FAILED   Telegram 111")]
        assert len(failed) == 1 and "part 3 of " in failed[0] and "Telegram answered 502; the server's own words: «Bad Gateway» (the earlier parts were delivered)" in failed[0]
        n_parts = int(failed[0].split("part 3 of ")[1].split(":")[0])
        assert n_parts >= 4
        # each delivered part is recorded at once; the whole message is not (it did not arrive whole)
        assert ledger_rows(env) == [("telegram-part", IVAN_CHAT, "manager"), ("telegram-part", IVAN_CHAT, "manager"),
                                    ("telegram", HEAD_CHAT, "head")]

        del tg.fails_after[IVAN_CHAT]  # the API is back
        assert notify(env, "--channel", "telegram") == 0
        out = capsys.readouterr().out
        got = tg.delivered(IVAN_CHAT)
        assert len(got) == n_parts and len(set(got)) == n_parts, "a part was sent twice"
        assert got[:2] == first  # the chat has the whole to-do in order, each part once
        text = "\n".join(parse_html(p)[1] for p in got)
        assert sum(f"Северный торговый дом {i}»" in text for i in range(1, 101)) == 100
        assert f"sent     Telegram 111                              {IVAN}: to-do (the rest: 2 of {n_parts} parts were delivered earlier)" in out
        assert "skipped  Telegram -1009" in out
        assert ledger_rows(env)[-1] == ("telegram", IVAN_CHAT, "manager")

        # a third run sends nothing; --resend sends the whole message again
        assert notify(env, "--channel", "telegram") == 0
        assert len(tg.delivered(IVAN_CHAT)) == n_parts
        assert notify(env, "--channel", "telegram", "--resend") == 0
        assert len(tg.delivered(IVAN_CHAT)) == 2 * n_parts


def test_a_manager_with_nothing_open_gets_nothing_unless_all_clear(env, capsys):
    # audit 1: Мария has a finding; audit 2: she fixed it, Иван still has his
    d1 = [deal(1, owner=IVAN, **{"Источник сделки": ""}), deal(2, owner=MARIA, **{"Источник сделки": ""})]
    audit(env, d1, D1)
    audit(env, [deal(1, owner=IVAN, **{"Источник сделки": ""}), deal(2, owner=MARIA)], D2)
    inbox = Inbox()
    with Smtp(inbox, port := free_port()):
        settings(env, port, managers={IVAN: "ivan@example.com", MARIA: "maria@example.com"}, head={"email": "rop@example.com"})
        assert notify(env, "--channel", "email") == 0
        out = capsys.readouterr().out
        assert sorted(inbox.parsed()) == ["ivan@example.com", "rop@example.com"]
        assert f"Nothing to send (no open findings): {MARIA}." in out and "no address" not in out

        # the team wants the short «all clear»: Мария gets it (a re-run sends only what was not sent yet)
        import yaml

        cfg = yaml.safe_load(env["cfg"].read_text(encoding="utf-8"))
        cfg["notify"]["all_clear"] = True
        cfg["language"] = "ru"
        env["cfg"].write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
        import os

        del os.environ["CRM_AUDIT_LANGUAGE"]  # the team's language: the CLI's lines in Russian
        try:
            assert notify(env, "--channel", "email") == 0
        finally:
            os.environ["CRM_AUDIT_LANGUAGE"] = "en"
        out = capsys.readouterr().out
    got = inbox.parsed()
    assert len(inbox.messages) == 3 and "maria@example.com" in got
    maria = got["maria@example.com"]
    assert maria["Subject"] == "Аудит CRM от 20.11.2026: открытых нарушений нет"
    text, html = bodies(maria)
    assert text.splitlines()[0] == f"{MARIA}, по аудиту CRM от 20.11.2026 у вас нет открытых нарушений. Спасибо!"
    assert "С прошлого аудита (06.11.2026): новых 0, исправлено 1, осталось 0." in text
    assert IVAN not in text + html and "Сделка номер 1" not in text + html
    lines = out.splitlines()
    assert f"отправлено почта    maria@example.com                {MARIA}: список дел" in lines, out
    assert any(ln.startswith("пропущено почта    ivan@example.com") and "уже отправлено" in ln for ln in lines), out
    assert not any(re.search(r"\b(sent|skipped|to-do|already|Nothing)\b", ln) for ln in lines), out


import re  # noqa: E402
