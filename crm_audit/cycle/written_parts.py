"""Record the parts of the workbook a run wrote, as they are on disk, for the next read-back (issue 17).

Called after the workbook is in place (renamed over the old one), so the
digests are those of the bytes at the path, never of a file that may not
have got there. Before the write the ledger forgets what it knew about the
path: a run stopped in between leaves nothing recorded, and the next read
parses every sheet. See :mod:`crm_audit.documents.written` for which rule
sheets are recorded as readable from the findings file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from crm_audit.history.ledger import Ledger

__all__ = ["forget_written", "record_written"]


def forget_written(ledger: Ledger, location: str) -> None:
    """Before a document is written to ``location``: nothing recorded about it is trusted any more."""
    ledger.forget_document_parts(location)


def record_written(ledger: Ledger, location: str, path: Path, report, findings_file: str | None) -> int:
    """Record the parts of the workbook at ``path`` (``location`` in the ledger) and its rule sheets whose rows are
    their rule's rows of ``findings_file``; returns how many rule sheets (0: nothing recorded)."""
    if findings_file is None:
        return 0
    from crm_audit.documents.build import sheet_titles
    from crm_audit.documents.written import sheets_as_recorded
    from exporters.xlsx import MAX_SHEET_ROWS
    from exporters.xlsx_package import package_parts
    from pyarrow import ArrowException

    shown = ledger.shown_rows(findings_file)
    package = package_parts(path)
    if shown is None or package is None:
        return 0
    try:
        by_title = sheets_as_recorded(report.results, sheet_titles(report.results), shown, row_cap=MAX_SHEET_ROWS - 1)
    except (ArrowException, ValueError, TypeError, KeyError):  # rows of a shape not foreseen: the next read parses
        return 0
    part_of = dict(package.worksheets)
    sheets = {part_of[t]: dataclasses.replace(s, part=part_of[t]) for t, s in by_title.items() if t in part_of}
    if not sheets:
        return 0
    ledger.record_document_parts(location, findings_file, package.parts, sheets)
    return len(sheets)
