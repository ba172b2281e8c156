"""Generic profile features: header priority, `remove`, `from_days`,
`link_by_name: [deal]`, `hints` and the validation of a profile file."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from crm_audit.errors import InputError, SettingsError
from crm_audit.loading import load_export
from crm_audit.profile import load_profile

BASE = {
    "name": "test",
    "link_by_name": ["deal"],
    "entities": {
        "deals": {
            "files": ["deals"],
            "fields": {
                "id": {"headers": ["ID"], "type": "id", "required": True},
                "title": {"headers": ["Name"]},
                "stage": {"headers": ["Stage"]},
                "org_name": {"headers": ["Company (Primary)", "Company"], "split": ";"},
                "person_name": {"headers": ["Contact"], "split": ";", "remove": r"\s*\([^()]*@[^()]*\)"},
                "stage_changed": {"headers": ["Stage changed"], "type": "date", "from_days": ["Days in stage"]},
            },
        },
        "activities": {
            "files": ["tasks"],
            "fields": {
                "subject": {"headers": ["Subject"]},
                "deal_name": {"headers": ["Deal"]},
            },
        },
    },
}


def _profile(tmp_path, **changes):
    doc = yaml.safe_load(yaml.safe_dump(BASE))
    doc.update(changes)
    path = tmp_path / "test-profile.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_profile(str(path))


def _export(tmp_path, deals: str, tasks: str | None = None):
    d = tmp_path / "export"
    d.mkdir()
    (d / "deals.csv").write_text(deals, encoding="utf-8")
    if tasks is not None:
        (d / "tasks.csv").write_text(tasks, encoding="utf-8")
    return d


def test_header_order_of_the_profile_decides_and_remove_strips(tmp_path):
    d = _export(tmp_path, "ID,Name,Stage,Company,Company (Primary),Contact\n"
                          '1,A,s,B;C,C,"Ann Lee (ann@x.io);Bob (bob@x.io)"\n'
                          "2,B,s,D,,Bob\n")
    ex = load_export(d, _profile(tmp_path))
    try:
        rows = ex.con.execute("SELECT org_name, person_name FROM deals ORDER BY _row").fetchall()
        assert rows == [("C", "Ann Lee"), ("D", "Bob")]
        assert ex.entities["deals"].fields["org_name"] == "Company (Primary)"
    finally:
        ex.close()


def test_date_from_days_counted_back_from_the_audit_date(tmp_path):
    d = _export(tmp_path, "ID,Name,Stage,Days in stage\n1,A,s,5\n2,B,s,\n3,C,s,12.0\n")
    ex = load_export(d, _profile(tmp_path), as_of=dt.date(2026, 11, 20))
    try:
        got = ex.con.execute("SELECT stage_changed FROM deals ORDER BY _row").fetchall()
        assert got == [(dt.date(2026, 11, 15),), (None,), (dt.date(2026, 11, 8),)]
        assert ex.entities["deals"].fields["stage_changed"] == "Days in stage (days before 2026-11-20)"
    finally:
        ex.close()
    # the date column, when present, is used instead
    d2 = tmp_path / "b"
    d2.mkdir()
    (d2 / "deals.csv").write_text("ID,Name,Stage,Stage changed,Days in stage\n1,A,s,2026-11-01,5\n", encoding="utf-8")
    ex = load_export(d2, _profile(tmp_path), as_of=dt.date(2026, 11, 20))
    try:
        assert ex.con.execute("SELECT stage_changed FROM deals").fetchone() == (dt.date(2026, 11, 1),)
    finally:
        ex.close()


def test_date_from_days_bad_value(tmp_path):
    d = _export(tmp_path, "ID,Name,Stage,Days in stage\n1,A,s,пять\n")
    with pytest.raises(InputError, match="пять"):
        load_export(d, _profile(tmp_path), as_of=dt.date(2026, 11, 20))
    ex = load_export(d, _profile(tmp_path), on_bad_value="warn", as_of=dt.date(2026, 11, 20))
    try:
        assert [w.row for w in ex.warnings if w.code == "bad-value"] == [2]
        assert ex.con.execute("SELECT stage_changed FROM deals").fetchone() == (None,)
    finally:
        ex.close()


def test_activities_linked_to_deals_by_title(tmp_path):
    d = _export(tmp_path, "ID,Name,Stage\n1,Alpha,s\n2,Beta,s\n3,beta ,s\n",
                "Subject,Deal\nCall,Alpha\nMail,BETA\nLost,Gamma\n")
    ex = load_export(d, _profile(tmp_path))
    try:
        got = ex.con.execute("SELECT subject, deal_id FROM activities ORDER BY _row").fetchall()
        assert got == [("Call", "1"), ("Mail", "2"), ("Lost", None)]
        assert "linked by name" in ex.entities["activities"].fields["deal_id"]
        assert [w.code for w in ex.warnings if w.code == "ambiguous-link"] == ["ambiguous-link"]
    finally:
        ex.close()


@pytest.mark.parametrize("change", [
    {"footer": ["total("]},
    {"link_by_name": ["company"]},
    {"entities": {"deals": {"fields": {"id": {"headers": ["ID"], "type": "id", "from_days": ["Days"]}}}}},
    {"entities": {"deals": {"fields": {"id": {"headers": ["ID"], "remove": "(unclosed"}}}}},
])
def test_invalid_profile_is_a_settings_error(tmp_path, change):
    with pytest.raises(SettingsError):
        _profile(tmp_path, **change)
