"""Issue 13: Kommo's leads export in English / Spanish / Portuguese with the main contact and the contact's owner as
columns (amoCRM's «Полное имя контакта» / «Ответственный за контакт»; the profile's `languages: … persons:
from_deals:`, inferred names): the contacts are read from the deals' rows and rule 1.7 flags a deal whose owner is
not its contact's — as tests/test_issue13_amo_contact_owner.py does for the Russian export.

Deals (1.7's scope is the open deals): 1 Ana / contact Carla Souza owned by Bruno — **flagged**; 2 won and 3 lost —
out of scope; 4 Bruno / contact Dora Lima owned by Bruno — same owner (flagged by 1.5 for its title «test» only)."""

from __future__ import annotations

import csv

import pytest
from cli_helpers import init_from_export, run_audit
from test_crm_exports_issue13 import findings

HEADERS = {
    "en": ["ID", "Lead name", "Sale", "Responsible user", "Date created", "Pipeline", "Lead status", "Closing date",
           "Main contact", "Contact responsible user"],
    "es": ["ID", "Nombre del lead", "Venta", "Usuario responsable", "Fecha de creación", "Embudo", "Etapa del lead",
           "Fecha de cierre", "Contacto principal", "Contacto usuario responsable"],
    "pt": ["ID", "Lead título", "Venda", "Lead usuário responsável", "Data Criada", "Funil de vendas", "Etapa do lead",
           "Data Fechada", "Contato principal", "Contato usuário responsável"],
}
WORDS = {  # pipeline, first stage, won, lost, not closed
    "en": ("Sales pipeline", "Initial contact", "Closed - won", "Closed - lost", "not closed"),
    "es": ("Embudo de ventas", "Contacto inicial", "Logrado con éxito", "Venta perdida", "no cerrado"),
    "pt": ("Funil de vendas", "Contato inicial", "Venda ganha", "Venda perdida", "não fechado"),
}
DEALS = [("1", "Acme", "0", "Ana", "01.10.2026 10:00:00", "first", None, "Carla Souza", "Bruno"),
         ("2", "Beta", "100", "Ana", "01.10.2026 10:00:00", "won", "18.11.2026 10:00:00", "Eva Reis", "Bruno"),
         ("3", "Gamma", "100", "Bruno", "01.10.2026 10:00:00", "lost", "18.11.2026 10:00:00", "Rui Alves", "Ana"),
         ("4", "test", "50", "Bruno", "10.11.2026 10:00:00", "first", None, "Dora Lima", "Bruno")]


@pytest.mark.parametrize("lang", ["en", "es", "pt"])
def test_kommo_contact_owner_column_makes_1_7_run(lang, tmp_path, capsys, monkeypatch):
    export = tmp_path / "export"
    export.mkdir()
    pipe, first, won, lost, open_ = WORDS[lang]
    stage = {"first": first, "won": won, "lost": lost}
    rows = [[i, t, a, o, c, pipe, stage[s], closed or open_, who, whose] for i, t, a, o, c, s, closed, who, whose in DEALS]
    with open(export / "kommo_export_leads_2026-11-20.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([HEADERS[lang], *rows])
    work = tmp_path / "work"
    work.mkdir()
    init_from_export(capsys, monkeypatch, work, "amocrm", export)
    out, err = run_audit(capsys, monkeypatch, work, export, "2026-11-20")
    found = findings(work)
    assert found["owner-mismatch"] == {"1"}, out + err
    assert found["invalid-name"] == {"4"}
    with open(work / "v.csv", encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["rule_code"] == "1.7")
    assert row["owner"] == "Ana"
    assert "Ответственный за контакт: Bruno" in row["evidence"]  # the rule's own label of the contact's owner
    assert "1.7 Разные ответственные: Правило пропущено" not in out + err


def test_a_language_may_name_only_the_entitys_from_deals_fields():
    import yaml

    from crm_audit.engine.profile import Profile
    from crm_audit.resources import profiles_dir

    data = yaml.safe_load((profiles_dir() / "amocrm.yaml").read_text(encoding="utf-8"))
    assert Profile.model_validate(data).entities["persons"].from_deals["owner"][:2] == [
        "Ответственный за контакт", "Contact responsible user"]
    data["languages"]["en"]["entities"]["persons"]["from_deals"] = {"phone": ["Contact phone"]}
    with pytest.raises(ValueError, match="«phone» is no field of the entity's from_deals"):
        Profile.model_validate(data)
