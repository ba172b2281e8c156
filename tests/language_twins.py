"""The audit of one export written in a base language (English, Russian): what the same export in another interface
language must give (the language tests' module fixtures)."""

from __future__ import annotations

from test_crm_exports_issue13 import findings
from test_issue13_owners_and_stages import init, run


def twin_findings(tmp_path_factory, crm: str, write, lang: str, invalid_names: set[str]) -> dict[str, set[str]]:
    """``write(lang, folder)``'s export through `init --from-export` → `run`: the findings by rule, which must flag
    ``invalid_names`` on rule 1.5 (the team's audit flags something)."""
    base = tmp_path_factory.mktemp(f"{crm}-{lang}")
    write(lang, base / "export")
    init(base / "work", crm, base / "export")
    assert run(base / "work", base / "export") == 0
    found = findings(base / "work")
    assert found["invalid-name"] == invalid_names
    return found
