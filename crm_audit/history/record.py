"""Record an audit in the ledger: the report's rows as ledger findings, in one transaction."""

from __future__ import annotations

from crm_audit.history.carry import CarryResult
from crm_audit.history.ledger import Ledger
from crm_audit.report import FINGERPRINT_COLUMN, AuditReport, column_texts


def record(report: AuditReport, ledger: Ledger, carry: CarryResult, documents: list[tuple[str, str]] = (),
           write_id: int | None = None) -> int:
    """Store the audit, its findings, the resolved ones and the waivers that ended; returns the audit id.

    ``documents``: (location, kind) of what this run wrote, the team's document
    first. Idempotent per as-of: re-running an audit replaces its findings.
    """
    repeats = set(carry.repeats)

    def findings():
        for result in sorted(report.results, key=lambda r: r.rule_id):
            if result.rows is None or not len(result.rows):
                continue
            rid = result.rule_id
            rows = result.rows
            # key order: the primary-key B-tree is appended to instead of split at random
            ids = rows["deal_id"] if str(rows["deal_id"].dtype) == "str" else rows["deal_id"].astype(str)
            rows = rows.assign(deal_id=ids).sort_values("deal_id", kind="stable")
            deal_ids = column_texts(rows, "deal_id")
            streaks = rows["streak"].fillna(1).astype(int).tolist() if "streak" in rows.columns else [1] * len(rows)
            flags = [int((rid, d) in repeats) for d in deal_ids] if repeats else [0] * len(deal_ids)
            yield rid, zip(deal_ids, *(column_texts(rows, k) for k in ("owner", "title")), streaks,
                           *(column_texts(rows, k) for k in ("status", "comment", "carry_note", FINGERPRINT_COLUMN)), flags)

    return ledger.record_audit(
        as_of=report.as_of, source=report.source, input_fingerprints=report.input_fingerprints, deal_count=report.deal_count,
        violation_count=report.total, documents=list(documents), findings=findings(),
        waived=carry.waived, ended_waivers=carry.ended_waivers, write_id=write_id)
