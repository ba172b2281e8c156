"""Read the managers' statuses, comments and decisions back from the Google Sheet.

:func:`sheet_edits` is the one place a rule sheet's rows are parsed; the
publish uses it too, to see what changed while it ran.
"""

from __future__ import annotations

from typing import Any

from crm_audit.documents.edits import HEADER_DEAL_ID, EditedRow
from crm_audit.documents.sheet_rows import parse_rule_sheet
from crm_audit.i18n import _
from exporters.gsheet.access import RetryPolicy, _Calls, _with_retries
from exporters.gsheet.render import JOURNAL_TITLE, _quote_title


def read_edits(
    spreadsheet: Any,
    *,
    deal_id_header: str | None = None,
    rule_ids_by_code: dict[str, str] | None = None,
    retry: RetryPolicy | None = None,
) -> list[EditedRow]:
    """Statuses, comments and decisions of every rule sheet, one :class:`EditedRow` per data row.

    Like :class:`exporters.xlsx_readback.WorkbookReader`: a rule sheet is a sheet
    with «ID сделки» and «Статус» headers; columns are found by header
    (case, spaces and ё ignored), never by position; a data row is a row with
    a value in the deal id column; when «ID правила» is empty or deleted, the
    code in the sheet title gives the rule (``rule_ids_by_code``). Two
    requests: the sheet list and one ``values.batchGet``. Raises
    :class:`~crm_audit.errors.OutputError` when the spreadsheet cannot be
    read (then nothing must be written). The rows kept in the journal sheet
    of a publish that was interrupted count where the rule sheets lack them.
    """
    deal_header = deal_id_header or HEADER_DEAL_ID
    by_code = dict(rule_ids_by_code or {})

    def body(calls: _Calls) -> list[EditedRow]:
        meta = calls(_("read the sheet list"), calls.spreadsheet.fetch_sheet_metadata, {"fields": "sheets.properties"})
        titles = [p.get("title", "") for p in _sheet_properties(meta)]
        ranges = [_quote_title(t) for t in titles]
        if not ranges:
            return []
        params = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"}
        res = calls(_("read the spreadsheet"), calls.spreadsheet.values_batch_get, ranges, params=params)
        out: list[EditedRow] = []
        journal: list[EditedRow] = []
        for title, vr in zip(titles, res.get("valueRanges", [])):
            values = vr.get("values", []) or []
            rows = sheet_edits(title, values, deal_header, by_code)
            (journal if title == JOURNAL_TITLE else out).extend(rows)
        # rows an interrupted publish had not written back yet (see exporters.gsheet.publish)
        present = {(e.rule_id, e.deal_id) for e in out}
        return out + [e for e in journal if (e.rule_id, e.deal_id) not in present]

    result, _calls = _with_retries(spreadsheet, retry, _("read the managers' edits"), body)
    return result


class GoogleSheetReader:
    """:class:`~crm_audit.documents.edits.EditsReader` for a published Google Sheet."""

    def __init__(self, spreadsheet: Any, rule_ids_by_code: dict[str, str] | None = None, *,
                 deal_id_header: str | None = None, retry: RetryPolicy | None = None):
        self.spreadsheet = spreadsheet
        self.rule_ids_by_code = rule_ids_by_code or {}
        self.deal_id_header = deal_id_header
        self.retry = retry

    def read_edits(self) -> list[EditedRow]:
        return read_edits(self.spreadsheet, deal_id_header=self.deal_id_header,
                          rule_ids_by_code=self.rule_ids_by_code, retry=self.retry)


def sheet_edits(title: str, values: list[list[Any]], deal_header: str, by_code: dict[str, str]) -> list[EditedRow]:
    """The edited rows of one sheet's values (no rows: not a rule sheet)."""
    # the one rule-sheet parser, shared with the xlsx reader
    return parse_rule_sheet(title, values, by_code, deal_id_header=deal_header)


# --------------------------------------------------------------------------


def _sheet_properties(meta: dict) -> list[dict]:
    """The sheets' properties in the order of their tabs."""
    props = [s.get("properties", {}) for s in meta.get("sheets", [])]
    return sorted(props, key=lambda p: int(p.get("index", 0)))
