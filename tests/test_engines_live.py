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

    def close(self) -> None:
        cur = self.conn.cursor()
        for schema in self.schemas:
            cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        self.conn.close()


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

