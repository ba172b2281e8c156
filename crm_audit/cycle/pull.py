"""Read the latest audit's documents into the ledger (``crm-audit pull``, and ``review`` before it counts)."""

from __future__ import annotations

from pathlib import Path

import datetime as dt

from crm_audit.cycle.documents import Source, check_document, kind_of, location_of, reader_for, sources_to_read
from crm_audit.cycle.request import ReadBack
from crm_audit.cycle.superseded import file_state, remember_read, rows_to_store, superseded_sources
from crm_audit.errors import UsageError
from crm_audit.i18n import _
from crm_audit.history.ledger import Ledger
from crm_audit.history.pull import store_edits


def pull_hint() -> str:
    return _("Pass --from FILE|URL to read it from where it is now")


def pull_documents(ledger: Ledger, settings, rules, document: str | Path | None = None,
                   missing_hint: str | None = None) -> list[ReadBack]:
    """Read ``document`` (``--from``), or every document the ledger recorded for the latest audit (the team's last).

    A document given with ``--from`` is recorded for the audit it says it
    belongs to (an older audit's file never passes for the latest one); when
    it is the latest audit's and the recorded one is gone, the ledger follows
    it. Raises :class:`UsageError` when there is nothing to read, the team's
    document is gone, or the file belongs to another ledger.
    """
    credentials = str(settings.resolve(settings.google_credentials)) if settings.google_credentials else None
    latest = ledger.latest_audit()
    if document is not None:
        loc = location_of(document)
        facts = check_document(ledger, loc, "--from")
        audit = ledger.audit_on(dt.date.fromisoformat(facts.as_of)) if facts.as_of else latest
        audit = audit or latest
        if audit is not None and latest is not None and audit["id"] == latest["id"]:
            primary = next((d for d in ledger.documents(latest["id"]) if d.primary), None)
            if primary is not None and primary.location != loc and primary.kind == "xlsx" and not Path(primary.location).exists():
                ledger.move_document(latest["id"], primary.location, loc, kind_of(loc))  # the team moved it
        sources = [Source(loc, kind_of(loc), "previous", audit["id"] if audit else None, audit["as_of"] if audit else None)]
    else:
        sources, _notices = sources_to_read(ledger, out=None, gsheet=None, missing_hint=missing_hint or pull_hint())
        # older audits' documents typed into after they were last read: read first, a current document's edit wins
        sources = superseded_sources(ledger, {s.location for s in sources}) + sources
        if not sources and settings.output.xlsx and settings.resolve(settings.output.xlsx).exists():
            loc = location_of(settings.resolve(settings.output.xlsx))
            sources = [Source(loc, "xlsx", "out", latest["id"] if latest else None, latest["as_of"] if latest else None)]
        if not sources:
            raise UsageError(_("no audit document to read: the ledger has none recorded; pass --from FILE.xlsx"))
    by_code = {r.code: r.id for r in rules}
    out = []
    for src in sources:
        state, read_at = file_state(src.location) if src.kind == "xlsx" else None, dt.datetime.now()
        edits = reader_for(src.location, by_code, credentials, ledger=ledger).read_edits()
        out.append(ReadBack(src.location, src.kind, src.role, src.audit_as_of,
                            store_edits(ledger, rows_to_store(ledger, src, edits), src.location, src.audit_id, read_at,
                                        version=src.version, shown_file=src.shown_file)))
        remember_read(ledger, src.location, state, read_at)
    return out
