"""Issue 13, the second acceptance tester's report (defects D2, D3, D5, D6, D6b, D7, D8, D16b: links, files,
validation): each case replays the tester's export through the CLI as a user runs it — `crm-audit init --crm X
--from-export DIR`, then `validate` / `run` — and asserts the findings, the deals' state and the messages by value.

The exports under ``tests/fixtures/issue13-acceptance-h/`` are the tester's (written from published evidence:
HubSpot view exports, Salesforce report downloads named ``reportNNNN.csv``, Pipedrive pt-BR deals exports with
their embedded organization / person columns), one folder per case, as the tester named it.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from crm_audit.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "issue13-acceptance-h"
AS_OF = "2026-11-20"


def init(work: Path, crm: str, export: Path) -> int:
    return main(["init", str(work), "--crm", crm, "--from-export", str(export)])


def run(work: Path, export: Path, *extra: str) -> int:
    return main(["run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", AS_OF,
                 "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"), *extra])


def findings(work: Path) -> dict[str, set[str]]:
    """rule id -> the deal ids it flagged (the violations CSV)."""
    out: dict[str, set[str]] = {}
    with open(work / "v.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["rule_id"], set()).add(row["deal_id"])
    return out


def edit_settings(work: Path, old: str, new: str) -> None:
    path = work / "crm-audit.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --------------------------------------------------------------------------- D3: Salesforce's reportNNNN.csv


def test_salesforce_task_report_is_recognised_by_its_headers_not_its_name(tmp_path, capsys):
    """D3: Salesforce names every report download reportNNNN.csv; the tasks report (Assigned, Subject, Task/Event,
    Due Date, Status, Opportunity, Opportunity ID, Company / Account) is the activities by its headers."""
    export = FIXTURES / "sf_en"
    assert main(["inspect", str(export)]) == 0
    out = capsys.readouterr().out
    assert "report1700000000001.csv → activities (tasks): 1 row" in out, out
    assert "not recognised" not in out
    work = tmp_path / "w"
    assert init(work, "salesforce", export) == 0
    assert run(work, export) == 0
    found = findings(work)
    # the one task (Edge's, not started, due 11/1/2026) is overdue; GenePoint (open, no task) has none
    assert found["overdue-tasks"] == {"0065g00000AbCdEAAA"}
    assert found["open-deal-without-tasks"] == {"0065g00000AbCdGAAA"}


# --------------------------------------------------------------------------- D2: tasks naming their deals

HS_TASKS = "hubspot-crm-exports-my-tasks-2026-11-20.csv"


def test_hubspot_view_task_export_links_its_deals_by_name(tmp_path, capsys):
    """D2: a view export's «Associated Deal» holds deal NAMES («Northwind renewal;Contoso upsell»): each task links
    to every deal it names (by title), so 001 and 002 have a task, and the not-started task due 2026-11-10 is overdue
    on both. Deal 005 «Appointment tbd» is named by task 55003 («Demo prep», due 2026-11-30): it has an open task too,
    so 1.1 flags no deal (the tester's «only 005» overlooked that task's link)."""
    export = FIXTURES / "hs_view"
    work = tmp_path / "w"
    assert init(work, "hubspot", export) == 0
    capsys.readouterr()
    assert main(["inspect", str(export), "-c", str(work / "crm-audit.yaml")]) == 0
    out = capsys.readouterr().out
    assert "Associated Deal → deal_name" in out
    assert "Associated Deal → deal_id" not in out
    assert run(work, export) == 0
    found = findings(work)
    assert found["overdue-tasks"] == {"18345670001", "18345670002"}
    assert "open-deal-without-tasks" not in found
    assert "links to a deal" not in capsys.readouterr().out


def _hs_tasks_variant(tmp_path: Path, header: str, names: dict[str, str]) -> Path:
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "hs_view", export)
    path = export / HS_TASKS
    text = path.read_text(encoding="utf-8").replace('"Associated Deal"', f'"{header}"')
    for old, new in names.items():
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return export


def test_tasks_whose_deal_column_names_no_deal_are_not_judged_as_no_task(tmp_path, capsys):
    """D2: when not one task's deal column names a deal of the export (ids of another account here), the rules about
    tasks are skipped with the reason, naming the file, the column and its values — never 1.1 on every open deal."""
    export = _hs_tasks_variant(tmp_path, "Associated Deal IDs", {"Northwind renewal;Contoso upsell": "99001;99002",
                                                                  '"Appointment tbd"': '"99003"'})
    work = tmp_path / "w"
    assert init(work, "hubspot", FIXTURES / "hs_view") == 0
    capsys.readouterr()
    assert run(work, export) == 0
    out = capsys.readouterr().out
    found = findings(work)
    assert not {"open-deal-without-tasks", "frozen-deal-without-tasks", "overdue-tasks"} & set(found)
    assert f"no task of {HS_TASKS} links to a deal of the export (its «Associated Deal IDs» holds «99001», «99002», «99003»" in out
    import openpyxl

    wb = openpyxl.load_workbook(work / "audit.xlsx", read_only=True)
    notes = " ".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c)
    assert "ни одна задача" in notes and "«99001»" in notes


def test_task_names_matching_no_deal_title_are_not_judged_either(tmp_path, capsys):
    """D2: deal names that match no deal's title (another pipeline's deals) — the same: warned, not judged."""
    export = _hs_tasks_variant(tmp_path, "Associated Deal", {"Northwind renewal;Contoso upsell": "Old deal",
                                                             '"Appointment tbd"': '"Other deal"'})
    work = tmp_path / "w"
    assert init(work, "hubspot", FIXTURES / "hs_view") == 0
    capsys.readouterr()
    assert run(work, export) == 0
    found = findings(work)
    assert "open-deal-without-tasks" not in found and "overdue-tasks" not in found
    assert "its «Associated Deal» holds «Old deal», «Other deal»" in capsys.readouterr().out


# --------------------------------------------------------------------------- D5: no deal id at all


def test_every_deal_id_blank_stops_with_exit_2_and_records_no_audit(tmp_path, capsys):
    """D5: «Deal - ID» blank in every row: exit 2 naming the file and the column, no workbook, no audit in the ledger
    (so it never becomes "the previous audit")."""
    export = FIXTURES / "pd_blankid"
    work = tmp_path / "w"
    shutil.copytree(FIXTURES / "pd_en_renamed", tmp_path / "other")
    assert init(work, "pipedrive", export) == 2
    err = capsys.readouterr().err
    assert "deals.csv (column «Deal - ID»): the deal id column «Deal - ID» is blank in every one of its 2 rows" in err
    assert not (work / "crm-audit.yaml").exists()
    assert init(work, "pipedrive", FIXTURES / "pd_en_renamed") == 0
    capsys.readouterr()
    assert run(work, export) == 2
    assert "is blank in every one of its 2 rows" in capsys.readouterr().err
    assert not (work / "audit.xlsx").exists() and not (work / "v.csv").exists()
    db = work / "crm-audit.db"
    if db.exists():
        import sqlite3

        with sqlite3.connect(db) as con:
            assert con.execute("SELECT count(*) FROM audits").fetchone()[0] == 0


# --------------------------------------------------------------------------- D6, D6b, D16b: the team's own headers

RENAMED = FIXTURES / "pd_en_renamed"  # «Vendedor» (owner), «Assunto da oportunidade» (title), «Fase atual» (stage)


def _settings(work: Path, name: str) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / name, work / "crm-audit.yaml")
    return work / "crm-audit.yaml"


def test_no_owner_or_title_column_is_warned_with_the_closest_column(tmp_path, capsys):
    """D6: a deals file without a recognised owner / title column: inspect and the run's terminal and FAQ name it,
    with the column it probably is («Vendedor» — a salesperson in pt / es — is the owner)."""
    assert main(["inspect", str(RENAMED)]) == 0
    out = capsys.readouterr().out
    assert ("the deals file has no owner column («Deal - Owner»): every deal is counted under «(no owner)»; is it "
            "«Vendedor»? If so, map it in crm-audit.yaml: columns: {deals: {owner: Vendedor}}") in out
    assert "the deals file has no title column («Deal - Title»)" in out and "is it «Assunto da oportunidade»?" in out
    assert "not mapped «Vendedor»: closest field «owner»" in out or "«Vendedor»" in out.split("Rules:")[0]
    # the tester's settings (init before these names were known): owner unmapped -> the run says so
    work = tmp_path / "w"
    cfg = _settings(work, "pd_en_renamed-typo2.yaml")
    text = cfg.read_text(encoding="utf-8").replace("    owner: Vendedr    # похоже на «Fase» (deals.csv) — проверьте\n", "")
    cfg.write_text(text, encoding="utf-8")
    assert run(work, RENAMED) == 0
    out = capsys.readouterr().out
    assert "deals.csv: the deals file has no owner column («Deal - Owner»)" in out and "is it «Vendedor»?" in out
    import openpyxl

    wb = openpyxl.load_workbook(work / "audit.xlsx", read_only=True)
    faq = " ".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c)
    assert "нет колонки ответственного («Deal - Owner»)" in faq and "«Vendedor»" in faq


def test_init_now_maps_the_renamed_owner_and_title(tmp_path):
    """D6: init proposes «Vendedor» → owner and «Assunto da oportunidade» → title (marked to confirm), so the first
    run groups the deals by their owners."""
    work = tmp_path / "w"
    assert init(work, "pipedrive", RENAMED) == 0
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert "    owner: Vendedor" in text and "    title: Assunto da oportunidade" in text
    assert "invalid-name:" not in text  # 1.5 reads the title: not switched off
    assert run(work, RENAMED) == 0
    with open(work / "v.csv", encoding="utf-8") as f:
        owners = {row["deal_id"]: row["owner"] for row in csv.DictReader(f)}
    assert owners and "" not in owners.values() and set(owners.values()) <= {"John Smith", "Jane Doe"}


def test_a_columns_header_the_export_lacks_is_an_error_with_did_you_mean(tmp_path, capsys):
    """D6b: `columns: {deals: {owner: Vendedr}}` — validate --export and run say so at its line with «did you mean
    «Vendedor»?»; run exits 2 and writes nothing. A typo under `fields:` («Original Sorce») is validate's error too."""
    work = tmp_path / "w"
    cfg = _settings(work, "pd_en_renamed-typo.yaml")
    capsys.readouterr()
    assert main(["validate", "-c", str(cfg), "--export", str(RENAMED)]) == 2
    err = capsys.readouterr().err
    line = next(i for i, t in enumerate(cfg.read_text(encoding="utf-8").splitlines(), 1) if "owner: Vendedr" in t)
    assert (f"crm-audit.yaml:{line}:5: columns: deals: owner: «Vendedr» is not a column of deals.csv (did you mean "
            "«Vendedor»?)") in err
    fline = next(i for i, t in enumerate(cfg.read_text(encoding="utf-8").splitlines(), 1) if "Original Sorce" in t)
    assert (f"crm-audit.yaml:{fline}:3: required column «Original Sorce» is missing (did you mean «Original Source»?); "
            "needed by rule(s): 1.8 missing-source") in err
    assert "2 problems found." in err
    assert run(work, RENAMED) == 2
    err = capsys.readouterr().err
    assert "columns: deals: owner: «Vendedr» is not a column of deals.csv (did you mean «Vendedor»?)" in err
    assert not (work / "audit.xlsx").exists() and not (work / "v.csv").exists()


def test_a_rule_switched_off_for_a_field_now_mapped_is_said_to_be_enableable(tmp_path, capsys):
    """D16b: the tester mapped `title: Assunto da oportunidade`; 1.5 stays under rules: skip: with «в выгрузке нет поля
    «Deal - Title»». validate --export and run say it can be switched back on (rules off for a handbook stage the
    team lacks are not: 1.3 stays silent)."""
    work = tmp_path / "w"
    cfg = _settings(work, "pd_en_renamed-fixed.yaml")
    capsys.readouterr()
    assert main(["validate", "-c", str(cfg), "--export", str(RENAMED)]) == 0
    err = capsys.readouterr().err
    line = next(i for i, t in enumerate(cfg.read_text(encoding="utf-8").splitlines(), 1) if t.startswith("    invalid-name:"))
    said = ("rule 1.5 invalid-name is switched off under rules: skip: («в выгрузке нет поля «Deal - Title» (deals.csv)»), "
            "but the export now has what it reads: remove it from rules: skip: to run it")
    assert f"crm-audit.yaml:{line}:5: {said}" in err and f"warning: {cfg}:{line}:5:" in err
    assert err.count("is switched off under rules: skip:") == 1
    assert run(work, RENAMED) == 0
    assert said in capsys.readouterr().out
    # switched back on, it runs: the renamed title is read
    text = cfg.read_text(encoding="utf-8").replace("    invalid-name: в выгрузке нет поля «Deal - Title» (deals.csv)\n", "")
    cfg.write_text(text, encoding="utf-8")
    assert run(work, RENAMED) == 0
    assert "is switched off under rules: skip:" not in capsys.readouterr().out


# --------------------------------------------------------------------------- D7: Pipedrive's embedded org / person


def test_pipedrive_deals_with_embedded_org_and_person_ids_feed_the_org_rules(tmp_path, capsys):
    """D7: «Organização - ID» / «Pessoa - ID» in a pt-BR deals export are the deal's organization and person: init
    switches 1.7 on, and with the tester's edits (É agência, Parceiros) 1.7 and 1.12 run — no «Deal - Organization
    ID» missing."""
    export = FIXTURES / "pd_ptbr_embed"
    work = tmp_path / "w"
    assert init(work, "pipedrive", export) == 0
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert "owner-mismatch:" not in text
    capsys.readouterr()
    assert main(["inspect", str(export)]) == 0
    out = capsys.readouterr().out
    assert "Organização - ID → org_id" in out and "Pessoa - ID → person_id" in out
    cfg = _settings(tmp_path / "edited", "pd_ptbr_agency-edited.yaml")
    text = cfg.read_text(encoding="utf-8").replace("on_bad_value: error", "on_bad_value: warn")  # «Talvez»: the tester's bad value
    text = text.replace('    owner-mismatch: "в выгрузке нет полей «Deal - Organization ID», «Deal - Contact person ID» (deals-7428260-2375.csv)"\n', "")
    cfg.write_text(text, encoding="utf-8")
    assert run(tmp_path / "edited", export) == 0
    out = capsys.readouterr().out
    assert "Deal - Organization ID" not in out
    found = findings(tmp_path / "edited")
    assert "partner-pipeline-org-not-agency" not in found  # Acme (Parceiros) is an agency: «Sim»


def test_pipedrive_deals_without_org_ids_link_by_the_organization_name(tmp_path, capsys):
    """D7: a deals export with «Negócio - Organização» (the name) and no org id links to organizations by name
    (`link_by_name`): the tester's edited settings run with exit 0 (was exit 2: «Deal - Organization ID» missing)."""
    export = FIXTURES / "pd_ptbr_agency"
    cfg = _settings(tmp_path / "w", "pd_ptbr_agency-edited.yaml")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("on_bad_value: error", "on_bad_value: warn"), encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", "-c", str(cfg), "--export", str(export)]) == 0
    assert run(tmp_path / "w", export) == 0
    out = capsys.readouterr().out
    assert "1.12" in out and "Deal - Organization ID" not in out.split("is switched off")[0]


# --------------------------------------------------------------------------- D8: validate knows the export


def test_validate_with_the_export_reports_a_rule_field_it_lacks_at_the_rules_line(tmp_path, capsys):
    """D8: a team rule reading «deal.Segmento»: validate alone says OK (it cannot know the export); with --export it
    reports it at our_rules.yaml's line in run's words, exit 2 — before a run stops on it."""
    export = FIXTURES / "pd_ptbr_embed"
    work = tmp_path / "w"
    assert init(work, "pipedrive", export) == 0
    shutil.copy(FIXTURES / "our_rules.yaml", work / "our_rules.yaml")
    edit_settings(work, "  files: []", "  files: [our_rules.yaml]")
    cfg = str(work / "crm-audit.yaml")
    capsys.readouterr()
    assert main(["validate", "-c", cfg]) == 0
    capsys.readouterr()
    assert main(["validate", "-c", cfg, "--export", str(export)]) == 2
    err = capsys.readouterr().err
    line = next(i for i, t in enumerate((work / "our_rules.yaml").read_text(encoding="utf-8").splitlines(), 1) if "Segmento" in t)
    assert f"our_rules.yaml:{line}:11: required column «Segmento» is missing; needed by rule(s): 3.1 big-deal-no-owner" in err
    assert run(work, export) == 2
    assert "required column «Segmento» is missing; needed by rule(s): 3.1 big-deal-no-owner" in capsys.readouterr().err


def test_a_task_with_deal_ids_and_deal_names_counts_once_per_deal(tmp_path):
    """D2: «Associated Deal IDs» and «Associated Deal» (names) in one task file go item by item together: a task of
    two deals is two rows (never ids × names = four), each linked by its id."""
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import load_profile

    export = _hs_tasks_variant(tmp_path, "Associated Deal", {})
    path = export / HS_TASKS
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] += ',"Associated Deal IDs"'
    lines[1] += ',"18345670001;18345670002"'
    lines[2] += ',"18345670005"'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_export(export, load_profile("hubspot"), as_of=None)
    try:
        rows = sorted(loaded.con.execute("SELECT id, deal_id, deal_name FROM activities").fetchall())
    finally:
        loaded.close()
        loaded.con.close()
    assert rows == [("55001", "18345670001", "Northwind renewal"), ("55001", "18345670002", "Contoso upsell"),
                    ("55003", "18345670005", "Appointment tbd")]
