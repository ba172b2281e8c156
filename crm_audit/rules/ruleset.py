"""Load the rule files a settings file asks for and check them against it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from crm_audit import resources
from crm_audit.rules import lang
from crm_audit.errors import Msg, Problem, RuleError
from crm_audit.i18n import N_
from crm_audit.rules.lang import Leaf, Rule, SettingRef, StageCmp, iter_conds, split_field
from crm_audit.settings import Settings
from crm_audit.textnorm import norm

BUNDLED_FILES = ("critical_1.yaml", "critical_2.yaml")


def rule_files(settings: Settings) -> list[Path]:
    files = [resources.rules_dir() / f for f in BUNDLED_FILES] if settings.rules.bundled else []
    files += [settings.resolve(f) for f in settings.rules.files]
    return files


def closest(name: str, known) -> str | None:
    """The known name closest to ``name`` («did you mean …»), case-, space- and ё-insensitive."""
    import difflib

    known = list(dict.fromkeys(known))
    by_key = {norm(k): k for k in known}
    hit = difflib.get_close_matches(norm(name), list(by_key), n=1, cutoff=0.6)
    return by_key[hit[0]] if hit else None


def did_you_mean(name: str, known, kind: str | None = None) -> Msg | str:
    """« (did you mean «X»?)» (a :class:`Msg`, made in the language it is shown in) or ''. With ``kind`` («stage» /
    «pipeline»: a name of the handbook's), the known name of the same meaning in any language too
    (:mod:`crm_audit.handbook_names`: «Отправлено КП» -> a pt-BR team's «Proposta/Cotação de preço», acceptance N8)."""
    hit = closest(name, known)
    if hit is None and kind is not None:
        from crm_audit import handbook_names

        answer = handbook_names.best(kind, name, list(known))
        hit = answer.team if answer is not None else None
    return Msg(N_(" (did you mean «{name}»?)"), {"name": hit}) if hit else ""


def _renamed_cond(c, settings: Settings):
    """A condition with this team's names (`fields:`, `stage_names:`, `pipeline_names:`)."""
    import dataclasses

    from crm_audit.rules.lang import All, AnyOf, Not

    if c is None:
        return None
    if isinstance(c, (All, AnyOf)):
        return dataclasses.replace(c, items=[_renamed_cond(x, settings) for x in c.items])
    if isinstance(c, Not):
        return dataclasses.replace(c, item=_renamed_cond(c.item, settings))
    if isinstance(c, StageCmp):
        return dataclasses.replace(c, stage=settings.stage_name(c.stage))
    if isinstance(c, Leaf):
        value = c.value
        ent, name = split_field(c.field)
        if c.op in ("same_as", "differs_from") and isinstance(value, str):
            value = settings.rule_field(value)
        elif ent == "deal" and name in ("stage", "pipeline") and not isinstance(value, SettingRef):
            rename = settings.stage_name if name == "stage" else settings.pipeline_name
            value = [rename(str(v)) for v in value] if isinstance(value, list) else rename(str(value)) if isinstance(value, str) else value
        return dataclasses.replace(c, field=settings.rule_field(c.field), value=value)
    return c


def with_team_names(rule: Rule, settings: Settings) -> Rule:
    """The rule as this team's export and pipelines name things: the settings'
    `fields:` (custom field -> column), `stage_names:` and `pipeline_names:`.
    The rule file is unchanged; ids, codes, titles and problems' lines stay the rule's own."""
    import dataclasses

    from crm_audit.rules.lang import Evidence

    if not (settings.fields or settings.stage_names or settings.pipeline_names):
        return rule
    return dataclasses.replace(
        rule,
        pipelines=[settings.pipeline_name(p) for p in rule.pipelines],
        where=_renamed_cond(rule.where, settings),
        when=_renamed_cond(rule.when, settings),
        evidence=[Evidence(settings.rule_field(e.field), e.title) for e in rule.evidence],
    )


def _names_problems(rules: list[Rule], settings: Settings) -> list[Problem]:
    """`fields:`, `stage_names:` and `pipeline_names:` keys must be names the rules use; values must exist."""
    from crm_audit.rules.lang import FIELDS, rule_fields

    out: list[Problem] = []
    used_fields = {f for r in rules for f in rule_fields(r)}
    custom = {f for f in used_fields if split_field(f)[1] not in FIELDS.get(split_field(f)[0], {})}
    names = custom | {split_field(f)[1] for f in custom}
    for key in settings.fields:
        ent, dot, name = key.partition(".")
        if ent.strip() in FIELDS and name.strip() in FIELDS[ent.strip()]:
            out.append(settings.problem(("fields", key), N_("«{key}» is one of the export's own fields: map its header under columns: (columns: {{deals: {{{name}: …}}}})"), "not-custom-field", {"key": key, "name": name.strip()}))
        elif norm(key) not in {norm(n) for n in names}:
            out.append(settings.problem(("fields", key), N_("no rule reads the field «{key}»{hint}"), "unknown-field", {"key": key, "hint": did_you_mean(key, sorted(custom))}))
    stages: set[str] = set()
    pipes: set[str] = set()
    for r in rules:
        pipes |= set(r.pipelines)
        for root in (r.where, r.when):
            for c in iter_conds(root):
                if isinstance(c, StageCmp):
                    stages.add(c.stage)
                elif isinstance(c, Leaf) and c.field in ("deal.stage", "deal.pipeline") and not isinstance(c.value, SettingRef):
                    vals = c.value if isinstance(c.value, list) else [c.value]
                    (stages if c.field == "deal.stage" else pipes).update(str(v) for v in vals)
    all_stages = [s for st in settings.pipelines.values() for s in st]
    for key, value in settings.stage_names.items():
        if norm(key) not in {norm(x) for x in stages}:
            out.append(settings.problem(("stage_names", key), N_("no rule names the stage «{key}»{hint}"), "unknown-stage", {"key": key, "hint": did_you_mean(key, sorted(stages))}))
        if not settings.stage_positions(value):
            out.append(settings.problem(("stage_names", key), N_("«{value}» is a stage of none of the pipelines{hint}"), "unknown-stage", {"value": value, "hint": did_you_mean(value, all_stages)}))
    for key, value in settings.pipeline_names.items():
        if norm(key) not in {norm(x) for x in pipes}:
            out.append(settings.problem(("pipeline_names", key), N_("no rule names the pipeline «{key}»{hint}"), "unknown-pipeline", {"key": key, "hint": did_you_mean(key, sorted(pipes))}))
        if settings.pipeline_key(value) is None:
            out.append(settings.problem(("pipeline_names", key), N_("«{value}» is not one of the pipelines{hint}"), "unknown-pipeline", {"value": value, "hint": did_you_mean(value, list(settings.pipelines))}))
    return out


@dataclass(frozen=True)
class UnknownName:
    """A pipeline, stage or setting list a rule names that the settings do not have."""

    kind: str  # pipeline | stage | setting
    name: str
    path: tuple  # where in the rule file (for the problem's line)
    compared: bool = False  # a stage named in a «stage ≥ X» comparison (not in an equals / in list)
    #: a compared stage some pipeline has, but none of those the rule is limited to (`scope: pipeline:`): its deals
    #: are never compared with it (the bundled 1.13 «stage ≥ Проведено демо» in a «Клиенты» without that stage)
    scoped: tuple[str, ...] = ()


def unknown_names(rule: Rule, settings: Settings) -> list[UnknownName]:
    """Every pipeline, stage and setting list ``rule`` names that ``settings`` lacks, in file order."""
    out: list[UnknownName] = []
    all_stages = {norm(s) for stages in settings.pipelines.values() for s in stages}
    for i, pl in enumerate(rule.pipelines):
        if settings.pipeline_key(pl) is None:
            out.append(UnknownName("pipeline", pl, rule_path(rule) + ("scope", "pipeline", i)))
    for root in (rule.where, rule.when):
        for c in iter_conds(root):
            if isinstance(c, StageCmp):
                at = settings.stage_positions(c.stage)
                scope = [settings.pipeline_key(pl) for pl in rule.pipelines]
                if not at:
                    out.append(UnknownName("stage", c.stage, c.path, compared=True))
                elif scope and None not in scope and not any(norm(pl) in at for pl in scope):
                    out.append(UnknownName("stage", c.stage, c.path, compared=True, scoped=tuple(scope)))
            if isinstance(c, Leaf):
                if isinstance(c.value, SettingRef) and settings.setting_list(c.value.name) is None:
                    out.append(UnknownName("setting", c.value.name, c.path))
                ent, name = split_field(c.field)
                if ent == "deal" and name in ("stage", "pipeline") and c.op in ("equals", "not_equals", "in", "not_in") and not isinstance(c.value, SettingRef):
                    known = all_stages if name == "stage" else {norm(p) for p in settings.pipelines}
                    for v in (c.value if isinstance(c.value, list) else [c.value]):
                        if norm(str(v)) not in known:
                            out.append(UnknownName(name, str(v), c.path))
    return out


def _check_against_settings(rule: Rule, settings: Settings, bundled: bool = False) -> list[Problem]:
    """Pipelines, stages and setting lists a rule names must exist.

    In the company's own rule files that is an error (a typo would silently
    flag nothing). The bundled rules name the reference company's pipelines
    («Клиенты», «Партнеры»); a company without one of them gets a warning
    rather than a refusal to run, and can disable the rule.
    """
    out: list[Problem] = []
    stages = [x for st in settings.pipelines.values() for x in st]
    for u in unknown_names(rule, settings):
        if u.kind == "pipeline" and u.path[-3:-1] == ("scope", "pipeline"):
            msg = N_("unknown pipeline «{name}»{hint}; the settings list: {known}")
            params = {"hint": did_you_mean(u.name, list(settings.pipelines), "pipeline"), "known": ", ".join(settings.pipelines)}
        elif u.kind == "setting":
            msg = N_("unknown setting list «{name}»; use frozen_lost_reasons, partner_managers, trial_stages or a name under lists:")
            params = {}
        elif u.scoped:
            msg = N_("stage «{name}» is not in {pipelines}, the pipeline the rule is limited to: its deals are never compared "
                     "with it; add the stage to that pipeline in `pipelines:` (in its place in the order){hint}")
            params = {"pipelines": ", ".join(f"«{pl}»" for pl in u.scoped),
                      "hint": did_you_mean(u.name, [x for pl in u.scoped for x in settings.pipelines[pl]], "stage")}
        elif u.compared or u.kind == "stage":
            msg = (N_("unknown stage «{name}»: it is in none of the settings' pipelines{hint}") if u.compared
                   else N_("unknown stage «{name}»: not in the settings' pipelines{hint}"))
            params = {"hint": did_you_mean(u.name, stages, "stage")}
        else:
            msg = N_("unknown pipeline «{name}»: not in the settings' pipelines{hint}")
            params = {"hint": did_you_mean(u.name, list(settings.pipelines), "pipeline")}
        out.append(rule.problem(u.path, msg, f"unknown-{u.kind}", {"name": u.name, **params}))
    if bundled:
        # a scope of several pipelines of which the team has some: the rule runs on those (not «checks nothing»)
        others = [pl for pl in rule.pipelines if settings.pipeline_key(pl) is not None]
        for p in out:
            if p.reason in ("unknown-pipeline", "unknown-stage"):
                p.severity = "warning"
                if p.reason == "unknown-pipeline" and others:
                    p.template, p.params = (N_("{problem}; bundled rule {code} runs on {pipelines} only (add it to the settings or "
                                               "name your own with pipeline_names: to check it there too)"),
                                            {"problem": Msg(p.template or p.message, p.params), "code": rule.code,
                                             "pipelines": ", ".join(f"«{pl}»" for pl in others)})
                else:
                    p.template, p.params = (N_("{problem}; bundled rule {code} checks nothing for it (add it to the settings, name "
                                               "your own with stage_names: / pipeline_names:, or disable the rule with rules: "
                                               "disable: [{rule}])"),
                                            {"problem": Msg(p.template or p.message, p.params), "code": rule.code, "rule": rule.id})
                p.message = p.text()
    return out


#: a rule field computed from the profile's fields (any one of them is enough; days in stage need the stage change:
#: its blank cells fall back to the creation date, a missing column is never replaced by it)
_COMPUTED_FROM = {"days_in_stage": ("stage_changed",), "stage_since": ("stage_changed",),
                  "reason": ("lost_reason", "won_reason")}
_FIELD_ENTITY = {"deal": "deals", "org": "organizations", "person": "persons", "tasks": "activities"}


def _tested_fields(rule: Rule) -> dict[str, tuple]:
    """Every field a rule's conditions test -> the path of the first condition testing it (where a problem points)."""
    where: dict[str, tuple] = {}
    for root in (rule.where, rule.when):
        for c in iter_conds(root):
            if isinstance(c, Leaf):
                where.setdefault(c.field, c.path)
    return where


def unprovided_fields(rules: list[Rule], settings: Settings, profile) -> list[Problem]:
    """The export's own fields (deal.won_reason, org.owner …) the rules read that no export of the
    settings' CRM profile provides: the profile has no such field (so `columns:` cannot map one either),
    and does not declare it `unsupported:` (then the rule is skipped with the reason). Each at the rule's line (the condition's, where the field is tested). Rules switched off
    under `rules: skip:` are not checked. A custom field (deal.Источник сделки) may be in any export."""
    from crm_audit.rules.lang import FIELDS

    out: list[Problem] = []
    for rule in rules:
        if rule.off:
            continue
        where = _tested_fields(rule)
        for ref in sorted({*where, *(e.field for e in rule.evidence)}):
            ent, name = split_field(ref)
            if ent == "tasks" or name not in FIELDS.get(ent, {}) or name == "status":
                continue
            entity = _FIELD_ENTITY[ent]
            spec = profile.entities.get(entity)
            keys = profile.unsupported_keys(ent, name)
            if any(profile.unsupported_reason(k) for k in keys):
                continue
            needed = _COMPUTED_FROM.get(name, (name,))
            if ent in ("org", "person") and name == "name":
                needed = ("name",)
            if spec is not None and any(n in spec.fields for n in needed):
                continue
            if ent in ("org", "person") and name == "name" and f"{ent}_name" in profile.entities["deals"].fields:
                continue
            crm = profile.title or profile.name
            what = (Msg(N_("the {crm} profile reads no {entity} file"), {"crm": crm, "entity": entity}) if spec is None
                    else Msg(N_("no {crm} export has «{ref}» (the profile has no such field)"), {"crm": crm, "ref": ref}))
            out.append(rule.problem(where.get(ref, ()), N_("{what}: rule {code} {rule} cannot run; read your own column by its "
                                                           "name in the rule ({entity}.<column>) or switch the rule off (rules: "
                                                           "skip: {{{rule}: <why>}})"),
                                    "unprovided-field", {"what": what, "code": rule.code, "rule": rule.id, "entity": ent}))
    return out


def rule_path(rule: Rule) -> tuple:
    for path, (line, _col) in rule.marks.items():
        if len(path) == 2 and path[0] == "rules" and line == rule.line:
            return path
    return ()


def collect(settings: Settings) -> tuple[list[Rule], list[Problem]]:
    """Every rule that loads, and every problem found (nothing raised)."""
    rules, _broken, problems = collect_all(settings)
    return rules, problems


def _duplicate_problems(everyone: list[Rule]) -> list[Problem]:
    """A rule id, code or sheet title written twice — by rules that load or not (a broken rule's id is still taken) —
    at each later place naming the first, and at the first naming the second (acceptance U4: both places)."""
    out: list[Problem] = []
    for what, key_of in (("id", lambda r: r.id), ("code", lambda r: r.code), ("sheet title", lambda r: r.sheet_title.lower())):
        msg = {"id": N_("rule id «{key}» is also used at {where}"), "code": N_("rule code «{key}» is also used at {where}"),
               "sheet title": N_("rule sheet title «{key}» is also used at {where}")}[what]
        seen: dict[str, Rule] = {}
        named_first: set[str] = set()
        for r in everyone:
            key = key_of(r)
            if not key.strip():
                continue
            if key in seen:
                o = seen[key]
                reason = f"duplicate-{what.replace(' ', '-')}"
                if key not in named_first:
                    named_first.add(key)
                    out.append(Problem(template=msg, params={"key": key, "where": f"{r.file}:{r.line}"}, file=o.file, line=o.line,
                                       reason=reason))
                out.append(Problem(template=msg, params={"key": key, "where": f"{o.file}:{o.line}"}, file=r.file, line=r.line,
                                   reason=reason))
            else:
                seen[key] = r
    return out


def collect_all(settings: Settings) -> tuple[list[Rule], list[Rule], list[Problem]]:
    """(every rule that loads, every rule that does not as far as it parsed — both as `collect` turns them on or
    off — every problem found); nothing raised. `validate --export` checks the broken rules' fields too."""
    rules: list[Rule] = []
    broken_rules: list[Rule] = []
    everyone: list[Rule] = []  # every rule of every file, in the files' order (duplicates)
    originals: list[Rule] = []  # as the files write them (`fields:` etc. name their fields)
    problems: list[Problem] = []
    bundled_dir = resources.rules_dir()
    for f in rule_files(settings):
        if not f.exists():
            line, col = settings.where("rules", "files")
            problems.append(Problem(template=N_("rule file {path} not found"), params={"path": str(f)}, file=settings.file, line=line,
                                    col=col, reason="not-found"))
            continue
        parsed, broken, probs = lang.parse_rule_file_all(f)
        named = [with_team_names(r, settings) for r in parsed]
        switched_off = set(settings.rules.skip) | set(settings.rules.disable)
        for r in named + [with_team_names(r, settings) for r in broken]:  # a broken rule's other problems too
            found = _check_against_settings(r, settings, bundled=f.parent == bundled_dir)
            # a bundled rule switched off for want of the handbook's pipeline or stage: said once, by its skip reason
            probs += [p for p in found if not (r.id in switched_off and p.severity == "warning")]
        problems += sorted(probs, key=lambda p: (p.line or 0, p.col or 0))
        originals += parsed
        rules += named
        broken_named = [with_team_names(r, settings) for r in broken]
        broken_rules += broken_named
        everyone += sorted(named + broken_named, key=lambda r: r.line or 0)
    problems += _duplicate_problems(everyone)
    seen_id = dict.fromkeys(r.id for r in everyone)
    for i, rid in enumerate(settings.rules.disable):
        if rid not in seen_id:
            line, col = settings.where("rules", "disable", i)
            problems.append(Problem(template=N_("cannot disable unknown rule «{rule}»{hint}"), params={"rule": rid, "hint": did_you_mean(rid, list(seen_id))},
                                    file=settings.file, line=line, col=col, reason="unknown-rule"))
    for rid in settings.rules.skip:
        if rid not in seen_id:
            line, col = settings.where("rules", "skip", rid)
            problems.append(Problem(template=N_("cannot skip unknown rule «{rule}»{hint}"), params={"rule": rid, "hint": did_you_mean(rid, list(seen_id))},
                                    file=settings.file,
                                    line=line, col=col, reason="unknown-rule"))
    problems += _names_problems(originals, settings)
    off = {k: (v or "выключено") for k, v in settings.rules.skip.items()}
    active, broken_on = ([dataclasses.replace(r, off=off[r.id]) if r.id in off else r
                          for r in group if r.enabled and r.id not in settings.rules.disable] for group in (rules, broken_rules))
    return active, broken_on, problems


def empty_list_problems(rules: list[Rule], settings: Settings) -> list[Problem]:
    """`validate`: a warning at each settings list whose emptiness leaves a rule that is on nothing to flag (the run
    skips the rule, saying so); a rule under rules: skip: is the team's «we have none» and is not warned about."""
    from crm_audit.engine.plan import empty_lists
    from crm_audit.errors import rule_name

    out = []
    for r in rules:
        for setting, field in ([] if r.off else empty_lists(r, settings)[:1]):
            name = setting.removeprefix("lists.")
            path = (setting,) if name == setting and name in type(settings).model_fields else ("lists", name)
            p = settings.problem(path, N_("the list {setting} is empty: rule {code} {rule} compares «{field}» with it and "
                                          "cannot flag any deal, so the run skips it — list the values that count, or if "
                                          "your team has none, switch the rule off (rules: skip: {id}: <why>)"),
                                 "empty-list", {"setting": setting, "code": r.code, "rule": rule_name(r.id, r.title),
                                                "field": field, "id": r.id})
            p.severity = "warning"
            out.append(p)
    return out


class RuleSet(NamedTuple):
    """The rule files parsed once: the active rules and the warnings about them.

    Pass it to :func:`crm_audit.engine.audit.audit_export` (``rules=``) so the
    audit does not parse the files again and still reports the warnings.
    """

    rules: list[Rule]
    warnings: list[Problem]


def load_with_warnings(settings: Settings) -> RuleSet:
    """The active rules and the warnings about them; raises on any error."""
    rules, problems = collect(settings)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise RuleError(problems=errors)
    return RuleSet(rules, [p for p in problems if p.severity != "error"])


def load(settings: Settings) -> list[Rule]:
    return load_with_warnings(settings)[0]


def misspelt_fields(rules: list[Rule], settings: Settings) -> list[Problem]:
    """A column a team rule reads by its own name (``deal.Источник сделкы``) that no other rule and no `fields:` entry
    names, but one is very close to: a warning with «did you mean …» (any column may be read, so not an error)."""
    import difflib

    from crm_audit.rules.lang import FIELDS

    uses: dict[tuple[str, str], list[tuple[Rule, tuple, str]]] = {}
    for rule in rules:
        if rule.off:
            continue
        refs = _tested_fields(rule)
        for e in rule.evidence:
            refs.setdefault(e.field, ())
        for ref, path in refs.items():
            ent, name = split_field(ref)
            if ent != "tasks" and name not in FIELDS.get(ent, {}):
                uses.setdefault((ent, norm(name)), []).append((rule, path, name))
    named = {norm(c) for c in settings.fields.values()} | {norm(k.partition(".")[2] or k) for k in settings.fields}
    out: list[Problem] = []
    bundled = resources.rules_dir().resolve()

    def ours(rule: Rule) -> bool:
        return bool(rule.file) and Path(rule.file).resolve().parent == bundled

    for (ent, key), where in uses.items():
        if len({r.id for r, _p, _n in where}) > 1 or key in named or any(ours(r) for r, _p, _n in where):
            continue  # more than one rule reads it, a bundled rule does, or the team mapped it: a real column name
        others = {k: n for (e, k), w in uses.items() if e == ent and k != key for _r, _p, n in w[:1]}
        others.update({norm(c): c for c in settings.fields.values()})
        hit = difflib.get_close_matches(key, list(others), n=1, cutoff=0.85)
        if hit:
            rule, path, name = where[0]
            p = rule.problem(path, N_("rule {code} {rule} reads «{ref}», which no other rule or fields: entry names "
                                      "(did you mean «{name}»?)"), "misspelt-field",
                             {"code": rule.code, "rule": rule.id, "ref": f"{ent}.{name}", "name": others[hit[0]]})
            p.severity = "warning"
            out.append(p)
    return out

