"""Telegram through the Bot API's ``sendMessage`` (httpx): HTML parse mode, long messages in parts.

A message counts as sent when every part is accepted. Flood control (429 with
``retry_after``) is waited out a bounded number of times. The bot token is
part of the API's URL: it is never in an error message (a transport error's
text is cleaned of it).
"""

from __future__ import annotations

import socket
import time
from typing import Callable

from crm_audit.i18n import _
from crm_audit.notify.delivery import Delivery
from crm_audit.notify.messages import Outgoing
from crm_audit.settings import TelegramConfig

RETRIES = 3
MAX_WAIT_S = 30.0


def send_telegram(cfg: TelegramConfig, messages: list[Outgoing], *, token: str | None,
                  on_sent: Callable[[Outgoing], None] = lambda o: None, sleep: Callable[[float], None] = time.sleep,
                  transport=None, on_part_sent: Callable[[Outgoing, int], None] = lambda o, i: None) -> list[Delivery]:
    """Send every message; one :class:`Delivery` per message. A message in several parts skips the parts an earlier
    run delivered (``Outgoing.delivered_parts``) and reports each part it delivers (``on_part_sent``), so a message
    broken off half-way is completed by the next run without repeating what the chat already has."""
    import httpx

    if not messages:
        return []
    if not token:
        why = _("the Telegram bot token is not set: put it in the environment variable {variable}").format(variable=cfg.token_env)
        return [Delivery("telegram", o.recipient, o.kind, o.owner, False, why) for o in messages]
    url = f"{cfg.api_url.rstrip('/')}/bot{token}/sendMessage"
    out: list[Delivery] = []
    with httpx.Client(timeout=cfg.timeout, transport=transport) as client:
        for o in messages:
            error = None
            earlier = len(o.delivered_parts & set(range(len(o.parts))))
            delivered = earlier
            for i, part in enumerate(o.parts):
                if i in o.delivered_parts:
                    continue
                error = _send_part(client, url, o.recipient, part, token, sleep)
                if error:
                    if len(o.parts) > 1:
                        error = (_("part {i} of {n}: {error} (the earlier parts were delivered)") if delivered else
                                 _("part {i} of {n}: {error}")).format(i=i + 1, n=len(o.parts), error=error)
                    break
                delivered += 1
                if len(o.parts) > 1:
                    on_part_sent(o, i)
            if error:
                out.append(Delivery("telegram", o.recipient, o.kind, o.owner, False, error, parts=len(o.parts), earlier_parts=earlier))
            else:
                on_sent(o)
                out.append(Delivery("telegram", o.recipient, o.kind, o.owner, True, message_hash=o.hash, parts=len(o.parts),
                                    earlier_parts=earlier))
    return out


def _send_part(client, url: str, chat_id: str, text: str, token: str, sleep) -> str | None:
    """None when Telegram accepted the part, else why not (without the token)."""
    import httpx

    payload = {"chat_id": chat_id, "text": text, "parse_mode": "HTML", "disable_web_page_preview": True}
    for _attempt in range(RETRIES + 1):
        try:
            r = client.post(url, json=payload)
        except httpx.TimeoutException:
            return _("the Telegram Bot API did not answer in time")
        except httpx.HTTPError as exc:
            return _("cannot reach the Telegram Bot API ({why})").format(why=_transport_why(exc, token))
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code == 200 and body.get("ok"):
            return None
        if r.status_code == 429:
            wait = float((body.get("parameters") or {}).get("retry_after", 1))
            if wait <= MAX_WAIT_S and _attempt < RETRIES:
                sleep(wait)
                continue
        desc = _clean(str(body.get("description") or r.reason_phrase or ""), token)
        return answer_text(r.status_code, desc, chat_id)
    return _("Telegram kept answering 429 (too many requests)")


#: what the Bot API says (its ``description``, lower case) -> what it means, in the CLI's language
_KNOWN = (
    ("chat not found", lambda chat: _("Telegram does not know the chat {chat}: check its id under notify (the person must "
                                      "have started the bot; a group or channel must have the bot added)").format(chat=chat)),
    ("bot was blocked by the user", lambda chat: _("the user of chat {chat} blocked the bot").format(chat=chat)),
    ("user is deactivated", lambda chat: _("the Telegram account of chat {chat} is deleted").format(chat=chat)),
    ("bot is not a member", lambda chat: _("the bot is not a member of chat {chat}: add it there").format(chat=chat)),
    ("bot was kicked", lambda chat: _("the bot was removed from chat {chat}: add it again").format(chat=chat)),
    ("have no rights to send", lambda chat: _("the bot may not write to chat {chat}: give it that right").format(chat=chat)),
    ("can't parse entities", lambda chat: _("Telegram could not read the message's formatting (HTML)")),
    ("message is too long", lambda chat: _("the message is longer than Telegram allows")),
)


def answer_text(status: int, description: str, chat_id: str) -> str:
    """Why Telegram did not take a message, in the CLI's language: a known cause by its meaning; else the status code and
    the server's own words, marked as such (they are English, whatever the CLI's language)."""
    if status == 401:
        return _("Telegram refused the bot token (401); check the environment variable that holds it")
    low = description.lower()
    for key, text in _KNOWN:
        if key in low:
            return text(chat_id)
    if status == 404:
        return _("Telegram answered 404: check notify.telegram.api_url and the bot token")
    if description:
        return _("Telegram answered {code}; the server's own words: «{text}»").format(code=status, text=description)
    return _("Telegram answered {code}").format(code=status)


def _transport_why(exc: BaseException, token: str) -> str:
    """Why the Bot API could not be reached: the operating system's cause in the CLI's language (as the mail server's
    is), else the transport's own words, marked as such."""
    from crm_audit.oserrors import os_error_text

    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and (e.errno or isinstance(e, socket.gaierror)):
            return os_error_text(e)
        e = e.__cause__ or e.__context__
    text = _clean(str(exc), token)
    low = text.lower()
    if "name or service not known" in low or "nodename nor servname" in low or "temporary failure in name resolution" in low:
        return _("unknown host name")
    if "connection refused" in low:
        return _("connection refused: nothing listens on that port")
    return _("the system's own words: «{text}»").format(text=text) if text else type(exc).__name__


def _clean(text: str, token: str) -> str:
    return text.replace(token, "***") if token else text
