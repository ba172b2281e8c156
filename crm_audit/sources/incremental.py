"""One incremental sync: the CRM's objects into the cache, then a snapshot for the audit.

For each incremental object the sync reads from the committed watermark minus
an overlap (inclusive ``updated_since``), page by page; the pages read are
committed together with the watermark they reach (:meth:`SyncCache.commit_page`,
every ``commit_seconds`` or ``commit_records``), so a sync killed anywhere loses
nothing committed and the next one resumes from the committed watermark. Records are
de-duplicated by (object, id), the newest copy kept. Deletions are found the
way the API allows (:class:`~crm_audit.sources.connector.ObjectSpec`).
Reference objects (users, pipelines, fields) are read whole every time.
``full=True`` forgets the cache first and reads everything.

At the end the cache is flattened into the snapshot the audit reads
(:mod:`crm_audit.sources.snapshot`) and the sync is recorded as done.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crm_audit.i18n import N_, _
from crm_audit.progress import silent
from crm_audit.sources.cache import SyncCache, now_iso
from crm_audit.sources.connector import Connector, minus


#: the connectors' objects (their API names) as the CLI names them in its progress and summary lines
OBJECT_NAMES = {
    "users": N_("users"), "owners": N_("owners"), "pipelines": N_("pipelines"), "stages": N_("stages"),
    "stage_sets": N_("stage sets"), "categories": N_("pipelines (categories)"), "record_types": N_("record types"),
    "processes": N_("sales processes"), "deals": N_("deals"), "leads": N_("deals (leads)"), "opportunities": N_("opportunities"),
    "organizations": N_("organizations"), "organization": N_("organization"), "companies": N_("companies"),
    "accounts": N_("accounts"), "account": N_("account"), "persons": N_("persons"), "contacts": N_("contacts"),
    "activities": N_("activities"), "tasks": N_("tasks"), "events": N_("events"), "history": N_("stage history"),
    "stage_history": N_("stage history"), "loss_reasons": N_("loss reasons"),
    "dealFields": N_("deal fields"), "deals_fields": N_("deal fields"), "leads_fields": N_("deal fields"),
    "opportunity_fields": N_("deal fields"), "deals_properties": N_("deal fields"),
    "organizationFields": N_("organization fields"), "companies_fields": N_("company fields"),
    "companies_properties": N_("company fields"), "account_fields": N_("company fields"),
    "personFields": N_("contact fields"), "contacts_fields": N_("contact fields"), "contact_fields": N_("contact fields"),
    "contacts_properties": N_("contact fields"),
}


def object_name(name: str) -> str:
    """A connector's object (``dealFields``, ``leads`` …) as the CLI's language names it (unknown ones as they are)."""
    return _(OBJECT_NAMES[name]) if name in OBJECT_NAMES else name


@dataclass
class ObjectResult:
    name: str
    read: int = 0  # records read (re-reads of the overlap included)
    deleted: int = 0  # records found deleted this sync
    since: str | None = None  # where the read started (None: from the beginning)


@dataclass
class SyncResult:
    sync_id: int
    crm: str
    mode: str  # full | incremental
    objects: list[ObjectResult] = field(default_factory=list)
    requests: int = 0
    cost: int = 0  # the CRM's own request cost (Pipedrive tokens)
    retries: int = 0
    waited: float = 0.0  # seconds spent within the CRM's limits
    snapshot: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)  # rows per entity in the snapshot
    by_path: dict[str, int] = field(default_factory=dict)
    daily: tuple[int, int] | None = None  # (used, total) of the account's daily API allocation, as the CRM last reported it


def run_sync(connector: Connector, cache: SyncCache, *, full: bool = False, overlap: dt.timedelta = dt.timedelta(minutes=10),
             id_check_days: int = 7, check_deleted: bool = False, snapshots: Path | None = None,
             progress: Callable[[str], None] | None = None, keep_snapshots: int = 12, commit_seconds: float = 2.0,
             commit_records: int = 20_000) -> SyncResult:
    """Sync ``connector``'s objects into ``cache``; write a snapshot into ``snapshots`` (a folder) when given.

    Pages are committed together, with the watermark they reach, once ``commit_records`` records are waiting or
    ``commit_seconds`` have passed since the last commit (0: every page): a kill loses at most that much reading, never
    a record below a committed watermark, and a fast API is not held up by a transaction per page."""
    from crm_audit.sources import snapshot as snapshot_mod

    progress = progress or silent
    if full:
        cache.reset()
    cache.bind(connector.crm, connector.account)
    first = all(cache.state(o.name).watermark is None for o in connector.objects if o.kind == "incremental")
    mode = "full" if full or first else "incremental"
    sid = cache.begin_sync(connector.crm, connector.account, mode)
    result = SyncResult(sid, connector.crm, mode)
    core = connector.core
    status = "failed"
    try:
        for spec in connector.objects:
            started = now_iso()
            res = ObjectResult(spec.name)
            result.objects.append(res)

            def report(extra: str = "") -> None:
                lim = core.limiter
                line = _("sync {object}: {records:,} records · {requests:,} requests").format(
                    object=object_name(spec.name), records=res.read, requests=core.stats.requests)
                if lim.daily_total:
                    line += " · " + _("{used:,}/{total:,} of the daily API allocation").format(used=lim.daily_used, total=lim.daily_total)
                progress(line + extra)

            report()
            if spec.kind == "reference":
                records = [r for page in connector.fetch(spec.name, None) for r in page]
                res.read = len(records)
                res.deleted = cache.replace_all(spec.name, records, sid)
                report()
                continue
            state = cache.state(spec.name)
            since = None if state.watermark is None else minus(state.watermark, overlap)
            res.since = since
            seen: set[str] | None = set() if since is None else None
            high: str | None = None
            pending: list = []  # pages read, not committed yet: committed together (one transaction) with the watermark they reach
            last_commit = time.monotonic()
            for page in connector.fetch(spec.name, since):
                res.read += len(page)
                top = max((r.updated for r in page if r.updated), default=None)
                if top is not None and (high is None or top > high):
                    high = top
                if seen is not None:
                    seen.update(r.id for r in page)
                pending += page
                if len(pending) >= commit_records or time.monotonic() - last_commit >= commit_seconds:
                    # pages come in update-time order: every record up to the highest time read so far is in `pending` or committed
                    cache.commit_page(spec.name, pending, sid, watermark=high if spec.ordered else None)
                    pending, last_commit = [], time.monotonic()
                report()
            if pending:
                cache.commit_page(spec.name, pending, sid, watermark=high if spec.ordered else None)
            if seen is not None:  # a read from the beginning: every cached id it did not list is gone
                res.deleted += cache.mark_missing_deleted(spec.name, seen, sid, started)
            cache.commit_page(spec.name, [], sid, watermark=high, full_done=True if since is None else None)
            if spec.deletions == "filter":
                for page in connector.fetch_deleted(spec.name, since):
                    cache.commit_page(spec.name, [r for r in page], sid)
                    res.deleted += sum(1 for r in page if r.deleted)
                    report(" " + _("(deleted)"))
            elif spec.deletions == "id-check" and seen is None and _due(state.id_checked, id_check_days, check_deleted):
                ids: set[str] = set()
                for page in connector.list_ids(spec.name):
                    ids.update(page)
                    report(" " + _("(checking for deleted records: {n:,} ids)").format(n=len(ids)))
                res.deleted += cache.mark_missing_deleted(spec.name, ids, sid, started)
        result.counts = {}
        if snapshots is not None:
            progress(_("writing the snapshot for the audit"))
            result.snapshot, result.counts = snapshot_mod.write_snapshot(connector, cache, snapshots, sid)
            for old_sid, path in cache.prunable_snapshots(keep_snapshots):
                snapshot_mod.remove_snapshot(Path(path))
                cache.forget_snapshot(old_sid)
        status = "done"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        st = core.stats
        result.requests, result.cost, result.retries, result.waited = st.requests, st.cost, st.retries, core.limiter.waited
        result.by_path = dict(st.by_path)
        if core.limiter.daily_total:
            result.daily = (core.limiter.daily_used or 0, core.limiter.daily_total)
        try:
            cache.end_sync(sid, status, st.requests, st.cost, result.counts,
                           str(result.snapshot) if result.snapshot is not None and status == "done" else None)
        except Exception:  # noqa: BLE001 - the cache is closing under a kill: the next sync marks this one interrupted
            pass
    return result


def _due(last: str | None, days: int, forced: bool) -> bool:
    if forced:
        return True
    if days <= 0:
        return False
    if last is None:
        return True
    then = dt.datetime.fromisoformat(last.replace("Z", "+00:00"))
    return dt.datetime.now(dt.timezone.utc) - then >= dt.timedelta(days=days)
