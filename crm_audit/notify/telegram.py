"""Telegram through the Bot API's ``sendMessage`` (httpx): HTML parse mode, long messages in parts.

A message counts as sent when every part is accepted. Flood control (429 with
``retry_after``) is waited out a bounded number of times. The bot token is
part of the API's URL: it is never in an error message (a transport error's
text is cleaned of it).
"""

from __future__ import annotations

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
            return _("cannot reach the Telegram Bot API ({why})").format(why=_clean(str(exc), token) or type(exc).__name__)
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
        if r.status_code == 401:
            return _("Telegram refused the bot token (401 {text}); check the environment variable that holds it").format(text=desc)
        return _("Telegram answered {code} {text}").format(code=r.status_code, text=desc).rstrip()
    return _("Telegram kept answering 429 (too many requests)")


def _clean(text: str, token: str) -> str:
    return text.replace(token, "***") if token else text
