"""Audits that remember: read back, carry over, record.

One audit cycle, in the only order that loses nothing:

1. :func:`pull` — read what managers and the head of sales wrote in the
   previous document into the ledger (one transaction). If the document
   cannot be read, the run stops before anything is written.
2. :func:`carry_over` — apply the ledger to the new report: accepted findings
   are removed (unless the deal's audited fields changed or the waiver
   expired), statuses and comments of findings still present are kept, a
   finding marked «Исправлено» that still fails in a new export comes back as
   «Не обработано» with a note (on the same export files it stays
   «Исправлено»: the fix came after the export), every row gets first seen
   and audits in a row.
3. the caller writes the new document (atomically);
4. :func:`record` — store the audit, its findings and the resolved ones (one
   transaction). Re-running the same audit (same as-of) replaces it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crm_audit.documents.edits import DECISION_ACCEPTED, DECISION_WARNING, EditedRow, EditsReader
from crm_audit.history.ledger import Ledger
from crm_audit.report import FINGERPRINT_BASE, FINGERPRINT_COLUMN, STATUS_FIXED, STATUS_NEW, STATUS_NOT_FIXED, AuditReport, DataWarning, HitHistory, RuleResult
from crm_audit.sqltext import sql_literal
from crm_audit.textnorm import display_names, norm


@dataclass
class PullResult:
    source: str
    edits: list[EditedRow] = field(default_factory=list)
    stored: int = 0
    accepted: int = 0
    warned: int = 0

    @property
    def problems(self) -> list[EditedRow]:
        return [e for e in self.edits if e.problems]

    def warnings(self) -> list[DataWarning]:
        out = []
        for e in self.problems:
            for p in e.problems:
                who = f" (manager: {e.owner})" if e.owner else ""
                cell = getattr(p, "cell", None) or e.status_cell  # the cell the problem is in
                out.append(DataWarning("document-edit", f"{e.sheet}!{cell}: deal {e.deal_id}: {p}{who}; kept as written", self.source, e.row, None))
        return out


@dataclass
class CarryResult:
    waived: list[tuple[str, str]] = field(default_factory=list)
    lapsed: list[tuple[str, str, str]] = field(default_factory=list)  # rule, deal, why
    repeats: list[tuple[str, str]] = field(default_factory=list)
    carried: int = 0




def fingerprints(result: RuleResult) -> list[str]:
    """Per row, a hash of the deal's audited fields for this rule (not of the date).

    The engine computes it with the rule's query (``_fingerprint``); a report
    built another way is hashed here.
    """
    rows = result.rows
    if FINGERPRINT_COLUMN in rows.columns:
        return _texts(rows, FINGERPRINT_COLUMN)
    keys = [k for k in FINGERPRINT_BASE if k in rows.columns] + [c.key for c in result.evidence if not c.volatile and c.key in rows.columns]
    columns = [_texts(rows, k, missing="") for k in keys]
    return [hashlib.sha256("\x1f".join(vals).encode("utf-8")).hexdigest()[:16] for vals in zip(*columns)] if columns else [""] * len(rows)


# --------------------------------------------------------------------------- 1. pull


def pull(ledger: Ledger, reader: EditsReader, source: str, when: dt.datetime | None = None) -> PullResult:
    """Read a document's edits into the ledger; decisions become ledger decisions."""
    edits = reader.read_edits()
    res = PullResult(source, edits)
    audit = ledger.latest_audit()
    audit_id = audit["id"] if audit else None
    audit_day = dt.date.fromisoformat(audit["as_of"]) if audit else dt.date.today()
    with ledger.transaction():
        res.stored = ledger.record_edits(edits, audit_id, source, when)
        for e in edits:
            if e.decision == DECISION_ACCEPTED:
                fa = ledger.finding_in(audit_id, e.rule_id, e.deal_id) if audit_id else None
                ledger.decide(e.rule_id, e.deal_id, "accepted", e.decision_note or e.comment, owner=e.owner, audit_id=audit_id,
                              source="document", fingerprint=fa["fingerprint"] if fa else None, on=audit_day)
                res.accepted += 1
            elif e.decision == DECISION_WARNING:
                ledger.decide(e.rule_id, e.deal_id, "warning", e.decision_note or e.comment, owner=e.owner, audit_id=audit_id,
                              source="document", on=audit_day)
                res.warned += 1
    return res


def reader_for(document: str | Path, rule_ids_by_code: dict[str, str], credentials: str | None = None) -> EditsReader | None:
    """The reader of an existing document, or None when there is none yet."""
    from exporters.xlsx_readback import WorkbookReader

    import re

    text = str(document)
    looks_like_key = re.fullmatch(r"[A-Za-z0-9_-]{30,}", text) is not None and not Path(text).exists()
    if "docs.google.com/spreadsheets" in text or looks_like_key:
        from exporters.gsheet import GoogleSheetReader, open_spreadsheet

        return GoogleSheetReader(open_spreadsheet(text, credentials), rule_ids_by_code)
    p = Path(document)
    if p.suffix.lower() in (".xlsx", ".xlsm") and p.exists():
        return WorkbookReader(p, rule_ids_by_code)
    return None


# --------------------------------------------------------------------------- 2. carry over


def _fmt(day: str | None) -> str:
    return dt.date.fromisoformat(day).strftime("%d.%m.%Y") if day else ""


def _by_rule(rows) -> dict[str, dict[str, Any]]:
    """``(rule_id, deal_id, value)`` rows as {rule_id: {deal_id: value}}."""
    out: dict[str, dict[str, Any]] = {}
    for rule_id, deal_id, value in rows:
        out.setdefault(rule_id, {})[deal_id] = value
    return out


def _rows_in(deal_ids: pd.Series, by_deal: dict[str, Any], keep: np.ndarray) -> np.ndarray:
    """Positions of the kept rows whose deal id has an entry in ``by_deal`` (a few, usually), found column-wise."""
    if not by_deal:
        return np.empty(0, dtype=int)
    return np.flatnonzero(deal_ids.isin(list(by_deal)).to_numpy() & keep)


def _same_export(recorded: str | None, current: dict[str, str]) -> bool:
    """True when an audit's recorded input fingerprints (JSON) are the current export's files."""
    if not recorded or not current:
        return False
    try:
        return json.loads(recorded) == current
    except ValueError:
        return False


def carry_over(report: AuditReport, ledger: Ledger) -> CarryResult:
    """Mutate ``report``: drop waived findings, add status/comment/first seen/streak/notes.

    Set-based: the ledger state is read once, streaks and first-seen dates are
    mapped onto each rule's deal ids column-wise; only the rows with a waiver
    or a manager's edit (a few, usually) are looked at one by one. Each row
    also gets ``_fingerprint`` (see :func:`fingerprints`) for :func:`record`.
    """
    as_of = report.as_of
    as_of_iso = as_of.isoformat()
    prev = ledger.previous_audit(as_of)
    prev_streak = _by_rule(ledger.con.execute(
        "SELECT rule_id, deal_id, streak FROM finding_audits WHERE audit_id = ?", (prev["id"],))) if prev else {}
    first = _by_rule(ledger.con.execute("SELECT rule_id, deal_id, first_seen FROM findings WHERE first_seen < ?", (as_of_iso,)))
    edits = _by_rule((k[0], k[1], e) for k, e in ledger.last_edits().items())
    audits = ledger.audits()
    audit_day = {a["id"]: a["as_of"] for a in audits}
    exports = {a["id"]: a["fingerprints"] for a in audits}
    this_export = report.input_fingerprints
    waivers = _by_rule((w.rule_id, w.deal_id, w) for w in ledger.waivers())
    warned = _by_rule((w["rule_id"], w["deal_id"], w) for w in ledger.warnings())  # the latest warning per finding
    days: dict[str, dt.date] = {as_of_iso: as_of}
    out = CarryResult()
    for result in report.results:
        rows = result.rows
        if rows is None or not len(rows):
            continue
        rid = result.rule_id
        deal_ids = pd.Series(_texts(rows, "deal_id"), dtype=object)
        fps = fingerprints(result)
        n = len(rows)
        keep = np.ones(n, dtype=bool)
        status: list[str | None] = [STATUS_NEW] * n
        comment: list[str | None] = [None] * n
        note: list[str | None] = [None] * n
        w_rule = waivers.get(rid, {})
        for i in _rows_in(deal_ids, w_rule, keep):
            key, w = (rid, deal_ids[i]), w_rule[deal_ids[i]]
            if w.expires_on and as_of > dt.date.fromisoformat(w.expires_on):
                ledger.end_waiver(w.id, as_of, "expired")
                out.lapsed.append((*key, f"принято {_fmt(w.decided_on)} до {_fmt(w.expires_on)}, срок истёк"))
                note[i] = f"Было принято руководителем {_fmt(w.decided_on)} до {_fmt(w.expires_on)}; срок истёк."
            elif w.fingerprint and w.fingerprint != fps[i]:
                ledger.end_waiver(w.id, as_of, "deal changed")
                out.lapsed.append((*key, f"принято {_fmt(w.decided_on)}, но сделка изменилась"))
                note[i] = f"Было принято руководителем {_fmt(w.decided_on)}, но поля сделки изменились — проверьте снова."
            else:
                out.waived.append(key)
                keep[i] = False
        e_rule = edits.get(rid, {})
        for i in _rows_in(deal_ids, e_rule, keep):
            key, e = (rid, deal_ids[i]), e_rule[deal_ids[i]]
            comment[i] = e["comment"]
            if e["status"] == STATUS_FIXED and _same_export(exports.get(e["audit_id"]), this_export):
                # the export predates the fix (the same files as the audit it was marked in): nothing to re-check yet
                status[i] = STATUS_FIXED
            elif e["status"] == STATUS_FIXED:
                day = audit_day.get(e["audit_id"]) or e["read_at"][:10]
                note[i] = (note[i] + " " if note[i] else "") + (
                    f"Отмечено «Исправлено» в аудите от {_fmt(day)}, но нарушение осталось — "
                    "исправьте в CRM или поставьте «Не исправлено» с комментарием.")
                out.repeats.append(key)
            elif e["status"] in (STATUS_NOT_FIXED, STATUS_NEW):
                status[i] = e["status"]
            elif e["status_raw"]:
                # a hand-typed unknown status: shown again as written so nothing is lost
                status[i] = e["status_raw"]
            if status[i] != STATUS_NEW or comment[i]:
                out.carried += 1
        w_rule = warned.get(rid, {})
        for i in _rows_in(deal_ids, w_rule, keep):
            # the head of sales' warning stays visible next to the row (the «Решение» cell is for this audit's decision)
            w = w_rule[deal_ids[i]]
            text = f"Предупреждение руководителя от {_fmt(w['decided_on'])}" + (f": {w['note']}" if w["note"] else "") + "."
            note[i] = f"{note[i]} {text}" if note[i] else text
        ids = deal_ids.tolist()
        before = prev_streak.get(rid, {})
        streak = [before.get(d, 0) + 1 for d in ids]
        # first seen: the ledger's date when earlier than this audit, else this audit
        seen = first.get(rid, {})
        first_seen = [days[f] if f in days else days.setdefault(f, dt.date.fromisoformat(f)) for f in (seen.get(d, as_of_iso) for d in ids)]
        rows = rows.assign(status=status, comment=comment, first_seen=first_seen, streak=streak, carry_note=note, **{FINGERPRINT_COLUMN: fps})
        result.rows = rows[keep].reset_index(drop=True) if not keep.all() else rows
    return out


# --------------------------------------------------------------------------- 4. record


def record(report: AuditReport, ledger: Ledger, carry: CarryResult, document: str | None) -> int:
    """Store the audit and its findings; returns the audit id. Idempotent per as-of."""
    as_of = report.as_of.isoformat()
    now = dt.datetime.now().isoformat(timespec="seconds")
    with ledger.transaction() as con:
        existing = ledger.audit_on(report.as_of)
        values = (as_of, now, report.source, json.dumps(report.input_fingerprints), report.deal_count, report.total, document)
        if existing is not None:
            audit_id = existing["id"]
            con.execute(
                "UPDATE audits SET as_of=?, ran_at=?, export_dir=?, fingerprints=?, deal_count=?, violation_count=?, document=? WHERE id=?",
                (*values, audit_id),
            )
            con.execute("DELETE FROM finding_audits WHERE audit_id = ?", (audit_id,))
        else:
            audit_id = con.execute(
                "INSERT INTO audits (as_of, ran_at, export_dir, fingerprints, deal_count, violation_count, document) VALUES (?,?,?,?,?,?,?)",
                values,
            ).lastrowid
        repeats = set(carry.repeats)
        for result in sorted(report.results, key=lambda r: r.rule_id):
            if result.rows is None or not len(result.rows):
                continue
            rid = result.rule_id
            rows = result.rows
            # key order: the primary-key B-tree is appended to instead of split at random
            ids = rows["deal_id"] if str(rows["deal_id"].dtype) == "str" else rows["deal_id"].astype(str)
            rows = rows.assign(deal_id=ids).sort_values("deal_id", kind="stable")
            deal_ids = _texts(rows, "deal_id")
            streaks = rows["streak"].fillna(1).astype(int).tolist() if "streak" in rows.columns else [1] * len(rows)
            flags = [int((rid, d) in repeats) for d in deal_ids] if repeats else None
            # audit, rule and (usually) the repeat flag are the same on every row: literals, not bound per row
            con.executemany(
                "INSERT INTO finding_audits (audit_id, rule_id, deal_id, owner, title, streak, status, comment, note, fingerprint, repeat) "
                f"VALUES ({int(audit_id)}, {sql_literal(rid)}, ?,?,?,?,?,?,?,?, {'?' if flags else '0'})",
                zip(deal_ids, *(_texts(rows, k) for k in ("owner", "title")), streaks,
                    *(_texts(rows, k) for k in ("status", "comment", "carry_note", FINGERPRINT_COLUMN)), *([flags] if flags else [])),
            )
        # the findings table, from this audit's rows, inside SQLite (no row goes through Python twice)
        con.execute(
            "INSERT INTO findings (rule_id, deal_id, owner, title, first_seen, last_seen, streak, times_seen, resolved_on) "
            "SELECT rule_id, deal_id, owner, title, ?, ?, streak, 1, NULL FROM finding_audits WHERE audit_id = ? ORDER BY rule_id, deal_id "
            "ON CONFLICT (rule_id, deal_id) DO UPDATE SET owner=excluded.owner, "
            "title=excluded.title, first_seen=min(findings.first_seen, excluded.first_seen), "
            "times_seen = findings.times_seen + (CASE WHEN findings.last_seen < excluded.last_seen THEN 1 ELSE 0 END), "
            "last_seen=max(findings.last_seen, excluded.last_seen), streak=excluded.streak, resolved_on=NULL",
            (as_of, as_of, audit_id))
        # findings that disappeared with this audit are resolved on it (waived ones are not resolved);
        # every finding of this audit now has last_seen = as_of
        con.execute("CREATE TEMP TABLE IF NOT EXISTS waived_now (rule_id TEXT, deal_id TEXT, PRIMARY KEY (rule_id, deal_id))")
        con.execute("DELETE FROM temp.waived_now")
        con.executemany("INSERT OR IGNORE INTO temp.waived_now VALUES (?, ?)", carry.waived)
        con.execute(
            "UPDATE findings SET resolved_on = ? WHERE resolved_on IS NULL AND last_seen < ? "
            "AND NOT EXISTS (SELECT 1 FROM temp.waived_now w WHERE w.rule_id = findings.rule_id AND w.deal_id = findings.deal_id)",
            (as_of, as_of),
        )
    return audit_id


def _texts(rows: pd.DataFrame, key: str, missing: str | None = None) -> list[str | None]:
    """A column as text values (``missing`` for a missing value), converted column-wise."""
    if key not in rows.columns:
        return [missing] * len(rows)
    col = rows[key]
    values = col.astype(object).where(col.notna(), missing).tolist()
    return [v if v is missing or type(v) is str else str(v) for v in values]


def resolved_on(ledger: Ledger, as_of: dt.date) -> list[tuple[str, str]]:
    rows = ledger.con.execute("SELECT rule_id, deal_id FROM findings WHERE resolved_on = ? ORDER BY rule_id, deal_id", (as_of.isoformat(),))
    return [(r["rule_id"], r["deal_id"]) for r in rows]


def hit_history(report: AuditReport, ledger: Ledger) -> HitHistory:
    """Hits per manager per audit (earlier audits from the ledger + this one).

    An audit with the same as-of as ``report`` is replaced by ``report``.
    """
    audits = [a for a in ledger.audits() if a["as_of"] != report.as_of.isoformat()]
    dates = [dt.date.fromisoformat(a["as_of"]) for a in audits] + [report.as_of]
    index = {a["id"]: i for i, a in enumerate(audits)}
    hits: list[tuple[str, int, int]] = []  # (owner as spelled, audit index, hits)
    for r in ledger.con.execute("SELECT audit_id, owner, count(*) AS n FROM finding_audits GROUP BY audit_id, owner"):
        i = index.get(r["audit_id"])
        if i is not None:
            hits.append((r["owner"] or "", i, r["n"]))
    for res in report.results:
        if res.rows is None or not len(res.rows):
            continue
        for owner, n in Counter(_texts(res.rows, "owner", missing="")).items():
            hits.append((owner, len(dates) - 1, n))
    warned = [w["owner"] or "" for w in ledger.warnings()]
    # one manager however the name is spelled (case, spaces, «ё»), shown as spelled most often
    totals: dict[str, int] = {}
    for owner, _i, n in hits:
        totals[owner] = totals.get(owner, 0) + n
    for owner in warned:
        totals.setdefault(owner, 0)
    names = display_names(totals)
    by_owner: dict[str, list[int]] = {}
    for owner, i, n in hits:
        by_owner.setdefault(names[owner], [0] * len(dates))[i] += n
    warnings: dict[str, int] = {}
    for owner in warned:
        warnings[names[owner]] = warnings.get(names[owner], 0) + 1
    seen = {norm(o) for o in by_owner}
    never = sorted({str(o) for o in report.owners if o and norm(o) not in seen})
    return HitHistory(dates, by_owner, warnings, never)
