"""Issue 13, «What must work» 13: an API dump saved as the API answers it (JSON) audits like its API-field CSV twin, for
every CRM, through `init --crm X --from-export DIR` → `run` with no hand edits.

The fixtures (tests/fixtures/api_json/<crm>) hold the data of the CSV twins (tests/fixtures/bitrix24-rest,
pipedrive-api, salesforce-api, accu/hs_api2_csv) in each API's own shape:

* Bitrix24 REST: crm.deal.list as two pages in one JSON array, crm.activity.list as JSON Lines (one of its activities a
  contact's, OWNER_TYPE_ID 3: never a deal's task), crm.status.list unfiltered (the lead statuses' own NEW, a source),
  crm.category.list's {"result": {"categories": [...]}}, user.get;
* Pipedrive API v1: {"success", "data", "additional_data"}, user_id / org_id / person_id as objects, custom fields
  under their 40-hex keys named by dealFields.json / organizationFields.json;
* Salesforce REST (SOQL): {"totalSize", "done", "records"}, each record's attributes, Owner / Account as related
  records ({"attributes", "Name"});
* HubSpot CRM v3: {"results": [{"id", "properties", "associations": {"deals": {"results": [...]}}}]} — a task
  associated with two deals counts for both.

Each FOUND is what the CSV twin gives (run on the twins when this was written; Bitrix24's twin with the same
activities and users as CSV is run here too).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from cli_helpers import cli_in_process, findings_by_code
from crm_audit.engine.readers import read_raw

FIXTURES = Path(__file__).parent / "fixtures"
DUMPS = FIXTURES / "api_json"
AS_OF = "2026-11-20"

FOUND = {
    "bitrix24": {"1.1": {"102", "105", "107"}, "1.3": {"106"}, "1.5": {"102"}, "2.2": {"102"}, "2.3": {"106"},
                 "2.4": {"102", "107"}},
    "pipedrive": {"1.1": {"2"}, "1.2": {"6"}, "1.3": {"3"}, "1.4": {"3"}, "1.5": {"2", "3"}, "1.7": {"3"}, "1.8": {"2", "5"},
                  "1.10": {"3"}, "1.11": {"7"}, "1.12": {"4"}, "2.1": {"2"}, "2.2": {"2"}, "2.3": {"3"}, "2.4": {"2"}},
    "salesforce": {"1.1": {"0065g00000A1xQ2AAJ"}, "1.5": {"0065g00000A1xQ2AAJ"}, "1.7": {"0065g00000A1xQ3AAJ"},
                   "1.8": {"0065g00000A1xQ2AAJ", "0065g00000A1xQ4AAJ"}, "2.3": {"0065g00000A1xQ3AAJ"},
                   "2.4": {"0065g00000A1xQ2AAJ"}},
    # task 503 is associated with deals 201 and 204: neither is an open deal without a task (1.1)
    "hubspot": {"1.1": {"102"}, "1.5": {"102"}, "1.7": {"202"}, "1.11": {"103"}, "2.3": {"103", "202"},
                "2.4": {"101", "103", "202"}},
}


def _audit(work: Path, crm: str, export: Path) -> tuple[dict, dict, str]:
    """init --from-export, then run (in Russian): (the settings, the findings by rule, what the run said)."""
    env = {"CRM_AUDIT_LANGUAGE": "ru"}
    done = cli_in_process("init", str(work), "--crm", crm, "--from-export", str(export), env=env)
    assert done.returncode == 0, done.stderr
    done = cli_in_process("run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", AS_OF,
                          "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"),
                          "--ledger", str(work / "l.db"), env=env)
    assert done.returncode == 0, done.stderr
    settings = yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))
    return settings, findings_by_code(work / "v.csv"), done.stdout + done.stderr


@pytest.fixture(scope="module", params=sorted(FOUND))
def audited(request, tmp_path_factory):
    crm = request.param
    work = tmp_path_factory.mktemp(f"json_{crm}")
    export = work / "export"
    shutil.copytree(DUMPS / crm, export)
    (export / "config.json").write_text('{"portal": "example", "saved_by": "export.py", "pages": 2}', encoding="utf-8")
    return (crm, *_audit(work, crm, export))


def test_a_json_dump_audits_like_its_csv_twin(audited):
    crm, _settings, found, said = audited
    assert found == FOUND[crm]
    assert "Traceback" not in said
    # a JSON file that is no list of the CRM (the dump script's config.json) is left out with a warning, never fatal
    assert "config.json" in said


def test_the_dumped_lists_name_the_ids(audited):
    crm, settings, _found, said = audited
    expected = {
        "bitrix24": ("owner_ids", {"1": "Анна Смирнова", "7": "Олег Петров", "9": "Ирина Ким"}),
        "hubspot": ("owner_ids", {"111": "Jane Doe", "222": "John Roe", "333": "Bob Ray"}),
    }
    if crm in expected:
        key, names = expected[crm]
        assert {k: v for k, v in settings.get(key, {}).items() if k in names} == names
    if crm == "bitrix24":
        # the deal stages of crm.status.list, never the lead statuses' NEW «Не обработан» nor the source WEB
        assert settings["stage_ids"]["NEW"] == "Принял в работу" and "WEB" not in settings["stage_ids"]
        assert settings["pipeline_ids"]["2"] == "Партнеры"
        assert settings["pipelines"]["Партнеры"][:2] == ["Принял в работу", "Знакомство"]
    if crm == "pipedrive":  # the 40-hex keys named by dealFields.json; owners by the deal's owner_name (API v1)
        assert "dealFields.json" in said and "Анна Смирнова" in said
        assert settings["pipelines"]["Клиенты"][3] == "Отправлено КП"
    if crm == "salesforce":  # Owner.Name of each record's related Owner
        assert set(settings.get("partner_managers") or []) <= {"Alice Brown", "Bob Stone"}
        assert "Alice Brown" in said and "Bob Stone" in said


def test_bitrix24_csv_twin_with_the_same_activities_and_users(tmp_path):
    """The twin written from the JSON's flat records as CSV: the same findings (the contact's activity left out alike)."""
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "bitrix24-rest" / "export", export)
    lines = (DUMPS / "bitrix24" / "activities.json").read_text(encoding="utf-8").splitlines()
    _csv([json.loads(line)["result"][0] for line in lines], export / "activities.csv")
    _csv(json.loads((DUMPS / "bitrix24" / "users.json").read_text(encoding="utf-8"))["result"], export / "users.csv")
    _settings, found, _said = _audit(tmp_path, "bitrix24", export)
    assert found == FOUND["bitrix24"]


def _csv(records: list[dict], path: Path) -> None:
    keys = [k for k, v in records[0].items() if not isinstance(v, (dict, list))]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        w.writerows([["" if r[k] is None else r[k] for k in keys] for r in records])


def _rows(path: Path) -> list[dict]:
    con = duckdb.connect()
    raw = read_raw(con, path, "t", path.parent)
    return [dict(zip(["_row", *raw.headers], r)) for r in con.execute("SELECT * FROM t ORDER BY _row").fetchall()]


def test_related_records_are_their_id_and_dotted_fields(tmp_path):
    path = tmp_path / "deals.json"
    path.write_text(json.dumps({"success": True, "data": [
        {"id": 1, "title": "A", "value": 10, "user_id": {"id": 7, "name": "Ann", "email": "a@x", "value": 7},
         "org_id": {"name": "Acme", "owner_id": 9, "value": 3}, "person_id": None},
        {"id": 2, "title": "B", "value": 0, "user_id": 8, "org_id": None, "person_id": None},
    ], "additional_data": {"pagination": {"start": 0}}}), encoding="utf-8")
    first, second = _rows(path)
    assert {k: first[k] for k in ("id", "user_id", "user_id.name", "org_id", "org_id.name", "org_id.owner_id", "value")} == {
        "id": "1", "user_id": "7", "user_id.name": "Ann", "org_id": "3", "org_id.name": "Acme", "org_id.owner_id": "9",
        "value": "10"}
    assert "owner_id" not in first and "name" not in first  # an org's owner is never the deal's
    assert (second["user_id"], second["org_id"], second["user_id.name"]) == ("8", "", "")
    path.write_text(json.dumps({"totalSize": 1, "done": True, "records": [
        {"attributes": {"type": "Opportunity", "url": "/x"}, "Id": "006A", "IsWon": False,
         "Owner": {"attributes": {"type": "User", "url": "/u"}, "Name": "Ann"}}]}), encoding="utf-8")
    [row] = _rows(path)
    assert row == {"_row": 2, "Id": "006A", "IsWon": "false", "Owner.Name": "Ann"}


def test_pages_in_an_array_and_json_lines_are_read_one_after_another(tmp_path):
    path = tmp_path / "deals.json"
    path.write_text(json.dumps([{"result": [{"ID": "1"}, {"ID": "2"}], "next": 2, "total": 3},
                                {"result": [{"ID": "3"}], "total": 3}]), encoding="utf-8")
    assert [r["ID"] for r in _rows(path)] == ["1", "2", "3"]
    path.write_text('{"result": [{"ID": "1"}], "total": 2}\n\n{"result": [{"ID": "2"}], "total": 2}\n', encoding="utf-8")
    assert [r["ID"] for r in _rows(path)] == ["1", "2"]
    path.write_text('{"ID": "1", "TITLE": "a"}\n{"ID": "2", "TITLE": "b"}\n', encoding="utf-8")
    assert [(r["ID"], r["TITLE"]) for r in _rows(path)] == [("1", "a"), ("2", "b")]


def test_a_json_lines_file_broken_on_a_line_names_it(tmp_path, monkeypatch):
    from crm_audit.errors import InputError

    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "en")
    path = tmp_path / "activities.json"
    path.write_text('{"ID": "1"}\n{"ID": "2"}\n{"ID": \n', encoding="utf-8")
    with pytest.raises(InputError) as exc:
        _rows(path)
    [problem] = exc.value.problems
    assert problem.file == str(path)
    assert problem.text("en") == ("the file is not valid JSON: it breaks at line 3, column 8; save the API's answer "
                                  "again whole, or move the file out of the export folder")
