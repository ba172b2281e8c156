"""Acceptance V2 (c_columns_typo): every problem of a `columns:` block at once — an unknown entity no longer hides a
field-name typo and a header typo in the same block; each at its file:line with «did you mean» (the header: the
export's own). The settings are pd_es_story's, hand-edited: `deals: {stage_chnged: …, value: Valr}`, `organisations:`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_helpers import cli_ru

CASE = Path(__file__).parent / "fixtures" / "accv" / "c_columns_typo"

EXPECTED = [
    "crm-audit.yaml:53:3: неизвестная сущность «organisations» в `columns:` (может быть, «organizations»?); используйте "
    "одну из: deals, organizations, persons, activities",
    "crm-audit.yaml:52:11: «stage_chnged» — не поле сущности «deals» (может быть, «stage_changed»?); поля: id, title,",
    "crm-audit.yaml:52:49: columns: deals: value: в файле deals.csv нет колонки «Valr» (может быть, «Valor»?); все "
    "остальные колонки файла уже читаются каким-то полем; напишите в этой строке заголовок так, как он записан в файле "
    "(без приставки вроде «Deal - ») или уберите строку: колонка файла «Valor» и так читается как value",
]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("c_columns_typo")
    shutil.copy(CASE / "crm-audit.yaml", d / "crm-audit.yaml")
    return d


def _errors(err: str) -> list[str]:
    return [line.removeprefix("ошибка: ") for line in err.splitlines() if "crm-audit.yaml:5" in line]


def test_validate_export_names_the_entity_the_field_and_the_header_at_once(work, capsys, monkeypatch):
    code, _out, err = cli_ru(capsys, monkeypatch, "validate", "-c", str(work / "crm-audit.yaml"), "--export", str(CASE / "export"))
    assert code == 2, err
    lines = _errors(err)
    assert len(lines) == 3, err
    for line, expected in zip(lines, EXPECTED):
        assert line.startswith(str(work / expected.split(":", 1)[0]) + ":") and expected.split(":", 1)[1] in line, (line, expected)
    assert "Найдено 3 ошибки." in err


def test_validate_without_the_export_names_the_entity_and_the_field(work, capsys, monkeypatch):
    code, _out, err = cli_ru(capsys, monkeypatch, "validate", "-c", str(work / "crm-audit.yaml"))
    assert code == 2, err
    assert [line.split("crm-audit.yaml", 1)[1][:7] for line in _errors(err)] == [":53:3: ", ":52:11:"], err


def test_run_stops_naming_all_three(work, capsys, monkeypatch):
    code, _out, err = cli_ru(capsys, monkeypatch, "run", "-c", str(work / "crm-audit.yaml"), "--export", str(CASE / "export"),
                             "--as-of", "2026-11-03", "--violations-csv", str(work / "v.csv"), "--ledger", str(work / "l.db"))
    assert code == 2, err
    lines = _errors(err)
    assert [e.split(":", 1)[1] in line for line, e in zip(lines, EXPECTED)] == [True, True, True], err
    assert not (work / "v.csv").exists()
