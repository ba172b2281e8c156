"""The messages: one per (recipient, channel) — an e-mail (plain text + HTML alternatives, UTF-8 subject) or a
Telegram message in HTML parse mode, split into parts under Telegram's limit at line boundaries."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

#: Telegram's limit on one message's text (characters after entity parsing; the HTML source is kept under it)
TELEGRAM_LIMIT = 4096


@dataclass
class Outgoing:
    channel: str  # email | telegram
    recipient: str  # e-mail address or chat id
    kind: str  # manager | head
    owner: str | None  # the manager a to-do is for
    subject: str
    text: str  # the plain-text body
    html: str = ""  # the HTML body (e-mail)
    parts: list[str] = field(default_factory=list)  # Telegram: the message's parts (HTML parse mode)
    findings: int = 0  # how many findings the message lists (for the report)
    #: Telegram: indexes of the parts an earlier run delivered (the ledger's record): not sent again
    delivered_parts: set[int] = field(default_factory=set)

    @property
    def hash(self) -> str:
        """What was sent, as a sha256 prefix (the ledger's record; the same content gives the same hash)."""
        body = "\n\n".join(self.parts) if self.channel == "telegram" else f"{self.subject}\n\n{self.text}\n\n{self.html}"
        return hashlib.sha256(f"{self.channel}\n{self.recipient}\n{body}".encode("utf-8")).hexdigest()[:16]

    def part_hash(self, i: int) -> str:
        """Part ``i`` of a Telegram message as delivered (its place, the number of parts and its text): an earlier run's
        record of it means this very part reached the chat."""
        text = f"{self.channel}\n{self.recipient}\n{i + 1}/{len(self.parts)}\n{self.parts[i]}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def email_message(o: Outgoing, sender: str, when=None) -> EmailMessage:
    """An RFC 5322 message: From, To, a UTF-8 subject (RFC 2047-encoded by the e-mail package), text + HTML alternatives."""
    import datetime as dt

    msg = EmailMessage()
    name, addr = parseaddr(sender)
    msg["From"] = Address(display_name=name, addr_spec=addr) if name else addr
    msg["To"] = o.recipient
    msg["Subject"] = o.subject
    msg["Date"] = format_datetime(when or dt.datetime.now().astimezone())
    msg["Message-ID"] = make_msgid(domain=addr.partition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to an automatic digest
    msg.set_content(o.text, charset="utf-8")
    if o.html:
        msg.add_alternative(o.html, subtype="html", charset="utf-8")
    return msg


def split_lines(lines: list[str], limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Join lines into messages of at most ``limit`` characters, breaking only between lines (each line closes its own
    HTML tags, so every part is valid on its own); a single longer line is cut into pieces."""
    parts: list[str] = []
    cur = ""
    for line in lines:
        while len(line) > limit:  # only a pathological line: cut (its tags may break; Telegram then rejects it and says so)
            if cur:
                parts.append(cur)
                cur = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{cur}\n{line}" if cur else line
        if len(candidate) > limit:
            parts.append(cur)
            cur = line
        else:
            cur = candidate
    if cur.strip():
        parts.append(cur)
    return [p for p in parts if p.strip()]

