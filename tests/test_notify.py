"""Digests end to end (issue 16): two audits through the CLI, managers' edits and the head's decisions in between,
then `crm-audit notify` to a real SMTP server (aiosmtpd, started here) and a fake Telegram Bot API.

What a manager receives must be exactly their own to-do (only their deals, by rule in code order, the evidence, the
status and comment they gave, the due date) with a Cyrillic subject and body that decode correctly, as text + HTML;
the head of sales gets the team summary. Delivered messages are recorded and not sent twice; failures (server down,
login refused, one refused address, an unknown Telegram chat, a wrong bot token) are reported per recipient, nothing
delivered is lost and a re-run sends only what failed.
"""

from __future__ import annotations

import asyncio
import email
import socket
import sqlite3
import subprocess
from email import policy
from pathlib import Path

import pytest
import yaml

pytest.importorskip("aiosmtpd")

from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402

from crm_audit.cli import main  # noqa: E402
from fake_telegram.server import FakeTelegram  # noqa: E402
from test_workflow import D1, D2, build, edit_workbook, env, run, scenario_deals  # noqa: E402,F401

IVAN, MARIA = "Иван Петров", "Мария Кузнецова"
USER, PASSWORD = "audit@example.com", "s3cret-Пароль"
TOKEN = "123456:TEST-token-abc"
URL = "https://example.pipedrive.com/deal/{}"


# ----------------------------------------------------------------------------- a real SMTP server


class Inbox:
    """aiosmtpd handler: keeps every accepted message; refuses the addresses in ``refuse`` at RCPT."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"

    def parsed(self) -> dict[str, email.message.EmailMessage]:
        """Recipient -> the message it got (the last one)."""
        out = {}
        for rcpts, data in self.messages:
            for r in rcpts:
                out[r] = email.message_from_bytes(data, policy=policy.default)
        return out


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False)  # a refusal answers 535 5.7.8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 / localhost (the client trusts it through notify.smtp.ca_file)."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a test certificate: {exc}")
    return cert, key


class Smtp:
    def __init__(self, inbox: Inbox, port: int, **kw):
        self.inbox, self.port = inbox, port
        kw.setdefault("auth_require_tls", "tls_context" in kw)  # AUTH over plain SMTP only in the plain tests
        self.controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=_authenticator, **kw)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def server_tls(tls_files):
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*map(str, tls_files))
    return ctx


# ----------------------------------------------------------------------------- the scenario


def settings(env, port: int, *, security: str = "none", ca_file: Path | None = None, telegram_url: str | None = None,
             managers: dict | None = None, head: dict | None = None) -> None:
    cfg = yaml.safe_load(env["cfg"].read_text(encoding="utf-8")) if env.get("base") is None else dict(env["base"])
    env["base"] = dict(cfg)
    smtp = {"host": "127.0.0.1", "port": port, "security": security, "username": USER, "sender": "CRM-аудит <audit@example.com>",
            "timeout": 10}
    if ca_file:
        smtp["ca_file"] = str(ca_file)
    cfg["notify"] = {
        "smtp": smtp,
        "head": head or {"email": "rop@example.com", "telegram": -1009},
        "managers": managers or {"иван петров": {"email": "ivan@example.com", "telegram": 111}, MARIA: "maria@example.com"},
    }
    if telegram_url:
        cfg["notify"]["telegram"] = {"api_url": telegram_url, "timeout": 10}
    env["cfg"].write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture()
def audited(env, monkeypatch):
    """Two audits: between them Мария answers «Не исправлено» + a comment on 1.8/4, Иван marks 2.1/3 fixed (still failing)
    and types «исправил» on 2.1/5; the head accepts 1.8/2; deal 1 gets its task (1.1 resolved)."""
    monkeypatch.setenv("CRM_AUDIT_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("CRM_AUDIT_TELEGRAM_TOKEN", TOKEN)
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    assert run(env, e1, D1) == 0
    edit_workbook(env["out"], {("1.8", "4"): {"Статус": "Не исправлено", "Комментарий": "клиент не отвечает, жду"},
                               ("1.8", "6"): {"Статус": "Не исправлено"},
                               ("2.1", "3"): {"Статус": "Исправлено"},
                               ("2.1", "5"): {"Статус": "исправил"}})
    assert main(["accept", "-c", str(env["cfg"]), "1.8", "2", "--note", "источник не определить"]) == 0
    e2 = build(env["dir"] / "e2", scenario_deals(), no_task=set())
    assert run(env, e2, D2) == 0
    # after the second audit Мария answers on the new document too
    edit_workbook(env["out"], {("1.8", "4"): {"Статус": "Не исправлено", "Комментарий": "клиент не отвечает, жду"}})
    return env


def notify(env, *args) -> int:
    return main(["notify", "-c", str(env["cfg"]), "--today", "2026-11-21", *args])


def sent_rows(env) -> list[tuple]:
    con = sqlite3.connect(env["dir"] / "crm-audit.db")
    try:
        return con.execute("SELECT a.as_of, s.recipient, s.channel, s.kind, s.owner, length(s.message_hash) FROM sent_messages s "
                           "JOIN audits a ON a.id = s.audit_id ORDER BY s.id").fetchall()
    finally:
        con.close()


def bodies(msg) -> tuple[str, str]:
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    return text, html


# ----------------------------------------------------------------------------- e-mail


def test_each_manager_gets_exactly_their_own_todo_by_email(audited, capsys):
    env = audited
    inbox = Inbox()
    with Smtp(inbox, port := free_port()):
        settings(env, port, managers={"иван петров": "ivan@example.com", MARIA: "maria@example.com"}, head={"email": "rop@example.com"})
        assert notify(env) == 0
    out = capsys.readouterr().out
    got = inbox.parsed()
    assert set(got) == {"ivan@example.com", "maria@example.com", "rop@example.com"}, out

    ivan = got["ivan@example.com"]
    # the subject is RFC 2047-encoded on the wire and decodes to the Russian text
    raw = next(d for r, d in inbox.messages if r == ["ivan@example.com"])
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n")[0].lower() or b"=?UTF-8?" in raw
    assert ivan["Subject"] == "Аудит CRM от 20.11.2026: 4 нарушения — срок до 23.11.2026"
    assert ivan["To"] == "ivan@example.com" and ivan["From"].addresses[0].display_name == "CRM-аудит"
    assert ivan.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in ivan.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in ivan.iter_parts())
    text, html = bodies(ivan)
    lines = text.splitlines()
    assert lines[0] == "Иван Петров, по аудиту CRM от 20.11.2026 у вас 4 нарушения (4 сделки, 2 правила)."
    assert lines[1] == "Срок: до 23.11.2026 (осталось 2 дня)."
    assert lines[2] == "С прошлого аудита (06.11.2026): новых 0, исправлено 1, осталось 4, отмечено «Исправлено», но нарушение осталось: 1."
    # only Иван's deals (odd ids), by rule in code order: 1.8 before 2.1
    deals = [ln.split("(сделка ")[1].split(")")[0] for ln in lines if ln.startswith("  • ")]
    assert deals == ["7", "9", "3", "5"], text
    assert lines.index("1.8 Нет источника — 2") < lines.index("2.1 Нет города или страны — 2"), text
    assert lines[lines.index("1.8 Нет источника — 2") + 1] == "  Что не так: В сделке не заполнено поле «Источник сделки»."
    assert not {"2", "4", "6"} & set(deals) and MARIA not in text
    # the deal title, its link, what is wrong, the status
    i = lines.index("  • «Сделка номер 3» (сделка 3) " + URL.format(3))
    assert lines[i + 1] == "      Город: пусто; Страна: Россия"
    assert lines[i + 2] == "      Статус: «Не обработано»"
    assert lines[i + 3] == ("      Примечание: Отмечено «Исправлено» в аудите от 06.11.2026, но нарушение осталось — исправьте в CRM "
                            "или поставьте «Не исправлено» с комментарием.")
    j = lines.index("  • «Сделка номер 5» (сделка 5) " + URL.format(5), i)
    assert lines[j + 2] == "      Статус: статус «исправил» не из списка — выберите «Исправлено» или «Не исправлено»"
    assert "«=SUM(A1) проверю» (сделка 9)" in text
    # the HTML part: the same deals as links, the evidence, no colleague
    assert f'<a href="{URL.format(3)}">Сделка номер 3</a>' in html and "Город: <b>пусто</b>" in html
    assert MARIA not in html and "<script" not in html and "<link" not in html

    maria_text, maria_html = bodies(got["maria@example.com"])
    assert "(сделка 4)" in maria_text and "(сделка 6)" in maria_text and "(сделка 2)" not in maria_text  # 2 accepted
    assert "Статус: «Не исправлено»: «клиент не отвечает, жду» — ждёт решения руководителя" in maria_text
    assert "Статус: «Не исправлено» без комментария — напишите, почему (комментарий обязателен)" in maria_text
    assert "С прошлого аудита (06.11.2026): новых 0, исправлено 0, осталось 2, принято руководителем 1." in maria_text
    assert IVAN not in maria_text

    head_text, head_html = bodies(got["rop@example.com"])
    assert got["rop@example.com"]["Subject"] == "Аудит CRM от 20.11.2026: открыто 6, ждут вашего решения 1"
    assert ("С прошлого аудита (06.11.2026): новых 0, исправлено 1, осталось 6, отмечено «Исправлено», но нарушение осталось: 1, "
            "принято 1, предупреждений 0.") in head_text
    assert f"  {IVAN}: 4 / 0 / 0 / 1\n  {MARIA}: 2 / 0 / 1 / 0" in head_text  # open / overdue / no comment / invalid
    assert f"  {MARIA}, 1.8 Нет источника: «Сделка номер 4» (сделка 4) {URL.format(4)} — «клиент не отвечает, жду»" in head_text
    assert f"  {IVAN}: 2 аудита подряд (всего в 2 из 2), повторных нарушений сейчас 4" in head_text
    assert IVAN in head_html and MARIA in head_html

    # recorded: audit, recipient, channel, kind, owner, a hash
    assert sent_rows(env) == [(D2, "ivan@example.com", "email", "manager", IVAN, 16), (D2, "maria@example.com", "email", "manager", MARIA, 16),
                              (D2, "rop@example.com", "email", "head", None, 16)]
    assert PASSWORD not in out


def test_a_rerun_sends_nothing_twice_and_resend_forces(audited, capsys):
    env = audited
    inbox = Inbox()
    with Smtp(inbox, port := free_port()):
        settings(env, port)
        assert notify(env, "--channel", "email") == 0
        assert len(inbox.messages) == 3
        capsys.readouterr()
        assert notify(env, "--channel", "email") == 0
        out = capsys.readouterr().out
        assert len(inbox.messages) == 3, "a re-run sent again"
        assert out.count("skipped  e-mail") == 3 and "already sent" in out and "--resend" in out
        assert notify(env, "--channel", "email", "--resend") == 0
        assert len(inbox.messages) == 6
    assert len(sent_rows(env)) == 6


def test_server_down_then_up_sends_everything_once(audited, capsys):
    env = audited
    port = free_port()  # nothing listens there yet
    settings(env, port)
    assert notify(env, "--channel", "email") == 2
    cap = capsys.readouterr()
    assert cap.out.count("FAILED   e-mail") == 3 and f"cannot reach the mail server 127.0.0.1:{port}" in cap.out
    assert "not recorded" in cap.out and "3 of 3 messages failed" in cap.err
    assert sent_rows(env) == []
    inbox = Inbox()
    with Smtp(inbox, port):
        assert notify(env, "--channel", "email") == 0
    assert sorted(r for rs, _ in inbox.messages for r in rs) == ["ivan@example.com", "maria@example.com", "rop@example.com"]


def test_login_refused_is_reported_without_the_password(audited, capsys, monkeypatch):
    env = audited
    monkeypatch.setenv("CRM_AUDIT_SMTP_PASSWORD", "wrong-пароль")
    inbox = Inbox()
    with Smtp(inbox, port := free_port(), auth_require_tls=False):
        settings(env, port)
        assert notify(env, "--channel", "email") == 2
    cap = capsys.readouterr()
    assert cap.out.count("FAILED") == 3 and f"refused the login of «{USER}» (535)" in cap.out
    assert "wrong-пароль" not in cap.out + cap.err and inbox.messages == [] and sent_rows(env) == []
    # no password at all: said which variable to set
    monkeypatch.delenv("CRM_AUDIT_SMTP_PASSWORD")
    assert notify(env, "--channel", "email") == 2
    assert "environment variable CRM_AUDIT_SMTP_PASSWORD" in capsys.readouterr().out


def test_one_refused_address_fails_alone_and_only_it_is_retried(audited, capsys):
    env = audited
    inbox = Inbox()
    inbox.refuse.add("maria@example.com")
    with Smtp(inbox, port := free_port(), auth_require_tls=False):
        settings(env, port)
        assert notify(env, "--channel", "email") == 2
        out = capsys.readouterr().out
        assert "FAILED   e-mail   maria@example.com" in out and "550" in out and "User unknown" in out
        assert sorted(r for rs, _ in inbox.messages for r in rs) == ["ivan@example.com", "rop@example.com"]
        assert [r[1] for r in sent_rows(env)] == ["ivan@example.com", "rop@example.com"]
        # the address is fixed on the server's side: the re-run sends only Мария's
        inbox.refuse.clear()
        assert notify(env, "--channel", "email") == 0
        out = capsys.readouterr().out
    assert [rs for rs, _ in inbox.messages][2:] == [["maria@example.com"]]
    assert out.count("skipped") == 2 and "sent     e-mail   maria@example.com" in out


def test_starttls_and_ssl_with_login(audited, tls_files, capsys):
    env = audited
    cert = tls_files[0]
    inbox = Inbox()
    with Smtp(inbox, port := free_port(), tls_context=server_tls(tls_files), require_starttls=True):
        settings(env, port, security="starttls", ca_file=cert)
        assert notify(env, "--channel", "email") == 0, capsys.readouterr().out
    assert len(inbox.messages) == 3
    inbox2 = Inbox()
    with Smtp(inbox2, port2 := free_port(), ssl_context=server_tls(tls_files)):
        settings(env, port2, security="ssl", ca_file=cert)
        assert notify(env, "--channel", "email", "--resend") == 0, capsys.readouterr().out
    assert len(inbox2.messages) == 3
    # a certificate the client does not trust: reported, nothing recorded as sent
    inbox3 = Inbox()
    with Smtp(inbox3, port3 := free_port(), ssl_context=server_tls(tls_files)):
        settings(env, port3, security="ssl")
        before = len(sent_rows(env))
        assert notify(env, "--channel", "email", "--resend") == 2
    assert "TLS with 127.0.0.1" in capsys.readouterr().out and len(sent_rows(env)) == before and inbox3.messages == []


def test_dry_run_writes_eml_files_and_sends_nothing(audited, capsys):
    env = audited
    preview = env["dir"] / "preview"
    inbox = Inbox()
    with Smtp(inbox, port := free_port()), FakeTelegram(TOKEN) as tg:
        settings(env, port, telegram_url=tg.url)
        assert notify(env, "--dry-run", "--preview-dir", str(preview)) == 0
    assert inbox.messages == [] and tg.requests == [] and sent_rows(env) == []
    names = sorted(p.name for p in preview.iterdir())
    assert names == ["01-email-ivan@example.com.eml", "02-telegram-111.html.txt", "03-email-maria@example.com.eml",
                     "04-email-rop@example.com.eml", "05-telegram--1009.html.txt"]
    msg = email.message_from_bytes((preview / names[0]).read_bytes(), policy=policy.default)
    assert msg["Subject"].startswith("Аудит CRM от 20.11.2026") and "Сделка номер 7" in bodies(msg)[0]
    assert "Dry run: 5 messages written" in capsys.readouterr().out


def test_unknown_owner_is_reported_never_guessed(audited, capsys):
    env = audited
    inbox = Inbox()
    with Smtp(inbox, port := free_port()):
        settings(env, port, managers={"Иван Петрович": "ivan@example.com"}, head={"email": "rop@example.com"})
        assert notify(env, "--channel", "email") == 0
    out = capsys.readouterr().out
    assert f"no address for «{IVAN}»" in out and f"no address for «{MARIA}»" in out
    assert "notify.managers «Иван Петрович» matches no owner of this audit" in out
    assert [rs for rs, _ in inbox.messages] == [["rop@example.com"]]


def test_no_notify_section_is_a_settings_error(env, capsys):
    e1 = build(env["dir"] / "e1", scenario_deals())
    assert run(env, e1, D1) == 0
    assert main(["notify", "-c", str(env["cfg"])]) == 2
    err = capsys.readouterr().err
    assert "no notify: section" in err and "managers:" in err


def test_run_notify_sends_after_the_audit(env, capsys, monkeypatch):
    monkeypatch.setenv("CRM_AUDIT_SMTP_PASSWORD", PASSWORD)
    inbox = Inbox()
    with Smtp(inbox, port := free_port(), auth_require_tls=False):
        settings(env, port, managers={IVAN: "ivan@example.com", MARIA: "maria@example.com"}, head={"email": "rop@example.com"})
        e1 = build(env["dir"] / "e1", scenario_deals())
        assert run(env, e1, D1, "--notify") == 0
    assert sorted(r for rs, _ in inbox.messages for r in rs) == ["ivan@example.com", "maria@example.com", "rop@example.com"]
    assert [r[0] for r in sent_rows(env)] == [D1] * 3


# ----------------------------------------------------------------------------- Telegram


def test_telegram_digests_html_parts_and_failures(audited, capsys):
    env = audited
    with FakeTelegram(TOKEN) as tg:
        tg.unknown_chats.add("-1009")
        tg.flood_once.add("111")
        settings(env, free_port(), telegram_url=tg.url)
        assert notify(env, "--channel", "telegram") == 2
        out = capsys.readouterr().out
        ivan = tg.delivered("111")
        assert len(ivan) == 1 and ivan[0].startswith("<b>Иван Петров, по аудиту CRM от 20.11.2026 у вас 4 нарушения (4 сделки, 2 правила).</b>\n")
        assert f'<a href="{URL.format(7)}">Сделка номер 7</a> — Источник сделки: пусто. Статус: «Не обработано»' in ivan[0]
        assert f'<a href="{URL.format(9)}">=SUM(A1) проверю</a>' in ivan[0] and MARIA not in ivan[0]
        assert [r["parse_mode"] for r in tg.requests] == ["HTML"] * len(tg.requests)
        assert "FAILED   Telegram -1009" in out and "does not know the chat -1009" in out and "sent     Telegram 111" in out
        assert [(r[1], r[2]) for r in sent_rows(env)] == [("111", "telegram")]
        # a wrong token: reported, never printed
        env_token = "999:wrong-secret-token"
        import os

        os.environ["CRM_AUDIT_TELEGRAM_TOKEN"] = env_token
        tg.unknown_chats.clear()
        assert notify(env, "--channel", "telegram") == 2
        cap = capsys.readouterr()
        assert "refused the bot token (401" in cap.out and env_token not in cap.out + cap.err
        os.environ["CRM_AUDIT_TELEGRAM_TOKEN"] = TOKEN
        assert notify(env, "--channel", "telegram") == 0  # only the head's chat is left
        assert "sent     Telegram -1009" in capsys.readouterr().out
        head = tg.delivered("-1009")
    assert len(head) == 1 and "<b>Ждут вашего решения</b> — 1:" in head[0]


def test_a_long_todo_goes_in_parts_each_valid_html():
    from fake_telegram.server import parse_html

    from crm_audit.notify.messages import TELEGRAM_LIMIT, split_lines

    lines = ["<b>Заголовок</b>"] + [f'• <a href="https://x.example/deal/{i}">Сделка «{i}» &amp; Ко</a> — Город: пусто' for i in range(400)]
    parts = split_lines(lines)
    assert len(parts) > 1 and all(len(p) <= TELEGRAM_LIMIT for p in parts)
    assert all(parse_html(p)[0] is None for p in parts)
    assert "\n".join(parts) == "\n".join(lines)  # nothing lost, nothing repeated
