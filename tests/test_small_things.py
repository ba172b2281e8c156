"""Issue 16, point 7: the small things people trip on, through the CLI as users run it.

Dates as 20.11.2026, a note when --as-of is far from the export, a CSV that
Russian-locale Excel opens (--csv-excel), --quiet, «did you mean» for manager
names and settings keys.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from pathlib import Path

import pytest

from crm_audit.cli import main
from crm_audit.cycle.run import stale_as_of

DEMO = Path(__file__).resolve().parents[1] / "crm_audit" / "demo_data"


@pytest.fixture
def team(tmp_path: Path, monkeypatch) -> Path:
    shutil.copy(DEMO / "crm-audit.yaml", tmp_path / "crm-audit.yaml")
    shutil.copytree(DEMO / "pipedrive", tmp_path / "pipedrive")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_dates_as_russians_write_them(team, capsys):
    code, _, _ = _run(capsys, "run", "-e", "pipedrive", "--as-of", "20.11.2026", "--violations-csv", "a.csv", "--ledger", "a.db")
    assert code == 0
    rows = list(csv.DictReader((team / "a.csv").open(encoding="utf-8")))
    assert rows and {r["as_of"] for r in rows} == {"2026-11-20"}
    code, _, err = _run(capsys, "run", "-e", "pipedrive", "--as-of", "31.11.2026", "--violations-csv", "b.csv")
    assert code == 2 and "«31.11.2026» is not a date" in err and "DD.MM.YYYY" in err
    assert not (team / "b.csv").exists()


def test_far_as_of_is_noted(team, capsys):
    code, out, _ = _run(capsys, "run", "-e", "pipedrive", "--as-of", "2027-06-01", "--violations-csv", "a.csv", "--ledger", "a.db")
    assert code == 0
    # the demo export's newest deal date is 22.11.2026
    assert ("note: the audit date 01.06.2027 is 191 days after the newest date in the export (22.11.2026); "
            "check --as-of or whether this is the latest export") in out
    code, out, _ = _run(capsys, "run", "-e", "pipedrive", "--as-of", "2026-11-20", "--violations-csv", "b.csv", "--ledger", "b.db")
    assert code == 0 and "newest date in the export" not in out


def test_stale_as_of_threshold():
    newest = dt.date(2026, 11, 20)
    assert stale_as_of(newest + dt.timedelta(days=45), newest) is None
    assert stale_as_of(newest - dt.timedelta(days=45), newest) is None
    early = stale_as_of(newest - dt.timedelta(days=46), newest)
    assert early is not None and early.code == "as-of-far" and "46 days before" in early.message
    assert stale_as_of(newest, None) is None


def test_csv_for_russian_excel(team, capsys):
    code, _, _ = _run(capsys, "run", "-e", "pipedrive", "--as-of", "2026-11-20", "--violations-csv", "plain.csv",
                      "--ledger", "a.db")
    assert code == 0
    code, _, _ = _run(capsys, "run", "-e", "pipedrive", "--as-of", "2026-11-20", "--violations-csv", "excel.csv",
                      "--csv-excel", "--ledger", "b.db")
    assert code == 0
    raw = (team / "excel.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf" + b"rule_id;rule_code;criticality;deal_id;")
    excel = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    plain = list(csv.reader((team / "plain.csv").open(encoding="utf-8", newline="")))
    assert excel == plain  # the same fields, the same text
    assert any("Иван Петров" in row for row in excel)  # Cyrillic intact
    # cp1251 (what Excel reads without the BOM) would garble it: the BOM is what makes it readable
    code, _, err = _run(capsys, "run", "-e", "pipedrive", "--csv-excel")
    assert code == 2 and "--violations-csv" in err


def test_quiet_keeps_the_summary_and_notes_for_the_log(team, capsys):
    """README: with --quiet "logs hold only the summary": the summary and the notes (a far --as-of) stay, the
    progress and read-back chatter go."""
    code, out, err = _run(capsys, "run", "-e", "pipedrive", "--as-of", "2027-06-01", "--violations-csv", "a.csv",
                          "--ledger", "a.db", "--quiet")
    assert code == 0 and err == ""
    assert "298 deals audited, 610 violations" in out and "191 days after the newest date in the export" in out
    assert "loading" not in out and "rule 1/17" not in out
    assert (team / "a.csv").exists()
    code, out, err = _run(capsys, "run", "-e", "missing-folder", "--quiet")
    assert code == 2 and out == "" and "missing-folder" in err


def test_did_you_mean_manager(team, capsys):
    assert _run(capsys, "run", "-e", "pipedrive", "--as-of", "2026-11-20", "--ledger", "crm-audit.db",
                "--violations-csv", "a.csv")[0] == 0
    code, out, _ = _run(capsys, "review", "--manager", "Иван Петров", "--no-pull", "--today", "21.11.2026")
    assert code == 0 and "Иван Петров" in out
    code, _, err = _run(capsys, "review", "--manager", "Иван Петорв", "--no-pull")
    assert code == 2 and "no manager «Иван Петорв» in the audits (did you mean «Иван Петров»?)" in err


def test_did_you_mean_settings_key(team, capsys):
    text = (team / "crm-audit.yaml").read_text(encoding="utf-8")
    (team / "crm-audit.yaml").write_text(text + "outptu:\n  due_days: 5\nnotify:\n  smtp: {hots: smtp.example.ru, sender: a@b.ru}\n",
                                         encoding="utf-8")
    code, _, err = _run(capsys, "validate")
    assert code == 2
    assert "unknown key «outptu» (did you mean «output»?)" in err
    assert "unknown key «hots» (did you mean «host»?)" in err
