"""Publish the audit to a Google Sheet and read managers' edits back from it.

Split by job:

* :mod:`exporters.gsheet.access` -- credentials, opening the spreadsheet, the
  retry / quota policy, what went wrong and what to do (:func:`check_access`);
* :mod:`exporters.gsheet.render` -- an :class:`~crm_audit.report.AuditReport`
  as sheets (values, links, formats) and Sheets requests;
* :mod:`exporters.gsheet.publish` -- applying that to the spreadsheet
  (:func:`publish`);
* :mod:`exporters.gsheet.readback` -- reading the managers' edits back
  (:class:`GoogleSheetReader`).

Values are written ``valueInputOption=RAW`` only: a text starting with
``= + - @`` stays a text, nothing is ever guessed as a date or a number, and
no cell is ever a formula.
"""

from __future__ import annotations

from exporters.gsheet.access import (
    AccessCheck,
    RetryPolicy,
    check_access,
    open_spreadsheet,
    service_account_email,
    spreadsheet_key,
)
from exporters.gsheet.publish import PublishResult, SheetChange, publish
from exporters.gsheet.readback import GoogleSheetReader, read_edits
from exporters.gsheet.render import (
    EDITABLE_HEADERS,
    MAX_BODY_BYTES,
    MAX_CELL_CHARS,
    MAX_CELLS,
)

__all__ = [
    "EDITABLE_HEADERS",
    "MAX_BODY_BYTES",
    "MAX_CELL_CHARS",
    "MAX_CELLS",
    "AccessCheck",
    "GoogleSheetReader",
    "PublishResult",
    "RetryPolicy",
    "SheetChange",
    "check_access",
    "open_spreadsheet",
    "publish",
    "read_edits",
    "service_account_email",
    "spreadsheet_key",
]
