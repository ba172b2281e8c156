"""What a CRM connector is: the small per-CRM part on top of the shared core.

A connector (``crm_audit/sources/connectors/<crm>.py``, registered in
:data:`crm_audit.sources.registry.CONNECTORS`) knows one CRM's API and nothing
else of the product:

- :attr:`objects` — what to sync: each :class:`ObjectSpec` is incremental
  (read from a watermark, sorted by update time where the API can) or a small
  reference object read whole each sync (users, pipelines, stages, fields), and
  says how deletions are seen (``filter``: the API lists deleted records;
  ``id-check``: a periodic full id listing; ``full``: read whole);
- :meth:`fetch` / :meth:`fetch_deleted` / :meth:`list_ids` — pages of
  :class:`~crm_audit.sources.cache.Record` through the shared
  :class:`~crm_audit.sources.http.HttpCore` (limits, retries, paging, errors);
- :meth:`tables` — the cached records flattened into one table per entity
  (deals, organizations, persons, activities) whose columns are the API's
  field names (custom fields under their names in the CRM): the API profile
  ``crm_audit/sources/profiles/<crm>.yaml`` maps them to canonical fields
  through the same mapping as an export, so the rules never know where data
  came from;
- :meth:`check` — one cheap request per permission the audit needs, each
  failure a typed error (:mod:`crm_audit.sources.errors`);
- :meth:`init_values` — pipelines with stages in the CRM's order, users, the
  custom fields, for ``crm-audit init --from-crm``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from crm_audit.sources.cache import Record, SyncCache
from crm_audit.sources.http import HttpCore


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    kind: Literal["incremental", "reference"] = "incremental"
    deletions: Literal["filter", "id-check", "full", "none"] = "id-check"
    ordered: bool = True  # pages come sorted by update time: the watermark moves page by page


@dataclass
class Table:
    """One entity flattened: the API's field names as headers, text cells (None: empty).

    ``arrow``: the same as a pyarrow table of text columns named by ``headers`` (flattened by DuckDB straight from
    the cache, no Python per record); ``rows`` is then empty."""

    headers: list[str]
    rows: list[list[str | None]]
    arrow: Any = None

    def __len__(self) -> int:
        return self.arrow.num_rows if self.arrow is not None else len(self.rows)


@dataclass
class CheckItem:
    what: str  # "token", "deals", "users" ...
    ok: bool
    detail: str


@dataclass
class CheckResult:
    crm: str
    account: str
    items: list[CheckItem] = field(default_factory=list)
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(i.ok for i in self.items)


@dataclass
class CustomField:
    entity: str  # deals | organizations | persons
    name: str  # as the CRM shows it
    key: str  # the API's key / id
    type: str
    options: list[str] = field(default_factory=list)


@dataclass
class InitValues:
    """What ``init --from-crm`` writes: facts read from the live CRM."""

    pipelines: dict[str, list[str]]  # in the CRM's order; won/lost stages last where the CRM has them
    users: list[tuple[str, bool]]  # (name, active)
    custom_fields: list[CustomField]
    deal_url: str
    lost_reasons: list[str] = field(default_factory=list)


class Connector:
    """Base of a CRM connector (see the module docstring)."""

    crm: str = ""  # the settings' `crm:` value
    title: str = ""
    objects: list[ObjectSpec] = []
    #: the API profile (a profile YAML, same format as crm_audit/profiles/*.yaml)
    profile_file: str = ""
    #: how an OAuth2 access token is refreshed (a :class:`crm_audit.sources.oauth.RefreshSpec`); None: it is not
    oauth_refresh: Any = None

    def __init__(self, core: HttpCore, account: str, timezone: str | None = None):
        self.core = core
        self.account = account
        self._tz_name = timezone

    # -- syncing
    def fetch(self, obj: str, since: str | None) -> Iterator[list[Record]]:
        raise NotImplementedError

    def fetch_deleted(self, obj: str, since: str | None) -> Iterator[list[Record]]:
        return iter(())

    def list_ids(self, obj: str) -> Iterator[list[str]]:
        for page in self.fetch(obj, None):
            yield [r.id for r in page]

    # -- the audit's tables
    def tables(self, cache: SyncCache) -> dict[str, Table]:
        raise NotImplementedError

    def timezone(self, cache: SyncCache) -> ZoneInfo:
        name = self._tz_name or self.account_timezone(cache) or "UTC"
        try:
            return ZoneInfo(name)
        except Exception:  # noqa: BLE001 - an unknown zone name: the CRM's times stay UTC
            return ZoneInfo("UTC")

    def account_timezone(self, cache: SyncCache) -> str | None:
        return None

    # -- check / init
    def check(self) -> CheckResult:
        raise NotImplementedError

    def run_checks(self, probes: list[tuple[str, Any]]) -> CheckResult:
        """Each (what, call) in turn; a refusal that would fail every other probe too (token, domain, API off) stops there."""
        from crm_audit.sources.errors import ApiDisabled, BadToken, SourceError, WrongDomain

        res = CheckResult(self.title, self.account)
        for what, call in probes:
            try:
                call()
                res.items.append(CheckItem(what, True, "ok"))
            except (BadToken, WrongDomain, ApiDisabled) as exc:
                res.items.append(CheckItem(what, False, exc.message))
                res.error = exc
                return res
            except SourceError as exc:
                res.items.append(CheckItem(what, False, exc.message))
                res.error = res.error or exc
        return res

    def init_values(self, cache: SyncCache) -> InitValues:
        raise NotImplementedError

    def profile_path(self) -> Path:
        return Path(__file__).parent / "profiles" / self.profile_file


# ------------------------------------------------------------------ helpers for connectors


def iso_utc(value: Any) -> str | None:
    """An API time (RFC 3339 text, "2026-11-20 10:00:00" UTC text, or a unix timestamp) as "YYYY-MM-DDTHH:MM:SSZ"."""
    t = _utc(value)
    return None if t is None else t.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def local_text(value: Any, tz: ZoneInfo) -> str | None:
    """An API time as the account's local "YYYY-MM-DD HH:MM:SS" (what its export shows)."""
    t = _utc(value)
    if t is None:
        return None
    return t.astimezone(tz).replace(tzinfo=None).isoformat(" ")  # C-speed formatting; seconds only (_utc drops microseconds)


def _utc(value: Any) -> dt.datetime | None:
    """An API time (see :func:`iso_utc`) as an aware UTC datetime without microseconds; None when it is not one."""
    if value in (None, "", 0):
        return None
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(int(value), dt.timezone.utc)
    s = str(value).strip()
    try:
        t = dt.datetime.fromisoformat(s)  # RFC 3339 with Z or an offset, "2026-11-20 10:00:00" (Python 3.11)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.replace(microsecond=0) if t.microsecond else t


def minus(iso: str, delta: dt.timedelta) -> str:
    t = dt.datetime.fromisoformat(iso.replace("Z", "+00:00")) - delta
    return t.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def unique_label(label: str, names: set[str]) -> str:
    """``label``, or «label (2)», «label (3)» … when another column already has it (case-insensitive); remembered in ``names``."""
    base, k = label, 2
    while label.lower() in names:
        label, k = f"{base} ({k})", k + 1
    names.add(label.lower())
    return label


def text(value: Any) -> str | None:
    """A JSON value as an export cell: None / '' stay empty, numbers without a trailing .0."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
