"""The settings and the rules checked against a loaded export (`crm-audit validate --export DIR`, `crm-audit run`).

* :func:`unmatched_columns` — a header the user wrote under `columns:` that the export's file does not have (a typo:
  «Vendedr») is an error at its line with the closest header («did you mean «Vendedor»?»): a mapping that matches
  nothing must not be ignored (the field would silently stay empty).
* :func:`rule_field_problems` — every rule field the export cannot feed, at the rule's file:line, in the words of
  `run`'s error (`validate` says it before a run stops on it).
* :func:`enableable_rules` — a rule switched off under `rules: skip:` (init wrote why: a field the export lacked)
  whose fields the export now has: the user may switch it back on (a stale reason is never left unsaid).
* :func:`list_names_not_in_export` — a name of a settings list the rules compare with the owner (`partner_managers:`)
  that no owner of the export is: a warning at its line with the closest owner («did you mean …?»).

Each returns :class:`~crm_audit.errors.Problem` records; the callers decide what stops (exit 2) and what warns.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from crm_audit.engine.loading import LoadedExport
from crm_audit.engine.profile import Profile, hkey
from crm_audit.errors import ByLanguage, Msg, Problem
from crm_audit.i18n import N_
from crm_audit.textnorm import norm


def _unmatched(settings, export: LoadedExport, profile: Profile):
    """(entity, field, header, its file's entity, the file's headers without their prefix) of each `columns:` entry
    whose header is no column of that entity's file (entities the export has no file of are not judged: the header
    may be in the next export)."""
    for entity, fields in (getattr(settings, "columns", None) or {}).items():
        ent = export.entities.get(entity)
        spec = profile.entities.get(entity)
        if ent is None or spec is None:
            continue
        headers = [*ent.fields.values(), *(h for _c, h in ent.custom.values())]
        bare = [spec.strip_prefix(h, ent.own_prefix)[0] for h in headers if h and not h.startswith("(")]
        keys = {hkey(h) for h in bare} | {hkey(h) for h in headers}
        for name, header in fields.items():
            if header and name in spec.fields and hkey(header) not in keys:
                yield entity, name, header, ent, spec, bare


def unmatched_columns(settings, export: LoadedExport, profile: Profile, needs=None) -> list[Problem]:
    """`columns: {entity: {field: header}}` entries whose header is no column of that entity's file: at that line, with
    the file's columns no field reads (the header the CRM renamed it to may be one of them) and — when rules need the
    field (``needs``: :func:`decide`'s) — the rules to disable instead (acceptance V3)."""
    from crm_audit.rules.ruleset import did_you_mean

    out: list[Problem] = []
    for entity, name, header, ent, spec, bare in _unmatched(settings, export, profile):
        unused = [spec.strip_prefix(h, ent.own_prefix)[0] for _c, h in ent.custom.values()]  # the columns no field took first
        hint = did_you_mean(header, unused) or did_you_mean(header, bare)
        missing = next((m for m in (needs.missing if needs is not None else [])
                        if m.entity == entity and m.field.partition(".")[2] == name), None)
        ways = (Msg(N_(", or disable the rule(s) that read it: rules: disable: [{ids}]"), {"ids": ", ".join(missing.needed_by)})
                if missing is not None and missing.needed_by else "")
        if not ways and ent.fields.get(name):  # the profile reads the field from another header: the line adds nothing
            ways = Msg(N_(", or remove the line: the file's «{read}» is read as {field} already"),
                       {"read": spec.strip_prefix(ent.fields[name], ent.own_prefix)[0], "field": name})
        out.append(settings.problem(
            ("columns", entity, name),
            N_("columns: {entity}: {field}: «{header}» is not a column of {file}{hint}; {candidates}; write the header as "
               "the file has it (without the prefix such as «Deal - ») in this line{ways}"),
            "unknown-column", {"entity": entity, "field": name, "header": header, "file": ent.file.name, "hint": hint,
                               "candidates": candidates(header, unread_columns(settings, export, entity, needs), close=bool(hint)),
                               "ways": ways}))
    return out


def unread_file_columns(settings, export: LoadedExport, profile: Profile) -> list[Problem]:
    """`columns: {entity: …}` of an entity no file of the export is read as while a file there is that entity's, still
    unrecognised (:func:`crm_audit.engine.near_columns.unrecognised_file`): a warning at that line saying the file is
    not read and why — the mapping changes nothing until the file is (acceptance X1: `columns: {organizations: {owner:
    …}}` for a companies file whose id column the CRM's names did not know; validate had said all was fine)."""
    from dataclasses import replace

    from crm_audit.engine.mapping import NO_FIELD_OF, unfit_msg
    from crm_audit.engine.near_columns import unrecognised_file

    out: list[Problem] = []
    unknown = list(getattr(export, "unknown_files", []) or [])
    for entity, fields in (getattr(settings, "columns", None) or {}).items():
        if not fields or entity in export.entities or entity not in profile.entities or not unknown:
            continue
        there = unrecognised_file(profile, entity, unknown)
        if there is None:
            continue
        headers = next(hs for p, hs in unknown if p == there)
        why = unfit_msg(profile, entity, headers) or Msg(NO_FIELD_OF.get(entity, NO_FIELD_OF["deals"]),
                                                         {"found": ", ".join(h for h in headers if h.strip())})
        out.append(replace(settings.problem(
            ("columns", entity),
            N_("columns: {entity}: no file of the export is read as the {entity} file, so these lines change nothing yet: "
               "{file} is still not recognised as it — {why}"),
            "unread-file", {"entity": entity, "file": there.name, "why": why}), severity="warning"))
    return out


def unread_columns(settings, export: LoadedExport, entity: str, needs=None) -> list[str]:
    """The columns of ``entity``'s file no field reads — neither the profile, nor a `fields:` line, nor a rule
    (``needs``: :func:`decide`'s) —, without the file's prefix, in the file's order: where a column the settings name
    and the file lacks may have gone (the team renamed it in the CRM)."""
    ent = export.entities.get(entity)
    if ent is None:
        return []
    profile = getattr(export, "profile", None)
    spec = profile.entities.get(entity) if profile is not None else None
    taken = {norm(v) for v in (getattr(settings, "fields", None) or {}).values() if isinstance(v, str)}
    taken |= {norm(ref.name) for p in (needs.runnable if needs is not None else []) for ref in p.fields if ref.custom}
    out = []
    for _col, header in ent.custom.values():
        bare = spec.strip_prefix(header, ent.own_prefix)[0] if spec is not None else header
        if norm(bare) not in taken and norm(header) not in taken and bare not in out:
            out.append(bare)
    return out


#: how many of the file's unread columns a message names
CANDIDATES_SHOWN = 8


def candidates(column: str, unread: list[str], close: bool | None = None) -> Msg:
    """«the new name may be one of the columns no field reads: A, B» — closest to ``column`` first, else in the file's
    order (a renamed column keeps its place), saying when none of them is close (``close``: whether a «did you mean»
    was found; by default: whether one is close)."""
    import difflib

    from crm_audit.rules.ruleset import closest

    if not unread:
        return Msg(N_("every other column of the file is read by a field already"))
    close = closest(column, unread) is not None if close is None else close
    ranked = sorted(unread, key=lambda h: -difflib.SequenceMatcher(None, norm(column), norm(h)).ratio()) if close else unread
    shown = ", ".join(ranked[:CANDIDATES_SHOWN]) + (", …" if len(ranked) > CANDIDATES_SHOWN else "")
    if close:
        return Msg(N_("the new name may be one of the columns no field reads, closest first: {columns}"), {"columns": shown})
    return Msg(N_("the new name may be one of the columns no field reads: {columns} (none of them is close to «{column}»)"),
               {"columns": shown, "column": column})


def fields_line(settings, m) -> str | None:
    """The `fields:` key whose column is the missing ``m`` (:class:`~crm_audit.engine.requirements.MissingColumn`):
    the team's name for a rule field, which the export lacks (renamed in the CRM, or a typo); None when no line names it."""
    team = getattr(settings, "fields", None) or {}
    ent_name, _dot, name = m.field.partition(".")
    return next((k for k, v in team.items() if norm(k) == norm(m.field) or
                 (k.partition(".")[0] == ent_name and norm(v) in (norm(name), norm(m.column)))), None)


class RenamedColumn(NamedTuple):
    """A column the rules need that a `fields:` line names and the file lacks (renamed in the CRM, or a typo)."""

    key: str  # the `fields:` key («deal.Источник сделки»)
    file: str  # the file's name
    closest: str | None  # the file's column close to it («did you mean»)
    candidates: Msg  # the file's columns no field reads (:func:`candidates`)


def renamed_column(settings, export: LoadedExport, needs, m) -> RenamedColumn | None:
    """What `fields:` says of the missing ``m`` (:class:`~crm_audit.engine.requirements.MissingColumn`): its line's key,
    the close column and the file's columns no field reads; None when no `fields:` line names it."""
    from crm_audit.rules.ruleset import closest

    key = fields_line(settings, m)
    if key is None or m.needed_by_all:
        return None
    unread = unread_columns(settings, export, m.entity, needs)
    hit = m.closest or closest(m.column, unread)
    return RenamedColumn(key, Path(m.file).name, hit, candidates(m.column, unread, close=bool(hit)))


def renamed_column_problem(settings, export: LoadedExport, needs, m) -> Problem | None:
    """A column the rules need that a `fields:` line names and the file lacks, at that line: the rules that need it,
    the file's columns no field reads (the new name may be one of them, closest first) and the two ways out — the
    export's header in that line, or the rules disabled (acceptance V3). None when no `fields:` line names it."""
    found = renamed_column(settings, export, needs, m)
    if found is None:
        return None
    codes, titles = needs.codes, needs.titles  # «1.8 missing-source» / «1.8 Нет источника»
    names = [ByLanguage({"en": f"{codes.get(r, '')} {r}".strip(), "ru": f"{codes.get(r, '')} {titles.get(r) or r}".strip()})
             for r in sorted(m.needed_by, key=lambda r: (codes.get(r, ""), r))]
    return settings.problem(("fields", found.key), N_(
        "required column «{column}» is missing{hint}; needed by rule(s): {rules}; this line of the settings names it, and "
        "{file} has no such column — {candidates}; write the export's header in this line, or disable the rule(s): "
        "rules: disable: [{ids}]"), "missing-column",
        {"column": m.column, "hint": Msg(N_(" (did you mean «{name}»?)"), {"name": found.closest}) if found.closest else "",
         "rules": names, "file": found.file, "candidates": found.candidates, "ids": ", ".join(m.needed_by)})


def renamed_column_note(settings, export: LoadedExport, needs, m) -> Msg | None:
    """`inspect`'s words after «required column … is missing» for a column a `fields:` line names: that line and
    where the column may have gone."""
    found = renamed_column(settings, export, needs, m)
    if found is None:
        return None
    line, _col = settings.where("fields", found.key)
    where = f"{Path(settings.file).name}:{line}" if getattr(settings, "file", None) and line else "fields:"
    return Msg(N_("the settings name it at {where} (fields: {key}); {candidates}; write the export's header there, or "
                  "disable the rule"), {"where": where, "key": found.key, "candidates": found.candidates})


def raise_if_missing(settings, export: LoadedExport, needs) -> None:
    """`run`: stop when the rules need columns the export lacks — one a `fields:` line names said at that line with the
    ways out (:func:`renamed_column_problem`), the others as :meth:`Requirements.raise_if_missing` says them."""
    from crm_audit.engine.requirements import MISSING_HINT, MissingColumnsError
    from crm_audit.errors import InputError

    named = {i: p for i, m in enumerate(needs.missing) for p in [renamed_column_problem(settings, export, needs, m)] if p}
    if not named:
        needs.raise_if_missing()
        return
    rest = [m for i, m in enumerate(needs.missing) if i not in named]
    others = MissingColumnsError(rest, needs.codes, needs.titles).problems if rest else []
    raise InputError(problems=[*named.values(), *others], hint=MISSING_HINT if rest else None)


def decide(rules: list, settings, export: LoadedExport, profile: Profile):
    """What the rules need of the export and what it lacks (:func:`crm_audit.engine.requirements.decide`)."""
    from crm_audit.engine import plan as planmod
    from crm_audit.engine import requirements

    return requirements.decide(planmod.build_all(rules, settings), export, profile)


def rule_field_problems(rules: list, settings, export: LoadedExport, profile: Profile, needs=None) -> list[Problem]:
    """Each column a rule reads and the export lacks (`run` would stop on it), at the rule's file:line where the
    field is tested, in `run`'s words; a column every rule needs (the deal's status) at the settings' `crm:`
    (``needs``: :func:`decide`'s, made here when not given)."""
    from crm_audit.engine import requirements

    needs = needs if needs is not None else decide(rules, settings, export, profile)
    # a field whose `columns:` header the file lacks is said once, at that line (unmatched_columns), not again here
    said = {(entity, name) for entity, name, *_rest in _unmatched(settings, export, profile)}
    out: list[Problem] = []
    for m in needs.missing:
        if (m.entity, m.field.partition(".")[2]) in said:
            continue
        params = {"column": m.column, "closest": m.closest}
        template = (N_("required column «{column}» is missing (did you mean «{closest}»?); needed by rule(s): {rules}") if m.closest
                    else N_("required column «{column}» is missing; needed by rule(s): {rules}"))
        if m.needed_by_all:
            out.append(settings.problem(("crm",), template, "missing-column",
                                        {**params, "rules": Msg(requirements.ALL_RULES)}))
        renamed = renamed_column_problem(settings, export, needs, m)
        if renamed is not None:  # the team's column under `fields:` (renamed in the CRM, a typo there): at that line
            out.append(renamed)
            continue
        for rid in m.needed_by:
            for rule, path in _readers(rules, rid, m.field):
                rname = ByLanguage({"en": f"{rule.code} {rule.id}".strip(), "ru": f"{rule.code} {rule.title or rule.id}".strip()})
                out.append(rule.problem(path, template, "missing-column", {**params, "rules": [rname]}))
    return out


def _readers(rules: list, rid: str, field: str) -> list[tuple]:
    """(rule, the path where it tests ``field``) of each rule with the id ``rid`` that reads the field — one id written
    twice blames the rule that reads it, not the last of them (U4); none testing it (an evidence column): the first
    such rule at its own line."""
    from crm_audit.rules.ruleset import _tested_fields, rule_path

    name = "." + field.partition(".")[2]
    same = [r for r in rules if r.id == rid]
    found = []
    for rule in same:
        where = _tested_fields(rule)
        path = where.get(field) or next((p for ref, p in where.items() if ref.endswith(name)), None)
        if path is not None:
            found.append((rule, path))
    return found or [(r, rule_path(r)) for r in same[:1]]


def unreadable_cells(settings, export: LoadedExport, needs) -> list[Problem]:
    """The cells that do not read — of every file (the export read with `on_bad_value: warn` to find them all) and of
    the yes/no fields the rules read (``needs``: :func:`decide`'s) — and the texts of a field with a set of values no
    value names, as `run` meets them under the settings' `on_bad_value` (acceptance S4): under `error` errors in
    `inspect`'s words («`run` stops on it», :func:`crm_audit.engine.mapping.as_run_stops`) with `run`'s advice after
    the last; under `warn` warnings («treated as empty»)."""
    from dataclasses import replace

    from crm_audit.engine.mapping import BAD_VALUE_HINT, VALUES_HINT, as_run_stops
    from crm_audit.i18n import _

    stops = getattr(settings, "on_bad_value", "error") != "warn"
    said = [w for w in [*export.warnings, *needs.warnings] if w.code in ("bad-value", "unknown-value", "unmapped-values")]
    out: list[Problem] = []
    for w in said:
        shown = (as_run_stops(w) or w) if stops else w
        out.append(Problem(template=shown.template, params=shown.params, file=w.file, row=w.row, column=w.column,
                           severity="error" if stops and w.code != "unmapped-values" else "warning", reason=w.code))
    cells = [i for i, p in enumerate(out) if p.severity == "error"]
    if cells:  # what to do, as `run` says it when it stops on them
        last = out[cells[-1]]
        advice = _(VALUES_HINT if any(w.code != "bad-value" for w in said) else BAD_VALUE_HINT)
        out[cells[-1]] = replace(last, message=f"{last.message}\n{advice}")
    return out


def stages_not_in_settings(settings, export: LoadedExport, needs) -> list:
    """:class:`~crm_audit.report.DataWarning` for each stage (and each pipeline) of the export's deals that is in no
    pipeline of the settings — the deals `run` warns of one by one (their `audit_deals` row has no stage position:
    the same table, :meth:`DuckDBBackend.stages_not_in_settings`) — with how many and where to add it in `pipelines:`
    (acceptance S6). None when the audit could not be built (a column every rule needs is missing: said apart)."""
    import datetime as dt

    from crm_audit.engine.backends.duckdb_backend import DuckDBBackend

    deals = export.entities.get("deals")
    if deals is None or any(m.needed_by_all for m in needs.missing):
        return []
    backend = DuckDBBackend(export, settings, dt.date.today())
    backend.prepare([])
    found = backend.stages_not_in_settings()
    keys = {norm(k): k for k in settings.pipelines}
    out: list = []
    for pipeline in dict.fromkeys(f.pipeline for f in found):
        here = [f for f in found if f.pipeline == pipeline]
        named = [f for f in here if f.stage.strip()]
        if pipeline.strip() and norm(pipeline) not in keys and named:
            out.append(_stage_warning(deals, N_(
                "pipeline «{pipeline}» is not in the settings (deals: {deals}; {n} in all; its stages: {stages}): add it "
                "under `pipelines:` in crm-audit.yaml with its stages in order; until then stage comparisons skip these "
                "deals"), named, pipeline=pipeline, stages=", ".join(f"«{f.stage}»" for f in named)))
        elif pipeline.strip():
            out += [_stage_warning(deals, N_(
                "stage «{stage}» is not in pipeline «{pipeline}» of the settings (deals: {deals}; {n} in all): add it to "
                "«{key}» under `pipelines:` in crm-audit.yaml, in its place in the order; until then stage comparisons "
                "skip these deals"), [f], pipeline=pipeline, stage=f.stage, key=keys[norm(pipeline)]) for f in named]
        blank = [f for f in here if f not in named or not pipeline.strip()]
        if blank:
            out.append(_stage_warning(deals, N_("deals with no pipeline or no stage (deals: {deals}; {n} in all): stage "
                                                "comparisons skip them"), blank))
    return export.on_own_page(out)


def _stage_warning(deals, template: str, found: list, **params):
    """One warning of :func:`stages_not_in_settings`: at the first deal's row of the deals file's stage column."""
    from crm_audit.report import DataWarning

    ids = [i for f in found for i in f.ids][:5]
    n = sum(f.deals for f in found)
    rows = [f.row for f in found if f.row is not None]
    return DataWarning("unknown-stage", "", str(deals.file), min(rows) if rows else None, deals.fields.get("stage"),
                       template=template, params={**params, "n": n, "deals": ", ".join(ids) + (", …" if n > len(ids) else "")})


def enableable_rules(settings, export: LoadedExport, profile: Profile) -> list[Problem]:
    """Warnings for the rules under `rules: skip:` that would now run on this export: every field they read is there
    (columns mapped since init wrote the reason) and the pipelines and stages they name are the team's."""
    from crm_audit.engine import plan as planmod
    from crm_audit.engine import requirements
    from crm_audit.exportdraft import names_off
    from crm_audit.rules import ruleset

    skip = dict(getattr(settings.rules, "skip", None) or {})
    if not skip:
        return []
    s = settings.model_copy(update={"rules": settings.rules.model_copy(update={"skip": {}})})
    rules, _problems = ruleset.collect(s)
    off_rules = [r for r in rules if r.id in skip]
    if not off_rules:
        return []
    needs = requirements.decide(planmod.build_all(off_rules, s), export, profile)
    still: dict = {}
    names_off(off_rules, s, still)  # a handbook pipeline / stage the team does not have
    runnable = {p.rule.id for p in needs.runnable}
    out: list[Problem] = []
    for r in off_rules:
        if r.id not in runnable or needs.missing_for(r.id) or r.id in still:
            continue
        p = settings.problem(("rules", "skip", r.id),
                             N_("rule {code} {rule} is switched off under rules: skip: («{why}»), but the export now has "
                                "what it reads: remove it from rules: skip: to run it"),
                             "skip-stale", {"code": r.code, "rule": r.id, "why": skip[r.id]})
        p.severity = "warning"
        out.append(p)
    return out


#: how many of the export's names a warning of :func:`list_names_not_in_export` shows when none is close
NAMES_SHOWN = 10


def _lists_compared_with_owner(rules: list) -> dict[str, list[str]]:
    """settings list -> the owner fields (``deal.owner``) the rules compare it with (``in: {setting: partner_managers}``)."""
    from crm_audit.engine.plan import field_ref
    from crm_audit.rules.lang import All, AnyOf, Leaf, Not, SettingRef

    out: dict[str, list[str]] = {}

    def walk(c) -> None:
        if isinstance(c, (All, AnyOf)):
            for x in c.items:
                walk(x)
        elif isinstance(c, Not):
            walk(c.item)
        elif (isinstance(c, Leaf) and isinstance(c.value, SettingRef) and c.op in ("in", "not_in")
              and not field_ref(c.field).custom and field_ref(c.field).name == "owner"):
            out.setdefault(c.value.name, [])
            if c.field not in out[c.value.name]:
                out[c.value.name].append(c.field)

    for r in rules:
        walk(r.where)
        walk(r.when)
    return out


def list_names_not_in_export(rules: list, settings, export: LoadedExport) -> list[Problem]:
    """A name of a settings list the rules compare with the owner (`partner_managers:`) that is no owner of the export
    (case, spaces and ё aside): a warning at its line with the closest owner's name — the rule would never match it."""
    from crm_audit.engine.requirements import REF_ENTITY
    from crm_audit.rules.ruleset import did_you_mean

    out: list[Problem] = []
    for name, refs in _lists_compared_with_owner(rules).items():
        values = settings.setting_list(name) or []
        owners: dict[str, str] = {}  # norm -> as exported
        files: list[str] = []
        for ref in refs:
            entity, _, field_name = ref.partition(".")
            ent = export.entities.get(REF_ENTITY.get(entity, ""))
            col = ent.column_for(field_name) if ent is not None else None
            if col is None:
                continue
            files.append(ent.file.name)
            for (v,) in export.con.execute(f'SELECT DISTINCT strip("{col}") FROM {ent.table} WHERE NOT is_blank("{col}") ORDER BY 1').fetchall():
                owners.setdefault(norm(v), v)
        if not files:  # no file has the owners: the rule's missing column is said apart
            continue
        path = (name,) if name in ("frozen_lost_reasons", "partner_managers", "trial_stages") else ("lists", name)
        for i, value in enumerate(values):
            if norm(value) in owners:
                continue
            hint = did_you_mean(value, list(owners.values()))
            if not hint:
                shown = list(owners.values())[:NAMES_SHOWN] + (["…"] if len(owners) > NAMES_SHOWN else [])
                hint = Msg(N_(" (the export's owners: {names})"), {"names": ", ".join(shown)}) if shown else ""
            p = settings.problem((*path, i), N_("{setting}: «{name}» is no owner of the export's records ({files}){hint}: the "
                                                "rules comparing the owner with this list never match it; write the name as "
                                                "the export has it"),
                                 "list-name-not-in-export", {"setting": name, "name": value, "files": ", ".join(dict.fromkeys(files)),
                                                             "hint": hint})
            p.severity = "warning"
            out.append(p)
    return out
