"""Issue 13, acceptance tester B's defects on `init`'s inference and the messages (D4, D11, D12, D13, D14, D15,
D17): each case replays the tester's export (``tests/fixtures/issue13-acceptance-h-init/<case>``, copied from the
tester's ``exports/``) through the CLI as a user runs it and asserts the values: what init writes, what `inspect`
says, the findings of `run`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import yaml

from crm_audit.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "issue13-acceptance-h-init"
AS_OF = "2026-11-20"


def init(work: Path, crm: str, export: Path) -> Path:
    assert main(["init", str(work), "--crm", crm, "--from-export", str(export)]) == 0
    return work / "crm-audit.yaml"


def run(settings: Path, export: Path, *extra: str) -> int:
    work = settings.parent
    return main(["run", "-c", str(settings), "--export", str(export), "--as-of", AS_OF, "--out", str(work / "audit.xlsx"),
                 "--violations-csv", str(work / "v.csv"), "--quiet", *extra])


def findings(settings: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    with open(settings.parent / "v.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["rule_id"], set()).add(row["deal_id"])
    return out


def inspect_text(export: Path, crm: str, capsys, monkeypatch, settings: Path | None = None) -> str:
    """`crm-audit inspect` in Russian (the managers' language)."""
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "ru")
    capsys.readouterr()
    args = ["inspect", str(export), "--crm", crm] + (["-c", str(settings)] if settings else [])
    main(args)
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "en")
    return capsys.readouterr().out


def loaded(settings: Path) -> dict:
    return yaml.safe_load(settings.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- D4: a blank «Next Step» is no date


def test_d4_a_blank_column_whose_name_only_resembles_a_date_field_is_a_comment_not_a_mapping(tmp_path):
    """Salesforce «Next Step» is free text; blank in the first export, init wrote it as `next_activity_date` and the
    next export (a manager typed «Send revised quote») stopped with exit 2. Now it is a commented proposal."""
    settings = init(tmp_path / "w", "salesforce", FIXTURES / "sf_en")
    data = loaded(settings)
    assert data.get("columns") in ({}, None) or "next_activity_date" not in (data["columns"].get("deals") or {})
    text = settings.read_text(encoding="utf-8")
    assert "#     next_activity_date: Next Step    # название похоже на «Next Step Date»" in text
    assert "значений в колонке нет — не записано" in text
    # the next export, with text typed into «Next Step», audits (no «expected: date» stop)
    assert run(settings, FIXTURES / "sf_en_nextstep", "--dry-run") == 0
    # uncommented as the comment says, it is a mapping again (the user's choice)
    edited = text.replace("columns: {}", "columns:").replace("#   deals:", "  deals:").replace(
        "#     next_activity_date", "    next_activity_date")
    assert loaded_text(edited)["columns"] == {"deals": {"next_activity_date": "Next Step"}}


def loaded_text(text: str) -> dict:
    return yaml.safe_load(text)


def test_d4_a_column_whose_values_are_dates_is_still_mapped_by_a_close_name(tmp_path):
    """pt-BR «Próxima atividade» (dates in it) ~ «Data da próxima atividade»: the values confirm it, it is written."""
    data = loaded(init(tmp_path / "w", "pipedrive", FIXTURES / "pd_ptbr"))
    assert data["columns"]["deals"]["next_activity_date"] == "Próxima atividade"


# --------------------------------------------------------------------------- D17: the interface language


def test_d17_the_language_is_the_one_whose_own_headers_match(capsys, monkeypatch):
    from crm_audit.engine.profile import load_profile
    from crm_audit.engine.readers import export_files, peek_headers

    cases = {("pd_ptbr", "pipedrive"): ["pt-BR"], ("sf_en", "salesforce"): ["en"], ("sf_ja", "salesforce"): ["ja"],
             ("hs_de", "hubspot"): ["de"], ("b24_de", "bitrix24"): ["de"], ("pd_en", "pipedrive"): ["en"],
             ("kommo_es", "amocrm"): ["es"], ("amo_ru", "amocrm"): ["ru"], ("b24_rest", "bitrix24"): []}
    for (case, crm), want in cases.items():
        headers = [h for p in export_files(FIXTURES / case) for h in peek_headers(p)]
        assert load_profile(crm).interface_languages(headers) == want, case
    # «ID», «Pipeline», «Status», API codes (CLOSED, STAGE_ID) are no evidence; a mixed file lists both, best first
    p = load_profile("pipedrive")
    assert p.interface_languages(["ID", "Pipeline", "Status"]) == []
    assert p.interface_languages(["Negócio - Título", "Negócio - Etapa", "Negócio - Funil", "Deal - Owner"]) == ["pt-BR", "en"]
    assert load_profile("bitrix24").interface_languages(["ID", "TITLE", "STAGE_ID", "CLOSED"]) == []
    # inspect says the one language (no «pt-BR, it», «pt-BR, de, nl», «ja, zh-TW»)
    assert "Языки заголовков: pt-BR\n" in inspect_text(FIXTURES / "pd_ptbr", "pipedrive", capsys, monkeypatch)
    assert "Языки заголовков: en\n" in inspect_text(FIXTURES / "sf_en", "salesforce", capsys, monkeypatch)
    assert "Языки заголовков: ja\n" in inspect_text(FIXTURES / "sf_ja", "salesforce", capsys, monkeypatch)


def test_d17_the_settings_comment_names_the_best_language(tmp_path):
    for case, crm, lang in (("pd_ptbr", "pipedrive", "pt-BR"), ("sf_en", "salesforce", "en"), ("sf_ja", "salesforce", "ja")):
        text = init(tmp_path / case, crm, FIXTURES / case).read_text(encoding="utf-8")
        assert f"# Язык заголовков выгрузки: {lang}\n" in text, case
