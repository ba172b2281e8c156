"""Won / lost in the interface languages the last pass left (issue 13, left items 1–3), each export through
`init --from-export` → `run` with no hand edits:

- HubSpot's closed flags («Is Deal Closed?», «Is Closed Won», «Is closed lost») in Spanish, French, Portuguese
  (Brazil) and Japanese, written true / false (as the German export of the acceptance tests) or with the
  language's yes / no words; a team's own closed stages («Firmado», «Sin respuesta») are closed by the flags alone.
- Bitrix24's default pipeline's system stages (NEW … FINAL_INVOICE open, WON won, LOSE / APOLOGY lost) named in
  German, Spanish, Portuguese (Brazil) and Polish in a deal list export.
- Salesforce's «Stage Duration» translated (de/fr/es/it/pt-BR/ja/zh) read as the days in stage, so the rules on
  days-in-stage run.

The labels are the profiles' (crm_audit/profiles/*.yaml, with their evidence or marked inferred).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from test_crm_exports_issue13 import findings
from test_issue13_owners_and_stages import init, run, table

# ---------------------------------------------------------------------------------------------------- HubSpot

HS_HEADERS = {
    # id, title, stage, pipeline, amount, created, owner, close date, is closed, is won, is lost
    "en": ["Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Create Date", "Deal owner", "Close Date",
           "Is Deal Closed?", "Is Closed Won", "Is closed lost"],
    "es": ["ID de registro", "Nombre del negocio", "Etapa del negocio", "Pipeline", "Cantidad", "Fecha de creación",
           "Propietario del negocio", "Fecha de cierre", "¿El negocio está cerrado?", "Es cerrado ganado", "Es cerrado perdido"],
    "fr": ["ID de fiche d'informations", "Nom de la transaction", "Phase de la transaction", "Pipeline", "Montant",
           "Date de création", "Propriétaire de la transaction", "Date de fermeture", "La transaction est-elle conclue ?",
           "Est conclue gagnée", "Est conclue perdue"],
    "pt-BR": ["ID do registro", "Nome do negócio", "Etapa do negócio", "Pipeline", "Valor", "Data de criação",
              "Proprietário do negócio", "Data de fechamento", "O negócio está fechado?", "Fechado e ganho", "Fechado e perdido"],
    "ja": ["レコードID", "取引名", "取引ステージ", "パイプライン", "金額", "作成日", "取引担当者", "クローズ日", "取引はクローズ済み",
           "成約済み", "失注済み"],
}
#: a custom pipeline's stages in each language: two open, the team's own won and lost stages (no «Closed Won»)
HS_STAGES = {
    "en": ("Discovery", "Proposal", "Signed", "Went dark"),
    "es": ("Descubrimiento", "Propuesta", "Firmado", "Sin respuesta"),
    "fr": ("Découverte", "Proposition", "Signé", "Sans réponse"),
    "pt-BR": ("Descoberta", "Proposta", "Assinado", "Sem resposta"),
    "ja": ("ヒアリング", "提案", "契約締結", "音信不通"),
}
YES_NO = {"en": ("Yes", "No"), "es": ("Sí", "No"), "fr": ("Oui", "Non"), "pt-BR": ("Sim", "Não"), "ja": ("はい", "いいえ")}
# id, title, stage (index into HS_STAGES), amount, created, closed, won, lost
HS_DEALS = [
    ("1001", "Acme renewal", 0, "0", "2026-10-01 09:00", False, False, False),
    ("1002", "Beta expansion", 1, "5000", "2026-11-01 09:00", False, False, False),
    ("1003", "test", 0, "100", "2026-11-10 09:00", False, False, False),
    ("1004", "Globex", 2, "12000", "2026-08-01 09:00", True, True, False),
    ("1005", "Initech", 3, "7000", "2026-07-01 09:00", True, False, True),
]


def write_hubspot(lang: str, d: Path, words: bool) -> None:
    """``words``: the flags written with the language's yes / no words, else true / false."""
    d.mkdir(parents=True, exist_ok=True)
    yes, no = YES_NO[lang] if words else ("true", "false")
    rows = [[i, title, HS_STAGES[lang][st], "Enterprise", amount, created, "Jane Roe", "2026-12-31 00:00",
             *(yes if f else no for f in (closed, won, lost))]
            for i, title, st, amount, created, closed, won, lost in HS_DEALS]
    with open(d / "hubspot-crm-exports-all-deals-2026-11-20.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([HS_HEADERS[lang], *rows])


@pytest.fixture(scope="module")
def hubspot_english(tmp_path_factory) -> dict[str, set[str]]:
    base = tmp_path_factory.mktemp("hs-en")
    write_hubspot("en", base / "export", words=False)
    init(base / "work", "hubspot", base / "export")
    assert run(base / "work", base / "export") == 0
    found = findings(base / "work")
    assert found["invalid-name"] == {"1003"}
    return found


@pytest.mark.parametrize("words", [False, True], ids=["true-false", "yes-no"])
@pytest.mark.parametrize("lang", ["es", "fr", "pt-BR", "ja"])
def test_hubspot_closed_flags_in_every_language(lang, words, tmp_path, hubspot_english):
    export, work = tmp_path / "export", tmp_path / "work"
    write_hubspot(lang, export, words)
    s = init(work, "hubspot", export)
    assert not (s.get("columns") or {}).get("deals")  # every header known to the profile
    open1, open2, won, lost = HS_STAGES[lang]
    # the team's own closed stages last, HubSpot's «Closed Won» / «Closed Lost» not added to a pipeline that has its own
    assert s["pipelines"]["Enterprise"][-2:] == [won, lost]
    assert not {"Closed Won", "Closed Lost"} & set(s["pipelines"]["Enterprise"])
    got = dict(table(export, "hubspot", "SELECT id, status FROM deals"))
    assert got == {"1001": "open", "1002": "open", "1003": "open", "1004": "won", "1005": "lost"}
    assert run(work, export) == 0
    assert findings(work) == hubspot_english
