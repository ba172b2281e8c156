"""The warehouse profiles' entity queries as each engine is sent them (issue 15), checked in like the rules' SQL:
``tests/golden_sql/<dialect>/warehouse/<profile>-<entity>.sql`` (regenerate with ``CRM_AUDIT_UPDATE_GOLDEN=1``).

BigQuery and Snowflake cannot run offline: these files pin how a profile's PostgreSQL JSON access (``->``, ``->>``,
a dynamic position ``-> g.i``) and its ``CAST(text AS TIMESTAMP)`` are written there, and each must parse back with
sqlglot in that dialect. The date fields are converted as the engine's driver would describe the cast's type
(BigQuery TIMESTAMP: an instant; Snowflake TIMESTAMP_NTZ: a wall clock)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from crm_audit.engine.dialects import get
from crm_audit.engine.dialects.timestamps import kind
from crm_audit.warehouse import profile as wprofile
from crm_audit.warehouse.entities import SQL_TYPES, entity_query, field_types
from crm_audit.warehouse.localtime import LocalTimes

GOLDEN = Path(__file__).parent / "golden_sql"
PROFILES = ("airbyte_hubspot", "fivetran_pipedrive", "airbyte_pipedrive")
ZONE = "Europe/Moscow"
#: the type each engine's driver reports for a profile's CAST(text AS TIMESTAMP) as rendered there
CAST_TYPE = {"bigquery": "timestamp", "snowflake": "timestamp_ntz", "postgres": "timestamp without time zone",
             "clickhouse": "nullable(datetime64(6, 'utc'))", "spark": "timestamp_ntz"}


def entity_sql(prof, ent: str, dialect: str) -> str:
    q = prof.entities[ent]
    fields = {n: q.alternatives(n)[0] for n in q.fields}
    types = field_types(prof).get(ent, {})
    dates = [n for n in fields if n != "status" and SQL_TYPES.get(types.get(n, "text")) == "DATE"]
    # a date field cast from text to TIMESTAMP has the type the engine reports for that cast; a bare column is a
    # connector's instant (Fivetran's TIMESTAMP WITH TIME ZONE); a CAST(... AS DATE) is a date
    def kind_of(frag: str) -> str:
        f = frag.upper().replace(" ", "")
        return kind(dialect, CAST_TYPE[dialect]) if "ASTIMESTAMP)" in f else "date" if "ASDATE)" in f else "aware"

    times = LocalTimes(dialect, ZONE, {n: k for n in dates for k in [kind_of(fields[n])] if k in ("aware", "naive")})
    tree = entity_query(prof, ent, fields, "crm", types, {}, dialect, times=times)
    return get(dialect).render(tree, pretty=True)


@pytest.mark.parametrize("dialect", ["bigquery", "snowflake", "postgres", "clickhouse", "spark"])
@pytest.mark.parametrize("name", PROFILES)
def test_the_entity_queries_are_pinned_and_parse_back(name, dialect):
    prof = wprofile.load(name)
    update = bool(os.environ.get("CRM_AUDIT_UPDATE_GOLDEN"))
    d = GOLDEN / dialect / "warehouse"
    for ent in prof.entities:
        sql = entity_sql(prof, ent, dialect) + "\n"
        (tree,) = sqlglot.parse(sql, read=dialect)
        assert isinstance(tree, exp.Query), (ent, sql[:200])
        f = d / f"{name}-{ent}.sql"
        if update:
            d.mkdir(parents=True, exist_ok=True)
            f.write_text(sql, encoding="utf-8")
        assert f.read_text(encoding="utf-8") == sql, f"{f} differs (CRM_AUDIT_UPDATE_GOLDEN=1 regenerates it)"


def test_bigquery_reads_json_by_one_path_and_a_dynamic_position_by_safe_offset():
    sql = entity_sql(wprofile.load("airbyte_hubspot"), "deals", "bigquery")
    assert "JSON_QUERY_ARRAY(dp.stages, '$')[SAFE_OFFSET(g.i)]" in sql
    assert "COALESCE(JSON_VALUE(d.companies, '$[0]'), NULLIF(JSON_QUERY(d.companies, '$[0]'), 'null'))" in sql
    assert "'$.metadata.isClosed'" in sql and "->" not in sql


def test_snowflake_reads_json_by_get_from_zero_and_casts_a_wall_clock():
    sql = entity_sql(wprofile.load("airbyte_hubspot"), "deals", "snowflake")
    assert "GET(GET(TRY_PARSE_JSON(TO_VARCHAR(dp.stages)), g.i), 'stageId')" in sql
    assert "CAST(STRIP_NULL_VALUE(GET(TRY_PARSE_JSON(TO_VARCHAR(d.companies)), 0)) AS VARCHAR)" in sql
    assert "->" not in sql


@pytest.mark.parametrize("dialect, cast, local", [
    ("snowflake", "AS TIMESTAMPNTZ)", "CAST(CONVERT_TIMEZONE('UTC', 'Europe/Moscow', CAST(d.add_time AS TIMESTAMPNTZ)) AS DATE)"),
    ("bigquery", "AS TIMESTAMP)", "DATE(CAST(d.add_time AS TIMESTAMP), 'Europe/Moscow')")])
def test_a_text_timestamp_is_utc_then_the_accounts_date(dialect, cast, local):
    sql = get(dialect).render(sqlglot.parse_one("SELECT CAST(d.add_time AS TIMESTAMP) FROM d", read="postgres"))
    assert cast in sql and "DATETIME" not in sql
    from crm_audit.engine.dialects.timestamps import local_date

    x = sqlglot.parse_one(sql, read=dialect).expressions[0]
    assert get(dialect).render(local_date(dialect, x, ZONE, kind(dialect, CAST_TYPE[dialect]) == "aware")) == local


# --------------------------------------------------------------------------- JSON held in the engine's own type


#: the JSON columns' type other than the one the default files assume (unmarked: the connector's usual one): BigQuery
#: JSON (Airbyte Destinations V2), PostgreSQL text (a team's own job), ClickHouse JSON, Spark / Databricks VARIANT;
#: Snowflake VARIANT is read as VARCHAR is (TRY_PARSE_JSON(TO_VARCHAR(x)) takes both)
OTHER_JSON = {"bigquery": "json", "postgres": "text", "clickhouse": "nullable(json)", "spark": "variant",
              "snowflake": "variant"}


def json_probe(name: str, dialect: str):
    """A probe of the connector's tables (tests/warehouse/build.py) whose JSON columns are of ``OTHER_JSON[dialect]``."""
    from warehouse.build import build

    from crm_audit.warehouse.entities import Probe

    pr = Probe()
    for t in build(name).tables:
        pr.columns[t.name.lower()] = {c.lower() for c, _t in t.columns}
        pr.types[t.name.lower()] = {c.lower(): OTHER_JSON[dialect] if typ == "JSON" else "other" for c, typ in t.columns}
        if t.schema not in ("pipedrive", "hubspot"):  # Airbyte's raw tables: named with their schema
            pr.types[f"{t.schema}.{t.name}".lower()] = pr.types[t.name.lower()]
            pr.columns[f"{t.schema}.{t.name}".lower()] = pr.columns[t.name.lower()]
    return pr


def json_entity_sql(prof, ent: str, dialect: str, pr, pretty: bool = False) -> str:
    q = prof.entities[ent]
    fields = {n: q.alternatives(n)[0] for n in q.fields}
    tree = entity_query(prof, ent, fields, "crm", field_types(prof).get(ent, {}), {}, dialect, columns=pr)
    return get(dialect).render(tree, pretty=pretty)


@pytest.mark.parametrize("dialect", ["bigquery", "postgres", "clickhouse", "spark"])
@pytest.mark.parametrize("name", ["airbyte_hubspot", "airbyte_pipedrive"])
def test_json_in_the_engines_own_type_is_pinned_and_parses_back(name, dialect):
    prof = wprofile.load(name)
    pr = json_probe(name, dialect)
    update = bool(os.environ.get("CRM_AUDIT_UPDATE_GOLDEN"))
    d = GOLDEN / dialect / ("warehouse-json-as-text" if dialect == "postgres" else "warehouse-native-json")
    for ent in prof.entities:
        sql = json_entity_sql(prof, ent, dialect, pr, pretty=True) + "\n"
        (tree,) = sqlglot.parse(sql, read=dialect)
        assert isinstance(tree, exp.Query), (ent, sql[:200])
        f = d / f"{name}-{ent}.sql"
        if update:
            d.mkdir(parents=True, exist_ok=True)
            f.write_text(sql, encoding="utf-8")
        assert f.read_text(encoding="utf-8") == sql, f"{f} differs (CRM_AUDIT_UPDATE_GOLDEN=1 regenerates it)"


def test_bigquery_json_column_is_read_as_json():
    prof = wprofile.load("airbyte_hubspot")
    sql = json_entity_sql(prof, "deals", "bigquery", json_probe("airbyte_hubspot", "bigquery"))
    # JSON_QUERY of a JSON column is JSON: its text by TO_JSON_STRING (a NULLIF / COALESCE with STRING refuses JSON)
    assert ("COALESCE(JSON_VALUE(d.companies, '$[0]'), NULLIF(TO_JSON_STRING(JSON_QUERY(d.companies, '$[0]')), 'null'))"
            in sql)
    assert "JSON_VALUE(JSON_QUERY_ARRAY(dp.stages, '$')[SAFE_OFFSET(g.i)], '$.stageId')" in sql
    assert "NULLIF(JSON_QUERY(" not in sql  # every JSON_QUERY is wrapped
    text = json_entity_sql(prof, "deals", "bigquery", None)
    assert "TO_JSON_STRING" not in text and "NULLIF(JSON_QUERY(d.companies, '$[0]'), 'null')" in text


def test_postgres_text_column_is_read_as_json():
    prof = wprofile.load("airbyte_hubspot")
    sql = json_entity_sql(prof, "deals", "postgres", json_probe("airbyte_hubspot", "postgres"))
    assert "CAST(d.companies AS JSON) ->> 0" in sql
    assert "CAST(d.companies AS JSON)" not in json_entity_sql(prof, "deals", "postgres", None)


def test_snowflake_variant_and_varchar_are_read_alike():
    prof = wprofile.load("airbyte_hubspot")
    for ent in prof.entities:
        assert (json_entity_sql(prof, ent, "snowflake", json_probe("airbyte_hubspot", "snowflake"))
                == json_entity_sql(prof, ent, "snowflake", None))


@pytest.mark.parametrize("typ, native", [("json", True), ("jsonb", True), ("variant", True), ("object", True),
                                         ("nullable(json)", True), ("json(max_dynamic_paths=16)", True),
                                         ("text", False), ("varchar", False), ("string", False), ("nullable(string)", False),
                                         ("other", False)])
def test_json_native_type_names(typ, native):
    from crm_audit.engine.dialects import json_native

    assert json_native(typ) is native
