"""Run the CLI as a test's user does: in Russian, the managers' and the analyst's default language."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from contextlib import contextmanager, redirect_stderr, redirect_stdout

from crm_audit.cli import main
from crm_audit.i18n import use_language


def cli_ru(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    """The CLI in Russian (the default for a manager): (exit code, stdout, stderr)."""
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "ru")
    capsys.readouterr()
    try:
        code = main(list(args))
    finally:  # the next tests read the English texts (tests/conftest.py): the run's language is not kept
        monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "en")
        use_language(None)
    out = capsys.readouterr()
    return code, out.out, out.err


def init_from_export(capsys, monkeypatch, work, crm: str, export) -> str:
    """`crm-audit init WORK --crm CRM --from-export EXPORT` in Russian, which must succeed: the settings' text."""
    code, _out, err = cli_ru(capsys, monkeypatch, "init", str(work), "--crm", crm, "--from-export", str(export))
    assert code == 0, err
    return (work / "crm-audit.yaml").read_text(encoding="utf-8")


def run_audit(capsys, monkeypatch, work, export, as_of: str) -> tuple[str, str]:
    """`crm-audit run` in Russian with WORK's settings, workbook, violations CSV and ledger, which must succeed."""
    code, out, err = cli_ru(capsys, monkeypatch, "run", "-c", str(work / "crm-audit.yaml"), "--export", str(export),
                            "--as-of", as_of, "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"),
                            "--ledger", str(work / "l.db"))
    assert code == 0, err
    return out, err


def findings_by_code(violations_csv) -> dict[str, set[str]]:
    """The violations CSV a run wrote: rule code («1.5») -> the deal ids it flagged."""
    out: dict[str, set[str]] = {}
    with open(violations_csv, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["rule_code"], set()).add(row["deal_id"])
    return out


@contextmanager
def _environ(env: dict[str, str]):
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def cli_in_process(*args: str, cwd=None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`crm-audit ARGS` as a separate process runs it — in the folder ``cwd``, with ``env`` added to the environment,
    its output captured — but in this process: a process of its own pays the imports (about a second a command), which
    made the warehouse tests the suite's slowest. The folder, the environment and the language are restored after."""
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    with _environ({"NO_COLOR": "1", **(env or {})}):
        try:
            if cwd is not None:
                os.chdir(cwd)
            with redirect_stdout(out), redirect_stderr(err):
                try:
                    code = main(list(args))
                except SystemExit as exc:  # click's own exits (--help, a usage error)
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            os.chdir(here)
            use_language(None)
    return subprocess.CompletedProcess(["crm-audit", *args], code, out.getvalue(), err.getvalue())


def run_in_process(work, export, as_of: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`crm-audit run` with WORK's settings, workbook (audit.xlsx), violations CSV (v.csv) and ledger (l.db), as a
    separate process runs it (:func:`cli_in_process`): its exit code and output, for the test to judge."""
    return cli_in_process("run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", as_of,
                          "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"),
                          "--ledger", str(work / "l.db"), env=env)


def mark_row(workbook, code: str, deal: str, status: str, comment: str | None = None) -> None:
    """A manager types ``status`` (and ``comment``) into the row of ``deal`` on the sheet of rule ``code``, as in Excel."""
    import openpyxl

    wb = openpyxl.load_workbook(workbook)
    ws = next(wb[s] for s in wb.sheetnames if s.split(" ")[0] == code)
    header = [c.value for c in ws[1]]
    rows = [r for r in ws.iter_rows(min_row=2) if str(r[header.index("ID сделки")].value) == deal]
    assert len(rows) == 1, (code, deal)
    rows[0][header.index("Статус")].value = status
    if comment is not None:
        rows[0][header.index("Комментарий")].value = comment
    wb.save(workbook)

