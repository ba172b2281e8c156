"""One language throughout, for the commands that talk to the CRM's API and to Google, and for ``--help``
(issue 16, point 4): a Russian team reads Russian only, an English one English only.

Through the CLI as an analyst runs it: ``crm check``, ``sync``, ``run --from-crm`` and ``init --from-crm`` against the
fake Pipedrive (tests/fake_crm), ``gsheet check`` against the fake Google Sheets (tests/fake_sheets), ``--help`` of
every command. A Russian line may carry values (names, paths, addresses, codes, option names, the products' names);
an English line carries no Cyrillic outside «quoted values».
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from pathlib import Path

import click
import pytest

from fake_crm.pipedrive import FakePipedrive
from test_sources_pipedrive import dataset, fake, write_settings  # noqa: F401 (pytest fixtures)
from test_i18n import english_words, russian_lines

from crm_audit import i18n
from crm_audit.cli import cli, main

TOKEN_ENV = "PIPEDRIVE_API_TOKEN"
#: the products' and protocols' own names (a Russian line names them as they are)
PRODUCTS = {"amoCRM", "Kommo", "Bitrix24", "HubSpot", "Salesforce", "OAuth2", "JSON", "Sheets", "Cloud", "REST", "RS256", "JWT",
            "HTTP", "PEM", "DNS", "RSA", "BOM", "Pipedrive", "Google", "OAuth", "bitrix",
            "duckdb", "postgres", "bigquery", "snowflake", "spark", "databricks", "clickhouse"}


@pytest.fixture(autouse=True)
def _back_to_the_suites_language():
    yield
    i18n.use_language(None)


def latin_words(line: str) -> list[str]:
    """English words of a Russian line (see tests/test_i18n.english_words), the products' names aside."""
    line = re.sub(r"\b(?:engine|crm_api|notify|rules|columns|output|fields|lists):\s[a-z_]+(?:\s/\s[a-z_]+)*", " ", line)  # settings paths
    return [w for w in english_words(line) if w not in PRODUCTS]


def mixed(lines: list[str]) -> list[tuple[str, list[str]]]:
    return [(ln, latin_words(ln)) for ln in lines if latin_words(ln)]


def say(capsys, language: str, argv: list[str], monkeypatch) -> tuple[int, list[str]]:
    """``crm-audit ARGV`` in ``language``: its exit code and every line it printed (stdout and stderr)."""
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", language)
    code = main(argv)
    cap = capsys.readouterr()
    return code, (cap.out + cap.err).splitlines()


# ----------------------------------------------------------------------------- --help


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))


COMMANDS = [()] + list(_commands(cli))


def _help_text_lines(lines: list[str]) -> list[str]:
    """The help page's texts, a wrapped text joined again (click breaks after a hyphen, even inside `code`), without
    the names of the sub-commands in its «Commands» list and the example command lines (commands are code, not words)."""
    out, in_commands = [], False
    for ln in lines:
        if ln.rstrip().endswith(":") and not ln.startswith(" "):
            in_commands = ln.strip() in ("Commands:", "Команды:")
        ln = re.sub(r"^\s*crm-audit [a-z].*|:\s+crm-audit [a-z]+$", " ", ln)  # an example command line
        ln = re.sub(r"^(Использование:|Usage:) crm-audit(?: [a-z]+)*", r"\1", ln)  # the command's own name
        ln = re.sub(r"^  [a-z-]+ ", "  ", ln) if in_commands else ln
        if out and out[-1].endswith("-") and ln.startswith("   "):
            out[-1] += ln.strip()
        elif out and ln.startswith("         ") and out[-1].strip():
            out[-1] += " " + ln.strip()
        else:
            out.append(ln)
    return out


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) or "crm-audit" for p in COMMANDS])
def test_help_of_every_command_is_in_the_clis_language(path, capsys, monkeypatch):
    code, ru = say(capsys, "ru", [*path, "--help"], monkeypatch)
    assert code == 0 and ru[0].startswith("Использование: crm-audit")
    assert "Параметры:" in ru and any("Показать эту справку и выйти." in ln for ln in ru)
    assert mixed(_help_text_lines(ru)) == [], "\n".join(ru)
    code, en = say(capsys, "en", [*path, "--help"], monkeypatch)
    assert code == 0 and en[0].startswith("Usage: crm-audit") and "Options:" in en
    assert russian_lines("\n".join(en)) == [], "\n".join(en)
    assert len(ru) > 3 and len(en) > 3


def test_help_texts_are_translated_when_shown_not_at_import(capsys, monkeypatch):
    """The same imported commands: Russian, then English, then Russian again — with the default and the sections."""
    code, ru = say(capsys, "ru", ["run", "--help"], monkeypatch)
    assert any("Дата аудита ГГГГ-ММ-ДД или ДД.ММ.ГГГГ" in ln for ln in ru)
    assert any("[по умолчанию: crm-audit.yaml]" in ln for ln in ru)
    code, en = say(capsys, "en", ["run", "--help"], monkeypatch)
    assert any("Audit date YYYY-MM-DD or DD.MM.YYYY" in ln for ln in en) and any("[default: crm-audit.yaml]" in ln for ln in en)
    code, top = say(capsys, "ru", ["--help"], monkeypatch)
    assert "Команды:" in top and any(ln.startswith("  sync      Скопировать сделки") for ln in top), top


def test_the_settings_language_chooses_the_help_language(tmp_path, capsys, monkeypatch):
    """No CRM_AUDIT_LANGUAGE: `language:` of ./crm-audit.yaml decides even for --help."""
    monkeypatch.delenv("CRM_AUDIT_LANGUAGE", raising=False)
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "crm-audit.yaml").write_text("crm: pipedrive\nlanguage: en\n", encoding="utf-8")
    assert main(["sync", "--help"]) == 0
    assert capsys.readouterr().out.startswith("Usage: crm-audit sync")
    (tmp_path / "crm-audit.yaml").write_text("crm: pipedrive\nlanguage: ru\n", encoding="utf-8")
    assert main(["sync", "--help"]) == 0
    assert capsys.readouterr().out.startswith("Использование: crm-audit sync")


# ----------------------------------------------------------------------------- the CRM's API


def _settings(folder: Path, fake: FakePipedrive) -> Path:
    return write_settings(folder, fake, page_size=50)


def _crm_story(tmp_path: Path, fake: FakePipedrive, language: str, capsys, monkeypatch) -> dict[str, tuple[int, list[str]]]:
    """crm check (ok, a refused token, no token), sync, run --from-crm, init --from-crm (refused and done), in ``language``."""
    from crm_audit.sources import initcrm

    cfg = str(_settings(tmp_path / language, fake))
    out = {}
    monkeypatch.setenv(TOKEN_ENV, fake.token)
    out["check"] = say(capsys, language, ["crm", "check", "-c", cfg], monkeypatch)
    out["sync"] = say(capsys, language, ["sync", "-c", cfg], monkeypatch)
    out["run"] = say(capsys, language, ["run", "--from-crm", "-c", cfg, "--as-of", "2026-11-20", "--violations-csv",
                                        str(tmp_path / language / "v.csv")], monkeypatch)
    out["dry"] = say(capsys, language, ["run", "--from-crm", "-c", cfg, "--as-of", "2026-11-20", "--dry-run", "-q"], monkeypatch)
    monkeypatch.setattr(initcrm, "write_settings_from_crm",
                        functools.partial(initcrm.write_settings_from_crm, base_url=fake.url))
    out["init"] = say(capsys, language, ["init", "--crm", "pipedrive", "--from-crm", str(tmp_path / language / "team")],
                      monkeypatch)
    out["init-again"] = say(capsys, language, ["init", "--crm", "pipedrive", "--from-crm", str(tmp_path / language / "team")],
                            monkeypatch)
    monkeypatch.setenv(TOKEN_ENV, "revoked-token-98765")
    out["refused"] = say(capsys, language, ["crm", "check", "-c", cfg], monkeypatch)
    out["sync-refused"] = say(capsys, language, ["sync", "-c", cfg], monkeypatch)
    monkeypatch.delenv(TOKEN_ENV)
    out["no-token"] = say(capsys, language, ["sync", "-c", cfg], monkeypatch)
    out["no-settings"] = say(capsys, language, ["sync", "-c", str(tmp_path / "none.yaml")], monkeypatch)
    out["snapshot"] = say(capsys, language, ["run", "--snapshot", "99", "-c", cfg], monkeypatch)
    return out


def test_a_russian_team_reads_the_crm_commands_in_russian(tmp_path, fake, capsys, monkeypatch):
    out = _crm_story(tmp_path, fake, "ru", capsys, monkeypatch)
    code, check = out["check"]
    assert code == 0 and any(re.fullmatch(r"ок +сделки \(`deals:read`\)", ln) for ln in check), check
    assert check[-1].startswith("Pipedrive (")
    assert check[-1].endswith("аудит может прочитать всё, что ему нужно.")
    code, sync = out["sync"]
    assert code == 0 and sync[0].startswith("Синхронизация 1 (полная) из pipedrive: пользователи ")
    assert "сделки " in sync[0] and "поля сделок " in sync[0] and re.search(r"\d+ запрос(а|ов)?, стоимость \d+ токен", sync[1]), sync
    assert sync[-1].startswith("Снимок для аудита: ") and re.search(r" \(\d+ сдел(ка|ки|ок), \d+ организаци(я|и|й), ", sync[-1]), sync
    code, run = out["run"]
    assert code == 0 and run[0].startswith("Синхронизация 2 (только изменения) из pipedrive")
    assert any(ln.startswith("Аудит на 20.11.2026: проверено ") for ln in run)
    code, dry = out["dry"]
    assert code == 0  # --quiet: the summary only
    code, init = out["init"]
    team = tmp_path / "ru" / "team" / "crm-audit.yaml"
    assert code == 0 and init == [f"Записан {team} по данным CRM. Проверьте списки и выключенные правила, затем запустите "
                                  f"`crm-audit run --from-crm --config {team}`."]
    code, again = out["init-again"]
    assert code == 2 and again == [f"ошибка: {team} уже есть; отредактируйте его или укажите --force, чтобы перезаписать"]
    code, refused = out["refused"]
    assert code == 2 and refused[0].startswith("ОШИБКА токен и пользователи (v1 /users): Pipedrive не принимает токен API")
    assert "revoked-token-98765" not in "\n".join(refused)
    code, err = out["sync-refused"]
    assert code == 2 and err[0].startswith("ошибка: Pipedrive не принимает токен API (401, «unauthorized»)")
    code, err = out["no-token"]
    assert code == 2 and err == ["ошибка: нет токена API Pipedrive: искали в переменной окружения PIPEDRIVE_API_TOKEN. Задайте его "
                                 "(`export PIPEDRIVE_API_TOKEN=...`) или укажите файл вне папки проекта в crm-audit.yaml "
                                 "(crm_api: {token_file: ~/.config/crm-audit/token}); никогда не пишите токен в сам crm-audit.yaml"]
    code, err = out["no-settings"]
    assert code == 2 and "файл настроек не найден" in err[0]
    code, err = out["snapshot"]
    assert code == 2 and "у синхронизации 99 нет снимка" in err[0]
    lines = [ln for code_lines in out.values() for ln in code_lines[1]]
    assert mixed(lines) == [], "\n".join(f"{ln!r}: {w}" for ln, w in mixed(lines))


def test_an_english_team_reads_the_crm_commands_in_english(tmp_path, fake, capsys, monkeypatch):
    out = _crm_story(tmp_path, fake, "en", capsys, monkeypatch)
    code, check = out["check"]
    assert code == 0 and "ok   deals (deals:read)" in check and check[-1].endswith("the audit can read everything it needs.")
    code, sync = out["sync"]
    assert code == 0 and sync[0].startswith("Sync 1 (full) of pipedrive: users ") and "deal fields " in sync[0]
    assert out["refused"][1][0].startswith("FAIL token and users (v1 /users): Pipedrive refused the API token")
    assert out["no-token"][1][0].startswith("error: no Pipedrive API token: looked in the environment variable PIPEDRIVE_API_TOKEN.")
    framing = [ln for _code, lines in out.values() for ln in lines if not ln.startswith("  ")]  # indented: data rows
    assert russian_lines("\n".join(framing)) == [], framing


def test_the_sync_progress_speaks_the_clis_language(tmp_path, fake):
    from crm_audit import settings as settings_mod
    from crm_audit import sources

    s = settings_mod.load(_settings(tmp_path, fake))
    for lang, expected in (("ru", "синхронизация сделки: записей "), ("en", "sync deals: ")):
        i18n.use_language(lang)
        seen: list[str] = []
        sources.sync(s, environ={TOKEN_ENV: fake.token}, progress=seen.append, full=True)
        assert any(ln.startswith(expected) for ln in seen), seen[:5]
        assert "запись снимка для аудита" in seen if lang == "ru" else "writing the snapshot for the audit" in seen
        if lang == "ru":
            assert mixed(seen) == [], mixed(seen)[:5]
        else:
            assert russian_lines("\n".join(seen)) == []


def test_limits_and_refusals_of_every_crm_have_russian_texts():
    """Each typed error of the HTTP core and the OAuth2 flow, made in Russian: no English word but the values."""
    import httpx

    from crm_audit.sources.http import default_classify

    i18n.use_language("ru")
    texts = []
    for status in (401, 402, 403, 404):
        req = httpx.Request("GET", "https://acme.example.com/api/v2/deals")
        texts.append(default_classify(httpx.Response(status, request=req, text=""), "Pipedrive").message)
    texts.append(default_classify(httpx.Response(401, request=httpx.Request("GET", "https://x.example.com/a"), text=""), None).message)
    assert texts[0].startswith("Pipedrive не принимает токен (HTTP 401)")
    assert texts[-1].startswith("CRM не принимает токен")
    assert mixed(texts) == [], mixed(texts)


# ----------------------------------------------------------------------------- Google Sheets


@pytest.fixture
def sheets(tmp_path, monkeypatch):
    from fake_sheets.server import FakeSheets

    from exporters.gsheet import access

    key = tmp_path / "key.json"
    key.write_text(json.dumps({"type": "service_account", "client_email": "audit@proj.iam.gserviceaccount.com",
                               "private_key": "-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n"}))
    with FakeSheets() as server:
        monkeypatch.setattr(access, "_client", lambda path=None: server.client())
        monkeypatch.setattr(access, "_DEFAULT_POLICY", access.RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02,
                                                                          sleep=lambda s: None))
        server.create("GOOD_0123456789")
        server.create("READONLY_0123456789").can_edit = False
        yield server, str(key)


def _gsheet_story(sheets, language, capsys, monkeypatch, cfg):
    server, key = sheets
    return {what: say(capsys, language, ["gsheet", "check", "-c", cfg, target, "--credentials", key], monkeypatch)
            for what, target in (("good", "GOOD_0123456789"), ("missing", "https://docs.google.com/spreadsheets/d/MISSING_0123456789/edit"),
                                 ("read-only", "READONLY_0123456789"), ("bad", "not a url"))} | {
        "no-target": say(capsys, language, ["gsheet", "check", "-c", cfg], monkeypatch)}


def test_gsheet_check_in_russian_and_in_english(sheets, tmp_path, capsys, monkeypatch):
    cfg = str(tmp_path / "none.yaml")
    ru = _gsheet_story(sheets, "ru", capsys, monkeypatch, cfg)
    assert ru["good"] == (0, ["Всё в порядке: сервисный аккаунт audit@proj.iam.gserviceaccount.com может читать и редактировать "
                              "«GOOD_0123456789» (GOOD_0123456789)."]) or ru["good"][0] == 0
    assert ru["good"][1][0].startswith("Всё в порядке: сервисный аккаунт audit@proj.iam.gserviceaccount.com может читать")
    code, missing = ru["missing"]
    assert code == 2 and missing[0].startswith("Google-таблица MISSING_0123456789: доступ к таблице не открыт для "
                                               "audit@proj.iam.gserviceaccount.com")
    assert any("«Настройки доступа» → добавьте audit@proj.iam.gserviceaccount.com → «Редактор»" in ln for ln in missing)
    code, ro = ru["read-only"]
    assert code == 2 and "может читать таблицу, но не редактировать" in ro[0]
    code, bad = ru["bad"]
    assert code == 2 and bad[0] == "«not a url» — не адрес и не ключ Google-таблицы."
    code, none = ru["no-target"]
    assert code == 2 and none[0].startswith("ошибка: ")
    lines = [ln for _c, ls in ru.values() for ln in ls]
    assert mixed(lines) == [], mixed(lines)
    assert "SECRET" not in "\n".join(lines)
    en = _gsheet_story(sheets, "en", capsys, monkeypatch, cfg)
    assert en["good"][1][0].startswith("OK: the service account audit@proj.iam.gserviceaccount.com can read and edit")
    assert "is not shared with audit@proj.iam.gserviceaccount.com" in en["missing"][1][0]
    lines = [ln for _c, ls in en.values() for ln in ls]
    assert russian_lines("\n".join(lines)) == [], lines


# ----------------------------------------------------------------------------- the notes: skipped rules, unjudged deals


@pytest.fixture
def export_without_dates(tmp_path):
    """The demo export without its tasks file and with a few deals that have neither a creation nor a stage-change date."""
    import csv
    import shutil

    demo = Path(__file__).resolve().parents[1] / "crm_audit" / "demo_data"
    shutil.copy(demo / "crm-audit.yaml", tmp_path / "crm-audit.yaml")
    shutil.copytree(demo / "pipedrive", tmp_path / "exp")
    (tmp_path / "exp" / "activities.csv").unlink()
    path = tmp_path / "exp" / "deals.csv"
    rows = list(csv.reader(path.open(encoding="utf-8")))
    a, b = rows[0].index("Deal - Last stage change"), rows[0].index("Deal - Deal created")
    for i, r in enumerate(rows[1:], 1):
        if i % 40 == 0:
            r[a] = r[b] = ""
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    return tmp_path


def _faq_warnings(path: Path, codes: tuple[str, ...]) -> list[str]:
    import openpyxl

    rows = openpyxl.load_workbook(path, read_only=True)["FAQ"].iter_rows(values_only=True)
    return [" ".join(str(c) for c in row if c is not None) for row in rows if row and str(row[0] or "").startswith(codes)]


def test_skipped_and_unjudged_notes_speak_the_clis_language_and_the_faq_stays_russian(export_without_dates, capsys, monkeypatch):
    d = export_without_dates
    monkeypatch.chdir(d)
    code, ru = say(capsys, "ru", ["run", "--export", "exp", "--as-of", "2026-11-20", "--out", "ru.xlsx"], monkeypatch)
    assert code == 0
    assert ("  2.4 Нет движения по этапам: 3 сделки в области правила не проверены: у них не заполнено «Deal - Last stage change / "
            "Deal - Deal created» (правилу нужна эта дата) — заполните её в CRM или добавьте столбец в выгрузку") in ru
    assert any(ln.startswith("  2.3 Просроченные задачи: Правило пропущено: в выгрузке нет файла задач (activities.csv)") for ln in ru)
    assert mixed(ru) == [], "\n".join(f"{ln!r}: {w}" for ln, w in mixed(ru))
    code, en = say(capsys, "en", ["run", "--export", "exp", "--as-of", "2026-11-20", "--out", "en.xlsx"], monkeypatch)
    assert code == 0
    assert ("  2.4 no-stage-movement: 3 deals in the rule's scope were not judged: their «Deal - Last stage change / "
            "Deal - Deal created» is empty (the rule needs this date) — fill it in the CRM or add the column to the export") in en
    assert any(ln.startswith("  2.3 overdue-tasks: Rule skipped: the export has no tasks file (activities.csv)") for ln in en)
    warnings = en[en.index("Data warnings (9):"):]
    assert russian_lines("\n".join(warnings)) == [], warnings
    # the workbook is a manager's: its FAQ lists the same notes in Russian whatever the CLI speaks
    for book in ("ru.xlsx", "en.xlsx"):
        faq = _faq_warnings(d / book, ("Правило пропущено", "Сделки без оценки"))  # the kinds' Russian labels
        assert len(faq) == 4 and all("Правило пропущено: в выгрузке нет файла задач" in r
                                     for r in faq if r.startswith("Правило пропущено"))
        assert any("3 сделки в области правила не проверены: у них" in r for r in faq), faq
    # the rule's own sheet keeps its Russian note
    import openpyxl

    sheet = next(ws for ws in openpyxl.load_workbook(d / "en.xlsx", read_only=True).worksheets if ws.title.startswith("2.3 "))
    assert any("Правило пропущено" in str(c) for row in sheet.iter_rows(max_row=3, values_only=True) for c in row if c)


@pytest.mark.parametrize("n, ru_text", [
    (1, "2.2 Долго в Принял в работу: 1 сделка в области правила не проверена: у неё не заполнено «Created»"),
    (3, "2.2 Долго в Принял в работу: 3 сделки в области правила не проверены: у них не заполнено «Created»"),
    (11, "2.2 Долго в Принял в работу: 11 сделок в области правила не проверены: у них"),
    (21, "2.2 Долго в Принял в работу: 21 сделка в области правила не проверена: у неё"),
])
def test_a_counted_note_has_the_russian_plural_form_and_the_english_one(n, ru_text):
    from crm_audit.report import BlankColumn, UnjudgedDeals, blank_column_warning, unjudged_warning

    w = unjudged_warning(UnjudgedDeals("stuck-in-accepted", "2.2", "deal.days_in_stage", n, "Created",
                                       title="Долго в Принял в работу"))
    assert w.text("ru").startswith(ru_text)
    assert w.text("en").startswith(f"2.2 stuck-in-accepted: {n} deal{'' if n == 1 else 's'} in the rule's scope "
                                   f"{'was' if n == 1 else 'were'} not judged")
    b = blank_column_warning(BlankColumn("activities", "done", "Task Status", "/x/tasks.csv", n))
    assert b.text("en").startswith("column «Task Status» of tasks.csv is blank in " + ("its only row" if n == 1 else f"all {n} rows"))
    assert b.text("ru").startswith("столбец «Task Status» в файле tasks.csv пуст " + (
        "в единственной строке" if n == 1 else f"во всех {n} строке" if n == 21 else f"во всех {n} строках"))
    assert mixed([w.text("ru"), b.text("ru")]) == []


def test_a_paced_google_publish_reports_its_progress_in_the_clis_language(sheets, monkeypatch):
    """Publishing into Google Sheets within its quota: the waits and the counts, in Russian and in English."""
    from test_gsheet_safety import Clock, paced

    from crm_audit import settings as settings_mod
    from crm_audit.engine.audit import audit_export
    from exporters import gsheet
    from exporters.gsheet import render

    server, _key = sheets
    demo = Path(__file__).resolve().parents[1] / "crm_audit" / "demo_data"
    report = audit_export(settings_mod.load(str(demo / "crm-audit.yaml")), str(demo / "pipedrive"), as_of=dt.date(2026, 11, 20))
    monkeypatch.setattr(render, "MAX_BODY_BYTES", 6_000)  # a few dozen write requests: a large export's shape
    for lang in ("ru", "en"):
        i18n.use_language(lang)
        clock = Clock()
        server.clock, server.write_quota = clock, 10
        key = f"PACED_{lang.upper()}_0123456789"
        server.create(key)
        lines: list[str] = []
        sh = gsheet.open_spreadsheet(key, client=server.client(), retry=paced(clock, 10))
        gsheet.publish(report, sh, retry=paced(clock, 10), progress=lines.append)
        if lang == "ru":
            assert re.fullmatch(r"Google-таблица: \d+ запрос(а|ов)? на запись; Google разрешает 10 в минуту, это займёт ~\d+ мин\.",
                                lines[0]), lines[0]
            assert any(ln.startswith("Google-таблицы: Google разрешает 10 запросов на запись в минуту, ожидание ") and "шаг " in ln
                       for ln in lines), lines[:5]
            assert mixed(lines) == [], mixed(lines)[:3]
        else:
            assert lines[0].startswith("Google Sheets: ") and " write request(s); Google allows 10 per minute" in lines[0]
            assert russian_lines("\n".join(lines)) == []
