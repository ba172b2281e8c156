"""Run the CLI as a test's user does: in Russian, the managers' and the analyst's default language."""

from __future__ import annotations

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
