"""Acceptance W7: `init` takes -c/--config FILE as every other command does — the settings file to write, its folder
being where init works (the positional DIRECTORY keeps working; both given and disagreeing: a usage error, exit 2).
Case kommo_story: from another folder, `init --config ../crm-audit.yaml --from-export ../export2 --force` keeps the
team's edits (was: «нет такого параметра: --config (может быть, --token-file?)», exit 2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from cli_helpers import cli_ru

CASE = Path(__file__).parent / "fixtures" / "accw" / "kommo_story"


@pytest.fixture
def team(tmp_path, monkeypatch) -> Path:
    for export in ("export1", "export2"):
        shutil.copytree(CASE / export, tmp_path / export)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return tmp_path


def test_init_config_from_another_folder_then_force_keeps_the_teams_edits(team, capsys, monkeypatch):
    code, out, err = cli_ru(capsys, monkeypatch, "init", "--config", "../crm-audit.yaml", "--crm", "kommo",
                            "--from-export", "../export1")
    assert code == 0, err
    settings = team / "crm-audit.yaml"
    assert "Записан ../crm-audit.yaml" in out and not (team / "elsewhere" / "crm-audit.yaml").exists()
    text = settings.read_text(encoding="utf-8")
    assert "partner_managers: []\n" in text
    settings.write_text(text.replace("partner_managers: []\n", "partner_managers: [Partner Pete]\n"), encoding="utf-8")
    code, out, err = cli_ru(capsys, monkeypatch, "init", "-c", "../crm-audit.yaml", "--from-export", "../export2", "--force")
    assert code == 0, err
    assert yaml.safe_load(settings.read_text(encoding="utf-8"))["partner_managers"] == ["Partner Pete"]


def test_init_directory_and_config_must_agree(team, capsys, monkeypatch):
    code, _out, err = cli_ru(capsys, monkeypatch, "init", "..", "-c", "../crm-audit.yaml", "--from-export", "../export1")
    assert code == 0, err  # the same folder twice
    code, _out, err = cli_ru(capsys, monkeypatch, "init", ".", "-c", "../crm-audit.yaml", "--from-export", "../export1", "--force")
    assert code == 2
    assert "init получила две папки: DIRECTORY «.» и --config «../crm-audit.yaml» (в «..»): укажите что-то одно" in err
    code, _out, err = cli_ru(capsys, monkeypatch, "init", "-c", "../team.yaml", "--from-export", "../export1")
    assert code == 2
    assert "init записывает crm-audit.yaml: укажите --config ПАПКА/crm-audit.yaml (дано «../team.yaml»)" in err
    assert not (team / "team.yaml").exists() and not (team / "elsewhere" / "crm-audit.yaml").exists()


def test_init_help_shows_config(capsys, monkeypatch):
    code, out, _err = cli_ru(capsys, monkeypatch, "init", "--help")
    assert code == 0
    assert "-c, --config" in out
