"""Apply the audit to the spreadsheet: read what is there, plan, write.

Requests
    A full publish is: one ``spreadsheets.get`` (metadata), one
    ``values.batchGet`` (what is in the sheets now), one
    ``spreadsheets.batchUpdate`` (sheets, order, grid sizes, formats,
    drop-downs, highlighting, filters, widths, protected ranges) and one
    ``values.batchUpdate`` (all values). A body larger than
    :data:`~exporters.gsheet.render.MAX_BODY_BYTES` is split into several
    requests. Values are padded with empty strings up to what the sheet held
    before, so rows of the previous audit never survive below the new ones.
    Re-publishing is idempotent: validations, conditional rules and this
    tool's protected ranges are deleted before they are added again.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils import get_column_letter

from crm_audit.documents.edits import HEADER_DEAL_ID, HEADER_RULE_ID
from crm_audit.errors import OutputError
from crm_audit.gcutil import gc_paused
from crm_audit.report import AuditReport
from exporters.gsheet import render as R
from exporters.gsheet.access import RetryPolicy, _Calls, _sid, _url, _with_retries
from exporters.gsheet.render import (
    _build_sheets,
    _check_limits,
    _format_requests,
    _grid,
    _quote_title,
    _row_cap,
    _Sheet,
    _size,
    _split_rows,
    _text,
)

_DEFAULT_SHEET_TITLES = {"sheet1", "лист1", "лист 1"}
_META_FIELDS = (
    "spreadsheetId,properties.title,"
    "sheets(properties,conditionalFormats,protectedRanges,basicFilter,charts.chartId)"
)


# --------------------------------------------------------------------------
# results


@dataclass
class SheetChange:
    """What a publish does (or would do) to one sheet."""

    title: str
    action: str  # "create" | "update" | "delete"
    added: int = 0
    updated: int = 0
    removed: int = 0
    rows: int = 0  # data rows after the publish

    def __str__(self) -> str:
        if self.action == "delete":
            return f"«{self.title}»: delete the sheet ({self.removed} rows)"
        verb = "create" if self.action == "create" else "update"
        return f"«{self.title}»: {verb}, {self.rows} rows (+{self.added} added, ~{self.updated} updated, -{self.removed} removed)"


@dataclass
class PublishResult:
    spreadsheet_id: str
    url: str
    dry_run: bool
    sheets: list[SheetChange] = field(default_factory=list)
    requests: int = 0  # API calls made by the successful attempt
    attempts: int = 1
    cells: int = 0  # cells in the spreadsheet after the publish
    row_cap: int | None = None  # rows shown per rule sheet when Google's cell limit cut the largest ones

    def summary(self) -> str:
        head = (
            f"Dry run: nothing written to {self.url}. Would change:"
            if self.dry_run
            else f"Published to {self.url} ({self.requests} API requests):"
        )
        lines = [head, *(f"  {c}" for c in self.sheets)]
        if self.row_cap is not None:
            lines.append(f"  The largest rule sheets show their first {self.row_cap} rows (Google allows {R.MAX_CELLS:,} cells "
                         "per spreadsheet); the violations CSV has every row.")
        return "\n".join(lines)


@dataclass
class _Existing:
    sheet_id: int
    title: str
    index: int
    rows: int  # grid size
    cols: int
    cond_rules: int
    protected: list[dict]
    has_filter: bool
    charts: list[int] = field(default_factory=list)
    values: list[list[Any]] = field(default_factory=list)  # used range (from values.batchGet)
    full: bool = False  # values hold the whole sheet (not only the header)


def _existing(meta: dict) -> list[_Existing]:
    out = []
    for s in meta.get("sheets", []):
        p = s.get("properties", {})
        grid = p.get("gridProperties", {})
        out.append(
            _Existing(
                sheet_id=int(p.get("sheetId", 0)),
                title=p.get("title", ""),
                index=int(p.get("index", 0)),
                rows=int(grid.get("rowCount", 0)),
                cols=int(grid.get("columnCount", 0)),
                cond_rules=len(s.get("conditionalFormats", []) or []),
                protected=list(s.get("protectedRanges", []) or []),
                has_filter="basicFilter" in s,
                charts=[int(c["chartId"]) for c in s.get("charts", []) or [] if "chartId" in c],
            )
        )
    out.sort(key=lambda e: e.index)
    return out


# --------------------------------------------------------------------------
# HTTP calls with retries


def _read_current(calls: _Calls, ours: set[str], existing: list[_Existing]) -> None:
    """Fill ``existing[*].values``: whole sheets for ours, the header row for the others."""
    if not existing:
        return
    ranges = []
    for e in existing:
        full = e.title.casefold() in ours or e.title.casefold() in _DEFAULT_SHEET_TITLES
        e.full = full
        ranges.append(_quote_title(e.title) if full else f"{_quote_title(e.title)}!1:1")
    params = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER", "majorDimension": "ROWS"}
    res = calls("read the spreadsheet", calls.spreadsheet.values_batch_get, ranges, params=params)
    for e, vr in zip(existing, res.get("valueRanges", [])):
        e.values = vr.get("values", []) or []


def _is_rule_sheet(values: list[list[Any]], deal_header: str) -> bool:
    header = [str(v).strip() for v in (values[0] if values else [])]
    return HEADER_RULE_ID in header and deal_header in header


def _sheet_id_for(title: str, taken: set[int]) -> int:
    sid = zlib.crc32(title.encode("utf-8")) & 0x3FFFFFFF
    while sid in taken or sid == 0:
        sid = (sid + 1) & 0x3FFFFFFF
    taken.add(sid)
    return sid


def _norm_cell(value: Any) -> str:
    return _text(value)


def _row_key(row: list[Any], c_rule: int | None, c_deal: int | None) -> tuple[str, str] | None:
    from crm_audit.documents.edits import normalise_id

    if c_deal is None or c_deal >= len(row) or _text(row[c_deal]).strip() == "":
        return None
    rule = _text(row[c_rule]).strip() if c_rule is not None and c_rule < len(row) else ""
    return rule, normalise_id(row[c_deal])


def _trim(row: Sequence[Any]) -> list[str]:
    out = [_norm_cell(v) for v in row]
    while out and out[-1] == "":
        out.pop()
    return out


def _diff(sheet: _Sheet, old: _Existing | None, deal_header: str) -> SheetChange:
    new_rows = [_trim(r) for r in sheet.rows[1:]]
    if sheet.kind == "rule":
        new_rows = new_rows[: sheet.data_rows]
    if old is None:
        return SheetChange(sheet.title, "create", added=len(new_rows), rows=len(new_rows))
    old_values = old.values
    if sheet.kind == "rule":
        header = sheet.header
        c_rule = header.index(HEADER_RULE_ID) if HEADER_RULE_ID in header else None
        c_deal = header.index(deal_header) if deal_header in header else None
        old_header = [_text(v).strip() for v in (old_values[0] if old_values else [])]
        o_rule = old_header.index(HEADER_RULE_ID) if HEADER_RULE_ID in old_header else None
        o_deal = old_header.index(deal_header) if deal_header in old_header else None
        new_by_key = {}
        for row in sheet.rows[1 : 1 + sheet.data_rows]:
            key = _row_key(row, c_rule, c_deal)
            if key:
                new_by_key[key] = _trim(row)
        old_by_key = {}
        for row in old_values[1:]:
            key = _row_key(row, o_rule, o_deal)
            if key:
                old_by_key[key] = _trim(row)
        added = sum(1 for k in new_by_key if k not in old_by_key)
        removed = sum(1 for k in old_by_key if k not in new_by_key)
        updated = sum(1 for k, v in new_by_key.items() if k in old_by_key and old_by_key[k] != v)
        return SheetChange(sheet.title, "update", added, updated, removed, rows=len(new_by_key))
    old_rows = [_trim(r) for r in old_values[1:]]
    common = min(len(old_rows), len(new_rows))
    updated = sum(1 for i in range(common) if old_rows[i] != new_rows[i])
    if old_values and _trim(old_values[0]) != _trim(sheet.rows[0] if sheet.rows else []):
        updated += 1
    return SheetChange(
        sheet.title,
        "update",
        added=max(0, len(new_rows) - len(old_rows)),
        updated=updated,
        removed=max(0, len(old_rows) - len(new_rows)),
        rows=len(new_rows),
    )


@dataclass
class _Plan:
    requests: list[dict]
    value_ranges: list[dict]
    changes: list[SheetChange]
    cells: int


def _used(values: list[list[Any]]) -> tuple[int, int]:
    return len(values), max((len(r) for r in values), default=0)


def _plan(sheets: list[_Sheet], existing: list[_Existing], sid: str, deal_header: str) -> _Plan:
    by_title = {e.title.casefold(): e for e in existing}
    ours = {s.title.casefold() for s in sheets}
    taken = {e.sheet_id for e in existing}
    requests: list[dict] = []
    values: list[dict] = []
    changes: list[SheetChange] = []
    ids: dict[str, int] = {}
    sizes: dict[str, tuple[int, int]] = {}

    # 1. sheets: add / rename / move / resize, ours first in the workbook's order
    for index, sheet in enumerate(sheets):
        old = by_title.get(sheet.title.casefold())
        used_rows, used_cols = _used(old.values) if old else (0, 0)
        need_rows = max(len(sheet.rows), sheet.extent, 1) + (0 if sheet.kind == "rule" else 20)
        need_cols = max(sheet.width, max(sheet.widths, default=-1) + 1, 1)
        rows, cols = max(need_rows, used_rows), max(need_cols, used_cols)
        sizes[sheet.title] = (rows, cols)
        grid = {"rowCount": rows, "columnCount": cols, "frozenRowCount": sheet.frozen_rows, "frozenColumnCount": sheet.frozen_cols}
        if old is None:
            sheet_id = _sheet_id_for(sheet.title, taken)
            requests.append(
                {"addSheet": {"properties": {"sheetId": sheet_id, "title": sheet.title, "index": index, "gridProperties": grid}}}
            )
        else:
            sheet_id = old.sheet_id
            props = {"sheetId": sheet_id, "title": sheet.title, "index": index, "gridProperties": grid}
            requests.append(
                {
                    "updateSheetProperties": {
                        "properties": props,
                        "fields": "title,index,gridProperties.rowCount,gridProperties.columnCount,"
                        "gridProperties.frozenRowCount,gridProperties.frozenColumnCount",
                    }
                }
            )
        ids[sheet.title] = sheet_id
        changes.append(_diff(sheet, old, deal_header))

    # 2. per sheet: clear what a previous publish set, then set it again
    for sheet in sheets:
        sheet_id = ids[sheet.title]
        old = by_title.get(sheet.title.casefold())
        rows, cols = sizes[sheet.title]
        if old is not None:
            for i in reversed(range(old.cond_rules)):
                requests.append({"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": i}})
            for pr in old.protected:
                if str(pr.get("description", "")).startswith(R.PROTECTION_TAG) and "protectedRangeId" in pr:
                    requests.append({"deleteProtectedRange": {"protectedRangeId": pr["protectedRangeId"]}})
            if old.has_filter:
                requests.append({"clearBasicFilter": {"sheetId": sheet_id}})
            for chart_id in old.charts:
                requests.append({"deleteEmbeddedObject": {"objectId": chart_id}})
            requests.append({"setDataValidation": {"range": _grid(sheet_id)}})
        requests.append({"repeatCell": {"range": _grid(sheet_id), "cell": {}, "fields": "userEnteredFormat"}})
        requests.extend(_format_requests(sheet, sheet_id, ids, rows))
        values.extend(_value_ranges(sheet, old, cols))

    # 3. sheets of a previous audit that are gone (a rule removed) and the blank default sheet
    for e in existing:
        if e.title.casefold() in ours:
            continue
        if _is_rule_sheet(e.values, deal_header) or (
            e.title.casefold() in _DEFAULT_SHEET_TITLES and e.full and not any(any(_text(v) for v in r) for r in e.values)
        ):
            requests.append({"deleteSheet": {"sheetId": e.sheet_id}})
            gone = max(0, len(e.values) - 1)
            if _is_rule_sheet(e.values, deal_header):
                changes.append(SheetChange(e.title, "delete", removed=gone))
            taken.discard(e.sheet_id)
        else:
            sizes[e.title] = (e.rows, e.cols)
    cells = sum(r * c for r, c in sizes.values())
    if cells > R.MAX_CELLS:
        raise OutputError(
            f"Google Sheets {sid}: the spreadsheet would have {cells:,} cells; Google allows at most "
            f"{R.MAX_CELLS:,} per spreadsheet. Publish fewer rules or clean up the export, or use the .xlsx workbook."
        )
    return _Plan(requests, values, changes, cells)


def _json_value(value: Any) -> Any:
    if value is None:
        return ""
    return value


def _value_ranges(sheet: _Sheet, old: _Existing | None, cols: int) -> list[dict]:
    """The sheet's values, padded with "" over what the sheet holds now."""
    used_rows, used_cols = _used(old.values) if old else (0, 0)
    width = max(sheet.width, used_cols, 1)
    height = max(len(sheet.rows), used_rows, 1)
    grid = [[_json_value(v) for v in row] + [""] * (width - len(row)) for row in sheet.rows]
    grid.extend([""] * width for _ in range(height - len(grid)))
    out = []
    for start, part in _split_rows(grid):
        rng = f"{_quote_title(sheet.title)}!A{start + 1}:{get_column_letter(width)}{start + len(part)}"
        out.append({"range": rng, "majorDimension": "ROWS", "values": part})
    return out


def _pack(items: list[dict], limit: int | None = None) -> list[list[dict]]:
    """Split ``items`` in order into groups whose JSON is at most ``limit`` bytes."""
    limit = limit or R.MAX_BODY_BYTES
    sizes = [_size(item) + 1 for item in items]  # each item serialized once
    if sum(sizes) <= limit - 200:
        return [items] if items else []
    groups: list[list[dict]] = []
    current: list[dict] = []
    size = 0
    for item, n in zip(items, sizes):
        if current and size + n > limit - 200:
            groups.append(current)
            current, size = [], 0
        current.append(item)
        size += n
    if current:
        groups.append(current)
    return groups


# --------------------------------------------------------------------------
# publish


def publish(
    report: AuditReport,
    spreadsheet: Any,
    *,
    dry_run: bool = False,
    deal_id_header: str | None = None,
    retry: RetryPolicy | None = None,
) -> PublishResult:
    """Write ``report`` into ``spreadsheet`` (a :class:`gspread.Spreadsheet`).

    With ``dry_run`` nothing is written: the result lists, per sheet, the rows
    that would be added, updated and removed (:meth:`PublishResult.summary`).
    Raises :class:`~crm_audit.errors.OutputError` when Google's limits would
    be exceeded, access is missing, or the retries run out.
    """
    sid = _sid(spreadsheet)
    deal_header = deal_id_header or HEADER_DEAL_ID
    with gc_paused():
        sheets = _build_sheets(report, deal_id_header)
    _check_limits(sheets, sid)
    ours = {s.title.casefold() for s in sheets}

    def body(calls: _Calls) -> PublishResult:
        meta = calls("read the spreadsheet", calls.spreadsheet.fetch_sheet_metadata, {"fields": _META_FIELDS})
        existing = _existing(meta)
        _read_current(calls, ours, existing)
        with gc_paused():
            plan = _plan(sheets, existing, sid, deal_header)
        result = PublishResult(sid, _url(spreadsheet), dry_run, plan.changes, cells=plan.cells, row_cap=_row_cap(report))
        if dry_run:
            result.requests = calls.count
            return result
        for group in _pack(plan.requests):
            calls("update the sheets' layout", calls.spreadsheet.batch_update, {"requests": group})
        for group in _pack(plan.value_ranges):
            calls(
                "write the values",
                calls.spreadsheet.values_batch_update,
                {"valueInputOption": "RAW", "data": group},
            )
        result.requests = calls.count
        return result

    result, _, attempts = _with_retries(spreadsheet, retry, "publish the audit", body)
    result.attempts = attempts
    return result
