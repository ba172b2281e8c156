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


def unmatched_columns(settings, export: LoadedExport, profile: Profile) -> list[Problem]:
    """`columns: {entity: {field: header}}` entries whose header is no column of that entity's file."""
    from crm_audit.rules.ruleset import did_you_mean

    out: list[Problem] = []
    for entity, name, header, ent, spec, bare in _unmatched(settings, export, profile):
        unused = [spec.strip_prefix(h, ent.own_prefix)[0] for _c, h in ent.custom.values()]  # the columns no field took first
        out.append(settings.problem(
            ("columns", entity, name),
            N_("columns: {entity}: {field}: «{header}» is not a column of {file}{hint}; write the header as the file has "
               "it (without the prefix such as «Deal - »)"),
            "unknown-column", {"entity": entity, "field": name, "header": header, "file": ent.file.name,
                               "hint": did_you_mean(header, unused) or did_you_mean(header, bare)}))
    return out


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
    by_id = {r.id: r for r in reversed(rules)}  # one id twice (said by validate): the first rule's name
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
        team = getattr(settings, "fields", None) or {}
        ent_name = m.field.partition(".")[0]
        mapped = next((k for k, v in team.items() if norm(k) == norm(m.field) or
                       (k.partition(".")[0] == ent_name and norm(v) in (norm(m.field.partition(".")[2]), norm(m.column)))), None)
        if mapped is not None:  # the team's column under `fields:` (a typo there): at that line
            out.append(settings.problem(("fields", mapped), template, "missing-column", {**params, "rules": [
                ByLanguage({"en": f"{by_id[r].code} {r}", "ru": f"{by_id[r].code} {by_id[r].title or r}"}) for r in m.needed_by if r in by_id]}))
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
    return out


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
