"""Read the managers' statuses, comments and decisions back from the Google Sheet."""

from __future__ import annotations

from typing import Any

from openpyxl.utils import get_column_letter

from crm_audit.documents.edits import (
    HEADER_COMMENT,
    HEADER_DEAL_ID,
    HEADER_DECISION,
    HEADER_DECISION_NOTE,
    HEADER_OWNER,
    HEADER_RULE_ID,
    HEADER_STATUS,
    EditedRow,
)
from exporters.gsheet.access import RetryPolicy, _Calls, _with_retries
from exporters.gsheet.render import _quote_title, _text


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
    from crm_audit.textnorm import norm

    if not values:
        return []
    header = values[0]
    idx = {norm(h): i for i, h in reversed(list(enumerate(header))) if isinstance(h, str) and h.strip()}

    def col(name: str) -> int | None:
        return idx.get(norm(name))

    c_rule, c_deal = col(HEADER_RULE_ID), col(deal_header)
    c_status, c_comment = col(HEADER_STATUS), col(HEADER_COMMENT)
    c_decision, c_note, c_owner = col(HEADER_DECISION), col(HEADER_DECISION_NOTE), col(HEADER_OWNER)
    if c_deal is None or c_status is None:
        return []  # FAQ, hit tracking, or a sheet somebody added

    def get(row: list[Any], c: int | None) -> Any:
        if c is None or c >= len(row):
            return None
        v = row[c]
        return None if v == "" else v

    rows = values[1:]
    # the sheet's rule id, for rows where a manager cleared «ID правила»
    ids = [_text(get(r, c_rule)).strip() for r in rows if get(r, c_deal) is not None]
    ids = [i for i in ids if i]
    sheet_rule = by_code.get(title.split(" ", 1)[0]) or (max(set(ids), key=ids.count) if ids else "")
    out = []
    for i, row in enumerate(rows, 2):
        deal = get(row, c_deal)
        if deal is None or not _text(deal).strip():
            continue
        rule = _text(get(row, c_rule)).strip() or sheet_rule
        if not rule:
            continue
        status = get(row, c_status)
        out.append(
            EditedRow.build(
                rule,
                deal,
                None if status is None else _text(status),
                None if get(row, c_comment) is None else _text(get(row, c_comment)),
                None if get(row, c_decision) is None else _text(get(row, c_decision)),
                None if get(row, c_note) is None else _text(get(row, c_note)),
                owner=None if get(row, c_owner) is None else _text(get(row, c_owner)),
                sheet=title,
                row=i,
                status_cell=f"{get_column_letter(c_status + 1)}{i}" if c_status is not None else "",
            )
        )
    return out


# --------------------------------------------------------------------------


def _sheet_properties(meta: dict) -> list[dict]:
    """The sheets' properties in the order of their tabs."""
    props = [s.get("properties", {}) for s in meta.get("sheets", [])]
    return sorted(props, key=lambda p: int(p.get("index", 0)))
