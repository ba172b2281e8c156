"""A rule sheet's data rows as SpreadsheetML, built column by column with Arrow string kernels.

:class:`exporters.xlsx._TableRows` hands this module a block of rows (one
slice of values per column, as the document model gives them) and gets the
``<row>`` elements back as UTF-8 bytes: the very cells its per-row writer
produces (inline strings — never a formula —, Excel's quote prefix for text
starting with ``= + - @``, ``xml:space`` for text with surrounding
whitespace, wrapped multi-line text with a taller row, numbers, date serials
with a style, the first hyperlinks of the sheet up to Excel's cap), without
a Python string per cell: a million-row workbook is mostly this loop (issue
17: the second audit's workbook).

A column whose slice mixes kinds of values (text in a number column), or
holds text a cell must cut to fit, is formatted cell by cell in Python
(:func:`python_cells`), the same way; the rest of the block stays columnar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crm_audit.documents.model import MAX_URL, linkable
from exporters.safe import XLSX_MAX_CELL_CHARS, fit_cell

MAX_ROW_LINES = 8  # a data row grows for multi-line text up to this many lines
LINE_HEIGHT = 15  # points per line of a row that must show several lines
_HALF_LIMIT = XLSX_MAX_CELL_CHARS // 2
# str.isspace() of a first or last character, as RE2 classes (\s is ASCII there; \pZ: Unicode separators)
_SPACE_RE = r"^[\t\n\x0b\x0c\r\x1c-\x1f\x85\pZ]|[\t\n\x0b\x0c\r\x1c-\x1f\x85\pZ]$"
_URL_RE = r"(?i)^(https?|mailto):"  # model.linkable's pattern

#: (letter, values, links, text ids, wrapped text ids, number style attribute, link ids); ``links``: False, True (each
#: value links to itself), or the URL each row's cell links to (a slice of another column: the deal title's link)
Column = tuple


def _attr(sid: int) -> str:
    return f' s="{sid}"' if sid else ""


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _bools(a: pa.Array) -> np.ndarray:
    return pc.fill_null(a, False).to_numpy(zero_copy_only=False)


class RowsWriter:
    """The data rows of one sheet, block by block (hyperlinks are counted across blocks: Excel's cap is per sheet)."""

    def __init__(self, date_sid: int, serial: Callable[[dt.date], str], links: list[tuple[str, str]], max_links: int):
        self.date_attr = f'" s="{date_sid}"><v>'
        self.serial = serial
        self.links = links
        self.max_links = max_links
        self._serials: dict[dt.date, str] = {}

    def block(self, first_row: int, n: int, columns: Sequence[Column]) -> memoryview:
        """``<row>`` elements of rows ``first_row`` … ``first_row + n - 1`` (1-based); ``columns`` hold ``n`` values each."""
        rs = pc.cast(pa.array(np.arange(first_row, first_row + n, dtype=np.int64)), pa.string())
        lines = np.ones(n, dtype=np.int64)
        before = len(self.links)
        cells = [self._column(col, rs, lines) for col in columns]
        if any(col[2] is not True and col[2] is not False for col in columns) and len(self.links) > before:
            # links in row order, as the row-by-row writer adds them (the relationship ids follow this order)
            order = {col[0]: k for k, col in enumerate(columns)}
            self.links[before:] = sorted(self.links[before:], key=lambda link: _ref_key(link[0], order))
        tall = lines > 1
        if tall.any():
            heights = pa.array(["", *(f' ht="{LINE_HEIGHT * k}" customHeight="1"' for k in range(2, MAX_ROW_LINES + 1))])
            ht = heights.take(pa.array(np.where(tall, lines - 1, 0)))
        else:
            ht = pa.scalar("")
        rows = pc.binary_join_element_wise('<row r="', rs, '"', ht, ">", *cells, "</row>", "")
        return _joined(rows)

    # ------------------------------------------------------------------ one column
    def _column(self, col: Column, rs: pa.Array, lines: np.ndarray) -> pa.Array:
        letter, values, is_link, text_ids, wrap_ids, num_attr, link_ids = col
        if is_link is not True and is_link is not False and not isinstance(is_link, pa.Array):
            is_link = list(is_link)
        if isinstance(values, pa.Array):  # the model's Arrow slice (string or int64; null: no cell)
            if values.null_count == len(values):
                return pa.scalar("")
            kinds = {str} if pa.types.is_string(values.type) else {int}
        else:
            kinds = set(map(type, values))
            kinds.discard(type(None))
        out = None
        if not kinds:
            return pa.scalar("")
        if kinds == {str}:
            out = self._text(letter, values, rs, lines, is_link, text_ids, wrap_ids, link_ids)
        elif kinds == {int}:
            try:
                arr = values if isinstance(values, pa.Array) else pa.array(values, pa.int64())
            except (OverflowError, pa.ArrowInvalid):
                arr = None
            if arr is not None:
                out = pc.binary_join_element_wise(f'<c r="{letter}', rs, f'"{num_attr}><v>', pc.cast(arr, pa.string()), "</v></c>", "")
        elif kinds == {dt.date}:
            memo, serial = self._serials, self.serial
            texts = [None if v is None else (memo.get(v) or memo.setdefault(v, serial(v))) for v in values]
            out = pc.binary_join_element_wise(f'<c r="{letter}', rs, self.date_attr, pa.array(texts, pa.string()), "</v></c>", "")
        if out is None:
            if isinstance(values, pa.Array):
                values = values.to_pylist()
            texts = python_cells(letter, values, rs.to_pylist(), lines, is_link, text_ids, wrap_ids, num_attr, link_ids,
                                 self.date_attr, self.serial, self.links, self.max_links)
            return pa.array(texts, pa.string())
        return pc.fill_null(out, "")

    def _text(self, letter: str, values: list | pa.Array, rs: pa.Array, lines: np.ndarray, is_link: bool, text_ids, wrap_ids,
              link_ids) -> pa.Array | None:
        arr = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
        length = pc.utf8_length(arr)
        if pc.max(length).as_py() > _HALF_LIMIT or pc.min(length).as_py() == 0:
            return None  # a text to cut (or an empty one): cell by cell
        breaks = pc.fill_null(pc.count_substring(arr, "\n"), 0).to_numpy(zero_copy_only=False)
        multi = breaks > 0
        if multi.any():
            np.maximum(lines, np.minimum(breaks + 1, MAX_ROW_LINES), out=lines)
        risky = _bools(pc.match_substring_regex(arr, r"^[=+\-@]"))
        base = np.where(multi, 2, 0)  # 0 text, 2 wrapped text, 4 link
        if is_link is not False and len(self.links) < self.max_links:
            target = arr if is_link is True else is_link if isinstance(is_link, pa.Array) else pa.array(is_link, pa.string())
            if not pa.types.is_string(target.type):
                target = pc.cast(target, pa.string())
            ok = _bools(pc.and_(pc.match_substring_regex(target, _URL_RE), pc.less_equal(pc.utf8_length(target), MAX_URL)))
            ok &= ~_bools(pc.match_substring_regex(target, "[\n\r\t]"))
            if is_link is not True:
                ok &= ~_bools(pc.is_null(arr))  # an empty title: nothing to click on
            at = np.flatnonzero(ok)[: self.max_links - len(self.links)]
            if len(at):
                base[at] = 4
                row_no = rs.take(pa.array(at)).to_pylist()
                urls = target.take(pa.array(at)).to_pylist()
                self.links.extend((letter + r, u) for r, u in zip(row_no, urls))
        attrs = pa.array([_attr(s) for s in (*text_ids, *wrap_ids, *link_ids)])
        s_attr = attrs.take(pa.array(base + risky))
        space = pc.if_else(pc.match_substring_regex(arr, _SPACE_RE), ' xml:space="preserve"', "")
        esc = pc.replace_substring(pc.replace_substring(pc.replace_substring(arr, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")
        return pc.binary_join_element_wise(f'<c r="{letter}', rs, '"', s_attr, ' t="inlineStr"><is><t', space, ">", esc,
                                           "</t></is></c>", "")


def _ref_key(ref: str, order: dict[str, int]) -> tuple[int, int]:
    """A cell reference (``C12``) as (row, column position) for sorting."""
    cut = len(ref.rstrip("0123456789"))
    return int(ref[cut:]), order.get(ref[:cut], 0)


def _joined(rows: pa.Array) -> memoryview:
    """The concatenated text of a string array without nulls (its data buffer between the first and last offset)."""
    rows = rows.combine_chunks() if isinstance(rows, pa.ChunkedArray) else rows
    _, offsets, data = rows.buffers()
    o = np.frombuffer(offsets, dtype=np.int32 if rows.type == pa.string() else np.int64)
    return memoryview(data)[o[rows.offset] : o[rows.offset + len(rows)]]


def python_cells(letter: str, values: Sequence[Any], rs: list[str], lines: np.ndarray, is_link: bool, text_ids, wrap_ids,
                 num_attr: str, link_ids, date_attr: str, serial: Callable[[dt.date], str], links: list[tuple[str, str]],
                 max_links: int) -> list[str]:
    """The cells of one column, one value at a time (any mix of texts, numbers and dates)."""
    out = [""] * len(values)
    to = None if is_link is True or is_link is False else is_link
    for i, v in enumerate(values):
        if v is not None:
            out[i], k = cell_xml(letter, rs[i], v, is_link if to is None else to[i], text_ids, wrap_ids, num_attr, link_ids, date_attr, serial,
                                 links, max_links)
            if k > lines[i]:
                lines[i] = k
    return out


def cell_xml(letter: str, r: str, v: Any, is_link: bool, text_ids, wrap_ids, num_attr: str, link_ids, date_attr: str,
             serial: Callable[[dt.date], str], links: list[tuple[str, str]], max_links: int) -> tuple[str, int]:
    """One cell (a value that is not None) and the lines its row must show; a link is added to ``links`` under the cap.

    ``is_link``: True (the value links to itself), False, or the URL the cell links to (None: no link).
    """
    cls = v.__class__
    if cls is str:
        ids, lines = text_ids, 1
        if is_link and len(links) < max_links:
            url = v if is_link is True else is_link
            if url.__class__ is str and linkable(url):
                links.append((letter + r, url))
                ids = link_ids
        if len(v) > _HALF_LIMIT:
            v = fit_cell(v)
        if "\n" in v:  # multi-line text: wrap it and give the row room
            lines = min(v.count("\n") + 1, MAX_ROW_LINES)
            if ids is text_ids:
                ids = wrap_ids
        sid = ids[1] if v[0] in "=+-@" else ids[0]
        space = ' xml:space="preserve"' if v[0].isspace() or v[-1].isspace() else ""
        return f'<c r="{letter}{r}"{_attr(sid)} t="inlineStr"><is><t{space}>{_esc(v)}</t></is></c>', lines
    if cls is int:
        return f'<c r="{letter}{r}"{num_attr}><v>{v}</v></c>', 1
    if cls is float:
        return f'<c r="{letter}{r}"{num_attr}><v>{v!r}</v></c>', 1
    return f'<c r="{letter}{r}{date_attr}{serial(v)}</v></c>', 1  # a date
