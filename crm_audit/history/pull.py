"""Read what people wrote in an audit document into the ledger.

The document layer reads the rows (:class:`~crm_audit.documents.edits.EditsReader`);
this module stores them: statuses and comments as edits, «Принято» and
«Предупреждение» as the head of sales' decisions (a cleared «Решение» takes
the document's decision back), all in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from crm_audit.errors import Msg
from crm_audit.documents.edits import DECISION_ACCEPTED, DECISION_WARNING, EditedRow
from crm_audit.i18n import N_
from crm_audit.history.ledger import Ledger
from crm_audit.report import STATUS_NEW, DataWarning


@dataclass
class PullResult:
    """What one document held and what of it reached the ledger."""

    source: str
    edits: list[EditedRow] = field(default_factory=list)  # every row read (after :meth:`compact`: see there)
    stored: int = 0  # rows new or changed since the document was written / last read
    accepted: int = 0
    warned: int = 0
    withdrawn: int = 0  # document decisions the head cleared
    unknown: list[EditedRow] = field(default_factory=list)  # worked-on rows of deals the audit did not have
    #: worked-on rows whose status or comment differs from what the tool wrote into the document (people's edits; a
    #: status the tool carried into the document is not one)
    changed: int = 0

    rows_read: int | None = None  # rows the document held, once :meth:`compact` dropped the untouched ones

    def compact(self) -> "PullResult":
        """Keep only the rows someone worked on or that have a problem (what :attr:`worked`, :attr:`problems`
        and :meth:`warnings` look at): a million-row document's untouched rows are not held for the rest of a run."""
        if self.rows_read is None:
            self.rows_read = len(self.edits)
        self.edits = [e for e in self.edits if e.problems or _worked(e)]
        return self

    @property
    def problems(self) -> list[EditedRow]:
        return [e for e in self.edits if e.problems]

    @property
    def worked(self) -> int:
        """Rows someone worked on: a status other than «Не обработано», or a comment."""
        return sum(1 for e in self.edits if _worked(e))

    @property
    def decisions(self) -> int:
        return self.accepted + self.warned

    def warnings(self) -> list[DataWarning]:
        out = []
        for e in self.problems:
            for p in e.problems:
                # one msgid per shape, the problem's own msgid inside: the terminal in the CLI's language, the FAQ in Russian
                cell = getattr(p, "cell", None) or e.status_cell  # the cell the problem is in
                code = getattr(p, "code", "")
                problem = Msg(p.template, p.params) if getattr(p, "template", None) else str(p)
                template = {"unknown-decision": N_("{cell}: {what}{problem}{who}; ignored — the head of sales writes «Принято» or "
                                                   "«Предупреждение»"),
                            "no-deal-id": N_("{cell}: {what}{problem}{who}")}.get(code, N_("{cell}: {what}{problem}{who}; kept as written"))
                out.append(DataWarning("document-edit", "", self.source, e.row, None, template=template, params={
                    "cell": sheet_cell(e, cell), "problem": problem,
                    "what": Msg(N_("deal {deal}: "), {"deal": e.deal_id}) if e.deal_id else "",
                    "who": Msg(N_(" (manager: {owner})"), {"owner": e.owner}) if e.owner else ""}))
        for e in self.unknown:
            out.append(DataWarning("document-edit", "", self.source, e.row, None,
                                   template=N_("{cell}: deal {deal} is not in that audit's findings "
                                               "(a row added by hand?): its status and comment are kept in the history but "
                                               "the next document shows the deal only if a rule flags it"),
                                   params={"cell": sheet_cell(e, e.status_cell), "deal": e.deal_id}))
        return out


def sheet_cell(e: EditedRow, cell: str):
    """The cell a warning is about: «1.8 Нет источника!J3» in Russian (the sheet as its tab says), «1.8 source-missing,
    cell J3» in English (a line names a rule by code and id, :func:`crm_audit.report.rule_name`)."""
    from crm_audit.errors import ByLanguage

    code = e.sheet.split(" ", 1)[0] if e.sheet[:1].isdigit() else ""
    if e.rule_id:
        en = f"{code} {e.rule_id}".strip() + (f", cell {cell}" if cell else "")
    elif code:  # a row without its ids: the sheet by its code (the tab starts with it)
        en = f"sheet {code}" + (f", cell {cell}" if cell else "")
    else:
        en = f"{e.sheet}!{cell}"
    return ByLanguage({"en": en, "ru": f"{e.sheet}!{cell}"})


def _worked(e: EditedRow) -> bool:
    return bool(e.deal_id and ((e.status_raw and e.status != STATUS_NEW) or e.comment))


def _changed_by_people(ledger: Ledger, worked: list[EditedRow], audit_id: int | None, shown_file: str | None) -> int:
    """How many of the ``worked`` rows differ from what the document showed when the tool wrote it (the findings file
    is read only when some row was worked on)."""
    if not worked:
        return 0
    shown = ledger.shown_in(audit_id, shown_file, new=STATUS_NEW) if audit_id is not None or shown_file else {}
    return sum(1 for e in worked if shown.get((e.rule_id, e.deal_id)) != (e.status or e.status_raw or STATUS_NEW, e.comment or None))


def store_edits(ledger: Ledger, edits: list[EditedRow], source: str, audit_id: int | None = None,
                when: dt.datetime | None = None, *, version: str | None = None, shown_file: str | None = None) -> PullResult:
    """Store a document's rows as edits of audit ``audit_id`` (default: the latest); decisions become ledger decisions.

    ``version`` / ``shown_file``: the document was written by a run that never
    recorded its audit (see :meth:`Ledger.record_edits`).
    """
    res = PullResult(source, edits)
    audit = None
    if audit_id is not None:
        audit = next((a for a in ledger.audits() if a["id"] == audit_id), None)
    if audit is None:
        audit = ledger.latest_audit()
    audit_id = audit["id"] if audit else None
    audit_day = dt.date.fromisoformat(audit["as_of"]) if audit else dt.date.today()
    rows = [e for e in edits if e.deal_id]  # a row without a deal id is only reported
    res.changed = _changed_by_people(ledger, [e for e in rows if _worked(e)], audit_id, shown_file)
    with ledger.transaction():
        res.stored = ledger.record_edits(rows, audit_id, source, when, version=version, shown_file=shown_file, unknown=res.unknown)
        accepted = [e for e in rows if e.decision == DECISION_ACCEPTED]
        fingerprints = ledger.fingerprints_in(audit_id, [(e.rule_id, e.deal_id) for e in accepted]) if audit_id else {}
        for e in rows:
            if e.decision == DECISION_ACCEPTED:
                ledger.decide(e.rule_id, e.deal_id, "accepted", e.decision_note or e.comment, owner=e.owner, audit_id=audit_id,
                              source="document", fingerprint=fingerprints.get((e.rule_id, e.deal_id)), on=audit_day)
                res.accepted += 1
            elif e.decision == DECISION_WARNING:
                ledger.decide(e.rule_id, e.deal_id, "warning", e.decision_note or e.comment, owner=e.owner, audit_id=audit_id,
                              source="document", on=audit_day)
                res.warned += 1
        if audit_id is not None and version is None:  # the audit's own document: a cleared «Решение» takes its decision back
            res.withdrawn = ledger.withdraw_document_decisions(
                audit_id, ((e.rule_id, e.deal_id) for e in rows if e.decision_raw is None), audit_day)
    return res


def pull(ledger: Ledger, reader, source: str, when: dt.datetime | None = None, audit_id: int | None = None) -> PullResult:
    """Read a document (any :class:`EditsReader`) and store what it holds (see :func:`store_edits`)."""
    return store_edits(ledger, reader.read_edits(), source, audit_id, when)
