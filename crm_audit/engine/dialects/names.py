"""The SQL engines by name, without building any SQL: what ``validate`` needs to check a rule's patterns.

The dialect classes (:mod:`crm_audit.engine.dialects`) render the rules with sqlglot; naming an engine and knowing
how its regular expressions are written does not need it, so ``crm-audit validate`` does not import it.
"""

from __future__ import annotations

#: engine -> how :mod:`crm_audit.engine.dialects.regex` writes the portable subset for it (None: RE2 as written,
#: DuckDB, the reference); the order is the order engines are listed in
REGEX_FLAVORS: dict[str, str | None] = {"duckdb": None, "postgres": "postgres", "clickhouse": "re2", "spark": "java",
                                        "bigquery": "re2", "snowflake": "snowflake"}
ALIASES = {"databricks": "spark", "postgresql": "postgres", "pg": "postgres", "sparksql": "spark"}
NAMES = tuple(REGEX_FLAVORS)


def canonical(name: str | None) -> str:
    """The engine called ``name`` (DuckDB when None); ValueError naming the known ones otherwise."""
    key = (name or "duckdb").strip().lower()
    key = ALIASES.get(key, key)
    if key not in REGEX_FLAVORS:
        raise ValueError(f"unknown engine «{name}»: one of {', '.join(NAMES)} (databricks = spark)")
    return key
