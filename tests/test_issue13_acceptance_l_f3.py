"""Issue 13, acceptance L (/tmp/work/accL/DEFECTS.md) L6, L9, L13, L14, L15 on the tester's exports, each through the
CLI as a user runs it — `init --from-export` then `run`, no hand edit of the settings:

- L6: HubSpot writes a property without a value as «(Nenhum valor)» / «(No value)» … (the profile's `empty_values:`):
  read as a blank cell — never an amount that stops the run, a manager named «(Nenhum valor)» or a source that passes
  1.8; and init never writes `on_bad_value: error` when it has just seen cells that do not read.
- L9: a `deal_url:` still the profile's example is said by init, validate and run, with how to set it; `init
  --from-export DIR --domain ACCOUNT` writes the account's links.
- L13: a deal row with neither a stage nor a status is warned by file and row, whatever columns the export has.
- L14: a deal without an owner is «(без ответственного)» in the CSV, as on the hit sheet and in the terminal.
- L15: the FAQ of a skipped rule reads «пропущено», not «Нарушений 0».
Fixtures: tests/fixtures/real/<name>/ (each README names its source and what the tester wrote).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import openpyxl
import yaml

from cli_helpers import cli_ru

REAL = Path(__file__).parent / "fixtures" / "real"
HS_FILE = "hubspot-crm-exports-todos-os-negocios-2025-12-01.csv"


def _init_run(capsys, monkeypatch, work: Path, export: Path, as_of: str, *init_args: str):
    """`init --from-export` then `run` as the tester did: (init's stdout, the settings, run's stdout, the CSV rows)."""
    code, init_out, err = cli_ru(capsys, monkeypatch, "init", str(work), "--from-export", str(export), *init_args)
    assert code == 0, err
    settings = work / "crm-audit.yaml"
    data = yaml.safe_load(settings.read_text(encoding="utf-8"))
    code, run_out, err = cli_ru(capsys, monkeypatch, "run", "--config", str(settings), "--export", str(export), "--as-of", as_of,
                                "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"))
    assert code == 0, err
    with (work / "v.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return init_out, data, run_out, rows


# --------------------------------------------------------------------------- L6


def test_l6_hubspot_no_value_placeholder_reads_as_empty(tmp_path, capsys, monkeypatch):
    export = REAL / "hs_ptbr_nenhum"
    code, out, _ = cli_ru(capsys, monkeypatch, "inspect", str(export))
    assert code == 0 and "Nenhum valor" not in out  # no «не удалось прочитать «(Nenhum valor)»»
    _, data, run_out, rows = _init_run(capsys, monkeypatch, tmp_path / "w", export, "2025-12-01")
    assert data["crm"] == "hubspot" and data["on_bad_value"] == "error"  # nothing in the export fails to read
    assert "Nenhum valor" not in run_out
    assert "Аудит на 01.12.2025: проверено 3 сделки" in run_out
    # «Fonte original» = «(Nenhum valor)» is a deal without a source (1.8); its owner is nobody
    src = [(r["rule_code"], r["deal_id"], r["owner"], r["evidence"]) for r in rows if r["rule_code"] == "1.8"]
    assert src == [("1.8", "18345670002", "(без ответственного)", "Источник сделки: ")]
    managers = run_out.split("По менеджерам:")[1].split("\n\n")[0]
    # Bruno Reis's «Padaria Sol» is in «Fechado ganho»: won, not an open deal for 2.4 (hubspot.yaml from_stage)
    assert [line.split() for line in managers.strip().splitlines()] == [["(без", "ответственного)", "2"]]


def test_l6_amount_emptied_variant_flags_the_source_and_names_no_manager_nenhum(tmp_path, capsys, monkeypatch):
    _, data, run_out, rows = _init_run(capsys, monkeypatch, tmp_path / "w", REAL / "hs_ptbr_nenhum_novalor", "2025-12-01")
    assert "(Nenhum valor)" not in run_out
    assert "  1.8 Нет источника                  1" in run_out
    assert {r["owner"] for r in rows if r["deal_id"] == "18345670002"} == {"(без ответственного)"}


def test_l6_init_writes_on_bad_value_warn_when_it_saw_cells_that_do_not_read(tmp_path, capsys, monkeypatch):
    """A cell the profile cannot read («oito mil» as an amount): `on_bad_value: error` would stop the first run, so
    init writes `warn` and names the cell; the run goes through and names it too."""
    export = tmp_path / "export"
    shutil.copytree(REAL / "hs_ptbr_nenhum", export)
    f = export / HS_FILE
    f.write_text(f.read_text(encoding="utf-8").replace('"8000"', '"oito mil"'), encoding="utf-8")
    _, data, run_out, rows = _init_run(capsys, monkeypatch, tmp_path / "w", export, "2025-12-01")
    assert data["on_bad_value"] == "warn"
    text = (tmp_path / "w" / "crm-audit.yaml").read_text(encoding="utf-8")
    assert (f"# init: в этой выгрузке есть ячейки, которые не читаются ({HS_FILE} строка 4, «Valor»: «oito mil»),\n"
            "# и с error первый аудит остановился бы на них.") in text
    assert f"{HS_FILE} строка 4 «Valor»: не удалось прочитать «oito mil»" in run_out
    assert "Аудит на 01.12.2025: проверено 3 сделки" in run_out


# --------------------------------------------------------------------------- L9


def test_l9_example_deal_url_is_said_by_init_validate_and_run(tmp_path, capsys, monkeypatch):
    work = tmp_path / "w"
    init_out, data, run_out, rows = _init_run(capsys, monkeypatch, work, REAL / "pd_fr_argentic_id_test", "2026-11-20")
    assert data["deal_url"] == "https://example.pipedrive.com/deal/{id}"
    said = ("`deal_url:` «https://example.pipedrive.com/deal/{id}» — пример («example.pipedrive.com» — не ваш аккаунт): "
            "ссылки на сделки в отчёте не откроют ни одной сделки.")
    assert said in init_out
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert "# ЭТО ПРИМЕР: «example.pipedrive.com» — не ваш аккаунт, и ссылки в отчёте не откроют ни одной сделки." in text
    assert f"crm-audit.yaml: {said}" in run_out
    code, out, err = cli_ru(capsys, monkeypatch, "validate", "--config", str(work / "crm-audit.yaml"))
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("deal_url:"))
    assert code == 0 and f"предупреждение: {work / 'crm-audit.yaml'}:{line}:1: {said}" in out + err


def test_l9_init_domain_writes_the_accounts_links(tmp_path, capsys, monkeypatch):
    work = tmp_path / "pd"
    init_out, data, run_out, rows = _init_run(capsys, monkeypatch, work, REAL / "pd_fr_argentic_id_test", "2026-11-20",
                                              "--domain", "boulangerie.pipedrive.com")
    assert data["deal_url"] == "https://boulangerie.pipedrive.com/deal/{id}"
    assert "пример" not in init_out and "deal_url" not in run_out
    assert {r["deal_url"] for r in rows} == {"https://boulangerie.pipedrive.com/deal/1"}
    code, out, err = cli_ru(capsys, monkeypatch, "validate", "--config", str(work / "crm-audit.yaml"))
    assert code == 0 and "deal_url" not in out + err
    # a bare account name, a Kommo host, HubSpot's portal id: each where the profile's example stands
    for crm, export, domain, url in (
            ("pipedrive", "pd_fr_argentic_id_test", "boulangerie", "https://boulangerie.pipedrive.com/deal/{id}"),
            ("kommo", "kommo_ptbr", "loja.kommo.com", "https://loja.kommo.com/leads/detail/{id}"),
            ("hubspot", "hs_ptbr_nenhum", "48151623", "https://app.hubspot.com/contacts/48151623/record/0-3/{id}")):
        w = tmp_path / crm
        code, out, err = cli_ru(capsys, monkeypatch, "init", str(w), "--crm", crm, "--from-export", str(REAL / export),
                                "--domain", domain)
        assert code == 0, err
        assert yaml.safe_load((w / "crm-audit.yaml").read_text(encoding="utf-8"))["deal_url"] == url
        assert "ЭТО ПРИМЕР" not in (w / "crm-audit.yaml").read_text(encoding="utf-8")


def test_l9_hubspot_portal_placeholder_is_an_example(tmp_path, capsys, monkeypatch):
    init_out, data, run_out, rows = _init_run(capsys, monkeypatch, tmp_path / "w", REAL / "hs_ptbr_nenhum", "2025-12-01")
    assert "«PORTAL_ID» — не ваш аккаунт" in init_out and "«PORTAL_ID» — не ваш аккаунт" in run_out


# --------------------------------------------------------------------------- L13, L14, L15


def test_l13_l14_l15_french_pipedrive_row_without_stage_and_status(tmp_path, capsys, monkeypatch):
    work = tmp_path / "w"
    _, data, run_out, rows = _init_run(capsys, monkeypatch, work, REAL / "pd_fr_argentic_id_test", "2026-11-20")
    # L13: row 4 of the file («3;;100;;;;;;») is in no rule's scope: said by file and row (deals 1 and 2 have a status)
    assert ("deals.csv строка 4 «Affaire - Statut»: сделок с пустым или неизвестным состоянием, их не проверяет ни одно "
            "правило: 1 (первая в строке 4)") in run_out
    # L14: the file has no owner column: every deal is «(без ответственного)» in the CSV as on the hit sheet
    assert [(r["rule_code"], r["deal_id"], r["owner"]) for r in rows] == [("1.5", "1", "(без ответственного)")]
    wb = openpyxl.load_workbook(work / "audit.xlsx", read_only=True)
    hits = [r for r in wb["Учет попаданий"].iter_rows(values_only=True)]
    assert hits[1][0] == "(без ответственного)"
    # L15: the FAQ of a skipped rule says so where its count would be; a rule that ran shows its count
    faq = [r[:2] for r in wb["FAQ"].iter_rows(values_only=True)]
    at = {r[0]: k for k, r in enumerate(faq) if isinstance(r[0], str) and r[0][:4] in ("1.1 ", "1.5 ")}
    skipped = next(r for r in faq[at["1.1 Открытые без задач"]:] if r[0] == "Нарушений")
    ran = next(r for r in faq[at["1.5 Некорректные названия"]:] if r[0] == "Нарушений")
    assert skipped == ("Нарушений", "пропущено — правило не проверялось (причина — в «Примечании» ниже)")
    assert ran == ("Нарушений", 1)


def test_l13_a_deal_without_status_is_warned_when_the_export_has_no_stage_column(tmp_path, capsys, monkeypatch):
    """The «no status» warning used to be made only where the export has both a stage and a pipeline column."""
    export = tmp_path / "export"
    export.mkdir()
    src = (REAL / "pd_fr_argentic_id_test" / "deals.csv").read_text(encoding="utf-8").splitlines()
    drop = src[0].split(";").index("Affaire - Étape")
    (export / "deals.csv").write_text("\n".join(";".join(c for k, c in enumerate(line.split(";")) if k != drop) for line in src) + "\n",
                                      encoding="utf-8")
    _, data, run_out, rows = _init_run(capsys, monkeypatch, tmp_path / "w", export, "2026-11-20")
    assert data["pipelines"] == {}
    assert "deals.csv строка 4 «Affaire - Statut»: сделок с пустым или неизвестным состоянием, их не проверяет ни одно правило: " \
           "1 (первая в строке 4)" in run_out
