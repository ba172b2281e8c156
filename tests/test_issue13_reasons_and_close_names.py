"""Issue 13, acceptance pass N (/tmp/accN/REPORT.md): N7 and N8.

* N7: a skip reason names the cause the rule really cannot run without (1.5 without the deal's title: the title, not
  the organizations file one `any:` branch reads), and the columns it names are in the export's interface language
  (a Polish Bitrix24 export: «ID kontaktu», «Imię i nazwisko», never the Russian «ID контакта», «ФИО»; a German
  HubSpot export: «IDs der zugeordneten Kontakte», «Name des Unternehmens», never «Associated Contact IDs», «name»);
* N8: handbook stages and fields close to the team's are proposed (a pt-BR Salesforce export's «Proposta/Cotação de
  preço» for «Отправлено КП», «Cidade de cobrança» / «País de cobrança» for «Город» / «Страна»).

The exports are the tester's cases under tests/fixtures/real/* (their README names the source), through
`init --from-export` → `inspect` as a user types them.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

from crm_audit.cli import main
from crm_audit.engine.inspect import inspect_export
from real_fixtures import copy_export as _export

REAL = Path(__file__).parent / "fixtures" / "real"


def _why(rep, code: str) -> str:
    return next(r.why for r in rep.rules if r.code == code)


def _init(tmp: Path, export: Path, crm: str, monkeypatch) -> Path:
    monkeypatch.chdir(tmp)
    assert main(["init", "--crm", crm, "--from-export", str(export)]) == 0
    return tmp / "crm-audit.yaml"


# --------------------------------------------------------------------------- N7: the cause


def _pipedrive_without_title(tmp: Path) -> Path:
    """The English Pipedrive export without its «Deal - Title» column, and without organizations / persons files."""
    out = tmp / "export"
    out.mkdir()
    src = REAL / "pd_en_usexcel_m1"
    shutil.copy(src / "activities.csv", out / "activities.csv")
    with (src / "deals.csv").open(encoding="cp1252", newline="") as f:
        rows = list(csv.reader(f))
    cut = rows[0].index("Deal - Title")
    with (out / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([r[:cut] + r[cut + 1:] for r in rows])
    return out


def test_n7_the_title_is_the_cause_not_the_absent_organizations_file(tmp_path, monkeypatch):
    export = _pipedrive_without_title(tmp_path)
    rep = inspect_export(export, crm="pipedrive")
    why = _why(rep, "1.5")
    assert why == "deals.csv: required column «Deal - Title» is missing", why
    assert "organizations" not in why
    # 1.7 reads only the linked records' owners (one `any:` branch each): without both files they are its cause
    assert _why(rep, "1.7").startswith("the export has no organizations file (organizations.csv), so"), _why(rep, "1.7")

    # init switches 1.5 off naming the title, so the first audit runs
    text = _init(tmp_path, export, "pipedrive", monkeypatch).read_text(encoding="utf-8")
    assert "    invalid-name: в выгрузке нет поля «Deal - Title» (deals.csv)\n" in text


def test_n7_with_the_title_the_rule_runs_without_the_organizations_file(tmp_path):
    export = _export(tmp_path, "pd_en_usexcel_m1")
    (export / "organizations.csv").unlink()
    (export / "persons.csv").unlink()
    rep = inspect_export(export, crm="pipedrive")
    assert next(r.state for r in rep.rules if r.code == "1.5") == "run"


# --------------------------------------------------------------------------- N7: the language


def _run_note(tmp: Path, export: Path, crm: str, monkeypatch, capsys) -> str:
    """The line `run` says rule 1.5 runs without a file on."""
    _init(tmp, export, crm, monkeypatch)
    capsys.readouterr()
    assert main(["run", "--export", str(export), "--as-of", "2026-11-20", "--out", str(tmp / "audit.xlsx")]) == 0
    out = capsys.readouterr()
    return next(line for line in (out.out + out.err).splitlines() if "rule 1.5 invalid-name runs without" in line)


def test_n7_polish_bitrix24_names_the_contacts_columns_in_polish(tmp_path, monkeypatch, capsys):
    note = _run_note(tmp_path, _export(tmp_path, "bx_pl_n7"), "bitrix24", monkeypatch, capsys)
    assert "(«ID kontaktu», «Imię i nazwisko»)" in note, note
    assert "ФИО" not in note and "ID контакта" not in note


def test_n7_german_hubspot_names_the_companies_and_contacts_columns_in_german(tmp_path, monkeypatch, capsys):
    export = _export(tmp_path, "hs_de_n7")
    note = _run_note(tmp_path, export, "hubspot", monkeypatch, capsys)
    assert ("(«IDs der zugeordneten Unternehmen (primär)», «IDs der zugeordneten Kontakte», «Name des Unternehmens», "
            "«Vollständiger Name»)") in note, note
    for english in ("Associated Contact IDs", "«name»", "Full Name", "Company name"):
        assert english not in note
    assert "«IDs der zugeordneten Unternehmen (primär)»" in _why(inspect_export(export, crm="hubspot"), "1.11")


# --------------------------------------------------------------------------- N8: close names proposed


def test_n8_close_handbook_stage_and_billing_address_are_proposed_by_init(tmp_path, monkeypatch, capsys):
    export = _export(tmp_path, "sf_ptbr_n8")
    text = _init(tmp_path, export, "salesforce", monkeypatch).read_text(encoding="utf-8")
    assert ("  Отправлено КП: Proposta/Cotação de preço    # этап руководства «Отправлено КП» — у вас, похоже, "
            "«Proposta/Cotação de preço» (похоже на «Proposta/Cotação»): проверьте, что это то же самое\n") in text
    assert "  deal.Город: Cidade de cobrança    # так это поле называют: «Cidade de cobrança» — проверьте, что это то же поле\n" in text
    assert "  deal.Страна: País de cobrança    # так это поле называют: «País de cobrança» — проверьте, что это то же поле\n" in text
    assert "missing-amount-after-proposal:" not in text and "missing-city-or-country:" not in text
    rep = inspect_export(export, config=tmp_path / "crm-audit.yaml")
    assert {r.code: r.state for r in rep.rules}["1.3"] == "run" and {r.code: r.state for r in rep.rules}["2.1"] == "run"


def test_n8_validate_names_the_close_stage_where_the_settings_lack_the_handbook_one(tmp_path, monkeypatch, capsys):
    export = _export(tmp_path, "sf_ptbr_n8")
    config = _init(tmp_path, export, "salesforce", monkeypatch)
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"stage_names:\n  Отправлено КП: [^\n]*\n", "stage_names: {}\n", text), encoding="utf-8")
    assert "stage_names: {}\n" in config.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", "--config", str(config)]) == 0
    out = capsys.readouterr()
    line = next(x for x in (out.out + out.err).splitlines() if "«Отправлено КП»" in x)
    assert "unknown stage «Отправлено КП»: it is in none of the settings' pipelines (did you mean «Proposta/Cotação de preço»?)" in line


def test_n8_close_names_are_whole_words_of_two_or_more():
    from crm_audit import handbook_names as hb

    assert hb.score("Proposta/Cotação", "Proposta/Cotação de preço") == hb.NAME_CUTOFF
    assert hb.score("Proposta", "Proposta de valor") < hb.NAME_CUTOFF  # one word is too little
    assert hb.score("Proposta/Cotação", "Cotação de preço") < hb.NAME_CUTOFF  # not a run of its words
    assert hb.best("stage", "Отправлено КП", ["Prospecção", "Proposta/Cotação de preço", "Fechado/ganho"]).team == \
        "Proposta/Cotação de preço"
    assert hb.best("stage", "Отправлено КП", ["Prospecção", "Fechado/ganho"]) is None
