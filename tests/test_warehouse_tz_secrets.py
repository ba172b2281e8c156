"""Warehouse runs: time zones, secrets and patterns (issue 15, acceptance defects D3, D4, D8, D10b, D10e).

* D3 — a connector stores times as instants; the CRM (and its export) shows the date in the account's time zone.
  The demo export is rewritten so that every deal was created and moved at 02:30 Moscow time (23:30 UTC the day
  before) and laid out as Fivetran's Pipedrive tables holding those instants (TIMESTAMPTZ, and TIMESTAMP holding
  UTC's wall clock). With ``engine: timezone: Europe/Moscow`` a run on DuckDB and on PostgreSQL gives exactly the
  export's findings whatever the session's zone (``TZ`` / ``PGTZ`` = Moscow or Los Angeles); without it (UTC) the
  dates are the day before and the findings differ (the test would see a conversion that did nothing).
* D4 / D10e — a password anywhere in the engine URL (``?password=``, ``?pwd=``, a libpq DSN's ``password=``) is
  refused, masked, in every command; the workbook, the ledger and the findings hold no user, host or password:
  the FAQ says ``profile · schema · database``.
* D8 — a ``matches:`` pattern DuckDB (RE2) cannot run (a look-ahead) is refused by ``validate`` (no --engine, and
  --engine duckdb) at the rule's file:line, in the CLI's language, and ``run`` stops with the same message (exit 2).
* D10b — a database the server does not have is said so, not «server unreachable».
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from warehouse.build import DEMO_EXPORT, DEMO_SETTINGS, build, write_duckdb, write_postgres

SECRET = "S3cr3t-Pa55w0rd"
ACCOUNT = "Europe/Moscow"
CLOCK = "02:30:00"  # Moscow (UTC+3): 23:30 UTC the day before


def crm_audit(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    exe = shutil.which("crm-audit", path=str(Path(sys.executable).parent)) or "crm-audit"
    return subprocess.run([exe, *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "NO_COLOR": "1", "CRM_AUDIT_LANGUAGE": "ru", **(env or {})})


def in_process(*args, cwd: Path) -> subprocess.CompletedProcess:
    """:func:`crm_audit` through crm_audit.cli.main in this process (the same exit code and texts, without a new Python
    importing the engine): for the refusals that never reach a warehouse."""
    import contextlib
    import io

    from crm_audit.cli import main

    out, err = io.StringIO(), io.StringIO()
    env = {"NO_COLOR": "1", "CRM_AUDIT_LANGUAGE": "ru"}
    saved, here = {k: os.environ.get(k) for k in env}, Path.cwd()
    os.environ.update(env)
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in args])
    finally:
        os.chdir(here)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return subprocess.CompletedProcess(["crm-audit", *args], code, out.getvalue(), err.getvalue())


def csv_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def team(folder: Path, block: str = f"\nengine:\n  timezone: {ACCOUNT}\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "crm-audit.yaml").write_text(DEMO_SETTINGS.read_text(encoding="utf-8") + block, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """The demo export, every deal created and moved at 02:30 in the account's (Moscow) clock."""
    d = tmp_path_factory.mktemp("export") / "pipedrive"
    shutil.copytree(DEMO_EXPORT, d)
    with (DEMO_EXPORT / "deals.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    cols = [head.index("Deal - Deal created"), head.index("Deal - Last stage change")]
    for r in rows[1:]:
        for c in cols:
            if r[c].strip():
                r[c] = r[c].split(" ")[0] + " " + CLOCK
    with (d / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    return d


@pytest.fixture(scope="module")
def export_run(export, tmp_path_factory) -> Path:
    d = team(tmp_path_factory.mktemp("export-run"))
    res = crm_audit("run", "--export", str(export), "--as-of", "2026-11-20", "--violations-csv", "v.csv", "--quiet", cwd=d)
    assert res.returncode == 0, res.stderr
    return d


@pytest.fixture(scope="module")
def warehouses(export, tmp_path_factory) -> dict[str, object]:
    """The same data as Fivetran's tables: instants (TIMESTAMPTZ) and UTC's wall clock (TIMESTAMP)."""
    return {t: build("fivetran_pipedrive", export, team(tmp_path_factory.mktemp("s")) / "crm-audit.yaml", zone=ACCOUNT,
                     time_type=t) for t in ("TIMESTAMPTZ", "TIMESTAMP")}


@pytest.fixture(scope="module")
def duckdb_files(warehouses, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("wh")
    return {t: write_duckdb(wh, d / f"{t.lower()}.duckdb") for t, wh in warehouses.items()}


@pytest.fixture(scope="module")
def postgres(warehouses):
    if not os.environ.get("CI"):
        pytest.importorskip("pgserver", reason="pgserver is not installed (pip install '.[test]')")
    from urllib.parse import parse_qs, urlsplit

    from engine_targets import Postgres

    pg = Postgres()
    for t, wh in warehouses.items():
        write_postgres(wh, pg.conn, {"pipedrive": f"tz_{t.lower()}"})
    try:
        yield pg, parse_qs(urlsplit(pg.server.get_uri()).query)["host"][0]
    finally:
        pg.close()


def url_of(engine: str, time_type: str, duckdb_files, postgres=None) -> str:
    if engine == "duckdb":
        return f"duckdb:///{duckdb_files[time_type]}?profile=fivetran_pipedrive&schema=pipedrive"
    _pg, host = postgres
    return f"postgresql://postgres@/postgres?host={host}&profile=fivetran_pipedrive&schema=tz_{time_type.lower()}"


# --------------------------------------------------------------------------- D3: the account's time zone


def test_the_rewritten_export_is_at_the_day_boundary(export):
    with (export / "deals.csv").open(encoding="utf-8") as f:
        created = [r["Deal - Deal created"] for r in csv.DictReader(f)]
    assert created and all(c.endswith(" 02:30:00") for c in created if c)


def _zone_case(engine: str, session: str, time_type: str):
    """PostgreSQL with Los Angeles runs by default; the other cases are `slow` (opt-in)."""
    default = (engine, session, time_type) == ("postgres", "America/Los_Angeles", "TIMESTAMPTZ")
    return pytest.param(engine, session, time_type, marks=() if default else pytest.mark.slow)


@pytest.mark.parametrize("engine, session, time_type", [
    _zone_case(e, s, "TIMESTAMPTZ") for e in ("duckdb", "postgres") for s in ("Europe/Moscow", "America/Los_Angeles")] + [
    _zone_case(e, "America/Los_Angeles", "TIMESTAMP") for e in ("duckdb", "postgres")])
def test_timestamps_are_dates_in_the_accounts_zone_whatever_the_sessions(engine, session, time_type, export_run,
                                                                          duckdb_files, request, tmp_path):
    pg = request.getfixturevalue("postgres") if engine == "postgres" else None
    d = team(tmp_path)
    res = crm_audit("run", "--engine", url_of(engine, time_type, duckdb_files, pg), "--as-of", "2026-11-20",
                    "--violations-csv", "v.csv", "--quiet", cwd=d, env={"TZ": session, "PGTZ": session})
    assert res.returncode == 0, res.stderr
    got, want = csv_rows(d / "v.csv"), csv_rows(export_run / "v.csv")
    assert len(want) > 300
    assert got == want  # every row, value for value: the same findings, evidence and order


def test_without_the_accounts_zone_the_dates_are_utcs(export_run, duckdb_files, tmp_path):
    """The default zone is UTC: the same instants are the day before, and the stage rules see other deals (the
    conversion above is what makes the findings equal)."""
    d = team(tmp_path, "")
    res = crm_audit("run", "--engine", url_of("duckdb", "TIMESTAMPTZ", duckdb_files), "--as-of", "2026-11-20",
                    "--violations-csv", "v.csv", "--quiet", cwd=d, env={"TZ": "Europe/Moscow"})
    assert res.returncode == 0, res.stderr
    key = lambda rows: {(r["rule_id"], r["deal_id"]) for r in rows}  # noqa: E731
    got, want = key(csv_rows(d / "v.csv")), key(csv_rows(export_run / "v.csv"))
    assert got != want
    assert {r for r, _ in got ^ want} <= {"stuck-in-accepted", "no-stage-movement"}


def test_a_date_column_stays_a_date_and_the_conversion_is_per_dialect():
    from sqlglot import exp

    from crm_audit.engine import dialects
    from crm_audit.engine.dialects.timestamps import kind, local_date, type_name

    x = exp.column("add_time", table="d")
    render = lambda d, aware: dialects.get(d).render(local_date(d, x.copy(), "Europe/Moscow", aware))  # noqa: E731
    assert render("duckdb", True) == "CAST(TIMEZONE('Europe/Moscow', d.add_time) AS DATE)"
    assert render("duckdb", False) == "CAST(TIMEZONE('Europe/Moscow', TIMEZONE('UTC', d.add_time)) AS DATE)"
    assert render("postgres", True) == "CAST(((d.add_time) AT TIME ZONE 'Europe/Moscow') AS DATE)"
    assert render("postgres", False) == "CAST((((d.add_time) AT TIME ZONE 'UTC') AT TIME ZONE 'Europe/Moscow') AS DATE)"
    assert render("snowflake", True) == "CAST(CONVERT_TIMEZONE('Europe/Moscow', d.add_time) AS DATE)"
    assert render("snowflake", False) == "CAST(CONVERT_TIMEZONE('UTC', 'Europe/Moscow', d.add_time) AS DATE)"
    assert render("bigquery", True) == "DATE(d.add_time, 'Europe/Moscow')"
    assert render("bigquery", False) == "DATE(TIMESTAMP(d.add_time), 'Europe/Moscow')"
    assert render("spark", False) == "TO_DATE(FROM_UTC_TIMESTAMP(d.add_time, 'Europe/Moscow'))"
    assert render("clickhouse", True) == "toDate(d.add_time, 'Europe/Moscow')"
    # what each driver calls its types
    assert [kind("postgres", type_name("postgres", oid)) for oid in (1082, 1114, 1184, 25)] == ["date", "naive", "aware", "other"]
    assert kind("duckdb", "TIMESTAMP WITH TIME ZONE") == "aware" and kind("duckdb", "TIMESTAMP") == "naive"
    assert kind("duckdb", "DATE") == "date" and kind("duckdb", "VARCHAR") == "other"
    assert [kind("snowflake", type_name("snowflake", c)) for c in (3, 6, 7, 8)] == ["date", "aware", "aware", "naive"]
    assert kind("bigquery", "TIMESTAMP") == "aware" and kind("bigquery", "DATETIME") == "naive"
    assert kind("clickhouse", "Nullable(DateTime64(3, 'UTC'))") == "aware" and kind("spark", "timestamp_ntz") == "naive"


def test_a_wrong_time_zone_is_a_settings_error_at_its_line(tmp_path):
    d = team(tmp_path, "\nengine:\n  timezone: Europe/Moskva\n")
    res = crm_audit("validate", cwd=d)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "Europe/Moskva" in res.stderr and "Europe/Moscow" in res.stderr and "crm-audit.yaml:" in res.stderr


# --------------------------------------------------------------------------- D4 / D10e: no secret anywhere


SECRET_URLS = [
    f"postgresql://analyst@/postgres?host=/var/run/postgresql&password={SECRET}",
    f"postgresql://analyst@db.internal/crm?sslmode=require&PWD={SECRET}",
    f"postgresql://analyst@db.internal/crm?sslpassword={SECRET}",
    f"host=/var/run/postgresql user=analyst password={SECRET} dbname=crm",
    f"host=db user=analyst password='{SECRET}'",
]


@pytest.mark.parametrize("url", SECRET_URLS)
def test_a_password_anywhere_in_the_url_is_refused_masked_in_every_command(url, tmp_path):
    d = team(tmp_path)
    cli = crm_audit if url == SECRET_URLS[0] else in_process  # the installed script once; the other URLs in process
    for args in (["run", "--engine", url, "--violations-csv", "v.csv"], ["inspect", "--engine", url],
                 ["validate", "--engine", url]):
        res = cli(*args, cwd=d)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert SECRET not in res.stdout + res.stderr
        assert "***" in res.stderr and "CRM_AUDIT_ENGINE_PASSWORD" in res.stderr and "Traceback" not in res.stderr
    assert sorted(p.name for p in d.iterdir()) == ["crm-audit.yaml"]  # nothing written


def test_a_password_in_the_settings_engine_url_is_refused_masked(tmp_path):
    d = team(tmp_path, f"\nengine:\n  url: postgresql://analyst@db/crm?password={SECRET}\n")
    for args in (["validate"], ["run", "--violations-csv", "v.csv"]):
        res = crm_audit(*args, cwd=d)
        assert res.returncode == 2 and SECRET not in res.stdout + res.stderr and "***" in res.stderr


def test_masking_and_the_documents_label():
    from crm_audit.warehouse.url import mask, parse, secret_pairs

    assert mask(f"host=/x user=a password={SECRET} dbname=crm") == "host=/x user=a password=*** dbname=crm"
    assert mask(f"postgresql://a:{SECRET}@h/db?pwd={SECRET}&schema=s") == "postgresql://a:***@h/db?pwd=***&schema=s"
    assert secret_pairs("postgresql://a@h/db?password=") == []  # an empty one is none
    assert secret_pairs("databricks://token@h?http_path=/sql/1.0/x") == []  # «token» as the user is no secret
    assert parse("duckdb:////srv/data/warehouse.duckdb").database == "warehouse.duckdb"
    assert parse("snowflake://audit@acme/ANALYTICS/PIPEDRIVE").database == "ANALYTICS"


def all_files(folder: Path) -> str:
    """Every file a run left, as text: the workbook's XML unzipped, the ledger, the findings parquet."""
    out = []
    for p in folder.rglob("*"):
        if p.is_file() and p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                out += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
        elif p.is_file():
            out.append(p.read_bytes().decode("utf-8", "replace"))
    return "\n".join(out)


def test_the_workbook_ledger_and_findings_hold_no_user_host_or_password(postgres, duckdb_files, tmp_path):
    _pg, host = postgres
    d = team(tmp_path / "pg")
    url = f"postgresql://postgres@/postgres?host={host}&profile=fivetran_pipedrive&schema=tz_timestamptz"
    res = crm_audit("run", "--engine", url, "--as-of", "2026-11-20", "--out", "audit.xlsx", "--violations-csv", "v.csv",
                    cwd=d, env={"CRM_AUDIT_ENGINE_PASSWORD": SECRET})
    assert res.returncode == 0, res.stderr
    assert SECRET not in res.stdout + res.stderr
    text = all_files(d)
    assert "fivetran_pipedrive · tz_timestamptz · postgres" in text  # the FAQ «Выгрузка»
    for secret in (SECRET, host, "postgres@", "postgresql://"):
        assert secret not in text, secret
    d = team(tmp_path / "duck")
    res = crm_audit("run", "--engine", url_of("duckdb", "TIMESTAMPTZ", duckdb_files), "--as-of", "2026-11-20",
                    "--out", "audit.xlsx", cwd=d)
    assert res.returncode == 0, res.stderr
    text = all_files(d)
    assert "fivetran_pipedrive · pipedrive · timestamptz.duckdb" in text
    assert str(duckdb_files["TIMESTAMPTZ"].parent) not in text and "duckdb://" not in text


def test_a_missing_database_is_said_so(postgres, tmp_path):
    _pg, host = postgres
    d = team(tmp_path)
    res = crm_audit("run", "--engine", f"postgresql://postgres@/nodb?host={host}", "--violations-csv", "v.csv", cwd=d)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "нет базы данных «nodb»" in res.stderr and "недоступен" not in res.stderr


# --------------------------------------------------------------------------- D8: patterns the engine cannot run


LOOKAHEAD = """rules:
  - id: title-lookahead
    code: "3.1"
    title: Проверка заглавных
    criticality: 2
    scope: {status: [open]}
    when: {field: deal.title, matches: '^(?=.*Альфа)'}
    faq: {what: т, why: т, how: т}
"""


@pytest.fixture
def lookahead(tmp_path) -> Path:
    d = team(tmp_path, "\nrules: {bundled: true, files: [our_rules.yaml]}\n")
    (d / "our_rules.yaml").write_text(LOOKAHEAD, encoding="utf-8")
    return d


def test_validate_and_run_refuse_a_look_ahead_duckdb_cannot_run(lookahead, export, duckdb_files):
    d = lookahead
    where = f"{d / 'our_rules.yaml'}:7:"
    for args in (["validate"], ["validate", "--engine", "duckdb"],
                 ["run", "--export", str(export), "--as-of", "2026-11-20", "--dry-run"],
                 ["run", "--engine", url_of("duckdb", "TIMESTAMPTZ", duckdb_files), "--as-of", "2026-11-20", "--dry-run"]):
        res = crm_audit(*args, cwd=d)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert where in res.stderr and "title-lookahead" in res.stderr, res.stderr
        assert "правило title-lookahead" in res.stderr and "(?=" in res.stderr and "duckdb" in res.stderr
        assert "Traceback" not in res.stderr and "непредвиденн" not in res.stderr
    en = crm_audit("validate", cwd=d, env={"CRM_AUDIT_LANGUAGE": "en"})
    assert en.returncode == 2 and "rule title-lookahead" in en.stderr and "look-around" in en.stderr
    sql = crm_audit("rules", "explain", "3.1", "--sql", "--engine", "postgres", cwd=d)
    assert sql.returncode == 2 and "title-lookahead: (?=…: флаги, просмотр вперёд или назад" in sql.stderr


def test_validate_checks_the_engine_the_settings_name(lookahead):
    d = lookahead
    cfg = d / "crm-audit.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "engine:\n  url: postgresql://audit@db.internal/crm\n", encoding="utf-8")
    res = crm_audit("validate", cwd=d)
    assert res.returncode == 2 and "title-lookahead" in res.stderr and "postgres" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_pattern_duckdb_can_run_passes(tmp_path):
    d = team(tmp_path, "\nrules: {bundled: true, files: [our_rules.yaml]}\n")
    (d / "our_rules.yaml").write_text(LOOKAHEAD.replace("'^(?=.*Альфа)'", "'(?P<w>Альфа)'"), encoding="utf-8")
    res = crm_audit("validate", cwd=d)
    assert res.returncode == 0, res.stderr
