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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils import get_column_letter

from crm_audit.documents.edits import (
    HEADER_COMMENT,
    HEADER_DEAL_ID,
    HEADER_DECISION,
    HEADER_DECISION_NOTE,
    HEADER_RULE_ID,
    HEADER_STATUS,
    EditedRow,
)
from crm_audit.errors import OutputError
from crm_audit.gcutil import gc_paused
from crm_audit.i18n import _, ngettext
from crm_audit.report import STATUSES, AuditReport
from exporters.gsheet import render as R
from exporters.gsheet.access import (
    RetryPolicy,
    _Calls,
    _gave_up,
    _Retryable,
    _sid,
    _url,
    default_policy,
    format_minutes,
)
from exporters.gsheet.readback import sheet_edits
from exporters.gsheet.render import (
    JOURNAL_HEADER,
    JOURNAL_TITLE,
    RenderedSheet,
    _grid,
    _quote_title,
    _size,
    _split_rows,
    _text,
    build_sheets,
    check_titles,
    format_requests,
    row_cap,
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
            return _("«{title}»: delete the sheet ({n} rows)").format(title=self.title, n=self.removed)
        text = (_("«{title}»: create, {rows} rows (+{added} added, ~{updated} updated, -{removed} removed)") if self.action == "create"
                else _("«{title}»: update, {rows} rows (+{added} added, ~{updated} updated, -{removed} removed)"))
        return text.format(title=self.title, rows=self.rows, added=self.added, updated=self.updated, removed=self.removed)


@dataclass
class PublishResult:
    spreadsheet_id: str
    url: str
    dry_run: bool
    sheets: list[SheetChange] = field(default_factory=list)
    requests: int = 0  # API requests sent, retries included
    attempts: int = 1  # 1 + the requests that had to be sent again
    cells: int = 0  # cells in the spreadsheet after the publish
    row_cap: int | None = None  # rows shown per rule sheet when Google's cell limit cut the largest ones
    #: cells managers changed after the read-back, kept in what was written; the cycle records them
    late_edits: list[EditedRow] = field(default_factory=list)
    writes: int = 0  # write requests the publish needed
    estimate: float = 0.0  # seconds of quota waiting foreseen before the first write
    waited: float = 0.0  # seconds spent waiting (quota pacing, retries)

    def summary(self) -> str:
        head = (
            _("Dry run: nothing written to {url}. Would change:").format(url=self.url)
            if self.dry_run
            else _("Published to {url} ({n} API requests):").format(url=self.url, n=self.requests)
        )
        lines = [head, *(f"  {c}" for c in self.sheets)]
        if self.row_cap is not None:
            lines.append("  " + _("The largest rule sheets show their first {n} rows (Google allows {cells} cells per spreadsheet); "
                                  "the violations CSV has every row.").format(n=self.row_cap, cells=f"{R.MAX_CELLS:,}"))
        if self.late_edits:
            lines.append("  " + _("{n} row(s) edited in the sheet while the audit ran were kept as edited.").format(n=len(self.late_edits)))
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
        full = e.title.casefold() in ours or e.title.casefold() in _DEFAULT_SHEET_TITLES or e.title == JOURNAL_TITLE
        e.full = full
        ranges.append(_quote_title(e.title) if full else f"{_quote_title(e.title)}!1:1")
    params = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER", "majorDimension": "ROWS"}
    res = calls(_("read the spreadsheet"), calls.spreadsheet.values_batch_get, ranges, params=params)
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


def _diff(sheet: RenderedSheet, old: _Existing | None, deal_header: str) -> SheetChange:
    if old is None:  # a new sheet: every row is added
        added = max(0, len(sheet.rows) - 1)
        if sheet.kind == "rule":
            added = min(added, sheet.data_rows)
        return SheetChange(sheet.title, "create", added=added, rows=added)
    new_rows = [_trim(r) for r in sheet.rows[1:]]
    if sheet.kind == "rule":
        new_rows = new_rows[: sheet.data_rows]
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


def _plan(sheets: list[RenderedSheet], existing: list[_Existing], sid: str, deal_header: str) -> _Plan:
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
        requests.extend(format_requests(sheet, sheet_id, ids, rows))
        values.extend(_value_ranges(sheet, old, cols))

    # 3. sheets of a previous audit that are gone (a rule removed) and the blank default sheet
    for e in existing:
        if e.title.casefold() in ours:
            continue
        if e.title == JOURNAL_TITLE:  # removed only after every value is written (see publish)
            sizes[e.title] = (e.rows, e.cols)
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
            _("Google Sheets {sid}: the spreadsheet would have {cells:,} cells; Google allows at most "
              "{limit:,} per spreadsheet. Publish fewer rules or clean up the export, or use the .xlsx workbook.")
            .format(sid=sid, cells=cells, limit=R.MAX_CELLS)
        )
    return _Plan(requests, values, changes, cells)


def _value_ranges(sheet: RenderedSheet, old: _Existing | None, cols: int) -> list[dict]:
    """The sheet's values, padded with "" over what the sheet holds now."""
    used_rows, used_cols = _used(old.values) if old else (0, 0)
    width = max(sheet.width, used_cols, 1)
    height = max(len(sheet.rows), used_rows, 1)
    grid = [["" if v is None else v for v in row] + [""] * (width - len(row)) for row in sheet.rows]
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


# --------------------------------------------------------------------------
# edits saved while the publish runs


#: The cells managers and the head of sales write in, as (header, EditedRow field).
_EDITABLE_FIELDS = (
    (HEADER_STATUS, "status_raw"),
    (HEADER_COMMENT, "comment"),
    (HEADER_DECISION, "decision_raw"),
    (HEADER_DECISION_NOTE, "decision_note"),
)
#: Re-read the managers' columns before a value write when this long has passed since the last look.
REREAD_AFTER = 5.0

Key = tuple[str, str]


def _fields(e: EditedRow) -> tuple:
    return tuple(getattr(e, name) for _, name in _EDITABLE_FIELDS)


def _by_key(edits: list[EditedRow]) -> dict[Key, EditedRow]:
    return {(e.rule_id, e.deal_id): e for e in edits}


def _unquote_title(text: str) -> str:
    return text[1:-1].replace("''", "'") if text.startswith("'") and text.endswith("'") else text


class _Merge:
    """Keeps what managers save during the publish in what the publish writes.

    ``expected`` is what the sheet is known to hold per (rule, deal): the
    read-back's values (``seen``), then what this publish wrote. A re-read
    that differs from it is a late edit: the manager's value goes into the
    rows still to be written and into :attr:`late`.
    """

    def __init__(self, sheets: list[RenderedSheet], value_ranges: list[dict], baseline: list[EditedRow],
                 deal_header: str, by_code: dict[str, str]):
        self.deal_header, self.by_code = deal_header, by_code
        self.expected: dict[Key, tuple] = {}
        self.expect(baseline)
        self.late: dict[Key, EditedRow] = {}
        self.written: set[tuple[str, int]] = set()  # (sheet title, 0-based row) already written
        rows: dict[tuple[str, int], list] = {}  # the value rows still to send, by place
        for vr in value_ranges:
            title, start = vr["range"].rsplit("!", 1)
            first = int(start.split(":", 1)[0].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) - 1
            for i, row in enumerate(vr["values"]):
                rows[(_unquote_title(title), first + i)] = row
        self.rows = rows
        self.place: dict[Key, tuple[str, int]] = {}  # where each finding is written
        self.cols: dict[str, dict[str, int]] = {}  # sheet -> field -> column
        for sheet in sheets:
            header = sheet.header
            self.cols[sheet.title] = {name: header.index(h) for h, name in _EDITABLE_FIELDS if h in header}
            grid = [["" if v is None else v for v in row] for row in sheet.rows[: 1 + sheet.data_rows]]
            for e in sheet_edits(sheet.title, grid, deal_header, by_code):
                self.place.setdefault((e.rule_id, e.deal_id), (sheet.title, e.row - 1))

    def expect(self, baseline: list[EditedRow]) -> None:
        """What the sheet held when it was read back (the reference a late edit differs from)."""
        self.expected.update((k, _fields(e)) for k, e in _by_key(baseline).items())

    def _cell(self, place: tuple[str, int], name: str) -> Any:
        c = self.cols.get(place[0], {}).get(name)
        row = self.rows.get(place)
        return None if c is None or row is None or c >= len(row) else (row[c] if row[c] != "" else None)

    def ours(self, key: Key) -> tuple:
        place = self.place[key]
        return tuple(self._cell(place, name) for _, name in _EDITABLE_FIELDS)

    def see(self, current: list[EditedRow]) -> int:
        """Compare a fresh read with what is expected; returns how many rows changed since."""
        copies: dict[Key, list[EditedRow]] = {}
        for e in current:
            copies.setdefault((e.rule_id, e.deal_id), []).append(e)
        changed = 0
        for key, found in copies.items():
            base = self.expected.get(key)
            if base is None:
                continue  # a row the read-back did not see: nothing to compare with
            place = self.place.get(key)
            if place in self.written:  # compare the copy this publish wrote
                found = [e for e in found if (e.sheet, e.row - 1) == place]
            else:  # an old copy (the new place may hold another finding until it is written)
                found = [e for e in found if (e.sheet, e.row - 1) not in self.written]
            if not found:
                continue
            now = _fields(found[0])
            if now == base:
                continue
            changed += 1
            self.late[key] = found[0]
            self.expected[key] = now
            if place is not None and place not in self.written:
                row = self.rows[place]
                for (_, name), old, new in zip(_EDITABLE_FIELDS, base, now):
                    c = self.cols[place[0]].get(name)
                    if old != new and c is not None and c < len(row):
                        row[c] = "" if new is None else new
        return changed

    def wrote(self, group: list[dict]) -> None:
        for vr in group:
            title, start = vr["range"].rsplit("!", 1)
            first = int(start.split(":", 1)[0].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) - 1
            for i in range(len(vr["values"])):
                self.written.add((_unquote_title(title), first + i))
        for key, place in self.place.items():
            if place in self.written:
                self.expected[key] = self.ours(key)

    def journal(self) -> list[list[Any]]:
        """Header + one row per finding that carries a manager's value (what a killed publish must not lose)."""
        out: list[list[Any]] = [list(JOURNAL_HEADER)]
        for (rule, deal), place in sorted(self.place.items()):
            values = self.ours((rule, deal))
            if values[0] == STATUSES[0]:  # «Не обработано» is what a new row says: nothing to keep
                values = (None, *values[1:])
            if any(v is not None for v in values):
                out.append([rule, deal, *("" if v is None else v for v in values)])
        return out


def _current_edits(calls: _Calls, titles: list[str], deal_header: str, by_code: dict[str, str]) -> list[EditedRow]:
    if not titles:
        return []
    params = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"}
    res = calls(_("re-read the managers' columns"), calls.spreadsheet.values_batch_get,
                [_quote_title(t) for t in titles], params=params)
    out: list[EditedRow] = []
    for title, vr in zip(titles, res.get("valueRanges", [])):
        out.extend(sheet_edits(title, vr.get("values", []) or [], deal_header, by_code))
    return out


# --------------------------------------------------------------------------
# publish


def publish(
    report: AuditReport,
    spreadsheet: Any,
    *,
    seen: list[EditedRow] | None = None,
    dry_run: bool = False,
    retry: RetryPolicy | None = None,
    progress: Callable[[str], None] | None = None,
    deal_id_header: str | None = None,
) -> PublishResult:
    """Write ``report`` into ``spreadsheet`` (a :class:`gspread.Spreadsheet`).

    ``seen`` is what the read-back returned (:meth:`GoogleSheetReader.read_edits`);
    just before the values are written the managers' columns are read again,
    and a cell changed since is written as the manager left it and returned in
    :attr:`PublishResult.late_edits` (without ``seen``, the publish's own
    first read is the reference).

    Writes are paced under Google's per-minute quota; ``progress`` gets a line
    up front with the time it takes, and lines while it waits
    ("… ~N min left"). A request that fails is sent again, not the whole
    publish. When the values take several requests, the managers' values are
    first kept in a hidden journal sheet (removed at the end), so a publish
    killed half-way loses nothing: the next run reads them back and completes it.

    With ``dry_run`` nothing is written: the result lists, per sheet, the rows
    that would be added, updated and removed (:meth:`PublishResult.summary`).
    Raises :class:`~crm_audit.errors.OutputError` when Google's limits would
    be exceeded, access is missing, or the retries run out.
    """
    sid = _sid(spreadsheet)
    deal_header = deal_id_header or HEADER_DEAL_ID
    policy = retry or default_policy()
    say = progress or (lambda _text: None)
    with gc_paused():
        sheets = build_sheets(report, deal_id_header)
    check_titles(sheets, sid)
    ours = {s.title.casefold() for s in sheets}
    rule_sheets = [s for s in sheets if s.kind == "rule"]
    by_code = {s.title.split(" ", 1)[0]: r.rule_id for s, r in zip(rule_sheets, report.results)}
    calls = _Calls(spreadsheet, policy, progress=progress)

    # 1. read what is there, plan, lay the sheets out; a layout request whose
    #    answer was lost may have been applied: re-read and re-plan (idempotent)
    failures = 0
    while True:
        meta = calls(_("read the spreadsheet"), spreadsheet.fetch_sheet_metadata, {"fields": _META_FIELDS})
        existing = _existing(meta)
        _read_current(calls, ours, existing)
        with gc_paused():
            plan = _plan(sheets, existing, sid, deal_header)
        result = PublishResult(sid, _url(spreadsheet), dry_run, plan.changes, cells=plan.cells, row_cap=row_cap(report))
        if dry_run:
            result.requests = calls.count
            return result
        old_journal = next((e for e in existing if e.title == JOURNAL_TITLE), None)
        layout = _pack(plan.requests)
        values = _pack(plan.value_ranges)
        use_journal = len(values) > 1
        journal_id = old_journal.sheet_id if old_journal else _sheet_id_for(JOURNAL_TITLE, {e.sheet_id for e in existing})
        if use_journal and old_journal is None:
            layout.append([{"addSheet": {"properties": {"sheetId": journal_id, "title": JOURNAL_TITLE, "hidden": True,
                                                        "gridProperties": {"rowCount": 2, "columnCount": len(JOURNAL_HEADER)}}}}])
        merge = _Merge(rule_sheets, plan.value_ranges, [], deal_header, by_code)
        journal = {"id": journal_id, "rows": old_journal.rows if old_journal else 2,
                   "used": len(old_journal.values) if old_journal else 0}
        steps = (len(layout) + len(values) + (_journal_requests(merge.journal(), journal) if use_journal else 0)
                 + (1 if use_journal or old_journal else 0))
        if failures == 0:
            result.writes, result.estimate = steps, policy.estimate(steps)
            say(ngettext("Google Sheets: {n} write request; Google allows {per_minute} per minute, this takes {time}.",
                         "Google Sheets: {n} write request(s); Google allows {per_minute} per minute, this takes {time}.", steps)
                .format(n=steps, per_minute=policy.writes_per_minute, time=format_minutes(result.estimate)))
        done = 0
        calls.remaining = lambda: policy.estimate(steps - done)
        try:
            for group in layout:
                calls.status = _("step {i}/{n}").format(i=done + 1, n=steps)
                calls.write(_("update the sheets' layout"), spreadsheet.batch_update, {"requests": group}, repeatable=False)
                done += 1
            break
        except _Retryable as exc:
            failures += 1
            if failures >= max(1, policy.attempts):
                raise _gave_up(sid, _("publish the audit"), failures, str(exc)) from None
            calls.retries += 1
            calls._sleep(policy.delay(failures, exc.retry_after), "the layout request may not have been applied")

    # 2. the values, with what managers saved meanwhile merged in
    baseline = seen
    present = [s.title for s in rule_sheets if any(e.title == s.title for e in existing)]
    if baseline is None:
        baseline = []
        for e in existing:
            if e.title in present:
                baseline.extend(sheet_edits(e.title, e.values, deal_header, by_code))
    merge.expect(baseline)
    looked = policy.clock()

    def look() -> None:
        nonlocal looked
        merge.see(_current_edits(calls, present, deal_header, by_code))
        looked = policy.clock()

    look()
    if use_journal:
        done += _write_journal(calls, spreadsheet, merge.journal(), journal)
    journaled = len(merge.late)
    for group in values:
        if policy.clock() - looked > REREAD_AFTER:
            look()
            if use_journal and len(merge.late) != journaled:
                _write_journal(calls, spreadsheet, merge.journal(), journal)
                journaled = len(merge.late)
        calls.status = _("step {i}/{n}").format(i=done + 1, n=steps)
        calls.write(_("write the values"), spreadsheet.values_batch_update, {"valueInputOption": "RAW", "data": group})
        merge.wrote(group)
        done += 1
        if done < steps:
            say(_("Google Sheets: {done}/{n} write requests, {left} left")
                .format(done=done, n=steps, left=format_minutes(policy.estimate(steps - done))))

    # 3. every value is in place: the journal is not needed any more
    if use_journal or old_journal is not None:
        _drop_journal(calls, spreadsheet, journal_id)
    result.late_edits = list(merge.late.values())
    result.requests = calls.count
    result.attempts = 1 + calls.retries
    result.waited = calls.waited
    return result


def _journal_grid(rows: list[list[Any]], journal: dict) -> list[list[Any]]:
    width = len(JOURNAL_HEADER)
    height = max(len(rows), journal["used"])
    return [list(r) + [""] * (width - len(r)) for r in rows] + [[""] * width for _ in range(height - len(rows))]


def _journal_requests(rows: list[list[Any]], journal: dict) -> int:
    grid = _journal_grid(rows, journal)
    return len(_split_rows(grid)) + (1 if journal["rows"] < len(grid) else 0)


def _write_journal(calls: _Calls, spreadsheet: Any, rows: list[list[Any]], journal: dict) -> int:
    """Write the journal's rows (``journal``: its sheetId, grid rows and the rows it holds now); returns the requests."""
    width = len(JOURNAL_HEADER)
    grid = _journal_grid(rows, journal)
    height = len(grid)
    sent = _journal_requests(rows, journal)
    if journal["rows"] < height:
        calls.write(_("size the journal sheet"), spreadsheet.batch_update, {"requests": [{"updateSheetProperties": {
            "properties": {"sheetId": journal["id"], "gridProperties": {"rowCount": height, "columnCount": width}},
            "fields": "gridProperties.rowCount,gridProperties.columnCount"}}]})
        journal["rows"] = height
    for start, part in _split_rows(grid):
        rng = f"{_quote_title(JOURNAL_TITLE)}!A{start + 1}:{get_column_letter(width)}{start + len(part)}"
        calls.write(_("keep the managers' values in the journal sheet"), spreadsheet.values_batch_update,
                    {"valueInputOption": "RAW", "data": [{"range": rng, "majorDimension": "ROWS", "values": part}]})
    journal["used"] = len(rows)
    return sent


def _drop_journal(calls: _Calls, spreadsheet: Any, sheet_id: int) -> None:
    """Delete the journal sheet; when the answer is lost, look whether it is gone before trying again."""
    for _attempt in range(max(1, calls.policy.attempts)):
        try:
            calls.write(_("remove the journal sheet"), spreadsheet.batch_update,
                        {"requests": [{"deleteSheet": {"sheetId": sheet_id}}]}, repeatable=False)
            return
        except _Retryable:
            meta = calls(_("read the sheet list"), spreadsheet.fetch_sheet_metadata, {"fields": "sheets.properties"})
            if not any(s.get("properties", {}).get("sheetId") == sheet_id for s in meta.get("sheets", [])):
                return
    raise _gave_up(calls.sid, _("remove the journal sheet"), calls.policy.attempts, _("no answer"))
