"""Generic profile features: header priority, `remove`, `from_days`,
`link_by_name: [deal]`, `hints` and the validation of a profile file."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from crm_audit.errors import InputError, SettingsError
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile

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
        assert ex.entities["deals"].fields["stage_changed"] == "Days in stage"
        assert [n.text("en") for n in ex.entities["deals"].notes["stage_changed"]] == ["days before 2026-11-20"]
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
        assert [n.text("en") for n in ex.entities["activities"].notes["deal_id"]][0].startswith("linked by name to ")
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


MIXED = {
    "name": "mixed",
    "link_by_name": ["org", "person"],
    "entities": {
        "deals": {"files": ["deals"], "fields": {
            "id": {"headers": ["ID"], "type": "id", "required": True},
            "org_name": {"headers": ["Company"]},
            "person_name": {"headers": ["Contact"], "fallback": {"headers": ["Contact first", "Contact last"], "join": " "}},
        }},
        "persons": {"files": ["people"], "rows_where": {"headers": ["Kind", "Type"], "values": ["Person"]}, "fields": {
            "id": {"headers": ["ID"], "type": "id", "required": True},
            "name": {"headers": ["Name"]},
        }},
        "organizations": {"files": ["orgs"], "rows_where": {"headers": ["Kind", "Type"], "values": ["Company", "Org"]}, "fields": {
            "id": {"headers": ["ID"], "type": "id", "required": True},
            "name": {"headers": ["Name"]},
            "created": {"headers": ["Created"], "type": "date"},
        }},
    },
}


def _mixed(tmp_path, files: dict[str, str]):
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(MIXED, allow_unicode=True), encoding="utf-8")
    d = tmp_path / "export"
    d.mkdir()
    for name, text in files.items():
        (d / name).write_text(text, encoding="utf-8")
    return load_export(d, load_profile(str(path)))


def test_rows_where_one_file_feeds_two_entities(tmp_path):
    ex = _mixed(tmp_path, {
        "deals.csv": "ID,Company,Contact,Contact first,Contact last\n1,Acme,,Ann,Lee\n2,Beta,Bob,Rob,X\n3,,,,\n",
        "people.csv": "ID,TYPE ,Name,Created\n10, person ,Ann Lee,\n20,COMPANY,Acme,2026-01-02\n30,org,Beta,\n40,,Nobody,\n11,Person,Bob,\n",
    })
    try:
        persons, orgs = ex.entities["persons"], ex.entities["organizations"]
        assert persons.file == orgs.file and persons.rows_where.text("en") == "rows whose «TYPE» is Person"
        assert ex.con.execute("SELECT _row, id, name FROM persons ORDER BY _row").fetchall() == [(2, "10", "Ann Lee"), (6, "11", "Bob")]
        assert ex.con.execute("SELECT _row, id, name FROM organizations ORDER BY _row").fetchall() == [(3, "20", "Acme"), (4, "30", "Beta")]
        assert ex.con.execute("SELECT person_name, person_id, org_id FROM deals ORDER BY _row").fetchall() == [
            ("Ann Lee", "10", "20"), ("Bob", "11", "30"), (None, None, None)]
        assert ex.entities["deals"].fields["person_name"] == "Contact"
        assert [n.text("en") for n in ex.entities["deals"].notes["person_name"]] == ["else Contact first + Contact last"]
        skipped = [w for w in ex.warnings if w.code == "rows-skipped"]
        assert [(w.row, w.column) for w in skipped] == [(5, "TYPE")] and "blank" in skipped[0].message
    finally:
        ex.close()


def test_rows_where_without_its_column_reads_the_whole_file(tmp_path):
    ex = _mixed(tmp_path, {"deals.csv": "ID,Contact first\n1,Ann\n", "people.csv": "ID,Name\n10,Ann\n11,Bob\n",
                           "orgs.csv": "ID,Name\n20,Acme\n"})
    try:
        assert ex.entities["persons"].rows == 2 and ex.entities["persons"].rows_where is None
        assert ex.entities["organizations"].file.name == "orgs.csv"
        assert ex.entities["deals"].fields["person_name"] == "Contact first"
        assert ex.con.execute("SELECT person_name, person_id FROM deals").fetchone() == ("Ann", "10")
        assert not [w for w in ex.warnings if w.code == "rows-skipped"]
    finally:
        ex.close()


@pytest.mark.parametrize("entity", [
    {"rows_where": {"headers": ["Kind"], "values": []}},
    {"rows_where": {"headers": [], "values": ["x"]}},
    {"rows_where": {"headers": ["Kind"], "values": ["x"], "column": "Kind"}},
    {"fields": {"id": {"headers": ["ID"], "fallback": {"headers": []}}}},
    {"fields": {"id": {"headers": ["ID"], "fallback": {"headers": [" id "]}}}},
    {"fields": {"id": {"headers": ["ID"], "fallback": ["Other"]}}},
])
def test_invalid_rows_where_and_fallback(tmp_path, entity):
    with pytest.raises(SettingsError):
        _profile(tmp_path, entities={"deals": {"files": ["deals"], "fields": {"id": {"headers": ["ID"]}}, **entity}})
