"""Rule plans run where the data lives: PostgreSQL, ClickHouse, Spark, BigQuery, Snowflake.

Each rule is one read-only query compiled for the engine's dialect
(:meth:`~crm_audit.engine.dialects.compiler.RuleCompiler.query`: CTEs only,
nothing created on the target). Its rows are fetched as Arrow and finished
locally by DuckDB — cast to the types a DuckDB run has, fingerprinted and
ordered by :mod:`crm_audit.engine.dialects.finish` — so the findings, their
fingerprints and their order are those of the local DuckDB run on the same
data.

On a warehouse (``crm-audit run --engine URL``, :mod:`crm_audit.warehouse`) the entities are read where the
connector put them: each one's ``SELECT`` from the warehouse profile is a CTE (``ctes``) in front of the
rule query, so the query stays one read-only statement.

A target is anything with ``run(sql) -> pyarrow.Table``: :class:`DBAPITarget`
wraps a DB-API connection (psycopg, the Snowflake and Databricks
connectors, ``google.cloud.bigquery.dbapi``); :class:`ChdbTarget` an
embedded ClickHouse session; :class:`SparkTarget` a Spark session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from crm_audit.engine import dialects
from crm_audit.engine.dialects.compiler import RuleCompiler, Source
from crm_audit.engine.dialects.finish import finish_sql, typed_rows_sql
from crm_audit.engine.plan import RulePlan


class Target(Protocol):
    dialect: str

    def run(self, sql: str):  # -> pyarrow.Table
        ...


@dataclass
class DBAPITarget:
    """A DB-API 2.0 connection of an engine speaking ``dialect``."""

    connection: Any
    dialect: str

    def run(self, sql: str):
        import pyarrow as pa

        cur = self.connection.cursor()
        try:
            cur.execute(sql)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        finally:
            cur.close()
        columns = list(zip(*rows)) if rows else [() for _ in names]
        return pa.table({n: pa.array(list(c)) for n, c in zip(names, columns)})


@dataclass
class ChdbTarget:
    """An embedded ClickHouse (``chdb``) session."""

    session: Any
    dialect: str = "clickhouse"

    def run(self, sql: str):
        return self.session.query(sql, "ArrowTable")

    def describe(self, sql: str) -> dict[str, str]:
        """The result columns of ``sql`` (lower case) -> their ClickHouse type (``Nullable(DateTime64(6, 'UTC'))``)."""
        rows = self.run(f"DESCRIBE ({sql})").to_pylist()
        return {str(r["name"]).lower(): str(r["type"]).lower() for r in rows}


@dataclass
class SparkTarget:
    """A Spark session (Spark SQL / Databricks Connect)."""

    session: Any
    dialect: str = "spark"

    def run(self, sql: str):
        df = self.session.sql(sql)
        variants = [f.name for f in df.schema.fields if f.dataType.typeName() == "variant"]
        if variants:  # a VARIANT column (Spark 4, Databricks) reaches Arrow as binary structs: fetched as its JSON text
            from pyspark.sql import functions as F

            df = df.select(*[F.to_json(F.col(f"`{n}`")).alias(n) if n in variants else F.col(f"`{n}`") for n in df.columns])
        if hasattr(df, "toArrow"):  # Spark >= 4
            return df.toArrow()
        import pyarrow as pa

        return pa.Table.from_pandas(df.toPandas(), preserve_index=False)

    def describe(self, sql: str) -> dict[str, str]:
        """The result columns of ``sql`` (lower case) -> their Spark type (``timestamp`` is an instant,
        ``timestamp_ntz`` a wall clock), as the analyser gives them (nothing is read)."""
        return {f.name.lower(): f.dataType.simpleString().lower() for f in self.session.sql(sql).schema.fields}


class SQLBackend:
    """The rules on another engine's tables; :meth:`run` gives the frame :class:`DuckDBBackend` gives."""

    def __init__(self, target: Target, settings, as_of: dt.date, sources: dict[str, Source],
                 *, ctes: list | None = None, yes_words: list[str] | None = None):
        """``yes_words``: how `is_yes` values are written in these tables (the export profile's, every language);
        default the rules' own «Да» / Yes / True / 1. ``ctes``: (name, sqlglot SELECT) in front of every query —
        a warehouse's entity queries (:mod:`crm_audit.warehouse.entities`)."""
        self.target = target
        self.dialect = dialects.get(target.dialect)
        self.compiler = RuleCompiler(self.dialect, settings, as_of, sources, yes_words=yes_words)
        self.ctes = list(ctes or [])
        self.warnings: list = []

    def _with_ctes(self, q, plans: list[RulePlan]):
        """``q`` over ``audit_deals`` (and ``task_agg``) built for ``plans``, every CTE in front: one statement."""
        deals, tasks = self.compiler.audit_deals(plans)
        for name, sel in self.ctes:
            q = q.with_(name, as_=sel)
        if tasks is not None:
            q = q.with_("task_agg", as_=tasks)
        return self.dialect.finish(q.with_("audit_deals", as_=deals))

    def query(self, plan: RulePlan):
        """The rule's one self-contained read-only query (a sqlglot tree)."""
        if not self.ctes:
            return self.compiler.query(plan)
        return self._with_ctes(self.compiler.rows(plan), [plan])

    def rule_sql(self, plan: RulePlan, pretty: bool = False) -> str:
        return self.dialect.render(self.query(plan), pretty=pretty)

    def over_audit_deals(self, select, plans: list[RulePlan]):
        """``select`` (a sqlglot SELECT reading ``audit_deals`` or the CTEs) run on the target, as Arrow: counts,
        owners, stage checks."""
        return self.target.run(self.dialect.render(self._with_ctes(select, plans)))

    def fetch(self, plan: RulePlan):
        """The rule's rows as the engine returns them (Arrow; unordered, no fingerprint)."""
        return self.target.run(self.rule_sql(plan))

    def run(self, plan: RulePlan) -> pd.DataFrame:
        return finish_rows(self.fetch(plan), plan)


def finish_rows(table, plan: RulePlan) -> pd.DataFrame:
    """Rows fetched from any engine, typed, fingerprinted and ordered by DuckDB (see :mod:`~crm_audit.engine.dialects.finish`)."""
    import duckdb

    from crm_audit.engine.backends.duckdb_backend import fetch_frame

    con = duckdb.connect()
    try:
        con.register("fetched", table)
        return fetch_frame(con, finish_sql(typed_rows_sql("fetched", plan), plan))
    finally:
        con.close()
