"""Issue 13 "What must work" items 2 and 4: an unmapped column's VALUES suggest its field (crm_audit/engine/value_guess.py).

* pd_xx_values: the Dutch acceptance export (pd_nl_m2) with the owner, value, currency, status, lost reason, dates and
  the task's done flag / due date under invented headers of no language: `inspect` suggests each field from the values
  («by its values (…) looks like owner»), `init --from-export` writes them into `columns:` with a comment to check, and
  the run audits as the same export with the profile's own headers does;
* pd_xx_values_ambiguous: where the values leave two columns for a field (two repeated name columns, two number
  columns, dates whose order fits more than one assignment) nothing is written active — each candidate is a commented
  line; e-mails and phone numbers are never a name nor an amount; the one status column and the one currency column
  are written.
"""

from __future__ import annotations

import pytest

import csv
from pathlib import Path

import yaml

from crm_audit.cli import main
from crm_audit.engine.inspect import inspect_export, format_report
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile
from crm_audit.engine.value_guess import guess_by_values
from real_fixtures import copy_export as _export

REAL = Path(__file__).parent / "fixtures" / "real"
AS_OF = "2026-11-20"



@pytest.fixture(autouse=True)
def _languages_no_profile_had(monkeypatch, tmp_path):
    """Turkish is a profile's own language now (the languages added from acceptance testers' exports): these tests read
    the export with the profiles as they were without them, so what they test — columns told without a profile's
    names — stays tested."""
    from profile_variants import as_before

    as_before(monkeypatch, tmp_path)

def _init(tmp: Path, export: Path) -> tuple[dict, str]:
    assert main(["init", str(tmp), "--from-export", str(export), "--crm", "pipedrive"]) == 0
    text = (tmp / "crm-audit.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text), text


def _run(tmp: Path, export: Path) -> set[tuple[str, str]]:
    assert main(["run", "-c", str(tmp / "crm-audit.yaml"), "--export", str(export), "--as-of", AS_OF, "--quiet",
                 "--out", str(tmp / "audit.xlsx"), "--violations-csv", str(tmp / "v.csv")]) == 0
    with open(tmp / "v.csv", encoding="utf-8") as f:
        return {(r["rule_id"], r["deal_id"], r["owner"]) for r in csv.DictReader(f)}


def _guesses(name: str) -> dict[tuple[str, str], object]:
    profile = load_profile("pipedrive")
    export = load_export(REAL / name, profile, on_bad_value="warn")
    try:
        return {(g.entity, g.header): g for g in guess_by_values(export, profile)}
    finally:
        export.close()
        export.con.close()


UNKNOWN = {("deals", "Vornakel"): "owner", ("deals", "Dumira"): "value", ("deals", "Kesp"): "currency",
           ("deals", "Tolvari"): "status", ("deals", "Brusk hemo"): "lost_reason", ("deals", "Oluşturuldu"): "created",
           ("deals", "Son aşama değişikliği"): "stage_changed", ("activities", "Bitiş tarihi"): "due_date",
           ("activities", "Fenwik"): "done"}


def test_every_unknown_column_is_told_by_its_values():
    got = _guesses("pd_xx_values")
    assert {k: g.field for k, g in got.items()} == UNKNOWN
    assert all(g.sure for g in got.values())
    # the team's own fields are no canonical field: the source, city and country are not guessed
    assert not {h for _e, h in got} & {"Bron", "Stad", "Land"}
    assert got[("deals", "Vornakel")].examples == ("Sanne de Vries", "Tom Smit")


def test_inspect_shows_the_guess_with_its_values(monkeypatch):
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "en")
    rep = inspect_export(REAL / "pd_xx_values", crm="pipedrive")
    deals = next(f for f in rep.files if f.entity == "deals")
    assert {g.header: g.field for g in deals.value_guesses}["Vornakel"] == "owner"
    text = format_report(rep)
    assert "«Vornakel»" in text and "«Sanne de Vries», «Tom Smit»" in text
    assert "columns: {deals: {owner: Vornakel}}" in text


def test_init_writes_them_and_the_run_audits_as_with_the_profiles_names(tmp_path):
    unknown, known = tmp_path / "unknown", tmp_path / "known"
    exp_u, exp_k = _export(unknown, "pd_xx_values"), _export(known, "pd_nl_m2")
    settings, text = _init(unknown, exp_u)
    cols = settings["columns"]
    assert {("deals", k): v for k, v in cols["deals"].items()} | {("activities", k): v for k, v in cols["activities"].items()} \
        == {(e, f): h for (e, h), f in UNKNOWN.items()}
    # each with a comment to check it, naming the values
    owner_line = next(x for x in text.splitlines() if x.strip().startswith("owner: Vornakel"))
    assert "проверьте" in owner_line and "«Sanne de Vries»" in owner_line
    _init(known, exp_k)
    got_u, got_k = _run(unknown, exp_u), _run(known, exp_k)
    assert got_u == got_k
    assert {o for _r, _d, o in got_u} == {"Sanne de Vries", "Tom Smit"}  # never «(без ответственного)»


def test_ambiguous_values_are_proposed_commented_out(tmp_path):
    got = _guesses("pd_xx_values_ambiguous")
    by = {}
    for (_e, h), g in got.items():
        by.setdefault(g.field, []).append(g)
    assert [g.header for g in by["status"]] == ["Tolvari"] and by["status"][0].sure
    assert [g.header for g in by["currency"]] == ["Kesp"] and by["currency"][0].sure
    assert sorted(g.header for g in by["owner"]) == ["Skrabel", "Vornakel"]
    assert sorted(g.header for g in by["value"]) == ["Dumira", "Vrelto"]
    for f in ("owner", "value", "created", "stage_changed"):
        assert not any(g.sure for g in by[f]), f
    # an e-mail or a phone number is never a name nor an amount
    assert not {h for _e, h in got} & {"Posta", "Telvo"}
    settings, text = _init(tmp_path, _export(tmp_path, "pd_xx_values_ambiguous"))
    assert settings["columns"]["deals"] == {"status": "Tolvari", "currency": "Kesp"}
    lines = [x.strip() for x in text.splitlines()]
    for hint in ("# owner: Vornakel", "# owner: Skrabel", "# value: Dumira", "# value: Vrelto", "# created: Ulmeda",
                 "# stage_changed: Pravo sintel"):
        assert any(x.startswith(hint + " ") for x in lines), hint
    # the rules that need the fields left open are off with the reason, not audited as if the values were blank
    assert "2.4" in str(settings["rules"]["skip"]) or "no-stage-movement" in settings["rules"]["skip"]
