"""The same findings on BigQuery and Snowflake as on DuckDB (issue 15), live: only where credentials are set.

Neither engine runs offline, so the suite keeps their SQL as golden snapshots
(``tests/golden_sql``, :mod:`test_dialects`) and, where an account is at hand,
runs the parity check of :mod:`test_engines_parity` against it: each export's
canonical tables are uploaded into a fresh dataset/schema (dropped afterwards),
every rule runs there as its one read-only query, and the rows — ids, evidence,
fingerprints, order — must equal DuckDB's.

BigQuery: ``CRM_AUDIT_BIGQUERY_PROJECT`` (and ``CRM_AUDIT_BIGQUERY_LOCATION``,
default ``US``); credentials the client library's own way (application
default credentials, ``GOOGLE_APPLICATION_CREDENTIALS``); needs
``google-cloud-bigquery``.

Snowflake: ``CRM_AUDIT_SNOWFLAKE_ACCOUNT``, ``CRM_AUDIT_SNOWFLAKE_USER``,
``CRM_AUDIT_SNOWFLAKE_PASSWORD``, ``CRM_AUDIT_SNOWFLAKE_WAREHOUSE``,
``CRM_AUDIT_SNOWFLAKE_DATABASE`` (``CRM_AUDIT_SNOWFLAKE_ROLE`` optional); needs
``snowflake-connector-python[pandas]``.

The warehouse profiles too (``test_*_warehouse_equals_the_export``): the Fivetran Pipedrive and HubSpot layouts of
:mod:`warehouse.build` are uploaded into a fresh dataset/schema and ``audit_warehouse`` over the CLI's own engine URL
(``bigquery://project/dataset``, ``snowflake://user@account/database/schema``; Snowflake's password from
``SNOWFLAKE_PASSWORD``, as the CLI reads it) must give the export's findings, as on DuckDB in
:mod:`test_warehouse_fivetran`.

    CRM_AUDIT_BIGQUERY_PROJECT=my-project pytest -m live tests/test_engines_live.py
"""

from __future__ import annotations

import io
import os
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crm_audit.engine.backends.sql_backend import DBAPITarget
from engine_targets import export_tables
from test_engines_parity import DEMO, _compare, _exports

pytestmark = pytest.mark.live

SNOWFLAKE_KEYS = ("ACCOUNT", "USER", "PASSWORD", "WAREHOUSE", "DATABASE")


class BigQuery:
    """Each export into a fresh dataset of the project; the datasets are deleted at the end."""

    def __init__(self, project: str, location: str):
        from google.cloud import bigquery

        self.bigquery = bigquery
        self.project = project
        self.location = location
        self.client = bigquery.Client(project=project, location=location)
        self.datasets: list[str] = []

    def load(self, export) -> DBAPITarget:
        from google.cloud.bigquery import dbapi

        bq = self.bigquery
        ds = f"{self.project}.crm_audit_test_{uuid.uuid4().hex[:12]}"
        dataset = bq.Dataset(ds)
        dataset.location = self.location
        self.client.create_dataset(dataset)
        self.datasets.append(ds)
        for name, table in export_tables(export).items():
            buf = io.BytesIO()
            pq.write_table(table, buf)  # date32 → DATE, timestamp → TIMESTAMP, int64 → INT64, …
            buf.seek(0)
            job = self.client.load_table_from_file(
                buf, f"{ds}.{name}", job_config=bq.LoadJobConfig(source_format=bq.SourceFormat.PARQUET))
            job.result()
        # the rules name their tables bare (`deals`): the dataset is the queries' default
        client = bq.Client(project=self.project, location=self.location,
                           default_query_job_config=bq.QueryJobConfig(default_dataset=ds))
        return DBAPITarget(dbapi.connect(client), "bigquery")

    def load_warehouse(self, wh, json_native: bool = False) -> tuple[str, str]:
        """``wh``'s tables (one schema) into a fresh dataset; its engine URL (profile and schema added by the caller);
        ``json_native``: its JSON columns of BigQuery's JSON type (else STRING)."""
        bq = self.bigquery
        name = f"crm_audit_wh_{uuid.uuid4().hex[:12]}"
        dataset = bq.Dataset(f"{self.project}.{name}")
        dataset.location = self.location
        self.client.create_dataset(dataset)
        self.datasets.append(f"{self.project}.{name}")
        for t in wh.tables:
            buf = io.BytesIO()
            pq.write_table(_named(t), buf)
            buf.seek(0)
            self.client.load_table_from_file(buf, f"{self.project}.{name}.{t.name}",
                                             job_config=bq.LoadJobConfig(source_format=bq.SourceFormat.PARQUET)).result()
            json_cols = [c for c, typ in t.columns if typ == "JSON"]
            if json_native and json_cols:  # BigQuery's JSON type, as Airbyte Destinations V2 writes it
                table = f"`{self.project}.{name}.{t.name}`"
                repl = ", ".join(f"PARSE_JSON(`{c}`) AS `{c}`" for c in json_cols)
                self.client.query(f"CREATE OR REPLACE TABLE {table} AS SELECT * REPLACE ({repl}) FROM {table}").result()
        return f"bigquery://{self.project}/{name}", name

    def close(self) -> None:
        for ds in self.datasets:
            self.client.delete_dataset(ds, delete_contents=True, not_found_ok=True)


class Snowflake:
    """Each export into a fresh schema of the database; the schemas are dropped at the end."""

    def __init__(self, env: dict[str, str]):
        import snowflake.connector

        kwargs = {k.lower(): env[k] for k in SNOWFLAKE_KEYS}
        if env.get("ROLE"):
            kwargs["role"] = env["ROLE"]
        self.conn = snowflake.connector.connect(**kwargs)
        self.env = env
        self.schemas: list[str] = []

    def load(self, export) -> DBAPITarget:
        from snowflake.connector.pandas_tools import write_pandas

        schema = f"CRM_AUDIT_TEST_{uuid.uuid4().hex[:12].upper()}"
        cur = self.conn.cursor()
        cur.execute(f"CREATE SCHEMA {schema}")
        self.schemas.append(schema)
        cur.execute(f"USE SCHEMA {schema}")
        for name, table in export_tables(export).items():
            # tables are named bare in the rules (→ upper case); columns are quoted (→ kept as they are)
            write_pandas(self.conn, _frame(table), name.upper(), auto_create_table=True,
                         quote_identifiers=True, use_logical_type=True)
        return DBAPITarget(self.conn, "snowflake")

    def load_warehouse(self, wh, json_native: bool = False) -> tuple[str, str]:
        """``wh``'s tables into a fresh schema: lower-case names as Snowflake folds them unquoted (upper), a mixed-case
        one (Airbyte's ``"pipelineId"``) kept as written, as the profile quotes it; ``json_native``: its JSON columns
        VARIANT (else VARCHAR)."""
        from snowflake.connector.pandas_tools import write_pandas

        schema = f"CRM_AUDIT_WH_{uuid.uuid4().hex[:12].upper()}"
        self.conn.cursor().execute(f"CREATE SCHEMA {schema}")
        self.schemas.append(schema)
        for t in wh.tables:
            frame = _frame(_named(t))
            frame.columns = [c.upper() if c == c.lower() else c for c in frame.columns]
            write_pandas(self.conn, frame, t.name.upper(), schema=schema, auto_create_table=True,
                         quote_identifiers=True, use_logical_type=True)
            json_cols = [c.upper() if c == c.lower() else c for c, typ in t.columns if typ == "JSON"]
            if json_native and json_cols:
                table = f'{schema}."{t.name.upper()}"'
                repl = ", ".join(f'PARSE_JSON("{c}") AS "{c}"' for c in json_cols)
                self.conn.cursor().execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * REPLACE ({repl}) FROM {table}")
        env = self.env
        params = f"warehouse={env['WAREHOUSE']}" + (f"&role={env['ROLE']}" if env.get("ROLE") else "")
        return f"snowflake://{env['USER']}@{env['ACCOUNT']}/{env['DATABASE']}/{schema}?{params}", schema

    def close(self) -> None:
        cur = self.conn.cursor()
        for schema in self.schemas:
            cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        self.conn.close()


def _named(t) -> pa.Table:
    """A :class:`warehouse.build.Table` as an Arrow table with its own column names."""
    from warehouse.build import _arrow

    return _arrow(t).rename_columns([c for c, _ in t.columns])


def _frame(table: pa.Table):
    return table.to_pandas(date_as_object=True, timestamp_as_object=False)


@pytest.fixture(scope="module")
def bigquery_engine():
    project = os.environ.get("CRM_AUDIT_BIGQUERY_PROJECT")
    if not project:
        pytest.skip("live BigQuery: set CRM_AUDIT_BIGQUERY_PROJECT (and application default credentials)")
    pytest.importorskip("google.cloud.bigquery", reason="pip install google-cloud-bigquery")
    eng = BigQuery(project, os.environ.get("CRM_AUDIT_BIGQUERY_LOCATION", "US"))
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def snowflake_engine():
    env = {k: os.environ.get(f"CRM_AUDIT_SNOWFLAKE_{k}", "") for k in (*SNOWFLAKE_KEYS, "ROLE")}
    missing = [f"CRM_AUDIT_SNOWFLAKE_{k}" for k in SNOWFLAKE_KEYS if not env[k]]
    if missing:
        pytest.skip("live Snowflake: set " + ", ".join(missing))
    pytest.importorskip("snowflake.connector", reason="pip install 'snowflake-connector-python[pandas]'")
    eng = Snowflake(env)
    yield eng
    eng.close()


@pytest.mark.parametrize("config,export_dir", list(_exports()))
def test_bigquery_equals_duckdb(bigquery_engine, config, export_dir):
    n, hits = _compare(bigquery_engine, config, export_dir)
    assert n > 0
    if export_dir.parent == DEMO:
        assert n == 17 and hits > 300


@pytest.mark.parametrize("config,export_dir", list(_exports()))
def test_snowflake_equals_duckdb(snowflake_engine, config, export_dir):
    n, hits = _compare(snowflake_engine, config, export_dir)
    assert n > 0
    if export_dir.parent == DEMO:
        assert n == 17 and hits > 300



#: the warehouse cases of :mod:`test_warehouse_fivetran` run live (their settings are checked in)
WAREHOUSE_CASES = ("pipedrive-demo", "hubspot")


def _warehouse_parity(engine, case: str, monkeypatch):
    from test_warehouse_fivetran import CASES, compare
    from warehouse.build import build

    connector, export, settings_file, _total = CASES[case]
    wh = build(connector, export, settings_file)
    url, schema = engine.load_warehouse(wh)
    if url.startswith("snowflake://"):
        monkeypatch.setenv("SNOWFLAKE_PASSWORD", engine.env["PASSWORD"])  # the CLI's way: never in the URL
    sep = "&" if "?" in url else "?"
    return compare(case, f"{url}{sep}profile={connector}&schema={schema}", settings_file)


@pytest.mark.parametrize("case", WAREHOUSE_CASES)
def test_bigquery_warehouse_equals_the_export(bigquery_engine, case, monkeypatch):
    got = _warehouse_parity(bigquery_engine, case, monkeypatch)
    assert got.total > 0


@pytest.mark.parametrize("case", WAREHOUSE_CASES)
def test_snowflake_warehouse_equals_the_export(snowflake_engine, case, monkeypatch):
    got = _warehouse_parity(snowflake_engine, case, monkeypatch)
    assert got.total > 0


# --------------------------------------------------------------------------- JSON as text and in the engine's type


@pytest.mark.parametrize("json_native", [False, True], ids=["json-as-text", "json-native"])
@pytest.mark.parametrize("engine_fixture", ["bigquery_engine", "snowflake_engine"])
def test_airbyte_hubspot_json_either_type_equals_the_export(engine_fixture, json_native, request, monkeypatch, tmp_path):
    """Airbyte HubSpot's association and stage arrays as STRING / VARCHAR and as BigQuery JSON / Snowflake VARIANT
    (tests/test_warehouse_json_types.py does the same offline on DuckDB, PostgreSQL, ClickHouse and Spark)."""
    from test_warehouse_airbyte import CUSTOM_FIELD_RULES, _run, _without
    from warehouse.build import HUBSPOT_EXPORT, HUBSPOT_SETTINGS, build

    engine = request.getfixturevalue(engine_fixture)
    want_rows, want = _without(CUSTOM_FIELD_RULES, *_run(tmp_path / "export", HUBSPOT_SETTINGS, "--export", str(HUBSPOT_EXPORT)))
    url, schema = engine.load_warehouse(build("airbyte_hubspot"), json_native=json_native)
    if url.startswith("snowflake://"):
        monkeypatch.setenv("SNOWFLAKE_PASSWORD", engine.env["PASSWORD"])
    sep = "&" if "?" in url else "?"
    rows, got = _run(tmp_path / "wh", HUBSPOT_SETTINGS, "--engine", f"{url}{sep}profile=airbyte_hubspot&schema={schema}")
    assert got == want
    assert rows == want_rows
