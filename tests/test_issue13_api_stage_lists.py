"""Issue 13 point 5 (acceptance R14, R17): an API dump that carries the CRM's own stage list — Pipedrive's GET /stages
(id, name, pipeline_id, order_nr) with pipelines.csv, Bitrix24's crm.status.list (STATUS_ID, NAME, SORT, SEMANTICS) —
gets every stage of every pipeline written in the CRM's order, confirmed, with only the account's own final stages."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import yaml

from cli_helpers import findings_by_code, init_from_export, run_audit

ACCR = Path(__file__).parent / "fixtures" / "accr"


def _init_and_run(tmp_path, capsys, monkeypatch, case: str, crm: str) -> tuple[dict, str, dict[str, set[str]], str]:
    export = tmp_path / "export"
    shutil.copytree(ACCR / case, export)
    text = init_from_export(capsys, monkeypatch, tmp_path, crm, export)
    out, err = run_audit(capsys, monkeypatch, tmp_path, export, "2026-11-20")
    return yaml.safe_load(text), text, findings_by_code(tmp_path / "v.csv"), out + err


def test_pipedrive_stages_list_gives_every_pipelines_stages_in_order_nr(tmp_path, capsys, monkeypatch):
    settings, text, found, _said = _init_and_run(tmp_path, capsys, monkeypatch, "api_pd", "pipedrive")
    assert settings["pipelines"] == {
        "Клиенты": ["Принял в работу", "Квалификация", "Проведено демо", "Отправлено КП", "Тестовый период",
                    "Согласование договора", "Выставлен счет"],
        "Партнеры": ["Принял в работу", "Знакомство", "Проведено демо", "Отправлено КП", "Подписание договора"],
        "Повторные продажи": ["Принял в работу", "Отправлено КП", "Выставлен счет"],
    }
    assert settings["stage_order_confirmed"] is True
    assert "порядок из списка этапов CRM (stages.csv)" in text and "угадан" not in text.split("pipelines:")[1].split("\n\n")[0]
    assert found == {"1.1": {"2", "10"}, "1.2": {"7"}, "1.3": {"3"}, "1.4": {"3"}, "1.5": {"2", "3"}, "1.6": {"4"},
                     "1.7": {"3"}, "1.8": {"2", "6"}, "1.9": {"4"}, "1.10": {"3"}, "1.11": {"2"}, "1.12": {"5"},
                     "1.13": {"4"}, "2.1": {"2", "7"}, "2.2": {"1"}, "2.3": {"3"}, "2.4": {"1", "4"}}


def test_bitrix24_status_list_sort_order_and_own_final_stages(tmp_path, capsys, monkeypatch):
    settings, _text, found, _said = _init_and_run(tmp_path, capsys, monkeypatch, "b24_api_tr", "bitrix24")
    # SORT 10…60; Kaybedildi (F, no deal in it) after Kazanıldı (S); no Russian default «Сделка успешна» / «провалена»
    assert settings["pipelines"] == {
        "Satış": ["Yeni", "Teklif hazırlığı", "Görüşme", "Kazanıldı", "Kaybedildi", "Müşteri vazgeçti"]}
    assert settings["stage_order_confirmed"] is True
    assert found == {"1.1": {"602"}, "1.5": {"602"}, "1.7": {"603"}, "1.8": {"602", "604"}, "1.11": {"602"},
                     "2.3": {"603"}, "2.4": {"601", "603"}}


def test_hubspot_api_per_stage_properties_by_stage_id(tmp_path, capsys, monkeypatch):
    """Acceptance R12: `hs_date_entered_<stage id>` (the API's names of `Date entered "<stage> (<pipeline>)"`) give each
    deal the date of its own stage, matched by the dealstage id before stages.csv names it: 2.4 runs."""
    export = tmp_path / "export"
    shutil.copytree(ACCR / "api_hs" / "export", export)
    init_from_export(capsys, monkeypatch, tmp_path, "hubspot", export)
    run_audit(capsys, monkeypatch, tmp_path, export, "2026-11-20")
    assert findings_by_code(tmp_path / "v.csv") == {"1.1": {"102", "104"}, "1.5": {"102"}, "1.7": {"104"}, "1.11": {"103"},
                                                    "2.3": {"103", "107"}, "2.4": {"101", "103", "107"}}
    with open(tmp_path / "v.csv", encoding="utf-8-sig", newline="") as f:
        days = {r["deal_id"]: next(v for v in r.values() if v.startswith("Дней на этапе"))
                for r in csv.DictReader(f) if r["rule_code"] == "2.4"}
    assert {k: v.split(";")[0] for k, v in days.items()} == {
        "101": "Дней на этапе: 19", "103": "Дней на этапе: 19", "107": "Дней на этапе: 50"}


def test_pipedrive_custom_fields_under_api_keys_named_by_the_dumped_field_lists(tmp_path, capsys, monkeypatch):
    """Acceptance R15: GET /deals heads custom fields by their 40-hex API keys; dealFields.csv / organizationFields.csv
    (key, name) beside them name the columns (the profile's `header_lists:`): «Источник сделки» etc. are found and the
    audit is the one of the same dump with named columns (api_pd), all 17 rules."""
    settings, _text, found, said = _init_and_run(tmp_path, capsys, monkeypatch, "api_pd_hash", "pipedrive")
    # said once per file, with a key and its name
    assert ("8 колонок с API-ключами вместо названий прочитаны под названиями из dealFields.csv, organizationFields.csv "
            "(например, 6629101feb5ce04e050ffeb4402d0fad8e2c2fd4 → Источник сделки)") in said
    assert settings["rules"]["skip"] == {}  # no rule switched off for «в выгрузке нет поля «Источник сделки»»
    assert found == {"1.1": {"2", "10"}, "1.2": {"7"}, "1.3": {"3"}, "1.4": {"3"}, "1.5": {"2", "3"}, "1.6": {"4"},
                     "1.7": {"3"}, "1.8": {"2", "6"}, "1.9": {"4"}, "1.10": {"3"}, "1.11": {"2"}, "1.12": {"5"},
                     "1.13": {"4"}, "2.1": {"2", "7"}, "2.2": {"1"}, "2.3": {"3"}, "2.4": {"1", "4"}}


def test_amocrm_contacts_list_named_by_its_shared_name_column(tmp_path, capsys, monkeypatch):
    """Acceptance R13: a contacts list (contacts and companies in one file, «Тип») whose one name column is
    «Наименование» names the contacts too, not only the companies: the deal's contact is linked by name, and 1.7 finds
    3001 (contact Анна Смирнова's owner Мария Сидорова ≠ the deal's Иван Петров), as the leads file alone does."""
    _settings, _text, found, _said = _init_and_run(tmp_path, capsys, monkeypatch, "amo_ru_contacts", "amocrm")
    assert found["1.7"] == {"3001"}
    assert found == {"1.3": {"3003"}, "1.4": {"3003"}, "1.5": {"3002", "3003"}, "1.7": {"3001"}, "1.8": {"3002", "3004"},
                     "1.10": {"3003"}, "1.11": {"3002"}, "2.1": {"3002", "3005"}}
