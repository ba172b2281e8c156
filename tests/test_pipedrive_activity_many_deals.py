"""Issue 13 item 8 (acceptance S1): a Pipedrive activity whose deal-id cell lists several deals («2;5», «2, 5» — a merged
or scripted export; Pipedrive's own interface links one) counts for every deal it lists, as HubSpot's list cells do;
«1,234» (a comma without a space) stays one id."""

from __future__ import annotations

import pytest

from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile

DEALS = ('"Deal - ID","Deal - Title","Deal - Stage","Deal - Status"\n"2","A","Qualified","Open"\n"5","B","Qualified","Open"\n'
         '"1234","C","Qualified","Open"\n"7","D","Qualified","Open"\n')


@pytest.mark.parametrize("cell", ["2;5", "2, 5", "2 ; 5"])
def test_an_activity_listing_two_deals_counts_for_both(tmp_path, cell):
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    (tmp_path / "activities.csv").write_text(
        '"Activity - ID","Activity - Deal ID","Activity - Done","Activity - Due date"\n'
        f'"8","{cell}","To do","2026-11-10"\n"9","1,234","Done","2026-11-11"\n"10","","To do","2026-11-12"\n', encoding="utf-8")
    ex = load_export(tmp_path, load_profile("pipedrive"))
    got = ex.con.execute("SELECT id, deal_id, _row FROM activities ORDER BY _row, deal_id").fetchall()
    assert got == [("8", "2", 2), ("8", "5", 2), ("9", "1,234", 3), ("10", None, 4)]
