"""Acceptance U4: `validate --export` names every problem in the first pass — a rule id written twice (at both places)
and a rule field no column provides (at the line of the rule that reads it), even when those rules have other problems."""
import shutil
from pathlib import Path

from cli_helpers import cli_ru

FIXTURE = Path(__file__).parent / "fixtures" / "accu" / "val_all"


def _copy(tmp_path) -> Path:
    work = tmp_path / "val_all"
    shutil.copytree(FIXTURE, work)
    return work


def _validate(capsys, monkeypatch, work) -> tuple[int, list[str]]:
    monkeypatch.chdir(work)
    code, _out, err = cli_ru(capsys, monkeypatch, "validate", "--export", "export")
    assert "Traceback" not in err
    return code, err.splitlines()


def test_first_pass_names_the_duplicate_id_and_the_missing_field(tmp_path, capsys, monkeypatch):
    work = _copy(tmp_path)
    rules = work / "rules" / "our_rules.yaml"
    code, lines = _validate(capsys, monkeypatch, work)
    assert code == 2
    assert f"{rules}:14: id правила «region-missing» уже используется в {rules}:24" in lines
    assert f"{rules}:24: id правила «region-missing» уже используется в {rules}:14" in lines
    assert f"{rules}:22:11: нет обязательной колонки «Регион»; она нужна правилам: 3.2 Нет региона" in lines
    assert f"{rules}:19:7: `status` — список из `open`, `won`, `lost` (удалённые сделки не проверяются никогда)" in lines
    assert lines[-1] == "Найдено 15 ошибок."


def test_the_missing_field_is_blamed_on_the_rule_that_reads_it(tmp_path, capsys, monkeypatch):
    """Step 2 of U4: everything fixed but the duplicate id — the field is 3.2's (line 22), not 3.3's at 1:1."""
    work = _copy(tmp_path)
    rules = work / "rules" / "our_rules.yaml"
    text = rules.read_text(encoding="utf-8")
    for bad, good in (("greater: 100000", "gt: 100000"), ("[pending]", "[open]"), ("Отправлено KП", "Отправлено КП"),
                      ("Агенство", "Агентство")):
        text = text.replace(bad, good)
    rules.write_text(text, encoding="utf-8")
    code, lines = _validate(capsys, monkeypatch, work)
    assert code == 2
    assert f"{rules}:22:11: нет обязательной колонки «Регион»; она нужна правилам: 3.2 Нет региона" in lines
    assert not [line for line in lines if ":1:1:" in line]
