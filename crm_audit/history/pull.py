"""Read what people wrote in an audit document into the ledger.

The document layer reads the rows (:class:`~crm_audit.documents.edits.EditsReader`);
this module stores them: statuses and comments as edits, «Принято» and
«Предупреждение» as the head of sales' decisions, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from crm_audit.documents.edits import DECISION_ACCEPTED, DECISION_WARNING, EditedRow
from crm_audit.history.ledger import Ledger
from crm_audit.report import STATUS_NEW, DataWarning


@dataclass
class PullResult:
    """What one document held and what of it reached the ledger."""

    source: str
    edits: list[EditedRow] = field(default_factory=list)
    stored: int = 0  # rows new or changed since the document was written / last read
    accepted: int = 0
    warned: int = 0

    @property
    def problems(self) -> list[EditedRow]:
        return [e for e in self.edits if e.problems]

    @property
    def worked(self) -> int:
        """Rows someone worked on: a status other than «Не обработано», or a comment."""
        return sum(1 for e in self.edits if (e.status_raw and e.status != STATUS_NEW) or e.comment)

    @property
    def decisions(self) -> int:
        return self.accepted + self.warned

    def warnings(self) -> list[DataWarning]:
        out = []
        for e in self.problems:
            for p in e.problems:
                who = f" (manager: {e.owner})" if e.owner else ""
                cell = getattr(p, "cell", None) or e.status_cell  # the cell the problem is in
                out.append(DataWarning("document-edit", f"{e.sheet}!{cell}: deal {e.deal_id}: {p}{who}; kept as written",
                                       self.source, e.row, None))
        return out


def store_edits(ledger: Ledger, edits: list[EditedRow], source: str, audit_id: int | None = None,
                when: dt.datetime | None = None) -> PullResult:
    """Store a document's rows as edits of audit ``audit_id`` (default: the latest); decisions become ledger decisions."""
    res = PullResult(source, edits)
    audit = None
    if audit_id is not None:
        audit = next((a for a in ledger.audits() if a["id"] == audit_id), None)
    if audit is None:
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


def pull(ledger: Ledger, reader, source: str, when: dt.datetime | None = None, audit_id: int | None = None) -> PullResult:
    """Read a document (any :class:`EditsReader`) and store what it holds (see :func:`store_edits`)."""
    return store_edits(ledger, reader.read_edits(), source, audit_id, when)
