"""The audit workbook managers work in (.xlsx): the document model rendered with openpyxl.

What the workbook holds is decided by :mod:`crm_audit.documents.build` (the
sheets, columns, values, links, drop-downs, highlights, formats) from the
layout in :mod:`crm_audit.documents.layout`; this module only renders that
:class:`~crm_audit.documents.model.Document` as an .xlsx file.

No cell is ever a formula: every str is stored as a string cell (with
Excel's quote prefix when it starts with ``= + - @``), links are hyperlinks
set on the cell (inside the workbook: a location, not a ``#Sheet!A1`` URL).
The file is written atomically (temp file + rename).

How it is written: openpyxl builds the workbook (styles, the FAQ, «Учет
попаданий» with its chart, each rule sheet's header, widths, filter,
drop-downs, highlights), then the rule sheets' data rows are streamed as
SpreadsheetML straight into the saved package (:class:`_TableRows`,
:func:`_assemble`; built column by column with Arrow, :mod:`exporters.xlsx_rows`) -- the same cells openpyxl would write (inline strings,
numbers, date serials with a style, hyperlink relationships), ~10x faster:
200,000 rows take seconds, not a minute. Excel allows at most
:data:`MAX_HYPERLINKS_PER_SHEET` hyperlinks per sheet; rows beyond that keep
the URL as plain text. A rule with more violations than a sheet holds
(:data:`MAX_SHEET_ROWS`) shows its first rows with a note (:mod:`crm_audit.documents.limits`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.packaging.custom import StringProperty
from openpyxl.cell.cell import ERROR_CODES, Cell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.page import PageMargins

from crm_audit.documents import build
from crm_audit.documents.cells import looks_like_formula
from crm_audit.documents.layout import (  # noqa: F401 - re-exported for existing importers
    EXTRA_ROWS,
    FAQ_TITLE,
    HEADER_COMMENT as COMMENT_HEADER,
    HEADER_DUE as DUE_HEADER,
    HEADER_RULE_ID as RULE_ID_HEADER,
    HEADER_STATUS as STATUS_HEADER,
    HITS_TITLE,
    NO_VIOLATIONS,
    rule_sheet_headers,
)
from crm_audit.documents.model import (
    FONT, Cell as ModelCell, Chart, Document, Format, Guard, Highlight, Sheet, Table, Validation,
)
from crm_audit.report import AuditReport
from exporters.safe import atomic_write, xlsx_text
from exporters.xlsx_rows import LINE_HEIGHT as _LINE_HEIGHT, RowsWriter, _joined, cell_xml

__all__ = [
    "COMMENT_HEADER",
    "DUE_HEADER",
    "FAQ_TITLE",
    "HITS_TITLE",
    "MAX_HYPERLINKS_PER_SHEET",
    "MAX_SHEET_ROWS",
    "NO_VIOLATIONS",
    "RULE_ID_HEADER",
    "STATUS_HEADER",
    "render_document",
    "rule_sheet_headers",
    "write_workbook",
]

#: Excel's limit of hyperlinks in one worksheet.
MAX_HYPERLINKS_PER_SHEET = 65_530
#: Excel's rows per sheet (the header included).
MAX_SHEET_ROWS = 1_048_576
_CAP_WHERE = "не помещается на лист Excel"


# --------------------------------------------------------------------------
# formats as openpyxl styles


@dataclass
class _Style:
    plain: StyleArray
    quoted: StyleArray  # same with Excel's quote prefix (text that looks like a formula)
    default: bool  # no formatting at all: plain values can be appended


def _font(fmt: Format) -> Font | None:
    if not (fmt.bold or fmt.italic or fmt.underline or fmt.size != 11 or fmt.font != FONT or fmt.color):
        return None
    return Font(name=fmt.font, bold=fmt.bold, italic=fmt.italic, size=fmt.size,
                underline="single" if fmt.underline else None, color=fmt.color)


def _fill(color: str) -> PatternFill:
    return PatternFill("solid", start_color=color, end_color=color)


def _alignment(fmt: Format) -> Alignment | None:
    if not (fmt.wrap or fmt.valign or fmt.halign):
        return None
    return Alignment(wrap_text=fmt.wrap or None, vertical=fmt.valign, horizontal=fmt.halign)


class _StyleBook:
    """Each :class:`Format` as style arrays registered once in the workbook and copied into cells (fast)."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self._styles: dict[Format, _Style] = {}
        self._ids: dict[Format, tuple[int, int]] = {}

    def style(self, fmt: Format | None) -> _Style:
        fmt = fmt or build.TEXT
        style = self._styles.get(fmt)
        if style is None:
            cell = Cell(self._ws, row=1, column=1)
            if (font := _font(fmt)) is not None:
                cell.font = font
            if fmt.fill:
                cell.fill = _fill(fmt.fill)
            if (alignment := _alignment(fmt)) is not None:
                cell.alignment = alignment
            if fmt.number_format and fmt.number_format != "General":
                cell.number_format = fmt.number_format
            plain = StyleArray(cell._style) if cell._style is not None else StyleArray()
            quoted = StyleArray(plain)
            quoted.quotePrefix = 1
            style = self._styles[fmt] = _Style(plain, quoted, default=not any(plain))
        return style

    def ids(self, fmt: Format) -> tuple[int, int]:
        """The cell xf ids (plain, quoted) of ``fmt``, registered in the workbook's stylesheet."""
        ids = self._ids.get(fmt)
        if ids is None:
            style = self.style(fmt)
            ids = self._ids[fmt] = (Cell(self._ws, style_array=style.plain).style_id,
                                    Cell(self._ws, style_array=style.quoted).style_id)
        return ids


# --------------------------------------------------------------------------
# head cells (openpyxl)


def _cell(ws: Any, cell: ModelCell | None, book: _StyleBook) -> Cell | Any:
    """An openpyxl cell (or a plain value openpyxl stores as is) for a model cell; never a formula."""
    if cell is None:
        return None
    style = book.style(cell.format)
    value = cell.value
    if isinstance(value, str):
        value = xlsx_text(value)
        risky = looks_like_formula(value) or value in ERROR_CODES
        if style.default and not risky and cell.link is None:
            return value
        out = Cell(ws, row=1, column=1, style_array=style.quoted if risky else style.plain)
        out.value = value
        out.data_type = "s"  # openpyxl turns "=..." into a formula and "#N/A" into an error: force text
    elif value is None:
        if style.default and cell.link is None:
            return None
        out = Cell(ws, row=1, column=1, style_array=style.plain)
    else:
        if style.default and cell.link is None and not isinstance(value, dt.date):
            return value
        out = Cell(ws, row=1, column=1, style_array=style.plain)
        out.value = value
    if cell.link is not None:
        if cell.link.sheet is not None:
            out.hyperlink = Hyperlink(ref="A1", location="'" + cell.link.sheet.replace("'", "''") + "'!A1")
        elif cell.link.url:
            out.hyperlink = cell.link.url
    return out


def _append(ws: Any, cells: Sequence[Any]) -> None:
    """Append a row of cells/values; point their hyperlinks at their final coordinate."""
    ws.append(list(cells))
    for cell in cells:
        if isinstance(cell, Cell) and cell.hyperlink is not None:
            cell.hyperlink.ref = cell.coordinate


def _highlight_rule(h: Highlight) -> FormulaRule:
    """A model highlight as a conditional format (its formula on the area's first row, relative in rows)."""
    return FormulaRule(
        formula=[h.formula()],
        fill=_fill(h.format.fill) if h.format.fill else None,
        font=Font(color=h.format.color) if h.format.color else None,
        stopIfTrue=True if h.stop else None,
    )


def _validation(v: Validation) -> DataValidation:
    dv = DataValidation(
        type="list",
        formula1='"' + ",".join(v.choices) + '"',
        allow_blank=True,
        showErrorMessage=v.strict,
        errorStyle="stop",
        errorTitle=v.error_title or None,
        error=v.error or None,
        showInputMessage=bool(v.prompt) or None,
        promptTitle=v.prompt_title or None,
        prompt=v.prompt or None,
    )
    letter = get_column_letter(v.column + 1)
    dv.add(f"{letter}{v.first_row + 1}:{letter}{v.last_row + 1}")
    return dv


def _guard(g: Guard, columns: Sequence[int]) -> DataValidation:
    """A warning on any value typed into ``columns`` of ``g``'s rows: Excel asks «Продолжить?» and keeps it if so.

    The condition is never met (``FALSE``), so every typed value gets the warning;
    nothing is locked (a paste or a sort is not stopped).
    """
    dv = DataValidation(type="custom", formula1="FALSE", allow_blank=True, showErrorMessage=True, errorStyle="warning",
                        errorTitle=g.title or None, error=g.message or None)
    for c in columns:
        letter = get_column_letter(c + 1)
        dv.add(f"{letter}{g.first_row + 1}:{letter}{g.last_row + 1}")
    return dv


def _chart(ws: Any, chart: Chart) -> LineChart | BarChart:
    """A line or column chart; each series' label is the cell left of its values (openpyxl's titles_from_data)."""
    if chart.kind == "column":
        out = BarChart()
        out.type = "col"
    else:
        out = LineChart()
    out.title, out.y_axis.title, out.x_axis.title = chart.title, chart.y_title, chart.x_title
    out.height, out.width = chart.height_cm, chart.width_cm
    for (row, col), values in chart.series:
        ref = Reference(ws, min_col=col + 1, max_col=values.c1 + 1, min_row=row + 1, max_row=row + 1)
        out.add_data(ref, from_rows=True, titles_from_data=True)
    cats = chart.categories
    out.set_categories(Reference(ws, min_col=cats.c0 + 1, max_col=cats.c1 + 1, min_row=cats.r0 + 1, max_row=cats.r1 + 1))
    return out


def _render_sheet(ws: Any, sheet: Sheet, book: _StyleBook) -> _TableRows | None:
    """Everything of ``sheet`` into ``ws`` but its table rows, which are returned to be streamed."""
    for col, width in sheet.widths.items():
        ws.column_dimensions[get_column_letter(col + 1)].width = width
    for col, fmt in sheet.column_formats.items():
        dim = ws.column_dimensions[get_column_letter(col + 1)]
        if fmt.number_format:
            dim.number_format = fmt.number_format
        if (alignment := _alignment(fmt)) is not None:
            dim.alignment = alignment
    rows, cols = sheet.frozen
    if rows or cols:
        ws.freeze_panes = f"{get_column_letter(cols + 1)}{rows + 1}"
    if sheet.landscape:
        ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_margins = PageMargins(left=0.3, right=0.3, top=0.5, bottom=0.5, header=0.25, footer=0.25)
    if sheet.print_columns is not None:
        c0, c1 = sheet.print_columns
        last = max(len(sheet.cells) + sheet.data_rows, 1)
        ws.print_area = f"{get_column_letter(c0 + 1)}1:{get_column_letter(c1 + 1)}{last}"
    ws.page_setup.fitToWidth = sheet.pages_wide
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if sheet.repeat_rows:
        ws.print_title_rows = f"1:{sheet.repeat_rows}"
    if sheet.repeat_columns is not None:
        ws.print_title_cols = f"{get_column_letter(sheet.repeat_columns[0] + 1)}:{get_column_letter(sheet.repeat_columns[1] + 1)}"

    for row in sheet.cells:
        _append(ws, [_cell(ws, c, book) for c in row])
    for row, lines in sheet.heights.items():
        if lines > 1:
            ws.row_dimensions[row + 1].height = _LINE_HEIGHT * lines
    if sheet.filter is not None:
        f = sheet.filter
        ws.auto_filter.ref = f"{get_column_letter(f.c0 + 1)}{f.r0 + 1}:{get_column_letter(f.c1 + 1)}{f.r1 + 1}"
    for v in sheet.validations:
        ws.add_data_validation(_validation(v))
    listed = {v.column for v in sheet.validations}  # a cell holds one validation: a drop-down keeps its own prompt
    for g in sheet.guards:
        if columns := [c for c in range(g.c0, g.c1 + 1) if c not in listed]:
            ws.add_data_validation(_guard(g, columns))
    for h in sheet.highlights:
        a = h.area
        ws.conditional_formatting.add(
            f"{get_column_letter(a.c0 + 1)}{a.r0 + 1}:{get_column_letter(a.c1 + 1)}{a.r1 + 1}", _highlight_rule(h))
    for chart in sheet.charts:
        ws.add_chart(_chart(ws, chart), f"{get_column_letter(chart.anchor[1] + 1)}{chart.anchor[0] + 1}")
    if sheet.table is None:
        return None
    return _TableRows(ws, sheet, book)


# --------------------------------------------------------------------------
# rule sheets' data rows, serialized directly

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_HYPERLINK_REL = _REL_NS + "/hyperlink"
# Elements that follow <hyperlinks> in CT_Worksheet, in schema order.
_AFTER_HYPERLINKS = (
    "<printOptions",
    "<pageMargins",
    "<pageSetup",
    "<headerFooter",
    "<rowBreaks",
    "<colBreaks",
    "<customProperties",
    "<cellWatches",
    "<ignoredErrors",
    "<smartTags",
    "<drawing",
    "<legacyDrawing",
    "<legacyDrawingHF",
    "<picture",
    "<oleObjects",
    "<controls",
    "<webPublishItems",
    "<tableParts",
    "<extLst",
    "</worksheet>",
)
_ROWS_PER_CHUNK = 2000
_COLUMNAR_ROWS_PER_CHUNK = 16_384
#: zlib level of the rule sheets' parts: deflating a million rows (~1 GB of XML) at the default level 6 took ~9 s, at
#: level 2 ~3 s, for a file ~25 % larger (issue 17: the second audit at 1M deals)
_TABLE_COMPRESSION = 2


def _serial(value: dt.date) -> str:
    serial = to_excel(value)
    return str(int(serial)) if float(serial).is_integer() else repr(float(serial))


def _wrapped(fmt: Format) -> Format:
    return fmt if fmt.wrap else dataclasses.replace(fmt, wrap=True, valign=fmt.valign or "top")


def _arrow_or_slice(values: Sequence[Any], start: int, stop: int) -> Any:
    """Values ``start`` … ``stop - 1`` of a table column: an Arrow array where the model gives one, else a list."""
    arrow = getattr(values, "arrow", None)
    out = arrow(start, stop) if arrow is not None else None
    return out if out is not None else values[start:stop]


class _TableRows:
    """A rule sheet's table (its data rows) as SpreadsheetML.

    Produces exactly what openpyxl would write for the same cells: inline
    strings (``t="inlineStr"``, so never a formula), numbers, dates as
    serials with a ``DD.MM.YYYY`` style, hyperlinks as ``<hyperlink>``
    elements with external relationships. A text cell of several lines wraps
    and makes its row taller (up to :data:`exporters.xlsx_rows.MAX_ROW_LINES` lines).
    """

    def __init__(self, ws: Any, sheet: Sheet, book: _StyleBook):
        table: Table = sheet.table  # type: ignore[assignment]
        self.ws = ws
        self.sheet = sheet
        self.book = book
        self.n = table.rows
        self.first_row = len(sheet.cells) + 1  # 1-based row of the first data row
        self.links: list[tuple[str, str]] = []  # (cell ref, url)
        self.last_row = self.first_row + self.n - 1 if self.n else len(sheet.cells)
        self.last_col = max([len(table.columns), *(len(r) for r in sheet.cells)])
        if self.last_row > MAX_SHEET_ROWS:
            raise ValueError(
                f"sheet «{sheet.title}»: {self.n} rows do not fit in one xlsx sheet ({MAX_SHEET_ROWS - 1} rows at most)"
            )
        self._ids: dict[str, tuple[int, int]] = {}
        self._plan: list[tuple] | None = None  # per column: letter, values, links?, style ids (see register_styles)

    def register_styles(self) -> None:
        """Register the table's styles in the workbook (before it is saved); remember their xf ids."""
        if self._plan is not None:
            return
        book = self.book
        self._ids["date"] = book.ids(build.DATE)
        self._plan = []
        columns = self.sheet.table.columns  # type: ignore[union-attr]
        # a cell linked to another column's URL (the deal title) only where every row's links fit under Excel's cap
        linked = sum(1 for c in columns if c.links or c.link_to is not None)
        titles = self.n * linked <= MAX_HYPERLINKS_PER_SHEET
        for i, column in enumerate(columns):
            link_to = column.link_to if titles and not column.links else None
            # text in a number or date column is plain text; a number in a date column is a plain number
            fmt = build.TEXT if column.links or column.link_to is not None else column.format
            text = fmt if fmt.number_format in (None, "@") else build.TEXT
            number = build.NUMBER if fmt.number_format == build.DATE_FORMAT else fmt
            num_sid = book.ids(number)[0]
            link = column.links if link_to is None else -1 - link_to  # -1 - n: links to column n's URL (see chunks)
            self._plan.append((get_column_letter(i + 1), column.values, link, book.ids(text),
                               book.ids(_wrapped(text)), f' s="{num_sid}"' if num_sid else "", book.ids(column.format)))

    def chunks(self, columnar: bool | None = None) -> Iterator[str | memoryview]:
        """``<row>`` elements of the data rows (UTF-8 bytes, or str), in chunks of a few thousand rows.

        Column by column with Arrow (:mod:`exporters.xlsx_rows`); a table with
        more than one link column row by row in Python (the hyperlink cap
        counts links in row order). ``columnar`` forces one way (tests: both
        write the same bytes).
        """
        self.register_styles()
        self.links.clear()
        date_sid = self._ids["date"][0]
        plan = self._plan
        if columnar is None:
            columnar = sum(1 for col in plan if col[2] is True) <= 1
        if columnar:
            writer = RowsWriter(date_sid, _serial, self.links, MAX_HYPERLINKS_PER_SHEET)
            for start in range(0, self.n, _COLUMNAR_ROWS_PER_CHUNK):
                m = min(_COLUMNAR_ROWS_PER_CHUNK, self.n - start)
                yield writer.block(self.first_row + start, m,
                                   [(letter, _arrow_or_slice(values, start, start + m), self._link(link, start, start + m), *rest)
                                    for letter, values, link, *rest in plan])
            return
        out: list[str] = []
        for start in range(0, self.n, _ROWS_PER_CHUNK):
            stop = start + _ROWS_PER_CHUNK
            block = [(letter, values[start:stop], self._link(link, start, stop), *rest) for letter, values, link, *rest in plan]
            for i in range(min(_ROWS_PER_CHUNK, self.n - start)):
                out.append(self._row(str(self.first_row + start + i), i, block, date_sid))
            yield "".join(out)
            out.clear()

    def _link(self, link: bool | int, start: int, stop: int) -> Any:
        """A plan's link entry for rows ``start`` … ``stop - 1``: True/False, or the URLs of the column it links to."""
        if link is True or link is False:
            return link
        return self.sheet.table.columns[-1 - link].values[start:stop]  # type: ignore[union-attr]

    def _row(self, r: str, i: int, block: list[tuple], date_sid: int) -> str:
        """The ``<row>`` element of row ``r``: the ``i``-th values of the block's columns."""
        links, max_links, date_attr = self.links, MAX_HYPERLINKS_PER_SHEET, f'" s="{date_sid}"><v>'
        row_lines = 1
        parts = [""]  # the <row> start tag, once the height is known
        for letter, values, is_link, text_ids, wrap_ids, num_attr, link_ids in block:
            v = values[i]
            if v is None:
                continue
            if is_link is not True and is_link is not False:
                is_link = is_link[i]  # this row's URL (a column linked to another's)
            xml, lines = cell_xml(letter, r, v, is_link, text_ids, wrap_ids, num_attr, link_ids, date_attr, _serial, links, max_links)
            parts.append(xml)
            row_lines = max(row_lines, lines)
        parts.append("</row>")
        parts[0] = f'<row r="{r}" ht="{_LINE_HEIGHT * row_lines}" customHeight="1">' if row_lines > 1 else f'<row r="{r}">'
        return "".join(parts)

    def hyperlinks_xml(self, ids: Any) -> memoryview:
        """The ``<hyperlink>`` elements of :attr:`links` with relationship ids ``ids`` (an Arrow string array), UTF-8."""
        import pyarrow as pa
        import pyarrow.compute as pc

        refs = pa.array([ref for ref, _ in self.links], pa.string())
        return _joined(pc.binary_join_element_wise(f'<hyperlink xmlns:r="{_REL_NS}" ref="', refs, '" r:id="', ids, '" />', ""))


def _rels_part(part: str) -> str:
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels"


def _write_table_part(zout: zipfile.ZipFile, info: zipfile.ZipInfo, xml: str, raw: _TableRows) -> list[tuple[str, str]]:
    """Write one rule sheet part with its data rows; return its hyperlinks as (rel id, url)."""
    marker = "</sheetData>"
    cut = xml.find(marker)
    if cut >= 0:
        head, tail = xml[:cut], xml[cut + len(marker) :]
    else:
        empty = re.search(r"<sheetData\s*/>", xml)
        if empty is None:  # pragma: no cover - openpyxl always writes sheetData
            raise ValueError(f"no sheetData in {info.filename}")
        head, tail = xml[: empty.start()] + "<sheetData>", xml[empty.end() :]
    tail = _with_ignored_errors(tail, raw.sheet)
    ref = f"A1:{get_column_letter(raw.last_col)}{raw.last_row}"
    head = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}" />', head, count=1)

    out_info = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    out_info.compress_type = zipfile.ZIP_DEFLATED
    out_info._compresslevel = _TABLE_COMPRESSION  # ZipFile.open(info, "w") takes the level from the ZipInfo
    with zout.open(out_info, "w", force_zip64=True) as fh:
        fh.write(head.encode("utf-8"))
        _write_behind(fh, raw.chunks())
        links = _link_rels(raw.links)
        if links is None:
            fh.write((marker + tail).encode("utf-8"))
        else:
            for piece in _insert_hyperlinks(marker + tail, raw.hyperlinks_xml(links[0])):
                fh.write(piece)
    return links


def _write_behind(fh, chunks: Iterator[str | memoryview], depth: int = 3) -> None:
    """Write ``chunks`` to the zip member ``fh`` in a second thread while the next ones are made.

    Deflating and checksumming a chunk (zlib and crc32 release the GIL) takes about as long as making it with
    Arrow: one after the other a million-row sheet kept a core idle for half the workbook (issue 17). The same
    writes in the same order: the same bytes. At most ``depth`` chunks wait (a chunk is a fresh buffer, never
    reused by the next). An error on either side stops both and is raised here.
    """
    import queue
    import threading

    todo: queue.Queue = queue.Queue(maxsize=depth)
    failed: list[BaseException] = []

    def write() -> None:
        while (item := todo.get()) is not None:
            if not failed:
                try:
                    fh.write(item)
                except BaseException as exc:  # raised in the caller's thread below
                    failed.append(exc)

    writer = threading.Thread(target=write, name="xlsx-deflate", daemon=True)
    writer.start()
    try:
        for chunk in chunks:
            if failed:
                break
            todo.put(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
    finally:
        todo.put(None)
        writer.join()
    if failed:
        raise failed[0]


# Elements that follow <ignoredErrors> in CT_Worksheet, in schema order.
_AFTER_IGNORED_ERRORS = _AFTER_HYPERLINKS[_AFTER_HYPERLINKS.index("<ignoredErrors") + 1 :]


def _with_ignored_errors(tail: str, sheet: Sheet) -> str:
    """The sheet XML after its rows with an ``<ignoredErrors>`` element: no "number stored as text" marker on the
    columns whose text is digits on purpose (the deal id; Excel shows a green triangle in each such cell otherwise)."""
    if not sheet.text_digits or sheet.extent < 2 or "<ignoredErrors" in tail:
        return tail
    sqref = " ".join(f"{get_column_letter(c + 1)}2:{get_column_letter(c + 1)}{sheet.extent}" for c in sheet.text_digits)
    element = f'<ignoredErrors><ignoredError sqref="{sqref}" numberStoredAsText="1" /></ignoredErrors>'
    positions = [p for p in (tail.find(tag) for tag in _AFTER_IGNORED_ERRORS) if p >= 0]
    at = min(positions) if positions else len(tail)
    return tail[:at] + element + tail[at:]


def _link_rels(links: Sequence[tuple[str, str]]) -> tuple[Any, Any] | None:
    """The relationship ids (``crmLink1`` …) and URLs of a sheet's hyperlinks as Arrow string arrays; None: no links."""
    if not links:
        return None
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    numbers = pc.cast(pa.array(np.arange(1, len(links) + 1, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise("crmLink", numbers, ""), pa.array([url for _, url in links], pa.string())


def _insert_hyperlinks(tail: str, links_xml: memoryview) -> list[bytes | memoryview]:
    """``tail`` (the sheet XML after its rows) with the ``<hyperlink>`` elements in place, as UTF-8 pieces."""
    close = tail.find("</hyperlinks>")
    if close >= 0:
        return [tail[:close].encode("utf-8"), links_xml, tail[close:].encode("utf-8")]
    positions = [p for p in (tail.find(tag) for tag in _AFTER_HYPERLINKS) if p >= 0]
    at = min(positions) if positions else len(tail)
    return [(tail[:at] + "<hyperlinks>").encode("utf-8"), links_xml, ("</hyperlinks>" + tail[at:]).encode("utf-8")]


def _rels_xml(existing: bytes | None, links: tuple[Any, Any] | None) -> bytes:
    """The sheet's relationships part: ``existing`` (or an empty one) with a hyperlink relationship per link."""
    if existing:
        xml = existing.decode("utf-8")
        close = xml.rfind("</Relationships>")
    else:
        xml = f'<Relationships xmlns="{_PKG_REL_NS}"></Relationships>'
        close = xml.rfind("</")
    if links is None:
        return xml.encode("utf-8")
    import pyarrow.compute as pc

    ids, urls = links
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):  # an attribute's text
        urls = pc.replace_substring(urls, char, entity)
    body = _joined(pc.binary_join_element_wise(f'<Relationship Type="{_HYPERLINK_REL}" Target="', urls,
                                               '" TargetMode="External" Id="', ids, '" />', ""))
    return b"".join((xml[:close].encode("utf-8"), body, xml[close:].encode("utf-8")))


def _assemble(skeleton: io.BytesIO, target: Path, raws: dict[str, _TableRows]) -> None:
    """Copy openpyxl's package to ``target``, adding the rule sheets' rows."""
    skeleton.seek(0)
    rels_of = {_rels_part(part): part for part in raws}
    with zipfile.ZipFile(skeleton) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        names = set(zin.namelist())
        for info in zin.infolist():
            name = info.filename
            if name in rels_of:
                continue  # written right after its sheet
            raw = raws.get(name)
            if raw is None:
                zout.writestr(info, zin.read(name), compress_type=zipfile.ZIP_DEFLATED)
                continue
            links = _write_table_part(zout, info, zin.read(name).decode("utf-8"), raw)
            rels = _rels_part(name)
            existing = zin.read(rels) if rels in names else None
            if links is not None or existing is not None:
                zout.writestr(rels, _rels_xml(existing, links), compress_type=zipfile.ZIP_DEFLATED)


# --------------------------------------------------------------------------
# entry points


def render_document(document: Document, path: str | os.PathLike[str]) -> Path:
    """Write ``document`` to ``path`` as an .xlsx workbook, atomically; return the path."""
    target = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = document.title
    wb.properties.creator = document.creator
    for name, value in document.properties.items():
        wb.custom_doc_props.append(StringProperty(name=name, value=value))
    book: _StyleBook | None = None
    tables: list[_TableRows] = []
    for sheet in document.sheets:
        ws = wb.create_sheet(sheet.title)
        book = book or _StyleBook(ws)
        table = _render_sheet(ws, sheet, book)
        if table is not None:
            tables.append(table)
    for table in tables:
        table.register_styles()  # before the stylesheet is written
    skeleton = io.BytesIO()
    wb.save(skeleton)
    # ws.path is only final once saved (openpyxl numbers the parts on save)
    by_part = {table.ws.path.lstrip("/"): table for table in tables}
    with atomic_write(target) as tmp:
        _assemble(skeleton, tmp, by_part)
    return target


def write_workbook(
    report: AuditReport,
    path: str | os.PathLike[str],
    *,
    deal_id_header: str | None = None,
) -> Path:
    """Write the audit workbook of ``report`` to ``path`` atomically and return the path.

    ``deal_id_header`` replaces the «ID сделки» header (e.g. to name the CRM).
    """
    document = build.build_document(report, row_cap=MAX_SHEET_ROWS - 1, cap_where=_CAP_WHERE,
                                    deal_id_header=deal_id_header, extra_rows=EXTRA_ROWS)
    return render_document(document, path)
