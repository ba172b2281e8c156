"""`crm-audit init --engine` proposes the CRM account's time zone and says so (issue 15): never a silent ``timezone: UTC``.

The warehouse cannot say the account's zone; init writes the likeliest — the warehouse session's zone when the engine
names one other than UTC, else this computer's, else UTC — with a comment asking to check it, and says the same in
the terminal (Russian / English through the i18n layer). The written file validates and runs as is.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
import yaml

from cli_helpers import cli_in_process
from crm_audit.warehouse.zone import ZoneProposal, is_utc, machine_zone, propose
from warehouse.build import build, write_duckdb


def crm_audit(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    """The command as its own process would run it, in this one (tests/cli_helpers.py: a process costs the imports)."""
    return cli_in_process(*args, cwd=cwd, env={"CRM_AUDIT_LANGUAGE": "en", **(env or {})})


@pytest.fixture(scope="module")
def duckdb_file(tmp_path_factory) -> Path:
    return write_duckdb(build("fivetran_pipedrive"), tmp_path_factory.mktemp("wh") / "w.duckdb")


def engine_block(folder: Path) -> tuple[dict, str]:
    text = (folder / "crm-audit.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["engine"], text.split("\nengine:", 1)[1]


# --------------------------------------------------------------------------- what is proposed


def test_the_machines_zone_from_tz_the_zone_file_or_the_offset(tmp_path):
    nowhere = tmp_path / "none"
    assert machine_zone({"TZ": "Asia/Yekaterinburg"}, nowhere, nowhere) == "Asia/Yekaterinburg"
    assert machine_zone({"TZ": ":Europe/Moscow"}, nowhere, nowhere) == "Europe/Moscow"  # glibc's «:» prefix
    # /etc/localtime links into a zoneinfo folder (Debian, macOS: /var/db/timezone/zoneinfo/…)
    zi = tmp_path / "usr" / "share" / "zoneinfo" / "America"
    zi.mkdir(parents=True)
    (zi / "Sao_Paulo").write_bytes(b"TZif")
    link = tmp_path / "localtime"
    link.symlink_to(zi / "Sao_Paulo")
    assert machine_zone({"TZ": "Not/AZone"}, link, nowhere) == "America/Sao_Paulo"  # a bad TZ is passed over
    (tmp_path / "timezone").write_text("Asia/Novosibirsk\n", encoding="utf-8")
    assert machine_zone({}, nowhere, tmp_path / "timezone") == "Asia/Novosibirsk"  # Debian's /etc/timezone
    # nothing names the zone: the UTC offset, when it is whole hours, as POSIX writes it (Etc/GMT-3 is UTC+3)
    assert machine_zone({}, nowhere, nowhere, offset=dt.timedelta(hours=3)) == "Etc/GMT-3"
    assert machine_zone({}, nowhere, nowhere, offset=dt.timedelta(hours=-5)) == "Etc/GMT+5"
    assert machine_zone({}, nowhere, nowhere, offset=dt.timedelta(0)) == "UTC"
    assert machine_zone({}, nowhere, nowhere, offset=dt.timedelta(hours=5, minutes=30)) is None  # no Etc/ name for it
    assert [z for z in ("UTC", "Etc/UTC", "etc/gmt", "Zulu", "Etc/GMT-3", "Europe/London") if is_utc(z)] == ["UTC", "Etc/UTC", "etc/gmt", "Zulu"]


class Answering:
    """An engine session answering the zone query with ``zone`` (or failing)."""

    def __init__(self, dialect: str, zone):
        self.dialect, self.zone, self.sent = dialect, zone, []

    def run(self, sql):
        import pyarrow as pa

        self.sent.append(sql)
        if isinstance(self.zone, Exception):
            raise self.zone
        return pa.table({"tz": [self.zone]})


@pytest.mark.parametrize("dialect, sql", [("postgres", "current_setting('TimeZone')"), ("clickhouse", "timezone()"),
                                          ("spark", "current_timezone()"), ("duckdb", "current_setting('TimeZone')")])
def test_the_session_zone_first_unless_it_is_utc(dialect, sql, tmp_path):
    machine = {"TZ": "Asia/Vladivostok"}
    target = Answering(dialect, "Europe/Moscow")
    assert propose(target, machine) == ZoneProposal("Europe/Moscow", "session")
    assert sql in target.sent[0]
    # a server left at its default (UTC, Etc/UTC, GMT) says nothing of the account: this computer's zone
    for default in ("UTC", "Etc/UTC", "GMT"):
        assert propose(Answering(dialect, default), machine) == ZoneProposal("Asia/Vladivostok", "machine")
    # not an IANA name (a POSIX rule, an offset), or the query fails: this computer's zone
    assert propose(Answering(dialect, "<+03>-3"), machine) == ZoneProposal("Asia/Vladivostok", "machine")
    assert propose(Answering(dialect, RuntimeError("no such function")), machine) == ZoneProposal("Asia/Vladivostok", "machine")


def test_bigquery_has_no_session_zone_and_utc_everywhere_is_said_as_such(tmp_path):
    target = Answering("bigquery", "Europe/Moscow")
    assert propose(target, {"TZ": "Europe/Berlin"}) == ZoneProposal("Europe/Berlin", "machine") and not target.sent
    assert propose(Answering("postgres", "UTC"), {"TZ": "UTC"}) == ZoneProposal("UTC", "default")


# --------------------------------------------------------------------------- init, as a user runs it


def test_init_writes_the_proposed_zone_with_a_comment_and_says_it(duckdb_file, tmp_path):
    """DuckDB's session zone is this computer's (TZ): written, the comment asks to check it, the terminal says it."""
    res = crm_audit("init", str(tmp_path / "en"), "--engine", f"duckdb:///{duckdb_file}", env={"TZ": "Asia/Yekaterinburg"})
    assert res.returncode == 0, res.stdout + res.stderr
    engine, text = engine_block(tmp_path / "en")
    assert engine["timezone"] == "Asia/Yekaterinburg"
    assert "# ПРОВЕРЬТЕ: пояс Asia/Yekaterinburg предложен по часовому поясу сессии хранилища, не по настройкам CRM." in text
    assert ("Time zone Asia/Yekaterinburg: the warehouse session's, not read from the CRM. Check that it is the CRM "
            f"account's zone (engine: timezone: in {tmp_path / 'en' / 'crm-audit.yaml'})") in res.stdout
    ru = crm_audit("init", str(tmp_path / "ru"), "--engine", f"duckdb:///{duckdb_file}",
                   env={"TZ": "Asia/Yekaterinburg", "CRM_AUDIT_LANGUAGE": "ru"})
    assert ru.returncode == 0, ru.stdout + ru.stderr
    assert "Часовой пояс Asia/Yekaterinburg взят из сессии хранилища, а не из CRM." in ru.stdout
    ok = crm_audit("validate", cwd=tmp_path / "en")
    assert ok.returncode == 0, ok.stdout + ok.stderr


@pytest.mark.slow  # the default's wording; what is proposed is covered above without a subprocess
def test_init_in_utc_everywhere_writes_utc_and_asks_for_the_accounts_zone(duckdb_file, tmp_path):
    res = crm_audit("init", str(tmp_path / "t"), "--engine", f"duckdb:///{duckdb_file}", env={"TZ": "UTC",
                                                                                              "CRM_AUDIT_LANGUAGE": "ru"})
    assert res.returncode == 0, res.stdout + res.stderr
    engine, text = engine_block(tmp_path / "t")
    assert engine["timezone"] == "UTC"
    assert "# ПРОВЕРЬТЕ: ни хранилище, ни этот компьютер не назвали пояс, кроме UTC; записан UTC." in text
    assert "Часовой пояс UTC: ни хранилище, ни этот компьютер не назвали другой." in res.stdout


@pytest.mark.slow  # PostgreSQL's session query is covered above (Answering); this starts a server
def test_init_on_postgres_proposes_the_sessions_zone(postgres, tmp_path):
    """PostgreSQL's session zone (PGTZ here; a role's or the server's setting elsewhere) is proposed over this computer's."""
    from warehouse.build import write_postgres

    pg, host = postgres
    write_postgres(build("fivetran_pipedrive"), pg.conn, {"pipedrive": "zone_pd"})
    res = crm_audit("init", str(tmp_path / "t"), "--engine", f"postgresql://postgres@/postgres?host={host}&schema=zone_pd",
                    env={"PGTZ": "America/Sao_Paulo", "TZ": "Asia/Vladivostok"})
    assert res.returncode == 0, res.stdout + res.stderr
    assert engine_block(tmp_path / "t")[0]["timezone"] == "America/Sao_Paulo"
    assert "Time zone America/Sao_Paulo: the warehouse session's" in res.stdout


def test_a_local_engines_folder_is_kept_absolute_in_the_settings(tmp_path, monkeypatch):
    """`init --engine chdb:///rel/folder` writes the folder's absolute path (the settings run from any folder)."""
    from crm_audit.warehouse.draft import settings_url
    from crm_audit.warehouse.url import parse

    monkeypatch.chdir(tmp_path)
    for scheme in ("duckdb", "chdb", "spark-local"):
        url = settings_url(parse(f"{scheme}:///rel/data?profile=fivetran_pipedrive&schema=pipedrive"))
        assert str(url) == f"{scheme}:///{tmp_path / 'rel' / 'data'}"
