"""`crm-audit run --engine URL` on the CRM's tables where a connector put them (issue 15 point 3), run as users run it.

The bundled demo export (300 deals, every rule hit) is laid out as Fivetran's Pipedrive connector lays it out
(``engine_targets.fivetran_pipedrive_tables``: ``deal``, ``users``, ``stage``, ``pipeline``, ``organization``,
``person``, ``activity``, ``deal_field``, custom fields as 40-hex key columns) in a DuckDB database file and in a
real PostgreSQL (pgserver); ``crm-audit run --engine …`` must then give the export run's findings: the same rows
in the violations CSV and the same (rule, deal, fingerprint) in the ledger. Credentials never reach the
output, the ledger or the files; a missing table or column, an unreachable server, a missing driver and a
refused login are exit 2 with a clear message and no traceback.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import cli_in_process
from engine_targets import duckdb_warehouse, fivetran_pipedrive_tables

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "crm_audit" / "demo_data"
SECRET = "Wh-s3cret-7Qx"


def crm_audit(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    """The command as its own process would run it, in this one (tests/cli_helpers.py: a process costs the imports)."""
    return cli_in_process(*args, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def tables():
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import load_profile

    export = load_export(DEMO / "pipedrive", load_profile("pipedrive"))
    try:
        yield fivetran_pipedrive_tables(export)
    finally:
        export.close()
        export.con.close()


@pytest.fixture(scope="module")
def warehouse(tables, tmp_path_factory) -> Path:
    return duckdb_warehouse(tables, tmp_path_factory.mktemp("wh") / "warehouse.duckdb")


@pytest.fixture(scope="module")
def export_run(tmp_path_factory):
    """The export run of the same data: its CSV rows and ledger findings."""
    d = tmp_path_factory.mktemp("export-run")
    shutil.copy(DEMO / "crm-audit.yaml", d / "crm-audit.yaml")
    res = crm_audit("run", "--export", str(DEMO / "pipedrive"), "--as-of", "2026-11-20", "--violations-csv", "v.csv",
                    "--out", "audit.xlsx", "--quiet", cwd=d)
    assert res.returncode == 0, res.stderr
    return d


def team(tmp_path: Path, engine_block: str = "") -> Path:
    cfg = tmp_path / "crm-audit.yaml"
    cfg.write_text(DEMO.joinpath("crm-audit.yaml").read_text(encoding="utf-8") + engine_block, encoding="utf-8")
    return tmp_path


def csv_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def findings(folder: Path) -> list[tuple]:
    import duckdb

    return duckdb.sql(f"SELECT rule_id, deal_id, fingerprint, evidence FROM '{folder}/crm-audit.findings/*.parquet' "
                      "ORDER BY ALL").fetchall()


def all_output(folder: Path, res: subprocess.CompletedProcess) -> str:
    """Everything a run left: its terminal output and every file it wrote (ledger included), as text."""
    out = [res.stdout, res.stderr]
    for p in folder.rglob("*"):
        if p.is_file():
            out.append(p.read_bytes().decode("utf-8", "replace"))
    return "\n".join(out)


def test_run_on_a_duckdb_warehouse_gives_the_export_runs_findings(warehouse, export_run, tmp_path):
    d = team(tmp_path)
    res = crm_audit("run", "--engine", f"duckdb:///{warehouse}?schema=pipedrive", "--as-of", "2026-11-20",
                    "--violations-csv", "v.csv", "--out", "audit.xlsx", cwd=d)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "298" in res.stdout  # the audited deals (two of 300 are deleted), as the export run says
    wh, ex = csv_rows(d / "v.csv"), csv_rows(export_run / "v.csv")
    assert len(wh) == 329  # the demo's findings
    assert wh == ex  # every row, value for value, in the same order
    assert findings(d) == findings(export_run)  # fingerprints too: waivers recorded on either hold on the other
    assert (d / "audit.xlsx").stat().st_size > 10_000


def test_the_settings_engine_block_is_the_source_when_no_export_is_given(warehouse, export_run, tmp_path):
    d = team(tmp_path, f"\nengine:\n  url: duckdb:///{warehouse}\n  profile: fivetran_pipedrive\n  schema: pipedrive\n")
    res = crm_audit("run", "--as-of", "2026-11-20", "--violations-csv", "v.csv", "--quiet", cwd=d)
    assert res.returncode == 0, res.stderr
    assert csv_rows(d / "v.csv") == csv_rows(export_run / "v.csv")
    again = crm_audit("run", "--as-of", "2026-11-20", "--violations-csv", "v.csv", "--export", str(DEMO / "pipedrive"),
                      "--engine", f"duckdb:///{warehouse}", cwd=d)
    assert again.returncode == 2 and "--engine URL" in again.stderr and "Traceback" not in again.stderr


def test_a_dry_run_on_a_warehouse_writes_nothing(warehouse, tmp_path):
    d = team(tmp_path)
    res = crm_audit("run", "--engine", f"duckdb:///{warehouse}?schema=pipedrive", "--as-of", "2026-11-20",
                    "--violations-csv", "v.csv", "--dry-run", "--quiet", cwd=d)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in d.iterdir()) == ["crm-audit.yaml"]


def test_validate_and_inspect_check_the_connection_and_the_profiles_tables(warehouse, tmp_path):
    d = team(tmp_path)
    url = f"duckdb:///{warehouse}?schema=pipedrive"
    ok = crm_audit("validate", "--engine", url, cwd=d)
    assert ok.returncode == 0, ok.stderr
    res = crm_audit("inspect", "--engine", url, "-c", "crm-audit.yaml", cwd=d, env={"CRM_AUDIT_LANGUAGE": "en"})
    assert res.returncode == 0, res.stderr
    assert "deals ← deal: 300" in res.stdout and "activities ← activity: 919" in res.stdout
    assert "owner = u.name" in res.stdout and "stage = s.name" in res.stdout
    assert ": 17" in res.stdout  # every rule can run


@pytest.fixture
def broken(tables, tmp_path) -> Path:
    """The warehouse without the stage table and without the deal's title column."""
    bad = dict(tables)
    del bad["stage"]
    bad["deal"] = bad["deal"].drop(["title"])
    return duckdb_warehouse(bad, tmp_path / "broken.duckdb")


def test_a_missing_table_stops_the_run_naming_it_and_a_missing_column_skips_the_rules_that_read_it(broken, tables, tmp_path):
    d = team(tmp_path)
    url = f"duckdb:///{broken}?schema=pipedrive"
    for cmd in (["run", "--engine", url, "--violations-csv", "v.csv"], ["validate", "--engine", url],
                ["inspect", "--engine", url, "-c", "crm-audit.yaml"]):
        res = crm_audit(*cmd, cwd=d)
        assert res.returncode == 2, (cmd, res.stdout, res.stderr)
        text = res.stdout + res.stderr
        assert "«stage»" in text and "joins: s" in text and "Traceback" not in text
    assert not (d / "v.csv").exists()
    only_column = dict(tables)
    only_column["deal"] = only_column["deal"].drop(["title"])
    url = f"duckdb:///{duckdb_warehouse(only_column, tmp_path / 'no-title.duckdb')}?schema=pipedrive"
    res = crm_audit("run", "--engine", url, "--as-of", "2026-11-20", "--violations-csv", "v.csv", cwd=d)
    assert res.returncode == 0, res.stderr
    assert "«title»" in res.stdout + res.stderr  # named among the data warnings
    assert {r["rule_id"] for r in csv_rows(d / "v.csv")}.isdisjoint({"invalid-name"})  # 1.5 reads the title: skipped


def test_clear_errors_for_a_bad_url_a_missing_driver_and_an_unreachable_server(tmp_path):
    d = team(tmp_path)
    cases = {
        f"postgresql://audit:{SECRET}@db.internal:5432/crm": ("CRM_AUDIT_ENGINE_PASSWORD", "***"),
        "snowflake://audit@acme-xy12345/ANALYTICS/PIPEDRIVE": ("pip install 'crm-audit[snowflake]'",),
        "postgresql://audit@127.0.0.1:9/crm": ("127.0.0.1",),
        "mysql://audit@db/crm": ("mysql", "postgresql"),
        f"duckdb:///{tmp_path / 'nowhere.duckdb'}": ("nowhere.duckdb",),
    }
    for url, words in cases.items():
        res = crm_audit("run", "--engine", url, "--violations-csv", "v.csv", cwd=d, env={"CRM_AUDIT_ENGINE_PASSWORD": SECRET})
        text = res.stdout + res.stderr
        assert res.returncode == 2, (url, text)
        assert "Traceback" not in text and SECRET not in text, (url, text)
        for w in words:
            assert w in text, (url, w, text)
    assert not (d / "v.csv").exists()


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def postgres(tables):
    if not os.environ.get("CI"):  # required in CI (the test extras)
        pytest.importorskip("pgserver", reason="pgserver is not installed (pip install '.[test]')")
    from urllib.parse import parse_qs, urlsplit

    from engine_targets import Postgres

    pg = Postgres()
    pg.load_tables(tables, "fivetran_pipedrive")
    host = parse_qs(urlsplit(pg.server.get_uri()).query)["host"][0]
    try:
        yield pg, host
    finally:
        pg.close()


def test_run_on_postgres_gives_the_export_runs_findings_and_never_shows_the_password(postgres, export_run, tmp_path):
    pg, host = postgres
    d = team(tmp_path)
    url = f"postgresql+psycopg://postgres@/postgres?host={host}&schema=fivetran_pipedrive"
    res = crm_audit("run", "--engine", url, "--as-of", "2026-11-20", "--violations-csv", "v.csv", "--out", "audit.xlsx",
                    cwd=d, env={"CRM_AUDIT_ENGINE_PASSWORD": SECRET})
    assert res.returncode == 0, res.stderr
    assert csv_rows(d / "v.csv") == csv_rows(export_run / "v.csv")
    assert findings(d) == findings(export_run)
    assert SECRET not in all_output(d, res)


def test_postgres_refused_login_and_read_only_session(postgres, tmp_path):
    pg, host = postgres
    d = team(tmp_path)
    res = crm_audit("run", "--engine", f"postgresql://nobody@/postgres?host={host}&schema=fivetran_pipedrive",
                    "--violations-csv", "v.csv", cwd=d, env={"CRM_AUDIT_ENGINE_PASSWORD": SECRET})
    assert res.returncode == 2
    assert "nobody" in res.stderr and "CRM_AUDIT_ENGINE_PASSWORD" in res.stderr
    assert "Traceback" not in res.stderr and SECRET not in res.stdout + res.stderr
    from crm_audit.warehouse.connect import connect
    from crm_audit.warehouse.url import parse

    with connect(parse(f"postgresql://postgres@/postgres?host={host}")) as conn:
        with pytest.raises(Exception, match="read-only"):
            conn.target.run("CREATE TABLE fivetran_pipedrive.written_by_the_audit (i int)")


def test_a_test_postgres_left_by_a_killed_test_process_is_stopped_at_the_next_start(tmp_path):
    from engine_targets import OWNER_FILE, PG_PREFIX, stop_orphans

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    # stands in for the left postgres (SIGQUIT restored: a background job's shell leaves it ignored); it says when it
    # has restored it — a SIGQUIT sent while it still starts up would be ignored and it would sleep its 60 s out
    server = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGQUIT, signal.SIG_DFL); "
                               "print('ready', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "ready"
    orphan = tmp_path / f"{PG_PREFIX}orphan"
    (orphan / "data").mkdir(parents=True)
    (orphan / OWNER_FILE).write_text(str(dead.pid))
    (orphan / "data" / "postmaster.pid").write_text(f"{server.pid}\n/tmp/x\n")
    live = tmp_path / f"{PG_PREFIX}live"
    (live / "data").mkdir(parents=True)
    (live / OWNER_FILE).write_text(str(os.getpid()))  # another test run's: left alone
    try:
        assert stop_orphans(tmp_path) == [orphan]
        assert server.wait(timeout=60) is not None  # a loaded machine may take its time
        assert not orphan.exists() and live.exists()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stdout.close()


def test_deals_without_the_date_a_rule_compares_are_said_unjudged_and_an_unknown_status_is_warned(tables, tmp_path):
    """Three open deals whose creation and stage-change times the warehouse lacks, one deal with a status of its own."""
    import pyarrow as pa
    import pyarrow.compute as pc

    deal = tables["deal"]
    open_ids = [i for i, st in zip(deal["id"].to_pylist(), deal["status"].to_pylist()) if st == "open"][:3]
    gone = pc.is_in(deal["id"], value_set=pa.array(open_ids, deal["id"].type))
    for name in ("add_time", "stage_change_time"):
        deal = deal.set_column(deal.schema.get_field_index(name), name,
                               pc.if_else(gone, pa.scalar(None, deal[name].type), deal[name]))
    odd = pc.equal(deal["id"], pa.scalar(deal["id"][10].as_py(), deal["id"].type))
    deal = deal.set_column(deal.schema.get_field_index("status"), "status", pc.if_else(odd, pa.scalar("paused"), deal["status"]))
    db = duckdb_warehouse({**tables, "deal": deal}, tmp_path / "no-dates.duckdb")
    d = team(tmp_path)
    res = crm_audit("run", "--engine", f"duckdb:///{db}?schema=pipedrive", "--as-of", "2026-11-20", "--out", "audit.xlsx",
                    cwd=d, env={"CRM_AUDIT_LANGUAGE": "ru"})
    assert res.returncode == 0, res.stderr
    out = res.stdout + res.stderr
    assert "2.4 Нет движения по этапам: 3 сделки в области правила не проверены" in out
    assert "«d.stage_change_time / d.add_time»" in out  # the warehouse columns the date comes from
    assert "сделок с пустым или неизвестным статусом (не входят в область ни одного правила): 1" in out


def test_engine_urls_are_parsed_with_the_password_kept_out():
    from crm_audit.errors import UsageError
    from crm_audit.warehouse.url import mask, parse

    u = parse("postgresql+psycopg://audit@warehouse.internal:6432/analytics?schema=pipedrive&sslmode=require")
    assert (u.scheme, u.dialect, u.user, u.host, u.port, u.path) == ("postgresql", "postgres", "audit", "warehouse.internal", 6432, "analytics")
    assert (u.schema, u.driver_params()) == ("pipedrive", {"sslmode": "require"})
    assert parse("duckdb:////data/wh.duckdb").path == "/data/wh.duckdb"
    assert parse("duckdb:///wh.duckdb").path == "wh.duckdb"
    assert parse("bigquery://acme-analytics/pipedrive").dialect == "bigquery"
    assert parse("snowflake://audit@acme-xy12345/ANALYTICS/PIPEDRIVE?warehouse=WH").path == "ANALYTICS/PIPEDRIVE"
    assert parse("databricks://token@dbc-1.cloud.databricks.com?http_path=/sql/1.0/warehouses/abc").dialect == "databricks"  # Spark SQL
    assert parse("postgresql://audit:@db/crm").user == "audit"  # an empty password is none
    assert mask(f"postgresql://audit:{SECRET}@db:5432/crm?x=1") == "postgresql://audit:***@db:5432/crm?x=1"
    with pytest.raises(UsageError) as e:
        parse(f"postgresql://audit:{SECRET}@db/crm")
    assert SECRET not in str(e.value) and "CRM_AUDIT_ENGINE_PASSWORD" in str(e.value)


def test_a_broken_warehouse_profile_is_named_with_its_file(warehouse, tmp_path):
    d = team(tmp_path, "\nengine:\n  profile: my_warehouse.yaml\n  schema: pipedrive\n")
    text = (ROOT / "crm_audit" / "warehouses" / "fivetran_pipedrive.yaml").read_text(encoding="utf-8")
    (d / "my_warehouse.yaml").write_text(text.replace("owner: u.name", "owner: u.name ||| 1", 1), encoding="utf-8")
    res = crm_audit("validate", "--engine", f"duckdb:///{warehouse}", cwd=d)
    assert res.returncode == 2 and "my_warehouse.yaml" in res.stderr and "owner" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    (d / "my_warehouse.yaml").write_text(text.replace("title: d.title", "titel: d.title", 1), encoding="utf-8")
    res = crm_audit("run", "--engine", f"duckdb:///{warehouse}", "--violations-csv", "v.csv", cwd=d, env={"CRM_AUDIT_LANGUAGE": "en"})
    assert res.returncode == 2 and "«titel» is not a field of deals" in res.stderr and "title" in res.stderr, res.stderr
    (d / "my_warehouse.yaml").write_text(text, encoding="utf-8")
    ok = crm_audit("run", "--engine", f"duckdb:///{warehouse}", "--as-of", "2026-11-20", "--violations-csv", "v.csv", "--quiet", cwd=d)
    assert ok.returncode == 0, ok.stderr  # the team's own copy of the profile, found next to the settings
    assert len(csv_rows(d / "v.csv")) == 329


def test_rules_explain_sql_for_a_warehouse_is_the_statement_run_there(warehouse, tmp_path):
    d = team(tmp_path)
    res = crm_audit("rules", "explain", "1.8", "--sql", "--engine", f"duckdb:///{warehouse}?schema=pipedrive", cwd=d)
    assert res.returncode == 0, res.stderr
    sql = res.stdout.split("WITH ", 1)[1]
    assert sql.startswith("src_deals AS (") and "FROM pipedrive.deal AS d" in sql and "LEFT JOIN pipedrive.users AS u" in sql
    assert "audit_deals AS (" in sql and "CREATE" not in sql.upper().replace("CREATED", "")


def test_validate_checks_the_settings_engine_block_without_connecting(tmp_path):
    d = team(tmp_path, f"\nengine:\n  url: postgresql://audit:{SECRET}@db.internal/crm\n  profile: fivetran_pipedrve\n")
    res = crm_audit("validate", cwd=d, env={"CRM_AUDIT_LANGUAGE": "en"})
    assert res.returncode == 2
    lines = res.stderr.splitlines()
    assert any(x.startswith("crm-audit.yaml:") and "engine: url:" in x and "CRM_AUDIT_ENGINE_PASSWORD" in x for x in lines), lines
    assert any("engine: profile:" in x and "«fivetran_pipedrve»" in x and "fivetran_pipedrive" in x for x in lines), lines
    assert SECRET not in res.stdout + res.stderr


def _mark_fixed(book: Path, sheet_prefix: str) -> str:
    """A manager marks the first row of a rule sheet «Исправлено» (as Excel would leave it); its deal id."""
    import openpyxl

    wb = openpyxl.load_workbook(book)
    ws = next(s for s in wb.worksheets if s.title.startswith(sheet_prefix))
    head = [c.value for c in ws[1]]
    ws.cell(row=2, column=head.index("Статус") + 1, value="Исправлено")
    deal = str(ws.cell(row=2, column=head.index("ID сделки") + 1).value)
    wb.save(book)
    return deal


def _status_of(book: Path, sheet_prefix: str, deal: str) -> tuple[str, str]:
    import openpyxl

    ws = next(s for s in openpyxl.load_workbook(book, read_only=True).worksheets if s.title.startswith(sheet_prefix))
    rows = list(ws.iter_rows(values_only=True))
    head = list(rows[0])
    row = next(r for r in rows[1:] if str(r[head.index("ID сделки")]) == deal)
    return row[head.index("Статус")], row[head.index("Примечание")] or ""


def test_a_fix_marked_before_the_connector_synced_is_kept_until_the_data_changes(tables, tmp_path):
    """An export re-run on the same files keeps a manager's «Исправлено» (nothing to re-check yet); a warehouse run
    does the same while the connector has not synced (the same data read), and re-checks once the data changed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    db = duckdb_warehouse(tables, tmp_path / "wh.duckdb")
    (tmp_path / "team").mkdir()
    d = team(tmp_path / "team")
    url = f"duckdb:///{db}?schema=pipedrive"
    assert crm_audit("run", "--engine", url, "--as-of", "2026-11-20", "--out", "a1.xlsx", "--quiet", cwd=d).returncode == 0
    deal = _mark_fixed(d / "a1.xlsx", "1.1 ")
    res = crm_audit("run", "--engine", url, "--as-of", "2026-11-21", "--out", "a2.xlsx", cwd=d)
    assert res.returncode == 0, res.stderr
    assert _status_of(d / "a2.xlsx", "1.1 ", deal) == ("Исправлено", "")  # not synced yet: nothing to re-check
    # the connector syncs: another deal's title changed, this one is still without a task
    deal_t = tables["deal"]
    other = deal_t["id"][5]
    changed = deal_t.set_column(deal_t.schema.get_field_index("title"), "title",
                                pc.if_else(pc.equal(deal_t["id"], other), pa.scalar("Новое название"), deal_t["title"]))
    db2 = duckdb_warehouse({**tables, "deal": changed}, tmp_path / "wh2.duckdb")
    res = crm_audit("run", "--engine", f"duckdb:///{db2}?schema=pipedrive", "--as-of", "2026-11-22", "--out", "a3.xlsx",
                    cwd=d)
    assert res.returncode == 0, res.stderr
    status, note = _status_of(d / "a3.xlsx", "1.1 ", deal)
    assert status == "Не обработано" and "но нарушение осталось" in note
