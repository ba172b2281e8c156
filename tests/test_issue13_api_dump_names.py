"""An API-shaped dump that lacks a column is told the column as the dump writes it (issue 13, left item 7).

A script dumping the CRM's API writes the API's field codes (Bitrix24 `ID` / `TITLE` / `STAGE_ID`, HubSpot
`hs_object_id` / `dealname`, Pipedrive and amoCRM `id` / `stage_id`, Salesforce `Id` / `StageName`; each profile's
`api_headers:`). When such a file lacks a required column, the message names that code — never the UI export's
«Record ID» / «Deal - ID» — and leaves out the advice about the CRM's export dialog; a UI export keeps both.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest

from crm_audit.cli import main
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile
from crm_audit.errors import Msg

FIXTURES = Path(__file__).parent / "fixtures"


def drop_column(path: Path, column: str) -> None:
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    i = rows[0].index(column)
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([r[:i] + r[i + 1:] for r in rows])


def problem(export: Path, crm: str):
    """The warning that the deals file has no id column: the deals are read with keys derived from their content
    (issue 13 L10), the id column named and the CRM's advice given as for that export."""
    ex = load_export(export, load_profile(crm), as_of=dt.date(2026, 11, 20))
    ex.con.close()
    [w] = [w for w in ex.warnings if w.code == "no-deal-ids"]
    return Msg(w.template, w.params)


HUBSPOT_API = [["hs_object_id", "dealname", "dealstage", "pipeline", "amount", "createdate", "hubspot_owner_id", "hs_is_closed"],
               ["18345670001", "Acme renewal", "appointmentscheduled", "default", "1000", "2026-10-01T09:00:00Z", "101", "false"],
               ["18345670002", "Globex", "closedwon", "default", "5000", "2026-09-01T09:00:00Z", "102", "true"]]


@pytest.mark.parametrize("crm, fixture, file, column, named", [
    ("bitrix24", "bitrix24-rest", "deals.csv", "ID", "ID"),
    ("pipedrive", "pipedrive-api", "deals.csv", "id", "id"),
    ("amocrm", "amocrm-api", "leads.csv", "id", "id"),
    ("salesforce", "salesforce-api", "Opportunity.csv", "Id", "Id"),
    ("hubspot", None, "deals.csv", "hs_object_id", "hs_object_id"),
])
def test_a_dump_is_told_its_own_column_name(tmp_path, crm, fixture, file, column, named):
    export = tmp_path / "export"
    if fixture:
        shutil.copytree(FIXTURES / fixture / "export", export)
    else:
        export.mkdir()
        with open(export / file, "w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows(HUBSPOT_API)
    assert load_profile(crm).api_shaped("deals", next(csv.reader(open(export / file, encoding="utf-8-sig"))))
    drop_column(export / file, column)
    p = problem(export, crm)
    en, ru = p.text("en"), p.text("ru")
    assert en.startswith(f"the export has no deal ids ({file} has no column «{named}»)"), en
    assert "export the deals with the id column; or, if the file" in en, en  # no export dialog's advice
    assert ru.startswith(f"в выгрузке нет ID сделок (в {file} нет колонки «{named}»)"), ru
    # the export dialog's advice is for the CRM's own export, not a script's dump
    for ui in ("Record ID", "Deal - ID", "gear", "all properties", "Opportunity ID"):
        assert ui not in en.split("found columns:")[0], en


BITRIX_UI = [["ID", "Название сделки", "Стадия сделки", "Направление", "Ответственный", "Сумма", "Сделка закрыта"],
             ["11", "ООО Ромашка", "Переговоры", "Продажи", "Анна Смирнова", "150000.00", "Нет"]]


@pytest.mark.parametrize("crm, fixture, file, column, named, advice", [
    ("bitrix24", None, "deals.csv", "ID", "ID", "gear icon"),
    ("hubspot", "hubspot", "hubspot-crm-exports-all-deals-2026-11-20.csv", "Record ID", "Record ID", "all properties"),
])
def test_a_ui_export_keeps_its_names_and_advice(tmp_path, crm, fixture, file, column, named, advice):
    export = tmp_path / "export"
    if fixture:
        shutil.copytree(FIXTURES / fixture / "export", export)
    else:
        export.mkdir()
        with open(export / file, "w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows(BITRIX_UI)
    path = export / file
    headers = next(csv.reader(open(path, encoding="utf-8-sig")))
    assert not load_profile(crm).api_shaped("deals", headers)
    drop_column(path, column)
    en = problem(export, crm).text("en")
    assert en.startswith(f"the export has no deal ids ({file} has no column «{named}»)"), en
    assert advice in en


def test_a_rest_dump_without_its_stage_column_names_stage_id_when_the_rules_skip(tmp_path, capsys):
    """A rule that needs the stage is switched off naming «STAGE_ID» (the dump's own column), not «Стадия сделки»."""
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "bitrix24-rest" / "export", export)
    profile = load_profile("bitrix24")
    headers = next(csv.reader(open(export / "deals.csv", encoding="utf-8-sig")))
    assert profile.header_in("deals", "stage", headers) == "STAGE_ID"
    assert profile.header_in("deals", "title", headers) == "TITLE"
    assert profile.header_in("deals", "created", headers) == "DATE_CREATE"
    ui = ["ID", "Название сделки", "Стадия сделки", "Сумма", "Ответственный"]
    assert profile.header_in("deals", "stage", ui) == "Стадия сделки"
    capsys.readouterr()
    assert main(["inspect", str(export), "--crm", "bitrix24"]) in (0, None)
