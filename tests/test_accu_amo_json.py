"""Acceptance U2: an amoCRM API v4 dump saved as the API returns it (leads.json, companies.json, tasks.json:
``{"_embedded": {"<name>": [...]}}``; pipelines.json with each pipeline's ``_embedded.statuses``; users.json) audits
like its CSV twin: the data files read by the generic JSON reader (crm_audit/engine/jsonread.py), the statuses nested
in pipelines.json named and ordered, the users naming the owners, the same findings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import yaml

from cli_helpers import cli_ru, findings_by_code, init_from_export, run_audit
from crm_audit.engine.readers import read_raw

EXPORT = Path(__file__).parent / "fixtures" / "accu" / "amo_api_json"
# the hand expectation of /tmp/accU/api_amo_json (pass R's api_amo as CSV, plus lead 4006 in the pipeline «Агенты»)
FOUND = {"1.1": {"4002", "4006"}, "1.3": {"4003"}, "1.5": {"4002"}, "1.7": {"4003"}, "1.11": {"4002", "4006"},
         "2.3": {"4003"}}


def _export(tmp_path) -> Path:
    export = tmp_path / "export"
    shutil.copytree(EXPORT, export)
    return export


def test_amocrm_json_dump_audits_like_its_csv_twin(tmp_path, capsys, monkeypatch):
    export = _export(tmp_path)
    settings = yaml.safe_load(init_from_export(capsys, monkeypatch, tmp_path, "amocrm", export))
    assert settings["pipelines"] == {
        "Клиенты": ["Принял в работу", "Квалификация", "Проведено демо", "Отправлено КП", "Успешно реализовано",
                    "Закрыто и не реализовано"],
        "Агенты": ["Новая заявка", "Переговоры", "Успешно реализовано", "Закрыто и не реализовано"],
    }
    assert settings["stage_order_confirmed"] is True
    assert settings["pipeline_ids"] == {"501": "Клиенты", "502": "Агенты"}
    assert settings["stage_ids"]["1004"] == "Отправлено КП" and settings["stage_ids"]["2002"] == "Переговоры"
    assert settings["owner_ids"] == {"11": "Иван Петров", "12": "Мария Сидорова"}
    out, err = run_audit(capsys, monkeypatch, tmp_path, export, "2026-11-20")
    assert findings_by_code(tmp_path / "v.csv") == FOUND
    assert "не названы" not in out + err  # every id named by the dumped lists


def test_amocrm_json_dump_is_detected_without_crm(tmp_path, capsys, monkeypatch):
    export = _export(tmp_path)
    code, out, err = cli_ru(capsys, monkeypatch, "init", str(tmp_path), "--from-export", str(export))
    assert code == 0, err
    assert "CRM: amocrm" in out + err
    assert yaml.safe_load((tmp_path / "crm-audit.yaml").read_text(encoding="utf-8"))["crm"] == "amocrm"


def test_json_reader_flattens_nested_companies_and_custom_fields(tmp_path):
    leads = {"_page": 1, "_embedded": {"leads": [
        {"id": 1, "name": "A", "price": 10, "is_deleted": False, "closed_at": None,
         "custom_fields_values": [{"field_id": 5, "field_name": "Город", "values": [{"value": "Казань"}]},
                                  {"field_id": 6, "field_name": "Теги", "values": [{"value": "x"}, {"value": "y"}]}],
         "_embedded": {"tags": [], "companies": [{"id": 8001}, {"id": 8009}], "contacts": [{"id": 7, "is_main": True}]}},
        {"id": 2, "name": "B", "price": 0, "custom_fields_values": None, "_embedded": {"companies": []}},
    ]}}
    path = tmp_path / "leads.json"
    path.write_text(json.dumps(leads, ensure_ascii=False), encoding="utf-8")
    con = duckdb.connect()
    raw = read_raw(con, path, "t", tmp_path)
    assert raw.info.kind == "json"
    rows = [dict(zip(["_row", *raw.headers], r)) for r in con.execute("SELECT * FROM t ORDER BY _row").fetchall()]
    first = {k: v for k, v in rows[0].items() if k != "custom_fields_values"}  # (lead 2's null is a scalar column)
    assert first == {"_row": 2, "id": "1", "name": "A", "price": "10", "is_deleted": "false", "closed_at": "",
                     "Город": "Казань", "Теги": "x, y", "company_id": "8001", "contact_id": "7", "contact_is_main": "true",
                     "company_ids": "8001;8009", "contact_ids": "7"}  # every linked id too (a HubSpot task's deals)
    assert rows[1]["id"] == "2" and rows[1]["company_id"] == "" and rows[1]["Город"] == ""


def test_a_json_file_holding_no_records_is_ignored_not_fatal(tmp_path, capsys, monkeypatch):
    export = _export(tmp_path)
    (export / "notes.json").write_text('{"saved_by": "script", "version": 2}', encoding="utf-8")
    init_from_export(capsys, monkeypatch, tmp_path, "amocrm", export)
    out, err = run_audit(capsys, monkeypatch, tmp_path, export, "2026-11-20")
    assert findings_by_code(tmp_path / "v.csv") == FOUND
    assert "notes.json" in out + err
    # a file that is not JSON (a dump cut short) is an error naming it and where it breaks, never left out unsaid
    (export / "broken.json").write_text('{"_embedded": {"leads": [\n  {"id": 1,\n', encoding="utf-8")
    code, out, err = cli_ru(capsys, monkeypatch, "run", "-c", str(tmp_path / "crm-audit.yaml"), "--export", str(export),
                            "--as-of", "2026-11-20", "--out", str(tmp_path / "b.xlsx"))
    assert code == 2 and "Traceback" not in err
    assert "broken.json: файл не в формате JSON: он обрывается в строке 3, позиции 1" in err, err


def test_no_data_file_names_the_profiles_own_files(tmp_path, capsys, monkeypatch):
    export = tmp_path / "export"
    export.mkdir()
    shutil.copy(EXPORT / "users.json", export)  # a names list alone is no data file
    code, _out, err = cli_ru(capsys, monkeypatch, "init", str(tmp_path), "--crm", "amocrm", "--from-export", str(export))
    assert code == 2
    assert "(CSV, XLSX или JSON)" in err and "ожидаются deals.csv, companies.csv" in err
    assert "persons.csv" not in err and "Traceback" not in err
