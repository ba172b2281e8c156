"""The project's error types: one per kind of failure a user can cause.

Every error a user can cause is a :class:`CrmAuditError`: the CLI prints its
``message`` (one paragraph: where, what was expected, what to do) and exits
with code 2 — never a traceback. Like pandera's ``SchemaError`` the errors
carry a machine-readable ``reason`` and the location (file, line, column, or
row and column name for data files) so tests and the library API can inspect
them without parsing text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crm_audit.i18n import _, current_language, translations


@dataclass(frozen=True)
class Msg:
    """A text to show, kept as its English msgid (marked with ``N_``) and its values, made in a language where it
    is shown. A value may itself be a :class:`Msg` (a type description such as «a date», a «did you mean» hint):
    it is made in the same language."""

    template: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str | None = None) -> str:
        return render(self.template, self.params, lang)

    def __str__(self) -> str:
        return self.text()


class ByLanguage(dict):
    """A text the data gives in several languages (a profile's ``{en: …, ru: …}``): the one of the language it is
    shown in (else the English, else the first)."""

    def text(self, lang: str | None = None) -> str:
        lang = lang or current_language()
        return self.get(lang) or self.get("en") or next(iter(self.values()), "")

    def __str__(self) -> str:
        return self.text()


def rule_name(rule_id: str, title: str = ""):
    """How a line names a rule after its code: its title in Russian («1.1 Открытые без задач»), its id in English
    («1.1 open-deal-without-tasks»: the titles are the team's Russian words)."""
    return ByLanguage({"en": rule_id, "ru": title}) if title else rule_id


def render(template: str, params: dict[str, Any] | None = None, lang: str | None = None) -> str:
    """``template`` (an English msgid) in ``lang`` (default: the current language) with ``params`` filled in;
    a :class:`Msg` value is made in the same language, a list (of texts or Msgs) joined with «, »."""
    lang = lang or current_language()

    def value(v: Any) -> Any:
        if isinstance(v, (Msg, ByLanguage)):
            return v.text(lang)
        if isinstance(v, (list, tuple)):
            return ", ".join(str(value(x)) for x in v)
        return v

    return translations(lang).gettext(template).format(**{k: value(v) for k, v in (params or {}).items()})


@dataclass
class Problem:
    """One problem found in a YAML or data file.

    Made with ``template`` (the English msgid, marked with ``N_``) and ``params``, like
    :class:`crm_audit.report.DataWarning`: ``message`` is then the text in the current language, and
    :meth:`text` makes it in any language. A problem made with a finished ``message`` keeps it as given."""

    message: str = ""
    file: str | None = None
    line: int | None = None  # 1-based line in a YAML/text file
    col: int | None = None  # 1-based column in a YAML/text file
    row: int | None = None  # 1-based spreadsheet-style row in a data file (header = 1)
    column: str | None = None  # column header in a data file
    reason: str = "invalid"
    severity: str = "error"  # or "warning": reported, does not stop the run
    template: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.template is not None and not self.message:
            self.message = render(self.template, self.params)

    def text(self, lang: str | None = None) -> str:
        """The problem's own text (without its place) in ``lang`` (default: the current language)."""
        if self.template is None:
            return self.message
        return render(self.template, self.params, lang)

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
            text += "\n" + _(self.hint)  # a msgid (marked with N_) is shown in the current language
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


def file_problem(path: str | Path, message: str, reason: str, params: dict[str, Any] | None = None, **where) -> InputError:
    """An :class:`InputError` about one export file (``where``: row, line, column of the problem); with ``params``,
    ``message`` is the msgid (marked with ``N_``) they fill in."""
    if params is not None:
        return InputError(problems=[Problem(template=message, params=params, file=str(path), reason=reason, **where)])
    return InputError(problems=[Problem(message, file=str(path), reason=reason, **where)])
