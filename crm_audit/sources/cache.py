"""The sync cache: one embedded DuckDB file next to the ledger (``crm-audit.sync.duckdb``).

Plain tables anyone can read with ``duckdb crm-audit.sync.duckdb``:

- ``records`` — the CRM's raw records, one row per (object, id): the JSON as
  the API returned it (tokens are never in it), its update time (ISO UTC),
  whether it is deleted, and the sync that last wrote it;
- ``objects`` — per object: the watermark (the latest update time such that
  every record updated up to it is committed), whether a full read finished,
  when ids were last checked for deletions;
- ``syncs`` — one row per sync: mode, status (running / done / interrupted /
  failed), requests, the CRM's token cost, counts, the snapshot it wrote;
- ``meta`` — which CRM and account the cache belongs to (a cache never mixes two).

Each page is written with the watermark it advances in ONE transaction, so a
sync killed at any point has lost nothing: the next one starts from the last
committed watermark (minus an overlap) and de-duplicates by (object, id).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from crm_audit.errors import UsageError
from crm_audit.i18n import _

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    object VARCHAR NOT NULL, id VARCHAR NOT NULL, updated VARCHAR, deleted BOOLEAN NOT NULL DEFAULT FALSE,
    data VARCHAR, sync_id INTEGER);  -- one row per (object, id): kept so by commit_page (no index to maintain)
CREATE TABLE IF NOT EXISTS objects (
    object VARCHAR PRIMARY KEY, watermark VARCHAR, full_done BOOLEAN NOT NULL DEFAULT FALSE,
    id_checked VARCHAR, synced_at VARCHAR);
CREATE TABLE IF NOT EXISTS syncs (
    id INTEGER PRIMARY KEY, crm VARCHAR, account VARCHAR, started VARCHAR, finished VARCHAR, mode VARCHAR,
    status VARCHAR, requests INTEGER, cost INTEGER, counts VARCHAR, snapshot VARCHAR, used_by_audit BOOLEAN DEFAULT FALSE);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
"""


@dataclass(frozen=True)
class Record:
    """One record of a CRM object as the API returned it."""

    id: str
    updated: str | None  # ISO 8601 UTC, "2026-11-20T10:15:00Z" (comparable as text)
    data: dict | None
    deleted: bool = False


@dataclass
class ObjectState:
    object: str
    watermark: str | None
    full_done: bool
    id_checked: str | None


@dataclass
class SyncRow:
    id: int
    crm: str
    started: str
    finished: str | None
    mode: str
    status: str
    requests: int | None
    cost: int | None
    counts: dict
    snapshot: str | None


def cache_path(ledger_path: Path) -> Path:
    """``crm-audit.db`` -> ``crm-audit.sync.duckdb`` (same folder)."""
    return ledger_path.with_name(ledger_path.stem + ".sync.duckdb")


def snapshots_dir(cache: Path) -> Path:
    """``crm-audit.sync.duckdb`` -> ``crm-audit.snapshots/``."""
    return cache.with_name(cache.name.removesuffix(".sync.duckdb") + ".snapshots")


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class SyncCache:
    """The cache file; every query on it is a method here."""

    def __init__(self, path: str | Path, read_only: bool = False):
        import duckdb

        self.path = Path(path)
        if read_only and not self.path.exists():
            raise UsageError(_("{path}: no sync cache yet; run `crm-audit sync` first").format(path=self.path))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise UsageError(_("{path} is in use by another crm-audit (a sync or an audit is running); wait for it to finish")
                                 .format(path=self.path)) from None
            raise UsageError(_("{path}: cannot open the sync cache ({error}); move it away to rebuild it with `crm-audit sync --full`")
                             .format(path=self.path, error=str(exc).splitlines()[0])) from None
        if not read_only:
            for stmt in filter(str.strip, SCHEMA.split(";")):
                self.con.execute(stmt)

    def close(self) -> None:
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ the account
    def bind(self, crm: str, account: str) -> None:
        """Refuse a cache filled from another CRM or account (its watermarks would be wrong)."""
        rows = dict(self.con.execute("SELECT key, value FROM meta").fetchall())
        if rows and (rows.get("crm") != crm or rows.get("account") != account):
            raise UsageError(_("{path} holds data of {crm} {account}, not {new_crm} {new_account}; "
                               "run `crm-audit sync --full` to rebuild it for this account")
                             .format(path=self.path, crm=rows.get("crm"), account=rows.get("account"), new_crm=crm, new_account=account))
        if not rows:
            self.con.executemany("INSERT INTO meta VALUES (?, ?)", [("crm", crm), ("account", account)])

    def reset(self) -> None:
        """``--full``: forget every record and watermark (the sync history stays)."""
        self.con.execute("BEGIN")
        self.con.execute("DELETE FROM records")
        self.con.execute("DELETE FROM objects")
        self.con.execute("DELETE FROM meta")
        self.con.execute("COMMIT")

    # ------------------------------------------------------------------ syncs
    def begin_sync(self, crm: str, account: str, mode: str) -> int:
        self.con.execute("UPDATE syncs SET status = 'interrupted' WHERE status = 'running'")
        sid = (self.con.execute("SELECT coalesce(max(id), 0) + 1 FROM syncs").fetchone()[0])
        self.con.execute("INSERT INTO syncs (id, crm, account, started, mode, status) VALUES (?, ?, ?, ?, ?, 'running')",
                         [sid, crm, account, now_iso(), mode])
        return sid

    def end_sync(self, sid: int, status: str, requests: int, cost: int, counts: dict, snapshot: str | None) -> None:
        self.con.execute("UPDATE syncs SET finished = ?, status = ?, requests = ?, cost = ?, counts = ?, snapshot = ? WHERE id = ?",
                         [now_iso(), status, requests, cost, json.dumps(counts, sort_keys=True), snapshot, sid])

    def sync(self, sid: int) -> SyncRow | None:
        r = self.con.execute("SELECT id, crm, started, finished, mode, status, requests, cost, counts, snapshot FROM syncs WHERE id = ?",
                             [sid]).fetchone()
        return _sync_row(r)

    def latest_sync(self, with_snapshot: bool = True) -> SyncRow | None:
        where = "WHERE status = 'done' AND snapshot IS NOT NULL" if with_snapshot else ""
        r = self.con.execute(f"SELECT id, crm, started, finished, mode, status, requests, cost, counts, snapshot FROM syncs {where} "
                             "ORDER BY id DESC LIMIT 1").fetchone()
        return _sync_row(r)

    def mark_used(self, sid: int) -> None:
        """An audit used this sync's snapshot: it is kept (reproducible) whatever `keep_snapshots` says."""
        self.con.execute("UPDATE syncs SET used_by_audit = TRUE WHERE id = ?", [sid])

    def prunable_snapshots(self, keep: int) -> list[tuple[int, str]]:
        """Snapshots beyond the newest ``keep`` that no audit used."""
        return self.con.execute(
            "SELECT id, snapshot FROM syncs WHERE snapshot IS NOT NULL AND NOT coalesce(used_by_audit, FALSE) "
            "AND id NOT IN (SELECT id FROM syncs WHERE snapshot IS NOT NULL ORDER BY id DESC LIMIT ?)", [keep]).fetchall()

    def forget_snapshot(self, sid: int) -> None:
        self.con.execute("UPDATE syncs SET snapshot = NULL WHERE id = ?", [sid])

    # ------------------------------------------------------------------ objects and records
    def state(self, obj: str) -> ObjectState:
        r = self.con.execute("SELECT watermark, full_done, id_checked FROM objects WHERE object = ?", [obj]).fetchone()
        return ObjectState(obj, *(r or (None, False, None)))

    def commit_page(self, obj: str, records: list[Record], sid: int, watermark: str | None = None, full_done: bool | None = None) -> None:
        """Upsert a page's records and advance the object's watermark, in one transaction."""
        import pyarrow as pa

        self.con.execute("BEGIN")
        try:
            if records:
                latest: dict[str, Record] = {}
                for r in records:  # a page may repeat a record (moved while paging): keep the newest
                    prev = latest.get(r.id)
                    if prev is None or (r.updated or "") >= (prev.updated or ""):
                        latest[r.id] = r
                rs = list(latest.values())
                table = pa.table({
                    "object": pa.array([obj] * len(rs), pa.string()),
                    "id": pa.array([r.id for r in rs], pa.string()),
                    "updated": pa.array([r.updated for r in rs], pa.string()),
                    "deleted": pa.array([r.deleted for r in rs], pa.bool_()),
                    "data": pa.array([None if r.data is None else json.dumps(r.data, ensure_ascii=False, separators=(",", ":")) for r in rs],
                                     pa.string()),
                    "sync_id": pa.array([sid] * len(rs), pa.int32()),
                })
                self.con.register("_page", table)
                # a deletion mark (no data) keeps the record's data; an older copy never overwrites a newer one.
                # `records.object = ?`: the object's rows only (they lie together: whole row groups of the others are skipped)
                if any(r.data is None for r in rs):
                    self.con.execute("""
                        UPDATE records SET deleted = TRUE, sync_id = p.sync_id FROM _page p
                        WHERE p.data IS NULL AND records.object = ? AND records.id = p.id""", [obj])
                self.con.execute("""
                    DELETE FROM records USING _page p WHERE p.data IS NOT NULL AND records.object = ? AND records.id = p.id
                      AND coalesce(p.updated, '') >= coalesce(records.updated, '')""", [obj])
                self.con.execute("""
                    INSERT INTO records SELECT p.object, p.id, p.updated, p.deleted, p.data, p.sync_id FROM _page p
                    WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.object = ? AND r.id = p.id)""", [obj])
                self.con.unregister("_page")
            if watermark is not None or full_done is not None:
                self._set_state(obj, watermark, full_done)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _set_state(self, obj: str, watermark: str | None, full_done: bool | None) -> None:
        self.con.execute("INSERT INTO objects (object) VALUES (?) ON CONFLICT DO NOTHING", [obj])
        if watermark is not None:
            self.con.execute("UPDATE objects SET watermark = greatest(coalesce(watermark, ''), ?), synced_at = ? WHERE object = ?",
                             [watermark, now_iso(), obj])
        if full_done is not None:
            self.con.execute("UPDATE objects SET full_done = ?, synced_at = ? WHERE object = ?", [full_done, now_iso(), obj])

    def replace_all(self, obj: str, records: list[Record], sid: int) -> int:
        """A small reference object read whole (users, pipelines, fields): upsert; every other id is deleted. Returns deletions."""
        self.con.execute("BEGIN")
        try:
            self.con.execute("CREATE OR REPLACE TEMP TABLE _seen (id VARCHAR)")
            if records:
                self.con.executemany("INSERT INTO _seen VALUES (?)", [[r.id] for r in records])
            gone = self.con.execute("UPDATE records SET deleted = TRUE, sync_id = ? WHERE object = ? AND NOT deleted "
                                    "AND id NOT IN (SELECT id FROM _seen)", [sid, obj]).fetchone()[0]
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.commit_page(obj, records, sid, watermark=max((r.updated for r in records if r.updated), default=None), full_done=True)
        return gone

    def mark_missing_deleted(self, obj: str, seen_ids: Iterable[str], sid: int, checked_at: str) -> int:
        """The id check: records of ``obj`` not among ``seen_ids`` (a full id listing) are deleted. Returns how many."""
        import pyarrow as pa

        ids = pa.table({"id": pa.array(list(seen_ids), pa.string())})
        self.con.execute("BEGIN")
        try:
            self.con.register("_ids", ids)
            n = self.con.execute("UPDATE records SET deleted = TRUE, sync_id = ? WHERE object = ? AND NOT deleted "
                                 "AND id NOT IN (SELECT id FROM _ids)", [sid, obj]).fetchone()[0]
            self.con.unregister("_ids")
            self.con.execute("INSERT INTO objects (object) VALUES (?) ON CONFLICT DO NOTHING", [obj])
            self.con.execute("UPDATE objects SET id_checked = ? WHERE object = ?", [checked_at, obj])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return n

    def live(self, obj: str) -> Iterable[tuple[str, dict]]:
        """(id, record) of every record of ``obj`` that is not deleted, by id."""
        cur = self.con.execute("SELECT id, data FROM records WHERE object = ? AND NOT deleted AND data IS NOT NULL "
                               "ORDER BY try_cast(id AS BIGINT) NULLS LAST, id", [obj])
        while True:
            rows = cur.fetchmany(10000)
            if not rows:
                return
            # one JSON document per 10,000 records: the decoder is set up once, not per record (a third of the time)
            yield from zip((r[0] for r in rows), json.loads("[" + ",".join(r[1] for r in rows) + "]"))

    def flatten(self, sql: str, tz: str):
        """The result of a connector's flattening query over ``records`` as a pyarrow table (``$tz``: the account's zone;
        text without a zone is UTC, as the APIs mean it)."""
        con = self.con.cursor()  # a session of its own: its TimeZone setting stays there
        try:
            con.execute("SET TimeZone = 'UTC'")
            rel = con.sql(sql, params={"tz": tz})
            return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()  # DuckDB 2 / 1.x
        finally:
            con.close()

    def counts(self) -> dict[str, dict[str, int]]:
        return {o: {"live": int(l), "deleted": int(d)} for o, l, d in self.con.execute(
            "SELECT object, count(*) FILTER (WHERE NOT deleted), count(*) FILTER (WHERE deleted) FROM records GROUP BY object ORDER BY object"
        ).fetchall()}


def _sync_row(r) -> SyncRow | None:
    if r is None:
        return None
    return SyncRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]) if r[8] else {}, r[9])
