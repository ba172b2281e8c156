"""One language throughout, for what goes wrong (issue 16, point 4): every rule-file, settings, profile and export
problem reads in the CLI's language — Russian for a Russian team, English otherwise — with no line mixing the two.

Problems carry their English msgid and values (`Problem.template` / `params`, like `DataWarning`), so the same
problem reads in either language; values that are texts themselves (what a cell must be, «did you mean …») are
msgids too. The exports are the tester's Pipedrive exports (tests/fixtures), broken the way people break them.
"""

from __future__ import annotations

import csv
import re
import shutil
import textwrap
from pathlib import Path

import pytest

from crm_audit import i18n
from crm_audit.cli import main
from crm_audit.errors import Msg, Problem, render
from crm_audit.rules.lang import FIELDS, OPS, RULE_KEYS, SCOPE_KEYS, STATUSES
from crm_audit.settings import Settings
from test_i18n import NAMES, english_words

FIXTURES = Path(__file__).resolve().parent / "fixtures"

#: identifiers a message may name in either language: the rule language's operators, entities and fields, rule and
#: settings keys, pydantic's choices (auto/dmy/mdy), YAML's true/false
CODES = ({*OPS, *FIELDS, *(f for fs in FIELDS.values() for f in fs), *RULE_KEYS, *SCOPE_KEYS, *STATUSES,
          *Settings.model_fields, "what", "why", "how", "trimmed", "true", "false", "as_of", "auto", "dmy", "mdy",
          "closed", "setting", "linked", "org", "person", "tasks", "deals"})


@pytest.fixture(autouse=True)
def _back_to_the_suites_language():
    yield
    i18n.use_language(None)


def _words_of(*files: Path) -> set[str]:
    """Every word written in the user's own files (names of stages, column headers, cell values): data, not text."""
    out: set[str] = set()
    for f in files:
        for p in ([f] if f.is_file() else sorted(f.rglob("*"))):
            if p.is_file():
                out |= set(re.findall(r"\w+", p.read_text(encoding="utf-8", errors="replace")))
    return out


def latin_words(line: str, data: set[str]) -> list[str]:
    """The English words of a Russian line: what is left after quoted values, paths, settings keys, options, codes
    and the user's own data."""
    line = re.sub(r"\S*[/\\]\S*", " ", line)  # paths first (a file name may have an underscore)
    line = re.sub(r"\b\w*_\w*\b", " ", line)  # snake_case: an operator, a field, a settings key
    return [w for w in english_words(line) if w not in CODES and w not in data and w.lower() not in CODES]


def cyrillic_words(line: str, data: set[str]) -> list[str]:
    """The Russian words of an English line outside quoted values and the user's own data."""
    s = re.sub(r"«[^»]*»|`[^`]*`|\S*[/\\]\S*", " ", line)
    return [w for w in re.findall(r"[А-Яа-яЁё]+", s) if w not in data]


def _cli(capsys, lang: str, monkeypatch, *args: str) -> tuple[int, list[str]]:
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", lang)
    code = main(list(args))
    cap = capsys.readouterr()
    return code, [ln for ln in (cap.out + cap.err).splitlines() if ln.strip()]


def _assert_one_language(lines: list[str], lang: str, data: set[str]) -> None:
    assert lines
    if lang == "ru":
        mixed = [(ln, latin_words(ln, data)) for ln in lines if latin_words(ln, data)]
        assert mixed == [], "\n".join(f"{ln!r}: {w}" for ln, w in mixed)
        # every line speaks: Russian words outside the quoted values (a line of bare values would say nothing)
        silent = [ln for ln in lines if not cyrillic_words(ln, set())]
        assert silent == [], silent
    else:
        mixed = [(ln, cyrillic_words(ln, data)) for ln in lines if cyrillic_words(ln, data)]
        assert mixed == [], "\n".join(f"{ln!r}: {w}" for ln, w in mixed)


# ----------------------------------------------------------------------------- rule and settings files

RULES = """
rules:
  - id: open-deal-without-title
    code: "9.1"
    title: Сделка без названия
    criticality: 2
    scope: {status: [open], pipeline: [Клиентсы]}
    when: {field: deal.title, equalz: x}
  - id: Bad_Id
    code: "9.2"
    title: Очень длинное название листа для правила
    criticality: высокая
    scope: {status: [open, closed]}
    when:
      all:
        - {stage_at_least: Несуществующий этап}
        - {field: deal.value, gt: много}
        - {field: deals.title, empty: true}
        - {field: tasks.open_cnt, equals: 0}
        - {field: deal.title, is: no_such_define}
  - id: scope-list
    code: "9.3"
    title: Ошибка в scope
    scope: [open]
    when: {field: deal.title, in: Клиенты}
    evidence: [{field: deal.title, heading: Название}]
"""

SETTINGS = """
crm: pipedrive
pipelines:
  Клиенты: [Принял в работу, Отправлено КП, Отправлено КП]
stage_order_confirmed: true
on_bad_valu: warn
date_order: ymd
notify: 5
output: {due_days: скоро}
trial_stages: [Тестовый период]
rules:
  bundled: false
  files: [our_rules.yaml]
  disable: [open-deal-without-titel]
"""


def _team(tmp_path: Path, settings: str = SETTINGS, rules: str = RULES) -> Path:
    (tmp_path / "our_rules.yaml").write_text(textwrap.dedent(rules).lstrip(), encoding="utf-8")
    cfg = tmp_path / "crm-audit.yaml"
    cfg.write_text(textwrap.dedent(settings).lstrip(), encoding="utf-8")
    return cfg


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_rule_file_and_a_settings_file_full_of_mistakes_read_in_one_language(tmp_path, capsys, monkeypatch, lang):
    cfg = _team(tmp_path)
    code, lines = _cli(capsys, lang, monkeypatch, "validate", "-c", str(cfg))
    assert code == 2
    text = "\n".join(lines)
    if lang == "ru":
        assert "crm-audit.yaml:5:1: неизвестный ключ «on_bad_valu» (может быть, «on_bad_value»?)" in text
        assert "crm-audit.yaml:6:1: «date_order» должно быть одним из: auto, dmy, mdy; указано «ymd»" in text
        assert "crm-audit.yaml:7:1: «notify»: ожидалось — словарь (строки «ключ: значение»); указано «5»" in text
        assert "«due_days»: ожидалось — целое число; указано «скоро»" in text
        assert "«pipelines»: этап «Отправлено КП» указан в воронке «Клиенты» дважды" in text
    else:
        assert "crm-audit.yaml:5:1: unknown key «on_bad_valu» (did you mean «on_bad_value»?)" in text
        assert "crm-audit.yaml:6:1: «date_order» must be one of: auto, dmy, mdy; found «ymd»" in text
        assert "crm-audit.yaml:7:1: «notify» must be a mapping (key: value lines); found «5»" in text
        assert "«due_days» must be a whole number; found «скоро»" in text
        assert "«pipelines»: stage «Отправлено КП» is listed twice in pipeline «Клиенты»" in text
    _assert_one_language(lines, lang, _words_of(tmp_path))
    # the settings fixed: the rule file's own mistakes, every one located
    fixed = SETTINGS.replace("on_bad_valu: warn\ndate_order: ymd\nnotify: 5\noutput: {due_days: скоро}\n", "").replace(
        ", Отправлено КП]", "]")
    cfg = _team(tmp_path, fixed)
    code, lines = _cli(capsys, lang, monkeypatch, "validate", "-c", str(cfg))
    assert code == 2
    text = "\n".join(lines)
    rules = tmp_path / "our_rules.yaml"
    expected = {
        "ru": [f"{rules}:6:40: неизвестная воронка «Клиентсы» (может быть, «Клиенты»?); в настройках есть: Клиенты",
               f"{rules}:7:31: неизвестный ключ «equalz» (может быть, «equals»?); условие на поле принимает одно из: ",
               f"{rules}:8:5: id правила — строчные латинские буквы, цифры и дефисы",
               f"{rules}:11:5: критичность — 1 (критично), 2 или 3",
               "«gt» принимает число", "неизвестная сущность «deals» в «deals.title»",
               "неизвестный показатель задач «open_cnt»", "неизвестное имя define «no_such_define»; в файле нет ни одного define",
               "неизвестный этап «Несуществующий этап»: его нет ни в одной воронке настроек",
               "`scope` — словарь с ключами `status`, `pipeline`, `where`",
               "колонка-доказательство записывается как", "нельзя выключить неизвестное правило «open-deal-without-titel»"],
        "en": [f"{rules}:6:40: unknown pipeline «Клиентсы» (did you mean «Клиенты»?); the settings list: Клиенты",
               f"{rules}:7:31: unknown key «equalz» (did you mean «equals»?); a field condition takes one of: ",
               f"{rules}:8:5: id must be lower-case latin letters, digits and dashes",
               f"{rules}:11:5: criticality is 1 (critical), 2 or 3",
               "«gt» takes a number", "unknown entity «deals» in «deals.title»", "unknown task aggregate «open_cnt»",
               "unknown define «no_such_define»; the file defines none",
               "unknown stage «Несуществующий этап»: it is in none of the settings' pipelines",
               "scope is a mapping with status, pipeline, where", "an evidence column is {field: ENTITY.NAME, title: <heading>}",
               "cannot disable unknown rule «open-deal-without-titel»"],
    }[lang]
    missing = [e for e in expected if e not in text]
    assert missing == [], text
    _assert_one_language(lines, lang, _words_of(tmp_path))


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_broken_yaml_and_a_key_given_twice(tmp_path, capsys, monkeypatch, lang):
    cfg = _team(tmp_path, "crm: pipedrive\npipelines:\n  Клиенты: [Принял в работу\nrules: {bundled: true}\n")
    code, lines = _cli(capsys, lang, monkeypatch, "validate", "-c", str(cfg))
    assert code == 2 and any(("ошибка в YAML: " if lang == "ru" else "not valid YAML: ") in ln for ln in lines), lines
    # PyYAML's own problem («expected ',' or ']', but got …») is said in the CLI's language too
    assert any(("список или словарь в скобках не закрыт" if lang == "ru" else "a list or mapping in brackets is not closed")
               in ln for ln in lines), lines
    _assert_one_language(lines, lang, _words_of(tmp_path))
    for text, ru in (("a: b: c\n", "«ключ: значение» там, где его быть не может"), ("a: \"unclosed\n", "файл кончается посреди значения"),
                     ("crm: pipedrive\n\tpipelines: x\n", "отступы — пробелами")):
        cfg = _team(tmp_path, text)
        code, lines = _cli(capsys, lang, monkeypatch, "validate", "-c", str(cfg))
        assert code == 2 and (lang != "ru" or any(ru in ln for ln in lines)), lines
        _assert_one_language(lines, lang, _words_of(tmp_path))
    cfg = _team(tmp_path, "crm: pipedrive\ncrm: pipedrive\npipelines:\n  Клиенты: [Принял в работу]\n")
    code, lines = _cli(capsys, lang, monkeypatch, "validate", "-c", str(cfg))
    assert code == 2
    assert any(("ключ «crm» указан дважды (впервые в строке 1); оставьте один" if lang == "ru"
                else "key «crm» is given twice (first on line 1); keep one") in ln for ln in lines), lines
    _assert_one_language(lines, lang, _words_of(tmp_path))


# ----------------------------------------------------------------------------- exports


def _export(tmp_path: Path, name: str, edit) -> Path:
    """A copy of the tester's Pipedrive export with deals.csv changed by ``edit(rows)``."""
    d = tmp_path / name
    shutil.copytree(FIXTURES / "pipedrive" / "export", d)
    with (d / "deals.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    rows = edit(rows)
    with (d / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return d


def _without(column: str):
    def edit(rows):
        i = rows[0].index(column)
        return [r[:i] + r[i + 1:] for r in rows]
    return edit


def _cells(changes: dict[tuple[int, str], str]):
    def edit(rows):
        for (r, column), value in changes.items():
            rows[r][rows[0].index(column)] = value
        return rows
    return edit


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_an_export_without_a_required_column(tmp_path, capsys, monkeypatch, lang):
    cfg = tmp_path / "crm-audit.yaml"
    shutil.copy(FIXTURES / "pipedrive" / "crm-audit.yaml", cfg)
    exp = _export(tmp_path, "no-stage", _without("Deal - Stage"))
    code, lines = _cli(capsys, lang, monkeypatch, "run", "-c", str(cfg), "--export", str(exp), "--out",
                       str(tmp_path / "a.xlsx"), "--as-of", "2026-11-20")
    assert code == 2
    text = "\n".join(lines)
    if lang == "ru":
        assert "deals.csv: нет обязательной колонки «Deal - Stage»; она нужна правилам: 1.10 Нет ссылки на КП, " in text
        assert "Добавьте колонку в выгрузку из CRM" in text
    else:
        assert "deals.csv: required column «Deal - Stage» is missing; needed by rule(s): 1.10 missing-proposal-link, " in text
        assert "Add the column to the CRM export" in text
    _assert_one_language(lines, lang, _words_of(tmp_path))
    assert not (tmp_path / "a.xlsx").exists()


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_crms_own_advice_on_a_missing_id_column_is_in_the_clis_language(tmp_path, capsys, monkeypatch, lang):
    """The profile's hint (`hints: missing-id: {en: …, ru: …}`): Pipedrive's list view decides the columns. The run
    audits the deals by keys derived from their content (issue 13 L10) and its warning gives the advice."""
    cfg = tmp_path / "crm-audit.yaml"
    shutil.copy(FIXTURES / "pipedrive" / "crm-audit.yaml", cfg)
    exp = _export(tmp_path, "no-id", _without("Deal - ID"))
    code, lines = _cli(capsys, lang, monkeypatch, "run", "-c", str(cfg), "--export", str(exp), "--as-of", "2026-11-20",
                       "--out", str(tmp_path / "a.xlsx"), "--rule", "invalid-name")
    assert code == 0
    advice = {"ru": "выгрузите сделки с колонкой ID: Pipedrive выгружает те колонки, что видны в списке: добавьте в "
                    "список колонку «ID»",
              "en": "export the deals with the id column: Pipedrive exports the columns the list view shows: add the "
                    "«ID» column to the list"}[lang]
    assert any(advice in ln for ln in lines), lines
    _assert_one_language(lines, lang, _words_of(tmp_path))


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_bad_values_in_error_mode(tmp_path, capsys, monkeypatch, lang):
    cfg = tmp_path / "crm-audit.yaml"
    shutil.copy(FIXTURES / "pipedrive" / "crm-audit.yaml", cfg)
    exp = _export(tmp_path, "bad", _cells({(1, "Deal - Deal created"): "вчера", (2, "Deal - Deal created"): "31.02.2026",
                                           (3, "Deal - Status"): "Maybe"}))
    code, lines = _cli(capsys, lang, monkeypatch, "run", "-c", str(cfg), "--export", str(exp), "--out",
                       str(tmp_path / "a.xlsx"), "--as-of", "2026-11-20")
    assert code == 2
    text = "\n".join(lines)
    if lang == "ru":
        assert ("deals.csv (строка 2, столбец «Deal - Deal created»): не удаётся прочитать «вчера»: ожидалось: дата вида "
                "2026-11-20, 2026-11-20 10:00:00 или 20.11.2026") in text
        # the export is English: its own words, not every language's
        assert ("deals.csv (строка 4, столбец «Deal - Status»): неизвестное значение «Maybe»: ожидалось одно из: Open, Won, "
                "Lost, Deleted") in text
        assert "укажите `on_bad_value: warn` в crm-audit.yaml" in text
    else:
        assert ("deals.csv (row 2, column «Deal - Deal created»): cannot read «вчера»: expected a date such as "
                "2026-11-20, 2026-11-20 10:00:00 or 20.11.2026") in text
        assert "deals.csv (row 4, column «Deal - Status»): unknown value «Maybe»: expected one of: Open, Won, Lost, Deleted" in text
    from crm_audit.engine.profile import load_profile

    statuses = {w for vals in load_profile("pipedrive").entities["deals"].fields["status"].values.values() for w in vals}
    _assert_one_language(lines, lang, _words_of(tmp_path) | statuses)  # the values the file may write are data too


def test_the_expected_values_are_the_files_own_words(tmp_path, capsys, monkeypatch):
    """A Portuguese export with a status Pipedrive never writes: the values it could have are Portuguese ones."""
    exp = tmp_path / "pt"
    shutil.copytree(FIXTURES / "issue13-acceptance" / "pipedrive-pt", exp)
    deals = (exp / "deals.csv").read_text(encoding="utf-8").splitlines()
    deals[1] = deals[1].replace('"Aberto"', '"Talvez"')
    (exp / "deals.csv").write_text("\n".join(deals) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert _cli(capsys, "ru", monkeypatch, "init", "--from-export", "pt")[0] == 0
    settings = tmp_path / "crm-audit.yaml"  # init saw the cell and wrote `warn` (a first run is never blocked): make it stop
    text = settings.read_text(encoding="utf-8")
    assert "on_bad_value: warn" in text
    settings.write_text(text.replace("on_bad_value: warn", "on_bad_value: error"), encoding="utf-8")
    code, lines = _cli(capsys, "ru", monkeypatch, "run", "--export", "pt", "--out", "a.xlsx", "--as-of", "2026-11-20")
    assert code == 2
    assert ("ошибка: pt/deals.csv (строка 2, столбец «Negócio - Status»): неизвестное значение «Talvez»: ожидалось одно из: "
            "Aberto, Ganho, Perdido, Excluído") in lines, lines


# ----------------------------------------------------------------------------- the typed problems


def test_a_problem_reads_in_any_language_and_keeps_its_place():
    i18n.use_language("en")
    p = Problem(template="cannot read «{value}»: expected {expected}", file="deals.csv", row=4, column="Deal - Value",
                params={"value": "много", "expected": Msg("a number such as 1500, 1 500,00 or 1500.50")}, reason="bad-value")
    assert p.message == "cannot read «много»: expected a number such as 1500, 1 500,00 or 1500.50"
    assert p.text("ru") == "не удаётся прочитать «много»: ожидалось: число вида 1500, 1 500,00 или 1500.50"
    assert str(p) == "deals.csv (row 4, column «Deal - Value»): " + p.message
    assert (p.reason, p.row, p.column) == ("bad-value", 4, "Deal - Value")
    assert Problem("finished text", file="x.yaml", line=3).text("ru") == "finished text"  # a library caller's own text
    assert render("{a} / {b}", {"a": ["1.1 x", Msg("all rules (deleted deals are excluded by status)")], "b": 2}, "ru") == \
        "1.1 x, все правила (удалённые сделки отсеиваются по статусу) / 2"


def test_every_pydantic_error_type_the_settings_can_raise_has_a_russian_text():
    from crm_audit.yamlsrc import BOUNDS, EXPECTED_BY_TYPE

    ru = i18n.translations("ru")
    for msgid in [*EXPECTED_BY_TYPE.values(), *(m for m, _k in BOUNDS.values())]:
        text = ru.gettext(msgid)
        assert text != msgid and re.search("[а-яё]", text), msgid


def test_a_managers_invalid_status_reads_in_the_clis_language_and_in_russian_on_the_faq():
    from crm_audit.documents.edits import EditedRow
    from crm_audit.history.pull import PullResult

    i18n.use_language("en")
    row = EditedRow.build("r1", "7", status_raw="готово", decision_raw="ок", owner="Мария Кузнецова", sheet="1.1 Нет задач",
                          row=7, status_cell="M7", decision_cell="N7")
    assert [p.message for p in row.problems] == [
        "unknown status «готово» (expected one of: Не обработано, Исправлено, Не исправлено)",
        "unknown decision «ок» (expected one of: Принято, Предупреждение)"]
    assert row.problems[0].text("ru") == "неизвестный статус «готово» (ожидался один из: Не обработано, Исправлено, Не исправлено)"
    warnings = PullResult("audit.xlsx", edits=[row]).warnings()
    # English names the rule by code and id (the sheet's tab is Russian); Russian names the tab
    assert [w.message for w in warnings] == [
        "1.1 r1, cell M7: deal 7: unknown status «готово» (expected one of: Не обработано, Исправлено, Не исправлено) "
        "(manager: Мария Кузнецова); kept as written",
        "1.1 r1, cell N7: deal 7: unknown decision «ок» (expected one of: Принято, Предупреждение) (manager: Мария Кузнецова); "
        "ignored — the head of sales writes «Принято» or «Предупреждение»"]
    assert warnings[0].text("ru") == ("1.1 Нет задач!M7: сделка 7: неизвестный статус «готово» (ожидался один из: Не обработано, "
                                      "Исправлено, Не исправлено) (менеджер: Мария Кузнецова); сохранено как написано")
    for w in warnings:
        assert latin_words(w.text("ru"), {"готово", "ок"}) == [], w.text("ru")


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_rules_explain_speaks_the_clis_language(capsys, monkeypatch, lang):
    """`rules explain` describes a rule in the analyst's language; the rule's own texts (title, FAQ) stay as written."""
    demo = Path(__file__).resolve().parents[1] / "crm_audit" / "demo_data" / "crm-audit.yaml"
    code, lines = _cli(capsys, lang, monkeypatch, "rules", "-c", str(demo), "explain", "1.7")
    assert code == 0
    framing = lines[:lines.index("YAML:")]  # below: the rule as its file writes it
    condition = {"ru": "Сделка попадает на лист «1.7 Разные ответственные», если: (ответственный за организацию заполнено и "
                       "ответственный за организацию отличается от: ответственный за сделку) или (",
                 "en": "A deal goes on the sheet «1.7 Разные ответственные» when: (organization owner is filled in and "
                       "organization owner differs from: deal owner) or ("}[lang]
    assert any(ln.startswith(condition) for ln in framing), framing
    if lang == "ru":
        _assert_one_language(framing, lang, set())
    else:  # the rule's FAQ texts are the rule file's (Russian): only the frame before them is checked
        frame = [ln.partition(": ")[0] if ln.startswith(("What is wrong", "Why it matters", "How to fix")) else ln
                 for ln in framing]
        _assert_one_language(frame, lang, _words_of(Path(__file__).resolve().parents[1] / "rules"))


def test_the_unnamed_id_warning_names_the_settings_in_its_own_language():
    """`{source}` of the unnamed-id warning: files by their names, the settings as a msgid — never English inside
    the Russian text of the FAQ."""
    from crm_audit.engine.lookups import UNNAMED_ID
    from crm_audit.report import DataWarning

    i18n.use_language("en")
    w = DataWarning("unnamed-id", "", "deals.csv", 2, "STAGE_ID", template=UNNAMED_ID["stage"][0],
                    params={"n": 1, "deals": 3, "source": ["stages.csv", Msg("the settings")], "example": "C2:NEW",
                            "files": "stages, crm_status", "key": "STATUS_ID", "value": "NAME"})
    assert w.message.startswith("1 stage id(s) of 3 deal(s) are not in stages.csv, the settings (such as «C2:NEW»)")
    assert "нет в stages.csv, настройках" in w.text("ru") and "settings" not in w.text("ru")


def test_a_file_named_like_an_entity_but_not_one_is_said_in_either_language(tmp_path):
    """organizations.csv that is a mailing list: ignored with a warning the terminal shows in the CLI's language and
    the FAQ in Russian; a deals file without deal columns stops the run in the CLI's language."""
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import load_profile
    from crm_audit.errors import InputError

    i18n.use_language("en")
    exp = _export(tmp_path, "exp", lambda rows: rows)
    (exp / "organizations.csv").write_text("ID,E-mail,Подписан\n7,anna@example.com,да\n", encoding="utf-8")
    loaded = load_export(exp, load_profile("pipedrive"))
    try:
        (w,) = [w for w in loaded.warnings if w.code == "unknown-file"]
    finally:
        loaded.close()
    assert w.message == ("named like the organizations file, but none of its columns is an organization field; "
                         "found columns: ID, E-mail, Подписан; ignored")
    assert w.text("ru") == ("назван как файл organizations, но ни одна из его колонок не является полем организации; "
                            "найдены колонки: ID, E-mail, Подписан; пропущен")
    (exp / "deals.csv").write_text("E-mail,Подписан\nanna@example.com,да\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_export(exp, load_profile("pipedrive"))
    (p,) = err.value.problems
    assert p.reason == "missing-column" and p.row == 1 and p.message.startswith("required column «ID» (deal id) is missing — ")
    assert p.text("ru").startswith("нет обязательной колонки «ID» (`deal id`) — Pipedrive выгружает те колонки")


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_an_unknown_crm_profile(tmp_path, capsys, monkeypatch, lang):
    cfg = _team(tmp_path, SETTINGS.replace("crm: pipedrive", "crm: pipedrivee").replace("on_bad_valu", "on_bad_value")
                .replace("date_order: ymd\nnotify: 5\noutput: {due_days: скоро}\n", "").replace(", Отправлено КП]", "]"),
                rules="rules: []\n")
    code, lines = _cli(capsys, lang, monkeypatch, "validate", "-c", str(cfg))
    assert code == 2
    said = {"ru": "crm-audit.yaml:1:6: неизвестный профиль CRM «pipedrivee» (может быть, «pipedrive»?); есть: amocrm, bitrix24, "
                  "hubspot, pipedrive, salesforce (или укажите путь к файлу профиля .yaml)",
            "en": "crm-audit.yaml:1:6: unknown CRM profile «pipedrivee» (did you mean «pipedrive»?); available: amocrm, bitrix24, "
                  "hubspot, pipedrive, salesforce (or give the path of a profile .yaml file)"}[lang]
    assert any(ln.endswith(said) for ln in lines), lines
    _assert_one_language(lines, lang, _words_of(tmp_path) | {"amocrm", "bitrix", "hubspot", "pipedrive", "salesforce"})


def test_what_a_cell_must_be_is_said_in_the_language_of_the_page():
    """The bad-value warning (on_bad_value: warn) on the FAQ: «expected …» is a msgid too, so the Russian page never
    carries «a date such as …» (a value inserted into the Russian text)."""
    from crm_audit.engine.mapping import FORMAT_EXPECTED, TYPE_EXPECTED
    from crm_audit.report import DataWarning

    i18n.use_language("en")
    expected = Msg("{expected}, or {other}", {"expected": Msg(TYPE_EXPECTED["date"]), "other": Msg(FORMAT_EXPECTED["unix"])})
    w = DataWarning("bad-value", "", "deals.csv", 3, "Created", template="cannot read «{value}»: expected {expected}; the cell is "
                    "treated as empty", params={"value": "вчера", "expected": expected})
    assert w.message == ("cannot read «вчера»: expected a date such as 2026-11-20, 2026-11-20 10:00:00 or 20.11.2026, or a "
                         "unix time in seconds such as 1795166400; the cell is treated as empty")
    assert w.text("ru") == ("не удалось прочитать «вчера»: ожидалось дата вида 2026-11-20, 2026-11-20 10:00:00 или 20.11.2026 "
                            "или время unix в секундах, например 1795166400; ячейка считается пустой")


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_settings_own_checks_speak_the_clis_language(tmp_path, capsys, monkeypatch, lang):
    """The settings' validators (deal_url, columns, stage_ids) raise their msgid; a nested typo gets «did you mean»."""
    cfg = _team(tmp_path, """
        crm: pipedrive
        pipelines:
          Клиенты: [Принял в работу, Отправлено КП]
        stage_order_confirmed: true
        output: {due_dayz: 3}
        rules: {bundled: может быть}
        deal_url: https://x.pipedrive.com/deal/
        columns: {deals: {stage: Этап, status: Этап}}
        stage_ids: {12: ""}
    """)
    code, lines = _cli(capsys, lang, monkeypatch, "validate", "-c", str(cfg))
    assert code == 2
    expected = {
        "ru": ["crm-audit.yaml:7:1: в `deal_url` должно быть `{id}`, например https://company.pipedrive.com/deal/{id}",
               "crm-audit.yaml:6:9: «bundled»: ожидалось — `true` или `false`; указано «может быть»",
               "crm-audit.yaml:5:10: неизвестный ключ «due_dayz» (может быть, «due_days»?)",
               "crm-audit.yaml:8:1: `columns.deals`: «Этап» указана для полей stage, status; одна колонка — одно поле",
               "crm-audit.yaml:9:1: `stage_ids`: для id «12» нужно название, которое он обозначает, например «12: <название>»"],
        "en": ["crm-audit.yaml:7:1: deal_url must contain {id}, e.g. https://company.pipedrive.com/deal/{id}",
               "crm-audit.yaml:6:9: «bundled» must be true or false; found «может быть»",
               "crm-audit.yaml:5:10: unknown key «due_dayz» (did you mean «due_days»?)",
               "crm-audit.yaml:8:1: columns.deals: «Этап» is given for stage, status; a column feeds one field",
               "crm-audit.yaml:9:1: stage_ids: the id «12» needs the name it stands for, e.g. «12: <name>»"],
    }[lang]
    text = "\n".join(lines)
    assert [e for e in expected if e not in text] == [], text
    _assert_one_language(lines, lang, _words_of(tmp_path))


def test_a_yes_no_value_nobody_writes_names_the_files_own_yes_and_no(tmp_path, capsys, monkeypatch):
    """A Portuguese export's yes/no field (read by a rule with is_yes) holding «Talvez»: Sim / Não, not every
    language's yes and no."""
    import yaml

    exp = tmp_path / "pt"
    shutil.copytree(FIXTURES / "issue13-acceptance" / "pipedrive-pt", exp)
    with (exp / "deals.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    rows[0].append("Negócio - Parceiro")
    for i, r in enumerate(rows[1:]):
        r.append(("Sim", "Não", "Talvez")[i % 3])
    with (exp / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    (tmp_path / "pt_rules.yaml").write_text(textwrap.dedent("""
        rules:
          - id: partner-flag
            code: "9.1"
            title: Parceiro
            criticality: 2
            scope: {status: [open]}
            when: {field: deal.Parceiro, is_yes: true}
    """).lstrip(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert _cli(capsys, "ru", monkeypatch, "init", "--from-export", "pt")[0] == 0
    cfg = yaml.safe_load((tmp_path / "crm-audit.yaml").read_text(encoding="utf-8"))
    cfg["rules"] = {"bundled": False, "files": ["pt_rules.yaml"]}
    cfg.pop("fields", None)  # the bundled rules' custom fields
    cfg.pop("stage_names", None), cfg.pop("pipeline_names", None)  # and their stages and pipelines (init names them)
    (tmp_path / "crm-audit.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    code, lines = _cli(capsys, "ru", monkeypatch, "run", "--export", "pt", "--out", "a.xlsx", "--as-of", "2026-11-20")
    assert code == 2
    assert any(ln.endswith("(строка 4, столбец «Parceiro»): неизвестное значение «да/нет» «Talvez»: ожидалось одно из: "
                           "Sim, Não, Nao") for ln in lines), lines
