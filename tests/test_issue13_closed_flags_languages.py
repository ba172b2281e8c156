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
from slow_variants import every_other

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


# ---------------------------------------------------------------------------------------------------- Bitrix24

B24_HEADERS = {
    # id, title, owner, amount, currency, stage, created, closed, close date
    "en": ["ID", "Deal Name", "Responsible", "Income", "Currency", "Stage", "Created", "Closed", "Assumed close date"],
    "de": ["ID", "Auftragsname", "Verantwortlich", "Gewinn", "Währung", "Phase", "Erstellt am", "Geschlossen",
           "Voraussichtliches Abschlussdatum"],
    "es": ["ID", "Nombre de la negociación", "Responsable", "Importe", "Moneda", "Etapa", "Fecha de creación", "Cerrada",
           "Fecha final"],
    "pt-BR": ["ID", "Nome do negócio", "Responsável", "Valor", "Moeda", "Fase", "Data de criação", "Fechado", "Data de término"],
    "pl": ["ID", "Nazwa deala", "Osoba odpowiedzialna", "Kwota", "Waluta", "Etap", "Data utworzenia", "Zamknięty",
           "Przewidywana data zamknięcia"],
}
#: the default pipeline's system stages in each language, CRM_DEAL_STAGE_* of Bitrix24's
#: modules/crm/lang/<code>/classes/general/crm_status.php (evidence, see bitrix24.yaml: de from an older public copy,
#: la / br / pl from Malifikus/BITRIX_LOCAL-2026-02; Polish NEW and EXECUTING are both «W toku»):
#: two open ones (NEW, EXECUTING — any stage not final is open), WON, LOSE, APOLOGY
B24_STAGES = {
    "en": {"new": "New", "work": "In progress", "won": "Deal won", "lost": "Deal lost", "apology": "Analyze failure"},
    "de": {"new": "Neu", "work": "In Arbeit", "won": "Auftrag bekommen", "lost": "Auftrag nicht bekommen",
           "apology": "Misserfolg analysieren"},
    "es": {"new": "En desarrollo", "work": "En progreso", "won": "Negociación ganada", "lost": "Negociación perdida",
           "apology": "Analizar la falla"},
    "pt-BR": {"new": "Em Desenvolvimento", "work": "Em andamento", "won": "Negócio ganho", "lost": "Negócio perdido",
              "apology": "Analisar falha"},
    "pl": {"new": "W toku", "work": "W toku", "won": "Deal wygrany", "lost": "Deal przegrany",
           "apology": "Analizowanie zakończone niepowodzeniem"},
}
#: languages whose EXECUTING name init does not propose as the handbook's «Принял в работу» (crm_audit/name_synonyms.yaml,
#: default_pipelines.yaml `handbook:`): Polish «W toku» is NEW as well — rule 2.2 has no stage to read there (German
#: «In Arbeit» is proposed since tests/test_issue13_left_items.py)
B24_NO_ACCEPTED_STAGE = {"pl"}
B24_YES_NO = {"en": ("Yes", "No"), "de": ("Ja", "Nein"), "es": ("Sí", "No"), "pt-BR": ("Sim", "Não"), "pl": ("Tak", "Nie")}
# id, title, owner, amount, stage, created, closed
B24_DEALS = [
    ("11", "Romashka — Einführung", "Anna Schmidt", "150000.00", "work", "01.10.2026 10:00:00", False),
    ("12", "test", "Ivan Petrov", "0.00", "new", "01.11.2026 10:00:00", False),
    ("13", "Alfa Markt", "Anna Schmidt", "90000.00", "won", "01.08.2026 10:00:00", True),
    ("14", "Gamma Handel", "Ivan Petrov", "30000.00", "apology", "01.07.2026 10:00:00", True),
    ("15", "Beta Gruppe", "Ivan Petrov", "20000.00", "lost", "10.09.2026 10:00:00", True),
]


def write_bitrix24(lang: str, d: Path, closed_column: bool) -> None:
    """The deal list's «Export to CSV»: `;`-separated, every field quoted, a `;` after the last one, UTF-8 with a BOM."""
    d.mkdir(parents=True, exist_ok=True)
    yes, no = B24_YES_NO[lang]
    keep = [i for i, h in enumerate(B24_HEADERS[lang]) if closed_column or i != 7]

    def line(cells: list[str]) -> str:
        return ";".join(f'"{cells[i]}"' for i in keep) + ";"

    rows = [line(B24_HEADERS[lang])]
    for i, title, owner, amount, stage, created, closed in B24_DEALS:
        rows.append(line([i, title, owner, amount, "EUR", B24_STAGES[lang][stage], created, yes if closed else no, ""]))
    (d / "deals.csv").write_text("\n".join(rows) + "\n", encoding="utf-8-sig")


@pytest.fixture(scope="module")
def bitrix24_english(tmp_path_factory) -> dict[str, set[str]]:
    """The same team in English (Bitrix24's lang/en names, verified): what every language must find."""
    base = tmp_path_factory.mktemp("b24-en")
    write_bitrix24("en", base / "export", closed_column=True)
    init(base / "work", "bitrix24", base / "export")
    assert run(base / "work", base / "export") == 0
    return findings(base / "work")


@pytest.mark.parametrize("closed_column", [True, False], ids=["with-closed", "stage-names-only"])
@pytest.mark.parametrize("lang", every_other(["de", "es", "pt-BR", "pl"]))
def test_bitrix24_system_stages_in_every_language(lang, closed_column, tmp_path, bitrix24_english):
    export, work = tmp_path / "export", tmp_path / "work"
    write_bitrix24(lang, export, closed_column)
    s = init(work, "bitrix24", export)
    assert not (s.get("columns") or {}).get("deals")  # every column title known to the profile
    st = B24_STAGES[lang]
    [stages] = s["pipelines"].values()
    # the final stages last (won, then the lost ones), the open ones before them, nothing in another language added
    assert stages[-3:] == [st["won"], st["apology"], st["lost"]] or stages[-3:] == [st["won"], st["lost"], st["apology"]]
    assert set(stages) == set(st.values())
    got = dict(table(export, "bitrix24", "SELECT id, status FROM deals"))
    assert got == {"11": "open", "12": "open", "13": "won", "14": "lost", "15": "lost"}
    assert run(work, export) == 0
    found = findings(work)
    assert found["invalid-name"] == {"12"}
    assert found == {rule: ids for rule, ids in bitrix24_english.items()
                     if not (rule == "stuck-in-accepted" and lang in B24_NO_ACCEPTED_STAGE)}


# ---------------------------------------------------------------------------------------------------- Salesforce

SF_FIXTURES = Path(__file__).parent / "fixtures" / "salesforce_langs"
SF_ENCODING = {"ja": "cp932", "de": "utf-8-sig", "zh-CN": "utf-8-sig", "zh-TW": "utf-8-sig", "ru": "cp1251"}
#: «Stage Duration» as the profile reads it in each language (crm_audit/profiles/salesforce.yaml, from_days)
SF_DURATION = {"de": "Phasendauer", "fr": "Durée de l'étape", "es": "Duración de la etapa", "it": "Durata fase",
               "pt-BR": "Duração da fase", "ja": "フェーズ期間", "zh-CN": "阶段持续时间", "zh-TW": "階段持續時間",
               "nl": "Faseduur", "ru": "Продолжительность этапа"}


def _days(cell: str) -> str | None:
    import datetime as dt

    for fmt in ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%Y-%m-%d"):
        try:
            return str((dt.date(2026, 11, 20) - dt.datetime.strptime(cell.strip(), fmt).date()).days)
        except ValueError:
            continue
    return None


def with_stage_duration(lang: str, export: Path) -> None:
    """The language's opportunity report with «Stage Duration» (days) instead of «Last Stage Change Date»."""
    from crm_audit.engine.profile import load_profile

    changed = load_profile("salesforce").languages[lang].entities["deals"].fields["stage_changed"]
    path = export / "opportunities.csv"
    enc = SF_ENCODING.get(lang, "utf-8")
    with open(path, encoding=enc, newline="") as f:
        rows = list(csv.reader(f))
    col = next(i for i, h in enumerate(rows[0]) if h.lstrip("\ufeff") in changed)
    rows[0][col] = SF_DURATION[lang]
    for r in rows[1:]:
        if len(r) > col and _days(r[col]) is not None:
            r[col] = _days(r[col])
    with open(path, "w", encoding=enc, newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)


@pytest.mark.parametrize("lang", every_other(["de", "fr", "es", "it", "pt-BR", "ja", "zh-CN", "zh-TW"]))
def test_salesforce_stage_duration_in_every_language(lang, tmp_path):
    import shutil

    export, work = tmp_path / "export", tmp_path / "work"
    shutil.copytree(SF_FIXTURES / lang, export)
    with_stage_duration(lang, export)
    s = init(work, "salesforce", export)
    assert "no-stage-movement" not in (s["rules"].get("skip") or {})
    assert run(work, export) == 0
    # 18 days in its stage («test», stage changed 2026-11-02): the translated «Stage Duration» read as the days in stage
    assert findings(work)["no-stage-movement"] == {"0065g00000Opp002AAA"}
    got = dict(table(export, "salesforce", "SELECT id, CAST(stage_changed AS DATE) FROM deals"))
    assert str(got["0065g00000Opp002AAA"]) == "2026-11-02"
