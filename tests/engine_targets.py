"""Real engines for the dialect tests (issue 15): a PostgreSQL the suite starts itself and an embedded ClickHouse.

PostgreSQL comes from the ``pgserver`` wheel (initdb + postgres in a temporary
directory, a Unix socket, no Docker, no root), driven through ``psycopg``;
ClickHouse from the ``chdb`` wheel. The loaded export's DuckDB tables are
copied over as they are (same names, columns and types), then each rule runs
as the one read-only query compiled for that dialect.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pyarrow as pa

from crm_audit.engine.backends.duckdb_backend import DuckDBBackend
from crm_audit.engine.backends.sql_backend import ChdbTarget, DBAPITarget, SparkTarget, SQLBackend
from crm_audit.engine.dialects.compiler import sources_from_export


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pg_type(t: pa.DataType) -> str:
    if pa.types.is_floating(t):
        return "double precision"
    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    return "text"


def _ch_type(t: pa.DataType) -> str:
    if pa.types.is_floating(t):
        return "Nullable(Float64)"
    if pa.types.is_integer(t):
        return "Nullable(Int64)"
    if pa.types.is_boolean(t):
        return "Nullable(Bool)"
    if pa.types.is_date(t):
        return "Nullable(Date32)"
    if pa.types.is_timestamp(t):
        return "Nullable(DateTime64(6))"
    return "Nullable(String)"


def export_tables(export) -> dict[str, pa.Table]:
    """The loaded export's entity tables, as Arrow."""
    out = {}
    for ent in export.entities.values():
        rel = export.con.sql(f"SELECT * FROM {ent.table}")
        t = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
        out[ent.table] = t.read_all() if not isinstance(t, pa.Table) else t
    return out


class Postgres:
    """One PostgreSQL server for the session; each export goes into a fresh schema."""

    def __init__(self):
        import pgserver
        import psycopg

        self._dir = tempfile.TemporaryDirectory(prefix="crm-audit-pg-")
        self.server = pgserver.get_server(Path(self._dir.name), cleanup_mode="stop")
        self.conn = psycopg.connect(self.server.get_uri(), autocommit=True)
        self._n = 0

    def load(self, export) -> DBAPITarget:
        self._n += 1
        schema = f"export_{self._n}"
        cur = self.conn.cursor()
        cur.execute(f"CREATE SCHEMA {schema}")
        for name, table in export_tables(export).items():
            cols = ", ".join(f"{_q(f.name)} {_pg_type(f.type)}" for f in table.schema)
            cur.execute(f"CREATE TABLE {schema}.{_q(name)} ({cols})")
            names = ", ".join(_q(f.name) for f in table.schema)
            with cur.copy(f"COPY {schema}.{_q(name)} ({names}) FROM STDIN") as cp:
                for row in zip(*(c.to_pylist() for c in table.columns)):
                    cp.write_row(row)
        cur.execute(f"SET search_path TO {schema}")
        cur.execute("ANALYZE")  # a warehouse has statistics; freshly copied tables get them here
        return DBAPITarget(self.conn, "postgres")

    def close(self) -> None:
        self.conn.close()
        self.server.cleanup()
        self._dir.cleanup()


class ClickHouse:
    """An embedded ClickHouse (chdb) session; each export goes into a fresh database."""

    def __init__(self):
        from chdb import session

        self._dir = tempfile.TemporaryDirectory(prefix="crm-audit-ch-")
        self.session = session.Session(self._dir.name)
        self._n = 0

    def load(self, export) -> ChdbTarget:
        self._n += 1
        db = f"export_{self._n}"
        self.session.query(f"CREATE DATABASE {db}")
        for name, table in export_tables(export).items():
            cols = ", ".join(f"`{f.name}` {_ch_type(f.type)}" for f in table.schema)
            self.session.query(f"CREATE TABLE {db}.`{name}` ({cols}) ENGINE = Memory")
            if table.num_rows:
                # chdb reads a missing date of an Arrow column as -2^31: dates go over as text
                data = pa.table({f.name: (c.cast(pa.string()) if pa.types.is_date(f.type) else c)  # noqa: F841 (read by name by Python())
                                 for f, c in zip(table.schema, table.columns)})
                select = ", ".join(f"CAST(`{f.name}` AS {_ch_type(f.type)})" for f in table.schema)
                self.session.query(f"INSERT INTO {db}.`{name}` SELECT {select} FROM Python(data)")
        self.session.query(f"USE {db}")
        return ChdbTarget(self.session)

    def close(self) -> None:
        self.session.close()
        self._dir.cleanup()


class Spark:
    """Spark in local mode (one JVM for the session); each export's tables become temporary views."""

    def __init__(self):
        from pyspark.sql import SparkSession

        self.session = (SparkSession.builder.master("local[2]").appName("crm-audit-tests")
                        .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
                        .config("spark.sql.shuffle.partitions", "2").getOrCreate())
        self.session.sparkContext.setLogLevel("ERROR")

    def load(self, export) -> SparkTarget:
        for name, table in export_tables(export).items():
            self.session.createDataFrame(table).createOrReplaceTempView(name)
        return SparkTarget(self.session)

    def close(self) -> None:
        self.session.stop()


def duckdb_frames(export, settings, plans, as_of: dt.date) -> dict:
    """What ``crm-audit run`` computes per rule: DuckDB, audit_deals materialised."""
    backend = DuckDBBackend(export, settings, as_of)
    backend.prepare(plans)
    return {p.rule.id: backend.run(p) for p in plans}


def engine_frames(target, export, settings, plans, as_of: dt.date) -> dict:
    """The same per rule, each rule one read-only query on ``target``."""
    backend = SQLBackend(target, settings, as_of, sources_from_export(export))
    return {p.rule.id: backend.run(p) for p in plans}


def rows(df) -> tuple[list, list]:
    """A frame's columns and rows as plain Python values (None for missing), for exact comparison."""
    clean = df.astype(object).where(df.notna(), None)
    return list(df.columns), [tuple(r) for r in clean.itertuples(index=False)]
