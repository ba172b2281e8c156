"""`crm-audit init --engine URL`: settings written from the CRM's tables in a warehouse (issue 15 point 3), as a user runs it.

The same data twice (tests/warehouse/build.py): an export fixture (the demo's Pipedrive export, the HubSpot fixture),
and the tables Fivetran's or Airbyte's connector would have written for it. `init --engine` on the warehouse must
write a file that runs as is: the warehouse profile detected, every pipeline's stages in the CRM's own order (the
connector's stage tables: Pipedrive order_nr, HubSpot display_order), the custom fields under the connector's names,
the rules the warehouse cannot feed switched off naming the field, the engine: block without credentials. Then
`validate` passes and `run` (no --engine: the settings carry it) gives the findings the export run of the same data
gives with the same settings. Bad cases: exit 2, a clear message, no traceback, nothing written.
"""

from __future__ import annotations

import csv
import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
import yaml

from cli_helpers import cli_in_process
from warehouse.build import (AS_OF, CONNECTORS, DEMO_EXPORT, DEMO_SETTINGS, HUBSPOT_EXPORT, HUBSPOT_SETTINGS, build,
                             write_duckdb, write_postgres)

ASOF = AS_OF.isoformat()
SECRET = "Wh-s3cret-7Qx"
#: the bundled rules reading a custom field: Airbyte's HubSpot connector syncs no property definitions
CUSTOM_FIELD_RULES = {"missing-traffic-or-budget", "partner-org-not-set", "missing-source", "missing-demo-recording",
                      "missing-proposal-link", "partner-pipeline-org-not-agency", "partner-manager-deal-without-partner",
                      "missing-city-or-country"}
EXPORTS = {"pipedrive": DEMO_EXPORT, "hubspot": HUBSPOT_EXPORT}
SETTINGS = {"pipedrive": DEMO_SETTINGS, "hubspot": HUBSPOT_SETTINGS}


def crm_audit(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    """The command as its own process would run it, in this one (tests/cli_helpers.py: a process costs the imports)."""
    return cli_in_process(*args, cwd=cwd, env={"CRM_AUDIT_LANGUAGE": "en", **(env or {})})


def schema_of(wh) -> str:
    return next(t.schema for t in wh.tables if t.schema != "airbyte_internal")


def settings_of(folder: Path) -> dict:
    return yaml.safe_load((folder / "crm-audit.yaml").read_text(encoding="utf-8"))


def run_rows(folder: Path, *args) -> tuple[list[dict], set]:
    res = crm_audit("run", "--as-of", ASOF, "--violations-csv", "v.csv", "--quiet", *args, cwd=folder)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    with open(folder / "v.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    (parquet,) = glob.glob(str(folder / "crm-audit.findings" / "*.parquet"))
    return rows, set(duckdb.sql(f"SELECT rule_id, deal_id, fingerprint FROM '{parquet}'").fetchall())


def export_run(settings_file: Path, export: Path, work: Path) -> tuple[list[dict], set]:
    """The export of the same data audited with the same settings (their engine: block is not read with --export)."""
    work.mkdir()
    shutil.copy(settings_file, work / "crm-audit.yaml")
    return run_rows(work, "--export", str(export))


def without_duplicates(stages: list[str]) -> list[str]:
    from crm_audit.textnorm import norm

    seen, out = set(), []
    for s in stages:
        if norm(s) not in seen:
            seen.add(norm(s))
            out.append(s.strip())
    return out


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory):
    """connector -> (Warehouse, its DuckDB file)."""
    base = tmp_path_factory.mktemp("wh")
    out = {}
    for c in CONNECTORS:
        wh = build(c)
        out[c] = (wh, write_duckdb(wh, base / f"{c}.duckdb"))
    return out


# ------------------------------------------------------------------------------------------ each connector on DuckDB


@pytest.mark.parametrize("connector", [  # Fivetran Pipedrive by default; the others `slow` (opt-in)
    pytest.param(c, marks=() if c == "fivetran_pipedrive" else pytest.mark.slow) for c in CONNECTORS])
def test_init_from_a_warehouse_writes_settings_that_audit_it_as_the_export(connector, warehouses, tmp_path):
    wh, db = warehouses[connector]
    crm = connector.split("_", 1)[1]
    work = tmp_path / "team"
    res = crm_audit("init", str(work), "--engine", f"duckdb:///{db}", env={"TZ": "UTC"})  # the proposed zone: UTC
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"Warehouse profile: {connector}" in res.stdout and f"schema {schema_of(wh)}" in res.stdout
    assert "tables are there" in res.stdout  # why this profile
    s = settings_of(work)
    assert s["crm"] == crm
    assert s["engine"] == {"url": f"duckdb:///{db}", "profile": connector, "schema": schema_of(wh),
                           "timezone": "UTC"}  # the proposed zone (tests/test_warehouse_init_zone.py): the comment asks to check it
    # the stages in the CRM's own order (the connector's stage table), every stage the CRM has, confirmed
    assert s["stage_order_confirmed"] is True
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert "# порядок этапов из CRM: таблица " in text
    want = yaml.safe_load(SETTINGS[crm].read_text(encoding="utf-8"))["pipelines"]
    for pipe, stages in want.items():
        assert s["pipelines"][pipe][:len(stages)] == stages, pipe  # the settings' order; stages only deals name come after
    assert "Удалённый этап" not in str(s["pipelines"])  # a deleted stage is not the team's
    if crm == "pipedrive":
        assert s["pipelines"]["Клиенты"] == without_duplicates(
            want["Клиенты"] + ["Выставлен счёт", "Ожидает оплаты", "проведено ДЕМО", "Переговоры"])
        assert list(s["pipelines"]) == ["Клиенты", "Партнеры", "Повторные продажи", "Архив 2024"]  # pipeline order_nr
    else:
        assert s["pipelines"] == want  # HubSpot: Closed Won / Closed Lost last, as display_order has them
    assert s["partner_managers"] == ["Ольга Партнерова"] and s["trial_stages"] == ["Тестовый период"]
    assert "Несезон" in s["frozen_lost_reasons"]
    # the rules the warehouse cannot feed: off, each naming the field
    skip = s["rules"]["skip"] or {}
    if connector == "airbyte_hubspot":
        assert set(skip) == CUSTOM_FIELD_RULES
        assert "«deal.Источник сделки»" in skip["missing-source"] and "«org.Агентство ли это»" in skip["partner-pipeline-org-not-agency"]
        assert "# 1.8: чтобы включить — " in text
    else:
        assert skip == {}
    assert s["fields"] == {}  # the connectors name the custom fields as the rules do
    assert "Ольга Партнерова" in text.split("engine:")[-1]  # the owners, listed for reference
    # runs as is: validate, then run with the settings' engine block (no --engine)
    ok = crm_audit("validate", cwd=work)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    got_rows, got = run_rows(work)
    want_rows, want_found = export_run(work / "crm-audit.yaml", EXPORTS[crm], tmp_path / "export")
    assert got == want_found and got_rows == want_rows
    assert len(got) >= 10
    if connector == "airbyte_hubspot":
        assert not {r for r, _d, _f in got} & CUSTOM_FIELD_RULES


def test_init_picks_the_airbyte_profile_with_raw_tables_over_the_direct_load_one(warehouses, tmp_path):
    """airbyte_pipedrive_direct's tables are a part of airbyte_pipedrive's: where the raw tables are, the fuller one."""
    _wh, db = warehouses["airbyte_pipedrive"]
    res = crm_audit("init", str(tmp_path), "--engine", f"duckdb:///{db}")
    assert res.returncode == 0, res.stderr
    assert settings_of(tmp_path)["engine"]["profile"] == "airbyte_pipedrive"
    assert "11 of its 11 tables" in res.stdout


# ------------------------------------------------------------------------------------------ custom fields renamed / missing


def _rename_field(wh, table: str, old: str, new: str | None) -> None:
    """A custom field named otherwise in the connector's field metadata (new None: not there at all)."""
    t = wh.table(table)
    i = [c for c, _t in t.columns].index("name")
    if new is None:
        t.rows = [r for r in t.rows if r[i] != old]
    else:
        t.rows = [r[:i] + (new,) + r[i + 1:] if r[i] == old else r for r in t.rows]


def test_a_custom_field_under_another_name_is_proposed_and_a_missing_one_switches_its_rule_off(tmp_path):
    wh = build("fivetran_pipedrive")
    _rename_field(wh, "deal_field", "Источник сделки", "Origem")  # a known synonym (field_synonyms.yaml)
    _rename_field(wh, "deal_field", "Город", "Города")  # a close name
    _rename_field(wh, "deal_field", "Ссылка на запись демо", None)  # not in the CRM
    _rename_field(wh, "organization_field", "Агентство ли это", "Agency")  # a yes/no synonym with yes/no options
    db = write_duckdb(wh, tmp_path / "renamed.duckdb")
    work = tmp_path / "team"
    res = crm_audit("init", str(work), "--engine", f"duckdb:///{db}?schema=pipedrive")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 rule switched off" in res.stdout
    s = settings_of(work)
    assert s["fields"] == {"deal.Источник сделки": "Origem", "deal.Город": "Города", "org.Агентство ли это": "Agency"}
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert "deal.Источник сделки: Origem    # так это поле называют: «Origem» — проверьте, что это то же поле (поле из deal_field)" in text
    assert s["rules"]["skip"] == {"missing-demo-recording": "в хранилище (Fivetran — Pipedrive) нет поля «deal.Ссылка на запись демо»"}
    assert "# 1.9: чтобы включить — если это поле есть в CRM под другим названием, укажите его в fields: " \
           "(deal.Ссылка на запись демо: <название поля в CRM>)" in text
    assert crm_audit("validate", cwd=work).returncode == 0
    rows, found = run_rows(work)
    # the export names the fields as the handbook does: audited with the same settings without the mapping
    ex = tmp_path / "export-settings"
    ex.mkdir()
    (ex / "crm-audit.yaml").write_text(re.sub(r"\nfields:\n(?:  .*\n)+", "\nfields: {}\n", text), encoding="utf-8")
    assert settings_of(ex)["fields"] == {}
    want_rows, want = export_run(ex / "crm-audit.yaml", DEMO_EXPORT, tmp_path / "export")
    assert found == want and rows == want_rows
    assert {r for r, _d, _f in found} >= {"missing-source", "missing-city-or-country", "partner-pipeline-org-not-agency"}
    assert "missing-demo-recording" not in {r for r, _d, _f in found}


# ------------------------------------------------------------------------------------------ bad cases


def test_bad_cases_exit_2_with_a_clear_message_and_write_nothing(warehouses, tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    cases = {
        f"postgresql://audit:{SECRET}@db.internal:5432/crm": ("CRM_AUDIT_ENGINE_PASSWORD", "***"),
        "postgresql://audit@127.0.0.1:9/crm": ("cannot reach the server", "127.0.0.1"),
        f"duckdb:///{tmp_path / 'nowhere.duckdb'}": ("nowhere.duckdb",),
        f"duckdb:///{empty}": ("no CRM tables found", "deal, deals", "--schema"),
    }
    for url, words in cases.items():
        res = crm_audit("init", str(tmp_path / "team"), "--engine", url, env={"CRM_AUDIT_ENGINE_PASSWORD": SECRET})
        text = res.stdout + res.stderr
        assert res.returncode == 2, (url, text)
        assert "Traceback" not in text and SECRET not in text, (url, text)
        for w in words:
            assert w in text, (url, w, text)
        assert not (tmp_path / "team" / "crm-audit.yaml").exists()
    # a profile named that the warehouse does not fit: its missing tables named
    _wh, db = warehouses["fivetran_pipedrive"]
    res = crm_audit("init", str(tmp_path / "team"), "--engine", f"duckdb:///{db}", "--warehouse-profile", "fivetran_hubspot",
                    "--schema", "pipedrive")
    assert res.returncode == 2 and "«deal_pipeline_stage»" in res.stderr and "Traceback" not in res.stderr
    # options that go with --engine only, and one source at a time
    res = crm_audit("init", str(tmp_path / "team"), "--schema", "pipedrive")
    assert res.returncode == 2 and "--engine" in res.stderr
    res = crm_audit("init", str(tmp_path / "team"), "--engine", f"duckdb:///{db}", "--from-export", str(DEMO_EXPORT))
    assert res.returncode == 2 and "--from-export" in res.stderr
    assert not (tmp_path / "team" / "crm-audit.yaml").exists()


def test_an_existing_file_stays_unless_force(warehouses, tmp_path):
    _wh, db = warehouses["fivetran_pipedrive"]
    (tmp_path / "crm-audit.yaml").write_text("# ours\n", encoding="utf-8")
    res = crm_audit("init", str(tmp_path), "--engine", f"duckdb:///{db}")
    assert res.returncode == 2 and "--force" in res.stderr and "Traceback" not in res.stderr
    assert (tmp_path / "crm-audit.yaml").read_text(encoding="utf-8") == "# ours\n"
    res = crm_audit("init", str(tmp_path), "--engine", f"duckdb:///{db}", "--force")
    assert res.returncode == 0 and settings_of(tmp_path)["engine"]["profile"] == "fivetran_pipedrive"


def test_two_schemas_with_crm_tables_are_listed_and_the_user_chooses(warehouses, tmp_path):
    wh, _db = warehouses["fivetran_pipedrive"]
    db = tmp_path / "two.duckdb"
    write_duckdb(wh, db)
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA pipedrive_old")
    for t in wh.tables:
        con.execute(f'CREATE TABLE pipedrive_old."{t.name}" AS SELECT * FROM pipedrive."{t.name}"')
    con.close()
    res = crm_audit("init", str(tmp_path / "team"), "--engine", f"duckdb:///{db}")
    assert res.returncode == 2, res.stdout
    assert "fivetran_pipedrive (schema pipedrive)" in res.stderr and "fivetran_pipedrive (schema pipedrive_old)" in res.stderr
    assert "--schema" in res.stderr and not (tmp_path / "team").exists()
    res = crm_audit("init", str(tmp_path / "team"), "--engine", f"duckdb:///{db}", "--schema", "pipedrive_old")
    assert res.returncode == 0, res.stderr
    assert settings_of(tmp_path / "team")["engine"]["schema"] == "pipedrive_old"


def test_the_written_file_never_holds_a_password(warehouses, tmp_path):
    _wh, db = warehouses["fivetran_hubspot"]
    res = crm_audit("init", str(tmp_path), "--engine", f"duckdb:///{db}?profile=fivetran_hubspot&schema=hubspot",
                    env={"CRM_AUDIT_ENGINE_PASSWORD": SECRET})
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "crm-audit.yaml").read_text(encoding="utf-8")
    assert SECRET not in text + res.stdout + res.stderr
    assert "profile=" not in settings_of(tmp_path)["engine"]["url"]  # crm-audit's own parameters are keys of their own
    assert "указан в --warehouse-profile" in text


# ------------------------------------------------------------------------------------------ PostgreSQL


@pytest.fixture(scope="module")
def postgres():
    if not os.environ.get("CI"):
        pytest.importorskip("pgserver", reason="pgserver is not installed (pip install '.[test]')")
    from engine_targets import Postgres

    pg = Postgres()
    try:
        yield pg
    finally:
        pg.close()


def _pg_url(pg) -> str:
    return pg.server.get_uri().replace("postgres:@", "postgres@")  # pgserver's user has no password


@pytest.mark.parametrize("connector", [  # Fivetran HubSpot by default; the others `slow` (opt-in)
    pytest.param(c, marks=() if c == "fivetran_hubspot" else pytest.mark.slow)
    for c in ["fivetran_pipedrive", "fivetran_hubspot", "airbyte_hubspot"]])
def test_init_on_postgres_writes_settings_that_audit_it_as_the_export(connector, postgres, warehouses, tmp_path):
    wh, _db = warehouses[connector]
    schema = f"init_{connector}"
    write_postgres(wh, postgres.conn, {schema_of(wh): schema})
    crm = connector.split("_", 1)[1]
    work = tmp_path / "team"
    res = crm_audit("init", str(work), "--engine", _pg_url(postgres), "--schema", schema)
    assert res.returncode == 0, res.stdout + res.stderr
    s = settings_of(work)
    assert s["engine"]["profile"] == connector and s["engine"]["schema"] == schema
    want = yaml.safe_load(SETTINGS[crm].read_text(encoding="utf-8"))["pipelines"]
    for pipe, stages in want.items():
        assert s["pipelines"][pipe][:len(stages)] == stages
    assert set(s["rules"]["skip"] or {}) == (CUSTOM_FIELD_RULES if connector == "airbyte_hubspot" else set())
    got_rows, got = run_rows(work)
    want_rows, want_found = export_run(work / "crm-audit.yaml", EXPORTS[crm], tmp_path / "export")
    assert got == want_found and got_rows == want_rows


def test_init_on_postgres_without_a_schema_lists_the_schemas_with_crm_tables(postgres, warehouses, tmp_path):
    for connector in ("fivetran_pipedrive", "fivetran_hubspot"):
        wh, _db = warehouses[connector]
        write_postgres(wh, postgres.conn, {schema_of(wh): f"many_{connector}"})
    res = crm_audit("init", str(tmp_path), "--engine", _pg_url(postgres))
    assert res.returncode == 2, res.stdout
    assert "fivetran_pipedrive (schema many_fivetran_pipedrive)" in res.stderr
    assert "fivetran_hubspot (schema many_fivetran_hubspot)" in res.stderr
    res = crm_audit("init", str(tmp_path), "--engine", _pg_url(postgres), "--crm", "hubspot", "--schema", "many_fivetran_hubspot")
    assert res.returncode == 0, res.stderr
    assert settings_of(tmp_path)["engine"]["profile"] == "fivetran_hubspot"


# ------------------------------------------------------------------------------------------ a team's own profile


def _own_profile(connector: str, folder: Path) -> Path:
    """A copy of a bundled profile without its `stages:` section (a team's own schema with no stage table)."""
    from crm_audit.warehouse.profile import warehouses_dir

    text = (warehouses_dir() / f"{connector}.yaml").read_text(encoding="utf-8")
    head = text.split("\nstages:\n")[0]
    path = folder / "our_warehouse.yaml"
    path.write_text(head.rsplit("\n# `crm-audit init --engine`", 1)[0] + "\n", encoding="utf-8")
    return path


def test_a_profile_without_a_stage_table_orders_the_deals_stages_and_says_when_it_guessed(warehouses, tmp_path):
    # HubSpot's deals carry their stage's display order (stage_order): the CRM's order, from the deals
    _wh, db = warehouses["fivetran_hubspot"]
    own = _own_profile("fivetran_hubspot", tmp_path)
    work = tmp_path / "hubspot"
    res = crm_audit("init", str(work), "--engine", f"duckdb:///{db}", "--warehouse-profile", str(own), "--schema", "hubspot")
    assert res.returncode == 0, res.stdout + res.stderr
    s = settings_of(work)
    assert s["engine"]["profile"] == str(own.resolve())  # the team's file, by its path
    want = yaml.safe_load(HUBSPOT_SETTINGS.read_text(encoding="utf-8"))["pipelines"]
    for pipe, stages in s["pipelines"].items():  # the stages deals are in, in the CRM's order
        assert stages == [x for x in want[pipe] if x in stages], pipe
    assert s["stage_order_confirmed"] is True
    assert crm_audit("validate", cwd=work).returncode == 0
    # Pipedrive's deals carry no order: the order is a guess, marked, and validate / run warn until confirmed
    _wh, db = warehouses["fivetran_pipedrive"]
    own = _own_profile("fivetran_pipedrive", tmp_path)
    work = tmp_path / "pipedrive"
    res = crm_audit("init", str(work), "--engine", f"duckdb:///{db}?schema=pipedrive", "--warehouse-profile", str(own))
    assert res.returncode == 0, res.stdout + res.stderr
    s = settings_of(work)
    # per pipeline: «Архив 2024» (one open stage) has no order to guess, the others' order is (was: false for all)
    assert s["stage_order_confirmed"] == ["Архив 2024"]
    assert "ПОРЯДОК ЭТАПОВ УГАДАН" in (work / "crm-audit.yaml").read_text(encoding="utf-8")
    ok = crm_audit("validate", cwd=work)
    assert ok.returncode == 0 and "guessed" in ok.stdout + ok.stderr
    run = crm_audit("run", "--as-of", ASOF, "--violations-csv", "v.csv", "--quiet", cwd=work)
    assert run.returncode == 0 and "guessed" in run.stdout + run.stderr, run.stderr
