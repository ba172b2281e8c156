"""Issue 13 (what was left): an export without the CRM's closed columns whose stages name no closed stage leaves every
deal open — said by `run` (terminal and the data warnings), never a silent audit of closed deals as open ones."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from cli_helpers import cli_ru

SF = Path(__file__).parent / "fixtures" / "salesforce" / "export"


def _export(tmp_path: Path, keep_flags: bool) -> Path:
    export = tmp_path / "export"
    shutil.copytree(SF, export)
    src = export / "opportunities.csv"
    with src.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    drop = set() if keep_flags else {head.index("Closed"), head.index("Won")}
    stage, prob = head.index("Stage"), head.index("Probability (%)")
    out = []
    for n, r in enumerate(rows):
        r = list(r)
        if n and len(r) > stage and r[stage] in ("Closed Won", "Closed Lost"):
            r[stage], r[prob] = {"Closed Won": "Архив 1", "Closed Lost": "Архив 2"}[r[stage]], "50"
        elif n and len(r) > prob and r[prob] == "0":  # (an open deal at 0 % would be guessed closed lost)
            r[prob] = "10"
        out.append([c for i, c in enumerate(r) if i not in drop])
    with src.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(out)
    return export


def test_no_closed_columns_and_no_closed_stage_is_said_by_run(tmp_path, capsys, monkeypatch):
    _export(tmp_path, keep_flags=False)
    monkeypatch.chdir(tmp_path)
    assert cli_ru(capsys, monkeypatch, "init", "--crm", "salesforce", "--from-export", "export")[0] == 0
    code, out, err = cli_ru(capsys, monkeypatch, "run", "--export", "export", "--as-of", "2026-11-20",
                            "--violations-csv", "v.csv")
    assert code == 0, err
    said = out + err
    assert "ни одна из сделок (12) не закрыта: в выгрузке нет ни одного столбца закрытия CRM («Closed», «Won»" in said, said


def test_with_the_closed_columns_nothing_is_said(tmp_path, capsys, monkeypatch):
    _export(tmp_path, keep_flags=True)
    monkeypatch.chdir(tmp_path)
    assert cli_ru(capsys, monkeypatch, "init", "--crm", "salesforce", "--from-export", "export")[0] == 0
    code, out, err = cli_ru(capsys, monkeypatch, "run", "--export", "export", "--as-of", "2026-11-20")
    assert code == 0, err
    assert "не закрыта: в выгрузке нет" not in out + err
