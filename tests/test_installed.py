"""The CLI as a user runs it: the console script of the installed package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openpyxl

import crm_audit
from crm_audit import resources

BIN = Path(sys.executable).parent / "crm-audit"


def run(*args, cwd=None):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_bundled_files_are_found():
    assert (resources.rules_dir() / "critical_1.yaml").is_file()
    assert (resources.rules_dir() / "critical_2.yaml").is_file()
    assert (resources.templates_dir() / "crm-audit.yaml.j2").is_file()
    assert (resources.demo_dir() / "pipedrive" / "deals.csv").is_file()
    if "site-packages" in crm_audit.__file__:
        # a non-editable install carries rules/ and templates/ inside the package
        assert "_bundled" in str(resources.rules_dir())


def test_console_script_demo(tmp_path):
    assert BIN.exists(), "crm-audit console script not installed"
    r = run("--help", cwd=tmp_path)
    assert r.returncode == 0 and "demo" in r.stdout and "run" in r.stdout
    r = run("demo", "--out", str(tmp_path / "demo"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Wrote workbook" in r.stdout
    wb = openpyxl.load_workbook(tmp_path / "demo" / "audit-demo.xlsx")
    assert len(wb.sheetnames) == 19 and wb.sheetnames[0] == "FAQ" and wb.sheetnames[-1] == "Учет попаданий"
    assert (tmp_path / "demo" / "violations-demo.csv").stat().st_size > 1000


def test_console_script_error_has_no_traceback(tmp_path):
    r = run("run", "--export", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 2
    assert "crm-audit.yaml" in r.stderr and "Traceback" not in r.stderr
    r = run("init", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "crm-audit.yaml").exists()
    r = run("validate", "--config", str(tmp_path / "crm-audit.yaml"))
    assert r.returncode == 0 and "17 rules" in r.stdout
