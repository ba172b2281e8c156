"""SQL dialects the rule plans are rendered to: one small class of primitives per engine.

A rule's plan is compiled once per dialect into a sqlglot expression tree
(:mod:`crm_audit.engine.dialects.compiler`); everything that differs between
engines is one of the primitives of :mod:`crm_audit.engine.dialects.sql` — trim,
normalise case and «ё», blank test, number parsing, regular-expression search
and full match, cast-or-null, days between dates, conditional counts and
minimums, the first value by an order under a filter, UTF-8 lower-casing.
DuckDB is the reference: its primitives are exactly the SQL the engine ran
before (the loader's macros, spelled out), and the others are written to give
the same values.

This package gives the names of :mod:`.sql` (``dialects.get``, ``dialects.Dialect`` …) when they are first used:
what needs only an engine's name and its regex flavour — ``crm-audit validate`` (:mod:`.names`, :mod:`.regex`,
:mod:`.check`) — does not import sqlglot.
"""

from __future__ import annotations

from crm_audit.engine.dialects.names import ALIASES, NAMES, canonical  # noqa: F401 - dialects.NAMES, dialects.ALIASES

#: the names of :mod:`crm_audit.engine.dialects.sql` this package gives (tests/test_startup.py checks it lists them all)
SQL_NAMES = frozenset({"BigQuery", "ClickHouse", "DIALECTS", "Dialect", "JSON_NATIVE", "Postgres", "S", "Snowflake", "Spark",
                       "fn", "get", "json_native", "num"})


def __getattr__(name: str):
    if name in SQL_NAMES:
        from crm_audit.engine.dialects import sql

        return getattr(sql, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
