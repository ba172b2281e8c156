"""init --from-export on an export without a stage column (issue 13): its last line no longer tells to check the order
of stages there are none of — it says there is no order to check and to look at the rules switched off instead; an
export with stages keeps the stage-order line. Russian (the managers' default) through the i18n catalogue."""

from __future__ import annotations

import os

import yaml

from crm_audit.cli import main
from test_init_no_stage_column import _export

WITH_STAGE_HEAD = '"Deal - ID","Deal - Title","Deal - Owner","Deal - Value","Deal - Status","Deal - Deal created","Deal - Stage"'
WITH_STAGE_ROWS = ['"1","Сделка 1","Иван","1000","Open","2026-10-01","Квалификация"',
                   '"2","Сделка 2","Петр","","Open","2026-09-01","Переговоры"']


def _last_line(tmp_path, capsys, **kw) -> tuple[str, dict]:
    export = _export(tmp_path / "export", **kw)
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "pipedrive", "--from-export", str(export)]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Wrote ") or ln.startswith("Записан ")]
    assert len(lines) == 1, lines
    return lines[0], yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))


def test_no_stage_column_says_what_applies_instead(tmp_path, capsys):
    line, data = _last_line(tmp_path, capsys)
    assert data["pipelines"] == {}
    path = tmp_path / "work" / "crm-audit.yaml"
    assert line == (f"Wrote {path}. The export has no stages, so there is no stage order to check: look at the rules "
                    f"switched off (rules: skip:, the reason next to each) and edit the lists, then run "
                    f"`crm-audit validate --config {path}`.")
    assert "order of the stages" not in line


def test_in_russian(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "ru")
    line, _ = _last_line(tmp_path, capsys)
    assert line.startswith(f"Записан {tmp_path / 'work' / 'crm-audit.yaml'}. Этапов в выгрузке нет, поэтому проверять "
                           "их порядок не нужно: посмотрите выключенные правила (rules: skip:, причина — рядом с каждым)")
    assert "Проверьте порядок этапов" not in line


def test_an_export_with_stages_still_asks_to_check_their_order(tmp_path, capsys):
    line, data = _last_line(tmp_path, capsys, head=WITH_STAGE_HEAD, rows=WITH_STAGE_ROWS)
    assert data["pipelines"]
    assert "Check the order of the stages" in line
