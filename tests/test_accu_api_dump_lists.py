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
