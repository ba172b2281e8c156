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
