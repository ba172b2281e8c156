"""Issue 13, acceptance pass M (/tmp/accM/REPORT.md): M2, M3, M5, M6 — interface languages and the skip reasons.

Each export is a copy of the tester's case under tests/fixtures/real/* (its README names the source and what the tester
wrote), through `init --from-export` → `inspect` / `run` as a user types them, no hand edits.

* M2: a Dutch Pipedrive export (`Deal - Eigenaar`, `Deal aangemaakt`, `Reden van verlies`, `Activiteit - Gereed`) is
  read as Dutch (the profile's `languages.nl`): the activities file is recognised, owner / created / lost reason are
  mapped, the team's «Bron» is proposed for «Источник сделки»;
* M3: an activities file that IS in the folder but is not recognised is named so by the task rules' skip reason, with
  how to map it (`columns: {activities: …}`), never «export the tasks»;
* M5: a French HubSpot export's per-stage columns `Date d'entrée dans « … (Pipeline des ventes) »` feed the last stage
  change, and «Pays/région» is proposed for «Страна»;
* M6: a skip reason names the column in the export's language («Verlustgrund», «Raison de la perte de la transaction»),
  not the English header the file does not have.
"""

from __future__ import annotations

import csv
from pathlib import Path

import yaml

from crm_audit.cli import main
from crm_audit.engine.inspect import inspect_export
from crm_audit.engine.profile import load_profile
from real_fixtures import copy_export as _export

REAL = Path(__file__).parent / "fixtures" / "real"
AS_OF = "2026-11-20"


def _init(tmp: Path, export: Path, crm: str) -> dict:
    assert main(["init", str(tmp), "--from-export", str(export), "--crm", crm]) == 0
    return yaml.safe_load((tmp / "crm-audit.yaml").read_text(encoding="utf-8"))


def _run(tmp: Path, export: Path, capsys) -> str:
    capsys.readouterr()
    assert main(["run", "-c", str(tmp / "crm-audit.yaml"), "--export", str(export), "--as-of", AS_OF,
                 "--out", str(tmp / "audit.xlsx"), "--violations-csv", str(tmp / "v.csv")]) == 0
    return capsys.readouterr().out


def _rows(tmp: Path) -> list[dict[str, str]]:
    with open(tmp / "v.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _why(rep, code: str) -> str:
    return next(r.why for r in rep.rules if r.code == code)


# --------------------------------------------------------------------------- M2


def test_m2_dutch_pipedrive_export_is_read_as_dutch(tmp_path, capsys):
    export = _export(tmp_path, "pd_nl_m2")
    rep = inspect_export(export, crm="pipedrive")
    assert rep.languages[:1] == ["nl"]
    by_entity = {f.entity: f for f in rep.files}
    assert "activities" in by_entity  # «Activiteit - …» recognised
    deals = dict((f, h) for h, f in by_entity["deals"].mapped)
    assert deals["owner"].startswith("Deal - Eigenaar")
    assert deals["created"].startswith("Deal - Deal aangemaakt")
    assert deals["lost_reason"].startswith("Deal - Reden van verlies")
    acts = dict((f, h) for h, f in by_entity["activities"].mapped)
    assert {"done", "deal_id", "due_date", "owner"} <= set(acts)

    cfg = _init(tmp_path, export, "pipedrive")
    assert cfg["fields"]["deal.Источник сделки"] == "Bron"
    _run(tmp_path, export, capsys)
    rows = _rows(tmp_path)
    assert rows and all(r["owner"] in ("Sanne de Vries", "Tom Smit") for r in rows)  # never «(без ответственного)»
    rep = inspect_export(export, config=tmp_path / "crm-audit.yaml")
    assert {"open-deal-without-tasks", "overdue-tasks", "no-stage-movement"} <= set(rep.rules_in("run"))
    # 2.3: task 1 (due 2026-11-10, «Te doen») of deal 701 is overdue; task 2 («Gereed») is done
    overdue = {r["deal_id"] for r in rows if r["rule_id"] == "overdue-tasks"}
    assert overdue == {"701"}


def test_m2_dutch_values_and_no_clash_with_german():
    prof = load_profile("pipedrive")
    assert "nl" in prof.languages
    # the Dutch status and done words read
    deals = prof.entities["deals"].fields["status"].values
    assert "Gewonnen" in deals["won"] and "Verloren" in deals["lost"]
    done = prof.entities["activities"].fields["done"].values
    assert "Gereed" in done["true"] and "Te doen" in done["false"]
    # a German export stays German
    de = ["Deal - Titel", "Deal - Besitzer", "Deal - Wert", "Deal - Phase", "Deal - Deal erstellt", "Deal - Verlustgrund"]
    assert prof.interface_languages(de)[:1] == ["de"]
    nl = ["Deal - Titel", "Deal - Eigenaar", "Deal - Waarde", "Deal - Fase", "Deal - Deal aangemaakt"]
    assert prof.interface_languages(nl)[:1] == ["nl"]


# --------------------------------------------------------------------------- M3


def test_m3_an_unrecognised_activities_file_is_named_with_how_to_map_it(tmp_path, capsys, monkeypatch):
    # Finnish is the profile's own language now (`languages.fi`): the profile as it was without it keeps the headers
    # below unknown (tests/profile_variants.py)
    from profile_variants import without_languages

    without_languages(monkeypatch, tmp_path, "pipedrive", "fi")
    export = _export(tmp_path, "pd_nl_m2")
    acts = export / "activities.csv"
    lines = acts.read_text(encoding="utf-8").splitlines()
    # Finnish headers without an entity prefix (one under a prefix of its own is read, its columns told by their
    # values: tests/test_issue13_unknown_language_exports.py)
    lines[0] = '"Tunnus","Aihe","Tyyppi","Eräpäivä","Valmis","Kauppa","Vastuuhenkilö"'
    acts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rep = inspect_export(export, crm="pipedrive")
    for code in ("1.1", "1.2", "2.3"):
        why = _why(rep, code)
        assert "activities.csv is in the export folder but was not recognised" in why, why
        assert "columns: {activities: {deal_id: <header>, done: <header>, due_date: <header>}}" in why
        assert "export the tasks" not in why
    assert any(ent == "activities" and "activities.csv is there but was not recognised" in note for ent, note in rep.absent)

    # the rule sheet's note (Russian) says the same
    from crm_audit.report import SkippedRule, skipped_reason

    skip = SkippedRule("overdue-tasks", "2.3", "tasks", "tasks.overdue_count", "no-file", file="activities.csv",
                       column="Activity - Deal ID, Activity - Done, Activity - Due date")
    ru = skipped_reason(skip)
    assert ru.startswith("activities.csv есть в папке выгрузки, но не распознан")
    assert "columns: {activities: {deal_id: <header>" in ru and "выгрузите из CRM задачи" not in ru


def test_m3_no_activities_file_keeps_the_export_it_reason(tmp_path):
    export = _export(tmp_path, "pd_nl_m2")
    (export / "activities.csv").unlink()
    rep = inspect_export(export, crm="pipedrive")
    assert "the export has no tasks file (activities.csv)" in _why(rep, "1.1")


# --------------------------------------------------------------------------- M5


def test_m5_hubspot_french_per_stage_columns_and_country(tmp_path, capsys):
    export = _export(tmp_path, "hs_fr_m5")
    rep = inspect_export(export, crm="hubspot")
    deals = next(f for f in rep.files if f.entity == "deals")
    mapped = dict((f, h) for h, f in deals.mapped)
    assert mapped["stage_changed"].startswith("Date d'entrée dans « <stage> (<pipeline>) »")
    assert not any(h.startswith("Date d'entrée") for h in deals.custom)
    cfg = _init(tmp_path, export, "hubspot")
    assert cfg["fields"]["deal.Страна"] == "Pays/région"
    rep = inspect_export(export, config=tmp_path / "crm-audit.yaml")
    assert {"no-stage-movement", "missing-city-or-country"} <= set(rep.rules_in("run"))


def test_m5_per_stage_patterns_in_hubspot_languages():
    prof = load_profile("hubspot")
    pats = prof.entities["deals"].fields["stage_changed"].per_stage
    for start in ("Date entered", "Date d'entrée dans", "Data de entrada em", "Datum des Eintritts in", "Fecha introducida",
                  "Data di ingresso in", "Datum van binnenkomst in"):
        assert any(p.startswith(start) for p in pats), start


# --------------------------------------------------------------------------- M6


def test_m6_skip_reasons_name_the_column_in_the_export_language(tmp_path):
    (tmp_path / "sf").mkdir()
    sf = _export(tmp_path / "sf", "sf_de_m6")
    assert main(["init", str(tmp_path / "sf"), "--from-export", str(sf), "--crm", "salesforce"]) == 0
    rep = inspect_export(sf, config=tmp_path / "sf" / "crm-audit.yaml")
    why = _why(rep, "1.2")
    assert "«Verlustgrund»" in why and "Loss Reason" not in why

    (tmp_path / "hs").mkdir()
    hs = _export(tmp_path / "hs", "hs_fr_m5")
    assert main(["init", str(tmp_path / "hs"), "--from-export", str(hs), "--crm", "hubspot"]) == 0
    rep = inspect_export(hs, config=tmp_path / "hs" / "crm-audit.yaml")
    assert "«Raison de la perte de la transaction»" in _why(rep, "1.2")
    assert "Closed Lost Reason" not in _why(rep, "1.2")
    assert "«ID des entreprises associées (principale)»" in _why(rep, "1.11")
    text = (tmp_path / "hs" / "crm-audit.yaml").read_text(encoding="utf-8")
    assert "Closed Lost Reason" not in text and "Associated Company IDs (Primary)" not in text
