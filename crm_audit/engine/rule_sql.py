"""The SQL a rule compiles to (``crm-audit rules explain ID --sql``): the rule language's plan rendered by the backend."""

from __future__ import annotations

import datetime as dt

from crm_audit.engine.backends.duckdb_backend import DuckDBBackend
from crm_audit.engine.plan import build
from crm_audit.rules.lang import Rule


def rule_sql(rule: Rule, settings) -> str:
    """The SQL the DuckDB backend runs for ``rule`` over the ``audit_deals`` table."""
    backend = DuckDBBackend(None, settings, dt.date.today())
    return backend.rule_sql(build(rule, settings))
