"""Issue 13, what was left: yes words kept as the team wrote them, owners named by id in API dumps, Bitrix24's
system stage ids without a stage list, HubSpot's default closed stages only where a pipeline has none of its own —
each through `crm-audit init --crm X --from-export DIR` then `crm-audit run`, as a user types them.

The users lists are written as each CRM's API returns them (recorded in the profiles' `lookups:`):
Pipedrive GET /users (id, name, email, …), amoCRM GET /api/v4/users (id, name, email), Bitrix24 user.get
(ID, NAME, LAST_NAME, …), HubSpot GET /crm/v3/owners (id, email, firstName, lastName, userId), Salesforce's
User object exported with the SOQL field names (Id, Name). Bitrix24's default stage names are those of
CCrmStatus::GetDefaultDealStages and modules/crm/lang/ru/classes/general/crm_status.php.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from crm_audit import settings as settings_mod
from crm_audit.cli import main
from crm_audit.errors import InputError
from crm_audit.engine.backends.duckdb_backend import DuckDBBackend
from crm_audit.engine.dialects.compiler import YES, RuleCompiler
from crm_audit.engine import dialects
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile, profile_for
from test_crm_exports_issue13 import findings

FIXTURES = Path(__file__).parent / "fixtures"
OWN = FIXTURES / "issue13-owners"
AS_OF = "2026-11-20"


def init(work: Path, crm: str, export: Path) -> dict:
    assert main(["init", str(work), "--crm", crm, "--from-export", str(export)]) == 0
    return yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))


def run(work: Path, export: Path) -> int:
    return main(["run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", AS_OF,
                 "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"), "--quiet"])


def audited(work: Path, crm: str, export: Path) -> dict[str, set[str]]:
    """init, then run with no hand edits: the findings."""
    init(work, crm, export)
    assert run(work, export) == 0
    return findings(work)


def rows(work: Path) -> list[dict[str, str]]:
    with open(work / "v.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def table(export: Path, crm: str, sql: str, settings: settings_mod.Settings | None = None) -> list[tuple]:
    profile = profile_for(settings) if settings is not None else load_profile(crm)
    ex = load_export(export, profile, as_of=dt.date(2026, 11, 20))
    try:
        return ex.con.execute(sql).fetchall()
    finally:
        ex.close()
        ex.con.close()


def write_csv(path: Path, header: list[str], body: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *body])


# --------------------------------------------------------------------------- 1. yes words stay the team's own


BITRIX = FIXTURES / "bitrix24" / "export"


def _german_yes_no(dst: Path) -> Path:
    shutil.copytree(BITRIX, dst)
    p = dst / "companies.csv"
    p.write_text(p.read_text(encoding="utf-8-sig").replace('"Да"', '"Ja"').replace('"Нет"', '"Nein"'), encoding="utf-8-sig")
    return dst


def test_yes_words_of_another_language_are_read_not_rewritten(tmp_path):
    """«Ja» counts as yes in the rule (the profile's words reach the rule compiler), and the table keeps «Ja»."""
    export = _german_yes_no(tmp_path / "export")
    work = tmp_path / "work"
    assert audited(work, "bitrix24", export) == audited(tmp_path / "ru", "bitrix24", BITRIX)
    flagged = [r for r in rows(work) if r["rule_id"] == "partner-pipeline-org-not-agency"]
    assert flagged and all("Nein" in r["evidence"] and "Нет" not in r["evidence"] for r in flagged)
    # the loaded table after the audit's own checks (requirements.decide reads the yes/no fields): the team's words
    from crm_audit.engine import plan as planmod, requirements
    from crm_audit.rules import ruleset

    settings = settings_mod.load(work / "crm-audit.yaml")
    rules, _warnings = ruleset.load_with_warnings(settings)
    ex = load_export(export, profile_for(settings), as_of=dt.date(2026, 11, 20))
    try:
        needs = requirements.decide(planmod.build_all(rules, settings), export=ex)
        assert not needs.bad_values and not [w for w in needs.warnings if w.code == "unknown-value"]
        orgs = ex.entities["organizations"]
        col = orgs.column_for("Агентство ли это")
        got = ex.con.execute(f'SELECT DISTINCT "{col}" FROM {orgs.table} ORDER BY 1').fetchall()
    finally:
        ex.close()
        ex.con.close()
    assert got == [("Ja",), ("Nein",)]


def test_the_rule_compiler_reads_the_profiles_yes_words_and_keeps_its_default():
    profile = load_profile("bitrix24")
    export = load_export(BITRIX, profile)
    try:
        comp = DuckDBBackend(export, settings_mod.Settings(crm="bitrix24", pipelines={"Общее": ["a"]}), dt.date(2026, 11, 20)).compiler()
    finally:
        export.close()
        export.con.close()
    assert {"да", "yes", "ja", "так", "sim", "tak", "sí", "y"} <= set(comp.yes)
    # without an export (golden SQL, `rules explain --sql --engine X`) the rules' own words, unchanged
    assert YES == ("да", "yes", "true", "1")
    assert RuleCompiler(dialects.get("postgres"), None, dt.date(2026, 11, 20)).yes == YES


# --------------------------------------------------------------------------- 2. owners named by id


PIPEDRIVE_API = FIXTURES / "pipedrive-api" / "export"
PIPEDRIVE_USERS = ["id", "name", "default_currency", "email", "active_flag", "is_admin", "role_id", "timezone_name", "created"]
NAMES = {"9001": "Анна Смирнова", "9002": "Иван Петров", "9003": "Ольга Партнерова"}


def _pipedrive_with_users(dst: Path) -> Path:
    shutil.copytree(PIPEDRIVE_API, dst)
    write_csv(dst / "users.csv", PIPEDRIVE_USERS,
              [[k, v, "RUB", f"user{k}@example.ru", "true", "false", "1", "Europe/Moscow", "2025-01-10 09:00:00"] for k, v in NAMES.items()])
    return dst


def test_pipedrive_dump_without_users_keeps_ids_with_one_warning(tmp_path, capsys):
    work = tmp_path / "work"
    text = None
    init(work, "pipedrive", PIPEDRIVE_API)
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    # init lists the ids to name, for deals, organizations and persons alike
    assert '# owner_ids:\n#   "9001": ?\n#   "9002": ?\n#   "9003": ?' in text
    capsys.readouterr()
    assert main(["run", "-c", str(work / "crm-audit.yaml"), "--export", str(PIPEDRIVE_API), "--as-of", AS_OF,
                 "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv")]) == 0
    out = capsys.readouterr()
    said = [line for line in (out.out + out.err).splitlines() if "owner_ids" in line]
    assert len(said) == 1  # once, for every file
    assert "deals.csv (7)" in said[0] and "organizations.csv (4)" in said[0] and "users.csv" in said[0] and "«9001»" in said[0]
    assert {r["owner"] for r in rows(work)} == {"9001", "9002", "9003"}


def test_pipedrive_dump_owners_named_by_users_csv_everywhere(tmp_path):
    """Deal, organization and person owners named alike: 1.7 flags exactly what it flagged on the ids."""
    export = _pipedrive_with_users(tmp_path / "export")
    work = tmp_path / "work"
    assert audited(work, "pipedrive", export) == audited(tmp_path / "ids", "pipedrive", PIPEDRIVE_API)
    # written, so a later dump without users.csv reads the same
    assert yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))["owner_ids"] == NAMES
    assert findings(work)["owner-mismatch"] == {"3"}
    by_deal = {r["deal_id"]: r["owner"] for r in rows(work)}
    assert by_deal["3"] == "Анна Смирнова" and by_deal["6"] == "Иван Петров"
    owners = table(export, "pipedrive", "SELECT 'org', id, owner FROM organizations UNION ALL SELECT 'person', id, owner FROM persons "
                                        "UNION ALL SELECT 'task', id, owner FROM activities ORDER BY ALL")
    assert {o for *_k, o in owners} <= set(NAMES.values())


def test_owner_ids_in_the_settings_name_them_without_a_users_file(tmp_path):
    work = tmp_path / "work"
    init(work, "pipedrive", PIPEDRIVE_API)
    cfg = work / "crm-audit.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\nowner_ids: {" + ", ".join(f'"{k}": {v}' for k, v in NAMES.items()) + "}\n",
                   encoding="utf-8")
    assert run(work, PIPEDRIVE_API) == 0
    assert {r["owner"] for r in rows(work)} <= set(NAMES.values())
    settings = settings_mod.load(cfg)
    got = table(PIPEDRIVE_API, "pipedrive", "SELECT DISTINCT owner FROM organizations ORDER BY 1", settings)
    assert got == [("Анна Смирнова",), ("Иван Петров",), ("Ольга Партнерова",)]


def test_bitrix24_rest_owners_from_user_get(tmp_path):
    """user.get's NAME and LAST_NAME make the name; ASSIGNED_BY_ID of the deals is named."""
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "bitrix24-rest" / "export", export)
    shutil.copy(OWN / "bitrix24-users" / "users.csv", export / "users.csv")
    work = tmp_path / "work"
    s = init(work, "bitrix24", export)
    assert s["owner_ids"] == {"1": "Анна Смирнова", "7": "Иван Петров", "9": "Ольга Партнерова"}
    assert run(work, export) == 0
    assert {r["deal_id"]: r["owner"] for r in rows(work)}["102"] == "Иван Петров"


def test_amocrm_salesforce_hubspot_owner_lists(tmp_path):
    """Each CRM's users list as its API returns it, next to a dump whose owners are ids."""
    amo = tmp_path / "amo"
    shutil.copytree(FIXTURES / "amocrm-api" / "export", amo)
    amo_users = {"5001": "Анна Смирнова", "5002": "Иван Петров", "5003": "Ольга Партнерова"}
    write_csv(amo / "users.csv", ["id", "name", "email", "lang"], [[k, v, f"u{k}@example.ru", "ru"] for k, v in amo_users.items()])
    got = table(amo, "amocrm", "SELECT DISTINCT owner FROM deals UNION SELECT DISTINCT owner FROM organizations "
                               "UNION SELECT DISTINCT owner FROM persons UNION SELECT DISTINCT owner FROM activities")
    assert {o for (o,) in got} == set(amo_users.values())

    sf = tmp_path / "sf"
    shutil.copytree(FIXTURES / "salesforce-api" / "export", sf)
    for name in ("Opportunity.csv", "Account.csv", "Contact.csv", "Task.csv"):  # a bulk export of OwnerId only
        data = list(csv.reader(open(sf / name, encoding="utf-8")))
        drop = data[0].index("Owner.Name")
        write_csv(sf / name, [c for i, c in enumerate(data[0]) if i != drop], [[c for i, c in enumerate(r) if i != drop] for r in data[1:]])
    write_csv(sf / "User.csv", ["Id", "Name", "Email", "IsActive"],
              [["0055g00000C1aAAA", "Alice Brown", "alice@example.com", "true"], ["0055g00000C1bAAA", "Bob Stone", "bob@example.com", "true"]])
    work = tmp_path / "sfw"
    init(work, "salesforce", sf)
    assert run(work, sf) == 0
    assert findings(work)["owner-mismatch"] == {"0065g00000A1xQ3AAJ"}  # Globex Inc belongs to Bob Stone, as with Owner.Name
    assert {r["owner"] for r in rows(work)} <= {"Alice Brown", "Bob Stone"}

    hs = tmp_path / "hs"
    hs.mkdir()
    write_csv(hs / "deals.csv", ["hs_object_id", "dealname", "dealstage", "pipeline", "amount", "createdate", "hubspot_owner_id"],
              [["9001", "Acme", "appointmentscheduled", "default", "5000", "2026-10-01", "41629779"],
               ["9002", "Beta", "qualifiedtobuy", "default", "100", "2026-11-01", "41629780"]])
    write_csv(hs / "owners.csv", ["id", "email", "type", "firstName", "lastName", "userId", "archived"],
              [["41629779", "jane@example.com", "PERSON", "Jane", "Roe", "9586504", "false"],
               ["41629780", "john@example.com", "PERSON", "John", "", "9586505", "false"]])
    assert table(hs, "hubspot", "SELECT id, owner FROM deals ORDER BY 1") == [("9001", "Jane Roe"), ("9002", "John")]


# --------------------------------------------------------------------------- 3. Bitrix24's system stage ids


def test_bitrix24_system_stage_ids_named_without_a_stage_list(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "bitrix24-rest" / "export", export)
    (export / "stages.csv").unlink()
    data = list(csv.reader(open(export / "deals.csv", encoding="utf-8")))
    h = data[0]
    data[4][h.index("STAGE_ID")], data[4][h.index("CLOSED")], data[4][h.index("STAGE_SEMANTIC_ID")] = "C2:WON", "Y", "S"  # deal 104
    data[6][h.index("STAGE_ID")], data[6][h.index("CLOSED")] = "APOLOGY", "Y"  # deal 106: closed in «Анализ причины провала»
    data[6][h.index("STAGE_SEMANTIC_ID")] = ""
    data[6][h.index("CATEGORY_ID")] = "0"
    write_csv(export / "deals.csv", h, data[1:])
    work = tmp_path / "work"
    s = init(work, "bitrix24", export)
    # named by Bitrix24's default names, in its SORT order (10 … 80), the closed stages last; the custom stage kept as its id
    assert s["pipelines"] == {
        "Общее": ["Новая", "Счёт на предоплату", "В работе", "Сделка успешна", "Анализ причины провала"],
        "Партнеры": ["Новая", "Сделка успешна", "Сделка провалена", "C2:UC_7Q1W2E"],
    }
    assert s["stage_ids"]["C2:NEW"] == "Новая" and s["stage_ids"]["C2:WON"] == "Сделка успешна" and "C2:UC_7Q1W2E" not in s["stage_ids"]
    # «Общее»'s open stages are only Bitrix24's default names (no stage list): its order is not confirmed (acceptance W1;
    # was True); «Партнеры» has one open stage, no order to confirm
    assert s["stage_order_confirmed"] == ["Партнеры"]
    assert run(work, export) == 0
    got = dict(table(export, "bitrix24", "SELECT id, status || ' ' || stage FROM deals"))
    assert got["104"] == "won Сделка успешна" and got["106"] == "lost Анализ причины провала" and got["102"] == "open Новая"
    assert got["103"] == "lost C2:UC_7Q1W2E"


def test_bitrix24_status_from_the_prefixed_ids_alone(tmp_path):
    """No CLOSED, no STAGE_SEMANTIC_ID, no stage list: C3:LOSE and LOSE are lost, C3:WON won, by the profile's names."""
    export = tmp_path / "export"
    export.mkdir()
    write_csv(export / "deals.csv", ["ID", "TITLE", "STAGE_ID", "CATEGORY_ID", "ASSIGNED_BY_ID", "DATE_CREATE"],
              [["1", "A", "C3:LOSE", "3", "1", "2026-10-01T10:00:00+03:00"], ["2", "B", "C3:WON", "3", "1", "2026-10-01T10:00:00+03:00"],
               ["3", "C", "LOSE", "0", "1", "2026-10-01T10:00:00+03:00"], ["4", "D", "C3:EXECUTING", "3", "1", "2026-10-01T10:00:00+03:00"]])
    got = dict(table(export, "bitrix24", "SELECT id, status || ' ' || stage FROM deals"))
    assert got == {"1": "lost Сделка провалена", "2": "won Сделка успешна", "3": "lost Сделка провалена", "4": "open В работе"}


# --------------------------------------------------------------------------- 4. HubSpot's default closed stages


def test_hubspot_custom_closed_stages_get_no_default_closed_stages(tmp_path):
    """A pipeline whose deals close in its own stages («Signed», «Went dark») gets no «Closed Won» / «Closed Lost» it
    does not have; HubSpot's default pipeline still gets them where no deal is in them (test_issue13_acceptance_f)."""
    work, export = tmp_path / "w", OWN / "hubspot-custom-closed"
    s = init(work, "hubspot", export)
    assert s["pipelines"] == {"Enterprise": ["Discovery", "Proposal", "Signed", "Went dark"]}
    assert run(work, export) == 0
    # init names the handbook's «Отправлено КП» this team's «Proposal» (issue 13 D11), commented out while the order of
    # «Discovery» / «Proposal» is a guess (issue 13 acceptance J, J2): 1.3 is off until the user confirms it
    assert s["stage_names"] == {} and "#   Отправлено КП: Proposal" in (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert findings(work) == {"no-stage-movement": {"1"}}
    # confirmed and moved in: deal 2, won («Signed», after «Proposal») with amount 0, has no amount
    s["stage_names"], s["stage_order_confirmed"] = {"Отправлено КП": "Proposal"}, True
    del s["rules"]["skip"]["missing-amount-after-proposal"]
    (work / "crm-audit.yaml").write_text(yaml.safe_dump(s, allow_unicode=True), encoding="utf-8")
    assert run(work, export) == 0
    assert findings(work) == {"no-stage-movement": {"1"}, "missing-amount-after-proposal": {"2"}}
    assert load_profile("hubspot").derive_status.from_stage.defaults == "when_none_closed"
    assert load_profile("bitrix24").derive_status.from_stage.defaults == "every_pipeline"


def test_users_lists_dumped_as_json_as_each_api_returns_them(tmp_path):
    """The users list saved as the API answered it: amoCRM `_embedded.users`, Bitrix24 `result`, HubSpot `results`,
    Pipedrive `data`; a users list cut short (not JSON) stops the run naming its line and column."""
    import json

    amo = tmp_path / "amo"
    shutil.copytree(FIXTURES / "amocrm-api" / "export", amo)
    (amo / "users.json").write_text(json.dumps({"_total_items": 2, "_page": 1, "_links": {"self": {"href": "https://x.amocrm.ru/api/v4/users"}},
                                                "_embedded": {"users": [
                                                    {"id": 5001, "name": "Анна Смирнова", "email": "anna@example.ru", "lang": "ru",
                                                     "rights": {"leads": {"view": "A"}}, "_links": {}},
                                                    {"id": 5002, "name": "Иван Петров", "email": "ivan@example.ru", "lang": "ru"}]}},
                                               ensure_ascii=False), encoding="utf-8")
    got = {o for (o,) in table(amo, "amocrm", "SELECT DISTINCT owner FROM deals")}
    assert {"Анна Смирнова", "Иван Петров"} <= got and "5001" not in got and "5002" not in got

    bx = tmp_path / "bx"
    shutil.copytree(FIXTURES / "bitrix24-rest" / "export", bx)
    (bx / "users.json").write_text(json.dumps({"result": [
        {"ID": "1", "ACTIVE": True, "NAME": "Анна", "LAST_NAME": "Смирнова", "EMAIL": "anna@example.ru", "UF_DEPARTMENT": [1]},
        {"ID": "7", "ACTIVE": True, "NAME": "Иван", "LAST_NAME": "Петров", "EMAIL": "ivan@example.ru", "UF_DEPARTMENT": [1]},
        {"ID": "9", "ACTIVE": True, "NAME": "Ольга", "LAST_NAME": "", "EMAIL": "olga@example.ru"}], "total": 3,
        "time": {"start": 1.0}}, ensure_ascii=False), encoding="utf-8")
    assert dict(table(bx, "bitrix24", "SELECT id, owner FROM deals WHERE id IN ('101', '102', '105')")) == {
        "101": "Анна Смирнова", "102": "Иван Петров", "105": "Ольга"}
    (bx / "employees.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match=r"employees\.json: the file is not valid JSON: it breaks at line 1, column 2"):
        table(bx, "bitrix24", "SELECT id FROM deals")
    (bx / "employees.json").unlink()

    hs = tmp_path / "hs"
    hs.mkdir()
    write_csv(hs / "deals.csv", ["hs_object_id", "dealname", "dealstage", "pipeline", "createdate", "hubspot_owner_id"],
              [["9001", "Acme", "appointmentscheduled", "default", "2026-10-01", "41629779"]])
    (hs / "owners.json").write_text(json.dumps({"results": [
        {"id": "41629779", "email": "email@hubspot.com", "type": "PERSON", "firstName": "HubSpot", "lastName": "Test Owner",
         "userId": 9586504, "createdAt": "2019-12-25T13:01:35.228Z", "archived": False, "teams": [{"id": "1", "name": "Sales"}]}]}),
        encoding="utf-8")
    assert table(hs, "hubspot", "SELECT owner FROM deals") == [("HubSpot Test Owner",)]
