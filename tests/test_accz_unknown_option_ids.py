"""#13 acceptance Z-L (case b24_rest_enum): an API dump's enum / set field holding an option id its field list does not
list (an option deleted in the CRM, the field changed since crm.deal.fields / GET /dealFields was saved) was read as the
raw id («99»), silently, even with `on_bad_value: error` — a lost reason «65» matches no frozen_lost_reasons, a city
«99» is a city. Now such an id is a bad value of the field, for Bitrix24 (items ID → VALUE) and Pipedrive (options id
→ label) alike: `error` stops naming the file, the row, the field's name and the id, with what to do (save the field
list again); `warn` says the cell and reads it as blank. init writes `warn` naming the cells, so the first run audits.

Bitrix24: tests/fixtures/api_json/bitrix24_fields with deal 101's «Город» (UF_CRM_1700000001, items 45 / 47 / 49)
[«99»]: the deal has no city, so 2.1 «Нет города или страны» flags it too (test_b24_deal_fields.FOUND + 101).
Pipedrive: tests/fixtures/accw/api_pd_json with «Источник сделки» an enum (options 11 «Сайт», 12 «Реклама», 13
«Партнер») and deal 3's source 99: 1.8 «Нет источника» flags it too."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from cli_helpers import cli_in_process, findings_by_code, run_in_process

FIXTURES = Path(__file__).parent / "fixtures"
RU = {"CRM_AUDIT_LANGUAGE": "ru"}
AS_OF = "2026-11-20"

B24_FOUND = {"1.1": {"102", "105", "107"}, "1.3": {"106"}, "1.5": {"102"}, "2.2": {"102"}, "2.3": {"106"},
             "2.4": {"102", "107"}, "1.8": {"102", "103", "107"}, "2.1": {"101", "102", "104", "105", "106"}}
PD_SOURCE = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def _b24_export(tmp: Path) -> Path:
    export = tmp / "export"
    shutil.copytree(FIXTURES / "api_json" / "bitrix24_fields", export)
    doc = json.loads((export / "deals.json").read_text(encoding="utf-8"))
    deals = doc[0]["result"] if isinstance(doc, list) else doc["result"]
    (deal,) = [d for d in deals if d["ID"] == "101"]
    deal["UF_CRM_1700000001"] = [99]  # an option id crm.deal.fields' items do not list
    (export / "deals.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return export


def _pd_export(tmp: Path) -> Path:
    export = tmp / "export"
    shutil.copytree(FIXTURES / "accw" / "api_pd_json" / "export", export)
    fields = json.loads((export / "dealFields.json").read_text(encoding="utf-8"))
    (source,) = [f for f in fields["data"] if f["key"] == PD_SOURCE]
    source.update(field_type="enum", options=[{"id": 11, "label": "Сайт"}, {"id": 12, "label": "Реклама"},
                                              {"id": 13, "label": "Партнер"}])
    (export / "dealFields.json").write_text(json.dumps(fields, ensure_ascii=False), encoding="utf-8")
    deals = json.loads((export / "deals.json").read_text(encoding="utf-8"))
    ids = {"Сайт": 11, "Реклама": 12, "Партнер": 13}
    for deal in deals["data"]:
        deal[PD_SOURCE] = 99 if deal["id"] == 3 else ids.get(deal[PD_SOURCE])
    (export / "deals.json").write_text(json.dumps(deals, ensure_ascii=False), encoding="utf-8")
    return export


def _story(tmp: Path, export: Path, crm: str) -> dict:
    work = tmp / "w"
    init = cli_in_process("init", str(work), "--crm", crm, "--from-export", str(export), env=RU)
    assert init.returncode == 0, init.stderr
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    run = run_in_process(work, export, AS_OF, env=RU)
    found = findings_by_code(work / "v.csv") if run.returncode == 0 else {}
    (work / "crm-audit.yaml").write_text(text.replace("\non_bad_value: warn\n", "\non_bad_value: error\n"), encoding="utf-8")
    stop = run_in_process(work, export, AS_OF, env=RU)
    return {"text": text, "run": run, "found": found, "stop": stop}


@pytest.fixture(scope="module")
def b24(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("b24enum")
    return _story(tmp, _b24_export(tmp), "bitrix24")


@pytest.fixture(scope="module")
def pd(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pdenum")
    return _story(tmp, _pd_export(tmp), "pipedrive")


def test_b24_init_writes_warn_naming_the_cell(b24):
    text = b24["text"]
    assert yaml.safe_load(text)["on_bad_value"] == "warn"
    assert "# init: в этой выгрузке есть ячейки, которые не читаются (deals.json строка 2, «Город»: «99»)," in text
    assert ("# Из них id вариантов списка, которых нет в списке полей выгрузки (deals.json строка 2, «Город»: «99»):\n"
            "# список полей (crm.deal.fields.json) сохранён раньше данных") in text


def test_b24_warn_reads_the_id_as_blank_and_says_it(b24):
    run = b24["run"]
    assert run.returncode == 0, run.stderr
    assert ("deals.json строка 2 «Город»: id варианта «99» нет среди вариантов поля в crm.deal.fields.json (ожидался "
            "один из: 45 «Москва», 47 «Казань», 49 «Самара»); ячейка считается пустой") in run.stdout
    assert b24["found"] == B24_FOUND  # deal 101 has no city: 2.1


def test_b24_error_stops_naming_file_row_column_and_value(b24):
    stop = b24["stop"]
    assert stop.returncode == 2
    out = stop.stdout + stop.stderr
    assert "Traceback" not in out
    assert ("deals.json (строка 2, столбец «Город»): id варианта «99» нет среди вариантов поля в crm.deal.fields.json"
            in out)
    assert "Список полей старше данных" in out and "сохраните список полей заново" in out and "on_bad_value: warn" in out


def test_pd_init_writes_warn_naming_the_cell(pd):
    text = pd["text"]
    assert yaml.safe_load(text)["on_bad_value"] == "warn"
    assert "deals.json строка 4, «Источник сделки»: «99»" in text
    assert "# список полей (dealFields.json) сохранён раньше данных" in text


def test_pd_warn_reads_the_id_as_blank_and_says_it(pd):
    run = pd["run"]
    assert run.returncode == 0, run.stderr
    assert ("deals.json строка 4 «Источник сделки»: id варианта «99» нет среди вариантов поля в dealFields.json "
            "(ожидался один из: 11 «Сайт», 12 «Реклама», 13 «Партнер»); ячейка считается пустой") in run.stdout
    expected = json.loads((FIXTURES / "accw" / "api_pd_json" / "expected.json").read_text(encoding="utf-8"))
    want = {code: {str(d) for d in deals} for code, deals in expected.items()}
    want["1.8"] = want["1.8"] | {"3"}  # deal 3's source is blank, never «99»
    assert pd["found"] == want


def test_pd_error_stops_naming_file_row_column_and_value(pd):
    stop = pd["stop"]
    assert stop.returncode == 2
    out = stop.stdout + stop.stderr
    assert "Traceback" not in out
    assert "deals.json (строка 4, столбец «Источник сделки»): id варианта «99» нет среди вариантов поля в dealFields.json" in out


def test_a_field_with_no_option_list_keeps_its_text(b24):
    # «Источник сделки» (UF_CRM_1700000002) is a string field: no items, its text stays (test_b24_deal_fields)
    assert "«Источник сделки»: id варианта" not in b24["run"].stdout


def test_init_names_many_cells_as_option_ids_only(tmp_path):
    # more cells than the warnings list one by one: their «… and N more» line is option ids too, no «дата, сумма» advice
    export = _b24_export(tmp_path)
    doc = json.loads((export / "deals.json").read_text(encoding="utf-8"))
    for page in doc:
        for deal in page["result"]:
            deal["UF_CRM_1700000001"] = [99]
    (export / "deals.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    init = cli_in_process("init", str(tmp_path / "w"), "--crm", "bitrix24", "--from-export", str(export), env=RU)
    assert init.returncode == 0, init.stderr
    text = (tmp_path / "w" / "crm-audit.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text)["on_bad_value"] == "warn"
    assert "deals.json строка 4, «Город»: «99»; и ещё 4):\n# список полей (crm.deal.fields.json)" in text
    assert "# Ячейки с ошибкой (дата, сумма" not in text
