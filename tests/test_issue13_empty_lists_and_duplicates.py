"""Issue 13, acceptance pass O (/tmp/accO/REPORT.md): O1 and O5.

* O1: a rule whose scope compares a field with a list of the settings that is empty («lost reason in
  frozen_lost_reasons» with `frozen_lost_reasons: []`) can flag no deal: it is named as not runnable with the list to
  fill and the export's values to fill it from — init writes it under `rules: skip:` (and says so at the list),
  validate warns at the list, inspect says «будет пропущено», run «пропущено» with the reason on the terminal and
  the sheet — never «Нарушений не найдено». A list whose emptiness leaves the rule something to flag (`not_in:
  trial_stages`, one `any:` branch) does not skip it.
* O5: a folder holding two exports (every entity twice) stops with exit 2 naming every entity's two files at once,
  in init, inspect, validate --export and run.

The exports are the tester's (tests/fixtures/real/pd_lists_o1, pd_twoexports_o5; their README says where from).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import openpyxl
import yaml

from cli_helpers import cli_ru
from crm_audit.engine import plan as planmod
from crm_audit.rules import ruleset
from crm_audit.settings import from_dict
from real_fixtures import copy_export as _export

REAL = Path(__file__).parent / "fixtures" / "real"

WHY_12 = ("список frozen_lost_reasons пуст: правилу не с чем сравнить «Deal - Lost reason», оно не отметило бы ни одной "
          "сделки (в выгрузке: Off season)")
WHY_113 = ("список partner_managers пуст: правилу не с чем сравнить «Deal - Owner», оно не отметило бы ни одной сделки "
           "(в выгрузке: Ivan Petrov, Maria Sidorova)")
SKIP_12 = ("список frozen_lost_reasons в настройках пуст, поэтому правило не может отметить ни одной сделки (с ним "
           "сравнивается «Deal - Lost reason») — впишите в crm-audit.yaml нужные значения (frozen_lost_reasons: [...]); "
           "в выгрузке есть: Off season; если у вашей команды таких нет, отключите правило (rules: skip: "
           "frozen-deal-without-tasks: <причина>)")


def _init_lists(tmp: Path, capsys, monkeypatch) -> Path:
    _export(tmp, "pd_lists_o1")
    monkeypatch.chdir(tmp)
    code, _out, err = cli_ru(capsys, monkeypatch, "init", "--crm", "pipedrive", "--from-export", "export")
    assert code == 0, err
    return tmp / "crm-audit.yaml"


def _run(capsys, monkeypatch, config: str = "crm-audit.yaml") -> tuple[int, str, str]:
    return cli_ru(capsys, monkeypatch, "run", "--config", config, "--export", "export", "--as-of", "2026-11-06",
                  "--out", "audit.xlsx", "--violations-csv", "v.csv")


def _flagged(tmp: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with (tmp / "v.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["rule_code"], []).append(row["deal_id"])
    return out


def test_init_writes_the_rules_an_empty_list_leaves_nothing_to_flag_under_skip(tmp_path, capsys, monkeypatch):
    path = _init_lists(tmp_path, capsys, monkeypatch)
    text = path.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    assert doc["frozen_lost_reasons"] == [] and doc["partner_managers"] == []
    assert doc["rules"]["skip"] == {"frozen-deal-without-tasks": WHY_12, "partner-manager-deal-without-partner": WHY_113}
    assert ("# Причины проигрыша в выгрузке: Off season\n"
            "# ПОКА СПИСОК ПУСТ, правило 1.2 отключено (rules: skip:): оно не отметило бы ни одной\n"
            "# сделки. Впишите значения и уберите правило из rules: skip: (нет таких — оставьте как есть).\n"
            "frozen_lost_reasons: []\n") in text
    assert "# ПОКА СПИСОК ПУСТ, правило 1.13 отключено (rules: skip:)" in text
    assert ("    # 1.2: чтобы включить — впишите в frozen_lost_reasons: нужные значения (в выгрузке: Off season), затем "
            "уберите правило из rules: skip: (если таких у вас нет, оставьте его здесь)\n") in text
    assert doc["trial_stages"] == ["Тестовый период"]  # a list the export fills is no reason to skip anything

    code, out, err = cli_ru(capsys, monkeypatch, "validate")
    assert code == 0 and "список frozen_lost_reasons пуст" not in err  # switched off: the team's «we have none» is said

    code, out, err = _run(capsys, monkeypatch)
    assert code == 0, err
    lines = out.splitlines()
    assert "  1.2 Замороженные без задач   пропущено" in lines
    assert "  1.13 Партнерка без партнера  пропущено" in lines
    assert f"  1.2 Замороженные без задач: Правило пропущено: правило выключено в настройках (rules: skip:): {WHY_12}" in lines
    note = openpyxl.load_workbook(tmp_path / "audit.xlsx")["1.2 Замороженные без задач"]
    texts = [c.value for row in note.iter_rows() for c in row if isinstance(c.value, str)]
    assert f"Правило пропущено: правило отключено при настройке аудита: {WHY_12}" in texts
    assert "Нарушений не найдено." not in texts
    assert "1.2" not in _flagged(tmp_path) and "1.13" not in _flagged(tmp_path)


def test_an_empty_list_not_switched_off_is_named_by_validate_inspect_and_run(tmp_path, capsys, monkeypatch):
    path = _init_lists(tmp_path, capsys, monkeypatch)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["rules"]["skip"] = {}  # a settings file written before: the lists empty, nothing switched off
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    line = next(i for i, x in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if x.startswith("frozen_lost_reasons"))

    code, out, err = cli_ru(capsys, monkeypatch, "validate")
    assert code == 0
    assert (f"предупреждение: crm-audit.yaml:{line}:1: список frozen_lost_reasons пуст: правило 1.2 Замороженные без задач "
            "сравнивает с ним «deal.lost_reason» и не может отметить ни одной сделки, поэтому аудит его пропустит — "
            "впишите нужные значения или, если у вашей команды таких нет, отключите правило (rules: skip: "
            "frozen-deal-without-tasks: <причина>)") in err.splitlines()
    assert "список partner_managers пуст: правило 1.13 Партнерка без партнера сравнивает с ним «deal.owner»" in err

    code, out, err = cli_ru(capsys, monkeypatch, "inspect", "export", "--config", "crm-audit.yaml")
    assert code == 0, err
    assert f"  1.2   frozen-deal-without-tasks             будет пропущено: {SKIP_12}" in out.splitlines()
    assert "в выгрузке есть: Ivan Petrov, Maria Sidorova;" in out
    assert "будут пропущены: 2," in out

    code, out, err = _run(capsys, monkeypatch)
    assert code == 0, err
    lines = out.splitlines()
    assert "  1.2 Замороженные без задач   пропущено" in lines
    assert f"  1.2 Замороженные без задач: Правило пропущено: {SKIP_12}" in lines
    sheet = openpyxl.load_workbook(tmp_path / "audit.xlsx")["1.2 Замороженные без задач"]
    assert f"Правило пропущено: {SKIP_12}" in [c.value for row in sheet.iter_rows() for c in row]


def test_a_filled_list_runs_the_rule(tmp_path, capsys, monkeypatch):
    path = _init_lists(tmp_path, capsys, monkeypatch)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["frozen_lost_reasons"] = ["Off season"]
    del doc["rules"]["skip"]["frozen-deal-without-tasks"]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    code, out, err = _run(capsys, monkeypatch)
    assert code == 0, err
    assert _flagged(tmp_path)["1.2"] == ["7"]  # lost «Off season», no task


def _rule(text: str):
    from crm_audit.rules.lang import parse_rule_file

    rules, problems = parse_rule_file("team.yaml", text)
    assert problems == []
    return rules[0]


TEAM_RULE = """rules:
  - id: team-rule
    code: "9.1"
    title: Своё правило
    criticality: 2
    scope:
      status: [open]
      where: {where}
    when: {{field: deal.title, empty: true}}
"""


def test_only_a_list_that_leaves_nothing_to_flag_skips_the_rule():
    s = from_dict({"crm": "pipedrive", "pipelines": {"Клиенты": ["Квалификация", "Тестовый период"]},
                   "frozen_lost_reasons": [], "partner_managers": [], "trial_stages": [], "lists": {"vip": []}})
    by_id = {r.id: r for r in ruleset.collect(s)[0]}
    assert planmod.build(by_id["frozen-deal-without-tasks"], s).empty_lists == (("frozen_lost_reasons", "deal.lost_reason"),)
    assert planmod.build(by_id["partner-manager-deal-without-partner"], s).empty_lists == (("partner_managers", "deal.owner"),)
    assert planmod.build(by_id["no-stage-movement"], s).empty_lists == ()  # not_in an empty list: every stage counts
    cases = {
        "{field: deal.owner, in: {setting: vip}}": (("vip", "deal.owner"),),
        "{any: [{field: deal.owner, in: {setting: vip}}, {field: deal.source, empty: true}]}": (),
        "{not: {field: deal.owner, in: {setting: vip}}}": (),
        "{not: {field: deal.owner, not_in: {setting: vip}}}": (("vip", "deal.owner"),),
        "{any: [{field: deal.owner, in: {setting: vip}}, {field: deal.source, in: {setting: partner_managers}}]}":
            (("vip", "deal.owner"), ("partner_managers", "deal.source")),
    }
    for where, expected in cases.items():
        assert planmod.empty_lists(_rule(TEAM_RULE.format(where=where)), s) == expected, where
    filled = from_dict({"crm": "pipedrive", "pipelines": {"Клиенты": ["Квалификация"]}, "lists": {"vip": ["Ann"]}})
    assert planmod.empty_lists(_rule(TEAM_RULE.format(where="{field: deal.owner, in: {setting: vip}}")), filled) == ()


PAIRS = [f"два файла {e}: {e}_2026-11-06.csv и {e}_2026-11-20.csv; оставьте в папке выгрузки один из них"
         for e in ("activities", "deals", "organizations", "persons")]


def test_two_exports_in_one_folder_name_every_pair_at_once(tmp_path, capsys, monkeypatch):
    _export(tmp_path, "pd_twoexports_o5")
    monkeypatch.chdir(tmp_path)
    code, out, err = cli_ru(capsys, monkeypatch, "init", "--crm", "pipedrive", "--from-export", "export")
    assert code == 2 and "Traceback" not in err
    assert [line.removeprefix("ошибка: ") for line in err.splitlines() if "два файла" in line] == \
        [f"export/{e}_2026-11-20.csv: {p}" for e, p in zip(("activities", "deals", "organizations", "persons"), PAIRS)]
    assert not (tmp_path / "crm-audit.yaml").exists()

    code, out, err = cli_ru(capsys, monkeypatch, "inspect", "export", "--crm", "pipedrive")
    assert code == 2
    assert "не прочитан: выгрузка остановилась на другом файле" not in out
    for e, p in zip(("activities", "deals", "organizations", "persons"), PAIRS):
        for day in ("2026-11-06", "2026-11-20"):
            assert f"  {e}_{day}.csv → " in out and f": не читается: {p}" in out
        assert f"  export/{e}_2026-11-20.csv: {p}" in out.splitlines()

    shutil.copy(REAL.parent / "pipedrive" / "crm-audit.yaml", tmp_path / "crm-audit.yaml")
    for args in (("validate", "--export", "export"), ("run", "--export", "export", "--as-of", "2026-11-20", "--out", "a.xlsx")):
        code, out, err = cli_ru(capsys, monkeypatch, *args)
        assert code == 2 and "Traceback" not in err, args
        for p in PAIRS:
            assert p in err, (args, p)
