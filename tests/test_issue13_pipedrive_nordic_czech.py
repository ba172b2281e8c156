"""Pipedrive in Swedish, Norwegian and Czech beyond the object prefix: deal, organization, person and activity
headers, status values and the done column, through `init --from-export` → `run` with no hand edits.

The words are those of Pipedrive's help centre in each language (recorded with what is inferred in
crm_audit/profiles/pipedrive.yaml): sv «Värde», «Kontaktperson», «steg», deals «vunna eller förlorade», an
activity «markerad som klar»; nb «Verdi», «Kontaktpersonen», «trinn», «eier»; cs «Hodnota», «Kontaktní osoba»,
«fáze», «stav», «VYHRANÝ, nebo ZTRACENÝ», an activity «označena jako hotová». The team and its expected audit are
test_languages_pipedrive's (the same in every language); the team's custom fields carry its own names.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_languages_pipedrive import EXPECTED, LANG, init_and_run, write_export

FIXTURES = Path(__file__).parent / "fixtures"

MORE = {
    "sv": {
        "deal": "Affär - ", "org": "Organisation - ", "person": "Person - ", "act": "Aktivitet - ",
        "d": {"id": "ID", "title": "Titel", "owner": "Ägare", "currency": "Valuta", "value": "Värde", "org": "Organisation",
              "org_id": "Organisations-ID", "person": "Kontaktperson", "person_id": "Kontaktpersons-ID", "pipeline": "Pipeline",
              "stage": "Steg", "status": "Status", "lost": "Förlustorsak", "created": "Affär skapad", "changed": "Senaste stegändring",
              "source": "Källa", "city": "Stad", "country": "Land"},
        "o": {"id": "ID", "name": "Namn", "owner": "Ägare"},
        "p": {"id": "ID", "name": "Namn", "owner": "Ägare", "org": "Organisation"},
        "a": {"id": "ID", "subject": "Ämne", "type": "Typ", "due": "Förfallodatum", "done": "Klar", "deal_id": "Affärs-ID"},
        "status": {"open": "Öppen", "won": "Vunnen", "lost": "Förlorad"}, "done": {True: "Klar", False: "Att göra"},
    },
    "nb": {
        "deal": "Avtale - ", "org": "Organisasjon - ", "person": "Person - ", "act": "Aktivitet - ",
        "d": {"id": "ID", "title": "Tittel", "owner": "Eier", "currency": "Valuta", "value": "Verdi", "org": "Organisasjon",
              "org_id": "Organisasjons-ID", "person": "Kontaktperson", "person_id": "Kontaktperson-ID", "pipeline": "Pipeline",
              "stage": "Trinn", "status": "Status", "lost": "Tapsårsak", "created": "Avtale opprettet", "changed": "Siste trinnendring",
              "source": "Kilde", "city": "Sted", "country": "Land"},
        "o": {"id": "ID", "name": "Navn", "owner": "Eier"},
        "p": {"id": "ID", "name": "Navn", "owner": "Eier", "org": "Organisasjon"},
        "a": {"id": "ID", "subject": "Emne", "type": "Type", "due": "Forfallsdato", "done": "Fullført", "deal_id": "Avtale-ID"},
        "status": {"open": "Åpen", "won": "Vunnet", "lost": "Tapt"}, "done": {True: "Fullført", False: "Å gjøre"},
    },
    "cs": {
        "deal": "Obchod - ", "org": "Organizace - ", "person": "Osoba - ", "act": "Aktivita - ",
        "d": {"id": "ID", "title": "Název", "owner": "Vlastník", "currency": "Měna", "value": "Hodnota", "org": "Organizace",
              "org_id": "ID organizace", "person": "Kontaktní osoba", "person_id": "ID kontaktní osoby", "pipeline": "Pipeline",
              "stage": "Fáze", "status": "Stav", "lost": "Důvod ztráty", "created": "Obchod vytvořen", "changed": "Poslední změna fáze",
              "source": "Zdroj", "city": "Město", "country": "Země"},
        "o": {"id": "ID", "name": "Název", "owner": "Vlastník"},
        "p": {"id": "ID", "name": "Jméno", "owner": "Vlastník", "org": "Organizace"},
        "a": {"id": "ID", "subject": "Předmět", "type": "Typ", "due": "Termín", "done": "Hotovo", "deal_id": "ID obchodu"},
        "status": {"open": "Otevřený", "won": "Vyhraný", "lost": "Ztracený"}, "done": {True: "Hotovo", False: "K provedení"},
    },
}


@pytest.mark.parametrize("lang", list(MORE))
def test_nordic_and_czech_exports_audit_on_the_first_try(lang, tmp_path, monkeypatch):
    monkeypatch.setitem(LANG, lang, MORE[lang])
    export = write_export(lang, tmp_path / "export")
    settings, found, out = init_and_run(export, tmp_path / "work")
    assert found == EXPECTED
    assert not (settings.get("columns") or {})  # every header known to the profile: nothing to confirm
    d = MORE[lang]["d"]
    assert settings["fields"] == {"deal.Источник сделки": d["source"], "deal.Город": d["city"], "deal.Страна": d["country"]}
    # every status and done value read (the one «unknown» line: 1.11 runs on «Клиенты», which init named this team's
    # «Funil de vendas», and validate / run say the team has no «Партнеры» — issue 13 D11, acceptance_f's defect 5)
    said = [ln for ln in out.lower().splitlines() if "unknown" in ln or "неизвестн" in ln]
    assert all("unknown pipeline «партнеры»" in ln for ln in said), said


def test_spanish_done_column_realizada(tmp_path):
    """An acceptance tester's Spanish export: «Actividad - Realizada» with «Por hacer» / «Realizada» is the done
    column (deal 1's only task is done: 1.1; deal 2's task of 2026-11-10 is overdue: 2.3)."""
    from test_issue13_owners_and_stages import init, run, table
    from test_crm_exports_issue13 import findings

    export = FIXTURES / "issue13-owners" / "pipedrive-es-realizada"
    work = tmp_path / "work"
    s = init(work, "pipedrive", export)
    assert not (s.get("columns") or {}).get("activities")
    assert "open-deal-without-tasks" not in s["rules"]["skip"] and "overdue-tasks" not in s["rules"]["skip"]
    assert run(work, export) == 0
    found = findings(work)
    assert found["open-deal-without-tasks"] == {"1"} and found["overdue-tasks"] == {"2"}
    assert dict(table(export, "pipedrive", "SELECT id, done FROM activities")) == {"100": False, "101": False, "102": True}
