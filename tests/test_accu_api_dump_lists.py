"""Acceptance U1: HubSpot's pipelines.json saved as GET /crm/v3/pipelines/deals returns it (results: [{id, label,
displayOrder, stages: [{id, label, displayOrder, metadata}]}]) is the same list as stages.csv: every pipeline's nested
stages named and in displayOrder, the pipeline ids under pipeline_ids: (never under stage_ids:), the same findings."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from cli_helpers import cli_ru, findings_by_code, init_from_export, run_audit

ACCU = Path(__file__).parent / "fixtures" / "accu"
PIPELINES = {
    "Sales Pipeline": ["Appointment Scheduled", "Qualified To Buy", "Presentation Scheduled", "Contract Sent",
                       "Closed Won", "Closed Lost"],
    "Partner Channel": ["Partner intro", "Partner demo", "Partner proposal", "Partner won", "Partner lost"],
}
FOUND = {"1.1": {"102"}, "1.5": {"102"}, "1.7": {"202"}, "1.11": {"103"}, "2.3": {"103", "202"},
         "2.4": {"101", "103", "202"}}


def _init_and_run(tmp_path, capsys, monkeypatch, case: str) -> tuple[dict, dict[str, set[str]], str]:
    export = tmp_path / "export"
    shutil.copytree(ACCU / case, export)
    text = init_from_export(capsys, monkeypatch, tmp_path, "hubspot", export)
    out, err = run_audit(capsys, monkeypatch, tmp_path, export, "2026-11-20")
    return yaml.safe_load(text), findings_by_code(tmp_path / "v.csv"), out + err


def test_hubspot_pipelines_json_names_and_orders_the_nested_stages(tmp_path, capsys, monkeypatch):
    settings, found, said = _init_and_run(tmp_path, capsys, monkeypatch, "hs_api2_json")
    assert settings["pipelines"] == PIPELINES
    assert settings["stage_order_confirmed"] is True
    assert settings["pipeline_ids"] == {"default": "Sales Pipeline", "12345678": "Partner Channel"}
    assert settings["stage_ids"]["12345681"] == "Partner intro"
    assert set(settings["stage_ids"]) == {"appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
                                          "contractsent", "closedwon", "closedlost", *(str(n) for n in range(12345681, 12345686))}
    assert found == FOUND
    assert "12345681" not in said


def test_hubspot_pipelines_json_gives_what_stages_csv_gives(tmp_path, capsys, monkeypatch):
    from_csv = _init_and_run(tmp_path / "csv", capsys, monkeypatch, "hs_api2_csv")
    from_json = _init_and_run(tmp_path / "json", capsys, monkeypatch, "hs_api2_json")
    for key in ("pipelines", "stage_ids", "pipeline_ids", "owner_ids", "stage_order_confirmed"):
        assert from_json[0][key] == from_csv[0][key], key
    assert from_json[1] == from_csv[1] == FOUND


def test_inspect_names_the_stages_from_pipelines_json_without_an_unnamed_id_warning(tmp_path, capsys, monkeypatch):
    export = tmp_path / "export"
    shutil.copytree(ACCU / "hs_api2_json", export)
    code, out, err = cli_ru(capsys, monkeypatch, "inspect", "--crm", "hubspot", str(export))
    assert code == 0, err
    assert "pipelines.json" in out
    assert "ID этапов" not in out + err and "ID воронок" not in out + err


# --------------------------------------------------------------------------- U6: Salesforce RecordType.csv

SF_FOUND = {"1.1": {"006A000000o6AAAAA6"}, "1.3": {"006A000000o3AAAAA3"}, "1.5": {"006A000000o2AAAAA2"},
            "1.7": {"006A000000o6AAAAA6"}, "1.8": {"006A000000o2AAAAA2", "006A000000o4AAAAA4"},
            "1.11": {"006A000000o3AAAAA3"}, "2.3": {"006A000000o3AAAAA3"},
            "2.4": {"006A000000o1AAAAA1", "006A000000o3AAAAA3"}}


def _sf_init(tmp_path, capsys, monkeypatch, drop_list: bool) -> str:
    """init from sf_rt_full (without RecordType.csv when ``drop_list``): the settings' text."""
    export = tmp_path / "export"
    shutil.copytree(ACCU / "sf_rt_full", export)
    if drop_list:
        (export / "RecordType.csv").unlink()
    return init_from_export(capsys, monkeypatch, tmp_path, "salesforce", export)


def test_salesforce_record_types_named_by_recordtype_csv_on_the_first_try(tmp_path, capsys, monkeypatch):
    """RecordType.csv names the deals' RecordTypeId: init maps it as the pipeline itself (with a «проверьте» comment),
    the pipelines are the record types' names — init → run, nothing to edit (acceptance U6)."""
    text = _sf_init(tmp_path, capsys, monkeypatch, drop_list=False)
    assert ("\ncolumns:\n  deals:\n    pipeline: RecordTypeId    # проверьте: RecordType.csv называет ID этой колонки "
            "(2 из 2: «012A0000000DirAAA», «012A0000000PrtAAA») — взята как pipeline") in text
    settings = yaml.safe_load(text)
    assert settings["pipeline_ids"] == {"012A0000000DirAAA": "Direct", "012A0000000PrtAAA": "Partner"}
    assert settings["pipelines"] == {"Direct": ["Prospecting", "Qualification", "Closed Won", "Closed Lost"],
                                     "Partner": ["Needs Analysis", "Proposal/Price Quote", "Closed Won", "Closed Lost"]}
    out, err = run_audit(capsys, monkeypatch, tmp_path, tmp_path / "export", "2026-11-20")
    assert "RecordType.csv" not in out + err  # read as the record types' list, never skipped as a would-be Account.csv
    assert findings_by_code(tmp_path / "v.csv") == SF_FOUND


def test_salesforce_record_type_ids_without_the_list_are_proposed_commented_then_warned_with_stubs(tmp_path, capsys, monkeypatch):
    """No RecordType.csv: the ids alone do not say they are pipelines — the line stays commented with its reason; taken
    by the team (init --force), the ids are warned with `# pipeline_ids:` stubs."""
    text = _sf_init(tmp_path, capsys, monkeypatch, drop_list=True)
    assert "\ncolumns: {}" in text
    assert ("#     pipeline: RecordTypeId    # по значениям может быть pipeline (Opportunity.csv): несколько значений, "
            "повторяются: «012A0000000DirAAA», «012A0000000PrtAAA» — не записано") in text
    (tmp_path / "crm-audit.yaml").write_text(text.replace("\ncolumns: {}", "\ncolumns:\n  deals:\n    pipeline: RecordTypeId", 1),
                                             encoding="utf-8")
    export = tmp_path / "export"
    code, _out, err = cli_ru(capsys, monkeypatch, "init", str(tmp_path), "--crm", "salesforce", "--from-export", str(export), "--force")
    assert code == 0, err
    text = (tmp_path / "crm-audit.yaml").read_text(encoding="utf-8")
    assert '# pipeline_ids:\n#   "012A0000000DirAAA": ?\n#   "012A0000000PrtAAA": ?' in text
    out, err = run_audit(capsys, monkeypatch, tmp_path, export, "2026-11-20")
    assert "ID воронок" in out + err and "012A0000000" in out + err
