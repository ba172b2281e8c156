"""Fivetran HubSpot: a deal's company is its primary association, not the smallest company id (issue 15).

Fivetran's ``deal_company`` has one row per association type (dbt_hubspot_source: ``type_id``, ``category``):
HubSpot's «Deal with Primary Company» is the HubSpot-defined type 5, every association also has the unlabelled type
341, a label of the team's its own (USER_DEFINED) type. A deal with two companies — the primary one and an older
one with a smaller id, unlabelled and labelled — is audited with the primary (as HubSpot's export shows it); a
deal without a primary association keeps the smallest id.
"""

from __future__ import annotations

from sqlglot import exp

from crm_audit import settings as settings_mod
from crm_audit.engine.audit import audit_export
from crm_audit.warehouse.audit import audit_warehouse, resolve
from warehouse.build import AS_OF, HUBSPOT_EXPORT, HUBSPOT_SETTINGS, build, write_duckdb

OLD = 11  # an older company, a smaller id than the fixture's


def _org_ids(url: str, settings) -> dict[str, str | None]:
    """deal id -> org_id, as the profile's entity query reads them."""
    from crm_audit.engine import dialects
    from crm_audit.warehouse.audit import resolve_warehouse
    from crm_audit.warehouse.connect import connect
    from crm_audit.warehouse.entities import build_layout

    source = resolve(settings, url)
    with connect(source.url) as conn:
        layout = build_layout(source.profile, source.schema, conn.target, {}, resolve_warehouse(source, conn.target))
        q = exp.select("id", "org_id").from_("src_deals")
        for name, body in layout.ctes():
            q = q.with_(name, as_=body)
        return {str(r["id"]): r["org_id"] for r in conn.target.run(dialects.get("duckdb").render(q)).to_pylist()}


def test_the_primary_company_is_read_not_the_smallest_id(tmp_path):
    wh = build("fivetran_hubspot", HUBSPOT_EXPORT, HUBSPOT_SETTINGS)
    dc, company = wh.table("deal_company"), wh.table("company")
    cols = [c for c, _ in dc.columns]
    rows = [dict(zip(cols, r)) for r in dc.rows]
    primary = {r["deal_id"]: r["company_id"] for r in rows if r["type_id"] == 5}
    assert primary and all(OLD < c for c in primary.values())
    deal, first = sorted(primary.items())[0]
    company.add(**{c: None for c, _ in company.columns} | {"id": OLD, "property_name": "Старое юрлицо", "is_deleted": False})
    syn = {k: v for k, v in rows[0].items() if k.startswith("_fivetran")}
    dc.add(deal_id=deal, company_id=OLD, type_id=341, category="HUBSPOT_DEFINED", **syn)  # unlabelled
    dc.add(deal_id=deal, company_id=OLD, type_id=17, category="USER_DEFINED", **syn)  # a label of the team's
    # a deal whose primary association was removed: only unlabelled rows, the smallest id is read
    other = sorted(primary)[1]
    dc.rows = [r for r in dc.rows if not (r[cols.index("deal_id")] == other and r[cols.index("type_id")] == 5)]
    dc.add(deal_id=other, company_id=OLD, type_id=341, category="HUBSPOT_DEFINED", **syn)
    db = write_duckdb(wh, tmp_path / "fivetran.duckdb")
    url = f"duckdb:///{db}?profile=fivetran_hubspot&schema=hubspot"
    settings = settings_mod.load(HUBSPOT_SETTINGS)

    orgs = _org_ids(url, settings)
    assert orgs[str(deal)] == str(first)  # the primary, though 11 is smaller
    assert orgs[str(other)] == str(OLD)  # no primary: the smallest id
    assert sum(1 for v in orgs.values() if v == str(OLD)) == 1  # one row per deal: the extra associations add none

    # the deal with a primary company: the export's findings, rule by rule
    want = audit_export(settings, HUBSPOT_EXPORT, as_of=AS_OF)
    got = audit_warehouse(settings, resolve(settings, url), as_of=AS_OF)

    def rows_of(report, deal_id):
        return {r.rule_id: r.rows[r.rows["deal_id"].astype(str) == str(deal_id)].astype(str).values.tolist()
                for r in report.results if not r.skipped}

    assert rows_of(got, deal) == rows_of(want, deal)
