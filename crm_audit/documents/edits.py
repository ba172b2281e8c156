"""What managers and the head of sales wrote in the audit document.

The read-back interface shared by every document backend (the .xlsx
workbook, the Google Sheet): a reader returns :class:`EditedRow` objects,
matched later by (rule id, deal id) — never by position, since managers sort,
filter, delete and reorder rows. Values are kept as written (``status_raw``)
plus normalised (``status``), so a hand-typed «не  исправлено » is understood
and still reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from crm_audit.report import STATUSES
from crm_audit.textnorm import norm

DECISION_ACCEPTED = "Принято"
DECISION_WARNING = "Предупреждение"
DECISIONS = (DECISION_ACCEPTED, DECISION_WARNING)

#: Column headers the read-back looks for on a rule sheet.
HEADER_STATUS = "Статус"
HEADER_COMMENT = "Комментарий"
HEADER_DECISION = "Решение"
HEADER_DECISION_NOTE = "Комментарий руководителя"
HEADER_RULE_ID = "ID правила"
HEADER_DEAL_ID = "ID сделки"
HEADER_OWNER = "Ответственный"


def normalise_choice(value: object, choices: tuple[str, ...]) -> str | None:
    """The choice ``value`` means (case, spaces, ё ignored), or None."""
    n = " ".join(norm(value).split())
    for c in choices:
        if norm(c) == n:
            return c
    return None


def normalise_id(value: object) -> str:
    """Deal ids come back from Excel/LibreOffice as 123.0 or 123 (number)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    s = str(value).strip()
    if s.endswith(".0") and s[:-2].lstrip("-").isdigit():
        return s[:-2]
    return s


@dataclass
class EditedRow:
    rule_id: str
    deal_id: str
    status_raw: str | None = None  # as written in the cell
    status: str | None = None  # one of STATUSES, or None when empty/unknown
    comment: str | None = None
    decision_raw: str | None = None
    decision: str | None = None  # one of DECISIONS, or None
    decision_note: str | None = None
    owner: str | None = None
    sheet: str = ""
    row: int | None = None  # 1-based row in the sheet (for messages only)
    status_cell: str = ""  # e.g. "M7", for messages only
    problems: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, rule_id, deal_id, status_raw=None, comment=None, decision_raw=None, decision_note=None, **kw) -> "EditedRow":
        status_raw = None if status_raw is None or str(status_raw).strip() == "" else str(status_raw)
        decision_raw = None if decision_raw is None or str(decision_raw).strip() == "" else str(decision_raw)
        comment = None if comment is None or str(comment).strip() == "" else str(comment)
        decision_note = None if decision_note is None or str(decision_note).strip() == "" else str(decision_note)
        row = cls(str(rule_id).strip(), normalise_id(deal_id), status_raw, None, comment, decision_raw, None, decision_note, **kw)
        if status_raw is not None:
            row.status = normalise_choice(status_raw, STATUSES)
            if row.status is None:
                row.problems.append(f"unknown status «{status_raw}» (expected one of: {', '.join(STATUSES)})")
        if decision_raw is not None:
            row.decision = normalise_choice(decision_raw, DECISIONS)
            if row.decision is None:
                row.problems.append(f"unknown decision «{decision_raw}» (expected one of: {', '.join(DECISIONS)})")
        if row.status == STATUSES[2] and comment is None:
            row.problems.append("«Не исправлено» without a comment (the comment is mandatory)")
        return row


class EditsReader(Protocol):
    """A document backend that can return what people wrote in it."""

    def read_edits(self) -> list[EditedRow]: ...
