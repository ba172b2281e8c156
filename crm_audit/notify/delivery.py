"""The outcome of delivering one message to one recipient (typed: the CLI prints it, nothing parses it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Delivery:
    channel: str  # email | telegram
    recipient: str
    kind: str  # manager | head
    owner: str | None
    ok: bool
    error: str | None = None  # why it failed (never a password or token)
    message_hash: str = ""
    parts: int = 1  # Telegram: the message's parts
    earlier_parts: int = 0  # Telegram: parts an earlier run delivered (not sent again)
