"""What the rules need from the export, decided before a backend runs anything.

Each rule plan lists the fields it reads (:attr:`RulePlan.fields`). Against a
loaded export that gives, per rule, one of three outcomes:

* it runs;
* it is skipped — a :class:`~crm_audit.report.SkippedRule`: the export has no
  file of that entity at all (an export is "up to four files"), or the CRM's
  profile declares the data unsupported (``unsupported:``) and the export
  indeed lacks it, or the deals file has no column of the last stage change
  (days in stage: the same for every CRM — never counted from the creation
  date for every deal, which would flag each deal created long ago; a blank
  cell of a column that is there falls back to the creation date);
* it cannot run — a :class:`MissingColumn`: a file that is there lacks a
  column the rule reads. That stops the audit (:class:`MissingColumnsError`).

The records are facts (entity, field, column, rule ids, reason codes); the
text a user reads is made from them where it is shown: the error message
here, the rule sheet's note and the summary (:mod:`crm_audit.report`),
``crm-audit inspect``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

from crm_audit.engine.loading import LoadedEntity, LoadedExport
from crm_audit.engine.plan import FieldRef, RulePlan, field_ref
from crm_audit.engine.profile import Profile, hkey
from crm_audit.errors import InputError, Msg, Problem
from crm_audit.i18n import N_
from crm_audit.report import BlankColumn, DataWarning, SkippedRule, UnjudgedDeals
from crm_audit.sqltext import sql_literal
from crm_audit.textnorm import norm

#: rule-language entity -> the export's entity (its file)
REF_ENTITY = {"deal": "deals", "org": "organizations", "person": "persons", "tasks": "activities"}
#: entities whose file an export may lack: the rules reading them are skipped, not failed
OPTIONAL_FILES = ("org", "person", "tasks")
#: the activity columns each task aggregate reads
TASK_NEEDS = {
    "open_count": ["deal_id"], "total_count": ["deal_id"],
    "overdue_count": ["deal_id", "due_date"], "first_overdue_due": ["deal_id", "due_date"],
    "first_overdue_subject": ["deal_id", "due_date", "subject"], "next_due": ["deal_id", "due_date"],
    "next_subject": ["deal_id", "due_date", "subject"],
}
#: computed from the last stage change, else (a blank cell) the creation date; without a stage-change column the
#: rules reading them are skipped («no-stage-change»), whatever the CRM
STAGE_SINCE = ("days_in_stage", "stage_since")
ALL_RULES = N_("all rules (deleted deals are excluded by status)")
MISSING_HINT = N_("Add the column to the CRM export (or the file, if it is missing), or disable those rules in "
                  "crm-audit.yaml (rules: disable: [...]).")


@dataclass(frozen=True)
class MissingColumn:
    """A column the rules read that a file of the export lacks."""

    entity: str  # the export's entity whose file lacks it: deals | organizations | persons | activities
    field: str  # the field the rules read, e.g. "deal.Посещаемость", "tasks.open_count", "deal.status"
    column: str  # the export header(s) expected, as the CRM's profile names them
    file: str  # the file that lacks it
    needed_by: tuple[str, ...] = ()  # rule ids, in plan order
    needed_by_all: bool = False  # every rule needs it (deal.status: deleted deals are excluded by it)
    closest: str | None = None  # a custom field's closest column of that file («did you mean …»: a misspelt name)


@dataclass
class Requirements:
    """The outcome for every plan, and what the running rules will be computed from."""

    runnable: list[RulePlan]
    skipped: list[SkippedRule] = field(default_factory=list)
    missing: list[MissingColumn] = field(default_factory=list)
    warnings: list[DataWarning] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)  # rule id -> its code (for messages)
    titles: dict[str, str] = field(default_factory=dict)  # rule id -> its title (how a Russian message names it)
    # cells of a yes/no field that are no yes/no word (with `on_bad_value: error`): they stop the audit
    bad_values: list[Problem] = field(default_factory=list)

    def skipped_rule(self, rule_id: str) -> SkippedRule | None:
        return next((s for s in self.skipped if s.rule_id == rule_id), None)

    def missing_for(self, rule_id: str) -> list[MissingColumn]:
        """The columns rule ``rule_id`` cannot run without."""
        return [m for m in self.missing if m.needed_by_all or rule_id in m.needed_by]

    def raise_if_missing(self) -> None:
        """Stop the audit: columns the rules read are missing, or yes/no cells cannot be read."""
        if self.missing:
            raise MissingColumnsError(self.missing, self.codes, self.titles)
        if self.bad_values:
            from crm_audit.engine.mapping import BAD_VALUE_HINT

            raise InputError(problems=self.bad_values, hint=BAD_VALUE_HINT)


class MissingColumnsError(InputError):
    """The export lacks columns the rules read; ``missing`` holds the records."""

    def __init__(self, missing: list[MissingColumn], codes: dict[str, str], titles: dict[str, str] | None = None):
        from crm_audit.errors import ByLanguage

        self.missing = list(missing)
        titles = titles or {}
        problems = []
        for m in missing:
            # «1.8 Нет источника» in Russian, «1.8 missing-source» in English (the titles are the team's Russian words)
            rules = [ByLanguage({"en": f"{codes.get(r, '')} {r}".strip(), "ru": f"{codes.get(r, '')} {titles.get(r) or r}".strip()})
                     for r in sorted(m.needed_by, key=lambda r: (codes.get(r, ""), r))]
            if m.needed_by_all:
                rules.append(Msg(ALL_RULES))
            if m.closest:
                problems.append(Problem(template=N_("required column «{column}» is missing (did you mean «{closest}»?); "
                                                    "needed by rule(s): {rules}"),
                                        params={"column": m.column, "closest": m.closest, "rules": rules}, file=m.file,
                                        reason="missing-column"))
                continue
            problems.append(Problem(template=N_("required column «{column}» is missing; needed by rule(s): {rules}"),
                                    params={"column": m.column, "rules": rules}, file=m.file, reason="missing-column"))
        super().__init__(problems=problems, hint=MISSING_HINT)


class _Lack(NamedTuple):
    """Where a field is missing."""

    entity: str
    file: str
    column: str
    closest: str | None = None  # a custom field's closest column of the file


def _closest_custom(ent, name: str) -> str | None:
    """The custom column of a loaded file closest to a misspelt custom field name (case, spaces and «ё» ignored)."""
    from crm_audit.rules.ruleset import closest

    return closest(name, [header for _col, header in ent.custom.values()]) if ent is not None else None


class _Checker:
    def __init__(self, export: LoadedExport, profile: Profile | None):
        self.export = export
        self.profile = profile if profile is not None else export.profile
        self.deals: LoadedEntity = export.entities["deals"]

    def header(self, entity: str, name: str) -> str:
        """The export header of a canonical field as this export would write it: in its interface language, with the
        prefix its files use (:meth:`Profile.header_in`; the entity's own file's headers, else every file's)."""
        spec = self.profile.entities.get(entity) if self.profile is not None else None
        if spec is None or name not in spec.fields:
            return name
        ent = self.export.entities.get(entity)
        files = [ent] if ent is not None else list(self.export.entities.values())
        headers = [h for e in files for h in [*e.fields.values(), *(h for _c, h in e.custom.values())] if h]
        return self.profile.header_in(entity, name, headers)

    def lack(self, ref: FieldRef) -> _Lack | None:
        """What ``ref`` needs and the export lacks, or None."""
        deals = self.deals
        if ref.entity == "deal":
            if ref.name in STAGE_SINCE:  # the column must be there (its blank cells fall back to the creation date)
                if "stage_changed" in deals.fields:
                    return None
                spec = self.profile.entities["deals"].fields.get("stage_changed") if self.profile is not None else None
                days = [spec.from_days[0]] if spec is not None and spec.from_days else []  # Salesforce «Stage Duration»
                return _Lack("deals", str(deals.file), " / ".join([self.header("deals", "stage_changed"), *days]))
            if ref.name == "reason" or deals.column_for(ref.name) is not None:
                return None
            if ref.custom:
                return _Lack("deals", str(deals.file), ref.name, _closest_custom(deals, ref.name))
            return _Lack("deals", str(deals.file), self.header("deals", ref.name))
        entity = REF_ENTITY[ref.entity]
        ent = self.export.entities.get(entity)
        if ref.entity in ("org", "person") and ref.name == "name" and deals.column_for(f"{ref.entity}_name"):
            return None
        if ref.entity == "tasks":
            needs = TASK_NEEDS[ref.name] + ([] if ref.name == "total_count" else ["done"])
            if ent is None:
                return _Lack(entity, self._absent_file(entity), ", ".join(self.header(entity, n) for n in ("deal_id", "done", "due_date")))
            absent = next((n for n in needs if n not in ent.fields), None)
            return None if absent is None else _Lack(entity, str(ent.file), self.header(entity, absent))
        column = ref.name if ref.custom else self.header(entity, ref.name)
        if ent is None:
            return _Lack(entity, self._absent_file(entity), column)
        if ent.column_for(ref.name) is None:
            return _Lack(entity, str(ent.file), column, _closest_custom(ent, ref.name) if ref.custom else None)
        if deals.column_for(f"{ref.entity}_id") is None:
            return _Lack("deals", str(deals.file), self.header("deals", f"{ref.entity}_id"))
        return None

    def unrecognised(self, entity: str) -> Path | None:
        """A file of the folder that was not recognised but is the ``entity`` file by its name, or comes nearest to it by
        its columns (:func:`near_columns.unrecognised_file`): its path; None when the folder has no such file (issue 13
        M3)."""
        from crm_audit.engine import near_columns

        files = list(getattr(self.export, "unknown_files", []) or [])
        if not files or self.profile is None or entity not in self.profile.entities:
            return None
        return near_columns.unrecognised_file(self.profile, entity, files)

    def unnamed(self, entity: str, path: Path, columns: str) -> tuple[str, tuple[str, ...]]:
        """Of ``columns`` (the headers a skip names, «, »-joined), those the unrecognised file ``path`` has no column
        for: the skip says none of its columns is named so — never of a column it has (a task report with «Status» and
        «Data de vencimento», acceptance N4). When it has a column for each, what keeps the file unread: the entity's
        required / signature fields it lacks (a companies file without a column this CRM names its id: «Record ID»,
        acceptance X1) — their headers and (second) their field names, the `columns:` keys to map; else ``columns``
        and no field names (the rule's own field is the key)."""
        from crm_audit.engine.near_columns import closest_file

        spec = self.profile.entities.get(entity) if self.profile is not None else None
        headers = next((hs for p, hs in getattr(self.export, "unknown_files", []) or [] if p == path), None)
        if spec is None or not headers:
            return columns, ()
        idx = spec.header_index()
        have = {idx.get(hkey(spec.strip_prefix(h)[0])) for h in headers}
        names = [c.strip() for c in columns.split(",") if c.strip()]
        named = {c: idx.get(hkey(c)) for c in names}
        kept = [c for c in names if named[c] is None or named[c] not in have]
        if kept:
            return ", ".join(kept), ()
        near = closest_file(self.profile, entity, [(path, headers)], least=1)
        if near is None or not near.lacking:
            return columns, ()
        return ", ".join(self.profile.header_in(entity, n, headers) for n in near.lacking), tuple(near.lacking)

    def _absent_file(self, entity: str) -> str:
        spec = self.profile.entities.get(entity) if self.profile is not None else None
        name = spec.files[0] if spec is not None and spec.files else entity
        return str(self.export.directory / f"{name}.csv")

    def unsupported_file(self, ref: FieldRef) -> str | None:
        """The profile's reason why the file ``ref`` is read from is not in this CRM's export, with what to export
        instead (amoCRM's `unsupported: organizations:` — its contacts list), or None."""
        prof = self.profile
        entity = REF_ENTITY.get(ref.entity, ref.entity)
        if prof is None or not prof.unsupported:
            return None
        unsplit = getattr(self.export, "unsplit", {}).get(entity)
        if unsplit is not None:  # the list that holds them is there but gave none: what is wrong with it (Y-B)
            return unsplit.text("ru")
        return next((w for k in prof.unsupported_keys(ref.entity, ref.name) if k == entity
                     for w in [prof.unsupported_reason(k)] if w), None)

    def skip(self, ref: FieldRef, lack: _Lack | None) -> tuple[str, str | None] | None:
        """(reason code, the profile's explanation) when a rule reading ``ref`` is skipped, else None."""
        if ref.entity == "deal" and ref.name in STAGE_SINCE:  # no stage-change column: skipped in every CRM alike
            if lack is None:
                return None
            prof = self.profile  # the CRM's own words where its export never has the column (amoCRM, Bitrix24)
            why = prof.unsupported_reason("deal.stage_changed") if prof is not None else None
            return "no-stage-change", why
        if lack is not None and ref.entity in OPTIONAL_FILES and REF_ENTITY[ref.entity] not in self.export.entities:
            prof = self.profile  # a file this CRM's export does not have: its reason, as inspect says it (amoCRM's tasks)
            why = next((w for k in (prof.unsupported_keys(ref.entity, ref.name) if prof is not None else [])
                        if k == REF_ENTITY[ref.entity] for w in [prof.unsupported_reason(k)] if w), None)
            unsplit = getattr(self.export, "unsplit", {}).get(REF_ENTITY[ref.entity])
            if why and unsplit is not None:  # the list that holds them is there but gave none: what is wrong with it (Y-B)
                return "not-exported", unsplit.text("ru")
            if why:
                return "not-exported", why
            return "no-file", (prof.export_files.get(REF_ENTITY[ref.entity]) if prof is not None else None)
        unlinked = getattr(self.export, "unlinked", {}).get(REF_ENTITY.get(ref.entity, ""))
        if unlinked is not None:  # its records link to no deal: "no task" cannot be told from "not linked"
            return "not-exported", unlinked.text("ru")
        prof = self.profile
        if prof is None or not prof.unsupported:
            return None
        if lack is None:
            return None
        loaded = REF_ENTITY.get(ref.entity, ref.entity) in self.export.entities
        for key in prof.unsupported_keys(ref.entity, ref.name):
            if loaded and key == REF_ENTITY.get(ref.entity, ref.entity):
                continue  # its file is loaded: the CRM's «not exported» would be false; the lacking column is named instead
            why = prof.unsupported_reason(key)
            if why:
                return "not-exported", why
        return None


#: how many of the export's values an empty-list skip names (the rest as «…»)
LIST_VALUES_SHOWN = 10


def empty_list_skip(p: RulePlan, export: LoadedExport | None, chk: _Checker | None = None) -> SkippedRule:
    """A rule whose settings list is empty (:attr:`RulePlan.empty_lists`) as skipped: the list, the column compared
    with it, and the values of that column in the export (deals of the rule's statuses) to fill it from."""
    setting, ref = p.empty_lists[0]
    fr = field_ref(ref)
    ent = export.entities.get(REF_ENTITY.get(fr.entity, "")) if export is not None else None
    col = ent.column_for(fr.name) if ent is not None else None
    values: list[str] = []
    if col is not None:
        where = f'NOT is_blank("{col}")'
        if ent.entity == "deals" and "status" in ent.fields and p.statuses:
            where += f" AND status IN ({', '.join(sql_literal(x) for x in p.statuses)})"
        rows = export.con.execute(f'SELECT DISTINCT strip("{col}") FROM {ent.table} WHERE {where} ORDER BY 1 '
                                  f"LIMIT {LIST_VALUES_SHOWN + 1}").fetchall()
        values = [r[0] for r in rows]
    if len(values) > LIST_VALUES_SHOWN:
        values = values[:LIST_VALUES_SHOWN] + ["…"]
    column = (chk.header(REF_ENTITY[fr.entity], fr.name) if chk is not None and not fr.custom else fr.name) if fr.entity in REF_ENTITY else ref
    if ent is not None and not fr.custom and fr.name in ent.from_columns and ent.fields.get(fr.name):
        column = ent.fields[fr.name]  # the export's own header («Loss reason»), never the profile's first name (Y O4)
    return SkippedRule(p.rule.id, p.rule.code, fr.entity, ref, "empty-list", title=p.rule.title, column=column,
                       setting=setting, values=tuple(values))


def _list_column_there(p: RulePlan, export: LoadedExport | None) -> bool:
    """The column an empty settings list is compared with (:attr:`RulePlan.empty_lists`) is in the export."""
    fr = field_ref(p.empty_lists[0][1])
    ent = export.entities.get(REF_ENTITY.get(fr.entity, "")) if export is not None else None
    return ent is not None and ent.column_for(fr.name) is not None


def off_reason(why: str, export: LoadedExport) -> str:
    """A `rules: skip:` reason as said for this export: init ends it with the files it saw («… нет поля «Источник
    сделки» (hubspot-crm-exports-all-deals-2026-11-20.csv)»); where none of them is a file of the export audited now
    (dated file names), that ending is left out rather than cite another export's file (issue 13 acceptance R18)."""
    import re

    from crm_audit.engine.readers import DATA_SUFFIXES

    m = re.fullmatch(r"(.*\S)\s+\(([^()]+)\)\s*", why or "", re.S)
    directory = getattr(export, "directory", None)
    if m is None or directory is None:
        return why
    names = [n.strip() for n in m.group(2).split(",")]
    if not all(Path(n).suffix.lower() in DATA_SUFFIXES and Path(n).name == n for n in names):
        return why
    return why if any((Path(directory) / n).is_file() for n in names) else m.group(1)


def decide(plans: list[RulePlan], export: LoadedExport, profile: Profile | None = None) -> Requirements:
    """Which plans run, which are skipped and which columns are missing (nothing raised, nothing run).

    ``profile`` defaults to the one the export was loaded with.
    """
    from crm_audit.engine import partial

    chk = _Checker(export, profile)
    deals_file = chk.deals.file
    out = Requirements(runnable=[], codes={p.rule.id: p.rule.code for p in plans}, titles={p.rule.id: p.rule.title for p in plans})
    missing: dict[tuple[str, str], MissingColumn] = {}

    def need(ref: FieldRef, lack: _Lack, rule_id: str | None) -> None:
        key = (lack.file, lack.column)
        m = missing.get(key) or MissingColumn(lack.entity, ref.ref, lack.column, lack.file, closest=lack.closest)
        if rule_id is None:
            m = replace(m, needed_by_all=True)
        elif rule_id not in m.needed_by:
            m = replace(m, needed_by=m.needed_by + (rule_id,))
        missing[key] = m

    for p in plans:
        lacks: list[tuple[FieldRef, _Lack]] = []
        skipped = None
        if p.rule.off:  # switched off in the settings with a reason: never run, never fails
            out.skipped.append(SkippedRule(p.rule.id, p.rule.code, "deal", "", "off", off_reason(p.rule.off, export),
                                           title=p.rule.title))
            continue
        empty = empty_list_skip(p, export, chk) if p.empty_lists else None
        if empty is not None and _list_column_there(p, export):
            # compared with an empty list from the settings: it could flag no deal (acceptance O1) — said so when the
            # export has the column compared; without it, the missing column is the reason (below)
            out.skipped.append(empty)
            continue
        found = {ref: (lack, chk.skip(ref, lack)) for ref in p.fields | partial.cond_refs(p.condition) for lack in (chk.lack(ref),)}
        for e in ("org", "person"):  # a `linked:` condition reads the link by id, else by name
            ref = field_ref(f"deal.{e}_id")
            if ref in found and chk.deals.column_for(f"{e}_name") is not None:
                found[ref] = (None, None)
        # the rule runs on what the export has: evidence-only fields and `any:` branches it lacks are left out
        unavailable = {ref for ref, (lack, why) in found.items() if lack is not None or why}
        n = partial.narrow(p, unavailable)
        # the cause is what the rule cannot run without on its own (1.5 without the deal's title: the title, never the
        # organizations file of one `any:` branch — issue 13 acceptance N7)
        cause = partial.blocking(p, n.needed & unavailable)
        p = n.plan
        for ref in sorted(n.needed, key=lambda r: r.ref):
            if cause and ref in unavailable and ref not in cause:
                continue
            lack, why = found[ref]
            if why and skipped is None:
                skipped = SkippedRule(p.rule.id, p.rule.code, ref.entity, ref.ref, why[0], why[1], title=p.rule.title,
                                      column=lack.column if lack is not None else "")
            elif lack is not None and not why:
                lacks.append((ref, lack))
        if skipped is not None:
            if skipped.reason == "no-file":  # a file of that entity IS there, unrecognised: said so, never "export it"
                there = chk.unrecognised(REF_ENTITY.get(skipped.entity, ""))
                if there is not None:
                    column, lacking = chk.unnamed(REF_ENTITY.get(skipped.entity, ""), there, skipped.column)
                    skipped = replace(skipped, file=there.name, column=column, map_fields=lacking)
            out.skipped.append(skipped)
            continue
        if empty is not None and not lacks:
            out.skipped.append(empty)
            continue
        out.runnable.append(p)
        absent = [r for r in n.unchecked if found[r][0] is not None and not Path(found[r][0].file).exists()]
        if n.unchecked and not lacks and absent:  # a file the export does not have (never named as if it were there)
            cols = ", ".join(dict.fromkeys(f"«{found[r][0].column}»" if found[r][0] is not None else f"«{r.name}»" for r in n.unchecked))
            params = {"code": p.rule.code, "rule": p.rule.id, "columns": cols, "entity": ENTITY_NAMES[found[absent[0]][0].entity]}
            why = chk.unsupported_file(absent[0])  # the CRM's own advice (amoCRM: its contacts list), never another's file
            out.warnings.append(DataWarning(
                "rule-partial", "", str(deals_file), None, None,
                template=N_("rule {code} {rule} runs without the {entity} file ({columns}): the part of it that reads them is "
                            "not checked (export the {entity} into the same folder to check it)") if why is None else
                N_("rule {code} {rule} runs without the {entity} file ({columns}): the part of it that reads them is not "
                   "checked — {why}"),
                params=params if why is None else {**params, "why": why}))
        elif n.unchecked and not lacks:
            where = found[n.unchecked[0]][0]
            named = list(dict.fromkeys(f"«{found[r][0].column}»" if found[r][0] is not None else f"«{r.name}»" for r in n.unchecked))
            cols = ", ".join(named)  # one column two fields read is named once
            out.warnings.append(DataWarning(
                "rule-partial", "", where.file if where is not None else str(deals_file), None, None,
                template=(N_("rule {code} {rule} runs without {columns}: the part of it that reads it is not checked "
                             "(add the column or file to the export to check it)") if len(named) == 1 else
                          N_("rule {code} {rule} runs without {columns}: the part of it that reads them is not checked "
                             "(add the column or file to the export to check it)")),
                params={"code": p.rule.code, "rule": p.rule.id, "columns": cols}))
        for ref, lack in lacks:
            need(ref, lack, p.rule.id)
    deals = chk.deals
    if "status" not in deals.fields:
        need(field_ref("deal.status"), _Lack("deals", str(deals.file), chk.header("deals", "status")), None)
    out.missing = list(missing.values())
    yes_no = yes_no_values(out.runnable, export, chk.profile)
    out.warnings += yes_no.warnings
    out.bad_values = yes_no.problems
    return out


# --------------------------------------------------------------------------- yes/no fields


@dataclass
class YesNoCheck:
    """What reading the yes/no fields found: unknown values, as warnings or as problems (`on_bad_value`)."""

    warnings: list[DataWarning] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)  # the rule fields read as yes/no («org.Агентство ли это»)


def _yes_no_refs(plans: list[RulePlan]) -> list[FieldRef]:
    from crm_audit.rules.lang import Leaf, iter_conds

    out: list[FieldRef] = []
    for p in plans:
        for c in iter_conds(p.condition):
            if isinstance(c, Leaf) and c.op == "is_yes":
                ref = field_ref(c.field)
                if ref not in out:
                    out.append(ref)
    return out


def yes_no_values(plans: list[RulePlan], export: LoadedExport, profile: Profile | None) -> YesNoCheck:
    """Read every field a rule tests with `is_yes` in the words of every language of the profile.

    The table keeps the team's own words (a rule sheet shows «Sim» as exported): `is_yes` reads the
    profile's yes words of every language it declares («Sim», «Ja», «Tak»; the backend gives them to
    the rule compiler). A value that is no yes/no word of the profile («Maybe») obeys `on_bad_value`
    like a bad date: an error naming file, row, column and value, or a warning (the cell counts as
    not yes).
    """
    from crm_audit.engine.mapping import MAX_REPORTED, YES_NO_WARN
    from crm_audit.engine.profile import BASE_YES_NO

    out = YesNoCheck()
    words = profile.yes_no if profile is not None else BASE_YES_NO
    known = sorted({norm(w) for w in words.yes + words.no})
    done: set[tuple[str, str]] = set()
    for ref in _yes_no_refs(plans):
        ent = export.entities.get(REF_ENTITY.get(ref.entity, ""))
        col = ent.column_for(ref.name) if ent is not None else None
        if col is None or (ent.table, col) in done:
            continue
        done.add((ent.table, col))
        out.fields.append(ref.ref)
        header = next((h for c, h in ent.custom.values() if c == col), ref.name)
        qcol = f'"{col}"'
        unknown = f"NOT is_blank({qcol}) AND norm({qcol}) NOT IN ({', '.join(sql_literal(w) for w in known)})"
        con = export.con
        bad = con.execute(f"SELECT _row, {qcol} FROM {ent.table} WHERE {unknown} ORDER BY _row LIMIT {MAX_REPORTED}").fetchall()
        if bad:
            total = con.execute(f"SELECT count(*) FROM {ent.table} WHERE {unknown}").fetchone()[0]
            expected = _yes_no_expected(profile, ent, words)
            if ent.on_bad_value == "warn":
                out.warnings += [DataWarning("unknown-value", "", str(ent.file), r, header,
                                             template=YES_NO_WARN,
                                             params={"value": v, "expected": expected}) for r, v in bad]
                if total > len(bad):
                    out.warnings.append(DataWarning("unknown-value", "", str(ent.file), None, header,
                                                    template=N_("… and {n} more rows with unknown yes/no values in «{column}»"),
                                                    params={"n": total - len(bad), "column": header}))
            else:
                out.problems += [Problem(template=N_("unknown yes/no value «{value}»: expected one of: {expected}"),
                                         params={"value": v, "expected": expected}, file=str(ent.file), row=r,
                                         column=header, reason="bad-value") for r, v in bad]
                if total > len(bad):
                    out.problems.append(Problem(template=N_("… and {n} more rows with unknown yes/no values in «{column}»"),
                                                params={"n": total - len(bad), "column": header},
                                                file=str(ent.file), column=header, reason="bad-value"))
    return out


def _yes_no_expected(profile: Profile | None, ent: LoadedEntity, words) -> str:
    """The yes/no words a message names: the file's own (Sim, Não for a Portuguese export) when the profile knows
    the language of its headers, else the first of every language's."""
    if profile is not None and profile.languages:
        headers = [*ent.fields.values(), *(h for _c, h in ent.custom.values())]
        for code in profile.languages_of(headers):
            own = profile.languages[code].yes_no
            if own is not None:
                return ", ".join(dict.fromkeys([*own.yes, *own.no]))
    return ", ".join(dict.fromkeys([*words.yes[:8], *words.no[:8]]))


def file_name(m: MissingColumn) -> str:
    """The name of the file a :class:`MissingColumn` is about."""
    return Path(m.file).name


# --------------------------------------------------------------------------- values the export lost

#: fields derived from others: the columns a blank value of them comes from
_DERIVED_FROM = {"days_in_stage": ("stage_changed", "created"), "stage_since": ("stage_changed", "created"),
                 "reason": ("lost_reason", "won_reason")}
#: ops that judge an empty value themselves (an empty date is what they look for)
_EMPTY_OPS = ("empty", "empty_or_zero")


def _sources(ref: FieldRef) -> list[tuple[str, str]]:
    """(export entity, field) pairs a rule field is computed from."""
    if ref.entity == "deal":
        return [("deals", n) for n in _DERIVED_FROM.get(ref.name, (ref.name,))]
    if ref.entity == "tasks":
        return [("activities", n) for n in TASK_NEEDS.get(ref.name, []) + ([] if ref.name == "total_count" else ["done"])]
    return [(REF_ENTITY[ref.entity], ref.name)]


#: an entity's file as a message names it (made in the language it is shown in)
ENTITY_NAMES = {"deals": Msg(N_("deals")), "organizations": Msg(N_("organizations")), "persons": Msg(N_("persons (contacts)")),
                "activities": Msg(N_("activities (tasks)"))}


def _may_be_blank(export: LoadedExport, ent, name: str) -> bool:
    """The profile says a column of ``name`` blank in every row can be the truth (`may_be_blank:`): always, or while
    no row has the values it names (a lost reason when no deal is lost)."""
    spec = export.profile.entities[ent.entity].fields.get(name) if export.profile is not None else None
    rule = spec.may_be_blank if spec is not None else False
    if isinstance(rule, bool):
        return rule
    for other, values in rule.items():
        if other not in ent.fields:
            return False
        lit = ", ".join(sql_literal(v) for v in values)
        if export.con.execute(f'SELECT count(*) FROM {ent.table} WHERE "{other}" IN ({lit})').fetchone()[0]:
            return False
    return True


#: rows looked at first by :func:`_filled_columns`: a column with a filled cell among them needs no scan of the table
FILLED_SAMPLE_ROWS = 4096


def _filled_columns(con, table: str, columns: list[str]) -> set[str]:
    """Which of ``columns`` (SQL expressions) have a non-blank cell in ``table``.

    Cheapest first (issue 17: the check ran 2.6 s over a 1M-deal export): the first rows decide almost every
    column; a column still blank there is decided by its smallest and largest value (cheap aggregates); only a
    column blank at both ends (NULL or whitespace: rare) is counted cell by cell."""
    def ask(cols: list[str], expr: str, source: str) -> set[str]:
        if not cols:
            return set()
        row = con.execute(f"SELECT {', '.join(expr.format(c=c) for c in cols)} FROM {source}").fetchone()
        return {c for c, hit in zip(cols, row) if hit}

    columns = list(dict.fromkeys(columns))
    filled = ask(columns, "coalesce(bool_or(NOT is_blank({c})), false)",
                 f"(SELECT {', '.join(columns)} FROM {table} LIMIT {FILLED_SAMPLE_ROWS})")
    rest = [c for c in columns if c not in filled]
    filled |= ask(rest, "NOT is_blank(min({c})) OR NOT is_blank(max({c}))", table)
    rest = [c for c in rest if c not in filled]
    return filled | ask(rest, "count(*) FILTER (WHERE NOT is_blank({c})) > 0", table)


def blank_columns(export: LoadedExport, plans: list[RulePlan]) -> list[BlankColumn]:
    """The profile's columns blank in every row of their file (ids, done flags, due dates, names),
    each with the rules that read it: an export that lost its values. A custom column (a rule's field under the
    team's name, `fields:`) is reported only when a rule reads it: blank everywhere, «Нет источника» would flag
    every deal without a word (issue 13 acceptance K13); a custom column no rule reads is not checked."""
    needed: dict[tuple[str, str], list[str]] = {}
    for p in plans:
        for ref in p.fields:
            for key in _sources(ref):
                needed.setdefault(key, [])
                if p.rule.id not in needed[key]:
                    needed[key].append(p.rule.id)
    out: list[BlankColumn] = []
    for entity, ent in export.entities.items():
        cols: dict[str, tuple[str, str]] = {}  # field -> (sql column, export header)
        for name in sorted(ent.from_columns):
            cols[name] = (f'"{name}__raw"' if name in ent.typed else f'"{name}"', ent.fields.get(name, name))
        for e, name in needed:  # the custom columns the rules read
            hit = ent.custom.get(norm(name)) if e == entity and name not in cols else None
            if hit is not None:
                cols[name] = (f'"{hit[0]}"', hit[1])
        if not cols or ent.rows == 0:
            continue
        filled = _filled_columns(export.con, ent.table, [c for c, _h in cols.values()])
        counts = [1 if c in filled else 0 for c, _h in cols.values()]
        for (name, (_c, header)), filled in zip(cols.items(), counts):
            if filled == 0 and not _may_be_blank(export, ent, name):
                users = tuple(needed.get((entity, name), []))
                if entity == "deals" and name in ("id", "status"):
                    users = tuple(p.rule.id for p in plans)
                out.append(BlankColumn(entity, name, header, str(ent.file), ent.rows, users))
    return out


def reads_stage_since(p: RulePlan) -> bool:
    """The rule compares a deal's days in stage (or the date it entered its stage): rules 2.2 and 2.4."""
    from crm_audit.rules.lang import Leaf, iter_conds

    for c in iter_conds(p.condition):
        if isinstance(c, Leaf):
            ref = field_ref(c.field)
            if ref.entity == "deal" and (ref.name in STAGE_SINCE or ref.name == "stage_changed"):
                return True
    return False


def unjudged(backend, plans: list[RulePlan]) -> list[UnjudgedDeals]:
    """Per rule, the deals in its scope whose compared date (a date field, days in stage) is empty.

    ``backend`` is a prepared :class:`~crm_audit.engine.backends.duckdb_backend.DuckDBBackend`;
    its ``audit_deals`` holds the fields the plans read."""
    from crm_audit.rules.lang import All, Leaf, iter_conds

    deals = backend.export.entities["deals"]
    out: list[UnjudgedDeals] = []
    tasks_due = [(p, ref) for p in plans for ref in _task_due_refs(p)]
    for p in plans:
        compared: list[FieldRef] = []
        for c in iter_conds(p.condition):
            if isinstance(c, Leaf) and c.op not in _EMPTY_OPS:
                ref = field_ref(c.field)
                if ref.entity == "deal" and (ref.type == "date" or ref.name in STAGE_SINCE) and ref not in compared:
                    compared.append(ref)
        if not compared:
            continue
        cond = p.condition
        has_where = p.rule.where is not None and isinstance(cond, All) and len(cond.items) == 2
        scope = [f"_status IN ({', '.join(sql_literal(s) for s in p.statuses)})"]
        if p.pipelines:
            scope.append(f"_pipeline_n IN ({', '.join(sql_literal(x) for x in p.pipelines)})")
        if has_where:
            scope.append(backend.cond_sql(cond.items[0]))
        for ref in compared:
            n = backend.con.execute(f'SELECT count(*) FROM audit_deals WHERE {" AND ".join(scope)} AND "{ref.ref}" IS NULL').fetchone()[0]
            if n:
                names = _DERIVED_FROM.get(ref.name, (ref.name,))
                column = " / ".join(deals.fields.get(x, x) for x in names if x in deals.fields) or ref.name
                unread = _written_but_unread(backend, deals, names, f'{" AND ".join(scope)} AND "{ref.ref}" IS NULL')
                out.append(UnjudgedDeals(p.rule.id, p.rule.code, ref.ref, n, column, title=p.rule.title,
                                         kind="deals_unread" if unread else "deals"))
    for p, ref in tasks_due:
        u = _unjudged_by_tasks(backend, p, ref)
        if u is not None:
            out.append(u)
    return out


def _written_but_unread(backend, deals: LoadedEntity, names: tuple[str, ...], where: str) -> bool:
    """Some deal of ``audit_deals`` matching ``where`` has a date of ``names`` written in the export that did not read
    (``on_bad_value: warn``): the note says «empty or unread», not «empty» (acceptance Z-H: a Korean export's filled
    dates were said to be blank)."""
    raws = [f'NOT is_blank(t."{x}__raw")' for x in names if x in deals.typed]
    if not raws or "id" not in deals.fields:
        return False
    return bool(backend.con.execute(
        f'SELECT count(*) FROM audit_deals WHERE {where} AND EXISTS (SELECT 1 FROM "{deals.table}" t '
        f'WHERE CAST(t.id AS VARCHAR) = CAST(audit_deals."deal.id" AS VARCHAR) AND ({" OR ".join(raws)}))').fetchone()[0])


def _task_due_refs(p: RulePlan) -> list[FieldRef]:
    """The task aggregates a rule compares that read the tasks' due date (2.3's overdue_count)."""
    from crm_audit.rules.lang import Leaf, iter_conds

    out: list[FieldRef] = []
    for c in iter_conds(p.condition):
        if isinstance(c, Leaf) and c.op not in _EMPTY_OPS:
            ref = field_ref(c.field)
            if ref.entity == "tasks" and "due_date" in TASK_NEEDS.get(ref.name, ()) and ref not in out:
                out.append(ref)
    return out


def _unjudged_by_tasks(backend, p: RulePlan, ref: FieldRef) -> UnjudgedDeals | None:
    """The deals in a rule's scope, not flagged by it, with an open task whose due date is written but did not read
    (``on_bad_value: warn`` reads such a cell as blank): the rule could not tell whether that task is overdue
    (acceptance Z-H: 2.3 said nothing when no due date of a Korean export read). A task with no due date at all is
    never overdue (the reference): it leaves its deal judged."""
    acts = backend.export.entities.get("activities")
    if acts is None or "due_date" not in acts.typed or "deal_id" not in acts.fields:
        return None
    scope = [f"d._status IN ({', '.join(sql_literal(s) for s in p.statuses)})"]
    if p.pipelines:
        scope.append(f"d._pipeline_n IN ({', '.join(sql_literal(x) for x in p.pipelines)})")
    from crm_audit.rules.lang import All

    cond = p.condition
    if p.rule.where is not None and isinstance(cond, All) and len(cond.items) == 2:  # the scope's `where:`, then `when:`
        scope.append(f"({backend.cond_sql(cond.items[0])})")
        cond = cond.items[1]
    undone = "NOT coalesce(a.done, FALSE) AND " if "done" in acts.fields else ""
    n = backend.con.execute(
        f'SELECT count(*) FROM audit_deals d WHERE {" AND ".join(scope)} '
        f"AND NOT coalesce(({backend.cond_sql(cond)}), FALSE) "
        f'AND EXISTS (SELECT 1 FROM "{acts.table}" a WHERE {undone}a.due_date IS NULL AND NOT is_blank(a."due_date__raw") '
        f'AND CAST(a.deal_id AS VARCHAR) = CAST(d."deal.id" AS VARCHAR))').fetchone()[0]
    if not n:
        return None
    return UnjudgedDeals(p.rule.id, p.rule.code, ref.ref, n, acts.fields["due_date"], title=p.rule.title, kind="tasks")
