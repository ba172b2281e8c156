"""Acceptance W1 (case api_b24_arr): Bitrix24 REST lists saved under their API method names (crm.status.list.json,
crm.category.list.json, user.get.json, crm.deal.list / company / contact / activity) are read as the lists they are —
the words of a file's name in a row, whatever separates them (`files:` crm_status_list) — never taken for the contacts
by their NAME column; and with no stage list at all, the stage ids named only by Bitrix24's default names are a guess:
`stage_order_confirmed` is not true, the pipeline's comment says which list is missing and its file names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from cli_helpers import cli_in_process, findings_by_code, run_in_process

CASE = Path(__file__).parent / "fixtures" / "accw" / "api_b24_arr"
RU = {"CRM_AUDIT_LANGUAGE": "ru"}
# the case's hand expectation (/tmp/accW/api_b24_arr/expected.json)
EXPECTED = {"1.1": {"202", "208"}, "1.3": {"203", "208"}, "1.5": {"202", "203"}, "1.7": {"203", "208"},
            "1.11": {"202"}, "2.2": {"201"}, "2.3": {"203"}, "2.4": {"201", "204"}}


def _init(work: Path, export: Path) -> str:
    done = cli_in_process("init", str(work), "--crm", "bitrix24", "--from-export", str(export), env=RU)
    assert done.returncode == 0, done.stderr
    return (work / "crm-audit.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def with_lists(tmp_path_factory):
    work = tmp_path_factory.mktemp("b24m") / "w"
    text = _init(work, CASE)
    done = run_in_process(work, CASE, "2026-11-20", env=RU)
    assert done.returncode == 0, done.stderr
    return text, findings_by_code(work / "v.csv")


def test_method_named_lists_give_the_teams_stages_confirmed(with_lists):
    text, _found = with_lists
    s = yaml.safe_load(text)
    assert s["pipelines"] == {
        "Клиенты": ["Принял в работу", "Квалификация", "Проведено демо", "Отправлено КП", "Выставлен счет", "Сделка успешна",
                    "Сделка провалена"],
        "Партнеры": ["Принял в работу", "Знакомство", "Отправлено КП", "Сделка успешна", "Сделка провалена"]}
    assert s["stage_order_confirmed"] is True
    assert "# порядок из списка этапов CRM (crm.status.list.json)\n" in text
    assert not s.get("stage_names")  # the handbook's stages are the team's own names: nothing to map


def test_method_named_export_audits_as_the_hand_expectation(with_lists):
    _text, found = with_lists
    assert found == EXPECTED


def test_inspect_reads_the_lists_not_as_contacts():
    done = cli_in_process("inspect", str(CASE), "--crm", "bitrix24", env=RU)
    assert done.returncode == 0, done.stderr
    assert "похожи на файл" not in done.stdout + done.stderr  # was: «… похожи на файл persons, … crm.contact.list.json; пропущен»
    assert "STAGE_ID (названия из crm.status.list.json)" in done.stdout
    assert "CATEGORY_ID (названия из crm.category.list.json)" in done.stdout


def test_without_a_stage_list_default_names_are_no_confirmed_order(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(CASE, export)
    (export / "crm.status.list.json").unlink()
    (export / "crm.category.list.json").unlink()
    text = _init(tmp_path / "w", export)
    s = yaml.safe_load(text)
    assert s["stage_order_confirmed"] is False
    assert s["pipelines"]["Общее"][:5] == ["Новая", "Подготовка документов", "Счёт на предоплату", "В работе", "Финальный счёт"]
    assert "Порядок этапов взят из данных CRM" not in text
    assert ("  # порядок не подтверждён: этапы «Подготовка документов», «В работе» названы по умолчанию Битрикс24 по их id — "
            "списка этапов CRM в выгрузке не найдено; положите его рядом со сделками (stages, deal_stages, stage_list, "
            "statuses, crm_status_list, dealcategory_stage_list — .csv или .json) и запустите init снова, или проверьте "
            "названия в stage_ids: и порядок здесь, затем поставьте stage_order_confirmed: true\n"
            '  "2": [Подготовка документов, В работе, Сделка успешна, Сделка провалена]\n') in text
