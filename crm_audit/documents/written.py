"""A rule sheet whose bytes are exactly what the run wrote: its rows without parsing it (issue 17).

Reading back a million-row workbook is mostly the XML parse of sheets nobody
touched. A sheet part whose bytes are the bytes the run wrote cannot hold an
edit, but it is not nothing to the ledger (``record_edits`` stores a row set
back to what the document showed, ``store_edits`` re-applies or withdraws its
decisions), so its rows must still be read — from what the ledger knows the
sheet showed: the findings file of the document's audit (rule, deal, owner,
status, comment, in sheet order).

That is only sound when the rows made from the findings file are exactly the
rows a parse of the part gives. :func:`sheets_as_recorded` decides it at
write time, per rule sheet, and only such sheets get their part's digest
recorded:

* the sheet shows every finding of its rule (not capped), in the findings
  file's order, and no decision (the run never pre-fills «Решение» /
  «Комментарий руководителя»);
* the read-back finds its columns where the writer put them (an evidence
  column titled «Комментарий» left of the process columns would be read in
  its place);
* every value the read-back reads from it (rule id, deal id, owner, status,
  comment) is text that comes back from the .xlsx exactly as written: no
  character a spreadsheet drops or a reader translates (C0 controls but tab
  and line feed — a CR comes back as LF —, Excel's ``_x000D_`` escapes), no
  text long enough to be cut, a status that is one of the statuses;
  and it is the text the findings file holds (text in the report's rows, or
  a whole number as a deal id).

Any doubt leaves the sheet to the parser: it costs time, never an edit.
:func:`rows_as_written` then builds the rows exactly as
:func:`crm_audit.documents.sheet_rows.parse_rule_sheet` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from crm_audit.documents import layout
from crm_audit.documents.edits import EditedRow, normalise_id
from crm_audit.documents.sheet_rows import header_positions

__all__ = ["PartDigest", "WrittenSheet", "WrittenDocument", "sheets_as_recorded", "rows_as_written", "SHOWN_COLUMNS"]

#: what a text may not hold to come back from an .xlsx cell as written (RE2, for Arrow): C0 controls but tab and LF
#: (CR is read back as LF), the non-characters U+FFFE/U+FFFF, and Excel's escapes «_x0041_» (calamine decodes them)
_UNSAFE = r"[\x00-\x08\x0b-\x1f\x{FFFE}\x{FFFF}]|_x[0-9A-Fa-f]{4}_"
#: longer texts may be cut to the cell limit when written (32,767 UTF-16 units): never compared
_MAX_CHARS = 8000
#: the findings file's columns the rows are made of, in file order
SHOWN_COLUMNS = ("rule_id", "deal_id", "owner", "status", "comment")


@dataclass(frozen=True)
class PartDigest:
    """One part of a document package as written: CRC-32 and size of its bytes, SHA-256 of its stored bytes."""

    crc: int
    size: int
    digest: str


@dataclass(frozen=True)
class WrittenSheet:
    """A rule sheet whose rows are its rule's rows of a findings file (see the module docstring)."""

    part: str
    title: str
    rule_id: str
    rows: int
    status_col: int  # 0-based, as the read-back finds them by header
    comment_col: int | None
    decision_col: int | None


@dataclass
class WrittenDocument:
    """What the ledger recorded about a document file when the run wrote it.

    ``parts``: every part of the package; ``sheets``: the rule sheets that
    can be read from ``shown`` (by part); ``shown()``: the findings file's
    :data:`SHOWN_COLUMNS` in file order as an Arrow table (None: the file is
    gone — everything is parsed then).
    """

    parts: dict[str, PartDigest]
    sheets: dict[str, WrittenSheet]
    shown: Callable[[], Any]


def _letter(i: int | None) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1) if i is not None else ""


def rows_as_written(sheet: WrittenSheet, deal_ids: Sequence[Any], owners: Sequence[Any], statuses: Sequence[Any],
                    comments: Sequence[Any]) -> list[EditedRow]:
    """The rows :func:`~crm_audit.documents.sheet_rows.parse_rule_sheet` reads from ``sheet`` as written, from its
    rule's findings in sheet order (status None = «Не обработано»)."""
    status_l, comment_l, decision_l = _letter(sheet.status_col), _letter(sheet.comment_col), _letter(sheet.decision_col)
    new, title, rule = layout.STATUS_NEW, sheet.title, sheet.rule_id
    build = EditedRow.build
    out: list[EditedRow] = []
    append = out.append
    same = {}.setdefault  # one string object per owner, as parse_rule_sheet keeps them
    for i, (deal, owner, status, comment) in enumerate(zip(deal_ids, owners, statuses, comments)):
        r = i + 2
        if owner is not None:
            owner = same(owner, owner)
        n = str(r)
        if status is None and comment is None:  # parse_rule_sheet's row as the writer left it
            append(EditedRow(rule, normalise_id(deal), new, new, None, None, None, None, owner, title, r, status_l + n,
                             comment_l + n if comment_l else "", decision_l + n if decision_l else ""))
        else:
            append(build(rule, deal, status_raw=status or new, comment=comment, decision_raw=None, decision_note=None,
                         owner=owner, sheet=title, row=r, status_cell=status_l + n,
                         comment_cell=comment_l + n if comment_l else "", decision_cell=decision_l + n if decision_l else ""))
    return out


# ---------------------------------------------------------------------------------------------- at write time


def _all_safe(arr, *, nullable: bool) -> bool:
    import pyarrow.compute as pc

    if arr.null_count and not nullable:
        return False
    if not len(arr) or arr.null_count == len(arr):
        return True
    length = pc.utf8_length(arr)
    if pc.min(length).as_py() == 0 or pc.max(length).as_py() > _MAX_CHARS:
        return False
    return not pc.any(pc.match_substring_regex(arr, _UNSAFE)).as_py()


def _is_text(series, *, whole_numbers: bool = False) -> bool:
    """Every value of a report column is text (or missing), so the findings file holds what the sheet shows;
    ``whole_numbers``: integers too (a deal id: the sheet shows ``str(n)``, as the findings file holds it)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        return True
    if whole_numbers and isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return True
    if dtype != object:
        return False
    try:
        pa.array(series.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        return False
    return True


def sheets_as_recorded(results: Sequence[Any], titles: Sequence[str], shown, *, row_cap: int | None = None,
                       deal_id_header: str | None = None) -> dict[str, WrittenSheet]:
    """The rule sheets (by title, ``part`` left empty) whose rows :func:`rows_as_written` makes from ``shown`` (the
    findings file's :data:`SHOWN_COLUMNS`, Arrow) exactly as a parse of the written sheet gives them.

    ``results``/``titles``: the report's rule results and their sheet titles, as the document was built from them
    (``row_cap``: its rows per sheet at most; ``deal_id_header``: its «ID сделки» header)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from crm_audit.documents.cells import clean_text

    out: dict[str, WrittenSheet] = {}
    rule_col = shown.column("rule_id")
    for result, title in zip(results, titles):
        rows = result.rows
        n = 0 if rows is None else len(rows)
        if row_cap is not None and n > row_cap:
            continue  # capped: the sheet shows part of the findings
        rule_id = str(result.rule_id)
        if not _all_safe(pa.array([rule_id], pa.string()), nullable=False) or rule_id != rule_id.strip():
            continue
        columns = layout.rule_sheet_columns(result, deal_id_header=deal_id_header)
        header: list[Any] = [clean_text(c.header) for c in columns]
        notes = layout.sheet_notes(result)
        if notes:
            header += [None, clean_text(" ".join(notes))]
        at = header_positions(header, deal_id_header=deal_id_header)
        where = {c.key: i for i, c in reversed(list(enumerate(columns)))}
        if at is None or (at.deal, at.status, at.rule, at.comment, at.decision, at.note, at.owner) != tuple(
                where.get(k) for k in ("deal_id", "status", "rule_id", "comment", "decision", "decision_note", "owner")):
            continue  # another column is read in place of one the writer filled
        mine = shown.filter(pc.equal(rule_col, rule_id))
        if mine.num_rows != n:
            continue
        if n:
            if any(k in rows.columns and rows[k].notna().any() for k in ("decision", "decision_note")):
                continue
            if not (_is_text(rows["deal_id"], whole_numbers=True) if "deal_id" in rows.columns else False):
                continue
            if any(k in rows.columns and not _is_text(rows[k]) for k in ("owner", "comment", "status")):
                continue
            deal = mine.column("deal_id").combine_chunks()
            if not _all_safe(deal, nullable=False) or pc.any(pc.match_substring_regex(deal, r"^\s|\s$")).as_py():
                continue
            if not (_all_safe(mine.column("owner").combine_chunks(), nullable=True)
                    and _all_safe(mine.column("comment").combine_chunks(), nullable=True)):
                continue
            status = mine.column("status").combine_chunks()
            known = pc.is_in(status, value_set=pa.array(list(layout.STATUSES), pa.string()))
            if not pc.all(pc.or_kleene(pc.is_null(status), known)).as_py():
                continue  # a status typed by hand and carried as written: the parser checks it
        out[title] = WrittenSheet("", title, rule_id, n, at.status, at.comment, at.decision)
    return out
