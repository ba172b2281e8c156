"""Issue 13, what was left: HubSpot's German closed / won flag headers as profile data (init maps them, no
`columns:` to confirm), and `crm-audit inspect` reading `date_order:` from the settings and showing the values of a
yes/no field that are no yes/no word — each through the CLI as a user runs it."""

from __future__ import annotations

import shutil
from pathlib import Path

from crm_audit.cli import main
from crm_audit.engine.profile import load_profile
from test_issue13_owners_and_stages import init, run, table

FIXTURES = Path(__file__).parent / "fixtures"
HUBSPOT_DE = FIXTURES / "issue13-acceptance" / "hubspot-de"  # the acceptance tester's German export (case 16)


def test_hubspot_german_flag_headers_are_profile_data(tmp_path):
    work = tmp_path / "work"
    s = init(work, "hubspot", HUBSPOT_DE)
    assert not (s.get("columns") or {}).get("deals")  # nothing left to confirm: the profile knows every header
    assert run(work, HUBSPOT_DE) == 0
    got = dict(table(HUBSPOT_DE, "hubspot", "SELECT id, status FROM deals"))
    assert got == {"1": "open", "2": "won"}
    de = load_profile("hubspot").languages["de"].entities["deals"].fields
    assert de["is_closed"][0] == "Ist abgeschlossen" and de["is_won"][0] == "Ist gewonnen"
    # the flags in German words (Ja / Nein)
    export = tmp_path / "ja"
    export.mkdir()
    text = (HUBSPOT_DE / "deals.csv").read_text(encoding="utf-8")
    (export / "deals.csv").write_text(text.replace('"true","true"', '"Ja","Ja"').replace('"false","false"', '"Nein","Nein"'),
                                      encoding="utf-8")
    assert dict(table(export, "hubspot", "SELECT id, status FROM deals")) == {"1": "open", "2": "won"}


def test_inspect_reads_the_settings_date_order(tmp_path, capsys):
    export = FIXTURES / "issue13-acceptance" / "bitrix24-us-dates"
    work = tmp_path / "work"
    init(work, "bitrix24", export)
    cfg = work / "crm-audit.yaml"
    text = cfg.read_text(encoding="utf-8")
    assert "\ndate_order: mdy\n" in text  # init writes the order the am/pm clock suggests, to be checked (acceptance M1)
    cfg.write_text(text.replace("\ndate_order: mdy\n", "\n"), encoding="utf-8")  # auto: the order guessed, said
    capsys.readouterr()
    assert main(["inspect", str(export), "-c", str(cfg)]) == 0
    assert "`date_order: dmy`" in capsys.readouterr().out  # the note while the order is guessed from the am/pm clock
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\ndate_order: dmy\n", encoding="utf-8")
    assert main(["inspect", str(export), "-c", str(cfg)]) == 0
    assert "date_order" not in capsys.readouterr().out  # the team said how its dates read: no note, as `run`
    assert run(work, export) == 0


def test_inspect_shows_unknown_yes_no_values(tmp_path, capsys):
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "bitrix24" / "export", export)
    p = export / "companies.csv"
    p.write_text(p.read_text(encoding="utf-8-sig").replace('"Да"', '"Vielleicht"', 1), encoding="utf-8-sig")
    work = tmp_path / "work"
    init(work, "bitrix24", FIXTURES / "bitrix24" / "export")
    capsys.readouterr()
    assert main(["inspect", str(export), "-c", str(work / "crm-audit.yaml")]) == 0
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if "Vielleicht" in x]
    assert "companies.csv" in line and "«Агентство ли это»" in line and "Да" in line and "Нет" in line
    # run with the settings as init wrote them (on_bad_value: error) stops on it, naming the same cell
    assert run(work, export) == 2
