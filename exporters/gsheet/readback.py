"""Read the managers' statuses, comments and decisions back from the Google Sheet."""

from __future__ import annotations

from typing import Any

from crm_audit.documents.edits import HEADER_DEAL_ID, EditedRow
from crm_audit.documents.sheet_rows import parse_rule_sheet
from exporters.gsheet.access import RetryPolicy, _Calls, _with_retries
from exporters.gsheet.render import _quote_title


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
    read (then nothing must be written).
    """
    deal_header = deal_id_header or HEADER_DEAL_ID
    by_code = dict(rule_ids_by_code or {})

    def body(calls: _Calls) -> list[EditedRow]:
        meta = calls("read the sheet list", calls.spreadsheet.fetch_sheet_metadata, {"fields": "sheets.properties"})
        titles = [p.get("title", "") for p in _sheet_properties(meta)]
        ranges = [_quote_title(t) for t in titles]
        if not ranges:
            return []
        params = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"}
        res = calls("read the spreadsheet", calls.spreadsheet.values_batch_get, ranges, params=params)
        out: list[EditedRow] = []
        for title, vr in zip(titles, res.get("valueRanges", [])):
            values = vr.get("values", []) or []
            out.extend(_edits_of_sheet(title, values, deal_header, by_code))
        return out

    result, _, _ = _with_retries(spreadsheet, retry, "read the managers' edits", body)
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


def _edits_of_sheet(title: str, values: list[list[Any]], deal_header: str, by_code: dict[str, str]) -> list[EditedRow]:
    # the one rule-sheet parser, shared with the xlsx reader
    return parse_rule_sheet(title, values, by_code, deal_id_header=deal_header)


# --------------------------------------------------------------------------


def _sheet_properties(meta: dict) -> list[dict]:
    """The sheets' properties in the order of their tabs."""
    props = [s.get("properties", {}) for s in meta.get("sheets", [])]
    return sorted(props, key=lambda p: int(p.get("index", 0)))
