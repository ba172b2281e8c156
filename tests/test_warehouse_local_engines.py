"""`crm-audit run --engine` on ClickHouse and Spark, the engines that run offline besides DuckDB and PostgreSQL (issue 15).

Opt-in (``pytest -m "clickhouse or spark"``): an embedded ClickHouse (the ``chdb`` wheel) and Spark in local mode
(``pyspark`` and a JDK); skipped, fast, where they are not installed. The warehouses are the ones the DuckDB and
PostgreSQL tests read (tests/warehouse/build.py): Fivetran's and Airbyte's Pipedrive and HubSpot tables — ids for
owners, stages and pipelines, soft deletes, custom fields through the connector's field metadata, HubSpot's
associations and pipeline stages as JSON arrays — written into a chdb data folder (MergeTree tables) and into a
local Spark session's catalog (Parquet tables), then audited through the CLI's own path: ``--engine
chdb:///folder`` and ``--engine spark-local:``. Each run must give the violations CSV (every row, value and order)
and the ledger's findings (rule, deal, fingerprint) of ``crm-audit run --export`` on the same data. The Spark
session runs in Los Angeles time and the account is in Moscow: a timestamp's date is the account's.
"""

from __future__ import annotations

import csv
import glob
import shutil
from pathlib import Path

import duckdb
import pytest

from crm_audit.cli import main
from warehouse.build import (AS_OF, DEMO_EXPORT, DEMO_SETTINGS, HUBSPOT_EXPORT, HUBSPOT_SETTINGS, HUBSPOT_TASKS_EXPORT,
                             build)

ASOF = AS_OF.isoformat()
ACCOUNT = "Europe/Moscow"
#: Airbyte's HubSpot connector syncs no property definitions: the rules reading a custom field are skipped there
CUSTOM_FIELD_RULES = {"missing-traffic-or-budget", "partner-org-not-set", "missing-source", "missing-demo-recording",
                      "missing-proposal-link", "partner-pipeline-org-not-agency", "partner-manager-deal-without-partner",
                      "missing-city-or-country"}
ENGINES = [pytest.param("clickhouse", marks=pytest.mark.clickhouse), pytest.param("spark", marks=pytest.mark.spark)]


def _run(work: Path, settings: Path, *source: str) -> tuple[list[dict], set[tuple[str, str, str]]]:
    """`crm-audit run` (in this process: the chdb / Spark session is this process's) with its own settings copy and
    ledger: the violations CSV rows, in order, and the ledger's findings."""
    work.mkdir(parents=True)
    cfg = work / "crm-audit.yaml"
    shutil.copyfile(settings, cfg)
    code = main(["run", "-c", str(cfg), *source, "--as-of", ASOF, "--violations-csv", str(work / "v.csv"), "--quiet"])
    assert code == 0
    with open(work / "v.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    (parquet,) = glob.glob(str(work / "crm-audit.findings" / "*.parquet"))
    return rows, set(duckdb.sql(f"SELECT rule_id, deal_id, fingerprint FROM '{parquet}'").fetchall())


def _without(rules: set[str], rows: list[dict], found: set) -> tuple[list[dict], set]:
    return [r for r in rows if r["rule_id"] not in rules], {f for f in found if f[0] not in rules}


# --------------------------------------------------------------------------- the data


def _init_settings(folder: Path, export: Path) -> Path:
    assert main(["init", str(folder), "--crm", "hubspot", "--from-export", str(export)]) == 0
    return folder / "crm-audit.yaml"


def _moscow_export(folder: Path) -> Path:
    """The demo export with every deal created and moved at 02:30 Moscow time (23:30 UTC the day before)."""
    d = folder / "pipedrive"
    shutil.copytree(DEMO_EXPORT, d)
    with (DEMO_EXPORT / "deals.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    cols = [rows[0].index("Deal - Deal created"), rows[0].index("Deal - Last stage change")]
    for r in rows[1:]:
        for c in cols:
            if r[c].strip():
                r[c] = r[c].split(" ")[0] + " 02:30:00"
    with (d / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    return d


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """schema -> the connector's tables, and the export runs each is compared with."""
    base = tmp_path_factory.mktemp("data")
    tasks_settings = _init_settings(base / "init", HUBSPOT_TASKS_EXPORT)
    moscow = _moscow_export(base / "moscow")
    moscow_settings = base / "moscow-settings.yaml"
    moscow_settings.write_text(DEMO_SETTINGS.read_text(encoding="utf-8") + f"\nengine:\n  timezone: {ACCOUNT}\n",
                               encoding="utf-8")
    cases = {  # schema -> (connector, export, settings, the layout's options)
        "ft_pipedrive": ("fivetran_pipedrive", DEMO_EXPORT, DEMO_SETTINGS, {}),
        "ft_hubspot": ("fivetran_hubspot", HUBSPOT_EXPORT, HUBSPOT_SETTINGS, {}),
        "ab_pipedrive": ("airbyte_pipedrive", DEMO_EXPORT, DEMO_SETTINGS, {}),
        "ab_hubspot": ("airbyte_hubspot", HUBSPOT_EXPORT, HUBSPOT_SETTINGS, {}),
        "ab_hubspot_tasks": ("airbyte_hubspot", HUBSPOT_TASKS_EXPORT, tasks_settings, {}),
        "tz_instant": ("fivetran_pipedrive", moscow, moscow_settings, {"zone": ACCOUNT, "time_type": "TIMESTAMPTZ"}),
        "tz_wall_clock": ("fivetran_pipedrive", moscow, moscow_settings, {"zone": ACCOUNT, "time_type": "TIMESTAMP"}),
    }
    warehouses = {schema: build(connector, export, settings, **kw) for schema, (connector, export, settings, kw) in cases.items()}
    exports: dict[tuple, tuple] = {}

    def export_run(schema: str):
        _c, export, settings, _kw = cases[schema]
        if (export, settings) not in exports:
            exports[(export, settings)] = _run(base / f"export-{schema}", settings, "--export", str(export))
        return exports[(export, settings)]

    return cases, warehouses, export_run


def _renamed(wh, schema: str) -> dict[str, str]:
    """The connector's schema under the case's name (Airbyte's raw tables keep theirs: the profile names it)."""
    return {"pipedrive": schema, "hubspot": schema}


@pytest.fixture(scope="module")
def clickhouse(data, tmp_path_factory):
    pytest.importorskip("chdb", reason="chdb (embedded ClickHouse) is not installed: pip install chdb")
    from warehouse.build import write_clickhouse

    _cases, warehouses, _e = data
    folder = tmp_path_factory.mktemp("chdb") / "data"
    for schema, wh in warehouses.items():
        write_clickhouse(wh, folder, _renamed(wh, schema))
    return folder


@pytest.fixture(scope="module")
def spark(data, tmp_path_factory):
    pytest.importorskip("pyspark", reason="pyspark is not installed: pip install pyspark (and a JDK 17+)")
    if not shutil.which("java"):
        pytest.skip("Spark needs a JDK (java) on PATH")
    from pyspark.sql import SparkSession

    from warehouse.build import write_spark

    _cases, warehouses, _e = data
    session = (SparkSession.builder.master("local[2]").appName("crm-audit-tests").config("spark.ui.enabled", "false")
               .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
               .config("spark.sql.session.timeZone", "America/Los_Angeles")  # not the account's, not UTC
               .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    for schema, wh in warehouses.items():
        write_spark(wh, session, _renamed(wh, schema))
    yield session
    session.stop()


def _need(engine: str) -> None:
    """Skip, before any data is built, where the engine is not installed (the CI venv has neither)."""
    if engine == "clickhouse":
        pytest.importorskip("chdb", reason="chdb (embedded ClickHouse) is not installed: pip install chdb")
    else:
        pytest.importorskip("pyspark", reason="pyspark is not installed: pip install pyspark (and a JDK 17+)")
        if not shutil.which("java"):
            pytest.skip("Spark needs a JDK (java) on PATH")


def _url(engine: str, request, schema: str) -> str:
    _need(engine)
    profile = request.getfixturevalue("data")[0][schema][0]
    if engine == "clickhouse":
        return f"chdb:///{request.getfixturevalue('clickhouse')}?profile={profile}&schema={schema}"
    request.getfixturevalue("spark")
    return f"spark-local:?profile={profile}&schema={schema}"


# --------------------------------------------------------------------------- the findings of the export, per engine


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("schema", ["ft_pipedrive", "ft_hubspot", "ab_pipedrive", "ab_hubspot_tasks", "tz_instant",
                                    "tz_wall_clock"])
def test_the_warehouse_gives_the_exports_findings(engine, schema, request, tmp_path):
    _need(engine)
    cases, _w, export_run = request.getfixturevalue("data")
    settings = cases[schema][2]
    want_rows, want = export_run(schema)
    rows, got = _run(tmp_path / "wh", settings, "--engine", _url(engine, request, schema))
    assert got == want
    assert rows == want_rows
    if schema == "ft_pipedrive":
        assert len(want) == 329 and len({r for r, _, _ in want}) == 17
    if schema == "ab_hubspot_tasks":  # a task on two deals (its JSON array `deals`) counts for each, as in the export
        assert {"18345670001", "18345670002"} <= {d for r, d, _ in got if r == "overdue-tasks"}
    if schema.startswith("tz_"):  # 02:30 in Moscow: the day before in UTC and in Los Angeles
        assert len(want) > 300


@pytest.mark.parametrize("engine", ENGINES)
def test_airbyte_hubspot_gives_the_exports_findings_but_custom_fields(engine, request, tmp_path):
    """Stage labels from the pipelines' JSON array, the first company and contact of the deal's arrays."""
    _need(engine)
    _cases, _w, export_run = request.getfixturevalue("data")
    want_rows, want = export_run("ab_hubspot")
    rows, got = _run(tmp_path / "wh", HUBSPOT_SETTINGS, "--engine", _url(engine, request, "ab_hubspot"))
    assert got == _without(CUSTOM_FIELD_RULES, want_rows, want)[1]
    assert rows == _without(CUSTOM_FIELD_RULES, want_rows, want)[0]
    assert {r for r, _, _ in got} == {"open-deal-without-tasks", "frozen-deal-without-tasks", "missing-amount-after-proposal",
                                      "invalid-name", "owner-mismatch", "open-deal-without-organization",
                                      "stuck-in-accepted", "overdue-tasks", "no-stage-movement"}


@pytest.mark.parametrize("engine", ENGINES)
def test_init_from_the_warehouse_reads_the_stages_json(engine, request, tmp_path):
    """`init --engine` on Airbyte HubSpot reads every pipeline's stages from the JSON array, in HubSpot's order."""
    import yaml

    url = _url(engine, request, "ab_hubspot")
    assert main(["init", str(tmp_path / "init"), "--engine", url]) == 0
    written = yaml.safe_load((tmp_path / "init" / "crm-audit.yaml").read_text(encoding="utf-8"))
    want = yaml.safe_load(HUBSPOT_SETTINGS.read_text(encoding="utf-8"))
    assert written["pipelines"] == want["pipelines"]
