"""Issue 13, acceptance pass J: the loader's and the messages' defects J6, J10, J11, J12. Each export case
(``tests/fixtures/issue13-acceptance-j-loader/<case>``, copied from the tester's ``ex/``) runs through the CLI as a user
runs it (`init --from-export`, `inspect`, `run`); the rest checks the profile data and the matcher directly.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
import yaml

from crm_audit.cli import main
from crm_audit.engine.profile import load_profile
from crm_audit.errors import SettingsError

CASES = Path(__file__).parent / "fixtures" / "issue13-acceptance-j-loader"
AS_OF = "2026-11-20"


def init(work: Path, crm: str, export: Path) -> Path:
    assert main(["init", str(work), "--crm", crm, "--from-export", str(export)]) == 0
    return work / "crm-audit.yaml"


def run(settings: Path, export: Path) -> int:
    work = settings.parent
    return main(["run", "-c", str(settings), "--export", str(export), "--as-of", AS_OF, "--out", str(work / "audit.xlsx"),
                 "--violations-csv", str(work / "v.csv"), "--quiet"])


def inspect_ru(export: Path, crm: str, settings: Path | None, capsys, monkeypatch) -> str:
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "ru")
    capsys.readouterr()
    main(["inspect", str(export), "--crm", crm] + (["-c", str(settings)] if settings else []))
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "en")
    return capsys.readouterr().out


# --------------------------------------------------------------------------- J6: a totals row is no deal


def test_j6_the_totals_row_of_a_cp1251_pipedrive_export_is_not_audited_as_a_deal(tmp_path, capsys, monkeypatch):
    """«Итого;;1 500,00;;…» under two deals (cp1251, `;`): the profile's totals word matched in the engine (no ASCII
    «\\b» after a Cyrillic word), so the audit counts 2 deals, warns of the footer line and names no pipeline «»."""
    export = CASES / "pd_ru_1251"
    settings = init(tmp_path / "w", "pipedrive", export)
    assert "Итого" not in settings.read_text(encoding="utf-8")
    text = inspect_ru(export, "pipedrive", settings, capsys, monkeypatch)
    assert "deals.csv → сделки: 2 строки" in text
    assert "пропущено строк-итогов отчёта (итоги, примечания): 1" in text
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "ru")
    capsys.readouterr()
    assert main(["run", "-c", str(settings), "--export", str(export), "--as-of", AS_OF, "--out", str(tmp_path / "a.xlsx"),
                 "--violations-csv", str(tmp_path / "v.csv")]) == 0
    out = capsys.readouterr().out
    assert "проверено 2 сделки" in out and "сделка Итого" not in out
    with open(tmp_path / "v.csv", encoding="utf-8") as f:
        assert {r["deal_id"] for r in csv.DictReader(f)} <= {"1", "2"}


TOTALS = {  # profile -> (totals lines it drops, first cells that are no totals line)
    "pipedrive": (["Итого", "ИТОГО:", "Всего", "Итого по сделкам", "Total", "Totais", "Gesamt", "Summe (3)", "Totale",
                   "Razem", "Suma", "Totalt", "Summa", "Celkem", "Součet"], ["Итоговая сделка", "Totalitarian", "Sumatra"]),
    "amocrm": (["Итого", "итого: 3", "Всего", "Total", "Totales", "Totais"], ["Total Energies", "Итоговый проект"]),
    "bitrix24": (["Итого", "Разом", "Усього:", "Total", "Gesamt", "Suma", "Razem"], ["Total Energies", "Суммы"]),
    "hubspot": (["Total", "Totales", "Totais", "Gesamt", "合計"], ["Total Energies", "Totalizer"]),
}


@pytest.mark.parametrize("crm", sorted(TOTALS))
def test_j6_each_profile_drops_its_languages_totals_word_as_the_engine_matches_it(crm):
    """The footer patterns as the loader runs them (DuckDB's RE2, lower-cased first cell): every language's word."""
    patterns = load_profile(crm).footer
    con = duckdb.connect()

    def dropped(cell: str) -> bool:
        return any(con.execute("SELECT regexp_full_match(lower(trim(?)), ?, 's')", [cell, p]).fetchone()[0] for p in patterns)

    totals, deals = TOTALS[crm]
    assert [c for c in totals if not dropped(c)] == []
    assert [c for c in deals if dropped(c)] == []


def test_j6_a_footer_pattern_with_an_ascii_word_boundary_is_a_profile_error(tmp_path):
    doc = {"name": "t", "footer": [r"(итого|total)\b.*"],
           "entities": {"deals": {"files": ["deals"], "fields": {"id": {"headers": ["ID"], "type": "id", "required": True}}}}}
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SettingsError) as exc:
        load_profile(str(path))
    assert "footer" in str(exc.value)
    # the reason, as the profile's validator gives it
    from crm_audit.engine.profile import Profile

    with pytest.raises(ValueError, match="ASCII word boundary"):
        Profile.model_validate(doc)


# --------------------------------------------------------------------------- J10: inspect says what run will do


def test_j10_inspect_says_run_stops_on_a_bad_value_under_the_settings_init_wrote(tmp_path, capsys, monkeypatch):
    """pd_pl_x: «Może» in «Aktywność - Wykonane». init sees the cell that will not read and writes `on_bad_value: warn`
    (never a blocked first run, acceptance L6): inspect says the cell is treated as empty and run audits; with
    `on_bad_value: error` inspect says `run` stops on it, and run does stop (exit 2)."""
    export = CASES / "pd_pl_x"
    settings = init(tmp_path / "w", "pipedrive", export)
    assert "on_bad_value: warn" in settings.read_text(encoding="utf-8")
    text = inspect_ru(export, "pipedrive", settings, capsys, monkeypatch)
    assert "неизвестное значение «Może» (ожидалось одно из: Wykonane, Zakończone, Do zrobienia, Niewykonane); ячейка " \
           "считается пустой" in text
    assert "остановится" not in text
    assert run(settings, export) == 0

    strict = settings.with_name("error.yaml")
    strict.write_text(settings.read_text(encoding="utf-8").replace("on_bad_value: warn", "on_bad_value: error"), encoding="utf-8")
    text = inspect_ru(export, "pipedrive", strict, capsys, monkeypatch)
    assert "`run` остановится на нечитаемых значениях ниже (on_bad_value: error)" in text
    assert ("activities.xlsx строка 3 «Aktywność - Wykonane»: неизвестное значение «Może» (ожидалось одно из: Wykonane, "
            "Zakończone, Do zrobienia, Niewykonane); `run` на нём остановится (on_bad_value: error)") in text
    assert "считается пустой" not in text
    assert run(strict, export) == 2


def test_j10_inspect_without_settings_says_what_the_default_does(tmp_path, capsys, monkeypatch):
    """No crm-audit.yaml: the default `on_bad_value: error` — the same words."""
    monkeypatch.chdir(tmp_path)
    text = inspect_ru(CASES / "pd_pl_x", "pipedrive", None, capsys, monkeypatch)
    assert "«Może»" in text and "`run` на нём остановится (on_bad_value: error)" in text


# --------------------------------------------------------------------------- J12: a shared header adds no language


def test_j12_a_polish_bitrix24_export_is_polish_only(tmp_path, capsys, monkeypatch):
    """«Kontakt» is the German name of the contact field in the profile and the Polish one too (Bitrix24's
    lang/pl CRM_DEAL_FIELD_CONTACT_ID): Polish names no contact field otherwise, so it is no evidence of German."""
    export = CASES / "b24_pl"
    text = inspect_ru(export, "bitrix24", None, capsys, monkeypatch)
    assert "Языки заголовков: pl\n" in text
    settings = init(tmp_path / "w", "bitrix24", export)
    assert "# Язык заголовков выгрузки: pl\n" in settings.read_text(encoding="utf-8")


def test_j12_a_second_language_still_counts_where_the_first_names_the_field_otherwise():
    """A Portuguese Pipedrive file with «Deal - Value» (pt-BR writes «Negócio - Valor»): mixed, «pt-BR, en»."""
    p = load_profile("pipedrive")
    pt = ["Negócio - ID", "Negócio - Título", "Negócio - Etapa", "Negócio - Funil"]
    assert p.interface_languages(pt + ["Deal - Value"]) == ["pt-BR", "en"]
    assert p.interface_languages(pt + ["Negócio - Valor"]) == ["pt-BR"]


def test_j12_a_name_the_first_language_lacks_is_no_evidence(tmp_path):
    doc = {"name": "t", "language": "xx", "entities": {"deals": {"files": ["deals"], "fields": {
        "id": {"headers": ["ID"], "type": "id", "required": True}, "title": {"headers": []}, "stage": {"headers": []},
        "person_name": {"headers": []}}}},
        "languages": {
            "de": {"entities": {"deals": {"fields": {"title": ["Auftragsname"], "stage": ["Phase"], "person_name": ["Kontakt"]}}}},
            "pl": {"entities": {"deals": {"fields": {"title": ["Nazwa deala"], "stage": ["Etap deala"]}}}}}}
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    p = load_profile(str(path))
    assert p.interface_languages(["ID", "Nazwa deala", "Etap deala", "Kontakt"]) == ["pl"]
    assert p.interface_languages(["ID", "Nazwa deala", "Etap deala", "Phase"]) == ["pl", "de"]  # pl names the stage otherwise


# --------------------------------------------------------------------------- J11: a comment cites the file's language


def _two_language_profile(tmp_path):
    doc = {"name": "t", "entities": {"deals": {"files": ["deals"], "fields": {
        "id": {"headers": ["ID"], "type": "id", "required": True}, "title": {"headers": ["Deal Name"]},
        "created": {"headers": ["Created"], "type": "date"}, "person_name": {"headers": ["Contact"]}}}},
        "languages": {
            "es": {"entities": {"deals": {"fields": {"title": ["Nombre"], "created": ["Fecha de creación"]}}}},
            "pt-BR": {"entities": {"deals": {"fields": {"title": ["Nome"], "created": ["Criado em"], "person_name": ["Contato"]}}}}}}
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_profile(str(path))


def test_j11_a_suggestion_cites_a_name_of_the_files_language_or_none(tmp_path):
    """A Spanish file's «Criado el» (a typo of a team) resembles the Portuguese «Criado em» and «Contacto» the
    Portuguese «Contato»: the columns are still proposed, but no other language's name is cited (Spanish has none
    close): «» (acceptance J11: `created: Creado el # похоже на «Criado em»`)."""
    from crm_audit.engine.suggest import suggest_for_entity

    p = _two_language_profile(tmp_path)
    headers = ["ID", "Nombre", "Criado el", "Contacto"]
    langs = p.interface_languages(headers)
    assert langs == ["es"]
    got = {s.field: (s.header, s.like) for s in suggest_for_entity(p, "deals", {"id", "title"}, ["Criado el", "Contacto"],
                                                                  langs=langs)}
    assert got == {"created": ("Criado el", ""), "person_name": ("Contacto", "")}
    # a Portuguese file cites the Portuguese name; an unknown language, the closest name as before
    got = {s.field: s.like for s in suggest_for_entity(p, "deals", {"id", "title"}, ["Criada em"], langs=["pt-BR"])}
    assert got == {"created": "Criado em"}
    got = {s.field: s.like for s in suggest_for_entity(p, "deals", {"id", "title"}, ["Criado el"], langs=[])}
    assert list(got) == ["created"] and got["created"]


def test_j11_init_comment_without_a_cited_name(tmp_path):
    from crm_audit.exportdraft import _looks_like

    assert _looks_like("", "DEAL.csv") == "похоже на название поля (DEAL.csv)"
    assert _looks_like("Fecha de creación", "DEAL.csv") == "похоже на «Fecha de creación» (DEAL.csv)"


def test_j11_inspect_names_no_other_languages_header(tmp_path):
    """inspect's «closest field» line without a cited name, in both languages of the CLI."""
    from crm_audit.engine.inspect import FileReport, InspectReport, format_report
    from crm_audit.i18n import use_language

    rep = InspectReport(tmp_path, "t", "T", False)
    fr = FileReport(tmp_path / "deals.csv", "deals", 1)
    fr.mapped = [("ID", "id")]
    fr.suggestions = {"Creado el": ("created", ""), "Fecha creación": ("created", "Fecha de creación")}
    rep.files = [fr]
    try:
        use_language("en")
        en = format_report(rep)
        use_language("ru")
        ru = format_report(rep)
    finally:
        use_language(None)
    text = en
    assert ("unmapped «Creado el»: closest field created; if it is that field, map it in crm-audit.yaml: "
            "columns: {deals: {created: Creado el}}") in text
    assert "(its header «Fecha de creación»)" in text
    text = ru
    assert "не сопоставлен «Creado el»: ближайшее поле «created»; если это оно, сопоставьте в crm-audit.yaml: `columns:" in text

