"""Issue 13, the acceptance tester's defects 1, 5, 6, 7, 8 and 14, played through the CLI as a user types it:
`crm-audit init --crm X --from-export DIR` then `crm-audit run`, findings asserted by value.

The exports under ``tests/fixtures/issue13-acceptance-f`` are the tester's cases (/tmp/t13/cases, not made
by this product's generator): ``pt-own-headers`` the Portuguese Pipedrive export with the team's own
«Negócio - Fase do funil» / «Negócio - Situação» (case 17), ``bitrix24-en`` a Bitrix24 export with «Deal
stage» and «Amount» (case 15), ``pt-persons`` the Portuguese export with persons and «ID da pessoa» (case 2
exp_pt2), ``ru-cp1251`` / ``ru-cp1251-org`` a Russian cp1251 `;` export without / with the organization and
currency columns, one pipeline «Клиенты» (case 13), ``pt`` the Portuguese export (case 2 exp_pt).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from test_crm_exports_issue13 import findings  # the findings of v.csv: rule id -> deal ids

from crm_audit.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "issue13-acceptance-f"
AS_OF = "2026-11-20"


def init(work: Path, crm: str, export: Path, *extra: str) -> int:
    return main(["init", str(work), "--crm", crm, "--from-export", str(export), *extra])


def run(work: Path, export: Path) -> int:
    return main(["run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", AS_OF,
                 "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"), "--quiet",
                 "--ledger", str(work / "l.db")])


def settings(work: Path) -> dict:
    return yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))


def test_init_maps_the_teams_own_stage_header_and_runs(tmp_path):
    """Defect 1: «Negócio - Fase do funil» is the stage (it holds Pipedrive's Italian «Fase»), «Situação» the status."""
    work, export = tmp_path / "w", FIXTURES / "pt-own-headers"
    assert init(work, "pipedrive", export) == 0
    s = settings(work)
    assert s["columns"]["deals"]["stage"] == "Fase do funil"
    assert s["columns"]["deals"]["status"] == "Situação"
    # the comment cites no other language's name (the Italian «Fase» in a Portuguese file: acceptance J11)
    assert "stage: Fase do funil    # похоже на название поля (deals.csv) — проверьте" in (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert run(work, export) == 0
    # init also names the handbook's «Клиенты» this team's «Vendas» (issue 13 D11): 1.11 finds deal 4 (open, no
    # organization); «Отправлено КП» = «Proposta enviada» is written commented out while the order of the team's other
    # stages is a guess (issue 13 acceptance J, J2): 1.3 is off, saying why
    assert "#   Отправлено КП: Proposta enviada" in (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert "missing-amount-after-proposal" in s["rules"]["skip"]
    assert findings(work) == {"open-deal-without-tasks": {"1"}, "invalid-name": {"2"}, "owner-mismatch": {"1"},
                              "overdue-tasks": {"2"}, "no-stage-movement": {"1"}, "open-deal-without-organization": {"4"}}
    # the order checked and the line moved in: 1.3 finds deal 3 (won after the proposal, amount 0)
    cfg = work / "crm-audit.yaml"
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    data["stage_names"], data["stage_order_confirmed"] = {"Отправлено КП": "Proposta enviada"}, True
    del data["rules"]["skip"]["missing-amount-after-proposal"]
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert run(work, export) == 0
    assert findings(work)["missing-amount-after-proposal"] == {"3"}


def test_init_honours_an_existing_columns_mapping(tmp_path, capsys):
    """Defect 1: a stage header nothing resembles is named by the user in columns:, and init --force keeps it. Before
    that, init proposes it from its values (a few repeated stage names beside the pipeline, acceptance N3), marked for
    the user to check, and the order it guesses is unconfirmed."""
    export = tmp_path / "exp"
    shutil.copytree(FIXTURES / "pt-own-headers", export)
    deals = export / "deals.csv"
    deals.write_text(deals.read_text(encoding="utf-8").replace("Negócio - Fase do funil", "Negócio - Coluna Z"), encoding="utf-8")
    work = tmp_path / "w"
    assert init(work, "pipedrive", export) == 0
    capsys.readouterr()
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert "stage: Coluna Z    # проверьте: название не узнано, но по значениям похоже на stage (deals.csv)" in text
    assert settings(work)["columns"]["deals"]["stage"] == "Coluna Z"
    assert settings(work)["stage_order_confirmed"] is False
    (work / "crm-audit.yaml").write_text("crm: pipedrive\ncolumns:\n  deals:\n    stage: Coluna Z\n", encoding="utf-8")
    assert init(work, "pipedrive", export, "--force") == 0
    s = settings(work)
    assert s["columns"]["deals"]["stage"] == "Coluna Z"
    assert "из вашего crm-audit.yaml" in (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert run(work, export) == 0
    assert findings(work)["no-stage-movement"] == {"1"}


def test_bitrix24_deal_stage_and_amount_are_proposed_and_read(tmp_path, capsys):
    """Defect 1: «Deal stage» is the stage (not the status), «Amount» the value (HubSpot's name for it)."""
    work, export = tmp_path / "w", FIXTURES / "bitrix24-en"
    assert init(work, "bitrix24", export) == 0
    cols = settings(work)["columns"]["deals"]
    assert (cols["stage"], cols["value"], cols["owner"]) == ("Deal stage", "Amount", "Responsible person")
    assert "status" not in cols
    assert run(work, export) == 0
    # the only pipeline «General» is proposed as the handbook's «Клиенты» (acceptance L5): 1.11 flags the open deal 203
    # without a company or a contact
    assert findings(work) == {"invalid-name": {"203"}, "missing-source": {"203"}, "open-deal-without-organization": {"203"}}
    capsys.readouterr()
    assert main(["inspect", str(export), "--crm", "bitrix24"]) == 0
    out = capsys.readouterr().out
    assert "columns: {deals: {stage: Deal stage}}" in out and "{status: Deal stage}" not in out
    assert "columns: {deals: {value: Amount}}" in out


def test_init_applies_the_column_inspect_suggests(tmp_path, capsys):
    """Defect 8: inspect suggests «ID da pessoa» for person_id; init writes it, and 1.7 runs (org owner Bruno ≠ Ana)."""
    work, export = tmp_path / "w", FIXTURES / "pt-persons"
    assert main(["inspect", str(export), "--crm", "pipedrive"]) == 0
    assert "person_id: ID da pessoa" in capsys.readouterr().out
    assert init(work, "pipedrive", export) == 0
    s = settings(work)
    assert s["columns"]["deals"]["person_id"] == "ID da pessoa"
    assert "owner-mismatch" not in s["rules"]["skip"]
    assert run(work, export) == 0
    assert findings(work)["owner-mismatch"] == {"1"}


def test_a_scope_of_two_pipelines_runs_on_the_one_the_team_has(tmp_path, capsys):
    """Defect 5: 1.11 is «Клиенты» OR «Партнеры»: only «Клиенты» exists, so it runs there (1.12, «Партнеры» only, is off)."""
    work, export = tmp_path / "w", FIXTURES / "ru-cp1251-org"
    assert init(work, "pipedrive", export) == 0
    skip = settings(work)["rules"]["skip"]
    assert "open-deal-without-organization" not in skip
    assert skip["partner-pipeline-org-not-agency"] == "в ваших воронках нет воронки «Партнеры» из руководства"
    assert run(work, export) == 0
    assert findings(work)["open-deal-without-organization"] == {"2"}
    capsys.readouterr()
    assert main(["validate", "-c", str(work / "crm-audit.yaml")]) == 0
    assert "unknown pipeline «Партнеры»" in capsys.readouterr().err


def test_rules_run_on_what_the_export_has(tmp_path, capsys):
    """Defects 6 and 7: no persons file and no currency column: 1.5 checks the title (and the organization's name),
    1.3 runs (the currency is only evidence); 1.11 without any organization column is off, never «no organization»."""
    work, export = tmp_path / "w", FIXTURES / "ru-cp1251-org"
    assert init(work, "pipedrive", export) == 0
    skip = settings(work)["rules"]["skip"]
    assert "invalid-name" not in skip and "missing-amount-after-proposal" not in skip
    assert run(work, export) == 0
    got = findings(work)
    assert got["invalid-name"] == {"2"}  # «тест»
    assert got["missing-amount-after-proposal"] == {"2", "3"}  # 0 at «Отправлено КП»; won, amount empty
    work2, export2 = tmp_path / "w2", FIXTURES / "ru-cp1251"  # neither organization nor currency columns
    assert init(work2, "pipedrive", export2) == 0
    skip2 = settings(work2)["rules"]["skip"]
    assert "Organization ID" in skip2["open-deal-without-organization"]
    assert run(work2, export2) == 0
    got2 = findings(work2)
    assert got2["missing-amount-after-proposal"] == {"2", "3"} and got2["invalid-name"] == {"2"}
    assert "open-deal-without-organization" not in got2


def test_inspect_reads_the_settings_here_as_run_does(tmp_path, capsys, monkeypatch):
    """Defect 14: `inspect DIR` in a folder with crm-audit.yaml judges the rules as `run` will (skipped, not FAIL)."""
    work, export = tmp_path / "w", FIXTURES / "pt"
    assert init(work, "pipedrive", export) == 0
    off = settings(work)["rules"]["skip"]
    assert off
    monkeypatch.chdir(work)
    capsys.readouterr()
    assert main(["inspect", str(export)]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if any(f" {rid} " in f"{ln} " for rid in off)]
    assert len(lines) == len(off)
    assert not [ln for ln in lines if "ОСТАНОВИТ" in ln or "FAIL" in ln]


def test_inspect_of_an_export_that_cannot_load_exits_2_and_says_why_per_file(capsys):
    """Defect 13: «deals.csv» and «deals (1).csv» (case 14): each file is named as the entity it is and why it was
    not read — never «not recognised» — and inspect exits 2 as run would."""
    export = FIXTURES / "pt-two-deals-files"
    assert main(["inspect", str(export), "--crm", "pipedrive"]) == 2
    out = capsys.readouterr().out
    files = [ln for ln in out.splitlines() if ln.startswith("  ") and ".csv" in ln.split("→")[0] and "→" in ln]
    assert len(files) == 5
    deals = [ln for ln in files if ln.startswith("  deals")]
    assert len(deals) == 2 and all("deals (1).csv" in ln.split(":", 1)[1] and "deals.csv" in ln.split(":", 1)[1] for ln in deals)
    assert "not recognised" not in out and "не распознан" not in out


def test_ids_named_as_init_asks_keep_pipelines_working(tmp_path, capsys):
    """Defect 15: a Pipedrive API dump with no stage list (case 19): init writes pipelines: by id; the user names
    the ids in stage_ids:/pipeline_ids: as the file asks; pipelines: is read through those names (no deal skipped
    as «not in the settings»), and validate says pipelines: still holds ids."""
    work, export = tmp_path / "w", FIXTURES / "pipedrive-api-ids"
    assert init(work, "pipedrive", export) == 0
    path = work / "crm-audit.yaml"
    text = path.read_text(encoding="utf-8")
    assert settings(work)["pipelines"] == {"1": ["1", "3", "2"]}
    text = text.replace('# stage_ids:\n#   "1": ?\n#   "2": ?\n#   "3": ?\n',
                        'stage_ids:\n  "1": Qualified\n  "2": Contact Made\n  "3": Proposal Made\n')
    text = text.replace('# pipeline_ids:\n#   "1": ?\n', 'pipeline_ids:\n  "1": Sales\n')
    assert "Proposal Made" in text and "pipeline_ids:\n  \"1\": Sales" in text
    path.write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", "-c", str(path)]) == 0
    err = capsys.readouterr().err
    assert "«1» = «Sales»" in err and "«3» = «Proposal Made»" in err
    assert main(["run", "-c", str(path), "--export", str(export), "--as-of", AS_OF, "--out", str(work / "audit.xlsx"),
                 "--violations-csv", str(work / "v.csv"), "--ledger", str(work / "l.db")]) == 0
    err = capsys.readouterr().err
    assert "stage comparisons skip" not in err and "сравнения этапов" not in err
    assert findings(work) == {"no-stage-movement": {"1"}}


def test_hubspot_stage_order_from_the_deal_probability(tmp_path):
    """Defect 9: HubSpot's «Deal probability» column (case 5) is the CRM's stage order: not guessed, no question."""
    work, export = tmp_path / "w", FIXTURES / "hubspot-probability"
    assert init(work, "hubspot", export) == 0
    s = settings(work)
    # HubSpot's default pipeline has «Closed won» though no deal of the export is in it
    assert s["pipelines"] == {"Sales Pipeline": ["Appointment Scheduled", "Qualified To Buy", "Contract Sent", "Closed Won",
                                                 "Closed Lost"]}
    assert s["stage_order_confirmed"] is True
    assert "pipeline" not in (s.get("columns") or {}).get("deals", {})
    assert run(work, export) == 0
    # init names the handbook's «Клиенты» HubSpot's «Sales Pipeline» (issue 13 D11): 1.11 finds open deal 4 without a company
    assert s["pipeline_names"] == {"Клиенты": "Sales Pipeline"}
    assert findings(work) == {"invalid-name": {"18345670004"}, "no-stage-movement": {"18345670001"},
                              "overdue-tasks": {"18345670001", "18345670002"}, "open-deal-without-organization": {"18345670004"}}

