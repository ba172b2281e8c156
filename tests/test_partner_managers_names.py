"""`partner_managers:` names checked against the export's deal owners (issue 13): a name no owner of the export is
(case, spaces at the ends and ё aside) is warned at its line by `validate --export` and by `run`, with the closest
owner's name, or the export's owners when none is close — the rule comparing the owner with the list never matches it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cli_helpers import cli_in_process

ACCU = Path(__file__).parent / "fixtures" / "accu"
RU = {"CRM_AUDIT_LANGUAGE": "ru"}
TAIL = ("нет такого ответственного в выгрузке (Opportunity.csv){hint}: правила, сравнивающие ответственного с этим "
        "списком, его никогда не найдут; впишите имя так, как оно записано в выгрузке")


@pytest.fixture(scope="module")
def said(tmp_path_factory) -> dict[str, str]:
    """init on the Salesforce dump, partner_managers: three names written by hand; validate --export and run: their output."""
    work = tmp_path_factory.mktemp("pm")
    shutil.copytree(ACCU / "sf_rt_full", work / "export")
    done = cli_in_process("init", str(work), "--crm", "salesforce", "--from-export", str(work / "export"), env=RU)
    assert done.returncode == 0, done.stderr
    cfg = work / "crm-audit.yaml"
    text = cfg.read_text(encoding="utf-8")
    assert "\npartner_managers: []\n" in text
    cfg.write_text(text.replace("\npartner_managers: []\n", '\npartner_managers: [" john ROE ", Jane Dö, Ольга Партнерова]\n'),
                   encoding="utf-8")
    v = cli_in_process("validate", "--config", str(cfg), "--export", str(work / "export"), env=RU)
    assert v.returncode == 0, v.stdout + v.stderr
    r = cli_in_process("run", "-c", str(cfg), "--export", str(work / "export"), "--as-of", "2026-11-20",
                       "--out", str(work / "a.xlsx"), "--violations-csv", str(work / "v.csv"), "--ledger", str(work / "l.db"), env=RU)
    assert r.returncode == 0, r.stderr
    return {"validate": v.stdout + v.stderr, "run": r.stdout + r.stderr}


def test_validate_names_the_closest_owner_of_a_name_no_owner_is(said):
    out = said["validate"]
    assert "partner_managers: «Jane Dö» — " + TAIL.format(hint=" (может быть, «Jane Doe»?)") in out
    assert re.search(r"crm-audit\.yaml:\d+:\d+: partner_managers: «Jane Dö»", out)


def test_a_name_close_to_none_lists_the_exports_owners(said):
    assert ("partner_managers: «Ольга Партнерова» — " + TAIL.format(hint=" (ответственные в выгрузке: Jane Doe, John Roe)")
            in said["validate"])


def test_an_owner_written_in_other_case_and_spaces_is_no_problem(said):
    assert "john ROE" not in said["validate"] and "john ROE" not in said["run"]


def test_run_warns_of_them_too(said):
    assert "partner_managers: «Jane Dö» — " + TAIL.format(hint=" (может быть, «Jane Doe»?)") in said["run"]
    assert "«Ольга Партнерова» — нет такого ответственного" in said["run"]
