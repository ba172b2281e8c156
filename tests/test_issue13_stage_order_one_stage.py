"""`stage_order_confirmed: false` written by hand on settings whose pipelines each have one open stage warns nowhere
(issue 13): an order of one stage needs no confirmation — init writes true for it, and validate / run read it alike
(crm_audit/engine/stage_guess.py `order_unconfirmed`: the CRM's won / lost stages and the settings' won_stages: /
lost_stages: are not open). A pipeline of two open stages still warns."""

from __future__ import annotations

import pytest
import yaml

from crm_audit import settings as settings_mod
from crm_audit.cli import main
from crm_audit.engine.stage_guess import order_unconfirmed, ordered_pipelines

HEAD = '"Deal - ID","Deal - Title","Deal - Owner","Deal - Value","Deal - Status","Deal - Deal created","Deal - Stage","Deal - Pipeline"'
ROWS = ['"1","Сделка 1","Иван","1000","Open","2026-10-01","Звонок","Альфа"',
        '"2","Сделка 2","Петр","","Open","2026-09-01","Переговоры","Бета"',
        '"3","Сделка 3","Петр","500","Won","2026-09-01","Переговоры","Бета"']
GUESSED = "the order of the stages in `pipelines:` was guessed"


def test_one_open_stage_per_pipeline_and_false_by_hand_warns_nowhere(tmp_path, capsys):
    export = tmp_path / "export"
    export.mkdir()
    (export / "deals.csv").write_text("\n".join([HEAD, *ROWS]) + "\n", encoding="utf-8")
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "pipedrive", "--from-export", str(export)]) == 0
    settings = work / "crm-audit.yaml"
    text = settings.read_text(encoding="utf-8")
    assert yaml.safe_load(text)["pipelines"] == {"Альфа": ["Звонок"], "Бета": ["Переговоры"]}
    assert "\nstage_order_confirmed: true\n" in text
    settings.write_text(text.replace("\nstage_order_confirmed: true\n", "\nstage_order_confirmed: false\n"), encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", "-c", str(settings)]) == 0
    said = capsys.readouterr()
    assert GUESSED not in said.out + said.err
    assert main(["run", "-c", str(settings), "--export", str(export), "--as-of", "2026-11-20", "--out",
                 str(tmp_path / "a.xlsx"), "--violations-csv", str(tmp_path / "v.csv")]) == 0
    said = capsys.readouterr()
    assert "was guessed from the export" not in said.out + said.err  # neither the settings' warning nor a rule's

    # a second open stage in a pipeline: its order can matter, so the hand-written false warns again
    text = settings.read_text(encoding="utf-8").replace("  Альфа: [Звонок]", "  Альфа: [Звонок, Встреча]")
    settings.write_text(text, encoding="utf-8")
    assert main(["validate", "-c", str(settings)]) == 0
    said = capsys.readouterr()
    assert f"crm-audit.yaml:{text.splitlines().index('stage_order_confirmed: false') + 1}:1: {GUESSED}" in said.err


@pytest.mark.parametrize(("crm", "pipelines", "extra", "ordered"), [
    # Bitrix24: its won / lost stages are closed, so «Новая» is the one open stage
    ("bitrix24", {"Продажи": ["Новая", "Сделка успешна", "Сделка провалена"]}, {}, []),
    ("bitrix24", {"Продажи": ["Новая", "Подготовка документов", "Сделка успешна"]}, {}, ["Продажи"]),
    # a closed stage the settings name (lost_stages:) is not open either
    ("bitrix24", {"Продажи": ["Новая", "Отказ клиента", "Сделка успешна"]}, {"lost_stages": ["Отказ клиента"]}, []),
    # HubSpot's «Closed Won» / «Closed Lost»
    ("hubspot", {"Sales Pipeline": ["Appointment Scheduled", "Closed Won", "Closed Lost"]}, {}, []),
    # Pipedrive: won / lost are statuses, every stage is open
    ("pipedrive", {"Альфа": ["Звонок"], "Бета": ["Переговоры", "Договор"]}, {}, ["Бета"]),
])
def test_which_pipelines_have_an_order_to_confirm(crm, pipelines, extra, ordered):
    s = settings_mod.from_dict({"crm": crm, "pipelines": pipelines, "stage_order_confirmed": False, **extra})
    assert ordered_pipelines(s) == ordered
    assert order_unconfirmed(s) is bool(ordered)
