"""Salesforce report exports in every interface language the profile knows, through `init --from-export` and
`run` as a user runs them (issue 13, point 1).

Each folder of ``tests/fixtures/salesforce_langs/`` is one small team's opportunity, activity, account and
contact reports as Salesforce writes them for a user of that language and locale: the field labels and picklist
values recorded (with their evidence) under `languages:` in ``crm_audit/profiles/salesforce.yaml``, the
translated footer lines («Total geral», «Gesamtsummen (6 Datensätze)», «総計», «Informações confidenciais - Não
distribuir», «Итого», the copyright line), the locale's dates (dd/MM/yyyy, dd.MM.yyyy, dd-MM-yyyy, yyyy/MM/dd) and
amounts («15.000,00», «15 000,00», «15,000») with the currency in its own column, Shift_JIS (cp932) for Japanese,
Windows-1251 for Russian, a UTF-8 BOM for German and Chinese. The expected audit is written here, not read from the profile, so a wrong label
in the profile fails here.

The team in every language: six opportunities — 1 open at the proposal stage with a task next week, 2 «test»
(open, its account owned by the other manager, its primary contact «Pedro 11987654321», its only task
completed, 18 days since its last stage change), 3 open with an overdue task (not completed), 4 won («Closed» 1,
«Won» 1), 5 lost («Closed» 1, «Won» 0) and 6 open with a task tomorrow; audited on 2026-11-20.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml
from slow_variants import every_other
from test_languages_pipedrive import cli_run  # `crm-audit …` through click, as a user runs it

FIXTURES = Path(__file__).parent / "fixtures" / "salesforce_langs"
LANGS = ["pt-BR", "es", "de", "fr", "it", "ja", "zh-CN", "zh-TW", "nl", "ru"]
AS_OF = "2026-11-20"


def opp(n: int) -> str:
    return f"0065g00000Opp{n:03d}AAA"


#: the audit of this team, whatever the language: rule id -> the flagged opportunities
EXPECTED = {
    "open-deal-without-tasks": {opp(2)},  # its only task is completed
    "invalid-name": {opp(2)},  # «test», and its primary contact «Pedro 11987654321»
    "owner-mismatch": {opp(2)},  # João's opportunity, Ana's account
    "overdue-tasks": {opp(3)},  # due 2026-11-10, not completed
    "no-stage-movement": {opp(2)},  # 18 days since the stage changed on 2026-11-02
    # init names the handbook's «Клиенты» the report's one pipeline «Продажи» (issue 13 D11): 1.11 runs, and open
    # «Escola Leste» has no account
    "open-deal-without-organization": {opp(6)},
}
#: the state of each opportunity, from the translated «Closed» / «Won» columns
STATES = {opp(1): "open", opp(2): "open", opp(3): "open", opp(4): "won", opp(5): "lost", opp(6): "open"}
#: the overdue task as the rule sheet shows it, per language (its subject and due date)
OVERDUE_SUBJECT = {"ja": "見積送付", "ru": "Отправить КП"}
#: how each locale writes the amount of opportunity 1 (15,000 in the currency of its own column)
AMOUNT_1 = {"pt-BR": "15.000,00", "es": "15.000,00", "de": "15.000,00", "fr": "15\u00a0000,00", "it": "15.000,00",
            "ja": "15,000", "zh-CN": "15,000.00", "zh-TW": "15,000", "nl": "15.000,00",
            "ru": "15\u00a0000,00"}
ENCODING = {"ja": "cp932", "de": "utf-8-sig", "zh-CN": "utf-8-sig", "zh-TW": "utf-8-sig", "ru": "cp1251"}


def init_and_run(export: Path, work: Path) -> tuple[dict, list[dict], str]:
    """`crm-audit init --crm salesforce --from-export` in a fresh folder, then `crm-audit run`, no hand edits."""
    code, out = cli_run("init", str(work), "--crm", "salesforce", "--from-export", str(export))
    assert code == 0, out
    cfg = work / "crm-audit.yaml"
    code, out = cli_run("run", "--config", str(cfg), "--export", str(export), "--as-of", AS_OF,
                        "--violations-csv", str(work / "v.csv"), "--out", str(work / "audit.xlsx"))
    assert code == 0, out
    with (work / "v.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return yaml.safe_load(cfg.read_text(encoding="utf-8")), rows, out


def found(rows: list[dict]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["rule_id"], set()).add(r["deal_id"])
    return out


def deal_states(export: Path, settings_path: Path) -> dict[str, str]:
    from crm_audit import settings as settings_mod
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import profile_for

    s = settings_mod.load(settings_path)
    ex = load_export(export, profile_for(s))
    try:
        return dict(ex.con.execute("SELECT id, status FROM deals").fetchall())
    finally:
        ex.con.close()


def test_every_language_has_a_fixture_and_its_profile_entry():
    from crm_audit.engine.profile import load_profile

    profile = load_profile("salesforce")
    assert sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()) == sorted(LANGS)
    assert set(LANGS) <= set(profile.languages)
    for code in LANGS:
        lang = profile.languages[code]
        assert lang.evidence and lang.title, code
        # deals, tasks, accounts and contacts each have their labels in every language
        assert set(lang.entities) == {"deals", "activities", "organizations", "persons"}, code
        deals = lang.entities["deals"].fields
        for field in ("id", "title", "owner", "value", "currency", "org_name", "org_id", "pipeline", "stage", "is_closed",
                      "is_won", "created", "stage_changed", "close_date", "stage_order"):
            assert deals.get(field), (code, field)
        tasks = lang.entities["activities"]
        for field in ("subject", "due_date", "done", "deal_name", "account_name", "owner"):
            assert tasks.fields.get(field), (code, field)
        assert tasks.values["done"]["true"], code  # «Completed» in this language


@pytest.mark.parametrize("lang", LANGS)
def test_every_language_audits_on_the_first_try(lang, tmp_path):
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / lang, export)
    settings, rows, out = init_and_run(export, tmp_path / "work")
    assert found(rows) == EXPECTED
    # every flagged opportunity is open, on every rule
    assert {r["state"] for r in rows} == {"Открыта"}
    # the overdue task is named with its subject and due date
    overdue = next(r for r in rows if r["rule_id"] == "overdue-tasks")
    assert OVERDUE_SUBJECT.get(lang, "Enviar proposta") in overdue["evidence"] and "2026-11-10" in overdue["evidence"]
    # 18 days in the stage: the translated «Last Stage Change Date» was read in the locale's order
    stuck = next(r for r in rows if r["rule_id"] == "no-stage-movement")
    assert "Дней на этапе: 18; На этапе с: 2026-11-02" in stuck["evidence"]
    # won / lost from the translated «Closed» / «Won» columns; the footer lines are no deals
    assert deal_states(export, tmp_path / "work" / "crm-audit.yaml") == STATES
    assert "6 deals audited" in out
    assert "opportunities.csv: 3 report footer line(s) (totals, notes) skipped" in out
    assert "activities.csv: 2 report footer line(s) (totals, notes) skipped" in out
    # the settings init wrote: the record type is the pipeline; rules without their fields are off, with the reason
    assert list(settings["pipelines"]) == [{"pt-BR": "Vendas", "es": "Ventas", "de": "Vertrieb", "fr": "Ventes",
                                            "it": "Vendite", "ja": "営業", "zh-CN": "销售", "zh-TW": "銷售", "nl": "Verkoop",
                                            "ru": "Продажи"}[lang]]
    for rid in ("missing-source", "missing-city-or-country", "partner-org-not-set"):
        assert rid in settings["rules"]["skip"]
    assert not set(EXPECTED) & set(settings["rules"]["skip"])


@pytest.mark.parametrize("lang", LANGS)
def test_the_fixture_is_written_as_the_locale_writes_it(lang):
    """The raw files hold what the test above relies on: the locale's amount and the translated footer."""
    text = (FIXTURES / lang / "opportunities.csv").read_bytes().decode(ENCODING.get(lang, "utf-8"))
    first = next(csv.reader(text.splitlines()[1:2]))
    assert AMOUNT_1[lang] in first and opp(1) in first
    tail = [line for line in text.splitlines()[-5:] if line]
    assert len(tail) == 3 and "salesforce.com" in tail[-1]


@pytest.mark.parametrize("lang", LANGS)
def test_the_language_is_detected_from_the_headers(lang):
    from crm_audit.engine.inspect import format_report, inspect_export

    rep = inspect_export(FIXTURES / lang, crm="salesforce")
    assert f"Languages: {lang}" in format_report(rep)


def test_languages_mixed_in_one_file(tmp_path):
    """A pt-BR opportunity report where a colleague's columns came out in English and German, its tasks report
    in Spanish with one status in German: the same audit."""
    from crm_audit.engine.inspect import format_report, inspect_export

    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "pt-BR", export)
    path = export / "opportunities.csv"
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    head = rows[0]
    head[head.index("Fase")] = "Stage"
    head[head.index("Proprietário da oportunidade")] = "Opportunity Owner"
    head[head.index("Ganho")] = "Gewonnen"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    es = (FIXTURES / "es" / "activities.csv").read_text(encoding="utf-8").replace('"Completada"', '"Erledigt"', 1)
    (export / "activities.csv").write_text(es, encoding="utf-8")
    _settings, rows_v, _out = init_and_run(export, tmp_path / "work")
    assert found(rows_v) == EXPECTED
    assert deal_states(export, tmp_path / "work" / "crm-audit.yaml") == STATES
    text = format_report(inspect_export(export, crm="salesforce"))
    langs = text.split("Languages: ", 1)[1].splitlines()[0].split(", ")
    # «Stage», «Opportunity Owner» are English only; «Gewonnen» is German and Dutch alike: evidence of neither (D17)
    assert langs[0] == "pt-BR" and {"es", "en"} <= set(langs) and not {"de", "nl"} & set(langs)


def test_a_completed_task_in_each_language_is_done_and_an_open_one_is_not(tmp_path):
    """«Completed» (done) and «Not Started» / «In Progress» (open) in every language of the profile."""
    from crm_audit.engine.profile import load_profile

    done = load_profile("salesforce").entities["activities"].fields["done"].values
    words = {k: {v.casefold() for v in vals} for k, vals in done.items()}
    for word in ("Concluído", "Completada", "Erledigt", "Terminée", "Completata", "完了", "已完成", "Afgehandeld", "Завершен",
                 "Completed"):
        assert word.casefold() in words["true"], word
    for word in ("Não iniciado", "Em andamento", "No iniciada", "En curso", "Nicht begonnen", "In Bearbeitung",
                 "Non commencée", "En cours", "Non iniziata", "In corso", "未着手", "処理中", "未启动", "进行中", "未開始", "Nog te starten",
                 "In behandeling", "Не начато", "Выполняется"):
        assert word.casefold() in words["false"], word
    assert not words["true"] & words["false"]


def test_a_day_first_locale_without_a_day_above_12_says_how_to_set_it(tmp_path):
    """pt-BR dates that never show a day above 12 read month first (the profile's default) with a note naming
    the settings key; `date_order: dmy` then reads them day first."""
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "pt-BR", export)
    for name in ("opportunities.csv", "activities.csv"):
        p = export / name
        t = p.read_text(encoding="utf-8")
        for day in range(13, 32):  # every date on a day <= 12
            t = t.replace(f'"{day:02d}/', f'"{day - 12 if day <= 24 else day - 24:02d}/')
        p.write_text(t, encoding="utf-8")
    work = tmp_path / "work"
    code, out = cli_run("init", str(work), "--crm", "salesforce", "--from-export", str(export))
    assert code == 0, out
    cfg = work / "crm-audit.yaml"
    code, out = cli_run("run", "--config", str(cfg), "--export", str(export), "--as-of", AS_OF,
                        "--violations-csv", str(work / "v.csv"))
    assert code == 0, out
    assert "read as month/day/year, this CRM's usual order — if that is wrong, set `date_order: dmy`" in out
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\ndate_order: dmy\n", encoding="utf-8")
    assert deal_states(export, cfg)[opp(4)] == "won"
    from crm_audit import settings as settings_mod
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import profile_for

    ex = load_export(export, profile_for(settings_mod.load(cfg)))
    try:  # «01/10/2026» (created, opportunity 1) is 1 October
        assert ex.con.execute(f"SELECT created FROM deals WHERE id = '{opp(1)}'").fetchone() == (dt.date(2026, 10, 1),)
    finally:
        ex.con.close()


def test_a_formatted_xlsx_report_in_german(tmp_path):
    """The German opportunity report exported as a formatted XLSX (title lines above the header, the totals
    and the confidentiality note below): the same audit as the CSV."""
    import openpyxl

    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "de", export)
    src = export / "opportunities.csv"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Opportunities nach Phase"])
    ws.append(["Gefiltert nach: Alle Opportunities · Schlusstermin: Alle Zeiten"])
    ws.append([])
    for row in csv.reader(src.read_text(encoding="utf-8-sig").splitlines()):
        ws.append(row)
    wb.save(export / "opportunities.xlsx")
    src.unlink()
    _settings, rows, out = init_and_run(export, tmp_path / "work")
    assert found(rows) == EXPECTED
    assert deal_states(export, tmp_path / "work" / "crm-audit.yaml") == STATES
    assert "6 deals audited" in out


@pytest.mark.parametrize("lang", LANGS)
def test_the_crm_is_detected_from_translated_headers(lang):
    """`crm-audit inspect DIR` without --crm: the translated report headers name Salesforce."""
    from crm_audit.engine.inspect import format_report, inspect_export

    text = format_report(inspect_export(FIXTURES / lang))
    assert "Profile: salesforce (Salesforce (reports)), detected by headers" in text



@pytest.mark.parametrize("lang", every_other(["de", "es", "ja", "nl", "ru", "pt-BR"]))
def test_translated_closed_stages_give_won_and_lost_without_the_flag_columns(lang, tmp_path):
    """A translated report without the Closed / Won columns: the standard closed stages of that language
    («Geschlossen und gewonnen», «Cerrada perdida», «受注» …) still make opportunity 4 won and 5 lost."""
    import csv as csvmod

    src = FIXTURES / lang
    export = tmp_path / "exp"
    export.mkdir()
    for f in src.iterdir():
        if f.name != "opportunities.csv":
            (export / f.name).write_bytes(f.read_bytes())
    enc = "cp932" if lang == "ja" else "cp1251" if lang == "ru" else "utf-8-sig"
    with (src / "opportunities.csv").open(encoding=enc, newline="") as f:
        rows = list(csvmod.reader(f))
    assert rows[0][11:13] in (["Geschlossen", "Gewonnen"], ["Cerrada", "Ganada"], ["完了", "受注"], ["Gesloten", "Gewonnen"],
                              ["Закрыто", "Выиграно"], ["Fechado", "Ganho"])  # the flag columns this test drops
    with (export / "opportunities.csv").open("w", encoding=enc, newline="") as f:
        csvmod.writer(f, quoting=csvmod.QUOTE_ALL).writerows([r[:11] + r[13:] for r in rows])
    work = tmp_path / "w"
    work.mkdir()
    init_and_run(export, work)
    states = deal_states(export, work / "crm-audit.yaml")
    assert states[opp(4)] == "won" and states[opp(5)] == "lost", states


@pytest.mark.parametrize("lang, encoding", [("zh-CN", "gbk"), ("zh-TW", "big5")])
def test_an_east_asian_code_page_audits_like_utf8(lang, encoding, tmp_path):
    """Acceptance Y-F: the Chinese reports saved in GBK (Salesforce's «Chinese Simplified (GB2312)» export encoding, a
    Chinese-locale Excel's CSV) read as the headers a profile knows — their bytes decode as cp1252 too, which had made
    mojibake of every header and stopped init with «no status column». Big5 for Traditional Chinese alike."""
    export = tmp_path / "export"
    export.mkdir()
    for f in (FIXTURES / lang).iterdir():
        (export / f.name).write_bytes(f.read_text(encoding="utf-8-sig").encode(encoding, errors="replace"))
    settings, rows, out = init_and_run(export, tmp_path / "work")
    assert {k: v for k, v in found(rows).items() if k in EXPECTED} == EXPECTED
