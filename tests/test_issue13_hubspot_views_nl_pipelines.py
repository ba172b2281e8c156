"""Issue 13 acceptance P2, P3, P9 (the tester's cases in tests/fixtures/issue13-p2-p3-p9/).

P2 — a deals file without the «Pipeline» column (HubSpot's default deals view: Record ID, Deal name, Deal stage, Close
date, Deal owner, Amount) is the deals whatever its name: the signature is the stage, or the pipeline, or the deal's
name and amount (`[[stage, pipeline, title], [stage, pipeline, value]]`) in HubSpot, Pipedrive and amoCRM; Bitrix24
(stage) and Salesforce (stage, title) never needed the pipeline.

P3 — HubSpot's five task statuses in every language the profile reads tasks in; the Dutch «Voltooid» / «Niet gestart».

P9 — HubSpot's per-stage columns of several pipelines: init lists every stage of every pipeline in column order.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import yaml

from cli_helpers import cli_ru
from crm_audit.engine.mapping import detect_entity
from crm_audit.engine.profile import available, load_profile

CASES = Path(__file__).parent / "fixtures" / "issue13-p2-p3-p9"
VIEW_FIELDS = ["id", "title", "stage", "close_date", "owner", "value"]


def _deal_views():
    """(crm, language, headers): a deals view without the pipeline column, each field by its first header in the
    language (the profile's own headers for the base language)."""
    for crm in available():
        profile = load_profile(crm)
        spec = profile.entities["deals"]
        base = {f: spec.fields[f].headers[0] for f in VIEW_FIELDS if f in spec.fields and spec.fields[f].headers}
        yield pytest.param(crm, "base", list(base.values()), id=f"{crm}-base")
        for code, lang in profile.languages.items():
            le = lang.entities.get("deals")
            if le is None:
                continue
            own = {f: le.fields[f][0] for f in VIEW_FIELDS if le.fields.get(f)}
            if "stage" not in own:
                continue
            yield pytest.param(crm, code, list({**base, **own}.values()), id=f"{crm}-{code}")


@pytest.mark.parametrize("crm, code, headers", list(_deal_views()))
def test_a_deals_view_without_the_pipeline_is_the_deals_whatever_its_name(crm, code, headers):
    profile = load_profile(crm)
    assert detect_entity(profile, Path("export.csv"), headers) == "deals", headers
    # the stage alone may be missing too: the deal's name and amount still say deals (where the signature allows)
    spec = profile.entities["deals"]
    if any(isinstance(i, list) and "value" in i for i in spec.signature):
        no_stage = [h for h in headers if h not in {spec.fields["stage"].headers[0], *lang_stage(profile, code)}]
        assert detect_entity(profile, Path("export.csv"), no_stage) == "deals", no_stage


def lang_stage(profile, code) -> list[str]:
    lang = profile.languages.get(code)
    le = lang.entities.get("deals") if lang else None
    return list(le.fields.get("stage") or []) if le else []


def _run(tmp_path: Path, case: str, capsys, monkeypatch) -> tuple[str, str, dict[str, set[str]]]:
    work = tmp_path / case
    shutil.copytree(CASES / case / "export", work / "export")
    code, init_out, init_err = cli_ru(capsys, monkeypatch, "init", str(work), "--crm", "hubspot",
                                      "--from-export", str(work / "export"))
    assert code == 0, init_out + init_err
    code, out, err = cli_ru(capsys, monkeypatch, "run", "-c", str(work / "crm-audit.yaml"), "--export",
                            str(work / "export"), "--as-of", "2026-11-20", "--out", str(work / "audit.xlsx"),
                            "--violations-csv", str(work / "v.csv"), "--no-previous")
    assert code == 0, out + err
    found: dict[str, set[str]] = {}
    with open(work / "v.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            found.setdefault(r["rule_code"], set()).add(r["deal_id"])
    return (work / "crm-audit.yaml").read_text(encoding="utf-8"), init_out + init_err + out + err, found


@pytest.mark.parametrize("case", ["hs_es_view_named", "hs_en_view_neutralname"])
def test_hubspot_view_export_under_any_name_audits(tmp_path, capsys, monkeypatch, case):
    settings, shown, found = _run(tmp_path, case, capsys, monkeypatch)
    assert "не найден файл сделок" not in shown
    # README: 1.5 {202}; 2.3 {202} (task 602 due 11-10, not started); 1.1 none
    assert found == {"1.5": {"202"}, "2.3": {"202"}}
    # the rules the missing pipeline column leaves without data are told skipped, not passed
    assert "пропущено" in shown


# --------------------------------------------------------------------------- P3

#: HubSpot's five task statuses (Completed; Not started, In progress, Waiting on someone else, Deferred) per language
STATUSES = {
    "base": ("Completed", ["Not started", "In progress", "Waiting on someone else", "Deferred"]),
    "pt-BR": ("Concluída", ["Não iniciada", "Em andamento", "Aguardando outra pessoa", "Adiada"]),
    "es": ("Completada", ["No iniciada", "En curso", "Esperando a otra persona", "Aplazada"]),
    "de": ("Abgeschlossen", ["Nicht begonnen", "In Bearbeitung", "Wartet auf jemand anderen", "Zurückgestellt"]),
    "fr": ("Terminée", ["Non commencée", "En cours", "En attente de quelqu'un d'autre", "Reportée"]),
    "ja": ("完了", ["未開始", "進行中", "他の人を待機中", "延期"]),
    "it": ("Completata", ["Non iniziata", "In corso", "In attesa di qualcun altro", "Rinviata"]),
    "nl": ("Voltooid", ["Niet gestart", "Bezig", "Wachten op iemand anders", "Uitgesteld"]),
}


@pytest.mark.parametrize("code", list(STATUSES))
def test_every_hubspot_task_status_in_every_language(code):
    profile = load_profile("hubspot")
    done, open_ = STATUSES[code]
    if code == "base":
        values = profile.entities["activities"].fields["done"].values
    else:
        values = profile.languages[code].entities["activities"].values["done"]
    assert done in values["true"]
    assert [s for s in open_ if s not in values["false"]] == []


def test_hubspot_dutch_completed_task_is_done(tmp_path, capsys, monkeypatch):
    settings, shown, found = _run(tmp_path, "hs_nl_all", capsys, monkeypatch)
    assert "Voltooid" not in shown and "Исправьте их в CRM" not in settings
    # README: 1.1 {102, 106} (106's only task «Voltooid»); 2.3 {103}; 2.4 {101, 106}; 1.5 / 1.7 {102}; 1.11 {103}
    assert found["1.1"] == {"102", "106"}
    assert found["2.3"] == {"103"}
    assert found["2.4"] == {"101", "106"}
    assert found["1.5"] == {"102"} and found["1.7"] == {"102"}


def test_an_unknown_status_is_said_unknown_to_the_profile_not_a_crm_mistake(tmp_path, capsys, monkeypatch):
    work = tmp_path / "nl"
    shutil.copytree(CASES / "hs_nl_all" / "export", work / "export")
    tasks = work / "export" / "tasks.csv"
    tasks.write_text(tasks.read_text(encoding="utf-8").replace("Voltooid", "Afgevinkt"), encoding="utf-8")
    code, out, err = cli_ru(capsys, monkeypatch, "init", str(work), "--crm", "hubspot", "--from-export", str(work / "export"))
    assert code == 0, out + err
    settings = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(settings)["on_bad_value"] == "warn"
    assert "Из них значения, которых не знает профиль CRM (tasks.csv строка 4, «Taakstatus»: «Afgevinkt»)" in settings
    assert "crm_audit/profiles/hubspot.yaml: languages: <язык>: entities: <сущность>: values:" in settings
    # only the status is unknown: nothing to fix in the CRM
    assert "исправьте в CRM" not in settings and "Исправьте их в CRM" not in settings


# --------------------------------------------------------------------------- P9


def _init_settings(tmp_path: Path, capsys, monkeypatch, export: Path) -> tuple[dict, str]:
    code, out, err = cli_ru(capsys, monkeypatch, "init", str(tmp_path), "--crm", "hubspot", "--from-export", str(export))
    assert code == 0, out + err
    text = (tmp_path / "crm-audit.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text), text


def test_hubspot_every_stage_of_every_pipeline_the_columns_name(tmp_path, capsys, monkeypatch):
    export = tmp_path / "export"
    shutil.copytree(CASES / "hs_en_multipipe" / "export", export)
    settings, text = _init_settings(tmp_path, capsys, monkeypatch, export)
    every = ["Appointment Scheduled", "Qualified To Buy", "Presentation Scheduled", "Contract Sent", "Closed Won",
             "Closed Lost"]
    # deals are in 2 (Partner) and 3 (Sales) stages only: the columns name all six of each, in HubSpot's order
    assert settings["pipelines"] == {"Partner Pipeline": every, "Sales Pipeline": every}
    assert settings["stage_order_confirmed"] is True  # HubSpot's default pipeline knows them all, in that order
    assert "Порядок этапов взят из данных CRM." in text


def test_hubspot_a_pipeline_of_own_stages_is_listed_and_left_unconfirmed(tmp_path, capsys, monkeypatch):
    export = tmp_path / "export"
    shutil.copytree(CASES / "hs_en_multipipe" / "export", export)
    deals = export / "deals.csv"
    rows = list(csv.reader(deals.open(encoding="utf-8")))
    own = ["Intake (Renewals)", "Negotiation (Renewals)", "Signed (Renewals)"]
    rows[0] += [f'Date entered "{s}"' for s in own]
    for r in rows[1:]:
        r += ["", "", ""]
    with deals.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    settings, _text = _init_settings(tmp_path, capsys, monkeypatch, export)
    # a pipeline no deal is in: its stages from the columns, in column order, after HubSpot's default closed stages
    assert settings["pipelines"]["Renewals"][:3] == ["Intake", "Negotiation", "Signed"]
    # per pipeline: the CRM's order of the other two stands, «Renewals» alone is to confirm (was: false for all)
    assert settings["stage_order_confirmed"] == ["Partner Pipeline", "Sales Pipeline"]
