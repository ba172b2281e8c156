"""Start-up of the `crm-audit` command (issue 17: the whole command's time is the tracked figure): what `--help`,
`validate` and a `run` that writes only the violations CSV import, pinned without timing anything — each in a fresh
interpreter, so a module-level import added later (pandas in a module `validate` reads, sqlglot in a package it
passes through) fails here instead of quietly adding a few hundred milliseconds to every command.

Measured on the 2-core machine (best of 5, 2026-12-07): `validate` on the demo settings took ~1.0 s (1.3 s of CPU),
of which ~0.6 s importing pandas for a settings check that does not use it, ~0.1 s sqlglot and ~0.2 s a new DuckDB
connection per pattern checked; now ~0.35 s (0.45 s of CPU)."""

from __future__ import annotations

import ast
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crm_audit.resources import demo_dir

#: never needed to parse the command line, print help or check settings and rules
HEAVY = ("pandas", "numpy", "pyarrow", "openpyxl", "gspread", "google.auth", "jinja2", "httpx", "sqlglot", "cryptography",
         "python_calamine", "crm_audit.notify", "crm_audit.warehouse.audit", "crm_audit.report")
#: what only a workbook, a Google Sheet or a digest needs: a run writing the violations CSV alone imports none of it
NOT_FOR_CSV = ("openpyxl", "gspread", "google.auth", "jinja2", "httpx", "cryptography", "crm_audit.notify",
               "exporters.xlsx", "exporters.gsheet")

PROBE = """
import json, sys
from crm_audit.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(m for m in sys.modules if not m.startswith("_"))}))
"""


def _cli(args: list[str], cwd: Path) -> tuple[int, set[str], str]:
    """``crm-audit ARGS`` in a fresh interpreter: its exit code, the modules it imported, what it printed before."""
    p = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=cwd, timeout=300)
    *printed, last = p.stdout.rstrip("\n").split("\n")
    seen = json.loads(last)
    assert seen["code"] == p.returncode == 0, p.stderr
    return seen["code"], set(seen["modules"]), "\n".join(printed) + p.stderr


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in modules]


@pytest.fixture
def settings_dir(tmp_path) -> Path:
    shutil.copy(demo_dir() / "crm-audit.yaml", tmp_path / "crm-audit.yaml")
    return tmp_path


def test_help_imports_nothing_heavy(tmp_path):
    code, modules, out = _cli(["--help"], tmp_path)
    assert "Audit a CRM export against the company's CRM handbook rules." in out
    assert "validate" in out and "run" in out
    # help needs no settings model, no YAML, no DuckDB either
    assert _loaded(modules, HEAVY + ("duckdb", "pydantic", "yaml", "babel")) == []


def test_run_help_imports_nothing_heavy(tmp_path):
    code, modules, out = _cli(["run", "--help"], tmp_path)
    assert "--violations-csv" in out
    assert _loaded(modules, HEAVY + ("duckdb", "pydantic", "yaml")) == []


def test_validate_imports_no_pandas_nor_sqlglot(settings_dir):
    code, modules, out = _cli(["validate"], settings_dir)
    assert out.strip() == "OK: crm-audit.yaml and 17 rules are valid."
    assert _loaded(modules, HEAVY) == []
    # what validate does need: the settings model, the rule files, DuckDB's RE2 for the `matches:` patterns
    assert {"pydantic", "yaml", "duckdb", "crm_audit.engine.dialects.check"} <= modules


OUR_RULES = """rules:
  - id: title-lookahead
    code: "3.1"
    title: Проверка заглавных
    criticality: 2
    scope: {status: [open]}
    when: {field: deal.title, matches: '^(?=.*Альфа)'}
    faq: {what: т, why: т, how: т}
  - id: title-backref
    code: "3.2"
    title: Повтор слова
    criticality: 2
    scope: {status: [open]}
    when: {field: deal.title, matches: '(\\w+) \\1'}
    faq: {what: т, why: т, how: т}
  - id: title-digits
    code: "3.3"
    title: Цифры в названии
    criticality: 2
    scope: {status: [open]}
    when: {field: deal.title, matches: '^[0-9]+$'}
    faq: {what: т, why: т, how: т}
"""


def test_validate_still_finds_every_pattern_duckdb_cannot_run(settings_dir):
    """The patterns are checked on one DuckDB connection now (a new one per pattern took ~15 ms each): a pattern
    RE2 refuses is still reported at its line, and the patterns after it are still checked on the same connection."""
    cfg = settings_dir / "crm-audit.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\nrules: {bundled: true, files: [our_rules.yaml]}\n", encoding="utf-8")
    (settings_dir / "our_rules.yaml").write_text(OUR_RULES, encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "crm_audit", "validate"], capture_output=True, text=True, cwd=settings_dir,
                       timeout=300)
    assert p.returncode == 2, p.stdout + p.stderr
    lines = p.stderr.strip().split("\n")
    assert lines[-1] == "2 problems found."
    assert len(lines) == 3 and "Traceback" not in p.stderr
    f = settings_dir / "our_rules.yaml"
    assert lines[0] == (f"{f}:7:5: rule title-lookahead: matches /^(?=.*Альфа)/ cannot run on duckdb: look-around «(?=…» "
                        "cannot run on duckdb (its regular expressions have none); match the text itself, or write two "
                        "conditions under all: / not:")
    assert lines[1] == (f"{f}:14:5: rule title-backref: matches /(\\w+) \\1/ cannot run on duckdb: back-reference «\\1» "
                        "cannot run on duckdb (its regular expressions have none)")


def test_run_writing_only_the_csv_imports_no_workbook_sheets_or_mail_and_waivers_no_pandas(settings_dir):
    out_csv = settings_dir / "v.csv"
    code, modules, out = _cli(["run", "--export", str(demo_dir() / "pipedrive"), "--as-of", "2026-11-20",
                               "--violations-csv", str(out_csv)], settings_dir)
    with out_csv.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 329 and len({r["rule_code"] for r in rows}) == 17
    assert "Audit as of 20.11.2026: 298 deals audited, 329 violations in 17 of 17 rules." in out
    assert _loaded(modules, NOT_FOR_CSV) == []
    # a command that only reads the ledger makes no rows: no pandas (crm_audit.report imports it where rows are made)
    code, modules, out = _cli(["waivers"], settings_dir)
    assert out.strip() == "No accepted findings."
    assert _loaded(modules, ("pandas", "openpyxl", "sqlglot", "jinja2", "httpx", "crm_audit.notify")) == []
    assert "crm_audit.report" in modules


def test_dialects_package_gives_every_name_of_its_sql_module():
    """`crm_audit.engine.dialects` takes the dialect classes from .sql when first used (so validate needs no
    sqlglot): every public name of .sql is given, and names.py lists the same engines with the same flavours."""
    from crm_audit.engine import dialects
    from crm_audit.engine.dialects import names, sql

    tree = ast.parse(Path(sql.__file__).read_text(encoding="utf-8"))
    defined = {t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
               for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)}
    defined |= {node.name for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
    assert {n for n in defined if not n.startswith("_")} == set(dialects.SQL_NAMES)
    for n in dialects.SQL_NAMES:
        assert getattr(dialects, n) is getattr(sql, n)
    assert names.NAMES == tuple(sql.DIALECTS) == ("duckdb", "postgres", "clickhouse", "spark", "bigquery", "snowflake")
    assert {n: d.regex_flavor for n, d in sql.DIALECTS.items()} == names.REGEX_FLAVORS
    assert dialects.get("Databricks").name == "spark" and dialects.get(None).name == "duckdb"
    with pytest.raises(ValueError, match=r"unknown engine «oracle»: one of duckdb, postgres, clickhouse, spark, bigquery, "
                                         r"snowflake \(databricks = spark\)"):
        dialects.get("oracle")
    with pytest.raises(AttributeError):
        dialects.no_such_name  # noqa: B018


def test_number_formats_read_with_libyaml_are_the_same_data():
    """amounts.py reads its currency data at import with libyaml's loader (run's path): the very data PyYAML's
    pure-Python loader gives."""
    import yaml

    from crm_audit.engine import amounts

    text = (Path(amounts.__file__).with_name("number_formats.yaml")).read_text(encoding="utf-8")
    assert amounts._DATA == yaml.safe_load(text)
    assert "USD" in amounts.ISO_CODES and "₽" in amounts.SYMBOLS and "r$" in amounts.DOLLARS
