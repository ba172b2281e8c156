"""The CRM account's time zone `crm-audit init --engine` proposes for ``engine: timezone:`` (the user confirms it).

A warehouse holds instants; the date a manager sees is the account's (:mod:`crm_audit.warehouse.localtime`). The
warehouse cannot say the CRM account's zone, so init proposes the likeliest one and says so, in the file and in the
terminal: the warehouse session's zone when the engine names one other than UTC (UTC is a server's default, not a
choice), else this computer's (``TZ``, ``/etc/localtime``, ``/etc/timezone``, else its UTC offset as ``Etc/GMT±N``),
else UTC.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from crm_audit.engine.dialects import timestamps
from crm_audit.i18n import _

#: names of UTC itself (a session or a machine in one of these has not chosen a zone)
_UTC = {"utc", "uct", "gmt", "gmt0", "gmt+0", "gmt-0", "universal", "zulu", "greenwich", "z"}


@dataclass(frozen=True)
class ZoneProposal:
    zone: str
    source: str  # "session" (the warehouse's), "machine" (this computer's) or "default" (UTC: neither names one)


def iana(name) -> str | None:
    """``name`` when it is an IANA time zone this Python knows (``TZ``'s leading «:» dropped), else None."""
    from zoneinfo import ZoneInfo

    text = str(name or "").strip().lstrip(":")
    if not text:
        return None
    try:
        ZoneInfo(text)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError; a bad path a ValueError
        return None
    return text


def is_utc(zone: str) -> bool:
    z = zone.lower()
    return (z[4:] if z.startswith("etc/") else z) in _UTC


def machine_zone(env=None, localtime: Path = Path("/etc/localtime"), timezone_file: Path = Path("/etc/timezone"),
                 offset: dt.timedelta | None = None) -> str | None:
    """This computer's zone as an IANA name: ``TZ``, the zone file ``/etc/localtime`` links to, ``/etc/timezone``, else
    the current UTC offset when it is whole hours (``Etc/GMT-3`` is UTC+3); None when none of them names one."""
    env = os.environ if env is None else env
    if env.get("TZ") and iana(env["TZ"]):
        return iana(env["TZ"])
    try:
        target = str(localtime.resolve())
        if "/zoneinfo/" in target and iana(target.split("/zoneinfo/", 1)[1]):
            return target.split("/zoneinfo/", 1)[1]
    except OSError:
        pass
    try:
        named = iana(timezone_file.read_text(encoding="utf-8").split("\n", 1)[0])
        if named:
            return named
    except OSError:
        pass
    off = dt.datetime.now().astimezone().utcoffset() if offset is None else offset
    hours, rest = divmod(int(off.total_seconds()), 3600)
    if rest or not -14 <= hours <= 12:
        return None
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"  # POSIX signs: Etc/GMT-3 is three hours ahead of UTC


def session_zone(target) -> str | None:
    """The warehouse session's zone, when the engine says it (:func:`timestamps.session_zone_sql`) and it is an IANA name."""
    sql = timestamps.session_zone_sql(target.dialect)
    if sql is None:
        return None
    try:
        rows = target.run(sql).to_pylist()
    except Exception:  # a driver that cannot say: the machine's zone is proposed instead
        from crm_audit.warehouse.entities import _rollback

        _rollback(target)
        return None
    return iana(rows[0].get("tz")) if rows else None


def propose(target, env=None) -> ZoneProposal:
    """The zone to propose for ``engine: timezone:`` (see the module docstring)."""
    session = session_zone(target)
    if session and not is_utc(session):
        return ZoneProposal(session, "session")
    machine = machine_zone(env)
    if machine and not is_utc(machine):
        return ZoneProposal(machine, "machine")
    return ZoneProposal("UTC", "default")


def message(p: ZoneProposal) -> str:
    """What init says of the zone it wrote (``{zone}``, ``{path}`` to fill in), in the CLI's language."""
    if p.source == "session":
        return _("Time zone {zone}: the warehouse session's, not read from the CRM. Check that it is the CRM account's "
                 "zone (engine: timezone: in {path}): the dates of changes near midnight depend on it.")
    if p.source == "machine":
        return _("Time zone {zone}: this computer's (the warehouse names none but UTC), not read from the CRM. Check that "
                 "it is the CRM account's zone (engine: timezone: in {path}): the dates of changes near midnight depend on it.")
    return _("Time zone UTC: neither the warehouse nor this computer names another. Set the CRM account's zone in "
             "engine: timezone: in {path} (e.g. Europe/Moscow): the dates of changes near midnight depend on it.")
