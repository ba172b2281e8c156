"""init --from-export on a deals file with no stage column (issue 13, what must work 4): the settings it writes RUN —
`pipelines: {}`, every rule that cannot run without the stage or the pipeline (as the rule plans say:
crm_audit/engine/partial.needed_refs) under `rules: skip:` naming the column and how to switch it back on — and
`run` audits the rest with no hand edit, never reading the missing stage as empty. Once the export has the column,
init --force writes the pipelines and the rules run."""

from __future__ import annotations

import csv
from pathlib import Path

import yaml

from crm_audit.cli import main

REAL = Path(__file__).parent / "fixtures" / "real"

HEAD = '"Deal - ID","Deal - Title","Deal - Owner","Deal - Value","Deal - Status","Deal - Deal created"'
ROWS = ['"1","Сделка 1","Иван","1000","Open","2026-10-01"', '"2","Сделка 2","Петр","","Open","2026-09-01"']
ACTIVITIES = ['"Activity - Deal ID","Activity - Subject","Activity - Done","Activity - Due date"',
              '"1","Позвонить","To do","2026-11-25"']
#: the bundled rules that cannot run without a deal's stage or pipeline (a stage comparison, a pipeline scope)
STAGE_RULES = {"missing-amount-after-proposal", "missing-traffic-or-budget", "missing-demo-recording", "missing-proposal-link",
               "open-deal-without-organization", "partner-pipeline-org-not-agency", "partner-manager-deal-without-partner",
               "stuck-in-accepted", "no-stage-movement"}


def _export(root, head: str = HEAD, rows: list[str] = ROWS):
    root.mkdir()
    (root / "deals.csv").write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    (root / "activities.csv").write_text("\n".join(ACTIVITIES) + "\n", encoding="utf-8")
    return root


def _violations(path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8") as f:
        return sorted((r["rule_code"], r["deal_id"]) for r in csv.DictReader(f))


def test_no_stage_column_writes_settings_that_run(tmp_path, capsys):
    export = _export(tmp_path / "export")
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "pipedrive", "--from-export", str(export)]) == 0
    out = capsys.readouterr().out
    assert "deals.csv has no stage column «Deal - Stage»: no pipelines are written and 9 rules that need the stage" in out
    settings = work / "crm-audit.yaml"
    text = settings.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert data["pipelines"] == {} and "stage_order_confirmed" not in data  # no order to confirm
    assert "# В выгрузке (deals.csv) нет колонки этапа сделки «Deal - Stage»: воронки и этапы" in text
    skip = data["rules"]["skip"]
    assert STAGE_RULES <= set(skip)
    for rid in STAGE_RULES:  # each names the stage column (alone, or among the columns it lacks)
        assert "«Deal - Stage»" in skip[rid] or "«Deal - Pipeline»" in skip[rid], (rid, skip[rid])
    assert skip["partner-manager-deal-without-partner"] == ("в выгрузке нет колонки этапа «Deal - Stage» (deals.csv): этап и "
                                                            "воронку сделки не узнать")
    assert "# 1.13: чтобы включить — выгрузите сделки с колонкой «Deal - Stage» (или укажите свою в columns: (deals: " \
           "stage: <заголовок>)) и запустите crm-audit init --from-export <папка выгрузки> --force" in text
    # the rules that do not need the stage are not switched off for it
    assert not {"open-without-tasks", "overdue-tasks", "invalid-name"} & set(skip)

    assert main(["validate", "-c", str(settings)]) == 0
    capsys.readouterr()
    csv_out = work / "v.csv"
    assert main(["run", "-c", str(settings), "--export", str(export), "--as-of", "2026-11-20",
                 "--out", str(work / "a.xlsx"), "--violations-csv", str(csv_out)]) == 0
    run_out = capsys.readouterr().out
    # deal 2 has no task (1.1); deal 1's task is due after the audit date (2.3: nothing overdue); both titles miss the
    # handbook's «Компания — продукт» form (1.5); no rule reading the stage ran, none read it as empty
    assert _violations(csv_out) == [("1.1", "2"), ("1.5", "1"), ("1.5", "2")]
    assert "1.13 partner-manager-deal-without-partner: Rule skipped: the rule is switched off in the settings (rules: skip:): " \
           "в выгрузке нет колонки этапа «Deal - Stage» (deals.csv)" in run_out


def test_a_real_pt_br_export_without_its_stage_and_pipeline_columns(tmp_path, capsys):
    """The pt-BR export of tests/fixtures/real/pd_ptbr_jota with «Negócio - Etapa» and «Negócio - Funil» cut out: the
    column is named as this export writes it, and the run audits the rest."""
    src = REAL / "pd_ptbr_jota" / "deals.csv"
    with src.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    keep = [i for i, h in enumerate(rows[0]) if h not in ("Negócio - Etapa", "Negócio - Funil")]
    assert len(keep) == len(rows[0]) - 2
    export = tmp_path / "export"
    export.mkdir()
    with (export / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([[r[i] for i in keep] for r in rows])
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "pipedrive", "--from-export", str(export)]) == 0
    assert "no stage column «Negócio - Etapa»" in capsys.readouterr().out
    data = yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))
    assert data["pipelines"] == {}
    skip = data["rules"]["skip"]
    assert STAGE_RULES <= set(skip) and "Negócio - Etapa" in skip["stuck-in-accepted"]
    assert "missing-source" not in skip  # «Origem» is the team's source: 1.8 runs
    assert main(["run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", "2025-01-10", "--quiet",
                 "--violations-csv", str(work / "v.csv")]) == 0
    found = _violations(work / "v.csv")
    assert {code for code, _d in found} <= {"1.5", "1.8"}  # only rules that read no stage


def test_init_force_writes_the_pipelines_once_the_export_has_the_stage(tmp_path, capsys):
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "pipedrive", "--from-export", str(_export(tmp_path / "export"))]) == 0
    capsys.readouterr()
    named = _export(tmp_path / "named", HEAD + ',"Deal - Stage","Deal - Pipeline"',
                    [ROWS[0] + ',"Квалификация","Продажи"', ROWS[1] + ',"Переговоры","Продажи"'])
    assert main(["init", str(work), "--crm", "pipedrive", "--from-export", str(named), "--force"]) == 0
    assert "no stage column" not in capsys.readouterr().out
    data = yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))
    assert data["pipelines"]["Продажи"][:2] == ["Квалификация", "Переговоры"]
    assert not any("колонки этапа" in why for why in (data["rules"]["skip"] or {}).values())


def test_a_stage_column_with_every_cell_blank_keeps_its_own_message(tmp_path, capsys):
    """The column is there (its cells blank): no settings claiming it is missing, the stage never read as empty."""
    export = _export(tmp_path / "export", HEAD + ',"Deal - Stage","Deal - Pipeline"', [r + ',"",""' for r in ROWS])
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "pipedrive", "--from-export", str(export)]) == 2
    assert "no deal has a stage" in capsys.readouterr().err
    assert not (work / "crm-audit.yaml").exists()
