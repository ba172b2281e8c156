"""LibreOffice (`soffice`) for the tests that re-save the workbook as a manager's client does.

Where `soffice` is missing those tests skip — except in CI (`.ci/run` sets CRM_AUDIT_REQUIRE_SOFFICE=1; most CI
services set CI=true), where they must run: there a missing LibreOffice fails them (see conftest.py).
"""

from __future__ import annotations

import os
import shutil

import pytest

INSTALL_HINT = "apt-get install libreoffice-calc-nogui"


def soffice_required() -> bool:
    """True when a missing LibreOffice must fail the LibreOffice tests instead of skipping them."""
    flags = (os.environ.get("CRM_AUDIT_REQUIRE_SOFFICE", ""), os.environ.get("CI", ""))
    return any(f.strip().lower() not in ("", "0", "false", "no") for f in flags)


def have_soffice() -> bool:
    """Whether `soffice` is on the PATH; fails the calling test when it is required and missing."""
    if shutil.which("soffice"):
        return True
    if soffice_required():
        pytest.fail(f"LibreOffice (soffice) is not on the PATH, and CI / CRM_AUDIT_REQUIRE_SOFFICE requires the "
                    f"LibreOffice tests to run: {INSTALL_HINT}", pytrace=False)
    return False


def is_libreoffice_skip(reason: str) -> bool:
    return "soffice" in reason or "LibreOffice" in reason
