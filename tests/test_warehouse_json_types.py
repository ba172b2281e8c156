"""A warehouse's JSON in a text column or in the engine's own JSON type gives the same findings (issue 15).

Connectors write JSON (Airbyte's arrays of associated ids, HubSpot's pipeline stages, the raw record of a typed row)
as the engine's JSON type (PostgreSQL jsonb, BigQuery JSON, ClickHouse JSON, Databricks VARIANT) or as text (a team's
own job, an older destination, ClickHouse and Spark by default). The probe reads each column's type as the driver
describes it and each dialect writes a profile's ``->`` / ``->>`` for that type
(:func:`crm_audit.warehouse.entities.mark_json`). Here the Airbyte layouts (tests/warehouse/build.py) are written both
ways on the engines that run offline and audited through the CLI: the findings (rule, deal, fingerprint) and the
violations CSV must be the export's either way.
"""

from __future__ import annotations

import shutil

import pytest
from test_warehouse_airbyte import CUSTOM_FIELD_RULES, _pg_url, _run, _without
from warehouse.build import (DEMO_EXPORT, DEMO_SETTINGS, HUBSPOT_EXPORT, HUBSPOT_SETTINGS, NATIVE_JSON, build, json_as,
                             write_duckdb, write_postgres)

from sqlglot import exp

from crm_audit.engine.dialects import JSON_NATIVE

CASES = {"airbyte_pipedrive": ("pipedrive", DEMO_EXPORT, DEMO_SETTINGS, set()),
         "airbyte_hubspot": ("hubspot", HUBSPOT_EXPORT, HUBSPOT_SETTINGS, CUSTOM_FIELD_RULES)}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    base = tmp_path_factory.mktemp("export-runs")
    cache: dict[str, tuple] = {}

    def run(connector: str):
        schema, export, settings, skipped = CASES[connector]
        if connector not in cache:
            cache[connector] = _without(skipped, *_run(base / connector, settings, "--export", str(export)))
        return cache[connector]

    return run


@pytest.fixture(scope="module")
def postgres():
    pytest.importorskip("pgserver", reason="pgserver is not installed (pip install '.[test]')")
    from engine_targets import Postgres

    pg = Postgres()
    yield pg
    pg.close()


def _json_columns(wh) -> set[tuple[str, str]]:
    return {(t.name, c) for t in wh.tables for c, typ in t.columns if typ == "JSON"}


@pytest.mark.parametrize("connector", list(CASES))
def test_duckdb_varchar_and_json_columns_give_the_exports_findings(connector, exports, tmp_path):
    schema, _e, settings, _s = CASES[connector]
    want_rows, want = exports(connector)
    for typ in ("JSON", "TEXT"):
        wh = build(connector)
        assert _json_columns(wh)
        db = write_duckdb(wh if typ == "JSON" else json_as(wh, "TEXT"), tmp_path / f"{typ}.duckdb")
        rows, got = _run(tmp_path / typ, settings, "--engine", f"duckdb:///{db}?profile={connector}&schema={schema}")
        assert (typ, got) == (typ, want)
        assert rows == want_rows


@pytest.mark.parametrize("connector", list(CASES))
def test_postgres_text_and_jsonb_columns_give_the_exports_findings(connector, exports, postgres, tmp_path):
    """A text column holding JSON has no -> / ->> in PostgreSQL (operator does not exist: text ->> integer): it is read
    as json; a jsonb column as it is."""
    schema, _e, settings, _s = CASES[connector]
    want_rows, want = exports(connector)
    for typ in ("JSON", "TEXT"):
        wh = build(connector)
        mine = f"{typ.lower()}_{schema}"
        write_postgres(wh if typ == "JSON" else json_as(wh, "TEXT"), postgres.conn, {schema: mine})
        rows, got = _run(tmp_path / typ, settings, "--engine", _pg_url(postgres, connector, mine))
        assert (typ, got) == (typ, want)
        assert rows == want_rows


def test_the_probe_marks_each_json_access_by_the_columns_type(tmp_path):
    """DuckDB describes JSON and VARCHAR apart: the probe's types mark the columns a JSON access starts from."""
    from crm_audit.warehouse import profile as wprofile
    from crm_audit.warehouse.connect import connect
    from crm_audit.warehouse.entities import entity_query, field_types, probe
    from crm_audit.warehouse.url import parse

    prof = wprofile.load("airbyte_hubspot")
    q = prof.entities["deals"]
    fields = {n: q.alternatives(n)[0] for n in q.fields}
    for typ, native in (("JSON", True), ("TEXT", False)):
        wh = build("airbyte_hubspot")
        db = write_duckdb(wh if typ == "JSON" else json_as(wh, "TEXT"), tmp_path / f"{typ}.duckdb")
        with connect(parse(f"duckdb:///{db}")) as conn:
            pr = probe(prof, conn.target, "hubspot")
        assert pr.type_of("deals", "companies") == ("json" if native else "varchar")
        assert pr.type_of("deals", "dealname") is None and pr.type_of("deals", "properties_dealname") == "varchar"
        tree = entity_query(prof, "deals", fields, "hubspot", field_types(prof)["deals"], {}, "postgres", columns=pr)
        marked = {(c.table, c.name): c.meta.get(JSON_NATIVE) for c in tree.find_all(exp.Column) if JSON_NATIVE in c.meta}
        assert marked == {("d", "companies"): native, ("d", "contacts"): native, ("dp", "stages"): native}


# --------------------------------------------------------------------------- the opt-in engines


def _need(engine: str) -> None:
    if engine == "clickhouse":
        pytest.importorskip("chdb", reason="chdb (embedded ClickHouse) is not installed: pip install chdb")
    else:
        pytest.importorskip("pyspark", reason="pyspark is not installed: pip install pyspark (and a JDK 17+)")
        if not shutil.which("java"):
            pytest.skip("Spark needs a JDK (java) on PATH")


@pytest.mark.clickhouse
def test_clickhouse_json_objects_give_the_exports_findings(exports, tmp_path):
    """ClickHouse's JSON type (objects only: Airbyte's raw record `_airbyte_data`, where the custom fields are read)
    is written out by toJSONString for JSONExtract*."""
    _need("clickhouse")
    from warehouse.build import write_clickhouse

    want_rows, want = exports("airbyte_pipedrive")
    wh = json_as(build("airbyte_pipedrive"), NATIVE_JSON, objects_only=True)
    raw = next(t for t in wh.tables if t.name == "pipedrive_raw__stream_deals")
    assert dict(raw.columns)["_airbyte_data"] == NATIVE_JSON
    folder = write_clickhouse(wh, tmp_path / "chdb")
    rows, got = _run(tmp_path / "wh", DEMO_SETTINGS, "--engine", f"chdb:///{folder}?profile=airbyte_pipedrive&schema=pipedrive")
    assert got == want
    assert rows == want_rows


@pytest.mark.spark
@pytest.mark.parametrize("connector", list(CASES))
def test_spark_variant_columns_give_the_exports_findings(connector, exports, tmp_path):
    """Spark 4 / Databricks VARIANT: written out by to_json for get_json_object."""
    _need("spark")
    import pyspark

    if int(pyspark.__version__.split(".")[0]) < 4:
        pytest.skip("VARIANT needs Spark 4")
    from pyspark.sql import SparkSession
    from warehouse.build import write_spark

    schema, _e, settings, _s = CASES[connector]
    want_rows, want = exports(connector)
    session = (SparkSession.builder.master("local[2]").appName("crm-audit-tests").config("spark.ui.enabled", "false")
               .config("spark.sql.warehouse.dir", str(tmp_path / "spark-warehouse"))
               .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    try:
        mine = f"variant_{schema}"
        write_spark(json_as(build(connector), NATIVE_JSON), session, {schema: mine})
        rows, got = _run(tmp_path / "wh", settings, "--engine", f"spark-local:?profile={connector}&schema={mine}")
    finally:
        session.stop()
    assert got == want
    assert rows == want_rows
