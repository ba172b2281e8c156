"""What a target engine cannot run (``crm-audit validate --engine X``)."""

from __future__ import annotations

from crm_audit.engine import dialects
from crm_audit.engine.dialects import regex
from crm_audit.engine.dialects.compiler import placeholder_pattern
from crm_audit.errors import Problem
from crm_audit.rules.lang import Leaf, Rule, iter_conds


def engine_problems(rules: list[Rule], engine: str) -> list[Problem]:
    """One problem per ``matches:`` / ``placeholder:`` pattern of ``rules`` that ``engine`` cannot run,
    at the rule file's line; ValueError for an unknown engine."""
    d = dialects.get(engine)
    out: list[Problem] = []
    seen: set = set()
    if d.regex_flavor is None:  # DuckDB runs RE2 as written
        return out
    for rule in rules:
        for part in (rule.where, rule.when):
            for c in iter_conds(part) if part is not None else ():
                if not isinstance(c, Leaf) or c.op not in ("matches", "placeholder"):
                    continue
                pattern = str(c.value) if c.op == "matches" else placeholder_pattern(list(c.value) if isinstance(c.value, list) else [])
                why = regex.check(pattern, d.regex_flavor)
                shown = c.value if c.op == "matches" else pattern
                if why is not None and (rule.id, c.path, shown) not in seen:  # a `define:` used three times is one problem
                    seen.add((rule.id, c.path, shown))
                    out.append(rule.problem(c.path, f"rule {rule.id}: {c.op} /{shown}/ is not portable to {d.name}: {why}",
                                            reason="engine-regex"))
    return out
