"""Issue 13, the acceptance tester's report (defects 2, 3, 4, 10, 11, 16, 17):
each case played through the CLI as a user runs it — `crm-audit init --crm X
--from-export DIR`, then `crm-audit run` — asserting each deal's findings and
state by value.

The exports under ``tests/fixtures/issue13-acceptance/`` are the tester's
reproduction cases (written from Pipedrive's, HubSpot's, Kommo's and
Bitrix24's interface terms, not by this product's generator). ``every-deal.yaml``
is the tester's helper rule that flags every deal, so a deal's open / won /
lost state can be read from the violations CSV.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import yaml

from crm_audit.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "issue13-acceptance"
AS_OF = "2026-11-20"


def init(work: Path, crm: str, export: Path, *extra: str) -> int:
    return main(["init", str(work), "--crm", crm, "--from-export", str(export), *extra])


def run(work: Path, export: Path, *extra: str, quiet: bool = True) -> int:
    return main(["run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", AS_OF,
                 "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"), *(["--quiet"] if quiet else []), *extra])


def with_every_deal_rule(work: Path) -> None:
    """Add the tester's every-deal rule file to the settings init wrote (rules: files:)."""
    shutil.copy(FIXTURES / "every-deal.yaml", work / "every-deal.yaml")
    path = work / "crm-audit.yaml"
    text = path.read_text(encoding="utf-8")
    assert "\n  files: []" in text
    path.write_text(text.replace("\n  files: []", "\n  files: [every-deal.yaml]", 1), encoding="utf-8")


def audit(tmp_path: Path, crm: str, export: Path, *extra: str, quiet: bool = True) -> tuple[dict[str, set[str]], dict[str, str], Path]:
    """init -> every-deal rule added -> run: (rule id -> deal ids, deal id -> state, work dir)."""
    work = tmp_path / "work"
    assert init(work, crm, export) == 0
    with_every_deal_rule(work)
    assert run(work, export, *extra, quiet=quiet) == 0
    found: dict[str, set[str]] = {}
    state: dict[str, str] = {}
    with open(work / "v.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            found.setdefault(row["rule_id"], set()).add(row["deal_id"])
            if row["rule_id"] == "every-deal":
                state[row["deal_id"]] = row["state"]
    found.pop("every-deal", None)
    return found, state, work


# --------------------------------------------------------------------------- defect 2: Italian and Polish Pipedrive

#: findings the Portuguese export of the same five deals has (the tester's reference: PT worked) — at least these
PT_FINDINGS = {"open-deal-without-tasks": {"1"}, "overdue-tasks": {"2"}, "no-stage-movement": {"1"}}
PT_STATES = {"1": "Открыта", "2": "Открыта", "3": "Выиграна", "4": "Открыта", "5": "Проиграна"}


def _rows(work: Path) -> list[list[str]]:
    with open(work / "v.csv", encoding="utf-8") as f:
        return sorted(row[:12] for row in csv.reader(f))


@pytest.fixture(scope="module")
def portuguese(tmp_path_factory) -> tuple[dict[str, set[str]], list[list[str]]]:
    found, state, work = audit(tmp_path_factory.mktemp("pt"), "pipedrive", FIXTURES / "pipedrive-pt")
    assert state == PT_STATES
    assert all(found.get(rule, set()) >= ids for rule, ids in PT_FINDINGS.items())
    return found, _rows(work)


@pytest.mark.parametrize("lang", ["it", "pl"])
def test_italian_and_polish_pipedrive_exports_audit_like_the_portuguese(tmp_path, lang, portuguese):
    # «Trattativa - ID, Trattativa - Titolo, … Trattativa - Stato» (Pipedrive's Italian import categories say
    # «Trattativa»); «Transakcja - ID … Transakcja - Status», «Działanie - ID transakcji»
    found, state, work = audit(tmp_path, "pipedrive", FIXTURES / f"pipedrive-{lang}")
    assert state == PT_STATES
    assert found == portuguese[0]
    assert _rows(work) == portuguese[1]


def test_polish_oferta_prefix(tmp_path, portuguese):
    src = FIXTURES / "pipedrive-pl"
    export = tmp_path / "exp"
    export.mkdir()
    for p in src.iterdir():
        export.joinpath(p.name).write_text(p.read_text(encoding="utf-8").replace("Transakcja - ", "Oferta - "), encoding="utf-8")
    found, state, _ = audit(tmp_path, "pipedrive", export)
    assert (found, state) == (portuguese[0], PT_STATES)


def test_every_pipedrive_language_names_its_deal_object():
    from crm_audit.engine.profile import load_profile

    p = load_profile("pipedrive")
    prefixes = {x.strip(" -") for x in p.entities["deals"].prefixes}
    assert {"Deal", "Сделка", "Negócio", "Trato", "Geschäft", "Affaire", "Trattativa", "Oferta", "Transakcja",
            "Affär", "Avtale", "Obchod"} <= prefixes
    assert p.languages_of(["Trattativa - ID", "Trattativa - Titolo"]) == ["it"]


# --------------------------------------------------------------------------- defect 3: Western / Central European code pages


def test_a_western_excel_resave_reads_as_windows_1252(tmp_path):
    # the PT export re-saved by Western-European Excel: Windows-1252, `;`, dd.mm.yyyy («Negócio - Título»);
    # read as cp1251 its headers were «Negуcio - Tнtulo» and init stopped
    cp1252 = FIXTURES / "pipedrive-pt-cp1252"
    utf8 = tmp_path / "utf8"
    utf8.mkdir()
    for p in cp1252.iterdir():
        utf8.joinpath(p.name).write_text(p.read_bytes().decode("cp1252"), encoding="utf-8")
    found, state, work = audit(tmp_path / "a", "pipedrive", cp1252)
    _, _, work_utf8 = audit(tmp_path / "b", "pipedrive", utf8)
    assert _rows(work) == _rows(work_utf8)
    assert all(found.get(rule, set()) >= ids for rule, ids in PT_FINDINGS.items())
    assert state == PT_STATES
    stages = yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))["pipelines"]["Vendas"]
    assert "Negociação" in stages


def test_a_polish_excel_resave_reads_as_windows_1250(tmp_path, portuguese):
    export = tmp_path / "exp"
    export.mkdir()
    for p in (FIXTURES / "pipedrive-pl").iterdir():
        export.joinpath(p.name).write_bytes(p.read_text(encoding="utf-8").replace('","', '";"').replace("ã", "a").encode("cp1250"))  # «ã» is no cp1250 letter
    found, state, work = audit(tmp_path, "pipedrive", export)
    assert (found, state) == (portuguese[0], PT_STATES)


def test_code_pages_are_judged_by_the_headers_they_make_known():
    from crm_audit.engine.encoding import codepage_scores, detect_encoding

    head = "Сделка - ID;Сделка - Название;Сделка - Этап\n1;Тест;Новая\n".encode("cp1251")
    assert detect_encoding(Path("deals.csv"), head) == "cp1251"
    scores = codepage_scores("Negócio - ID;Negócio - Título\n".encode("cp1252"))
    assert scores["cp1252"] > 0 > scores["cp1251"]  # «Negуcio» mixes Latin and Cyrillic letters
    pl = "Transakcja - ID;Transakcja - Właściciel\n".encode("cp1250")
    assert detect_encoding(Path("deals.csv"), pl) == "cp1250"


# --------------------------------------------------------------------------- defect 4: one column, one field


def _columns(work: Path) -> dict[str, dict[str, str]]:
    return yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8")).get("columns") or {}


def _one_field_per_column(columns: dict[str, dict[str, str]]) -> None:
    for entity, fields in columns.items():
        headers = [h for h in (fields or {}).values()]
        assert len(headers) == len(set(headers)), (entity, fields)


def test_a_won_flag_never_becomes_lost(tmp_path):
    # HubSpot in German: «Ist abgeschlossen», «Ist gewonnen»; deal 2 «Abgeschlossen und gewonnen», both true.
    # init wrote is_closed, is_won AND is_lost as «Ist abgeschlossen» and deal 2 was audited as lost
    found, state, work = audit(tmp_path, "hubspot", FIXTURES / "hubspot-de")
    _one_field_per_column(_columns(work))
    assert state == {"1": "Открыта", "2": "Выиграна"}


def test_yes_no_columns_with_unknown_names_are_not_guessed_by_their_values(tmp_path):
    # three yes/no columns whose names say nothing the profile knows: which is «closed», «won», «lost»
    # cannot be told from true/false — none is proposed as a flag by its values, so none turns a won deal lost
    export = tmp_path / "exp"
    export.mkdir()
    text = (FIXTURES / "hubspot-de" / "deals.csv").read_text(encoding="utf-8")
    text = text.replace('"Ist abgeschlossen","Ist gewonnen"', '"Flag A","Flag B","Flag C"')
    text = text.replace('"false","false"', '"false","false","false"').replace('"true","true"', '"true","true","false"')
    export.joinpath("deals.csv").write_text(text, encoding="utf-8")
    found, state, work = audit(tmp_path, "hubspot", export)
    columns = _columns(work).get("deals") or {}
    _one_field_per_column({"deals": columns})
    assert not {"is_closed", "is_won", "is_lost"} & set(columns)
    assert state == {"1": "Открыта", "2": "Выиграна"}  # from the stage «Abgeschlossen und gewonnen»


def test_one_column_given_for_two_fields_is_a_settings_error(tmp_path, capsys):
    work = tmp_path / "work"
    export = FIXTURES / "hubspot-de"
    assert init(work, "hubspot", export) == 0
    cfg = work / "crm-audit.yaml"
    doc = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    doc["columns"] = {"deals": {"is_won": "Ist abgeschlossen", "is_lost": "Ist abgeschlossen"}}
    cfg.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", "-c", str(cfg)]) == 2
    assert run(work, export) == 2
    err = capsys.readouterr().err
    assert "«Ist abgeschlossen» is given for is_won, is_lost" in err
    assert not (work / "v.csv").exists()


# --------------------------------------------------------------------------- defect 10: Kommo in Spanish and Portuguese


def test_kommo_in_spanish_reads_no_cerrado_and_its_system_statuses(tmp_path):
    # «Fecha de cierre» = «no cerrado» stopped the run; «Logrado con éxito» / «Venta perdida» (Kommo's statuses
    # 142 / 143 in Spanish) were audited as open
    found, state, work = audit(tmp_path, "amocrm", FIXTURES / "kommo-es")
    assert state == {"1": "Открыта", "2": "Выиграна", "3": "Проиграна"}
    pipelines = yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))["pipelines"]
    assert pipelines == {"Embudo de ventas": ["Contacto inicial", "Logrado con éxito", "Venta perdida"]}


def test_kommo_in_portuguese(tmp_path):
    export = tmp_path / "exp"
    export.mkdir()
    pt = {"Nombre del lead": "Nome do lead", "Venta": "Venda", "Usuario responsable": "Usuário responsável",
          "Fecha de creación": "Criado em", "Embudo de ventas": "Funil de vendas", "Embudo": "Funil",
          "Etapa del lead": "Etapa do lead", "Fecha de cierre": "Data de fechamento", "no cerrado": "não fechado",
          "Contacto inicial": "Contato inicial", "Logrado con éxito": "Venda ganha", "Venta perdida": "Venda perdida"}
    text = (FIXTURES / "kommo-es" / "kommo_export_leads_2026-11-20.csv").read_text(encoding="utf-8")
    for es, word in pt.items():
        text = text.replace(f'"{es}"', f'"{word}"')
    export.joinpath("kommo_export_leads_2026-11-20.csv").write_text(text, encoding="utf-8")
    found, state, work = audit(tmp_path, "amocrm", export)
    assert state == {"1": "Открыта", "2": "Выиграна", "3": "Проиграна"}


# --------------------------------------------------------------------------- defect 11: US dates


def _created(work: Path) -> dict[str, str]:
    with open(work / "v.csv", encoding="utf-8") as f:
        return {r["deal_id"]: r["evidence"] for r in csv.DictReader(f) if r["rule_id"] == "every-deal"}


def test_a_twelve_hour_clock_reads_month_first_and_says_so(tmp_path, capsys):
    # «10/01/2026 10:00:00 am»: no day above 12 in the file; the am/pm clock is the US style (month first)
    export = FIXTURES / "bitrix24-us-dates"
    _, _, work = audit(tmp_path, "bitrix24", export, quiet=False)
    assert _created(work) == {"201": "Создана: 2026-10-01", "202": "Создана: 2026-09-01", "203": "Создана: 2026-11-10"}
    # init writes the order with the cell it was taken from, to be checked (acceptance M1); the run reads it so
    cfg = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert "«10/01/2026 10:00:00 am»" in cfg and "am/pm" in cfg and "поставьте dmy" in cfg and "\ndate_order: mdy\n" in cfg
    # without the settings' order the run says how it read them
    (work / "crm-audit.yaml").write_text(cfg.replace("\ndate_order: mdy\n", "\n"), encoding="utf-8")
    capsys.readouterr()
    assert run(work, export, quiet=False) == 0
    err = "".join(capsys.readouterr())
    assert "«10/01/2026 10:00:00 am»" in err and "month/day/year" in err and "`date_order: dmy`" in err


def test_the_settings_date_order_wins_and_silences_the_note(tmp_path, capsys):
    export = FIXTURES / "bitrix24-us-dates"
    work = tmp_path / "work"
    assert init(work, "bitrix24", export) == 0
    with_every_deal_rule(work)
    cfg = work / "crm-audit.yaml"
    text = cfg.read_text(encoding="utf-8")
    assert "\ndate_order: mdy\n" in text  # init writes the order the am/pm clock suggests, to be checked (acceptance M1)
    cfg.write_text(text.replace("\ndate_order: mdy\n", "\ndate_order: dmy\n"), encoding="utf-8")
    assert main(["validate", "-c", str(cfg)]) in (0, 1)
    capsys.readouterr()
    assert run(work, export, quiet=False) == 0
    assert _created(work) == {"201": "Создана: 2026-01-10", "202": "Создана: 2026-01-09", "203": "Создана: 2026-10-11"}
    assert "`date_order:" not in "".join(capsys.readouterr())


def test_an_ambiguous_file_says_which_order_it_assumed(tmp_path, capsys):
    export = tmp_path / "exp"
    export.mkdir()
    src = FIXTURES / "bitrix24-us-dates"
    for p in src.iterdir():  # the same dates on a 24-hour clock: nothing tells the order
        export.joinpath(p.name).write_text(p.read_text(encoding="utf-8").replace(" am\"", "\"").replace(" pm\"", "\""),
                                           encoding="utf-8")
    _, _, work = audit(tmp_path, "bitrix24", export, quiet=False)
    assert _created(work)["201"] == "Создана: 2026-01-10"  # Bitrix24's usual order: day first
    err = "".join(capsys.readouterr())
    assert "«10/01/2026 10:00:00» fit both day/month and month/day" in err
    assert "read as day/month/year" in err and "`date_order: mdy`" in err


# --------------------------------------------------------------------------- defect 16: no ID column


def test_an_export_without_the_id_column_says_how_to_add_it_in_that_crm(tmp_path, capsys):
    # a real published PT-BR Pipedrive export header (no «Negócio - ID»): audited on the first run, its deals' keys
    # derived from their content (issue 13 L10), and the settings, the terminal say how to add the id in Pipedrive
    export = FIXTURES / "pipedrive-pt-no-id"
    work = tmp_path / "work"
    assert init(work, "pipedrive", export) == 0
    written = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert "crm: pipedrive" in written and "в выгрузке нет ID сделок (в deals.csv нет колонки «ID»)" in written
    assert "добавьте в список колонку «ID»" in " ".join(written.replace("\n# ", " ").split())  # Pipedrive's way
    found, state, _ = audit(tmp_path / "first", "pipedrive", export)
    lines = (export / "deals.csv").read_text(encoding="utf-8").splitlines()
    assert len(state) == len(lines) - 1 and all(k.startswith("k") for k in state)
    capsys.readouterr()
    assert run(tmp_path / "first" / "work", export, quiet=False) == 0
    said = "".join(capsys.readouterr())
    assert "the export has no deal ids (deals.csv has no column «ID»)" in said and "add the «ID» column to the list" in said
    # done as it says: the ID column added to the list, exported again
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    out = ['"Negócio - ID",' + lines[0]] + [f'"{i}",{line}' for i, line in enumerate(lines[1:], 1)]
    (fixed / "deals.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    assert init(work, "pipedrive", fixed, "--force") == 0
    assert "нет ID сделок" not in (work / "crm-audit.yaml").read_text(encoding="utf-8")
    found, state, _ = audit(tmp_path / "again", "pipedrive", fixed)
    assert len(state) == len(lines) - 1 and not any(k.startswith("k") for k in state)


@pytest.mark.parametrize("crm, words", [("bitrix24", "add «ID» to the list's columns"), ("hubspot", "«Record ID»"),
                                        ("salesforce", "«Opportunity ID»"), ("amocrm", "all fields")])
def test_every_profile_says_how_its_export_gets_the_id(crm, words):
    """A deals file with neither an id nor a title cannot be read (with the title its keys are derived: L10)."""
    from crm_audit.engine.mapping import unfit_reason
    from crm_audit.engine.profile import load_profile

    why = unfit_reason(load_profile(crm), "deals", ["Stage", "Amount"])
    assert words in why and "columns: {deals: {id: <header>}}" in why


# --------------------------------------------------------------------------- defect 17: skipped sheets, shared names, grammar


def test_a_skipped_rules_sheet_says_only_that_it_was_skipped(tmp_path):
    from openpyxl import load_workbook

    _, _, work = audit(tmp_path, "pipedrive", FIXTURES / "pipedrive-pt")
    settings = yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))
    skipped = settings["rules"]["skip"]
    assert "missing-source" in skipped  # 1.8: the export has no «Источник сделки»
    wb = load_workbook(work / "audit.xlsx", read_only=True)
    sheet = next(ws for ws in wb.worksheets if ws.title.startswith("1.8 "))
    header = " ".join(str(c) for c in next(sheet.iter_rows(max_row=1, values_only=True)) if c)
    assert "Правило пропущено" in header
    assert "Нарушений не найдено" not in header
    def first_row(ws) -> str:
        return " ".join(str(c) for c in next(ws.iter_rows(max_row=1, values_only=True)) if c)

    # 1.2 once «ran, found nothing» here: its list frozen_lost_reasons is empty (the team's lost reason is no handbook
    # one), so it could flag nothing and is skipped saying so (issue 13 acceptance O1)
    frozen = first_row(next(ws for ws in wb.worksheets if ws.title.startswith("1.2 ")))
    assert "Правило пропущено" in frozen and "список frozen_lost_reasons пуст" in frozen
    assert "Нарушений не найдено" not in frozen


def _salesforce(tmp_path: Path, edit=None) -> Path:
    export = tmp_path / "exp"
    export.mkdir()
    for p in (FIXTURES / "salesforce-shared-name").iterdir():
        text = p.read_text(encoding="utf-8")
        export.joinpath(p.name).write_text(edit(p.name, text) if edit else text, encoding="utf-8")
    return export


def test_salesforce_activities_of_a_shared_opportunity_name_go_by_the_account(tmp_path, capsys):
    # two open opportunities named «Renewal» (Acme 006A1, Beta 006A2); the task «Call» is Beta's
    export = _salesforce(tmp_path, lambda name, t: t.replace('"Renewal","Acme"', '"Renewal","Beta"') if name == "activities.csv" else t)
    found, _, work = audit(tmp_path, "salesforce", export, quiet=False)
    assert found["overdue-tasks"] == {"006A2"}
    assert found["open-deal-without-tasks"] == {"006A1"}
    assert "several deals named «Renewal»" not in "".join(capsys.readouterr())


def test_without_the_account_a_shared_name_goes_to_the_first_with_a_warning(tmp_path, capsys):
    def drop_account(name, text):
        if name != "activities.csv":
            return text
        return "\n".join(line.rsplit(",", 1)[0] for line in text.splitlines()) + "\n"

    found, _, work = audit(tmp_path, "salesforce", _salesforce(tmp_path, drop_account), quiet=False)
    assert found["overdue-tasks"] == {"006A1"}
    assert found["open-deal-without-tasks"] == {"006A2"}
    assert "several deals named «Renewal»" in "".join(capsys.readouterr())


def test_an_unjudged_deal_count_has_its_plural_form():
    from crm_audit.report import UnjudgedDeals, unjudged_note

    def note(n):
        return unjudged_note(UnjudgedDeals("r", "2.2", "deal.days_in_stage", n, "Created"))

    assert note(1).startswith("1 сделка в области правила не проверена: у неё")
    assert note(3).startswith("3 сделки в области правила не проверены: у них")
    assert note(5).startswith("5 сделок") and note(11).startswith("11 сделок") and note(21).startswith("21 сделка ")


def test_init_asks_for_your_stage_in_good_russian(tmp_path):
    work = tmp_path / "work"
    assert init(work, "pipedrive", FIXTURES / "pipedrive-pt") == 0
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert "укажите свой этап в stage_names:" in text and "или добавьте его в pipelines:" in text
    assert "свою этапу" not in text


def test_init_keeps_the_teams_column_and_proposes_it_for_no_other_field(tmp_path):
    # the team's crm-audit.yaml reads «Ist abgeschlossen» as is_won; init --force keeps that and does not also
    # propose the same column for is_closed (its name resembles «Geschlossen»)
    export = FIXTURES / "hubspot-de"
    work = tmp_path / "work"
    assert init(work, "hubspot", export) == 0
    cfg = work / "crm-audit.yaml"
    doc = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    doc["columns"] = {"deals": {"is_won": "Ist abgeschlossen"}}
    cfg.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert init(work, "hubspot", export, "--force") == 0
    columns = _columns(work)
    _one_field_per_column(columns)
    assert columns["deals"]["is_won"] == "Ist abgeschlossen"
