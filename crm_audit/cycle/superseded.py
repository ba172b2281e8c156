"""An older audit's document edited after a newer audit was written: read too, never lost silently.

Teams often keep a new dated file per audit (``audit-2026-11-20.xlsx``,
``audit-2026-12-04.xlsx`` …). ``run`` reads back the previous audit's
document — the one the ledger recorded — and a manager who kept the older file
open and typed into it afterwards would lose that work silently. So every
earlier document the ledger recorded, still there and changed since the ledger
last read it (size and modification time, then the SHA-256 the ledger stored
at that read), is read too, before the team's document:

- only its rows changed since the ledger last read it are taken (a row as it
  was is no news; a decision the head left standing there is not taken again);
- its edits are the edits of its own (older) audit: where a newer audit's
  document has an edit of its own, that one wins (the ledger orders edits by
  the audit's date); elsewhere the edit is carried into the new document;
- the run says which file, how many rows, and how many lost to a newer edit.

A file the ledger never recorded a read of (a ledger from before this) counts
as changed when it was modified after the next audit ran (that run read it as
its previous audit's document). A deleted or unchanged older file says nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from crm_audit.cycle.documents import Source, facts_of
from crm_audit.cycle.request import Notice, ReadBack
from crm_audit.history.ledger import Ledger
from crm_audit.i18n import ngettext

ROLE = "superseded"


@dataclass(frozen=True)
class FileState:
    """A document file as it is now."""

    size: int
    mtime_ns: int


def file_state(location: str) -> FileState | None:
    """Size and modification time of a document file (None: not a file there)."""
    try:
        st = Path(location).stat()
    except OSError:
        return None
    return FileState(st.st_size, st.st_mtime_ns)


def file_digest(location: str) -> str:
    h = hashlib.sha256()
    with open(location, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def changed_since_read(ledger: Ledger, location: str, next_ran_at: str | None) -> bool:
    """True when the file at ``location`` differs from what the ledger last read (see the module docstring)."""
    state = file_state(location)
    if state is None:
        return False
    read = ledger.document_read(location)
    if read is None:
        if next_ran_at is None:
            return False
        return state.mtime_ns / 1e9 > dt.datetime.fromisoformat(next_ran_at).timestamp() + 1
    if (read["size"], read["mtime_ns"]) == (state.size, state.mtime_ns):
        return False
    return file_digest(location) != read["digest"]  # saved again unchanged, or copied: no news


def superseded_sources(ledger: Ledger, known: set[str]) -> list[Source]:
    """The older audits' documents to read (oldest first): still there, changed since last read, and still that
    audit's document of this ledger (a file now holding another audit's or another ledger's document is left alone)."""
    out = []
    for doc, next_ran_at in ledger.superseded_documents():
        if doc.location in known or not changed_since_read(ledger, doc.location, next_ran_at):
            continue
        try:
            facts = facts_of(doc.location)
        except Exception:  # noqa: BLE001 — not a readable workbook any more: nothing of it can be read back
            continue
        if (facts.ledger_id and ledger.ledger_id and facts.ledger_id != ledger.ledger_id) or (
                facts.as_of and facts.as_of != doc.as_of):
            continue
        out.append(Source(doc.location, "xlsx", ROLE, doc.audit_id, doc.as_of))
        known.add(doc.location)
    return out


def rows_to_store(ledger: Ledger, src: Source, edits: list) -> list:
    """What of a document's rows to store: everything for the current documents; for an older audit's document only
    the rows changed since the ledger last read it (so a decision standing there is not taken again after the head
    withdrew it in a newer document)."""
    if src.role != ROLE:
        return edits
    return ledger.new_edits([e for e in edits if e.deal_id], src.audit_id)


def remember_read(ledger: Ledger, location: str, state: FileState | None, when: dt.datetime) -> None:
    """Record the file as it was when this read started (a save during the read shows as a change next time)."""
    if state is not None:
        ledger.record_document_read(location, state.size, state.mtime_ns, file_digest(location), when)


def superseded_notice(ledger: Ledger, rb: ReadBack, audit_id: int | None, read_at: dt.datetime,
                      newest_as_of: str | None) -> Notice | None:
    """What to tell about an older audit's document that held new edits (None when it held none)."""
    n = rb.result.stored
    if rb.role != ROLE or not n or audit_id is None:
        return None
    lost = ledger.overridden_edits(audit_id, rb.location, read_at)
    date = dt.date.fromisoformat(rb.audit_as_of).strftime("%d.%m.%Y") if rb.audit_as_of else ""
    newer = dt.date.fromisoformat(newest_as_of).strftime("%d.%m.%Y") if newest_as_of else ""
    text = ngettext("{location} (the document of the audit of {date}; the latest audit is of {newer}) was edited after it "
                    "was last read: {n} row read into the history",
                    "{location} (the document of the audit of {date}; the latest audit is of {newer}) was edited after it "
                    "was last read: {n} rows read into the history", n).format(location=rb.name, date=date, newer=newer, n=n)
    if lost:
        text += "; " + ngettext(
            "{k} of them not taken: a newer audit's document has its own edit for that finding (it wins)",
            "{k} of them not taken: a newer audit's document has its own edit for those findings (it wins)", lost
        ).format(k=lost)
    return Notice("superseded-edited", text)
