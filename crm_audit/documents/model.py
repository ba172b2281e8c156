"""A neutral model of the audit document: sheets as values, links, drop-downs and formats.

:mod:`crm_audit.documents.build` turns an :class:`~crm_audit.report.AuditReport`
into a :class:`Document`; each output renders the same Document
(:mod:`exporters.xlsx` with openpyxl; the Google Sheet as Sheets API
requests), so the workbook and the Google Sheet cannot drift apart.

How a renderer uses it
    Positions are 0-based (row 0 is the first row, column 0 is A). A
    :class:`Sheet` is, in order of rows:

    * ``cells``: the sheet's head rows (the whole FAQ and «Учет попаданий»,
      a rule sheet's header row) as :class:`Cell` objects (or None);
    * ``table`` (rule sheets only): the data rows, which start right after
      ``cells``. They are columnar (one :class:`TableColumn` per column, one
      value per row) because a rule sheet may hold a million rows: stream
      them, do not make a cell object per value.

    Values are ``str``, ``int``, ``float``, ``datetime.date`` or None (empty).
    **A str is always text**: one starting with ``= + - @`` must be stored as
    text (Excel: a string cell with the quote prefix; Google: RAW input),
    never as a formula. Texts are already cleaned of characters no spreadsheet
    accepts; a renderer only enforces its own length limit. A :class:`Link`
    is set on the cell (a hyperlink, never a ``HYPERLINK`` formula): to a URL,
    or to another sheet of the document by title (a location inside the
    document, never a ``#Sheet!A1`` URL). ``TableColumn.links`` marks a column
    whose values are links to themselves where :func:`linkable`.

    Then apply ``widths``/``heights``, ``column_formats`` (whole columns,
    e.g. «Комментарий» as text so a typed ``=…`` stays text), ``frozen``,
    ``filter``, ``validations`` (drop-downs; ``strict`` = reject other values
    with the error alert), ``highlights`` (conditional formats, see
    :class:`Highlight`), ``charts`` and the page setup. ``roles`` says per
    column of a rule sheet who fills it (see
    :class:`~crm_audit.documents.layout.Role`), e.g. to protect the others.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Union

from crm_audit.documents.layout import Role

__all__ = [
    "FONT", "Value", "Format", "Link", "Cell", "TableColumn", "Table", "CellRange", "Validation", "Highlight", "Guard",
    "Chart", "Sheet", "Document", "linkable", "column_letters", "MAX_URL",
]

Value = Union[str, int, float, dt.date, None]

#: The font every format names (a bold font without a name comes back as a serif font from LibreOffice).
FONT = "Calibri"
#: Spreadsheets reject link addresses longer than this (Excel: ~2079 characters).
MAX_URL = 2000
_URL_RE = re.compile(r"^(https?|mailto):", re.IGNORECASE)


def linkable(text: str) -> bool:
    """True when ``text`` can be a link on its cell (http(s)/mailto, short enough, one line)."""
    return (
        _URL_RE.match(text) is not None and len(text) <= MAX_URL and "\n" not in text and "\r" not in text and "\t" not in text
    )


@dataclass(frozen=True)
class Format:
    """How a cell looks. Colours are RGB hex (``"FFC7CE"``); ``number_format`` in Excel notation (None: general)."""

    bold: bool = False
    italic: bool = False
    underline: bool = False
    size: float = 11
    font: str = FONT
    color: str | None = None
    fill: str | None = None
    wrap: bool = False
    valign: Literal["top", "center", "bottom"] | None = None
    halign: Literal["left", "center", "right"] | None = None
    number_format: str | None = None  # "DD.MM.YYYY", "0", "@" (text), "General"

    @property
    def plain(self) -> bool:
        """True for the default look (a renderer may skip formatting such a cell)."""
        return self == _PLAIN


_PLAIN = Format()


@dataclass(frozen=True)
class Link:
    """A link on a cell: to a URL, or to the top of another sheet of the document (by title)."""

    url: str | None = None
    sheet: str | None = None


@dataclass
class Cell:
    value: Value
    format: Format | None = None
    link: Link | None = None


@dataclass
class TableColumn:
    """One column of a rule sheet's data rows."""

    values: Sequence[Value]  # one per data row; read it in slices (values[a:b]): it may be converted on demand
    format: Format  # of every data cell (a multi-line text also wraps, its row as tall as its lines)
    links: bool = False  # each value that is :func:`linkable` is a link to itself
    #: each value's cell links to the value of column ``link_to`` in the same row, where that is :func:`linkable`
    #: (the deal title carries the deal's link); a renderer may drop these links where its per-sheet cap would cut
    #: the ``links`` column's
    link_to: int | None = None


@dataclass
class Table:
    columns: list[TableColumn]
    rows: int  # data rows


@dataclass(frozen=True)
class CellRange:
    """Rows ``r0``..``r1`` and columns ``c0``..``c1``, both ends included (0-based), on the sheet it belongs to."""

    r0: int
    c0: int
    r1: int
    c1: int


@dataclass
class Validation:
    """A drop-down on column ``column`` from row ``first_row`` to ``last_row`` (included)."""

    column: int
    first_row: int
    last_row: int
    choices: tuple[str, ...]
    strict: bool = True  # any other value is rejected, with the error alert below
    error_title: str = ""
    error: str = ""
    prompt_title: str = ""
    prompt: str = ""


@dataclass
class Highlight:
    """A conditional format over ``area``, decided per row by the cell of ``column`` in that row.

    The condition is one of (case ignored, as spreadsheets' ``=`` compares):

    * ``equals``: the cell is this text (and, with ``blank_column``, that
      column's cell in the row is blank or only spaces);
    * ``not_one_of``: the cell, surrounding spaces trimmed and runs of spaces
      taken as one (spreadsheets' ``TRIM``), is not blank and none of these;
    * ``equals`` with ``before_today``: the cell is this text and that
      column's cell in the row is a date before today (the day the sheet is
      opened: a row past its due date and still not worked on).

    ``stop``: rules below it are not applied where it matches.
    """

    area: CellRange
    column: int
    format: Format
    equals: str | None = None
    blank_column: int | None = None
    not_one_of: tuple[str, ...] = ()
    before_today: int | None = None
    stop: bool = False

    def formula(self) -> str:
        """The condition as a formula (no leading ``=``) for the area's first row, relative in rows.

        Excel, LibreOffice Calc and Google Sheets read it alike (``=`` and
        ``<>`` ignore case, ``TRIM`` also joins runs of spaces); each renderer
        puts it in its own conditional format.
        """
        row = str(self.area.r0 + 1)
        cell = "$" + column_letters(self.column) + row
        if self.not_one_of:
            return f"AND(LEN(TRIM({cell}))>0," + ",".join(f"TRIM({cell})<>{_quoted(c)}" for c in self.not_one_of) + ")"
        if self.before_today is not None:
            date = "$" + column_letters(self.before_today) + row
            return f"AND({cell}={_quoted(self.equals or '')},ISNUMBER({date}),{date}<TODAY())"
        if self.blank_column is not None:
            blank = "$" + column_letters(self.blank_column) + row
            return f"AND({cell}={_quoted(self.equals or '')},LEN(TRIM({blank}))=0)"
        return f"{cell}={_quoted(self.equals or '')}"


def column_letters(column: int) -> str:
    """The letters of a 0-based column (0 -> A, 26 -> AA)."""
    out = ""
    n = column + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _quoted(text: str) -> str:
    """A text as a string literal inside a formula."""
    return '"' + text.replace('"', '""') + '"'


@dataclass
class Chart:
    """A chart: one series per row ``values`` (its label in ``labels``' cell of the same row).

    ``kind``: ``line`` (a line per series over the categories) or ``column``
    (bars side by side: what shows something with a single category).
    """

    title: str
    x_title: str
    y_title: str
    anchor: tuple[int, int]  # (row, column) of the top-left corner
    categories: CellRange  # one row: the x axis labels
    series: list[tuple[tuple[int, int], CellRange]]  # ((row, col) of the label, one-row range of values)
    height_cm: float = 9
    width_cm: float = 22
    kind: Literal["line", "column"] = "line"


@dataclass(frozen=True)
class Guard:
    """Columns ``c0``..``c1`` of rows ``first_row``..``last_row`` people should not edit: a warning, never a lock.

    Excel: a validation that warns on any typed value and lets it stand
    («Продолжить?»); Google Sheets: a warning-only protected range.
    """

    c0: int
    c1: int
    first_row: int
    last_row: int
    title: str
    message: str


@dataclass
class Sheet:
    title: str
    kind: Literal["faq", "rule", "hits"]
    cells: list[list[Cell | None]] = field(default_factory=list)
    table: Table | None = None  # rule sheets: data rows right after ``cells``
    widths: dict[int, float] = field(default_factory=dict)  # column -> width in characters
    heights: dict[int, int] = field(default_factory=dict)  # row -> lines of text it must show (head rows)
    column_formats: dict[int, Format] = field(default_factory=dict)  # whole columns, rows a manager adds too
    frozen: tuple[int, int] = (0, 0)  # rows, columns
    filter: CellRange | None = None
    validations: list[Validation] = field(default_factory=list)
    highlights: list[Highlight] = field(default_factory=list)
    guards: list[Guard] = field(default_factory=list)  # rule sheets: columns edited only with a warning
    charts: list[Chart] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)  # rule sheets: who fills each table column
    notes: list[str] = field(default_factory=list)  # rule sheets: what the note right of the header says
    landscape: bool = True
    repeat_rows: int = 0  # rows printed on top of every page
    #: columns ``c0``..``c1`` (both included) a printed page shows, None: all; A4, fit to width, header repeated
    print_columns: tuple[int, int] | None = None
    #: pages a printed row spans (fit to this many pages wide) and the columns repeated on the left of each page
    pages_wide: int = 1
    repeat_columns: tuple[int, int] | None = None
    extent: int = 0  # rule sheets: rows (header included) the drop-downs and highlights cover
    #: rule sheets: columns whose text is digits on purpose (the deal id): a renderer silences its "number stored as
    #: text" marker over rows 1..extent - 1 (Excel: ``<ignoredErrors>``)
    text_digits: tuple[int, ...] = ()

    @property
    def data_rows(self) -> int:
        return self.table.rows if self.table is not None else 0


@dataclass
class Document:
    title: str
    sheets: list[Sheet]
    creator: str = "crm-audit"
    #: the document's own facts, kept with it (a workbook's custom properties): which audit it is, of which ledger
    properties: dict[str, str] = field(default_factory=dict)
