"""What changed since the last audit, per manager and for the team (pure: over keys the caller reads).

Counted per finding (rule, deal) between the previous audit and this one:

- new — flagged now, not in the previous audit;
- resolved — in the previous audit, gone now and not accepted (fixed in the CRM);
- still_open — in both;
- fixed_failing — marked «Исправлено» in the previous document, still failing in the new export;
- accepted — in the previous audit, kept out now because the head of sales accepted it;
- warned — the head of sales' warnings on the previous audit.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from crm_audit.report import ChangeCounts, Changes
from crm_audit.textnorm import display_names, norm

NO_OWNER = "(без ответственного)"


def compute_changes(previous: pd.DataFrame | None, current: pd.DataFrame, *, accepted: set[tuple[str, str]],
                    warned_owners: list[str | None], since: dt.date | None, as_of: dt.date) -> Changes:
    """``previous`` / ``current``: one row per finding with rule_id, deal_id, owner (``current`` also ``repeat``, 0/1)."""
    out = Changes(since, as_of)
    prev = previous if previous is not None else pd.DataFrame(columns=["rule_id", "deal_id", "owner"])
    keys = ["rule_id", "deal_id"]
    # empty frames come typed as floats: every key column as text, so the two sides always merge
    prev = prev.astype({"rule_id": object, "deal_id": object, "owner": object})
    current = current.astype({"rule_id": object, "deal_id": object, "owner": object})
    if "repeat" not in current.columns:
        current = current.assign(repeat=0)
    both = prev[keys + ["owner"]].merge(current[keys + ["owner", "repeat"]], on=keys, how="outer", suffixes=("_prev", ""),
                                        indicator=True)
    owner = both["owner"].where(both["owner"].notna(), both["owner_prev"]).fillna("").astype(str)
    gone = both["_merge"] == "left_only"
    acc = pd.Series([(r, d) in accepted for r, d in zip(both["rule_id"], both["deal_id"])], index=both.index, dtype=bool) \
        if accepted else pd.Series(False, index=both.index)
    kinds = {
        "new": both["_merge"] == "right_only",
        "still_open": both["_merge"] == "both",
        "resolved": gone & ~acc,
        "accepted": gone & acc,
        "fixed_failing": both["repeat"].fillna(0).astype(int) > 0,
    }
    names = display_names({**{o: 1 for o in owner.unique()}, **{o or "": 1 for o in warned_owners}})
    label = {o: names.get(o, o) or NO_OWNER for o in set(owner.unique()) | {o or "" for o in warned_owners}}
    by_key: dict[str, ChangeCounts] = {}

    def counts(o: str) -> ChangeCounts:
        k = norm(label[o])
        if k not in by_key:
            by_key[k] = ChangeCounts()
            out.by_manager[label[o]] = by_key[k]
        return by_key[k]

    for kind, mask in kinds.items():
        for o, n in owner[mask].value_counts().items():
            c = counts(o)
            setattr(c, kind, getattr(c, kind) + int(n))
    for o in warned_owners:
        counts(o or "").warned += 1
    for c in by_key.values():
        out.team.add(c)
    return out


def change_lines(ch: Changes) -> list[str]:
    """The terminal block: the team's numbers, then each manager with any change."""
    if ch.since is None:
        return []
    t = ch.team
    head = (f"Since the audit of {ch.since:%d.%m.%Y}: {t.new} new, {t.resolved} resolved, {t.still_open} still open, "
            f"{t.fixed_failing} marked «Исправлено» but still failing, {t.accepted} accepted, {t.warned} warned.")
    lines = [head]
    for name, c in sorted(ch.by_manager.items(), key=lambda kv: (-(kv[1].new + kv[1].still_open), kv[0])):
        lines.append(f"  {name[:28]:<28} +{c.new:<5} -{c.resolved:<5} ={c.still_open:<6} fixed-but-failing {c.fixed_failing:<4} "
                     f"accepted {c.accepted:<4} warned {c.warned}")
    return lines


def changes_for_report(ledger, report, carry) -> Changes:
    """What this audit (``report``, after carry-over) changes against the previous audit in the ledger."""
    prev = ledger.previous_audit(report.as_of)
    rows = [r.rows.assign(rule_id=r.rule_id)[["rule_id", "deal_id", "owner"]] for r in report.results if r.rows is not None and len(r.rows)]
    current = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame({"rule_id": [], "deal_id": [], "owner": []}, dtype=object)
    current["deal_id"] = current["deal_id"].astype(str)
    repeats = set(carry.repeats)
    current["repeat"] = [int((r, d) in repeats) for r, d in zip(current["rule_id"], current["deal_id"])] if repeats else 0
    if prev is None:
        return compute_changes(None, current, accepted=set(), warned_owners=[], since=None, as_of=report.as_of)
    accepted, warned = ledger.decided_on_audit(prev["id"])
    return compute_changes(ledger.audit_keys(prev["id"]), current, accepted=accepted | set(carry.waived), warned_owners=warned,
                           since=dt.date.fromisoformat(prev["as_of"]), as_of=report.as_of)


def changes_between_latest(ledger) -> Changes | None:
    """What the latest audit in the ledger changed against the one before it (for the review)."""
    audits = ledger.audits()
    if not audits:
        return None
    latest = audits[-1]
    prev = audits[-2] if len(audits) > 1 else None
    current = ledger.audit_keys(latest["id"])
    current["deal_id"] = current["deal_id"].astype(str)
    if prev is None:
        return compute_changes(None, current, accepted=set(), warned_owners=[], since=None,
                               as_of=dt.date.fromisoformat(latest["as_of"]))
    accepted, warned = ledger.decided_on_audit(prev["id"])
    return compute_changes(ledger.audit_keys(prev["id"]), current, accepted=accepted, warned_owners=warned,
                           since=dt.date.fromisoformat(prev["as_of"]), as_of=dt.date.fromisoformat(latest["as_of"]))
