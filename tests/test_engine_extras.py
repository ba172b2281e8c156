"""Every `--engine` scheme names a pip extra of crm-audit that installs its driver (issue 15): the «driver is not
installed» error says `pip install 'crm-audit[<extra>]'`, and pyproject.toml has that extra with the package whose
module crm_audit.warehouse.connect imports."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from crm_audit.errors import InputError
from crm_audit.warehouse import connect
from crm_audit.warehouse.url import ENGINES, parse

PYPROJECT = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
#: the module connect.py imports for a scheme -> the distribution that provides it
DISTRIBUTION = {"psycopg": "psycopg", "snowflake.connector": "snowflake-connector-python",
                "google.cloud.bigquery": "google-cloud-bigquery", "databricks.sql": "databricks-sql-connector",
                "clickhouse_connect": "clickhouse-connect", "chdb": "chdb", "pyspark.sql": "pyspark", "duckdb": "duckdb"}


def _names(reqs: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower() for r in reqs}


@pytest.mark.parametrize("scheme", sorted(ENGINES))
def test_each_engine_has_an_extra_with_its_driver(scheme):
    extra = ENGINES[scheme][2]
    dist = DISTRIBUTION[connect.MODULES[scheme]]
    if extra is None:  # DuckDB: a dependency of crm-audit itself
        assert dist in _names(PYPROJECT["project"]["dependencies"])
        return
    assert dist in _names(EXTRAS[extra])
    assert parse(f"{scheme}://u@h/db").package == f"crm-audit[{extra}]"


def test_the_test_extra_still_has_what_ci_needs():
    assert {"pytest", "pgserver", "psycopg"} <= _names(EXTRAS["test"])
    assert EXTRAS["postgres"] == ["psycopg[binary]>=3.1"]


def test_a_missing_driver_names_the_extra(monkeypatch):
    real = connect.importlib.import_module

    def refuse(name, *a, **kw):
        if name == "snowflake.connector":
            raise ImportError(name)
        return real(name, *a, **kw)

    monkeypatch.setattr(connect.importlib, "import_module", refuse)
    with pytest.raises(InputError) as err:
        connect.driver_module(parse("snowflake://audit@acme/DB/SCHEMA"))
    (problem,) = err.value.problems
    assert problem.reason == "engine-driver"
    assert "pip install 'crm-audit[snowflake]'" in problem.message


@pytest.mark.parametrize("args", [["validate", "--engine", "oracle"], ["rules", "explain", "1.1", "--sql", "--engine", "oracle"]])
def test_an_unknown_engine_name_is_a_usage_error_in_the_readers_language(args, capsys, monkeypatch):
    from crm_audit.cli import main

    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "ru")  # (the suite runs in English)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "«oracle»" in err and "неизвестная СУБД" in err  # the message catalogue's, not the library's English
    assert "databricks" in err and "postgresql://" in err and "Traceback" not in err
