"""Issue 16, acceptance test H (defects 2–8): what the digests, the CLI and the document say in the small cases.

2. A deal with a blank title (what rule 1.5 flags) still has something to click: «Сделка 25 (без названия)» in the
   e-mail's text and HTML, the Telegram message, the review pages and the workbook's title cell.
3. A failed `notify --resend` does not promise that the next `notify` sends the message (it was delivered before).
4. Telegram failures in the Russian CLI have no English fragments; the channel column is a word of the CLI's language.
5. The English CLI names a rule by code and id (summary, review lines, a document cell's warning).
6. «Решение» keeps its drop-down and warns that the head fills it (one validation a cell: LibreOffice keeps it).
7. An SMTP server that hangs up on a refused AUTH: one login, every message "not sent" (never "not known").
8. `pull` names the unknown-status bucket; validate rejects a Telegram chat id that is no id.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading

import openpyxl
import pytest

pytest.importorskip("aiosmtpd")

from crm_audit.cli import main  # noqa: E402
from fake_telegram.server import FakeTelegram  # noqa: E402
from libreoffice import have_soffice  # noqa: E402
from test_notify import (PASSWORD, TOKEN, URL, USER, Inbox, Smtp, bodies, free_port, notify, sent_rows,  # noqa: E402,F401
                         settings)
from test_workflow import D1, D2, build, deal, edit_workbook, env, owner_of, run, scenario_deals  # noqa: E402,F401

IVAN, MARIA = "Иван Петров", "Мария Кузнецова"
BLANK = "Сделка 25 (без названия)"


@pytest.fixture()
def lang():
    """Set CRM_AUDIT_LANGUAGE for a part of a test; restored afterwards."""
    before = os.environ.get("CRM_AUDIT_LANGUAGE")

    def use(value: str) -> None:
        os.environ["CRM_AUDIT_LANGUAGE"] = value

    yield use
    if before is None:
        os.environ.pop("CRM_AUDIT_LANGUAGE", None)
    else:
        os.environ["CRM_AUDIT_LANGUAGE"] = before


def deals_with_blank_title():
    ds = scenario_deals() + [deal(25, title="    ")]  # 1.5: a title of spaces
    ds[-1]["owner"] = owner_of(25)  # Иван
    return ds


@pytest.fixture()
def audited(env, monkeypatch):
    monkeypatch.setenv("CRM_AUDIT_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("CRM_AUDIT_TELEGRAM_TOKEN", TOKEN)
    assert run(env, build(env["dir"] / "e1", deals_with_blank_title()), D1) == 0
    assert run(env, build(env["dir"] / "e2", deals_with_blank_title()), D2) == 0
    return env


# ----------------------------------------------------------------------------- 2: blank titles


def test_a_blank_title_links_as_deal_n_without_title_everywhere(audited, capsys, tmp_path):
    env = audited
    inbox = Inbox()
    with Smtp(inbox, port := free_port()), FakeTelegram(TOKEN) as tg:
        settings(env, port, telegram_url=tg.url)
        assert notify(env) == 0, capsys.readouterr().out
        ivan_tg = tg.delivered("111")
    text, html = bodies(inbox.parsed()["ivan@example.com"])
    assert f"  • «{BLANK}» (сделка 25) {URL.format(25)}" in text.splitlines()
    assert f'<a href="{URL.format(25)}">{BLANK}</a>' in html
    assert not re.search(r">\s*</a>", html)  # no link without text
    assert f'<a href="{URL.format(25)}">{BLANK}</a>' in ivan_tg[0]

    # the workbook: the 1.5 sheet's title cell reads the fallback and carries the deal's link
    wb = openpyxl.load_workbook(env["out"])
    ws = next(ws for ws in wb.worksheets if ws.title.startswith("1.5 "))
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if str(r[header.index("ID сделки")].value) == "25")
    cell = row[header.index("Название сделки")]
    assert cell.value == BLANK and cell.hyperlink is not None and cell.hyperlink.target == URL.format(25)

    # the review page and a manager's page
    page, mine = tmp_path / "review.html", tmp_path / "ivan.html"
    assert main(["review", "-c", str(env["cfg"]), "--html", str(page), "--today", "2026-11-21"]) == 0
    assert main(["review", "-c", str(env["cfg"]), "--manager", IVAN, "--html", str(mine), "--today", "2026-11-21"]) == 0
    for p in (page, mine):
        body = p.read_text(encoding="utf-8")
        assert not re.search(r">\s*</a>", body), p
    assert f'<a href="{URL.format(25)}">{BLANK}</a>' in mine.read_text(encoding="utf-8")


def test_deal_label():
    from crm_audit.deal_label import deal_label, deal_label_cli

    assert deal_label("  ", "25") == BLANK and deal_label(None, 7) == "Сделка 7 (без названия)"
    assert deal_label(" ООО Ромашка ", "1") == " ООО Ромашка "  # a real title as written
    assert deal_label_cli("", "25") in ("Deal 25 (no title)", BLANK)


# ----------------------------------------------------------------------------- 3: the re-send's failure line


def test_a_failed_resend_does_not_promise_the_next_notify(audited, capsys, lang):
    env = audited
    inbox = Inbox()
    with Smtp(inbox, port := free_port()):
        settings(env, port)
        assert notify(env, "--channel", "email") == 0
    capsys.readouterr()
    # the server is gone: --resend fails for everyone
    lang("en")
    assert notify(env, "--channel", "email", "--resend") == 2
    out = capsys.readouterr().out
    failed = [ln for ln in out.splitlines() if ln.startswith("FAILED")]
    assert len(failed) == 3, out
    assert all("not sent again (it was delivered " in ln and "run `crm-audit notify --resend` again" in ln for ln in failed)
    assert "the next `crm-audit notify` sends it" not in out
    lang("ru")
    assert notify(env, "--channel", "email", "--resend") == 2
    out = capsys.readouterr().out
    assert out.count("повторно не отправлено (доставлено ранее, ") == 3 and "следующий `crm-audit notify` отправит" not in out
    # true: a plain notify skips them (recorded as sent), nothing is sent twice
    with Smtp(inbox, port):
        assert notify(env, "--channel", "email") == 0
    assert len(inbox.messages) == 3 and len(sent_rows(env)) == 3


# ----------------------------------------------------------------------------- 4: Telegram failures in Russian

LATIN_FRAGMENTS = ("Errno", "Connection refused", "Unauthorized", "Bad Request", "chat not found", "telegram ", "email ")


def test_telegram_failures_in_the_russian_cli_say_it_in_russian(audited, capsys, lang):
    env = audited
    lang("ru")
    with FakeTelegram(TOKEN) as tg:
        tg.unknown_chats.add("-1009")
        settings(env, free_port(), telegram_url=tg.url)
        assert notify(env, "--channel", "telegram") == 2
        out = capsys.readouterr().out
        assert "ОШИБКА" in out or "не отправлено" in out.lower() or out.count("Телеграм") >= 2, out
        line = next(ln for ln in out.splitlines() if "-1009" in ln)
        assert "Telegram не знает чат -1009: проверьте его id в notify" in line, line
        assert re.search(r"^\S+\s+Телеграм\s+111\s", out, re.M), out  # the channel column: a Russian word
        # a wrong token
        os.environ["CRM_AUDIT_TELEGRAM_TOKEN"] = "999:wrong-secret"
        try:
            assert notify(env, "--channel", "telegram") == 2
        finally:
            os.environ["CRM_AUDIT_TELEGRAM_TOKEN"] = TOKEN
        out2 = capsys.readouterr().out
        assert "Telegram не принял токен бота (401); проверьте переменную окружения" in out2 and "wrong-secret" not in out2
    # the API is down: nothing listens
    settings(env, port := free_port(), telegram_url=f"http://127.0.0.1:{port}")
    assert notify(env, "--channel", "telegram") == 2
    out3 = capsys.readouterr().out
    assert "не удаётся связаться с Telegram" in out3 or "Telegram" in out3
    assert "в соединении отказано" in out3, out3
    for text in (out, out2, out3):
        assert not any(f in text for f in LATIN_FRAGMENTS), text


def test_telegram_answers_are_mapped_to_their_meaning():
    from crm_audit import i18n
    from crm_audit.notify.telegram import answer_text

    before = i18n.current_language()
    try:
        i18n.use_language("en")
        assert answer_text(400, "Bad Request: chat not found", "-5").startswith("Telegram does not know the chat -5")
        assert answer_text(403, "Forbidden: bot was blocked by the user", "7") == "the user of chat 7 blocked the bot"
        assert answer_text(401, "Unauthorized", "7").startswith("Telegram refused the bot token (401);")
        # an unknown answer: the server's words, marked as such
        assert (answer_text(400, "Bad Request: something new", "7")
                == "Telegram answered 400; the server's own words: «Bad Request: something new»")
        i18n.use_language("ru")
        assert answer_text(400, "Bad Request: chat not found", "-5").startswith("Telegram не знает чат -5")
        assert answer_text(400, "Bad Request: something new", "7") == "Telegram ответил 400; слова сервера: «Bad Request: something new»"
    finally:
        i18n.use_language(before)


# ----------------------------------------------------------------------------- 5: the English CLI names rules by id


def test_the_english_cli_names_rules_by_code_and_id(env, capsys, lang):
    lang("en")
    e1 = build(env["dir"] / "e1", scenario_deals())
    assert main(["run", "-c", str(env["cfg"]), "--export", str(e1), "--as-of", D1, "--out", str(env["out"])]) == 0
    out = capsys.readouterr().out
    by_rule = out.split("By rule:")[1].split("\n\n")[0].strip().splitlines()
    assert by_rule and not any(re.search("[а-яё]", ln, re.I) for ln in by_rule), by_rule
    assert any(re.fullmatch(r"1\.8 [a-z0-9-]+\s+5", ln.strip()) for ln in by_rule), by_rule
    # a manager's answers: a waiting one and a status not in the list
    edit_workbook(env["out"], {("1.8", "4"): {"Статус": "Не исправлено", "Комментарий": "клиент не отвечает"},
                               ("1.8", "6"): {"Статус": "исправил"}})
    assert main(["pull", "-c", str(env["cfg"]), "--from", str(env["out"])]) == 0
    out = capsys.readouterr().out
    warning = next(ln for ln in out.splitlines() if "warning:" in ln and "deal 6" in ln)
    assert re.search(r"1\.8 [a-z0-9-]+, cell [A-Z]+\d+", warning) and not re.search("[а-яё]", warning.split("«")[0], re.I), warning
    assert "?: 1" not in out and "a status not in the drop-down (see the warnings): 1" in out, out
    assert main(["review", "-c", str(env["cfg"]), "--today", "2026-11-07"]) == 0
    out = capsys.readouterr().out
    waiting = next(ln for ln in out.splitlines() if "deal 4" in ln)
    assert re.search(r"Мария Кузнецова: 1\.8 [a-z0-9-]+ deal 4 «Сделка номер 4» — клиент не отвечает", waiting), waiting
    assert "Нет источника" not in out
    # Russian lines keep the Russian titles
    lang("ru")
    assert main(["review", "-c", str(env["cfg"]), "--today", "2026-11-07"]) == 0
    out = capsys.readouterr().out
    assert "Мария Кузнецова: 1.8 Нет источника сделка 4 «Сделка номер 4» — клиент не отвечает" in out, out
    assert main(["pull", "-c", str(env["cfg"]), "--from", str(env["out"])]) == 0
    out = capsys.readouterr().out
    assert "1.8 Нет источника!" in out and "статус не из списка (см. предупреждения): 1" in out, out


# ----------------------------------------------------------------------------- 6: «Решение» warns, keeps its list


def _validations(ws):
    header = [c.value for c in ws[1]]
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for col in range(rng.min_col, rng.max_col + 1):
                out.setdefault(header[col - 1], []).append(dv)
    return out


def _check_rule_sheet(ws):
    v = _validations(ws)
    decision = v["Решение"]
    assert len(decision) == 1 and decision[0].type == "list" and "Принято" in decision[0].formula1  # the drop-down stays
    d = decision[0]
    assert d.showInputMessage and d.promptTitle == "Столбец руководителя"
    assert "Заполняет руководитель отдела продаж" in d.prompt and "Менеджер здесь ничего не выбирает" in d.prompt
    for col in ("ID сделки", "Комментарий руководителя"):  # the warning-only guards
        assert [g.type for g in v[col]] == ["custom"] and v[col][0].errorStyle == "warning", col


def test_the_decision_column_keeps_its_drop_down_and_warns(env, tmp_path):
    assert run(env, build(env["dir"] / "e1", scenario_deals()), D1) == 0
    wb = openpyxl.load_workbook(env["out"])
    sheets = [ws for ws in wb.worksheets if re.match(r"\d+\.\d+ ", ws.title)]
    assert sheets
    for ws in sheets:
        _check_rule_sheet(ws)
    if have_soffice():  # a manager's LibreOffice save keeps both the drop-down (with its warning) and the guards
        profile = tmp_path / "lo-profile"
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{profile}", "--convert-to", "xlsx",
                        "--outdir", str(tmp_path / "lo"), str(env["out"])], check=True, capture_output=True, timeout=300)
        resaved = openpyxl.load_workbook(tmp_path / "lo" / env["out"].name)
        for ws in resaved.worksheets:
            if re.match(r"\d+\.\d+ ", ws.title):
                _check_rule_sheet(ws)


# ----------------------------------------------------------------------------- 7: SMTP hangs up on a refused AUTH


class HangUpSmtp:
    """A minimal SMTP server: ``mode`` "auth" answers AUTH with 535 and closes the connection, "auth-silent" closes it
    without an answer; "mail" accepts the login
    and closes the connection at MAIL FROM. Counts connections, AUTH attempts and MAIL FROMs."""

    def __init__(self, mode: str):
        self.mode = mode
        self.connections = self.auths = self.mails = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self.sock.close()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        f = conn.makefile("rwb")

        def say(text):
            f.write(text.encode() + b"\r\n")
            f.flush()

        try:
            say("220 test ESMTP")
            for raw in f:
                cmd = raw.decode(errors="replace").strip().upper()
                if cmd.startswith(("EHLO", "HELO")):
                    say("250-test\r\n250 AUTH PLAIN LOGIN")
                elif cmd.startswith("AUTH"):
                    self.auths += 1
                    if self.mode == "auth":
                        say("535 5.7.8 Authentication credentials invalid")
                        break
                    if self.mode == "auth-silent":
                        break  # hang up without an answer
                    say("235 2.7.0 Authentication successful")
                elif cmd.startswith("MAIL"):
                    self.mails += 1
                    break  # hang up at MAIL FROM
                elif cmd.startswith("QUIT"):
                    say("221 bye")
                    break
                else:
                    say("250 OK")
        except OSError:
            pass
        finally:
            try:
                f.close()
                conn.close()
            except OSError:
                pass


@pytest.mark.parametrize("mode, said", [("auth", "refused the login of «{user}» (535)"),
                                        ("auth-silent", "closed the connection at the login of «{user}» (a refused login)")])
def test_a_server_that_hangs_up_on_a_refused_login_is_a_refused_login(audited, capsys, lang, mode, said):
    env = audited
    lang("en")
    with HangUpSmtp(mode) as srv:
        settings(env, srv.port)
        assert notify(env, "--channel", "email") == 2
    out = capsys.readouterr().out
    failed = [ln for ln in out.splitlines() if ln.startswith("FAILED")]
    # one connection, one login: every message not sent (nothing was sent, so the next notify sends them)
    assert len(failed) == 3 and srv.connections == 1 and srv.auths == 1, (out, srv.connections, srv.auths)
    assert all(said.format(user=USER) in ln and "not recorded: the next `crm-audit notify` sends it" in ln for ln in failed), out
    assert "not known to be sent" not in out and PASSWORD not in out and sent_rows(env) == []


def test_a_server_that_hangs_up_before_data_has_not_sent_and_is_retried_once(audited, capsys, lang):
    env = audited
    lang("en")
    with HangUpSmtp("mail") as srv:
        settings(env, srv.port)
        assert notify(env, "--channel", "email") == 2
    out = capsys.readouterr().out
    failed = [ln for ln in out.splitlines() if ln.startswith("FAILED")]
    assert len(failed) == 3 and srv.connections == 2 and srv.mails == 2, (out, srv.connections)
    assert sum("closed the connection before the message was sent; not sent" in ln for ln in failed) == 2
    assert "broke the connection twice; not sent" in failed[2]
    assert "not known to be sent" not in out and sent_rows(env) == []


# ----------------------------------------------------------------------------- 8: Telegram chat ids


@pytest.mark.parametrize("chat, ok", [("abc", False), ("12 34", False), ("@x", False), ("123456789", True),
                                      ("-1001234567890", True), ("@team_channel", True)])
def test_validate_checks_telegram_chat_ids(env, capsys, chat, ok):
    import yaml

    cfg = yaml.safe_load(env["cfg"].read_text(encoding="utf-8"))
    cfg["notify"] = {"telegram": {"timeout": 10}, "head": {"telegram": chat}}
    env["cfg"].write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    code = main(["validate", "-c", str(env["cfg"])])
    err = capsys.readouterr().err
    if ok:
        assert code == 0 or "chat id" not in err, err
    else:
        assert code == 2 and f"«{chat}» is not a Telegram chat id" in err, err
