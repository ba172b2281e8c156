"""What the Google Sheet holds: the document model rendered as values and Sheets API requests.

:func:`crm_audit.documents.build.build_document` builds the audit document
as a neutral model (:mod:`crm_audit.documents.model`); :mod:`exporters.xlsx`
renders it with openpyxl and this module renders the very same Document for
the Sheets API, so the workbook and the Google Sheet cannot drift apart:
the same sheets in the same order (FAQ, one sheet per rule, «Учет
попаданий»), the same columns and values, links, drop-downs, highlights and
formats.

A :class:`RenderedSheet` is one sheet as :mod:`exporters.gsheet.publish`
sends it: its values row by row, and the requests that lay it out
(:func:`format_requests`). Values are plain (``None`` = empty, dates are
serial numbers, days since 1899-12-30, as in the workbook; a text longer
than Google's cell limit is cut with «…») and are written ``RAW``: a text
starting with ``= + - @`` stays a text. Links are link formatting on the
cell (``userEnteredFormat.textFormat.link``; to another sheet: ``#gid=``),
never a ``=HYPERLINK`` formula. Highlights are custom-formula conditional
formats (the model's own formula, :meth:`Highlight.formula`), drop-downs are
``ONE_OF_LIST`` validations. Row heights are left to Google, which fits a
row to its wrapped text.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crm_audit.documents import layout
from crm_audit.documents.build import build_document
from crm_audit.documents.cells import fit_cell
from crm_audit.documents.layout import (
    EDITABLE_HEADERS,
    HEADER_COMMENT,
    HEADER_DEAL_ID,
    HEADER_DECISION,
    HEADER_DECISION_NOTE,
    HEADER_RULE_ID,
    HEADER_STATUS,
    rule_sheet_headers,
)
from crm_audit.documents.limits import row_cap_for_cells
from crm_audit.documents.model import Cell, Chart, Document, Format, Link, Sheet, linkable
from crm_audit.errors import OutputError
from crm_audit.i18n import _
from crm_audit.report import AuditReport

__all__ = [
    "EDITABLE_HEADERS", "MAX_BODY_BYTES", "MAX_CELLS", "MAX_CELL_CHARS", "MAX_TITLE_CHARS", "PROTECTION_TAG",
    "JOURNAL_HEADER", "JOURNAL_TITLE", "RenderedSheet", "build_sheets", "cell_format", "check_titles", "format_requests",
    "render_document", "render_sheet", "row_cap",
]

#: Google's limits.
MAX_CELLS = 10_000_000
MAX_CELL_CHARS = 50_000
MAX_TITLE_CHARS = 100
#: Split a request whose JSON body would be larger than this.
MAX_BODY_BYTES = 2_000_000
#: Drop-downs and highlights cover this many rows below the data (the layout's; tests make it smaller).
EXTRA_ROWS = layout.EXTRA_ROWS
#: Where the rows of a capped rule sheet are not (the note right of its header says so).
CAP_WHERE = "не помещается в таблицу Google (не больше 10 млн ячеек)"
#: Description of the protected ranges this tool owns (others are left alone).
PROTECTION_TAG = "crm-audit"

#: A hidden sheet holding the managers' values while a publish that takes several requests writes
#: (read back where the rule sheets lack a row: nothing is lost if the publish is killed half-way).
JOURNAL_TITLE = "crm-audit: правки (служебный)"
JOURNAL_HEADER = (HEADER_RULE_ID, HEADER_DEAL_ID, HEADER_STATUS, HEADER_COMMENT, HEADER_DECISION, HEADER_DECISION_NOTE)

_EPOCH = dt.date(1899, 12, 30).toordinal()  # day 0 of spreadsheet date serials
_SLICE = 4096  # table rows converted at a time
_PX_PER_CM = 96 / 2.54


# --------------------------------------------------------------------------
# values


def _serial(value: dt.date) -> int | float:
    days = value.toordinal() - _EPOCH
    if isinstance(value, dt.datetime):
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return days + seconds / 86400 if seconds else days
    return days


def _value(value: Any) -> Any:
    """A model value as Google stores it: dates as serials, text within the cell limit."""
    cls = value.__class__
    if cls is str:
        return value if len(value) <= MAX_CELL_CHARS // 2 else fit_cell(value, MAX_CELL_CHARS)
    if isinstance(value, dt.date):
        return _serial(value)
    return value


def _column(values: Sequence[Any]) -> list[Any]:
    """A slice of a table column as Google values (most are short texts and ints: kept as they are)."""
    out = list(values)
    half = MAX_CELL_CHARS // 2
    for i, v in enumerate(out):
        cls = v.__class__
        if cls is str:
            if len(v) > half:
                out[i] = fit_cell(v, MAX_CELL_CHARS)
        elif v is not None and cls is not int and cls is not float:
            out[i] = _value(v)
    return out


def _trimmed(row: list[Any]) -> list[Any]:
    while row and row[-1] is None:
        row.pop()
    return row


@dataclass
class RenderedSheet:
    """One sheet of the document as the publisher writes it."""

    title: str
    kind: str  # "faq" | "rule" | "hits"
    rows: list[list[Any]]  # values, row 0 first (None = empty); a rule sheet's data rows follow its header
    model: Sheet | None = None  # what it renders (None: a bare sheet of values)
    data_rows: int = 0  # rule sheets: the table's rows

    @property
    def header(self) -> list[str]:
        return [("" if v is None else str(v)) for v in (self.rows[0] if self.rows else [])]

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    @property
    def widths(self) -> dict[int, float]:
        return self.model.widths if self.model is not None else {}

    @property
    def frozen_rows(self) -> int:
        return self.model.frozen[0] if self.model is not None else 0

    @property
    def frozen_cols(self) -> int:
        return self.model.frozen[1] if self.model is not None else 0

    @property
    def extent(self) -> int:
        """Rows (header included) the drop-downs and highlights cover."""
        return self.model.extent if self.model is not None else 0


def render_sheet(sheet: Sheet) -> RenderedSheet:
    """The values of a model sheet: its head rows, then its table's rows."""
    rows = [_trimmed([None if c is None else _value(c.value) for c in row]) for row in sheet.cells]
    table = sheet.table
    if table is None or not table.rows:
        while rows and not rows[-1]:
            rows.pop()
    else:
        columns = [c.values for c in table.columns]
        for start in range(0, table.rows, _SLICE):
            block = [_column(values[start : start + _SLICE]) for values in columns]
            rows.extend(_trimmed(list(row)) for row in zip(*block))
    return RenderedSheet(sheet.title, sheet.kind, rows, sheet, sheet.data_rows)


def render_document(document: Document) -> list[RenderedSheet]:
    """Every sheet of ``document``, in order, as values (:func:`format_requests` lays each out)."""
    return [render_sheet(sheet) for sheet in document.sheets]


def build_sheets(report: AuditReport, deal_id_header: str | None = None) -> list[RenderedSheet]:
    """The audit document of ``report`` as Google sheets (rule sheets capped to Google's cell limit)."""
    document = build_document(report, row_cap=row_cap(report), cap_where=CAP_WHERE, deal_id_header=deal_id_header,
                              extra_rows=EXTRA_ROWS)
    return render_document(document)


# --------------------------------------------------------------------------
# limits

#: cells kept free for the FAQ, «Учет попаданий» and sheets of the team's own
_RESERVED_CELLS = 250_000


def row_cap(report: AuditReport) -> int | None:
    """Rows per rule sheet that keep the spreadsheet under Google's cell limit (None: no cap needed)."""

    def cols(result) -> int:
        return len(rule_sheet_headers(result)) + 2  # + the note column and its gap

    fixed = sum((1 + EXTRA_ROWS) * cols(r) for r in report.results)
    return row_cap_for_cells(report.results, cols, max(0, MAX_CELLS - _RESERVED_CELLS - fixed))


def check_titles(sheets: Sequence[RenderedSheet], spreadsheet_id: str) -> None:
    """Raise :class:`OutputError` for a sheet title Google refuses (cell texts are cut to its limit when rendered)."""
    seen: dict[str, str] = {}
    for sheet in sheets:
        title = sheet.title
        if not title.strip():
            raise OutputError(_("Google Sheets {sid}: a sheet title is empty.").format(sid=spreadsheet_id))
        if len(title) > MAX_TITLE_CHARS:
            raise OutputError(
                _("Google Sheets {sid}: the sheet title «{title}…» is longer than {n} characters.")
                .format(sid=spreadsheet_id, title=title[:40], n=MAX_TITLE_CHARS)
            )
        if any(ord(ch) < 32 for ch in title):
            raise OutputError(_("Google Sheets {sid}: the sheet title {title} has control characters.").format(sid=spreadsheet_id, title=repr(title)))
        key = title.casefold()
        if key in seen:
            raise OutputError(
                _("Google Sheets {sid}: two sheets would be titled «{title}» (titles must differ, case aside).")
                .format(sid=spreadsheet_id, title=title)
            )
        seen[key] = title


# --------------------------------------------------------------------------
# formats and layout


def _color(hex6: str) -> dict:
    return {
        "rgbColor": {
            "red": int(hex6[0:2], 16) / 255,
            "green": int(hex6[2:4], 16) / 255,
            "blue": int(hex6[4:6], 16) / 255,
        }
    }


_VALIGN = {"top": "TOP", "center": "MIDDLE", "bottom": "BOTTOM"}
_HALIGN = {"left": "LEFT", "center": "CENTER", "right": "RIGHT"}
_FORMATS: dict[Format, dict] = {}


def cell_format(fmt: Format | None) -> dict:
    """The Sheets ``CellFormat`` of a model format (shared: copy before changing it)."""
    if fmt is None:
        return {}
    out = _FORMATS.get(fmt)
    if out is not None:
        return out
    out = {}
    text: dict[str, Any] = {}
    if fmt.bold:
        text["bold"] = True
    if fmt.italic:
        text["italic"] = True
    if fmt.underline:
        text["underline"] = True
    if fmt.size != 11:
        text["fontSize"] = int(round(fmt.size))
    if fmt.color and fmt.color.upper() != "000000":
        text["foregroundColorStyle"] = _color(fmt.color)
    if text:
        out["textFormat"] = text
    if fmt.fill:
        out["backgroundColorStyle"] = _color(fmt.fill)
    if fmt.wrap:
        out["wrapStrategy"] = "WRAP"
    if fmt.valign:
        out["verticalAlignment"] = _VALIGN[fmt.valign]
    if fmt.halign:
        out["horizontalAlignment"] = _HALIGN[fmt.halign]
    number = fmt.number_format
    if number == "@":
        out["numberFormat"] = {"type": "TEXT"}
    elif number and number.upper() == "DD.MM.YYYY":
        out["numberFormat"] = {"type": "DATE", "pattern": "dd.mm.yyyy"}
    elif number and number != "General":
        out["numberFormat"] = {"type": "NUMBER", "pattern": number}
    _FORMATS[fmt] = out
    return out


def _repeat(sheet_id: int, r0: int, r1: int, c: int, fmt: dict) -> dict:
    """One column's rows ``r0``..``r1`` (excluded) take ``fmt`` (only its own fields are set)."""
    return {
        "repeatCell": {
            "range": _grid(sheet_id, r0, r1, c, c + 1),
            "cell": {"userEnteredFormat": fmt},
            "fields": "userEnteredFormat(" + ",".join(fmt) + ")",
        }
    }


def _head_cell(cell: Cell | None, ids: dict[str, int]) -> dict:
    if cell is None:
        return {}
    fmt = cell_format(cell.format)
    link = _link_uri(cell.link, ids)
    if link is not None:
        fmt = {**fmt, "textFormat": {**fmt.get("textFormat", {}), "link": {"uri": link}}}
    return {"userEnteredFormat": fmt} if fmt else {}


def _link_uri(link: Link | None, ids: dict[str, int]) -> str | None:
    if link is None:
        return None
    if link.sheet is not None:
        target = ids.get(link.sheet)
        return None if target is None else f"#gid={target}"
    return link.url or None


def format_requests(sheet: RenderedSheet, sheet_id: int, ids: dict[str, int], grid_rows: int) -> list[dict]:
    """The requests laying ``sheet`` out on a sheet just cleared of formats: widths, formats, links,
    filter, charts, drop-downs, highlights and protected ranges. ``ids``: sheetId by title."""
    model = sheet.model
    if model is None:
        return []
    reqs: list[dict] = []
    # column widths (pixels ~ 7 per character + padding), runs of equal widths together
    cols = sorted(model.widths)
    i = 0
    while i < len(cols):
        j = i
        px = int(round(model.widths[cols[i]] * 7 + 5))
        while j + 1 < len(cols) and cols[j + 1] == cols[j] + 1 and int(round(model.widths[cols[j + 1]] * 7 + 5)) == px:
            j += 1
        reqs.append(
            {
                "updateDimensionProperties": {
                    "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": cols[i], "endIndex": cols[j] + 1},
                    "properties": {"pixelSize": px},
                    "fields": "pixelSize",
                }
            }
        )
        i = j + 1
    # whole columns (rows a manager adds too), then the table's columns on its rows
    head = len(model.cells)
    column_end = min(max(model.extent, len(sheet.rows)), grid_rows)
    for c, fmt in sorted(model.column_formats.items()):
        if cell_format(fmt) and column_end > head:
            reqs.append(_repeat(sheet_id, head, column_end, c, cell_format(fmt)))
    table = model.table
    n = min(model.data_rows, max(0, grid_rows - head))
    if table is not None and n:
        for c, column in enumerate(table.columns):
            # a link column's cells are plain text but for their links (as in the workbook)
            if not (column.links or column.link_to is not None) and cell_format(column.format) \
                    and model.column_formats.get(c) != column.format:
                reqs.append(_repeat(sheet_id, head, head + n, c, cell_format(column.format)))
    # the head cells' formats and links (the FAQ, «Учет попаданий», a rule sheet's header)
    if any(cell is not None and (not (cell.format is None or cell.format.plain) or cell.link) for row in model.cells for cell in row):
        width = max((len(row) for row in model.cells), default=0)
        rows = [{"values": [_head_cell(row[c] if c < len(row) else None, ids) for c in range(width)]} for row in model.cells]
        reqs.append(
            {"updateCells": {"rows": rows, "fields": "userEnteredFormat", "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0}}}
        )
    # the table's links: link formatting, per cell
    if table is not None and n:
        for c, column in enumerate(table.columns):
            if column.links:
                reqs.extend(_link_requests(sheet, sheet_id, c, head, head + n))
            elif column.link_to is not None:  # the deal title carries its row's deal link
                reqs.extend(_link_requests(sheet, sheet_id, c, head, head + n, source=column.link_to))
    if model.filter is not None:
        f = model.filter
        reqs.append({"setBasicFilter": {"filter": {"range": _grid(sheet_id, f.r0, f.r1 + 1, f.c0, f.c1 + 1)}}})
    for chart in model.charts:
        reqs.append(_chart_request(chart, sheet_id))
    reqs.extend(_validation_requests(model, sheet_id, grid_rows))
    reqs.extend(_protection_requests(model, sheet_id))
    return reqs


def _link_requests(sheet: RenderedSheet, sheet_id: int, c: int, r0: int, r1: int, source: int | None = None) -> list[dict]:
    """Link formatting on column ``c``'s cells: to the URL in the cell itself, or in column ``source`` of its row."""
    rows = sheet.rows
    links: dict[int, str] = {}
    src = c if source is None else source
    for r in range(r0, r1):
        row = rows[r]
        v = row[src] if src < len(row) else None
        if source is not None and (c >= len(row) or row[c] is None or row[c] == ""):
            continue  # an empty title: nothing to click on
        if v.__class__ is str and linkable(v):
            links[r] = v
    if not links:
        return []
    first, last = min(links), max(links)
    cells = [
        {"values": [{"userEnteredFormat": {"textFormat": {"link": {"uri": links[r]}}}} if r in links else {}]}
        for r in range(first, last + 1)
    ]
    # each row's JSON size without serializing it: the fixed shape + the URL as json.dumps writes it
    sizes = [(_LINK_ROW + len(_json_str(links[r])) if r in links else _EMPTY_ROW) + 2 for r in range(first, last + 1)]
    return [
        {
            "updateCells": {
                "rows": part,
                "fields": "userEnteredFormat.textFormat.link",
                "start": {"sheetId": sheet_id, "rowIndex": first + start, "columnIndex": c},
            }
        }
        for start, part in _split_rows(cells, sizes)
    ]


_json_str = json.encoder.encode_basestring_ascii  # a str as json.dumps writes it (ensure_ascii)
_LINK_ROW = len(json.dumps({"values": [{"userEnteredFormat": {"textFormat": {"link": {"uri": ""}}}}]})) - 2
_EMPTY_ROW = len(json.dumps({"values": [{}]}))


def _validation_requests(model: Sheet, sheet_id: int, grid_rows: int) -> list[dict]:
    """The model's drop-downs (``ONE_OF_LIST``) and highlights (custom-formula conditional formats, in order)."""
    reqs: list[dict] = []
    for v in model.validations:
        end = min(v.last_row + 1, grid_rows)
        if end <= v.first_row:
            continue
        rule: dict[str, Any] = {
            "condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": choice} for choice in v.choices]},
            "strict": v.strict,
            "showCustomUi": True,
        }
        if v.prompt:
            rule["inputMessage"] = v.prompt
        reqs.append({"setDataValidation": {"range": _grid(sheet_id, v.first_row, end, v.column, v.column + 1), "rule": rule}})
    index = 0
    for h in model.highlights:
        a = h.area
        end = min(a.r1 + 1, grid_rows)
        if end <= a.r0:
            continue
        fmt: dict[str, Any] = {}
        if h.format.fill:
            fmt["backgroundColorStyle"] = _color(h.format.fill)
        if h.format.color:
            fmt["textFormat"] = {"foregroundColorStyle": _color(h.format.color)}
        # Google applies the first rule that matches a cell: every rule "stops"; the model's order is kept
        reqs.append(
            {
                "addConditionalFormatRule": {
                    "index": index,
                    "rule": {
                        "ranges": [_grid(sheet_id, a.r0, end, a.c0, a.c1 + 1)],
                        "booleanRule": {
                            "condition": {"type": "CUSTOM_FORMULA", "values": [{"userEnteredValue": "=" + h.formula()}]},
                            "format": fmt,
                        },
                    },
                }
            }
        )
        index += 1
    return reqs


def _protection_requests(model: Sheet, sheet_id: int) -> list[dict]:
    """Warning-only protection: a rule sheet's columns nobody writes in (by role) and its guarded columns (the
    head's), any other sheet whole."""

    def protect(grid: dict, what: str) -> dict:
        return {"addProtectedRange": {"protectedRange": {"range": grid, "description": f"{PROTECTION_TAG}: {what}", "warningOnly": True}}}

    if not model.roles:
        return [protect(_grid(sheet_id), "лист заполняет аудит")]
    reqs = []
    start = None
    for c, role in enumerate([*model.roles, None]):
        locked = role is not None and not role.editable
        if locked and start is None:
            start = c
        elif not locked and start is not None:
            reqs.append(protect(_grid(sheet_id, None, None, start, c), "столбцы заполняет аудит (статус и комментарии — можно)"))
            start = None
    for g in model.guards:  # columns someone writes in but a manager should not (the head's): a warning too
        if all(model.roles[c].editable for c in range(g.c0, g.c1 + 1)):
            reqs.append(protect(_grid(sheet_id, None, None, g.c0, g.c1 + 1), g.title.lower()))
    return reqs


def _chart_request(chart: Chart, sheet_id: int) -> dict:
    """A line chart of the sheet's rows: each series' label is the cell left of its values.

    Such row-oriented series are sent with that label column taken into every
    range and ``headerCount`` 1, so Sheets reads the labels as the series' names.
    """
    cats = chart.categories
    labelled = all(
        row == values.r0 == values.r1 and col == values.c0 - 1 for (row, col), values in chart.series
    ) and cats.r0 == cats.r1 and cats.c0 >= 1
    shift = 1 if labelled else 0

    def grid(rng) -> dict:
        return _grid(sheet_id, rng.r0, rng.r1 + 1, rng.c0 - shift, rng.c1 + 1)

    spec: dict[str, Any] = {
        "chartType": "COLUMN" if chart.kind == "column" else "LINE",
        "legendPosition": "RIGHT_LEGEND",
        "headerCount": shift,
        "axis": [
            {"position": "BOTTOM_AXIS", "title": chart.x_title},
            {"position": "LEFT_AXIS", "title": chart.y_title},
        ],
        "domains": [{"domain": {"sourceRange": {"sources": [grid(cats)]}}}],
        "series": [
            {"series": {"sourceRange": {"sources": [grid(values)]}}, "targetAxis": "LEFT_AXIS"} for _, values in chart.series
        ],
    }
    row, col = chart.anchor
    return {
        "addChart": {
            "chart": {
                "spec": {"title": chart.title, "basicChart": spec},
                "position": {
                    "overlayPosition": {
                        "anchorCell": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": col},
                        "widthPixels": int(round(chart.width_cm * _PX_PER_CM)),
                        "heightPixels": int(round(chart.height_cm * _PX_PER_CM)),
                    }
                },
            }
        }
    }


# --------------------------------------------------------------------------
# helpers of the publisher


def _quote_title(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _grid(sheet_id: int, r0: int | None = None, r1: int | None = None, c0: int | None = None, c1: int | None = None) -> dict:
    g: dict[str, Any] = {"sheetId": sheet_id}
    if r0 is not None:
        g["startRowIndex"] = r0
    if r1 is not None:
        g["endRowIndex"] = r1
    if c0 is not None:
        g["startColumnIndex"] = c0
    if c1 is not None:
        g["endColumnIndex"] = c1
    return g


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _size(obj: Any) -> int:
    """Bytes of ``obj`` as sent (requests serializes with json.dumps' defaults: ASCII escapes)."""
    return len(json.dumps(obj))


def _split_rows(rows: list[Any], sizes: list[int] | None = None) -> list[tuple[int, list[Any]]]:
    """``rows`` as (offset, part) pieces of at most half the body limit each (``sizes``: each row's JSON + 2, if known)."""
    budget = max(1000, MAX_BODY_BYTES // 2)
    if sizes is None:
        sizes = [_size(row) + 2 for row in rows]  # each row serialized once
    if sum(sizes) <= budget:
        return [(0, rows)]
    out: list[tuple[int, list[Any]]] = []
    start, size = 0, 0
    for i, n in enumerate(sizes):
        if i > start and size + n > budget:
            out.append((start, rows[start:i]))
            start, size = i, 0
        size += n
    out.append((start, rows[start:]))
    return out
