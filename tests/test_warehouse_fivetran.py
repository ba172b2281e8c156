"""Fivetran's Pipedrive and HubSpot schemas as warehouse profiles (issue 15 point 3): the export's findings, rule by rule.

The same data twice: an export fixture (the demo's Pipedrive export; the HubSpot exports under tests/fixtures)
audited as an export, and the tables Fivetran's connector would have written for it (tests/warehouse/build.py:
ids for owners, stages and pipelines, custom fields under their API keys named by ``deal_field`` /
``property``, an enum field stored as its option id, a soft-deleted deal, task and stage, tasks linked through
``engagement_deal``; sources in tests/fixtures/warehouse/<connector>/EVIDENCE.md) audited where they are with
the bundled profiles ``fivetran_pipedrive`` / ``fivetran_hubspot``. Per rule the rows must be the same —
deal ids, evidence and fingerprints (waivers key on them) — and in the same order; on DuckDB and on PostgreSQL.
"""

from __future__ import annotations


import pytest

from crm_audit import settings as settings_mod
from crm_audit.engine.audit import audit_export
from crm_audit.history.carry import fingerprints
from crm_audit.warehouse.audit import audit_warehouse, resolve
from warehouse.build import (AS_OF, DEMO_EXPORT, DEMO_SETTINGS, HUBSPOT_EXPORT, HUBSPOT_SETTINGS, HUBSPOT_TASKS_EXPORT,
                             build, write_duckdb, write_postgres)

CASES = {  # connector, export, settings, the findings the export gives
    "pipedrive-demo": ("fivetran_pipedrive", DEMO_EXPORT, DEMO_SETTINGS, 329),
    "hubspot": ("fivetran_hubspot", HUBSPOT_EXPORT, HUBSPOT_SETTINGS, 20),
    "hubspot-tasks": ("fivetran_hubspot", HUBSPOT_TASKS_EXPORT, None, None),  # settings: init --from-export
}
#: rules the export skips for want of a file the warehouse has (the tasks export comes without companies; the
#: connector syncs them): they run on the warehouse
MORE_IN_THE_WAREHOUSE = {"hubspot-tasks": {"owner-mismatch"}}


def settings_file_for(case: str, tmp_path) -> str:
    """The case's settings; the HubSpot tasks fixture has none: `crm-audit init --from-export` writes them, as a user does."""
    connector, export, settings_file, _total = CASES[case]
    if settings_file is not None:
        return settings_file
    from crm_audit.cli import main

    assert main(["init", str(tmp_path / "init"), "--crm", "hubspot", "--from-export", str(export)]) == 0
    return tmp_path / "init" / "crm-audit.yaml"


def schema_of(wh) -> str:
    """The connector's schema (Fivetran: one per connector, ``pipedrive`` / ``hubspot``)."""
    (schema,) = {t.schema for t in wh.tables}
    return schema


def per_rule(report) -> dict[str, list[tuple]]:
    """rule id -> its rows as (deal id, fingerprint, evidence …), in the sheet's order; a blank evidence cell is None
    (an export keeps some blank cells as '', a warehouse has NULL: the sheet, the CSV and the fingerprint show them alike)."""
    out = {}
    for r in report.results:
        ev = [c.key for c in r.evidence]
        rows = r.rows.astype(object).where(r.rows.notna(), None).replace({"": None})
        out[r.rule_id] = [(str(d), fp, *[rows[k].iloc[i] for k in ev]) for i, (d, fp) in
                          enumerate(zip(rows["deal_id"], fingerprints(r)))] if len(rows) else []
    return out


def compare(case: str, url: str, settings_file):
    _connector, export, _settings, total = CASES[case]
    settings = settings_mod.load(settings_file)
    want = audit_export(settings, export, as_of=AS_OF)
    got = audit_warehouse(settings, resolve(settings, url), as_of=AS_OF)
    more = {r.rule_id for r, w in zip(got.results, want.results) if w.skipped and not r.skipped}
    assert more == MORE_IN_THE_WAREHOUSE.get(case, set())
    assert [r.skipped for r in got.results if r.rule_id not in more] == [r.skipped for r in want.results if r.rule_id not in more]
    assert {k: v for k, v in per_rule(got).items() if k not in more} == {k: v for k, v in per_rule(want).items() if k not in more}
    assert (got.deal_count, got.owners) == (want.deal_count, want.owners)
    if total is not None:
        assert got.total == total
    return got


@pytest.mark.parametrize("case", list(CASES))
def test_fivetran_tables_in_duckdb_give_the_exports_findings(case, tmp_path):
    connector, export, _settings, _total = CASES[case]
    settings_file = settings_file_for(case, tmp_path)
    wh = build(connector, export, settings_file)
    db = write_duckdb(wh, tmp_path / "fivetran.duckdb")
    got = compare(case, f"duckdb:///{db}?profile={connector}&schema={schema_of(wh)}", settings_file)
    assert got.source == f"{connector} · {schema_of(wh)} · fivetran.duckdb"  # the FAQ: no user, host or path


@pytest.mark.parametrize("case", ["pipedrive-demo", "hubspot-tasks"])
def test_fivetran_tables_in_postgres_give_the_exports_findings(case, postgres, tmp_path):
    pg, host = postgres
    connector, export, _settings, _total = CASES[case]
    settings_file = settings_file_for(case, tmp_path)
    schema = f"ft_{case.replace('-', '_')}"
    wh = build(connector, export, settings_file)
    write_postgres(wh, pg.conn, {schema_of(wh): schema})
    got = compare(case, f"postgresql://postgres@/postgres?host={host}&profile={connector}&schema={schema}", settings_file)
    if case == "hubspot-tasks":  # a task on two deals (engagement_deal) counts for each, as in the export
        overdue = {str(d) for r in got.results if r.rule_id == "overdue-tasks" for d in r.rows["deal_id"]}
        assert {"18345670001", "18345670002"} <= overdue


def test_the_rule_query_on_a_warehouse_is_one_read_only_statement(tmp_path):
    """Each rule is one SELECT with the profile's entity queries as CTEs: nothing is created on the target."""
    import sqlglot

    from crm_audit.engine import plan as planmod
    from crm_audit.engine.backends.sql_backend import SQLBackend
    from crm_audit.rules import ruleset
    from crm_audit.warehouse.audit import custom_needed, resolve_warehouse
    from crm_audit.warehouse.connect import connect
    from crm_audit.warehouse.entities import build_layout

    wh = build("fivetran_hubspot", HUBSPOT_EXPORT, HUBSPOT_SETTINGS)
    db = write_duckdb(wh, tmp_path / "fivetran.duckdb")
    settings = settings_mod.load(HUBSPOT_SETTINGS)
    source = resolve(settings, f"duckdb:///{db}?profile=fivetran_hubspot&schema=hubspot")
    plans = planmod.build_all(ruleset.load_with_warnings(settings).rules, settings)
    with connect(source.url) as conn:
        layout = build_layout(source.profile, source.schema, conn.target, custom_needed(plans), resolve_warehouse(source, conn.target))
        backend = SQLBackend(conn.target, settings, AS_OF, layout.sources(), ctes=layout.ctes())
        for p in plans:
            sql = backend.rule_sql(p)
            (tree,) = sqlglot.parse(sql, read="duckdb")
            assert isinstance(tree, sqlglot.exp.Select)
            names = [c.alias for c in tree.args["with_"].expressions]
            assert names[:4] == ["src_deals", "src_organizations", "src_persons", "src_activities"] and names[-1] == "audit_deals"
            assert not list(tree.find_all(sqlglot.exp.Create, sqlglot.exp.Insert, sqlglot.exp.Update, sqlglot.exp.Delete))
            assert "hubspot.deal" in sql and "hubspot.property_option" not in sql  # option labels are literals in the query


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """connector -> (settings, plans, layout): the metadata (custom fields, option labels) read once from a DuckDB copy."""
    from crm_audit.engine import plan as planmod
    from crm_audit.rules import ruleset
    from crm_audit.warehouse.audit import custom_needed, resolve_warehouse
    from crm_audit.warehouse.connect import connect
    from crm_audit.warehouse.entities import build_layout

    out = {}
    for connector, case in (("fivetran_pipedrive", "pipedrive-demo"), ("fivetran_hubspot", "hubspot")):
        _c, export, settings_file, _total = CASES[case]
        wh = build(connector, export, settings_file)
        db = write_duckdb(wh, tmp_path_factory.mktemp(connector) / "fivetran.duckdb")
        settings = settings_mod.load(settings_file)
        source = resolve(settings, f"duckdb:///{db}?profile={connector}&schema={schema_of(wh)}")
        plans = planmod.build_all(ruleset.load_with_warnings(settings).rules, settings)
        with connect(source.url) as conn:
            layout = build_layout(source.profile, source.schema, conn.target, custom_needed(plans),
                                  resolve_warehouse(source, conn.target))
        out[connector] = (settings, plans, layout, schema_of(wh))
    return out


#: rules that between them read every kind of thing: an enum custom field of the organization, tasks, days in stage
#: and a stage comparison, the owner of the organization, a custom field of the deal
RENDERED = ("partner-pipeline-org-not-agency", "overdue-tasks", "no-stage-movement", "owner-mismatch", "missing-source")


@pytest.mark.parametrize("dialect", ["bigquery", "snowflake", "spark", "clickhouse"])
@pytest.mark.parametrize("connector", ["fivetran_pipedrive", "fivetran_hubspot"])
def test_the_warehouse_queries_render_for_every_engine(connector, dialect, layouts):
    """What BigQuery, Snowflake, Databricks and ClickHouse would be sent (they cannot run here; PostgreSQL runs above):
    a rule's one statement, the entity queries in front, parses back in that engine's dialect and names the connector's tables
    in the run's schema."""
    import sqlglot

    from crm_audit.engine.backends.sql_backend import SQLBackend

    settings, plans, layout, schema = layouts[connector]

    class Elsewhere:  # the engine the statements are rendered for; nothing is run
        def __init__(self, name):
            self.dialect = name

    backend = SQLBackend(Elsewhere(dialect), settings, AS_OF, layout.sources(), ctes=layout.ctes())
    for p in (p for p in plans if p.rule.id in RENDERED):
        sql = backend.rule_sql(p)
        (tree,) = sqlglot.parse(sql, read=dialect)
        tables = {f"{t.db}.{t.name}".lower() for t in tree.find_all(sqlglot.exp.Table) if t.db}
        assert f"{schema}.deal" in tables, (p.rule.id, sql[:300])
