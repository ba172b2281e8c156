"""An e-mail is never an id (issue 13): a HubSpot deals export with no contacts file (tests/fixtures/real/hs_toofan_domain,
real rows) has «Associated Contact Email», whose name resembles «Associated Contact IDs»; with no contacts file to check
its values against, init proposed it as the deal's person_id. suggest_guards.yaml `not_names` now lists the link ids
(person_id, org_id, deal_id) as never e-mails nor web addresses. init → run, no hand edit."""

from __future__ import annotations

import csv
from pathlib import Path

import yaml

from crm_audit.cli import main
from test_issue13_hubspot_domain_link import MISMATCH

DOMAIN = Path(__file__).parent / "fixtures" / "real" / "hs_toofan_domain"


def test_associated_contact_email_is_not_proposed_as_person_id(tmp_path, capsys):
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "hubspot", "--from-export", str(DOMAIN)]) == 0
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    deals = (yaml.safe_load(text).get("columns") or {}).get("deals") or {}
    assert "person_id" not in deals
    assert "Associated Contact Email" not in deals.values()
    # the company's domain is still read as the deal's company (the link by domain)
    assert deals.get("org_name") == "Associated Company Domain"
    capsys.readouterr()
    assert main(["inspect", str(DOMAIN), "--config", str(work / "crm-audit.yaml")]) == 0
    out = capsys.readouterr().out
    assert "Associated Contact Email → person_id" not in out
    assert main(["run", "-c", str(work / "crm-audit.yaml"), "--export", str(DOMAIN), "--as-of", "2025-06-01",
                 "--quiet", "--violations-csv", str(tmp_path / "v.csv")]) == 0
    with (tmp_path / "v.csv").open(encoding="utf-8") as f:
        found = {(r["rule_code"], r["deal_id"]) for r in csv.DictReader(f)}
    assert found == {("1.7", d) for d in MISMATCH}
