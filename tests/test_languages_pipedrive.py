"""Pipedrive exports in every interface language, through `init --from-export` and `run` as a user runs them.

The headers and values of each language are written here from the evidence
recorded in ``crm_audit/profiles/pipedrive.yaml`` (exports read by public
importers: pt-BR «Negócio - Título», «Negócio - Funil», «Negócio - Negócio
criado em», status «Ganho»/«Perdido»/«Aberto»; es «Trato - Título»; de «Deal -
Titel», «Deal - Besitzer»; fr «Affaire - Titre», «Affaire - Statut» «Gagnée»;
it and pl as inferred there), not read from the profile, so a wrong alias in the
profile fails here. One small team (its own pipeline «Funil de vendas», its own
stage names, its own custom fields «Origem», «Cidade», «País») is written in
each language; the audit must be the same in all of them.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from crm_audit.cli import cli

AS_OF = "2026-11-20"

# canonical field -> header, per language (deals with the entity prefix, then organizations, persons, activities)
LANG = {
    "en": {
        "deal": "Deal - ", "org": "Organization - ", "person": "Person - ", "act": "Activity - ",
        "d": {"id": "ID", "title": "Title", "owner": "Owner", "currency": "Currency", "value": "Value", "org": "Organization", "org_id": "Organization ID",
              "person": "Contact person", "person_id": "Contact person ID", "pipeline": "Pipeline", "stage": "Stage", "status": "Status",
              "lost": "Lost reason", "created": "Deal created", "changed": "Last stage change",
              "source": "Source", "city": "City", "country": "Country"},
        "o": {"id": "ID", "name": "Name", "owner": "Owner"},
        "p": {"id": "ID", "name": "Name", "owner": "Owner", "org": "Organization"},
        "a": {"id": "ID", "subject": "Subject", "type": "Type", "due": "Due date", "done": "Done", "deal_id": "Deal ID"},
        "status": {"open": "Open", "won": "Won", "lost": "Lost"}, "done": {True: "Done", False: "To do"},
    },
    "ru": {
        "deal": "Сделка - ", "org": "Организация - ", "person": "Контактное лицо - ", "act": "Дело - ",
        "d": {"id": "ID", "title": "Название", "owner": "Владелец", "currency": "Валюта", "value": "Стоимость", "org": "Организация", "org_id": "ID организации",
              "person": "Контактное лицо", "person_id": "ID контактного лица", "pipeline": "Воронка", "stage": "Этап", "status": "Статус",
              "lost": "Причина потери", "created": "Сделка создана", "changed": "Последнее изменение этапа",
              "source": "Источник сделки", "city": "Город", "country": "Страна"},
        "o": {"id": "ID", "name": "Название", "owner": "Владелец"},
        "p": {"id": "ID", "name": "Имя", "owner": "Владелец", "org": "Организация"},
        "a": {"id": "ID", "subject": "Тема", "type": "Тип", "due": "Срок", "done": "Выполнено", "deal_id": "ID сделки"},
        "status": {"open": "Открыта", "won": "Выиграна", "lost": "Проиграна"}, "done": {True: "Выполнено", False: "Не выполнено"},
    },
    "pt-BR": {
        "deal": "Negócio - ", "org": "Organização - ", "person": "Pessoa - ", "act": "Atividade - ",
        "d": {"id": "ID", "title": "Título", "owner": "Proprietário", "currency": "Moeda", "value": "Valor", "org": "Organização", "org_id": "ID da organização",
              "person": "Pessoa de contato", "person_id": "ID da pessoa de contato", "pipeline": "Funil", "stage": "Etapa", "status": "Status",
              "lost": "Motivo da perda", "created": "Negócio criado em", "changed": "Última alteração de etapa",
              "source": "Origem", "city": "Cidade", "country": "País"},
        "o": {"id": "ID", "name": "Nome", "owner": "Proprietário"},
        "p": {"id": "ID", "name": "Nome", "owner": "Proprietário", "org": "Organização"},
        "a": {"id": "ID", "subject": "Assunto", "type": "Tipo", "due": "Data de vencimento", "done": "Concluído", "deal_id": "Negócio - ID"},
        "status": {"open": "Aberto", "won": "Ganho", "lost": "Perdido"}, "done": {True: "Concluído", False: "A fazer"},
    },
    "es": {
        "deal": "Trato - ", "org": "Organización - ", "person": "Persona - ", "act": "Actividad - ",
        "d": {"id": "ID", "title": "Título", "owner": "Propietario", "currency": "Moneda", "value": "Valor", "org": "Organización", "org_id": "ID de organización",
              "person": "Persona de contacto", "person_id": "ID de persona de contacto", "pipeline": "Embudo", "stage": "Etapa",
              "status": "Estado", "lost": "Razón de la pérdida", "created": "Trato creado", "changed": "Último cambio de etapa",
              "source": "Origen", "city": "Ciudad", "country": "País"},
        "o": {"id": "ID", "name": "Nombre", "owner": "Propietario"},
        "p": {"id": "ID", "name": "Nombre", "owner": "Propietario", "org": "Organización"},
        "a": {"id": "ID", "subject": "Asunto", "type": "Tipo", "due": "Fecha de vencimiento", "done": "Finalizada", "deal_id": "Trato - ID"},
        "status": {"open": "Abierto", "won": "Ganado", "lost": "Perdido"}, "done": {True: "Finalizada", False: "Pendiente"},
    },
    "de": {
        "deal": "Deal - ", "org": "Organisation - ", "person": "Person - ", "act": "Aktivität - ",
        "d": {"id": "ID", "title": "Titel", "owner": "Besitzer", "currency": "Währung", "value": "Wert", "org": "Organisation", "org_id": "Organisations-ID",
              "person": "Kontaktperson", "person_id": "Kontaktperson-ID", "pipeline": "Pipeline", "stage": "Phase", "status": "Status",
              "lost": "Verlustgrund", "created": "Deal erstellt", "changed": "Letzte Phasenänderung",
              "source": "Quelle", "city": "Stadt", "country": "Land"},
        "o": {"id": "ID", "name": "Name", "owner": "Besitzer"},
        "p": {"id": "ID", "name": "Name", "owner": "Besitzer", "org": "Organisation"},
        "a": {"id": "ID", "subject": "Betreff", "type": "Typ", "due": "Fälligkeitsdatum", "done": "Erledigt", "deal_id": "Deal-ID"},
        "status": {"open": "Offen", "won": "Gewonnen", "lost": "Verloren"}, "done": {True: "Erledigt", False: "Zu erledigen"},
    },
    "fr": {
        "deal": "Affaire - ", "org": "Organisation - ", "person": "Personne - ", "act": "Activité - ",
        "d": {"id": "ID", "title": "Titre", "owner": "Propriétaire", "currency": "Devise", "value": "Valeur", "org": "Organisation", "org_id": "ID de l'organisation",
              "person": "Personne à contacter", "person_id": "ID de la personne à contacter", "pipeline": "Pipeline", "stage": "Étape",
              "status": "Statut", "lost": "Raison de la perte", "created": "Affaire créée", "changed": "Dernier changement d'étape",
              "source": "Source du lead", "city": "Ville", "country": "Pays"},
        "o": {"id": "ID", "name": "Nom", "owner": "Propriétaire"},
        "p": {"id": "ID", "name": "Nom", "owner": "Propriétaire", "org": "Organisation"},
        "a": {"id": "ID", "subject": "Sujet", "type": "Type", "due": "Date d'échéance", "done": "Fait", "deal_id": "Affaire - ID"},
        "status": {"open": "En cours", "won": "Gagnée", "lost": "Perdue"}, "done": {True: "Fait", False: "À faire"},
    },
    "it": {
        "deal": "Offerta - ", "org": "Organizzazione - ", "person": "Persona - ", "act": "Attività - ",
        "d": {"id": "ID", "title": "Titolo", "owner": "Proprietario", "currency": "Valuta", "value": "Valore", "org": "Organizzazione", "org_id": "ID organizzazione",
              "person": "Persona di contatto", "person_id": "ID persona di contatto", "pipeline": "Pipeline", "stage": "Fase",
              "status": "Stato", "lost": "Motivo della perdita", "created": "Offerta creata", "changed": "Ultima modifica della fase",
              "source": "Origine", "city": "Città", "country": "Paese"},
        "o": {"id": "ID", "name": "Nome", "owner": "Proprietario"},
        "p": {"id": "ID", "name": "Nome", "owner": "Proprietario", "org": "Organizzazione"},
        "a": {"id": "ID", "subject": "Oggetto", "type": "Tipo", "due": "Data di scadenza", "done": "Completata", "deal_id": "ID offerta"},
        "status": {"open": "Aperta", "won": "Vinta", "lost": "Persa"}, "done": {True: "Completata", False: "Da fare"},
    },
    "pl": {
        "deal": "Deal - ", "org": "Organizacja - ", "person": "Osoba - ", "act": "Aktywność - ",
        "d": {"id": "ID", "title": "Tytuł", "owner": "Właściciel", "currency": "Waluta", "value": "Wartość", "org": "Organizacja", "org_id": "ID organizacji",
              "person": "Osoba kontaktowa", "person_id": "ID osoby kontaktowej", "pipeline": "Lejek", "stage": "Etap", "status": "Status",
              "lost": "Powód przegranej", "created": "Deal utworzony", "changed": "Ostatnia zmiana etapu",
              "source": "Źródło", "city": "Miasto", "country": "Kraj"},
        "o": {"id": "ID", "name": "Nazwa", "owner": "Właściciel"},
        "p": {"id": "ID", "name": "Imię i nazwisko", "owner": "Właściciel", "org": "Organizacja"},
        "a": {"id": "ID", "subject": "Temat", "type": "Typ", "due": "Termin", "done": "Wykonane", "deal_id": "ID deala"},
        "status": {"open": "Otwarty", "won": "Wygrany", "lost": "Przegrany"}, "done": {True: "Wykonane", False: "Do zrobienia"},
    },
}

PIPE = "Funil de vendas"
STAGES = ["Qualificado", "Contato feito", "Proposta enviada", "Negociação"]
# id, title, owner, value, org id, person id, stage, status, lost reason, created, last stage change, source, city, country
DEALS = [
    (1, "Padaria Central — CRM", "Ana Souza", "1500", 10, 20, "Proposta enviada", "open", "", "2026-10-01 09:00:00", "2026-11-10 10:00:00", "Site", "São Paulo", "Brasil"),
    (2, "Loja X — site", "João Lima", "", 11, 21, "Qualificado", "open", "", "2026-11-01 10:00:00", "2026-11-02 10:00:00", "", "", "Brasil"),
    (3, "Mercado Bom", "Ana Souza", "900", 12, 22, "Negociação", "open", "", "2026-09-01 09:00:00", "2026-11-15 09:00:00", "Indicação", "Recife", "Brasil"),
    (4, "Oficina Norte", "João Lima", "3000", 12, None, "Negociação", "won", "", "2026-08-01 09:00:00", "2026-10-01 09:00:00", "", "Manaus", "Brasil"),
    (5, "Clínica Sul", "João Lima", "700", None, None, "Contato feito", "lost", "Preço", "2026-07-01 09:00:00", "2026-09-01 09:00:00", "Site", "Porto Alegre", ""),
    (6, "Escola Leste", "Ana Souza", "1200", None, None, "Contato feito", "open", "", "2026-11-15 09:00:00", "2026-11-16 09:00:00", "Site", "Natal", "Brasil"),
]
ORGS = [(10, "Padaria Central", "Ana Souza"), (11, "Loja X", "Ana Souza"), (12, "Mercado Bom", "Ana Souza")]
PERSONS = [(20, "Maria Silva", "Ana Souza", "Padaria Central"), (21, "Pedro 11987654321", "João Lima", "Loja X"),
           (22, "Carla Dias", "Ana Souza", "Mercado Bom")]
# id, subject, due, done, deal id
ACTS = [(1, "Ligar para cliente", "2026-11-25", False, 1), (2, "Enviar proposta", "2026-11-10", False, 3),
        (3, "Reunião", "2026-11-21", False, 6), (4, "Primeiro contato", "2026-11-01", True, 2)]

#: the audit of this team, whatever the language (rule id -> flagged deal ids)
EXPECTED = {
    "open-deal-without-tasks": {"2"}, "invalid-name": {"2"}, "owner-mismatch": {"2"}, "missing-source": {"2", "4"},
    "missing-city-or-country": {"2", "5"}, "overdue-tasks": {"3"}, "no-stage-movement": {"2"},
    # init proposes the handbook's «Клиенты» as this team's «Funil de vendas» (crm_audit/name_synonyms.yaml, issue 13
    # D11): 1.11 runs (deal 6 has no organization)
    "open-deal-without-organization": {"6"},
}
#: the bundled rules this team's export cannot feed (the handbook's pipelines, stages and fields it has not)
SKIPPED = {"missing-traffic-or-budget", "partner-org-not-set", "missing-demo-recording",
           "missing-proposal-link", "partner-pipeline-org-not-agency",
           "partner-manager-deal-without-partner", "stuck-in-accepted",
           # «Отправлено КП» would be this team's «Proposta enviada», but the order of «Negociação» (no stage of
           # Pipedrive's default pipeline) is a guess: the proposal is written commented out, 1.3 off until the order is
           # confirmed (issue 13 acceptance J, J2)
           "missing-amount-after-proposal",
           # the team's only lost reason «Preço» is no handbook's frozen one: `frozen_lost_reasons: []` leaves 1.2
           # nothing to flag, it is off saying so (issue 13 acceptance O1)
           "frozen-deal-without-tasks"}


def _write(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL)
        w.writerow(header)
        w.writerows([["" if v is None else v for v in r] for r in rows])


def write_export(lang: str, d: Path, prefixed: bool = True) -> Path:
    """The team's export as Pipedrive writes it in ``lang`` (``prefixed``: the list export's «Entity - » prefixes)."""
    L = LANG[lang]
    d.mkdir(parents=True, exist_ok=True)
    pre = (lambda k: L[k]) if prefixed else (lambda k: "")
    dh = L["d"]
    keys = ["id", "title", "owner", "value", "currency", "org", "org_id", "person", "person_id", "pipeline", "stage", "status", "lost", "created", "changed",
            "source", "city", "country"]
    org_name = {o[0]: o[1] for o in ORGS}
    person_name = {p[0]: p[1] for p in PERSONS}
    rows = []
    for (i, title, owner, value, org, person, stage, status, lost, created, changed, source, city, country) in DEALS:
        rows.append([i, title, owner, value, "BRL", org_name.get(org, ""), org, person_name.get(person, ""), person, PIPE, stage,
                     L["status"][status], lost, created, changed, source, city, country])
    _write(d / "deals.csv", [pre("deal") + dh[k] for k in keys], rows)
    _write(d / "organizations.csv", [pre("org") + L["o"][k] for k in ("id", "name", "owner")], [list(o) for o in ORGS])
    _write(d / "persons.csv", [pre("person") + L["p"][k] for k in ("id", "name", "owner", "org")], [list(p) for p in PERSONS])
    a = L["a"]
    act_headers = [pre("act") + a[k] for k in ("id", "subject", "type", "due", "done")]
    act_headers.append(a["deal_id"] if " - " in a["deal_id"] else pre("act") + a["deal_id"])
    _write(d / "activities.csv", act_headers,
           [[i, subj, "Call", due, L["done"][done], deal] for i, subj, due, done, deal in ACTS])
    return d


def cli_run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return res.exit_code, res.output


def init_and_run(export: Path, work: Path) -> tuple[dict, dict[str, set[str]], str]:
    """`crm-audit init --from-export` then `crm-audit run`, no hand edits: (the settings written, violations, run output)."""
    code, out = cli_run("init", str(work), "--crm", "pipedrive", "--from-export", str(export))
    assert code == 0, out
    cfg = work / "crm-audit.yaml"
    code, out = cli_run("run", "--config", str(cfg), "--export", str(export), "--as-of", AS_OF,
                        "--violations-csv", str(work / "v.csv"), "--out", str(work / "audit.xlsx"))
    assert code == 0, out
    found: dict[str, set[str]] = {}
    with (work / "v.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            found.setdefault(row["rule_id"], set()).add(row["deal_id"])
    return yaml.safe_load(cfg.read_text(encoding="utf-8")), found, out


@pytest.mark.parametrize("lang", list(LANG))
def test_every_language_audits_on_the_first_try(lang, tmp_path):
    export = write_export(lang, tmp_path / "export")
    settings, found, out = init_and_run(export, tmp_path / "work")
    assert found == EXPECTED
    # the team's own field names were mapped to the handbook's (and said so in the file)
    if lang != "ru":
        src, city, country = (LANG[lang]["d"][k] for k in ("source", "city", "country"))
        assert settings["fields"] == {"deal.Источник сделки": src, "deal.Город": city, "deal.Страна": country}
    # every rule that cannot run is named with its reason, in the settings and in the terminal
    assert set(settings["rules"]["skip"]) == SKIPPED
    assert settings["rules"]["skip"]["missing-traffic-or-budget"] == "в выгрузке нет полей «Бюджет», «Посещаемость» (deals.csv)"
    assert settings["rules"]["skip"]["partner-org-not-set"] == "в выгрузке нет поля «Партнерская организация» (deals.csv)"
    assert settings["pipeline_names"] == {"Клиенты": PIPE} and settings["stage_names"] == {}
    assert "#   Отправлено КП: Proposta enviada" in (tmp_path / "work" / "crm-audit.yaml").read_text(encoding="utf-8")
    for rid in SKIPPED:
        assert f"{rid}: Rule skipped: the rule is switched off in the settings" in out
    # the stage order of the team's own pipeline was guessed, and the file and the run say so
    assert settings["stage_order_confirmed"] is False
    assert "stage_order_confirmed: true" in out
    assert settings["pipelines"] == {PIPE: STAGES}


def test_pt_br_without_prefixes_and_in_xlsx(tmp_path):
    """The account export (no «Negócio - » prefix: `ID`, `Título`, `Etapa`) re-saved as XLSX reads the same."""
    import openpyxl

    export = write_export("pt-BR", tmp_path / "csv", prefixed=False)
    xlsx = tmp_path / "export"
    xlsx.mkdir()
    for f in export.glob("*.csv"):
        wb = openpyxl.Workbook()
        ws = wb.active
        with f.open(encoding="utf-8") as fh:
            for row in csv.reader(fh):
                ws.append(row)
        wb.save(xlsx / f"{f.stem}.xlsx")
    _settings, found, _out = init_and_run(xlsx, tmp_path / "work")
    assert found == EXPECTED


def test_languages_mixed_in_one_file_and_detected(tmp_path):
    """A pt-BR deals file where a colleague added English columns, Russian and pt-BR statuses mixed."""
    from crm_audit.engine.inspect import format_report, inspect_export

    export = write_export("pt-BR", tmp_path / "export")
    rows = list(csv.reader((export / "deals.csv").open(encoding="utf-8")))
    rows[0][rows[0].index("Negócio - Etapa")] = "Deal - Stage"
    rows[0][rows[0].index("Negócio - Proprietário")] = "Deal - Owner"
    rows[3][rows[0].index("Negócio - Status")] = "Open"  # deal 3
    with (export / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    _settings, found, _out = init_and_run(export, tmp_path / "work")
    assert found == EXPECTED
    rep = inspect_export(export, crm="pipedrive")
    text = format_report(rep)
    assert "Languages: pt-BR, en" in text


def test_the_team_names_its_stages_and_the_stage_rules_run(tmp_path):
    """`stage_names:` / `pipeline_names:` give the handbook's «Отправлено КП» and «Клиенты» the team's own names;
    with them (and the order confirmed) the stage rules run on the pt-BR export, the rule files unchanged."""
    export = write_export("pt-BR", tmp_path / "export")
    settings, _found, _out = init_and_run(export, tmp_path / "work")
    settings["stage_names"] = {"Отправлено КП": "Proposta enviada", "Проведено демо": "Contato feito",
                               "Принял в работу": "Qualificado"}
    settings["pipeline_names"] = {"Клиенты": PIPE}
    settings["stage_order_confirmed"] = True
    for rid in ("missing-amount-after-proposal", "open-deal-without-organization", "stuck-in-accepted"):
        settings["rules"]["skip"].pop(rid, None)  # init may have proposed the team's names already (issue 13 D11)
    cfg = tmp_path / "work" / "crm-audit.yaml"
    cfg.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    code, out = cli_run("validate", "--config", str(cfg))
    assert code == 0, out
    assert "guessed" not in out
    code, out = cli_run("run", "--config", str(cfg), "--export", str(export), "--as-of", AS_OF, "--violations-csv", str(tmp_path / "v.csv"))
    assert code == 0, out
    with (tmp_path / "v.csv").open(encoding="utf-8") as f:
        rows = [(r["rule_id"], r["deal_id"]) for r in csv.DictReader(f)]
    # 1.3: open or won at «Proposta enviada» or later without an amount: none (deal 2 is before it)
    assert not [r for r in rows if r[0] == "missing-amount-after-proposal"]
    # 1.11: an open deal of the team's «Funil de vendas» without an organization: deal 6
    assert [d for r, d in rows if r == "open-deal-without-organization"] == ["6"]
    # 2.2: 18 days in «Qualificado» (the handbook's «Принял в работу»)
    assert [d for r, d in rows if r == "stuck-in-accepted"] == ["2"]


def test_close_names_are_suggested(tmp_path):
    export = write_export("pt-BR", tmp_path / "export")
    settings, _found, _out = init_and_run(export, tmp_path / "work")
    settings["stage_names"] = {"Отправлено КП": "Proposta enviadda"}
    settings["fields"]["deal.Источник сдлки"] = "Origem"
    settings["columns"] = {"deals": {"stgae": "Etapa"}}
    settings["crm"] = "pipedrive"
    cfg = tmp_path / "work" / "crm-audit.yaml"
    cfg.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    code, out = cli_run("validate", "--config", str(cfg))
    assert code == 2
    assert "«Proposta enviadda» is a stage of none of the pipelines (did you mean «Proposta enviada»?)" in out
    assert "no rule reads the field «deal.Источник сдлки» (did you mean «deal.Источник сделки»?)" in out
    assert "«stgae» is not a field of deals (did you mean «stage»?)" in out


def test_unknown_crm_is_reported_at_its_line(tmp_path):
    export = write_export("en", tmp_path / "export")
    init_and_run(export, tmp_path / "work")
    cfg = tmp_path / "work" / "crm-audit.yaml"
    text = cfg.read_text(encoding="utf-8")
    line = text.splitlines().index("crm: pipedrive") + 1
    cfg.write_text(text.replace("crm: pipedrive", "crm: pipedrivee"), encoding="utf-8")
    code, out = cli_run("validate", "--config", str(cfg))
    assert code == 2
    assert f"crm-audit.yaml:{line}:" in out and "unknown CRM profile «pipedrivee»" in out
