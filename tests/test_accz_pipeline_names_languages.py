"""Acceptance Z, low L1: HubSpot's sales / partner pipelines in the languages its profile added last answer the
handbook's «Клиенты» / «Партнеры» (the tester's case hs_langs: pl «Lejek sprzedaży», zh «销售管道», fi «Myyntiputki»,
ko «판매 파이프라인»; fi «Kumppanit», ko «파트너», da / no «Partnere» — crm_audit/name_synonyms.yaml, INFERRED)."""

from __future__ import annotations

import pytest

from crm_audit import handbook_names


@pytest.mark.parametrize("sales, partners", [("Lejek sprzedaży", "Partnerzy"), ("销售管道", "合作伙伴"),
                                             ("Myyntiputki", "Kumppanit"), ("판매 파이프라인", "파트너"),
                                             ("Salgspipeline", "Partnere"), ("Säljpipeline", "Partner")])
def test_sales_and_partner_pipelines(sales, partners):
    team = [sales, partners]
    assert handbook_names.best("pipeline", "Клиенты", team).team == sales
    assert handbook_names.best("pipeline", "Партнеры", team).team == partners
