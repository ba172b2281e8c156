"""Read the latest audit's documents into the ledger (``crm-audit pull``, and ``review`` before it counts)."""

from __future__ import annotations

from pathlib import Path

from crm_audit.cycle.documents import Source, kind_of, location_of, reader_for, sources_to_read
from crm_audit.cycle.request import ReadBack
from crm_audit.errors import UsageError
from crm_audit.history.ledger import Ledger
from crm_audit.history.pull import store_edits


def pull_documents(ledger: Ledger, settings, rules, document: str | Path | None = None) -> list[ReadBack]:
    """Read ``document`` (``--from``), or every document the ledger recorded for the latest audit (the team's last).

    Raises :class:`UsageError` when there is nothing to read or the team's document is gone.
    """
    credentials = str(settings.resolve(settings.google_credentials)) if settings.google_credentials else None
    latest = ledger.latest_audit()
    if document is not None:
        loc = location_of(document)
        if kind_of(loc) == "xlsx" and not Path(loc).exists():
            raise UsageError(f"{document}: no such file; pass the audit document's path (--from FILE.xlsx)")
        sources = [Source(loc, kind_of(loc), "previous", latest["id"] if latest else None, latest["as_of"] if latest else None)]
    else:
        sources, _ = sources_to_read(ledger, out=None, gsheet=None, missing_hint="Pass --from FILE|URL to read it from where it is now")
        if not sources and settings.output.xlsx and settings.resolve(settings.output.xlsx).exists():
            loc = location_of(settings.resolve(settings.output.xlsx))
            sources = [Source(loc, "xlsx", "out", latest["id"] if latest else None, latest["as_of"] if latest else None)]
        if not sources:
            raise UsageError("no audit document to read: the ledger has none recorded; pass --from FILE.xlsx")
    by_code = {r.code: r.id for r in rules}
    out = []
    for src in sources:
        edits = reader_for(src.location, by_code, credentials).read_edits()
        out.append(ReadBack(src.location, src.kind, src.role, src.audit_as_of, store_edits(ledger, edits, src.location, src.audit_id)))
    return out
