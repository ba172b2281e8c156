"""#13 acceptance X4: a Pipedrive API v1 deal with `deleted: true` is deleted whatever its `status` says (derive_status
from_flags deleted: is_deleted, field is_deleted headers [deleted] in pipedrive.yaml; the deleted flag now comes before
the export's status column). Case pd_set_deleted: api_pd_json + deal 12, a copy of deal 2 with «deleted: true, active:
false, status: lost» — it was audited as lost on 1.2, 1.8, 2.1; the findings are now the case's hand expectation, deal
12 in none (deal 8, status «deleted», is skipped as before; deal 6, won with active: false, is still audited)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import cli_in_process, findings_by_code, run_in_process

EXPORT = Path(__file__).parent / "fixtures" / "accx" / "pd_set_deleted" / "export"
# /tmp/accX/pd_set_deleted/expected.json
EXPECTED = {"1.1": {"2", "10"}, "1.2": {"7"}, "1.3": {"3"}, "1.4": {"3"}, "1.5": {"2", "3"}, "1.6": {"4"}, "1.7": {"3"},
            "1.8": {"2", "6"}, "1.9": {"4"}, "1.10": {"3"}, "1.11": {"2"}, "1.12": {"5"}, "1.13": {"4"}, "2.1": {"2", "7"},
            "2.2": {"1"}, "2.3": {"3"}, "2.4": {"1", "4"}}


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    work = tmp_path_factory.mktemp("pddel")
    env = {"CRM_AUDIT_LANGUAGE": "ru"}
    done = cli_in_process("init", str(work), "--crm", "pipedrive", "--from-export", str(EXPORT), env=env)
    assert done.returncode == 0, done.stderr
    inspect = cli_in_process("inspect", str(EXPORT), "-c", str(work / "crm-audit.yaml"), env=env)
    run = run_in_process(work, EXPORT, "2026-11-20", env=env)
    assert run.returncode == 0, run.stderr
    return {"inspect": inspect, "found": findings_by_code(work / "v.csv")}


def test_inspect_reads_deleted_as_the_deleted_flag(story):
    assert story["inspect"].returncode == 0, story["inspect"].stderr
    assert "deleted → is_deleted;" in story["inspect"].stdout
    custom = next(x for x in story["inspect"].stdout.splitlines() if "update_time" in x)
    assert " deleted," not in custom and "active" in custom


def test_a_deleted_deal_is_not_audited_whatever_its_status(story):
    assert story["found"] == EXPECTED
    assert not any("12" in ids for ids in story["found"].values())
