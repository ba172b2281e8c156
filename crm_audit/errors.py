"""The project's error types: one per kind of failure a user can cause.

Every error a user can cause is a :class:`CrmAuditError`: the CLI prints its
``message`` (one paragraph: where, what was expected, what to do) and exits
with code 2 — never a traceback. Like pandera's ``SchemaError`` the errors
carry a machine-readable ``reason`` and the location (file, line, column, or
row and column name for data files) so tests and the library API can inspect
them without parsing text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crm_audit.i18n import _


@dataclass
class Problem:
    """One problem found in a YAML or data file."""

    message: str
    file: str | None = None
    line: int | None = None  # 1-based line in a YAML/text file
    col: int | None = None  # 1-based column in a YAML/text file
    row: int | None = None  # 1-based spreadsheet-style row in a data file (header = 1)
    column: str | None = None  # column header in a data file
    reason: str = "invalid"
    severity: str = "error"  # or "warning": reported, does not stop the run

    def location(self) -> str:
        if self.file is None:
            return ""
        loc = str(self.file)
        if self.line is not None:
            loc += f":{self.line}"
            if self.col is not None:
                loc += f":{self.col}"
        return loc

    def __str__(self) -> str:
        where = self.location()
        extra = []
        if self.row is not None:
            extra.append(_("row {n}").format(n=self.row))
        if self.column is not None:
            extra.append(_("column «{name}»").format(name=self.column))
        prefix = where
        if extra:
            prefix = f"{where} ({', '.join(extra)})" if where else ", ".join(extra)
        return f"{prefix}: {self.message}" if prefix else self.message


class CrmAuditError(Exception):
    """Base of every error a user can cause (exit code 2)."""

    kind = "error"

    def __init__(self, message: str | None = None, problems: list[Problem] | None = None, hint: str = ""):
        self.problems = list(problems or [])
        self.hint = hint
        if message is None:
            message = "\n".join(str(p) for p in self.problems)
        super().__init__(message)

    @property
    def message(self) -> str:
        text = str(self)
        if self.hint:
            text += f"\n{self.hint}"
        return text

    @property
    def reason(self) -> str:
        return self.problems[0].reason if self.problems else self.kind


class UsageError(CrmAuditError):
    """A command was called wrongly (missing option, file not found)."""

    kind = "usage"


class SettingsError(CrmAuditError):
    """``crm-audit.yaml`` is missing, not YAML, or does not validate."""

    kind = "settings"


class RuleError(CrmAuditError):
    """A rule file does not parse or does not validate."""

    kind = "rule"


class InputError(CrmAuditError):
    """An export file cannot be read or lacks what the rules need."""

    kind = "input"


class OutputError(CrmAuditError):
    """An output file cannot be written (locked by Excel, no such directory)."""

    kind = "output"


def file_problem(path: str | Path, message: str, reason: str, **where) -> InputError:
    """An :class:`InputError` about one export file (``where``: row, line, column of the problem)."""
    return InputError(problems=[Problem(message, file=str(path), reason=reason, **where)])
