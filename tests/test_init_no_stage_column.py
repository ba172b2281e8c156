"""init --from-export on a deals file with no stage column (issue 13, what must work 4): the settings to finish are
written — the CRM and the stage's `columns:` line to fill — instead of a message naming a crm-audit.yaml that does
not exist; once the line is filled (or the export has the column), init --force completes them and run audits."""

from __future__ import annotations

from crm_audit.cli import main

HEAD = '"Deal - ID","Deal - Title","Deal - Owner","Deal - Value","Deal - Status","Deal - Deal created"'
ROWS = ['"1","Сделка 1","Иван","1000","Open","2026-10-01"', '"2","Сделка 2","Петр","","Open","2026-09-01"']


def test_no_stage_column_leaves_settings_to_finish_then_runs(tmp_path, capsys):
    export = tmp_path / "export"
    export.mkdir()
    (export / "deals.csv").write_text("\n".join([HEAD, *ROWS]) + "\n", encoding="utf-8")
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "pipedrive", "--from-export", str(export)]) == 2
    err = capsys.readouterr().err
    assert "required column «Stage»" in err and "columns: {deals: {stage: <header>}}" in err
    settings = work / "crm-audit.yaml"
    text = settings.read_text(encoding="utf-8")
    assert "crm: pipedrive" in text and "    # stage: <header>" in text
    assert "Deal - ID, Deal - Title, Deal - Owner" in text  # the file's columns, to pick from

    # the team's stage column has its own name: written in place of <header>, then init --force completes the file
    named = tmp_path / "named"
    named.mkdir()
    (named / "deals.csv").write_text("\n".join([HEAD + ',"Шаг"', ROWS[0] + ',"Квалификация"', ROWS[1] + ',"Переговоры"'])
                                     + "\n", encoding="utf-8")
    settings.write_text(text.replace("    # stage: <header>", "    stage: Шаг"), encoding="utf-8")
    assert main(["init", str(work), "--crm", "pipedrive", "--from-export", str(named), "--force"]) == 0
    done = settings.read_text(encoding="utf-8")
    assert "stage: Шаг" in done and "Квалификация" in done and "Переговоры" in done
    assert main(["run", "-c", str(settings), "--export", str(named), "--as-of", "2026-11-20", "--quiet",
                 "--violations-csv", str(work / "v.csv")]) == 0
    assert (work / "v.csv").read_text(encoding="utf-8").count("\n") > 1


def test_a_stage_column_with_every_cell_blank_keeps_its_own_message(tmp_path, capsys):
    """The column is there (its cells blank): no stub claiming it is missing."""
    export = tmp_path / "export"
    export.mkdir()
    (export / "deals.csv").write_text("\n".join([HEAD + ',"Deal - Stage","Deal - Pipeline"',
                                                 *(r + ',"",""' for r in ROWS)]) + "\n", encoding="utf-8")
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "pipedrive", "--from-export", str(export)]) == 2
    assert "no deal has a stage" in capsys.readouterr().err
    assert not (work / "crm-audit.yaml").exists()
