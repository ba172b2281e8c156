import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from libreoffice import INSTALL_HINT, is_libreoffice_skip, soffice_required  # noqa: E402

# The tests read the CLI's English texts; without a locale the CLI speaks Russian (crm_audit/i18n). The tests of the
# Russian texts (tests/test_i18n.py) choose the language themselves. Subprocesses inherit it.
os.environ["CRM_AUDIT_LANGUAGE"] = "en"


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A test that ran the CLI in Russian (`language: ru` in its settings, or use_language) leaves the process's
    chosen language behind; the next test in the same worker must read English again."""
    yield
    from crm_audit.i18n import use_language

    use_language(None)
    os.environ["CRM_AUDIT_LANGUAGE"] = "en"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a LibreOffice test that skips for a missing `soffice` fails instead (tests/libreoffice.py)."""
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and soffice_required()):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    if is_libreoffice_skip(reason):
        report.outcome = "failed"
        report.longrepr = (f"{item.nodeid}: skipped ({reason}), but CI / CRM_AUDIT_REQUIRE_SOFFICE requires the "
                           f"LibreOffice tests to run: {INSTALL_HINT}")


@pytest.fixture(scope="module")
def postgres():
    """A test PostgreSQL per module (a module may define its own ``postgres``): the server and its socket folder."""
    if not os.environ.get("CI"):
        pytest.importorskip("pgserver", reason="pgserver is not installed (pip install '.[test]')")
    from urllib.parse import parse_qs, urlsplit

    from engine_targets import Postgres

    pg = Postgres()
    try:
        yield pg, parse_qs(urlsplit(pg.server.get_uri()).query)["host"][0]
    finally:
        pg.close()
