"""The acceptance testers' real-export cases under tests/fixtures/real, copied as a user's export folder."""

from __future__ import annotations

import shutil
from pathlib import Path

REAL = Path(__file__).parent / "fixtures" / "real"


def copy_export(tmp: Path, name: str) -> Path:
    """The case's data files (its README stays behind) in a folder of their own, ``tmp/export``."""
    out = tmp / "export"
    out.mkdir(parents=True)
    for f in (REAL / name).iterdir():
        if f.is_file() and f.name != "README.md":
            shutil.copy(f, out / f.name)
    return out
