"""Issue 13 acceptance R10: a HubSpot API dump's tasks column «associated_deal_ids» («101», «103;107») is the tasks' deal
ids — its name resembles «Associated Deals» (the deal names) too, but a column nearer a link id's name is left to that
link, which its values confirm (the deals' hs_object_id): 1.1 and 2.3 run and flag what the English export does."""

from __future__ import annotations

import shutil
from pathlib import Path

from cli_helpers import findings_by_code, init_from_export, run_audit

API_HS = Path(__file__).parent / "fixtures" / "accr" / "api_hs" / "export"


def test_a_column_of_the_deals_ids_is_the_tasks_deal_link(tmp_path, capsys, monkeypatch):
    export = tmp_path / "export"
    shutil.copytree(API_HS, export)
    text = init_from_export(capsys, monkeypatch, tmp_path, "hubspot", export)
    assert "    deal_id: associated_deal_ids    #" in text
    assert "deal_name: associated_deal_ids" not in text
    run_audit(capsys, monkeypatch, tmp_path, export, "2026-11-20")
    found = findings_by_code(tmp_path / "v.csv")
    # task 505 («103;107») counts for both of its deals; 503 (done) leaves 104 without an open task
    assert found.get("1.1") == {"102", "104"}
    assert found.get("2.3") == {"103", "107"}
    assert found.get("1.5") == {"102"} and found.get("1.7") == {"104"} and found.get("1.11") == {"103"}
