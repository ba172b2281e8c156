"""Bitrix24 deal list exports in the interface languages of Bitrix24's own language files (issue 13, acceptance J1, J5),
each through `init --from-export` → `run` with no hand edits.

Evidence (crm_audit/profiles/bitrix24.yaml cites it): the deal list component's column titles (CRM_COLUMN_* of
crm.deal.list/lang/<code>/component.php), the deal fields' captions (CRM_DEAL_FIELD_* of
modules/crm/lang/<code>/classes/general/crm_deal.php) and the default stages (CRM_DEAL_STAGE_* of crm_status.php), read
in Malifikus/BITRIX_LOCAL-2026-02 for la (Spanish), br (Portuguese, Brazil), pl, fr and it.

- J1: the default WON stage («Negociación ganada», «Negócio ganho», «Deal wygrany», …) is won, LOSE and APOLOGY lost;
  init lists none of them in `lost_stages:` (was: WON in `lost_stages:`, audited as lost).
- J5: the standard columns are known: the list's titles, and the field captions an export may write instead («Nombre»,
  «Nome», «Nazwa», «Total», «Razem», «Firma», «Utworzono dnia» — the acceptance tester's exports, copied here).
- Generic words («Total», «Nome», «Empresa», «Montant») do not take another CRM's export for Bitrix24.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_audit.engine.inspect import detect_profile
from crm_audit.engine.profile import load_profile
from test_crm_exports_issue13 import findings
from test_issue13_owners_and_stages import init, rows, run, table

# ------------------------------------------------------------------------------------- the list's column titles

#: CRM_COLUMN_* of crm.deal.list/lang/<code>/component.php: id, title, stage, pipeline, owner, amount, currency,
#: company, contact, created, modified, closed, close date, probability
LIST_HEADERS = {
    "es": ["ID", "Título", "Etapa", "Pipeline", "Responsable", "Ingreso", "Moneda", "Compañía", "Contacto", "Creado",
           "Modificado", "Cerrado", "Fecha de cierre", "Probabilidad, %"],
    "pt-BR": ["ID", "Nome do negócio", "Fase", "Pipeline", "Responsável", "Renda", "Moeda", "Empresa", "Contato", "Criado",
              "Modificado", "Fechado", "Data de fechamento", "Probabilidade, %"],
    "pl": ["ID", "Nazwa deala", "Etap", "Lejek", "Odpowiedzialny", "Przychód", "Waluta", "Firma", "Kontakt", "Utworzony",
           "Zmodyfikowany", "Zamknięte", "Zakładana data zamknięcia", "Prawdopodobieństwo, %"],
    "fr": ["ID", "Nom de la transaction", "Étape", "Pipeline", "Responsable", "Montant", "Devise", "Entreprise", "Client",
           "Créé", "Modifié", "Accompli", "Date de fermeture envisagée", "Probabilité, %"],
    "it": ["ID", "Nome affare", "Fase", "Pipeline", "Responsabile", "Reddito", "Valuta", "Azienda", "Contatto", "Creato",
           "Modificato", "Chiuso", "Data di chiusura presunta", "Probabilità, %"],
}
#: CRM_DEAL_STAGE_NEW, _EXECUTING, _WON, _LOSE, _APOLOGY of crm_status.php (Polish NEW and EXECUTING are both «W toku»)
STAGES = {
    "es": ("En desarrollo", "En progreso", "Negociación ganada", "Negociación perdida", "Analizar la falla"),
    "pt-BR": ("Em Desenvolvimento", "Em andamento", "Negócio ganho", "Negócio perdido", "Analisar falha"),
    "pl": ("W toku", "W toku", "Deal wygrany", "Deal przegrany", "Analizowanie zakończone niepowodzeniem"),
    "fr": ("Nouveau", "En cours", "Transaction gagnée", "Transaction perdue", "Analyser l'échec"),
    "it": ("Nuovo", "In corso", "Affare vinto", "Affare perso", "Analizza errore"),
}
YES_NO = {"es": ("Sí", "No"), "pt-BR": ("Sim", "Não"), "pl": ("Tak", "Nie"), "fr": ("Oui", "Non"), "it": ("Sì", "No")}
PIPELINE = {"es": "General", "pt-BR": "Geral", "pl": "Ogólny", "fr": "Général", "it": "Generale"}
# id, title, stage (index into STAGES), amount, created, closed, probability
DEALS = [
    ("51", "test", 0, "0.00", "10.11.2026 10:00:00", False, "10"),
    ("52", "Alfa Markt", 1, "150000.00", "01.10.2026 10:00:00", False, "50"),
    ("53", "Beta Gruppe", 2, "90000.00", "01.08.2026 10:00:00", True, "100"),
    ("54", "Gamma Handel", 3, "30000.00", "01.07.2026 10:00:00", True, "0"),
    ("55", "Delta Bau", 4, "20000.00", "10.09.2026 10:00:00", True, "0"),
]


def write_list_export(lang: str, d: Path) -> None:
    """The deal list's «Export to CSV»: `;`-separated, every field quoted, a `;` after the last one, UTF-8 with a BOM."""
    d.mkdir(parents=True, exist_ok=True)
    yes, no = YES_NO[lang]

    def line(cells: list[str]) -> str:
        return ";".join(f'"{c}"' for c in cells) + ";"

    out = [line(LIST_HEADERS[lang])]
    for i, title, stage, amount, created, closed, prob in DEALS:
        out.append(line([i, title, STAGES[lang][stage], PIPELINE[lang], "Anna Nowak", amount, "EUR", f"{title} GmbH", "",
                         created, created, yes if closed else no, "", prob]))
    (d / "DEAL_20261120.csv").write_text("\n".join(out) + "\n", encoding="utf-8-sig")


@pytest.mark.parametrize("lang", list(LIST_HEADERS))
def test_list_titles_and_default_stages_in_every_language(lang, tmp_path):
    export, work = tmp_path / "export", tmp_path / "work"
    write_list_export(lang, export)
    headers = LIST_HEADERS[lang]
    assert load_profile("bitrix24").interface_languages(headers) == [lang]
    assert detect_profile(export)[0] == "bitrix24"
    s = init(work, "bitrix24", export)
    assert not (s.get("columns") or {}).get("deals")  # every column title known to the profile
    new, work_stage, won, lost, apology = STAGES[lang]
    [stages] = s["pipelines"].values()
    # the language's own final stages last (won first), nothing in another language added, none of them to confirm
    assert stages[-3:] in ([won, lost, apology], [won, apology, lost])
    assert set(stages) == {new, work_stage, won, lost, apology}
    assert not s.get("lost_stages") and not s.get("won_stages")
    got = dict(table(export, "bitrix24", "SELECT id, status FROM deals"))
    assert got == {"51": "open", "52": "open", "53": "won", "54": "lost", "55": "lost"}
    assert table(export, "bitrix24", "SELECT title, value, created FROM deals WHERE id = '52'")[0][:2] == ("Alfa Markt", 150000.0)
    assert run(work, export) == 0
    found = findings(work)
    assert found["invalid-name"] == {"51"}
    assert all(r["title"] for r in rows(work))


# ------------------------------------------------------------- the fields' captions (the acceptance tester's exports)

#: acceptance J (/tmp/work/accJ/ex/b24_*): the headers are CRM_DEAL_FIELD_* of crm_deal.php; cp1252 / UTF-8 BOM / cp1250
CAPTION_EXPORTS = {
    "es": ("cp1252", [
        '"ID";"Nombre";"Etapa de la negociación";"Pipeline";"Persona responsable";"Total";"Moneda";"Compañía";"Contacto";'
        '"Creado el";"Modificado el";"Cerrar";"Origen";"Probabilidad"',
        '"101";"Hotel Sol";"En desarrollo";"General";"Diego Ruiz";"0";"EUR";"Hotel Sol SL";"Lucía Gómez";"12/11/2026 10:00";'
        '"12/11/2026 10:00";"No";"Sitio Web";"10"',
        '"102";"Bodega Norte";"Rechazado por cliente";"General";"Diego Ruiz";"3000";"EUR";"Bodega Norte SA";"";'
        '"01/09/2026 10:00";"01/10/2026 10:00";"Sí";"Llamada";"0"',
        '"103";"Pedido anual";"Negociación ganada";"General";"Diego Ruiz";"5000";"EUR";"Casa Blanca SA";"";"01/08/2026 10:00";'
        '"01/09/2026 10:00";"Sí";"";"100"',
        '"105";"Cotización Grupo Sur";"Cotización";"General";"Ana Torres";"0,00";"EUR";"Grupo Sur";"";"05/11/2026 10:00";'
        '"06/11/2026 10:00";"No";"";"50"',
        '"106";"test";"Crear documentos";"General";"Ana Torres";"1.500,00";"EUR";"";"";"19/11/2026 10:00";"19/11/2026 10:00";'
        '"No";"Sitio Web";"20"',
        '"107";"Ferretería López";"Negociación perdida";"General";"Ana Torres";"0";"EUR";"Ferretería López";"";'
        '"01/07/2026 10:00";"01/08/2026 10:00";"Sí";"Llamada";"0"',
    ]),
    "pt-BR": ("utf-8-sig", [
        '"ID";"Nome";"Fase do negócio";"Pipeline";"Pessoa responsável";"Total";"Moeda";"Empresa";"Contato";"Criado em";'
        '"Modificado em";"Fechado";"Fonte";"Probabilidade"',
        '"201";"Padaria Central";"Em Desenvolvimento";"Geral";"João Silva";"0";"BRL";"Padaria Central Ltda";"Maria Souza";'
        '"01/11/2026 09:00";"01/11/2026 09:00";"Não";"Site";"10"',
        '"202";"Mercado Bom Preço";"Orçamento";"Geral";"João Silva";"12.000,00";"BRL";"Mercado Bom Preço";"";'
        '"01/10/2026 09:00";"10/10/2026 09:00";"Não";"";"50"',
        '"203";"Loja Azul";"Analisar falha";"Geral";"João Silva";"0";"BRL";"Loja Azul";"";"01/09/2026 09:00";'
        '"01/10/2026 09:00";"Sim";"Chamada";"0"',
        '"204";"Contrato anual";"Negócio ganho";"Geral";"Pedro Lima";"20.000,00";"BRL";"Grupo Norte";"";"01/08/2026 09:00";'
        '"01/09/2026 09:00";"Sim";"Site";"100"',
        '"206";"Academia Forte";"Negócio perdido";"Geral";"Pedro Lima";"0";"BRL";"Academia Forte";"";"01/07/2026 09:00";'
        '"01/08/2026 09:00";"Sim";"";"0"',
    ]),
    "pl": ("cp1250", [
        '"ID";"Nazwa";"Etap deala";"Lejek";"Osoba odpowiedzialna";"Razem";"Waluta";"Firma";"Kontakt";"Utworzono dnia";'
        '"Zmodyfikowano dnia";"Zamknięte";"Źródło"',
        '"301";"Piekarnia Kraków";"W toku";"Ogólny";"Anna Nowak";"0";"PLN";"Piekarnia Kraków";"";"10.11.2026 10:00:00";'
        '"10.11.2026 10:00:00";"Nie";"Strona internetowa"',
        '"302";"Sklep Gdańsk";"Oferta";"Ogólny";"Anna Nowak";"1 500,00";"PLN";"Sklep Gdańsk";"";"01.10.2026 10:00:00";'
        '"02.10.2026 10:00:00";"Nie";""',
        '"303";"Hurtownia Łódź";"Deal wygrany";"Ogólny";"Anna Nowak";"9 000,00";"PLN";"Hurtownia Łódź";"";'
        '"01.08.2026 10:00:00";"01.09.2026 10:00:00";"Tak";"Połączenie"',
        '"304";"Apteka Poznań";"Klient zrezygnował";"Ogólny";"Jan Kowalski";"0";"PLN";"Apteka Poznań";"";'
        '"01.08.2026 10:00:00";"01.09.2026 10:00:00";"Tak";""',
    ]),
}
#: (the won deal, its stage), the deals lost in a default stage, a custom closed stage init must ask about (or None),
#: (deal, amount) read with the language's decimal comma
CAPTION_CASES = {
    "es": (("103", "Negociación ganada"), {"107"}, "Rechazado por cliente", ("106", 1500.0)),
    "pt-BR": (("204", "Negócio ganho"), {"203", "206"}, None, ("202", 12000.0)),
    "pl": (("303", "Deal wygrany"), set(), "Klient zrezygnował", ("302", 1500.0)),
}


@pytest.mark.parametrize("lang", list(CAPTION_EXPORTS))
def test_field_captions_as_column_titles(lang, tmp_path):
    export, work = tmp_path / "export", tmp_path / "work"
    export.mkdir()
    encoding, lines = CAPTION_EXPORTS[lang]
    (export / "DEAL_20261120.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    (won_id, won_stage), lost_ids, custom, (amount_id, amount) = CAPTION_CASES[lang]
    headers = [h.strip('"') for h in lines[0].split(";")]
    assert load_profile("bitrix24").interface_languages(headers) == [lang]  # J12: pl was «pl, de»
    assert detect_profile(export)[0] == "bitrix24"
    s = init(work, "bitrix24", export)
    assert not (s.get("columns") or {}).get("deals")  # J5: title, amount, company, created … all known
    # J1: the default WON stage is won, never a closed stage to confirm; only the team's own closed stage is asked about
    assert won_stage not in (s.get("lost_stages") or []) and won_stage not in (s.get("won_stages") or [])
    assert (s.get("lost_stages") or []) == ([custom] if custom else [])
    got = dict(table(export, "bitrix24", "SELECT id, status FROM deals"))
    assert got[won_id] == "won" and all(got[i] == "lost" for i in lost_ids)
    titles = dict(table(export, "bitrix24", "SELECT id, title FROM deals"))
    assert all(titles.values())
    assert dict(table(export, "bitrix24", "SELECT id, value FROM deals"))[amount_id] == amount
    assert all(c for (c,) in table(export, "bitrix24", "SELECT created FROM deals"))
    assert run(work, export) == 0
    v = rows(work)
    assert v and all(r["title"] for r in v)
    assert not any(r["deal_id"] == won_id and r["state"] != "Выиграна" for r in v)


# ------------------------------------------------------------------------------------- no other CRM taken for it

def test_generic_titles_do_not_take_hubspot_exports(tmp_path):
    """«Montant», «Date de création», «Nome do negócio», «Valor» are also HubSpot's titles: its exports stay HubSpot."""
    from test_issue13_closed_flags_languages import write_hubspot

    for lang in ("es", "fr", "pt-BR"):
        d = tmp_path / lang
        write_hubspot(lang, d, True)
        assert detect_profile(d)[0] == "hubspot", lang
