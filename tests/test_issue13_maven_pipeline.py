"""The Kaggle / Maven «CRM sales opportunities» data under its own file names (issue 13): sales_pipeline.csv is the
deals file by its headers (crm_audit/engine/file_shapes.yaml: entity detection as data), whatever it is called;
products.csv and sales_teams.csv are no entity and are ignored with a warning. init --from-export → run, no hand edit."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import yaml

from crm_audit.cli import main
from crm_audit.engine.mapping import detect_entity, file_shapes
from crm_audit.engine.profile import load_profile

MAVEN = Path(__file__).parent / "fixtures" / "real" / "maven_pipeline"
HEADERS = "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value".split(",")


def test_sales_pipeline_csv_is_the_deals_file_and_the_audit_runs(tmp_path, capsys):
    work = tmp_path / "work"
    assert main(["init", str(work), "--from-export", str(MAVEN)]) == 0
    capsys.readouterr()
    settings = work / "crm-audit.yaml"
    text = settings.read_text(encoding="utf-8")
    cols = yaml.safe_load(text)["columns"]["deals"]
    assert cols["id"] == "opportunity_id" and cols["stage"] == "deal_stage" and cols["owner"] == "sales_agent"
    assert cols["value"] == "close_value"
    assert "(sales_pipeline.csv) — проверьте" in text
    out = tmp_path / "v.csv"
    assert main(["run", "-c", str(settings), "--export", str(MAVEN), "--as-of", "2017-04-01", "--out",
                 str(tmp_path / "a.xlsx"), "--violations-csv", str(out)]) == 0
    said = capsys.readouterr().out
    assert "Audit as of 01.04.2017: 9 deals audited, 1 violation in 1 of 17 rules" in said
    with out.open(encoding="utf-8") as f:
        rows = [(r["rule_code"], r["deal_id"], r["owner"], r["stage"]) for r in csv.DictReader(f)]
    # the one open deal without an account: «Engaging», James Ascencio
    assert rows == [("1.11", "HAXMC4IX", "James Ascencio", "Engaging")]
    assert "products.csv: not recognised as deals, organizations, persons or activities; ignored" in said
    assert "sales_teams.csv: not recognised as deals, organizations, persons or activities; ignored" in said


def test_inspect_names_sales_pipeline_csv_the_deals(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no settings yet: the deals file is named, with the column to map
    assert main(["inspect", str(MAVEN)]) == 2
    said = capsys.readouterr().out
    assert "sales_pipeline.csv → deals: unreadable: required column «Opportunity ID» (deal id) is missing" in said
    assert "products.csv: not recognised, ignored" in said and "sales_teams.csv: not recognised, ignored" in said
    assert main(["init", "--from-export", str(MAVEN)]) == 0  # its columns: mapped, inspect reads the file
    capsys.readouterr()
    assert main(["inspect", str(MAVEN)]) == 0
    assert "sales_pipeline.csv → deals: 9 rows" in capsys.readouterr().out


def test_the_shape_decides_whatever_the_name_and_only_whole(tmp_path):
    profile = load_profile("pipedrive")  # a shape is no CRM's: every profile reads it
    assert frozenset({"opportunity_id", "deal_stage", "sales_agent"}) in file_shapes()["deals"]
    assert detect_entity(profile, tmp_path / "export 2017-04.csv", HEADERS) == "deals"
    assert detect_entity(profile, tmp_path / "export.csv", [h.upper() for h in HEADERS]) == "deals"  # case-insensitive
    # two of the shape's three headers are no shape: sales_teams.csv has sales_agent and nothing else of it
    assert detect_entity(profile, tmp_path / "x.csv", ["opportunity_id", "sales_agent", "product"]) is None
    assert detect_entity(profile, tmp_path / "sales_teams.csv", ["sales_agent", "manager", "regional_office"]) is None


def test_a_renamed_copy_runs_alike(tmp_path, capsys):
    export = tmp_path / "export"
    export.mkdir()
    shutil.copy(MAVEN / "sales_pipeline.csv", export / "pipeline_2017.csv")
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "salesforce", "--from-export", str(export)]) == 0
    assert main(["run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", "2017-04-01", "--quiet",
                 "--violations-csv", str(tmp_path / "v.csv")]) == 0
    assert "HAXMC4IX" in (tmp_path / "v.csv").read_text(encoding="utf-8")
