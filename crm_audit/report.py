"""The audit result as the writers (xlsx, CSV, Google Sheets, HTML) see it.

This module is the contract between the engine and every exporter: the engine
fills an :class:`AuditReport`, the writers in ``exporters/`` only read it.
Nothing here knows about DuckDB or about a particular CRM.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from gettext import NullTranslations
from typing import TYPE_CHECKING, Any, Literal

from crm_audit.errors import Msg, rule_name
from crm_audit.i18n import N_
from crm_audit.textnorm import display_names

if TYPE_CHECKING:  # pandas is imported where rows are made: a command that only reads the ledger needs none
    import pandas as pd

ColumnKind = Literal["text", "number", "int", "date", "link"]

#: Statuses a manager sets on a row (the drop-down, in this order).
STATUS_NEW = "Не обработано"
STATUS_FIXED = "Исправлено"
STATUS_NOT_FIXED = "Не исправлено"
STATUSES = (STATUS_NEW, STATUS_FIXED, STATUS_NOT_FIXED)

#: Deal states as a manager reads them (canonical status -> Russian).
STATE_TITLES = {"open": "Открыта", "won": "Выиграна", "lost": "Проиграна", "deleted": "Удалена"}
#: the state of a deal closed in a stage of the settings' won_stages: / lost_stages: while `closed_stages_confirmed:
#: false` (init's guess from an export that does not tell won from lost): never a bare «Проиграна» for a won deal
STATE_GUESSED = "Закрыта (исход не подтверждён)"


@dataclass(frozen=True)
class Column:
    """One column of a rule sheet / of the violations CSV.

    ``key`` is the column name in :attr:`RuleResult.rows` and in the CSV
    (ASCII, stable); ``title`` is the Russian header a manager sees.
    """

    key: str
    title: str
    kind: ColumnKind = "text"
    #: changes with the audit date alone (days in stage): not an "audited field"
    #: when deciding whether a deal changed since a waiver
    volatile: bool = False


#: Columns every violation row carries, before the rule's evidence columns.
BASE_COLUMNS: tuple[Column, ...] = (
    Column("deal_url", "Ссылка на сделку", "link"),
    Column("deal_id", "ID сделки", "text"),
    Column("title", "Название сделки", "text"),
    Column("owner", "Ответственный", "text"),
    Column("state", "Состояние", "text"),
    Column("reason", "Причина проигрыша / выигрыша", "text"),
    Column("pipeline", "Воронка", "text"),
    Column("stage", "Этап", "text"),
)


#: Base columns that are the deal's audited fields (hashed with the rule's
#: non-volatile evidence into a row's fingerprint, see workflow.fingerprints).
FINGERPRINT_BASE = ("title", "owner", "state", "reason", "pipeline", "stage")

#: Optional column of :attr:`RuleResult.rows` filled by the engine: the row's
#: fingerprint (16 hex digits); writers ignore it.
FINGERPRINT_COLUMN = "_fingerprint"


@dataclass
class RuleResult:
    """Violations of one rule.

    ``rows`` has one row per flagged deal, already sorted by owner then deal,
    with the columns ``[c.key for c in BASE_COLUMNS]`` followed by
    ``[c.key for c in evidence]``. Values are Python/pandas scalars: str,
    float/int, ``datetime.date`` or missing (None/NaN/NaT). ``state`` holds the
    Russian state title (see :data:`STATE_TITLES`).
    """

    rule_id: str
    code: str
    title: str  # short title without the code, e.g. "Открытые сделки без задач"
    criticality: int
    sheet_title: str  # "<code> <title>", at most 31 characters
    evidence: list[Column]
    rows: pd.DataFrame
    what: str = ""  # what is wrong (FAQ)
    why: str = ""  # why it matters (FAQ)
    how: str = ""  # how to fix it (FAQ)
    scope_text: str = ""  # plain-Russian scope, e.g. "открытые сделки"
    note: str = ""  # shown on the sheet, e.g. why the rule was skipped
    skipped: bool = False  # the rule did not run (the export lacks what it needs); ``note`` says why

    @property
    def count(self) -> int:
        return len(self.rows)


@dataclass
class DataWarning:
    """A data problem that did not stop the run (unknown stage, bad id ...)."""

    code: str
    message: str  # the text in the CLI's language ("" when ``template`` gives it)
    file: str | None = None
    row: int | None = None
    column: str | None = None
    #: the English msgid (marked with ``N_``) and its values: the text is rendered where it is shown, in the
    #: CLI's language in the terminal and in Russian on the workbook's FAQ (a manager's page is Russian)
    template: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    #: with ``template``, its English plural (a counted text): the form for ``params["n"]`` is shown (Russian has three)
    plural: str | None = None

    def __post_init__(self) -> None:
        if self.template is not None and not self.message:
            self.message = self.text(None)

    def text(self, lang: str | None) -> str:
        """The warning's own text in ``lang`` (None: the CLI's; ``message`` as made when it has no template)."""
        if self.template is None:
            return self.message
        from crm_audit.errors import render  # a value that is a msgid itself (crm_audit.errors.Msg) in ``lang`` too

        if self.plural is None:
            return render(self.template, self.params, lang)
        from crm_audit.errors import ByLanguage, Msg
        from crm_audit.i18n import current_language, translations

        lang = lang or current_language()
        form = translations(lang).ngettext(self.template, self.plural, int(self.params["n"]))
        return form.format(**{k: v.text(lang) if isinstance(v, (Msg, ByLanguage)) else v for k, v in self.params.items()})

    def line(self) -> str:
        """The warning as one line of text: ``deals.csv row 3 «Stage»: message`` (the file by its name)."""
        from pathlib import PurePath

        from crm_audit.i18n import _

        where = PurePath(self.file).name if self.file else ""
        if self.row:
            where += " " + _("row {n}").format(n=self.row)
        if self.column:
            where += f" «{self.column}»"
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True)
class SkippedRule:
    """A rule that did not run because the export lacks what it reads (decided before the backend runs)."""

    rule_id: str
    code: str
    entity: str  # the rule language's entity it reads: deal | org | person | tasks
    field: str  # the first field it reads that is not there, e.g. "tasks.open_count"
    #: "no-file": the export has no file of that entity at all; "not-exported": the CRM's
    #: profile declares the data unsupported (``unsupported:``) and the export lacks it
    #: "off": the settings switch the rule off with a reason (rules: skip:, written by `init --from-export`)
    #: "no-stage-change": the deals file has no column of the last stage change (``column``), so days in stage cannot be
    #: counted (every CRM alike; ``profile_reason``: the CRM's own words where its export never has it)
    #: "empty-list": a list from the settings the rule compares with is empty (``setting``), so it could flag no deal;
    #: ``field`` the deal field compared, ``column`` its export header, ``values`` the export's values of it to pick from
    reason: Literal["no-file", "not-exported", "off", "no-stage-change", "empty-list"]
    profile_reason: str | None = None  # the profile's own explanation (Russian), for "not-exported" / "no-stage-change"
    title: str = ""  # the rule's (Russian) title: how a Russian line names the rule
    column: str = ""  # "no-stage-change": the export header the profile expects (as this export would write it)
    #: "no-file" when a file of the entity IS in the folder but was not recognised (its headers are not the CRM's
    #: names): that file's name — the reason says so and how to map its columns, never "export the file" (issue 13 M3)
    file: str = ""
    #: with ``file``: the fields of the entity to map in `columns:` when the file has a column for each field the rule
    #: reads but lacks another its entity needs (its id: acceptance X1); empty: the rule's own fields
    map_fields: tuple[str, ...] = ()
    setting: str = ""  # "empty-list": the settings list (frozen_lost_reasons, partner_managers, lists.<name>)
    values: tuple[str, ...] = ()  # "empty-list": the export's values of ``field`` (the first few; «…» when more)


#: Why a rule is skipped when the export has no file of an entity (Russian: shown on the sheet).
NO_FILE_REASONS = {
    "tasks": "в выгрузке нет файла задач (activities.csv), поэтому задачи сделок проверить нельзя — "
             "выгрузите из CRM задачи («Activities») в ту же папку и запустите аудит снова",
    "org": "в выгрузке нет файла организаций (organizations.csv), поэтому поля организаций проверить нельзя — "
           "выгрузите из CRM организации в ту же папку и запустите аудит снова",
    "person": "в выгрузке нет файла контактов (persons.csv), поэтому поля контактов проверить нельзя — "
              "выгрузите из CRM контакты («Persons») в ту же папку и запустите аудит снова",
}


def skipped_reason(skip: SkippedRule) -> str:
    """Why a rule was skipped, in Russian for the manager (the rule sheet's note, the summary, ``inspect``)."""
    if skip.reason == "no-file" and (skip.file or (skip.profile_reason and skip.entity in SKIPPED_NO_FILE_HOW)):
        return skipped_why(skip).text("ru")
    if skip.reason == "no-file":
        return NO_FILE_REASONS.get(skip.entity, "в выгрузке нет нужного файла")
    if skip.reason == "off":
        return f"правило отключено при настройке аудита: {skip.profile_reason}"  # no settings jargon on the managers' sheet
    if skip.reason in ("no-stage-change", "empty-list"):
        return skipped_why(skip).text("ru")
    return skip.profile_reason or "в выгрузке этой CRM нет таких данных"


def skipped_note(skip: SkippedRule) -> str:
    """The note on a skipped rule's sheet."""
    return f"Правило пропущено: {skipped_reason(skip)}"


@dataclass(frozen=True)
class BlankColumn:
    """A column of the export that is blank in every row (the sign of an export that lost its values)."""

    entity: str  # deals | organizations | persons | activities
    field: str  # the canonical field or the custom field's export name
    column: str  # the export header(s)
    file: str
    rows: int  # rows of the file (all blank in this column)
    needed_by: tuple[str, ...] = ()  # rule ids that read it


@dataclass(frozen=True)
class UnjudgedDeals:
    """Deals in a rule's scope that the rule could not judge: the date it compares is empty."""

    rule_id: str
    code: str
    field: str  # the rule field compared, e.g. "deal.days_in_stage"
    count: int
    column: str  # the export column(s) the value comes from
    title: str = ""  # the rule's (Russian) title: how a Russian line names the rule
    # "deals": the deals' own date is empty; "deals_unread": empty, or written in a cell that did not read (warn);
    # "tasks": an open task of the deal has a due date written that did not read (2.3)
    kind: str = "deals"


def _ru_plural(n: int, one: str, few: str, many: str) -> str:
    """The Russian form for ``n``: «1 сделка», «3 сделки», «5 сделок» (the sheets are Russian whatever the CLI speaks)."""
    return one if n % 10 == 1 and n % 100 != 11 else few if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else many


def blank_column_note(b: BlankColumn) -> str:
    """Russian: the warning on the terminal, in ``inspect`` and on the sheets of the rules that read the column."""
    rows = "в единственной строке" if b.rows == 1 else f"во всех {b.rows} строках"
    return (f"столбец «{b.column}» в файле {_file_name(b.file)} пуст {rows} — похоже, выгрузка "
            f"потеряла его значения; правила, которые его читают, считают его пустым у каждой записи — проверьте выгрузку")


def unjudged_note(u: UnjudgedDeals) -> str:
    """Russian: how many deals a rule could not judge, and why."""
    n = u.count
    deals = f"{n} {_ru_plural(n, 'сделка', 'сделки', 'сделок')}"
    one = _ru_plural(n, True, False, False)
    if u.kind == "tasks":
        return (f"{deals} в области правила не {'проверена' if one else 'проверены'}: у {'её' if one else 'их'} открытых "
                f"задач не прочитан «{u.column}» (правилу нужна эта дата) — исправьте срок в CRM или в выгрузке")
    if u.kind == "deals_unread":
        return (f"{deals} в области правила не {'проверена' if one else 'проверены'}: у {'неё' if one else 'них'} не "
                f"заполнено или не прочитано «{u.column}» (правилу нужна эта дата) — заполните или исправьте её в CRM "
                f"или в выгрузке")
    return (f"{deals} в области правила не {'проверена' if one else 'проверены'}: у {'неё' if one else 'них'} не заполнено "
            f"«{u.column}» (правилу нужна эта дата) — заполните её в CRM или добавьте столбец в выгрузку")


# ------------------------------------------------------------------ the notes as the terminal and the FAQ show them
# A skipped rule, a blank column and the deals a rule could not judge are said on the rule's sheet (Russian, above)
# and as data warnings: those carry their msgid and values, so the terminal says them in the CLI's language and the
# FAQ in Russian.

_ENGLISH = NullTranslations()  # a counted msgid's English forms (the catalogue extraction sees the ngettext call)


def _forms(pick: Callable[[int], str]) -> tuple[str, str]:
    return pick(1), pick(2)


SKIPPED = N_("{code} {rule}: Rule skipped: {why}")
SKIPPED_NO_FILE = {
    "tasks": N_("the export has no tasks file (activities.csv), so the deals' tasks cannot be checked — export the tasks "
                "(«Activities») from the CRM into the same folder and run the audit again"),
    "org": N_("the export has no organizations file (organizations.csv), so the organizations' fields cannot be checked — "
              "export the organizations from the CRM into the same folder and run the audit again"),
    "person": N_("the export has no persons file (persons.csv), so the persons' fields cannot be checked — export the "
                 "persons («Persons») from the CRM into the same folder and run the audit again"),
}
#: the same, with how this CRM exports the file (the profile's `export_files:`, Russian words; acceptance Q5)
SKIPPED_NO_FILE_HOW = {
    "tasks": N_("the export has no tasks file, so the deals' tasks cannot be checked — {how} into the same folder and run "
                "the audit again"),
    "org": N_("the export has no organizations file, so the organizations' fields cannot be checked — {how} into the same "
              "folder and run the audit again"),
    "person": N_("the export has no persons file, so the persons' fields cannot be checked — {how} into the same folder and "
                 "run the audit again"),
}
SKIPPED_NO_FILE_OTHER = N_("the export lacks a file the rule needs")
#: the entity's file is in the folder but was not recognised (issue 13 M3)
SKIPPED_UNRECOGNISED = N_("{file} is in the export folder but was not recognised as the «{entity}» file: none of its "
                          "columns is named as this CRM names {columns} — map its columns in crm-audit.yaml "
                          "(columns: {{{key}: {{{fields}}}}}, each the header your file has) and run the audit again")
#: the rule language's entity -> the export's entity (the settings' `columns:` key) and its file's word
_UNRECOGNISED_KEYS = {"tasks": ("activities", N_("activities (tasks)")), "org": ("organizations", N_("organizations")),
                      "person": ("persons", N_("persons (contacts)"))}
#: the fields a task rule reads (crm_audit/engine/requirements.py TASK_NEEDS)
_TASK_FIELDS = ("deal_id", "done", "due_date")
SKIPPED_OFF = N_("the rule is switched off in the settings (rules: skip:): {why}")
#: a rule comparing a field with an empty list from the settings flags nothing (issue 13 acceptance O1)
SKIPPED_EMPTY_LIST = N_("the settings list {setting} is empty, so the rule cannot flag any deal (it compares «{column}» with "
                        "it) — list the values that count in crm-audit.yaml ({setting}: [...]); the export has: {values}; "
                        "if your team has none, switch the rule off (rules: skip: {rule}: <why>)")
SKIPPED_EMPTY_LIST_NO_VALUES = N_("the settings list {setting} is empty, so the rule cannot flag any deal (it compares "
                                  "«{column}» with it) — list the values that count in crm-audit.yaml ({setting}: [...]); "
                                  "if your team has none, switch the rule off (rules: skip: {rule}: <why>)")
SKIPPED_NOT_EXPORTED = N_("this CRM's export has no such data")
SKIPPED_NOT_EXPORTED_WHY = N_("this CRM's export has no such data: {why}")
SKIPPED_NO_STAGE_CHANGE = N_("the deals file has no «{column}» column (the date of the last stage change), so the days "
                             "in stage cannot be counted (counting them from the creation date would flag every deal "
                             "created long ago) — if your export has this date under another name, map it in "
                             "crm-audit.yaml (columns: {{deals: {{stage_changed: <header>}}}}), or add the column to "
                             "the export")
SKIPPED_NO_STAGE_CHANGE_WHY = N_("{why} — if your export has this date («{column}» or another name), map it in "
                                 "crm-audit.yaml (columns: {{deals: {{stage_changed: <header>}}}})")
BLANK_COLUMN_ONE = N_("column «{column}» of {file} is blank in its only row — the export seems to have lost its values; rules "
                      "that read it take it as empty in every record — check the export")
BLANK_COLUMN = _forms(lambda n: _ENGLISH.ngettext(
    "column «{column}» of {file} is blank in all {n} rows — the export seems to have lost its values; rules that read it take "
    "it as empty in every record — check the export",
    "column «{column}» of {file} is blank in all {n} rows — the export seems to have lost its values; rules that read it take "
    "it as empty in every record — check the export", n))
UNJUDGED = _forms(lambda n: _ENGLISH.ngettext(
    "{code} {rule}: {n} deal in the rule's scope was not judged: its «{column}» is empty (the rule needs this date) — fill "
    "it in the CRM or add the column to the export",
    "{code} {rule}: {n} deals in the rule's scope were not judged: their «{column}» is empty (the rule needs this date) — "
    "fill it in the CRM or add the column to the export", n))


#: … when some of those deals have the date written in a cell that did not read (``on_bad_value: warn``)
UNJUDGED_UNREAD = _forms(lambda n: _ENGLISH.ngettext(
    "{code} {rule}: {n} deal in the rule's scope was not judged: its «{column}» is empty or did not read (the rule needs "
    "this date) — fill or fix it in the CRM or in the export",
    "{code} {rule}: {n} deals in the rule's scope were not judged: their «{column}» is empty or did not read (the rule "
    "needs this date) — fill or fix it in the CRM or in the export", n))
#: … when the date is the due date of the deal's open tasks (2.3) written in a cell that did not read (warn)
UNJUDGED_TASKS = _forms(lambda n: _ENGLISH.ngettext(
    "{code} {rule}: {n} deal in the rule's scope was not judged: the «{column}» of its open tasks did not read (the rule "
    "needs this date) — fix the due date in the CRM or in the export",
    "{code} {rule}: {n} deals in the rule's scope were not judged: the «{column}» of their open tasks did not read (the "
    "rule needs this date) — fix the due date in the CRM or in the export", n))


#: the same notes next to their rule (``inspect`` names the rule in its own column)
UNJUDGED_HERE = _forms(lambda n: _ENGLISH.ngettext(
    "{n} deal in the rule's scope cannot be judged: its «{column}» is empty (the rule needs this date)",
    "{n} deals in the rule's scope cannot be judged: their «{column}» is empty (the rule needs this date)", n))
UNJUDGED_UNREAD_HERE = _forms(lambda n: _ENGLISH.ngettext(
    "{n} deal in the rule's scope cannot be judged: its «{column}» is empty or does not read (the rule needs this date)",
    "{n} deals in the rule's scope cannot be judged: their «{column}» is empty or does not read (the rule needs this "
    "date)", n))
UNJUDGED_TASKS_HERE = _forms(lambda n: _ENGLISH.ngettext(
    "{n} deal in the rule's scope cannot be judged: the «{column}» of its open tasks does not read (the rule needs this "
    "date)",
    "{n} deals in the rule's scope cannot be judged: the «{column}» of their open tasks does not read (the rule needs "
    "this date)", n))
BLANK_HERE = N_("«{column}» is blank in every row of {file}")


def unjudged_here(u: UnjudgedDeals) -> str:
    """The deals a rule cannot judge, said next to the rule, in the CLI's language."""
    forms = {"tasks": UNJUDGED_TASKS_HERE, "deals_unread": UNJUDGED_UNREAD_HERE}.get(u.kind, UNJUDGED_HERE)
    return DataWarning("rule-unjudged", "", template=forms[0], plural=forms[1],
                       params={"n": u.count, "column": u.column}).message


def blank_here(b: BlankColumn) -> str:
    """A blank column a rule reads, said next to the rule, in the CLI's language."""
    return DataWarning("blank-column", "", template=BLANK_HERE, params={"column": b.column, "file": _file_name(b.file)}).message


def skipped_why(skip: SkippedRule) -> Msg:
    """Why a rule was skipped, as a text to make in any language."""
    if skip.reason == "no-file" and skip.file and skip.entity in _UNRECOGNISED_KEYS:
        key, word = _UNRECOGNISED_KEYS[skip.entity]
        names = skip.map_fields or (_TASK_FIELDS if skip.entity == "tasks" else (skip.field.split(".", 1)[-1],))
        columns = ", ".join(f"«{c.strip()}»" for c in skip.column.split(",")) if skip.column else ""
        return Msg(SKIPPED_UNRECOGNISED, {"file": skip.file, "entity": Msg(word), "columns": columns, "key": key,
                                          "fields": ", ".join(f"{n}: <header>" for n in names)})
    if skip.reason == "no-file":
        if skip.profile_reason and skip.entity in SKIPPED_NO_FILE_HOW:  # the CRM's own export named (Q5)
            return Msg(SKIPPED_NO_FILE_HOW[skip.entity], {"how": skip.profile_reason})
        return Msg(SKIPPED_NO_FILE.get(skip.entity, SKIPPED_NO_FILE_OTHER))
    if skip.reason == "off":
        return Msg(SKIPPED_OFF, {"why": skip.profile_reason})  # the team's own words, as written in the settings
    if skip.reason == "empty-list":
        params = {"setting": skip.setting, "column": skip.column or skip.field, "rule": skip.rule_id,
                  "values": ", ".join(skip.values)}
        return Msg(SKIPPED_EMPTY_LIST if skip.values else SKIPPED_EMPTY_LIST_NO_VALUES, params)
    if skip.reason == "no-stage-change":
        return (Msg(SKIPPED_NO_STAGE_CHANGE_WHY, {"why": skip.profile_reason, "column": skip.column}) if skip.profile_reason
                else Msg(SKIPPED_NO_STAGE_CHANGE, {"column": skip.column}))
    return Msg(SKIPPED_NOT_EXPORTED_WHY, {"why": skip.profile_reason}) if skip.profile_reason else Msg(SKIPPED_NOT_EXPORTED)


def skipped_warning(skip: SkippedRule) -> DataWarning:
    """A skipped rule as a data warning: «1.1 open-deal-without-tasks: Rule skipped: …» (Russian: the rule's title)."""
    return DataWarning("rule-skipped", "", template=SKIPPED,
                       params={"code": skip.code, "rule": rule_name(skip.rule_id, skip.title), "why": skipped_why(skip)})


def blank_column_warning(b: BlankColumn) -> DataWarning:
    """A column blank in every row as a data warning (its file and column named)."""
    params = {"column": b.column, "file": _file_name(b.file), "n": b.rows}
    if b.rows == 1:
        return DataWarning("blank-column", "", b.file, None, b.column, template=BLANK_COLUMN_ONE, params=params)
    return DataWarning("blank-column", "", b.file, None, b.column, template=BLANK_COLUMN[0], params=params, plural=BLANK_COLUMN[1])


def unjudged_warning(u: UnjudgedDeals) -> DataWarning:
    """The deals a rule could not judge (no date to compare) as a data warning."""
    forms = {"tasks": UNJUDGED_TASKS, "deals_unread": UNJUDGED_UNREAD}.get(u.kind, UNJUDGED)
    return DataWarning("rule-unjudged", "", template=forms[0], plural=forms[1],
                       params={"code": u.code, "rule": rule_name(u.rule_id, u.title), "n": u.count, "column": u.column})


STAGE_COLUMNS_USED = N_("{code} {rule}: days in stage are read from the export's one column per stage ({pattern}, "
                        "columns: {n}): each deal's date is the cell of its own stage's and pipeline's column, a blank "
                        "cell counts from the creation date")


def stage_columns_note(pattern: str, n: int) -> str:
    """Russian, on the sheet of a rule on days in stage: where the date a deal entered its stage comes from."""
    return (f"Дни на этапе взяты из колонок выгрузки «{pattern}» (по колонке на этап, колонок: {n}): у каждой сделки — "
            f"дата из колонки её этапа и воронки, при пустой ячейке — дата создания сделки.")


def stage_columns_warning(code: str, rule_id: str, title: str, pattern: str, n: int, file: str) -> DataWarning:
    """The same fact for the terminal (the CLI's language) and the FAQ (Russian)."""
    return DataWarning("stage-columns", "", file, template=STAGE_COLUMNS_USED,
                       params={"code": code, "rule": rule_name(rule_id, title), "pattern": pattern, "n": n})


def _file_name(path: str) -> str:
    from pathlib import PurePath

    return PurePath(path).name


@dataclass
class HitHistory:
    """Hits per manager per audit, for «Учет попаданий» (earlier audits from the ledger + this one)."""

    dates: list[dt.date]
    by_owner: dict[str, list[int]]  # manager (as spelled most often) -> hits per date
    warnings: dict[str, int] = field(default_factory=dict)  # manager -> head of sales' warnings
    never: list[str] = field(default_factory=list)  # deal owners who never appear


@dataclass
class ChangeCounts:
    """Findings that changed between two audits (see :mod:`crm_audit.history.changes`)."""

    new: int = 0
    resolved: int = 0
    still_open: int = 0
    fixed_failing: int = 0
    accepted: int = 0
    warned: int = 0

    def add(self, other: "ChangeCounts") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class Changes:
    since: dt.date | None  # the previous audit (None: this is the first one)
    as_of: dt.date
    team: ChangeCounts = field(default_factory=ChangeCounts)
    by_manager: dict[str, ChangeCounts] = field(default_factory=dict)  # manager as «Учет попаданий» spells them
    #: findings left out of the comparison, per rule («1.8», or the rule id when this audit does not know its code): their
    #: rule did not run in one of the two audits (switched off, skipped for want of data), so they are neither new nor resolved
    not_compared: dict[str, int] = field(default_factory=dict)


@dataclass
class AuditReport:
    as_of: dt.date
    generated_at: dt.datetime
    due_date: dt.date  # date managers must finish by (as_of + due_days)
    results: list[RuleResult]
    deal_count: int = 0  # audited (non-deleted) deals
    warnings: list[DataWarning] = field(default_factory=list)
    source: str = ""  # the export directory, for the FAQ / summary
    crm: str = ""
    #: {export file name: sha256 prefix} of the files this audit read (same files = same export)
    input_fingerprints: dict[str, str] = field(default_factory=dict)
    #: rows read per entity (deals, activities, …)
    entity_rows: dict[str, int] = field(default_factory=dict)
    #: every deal owner of the export (also those without a violation)
    owners: list[str] = field(default_factory=list)
    #: filled by the audit cycle from the ledger; None for a one-off audit
    hit_history: HitHistory | None = None
    #: what changed since the previous audit (filled by the audit cycle; None for a one-off audit)
    changes: Changes | None = None
    #: the ledger that records this audit (its id goes into the documents; "" for a one-off audit)
    ledger_id: str = ""
    #: the rules that did not run (their RuleResult has ``skipped`` and the note), and why
    skipped: list[SkippedRule] = field(default_factory=list)
    #: columns blank in every row, with the rules that read them
    blank_columns: list[BlankColumn] = field(default_factory=list)
    #: per rule, the deals in scope it could not judge (no date to compare)
    unjudged: list[UnjudgedDeals] = field(default_factory=list)
    #: the newest date the export's deals hold (created, last stage change): how fresh the export is; None if unknown
    newest_date: dt.date | None = None

    @property
    def total(self) -> int:
        return sum(r.count for r in self.results)

    def hits_by_owner(self) -> pd.DataFrame:
        """Owner x rule_id counts with a ``total`` column, sorted by total desc."""
        import pandas as pd

        # counted per rule (a few dozen owners each), not over one frame of every finding (1.5M rows pivoted: ~0.5 s)
        counts = {r.rule_id: r.rows["owner"].fillna("").astype(str).value_counts() for r in self.results if r.count}
        cols = [r.rule_id for r in self.results]
        if not counts:
            return pd.DataFrame(columns=["owner", *cols, "total"])
        table = pd.DataFrame(counts).fillna(0).astype("int64")
        # one row per manager however the CRM spells the name (case, spaces, «ё»)
        names = display_names({str(k): int(v) for k, v in table.sum(axis=1).items()})
        table = table.groupby(table.index.map(names)).sum()
        table.index.name, table.columns.name = "owner", "rule_id"
        table = table.reindex(columns=cols, fill_value=0)
        table["total"] = table.sum(axis=1)
        table = table.reset_index().sort_values(["total", "owner"], ascending=[False, True], kind="stable")
        return table.reset_index(drop=True)


#: a deal key :func:`crm_audit.engine.mapping.derive_row_keys` made for an export without deal ids (``k``, 12 hex
#: digits, ``-<row>`` after a collision; L10): no CRM writes its ids so (numbers; Salesforce's have 15 or 18
#: characters), so the review, built from the ledger later, gives such a deal no link — it would open no deal
DERIVED_KEY = re.compile(r"k[0-9a-f]{12}(-[0-9]+)?")


def is_derived_key(deal_id: object) -> bool:
    """Whether ``deal_id`` is a key derived from a row's content (:data:`DERIVED_KEY`), not the CRM's id."""
    return isinstance(deal_id, str) and DERIVED_KEY.fullmatch(deal_id) is not None


def column_texts(rows: pd.DataFrame, key: str, missing: str | None = None) -> list[str | None]:
    """A column of :attr:`RuleResult.rows` as text values (``missing`` for a missing value), converted column-wise."""
    import pandas as pd

    if key not in rows.columns:
        return [missing] * len(rows)
    col = rows[key]
    if isinstance(col.dtype, pd.StringDtype):  # text already: only the missing values to replace (column-wise)
        return col.to_numpy(dtype=object, na_value=missing).tolist()
    values = col.astype(object).where(col.notna(), missing).tolist()
    return [v if v is missing or type(v) is str else str(v) for v in values]
