"""A Pipedrive file written with the names of Pipedrive's own field reference (its sample import spreadsheet's «READ ME
All default Pipedrive fields» tab: «Deal - Pipedrive System ID», «Deal - Creation date», the activities' bare «Deal»
column naming the deal by its title, «Activity - Done» = «Undone»), as a migration or update-by-spreadsheet file
carries them: read by name, no column to map by hand.

By hand at 20.11.2026: 101 «Acme integration» has an undone call due 10.11 (2.3); 102 «test» has no activity (1.1)
and a test title (1.5); 103 has an activity due 25.11 (not overdue); 104 is won."""

from __future__ import annotations

import shutil
from pathlib import Path

from cli_helpers import findings_by_code, init_from_export, run_audit

FIXTURE = Path(__file__).parent / "fixtures" / "pipedrive-field-reference"


def test_field_reference_names_are_read(tmp_path, capsys, monkeypatch):
    export, work = tmp_path / "export", tmp_path / "work"
    shutil.copytree(FIXTURE, export)
    work.mkdir()
    settings = init_from_export(capsys, monkeypatch, work, "pipedrive", export)
    assert "id: Pipedrive System ID" not in settings and "created: Creation date" not in settings  # known names
    run_audit(capsys, monkeypatch, work, export, "2026-11-20")
    found = findings_by_code(work / "v.csv")
    assert found.get("1.1") == {"102"}
    assert found.get("2.3") == {"101"}
    assert found.get("1.5") == {"102"}
