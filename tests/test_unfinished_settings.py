"""Settings `init` wrote without reading the export (issue 13, acceptance R2's side issue): `validate` used to say
«Всё верно» on them and `run` to audit with no pipelines. Their `unfinished:` line stops both with what to do, at its
line; `init --from-export … --force` writes the settings whole and the line goes."""

from __future__ import annotations

from cli_helpers import cli_ru

from crm_audit.cli_profiles import _stub_settings
from crm_audit.errors import Problem


def _stub(work, export) -> None:
    lack = Problem(template="x", params={"entity": "deals", "name": "id", "header": "ID", "found": "«Título»"},
                   file=str(export / "deals.csv"), reason="missing-column")
    (work / "crm-audit.yaml").write_text(_stub_settings("pipedrive", export, lack, {}), encoding="utf-8")


def test_validate_and_run_stop_on_settings_init_left_unfinished(tmp_path, capsys, monkeypatch):
    work, export = tmp_path / "w", tmp_path / "export"
    work.mkdir()
    export.mkdir()
    (export / "deals.csv").write_text('"Deal - ID","Deal - Title","Deal - Stage","Deal - Status"\n"1","A","Qualified","Open"\n',
                                      encoding="utf-8")
    _stub(work, export)
    config = str(work / "crm-audit.yaml")
    code, out, err = cli_ru(capsys, monkeypatch, "validate", "-c", config)
    said = out + err
    assert code == 2 and "Всё верно" not in said
    assert "файл не дописан: init не смог прочитать выгрузку (в deals.csv нет колонки «ID» (deals: id))" in said
    assert "crm-audit.yaml:" in said  # at the line of `unfinished:`
    code, out, err = cli_ru(capsys, monkeypatch, "run", "-c", config, "--export", str(export), "--out", str(work / "a.xlsx"))
    assert code == 2 and "файл не дописан" in out + err and not (work / "a.xlsx").exists()
    # init --force over it reads the export and writes the settings whole: the line is gone, validate passes
    code, _out, err = cli_ru(capsys, monkeypatch, "init", str(work), "--crm", "pipedrive", "--from-export", str(export), "--force")
    assert code == 0, err
    assert "unfinished" not in (work / "crm-audit.yaml").read_text(encoding="utf-8")
    code, out, err = cli_ru(capsys, monkeypatch, "validate", "-c", config)
    assert code == 0 and "Всё верно" in out + err
