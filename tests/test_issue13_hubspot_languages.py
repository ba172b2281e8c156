"""HubSpot's deals export in its interface languages, through `init --from-export` → `run` with no hand edits:
one team in English, German, Portuguese (Brazil), Spanish, French and Japanese audits alike, every header known
to the profile (nothing left for the user to map).

The English headers are a real export's (recorded in crm_audit/profiles/hubspot.yaml); German from a German export
of the acceptance tests and HubSpot's German knowledge base; Portuguese from a public importer's README; Japanese
from HubSpot's Japanese knowledge base («金額», «クローズ日», «取引ステージ», closed stage «成約»); the rest as the
profile records them inferred. Export languages per HubSpot's exports API: DE, EN, ES, FI, FR, IT, JA, NL, PL, PT, SV.
"""

from __future__ import annotations

import csv

import pytest

from language_twins import twin_findings
from test_crm_exports_issue13 import findings
from test_issue13_owners_and_stages import init, run, table

# id, title, stage, pipeline, amount, created, owner, close date
HEADERS = {
    "en": ["Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Create Date", "Deal owner", "Close Date"],
    "de": ["Datensatz-ID", "Dealname", "Deal-Phase", "Pipeline", "Betrag", "Erstelldatum", "Dealinhaber", "Abschlussdatum"],
    "pt-BR": ["ID do registro", "Nome do negócio", "Etapa do negócio", "Pipeline", "Valor", "Data de criação",
              "Proprietário do negócio", "Data de fechamento"],
    "es": ["ID de registro", "Nombre del negocio", "Etapa del negocio", "Pipeline", "Cantidad", "Fecha de creación",
           "Propietario del negocio", "Fecha de cierre"],
    "fr": ["ID de fiche d'informations", "Nom de la transaction", "Phase de la transaction", "Pipeline", "Montant",
           "Date de création", "Propriétaire de la transaction", "Date de fermeture"],
    "ja": ["レコードID", "取引名", "取引ステージ", "パイプライン", "金額", "作成日", "取引担当者", "クローズ日"],
}
#: the default pipeline's won stage where the language's name for it is known
WON = {"en": "Closed Won", "de": "Abgeschlossen und gewonnen", "ja": "成約"}
DEALS = [
    ["18345670001", "Acme renewal", "Appointment Scheduled", "Sales Pipeline", "0", "2026-10-01 09:00", "Jane Roe", "2026-12-31 00:00"],
    ["18345670002", "Beta expansion", "Contract Sent", "Sales Pipeline", "5000", "2026-11-01 09:00", "John Doe", "2026-12-31 00:00"],
    ["18345670004", "test", "Qualified To Buy", "Sales Pipeline", "100", "2026-11-10 09:00", "John Doe", "2026-12-31 00:00"],
]


def write_deals(lang: str, d) -> None:
    d.mkdir(parents=True, exist_ok=True)
    rows = [list(r) for r in DEALS]
    if lang in WON:
        rows.append(["18345670005", "Globex", WON[lang], "Sales Pipeline", "12000", "2026-08-01 09:00", "Jane Roe", "2026-11-02 00:00"])
    with open(d / "hubspot-crm-exports-all-deals-2026-11-20.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([HEADERS[lang], *rows])


@pytest.fixture(scope="module")
def english(tmp_path_factory) -> dict[str, set[str]]:
    return twin_findings(tmp_path_factory, "hubspot", write_deals, "en", {"18345670004"})


@pytest.mark.parametrize("lang", ["de", "pt-BR", "es", "fr", "ja"])
def test_hubspot_deals_export_in_every_language_audits_alike(lang, tmp_path, english):
    export = tmp_path / "export"
    write_deals(lang, export)
    work = tmp_path / "work"
    s = init(work, "hubspot", export)
    assert not (s.get("columns") or {}).get("deals")
    assert run(work, export) == 0
    assert findings(work) == english
    got = dict(table(export, "hubspot", "SELECT id, status FROM deals"))
    assert got["18345670001"] == "open" and got.get("18345670005", "won") == "won"
