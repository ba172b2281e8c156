"""The hit history for «Учет попаданий»: hits per manager per audit, from the ledger plus this audit."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from crm_audit.history.ledger import Ledger
from crm_audit.report import AuditReport, HitHistory, column_texts
from crm_audit.textnorm import display_names, norm


def hit_history(report: AuditReport, ledger: Ledger) -> HitHistory:
    """Hits per manager per audit (earlier audits from the ledger + this one).

    An audit with the same as-of as ``report`` is replaced by ``report``.
    """
    return build_hit_history(report, ledger.audits(), ledger.hits(), [w["owner"] for w in ledger.warnings()])


def build_hit_history(report: AuditReport, audits, hits_rows, warned_owners: list[str | None]) -> HitHistory:
    """Pure: ``audits`` and ``hits_rows`` (audit_id, owner, rule_id, n) as the ledger returns them."""
    audits = [a for a in audits if a["as_of"] != report.as_of.isoformat()]
    dates = [dt.date.fromisoformat(a["as_of"]) for a in audits] + [report.as_of]
    index = {a["id"]: i for i, a in enumerate(audits)}
    hits: list[tuple[str, int, int]] = []  # (owner as spelled, audit index, hits)
    for r in hits_rows:
        i = index.get(r["audit_id"])
        if i is not None:
            hits.append((r["owner"] or "", i, r["n"]))
    for res in report.results:
        if res.rows is None or not len(res.rows):
            continue
        for owner, n in Counter(column_texts(res.rows, "owner", missing="")).items():
            hits.append((owner, len(dates) - 1, n))
    warned = [o or "" for o in warned_owners]
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
