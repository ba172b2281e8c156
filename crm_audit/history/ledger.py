"""The audit ledger: an embedded SQLite database that remembers every audit.

Plain SQL anyone can read with ``sqlite3 crm-audit.db``:

- ``audits`` — one row per audit (as-of date, when it ran, input file
  fingerprints, counts, the document it wrote);
- ``findings`` — one row per (rule id, deal id) ever flagged: first seen, last
  seen, audits in a row, resolved on;
- ``finding_audits`` — which findings each audit had (the hit history), with the
  deal's title, the status/comment/note the document showed and the deal's
  fingerprint (a hash of the fields the rule audits);
- ``edits`` — every status, comment and decision read back from a document,
  with when it was read (kept as written, problems noted; a row that is what
  the document showed, or what the last read found, is not stored again);
- ``decisions`` — the head of sales' decisions: accepted waivers (with an
  optional expiry) and warnings, from the document or the CLI.

Every write happens in one transaction; the schema is versioned
(``PRAGMA user_version``) and migrated forward on open.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from crm_audit.documents.edits import EditedRow
from crm_audit.errors import CrmAuditError

LEDGER_FILE = "crm-audit.db"


class LedgerError(CrmAuditError):
    """The ledger file cannot be opened or is not a crm-audit ledger."""

    kind = "ledger"


MIGRATIONS: list[str] = [
    # 1: the initial schema
    """
    CREATE TABLE audits (
        id INTEGER PRIMARY KEY,
        as_of TEXT NOT NULL,                -- YYYY-MM-DD
        ran_at TEXT NOT NULL,               -- ISO timestamp
        export_dir TEXT,
        fingerprints TEXT,                  -- JSON {file name: sha256 prefix}
        deal_count INTEGER,
        violation_count INTEGER,
        document TEXT                       -- where the audit's document was written
    );
    CREATE TABLE findings (
        rule_id TEXT NOT NULL,
        deal_id TEXT NOT NULL,
        owner TEXT,
        title TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        streak INTEGER NOT NULL DEFAULT 1,  -- audits in a row up to last_seen
        times_seen INTEGER NOT NULL DEFAULT 1,
        resolved_on TEXT,                   -- as-of of the first audit without it
        PRIMARY KEY (rule_id, deal_id)
    );
    CREATE TABLE finding_audits (
        audit_id INTEGER NOT NULL REFERENCES audits(id) ON DELETE CASCADE,
        rule_id TEXT NOT NULL,
        deal_id TEXT NOT NULL,
        owner TEXT,
        streak INTEGER NOT NULL,
        status TEXT,                        -- what the new document showed
        comment TEXT,
        note TEXT,
        repeat INTEGER NOT NULL DEFAULT 0,  -- marked fixed before, still failing
        fingerprint TEXT,
        PRIMARY KEY (audit_id, rule_id, deal_id)
    );
    CREATE TABLE edits (
        id INTEGER PRIMARY KEY,
        audit_id INTEGER,                   -- the audit whose document was read
        rule_id TEXT NOT NULL,
        deal_id TEXT NOT NULL,
        status_raw TEXT,
        status TEXT,
        comment TEXT,
        decision_raw TEXT,
        decision TEXT,
        decision_note TEXT,
        owner TEXT,
        source TEXT,
        sheet TEXT,
        cell TEXT,
        problems TEXT,                      -- JSON list
        read_at TEXT NOT NULL
    );
    CREATE INDEX edits_key ON edits(rule_id, deal_id, id);
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        rule_id TEXT NOT NULL,
        deal_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('accepted', 'warning')),
        note TEXT,
        owner TEXT,
        audit_id INTEGER,
        decided_on TEXT NOT NULL,           -- YYYY-MM-DD
        decided_at TEXT NOT NULL,           -- ISO timestamp
        source TEXT NOT NULL,               -- document | cli
        expires_on TEXT,                    -- accepted only; YYYY-MM-DD
        fingerprint TEXT,                   -- accepted only: the deal's audited fields then
        active INTEGER NOT NULL DEFAULT 1,
        ended_on TEXT,
        ended_reason TEXT
    );
    CREATE INDEX decisions_key ON decisions(rule_id, deal_id, kind, active);
    """,
    # 2: the deal's title per audit (the findings table is filled from finding_audits inside SQLite)
    """
    ALTER TABLE finding_audits ADD COLUMN title TEXT;
    """,
]


@dataclass
class Waiver:
    id: int
    rule_id: str
    deal_id: str
    note: str | None
    owner: str | None
    decided_on: str
    expires_on: str | None
    fingerprint: str | None
    source: str
    ended_on: str | None = None  # when the waiver stopped applying (expired, deal changed)
    ended_reason: str | None = None


class Ledger:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.con = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.con.row_factory = sqlite3.Row
            self.con.execute("PRAGMA foreign_keys = ON")
            self.con.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL: a crash never corrupts the ledger or loses a committed audit (only a power cut can drop
            # the last commit); the big page cache keeps 1M-finding audits off the disk while their indexes grow
            self.con.execute("PRAGMA synchronous = NORMAL")
            self.con.execute("PRAGMA cache_size = -262144")
            self._migrate()
        except sqlite3.OperationalError as exc:
            if "readonly" in str(exc) or "unable to open" in str(exc):
                raise LedgerError(f"{self.path}: cannot write the audit history ({exc}); is the file or its folder read-only?") from None
            raise LedgerError(f"{self.path}: not a crm-audit ledger or damaged ({exc}); move it away to start a new one") from None
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path}: not a crm-audit ledger or damaged ({exc}); move it away to start a new one") from None
        except OSError as exc:
            raise LedgerError(f"{self.path}: cannot open the ledger ({exc.strerror})") from None

    # ------------------------------------------------------------------ plumbing
    def _migrate(self) -> None:
        version = self.con.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise LedgerError(f"{self.path}: written by a newer crm-audit (schema {version}); upgrade crm-audit")
        for i in range(version, len(MIGRATIONS)):
            with self.transaction():
                for stmt in _statements(MIGRATIONS[i]):
                    self.con.execute(stmt)
                self.con.execute(f"PRAGMA user_version = {i + 1}")

    def transaction(self):
        return _Tx(self.con)

    def close(self) -> None:
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ audits
    def latest_audit(self) -> sqlite3.Row | None:
        return self.con.execute("SELECT * FROM audits ORDER BY as_of DESC, id DESC LIMIT 1").fetchone()

    def audits(self) -> list[sqlite3.Row]:
        return self.con.execute("SELECT * FROM audits ORDER BY as_of, id").fetchall()

    def previous_audit(self, as_of: dt.date) -> sqlite3.Row | None:
        """The last audit strictly before ``as_of`` (a re-run replaces its own date)."""
        return self.con.execute(
            "SELECT * FROM audits WHERE as_of < ? ORDER BY as_of DESC, id DESC LIMIT 1", (as_of.isoformat(),)
        ).fetchone()

    def audit_on(self, as_of: dt.date) -> sqlite3.Row | None:
        return self.con.execute("SELECT * FROM audits WHERE as_of = ? ORDER BY id DESC LIMIT 1", (as_of.isoformat(),)).fetchone()

    def findings_of(self, audit_id: int) -> dict[tuple[str, str], sqlite3.Row]:
        rows = self.con.execute("SELECT * FROM finding_audits WHERE audit_id = ?", (audit_id,)).fetchall()
        return {(r["rule_id"], r["deal_id"]): r for r in rows}

    def finding_in(self, audit_id: int, rule_id: str, deal_id: str) -> sqlite3.Row | None:
        """One finding as an audit's document showed it (None when that audit did not have it)."""
        return self.con.execute(
            "SELECT * FROM finding_audits WHERE audit_id = ? AND rule_id = ? AND deal_id = ?", (audit_id, rule_id, deal_id)
        ).fetchone()

    def finding(self, rule_id: str, deal_id: str) -> sqlite3.Row | None:
        return self.con.execute("SELECT * FROM findings WHERE rule_id = ? AND deal_id = ?", (rule_id, deal_id)).fetchone()

    # ------------------------------------------------------------------ edits
    def record_edits(self, edits: Iterable[EditedRow], audit_id: int | None, source: str, when: dt.datetime | None = None) -> int:
        """Store what a document holds; returns how many rows were stored.

        A row exactly as the audit's document showed it (status and comment
        as written there, no decision) is skipped — the ledger already has it
        in ``finding_audits`` and the edit it was carried from — and so are
        rows identical to the last stored edit of the same audit. The state is
        loaded once and the changed rows inserted together.
        """
        from crm_audit.report import STATUS_NEW

        read_at = (when or dt.datetime.now()).isoformat(timespec="seconds")
        with self.transaction():
            last = {
                (r[0], r[1]): (r[2], (r[3] or None, r[4] or None, r[5] or None, r[6] or None))
                for r in self.con.execute(
                    "SELECT e.rule_id, e.deal_id, e.audit_id, e.status_raw, e.comment, e.decision_raw, e.decision_note FROM edits e "
                    "JOIN (SELECT max(id) AS id FROM edits GROUP BY rule_id, deal_id) m ON m.id = e.id")
            }
            # what the audit's document showed on each row (status, comment)
            shown = {} if audit_id is None else {(r[0], r[1]): (r[2] or STATUS_NEW, r[3] or None) for r in self.con.execute(
                "SELECT rule_id, deal_id, status, comment FROM finding_audits WHERE audit_id = ?", (audit_id,))}
            rows = []
            for e in edits:
                key = (e.rule_id, e.deal_id)
                values = (e.status_raw or None, e.comment or None, e.decision_raw or None, e.decision_note or None)
                prev = last.get(key)
                if prev is not None and prev[0] == audit_id:
                    if prev[1] == values:  # an earlier read of this same document stored it already
                        continue
                elif values[2:] == (None, None) and shown.get(key) == (e.status or e.status_raw or STATUS_NEW, values[1]):
                    continue  # the row as the document showed it: nothing new (re-running an audit stays idempotent)
                last[key] = (audit_id, values)
                rows.append((audit_id, e.rule_id, e.deal_id, e.status_raw, e.status, e.comment, e.decision_raw, e.decision,
                             e.decision_note, e.owner, source, e.sheet, e.status_cell,
                             json.dumps([str(p) for p in e.problems], ensure_ascii=False) if e.problems else "[]", read_at))
            self.con.executemany(
                "INSERT INTO edits (audit_id, rule_id, deal_id, status_raw, status, comment, decision_raw, decision, "
                "decision_note, owner, source, sheet, cell, problems, read_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
        return len(rows)

    def last_edits(self) -> dict[tuple[str, str], sqlite3.Row]:
        rows = self.con.execute(
            "SELECT e.* FROM edits e JOIN (SELECT rule_id, deal_id, max(id) AS id FROM edits GROUP BY rule_id, deal_id) m ON m.id = e.id"
        ).fetchall()
        return {(r["rule_id"], r["deal_id"]): r for r in rows}

    # ------------------------------------------------------------------ decisions
    def decide(self, rule_id: str, deal_id: str, kind: str, note: str | None, *, owner: str | None = None,
               audit_id: int | None = None, source: str = "cli", expires_on: dt.date | None = None,
               fingerprint: str | None = None, on: dt.date | None = None) -> int | None:
        """Record a decision; an identical active one is not recorded twice."""
        on = on or dt.date.today()
        with self.transaction():
            if kind == "accepted":
                existing = self.con.execute(
                    "SELECT id FROM decisions WHERE rule_id=? AND deal_id=? AND kind='accepted' AND active=1", (rule_id, deal_id)
                ).fetchone()
                if existing:
                    self.con.execute(
                        "UPDATE decisions SET note = coalesce(?, note), expires_on = coalesce(?, expires_on), "
                        "fingerprint = coalesce(fingerprint, ?) WHERE id = ?",
                        (note, expires_on.isoformat() if expires_on else None, fingerprint, existing["id"]),
                    )
                    return existing["id"]
            else:
                dup = self.con.execute(
                    "SELECT id FROM decisions WHERE rule_id=? AND deal_id=? AND kind='warning' AND audit_id IS ? AND source=?",
                    (rule_id, deal_id, audit_id, source),
                ).fetchone()
                if dup and source == "document":
                    return dup["id"]
            cur = self.con.execute(
                "INSERT INTO decisions (rule_id, deal_id, kind, note, owner, audit_id, decided_on, decided_at, source, "
                "expires_on, fingerprint) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (rule_id, deal_id, kind, note, owner, audit_id, on.isoformat(), dt.datetime.now().isoformat(timespec="seconds"),
                 source, expires_on.isoformat() if expires_on else None, fingerprint),
            )
            return cur.lastrowid

    def waivers(self, active_only: bool = True) -> list[Waiver]:
        sql = "SELECT * FROM decisions WHERE kind = 'accepted'" + (" AND active = 1" if active_only else "") + " ORDER BY decided_on, id"
        return [
            Waiver(r["id"], r["rule_id"], r["deal_id"], r["note"], r["owner"], r["decided_on"], r["expires_on"], r["fingerprint"], r["source"],
                   r["ended_on"] if not r["active"] else None, r["ended_reason"] if not r["active"] else None)
            for r in self.con.execute(sql)
        ]

    def end_waiver(self, waiver_id: int, on: dt.date, reason: str) -> None:
        with self.transaction():
            self.con.execute("UPDATE decisions SET active = 0, ended_on = ?, ended_reason = ? WHERE id = ?", (on.isoformat(), reason, waiver_id))

    def warnings(self, since: dt.date | None = None) -> list[sqlite3.Row]:
        sql = "SELECT * FROM decisions WHERE kind = 'warning'"
        args: tuple = ()
        if since:
            sql += " AND decided_on >= ?"
            args = (since.isoformat(),)
        return self.con.execute(sql + " ORDER BY decided_on, id", args).fetchall()


def _statements(script: str) -> list[str]:
    """Split a migration into statements (sqlite3 runs one at a time in a transaction)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


class _Tx:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any exception; re-entrant."""

    def __init__(self, con: sqlite3.Connection):
        self.con = con
        self.outer = False

    def __enter__(self):
        if not self.con.in_transaction:
            self.con.execute("BEGIN IMMEDIATE")
            self.outer = True
        return self.con

    def __exit__(self, exc_type, exc, tb):
        if not self.outer:
            return False
        if exc_type is None:
            self.con.execute("COMMIT")
        else:
            self.con.execute("ROLLBACK")
        return False
