"""One call for the digests of the latest audit: build, skip what was sent, deliver (or preview), record.

:func:`notify` builds every manager's to-do and the head of sales' summary
from the ledger (:func:`crm_audit.history.review.build_review`), addresses
them (:mod:`crm_audit.notify.recipients`), leaves out what the ledger says
was already delivered for this audit (``resend`` sends it again), and either
writes the messages into a folder (``preview_dir``: ``.eml`` files and the
Telegram texts; nothing is sent and the ledger is not touched) or delivers
them, recording each delivered message at once. A failure is one
:class:`~crm_audit.notify.delivery.Delivery` with its reason; the others go
on, and the failed ones are not recorded, so the next run sends only those.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from crm_audit.errors import SettingsError, UsageError
from crm_audit.history.ledger import Ledger
from crm_audit.history.review import Review, build_review, closest_manager, name_key, rule_infos
from crm_audit.i18n import _
from crm_audit.notify import digest, todo
from crm_audit.notify.delivery import Delivery
from crm_audit.notify.messages import Outgoing, email_message, split_lines
from crm_audit.notify.recipients import address
from crm_audit.settings import NotifyConfig, Settings, TelegramConfig

CHANNELS = ("email", "telegram")
#: the ledger's channel for one delivered part of a Telegram message in several parts (the whole message is recorded
#: on ``telegram`` once its last part is delivered)
TELEGRAM_PART = "telegram-part"

EXAMPLE = """notify:
  smtp: {host: smtp.company.ru, port: 587, security: starttls, username: audit@company.ru, sender: "CRM-аудит <audit@company.ru>"}
  head: {email: rop@company.ru, telegram: 123456789}
  managers:
    Иван Петров: ivan@company.ru
    Мария Кузнецова: {email: maria@company.ru, telegram: 987654321}"""


@dataclass
class Skipped:
    """A message not sent because the ledger records it as delivered for this audit."""

    channel: str
    recipient: str
    owner: str | None
    sent_at: str


@dataclass
class NotifyResult:
    as_of: dt.date | None
    deliveries: list[Delivery] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unknown_owners: list[str] = field(default_factory=list)  # owners with a to-do and no address: nothing sent
    nothing_to_do: list[str] = field(default_factory=list)  # managers without open findings: nothing sent
    unmatched: list[str] = field(default_factory=list)  # names under notify.managers that no owner of the audit matches
    closest: dict[str, str] = field(default_factory=dict)  # an unmatched name -> the owner it probably means
    previews: list[Path] = field(default_factory=list)  # dry run: the files written
    messages: list[Outgoing] = field(default_factory=list)  # what was (or would be) sent
    #: --resend: (channel, recipient) of the messages sent again -> when the ledger recorded them sent before (a failed
    #: re-send stays recorded as sent: the next plain `notify` skips it)
    resent: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def failed(self) -> list[Delivery]:
        return [d for d in self.deliveries if not d.ok]

    @property
    def sent(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.ok]


def notify_config(settings: Settings) -> NotifyConfig:
    cfg = settings.notify
    if cfg is None:
        raise SettingsError(_("{file}: no notify: section, so nobody can be sent anything; add one, for example:\n{example}\n"
                              "(the SMTP password goes in the environment variable CRM_AUDIT_SMTP_PASSWORD, the Telegram bot "
                              "token in CRM_AUDIT_TELEGRAM_TOKEN)").format(file=settings.file or "crm-audit.yaml", example=EXAMPLE))
    wants_email = bool(cfg.head.email) or any(r.email for r in cfg.managers.values())
    if wants_email and cfg.smtp is None:
        raise SettingsError(_("{file}: notify lists e-mail addresses but has no smtp: server; add notify.smtp (host, port, "
                              "security, username, sender)").format(file=settings.file or "crm-audit.yaml"))
    return cfg


def build_messages(rv: Review, cfg: NotifyConfig, channels=CHANNELS) -> tuple[list[Outgoing], list[str], list[str], list[str]]:
    """Every message for the review ``rv``: (messages, owners without an address, managers with nothing to do,
    names under notify.managers no owner matches)."""
    messages: list[Outgoing] = []
    with_todo = [m for m in rv.managers if m.open]
    clean = [m for m in rv.managers if not m.open] if cfg.all_clear else []  # all_clear: «нарушений нет» for them too
    addressed = address(cfg, [m.owner for m in with_todo + clean])
    unknown = [o for o in addressed.unknown if o in {m.owner for m in with_todo}]  # no address and nothing open: no loss
    nothing = [m.owner for m in rv.managers if not m.open and m.owner not in addressed.owners]
    known = {name_key(m.owner) for m in rv.managers}
    unmatched = [name for name in addressed.unused if name_key(name) not in known]
    for m in with_todo + clean:
        r = addressed.owners.get(m.owner)
        if r is None:
            continue
        t = todo.manager_todo(rv, m)
        subject, text = todo.subject(t), "\n".join(todo.todo_text(t)) + "\n"
        if "email" in channels:
            page = todo.render_todo_html(t)
            messages += [Outgoing("email", a, "manager", m.owner, subject, text, page, findings=t.total) for a in r.email]
        if "telegram" in channels:
            parts = split_lines(todo.todo_telegram(t))
            messages += [Outgoing("telegram", c, "manager", m.owner, subject, text, parts=parts, findings=t.total) for c in r.telegram]
    head = cfg.head
    if head.email or head.telegram:
        subject, text = digest.subject(rv), "\n".join(digest.digest_text(rv)) + "\n"
        n = rv.totals["open"]
        if "email" in channels:
            page = digest.render_digest_html(rv)
            messages += [Outgoing("email", a, "head", None, subject, text, page, findings=n) for a in head.email]
        if "telegram" in channels:
            parts = split_lines(digest.digest_telegram(rv))
            messages += [Outgoing("telegram", c, "head", None, subject, text, parts=parts, findings=n) for c in head.telegram]
    return messages, unknown, nothing, unmatched


def notify(ledger: Ledger, settings: Settings, rules, *, today: dt.date | None = None, channels=CHANNELS,
           preview_dir: Path | None = None, resend: bool = False, env: Mapping[str, str] | None = None,
           telegram_transport=None) -> NotifyResult:
    """Send (or, with ``preview_dir``, write) the digests of the latest audit in ``ledger``."""
    env = os.environ if env is None else env
    cfg = notify_config(settings)
    latest = ledger.latest_audit()
    if latest is None:
        raise UsageError(_("{path}: no audit in the ledger yet; run `crm-audit run` first").format(path=ledger.path))
    rv = build_review(ledger, due_days=settings.output.due_days, today=today, deal_url=settings.deal_url, rules=rule_infos(rules))
    messages, unknown, nothing, unmatched = build_messages(rv, cfg, channels)
    owners = [m.owner for m in rv.managers]
    result = NotifyResult(rv.as_of, unknown_owners=unknown, nothing_to_do=nothing, unmatched=unmatched,
                          closest={n: hit for n in unmatched if (hit := closest_manager(n, owners))})
    sent = ledger.sent_messages(latest["id"])
    todo_now: list[Outgoing] = []
    for o in messages:
        prev = sent.get((o.channel, o.recipient))
        if prev is not None and not resend:
            result.skipped.append(Skipped(o.channel, o.recipient, o.owner, prev["sent_at"]))
        else:
            todo_now.append(o)
            if prev is not None:
                result.resent[(o.channel, o.recipient)] = prev["sent_at"]
    if not resend:
        for o in todo_now:
            if o.channel == "telegram" and len(o.parts) > 1:
                done = ledger.sent_hashes(latest["id"], TELEGRAM_PART, o.recipient)
                o.delivered_parts = {i for i in range(len(o.parts)) if o.part_hash(i) in done}
    result.messages = todo_now
    if preview_dir is not None:
        result.previews = write_previews(todo_now, Path(preview_dir), cfg)
        return result

    def record(o: Outgoing) -> None:
        ledger.record_sent(latest["id"], channel=o.channel, recipient=o.recipient, kind=o.kind, owner=o.owner, message_hash=o.hash)

    def record_part(o: Outgoing, i: int) -> None:
        ledger.record_sent(latest["id"], channel=TELEGRAM_PART, recipient=o.recipient, kind=o.kind, owner=o.owner,
                           message_hash=o.part_hash(i))

    emails = [o for o in todo_now if o.channel == "email"]
    if emails:
        from crm_audit.notify.smtp import send_emails

        smtp = cfg.smtp
        ca = str(settings.resolve(smtp.ca_file)) if smtp.ca_file else None
        result.deliveries += send_emails(smtp, emails, password=env.get(smtp.password_env), ca_file=ca, on_sent=record)
    chats = [o for o in todo_now if o.channel == "telegram"]
    if chats:
        from crm_audit.notify.telegram import send_telegram

        tg = cfg.telegram or TelegramConfig()
        result.deliveries += send_telegram(tg, chats, token=env.get(tg.token_env), on_sent=record, on_part_sent=record_part,
                                           transport=telegram_transport)
    return result


def _safe(name: str) -> str:
    return re.sub(r"[^\w@.+-]+", "_", name, flags=re.UNICODE).strip("_")[:80] or "recipient"


def write_previews(messages: list[Outgoing], folder: Path, cfg: NotifyConfig) -> list[Path]:
    """The messages as files: ``NN-email-<address>.eml`` (open in any mail client) and ``NN-telegram-<chat>.html.txt``."""
    from exporters.safe import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    sender = cfg.smtp.sender if cfg.smtp else "crm-audit@localhost"
    out = []
    for n, o in enumerate(messages, start=1):
        if o.channel == "email":
            path = folder / f"{n:02d}-email-{_safe(o.recipient)}.eml"
            data = email_message(o, sender).as_bytes()
        else:
            path = folder / f"{n:02d}-telegram-{_safe(o.recipient)}.html.txt"
            sep = "\n\n" + "—" * 20 + " следующее сообщение " + "—" * 20 + "\n\n"
            data = sep.join(o.parts).encode("utf-8")
        with atomic_write(path) as tmp:
            Path(tmp).write_bytes(data)
        out.append(path)
    return out
