"""#13 acceptance X5 (case pd_enum_unknown): a Pipedrive API dump whose organization 1 has «Агентство ли это» = 3, an
option id organizationFields.json does not list (an option deleted in the CRM). The yes/no field a rule tests (1.12)
is checked only when the rules are decided, after the load: init wrote `on_bad_value: error` without a word and the
first `run` stopped on the cell. Now init writes `warn` with a comment naming the cell and how to switch back to
error, and the first run audits, saying the cell."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from cli_helpers import cli_in_process, findings_by_code

CASE = Path(__file__).parent / "fixtures" / "accw" / "api_pd_json" / "export"
RU = {"CRM_AUDIT_LANGUAGE": "ru"}
EXPECTED = {"1.1": {"2", "10"}, "1.2": {"7"}, "1.3": {"3"}, "1.4": {"3"}, "1.5": {"2", "3"}, "1.6": {"4"},
            "1.7": {"3"}, "1.8": {"2", "6"}, "1.9": {"4"}, "1.10": {"3"}, "1.11": {"2"}, "1.12": {"5"}, "1.13": {"4"},
            "2.1": {"2", "7"}, "2.2": {"1"}, "2.3": {"3"}, "2.4": {"1", "4"}}  # the case's hand expectation


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pdenum")
    export, work = tmp / "export", tmp / "w"
    shutil.copytree(CASE, export)
    orgs = json.loads((export / "organizations.json").read_text(encoding="utf-8"))
    orgs["data"][0]["5c0ffee0000000000000000000000000000000a1"] = 3  # options list 1 «Да», 2 «Нет» only
    (export / "organizations.json").write_text(json.dumps(orgs, ensure_ascii=False), encoding="utf-8")
    init = cli_in_process("init", str(work), "--crm", "pipedrive", "--from-export", str(export), env=RU)
    assert init.returncode == 0, init.stderr
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    run = cli_in_process("run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", "2026-11-20",
                         "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"),
                         "--ledger", str(work / "l.db"), env=RU)
    return {"text": text, "run": run, "found": findings_by_code(work / "v.csv") if run.returncode == 0 else {}}


def test_init_writes_warn_naming_the_cell(story):
    text = story["text"]
    assert yaml.safe_load(text)["on_bad_value"] == "warn"
    assert ("# init: в этой выгрузке есть ячейки, которые не читаются (organizations.json строка 2, «Агентство ли это»: "
            "«3»),\n# и с error первый аудит остановился бы на них.") in text
    # an option id organizationFields.json does not list is read at the load as a bad value of the field (Z-L): the
    # field list is older than the data
    assert ("# Из них id вариантов списка, которых нет в списке полей выгрузки (organizations.json строка 2, "
            "«Агентство ли это»: «3»):\n# список полей (organizationFields.json) сохранён раньше данных") in text
    assert "Впишите, что они значат, в values:" not in text  # an option id, no word of a language the profile lacks


def test_the_first_run_audits_and_says_the_cell(story):
    run = story["run"]
    assert run.returncode == 0, run.stderr
    assert ("organizations.json строка 2 «Агентство ли это»: id варианта «3» нет среди вариантов поля в "
            "organizationFields.json (ожидался один из: 1 «Да», 2 «Нет»); ячейка считается пустой" in run.stdout)
    assert story["found"] == EXPECTED  # organization 1 counts as not an agency: deal 5's partner is not one (1.12)
