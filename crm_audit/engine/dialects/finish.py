"""Fingerprints and the order of a rule's rows, in one place for every engine.

A rule query returns its rows unordered and without fingerprints. DuckDB adds
both here: for the DuckDB backend around the rule query itself, for any other
engine over the rows fetched from it (as Arrow), after casting them to the
types the DuckDB run has. So a fingerprint — and the waivers keyed on it — is
the same whichever engine found the row (``CAST(0.0 AS VARCHAR)`` alone is
``0.0`` on DuckDB and Spark but ``0`` on PostgreSQL and ClickHouse), and the
values are exactly those of the DuckDB run before the dialect layer.
"""

from __future__ import annotations

from crm_audit.engine.plan import RulePlan, is_volatile
from crm_audit.report import BASE_COLUMNS, FINGERPRINT_BASE, FINGERPRINT_COLUMN
from crm_audit.sqltext import sql_literal
from crm_audit.textnorm import WS_CLASS

_TRIM = sql_literal("^" + WS_CLASS + "+|" + WS_CLASS + "+$")
_EDGE = sql_literal("^" + WS_CLASS + "|" + WS_CLASS + "$")


def _trimmed(expr: str) -> str:
    """``expr`` without surrounding whitespace; the replace only where an end is blank (most values have none:
    issue 17, a third less per value; the same text, so the same fingerprints)."""
    return f"CASE WHEN regexp_matches({expr}, {_EDGE}) THEN regexp_replace({expr}, {_TRIM}, '', 'g') ELSE {expr} END"

#: DuckDB types of the evidence by kind (as :func:`crm_audit.engine.audit._kind` names them)
DUCKDB_TYPES = {"int": "BIGINT", "number": "DOUBLE", "date": "DATE", "text": "VARCHAR"}


def _kind(ref) -> str:
    if ref.entity == "tasks" and ref.name.endswith("_count") or ref.name == "days_in_stage":
        return "int"
    return {"date": "date", "number": "number"}.get(ref.type, "text")


def fingerprint_sql(plan: RulePlan) -> str:
    """The row's fingerprint: its audited fields for this rule, trimmed of whitespace, hashed (16 hex digits).

    The same row gives the same value at every audit, so a waived deal that
    changed is noticed; a value that only gained or lost surrounding spaces
    is the same value, so a waiver does not end for it."""
    audited = list(FINGERPRINT_BASE) + [f"ev{i}" for i, (ref, _t) in enumerate(plan.evidence) if not is_volatile(ref)]
    texts = ", ".join(f"coalesce({_trimmed(f'CAST({c} AS VARCHAR)')}, '')" for c in audited)
    return f"substr(md5(concat_ws(chr(31), {texts})), 1, 16)"


ORDER = ("replace(lower(" + _trimmed("owner") + "), 'ё', 'е') NULLS LAST, "
         "TRY_CAST(deal_id AS BIGINT) NULLS LAST, deal_id")


def finish_sql(rows_sql: str, plan: RulePlan) -> str:
    """DuckDB SQL over the rule's rows (a query or a table): every column, the fingerprint, in the sheet's order."""
    return f"SELECT *, {fingerprint_sql(plan)} AS {FINGERPRINT_COLUMN}\nFROM ({rows_sql}) AS rule_rows\nORDER BY {ORDER}"


def typed_rows_sql(table: str, plan: RulePlan) -> str:
    """The fetched rows of another engine as DuckDB would hold them (the base columns text, evidence by kind)."""
    cols = [f"CAST({c.key} AS VARCHAR) AS {c.key}" for c in BASE_COLUMNS]
    cols += [f"CAST(ev{i} AS {DUCKDB_TYPES[_kind(ref)]}) AS ev{i}" for i, (ref, _t) in enumerate(plan.evidence)]
    return f"SELECT {', '.join(cols)} FROM {table}"
