"""HubSpot deals that name their company by its domain («Associated Company Domain», a view export) link to the company
of that domain (issue 13): the profile's `link_keys: {org: [domain]}` — organizations.domain is «Company Domain Name»,
else «Website URL» —, compared as web domains. Real rows: tests/fixtures/real/hs_toofan_domain. init → run, no hand edit;
rule 1.7 (the deal's owner differs from its company's) is judged on the linked companies."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb

from crm_audit.cli import main
from crm_audit.engine.linking import web_domain

DOMAIN = Path(__file__).parent / "fixtures" / "real" / "hs_toofan_domain"
#: the open deals whose owner is not their company's (the companies' owners read from hubspot_companies.csv by domain)
MISMATCH = {"DEAL-b2b19d36-f446-4de7-bf09-15379257b914", "DEAL-5b4c6a89-597f-4806-8054-2e6c456fde46",
            "DEAL-9b9885f7-5ca5-448e-9daf-62aa794fc438", "DEAL-b9ceaaee-81b5-4e50-9986-622b6060cba5"}


def _audit(tmp_path, export: Path, capsys) -> tuple[dict[str, set[str]], str]:
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "hubspot", "--from-export", str(export)]) == 0
    capsys.readouterr()
    out = work / "v.csv"
    assert main(["run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", "2025-06-01", "--quiet",
                 "--violations-csv", str(out)]) == 0
    found: dict[str, set[str]] = {}
    with out.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            found.setdefault(r["rule_code"], set()).add(r["deal_id"])
    capsys.readouterr()
    assert main(["inspect", str(export), "--config", str(work / "crm-audit.yaml")]) == 0
    return found, capsys.readouterr().out


def test_deals_link_to_their_company_by_its_domain(tmp_path, capsys):
    found, inspect = _audit(tmp_path, DOMAIN, capsys)
    assert found == {"1.7": MISMATCH}  # deal c714bd08 has its company's owner; 4c6547c3 is won
    assert ("Associated Company Domain (linked by name to hubspot_companies.csv; else by «Company Domain Name» of "
            "hubspot_companies.csv) → org_id") in inspect


def test_by_the_website_url_when_the_companies_have_no_domain_column(tmp_path, capsys):
    export = tmp_path / "export"
    export.mkdir()
    shutil.copy(DOMAIN / "hubspot_deals.csv", export)
    with (DOMAIN / "hubspot_companies.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    drop = rows[0].index("Company Domain Name")
    rows[0][rows[0].index("Website")] = "Website URL"
    with (export / "hubspot_companies.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([[c for i, c in enumerate(r) if i != drop] for r in rows])
    found, inspect = _audit(tmp_path, export, capsys)
    assert found == {"1.7": MISMATCH}
    assert "else by «Website URL» of hubspot_companies.csv" in inspect


def test_without_a_domain_column_the_deals_stay_unlinked(tmp_path, capsys):
    """No domain nor website in the companies file: nothing links (1.7 judges no company), never a wrong company."""
    export = tmp_path / "export"
    export.mkdir()
    shutil.copy(DOMAIN / "hubspot_deals.csv", export)
    with (DOMAIN / "hubspot_companies.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    drop = {rows[0].index("Company Domain Name"), rows[0].index("Website")}
    with (export / "hubspot_companies.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([[c for i, c in enumerate(r) if i not in drop] for r in rows])
    found, inspect = _audit(tmp_path, export, capsys)
    assert "1.7" not in found and "else by" not in inspect


def test_a_web_address_and_a_domain_read_alike():
    con = duckdb.connect()
    from crm_audit.engine.sqlfuncs import install

    install(con)
    cells = ["https://www.Flowers.net/about", "flowers.net", "http://flowers.net:8080", " FLOWERS.NET/ ", "www.flowers.net"]
    assert {con.execute(f"SELECT {web_domain('?')}", [c]).fetchone()[0] for c in cells} == {"flowers.net"}
