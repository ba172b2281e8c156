"""Acceptance Z-G: the trial stage is proposed in the interface languages the profiles added last.

A HubSpot export in Swedish, Danish, Norwegian, Finnish or Korean (the acceptance tester's case hs_langs, its headers
and stage names: /tmp/accZ/cases/hs_langs/make.py) has its trial stage «Testperiod» / «Prøveperiode» /
«Kokeilujakso» / «체험 기간»: init wrote `trial_stages: []` and rule 2.4 flagged the deal standing in it. The words are
data (crm_audit/name_synonyms.yaml, «Тестовый период», INFERRED as the languages' usual words); the other new
languages' words (tr, id, uk, vi, ja, zh-TW) are checked through the same proposal.
"""

from __future__ import annotations

import csv

import pytest
import yaml

from cli_helpers import findings_by_code, init_from_export, run_audit
from slow_variants import every_other

# the acceptance tester's deals headers (id, name, pipeline, stage, owner, amount, created, entered the current stage,
# closed?, closed won?) and words (true / false, the pipeline, an open stage, the trial stage, won / lost stages)
LANGS = {
    "sv": (["Post-ID", "Affärens namn", "Pipeline", "Affärsfas", "Affärsägare", "Belopp", "Skapandedatum",
            "Datum för inträde i aktuell fas", "Är affären stängd?", "Är stängd vunnen"],
           "Sant", "Falskt", "Säljpipeline", "Demo genomförd", "Testperiod", "Stängd vunnen", "Stängd förlorad"),
    "da": (["Post-id", "Aftalenavn", "Pipeline", "Aftalefase", "Aftaleejer", "Beløb", "Oprettelsesdato",
            "Dato for indtræden i nuværende fase", "Er aftalen lukket?", "Er lukket vundet"],
           "Sand", "Falsk", "Salgspipeline", "Demo afholdt", "Prøveperiode", "Lukket vundet", "Lukket tabt"),
    "no": (["Post-ID", "Avtalenavn", "Pipeline", "Avtalefase", "Avtaleeier", "Beløp", "Opprettelsesdato",
            "Dato for inngang til gjeldende fase", "Er avtalen lukket?", "Er lukket vunnet"],
           "Sann", "Usann", "Salgspipeline", "Demo holdt", "Prøveperiode", "Lukket vunnet", "Lukket tapt"),
    "fi": (["Tietueen tunnus", "Kaupan nimi", "Myyntiputki", "Kaupan vaihe", "Kaupan omistaja", "Summa", "Luontipäivä",
            "Nykyiseen vaiheeseen siirtymisen päivämäärä", "Onko kauppa suljettu?", "Onko suljettu voitettu"],
           "Tosi", "Epätosi", "Myyntiputki", "Demo pidetty", "Kokeilujakso", "Suljettu voitettu", "Suljettu hävitty"),
    "ko": (["레코드 ID", "거래 이름", "파이프라인", "거래 단계", "거래 소유자", "금액", "생성 날짜", "현재 단계 진입 날짜",
            "거래 종료 여부", "종료 성사 여부"],
           "참", "거짓", "판매 파이프라인", "데모 완료", "체험 기간", "성사됨", "실패함"),
}


def _export(lang: str, d) -> str:
    headers, yes, no, pipe, demo, trial, won, lost = LANGS[lang]
    d.mkdir(parents=True)
    rows = [  # id, name, stage, entered the stage, closed, won
        ["9103", "Acme Print", demo, "2026-10-20 10:15", no, no],    # 31 days in a stage: 2.4
        ["9118", "Beta Bakery", trial, "2026-10-21 10:15", no, no],  # 30 days in the trial stage: spared
        ["9101", "Gamma Garage", demo, "2026-11-15 10:15", no, no],
        ["9105", "Delta Build", won, "2026-09-01 10:15", yes, yes],
        ["9106", "Epsilon Shop", lost, "2026-09-01 10:15", yes, no],
    ]
    with open(d / "hubspot-crm-exports-deals.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(headers)
        for i, name, stage, since, closed, is_won in rows:
            w.writerow([i, name, pipe, stage, "Anna Berg", "1000", "2026-09-01 10:15", since, closed, is_won])
    return trial


@pytest.mark.parametrize("lang", every_other(list(LANGS)))
def test_trial_stage_proposed_and_spared_by_2_4(lang, tmp_path, capsys, monkeypatch):
    trial = _export(lang, tmp_path / "export")
    text = init_from_export(capsys, monkeypatch, tmp_path / "w", "hubspot", tmp_path / "export")
    assert yaml.safe_load(text)["trial_stages"] == [trial]
    assert f"«{trial}» — похоже на «Тестовый период» руководства" in text
    run_audit(capsys, monkeypatch, tmp_path / "w", tmp_path / "export", "2026-11-20")
    assert findings_by_code(tmp_path / "w" / "v.csv").get("2.4") == {"9103"}


@pytest.mark.parametrize("stage", ["Testperiod", "Prøveperiode", "Prøvetid", "Kokeilujakso", "체험 기간", "试用期", "試用期",
                                   "お試し期間", "Okres próbny", "Deneme süresi", "Masa percobaan", "Uji coba",
                                   "Тестовий період", "Dùng thử", "Ücretsiz deneme (14 gün)"])
def test_trial_stage_words_of_the_new_languages(stage):
    from crm_audit.exportdraft import Draft, PipelineDraft, fill_lists

    d = Draft(crm="hubspot")
    d.pipelines = [PipelineDraft("P", ["Demo", "Offert skickad", stage, "Faktura"], "", True)]
    fill_lists(d, [], [])
    assert d.trial_stages == [stage]


def test_the_closest_name_is_the_one_said():
    from crm_audit.exportdraft import Draft, PipelineDraft, fill_lists

    d = Draft(crm="hubspot")
    d.pipelines = [PipelineDraft("P", ["Demo", "Testperiod"], "", True)]
    fill_lists(d, [], [])
    assert d.trial_why == ["«Testperiod» — похоже на «Тестовый период» руководства (по названию «Testperiod»)"]
