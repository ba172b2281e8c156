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
from typing import Any, Protocol

from crm_audit.documents.layout import (  # noqa: F401 - re-exported: readers and writers import them from here too
    DECISION_ACCEPTED,
    DECISION_WARNING,
    DECISIONS,
    HEADER_COMMENT,
    HEADER_DEAL_ID,
    HEADER_DECISION,
    HEADER_DECISION_NOTE,
    HEADER_OWNER,
    HEADER_RULE_ID,
    HEADER_STATUS,
    STATUS_NOT_FIXED,
    STATUSES,
)
from crm_audit.i18n import N_
from crm_audit.textnorm import norm


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


@dataclass(frozen=True)
class EditProblem:
    """Something wrong in what a person wrote, at the cell it is in (kept as written, reported)."""

    code: str  # "unknown-status" | "unknown-decision" | "missing-comment" | "no-deal-id"
    message: str = ""  # in the current language, for the terminal and the ledger ("" when ``template`` gives it)
    cell: str = ""  # e.g. "N7": the cell to fix («Решение» for a decision, «Комментарий» for a missing comment)
    #: the English msgid (marked with ``N_``) and its values: shown in the CLI's language in the terminal and in
    #: Russian where it is written into the workbook (see :meth:`text`)
    template: str | None = field(default=None, compare=False)
    params: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.template is not None and not self.message:
            object.__setattr__(self, "message", self.text())

    def text(self, lang: str | None = None) -> str:
        """The problem's text in ``lang`` (default: the current language)."""
        if self.template is None:
            return self.message
        from crm_audit.errors import render

        return render(self.template, self.params, lang)

    def __str__(self) -> str:
        return self.message


def _blank_to_none(value: object) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value)


@dataclass(slots=True)  # a million-row document is a million of these (issue 17: memory of the read-back)
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
    comment_cell: str = ""  # the «Комментарий» cell ("" when the column is gone)
    decision_cell: str = ""  # the «Решение» cell ("" when the column is gone)
    problems: list[EditProblem] = field(default_factory=list)

    @classmethod
    def build(cls, rule_id, deal_id, status_raw=None, comment=None, decision_raw=None, decision_note=None, **kw) -> "EditedRow":
        """A row as read, normalised and checked; each problem names the cell it is in."""
        status_raw, decision_raw = _blank_to_none(status_raw), _blank_to_none(decision_raw)
        comment, decision_note = _blank_to_none(comment), _blank_to_none(decision_note)
        row = cls(str(rule_id).strip(), normalise_id(deal_id), status_raw, None, comment, decision_raw, None, decision_note, **kw)
        if status_raw is not None:
            row.status = normalise_choice(status_raw, STATUSES)
            if row.status is None:
                row.problems.append(EditProblem(
                    "unknown-status", "", row.status_cell, template=N_("unknown status «{value}» (expected one of: {known})"),
                    params={"value": status_raw, "known": ", ".join(STATUSES)}))
        if decision_raw is not None:
            row.decision = normalise_choice(decision_raw, DECISIONS)
            if row.decision is None:
                row.problems.append(EditProblem(
                    "unknown-decision", "", row.decision_cell or row.status_cell,
                    template=N_("unknown decision «{value}» (expected one of: {known})"),
                    params={"value": decision_raw, "known": ", ".join(DECISIONS)}))
        if row.status == STATUS_NOT_FIXED and comment is None:
            row.problems.append(EditProblem(
                "missing-comment", "", row.comment_cell or row.status_cell,
                template=N_("«{status}» without a comment (the comment is mandatory)"), params={"status": STATUS_NOT_FIXED}))
        return row


class EditsReader(Protocol):
    """A document backend that can return what people wrote in it."""

    def read_edits(self) -> list[EditedRow]: ...
