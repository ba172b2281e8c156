"""Issue 13 acceptance N4, N5, N6.

N4 — a file is recognised by its headers whatever its name: a Salesforce pt-BR activity report «Relatorio_Atividades.csv»
(«Assunto», «Data de vencimento», «Status», «Oportunidade», «Empresa/Conta», «Atribuído a» — no «ID da oportunidade»)
was skipped, and rules 1.1 / 1.2 / 2.3 said none of its columns was named as the CRM names «Status» or «Data de
vencimento». A task report names its deal by id or by name: the profiles' signature `[done, [deal_id, deal_name]]`
(crm_audit/engine/profile.py EntitySpec.signature). A file still not recognised is told the columns it does lack only.

N5 — HubSpot's per-stage columns (`Datum des Eintritts in "<Phase> (<Pipeline>)"`) are the CRM's own stage list in its
order: init writes every stage they name, and a stage the built-in default pipeline does not know leaves the order
unconfirmed (crm_audit/engine/stage_list.py, crm_audit/exportdraft.py `_by_stage_columns`).

N6 — `init --force` keeps the team's `columns:` lines, but not one whose header the export no longer has (validate
would stop on it): the line is written commented with why, init warns naming it, and the field is mapped as without it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from crm_audit.cli import main
from crm_audit.engine.mapping import detect_entity
from crm_audit.engine.profile import available, load_profile
from crm_audit.engine.stage_list import listed_stages


@pytest.fixture(autouse=True)
def russian(monkeypatch):
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "ru")


# --------------------------------------------------------------------------- N4

SF_DEALS = """\
"Proprietário da oportunidade","Nome da oportunidade","Nome da conta","Fase","Valor","Probabilidade (%)","Data de criação","Data da última mudança de fase","Data de fechamento","Fechado","Ganho","Motivo da perda","Origem do lead"
"Carla Souza","Padaria Pão Quente - CRM","Padaria Pão Quente","Prospecção","R$ 1.500,00","10","01/10/2026","13/11/2026","30/12/2026","0","0","","Web"
"Carla Souza","Ótica Visão - Licenças","Ótica Visão","Prospecção","R$ 2.000,00","10","01/10/2026","12/11/2026","30/12/2026","0","0","","Web"
"Rafael Lima","Construtora Alfa","Construtora Alfa","Proposta/Cotação de preço","R$ 0,00","75","01/09/2026","05/11/2026","30/12/2026","0","0","","Web"
"Rafael Lima","Farmácia Beta","Farmácia Beta","Fechado/ganho","R$ 12.345,67","100","01/08/2026","01/10/2026","01/10/2026","1","1","","Web"
"""
SF_TASKS = """\
"Assunto","Data de vencimento","Status","Oportunidade","Empresa/Conta","Atribuído a"
"Ligar","20/11/2026","Não iniciado","Padaria Pão Quente - CRM","Padaria Pão Quente","Carla Souza"
"Enviar proposta","19/11/2026","Em andamento","Ótica Visão - Licenças","Ótica Visão","Carla Souza"
"Reunião","01/11/2026","Concluído","Construtora Alfa","Construtora Alfa","Rafael Lima"
"""
PTBR_REPORT = ["Assunto", "Data de vencimento", "Status", "Oportunidade", "Empresa/Conta", "Atribuído a"]


@pytest.mark.parametrize("name", ["Relatorio_Atividades.csv", "export_2026.csv", "activities.csv"])
def test_salesforce_ptbr_activity_report_is_the_tasks_whatever_its_name(name):
    assert detect_entity(load_profile("salesforce"), Path(name), PTBR_REPORT) == "activities"
    # the English report alike («Opportunity», no «Opportunity ID»)
    english = ["Subject", "Due Date", "Status", "Opportunity", "Company / Account", "Assigned"]
    assert detect_entity(load_profile("salesforce"), Path(name), english) == "activities"


def test_salesforce_deals_report_is_not_taken_for_tasks():
    headers = SF_DEALS.splitlines()[0].replace('"', "").split(",")
    assert detect_entity(load_profile("salesforce"), Path("export_2026.csv"), headers) == "deals"


def _task_cases():
    """(crm, language, headers) — each language's task file by its own aliases (the first of each field), with the
    deal's id, and, where the CRM links tasks to deals by name, a report naming the deal by name only."""
    for crm in available():
        profile = load_profile(crm)
        for code, lang in profile.languages.items():
            le = lang.entities.get("activities")
            if le is None:
                continue
            names = {f: hs[0] for f, hs in le.fields.items() if hs}
            yield pytest.param(crm, code, list(names.values()), id=f"{crm}-{code}-with-ids")
            if "deal_name" in names and "deal" in profile.link_by_name:
                report = [h for f, h in names.items() if f not in ("id", "deal_id")]
                yield pytest.param(crm, code, report, id=f"{crm}-{code}-report")


@pytest.mark.parametrize("crm, code, headers", list(_task_cases()))
def test_a_tasks_file_in_every_language_is_recognised_by_its_headers(crm, code, headers):
    assert detect_entity(load_profile(crm), Path("export_2026.csv"), headers) == "activities", headers


def _sf_export(tmp_path: Path, tasks_name: str, tasks: str = SF_TASKS) -> Path:
    export = tmp_path / "export"
    export.mkdir(parents=True)
    (export / "Relatorio_Oportunidades.csv").write_text(SF_DEALS, encoding="utf-8")
    (export / tasks_name).write_text(tasks, encoding="utf-8")
    return export


def _audit(work: Path, export: Path, crm: str, capsys) -> tuple[str, list[dict]]:
    import csv

    assert main(["init", str(work), "--crm", crm, "--from-export", str(export)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(export), "-c", str(work / "crm-audit.yaml")]) == 0
    shown = capsys.readouterr().out
    assert main(["run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", "2026-11-20",
                 "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"), "--ledger", str(work / "l.db")]) == 0
    with open(work / "v.csv", encoding="utf-8") as f:
        rows = [{k: r[k] for k in ("rule_code", "title")} for r in csv.DictReader(f)]
    return shown, sorted(rows, key=lambda r: (r["rule_code"], r["title"]))


def test_salesforce_ptbr_activity_report_audits_as_when_renamed(tmp_path, capsys):
    shown, found = _audit(tmp_path / "a", _sf_export(tmp_path / "a", "Relatorio_Atividades.csv"), "salesforce", capsys)
    assert "Relatorio_Atividades.csv → задачи: 3 строки" in shown
    assert "не распознан" not in shown
    renamed, same = _audit(tmp_path / "b", _sf_export(tmp_path / "b", "activities.csv"), "salesforce", capsys)
    assert found == same
    # Construtora Alfa's one task is done (1.1), Ótica Visão's is overdue since 19.11 (2.3)
    assert {"rule_code": "1.1", "title": "Construtora Alfa"} in found
    assert {"rule_code": "2.3", "title": "Ótica Visão - Licenças"} in found


def test_an_unrecognised_tasks_file_is_told_only_the_columns_it_lacks(tmp_path, capsys):
    # no deal link at all: not the tasks; the reason names «ID da oportunidade», never «Status» / «Data de vencimento»
    tasks = '"Assunto","Data de vencimento","Status","Atribuído a"\n"Ligar","20/11/2026","Não iniciado","Carla Souza"\n'
    export = _sf_export(tmp_path, "Relatorio_Atividades.csv", tasks)
    assert main(["init", str(tmp_path), "--crm", "salesforce", "--from-export", str(export)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(export), "-c", str(tmp_path / "crm-audit.yaml")]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "open-deal-without-tasks" in x)
    assert "Relatorio_Atividades.csv есть в папке выгрузки, но не распознан как файл «задачи»" in line
    assert "как эта CRM называет «ID da oportunidade» —" in line
    assert "«Status»" not in line and "«Data de vencimento»" not in line


# --------------------------------------------------------------------------- N5

HS_DEALS = '''\
"Datensatz-ID","Dealname","Deal-Phase","Pipeline","Betrag","Erstelldatum","Dealinhaber","Ist abgeschlossen","Ist gewonnen","Grund für verlorenen Deal","Datum des Eintritts in ""Termin vereinbart (Vertriebspipeline)""","Datum des Eintritts in ""{second} (Vertriebspipeline)""","Datum des Eintritts in ""Präsentation geplant (Vertriebspipeline)""","Datum des Eintritts in ""Vertrag gesendet (Vertriebspipeline)""","Datum des Eintritts in ""Abgeschlossen und gewonnen (Vertriebspipeline)""","Datum des Eintritts in ""Abgeschlossen und verloren (Vertriebspipeline)"""
"9001","Müller GmbH Website","Termin vereinbart","Vertriebspipeline","1500","2026-10-01 09:00","Anna Schmidt","false","false","","2026-11-13 10:00","","","","",""
"9003","Weber Website","Vertrag gesendet","Vertriebspipeline","900","2026-09-01 09:00","Jonas Weber","false","false","","","","","2026-11-05 08:00","",""
"9004","Krause KG Lizenz","Abgeschlossen und gewonnen","Vertriebspipeline","5000","2026-08-01 09:00","Jonas Weber","true","true","","","","","","2026-10-01 08:00",""
"9005","Hoffmann Verlag","Abgeschlossen und verloren","Vertriebspipeline","700","2026-08-01 09:00","Anna Schmidt","true","false","Kein Budget","","","","","","2026-10-01 08:00"
"9006","Schulz & Partner","Präsentation geplant","Vertriebspipeline","3000","2026-11-10 09:00","Jonas Weber","false","false","","","","2026-11-18 08:00","","",""
'''


def _hs_init(tmp_path: Path, second: str) -> tuple[dict, str]:
    export = tmp_path / "export"
    export.mkdir()
    (export / "hubspot-crm-exports-alle-deals-2026-11-20.csv").write_text(HS_DEALS.replace("{second}", second), encoding="utf-8")
    assert main(["init", str(tmp_path), "--crm", "hubspot", "--from-export", str(export)]) == 0
    text = (tmp_path / "crm-audit.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text), text


def test_hubspot_stage_named_only_by_its_column_is_written_and_the_order_unconfirmed(tmp_path):
    data, text = _hs_init(tmp_path, "Qualifiziert für Kauf")
    assert data["pipelines"] == {"Vertriebspipeline": [
        "Termin vereinbart", "Qualifiziert für Kauf", "Präsentation geplant", "Vertrag gesendet",
        "Abgeschlossen und gewonnen", "Abgeschlossen und verloren"]}
    assert data["stage_order_confirmed"] is False
    note = next(x for x in text.splitlines() if x.strip().startswith("# порядок не подтверждён"))
    assert "по колонкам «Datum des Eintritts in \"<stage> (<pipeline>)\"» выгрузки" in note
    assert "этапа «Qualifiziert für Kauf» нет в стандартной воронке HubSpot" in note


def test_hubspot_stage_columns_of_default_stages_only_confirm_the_order(tmp_path):
    # «Kaufbereit» is the default pipeline's German «Qualified to buy»: every stage known, in the default's order
    data, text = _hs_init(tmp_path, "Kaufbereit")
    assert data["pipelines"]["Vertriebspipeline"][:3] == ["Termin vereinbart", "Kaufbereit", "Präsentation geplant"]
    assert data["stage_order_confirmed"] is True


def test_listed_stages_reads_the_columns_in_order_whatever_the_quotes():
    spec = load_profile("hubspot").entities["deals"]
    headers = ['Record ID', 'Date entered "Intake (Sales)"', "Date exited 'Intake (Sales)'",
               'Date entered \u201cUnit 3 (Final) In Production (Plans)\u201d', 'Latest time in "Won (Sales)"', "Amount"]
    assert [(p, s) for p, s, _pat in listed_stages(spec, headers)] == [
        ("Sales", "Intake"), ("Plans", "Unit 3 (Final) In Production"), ("Sales", "Won")]


# --------------------------------------------------------------------------- N6

PIPEDRIVE = Path(__file__).parent / "fixtures" / "pipedrive" / "export"


def test_init_force_comments_out_a_kept_column_whose_header_is_gone(tmp_path, capsys):
    export = tmp_path / "export"
    shutil.copytree(PIPEDRIVE, export)
    (tmp_path / "crm-audit.yaml").write_text(
        "crm: pipedrive\ncolumns:\n  deals:\n    created: Дата создания сделки\n    owner: Deal - Owner\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["init", str(tmp_path), "--crm", "pipedrive", "--from-export", str(export), "--force"]) == 0
    err = capsys.readouterr().err
    assert ("предупреждение: columns: deals: created: колонки «Дата создания сделки» из вашего crm-audit.yaml в "
            "deals.csv больше нет: строка закомментирована") in err
    text = (tmp_path / "crm-audit.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert data["columns"]["deals"] == {"owner": "Deal - Owner"}  # the line that still holds stays
    assert ("    # created: Дата создания сделки    # из вашего crm-audit.yaml: в deals.csv больше нет колонки "
            "«Дата создания сделки» — строка не действует") in text
    assert main(["validate", "-c", str(tmp_path / "crm-audit.yaml"), "--export", str(export)]) == 0
    # the field mapped as without the line: the profile's own «Deal - Deal created»
    capsys.readouterr()
    assert main(["inspect", str(export), "-c", str(tmp_path / "crm-audit.yaml")]) == 0
    assert "Deal - Deal created → created" in capsys.readouterr().out
