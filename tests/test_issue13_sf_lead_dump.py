"""Issue 13, acceptance R3: a Salesforce Data Loader dump with Lead.csv beside Account / Opportunity / User / Task.

A Lead is not an organization: Lead.csv (Id, Name, Company, Status, OwnerId…) is one of the Salesforce objects the
audit does not read (the profile's `other_files:`), ignored with a warning. A file that only resembles the accounts by
its headers gives way to Account.csv, the profile's own name for them (whichever is read first); two files both named
as the accounts still stop the run. contacts_backup.csv («Имя», «Телефон») is not advised as the contacts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from crm_audit.engine.inspect import inspect_export
from cli_helpers import cli_ru, findings_by_code, init_from_export, run_audit

FIXTURE = Path(__file__).parent / "fixtures" / "issue13-sf-lead"
EXPECTED = {code: set(ids) for code, ids in json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8")).items()}


def _dump(tmp_path: Path) -> Path:
    export = tmp_path / "export"
    shutil.copytree(FIXTURE / "export", export)
    return export


def _audit(tmp_path, capsys, monkeypatch, export: Path) -> tuple[dict[str, set[str]], str]:
    work = tmp_path / "work"
    work.mkdir()
    init_from_export(capsys, monkeypatch, work, "salesforce", export)
    out, _err = run_audit(capsys, monkeypatch, work, export, "2026-11-20")
    return findings_by_code(work / "v.csv"), out


def test_a_lead_file_is_ignored_with_a_warning(tmp_path, capsys, monkeypatch):
    export = _dump(tmp_path)
    (export / "contacts_backup.csv").write_text("Имя,Телефон\nАнна,+7 900 000 00 00\n", encoding="utf-8")
    (export / "README.txt").write_text("exported with sfdx data export bulk\n", encoding="utf-8")
    found, out = _audit(tmp_path, capsys, monkeypatch, export)
    assert found == EXPECTED
    assert "  Lead.csv: по имени — объект CRM, который аудит не читает; пропущен" in out.splitlines()
    assert "два файла" not in out

    rep = inspect_export(export, crm="salesforce")
    absent = dict(rep.absent)
    assert "contacts_backup.csv" not in absent["persons"], absent  # not advised as the contacts to map
    assert absent["persons"] == "no such file in the export"


def test_a_file_only_resembling_the_accounts_gives_way_to_account_csv(tmp_path, capsys, monkeypatch):
    for name in ("Prospects.csv", "AAprospects.csv"):  # read after Account.csv, and before it
        case = tmp_path / name
        case.mkdir()
        export = _dump(case)
        (export / "Lead.csv").rename(export / name)
        found, out = _audit(case, capsys, monkeypatch, export)
        assert found == EXPECTED, name
        assert f"  {name}: колонки похожи на файл organizations, но этот файл по имени — Account.csv; пропущен" in out.splitlines()


def test_two_files_both_named_as_the_accounts_still_stop(tmp_path, capsys, monkeypatch):
    export = _dump(tmp_path)
    (export / "Lead.csv").unlink()
    shutil.copy(export / "Account.csv", export / "Accounts.csv")
    monkeypatch.chdir(tmp_path)
    code, _out, err = cli_ru(capsys, monkeypatch, "init", "--crm", "salesforce", "--from-export", "export")
    assert code == 2 and "Traceback" not in err
    assert "два файла organizations: Account.csv и Accounts.csv; оставьте в папке выгрузки один из них" in err
