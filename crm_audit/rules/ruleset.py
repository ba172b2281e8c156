"""Load the rule files a settings file asks for and check them against it."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from crm_audit import resources
from crm_audit.rules import lang
from crm_audit.errors import Problem, RuleError
from crm_audit.rules.lang import Leaf, Rule, SettingRef, StageCmp, iter_conds, split_field
from crm_audit.settings import Settings
from crm_audit.textnorm import norm

BUNDLED_FILES = ("critical_1.yaml", "critical_2.yaml")


def rule_files(settings: Settings) -> list[Path]:
    files = [resources.rules_dir() / f for f in BUNDLED_FILES] if settings.rules.bundled else []
    files += [settings.resolve(f) for f in settings.rules.files]
    return files


def _check_against_settings(rule: Rule, settings: Settings, bundled: bool = False) -> list[Problem]:
    """Pipelines, stages and setting lists a rule names must exist.

    In the company's own rule files that is an error (a typo would silently
    flag nothing). The bundled rules name the reference company's pipelines
    («Клиенты», «Партнеры»); a company without one of them gets a warning
    rather than a refusal to run, and can disable the rule.
    """
    out: list[Problem] = []
    all_stages = {norm(s) for stages in settings.pipelines.values() for s in stages}
    for i, pl in enumerate(rule.pipelines):
        if settings.pipeline_key(pl) is None:
            out.append(rule.problem(rule_path(rule) + ("scope", "pipeline", i), f"unknown pipeline «{pl}»; the settings list: {', '.join(settings.pipelines)}", "unknown-pipeline"))
    for root in (rule.where, rule.when):
        for c in iter_conds(root):
            if isinstance(c, StageCmp) and not settings.stage_positions(c.stage):
                out.append(rule.problem(c.path, f"unknown stage «{c.stage}»: it is in none of the settings' pipelines", "unknown-stage"))
            if isinstance(c, Leaf):
                if isinstance(c.value, SettingRef) and settings.setting_list(c.value.name) is None:
                    out.append(rule.problem(c.path, f"unknown setting list «{c.value.name}»; use frozen_lost_reasons, partner_managers, trial_stages or a name under lists:", "unknown-setting"))
                ent, name = split_field(c.field)
                if ent == "deal" and name in ("stage", "pipeline") and c.op in ("equals", "not_equals", "in", "not_in") and not isinstance(c.value, SettingRef):
                    values = c.value if isinstance(c.value, list) else [c.value]
                    for v in values:
                        known = all_stages if name == "stage" else {norm(p) for p in settings.pipelines}
                        if norm(str(v)) not in known:
                            out.append(rule.problem(c.path, f"unknown {name} «{v}»: not in the settings' pipelines", f"unknown-{name}"))
    if bundled:
        for p in out:
            if p.reason in ("unknown-pipeline", "unknown-stage"):
                p.severity = "warning"
                p.message += f"; bundled rule {rule.code} checks nothing for it (add it to the settings, or disable the rule with rules: disable: [{rule.id}])"
    return out


def rule_path(rule: Rule) -> tuple:
    for path, (line, _col) in rule.marks.items():
        if len(path) == 2 and path[0] == "rules" and line == rule.line:
            return path
    return ()


def collect(settings: Settings) -> tuple[list[Rule], list[Problem]]:
    """Every rule that loads, and every problem found (nothing raised)."""
    rules: list[Rule] = []
    problems: list[Problem] = []
    bundled_dir = resources.rules_dir()
    for f in rule_files(settings):
        if not f.exists():
            line, col = settings.where("rules", "files")
            problems.append(Problem(f"rule file {f} not found", file=settings.file, line=line, col=col, reason="not-found"))
            continue
        parsed, probs = lang.parse_rule_file(f)
        problems += probs
        for r in parsed:
            problems += _check_against_settings(r, settings, bundled=f.parent == bundled_dir)
        rules += parsed
    seen_id: dict[str, Rule] = {}
    seen_code: dict[str, Rule] = {}
    seen_sheet: dict[str, Rule] = {}
    for r in rules:
        for key, seen, what in ((r.id, seen_id, "id"), (r.code, seen_code, "code"), (r.sheet_title.lower(), seen_sheet, "sheet title")):
            if key in seen:
                o = seen[key]
                problems.append(Problem(f"rule {what} «{key}» is also used at {o.file}:{o.line}", file=r.file, line=r.line, reason=f"duplicate-{what.replace(' ', '-')}"))
            seen[key] = r
    for i, rid in enumerate(settings.rules.disable):
        if rid not in seen_id:
            line, col = settings.where("rules", "disable", i)
            problems.append(Problem(f"cannot disable unknown rule «{rid}»", file=settings.file, line=line, col=col, reason="unknown-rule"))
    active = [r for r in rules if r.enabled and r.id not in settings.rules.disable]
    return active, problems


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
