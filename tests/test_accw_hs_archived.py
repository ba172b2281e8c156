"""#13 acceptance W6: a HubSpot CRM v3 dump's record field `archived` is the deleted flag (derive_status from_flags
`deleted: is_archived` in hubspot.yaml), never read as «Is closed lost» (init used to write `is_lost: archived`, its values
being yes/no). Case api_hs_json_one with deal 103 archived: 103 is deleted, in no rule's findings (it was 1.11, 2.3, 2.4);
every other finding is the case's hand expectation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cli_helpers import cli_in_process, findings_by_code, run_in_process

EXPORT = Path(__file__).parent / "fixtures" / "accw" / "api_hs_archived" / "export"
# /tmp/accW/api_hs_json_one/expected.json without deal 103
EXPECTED = {"1.1": {"102", "104"}, "1.5": {"102"}, "1.7": {"104"}, "2.3": {"107"}, "2.4": {"101", "107"}}


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    work = tmp_path_factory.mktemp("hsarch")
    env = {"CRM_AUDIT_LANGUAGE": "ru"}
    done = cli_in_process("init", str(work), "--crm", "hubspot", "--from-export", str(EXPORT), env=env)
    assert done.returncode == 0, done.stderr
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    inspect = cli_in_process("inspect", str(EXPORT), "-c", str(work / "crm-audit.yaml"), env=env)
    run = run_in_process(work, EXPORT, "2026-11-20", env=env)
    assert run.returncode == 0, run.stderr
    return {"text": text, "settings": yaml.safe_load(text), "inspect": inspect, "found": findings_by_code(work / "v.csv")}


def test_init_maps_archived_to_no_lost_flag(story):
    assert "archived" not in story["text"]
    assert "is_lost" not in ((story["settings"].get("columns") or {}).get("deals") or {})


def test_inspect_reads_archived_as_the_deleted_flag(story):
    assert story["inspect"].returncode == 0, story["inspect"].stderr
    assert "archived → is_archived;" in story["inspect"].stdout
    assert "archived → is_lost" not in story["inspect"].stdout


def test_an_archived_deal_is_not_audited(story):
    assert story["found"] == EXPECTED
