"""`init --from-export --force` over the team's finished settings on an export it cannot read (a required column
missing): the team's file stays byte for byte, and the error says what the export lacks and how to map it — never a
stub that keeps only `columns:` and `values:` (nothing is lost). Over a stub a stopped init wrote, it writes the stub
again."""

from __future__ import annotations

import pytest

from cli_helpers import cli_ru


@pytest.fixture(autouse=True)
def _languages_no_profile_had(monkeypatch, tmp_path):
    """The languages these tests were written with as unknown (Korean, Turkish, Chinese, Danish, Indonesian …) are
    the profiles' own now (issue 13): the exports are read with the profiles as they were without them, so what is
    told by the values stays tested (tests/profile_variants.py)."""
    from profile_variants import as_before

    as_before(monkeypatch, tmp_path)


GOOD = ("Deal - ID,Deal - Title,Deal - Owner,Deal - Pipeline,Deal - Stage,Deal - Status,Deal - Deal created\n"
        "501,Acme pilot,Anna,Sales,Qualified,Open,2026-10-01\n502,Beta,Boris,Sales,Proposal Made,Open,2026-10-01\n")
# the status column under a name and with words no profile knows: init cannot read the deals without it
BAD = ("Deal - ID,Deal - Title,Deal - Owner,Deal - Pipeline,Deal - Stage,Deal - Zustand,Deal - Deal created\n"
       "501,Acme pilot,Anna,Sales,Qualified,진행 중,2026-10-01\n502,Beta,Boris,Sales,Proposal Made,성사,2026-10-01\n")


def test_init_force_keeps_the_teams_file_when_the_export_cannot_be_read(tmp_path, capsys, monkeypatch):
    work, export = tmp_path / "work", tmp_path / "export"
    export.mkdir()
    (export / "deals.csv").write_text(GOOD, encoding="utf-8")
    code, _out, err = cli_ru(capsys, monkeypatch, "init", str(work), "--crm", "pipedrive", "--from-export", str(export))
    assert code == 0, err
    path = work / "crm-audit.yaml"
    team = path.read_text(encoding="utf-8").replace("partner_managers: []", "partner_managers: [Anna]")
    path.write_text(team, encoding="utf-8")
    (export / "deals.csv").write_text(BAD, encoding="utf-8")
    code, out, err = cli_ru(capsys, monkeypatch, "init", str(work), "--crm", "pipedrive", "--from-export", str(export),
                            "--force")
    assert code == 2
    assert path.read_text(encoding="utf-8") == team
    assert "оставлен как был" in out + err and "(columns: {deals: {status: <заголовок>}})" in out + err
    assert not (work / "crm-audit.yaml.tmp").exists()
    # a stub a stopped init wrote is no team's work: written again
    path.unlink()
    assert cli_ru(capsys, monkeypatch, "init", str(work), "--crm", "pipedrive", "--from-export", str(export))[0] == 2
    stub = path.read_text(encoding="utf-8")
    assert "unfinished:" in stub
    code, out, err = cli_ru(capsys, monkeypatch, "init", str(work), "--crm", "pipedrive", "--from-export", str(export),
                            "--force")
    assert code == 2 and "записан не до конца" in out + err and "unfinished:" in path.read_text(encoding="utf-8")
