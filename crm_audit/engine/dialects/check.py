"""What a target engine cannot run (``crm-audit validate --engine X``)."""

from __future__ import annotations

from crm_audit.engine.dialects import names, regex
from crm_audit.engine.dialects.regex import placeholder_pattern
from crm_audit.errors import Problem
from crm_audit.i18n import N_
from crm_audit.rules.lang import Leaf, Rule, iter_conds


def engine_problems(rules: list[Rule], engine: str) -> list[Problem]:
    """One problem per ``matches:`` / ``placeholder:`` pattern of ``rules`` that ``engine`` cannot run (DuckDB: what
    RE2 cannot compile — look-around, back-references; the others: what leaves the portable subset), at the rule
    file's line, in the CLI's language; ValueError for an unknown engine."""
    engine = names.canonical(engine)  # the dialect's name and regex flavour, without building any SQL
    flavor = names.REGEX_FLAVORS[engine]
    out: list[Problem] = []
    seen: set = set()
    for rule in rules:
        for part in (rule.where, rule.when):
            for c in iter_conds(part) if part is not None else ():
                if not isinstance(c, Leaf) or c.op not in ("matches", "placeholder"):
                    continue
                pattern = str(c.value) if c.op == "matches" else placeholder_pattern(list(c.value) if isinstance(c.value, list) else [])
                why = regex.check(pattern, flavor)
                shown = c.value if c.op == "matches" else pattern
                if why is not None and (rule.id, c.path, shown) not in seen:  # a `define:` used three times is one problem
                    seen.add((rule.id, c.path, shown))
                    out.append(rule.problem(c.path, N_("rule {rule}: {op} /{pattern}/ cannot run on {engine}: {why}"),
                                            reason="engine-regex", params={"rule": rule.id, "op": c.op, "pattern": shown,
                                                                           "engine": engine, "why": why}))
    return out
