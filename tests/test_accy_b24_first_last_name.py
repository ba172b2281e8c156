"""Acceptance Y-C: a Bitrix24 contact list in German / Polish writes first and last name in two columns
(«Vorname» / «Nachname», «Imię» / «Nazwisko»): they are joined as the Russian «Имя» + «Фамилия» are, so the deal's
«Kontakt» («Jens Weber») links to its contact and rule 1.7 sees the contact's owner (fixtures: tests/fixtures/accy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_audit.engine.profile import load_profile
from cli_helpers import findings_by_code, init_from_export, run_audit

FIX = Path(__file__).parent / "fixtures" / "accy"


@pytest.mark.parametrize("case", ["b24_de", "b24_pl"])
def test_first_and_last_name_joined(tmp_path, capsys, monkeypatch, case):
    settings = init_from_export(capsys, monkeypatch, tmp_path, "bitrix24", FIX / case)
    assert "name: Vorname" not in settings and "name: Imię" not in settings  # no one column proposed for the name
    run_audit(capsys, monkeypatch, tmp_path, FIX / case, "2026-11-20")
    assert findings_by_code(tmp_path / "v.csv").get("1.7") == {"115", "116"}


def test_every_latin_language_has_the_pair():
    """Each interface language whose names are «first last» lists its first / last name pair for the contact's name."""
    headers = {h for h in load_profile("bitrix24").entities["persons"].fields["name"].headers}
    pairs = {"en": ("First name", "Last name"), "de": ("Vorname", "Nachname"), "ua": ("Ім'я", "Прізвище"),
             "es": ("Nombre", "Apellido"), "pt-BR": ("Nome", "Sobrenome"), "pl": ("Imię", "Nazwisko"),
             "fr": ("Prénom", "Nom"), "it": ("Nome", "Cognome"), "tr": ("Ad", "Soyad"), "id": ("Nama depan", "Nama belakang")}
    assert {code: pair for code, pair in pairs.items() if not set(pair) <= headers} == {}
