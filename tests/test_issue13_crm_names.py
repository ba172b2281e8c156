"""`crm:` in the settings and `init --crm`: a profile's name or one of its aliases (issue 13, left item 6).

An alias the team writes for its CRM («HubSpot», «Kommo», «Битрикс24», «SFDC»; `aliases:` in each
crm_audit/profiles/*.yaml) reads as the profile; any other value is an error (exit 2) naming the closest profile
(«did you mean …») among the names and aliases, in the CLI's language, at its file:line in `validate`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from crm_audit import settings as settings_mod
from crm_audit.cli import main
from crm_audit.engine.profile import available, canonical_name, load_profile
from crm_audit.errors import SettingsError

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("written, name", [
    ("hubspot", "hubspot"), ("HubSpot", "hubspot"), ("Hub Spot", "hubspot"), ("Kommo", "amocrm"), ("amoCRM", "amocrm"),
    ("amo CRM", "amocrm"), ("Битрикс24", "bitrix24"), ("Bitrix 24", "bitrix24"), ("bitrix-24", "bitrix24"), ("B24", "bitrix24"),
    ("SFDC", "salesforce"), ("Salesforce", "salesforce"), ("PIPEDRIVE", "pipedrive"), ("Пайпдрайв", "pipedrive"),
])
def test_a_name_or_alias_reads_as_the_profile(written, name):
    assert canonical_name(written) == name
    assert load_profile(written).name == name


def test_every_profile_has_aliases_and_no_alias_names_two():
    seen: dict[str, str] = {}
    for name in available():
        p = load_profile(name)
        assert p.aliases, name
        for a in (name, *p.aliases):
            key = "".join(ch for ch in a.lower() if ch.isalnum())
            assert seen.setdefault(key, name) == name, (a, seen[key], name)


@pytest.mark.parametrize("written, hint", [("hubspto", "hubspot"), ("pipedrivee", "pipedrive"), ("Bitriks", "bitrix24"),
                                           ("Komo", "amocrm"), ("salesforse", "salesforce"), ("zoho", None)])
def test_an_unknown_name_says_the_closest_profile(written, hint):
    with pytest.raises(SettingsError) as exc:
        load_profile(written)
    [p] = exc.value.problems
    assert p.reason == "unknown-profile"
    en, ru = p.text("en"), p.text("ru")
    assert en.startswith(f"unknown CRM profile «{written}»") and ru.startswith(f"неизвестный профиль CRM «{written}»")
    assert "available: amocrm, bitrix24, hubspot, pipedrive, salesforce" in en
    if hint:
        assert f"(did you mean «{hint}»?)" in en and f"(может быть, «{hint}»?)" in ru
    else:
        assert "did you mean" not in en and "может быть" not in ru


def _team(tmp_path: Path, crm: str) -> Path:
    shutil.copytree(FIXTURES / "hubspot" / "export", tmp_path / "export")
    text = (FIXTURES / "hubspot" / "crm-audit.yaml").read_text(encoding="utf-8")
    assert text.startswith("crm: hubspot\n")
    cfg = tmp_path / "crm-audit.yaml"
    cfg.write_text(f"crm: {crm}\n" + text.split("\n", 1)[1], encoding="utf-8")
    return cfg


def test_an_alias_in_the_settings_runs(tmp_path):
    cfg = _team(tmp_path, "HubSpot")
    assert settings_mod.load(cfg).crm == "hubspot"
    assert main(["validate", "-c", str(cfg)]) == 0
    assert main(["run", "-c", str(cfg), "--export", str(tmp_path / "export"), "--as-of", "2026-11-20",
                 "--out", str(tmp_path / "a.xlsx"), "--quiet"]) == 0


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_an_unknown_crm_stops_validate_and_run_with_did_you_mean(tmp_path, capsys, monkeypatch, lang):
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", lang)
    cfg = _team(tmp_path, "hubspto")
    said = {"ru": "неизвестный профиль CRM «hubspto» (может быть, «hubspot»?); есть: amocrm, bitrix24, hubspot, pipedrive, "
                  "salesforce",
            "en": "unknown CRM profile «hubspto» (did you mean «hubspot»?); available: amocrm, bitrix24, hubspot, pipedrive, "
                  "salesforce"}[lang]
    capsys.readouterr()
    assert main(["validate", "-c", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}:1:6: {said}" in err, err
    assert main(["run", "-c", str(cfg), "--export", str(tmp_path / "export"), "--as-of", "2026-11-20",
                 "--out", str(tmp_path / "a.xlsx"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
    assert not (tmp_path / "a.xlsx").exists()


def test_validate_names_the_unknown_crm_with_the_other_problems(tmp_path, capsys):
    cfg = _team(tmp_path, "hubspto")
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text.replace("on_bad_value:", "on_bad_valu:") if "on_bad_value:" in text else text + "on_bad_valu: warn\n",
                   encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", "-c", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "unknown CRM profile «hubspto» (did you mean «hubspot»?)" in err or "(может быть, «hubspot»?)" in err
    assert "on_bad_valu" in err


def test_init_with_an_alias_writes_the_profiles_name(tmp_path, capsys):
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "HubSpot", "--from-export", str(FIXTURES / "hubspot" / "export")]) == 0
    assert yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))["crm"] == "hubspot"
    capsys.readouterr()
    assert main(["init", str(tmp_path / "w2"), "--crm", "hubspto", "--from-export", str(FIXTURES / "hubspot" / "export")]) == 2
    assert "hubspot" in capsys.readouterr().err
    assert not (tmp_path / "w2" / "crm-audit.yaml").exists()
