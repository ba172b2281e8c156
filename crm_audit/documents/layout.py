"""The audit document's layout, defined once: sheet titles, rule-sheet columns, choices, column roles.

Every writer (the .xlsx workbook, the Google Sheet) and every reader of a
rule sheet takes its headers and choices from here. A rule sheet is:

* the :data:`~crm_audit.report.BASE_COLUMNS` (deal link, «ID сделки», title,
  «Ответственный», …), then the rule's evidence columns — filled by the audit;
* then :data:`PROCESS_COLUMNS`, in this order: «Статус» and «Комментарий»
  (managers write there), the due date, «Впервые в аудите», «Аудитов подряд»,
  «Примечание» (filled by the audit), «Решение» and «Комментарий
  руководителя» (the head of sales writes there), «ID правила» (last).

Rows are matched by («ID правила», «ID сделки») when read back, never by
position. Everything a manager reads is Russian.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from crm_audit.report import BASE_COLUMNS, STATUS_FIXED, STATUS_NEW, STATUS_NOT_FIXED, STATUSES, Column, RuleResult

__all__ = [
    "BASE_COLUMNS", "STATUSES", "STATUS_NEW", "STATUS_FIXED", "STATUS_NOT_FIXED",
    "DECISION_ACCEPTED", "DECISION_WARNING", "DECISIONS",
    "FAQ_TITLE", "HITS_TITLE", "NO_VIOLATIONS", "EXTRA_ROWS",
    "HEADER_DEAL_ID", "HEADER_OWNER", "HEADER_STATUS", "HEADER_COMMENT", "HEADER_DUE", "HEADER_FIRST_SEEN",
    "HEADER_STREAK", "HEADER_CARRY_NOTE", "HEADER_DECISION", "HEADER_DECISION_NOTE", "HEADER_RULE_ID",
    "Role", "ProcessColumn", "PROCESS_COLUMNS", "EDITABLE_HEADERS", "SheetColumn",
    "rule_sheet_columns", "rule_sheet_headers", "sheet_notes",
]

#: The head of sales' decisions (the «Решение» drop-down, in this order).
DECISION_ACCEPTED = "Принято"
DECISION_WARNING = "Предупреждение"
DECISIONS = (DECISION_ACCEPTED, DECISION_WARNING)

FAQ_TITLE = "FAQ"
HITS_TITLE = "Учет попаданий"
#: Shown right of the header of a rule sheet without violations.
NO_VIOLATIONS = "Нарушений не найдено"
#: Drop-downs and highlighting also cover this many rows below the data, so rows a manager adds get them too.
EXTRA_ROWS = 1000

HEADER_DEAL_ID = next(c.title for c in BASE_COLUMNS if c.key == "deal_id")  # «ID сделки»
HEADER_OWNER = next(c.title for c in BASE_COLUMNS if c.key == "owner")  # «Ответственный»
HEADER_STATUS = "Статус"
HEADER_COMMENT = "Комментарий"
HEADER_DUE = "Срок исправления"
HEADER_FIRST_SEEN = "Впервые в аудите"
HEADER_STREAK = "Аудитов подряд"
HEADER_CARRY_NOTE = "Примечание"
HEADER_DECISION = "Решение"
HEADER_DECISION_NOTE = "Комментарий руководителя"
HEADER_RULE_ID = "ID правила"


class Role(Enum):
    """Who fills a rule-sheet column."""

    LINK = "link"  # the deal's link in the CRM (a hyperlink on the cell)
    KEY = "key"  # matches a row on read-back: «ID сделки», «ID правила»
    DATA = "data"  # the deal's fields and the rule's evidence, from the export
    PROCESS = "process"  # filled by the audit: due date, first seen, streak, note
    MANAGER = "manager"  # managers write here: «Статус», «Комментарий»
    HEAD = "head"  # the head of sales writes here: «Решение», «Комментарий руководителя»

    @property
    def editable(self) -> bool:
        return self in (Role.MANAGER, Role.HEAD)


@dataclass(frozen=True)
class ProcessColumn:
    """A column after the evidence; ``key`` is the optional :attr:`RuleResult.rows` column that pre-fills it."""

    header: str
    key: str
    role: Role
    kind: str  # "text" | "date" | "int" | "choice"
    width: float
    choices: tuple[str, ...] = ()


# widths: a printed rule sheet (A4 landscape, fit to width) must stay readable (issue 16: ~7 pt, not 2.4 pt)
PROCESS_COLUMNS: tuple[ProcessColumn, ...] = (
    ProcessColumn(HEADER_STATUS, "status", Role.MANAGER, "choice", 16, STATUSES),
    ProcessColumn(HEADER_COMMENT, "comment", Role.MANAGER, "text", 30),
    ProcessColumn(HEADER_DUE, "due", Role.PROCESS, "date", 12),
    ProcessColumn(HEADER_FIRST_SEEN, "first_seen", Role.PROCESS, "date", 12),
    ProcessColumn(HEADER_STREAK, "streak", Role.PROCESS, "int", 9),
    ProcessColumn(HEADER_CARRY_NOTE, "carry_note", Role.PROCESS, "text", 22),
    ProcessColumn(HEADER_DECISION, "decision", Role.HEAD, "choice", 15, DECISIONS),
    ProcessColumn(HEADER_DECISION_NOTE, "decision_note", Role.HEAD, "text", 22),
    # the read-back key, last and narrow, outside the printed area (older workbooks keep it wherever it is)
    ProcessColumn(HEADER_RULE_ID, "rule_id", Role.KEY, "text", 10),
)

#: Headers of the columns people write in (everything else is filled by the audit).
EDITABLE_HEADERS = tuple(c.header for c in PROCESS_COLUMNS if c.role.editable)


@dataclass(frozen=True)
class SheetColumn:
    """One column of a rule sheet as laid out: header, where its values come from, who fills it."""

    header: str
    key: str  # the RuleResult.rows column (base/evidence), or the ProcessColumn key
    kind: str  # report ColumnKind for base/evidence; ProcessColumn.kind after them
    role: Role
    process: ProcessColumn | None = None


def _base_role(column: Column) -> Role:
    if column.kind == "link":
        return Role.LINK
    return Role.KEY if column.key == "deal_id" else Role.DATA


def rule_sheet_columns(result: RuleResult, *, deal_id_header: str | None = None) -> list[SheetColumn]:
    """The columns of ``result``'s sheet, in order. ``deal_id_header`` renames «ID сделки» (e.g. to name the CRM)."""
    out = [
        SheetColumn(deal_id_header if (c.key == "deal_id" and deal_id_header) else c.title, c.key, c.kind, _base_role(c))
        for c in BASE_COLUMNS
    ]
    out.extend(SheetColumn(c.title, c.key, c.kind, Role.DATA) for c in result.evidence)
    out.extend(SheetColumn(p.header, p.key, p.kind, p.role, p) for p in PROCESS_COLUMNS)
    return out


def rule_sheet_headers(result: RuleResult, *, deal_id_header: str | None = None) -> list[str]:
    """The header row of ``result``'s sheet."""
    return [c.header for c in rule_sheet_columns(result, deal_id_header=deal_id_header)]


def sheet_notes(result: RuleResult) -> list[str]:
    """Notes shown right of a rule sheet's header: no violations, why the rule was skipped or capped.

    A skipped rule's sheet says only that it was skipped and why: «Нарушений не найдено» there would read as a
    pass of a check that did not run."""
    empty = result.rows is None or not len(result.rows)
    notes = [NO_VIOLATIONS + "."] if empty and not result.skipped else []
    if result.note:
        notes.append(str(result.note))
    return notes


#: The document's custom properties: the audit's as-of date and the ledger that recorded it (a document moved or
#: passed with --previous is checked against them).
PROPERTY_AS_OF = "crm-audit as-of"
PROPERTY_LEDGER = "crm-audit ledger"
