"""The check commands (`validate`, `validate --export`, `inspect`) say what `run` will say (acceptance S3, S4, S6, S7).

Fixtures: the acceptance cases' exports and settings (tests/fixtures/accs/<case>/): pd_valall (a pd_base export, `crm:
pipedrve`, a trial stage typo, our_rules.yaml reading `deal.Регион` no export has), pd_bad (six cells that do not read in
three files), pd_team (settings confirmed; a later export with deals 11 and 12 in a new stage «Negotiation»),
pd_unrelated (leads.csv and products.csv look like the deals and the organizations beside the files named so).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cli_helpers import cli_ru

ACCS = Path(__file__).parent / "fixtures" / "accs"


def _case(tmp_path, monkeypatch, name: str, **edits: str) -> Path:
    """The case's folder copied to ``tmp_path`` (the working folder), its settings' lines replaced by ``edits``."""
    work = tmp_path / name
    shutil.copytree(ACCS / name, work)
    monkeypatch.chdir(work)
    settings = work / "crm-audit.yaml"
    text = settings.read_text(encoding="utf-8")
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    settings.write_text(text, encoding="utf-8")
    return work


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


# --------------------------------------------------------------------------- S3: an unknown `crm:`


def test_a_crm_typo_checks_the_export_with_the_one_close_profile(tmp_path, capsys, monkeypatch):
    work = _case(tmp_path, monkeypatch, "pd_valall")
    code, out, err = cli_ru(capsys, monkeypatch, "validate", "--export", "export")
    assert code == 2
    lines = _lines(err)
    assert lines[0].startswith("crm-audit.yaml:10:6: неизвестный профиль CRM «pipedrve» (может быть, «pipedrive»?)")
    assert ("crm-audit.yaml:42:16: пробный этап «Тестовый перод» не является этапом ни одной воронки "
            "(может быть, «Тестовый период»?)") in lines
    assert ("предупреждение: crm-audit.yaml:10:1: выгрузка «export» проверена с профилем «pipedrive» вместо неизвестного "
            "«pipedrve» — исправьте crm:") in lines
    # the rule field no export provides, said with the profile's typo (was: only once `crm:` was fixed)
    assert f"{work / 'our_rules.yaml'}:34:11: нет обязательной колонки «Регион»; она нужна правилам: 3.3 Нет региона" in lines
    assert lines[-1] == "Найдено 9 ошибок."
    assert out == ""


def test_a_crm_no_profile_resembles_says_the_export_was_not_checked(tmp_path, capsys, monkeypatch):
    _case(tmp_path, monkeypatch, "pd_valall", **{"crm: pipedrve": "crm: qwertyzz"})
    code, _out, err = cli_ru(capsys, monkeypatch, "validate", "--export", "export")
    assert code == 2
    lines = _lines(err)
    assert ("предупреждение: crm-audit.yaml:10:1: выгрузка «export» не проверена: ни один профиль CRM не похож на "
            "«qwertyzz»; исправьте crm: и запустите `crm-audit validate --export` снова") in lines
    assert not any("Регион" in line for line in lines)  # not checked, and said so: never a silent pass
    assert lines[-1] == "Найдено 8 ошибок."


def test_close_profiles_are_unique_and_closest_first():
    from crm_audit.engine.profile import close_profiles

    assert close_profiles("pipedrve") == ["pipedrive"]
    assert close_profiles("qwertyzz") == []


# --------------------------------------------------------------------------- S4: cells `run` stops on

BAD_CELLS = [
    "export/activities.csv (строка 3, столбец «Activity - Due date»): не удалось прочитать «2026-13-45»: ожидалось дата "
    "вида 2026-11-20, 2026-11-20 10:00:00 или 20.11.2026; {end}",
    "export/activities.csv (строка 7, столбец «Activity - Done»): неизвестное значение «Maybe» (ожидалось одно из: Done, "
    "To do); {end}",
    "export/deals.csv (строка 7, столбец «Deal - Value»): не удалось прочитать «много»: ожидалось число вида 1500, "
    "1 500,00 или 1500.50; {end}",
    "export/deals.csv (строка 8, столбец «Deal - Status»): неизвестное значение «Maybe» (ожидалось одно из: Open, Won, "
    "Lost, Deleted); {end}",
    "export/deals.csv (строка 6, столбец «Deal - Last stage change»): не удалось прочитать «32.13.2026»: ожидалось дата "
    "вида 2026-11-20, 2026-11-20 10:00:00 или 20.11.2026; {end}",
]
YES_NO_CELL = ("export/organizations.csv (строка 5, столбец «Агентство ли это»): неизвестное значение «да/нет» «Может быть»: "
               "ожидалось одно из: Yes, Y, No, N; {end}")
STOPS = "`run` на нём остановится (on_bad_value: error)"


def test_validate_export_names_every_cell_run_stops_on(tmp_path, capsys, monkeypatch):
    _case(tmp_path, monkeypatch, "pd_bad")
    code, out, err = cli_ru(capsys, monkeypatch, "validate", "--export", "export")
    assert code == 2 and "Всё верно" not in out
    lines = _lines(err)
    for cell in [*BAD_CELLS, YES_NO_CELL]:
        assert cell.format(end=STOPS) in lines, cell
    assert lines[-1] == "Найдено 6 ошибок."
    assert lines[-2].startswith("Если это слова вашей CRM для значений поля")  # `run`'s advice, after the last cell
    assert not any("читаются как пустые" in line or "считается пустой" in line for line in lines)
    assert ("предупреждение: export/deals.csv (столбец «Deal - Status»): тексты ячеек поля status, которых нет ни среди "
            "значений профиля, ни в values: (в скобках — сколько строк): «Maybe» (1) — `run` на них остановится "
            "(on_bad_value: error). Если это слова вашей CRM (язык интерфейса, которого нет в профиле), впишите, что значит "
            "каждое, в crm-audit.yaml: values: {deals: {status: {Maybe: <open | won | lost | deleted>}}}") in lines
    # `run` stops on the same cells (every one it names is among validate's)
    code, _out, run_err = cli_ru(capsys, monkeypatch, "run", "--export", "export", "--as-of", "2026-11-20", "--out", "a.xlsx",
                                 "--violations-csv", "v.csv")
    assert code == 2
    named = [line.removeprefix("ошибка: ").partition("): ")[0] for line in _lines(run_err) if "(строка " in line]
    assert named == [cell.partition("): ")[0] for cell in BAD_CELLS]
    # inspect: the same cells, never «read as blank» under error
    code, out, _err = cli_ru(capsys, monkeypatch, "inspect", "export")
    assert "читаются как пустые" not in out and out.count(STOPS) == 6


def test_under_warn_the_cells_stay_warnings_read_as_blank(tmp_path, capsys, monkeypatch):
    _case(tmp_path, monkeypatch, "pd_bad", **{"on_bad_value: error": "on_bad_value: warn"})
    code, out, err = cli_ru(capsys, monkeypatch, "validate", "--export", "export")
    assert code == 0 and out.startswith("Всё верно")
    lines = _lines(err)
    for cell in BAD_CELLS:
        assert "предупреждение: " + cell.format(end="ячейка считается пустой") in lines, cell
    assert "предупреждение: " + YES_NO_CELL.format(end="ячейка считается как «нет»") in lines
    assert not any("остановится" in line for line in lines)
    assert any("«Maybe» (1) — читаются как пустые" in line for line in lines)


# --------------------------------------------------------------------------- S6: a stage in no pipeline of the settings

NEW_STAGE = ("этапа «Negotiation» нет в воронке «Sales» настроек (сделки: 11, 12; всего 2): впишите его в «Sales» в "
             "`pipelines:` в crm-audit.yaml, на его место по порядку; до тех пор сравнения этапов эти сделки пропускают")


def test_check_commands_name_a_stage_run_warns_of(tmp_path, capsys, monkeypatch):
    _case(tmp_path, monkeypatch, "pd_team")
    code, out, err = cli_ru(capsys, monkeypatch, "validate", "--export", "export-2026-12-04")
    assert code == 0
    assert f"предупреждение: export-2026-12-04/deals.csv (строка 12, столбец «Deal - Stage»): {NEW_STAGE}" in _lines(err)
    code, out, _err = cli_ru(capsys, monkeypatch, "inspect", "export-2026-12-04")
    assert code == 0
    assert f"  deals.csv строка 12 «Deal - Stage»: {NEW_STAGE}" in _lines(out)
    # next to each rule comparing stages: its open deals in «Negotiation» are not compared (the rule runs on the others)
    stage_rules = [x for x in _lines(out) if "на этапе или в воронке, которых нет в настройках" in x]
    assert stage_rules and all("2 сделки в охвате правила — на этапе или в воронке, которых нет в настройках: их этап "
                               "не сравнивается (добавьте этапы в `pipelines:`)" in x for x in stage_rules), stage_rules
    assert any(x.lstrip().startswith("1.3 ") for x in stage_rules), stage_rules
    # `run` warns of the same deals, one by one
    code, out, err = cli_ru(capsys, monkeypatch, "run", "--export", "export-2026-12-04", "--as-of", "2026-12-04",
                            "--out", "a.xlsx", "--violations-csv", "v.csv")
    assert code == 0
    for deal in ("11", "12"):
        assert (f"сделка {deal}: этапа «Negotiation» нет в воронке «Sales» настроек; сравнения этапов эту сделку "
                "пропускают") in out + err


def test_a_pipeline_missing_from_the_settings_is_named_with_its_stages(tmp_path, capsys, monkeypatch):
    work = _case(tmp_path, monkeypatch, "pd_team")
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.strip().startswith("Upsell:"))
    (work / "crm-audit.yaml").write_text(text.replace(line + "\n", ""), encoding="utf-8")
    code, _out, err = cli_ru(capsys, monkeypatch, "validate", "--export", "export-2026-12-04")
    said = [x for x in _lines(err) if "воронки «Upsell» нет в настройках" in x]
    assert len(said) == 1 and "впишите её в `pipelines:` в crm-audit.yaml с этапами по порядку" in said[0]


# --------------------------------------------------------------------------- S7: files `run` skips


def test_inspect_lists_every_file_run_skips_with_its_reason(tmp_path, capsys, monkeypatch):
    _case(tmp_path, monkeypatch, "pd_unrelated")
    code, out, _err = cli_ru(capsys, monkeypatch, "inspect", "export")
    assert code == 0
    files = out.partition("Файлы:")[2].partition("Правила:")[0]
    code, run_out, run_err = cli_ru(capsys, monkeypatch, "run", "--export", "export", "--as-of", "2026-11-20",
                                    "--out", "a.xlsx", "--violations-csv", "v.csv")
    assert code == 0
    run_err += run_out
    for said in ("leads.csv: колонки похожи на файл deals, но этот файл по имени — deals.csv; пропущен",
                 "products.csv: колонки похожи на файл organizations, но этот файл по имени — organizations.csv; пропущен"):
        assert said in run_err
        assert f"  {said}" in _lines(files)
    backup = next(x for x in _lines(run_err) if "contacts_backup.csv:" in x)
    assert backup.strip() in [x.strip() for x in _lines(files)]  # named like persons, lacks their id: run's words
    for plain in ("README.txt", "notes.csv"):
        assert f"  {plain}: не распознан, пропущен" in _lines(files)
