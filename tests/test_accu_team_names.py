"""Acceptance U3 / U7: a Russian amoCRM / Bitrix24 team's own names for the handbook's fields and pipelines are proposed
by init (each marked «проверьте»): «Город клиента», «Трафик сайта», «Запись демо (Zoom)», «Ссылка на КП (Google Docs)» (a
note in parentheses after the name is left out when names are compared), the partner pipeline «Агенты» / «Партнёрская
сеть» and Bitrix24's default «Общая» for «Клиенты» beside it — so the first audit gives the hand expectation (the
tester's), with no rule switched off for a field the export has."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from cli_helpers import findings_by_code, init_from_export, run_audit

FIXTURES = Path(__file__).parent / "fixtures" / "accu"
EXPECTED = {
    "amo_team": ("amocrm", {"1.3": {"3003"}, "1.4": {"3003"}, "1.5": {"3003", "3002"}, "1.7": {"3001"}, "1.8": {"3002", "3004"},
                            "1.10": {"3003"}, "1.11": {"3002", "3007"}, "2.1": {"3005", "3002"}},
                 {"deal.Город": "Город клиента", "deal.Посещаемость": "Трафик сайта",
                  "deal.Ссылка на запись демо": "Запись демо (Zoom)",
                  "deal.Ссылка на коммерческое предложение": "Ссылка на КП (Google Docs)"}, {"Партнеры": "Агенты"}),
    "b24_team": ("bitrix24", {"1.5": {"302"}, "1.8": {"302", "304"}, "1.11": {"302", "307"}, "2.1": {"303", "305"}},
                 {"deal.Город": "Город клиента", "deal.Ссылка на коммерческое предложение": "Ссылка на КП (Google Docs)"},
                 {"Клиенты": "Общая", "Партнеры": "Партнёрская сеть"}),
}


@pytest.mark.parametrize("case", list(EXPECTED))
def test_the_teams_own_names_are_proposed_and_the_first_audit_is_right(case, tmp_path, capsys, monkeypatch):
    crm, findings, fields, pipelines = EXPECTED[case]
    export, work = tmp_path / "export", tmp_path / "work"
    shutil.copytree(FIXTURES / case / "export", export)
    work.mkdir()
    text = init_from_export(capsys, monkeypatch, work, crm, export)
    settings = yaml.safe_load(text)
    assert {k: settings["fields"].get(k) for k in fields} == fields
    assert {k: settings["pipeline_names"].get(k) for k in pipelines} == pipelines
    run_audit(capsys, monkeypatch, work, export, "2026-11-20")
    assert findings_by_code(work / "v.csv") == findings
