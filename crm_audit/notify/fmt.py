"""How values read in a message: dates as 20.11.2026, empty as «пусто», Russian plurals."""

from __future__ import annotations

import datetime as dt
import re

EMPTY = "пусто"
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?)?$")


def value_text(value: object) -> str:
    """An evidence value as a manager reads it: ISO dates as dd.mm.yyyy (with the time when there is one), empty as «пусто»."""
    if value is None:
        return EMPTY
    text = str(value)
    if not text.strip():
        return EMPTY
    m = _ISO_DATE.match(text.strip())
    if m:
        day = f"{m[3]}.{m[2]}.{m[1]}"
        return f"{day} {m[4]}:{m[5]}" if m[4] and (m[4], m[5]) != ("00", "00") else day
    return text


def date_text(day: dt.date | None) -> str:
    return f"{day:%d.%m.%Y}" if day else ""


def plural_form(n: int, forms: tuple[str, str, str]) -> str:
    """The Russian form for ``n`` (one, few, many): «нарушение» for 1, «нарушения» for 2, «нарушений» for 5."""
    n = abs(int(n))
    return forms[0 if n % 10 == 1 and n % 100 != 11 else 1 if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else 2]


def plural(n: int, forms: tuple[str, str, str]) -> str:
    """«1 нарушение», «2 нарушения», «5 нарушений»."""
    return f"{n} {plural_form(n, forms)}"


FINDINGS = ("нарушение", "нарушения", "нарушений")
DEALS = ("сделка", "сделки", "сделок")
RULES = ("правило", "правила", "правил")
DAYS = ("день", "дня", "дней")
AUDITS = ("аудит", "аудита", "аудитов")
