"""The same findings on every engine (issue 15): DuckDB, the reference, against a real PostgreSQL and ClickHouse.

The export is loaded once by the real loader (DuckDB); its tables are copied
into the other engine, and every rule runs there as the one read-only query
compiled for its dialect. Per rule, the rows — ids, evidence, fingerprints and
order — must equal DuckDB's exactly: on the bundled demo export (300 deals,
every rule hit), on the CRM fixtures (real-shaped exports of each CRM) and on
every rule case of ``tests/rule_cases``.

PostgreSQL runs wherever ``pgserver`` and ``psycopg`` are installed (the
``test`` extras; required in CI); ClickHouse (``chdb``) and Spark (local mode:
``pyspark`` and a JDK) are opt-in: markers ``clickhouse`` (run where chdb is
installed; every rule case only when asked for) and ``spark`` (a JVM and a Spark job per query: minutes, so only
when asked for with ``-m spark`` or ``CRM_AUDIT_ENGINES=spark``).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from crm_audit import settings as settings_mod
from crm_audit.engine import plan as planmod
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import profile_for
from crm_audit.rules import ruleset
from engine_targets import ClickHouse, Postgres, Spark, duckdb_frames, engine_frames, rows

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "crm_audit" / "demo_data"
FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = dt.date(2026, 11, 20)
CI = bool(os.environ.get("CI"))


def _need(module: str):
    if CI:
        return __import__(module)
    return pytest.importorskip(module, reason=f"{module} is not installed (pip install '.[test]')")


@pytest.fixture(scope="session")
def postgres():
    _need("pgserver")
    _need("psycopg")
    pg = Postgres()
    yield pg
    pg.close()


@pytest.fixture(scope="session")
def clickhouse():
    pytest.importorskip("chdb", reason="chdb (embedded ClickHouse) is not installed: pip install chdb")
    ch = ClickHouse()
    yield ch
    ch.close()


def _opted_in(request, marker: str) -> bool:
    """The slow engine runs when asked for: ``-m spark`` or ``CRM_AUDIT_ENGINES=spark,clickhouse``."""
    asked = os.environ.get("CRM_AUDIT_ENGINES", "").split(",")
    return marker in asked or marker in (request.config.getoption("markexpr") or "")


@pytest.fixture(scope="session")
def spark(request):
    import shutil

    if not _opted_in(request, "spark"):
        pytest.skip("Spark (a JVM, a job per query) is opt-in: pytest -m spark, or CRM_AUDIT_ENGINES=spark")
    pytest.importorskip("pyspark", reason="pyspark is not installed: pip install pyspark (and a JDK 17+)")
    if shutil.which("java") is None:
        pytest.skip("Spark needs a JDK (java on the PATH)")
    sp = Spark()
    yield sp
    sp.close()


def _exports():
    yield pytest.param(DEMO / "crm-audit.yaml", DEMO / "pipedrive", id="demo")
    for d in sorted(FIXTURES.iterdir()):
        if (d / "crm-audit.yaml").exists() and (d / "export").is_dir():
            yield pytest.param(d / "crm-audit.yaml", d / "export", id=d.name)


def _compare(engine, config: Path, export_dir: Path):
    settings = settings_mod.load(config)
    plans = planmod.build_all(ruleset.load(settings), settings)
    export = load_export(export_dir, profile_for(settings), settings.on_bad_value, as_of=AS_OF)
    try:
        from crm_audit.engine import requirements

        needs = requirements.decide(plans, export, profile_for(settings))
        plans = [p for p in needs.runnable if needs.skipped_rule(p.rule.id) is None]
        want = duckdb_frames(export, settings, plans, AS_OF)
        got = engine_frames(engine.load(export), export, settings, plans, AS_OF)
    finally:
        export.close()
        export.con.close()
    hits = 0
    for p in plans:
        assert rows(got[p.rule.id]) == rows(want[p.rule.id]), f"{p.rule.code} {p.rule.id} differs from DuckDB"
        hits += len(want[p.rule.id])
    return len(plans), hits


@pytest.mark.parametrize("config,export_dir", list(_exports()))
def test_postgres_equals_duckdb(postgres, config, export_dir):
    n, hits = _compare(postgres, config, export_dir)
    assert n > 0
    if export_dir.parent == DEMO:
        assert n == 17 and hits > 300  # every bundled rule, every rule hit


@pytest.mark.clickhouse
@pytest.mark.parametrize("config,export_dir", list(_exports()))
def test_clickhouse_equals_duckdb(clickhouse, config, export_dir):
    n, hits = _compare(clickhouse, config, export_dir)
    assert n > 0


@pytest.mark.spark
@pytest.mark.parametrize("config,export_dir", list(_exports()))
def test_spark_equals_duckdb(spark, config, export_dir):
    n, hits = _compare(spark, config, export_dir)
    assert n > 0


def _rule_case(engine, rule_id: str, case: dict, tmp_path: Path) -> None:
    """One case of ``tests/rule_cases``: the engine flags the case's deals, with DuckDB's rows."""
    from test_rule_cases import DEFAULTS, _build, _settings

    export_dir = _build(case, tmp_path / "export")
    settings = _settings(case)
    as_of = case.get("as_of", DEFAULTS["as_of"])
    as_of = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    plans = planmod.build_all([r for r in ruleset.load(settings) if r.id == rule_id], settings)
    export = load_export(export_dir, profile_for(settings), settings.on_bad_value, as_of=as_of)
    try:
        want = duckdb_frames(export, settings, plans, as_of)[rule_id]
        got = engine_frames(engine.load(export), export, settings, plans, as_of)[rule_id]
    finally:
        export.close()
        export.con.close()
    assert sorted(got["deal_id"]) == sorted(str(x) for x in case["flagged"])
    assert rows(got) == rows(want)


def _case_params():
    from test_rule_cases import _cases

    return list(_cases())


@pytest.mark.parametrize("rule_id, case", _case_params())
def test_rule_case_on_postgres(postgres, rule_id, case, tmp_path):
    _rule_case(postgres, rule_id, case, tmp_path)


@pytest.mark.clickhouse
@pytest.mark.parametrize("rule_id, case", _case_params())
def test_rule_case_on_clickhouse(clickhouse, rule_id, case, tmp_path, request):
    if not _opted_in(request, "clickhouse"):
        pytest.skip("every rule case on ClickHouse is opt-in (2 min): pytest -m clickhouse, or CRM_AUDIT_ENGINES=clickhouse")
    _rule_case(clickhouse, rule_id, case, tmp_path)


@pytest.mark.spark
@pytest.mark.parametrize("rule_id, case", _case_params())
def test_rule_case_on_spark(spark, rule_id, case, tmp_path):
    _rule_case(spark, rule_id, case, tmp_path)
