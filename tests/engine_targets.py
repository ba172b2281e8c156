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


PG_PREFIX = "crm-audit-pg-"
OWNER_FILE = "crm-audit-owner.pid"
#: a server directory of the tests from before the owner file, this old, is a leftover (a live one is minutes old)
LEGACY_AGE = 12 * 3600


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_orphans(tmp: Path | None = None) -> list[Path]:
    """Stop and remove the test PostgreSQL servers whose test process is gone (killed before it could stop them).

    Each server's directory names the test process that started it (:data:`OWNER_FILE`); a server of a live
    process — another test run on this machine — is left alone. Returns the directories removed."""
    import os
    import shutil
    import signal
    import time

    removed = []
    for d in sorted(Path(tmp or tempfile.gettempdir()).glob(PG_PREFIX + "*")):
        owner = d / OWNER_FILE
        try:
            pid = int(owner.read_text().strip())
            if _alive(pid):
                continue
        except (OSError, ValueError):
            try:
                if not d.is_dir() or time.time() - d.stat().st_mtime < LEGACY_AGE:
                    continue
            except OSError:
                continue
        for pm in d.rglob("postmaster.pid"):
            try:
                server = int(pm.read_text().splitlines()[0])
            except (OSError, ValueError, IndexError):
                continue
            if _alive(server):
                try:
                    os.kill(server, signal.SIGQUIT)  # immediate shutdown: it holds nothing worth keeping
                except OSError:
                    continue
                for _i in range(50):
                    if not _alive(server):
                        break
                    time.sleep(0.1)
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


class Postgres:
    """One PostgreSQL server for the session; each export goes into a fresh schema.

    Servers left running by a killed test process are stopped first (:func:`stop_orphans`)."""

    def __init__(self):
        import os

        import pgserver
        import psycopg

        stop_orphans()
        self._dir = tempfile.TemporaryDirectory(prefix=PG_PREFIX)
        (Path(self._dir.name) / OWNER_FILE).write_text(str(os.getpid()))
        self.server = pgserver.get_server(Path(self._dir.name) / "data", cleanup_mode="stop")
        self.conn = psycopg.connect(self.server.get_uri(), autocommit=True)
        self._n = 0

    def load_tables(self, tables: dict[str, pa.Table], schema: str) -> None:
        """Arrow tables into a new schema (a warehouse a connector filled)."""
        cur = self.conn.cursor()
        cur.execute(f"CREATE SCHEMA {schema}")
        for name, table in tables.items():
            cols = ", ".join(f"{_q(f.name)} {_pg_type(f.type)}" for f in table.schema)
            cur.execute(f"CREATE TABLE {schema}.{_q(name)} ({cols})")
            names = ", ".join(_q(f.name) for f in table.schema)
            with cur.copy(f"COPY {schema}.{_q(name)} ({names}) FROM STDIN") as cp:
                for row in zip(*(c.to_pylist() for c in table.columns)):
                    cp.write_row(row)

    def load(self, export) -> DBAPITarget:
        self._n += 1
        schema = f"export_{self._n}"
        tables = export_tables(export)
        self.load_tables(tables, schema)
        cur = self.conn.cursor()
        cur.execute(f"SET search_path TO {schema}")
        # a warehouse has statistics; the freshly copied tables get them here. Only these: a bare ANALYZE re-analyzes
        # every earlier schema of the session too (3 s a test by the hundredth export on one server)
        cur.execute("ANALYZE " + ", ".join(f"{schema}.{_q(name)}" for name in tables))
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


# --------------------------------------------------------------------------- a warehouse a connector filled


def custom_key(name: str) -> str:
    """A Pipedrive custom field's key: 40 hex characters (as the API and Fivetran name its column)."""
    import hashlib

    return hashlib.sha1(name.encode("utf-8")).hexdigest()


def fivetran_pipedrive_tables(export) -> dict[str, pa.Table]:
    """The loaded export as Fivetran's Pipedrive connector lays it out (``deal``, ``users``, ``stage``, ``pipeline``,
    ``organization``, ``person``, ``activity``, ``deal_field``, ``organization_field``; as Fivetran's schema reference
    and tests/warehouse/build.py have them): numeric ids, owners,
    stages and pipelines by id, timestamps, ``_fivetran_deleted``, custom fields as 40-character key columns.

    What an export can hold and a warehouse cannot (a deal naming an organization without its id, or one the
    organizations file lacks) becomes what Pipedrive would hold: an organization of that name."""
    con = export.con
    ents = export.entities
    deals = ents["deals"]

    def has(ent, f):
        return ent in ents and f in ents[ent].fields

    alias = {"deals": "d", "organizations": "o", "persons": "pe", "activities": "a"}

    def c(ent, f, cast=None):
        if not has(ent, f):
            return "NULL"
        col = f"{alias[ent]}.{_q(f)}"
        return f"CAST({col} AS {cast})" if cast else col

    owners = " UNION ".join(f"SELECT owner AS name FROM {e.table} WHERE owner IS NOT NULL" for n, e in ents.items() if "owner" in e.fields)
    con.execute(f"CREATE OR REPLACE TEMP TABLE wh_users AS SELECT row_number() OVER (ORDER BY name) AS id, name FROM ({owners})")
    con.execute("CREATE OR REPLACE TEMP TABLE wh_pipeline AS SELECT row_number() OVER (ORDER BY p) AS id, p AS name "
                "FROM (SELECT DISTINCT pipeline AS p FROM deals WHERE pipeline IS NOT NULL)")
    con.execute("CREATE OR REPLACE TEMP TABLE wh_stage AS SELECT row_number() OVER (ORDER BY p.id, s) AS id, s AS name, "
                "p.id AS pipeline_id, row_number() OVER (PARTITION BY p.id ORDER BY s) AS order_nr "
                "FROM (SELECT DISTINCT pipeline, stage AS s FROM deals WHERE stage IS NOT NULL) d JOIN wh_pipeline p ON p.name = d.pipeline")
    # organizations: the file's, then those deals name that it lacks (by id, else a new id per name)
    org_rows = (f"SELECT CAST(id AS BIGINT) AS id, name, owner, {', '.join(ents['organizations'].custom[k][0] for k in ents['organizations'].custom) or 'NULL AS none'} "
                "FROM organizations WHERE id IS NOT NULL QUALIFY row_number() OVER (PARTITION BY id ORDER BY _row) = 1") if "organizations" in ents else None
    con.execute("CREATE OR REPLACE TEMP TABLE wh_org_base AS " + (org_rows or "SELECT NULL::BIGINT AS id, NULL AS name, NULL AS owner WHERE FALSE"))
    con.execute(f"""CREATE OR REPLACE TEMP TABLE wh_org_extra AS
        SELECT CAST(org_id AS BIGINT) AS id, min(org_name) AS name FROM deals
         WHERE org_id IS NOT NULL AND CAST(org_id AS BIGINT) NOT IN (SELECT id FROM wh_org_base) GROUP BY 1
        UNION ALL
        SELECT 1000000 + row_number() OVER (ORDER BY org_name) AS id, org_name AS name
          FROM (SELECT DISTINCT org_name FROM deals WHERE org_id IS NULL AND org_name IS NOT NULL
                AND trim(org_name) <> '')""" if has("deals", "org_name") else
                "CREATE OR REPLACE TEMP TABLE wh_org_extra AS SELECT NULL::BIGINT AS id, NULL AS name WHERE FALSE")
    out: dict[str, pa.Table] = {}

    def arrow(sql: str) -> pa.Table:
        rel = con.sql(sql)
        t = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
        return t.read_all() if not isinstance(t, pa.Table) else t

    deal_custom = ents["deals"].custom
    custom_cols = ", ".join(f"d.{col} AS {_q(custom_key(header))}" for _k, (col, header) in deal_custom.items())
    org_link = ("COALESCE(CAST(d.org_id AS BIGINT), (SELECT min(id) FROM wh_org_extra x WHERE x.id >= 1000000 AND x.name = d.org_name))"
                if has("deals", "org_name") else c("deals", "org_id", "BIGINT"))
    out["deal"] = arrow(f"""
        SELECT CAST(d.id AS BIGINT) AS id, {c('deals', 'title')} AS title, u.id AS user_id, {c('deals', 'value')} AS value,
               {c('deals', 'currency')} AS currency, {org_link} AS org_id, CAST(d.person_id AS BIGINT) AS person_id,
               s.id AS stage_id, p.id AS pipeline_id, {c('deals', 'status')} AS status, {c('deals', 'lost_reason')} AS lost_reason,
               CAST(d.created AS TIMESTAMP) + INTERVAL 10 HOUR AS add_time,
               CAST({c('deals', 'stage_changed')} AS TIMESTAMP) + INTERVAL 11 HOUR AS stage_change_time,
               {c('deals', 'next_activity_date')} AS next_activity_date,
               CAST({c('deals', 'activities_to_do')} AS BIGINT) AS undone_activities_count,
               FALSE AS _fivetran_deleted, TIMESTAMP '2026-11-20 03:00:00' AS _fivetran_synced
               {', ' + custom_cols if custom_cols else ''}
          FROM deals d
          LEFT JOIN wh_users u ON u.name = d.owner
          LEFT JOIN wh_pipeline p ON p.name = d.pipeline
          LEFT JOIN wh_stage s ON s.pipeline_id = p.id AND s.name = d.stage
         WHERE d.id IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY d.id ORDER BY d._row) = 1
         ORDER BY d._row""")
    out["deal_field"] = pa.table({"key": [custom_key(h) for _c, h in deal_custom.values()],
                                  "name": [h for _c, h in deal_custom.values()],
                                  "field_type": ["varchar"] * len(deal_custom), "options": pa.array([None] * len(deal_custom), pa.string()),
                                  "_fivetran_deleted": [False] * len(deal_custom)})
    org_custom = ents["organizations"].custom if "organizations" in ents else {}
    oc = ", ".join(f"o.{col} AS {_q(custom_key(header))}" for _k, (col, header) in org_custom.items())
    ox = ", ".join(f"NULL AS {_q(custom_key(header))}" for _k, (col, header) in org_custom.items())
    out["organization"] = arrow(f"""
        SELECT o.id, o.name, u.id AS owner_id, FALSE AS _fivetran_deleted {', ' + oc if oc else ''}
          FROM wh_org_base o LEFT JOIN wh_users u ON u.name = o.owner
        UNION ALL
        SELECT x.id, x.name, NULL AS owner_id, FALSE AS _fivetran_deleted {', ' + ox if ox else ''} FROM wh_org_extra x
        ORDER BY 1""")
    out["organization_field"] = pa.table({"key": [custom_key(h) for _c, h in org_custom.values()],
                                          "name": [h for _c, h in org_custom.values()],
                                          "options": pa.array([None] * len(org_custom), pa.string()),
                                          "_fivetran_deleted": [False] * len(org_custom)})
    if "persons" in ents:
        out["person"] = arrow(f"""
            SELECT CAST(pe.id AS BIGINT) AS id, {c('persons', 'name')} AS name, u.id AS owner_id,
                   (SELECT min(o.id) FROM wh_org_base o WHERE o.name = {'pe.org_name' if has('persons', 'org_name') else 'NULL'}) AS org_id,
                   FALSE AS _fivetran_deleted
              FROM persons pe LEFT JOIN wh_users u ON u.name = pe.owner
             WHERE pe.id IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY pe.id ORDER BY pe._row) = 1 ORDER BY pe._row""")
    out["users"] = arrow("SELECT id, name, FALSE AS _fivetran_deleted FROM wh_users ORDER BY id")
    out["pipeline"] = arrow("SELECT id, name, FALSE AS _fivetran_deleted FROM wh_pipeline ORDER BY id")
    out["stage"] = arrow("SELECT id, name, pipeline_id, order_nr, FALSE AS _fivetran_deleted FROM wh_stage ORDER BY id")
    if "activities" in ents:
        out["activity"] = arrow(f"""
            SELECT CAST(a.id AS BIGINT) AS id, {c('activities', 'subject')} AS subject, {c('activities', 'type')} AS type,
                   {c('activities', 'due_date')} AS due_date, {c('activities', 'due_time')} AS due_time, {c('activities', 'done')} AS done,
                   CAST(a.deal_id AS BIGINT) AS deal_id, u.id AS user_id, FALSE AS _fivetran_deleted
              FROM activities a LEFT JOIN wh_users u ON u.name = a.owner
             ORDER BY a._row""")
    return out


def duckdb_warehouse(tables: dict[str, pa.Table], path: Path, schema: str = "pipedrive") -> Path:
    """The tables in a DuckDB database file, in ``schema`` (as a connector would write them)."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for name, table in tables.items():
            con.register("_t", table)
            con.execute(f"CREATE TABLE {schema}.{_q(name)} AS SELECT * FROM _t")
            con.unregister("_t")
    finally:
        con.close()
    return path
