"""A Bitrix24 REST dump's custom fields named by crm.deal.fields, and its multiple fields read.

tests/fixtures/api_json/bitrix24_fields is tests/fixtures/api_json/bitrix24 with four user fields in crm.deal.list and
the deal fields' reference (crm.deal.fields, an object keyed by the field's code) saved as crm.deal.fields.json:

* UF_CRM_1700000001 «Город» — a multiple enumeration: ["45"], ["47", "45"], [] and `false` (an empty multiple field),
  its option ids named by the field's items [{ID, VALUE}];
* UF_CRM_1700000002 «Источник сделки» — a string ("", null for the blank ones);
* UF_CRM_1700000003 — listLabel "" and formLabel «Страна»: named by formLabel;
* UF_CRM_1700000004 «Теги» — a multiple string no deal fills ([] everywhere): a blank column, not a dropped one.

Standard fields keep their codes (STAGE_ID is still the column the stage list names; COMMENTS never becomes
«Комментарий»). Expected by hand: 1.8 «Нет источника» flags 102 (""), 103 (null), 107 (""); 2.1 «Нет города или
страны» flags 102 ([]), 104 (false), 106 ([]) — no city — and 105 (no country).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from cli_helpers import cli_in_process, findings_by_code, run_in_process
from crm_audit.engine import jsonread, lookups
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile

EXPORT = Path(__file__).parent / "fixtures" / "api_json" / "bitrix24_fields"
AS_OF = "2026-11-20"

# the same findings as the dump without the fields (tests/test_api_json_dumps.py FOUND["bitrix24"]), plus 1.8 and 2.1
FOUND = {"1.1": {"102", "105", "107"}, "1.3": {"106"}, "1.5": {"102"}, "2.2": {"102"}, "2.3": {"106"}, "2.4": {"102", "107"},
         "1.8": {"102", "103", "107"}, "2.1": {"102", "104", "105", "106"}}


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    work = tmp_path_factory.mktemp("b24fields")
    env = {"CRM_AUDIT_LANGUAGE": "ru"}
    done = cli_in_process("init", str(work), "--crm", "bitrix24", "--from-export", str(EXPORT), env=env)
    assert done.returncode == 0, done.stderr
    settings = yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))
    run = run_in_process(work, EXPORT, AS_OF, env=env)
    assert run.returncode == 0, run.stderr
    return {"settings": settings, "run": run, "found": findings_by_code(work / "v.csv")}


def _deals(export: Path) -> tuple[dict, list, dict]:
    """{deal id: {column header: value}} of the custom columns, the warnings, the deals' fields."""
    ex = load_export(export, load_profile("bitrix24"))
    try:
        deals = ex.entities["deals"]
        cols = {h: c for c, h in deals.custom.values()}
        rows = ex.con.execute(f"SELECT id, {', '.join(cols.values())} FROM deals").fetchall()
        return ({r[0]: dict(zip(cols, r[1:])) for r in rows}, ex.warnings,
                {"fields": dict(deals.fields), "entities": set(ex.entities), "stage": dict(ex.con.execute("SELECT id, stage FROM deals").fetchall())})
    finally:
        ex.close()
        ex.con.close()


def test_init_then_run_audits_the_named_custom_fields(story):
    assert story["found"] == FOUND
    skipped = story["settings"]["rules"].get("skip") or {}
    assert "missing-source" not in skipped and "missing-city-or-country" not in skipped


def test_the_custom_fields_are_named_and_the_options_labelled():
    deals, warnings, info = _deals(EXPORT)
    assert {d: v["Город"] for d, v in deals.items()} == {
        "101": "Москва", "102": "", "103": "Казань, Москва", "104": "", "105": "Самара", "106": "", "107": "Самара"}
    assert deals["104"]["Источник сделки"] == "Рекомендация" and deals["103"]["Источник сделки"] in ("", None)
    assert deals["105"]["Страна"] in ("", None) and deals["101"]["Страна"] == "Россия"  # formLabel: listLabel is ""
    assert all(v["Теги"] in ("", None) for v in deals.values())  # [] everywhere: the column is there, blank
    said = [w for w in warnings if w.code == "header-names"]
    assert said and said[0].params["source"] == "crm.deal.fields.json" and said[0].params["n"] == 4


def test_standard_fields_keep_their_codes():
    deals, _warnings, info = _deals(EXPORT)
    assert info["fields"]["stage"] == "STAGE_ID" and info["stage"]["104"] != "WON"  # named by stages.json
    headers = set(next(iter(deals.values())))
    assert "COMMENTS" in headers and "SOURCE_ID" in headers
    assert not headers & {"Комментарий", "Источник", "Кем создана", "Тип", "Контакты"}


@pytest.mark.parametrize("name", ["crm.deal.fields.json", "deal_fields.json", "dealfields.json", "crm_deal_fields.json"])
def test_the_fields_file_is_no_entity(tmp_path, name):
    export = tmp_path / "export"
    shutil.copytree(EXPORT, export)
    (export / "crm.deal.fields.json").rename(export / name)
    deals, warnings, info = _deals(export)
    assert info["entities"] == {"deals", "activities"}
    assert not [w for w in warnings if w.code == "unknown-file"]
    assert deals["103"]["Город"] == "Казань, Москва"


def test_userfield_list_with_labels_per_language(tmp_path):
    """crm.deal.userfield.list (FIELD_NAME, LIST_COLUMN_LABEL {"ru", "en"}, MULTIPLE Y, LIST [{ID, VALUE}]) names them too."""
    export = tmp_path / "export"
    shutil.copytree(EXPORT, export)
    (export / "crm.deal.fields.json").unlink()
    uf = [{"ID": "301", "ENTITY_ID": "CRM_DEAL", "FIELD_NAME": "UF_CRM_1700000001", "USER_TYPE_ID": "enumeration", "MULTIPLE": "Y",
           "LIST_COLUMN_LABEL": {"en": "City", "ru": "Город"}, "EDIT_FORM_LABEL": {"en": "City", "ru": "Город"},
           "LIST": [{"ID": "45", "VALUE": "Москва"}, {"ID": "47", "VALUE": "Казань"}, {"ID": "49", "VALUE": "Самара"}]},
          {"ID": "302", "ENTITY_ID": "CRM_DEAL", "FIELD_NAME": "UF_CRM_1700000002", "USER_TYPE_ID": "string", "MULTIPLE": "N",
           "LIST_COLUMN_LABEL": {"en": "", "ru": ""}, "EDIT_FORM_LABEL": {"en": "Deal source", "ru": "Источник сделки"}}]
    (export / "crm.deal.userfield.list.json").write_text(json.dumps({"result": uf, "total": 2}, ensure_ascii=False), encoding="utf-8")
    deals, _warnings, info = _deals(export)
    assert info["entities"] == {"deals", "activities"}
    assert deals["103"]["Город"] == "Казань, Москва" and deals["104"]["Город"] in ("", None)
    assert deals["104"]["Источник сделки"] == "Рекомендация"


def test_scalars_reads_a_list_of_scalars_as_one_cell():
    rec = {"ID": "1", "UF_CRM_1": ["45", "47"], "UF_CRM_2": [], "UF_CRM_3": ["Москва"], "UF_CRM_4": False, "N": [1, 2.5],
           "contacts": [{"id": 5, "name": "Ann"}, {"id": 6}]}
    out = jsonread.scalars(rec, lists=True)
    assert out["UF_CRM_1"] == "45, 47" and out["UF_CRM_2"] == "" and out["UF_CRM_3"] == "Москва" and out["N"] == "1, 2.5"
    assert out["UF_CRM_4"] is False
    assert out["contact_id"] == 5 and out["contact_ids"] == "5;6"  # a list of objects: as before


def test_keyed_records():
    doc = {"result": {"ID": {"title": "ID"}, "UF_CRM_1": {"title": "UF_CRM_1", "items": [{"ID": "1", "VALUE": "a"}]}},
           "time": {"start": 1}}
    assert jsonread.keyed_records(doc, "FIELD_NAME") == [
        {"FIELD_NAME": "ID", "title": "ID"}, {"FIELD_NAME": "UF_CRM_1", "title": "UF_CRM_1", "items": [{"ID": "1", "VALUE": "a"}]}]
    assert jsonread.keyed_records({"result": {"fields": {"id": {"title": "ID"}}}}, "k") == [{"k": "id", "title": "ID"}]
    # a list of records (GET /dealFields), an envelope of pages: no keyed records
    assert jsonread.keyed_records({"success": True, "data": [{"key": "a"}]}, "k") is None
    assert jsonread.keyed_records({"result": [{"ID": "1"}], "next": 50}, "k") is None


def test_label_per_language():
    assert lookups._label({"en": "City", "ru": "Город"}, "ru") == "Город"
    assert lookups._label({"en": "City", "ru": "Город"}, "de") == "City"
    assert lookups._label({"ru": "", "ua": "Місто"}, "ru") == "Місто"
    assert lookups._label(" Город ", "ru") == "Город" and lookups._label(None, "ru") == "" and lookups._label({}, "ru") == ""


def test_a_custom_field_named_like_a_standard_one_keeps_its_code(tmp_path):
    """A user field the team called «Стадия сделки» (the stage's list title) would be read as the stage in place of the
    dump's STAGE_ID: it keeps its code, and the stages stay the stage list's names."""
    export = tmp_path / "export"
    shutil.copytree(EXPORT, export)
    path = export / "crm.deal.fields.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["result"]["UF_CRM_1700000004"].update(listLabel="Стадия сделки", formLabel="Стадия сделки")
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    deals, _warnings, info = _deals(export)
    assert info["fields"]["stage"] == "STAGE_ID"
    assert "UF_CRM_1700000004" in next(iter(deals.values())) and deals["103"]["Город"] == "Казань, Москва"
    assert info["stage"] == _deals(EXPORT)[2]["stage"]
