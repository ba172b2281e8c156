"""Issue 13 acceptance R2 / R8 / R11: HubSpot's deals, tasks and companies exports in a language no profile had (the
acceptance tester's renderings of sv, fi, nb, ko, zh, da, pl — INFERRED labels; «Record ID» kept in English in
hs_fi_recid) audit on the first try as the English export does. These languages are the profile's own now
(crm_audit/profiles/hubspot.yaml `languages:`, written from these exports): the value-told columns are tested with the
profile as it was without Swedish (tests/profile_variants.py). init reads a file named like an entity whatever its
headers (load_export's ``named``) and tells its columns by their values (engine/value_guess.py): the record's id (a
column of distinct ids whose name says «id» or another file names — never an amount), the links whose cells are one
or several ids of the linked file («101», «103;107»; the primary company of the list beside it), the task's status
of the two-word columns named «status» in some language, its two texts told by the negation in one («Inte påbörjad»),
the deal's title as the one column of every row's own text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cli_helpers import findings_by_code, init_from_export, run_audit

ACCR = Path(__file__).parent / "fixtures" / "accr"

#: the hand-computed findings of every case (the English twin hs_en gives them)
EXPECTED = {"1.1": {"102", "104"}, "1.5": {"102"}, "1.7": {"104"}, "1.11": {"103"}, "2.3": {"103", "107"},
            "2.4": {"101", "103", "107"}}


# the languages beyond three are variants the default run covers (`pytest -m slow` runs them)
@pytest.mark.parametrize("case", ["hs_sv", "hs_zh", "hs_da_more", *(pytest.param(c, marks=pytest.mark.slow) for c in (
    "hs_fi", "hs_nb", "hs_ko", "hs_da", "hs_pl", "hs_fi_recid"))])
def test_a_hubspot_export_in_a_language_no_profile_has_audits_as_the_english_one(tmp_path, capsys, monkeypatch, case):
    export = tmp_path / "export"
    shutil.copytree(ACCR / case / "export", export)
    text = init_from_export(capsys, monkeypatch, tmp_path, "hubspot", export)
    assert "записан не до конца" not in text
    run_audit(capsys, monkeypatch, tmp_path, export, "2026-11-20")
    assert findings_by_code(tmp_path / "v.csv") == EXPECTED


def test_the_columns_told_by_values_are_written_for_the_team_to_check(tmp_path, capsys, monkeypatch):
    """Swedish is the profile's own language now (`languages.sv`): read with the profile as it was without it (and
    without the other languages added with it, which share «Post-ID»), the columns are told by their values and
    written for the team to check."""
    from profile_variants import without_languages

    without_languages(monkeypatch, tmp_path, "hubspot", "sv", "da", "nb", "fi", "pl", "ko", "zh-CN")
    export = tmp_path / "export"
    shutil.copytree(ACCR / "hs_sv" / "export", export)
    text = init_from_export(capsys, monkeypatch, tmp_path, "hubspot", export)
    for line in ("    deal_id: Associerade affärs-ID:n    # проверьте", "    done: Uppgiftsstatus    # проверьте",
                 "    id: Post-ID    # проверьте", "    value: Belopp    # проверьте", "    title: Affärsnamn    # проверьте",
                 "    org_id: Associerade företags-ID:n (primärt)    # проверьте", "    owner: Företagsägare    # проверьте",
                 "      Inte påbörjad: false", "      Slutförd: true"):
        assert line in text, line
    assert "value: Post-ID" not in text  # an id is no amount


@pytest.mark.parametrize("case", ["hs_sv", pytest.param("hs_ko", marks=pytest.mark.slow)])
def test_the_languages_the_profile_now_has_need_no_mapping(tmp_path, capsys, monkeypatch, case):
    """The same exports with the profile's `languages.sv` / `languages.ko` (written from them): every deals, companies
    and tasks header is the profile's, nothing is left for the team to check."""
    import yaml

    export = tmp_path / "export"
    shutil.copytree(ACCR / case / "export", export)
    text = init_from_export(capsys, monkeypatch, tmp_path, "hubspot", export)
    data = yaml.safe_load(text)
    assert not data.get("columns"), data.get("columns")
    assert "проверьте" not in text.split("fields:")[0]


def test_one_dutch_name_among_danish_headers_is_no_dutch_file(tmp_path, capsys, monkeypatch):
    """R8: «Record-ID» (a Dutch label too) among fourteen Danish headers: the file is not taken for Dutch, and no skip
    reason names a Dutch header the export lacks («Eigenaar van deal», «Reden van verlies»)."""
    from cli_helpers import cli_ru

    export = tmp_path / "export"
    shutil.copytree(ACCR / "hs_da_more" / "export", export)
    text = init_from_export(capsys, monkeypatch, tmp_path, "hubspot", export)
    code, said, _err = cli_ru(capsys, monkeypatch, "inspect", str(export), "--config", str(tmp_path / "crm-audit.yaml"))
    assert code == 0
    for dutch in ("Eigenaar van deal", "Reden van verlies", "Dealnaam", "Bedrijfseigenaar", "Taakstatus", "Языки заголовков: nl"):
        assert dutch not in text and dutch not in said, dutch
    assert "не с чем сравнить «Aftaleejer»" in said
