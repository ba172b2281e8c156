"""Which documents to read back before a run writes anything, and how to open each.

The previous audit's document is the one the ledger recorded for the latest
audit (wherever ``--out`` points today); a test re-run's copy of the same
audit is read too, and so is the ``--out`` target when it already exists.
A team's document that is gone stops the run (exit 2) with its name and the
two ways on: ``--previous FILE|URL`` or ``--no-previous``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from crm_audit.cycle.request import Notice
from crm_audit.errors import UsageError
from crm_audit.i18n import _
from crm_audit.history.ledger import Ledger

_GOOGLE_KEY = re.compile(r"[A-Za-z0-9_-]{30,}")


def is_google(location: str) -> bool:
    text = str(location)
    return "docs.google.com/spreadsheets" in text or (_GOOGLE_KEY.fullmatch(text) is not None and not Path(text).exists())


def location_of(document: str | Path) -> str:
    """How the ledger stores a document: a Google URL/key as given, a file as an absolute path."""
    text = str(document)
    return text if is_google(text) else str(Path(text).expanduser().resolve())


def kind_of(location: str) -> str:
    return "gsheet" if is_google(location) else "xlsx"


def _day(iso: str | None) -> str:
    return dt.date.fromisoformat(iso).strftime("%d.%m.%Y") if iso else ""


@dataclass
class Source:
    """A document to read back."""

    location: str
    kind: str
    role: str  # previous (the team's document of the latest audit) | copy | replaced | out | gsheet | unfinished
    audit_id: int | None = None
    audit_as_of: str | None = None
    version: str | None = None  # 'write:<id>': written by a run that never recorded its audit
    shown_file: str | None = None  # what such a document showed when written (its findings file)


@dataclass
class DocumentFacts:
    """What an .xlsx document says about itself (its custom properties; empty for a Google Sheet or an old file)."""

    as_of: str | None = None
    ledger_id: str | None = None


def facts_of(location: str) -> DocumentFacts:
    if is_google(location):
        return DocumentFacts()
    from crm_audit.documents.layout import PROPERTY_AS_OF, PROPERTY_LEDGER
    from exporters.xlsx_properties import document_properties

    props = document_properties(location)
    return DocumentFacts(props.get(PROPERTY_AS_OF) or None, props.get(PROPERTY_LEDGER) or None)


def check_document(ledger: Ledger, location: str, what: str, expected_as_of: str | None = None) -> DocumentFacts:
    """A document the user points to (``--previous``, ``pull --from``): it must exist and belong to this ledger
    (and to the audit ``expected_as_of`` when given); raises :class:`UsageError` otherwise."""
    if not is_google(location):
        p = Path(location)
        if not p.exists():
            raise UsageError(_("{what} {location}: no such file").format(what=what, location=location))
        if p.suffix.lower() not in (".xlsx", ".xlsm"):
            raise UsageError(_("{what} {location}: an audit document is an .xlsx workbook or a Google Sheet URL")
                             .format(what=what, location=location))
    facts = facts_of(location)
    if facts.ledger_id and ledger.ledger_id and facts.ledger_id != ledger.ledger_id:
        raise UsageError(_("{what} {location}: this document was written with another audit history (ledger), not with "
                           "{ledger}; pass this team's document").format(what=what, location=location, ledger=ledger.path))
    if expected_as_of and facts.as_of and facts.as_of != expected_as_of:
        raise UsageError(_("{what} {location}: this is the document of the audit of {date}, not of the previous audit ({previous}); "
                           "pass that audit's document, or --no-previous to start without it")
                         .format(what=what, location=location, date=_day(facts.as_of), previous=_day(expected_as_of)))
    return facts


def run_hint() -> str:
    return _("Pass --previous FILE|URL to read it from where it is now, or --no-previous to start without it")


def sources_to_read(ledger: Ledger, *, out: Path | None, gsheet: str | None, previous: str | None = None,
                    no_previous: bool = False, missing_hint: str | None = None,
                    replaced_id: int | None = None) -> tuple[list[Source], list[Notice]]:
    """The documents to read, in the order to read them (the team's document last: its rows win), and notices.

    Raises :class:`UsageError` (exit 2) when the team's document is gone and
    neither ``--previous`` nor ``--no-previous`` was given.
    """
    notices: list[Notice] = []
    missing_hint = missing_hint or run_hint()
    latest = ledger.latest_audit()
    sources: list[Source] = []
    team: list[Source] = []  # the latest audit's documents: copies first, the team's document last
    if latest is not None and not no_previous:
        docs = ledger.documents(latest["id"])
        for d in docs:
            src = Source(d.location, d.kind, "previous" if d.primary else "copy", latest["id"], latest["as_of"])
            if d.primary and previous:
                moved = location_of(previous)
                check_document(ledger, moved, "--previous", latest["as_of"])
                notices.append(Notice("previous-moved", _("the audit of {date} was written to {old}; read from {new} (--previous) "
                                                          "and the ledger now points there")
                                      .format(date=_day(latest["as_of"]), old=d.location, new=moved)))
                ledger.move_document(latest["id"], d.location, moved, kind_of(moved))
                src = Source(moved, kind_of(moved), "previous", latest["id"], latest["as_of"])
            if src.kind == "xlsx" and not Path(src.location).exists():
                if src.role == "previous":
                    raise UsageError(
                        _("the previous audit's document {location} (audit of {date}) is not there — moved, renamed or deleted? "
                          "Its statuses, comments and decisions would be lost. {hint}")
                        .format(location=src.location, date=_day(latest["as_of"]), hint=missing_hint))
                notices.append(Notice("copy-missing", _("{location}: a copy written for the audit of {date} is no longer there; "
                                                        "skipped (the team's document is read)")
                                      .format(location=src.location, date=_day(latest["as_of"]))))
                continue
            team.append(src)
        if previous and not docs:
            moved = location_of(previous)
            check_document(ledger, moved, "--previous", latest["as_of"])
            team.append(Source(moved, kind_of(moved), "previous", latest["id"], latest["as_of"]))
    elif latest is None and previous:
        moved = location_of(previous)
        check_document(ledger, moved, "--previous")
        team.append(Source(moved, kind_of(moved), "previous"))
    elif no_previous and latest is not None:
        primary = next((d.location for d in ledger.documents(latest["id"]) if d.primary), None)
        notices.append(Notice("no-previous", (_("started without the previous audit's document {location} (--no-previous): what "
                                                "was typed there after it was last read is not carried over") if primary else
                                              _("started without the previous audit's document (--no-previous): what was typed "
                                                "there after it was last read is not carried over")).format(location=primary)))
    known = {s.location for s in team}
    if replaced_id is not None and (latest is None or replaced_id != latest["id"]):
        # re-running an older audit: what was written in its documents is read first too
        for d in ledger.documents(replaced_id):
            if d.location in known or (d.kind == "xlsx" and not Path(d.location).exists()):
                continue
            sources.append(Source(d.location, d.kind, "replaced", replaced_id, d.as_of))
            known.add(d.location)
    newest: list[Source] = []  # documents written by runs that never recorded their audit: read last, their rows win
    for w in ledger.unfinished_writes():
        path = Path(w.location)
        if not path.exists() or path.stat().st_mtime < dt.datetime.fromisoformat(w.started_at).timestamp() - 1:
            continue  # the run stopped before the document was replaced: nothing to reconcile
        notices.append(Notice("unfinished-write", _("{location} was written by a run of {started} (audit as of {date}) that "
                                                    "stopped before recording the audit; it is read back now and this run "
                                                    "records the audit")
                              .format(location=w.location, started=w.started_at.replace("T", " "), date=_day(w.as_of))))
        team = [s for s in team if s.location != w.location]  # the file holds the unfinished run's document now
        sources = [s for s in sources if s.location != w.location]
        newest.append(Source(w.location, "xlsx", "unfinished", latest["id"] if latest is not None else None,
                             latest["as_of"] if latest is not None else None, f"write:{w.id}", w.findings_file))
        known.add(w.location)
    if out is not None and out.exists():
        loc = location_of(out)
        if loc not in known:
            sources.append(_attributed(ledger, Source(loc, "xlsx", "out"), notices))
            known.add(loc)
    if gsheet:
        loc = location_of(gsheet)
        if loc not in known:
            sources.append(Source(loc, "gsheet", "gsheet"))
    team.sort(key=lambda s: s.role == "previous")  # the team's document last: its rows win
    return sources + team + newest, notices


def _attributed(ledger: Ledger, src: Source, notices: list[Notice]) -> Source:
    """A document found at a path: recorded for the audit it says it belongs to (an older audit's file stays older)."""
    facts = facts_of(src.location)
    if facts.ledger_id and ledger.ledger_id and facts.ledger_id != ledger.ledger_id:
        notices.append(Notice("foreign-document", _("{location} was written with another audit history (ledger); its statuses "
                                                    "and comments are read, then it is replaced").format(location=src.location)))
        return src
    if facts.as_of:
        audit = ledger.audit_on(dt.date.fromisoformat(facts.as_of))
        if audit is not None:
            src.audit_id, src.audit_as_of = audit["id"], audit["as_of"]
    return src


def reader_for(location: str, rule_ids_by_code: dict[str, str], credentials: str | None = None, *, client=None, retry=None,
               spreadsheet=None, ledger: Ledger | None = None):
    """The reader of an existing document (``spreadsheet``: an already opened Google Sheet; ``ledger``: the .xlsx
    sheets it recorded as written are read from it, not parsed)."""
    if is_google(location):
        from exporters.gsheet import GoogleSheetReader, open_spreadsheet

        sheet = spreadsheet if spreadsheet is not None else open_spreadsheet(location, credentials, client=client, retry=retry)
        return GoogleSheetReader(sheet, rule_ids_by_code, retry=retry)
    from exporters.xlsx_readback import WorkbookReader

    return WorkbookReader(Path(location), rule_ids_by_code, ledger.written_document(location) if ledger is not None else None)
