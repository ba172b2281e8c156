"""The one parser of a rule sheet's rows as a reader returns them (xlsx workbook or Google Sheet).

A rule sheet is a sheet whose header has «ID сделки» (or the CRM's deal id
header) and «Статус». Columns are found by header (case, spaces and «ё»
ignored; the first of two equal headers wins), never by position; a data row
is a row with a value in the deal id column; rows are identified by
(rule id, deal id). When «ID правила» was deleted or a cell of it cleared, the
code in the sheet title gives the rule (``rule_ids_by_code``), else the rule
id most rows of the sheet carry. Ids come back normalised (``123.0`` → ``123``).
"""

from __future__ import annotations

from collections import Counter
from itertools import product
from operator import itemgetter
from dataclasses import dataclass
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from openpyxl.utils import get_column_letter

from crm_audit.documents.edits import EditedRow, EditProblem, normalise_id
from crm_audit.documents import layout
from crm_audit.i18n import N_
from crm_audit.textnorm import norm

__all__ = ["HeaderPositions", "cell_text", "header_positions", "parse_rule_sheet"]


def _same(v: Any) -> Any:
    return v


def cell_text(value: Any) -> str | None:
    """A cell value as the text a person sees in it; None for an empty cell.

    Whole floats lose their ``.0`` (ids and numbers come back from Excel,
    LibreOffice and Google as numbers).
    """
    if value is None:
        return None
    t = value.__class__
    if t is str:
        return value or None
    if t is float and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class HeaderPositions:
    """Where a rule sheet's columns are (0-based), as the read-back finds them by header; None: no such column."""

    deal: int
    status: int
    rule: int | None
    comment: int | None
    decision: int | None
    note: int | None
    owner: int | None


def header_positions(header: Sequence[Any], *, value: Callable[[Any], Any] = _same,
                     deal_id_header: str | None = None) -> HeaderPositions | None:
    """The columns of a rule sheet's header row (case, spaces and «ё» ignored; the first of two equal headers wins);
    None when it is no rule sheet's header (no deal id or no «Статус»)."""
    idx: dict[str, int] = {}
    for i, h in enumerate(header):
        h = value(h)
        if isinstance(h, str) and h.strip():
            idx.setdefault(norm(h), i)
    deal_i = idx.get(norm(deal_id_header or layout.HEADER_DEAL_ID))
    status_i = idx.get(norm(layout.HEADER_STATUS))
    if deal_i is None or status_i is None:
        return None
    return HeaderPositions(deal_i, status_i, *(
        idx.get(norm(h)) for h in (layout.HEADER_RULE_ID, layout.HEADER_COMMENT, layout.HEADER_DECISION,
                                   layout.HEADER_DECISION_NOTE, layout.HEADER_OWNER)))


def parse_rule_sheet(
    title: str,
    rows: Iterable[Sequence[Any] | None],
    rule_ids_by_code: dict[str, str] | None = None,
    *,
    value: Callable[[Any], Any] = _same,
    deal_id_header: str | None = None,
) -> list[EditedRow]:
    """One :class:`EditedRow` per data row of the sheet ``title`` (``[]`` for a sheet that is not a rule sheet).

    ``rows`` is the sheet's rows from the header on, as the reader returns
    them; ``value`` turns one cell as returned into a plain value (None for
    an empty cell). Problems (unknown status or decision, «Не исправлено»
    without a comment) name the cell they are in.
    """
    rows = iter(rows)
    header = next(rows, None)
    if not header:
        return []
    at = header_positions(header, value=value, deal_id_header=deal_id_header)
    if at is None:
        return []  # FAQ, hit tracking, or a sheet somebody added
    deal_i, status_i, rule_i, comment_i, decision_i, note_i, owner_i = (
        at.deal, at.status, at.rule, at.comment, at.decision, at.note, at.owner)
    letter = {i: get_column_letter(i + 1) for i in (status_i, comment_i, decision_i) if i is not None}
    status_l = letter[status_i]
    comment_l, decision_l = letter.get(comment_i), letter.get(decision_i)

    def text(row: Sequence[Any], i: int | None) -> str | None:
        return cell_text(value(row[i])) if i is not None and i < len(row) else None

    build = EditedRow.build
    new_row = EditedRow
    status_new = layout.STATUS_NEW
    # a row as the writer left it (most rows of a document): «Не обработано» and nothing typed in the other cells a
    # person fills; such a row is made without normalising and checking each cell (the same EditedRow build makes)
    blank = tuple(i for i in (comment_i, decision_i, note_i) if i is not None)
    reach = max((status_i, *blank))  # the row must be this long for the quick check
    # the quick check in one C call: (status, the cells a person fills) is one of these tuples
    pick = itemgetter(status_i, *blank)
    as_written = frozenset((status_new, *empty) for empty in product((None, ""), repeat=len(blank)))
    out: list[EditedRow] = []
    append = out.append
    # one string object per distinct rule id and owner: a reader makes a new one per cell, and a million-row
    # document repeats a few dozen of them (hundreds of MB held through the read-back otherwise)
    same = {}.setdefault
    missing = False  # a data row without a rule id
    for r, row in enumerate(rows, start=2):
        if row is None or deal_i >= len(row):
            continue
        deal = cell_text(value(row[deal_i]))
        if deal is None or not deal.strip():
            written = [c for c in (text(row, status_i), text(row, comment_i), text(row, decision_i)) if c and c.strip()]
            if written:  # someone's work in a row that cannot be matched: said, never dropped silently
                orphan = EditedRow("", "", sheet=title, row=r, status_cell=status_l + str(r))
                orphan.problems.append(EditProblem(
                    "no-deal-id", "", get_column_letter(deal_i + 1) + str(r),
                    template=N_("«{written}» in a row without «{header}»: not read — put the deal's id back"),
                    params={"written": "», «".join(written), "header": deal_id_header or layout.HEADER_DEAL_ID}))
                out.append(orphan)
            continue
        rule = value(row[rule_i]) if rule_i is not None and rule_i < len(row) else None
        rule = (cell_text(rule) or "").strip() if rule else ""  # a 0 or FALSE there is no rule id either
        rule = same(rule, rule)
        missing = missing or not rule
        n = str(r)
        try:
            quick = len(row) > reach and row[status_i] == status_new and pick(row) in as_written
        except TypeError:  # a cell object that cannot be hashed (a reader's own type): the full path checks it
            quick = False
        if quick:
            owner = text(row, owner_i)
            append(new_row(
                rule, deal if deal.isdigit() else normalise_id(deal), status_new, status_new, None, None, None, None,
                owner if owner is None else same(owner, owner), title, r,
                status_l + n, comment_l + n if comment_l else "", decision_l + n if decision_l else ""))
            continue
        append(
            build(
                rule, deal,
                status_raw=text(row, status_i),
                comment=text(row, comment_i),
                decision_raw=text(row, decision_i),
                decision_note=text(row, note_i),
                owner=text(row, owner_i),
                sheet=title, row=r,
                status_cell=status_l + n,
                comment_cell=comment_l + n if comment_l else "",
                decision_cell=decision_l + n if decision_l else "",
            )
        )
    if missing:
        sheet_rule = (rule_ids_by_code or {}).get(title.split(" ", 1)[0], "")
        if not sheet_rule:
            common = Counter(e.rule_id for e in out if e.rule_id).most_common(1)
            sheet_rule = common[0][0] if common else ""
        for e in out:
            if e.deal_id:
                e.rule_id = e.rule_id or sheet_rule
        out = [e for e in out if e.rule_id or not e.deal_id]
    return out
