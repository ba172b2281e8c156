"""HubSpot's per-stage columns in a language no profile has: the family is told by the deals' own pipelines named
in «"<stage> (<pipeline>)"» (crm_audit/engine/stage_list.family_of_pipelines), and the stages read in column order."""

from __future__ import annotations

import pytest

from crm_audit.engine.profile import load_profile
from crm_audit.engine.stage_list import family_of_pipelines, listed_stages

SWEDISH = ["Post-ID", "Affärsnamn", 'Datum för inträde i "Kvalificerad (Försäljning)"', 'Datum för inträde i "Offert (Försäljning)"',
           'Datum för inträde i «Vunnen (Försäljning)»', 'Datum för utträde ur "Kvalificerad (Försäljning)"',
           'Anteckning "Intern (Ej pipeline)"', 'Anteckning "Extern (Ej pipeline)"', 'Anteckning "Tredje (Ej pipeline)"']



@pytest.fixture(autouse=True)
def _languages_no_profile_had(monkeypatch, tmp_path):
    """Swedish is a profile's own language now (the languages added from acceptance testers' exports): these tests read
    the export with the profiles as they were without them, so what they test — columns told without a profile's
    names — stays tested."""
    from profile_variants import as_before

    as_before(monkeypatch, tmp_path)

def test_the_family_naming_the_deals_pipelines_most_often():
    assert family_of_pipelines(SWEDISH, ["Försäljning"]) == 'Datum för inträde i "{stage} ({pipeline})"'
    # the «Anteckning» columns name no pipeline of the deals; one column is no family
    assert family_of_pipelines(SWEDISH, ["Annat"]) is None
    assert family_of_pipelines(SWEDISH[:3], ["Försäljning"]) is None


def test_stages_in_column_order_only_when_no_profile_pattern_names_a_column():
    spec = load_profile("hubspot").entities["deals"]
    pairs = listed_stages(spec, SWEDISH, ["Försäljning"])
    assert [(p, s) for p, s, _pat in pairs] == [("Försäljning", "Kvalificerad"), ("Försäljning", "Offert"),
                                                 ("Försäljning", "Vunnen")]
    english = ['Date entered "Qualified (Sales)"', 'Date entered "Won (Sales)"', *SWEDISH[2:4]]
    assert [s for _p, s, _pat in listed_stages(spec, english, ["Sales", "Försäljning"])] == ["Qualified", "Won"]
    assert listed_stages(spec, SWEDISH) == []  # no pipelines given: the profile's patterns only
