"""Carry the ledger over to a new audit: a pure function over what the ledger returns.

:func:`carry_inputs` reads the ledger once; :func:`carry_over` applies it to
the new report: accepted findings are removed (unless the deal's audited
fields changed or the waiver expired; :func:`apply_waivers`, which the audit
cycle runs first, before any output is started), statuses and comments of findings
still present are kept, a finding marked «Исправлено» that still fails in a
new export comes back as «Не обработано» with a note (on the same export files
it stays «Исправлено»: the fix came after the export), every row gets first
seen and audits in a row. It writes nothing: the waivers that ended are in
the result, for the cycle to record with the audit (so a dry run cannot end
one).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crm_audit.history.ledger import Ledger, Waiver
from crm_audit.report import (
    FINGERPRINT_BASE,
    FINGERPRINT_COLUMN,
    STATUS_FIXED,
    STATUS_NEW,
    STATUS_NOT_FIXED,
    AuditReport,
    RuleResult,
)
from crm_audit.report import column_texts as texts
from crm_audit.textnorm import strip


@dataclass
class CarryResult:
    waived: list[tuple[str, str]] = field(default_factory=list)  # (rule, deal) kept out of the audit
    lapsed: list[tuple[str, str, str]] = field(default_factory=list)  # rule, deal, why
    repeats: list[tuple[str, str]] = field(default_factory=list)  # marked «Исправлено», still failing in a new export
    ended_waivers: list[tuple[int, str]] = field(default_factory=list)  # (waiver id, reason) to end with this audit
    carried: int = 0


@dataclass
class WaiverPass:
    """What applying the head of sales' acceptances to a report did (:func:`apply_waivers`)."""

    waived: list[tuple[str, str]] = field(default_factory=list)  # (rule, deal) kept out of the audit
    lapsed: list[tuple[str, str, str]] = field(default_factory=list)  # rule, deal, why (the finding is back)
    ended_waivers: list[tuple[int, str]] = field(default_factory=list)  # (waiver id, reason) to end with this audit
    notes: dict[str, dict[str, str]] = field(default_factory=dict)  # rule -> deal -> «Примечание» of a lapsed waiver


@dataclass
class CarryInputs:
    """Everything carry-over needs from the ledger, read once."""

    as_of: dt.date
    prev: dict[str, pd.DataFrame]  # rule id -> (index deal id; streak, first_seen) of the previous audit
    earlier: dict[tuple[str, str], dt.date]  # first seen of findings back after a gap
    edits: dict[str, dict[str, Any]]
    audit_day: dict[int, str]
    exports: dict[int, str | None]
    ran_at: dict[int, str]  # audit id -> when it was recorded (ISO, seconds)
    waivers: dict[str, dict[str, Waiver]]
    warned: dict[str, dict[str, Any]]


def carry_inputs(ledger: Ledger, report: AuditReport) -> CarryInputs:
    """Read what carrying the ledger over to ``report`` needs (the previous audit's rows, edits, decisions)."""
    as_of = report.as_of
    prev = ledger.previous_audit(as_of)
    prev_rows = ledger.streaks_in(prev["id"]) if prev is not None else {}
    if prev is not None:
        prev_rows.update(_rows_where_rule_last_ran(ledger, report, prev))
    # findings not in the previous audit may have been seen before it (they keep their first-seen date)
    back = []
    if prev is not None and ledger.previous_audit(dt.date.fromisoformat(prev["as_of"])) is not None:
        for result in report.results:
            if result.rows is None or not len(result.rows):
                continue
            ids = pd.Series(texts(result.rows, "deal_id"), dtype=object)
            before = prev_rows.get(result.rule_id)
            new = ids[~ids.isin(before.index)] if before is not None else ids
            back.append(pd.DataFrame({"rule_id": result.rule_id, "deal_id": new.to_numpy(dtype=object)}))
    back_keys = pd.concat(back, ignore_index=True) if back else None
    audits = ledger.audits()
    return CarryInputs(
        as_of=as_of,
        prev=prev_rows,
        earlier=ledger.first_seen_earlier(back_keys, dt.date.fromisoformat(prev["as_of"])) if back_keys is not None else {},
        edits=_by_rule((k[0], k[1], e) for k, e in ledger.last_edits().items()),
        audit_day={a["id"]: a["as_of"] for a in audits},
        exports={a["id"]: a["fingerprints"] for a in audits},
        ran_at={a["id"]: a["ran_at"] for a in audits},
        waivers=waivers_by_rule(ledger, as_of),
        warned=_by_rule((w["rule_id"], w["deal_id"], w) for w in ledger.warnings()),  # the latest warning per finding
    )


def waivers_by_rule(ledger: Ledger, as_of: dt.date) -> dict[str, dict[str, Waiver]]:
    """The acceptances an audit on ``as_of`` applies, as {rule id: {deal id: waiver}}."""
    return _by_rule((w.rule_id, w.deal_id, w) for w in ledger.waivers_for(as_of))


def _rows_where_rule_last_ran(ledger: Ledger, report: AuditReport, prev) -> dict[str, pd.DataFrame]:
    """For each rule this audit runs that the previous audit did not (switched off, skipped for want of data): its
    rows (streak, first seen) in the last audit that ran it — a rule off for one audit neither ends nor restarts the
    audits in a row of its findings. An audit recorded before the ledger kept its rules counts as running every rule."""
    ran = ledger.rules_ran(prev["id"])
    if ran is None:
        return {}
    wanted = {r.rule_id for r in report.results if not r.skipped} - set(ran)
    out: dict[str, pd.DataFrame] = {}
    for audit in reversed([a for a in ledger.audits() if a["as_of"] < prev["as_of"]] if wanted else []):
        earlier = ledger.rules_ran(audit["id"])
        found = wanted if earlier is None else wanted & set(earlier)
        if found:
            rows = ledger.streaks_in(audit["id"])
            out.update({r: rows[r] for r in found if r in rows})
            wanted -= found
        if not wanted:
            break
    return out


def fingerprints(result: RuleResult) -> list[str]:
    """Per row, a hash of the deal's audited fields for this rule (not of the date).

    The engine computes it with the rule's query (``_fingerprint``); a report
    built another way is hashed here.
    """
    rows = result.rows
    if FINGERPRINT_COLUMN in rows.columns:
        return texts(rows, FINGERPRINT_COLUMN)
    keys = [k for k in FINGERPRINT_BASE if k in rows.columns] + [c.key for c in result.evidence if not c.volatile and c.key in rows.columns]
    columns = [[strip(v) for v in texts(rows, k, missing="")] for k in keys]  # blank is empty however written
    return [hashlib.sha256("\x1f".join(vals).encode("utf-8")).hexdigest()[:16] for vals in zip(*columns)] if columns else [""] * len(rows)


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


def _checked_since(edit: Any, inputs: CarryInputs) -> bool:
    """True when a recorded audit between the mark's audit and this one already re-checked a «Исправлено» mark.

    That audit ran after the mark was read, on another export than the one the mark was typed against: it
    already counted the mark (still failing: «Не обработано» with a note; gone: fixed). The mark belongs to that
    audit only, not to every later one — until the manager marks the row again (a new edit).
    """
    mark_audit = edit["audit_id"]
    mark_day = inputs.audit_day.get(mark_audit)
    if mark_day is None:
        return False
    this_day = inputs.as_of.isoformat()
    try:
        mark_export = json.loads(inputs.exports.get(mark_audit) or "{}")
    except ValueError:
        mark_export = {}
    return any(mark_day < day < this_day and inputs.ran_at.get(a, "") >= edit["read_at"]
               and not _same_export(inputs.exports.get(a), mark_export)
               for a, day in inputs.audit_day.items())


def _waiver_outcome(w: Waiver, fingerprint: str, as_of: dt.date) -> tuple[str | None, str | None, str | None]:
    """(reason the waiver ends, why for the terminal, «Примечание») — all None while it still applies."""
    if w.ended_reason == "expired" or (w.expires_on and as_of > dt.date.fromisoformat(w.expires_on)):
        return ("expired", f"принято {_fmt(w.decided_on)} до {_fmt(w.expires_on)}, срок истёк",
                f"Было принято руководителем {_fmt(w.decided_on)} до {_fmt(w.expires_on)}; срок истёк.")
    if w.ended_reason == "deal changed" or (w.fingerprint and w.fingerprint != fingerprint):
        return ("deal changed", f"принято {_fmt(w.decided_on)}, но сделка изменилась",
                f"Было принято руководителем {_fmt(w.decided_on)}, но поля сделки изменились — проверьте снова.")
    return None, None, None


def apply_waivers(report: AuditReport, waivers: dict[str, dict[str, Waiver]]) -> WaiverPass:
    """Change ``report``: drop the findings the head of sales accepted while their waiver applies. Writes nothing.

    A waiver applies until the deal's audited fields for the rule change (its fingerprint) or its ``--until`` day
    passes; a lapsed one leaves the finding in, with a «Примечание» in the result's ``notes``. The audit cycle runs
    this before any output (the violations CSV written early included) is started, so an accepted finding is in none.
    Only the rows of a deal with a waiver (a few, usually) are looked at one by one.
    """
    out = WaiverPass()
    for result in report.results:
        rows = result.rows
        w_rule = waivers.get(result.rule_id, {})
        if rows is None or not len(rows) or not w_rule:
            continue
        ids = texts(rows, "deal_id")
        keep = np.ones(len(rows), dtype=bool)
        fps: list[str] | None = None
        for i in _rows_in(pd.Series(ids, dtype=object), w_rule, keep):
            fps = fps if fps is not None else fingerprints(result)
            key, w = (result.rule_id, ids[i]), w_rule[ids[i]]
            reason, why, text = _waiver_outcome(w, fps[i], report.as_of)
            if reason is None:
                out.waived.append(key)
                keep[i] = False
                continue
            if w.ended_reason is None:  # still active in the ledger: the audit ends it when recorded
                out.ended_waivers.append((w.id, reason))
            out.lapsed.append((*key, why))
            out.notes.setdefault(result.rule_id, {})[ids[i]] = text
        if not keep.all():
            result.rows = rows[keep].reset_index(drop=True)
    return out


def carry_over(report: AuditReport, inputs: CarryInputs, waivers: WaiverPass | None = None) -> CarryResult:
    """Change ``report``: drop waived findings, add status/comment/first seen/streak/notes. Writes nothing.

    ``waivers``: what :func:`apply_waivers` already did to ``report`` (the audit cycle applies the acceptances
    before it starts any output); None applies ``inputs.waivers`` here.

    Set-based: streaks and first-seen dates are mapped onto each rule's deal
    ids column-wise; only the rows with a waiver or a manager's edit (a few,
    usually) are looked at one by one. Each row also gets ``_fingerprint``
    (see :func:`fingerprints`) for the ledger.
    """
    if waivers is None:
        waivers = apply_waivers(report, inputs.waivers)
    as_of = report.as_of
    this_export = report.input_fingerprints
    days: dict = {}
    out = CarryResult(waived=list(waivers.waived), lapsed=list(waivers.lapsed), ended_waivers=list(waivers.ended_waivers))
    for result in report.results:
        rows = result.rows
        if rows is None or not len(rows):
            continue
        rid = result.rule_id
        ids = texts(rows, "deal_id")  # a list: the loops below look rows up one by one (a Series lookup is ~10x slower)
        deal_ids = pd.Series(ids, dtype=object)
        fps = fingerprints(result)
        n = len(rows)
        every = np.ones(n, dtype=bool)  # the accepted rows are gone already (apply_waivers)
        status: list[str | None] = [STATUS_NEW] * n
        comment: list[str | None] = [None] * n
        note: list[str | None] = [None] * n
        lapsed = waivers.notes.get(rid, {})
        for i in _rows_in(deal_ids, lapsed, every):
            note[i] = lapsed[ids[i]]
        e_rule = inputs.edits.get(rid, {})
        for i in _rows_in(deal_ids, e_rule, every):
            key, e = (rid, ids[i]), e_rule[ids[i]]
            comment[i] = e["comment"]
            if e["status"] == STATUS_FIXED and _same_export(inputs.exports.get(e["audit_id"]), this_export):
                # the export predates the fix (the same files as the audit it was marked in): nothing to re-check yet
                status[i] = STATUS_FIXED
            elif e["status"] == STATUS_FIXED and _checked_since(e, inputs):
                pass  # counted (and noted) by the audit right after the mark: «Не обработано» since, as that audit wrote it
            elif e["status"] == STATUS_FIXED:
                day = inputs.audit_day.get(e["audit_id"]) or e["read_at"][:10]
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
        w_rule = inputs.warned.get(rid, {})
        for i in _rows_in(deal_ids, w_rule, every):
            # the head of sales' warning stays visible next to the row (the «Решение» cell is for this audit's decision)
            w = w_rule[ids[i]]
            text = f"Предупреждение руководителя от {_fmt(w['decided_on'])}" + (f": {w['note']}" if w["note"] else "") + "."
            note[i] = f"{note[i]} {text}" if note[i] else text
        # audits in a row and first seen, column-wise from the previous audit's rows
        before = inputs.prev.get(rid)
        if before is not None:
            matched = before.reindex(deal_ids)
            streak = (matched["streak"].fillna(0).astype("int64") + 1).tolist()
            first = pd.to_datetime(matched["first_seen"]).to_numpy(dtype="datetime64[D]")
        else:
            streak = [1] * n
            first = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        missing = np.isnat(first)
        if missing.any() and inputs.earlier:
            back = [inputs.earlier.get((rid, d)) for d in deal_ids[missing].tolist()]
            first[missing] = np.array([np.datetime64(b) if b is not None else np.datetime64("NaT") for b in back], dtype="datetime64[D]")
            missing = np.isnat(first)
        first[missing] = np.datetime64(as_of)
        uniq, codes = np.unique(first, return_inverse=True)  # a few distinct days: dates made once each
        objs = np.array([days.setdefault(u, u.astype(dt.date)) for u in uniq] + [None], dtype=object)[:-1]
        first_seen = objs[codes].tolist()
        rows = rows.assign(status=status, comment=comment, first_seen=first_seen, streak=streak, carry_note=note, **{FINGERPRINT_COLUMN: fps})
        result.rows = rows
    return out
