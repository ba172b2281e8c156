"""The ledger's bulk part: each audit's findings as one immutable Parquet file, queried with DuckDB.

An audit of a million deals flags a million and a half findings; as SQLite
rows they cost ~5 s to write and ~65 bytes each. Written column-wise with
Arrow they cost well under a second and ~15 bytes, and DuckDB reads them back
(the previous audit's streaks, the review's latest audit, a finding's history)
faster than SQLite rows reach Python. The small, transactional part of the
ledger (audits, edits, decisions, documents, hits) stays in SQLite, which
points to each audit's file: a file is written under a new name and renamed
into place *before* the SQLite transaction that references it commits, so a
crash leaves either the old audit or the new one, never half of one; a file
no audit references (a run killed in between) is removed later.

Anyone can read the findings: ``duckdb -c "SELECT * FROM 'crm-audit.findings/*.parquet'"``.
Only :mod:`crm_audit.history.ledger` uses this module.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema([
    ("rule_id", pa.string()),
    ("deal_id", pa.string()),
    ("owner", pa.string()),
    ("title", pa.string()),
    ("streak", pa.int32()),  # audits in a row
    ("first_seen", pa.date32()),
    ("fingerprint", pa.string()),  # a hash of the fields the rule audits
    ("status", pa.string()),  # as the document showed it; NULL = «Не обработано»
    ("comment", pa.string()),
    ("note", pa.string()),
    ("repeat", pa.int8()),  # 1: marked fixed before, still failing in a new export
    # what the rule sheet showed as the rule's evidence: [title, value, title, value, …] (values as text: dates ISO,
    # numbers without a trailing .0; NULL = empty); files written before it have no such column (read as NULL)
    ("evidence", pa.list_(pa.string())),
])
COLUMNS = [f.name for f in SCHEMA]

#: a file no audit references is removed when it is older than this (a run in progress may be about to commit it)
ORPHAN_AGE_S = 3600


class FindingsStore:
    """The folder of per-audit Parquet files next to the ledger (``crm-audit.findings/``)."""

    def __init__(self, folder: Path, writable: bool = True):
        self.folder = folder
        self.writable = writable
        self._duck = None

    # ------------------------------------------------------------------ files
    def path(self, name: str | None) -> Path | None:
        return self.folder / name if name else None

    def write(self, audit_id: int | str, table: pa.Table) -> str:
        """Write an audit's findings to a file named by its content (temporary name, fsync, rename); returns its name.

        The same findings give the same file, so re-running an audit leaves the ledger as it was.
        """
        import hashlib

        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".audit-{audit_id}-{secrets.token_hex(4)}.parquet.tmp"
        try:
            pq.write_table(table.cast(SCHEMA), tmp, compression="zstd", row_group_size=1 << 20)
            digest = hashlib.sha256()
            with open(tmp, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
                os.fsync(f.fileno())
            name = f"audit-{audit_id}-{digest.hexdigest()[:16]}.parquet"
            os.replace(tmp, self.folder / name)
        finally:
            if tmp.exists():
                tmp.unlink()
        return name

    def read(self, name: str, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(self.folder / name, columns=columns)

    def remove(self, names) -> None:
        for name in names:
            p = self.folder / name
            if name and p.exists():
                try:
                    p.unlink()
                except OSError:
                    pass  # removed at a later open

    def remove_orphans(self, referenced: set[str]) -> None:
        """Files no audit references, left by a run killed before its ledger commit (old enough not to be in flight)."""
        if not self.folder.is_dir():
            return
        now = time.time()
        for p in self.folder.iterdir():
            name = p.name
            stale = now - p.stat().st_mtime > ORPHAN_AGE_S
            if stale and ((name.endswith(".parquet") and name not in referenced) or name.endswith(".tmp")):
                try:
                    p.unlink()
                except OSError:
                    pass

    # ------------------------------------------------------------------ queries
    def duck(self):
        if self._duck is None:
            import duckdb

            self._duck = duckdb.connect(":memory:")
        return self._duck

    def query(self, sql: str, params: list | None = None):
        return self.duck().execute(sql, params or [])

    def columns(self, path: str) -> set[str]:
        """The column names of a findings file (its footer only; files of older versions lack newer columns)."""
        return set(pq.read_schema(path).names)

    def close(self) -> None:
        if self._duck is not None:
            self._duck.close()
            self._duck = None


def empty_table() -> pa.Table:
    return SCHEMA.empty_table()


def to_date(value) -> dt.date | None:
    return value if value is None or isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
