"""The SQL a rule compiles to (``crm-audit rules explain ID --sql [--engine X]``)."""

from __future__ import annotations

import datetime as dt

from crm_audit.engine import dialects
from crm_audit.engine.backends.duckdb_backend import DuckDBBackend
from crm_audit.engine.dialects.compiler import ENTITY_TABLES, RuleCompiler, Source
from crm_audit.engine.plan import build
from crm_audit.rules.lang import FIELDS, Rule

#: canonical fields of each entity table as the loader writes them
_TABLE_FIELDS = {
    "deals": set(FIELDS["deal"]) - {"days_in_stage", "stage_since", "reason"},
    "organizations": set(FIELDS["org"]),
    "persons": set(FIELDS["person"]),
    "activities": {"id", "deal_id", "subject", "type", "due_date", "done", "owner"},
}


def rule_sql(rule: Rule, settings, engine: str | None = None, as_of: dt.date | None = None,
             yes_words: list[str] | None = None) -> str:
    """The SQL for ``rule``.

    Without ``engine``: what the DuckDB backend runs over its ``audit_deals``
    table. With an engine (``duckdb``, ``postgres``, ``bigquery``, ``snowflake``,
    ``spark``/``databricks``, ``clickhouse``): the one self-contained
    read-only query for that engine over the tables ``deals``,
    ``organizations``, ``persons``, ``activities`` (canonical columns, custom
    fields by their export name); ``yes_words``: how `is_yes` values are written there (default «Да» / Yes /
    True / 1). ValueError for an unknown engine;
    :class:`~crm_audit.engine.dialects.regex.PatternError` for a pattern it cannot run."""
    as_of = as_of or dt.date.today()
    plan = build(rule, settings)
    if engine is None:
        return DuckDBBackend(None, settings, as_of).rule_sql(plan)
    sources = {t: Source(t, _TABLE_FIELDS[t], custom_lookup=lambda name: name) for t in ENTITY_TABLES}
    return RuleCompiler(dialects.get(engine), settings, as_of, sources, yes_words=yes_words).sql(plan, pretty=True)
