"""Issue 13 (acceptance R1, R4): `init --crm X` on a deals file in an interface language no profile has is never a
blocked first run. The file no other entity claims — named as the profile's deals (Bitrix24's «DEAL_20261120.csv») or
the one such file of the export (a Salesforce report «report1763630000000.csv») — is read as the deals, its columns
proposed by their values (crm_audit/engine/deals_file.py), and a Salesforce report's closing lines in any language
(«Genel Toplamlar (5 kayıt)», «Gizli Bilgiler …») are left out.

Salesforce report in Turkish (tr) / Finnish xlsx with title rows (fi): 5 opportunities, no ids (compared by title):
«test» is flagged by 1.5, «Initech upsell» (no account, open) by 1.11; «Umbrella won» / «Hooli lost» closed by the
Closed / Won flags (0 / 1). Polish (pl): «Nazwa konta» (account), proposed as the title by the name it shares with
«Nazwa szansy sprzedaży», is the company: the opportunity name's cells hold it. Korean (ko): the flags «마감됨» /
«성사됨» are the closed / won flags (closed_words.yaml), so the closed deals are out of 2.4. Bitrix24 in Vietnamese: deal 302 «test» (no company, no source) flagged by 1.5, 1.8 and 1.11, 304 by 1.8."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from cli_helpers import findings_by_code, init_from_export, run_audit

FIXTURES = Path(__file__).parent / "fixtures" / "accr"


def _audit(case: str, crm: str, tmp_path, capsys, monkeypatch) -> tuple[str, dict[str, set[str]]]:
    work, export = tmp_path / "w", tmp_path / "export"
    shutil.copytree(FIXTURES / case / "export", export)
    work.mkdir()
    text = init_from_export(capsys, monkeypatch, work, crm, export)
    run_audit(capsys, monkeypatch, work, export, "2026-11-20")
    return text, findings_by_code(work / "v.csv")


@pytest.mark.parametrize("case", ["sf_tr_csv", "sf_fi_xlsx", "sf_pl_csv", pytest.param("sf_ko_csv", marks=pytest.mark.slow)])
def test_salesforce_report_in_unknown_language_is_read_as_deals(case, tmp_path, capsys, monkeypatch):
    text, found = _audit(case, "salesforce", tmp_path, capsys, monkeypatch)
    assert "проверьте" in text  # every column told by its values is for the user to check
    # the amount is the one number column that is not the stage's: its probability (one value a stage, 0–100) and
    # its days in the stage (named with the stage's word) are not
    assert any(line.strip().startswith("value: ") and line.split("value: ")[1].split()[0] in ("Tutar", "Summa", "Kwota", "금액")
               for line in text.splitlines())
    assert found  # the deals have no ids: their findings are told by title below
    with open(tmp_path / "w" / "v.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    by_code: dict[str, set[str]] = {}
    for row in rows:
        by_code.setdefault(row["rule_code"], set()).add(row["title"])
    assert by_code.get("1.5") == {"test"}
    assert by_code.get("1.11") == {"Initech upsell"}
    assert by_code.get("1.8") == {"test", "Umbrella won"}  # Salesforce's «Lead Source» in the report's language, blank
    # days in the stage from the column named with the stage's word, whole numbers («Aşama Süresi» 19 / 30 days)
    assert by_code.get("2.4") == {"Acme renewal", "Initech upsell"}
    # the report's «Proposal/Price Quote» in its language is the handbook's «Отправлено КП» (Salesforce's default stages,
    # crm_audit/default_pipelines.yaml): the open proposal without an amount is flagged, the stages in Salesforce's order
    assert by_code.get("1.3") == {"Initech upsell"}
    assert "stage_order_confirmed: true" in text
    # the days column read by its word is written for the team to check, not applied unseen
    [days] = [line for line in text.splitlines() if line.strip().startswith("stage_changed_days:")]
    assert "проверьте" in days
    assert all(row["title"] and row["owner"] in ("Jane Doe", "John Roe") for row in rows)  # a footer line is no deal


def test_bitrix24_vietnamese_deal_list_is_read(tmp_path, capsys, monkeypatch):
    # Vietnamese is the profile's own language now (`languages.vi`, written from this export): read with the profile as
    # it was without it, so the columns are still told by their values
    from profile_variants import without_languages

    without_languages(monkeypatch, tmp_path, "bitrix24", "vi")
    text, found = _audit("b24_vi_csv", "bitrix24", tmp_path, capsys, monkeypatch)
    assert "title: Tên giao dịch" in text and "stage: Giai đoạn" in text
    assert found.get("1.5") == {"302"}
    assert found.get("1.8") == {"302", "304"}
    assert found.get("1.11") == {"302"}


def test_kommo_turkish_leads_of_five_stages_are_read(tmp_path, capsys, monkeypatch):
    """Kommo in Turkish, five leads in five stages: the stage is the column beside the pipeline («Satış hunisi») though
    no stage repeats; 5002 «test» (no company) and 5003 flagged by 1.5, 5002 by 1.11 (acceptance R5). Turkish is the
    profile's own language now (amocrm.yaml `languages.tr`, written from this export): read here without it."""
    from profile_variants import without_languages

    without_languages(monkeypatch, tmp_path, "amocrm", "tr")
    text, found = _audit("kommo_tr", "amocrm", tmp_path, capsys, monkeypatch)
    assert "stage: Potansiyel müşteri durumu" in text and "pipeline: Satış hunisi" in text
    assert found.get("1.5") == {"5002", "5003"}
    assert found.get("1.11") == {"5002"}


def test_a_file_whose_values_are_no_deals_still_stops(tmp_path, capsys, monkeypatch):
    """A lone contacts list in a language no profile has (name, phone, city: no stage, no title) is not taken for
    the deals: init says that no deals file is found, exit 2, and writes no settings."""
    from cli_helpers import cli_ru

    export, work = tmp_path / "export", tmp_path / "w"
    export.mkdir()
    work.mkdir()
    (export / "yhteystiedot.csv").write_text("Nimi,Puhelin,Kaupunki\nAnna Lee,+1 555 0101,Austin\n"
                                             "Bob Ray,+1 555 0102,Dallas\nCarl Diaz,+1 555 0103,Boston\n", encoding="utf-8")
    code, _out, err = cli_ru(capsys, monkeypatch, "init", str(work), "--crm", "salesforce", "--from-export", str(export))
    assert code == 2 and "не найден файл сделок" in err
    assert not (work / "crm-audit.yaml").exists()


def test_days_in_stage_column_named_in_settings(tmp_path, capsys, monkeypatch):
    """`columns: {deals: {stage_changed_days: <header>}}` names the «days in stage» column under any header (here one
    with no word of the stage): the same 2.4 as the column init found by its word; a misspelt key is named by validate
    with the right one."""
    from cli_helpers import cli_ru

    work, export = tmp_path / "w", tmp_path / "export"
    shutil.copytree(FIXTURES / "sf_tr_csv" / "export", export)
    work.mkdir()
    [report] = export.iterdir()
    report.write_text(report.read_text(encoding="utf-8").replace("Aşama Süresi", "Kalış"), encoding="utf-8")
    text = init_from_export(capsys, monkeypatch, work, "salesforce", export)
    # 2.4 is off, its advice names the key («… stage_changed_days: <заголовок> …»); the team follows it
    [advice] = [line for line in text.splitlines() if line.strip().startswith("# 2.4:")]
    assert "stage_changed_days: <заголовок>" in advice
    config = work / "crm-audit.yaml"
    lines = [line for line in text.replace("\ncolumns:\n  deals:\n", "\ncolumns:\n  deals:\n    stage_changed_days: Kalış\n", 1)
             .splitlines() if not line.strip().startswith(("no-stage-movement:", "value: Kalış", "# value: Tutar"))]
    config.write_text("\n".join(lines).replace("# value: Kalış", "value: Tutar") + "\n", encoding="utf-8")
    run_audit(capsys, monkeypatch, work, export, "2026-11-20")
    with open(work / "v.csv", encoding="utf-8-sig", newline="") as f:
        assert {r["title"] for r in csv.DictReader(f) if r["rule_code"] == "2.4"} == {"Acme renewal", "Initech upsell"}
    config.write_text(config.read_text(encoding="utf-8").replace("stage_changed_days:", "stage_changed_dayz:"), encoding="utf-8")
    code, out, err = cli_ru(capsys, monkeypatch, "validate", "-c", str(config))
    assert code == 2 and "stage_changed_dayz" in out + err and "stage_changed_days" in out + err
