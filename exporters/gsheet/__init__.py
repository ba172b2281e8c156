"""Publish the audit to a Google Sheet and read managers' edits back from it.

Split by job:

* :mod:`exporters.gsheet.access` -- credentials, opening the spreadsheet, the
  retry / quota policy, what went wrong and what to do (:func:`check_access`);
* :mod:`exporters.gsheet.render` -- the document model
  (:mod:`crm_audit.documents.model`, the workbook's too) as values and
  Sheets requests (formats, links, drop-downs, highlights, protection);
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
from crm_audit.documents.layout import EDITABLE_HEADERS
from exporters.gsheet.render import (
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
