"""One language throughout (issue 16, point 4): the CLI speaks Russian to a Russian team and English otherwise.

The catalogues (crm_audit/i18n/locale/{ru,en}) must hold every text the code marks, each with a Russian and an
English text; the language comes from CRM_AUDIT_LANGUAGE, then `language:` in the settings, then the locale
(Russian when there is none). Through the CLI as a team runs it: no line mixes the two languages.
"""

from __future__ import annotations

import re
import string
import sys
from pathlib import Path

import pytest
import yaml

from crm_audit import i18n
from crm_audit.cli import main
from crm_audit.i18n import catalogue
from crm_audit.i18n.catalogue import extract, read
from test_workflow import D1, D2, build, edit_workbook, env, scenario_deals  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _back_to_the_suites_language():
    yield
    i18n.use_language(None)


def _ids(m) -> tuple[str, ...]:
    return (m.id,) if isinstance(m.id, str) else tuple(m.id)


def _strings(m) -> tuple[str, ...]:
    return (m.string,) if isinstance(m.string, str) else tuple(m.string)


def _fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


# ----------------------------------------------------------------------------- the catalogues


#: Russian texts that are names Russian writes in Latin letters («CRM» for "the CRM").
NAMES_AS_IS = {"CRM"}


def test_every_message_has_a_russian_and_an_english_text():
    ru, en = ({m.id: m for m in read(lang) if m.id} for lang in ("ru", "en"))
    assert set(ru) == set(en) and len(ru) > 100
    for msgid, m in ru.items():
        singular = _ids(m)[0]
        assert len(_strings(m)) == (3 if isinstance(msgid, tuple) else 1), singular  # Russian: one, few, many
        assert len(_strings(en[msgid])) == (2 if isinstance(msgid, tuple) else 1), singular
        for text in _strings(m):
            words = re.sub(r"\{[^}]*\}", "", text)  # a text of values only ("{cell}: {what}") has nothing to translate
            assert text.strip() and (re.search("[а-яё]", text, re.I) or text in NAMES_AS_IS
                                     or not re.search("[a-z]", words, re.I)), \
                f"no Russian text for {singular!r}: {text!r}"
            assert _fields(text) == _fields(singular), f"{singular!r}: the Russian text names other values: {text!r}"
        for text, source in zip(_strings(en[msgid]), _ids(en[msgid]) * 2):
            assert text.strip() and _fields(text) == _fields(source), singular
    # Russian plural forms: 1 нарушение, 2 нарушения, 5 нарушений, 11 нарушений, 21 нарушение
    i18n.use_language("ru")
    assert [i18n.ngettext("{n} violation", "{n} violations", n).format(n=n) for n in (1, 2, 5, 11, 21, 112)] == [
        "1 нарушение", "2 нарушения", "5 нарушений", "11 нарушений", "21 нарушение", "112 нарушений"]
    i18n.use_language("en")
    assert [i18n.ngettext("{n} violation", "{n} violations", n).format(n=n) for n in (1, 2)] == ["1 violation", "2 violations"]


def test_the_catalogues_hold_every_message_the_code_marks():
    """The messages are extracted from the code as `python -m crm_audit.i18n.catalogue` does: none left out, none stale."""
    marked = {m.id for m in extract(ROOT) if m.id}
    assert len(marked) > 100
    for lang in i18n.LANGUAGES:
        held = {m.id for m in read(lang) if m.id}
        assert not marked - held, f"{lang}: not in the catalogue (run python -m crm_audit.i18n.catalogue): {sorted(map(str, marked - held))}"
        assert not held - marked, f"{lang}: no longer in the code: {sorted(map(str, held - marked))}"


def test_no_marked_text_hides_where_the_extraction_cannot_see_it():
    """Inside an f-string a `_()` call is invisible to the extraction; a marked f-string would never match the catalogue."""
    bad = []
    for src in catalogue.SOURCES:
        for path in (ROOT / src).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for pattern in (r"\{_\(", r"\b_\(f[\"']", r"\bngettext\(f[\"']"):
                bad += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert bad == []


def test_the_compiled_catalogues_are_the_po_files_compiled():
    """The .mo read at run time is what Babel compiles from the .po now (run `python -m crm_audit.i18n.catalogue`)."""
    import gettext
    from io import BytesIO

    for lang in i18n.LANGUAGES:
        assert i18n.po_path(lang).is_file() and i18n.mo_path(lang).is_file()
        with i18n.mo_path(lang).open("rb") as f:
            shipped = gettext.GNUTranslations(f)
        fresh = gettext.GNUTranslations(BytesIO(i18n.compile_po(lang)))
        assert shipped._catalog == fresh._catalog, f"{i18n.mo_path(lang)} is stale: run python -m crm_audit.i18n.catalogue"
        assert [shipped.plural(n) for n in (1, 2, 5, 21)] == [fresh.plural(n) for n in (1, 2, 5, 21)]
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"Babel' in pyproject


# ----------------------------------------------------------------------------- the choice


@pytest.mark.parametrize("environ, setting, expected", [
    ({}, None, "ru"),  # no locale at all (cron): the product's audience
    ({"LANG": "C.UTF-8"}, None, "ru"),
    ({"LANG": "POSIX"}, None, "ru"),
    ({"LANG": "ru_RU.UTF-8"}, None, "ru"),
    ({"LANG": "en_US.UTF-8"}, None, "en"),
    ({"LANG": "de_DE.UTF-8"}, None, "en"),  # another language: English
    ({"LANG": "ru_RU.UTF-8", "LC_ALL": "en_GB.UTF-8"}, None, "en"),  # LC_ALL wins over LANG
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ru_RU.UTF-8"}, None, "ru"),
    ({"LANG": "en_US.UTF-8"}, "ru", "ru"),  # the settings win over the locale
    ({"LANG": "ru_RU.UTF-8"}, "en", "en"),
    ({"LANG": "ru_RU.UTF-8", "CRM_AUDIT_LANGUAGE": "en"}, "ru", "en"),  # one person's run wins over the team's settings
])
def test_the_language_is_chosen_from_the_settings_then_the_locale(environ, setting, expected):
    assert i18n.choose_language(setting, environ) == expected


def test_the_settings_file_named_on_the_command_line_decides(tmp_path):
    cfg = tmp_path / "team.yaml"
    cfg.write_text("crm: pipedrive\nlanguage: en\npipelines: {}\n", encoding="utf-8")
    assert i18n.settings_language(["run", "--config", str(cfg)], "crm-audit.yaml") == "en"
    assert i18n.settings_language(["run", f"--config={cfg}"], "crm-audit.yaml") == "en"
    assert i18n.settings_language(["validate", "-c", str(cfg)], "crm-audit.yaml") == "en"
    assert i18n.settings_language(["validate"], str(tmp_path / "none.yaml")) is None
    (tmp_path / "broken.yaml").write_text("language: [\n", encoding="utf-8")
    assert i18n.settings_language(["-c", str(tmp_path / "broken.yaml")], "x") is None  # validate reports it


# ----------------------------------------------------------------------------- through the CLI

#: words that are names in any language: products, protocols, formats
NAMES = {"CRM", "CSV", "SQL", "SMTP", "TLS", "STARTTLS", "AUTH", "Telegram", "Bot", "API", "Google", "Excel", "ID", "URL",
         "email", "telegram", "id", "csv", "utf", "Pipedrive", "pipedrive", "amocrm", "bitrix24", "hubspot", "salesforce"}


def english_words(line: str) -> list[str]:
    """English words of a line outside what is a name or an identifier: quoted values, commands, options, paths,
    rule ids, settings keys, environment variables."""
    s = re.sub(r"«[^»]*»|`[^`]*`", " ", line)
    s = re.sub(r"\S*[/\\@]\S*|[\w-]+\.\w[\w.]*", " ", s)  # paths, addresses, file names, notify.smtp.security
    s = re.sub(r"\b[a-z0-9]+(?:-[a-z0-9]+)+\b", " ", s)  # rule ids
    s = re.sub(r"(?<![\w-])--?[A-Za-z][\w-]*", " ", s)
    s = re.sub(r"\b[A-Z][A-Z0-9_]{2,}\b|\b\w+:(?=\s|$)", " ", s)  # ENV_VARS, settings keys (smtp:)
    return [w for w in re.findall(r"[A-Za-z]{2,}", s) if w not in NAMES]


def russian_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if re.search("[А-Яа-яЁё]", re.sub(r"«[^»]*»", "", ln))]


def _team_settings(env, language: str | None) -> None:
    cfg = yaml.safe_load(env["cfg"].read_text(encoding="utf-8"))
    if language:
        cfg["language"] = language
    env["cfg"].write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _run(env, export, as_of, *extra):
    return main(["run", "-c", str(env["cfg"]), "--export", str(export), "--as-of", as_of, "--out", str(env["out"]), *extra])


def test_a_russian_team_reads_russian_only(env, capsys, monkeypatch):
    """`language: ru` in the settings (the analyst's locale English): two audits, pull, accept, review, errors."""
    monkeypatch.delenv("CRM_AUDIT_LANGUAGE")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    _team_settings(env, "ru")
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    assert _run(env, e1, D1, "--violations-csv", str(env["dir"] / "v.csv")) == 0
    edit_workbook(env["out"], {("1.8", "4"): {"Статус": "Не исправлено", "Комментарий": "клиент не отвечает"},
                               ("2.1", "3"): {"Статус": "Исправлено"}})
    assert main(["accept", "-c", str(env["cfg"]), "1.8", "2", "--until", "01.03.2027"]) == 0
    e2 = build(env["dir"] / "e2", scenario_deals())
    assert _run(env, e2, D2) == 0
    assert main(["pull", "-c", str(env["cfg"])]) == 0
    assert main(["waivers", "-c", str(env["cfg"])]) == 0
    assert main(["validate", "-c", str(env["cfg"])]) == 0
    assert main(["rules", "-c", str(env["cfg"])]) == 0
    before = capsys.readouterr()
    assert main(["inspect", str(e2), "-c", str(env["cfg"])]) == 0
    inspected = capsys.readouterr().out.splitlines()
    assert "Файлы:" in inspected and any(ln.startswith("  deals.csv → сделки: 8 строк (csv, utf-8") for ln in inspected)
    # 1.7 reads owner columns blank in every row, 1.6 and 1.13 the custom field «Партнерская организация» (blank in
    # every row of this export: issue 13 acceptance K13); «Deal - Lost reason» is blank too, but no deal is lost (D12)
    assert "  выполнятся: 17 (из них не для всех сделок: 3), будут пропущены: 0, остановят аудит: 0." in inspected
    data_lists = ("Языки заголовков: ", "    сопоставлено: ", "    оставлены как пользовательские поля: ")  # export headers
    assert [ln for ln in inspected if english_words(ln) and not ln.startswith(data_lists)] == []
    print(before.out, end="")
    print(before.err, end="", file=sys.stderr)
    assert main(["review", "-c", str(env["cfg"]), "--no-pull", "--today", "2026-11-24"]) == 0
    assert main(["review", "-c", str(env["cfg"]), "--no-pull", "--manager", "иван петров"]) == 0
    assert _run(env, e2, "01.06.2027", "--dry-run") == 0  # a date far from the export's: a note
    assert main(["run", "-c", str(env["cfg"]), "--as-of", D2]) == 2  # no export: a usage error
    (env["dir"] / "empty").mkdir()
    assert _run(env, env["dir"] / "empty", D2) == 2  # an export folder without files: an input error
    assert main(["run", "-c", str(env["cfg"]), "--export", str(e2), "--as-of", "31.02.2026"]) == 2  # click's error
    assert main(["review", "-c", str(env["cfg"]), "--manager", "Иван Петрофф", "--no-pull"]) == 2
    cap = capsys.readouterr()
    out, err = cap.out.splitlines(), cap.err.splitlines()
    assert "По правилам:" in out and "По менеджерам:" in out
    assert "Разбор аудита на 20.11.2026 (срок для менеджеров 23.11.2026, сегодня 24.11.2026)." in out
    assert any(ln.startswith("менеджер ") and "просрочено" in ln and "ждут решения" in ln for ln in out), cap.out
    assert "«Не исправлено», ждут вашего решения (`crm-audit accept` / `crm-audit warn ПРАВИЛО СДЕЛКА`):" in out
    assert any(ln.startswith("Иван Петров, по аудиту CRM от 20.11.2026 у вас ") for ln in out)  # the to-do
    assert any(ln.startswith("Аудит на 06.11.2026: проверено ") and " правил." in ln for ln in out), cap.out
    assert f"Записано (книга Excel): {env['out']}" in out and f"Записано (CSV с нарушениями): {env['dir'] / 'v.csv'}" in out
    assert any(ln.startswith(f"Прочитано из {env['out']}: ") and "правк" in ln for ln in out), cap.out
    assert any(ln.startswith("С аудита от 06.11.2026: новых ") for ln in out), cap.out
    assert "Принято: 1.8 / сделка 2 до 01.03.2027." in out[0:200] or any(ln.startswith("Принято: 1.8 / сделка 2") for ln in out)
    assert any(ln.startswith("Всё верно: ") and "17 правил" in ln for ln in out), cap.out
    assert any(ln.startswith("примечание: дата аудита 01.06.2027 на ") and "позже самой новой даты в выгрузке" in ln for ln in out)
    assert "Пробный запуск (--dry-run): ничего не записано (ни книга, ни CSV, ни Google-таблица, ни история аудитов)." in out
    assert any(ln.startswith("ошибка: укажите что-то одно: --export ПАПКА") for ln in err), cap.err
    assert "ошибка: неверное значение '--as-of': «31.02.2026» — не дата; пишите ГГГГ-ММ-ДД или ДД.ММ.ГГГГ, например 2026-11-20 или 20.11.2026" in err
    assert any(ln.startswith("ошибка: менеджера «Иван Петрофф» нет в аудитах") for ln in err), cap.err
    assert f"ошибка: {env['dir'] / 'empty'}: не найдено ни одного файла выгрузки (CSV, XLSX или JSON); ожидаются " \
           "deals.csv, organizations.csv, persons.csv, activities.csv" in err
    mixed = [(ln, english_words(ln)) for ln in out + err if english_words(ln)]
    assert mixed == [], "\n".join(f"{ln!r}: {w}" for ln, w in mixed)


def test_an_english_team_reads_english_framing(env, capsys, monkeypatch):
    """`language: en` on a Russian locale: the CLI's own words are English (the data — rule titles, names — stays as is)."""
    monkeypatch.delenv("CRM_AUDIT_LANGUAGE")
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    _team_settings(env, "en")
    assert _run(env, build(env["dir"] / "e1", scenario_deals(), no_task={"1"}), D1) == 0
    assert main(["run", "-c", str(env["cfg"]), "--as-of", D2]) == 2
    cap = capsys.readouterr()
    assert "By rule:" in cap.out and "By manager:" in cap.out and f"Wrote workbook: {env['out']}" in cap.out
    framing = [ln for ln in (cap.out + cap.err).splitlines() if ln and not ln.startswith("  ")]  # indented: data rows
    assert framing and russian_lines("\n".join(framing)) == [], framing
    assert cap.err.startswith("error: give either --export DIR")


def test_the_locale_decides_without_a_setting(env, capsys, monkeypatch):
    monkeypatch.delenv("CRM_AUDIT_LANGUAGE")
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    assert main(["waivers", "-c", str(env["cfg"]), "--ledger", str(env["dir"] / "nowhere.db")]) == 2
    assert capsys.readouterr().err.startswith(f"ошибка: {env['dir'] / 'nowhere.db'}: здесь нет истории аудитов")
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    assert main(["waivers", "-c", str(env["cfg"]), "--ledger", str(env["dir"] / "nowhere.db")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {env['dir'] / 'nowhere.db'}: no audit history (ledger) there")


def test_the_installed_console_script_speaks_russian(tmp_path):
    """The catalogues travel with the package (a non-editable install in CI): the console script reads them."""
    import os
    import subprocess
    import sys

    binary = Path(sys.executable).parent / "crm-audit"
    if not binary.exists():
        pytest.skip("no crm-audit console script next to this Python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CRM_AUDIT_LANGUAGE")}
    env["LANG"] = "C.UTF-8"  # no language named: Russian
    r = subprocess.run([str(binary), "validate", "--config", str(tmp_path / "none.yaml")], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 2 and "none.yaml: файл настроек не найден" in r.stderr and "Найдена 1 ошибка." in r.stderr, r.stderr
    assert [ln for ln in r.stderr.splitlines() if english_words(ln)] == []
    r = subprocess.run([str(binary), "run", "--as-of", "2026-13-01"], capture_output=True, text=True, env=env, cwd=tmp_path,
                       timeout=120)
    assert r.returncode == 2 and "неверное значение '--as-of'" in r.stderr and english_words(r.stderr) == [], r.stderr


def _visible_html(page: str) -> list[str]:
    """The text a reader sees on a page: no <style>, no tags, entities decoded, one line per block."""
    import html as html_mod

    page = re.sub(r"(?s)<(style|script|head)\b.*?</\1>", " ", page)
    page = re.sub(r"(?i)<(br|/p|/tr|/li|/h\d|/div|/table|/caption|/td|/th)\b[^>]*>", "\n", page)
    text = html_mod.unescape(re.sub(r"<[^>]+>", " ", page))
    return [re.sub(r"\s+", " ", ln).strip() for ln in text.splitlines() if ln.strip()]


def test_what_managers_and_the_head_see_is_russian_whatever_the_cli_speaks(env, monkeypatch):
    """The workbook (every sheet's header, the FAQ, «Учет попаданий»), the head's review page and a manager's page are
    Russian even when the analyst's CLI speaks English."""
    import openpyxl

    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "en")
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    assert _run(env, e1, D1, "--quiet") == 0
    edit_workbook(env["out"], {("1.8", "4"): {"Статус": "Не исправлено", "Комментарий": "клиент не отвечает"}})
    assert _run(env, build(env["dir"] / "e2", scenario_deals()), D2, "--quiet") == 0
    review, mine = env["dir"] / "review.html", env["dir"] / "ivan.html"
    assert main(["review", "-c", str(env["cfg"]), "--html", str(review)]) == 0
    assert main(["review", "-c", str(env["cfg"]), "--manager", "Иван Петров", "--html", str(mine)]) == 0

    wb = openpyxl.load_workbook(env["out"])
    seen = []
    for ws in wb.worksheets:
        seen.append(ws.title)
        header_rows = ws.max_row if ws.title in ("FAQ", "Учет попаданий") else 1  # a rule sheet's rows are data
        for row in ws.iter_rows(min_row=1, max_row=header_rows, values_only=True):
            seen += [str(v) for v in row if isinstance(v, str)]
    for path in (review, mine):
        seen += _visible_html(path.read_text(encoding="utf-8"))
    mixed = [(ln, english_words(ln)) for ln in seen if english_words(ln)]
    assert mixed == [], "\n".join(f"{ln!r}: {w}" for ln, w in mixed[:40])
    assert any("Иван Петров" in ln for ln in _visible_html(mine.read_text(encoding="utf-8")))


def test_data_warnings_are_russian_on_the_faq_and_in_the_clis_language_in_the_terminal(tmp_path, capsys, monkeypatch):
    """The demo export has deals in stages the settings do not list: the terminal says so in the CLI's language,
    the workbook's FAQ (a manager's page) in Russian — the warning carries its msgid and values, not finished text."""
    import shutil

    import openpyxl

    demo = Path(__file__).resolve().parents[1] / "crm_audit" / "demo_data"
    shutil.copy(demo / "crm-audit.yaml", tmp_path / "crm-audit.yaml")
    shutil.copytree(demo / "pipedrive", tmp_path / "exp")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "en")
    assert main(["run", "--export", "exp", "--out", "a.xlsx", "--as-of", "2026-11-20"]) == 0
    out = capsys.readouterr()
    terminal = out.out + out.err
    assert "deal 156: pipeline «Архив 2024» (stage «Новый лид») is not in the settings" in terminal
    faq = [" ".join(str(c) for c in row if c is not None)
           for row in openpyxl.load_workbook(tmp_path / "a.xlsx", read_only=True)["FAQ"].iter_rows(values_only=True)]
    stage_rows = [r for r in faq if r.startswith("Неизвестный этап")]
    assert stage_rows and all("stage comparisons" not in r for r in stage_rows)
    assert not any(r.startswith("unknown-") for r in faq)  # a Russian label of the kind, never the internal code
    assert "Выгрузка exp" in faq  # the export folder by its name, not a path relative to the analyst's folder
    assert any("сделка 156: воронки «Архив 2024» (этап «Новый лид») нет в настройках" in r for r in stage_rows)


@pytest.mark.parametrize("template, params", [
    ("{n} report footer line(s) (totals, notes) skipped", {"n": 2}),
    ("unknown value «{value}» (expected one of: {known}); the cell is treated as empty", {"value": "maybe", "known": "won, lost"}),
    ("… and {n} more rows with unreadable values in «{column}»", {"n": 7, "column": "Expected close date"}),
    ("{n} deal row(s) have no ID and are not audited (first at row {row})", {"n": 3, "row": 12}),
    ("deal IDs on more than one row (ID: rows): {ids} ({n} in all); only the first row of each ID is audited, the other "
     "rows are not — if they are different deals, export them with their own IDs", {"ids": "101: 2, 5", "n": 1}),
    ("several records named «{name}»; deals are linked to the first of them", {"name": "Acme Ltd"}),
    ("{sheet}: {n} violations, the sheet shows the first {shown} (an Excel sheet holds no more)",
     {"sheet": "R01 Нет задачи", "n": 1048576, "shown": 1048575}),
    ("{cell}: deal {deal} is not in that audit's findings (a row added by hand?): its status and comment are kept in the "
     "history but the next document shows the deal only if a rule flags it", {"cell": "R01!H7", "deal": 4711}),
])
def test_converted_data_warnings_have_a_russian_text_with_the_same_placeholders(template, params):
    """A converted warning (msgid + values) reads in Russian on the FAQ: the same placeholders, no English words
    besides the values it carries."""
    from crm_audit.engine.audit import STAGE_ORDER_GUESSED
    from crm_audit.report import DataWarning

    def fields(s: str) -> set[str]:
        return {f for _t, f, _s, _c in string.Formatter().parse(s) if f}

    ru = i18n.translations("ru").gettext(template)
    assert ru != template and fields(ru) == fields(template)
    w = DataWarning("x", "", template=template, params=params)
    text = w.text("ru")
    for v in params.values():
        text = text.replace(str(v), " ")
    assert re.search("[А-Яа-яЁё]", text) and english_words(text) == [], text
    assert i18n.translations("ru").gettext(STAGE_ORDER_GUESSED) != STAGE_ORDER_GUESSED


def test_every_data_warning_kind_has_a_russian_label():
    """The FAQ's «Проблемы в данных» names each warning's kind in Russian, never by its internal code."""
    import re

    from crm_audit.documents.warning_labels import LABELS

    root = Path(__file__).resolve().parents[1] / "crm_audit"
    codes = set()
    for f in root.rglob("*.py"):
        codes.update(re.findall(r'DataWarning\(\s*"([a-z-]+)"', f.read_text(encoding="utf-8")))
    assert codes and sorted(codes - set(LABELS)) == []
    assert all(re.search("[а-яё]", v, re.I) for v in LABELS.values())
