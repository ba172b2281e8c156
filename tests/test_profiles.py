"""CRM profiles beyond Pipedrive: amoCRM, Bitrix24, HubSpot, Salesforce.

One canonical set of a dozen deals (with organizations, persons and tasks) is
written in each CRM's export layout by the writers below. The static fixtures
in ``tests/fixtures/<crm>/`` were written by them (``python
tests/test_profiles.py`` rewrites them); the round-trip test writes the same
deals with the same ids in every format and compares the violations.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import sys
from pathlib import Path

import openpyxl
import pytest
import yaml

from crm_audit import settings as settings_mod
from crm_audit.engine.audit import audit_export
from crm_audit.cli import main
from crm_audit.cli_profiles import pipelines_from_export, settings_from_export, write_settings_from_export
from crm_audit.errors import InputError
from crm_audit.engine.inspect import detect_profile, format_report, inspect_export

FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = dt.date(2026, 11, 20)
CRMS = ["pipedrive", "amocrm", "bitrix24", "hubspot", "salesforce"]

CLIENTS = ["Принял в работу", "Квалификация", "Проведено демо", "Отправлено КП", "Тестовый период", "Согласование договора", "Выставлен счет"]
PARTNERS = ["Принял в работу", "Знакомство", "Проведено демо", "Отправлено КП", "Подписание договора"]
WON_LOST = {
    "amocrm": ("Успешно реализовано", "Закрыто и не реализовано"),
    "bitrix24": ("Сделка успешна", "Сделка провалена"),
    "hubspot": ("Closed Won", "Closed Lost"),
    "salesforce": ("Closed Won", "Closed Lost"),
}

# --------------------------------------------------------------------------- canonical data

ORGS = [
    # id, name, owner, agency
    (1, "ООО Ромашка", "Анна Смирнова", "Нет"),
    (2, "Веб-студия Пиксель", "Ольга Партнерова", "Да"),
    (3, "ИП Кузнецов от партнера", "Иван Петров", "Нет"),
    (4, "тест", "Иван Петров", "Нет"),
    (5, "Альфа Маркет", "Иван Петров", "Нет"),
    (6, "Гамма Трейд", "Ольга Партнерова", "Нет"),
]
PERSONS = [
    # id, first, last, owner, org id
    (1, "Мария", "Иванова", "Анна Смирнова", 1),
    (2, "Петр", "89161234567", "Иван Петров", 4),
    (3, "Сергей", "Волков", "Ольга Партнерова", 2),
    (4, "Елена", "Кузнецова", "Иван Петров", 3),
]
FULL = {"Посещаемость": "12000", "Источник сделки": "Сайт", "Город": "Москва", "Страна": "Россия",
        "Ссылка на запись демо": "https://rec.example/1", "Ссылка на коммерческое предложение": "https://kp.example/1",
        "Партнерская организация": ""}


def _deal(n, title, owner, status, pipeline, stage, value, org, person, created, changed, lost="", **custom):
    c = {**FULL, **custom}
    return {"n": n, "title": title, "owner": owner, "status": status, "pipeline": pipeline, "stage": stage,
            "value": value, "org": org, "person": person, "created": created, "changed": changed, "lost": lost, "custom": c}


D = dt.datetime
DEALS = [
    _deal(1, "Ромашка — CRM", "Анна Смирнова", "open", "Клиенты", "Отправлено КП", 150000, 1, 1, D(2026, 10, 1, 9, 30), D(2026, 11, 15, 12, 0)),
    _deal(2, "тест", "Иван Петров", "open", "Клиенты", "Принял в работу", None, 4, 2, D(2026, 11, 1, 10, 0), D(2026, 11, 2, 10, 0),
          **{"Источник сделки": "", "Город": ""}),
    _deal(3, "Пиксель — партнерка", "Ольга Партнерова", "open", "Партнеры", "Проведено демо", 80000, 2, 3, D(2026, 10, 10, 11, 0), D(2026, 11, 10, 16, 45),
          **{"Ссылка на запись демо": ""}),
    _deal(4, "Кузнецов сайт", "Иван Петров", "open", "Клиенты", "Квалификация", 40000, 3, 4, D(2026, 11, 3, 9, 0), D(2026, 11, 18, 9, 0)),
    _deal(5, "Альфа Маркет — внедрение", "Анна Смирнова", "open", "Клиенты", "Выставлен счет", None, 5, None, D(2026, 9, 1, 9, 0), D(2026, 11, 19, 9, 0),
          **{"Посещаемость": "", "Ссылка на коммерческое предложение": ""}),
    _deal(6, "Бета без организации", "Иван Петров", "open", "Клиенты", "Квалификация", 20000, None, None, D(2026, 11, 5, 9, 0), D(2026, 11, 19, 9, 0)),
    _deal(7, "Партнер не агентство", "Иван Петров", "open", "Партнеры", "Знакомство", 30000, 1, None, D(2026, 11, 6, 9, 0), D(2026, 11, 19, 9, 0)),
    _deal(8, "Сделка Ольги без партнера", "Ольга Партнерова", "open", "Клиенты", "Отправлено КП", 50000, 6, None, D(2026, 10, 20, 9, 0), D(2026, 11, 19, 9, 0)),
    _deal(9, "Выигранная поставка", "Анна Смирнова", "won", "Клиенты", "Выставлен счет", 300000, 1, 1, D(2026, 8, 1, 9, 0), D(2026, 11, 1, 9, 0),
          **{"Город": ""}),
    _deal(10, "Проигранная несезон", "Иван Петров", "lost", "Клиенты", "Квалификация", 25000, 5, None, D(2026, 7, 1, 9, 0), D(2026, 10, 1, 9, 0),
          lost="Несезон", **{"Источник сделки": ""}),
    _deal(11, "Проигранная дорого", "Анна Смирнова", "lost", "Партнеры", "Знакомство", 60000, 2, 3, D(2026, 7, 2, 9, 0), D(2026, 10, 2, 9, 0),
          lost="Дорого"),
    _deal(12, "Тестовый период Кузнецов", "Анна Смирнова", "open", "Клиенты", "Тестовый период", 90000, 1, 1, D(2026, 9, 5, 9, 0), D(2026, 10, 1, 9, 0)),
]
TASKS = [
    # id, deal n, subject, due, done
    (1, 1, "Созвон по КП", dt.date(2026, 11, 25), False),
    (2, 3, "Отправить запись демо", dt.date(2026, 11, 10), False),
    (3, 4, "Уточнить бриф", dt.date(2026, 11, 21), False),
    (4, 5, "Оплата счета", dt.date(2026, 11, 27), False),
    (5, 6, "Найти ЛПР", dt.date(2026, 11, 24), False),
    (6, 7, "Встреча", dt.date(2026, 11, 26), False),
    (7, 8, "Звонок", dt.date(2026, 11, 23), False),
    (8, 12, "Итоги теста", dt.date(2026, 11, 30), False),
    (9, 2, "Первый звонок", dt.date(2026, 11, 3), True),
    (10, 11, "Архив", dt.date(2026, 10, 1), True),
]
CUSTOM = ["Посещаемость", "Источник сделки", "Город", "Страна", "Ссылка на запись демо", "Ссылка на коммерческое предложение", "Партнерская организация"]


def org(i):
    return next(o for o in ORGS if o[0] == i) if i else None


def person(i):
    return next(p for p in PERSONS if p[0] == i) if i else None


def pname(p):
    return f"{p[1]} {p[2]}"


def stage_for(crm, d):
    if crm in WON_LOST and d["status"] != "open":
        return WON_LOST[crm][0 if d["status"] == "won" else 1]
    return d["stage"]


def write_csv(path, rows, delimiter=",", encoding="utf-8", quoting=csv.QUOTE_MINIMAL, footer=()):
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator="\r\n")
    w.writerows(rows)
    for line in footer:
        buf.write(line + "\r\n")
    path.write_bytes(buf.getvalue().encode(encoding))


def _fmt_amount_ru(v):
    return "" if v is None else f"{v:,.2f}".replace(",", "\u00a0").replace(".", ",")


# --------------------------------------------------------------------------- writers


def write_pipedrive(d: Path, ids) -> None:
    d.mkdir(parents=True, exist_ok=True)
    head = ["ID", "Title", "Owner", "Value", "Currency", "Organization", "Organization ID", "Contact person", "Contact person ID",
            "Pipeline", "Stage", "Status", "Lost reason", "Deal created", "Last stage change", "Бюджет", *CUSTOM]
    rows = [[f"Deal - {h}" for h in head]]
    for x in DEALS:
        o, p = org(x["org"]), person(x["person"])
        rows.append([ids(x["n"]), x["title"], x["owner"], "" if x["value"] is None else x["value"], "RUB",
                     o[1] if o else "", o[0] if o else "", pname(p) if p else "", p[0] if p else "",
                     x["pipeline"], x["stage"], x["status"].capitalize(), x["lost"],
                     f"{x['created']:%Y-%m-%d %H:%M:%S}", f"{x['changed']:%Y-%m-%d %H:%M:%S}",
                     "" if x["value"] is None else x["value"], *[x["custom"][c] for c in CUSTOM]])
    write_csv(d / "deals.csv", rows, quoting=csv.QUOTE_ALL)
    write_csv(d / "organizations.csv", [["Organization - ID", "Organization - Name", "Organization - Owner", "Organization - Агентство ли это"]]
              + [list(o) for o in ORGS], quoting=csv.QUOTE_ALL)
    write_csv(d / "persons.csv", [["Person - ID", "Person - Name", "Person - Owner", "Person - Organization"]]
              + [[p[0], pname(p), p[3], org(p[4])[1]] for p in PERSONS], quoting=csv.QUOTE_ALL)
    write_csv(d / "activities.csv", [["Activity - ID", "Activity - Subject", "Activity - Type", "Activity - Due date", "Activity - Done", "Activity - Deal ID"]]
              + [[t[0], t[2], "Call", f"{t[3]:%Y-%m-%d}", "Done" if t[4] else "To do", ids(t[1])] for t in TASKS], quoting=csv.QUOTE_ALL)


AMO_CONTACT_HEAD = ["ID", "Тип", "Полное имя контакта", "Имя", "Фамилия", "Название компании", "Ответственный",
                    "Дата создания контакта", "Кем создан контакт", "Сделки", "Дата редактирования", "Теги"]


def write_amocrm(d: Path, ids, contacts_list: bool = False) -> None:
    """amoCRM list export with the real headers (in their order): `;`, UTF-8
    BOM, «Бюджет » with a trailing space, «Дата создания сделки» / «Дата
    редактирования», won/lost as stages, «не закрыта», DD.MM.YYYY HH:MM:SS, no
    tasks file. Contacts and companies: the contacts list export (one header
    set, «Тип» контакт / компания, dates DD-MM-YYYY), saved as two files —
    or, ``contacts_list``, as amoCRM writes it: one contacts.csv with both,
    a company row naming the company in «Полное имя контакта» (and in
    «Название компании» or not)."""
    d.mkdir(parents=True, exist_ok=True)
    head = ["ID", "Название сделки", "Бюджет ", "Ответственный", "Дата создания сделки", "Кем создана сделка", "Дата редактирования",
            "Кем редактирована", "Дата закрытия", "Теги", "Примечание", "Этап сделки", "Воронка", "Полное имя контакта",
            "Компания контакта", "Ответственный за контакт", "Компания", "Причина отказа", *[c for c in CUSTOM]]
    rows = [head]
    for x in DEALS:
        o, p = org(x["org"]), person(x["person"])
        closed = "не закрыта" if x["status"] == "open" else f"{x['changed']:%d.%m.%Y %H:%M:%S}"
        budget = "" if x["value"] is None else f"{x['value']:,}".replace(",", " ")
        rows.append([ids(x["n"]), x["title"], budget, x["owner"], f"{x['created']:%d.%m.%Y %H:%M:%S}", x["owner"],
                     f"{x['changed']:%d.%m.%Y %H:%M:%S}", x["owner"], closed, "", "", stage_for("amocrm", x), x["pipeline"],
                     pname(p) if p else "", org(p[4])[1] if p else "", p[3] if p else "", o[1] if o else "", x["lost"],
                     *[x["custom"][c] for c in CUSTOM]])
    write_csv(d / "amocrm_export_leads_2026-11-20.csv", rows, delimiter=";", encoding="utf-8-sig")
    created = "01-09-2026 10:00:00"
    if contacts_list:
        persons = [[4000 + p[0], "контакт", pname(p), p[1], p[2], org(p[4])[1], p[3], created, p[3], "", created, "", ""] for p in PERSONS]
        companies = [[3000 + o[0], "компания", o[1], "", "", o[1] if o[0] % 2 else "", o[2], created, o[2], "", created, "", o[3]]
                     for o in ORGS]
        rows = [AMO_CONTACT_HEAD + ["Агентство ли это"], *[r for pair in zip(persons, companies) for r in pair], *companies[len(persons):]]
        write_csv(d / "contacts.csv", rows, delimiter=";", encoding="utf-8-sig")
        return
    write_csv(d / "companies.csv", [AMO_CONTACT_HEAD + ["Агентство ли это"]]
              + [[3000 + o[0], "компания", "", "", "", o[1], o[2], created, o[2], "", created, "", o[3]] for o in ORGS],
              delimiter=";", encoding="utf-8-sig")
    write_csv(d / "contacts.csv", [AMO_CONTACT_HEAD]
              + [[4000 + p[0], "контакт", pname(p), p[1], p[2], org(p[4])[1], p[3], created, p[3], "", created, ""] for p in PERSONS],
              delimiter=";", encoding="utf-8-sig")


BITRIX_HEAD = {
    "ru": ["ID", "Название сделки", "Стадия сделки", "Направление", "Ответственный", "Сумма", "Валюта", "Компания", "Контакт",
           "Сделка закрыта", "Дата создания", "Дата изменения", "Кем создана", "Кем изменена", "Предполагаемая дата закрытия",
           "Комментарий", "Причина проигрыша", "Бюджет", *CUSTOM],
    "en": ["ID", "Deal Name", "Stage", "Pipeline", "Responsible", "Income", "Currency", "Company", "Contact",
           "Closed", "Created", "Modified", "Created by", "Modified by", "Assumed close date",
           "Comment", "Причина проигрыша", "Бюджет", *CUSTOM],
}


def bitrix_csv(path: Path, rows, encoding="cp1251") -> None:
    """Bitrix24's CSV: every field quoted and followed by `;`, the last one too."""
    text = "".join("".join('"' + str(c).replace('"', '""') + '";' for c in r) + "\r\n" for r in rows)
    path.write_bytes(text.encode(encoding))


def write_bitrix24(d: Path, ids, deals_as="html", lang="ru") -> None:
    """Bitrix24 with the deal list's real column titles: deals as the «Excel»
    export (an HTML table named .xls) or as the CSV export (`"…";` fields,
    cp1251); contacts and companies as such CSV exports (cp1251 / UTF-8 BOM).
    The export has no date of the last stage change."""
    d.mkdir(parents=True, exist_ok=True)
    yes_no = ("Да", "Нет") if lang == "ru" else ("Yes", "No")
    rows = [BITRIX_HEAD[lang]]
    for x in DEALS:
        o, p = org(x["org"]), person(x["person"])
        rows.append([ids(x["n"]), x["title"], stage_for("bitrix24", x), x["pipeline"], x["owner"],
                     "" if x["value"] is None else f"{x['value']:.2f}", "Российский рубль", o[1] if o else "", pname(p) if p else "",
                     yes_no[x["status"] == "open"], f"{x['created']:%d.%m.%Y %H:%M:%S}", f"{x['changed']:%d.%m.%Y %H:%M:%S}",
                     x["owner"], x["owner"], f"{x['changed'] + dt.timedelta(days=30):%d.%m.%Y}", "", x["lost"],
                     "" if x["value"] is None else x["value"], *[x["custom"][c] for c in CUSTOM]])
    if deals_as == "csv":
        bitrix_csv(d / "deal_list.csv", rows)
    else:
        out = ['<meta http-equiv="Content-type" content="text/html;charset=utf-8" />',
               '<table border="1">', "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in rows[0]) + "</tr></thead>", "<tbody>"]
        for cells in rows[1:]:
            out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        out.append("</tbody></table>")
        (d / "deal_list.xls").write_text("\n".join(out), encoding="utf-8")
    bitrix_csv(d / "companies.csv", [["ID", "Название компании", "Ответственный", "Агентство ли это"]]
               + [[700 + o[0], o[1], o[2], o[3]] for o in ORGS], encoding="utf-8-sig")
    bitrix_csv(d / "contacts.csv", [["ID", "Имя", "Фамилия", "Ответственный", "Компания"]]
               + [[800 + p[0], p[1], p[2], p[3], org(p[4])[1]] for p in PERSONS])


HUBSPOT_DEAL_HEAD = [
    "Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Amount in company currency", "Close Date", "Create Date", "Deal owner",
    "Last Modified Date", "Next Activity Date", "Closed Lost Reason", "Closed Won Reason", "Associated Company", "Associated Contact",
    "Associated Company IDs", "Associated Contact IDs", "Associated Company IDs (Primary)", "Associated Company (Primary)", "Is Closed Won",
    "Is closed lost", "Is Deal Closed?", "Is Closed (numeric)", "Last Activity Date", "Associated Task IDs", "Date entered current stage",
    'Date entered "Принял в работу (Клиенты)"', 'Date entered "Closed Won (Клиенты)"']


def write_hubspot(d: Path, ids) -> None:
    """HubSpot index exports with the real deals / contacts headers: Record
    ID, ISO dates with a time, amounts as 468.0, several associations joined
    by ";" (the primary company not first), contacts as «Name (e-mail)»,
    true/false and 1.0/0.0 closed flags, `Date entered "<stage> (<pipeline>)"`
    columns; US m/d/y due dates in tasks (best knowledge)."""
    d.mkdir(parents=True, exist_ok=True)
    rows = [[*HUBSPOT_DEAL_HEAD, "Бюджет", *CUSTOM]]
    tf = lambda t: "" if t is None else f"{t:%Y-%m-%d %H:%M}"  # noqa: E731
    amount = lambda v: "" if v is None else f"{v:.1f}"  # noqa: E731
    for x in DEALS:
        o, p = org(x["org"]), person(x["person"])
        closed, won = x["status"] != "open", x["status"] == "won"
        tasks = [str(t[0]) for t in TASKS if t[1] == x["n"]]
        rows.append([ids(x["n"]), x["title"], stage_for("hubspot", x), x["pipeline"], amount(x["value"]), amount(x["value"]),
                     tf(x["changed"] if closed else x["changed"] + dt.timedelta(days=30)), tf(x["created"]), x["owner"],
                     tf(x["changed"]), "", x["lost"], "",
                     f"Другая компания;{o[1]}" if o else "", f"{pname(p)} (client{p[0]}@example.com)" if p else "",
                     f"{9100 + o[0]};{9000 + o[0]}" if o else "", f"{7000 + p[0]}" if p else "",
                     f"{9000 + o[0]}" if o else "", o[1] if o else "",
                     str(won).lower(), str(closed and not won).lower(), str(closed).lower(), "1.0" if closed else "0.0",
                     tf(x["changed"]), ";".join(tasks), tf(x["changed"]), tf(x["created"]), tf(x["changed"]) if won else "",
                     amount(x["value"]), *[x["custom"][c] for c in CUSTOM]])
    write_csv(d / "hubspot-crm-exports-all-deals-2026-11-20.csv", rows)
    write_csv(d / "companies.csv", [["Record ID", "Company name", "Company owner", "Агентство ли это"]]
              + [[9000 + o[0], o[1], o[2], o[3]] for o in ORGS])
    write_csv(d / "contacts.csv", [["Record ID", "First Name", "Last Name", "Contact owner", "Company Name", "Associated Company",
                                    "Associated Company IDs"]]
              + [[7000 + p[0], p[1], p[2], p[3], org(p[4])[1], org(p[4])[1], 9000 + p[4]] for p in PERSONS])
    write_csv(d / "tasks.csv", [["Record ID", "Task Title", "Task Type", "Due Date", "Task Status", "Associated Deal IDs", "Assigned to"]]
              + [[t[0], t[2], "Call", f"{t[3]:%m/%d/%Y} 9:00 AM", "Completed" if t[4] else "Not started", ids(t[1]), ""] for t in TASKS])


def write_salesforce(d: Path, ids) -> None:
    """Salesforce reports: the opportunity report's real columns ("Stage
    Duration" in days, no "Last Stage Change Date") plus Opportunity ID,
    Amount ("RUB 150,000.00"), Closed/Won flags; m/d/y dates; the footer (a
    bare "Total" row, the confidentiality and © copyright lines); the activity
    report (real columns, the opportunity by name) as a formatted XLSX with
    title lines above the header."""
    d.mkdir(parents=True, exist_ok=True)
    head = ["Account Name", "Opportunity Name", "Opportunity Owner", "Created Date", "Close Date", "Stage", "Probability (%)",
            "Lead Source", "Next Step", "Next Activity Date", "Primary Contact", "Stage Duration", "Last Activity Date",
            "Amount", "Closed", "Won", "Loss Reason", "Opportunity Record Type", "Opportunity ID", "Account ID", "Бюджет", *CUSTOM]
    rows = [head]
    prob = {s: i * 10 for i, s in enumerate(CLIENTS)}
    prob.update({s: i * 10 + 5 for i, s in enumerate(PARTNERS) if s not in prob})
    for x in DEALS:
        o, p = org(x["org"]), person(x["person"])
        st = stage_for("salesforce", x)
        closed = x["status"] != "open"
        rows.append([o[1] if o else "", x["title"], x["owner"], f"{x['created']:%m/%d/%Y}",
                     f"{x['changed'] + dt.timedelta(days=0 if closed else 30):%m/%d/%Y}", st,
                     100 if x["status"] == "won" else 0 if x["status"] == "lost" else prob[st],
                     "", "", "", pname(p) if p else "", (AS_OF - x["changed"].date()).days, f"{x['changed']:%m/%d/%Y}",
                     "" if x["value"] is None else f"RUB {x['value']:,.2f}", int(closed), int(x["status"] == "won"),
                     x["lost"], x["pipeline"], ids(x["n"]), f"001A{o[0]:014d}" if o else "",
                     "" if x["value"] is None else x["value"], *[x["custom"][c] for c in CUSTOM]])
    total = sum(x["value"] or 0 for x in DEALS)
    footer = ['', '"Total"' + "," * head.index("Amount") + f'"RUB {total:,.2f}"', '', '"Confidential Information - Do Not Distribute"',
              '"Copyright © 2000-2025 salesforce.com, inc. All rights reserved."']
    write_csv(d / "opportunities.csv", rows, footer=footer)
    write_csv(d / "accounts.csv", [["Account ID", "Account Name", "Account Owner", "Агентство ли это"]]
              + [[f"001A{o[0]:014d}", o[1], o[2], o[3]] for o in ORGS])
    write_csv(d / "contacts.csv", [["Contact ID", "First Name", "Last Name", "Contact Owner", "Account Name"]]
              + [[f"003A{p[0]:014d}", p[1], p[2], p[3], org(p[4])[1]] for p in PERSONS])
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Activities with Opportunities"])
    ws.append(["Filtered By: Date equals LAST 90 DAYS"])
    ws.append([])
    ws.append(["Assigned", "Date", "Subject", "Status", "Opportunity", "Company / Account", "Contact", "Activity Type"])
    for t in TASKS:
        x = next(x for x in DEALS if x["n"] == t[1])
        o, p = org(x["org"]), person(x["person"])
        ws.append(["", dt.datetime.combine(t[3], dt.time()), t[2], "Completed" if t[4] else "Not Started", x["title"],
                   o[1] if o else "", pname(p) if p else "", "Call"])
    wb.save(d / "activities.xlsx")


WRITERS = {"pipedrive": write_pipedrive, "amocrm": write_amocrm, "bitrix24": write_bitrix24, "hubspot": write_hubspot, "salesforce": write_salesforce}
# realistic ids per CRM for the static fixtures
FIXTURE_IDS = {
    "pipedrive": lambda n: 100 + n,
    "amocrm": lambda n: 29470100 + n,
    "bitrix24": lambda n: 1500 + n,
    "hubspot": lambda n: 18345670000 + n,
    "salesforce": lambda n: f"0065g00000Ab{n:03d}QAA",
}


def settings_dict(crm: str) -> dict:
    ends = list(WON_LOST.get(crm, ()))
    return {
        "crm": crm,
        "deal_url": "https://crm.example/deal/{id}",
        "pipelines": {"Клиенты": CLIENTS + ends, "Партнеры": PARTNERS + ends},
        "frozen_lost_reasons": ["Сайт в разработке", "Несезон", "Смена маркетолога", "Согласование бюджета"],
        "partner_managers": ["Ольга Партнерова"],
        "trial_stages": ["Тестовый период"],
    }


def write_fixture(crm: str, root: Path, ids=None, export_dir: str = "export", **layout) -> tuple[Path, Path]:
    export = root / export_dir
    WRITERS[crm](export, ids or FIXTURE_IDS[crm], **layout)
    cfg = root / "crm-audit.yaml"
    cfg.write_text(yaml.safe_dump(settings_dict(crm), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return export, cfg


# amoCRM's contacts list as exported: contacts and companies in one file
AMO_CONTACTS_LIST = "export-contacts-list"


def audit(crm_dir: Path, export_dir: str = "export"):
    s = settings_mod.load(crm_dir / "crm-audit.yaml")
    return audit_export(s, crm_dir / export_dir, as_of=AS_OF)


def flagged(report) -> dict[str, set[str]]:
    return {r.rule_id: {str(x) for x in r.rows["deal_id"]} for r in report.results}


# --------------------------------------------------------------------------- per-CRM fixtures

SKIPPED = {
    "pipedrive": set(),
    "amocrm": {"open-deal-without-tasks", "frozen-deal-without-tasks", "overdue-tasks", "stuck-in-accepted", "no-stage-movement"},
    "bitrix24": {"open-deal-without-tasks", "frozen-deal-without-tasks", "overdue-tasks", "stuck-in-accepted", "no-stage-movement"},
    "hubspot": set(),
    "salesforce": set(),
}
#: inspect without settings: init's draft names no partner manager of the handbook, and with partner_managers: [] rule
#: 1.13 could flag no deal, so it is skipped naming the list and the export's owners (issue 13 acceptance O1)
NO_PARTNER_MANAGERS = {"partner-manager-deal-without-partner"}
# canonical deal number -> flagged by these rules (the data is built for it)
EXPECTED = {
    "open-deal-without-tasks": {2},
    "frozen-deal-without-tasks": {10},
    "missing-amount-after-proposal": {5},
    "missing-traffic-or-budget": {5},
    "invalid-name": {2},
    "partner-org-not-set": {4},
    "owner-mismatch": {5, 7},
    "missing-source": {2, 10},
    "missing-demo-recording": {3},
    "missing-proposal-link": {5},
    "open-deal-without-organization": {6},
    "partner-pipeline-org-not-agency": {7},
    "partner-manager-deal-without-partner": {8},
    "missing-city-or-country": {2, 9},
    "stuck-in-accepted": {2},
    "overdue-tasks": {3},
    "no-stage-movement": {2},
}


@pytest.mark.parametrize("crm", CRMS)
def test_fixture_runs_all_17_rules(crm):
    rep = audit(FIXTURES / crm)
    assert len(rep.results) == 17
    assert rep.deal_count == 12
    ids = FIXTURE_IDS[crm]
    got = flagged(rep)
    skipped = {r.rule_id for r in rep.results if r.note.startswith("Правило пропущено:")}
    assert skipped == SKIPPED[crm]
    for rule_id, deals in EXPECTED.items():
        if rule_id in skipped:
            assert got[rule_id] == set()
            continue
        assert got[rule_id] == {str(ids(n)) for n in deals}, (crm, rule_id)
    # closed deals got their state from the CRM's own encoding
    states = {}
    for r in rep.results:
        states.update(dict(zip(r.rows["deal_id"].astype(str), r.rows["state"])))
    assert states[str(ids(9))] == "Выиграна" and states[str(ids(10))] == "Проиграна"
    # no stage is unknown: the settings list the CRM's won/lost stages last
    assert not [w for w in rep.warnings if w.code == "unknown-stage"], [w.message for w in rep.warnings]
    warned = [w for w in rep.warnings if w.code == "rule-skipped"]
    assert len(warned) == len(SKIPPED[crm])


def test_amocrm_contacts_list_with_companies_in_one_file():
    """amoCRM's contacts list as exported (contacts and companies in one
    contacts.csv, «Тип» telling them apart) audits as the split files."""
    mixed, split = audit(FIXTURES / "amocrm", AMO_CONTACTS_LIST), audit(FIXTURES / "amocrm")
    assert len(mixed.results) == 17 and mixed.deal_count == 12
    assert {r.rule_id for r in mixed.results if r.note.startswith("Правило пропущено:")} == SKIPPED["amocrm"]
    assert flagged(mixed) == flagged(split)
    assert flagged(mixed)["partner-pipeline-org-not-agency"] == {str(FIXTURE_IDS["amocrm"](7))}  # read from the company rows
    assert [w.code for w in mixed.warnings] == [w.code for w in split.warnings]


def test_amocrm_contacts_list_rows_and_inspect():
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import load_profile

    export = FIXTURES / "amocrm" / AMO_CONTACTS_LIST
    ex = load_export(export, load_profile("amocrm"))
    try:
        orgs, persons = ex.entities["organizations"], ex.entities["persons"]
        assert orgs.file.name == persons.file.name == "contacts.csv"
        assert (orgs.rows, persons.rows) == (len(ORGS), len(PERSONS))
        # a company row names the company in «Название компании», else in «Полное имя контакта»
        assert ex.con.execute("SELECT id, name FROM organizations ORDER BY id").fetchall() == [(str(3000 + o[0]), o[1]) for o in ORGS]
        assert ex.con.execute("SELECT name FROM persons ORDER BY id").fetchall() == [(pname(p),) for p in PERSONS]
        assert ex.con.execute("SELECT count(*) FROM deals WHERE org_id LIKE '30%' AND person_id LIKE '40%'").fetchone()[0] > 0
    finally:
        ex.close()
    rep = inspect_export(export)
    assert rep.profile == "amocrm"
    by_entity = {f.entity: f for f in rep.files}
    assert by_entity["organizations"].path.name == by_entity["persons"].path.name == "contacts.csv"
    assert (by_entity["organizations"].rows, by_entity["persons"].rows) == (len(ORGS), len(PERSONS))
    text = format_report(rep)
    assert "contacts.csv → organizations: 6 rows" in text and "contacts.csv → persons (contacts): 4 rows" in text
    assert "only the rows whose «Тип» is компания" in text and "only the rows whose «Тип» is контакт" in text
    assert not rep.rules_in("fail") and set(rep.rules_in("skip")) == SKIPPED["amocrm"] | NO_PARTNER_MANAGERS


@pytest.mark.parametrize("name", ["amocrm_export_contacts.csv", "контакты.csv"])  # before / after companies.csv
def test_amocrm_contacts_list_and_a_companies_file(tmp_path, name):
    """A companies.csv of its own is read instead of the contacts list's company rows, said once."""
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import load_profile

    export, _ = write_fixture("amocrm", tmp_path, export_dir="e", contacts_list=True)
    (export / "contacts.csv").rename(export / name)
    write_amocrm(tmp_path / "split", FIXTURE_IDS["amocrm"])
    (export / "companies.csv").write_bytes((tmp_path / "split" / "companies.csv").read_bytes())
    with (export / name).open("a", encoding="utf-8") as fh:
        fh.write("5001;сделка;Чужая строка;;;;;;;;;;\r\n")  # a «Тип» no entity takes
    ex = load_export(export, load_profile("amocrm"))
    try:
        assert ex.entities["organizations"].file.name == "companies.csv" and ex.entities["persons"].file.name == name
        assert ex.entities["organizations"].rows == len(ORGS) and ex.entities["persons"].rows == len(PERSONS)
        skipped = [w for w in ex.warnings if w.code == "rows-skipped"]
        assert len(skipped) == 2, [w.message for w in skipped]
        assert any("6 row(s)" in w.message and "companies.csv" in w.message for w in skipped)
        assert any("«сделка»" in w.message and w.row == 12 for w in skipped)
    finally:
        ex.close()


def test_skipped_rule_note_and_summary(capsys, tmp_path):
    d = FIXTURES / "amocrm"
    code = main(["run", "-c", str(d / "crm-audit.yaml"), "--export", str(d / "export"), "--as-of", "2026-11-20",
                 "--out", str(tmp_path / "a.xlsx"), "--ledger", str(tmp_path / "crm-audit.db")])
    out = capsys.readouterr().out
    assert code == 0
    assert "Rule skipped" in out and "open-deal-without-tasks" in out and "overdue-tasks" in out
    rep = audit(d)
    r11 = next(r for r in rep.results if r.rule_id == "open-deal-without-tasks")
    assert r11.note.startswith("Правило пропущено: ") and "задач" in r11.note and r11.count == 0
    r22 = next(r for r in rep.results if r.rule_id == "stuck-in-accepted")
    assert "этап" in r22.note


def test_column_the_crm_exports_but_the_file_lacks_is_still_an_error(tmp_path, capsys):
    export, cfg = write_fixture("hubspot", tmp_path)
    (export / "tasks.csv").unlink()  # a file left out of the export: its rules are skipped and say why
    code = main(["run", "-c", str(cfg), "--export", str(export), "--as-of", "2026-11-20", "--ledger", str(tmp_path / "l.db")])
    out = capsys.readouterr().out
    assert code == 0 and "open-deal-without-tasks: Rule skipped: the export has no tasks file" in out and "overdue-tasks" in out
    # amoCRM: a deals file without «Посещаемость» (a company field) is an error
    export, cfg = write_fixture("amocrm", tmp_path / "amo")
    f = next(export.glob("amocrm_export_leads*"))
    rows = list(csv.reader(io.StringIO(f.read_text(encoding="utf-8-sig"), newline=""), delimiter=";"))
    i = rows[0].index("Посещаемость")
    write_csv(f, [r[:i] + r[i + 1:] for r in rows], delimiter=";", encoding="utf-8-sig")
    code = main(["run", "-c", str(cfg), "--export", str(export), "--as-of", "2026-11-20"])
    err = capsys.readouterr().err
    assert code == 2 and "Посещаемость" in err and "missing-traffic-or-budget" in err and f.name in err


# --------------------------------------------------------------------------- round trip


def test_round_trip_same_deals_same_violations(tmp_path):
    same_ids = lambda n: 100 + n  # noqa: E731
    results = {}
    for crm in CRMS:
        write_fixture(crm, tmp_path / crm, same_ids)
        results[crm] = audit(tmp_path / crm)
    base = flagged(results["pipedrive"])
    assert all(base[r] for r in base), "the canonical deals hit every rule in Pipedrive"
    for crm in CRMS[1:]:
        got = flagged(results[crm])
        skipped = {r.rule_id for r in results[crm].results if r.note}
        for rule_id in base:
            if rule_id not in skipped:
                assert got[rule_id] == base[rule_id], (crm, rule_id)


# --------------------------------------------------------------------------- inspect / detection / init


@pytest.mark.parametrize("crm", CRMS)
def test_profile_is_detected_by_headers(crm):
    name, scores = detect_profile(FIXTURES / crm / "export")
    assert name == crm, scores


def test_inspect_report_amocrm():
    rep = inspect_export(FIXTURES / "amocrm" / "export")
    assert rep.profile == "amocrm" and rep.detected
    deals = next(f for f in rep.files if f.entity == "deals")
    assert deals.rows == 12
    assert ("Название сделки", "title") in deals.mapped and ("Бюджет", "value") in deals.mapped  # trailing space trimmed
    assert ("Дата создания сделки", "created") in deals.mapped and ("Дата редактирования", "modified") in deals.mapped
    assert ("Компания", "org_name") in deals.mapped and ("Полное имя контакта", "person_name") in deals.mapped
    persons = next(f for f in rep.files if f.entity == "persons")
    assert ("Полное имя контакта", "name") in persons.mapped and ("Название компании", "org_name") in persons.mapped
    assert "Посещаемость" in deals.custom
    assert set(rep.rules_in("skip")) == SKIPPED["amocrm"] | NO_PARTNER_MANAGERS
    assert not rep.rules_in("fail") and len(rep.rules_in("run")) == 11
    text = format_report(rep)
    assert "Profile: amocrm" in text and "would be skipped" in text and "activities" in text


def test_inspect_cli_shows_failures_and_parse_problems(tmp_path, capsys):
    export, _ = write_fixture("hubspot", tmp_path)
    (export / "tasks.csv").unlink()
    f = next(export.glob("hubspot-crm-exports-all-deals*"))
    f.write_text(f.read_text(encoding="utf-8").replace("2026-11-01 10:00", "вчера", 1), encoding="utf-8")
    code = main(["inspect", str(export)]) if _has_inspect() else _call_inspect(export)
    out = capsys.readouterr().out
    assert code == 0
    assert "hubspot" in out and "would be skipped" in out and "the export has no tasks file" in out and "«вчера»" in out and "row 3" in out


def _has_inspect() -> bool:
    from crm_audit.cli import cli

    return "inspect" in cli.commands


def _call_inspect(export):
    from click.testing import CliRunner

    from crm_audit.cli_profiles import inspect_cmd

    res = CliRunner().invoke(inspect_cmd, [str(export)])
    sys.stdout.write(res.output)
    return res.exit_code


@pytest.mark.parametrize("crm", CRMS)
def test_init_from_export_prefills_pipelines(crm, tmp_path):
    pipes = pipelines_from_export(FIXTURES / crm / "export", crm)
    assert set(pipes) == {"Клиенты", "Партнеры"}
    ends = list(WON_LOST.get(crm, ()))
    if ends:
        assert pipes["Клиенты"][-2:] == ends and pipes["Партнеры"][-2:] == ends
    # every stage a deal is in, nothing else
    found = {x["stage"] for x in DEALS if x["pipeline"] == "Клиенты" and x["status"] == "open"}
    assert found <= set(pipes["Клиенты"])
    path = write_settings_from_export(tmp_path, crm, FIXTURES / crm / "export")
    s = settings_mod.load(path)
    assert s.crm == crm and s.trial_stages == ["Тестовый период"]
    assert settings_from_export(FIXTURES / crm / "export", crm)["pipelines"]
    # the written settings audit the export without unknown stages
    rep = audit_export(s, FIXTURES / crm / "export", as_of=AS_OF)
    assert not [w for w in rep.warnings if w.code == "unknown-stage"]


def test_salesforce_stage_order_by_probability():
    pipes = pipelines_from_export(FIXTURES / "salesforce" / "export", "salesforce")
    found = [s for s in CLIENTS if s in pipes["Клиенты"]]
    assert pipes["Клиенты"][: len(found)] == found


def test_unreadable_export_in_inspect(tmp_path):
    (tmp_path / "deals.csv").write_bytes(b"\x00\x01\x02binary\xff\xfe")
    rep = inspect_export(tmp_path, crm="pipedrive")
    assert rep.error and "deals.csv" in rep.error


# --------------------------------------------------------------------------- reading quirks of these CRMs


def test_salesforce_footer_and_us_dates(tmp_path):
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import load_profile

    export, _ = write_fixture("salesforce", tmp_path)
    ex = load_export(export, load_profile("salesforce"))
    try:
        deals = ex.entities["deals"]
        assert deals.rows == 12
        row = ex.con.execute("SELECT created, value, status FROM deals WHERE title = 'Ромашка — CRM'").fetchone()
        assert row == (dt.date(2026, 10, 1), 150000.0, "open")
        assert [w.message for w in ex.warnings if w.code == "footer"] == ["3 report footer line(s) (totals, notes) skipped"]
        acts = ex.entities["activities"]
        assert acts.rows == len(TASKS) and acts.raw.header_row == 4
        # the opportunity named by the activity is its deal
        assert [n.text("en") for n in acts.notes["deal_id"]][0].startswith("linked by name to ")
        assert ex.con.execute("SELECT deal_id FROM activities WHERE subject = 'Созвон по КП'").fetchone() == ("0065g00000Ab001QAA",)
        assert ex.con.execute("SELECT count(*) FROM activities WHERE deal_id IS NULL").fetchone() == (0,)
        # no "Last Stage Change Date": the stage date is the audit date (default today) minus "Stage Duration"
        days = (AS_OF - dt.date(2026, 11, 15)).days
        assert ex.con.execute("SELECT stage_changed FROM deals WHERE title = 'Ромашка — CRM'").fetchone() == (dt.date.today() - dt.timedelta(days=days),)
        assert ex.entities["deals"].fields["stage_changed"].startswith("Stage Duration")
    finally:
        ex.close()


def test_day_first_dates_in_a_us_profile_are_detected(tmp_path):
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import load_profile

    (tmp_path / "deals.csv").write_text(
        "Record ID,Deal Name,Deal Stage,Pipeline,Create Date\n1,А сделка,Принял в работу,Клиенты,25/11/2026\n2,Б сделка,Принял в работу,Клиенты,03/11/2026\n",
        encoding="utf-8")
    ex = load_export(tmp_path, load_profile("hubspot"))
    try:
        assert ex.con.execute("SELECT created FROM deals ORDER BY _row").fetchall() == [(dt.date(2026, 11, 25),), (dt.date(2026, 11, 3),)]
        assert any(w.code == "date-order" for w in ex.warnings)
    finally:
        ex.close()


def test_bitrix_cp1251_html_and_amo_not_closed(tmp_path):
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import load_profile

    export, _ = write_fixture("bitrix24", tmp_path / "b")
    # the same HTML table in cp1251 with a matching meta charset
    f = export / "deal_list.xls"
    f.write_bytes(f.read_text(encoding="utf-8").replace("charset=utf-8", "charset=windows-1251").encode("cp1251"))
    assert b"<thead>" in f.read_bytes()
    ex = load_export(export, load_profile("bitrix24"))
    try:
        assert ex.entities["deals"].raw.kind == "html"
        assert ex.con.execute("SELECT value, status, org_id IS NOT NULL FROM deals WHERE title = 'Ромашка — CRM'").fetchone() == (150000.0, "open", True)
        assert ex.con.execute("SELECT name FROM persons WHERE id = '802'").fetchone() == ("Петр 89161234567",)
    finally:
        ex.close()
    export, _ = write_fixture("amocrm", tmp_path / "a")
    ex = load_export(export, load_profile("amocrm"))
    try:
        assert ex.con.execute("SELECT count(*) FROM deals WHERE closed IS NULL").fetchone()[0] == 9
        assert not [w for w in ex.warnings if w.code == "bad-value"]
    finally:
        ex.close()


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_bitrix_csv_export_with_trailing_semicolons(tmp_path, lang):
    """The CSV export (`"…";` on every field, the last one too) and the English
    column titles audit exactly as the HTML «Excel» export in Russian."""
    export, cfg = write_fixture("bitrix24", tmp_path)
    (export / "deal_list.xls").unlink()
    write_bitrix24(export, FIXTURE_IDS["bitrix24"], deals_as="csv", lang=lang)
    assert (export / "deal_list.csv").read_bytes().split(b"\r\n")[1].endswith(b'";')
    assert detect_profile(export)[0] == "bitrix24"
    rep = audit(tmp_path)
    assert flagged(rep) == flagged(audit(FIXTURES / "bitrix24"))
    assert rep.deal_count == 12
    # the empty column after the last `;` is no field, no warning; the fixture's custom field «Партнерская
    # организация» is blank in every row, which is said (issue 13 acceptance K13)
    assert [w.params.get("column") if w.code == "blank-column" else w.code for w in rep.warnings
            if w.code not in ("rule-skipped",)] == ["Партнерская организация"], [w.message for w in rep.warnings]
    ins = inspect_export(export, crm="bitrix24")
    deals = next(f for f in ins.files if f.entity == "deals")
    assert {"title", "stage", "pipeline", "owner", "value", "created", "modified", "close_date", "closed_flag"} <= {f for _, f in deals.mapped}
    assert "stage_changed" not in {f for _, f in deals.mapped}


def test_bitrix_product_rows_duplicate_deal_ids_are_explained(tmp_path):
    export, cfg = write_fixture("bitrix24", tmp_path)
    (export / "deal_list.xls").unlink()
    write_bitrix24(export, FIXTURE_IDS["bitrix24"], deals_as="csv")
    f = export / "deal_list.csv"
    lines = f.read_bytes().split(b"\r\n")
    f.write_bytes(b"\r\n".join([lines[0], lines[1], lines[1], *lines[2:]]))  # deal 1 has two products
    rep = audit(tmp_path)
    dup = [w for w in rep.warnings if w.code == "duplicate-deal"]
    assert len(dup) == 1 and "1501" in dup[0].message and "«Товар»" in dup[0].message
    assert flagged(rep) == flagged(audit(FIXTURES / "bitrix24"))


def test_bitrix_contact_from_its_first_and_last_name_columns(tmp_path):
    """The deal list with the contact's fields chosen: «Контакт: Имя» +
    «Контакт: Фамилия» give the contact when there is no «Контакт» (or it is blank)."""
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import load_profile

    export, _ = write_fixture("bitrix24", tmp_path)
    (export / "deal_list.xls").unlink()
    write_bitrix24(export, FIXTURE_IDS["bitrix24"], deals_as="csv")
    f = export / "deal_list.csv"
    rows = [r[:-1] for r in csv.reader(io.StringIO(f.read_text(encoding="cp1251"), newline=""), delimiter=";")]
    i = rows[0].index("Контакт")
    split = [r[:i] + r[i + 1:] + (["Контакт: Имя", "Контакт: Фамилия"] if k == 0 else r[i].split(" ", 1) if r[i] else ["", ""])
             for k, r in enumerate(rows)]
    bitrix_csv(f, split)
    rep = audit(tmp_path)
    assert flagged(rep) == flagged(audit(FIXTURES / "bitrix24"))
    ex = load_export(export, load_profile("bitrix24"))
    try:
        assert ex.entities["deals"].fields["person_name"] == "Контакт: Имя + Контакт: Фамилия"
        assert ex.con.execute("SELECT person_name FROM deals WHERE title = 'Ромашка — CRM'").fetchone() == ("Мария Иванова",)
        assert ex.con.execute("SELECT count(*) FROM deals WHERE person_id IS NOT NULL").fetchone()[0] > 0
    finally:
        ex.close()
    # «Контакт» too: it is the name; a row where it is blank takes the two columns
    assert rows[1][i] and rows[2][i]
    both = [rows[0] + ["Контакт: Имя", "Контакт: Фамилия"],
            rows[1][:i] + [""] + rows[1][i + 1:] + rows[1][i].split(" ", 1),  # blank «Контакт»
            rows[2] + ["Другое", "Имя"],  # «Контакт» wins
            *[r + ["", ""] for r in rows[3:]]]
    bitrix_csv(f, both)
    ex = load_export(export, load_profile("bitrix24"))
    try:
        assert ex.entities["deals"].fields["person_name"] == "Контакт"
        assert [n.text("en") for n in ex.entities["deals"].notes["person_name"]] == ["else Контакт: Имя + Контакт: Фамилия"]
        got = ex.con.execute("SELECT person_name FROM deals ORDER BY _row").fetchall()
        assert [g[0] or "" for g in got] == [r[i] for r in rows[1:]]
    finally:
        ex.close()


def test_hubspot_primary_company_contact_names_and_closed_flags(tmp_path):
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import load_profile

    export, _ = write_fixture("hubspot", tmp_path)
    f = next(export.glob("hubspot-crm-exports-all-deals*"))
    # a closed stage of the user's own: the "Is Deal Closed?" / "Is Closed Won" flags tell won from lost
    f.write_text(f.read_text(encoding="utf-8").replace(",Closed Lost,", ",Отказ клиента,"), encoding="utf-8")
    ex = load_export(export, load_profile("hubspot"))
    try:
        row = ex.con.execute("SELECT org_id, org_name, person_name FROM deals WHERE title = 'Ромашка — CRM'").fetchone()
        assert row == ("9001", "ООО Ромашка", "Мария Иванова")  # the primary company, the e-mail dropped
        got = dict(ex.con.execute("SELECT title, status FROM deals WHERE stage = 'Отказ клиента'").fetchall())
        assert got == {"Проигранная несезон": "lost", "Проигранная дорого": "lost"}
        assert ex.con.execute("SELECT status FROM deals WHERE title = 'Выигранная поставка'").fetchone() == ("won",)
        assert ex.entities["deals"].fields["stage_changed"] == "Date entered current stage"
        assert 'Date entered "Принял в работу (Клиенты)"' in {h for _, h in ex.entities["deals"].custom.values()}
    finally:
        ex.close()


def test_unknown_crm_name_is_a_settings_error():
    from crm_audit.errors import SettingsError
    from crm_audit.engine.profile import load_profile

    with pytest.raises(SettingsError, match="available: amocrm, bitrix24, hubspot, pipedrive, salesforce"):
        load_profile("zoho")


def test_inputerror_for_missing_deal_id_column_in_salesforce(tmp_path):
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import load_profile

    (tmp_path / "opportunities.csv").write_text('"Stage","Amount"\n"Prospecting","5"\n\n"Grand Totals (1 records)"\n', encoding="utf-8")
    with pytest.raises(InputError, match="Opportunity ID"):
        load_export(tmp_path, load_profile("salesforce"))
    # with the opportunity's name the report is read, its keys derived from the content (issue 13 L10)
    (tmp_path / "opportunities.csv").write_text('"Opportunity Name","Stage"\n"A","Prospecting"\n\n"Grand Totals (1 records)"\n', encoding="utf-8")
    ex = load_export(tmp_path, load_profile("salesforce"))
    assert ex.entities["deals"].rows == 1 and any(w.code == "no-deal-ids" for w in ex.warnings)


if __name__ == "__main__":  # rewrite the static fixtures
    for name in CRMS:
        root = FIXTURES / name
        write_fixture(name, root)
        print("wrote", root)
    write_fixture("amocrm", FIXTURES / "amocrm", export_dir=AMO_CONTACTS_LIST, contacts_list=True)


def test_inspect_says_which_rules_would_fail_for_a_column_a_present_file_lacks(tmp_path, capsys):
    export, cfg = write_fixture("amocrm", tmp_path)
    f = next(export.glob("amocrm_export_leads*"))
    rows = list(csv.reader(io.StringIO(f.read_text(encoding="utf-8-sig"), newline=""), delimiter=";"))
    i = rows[0].index("Посещаемость")
    write_csv(f, [r[:i] + r[i + 1:] for r in rows], delimiter=";", encoding="utf-8-sig")
    code = main(["inspect", str(export)])
    out = capsys.readouterr().out
    assert code == 0 and "would FAIL" in out and "missing-traffic-or-budget" in out


def test_skipped_rules_are_typed_records_and_the_note_is_made_from_them():
    from crm_audit.report import skipped_note

    rep = audit(FIXTURES / "amocrm")
    by_id = {s.rule_id: s for s in rep.skipped}
    assert set(by_id) == SKIPPED["amocrm"]
    tasks = by_id["open-deal-without-tasks"]
    # amoCRM's export has no tasks: the profile's reason, as inspect says it (issue 13 acceptance B, D14)
    assert (tasks.code, tasks.entity, tasks.reason) == ("1.1", "tasks", "not-exported") and "amoCRM" in tasks.profile_reason
    stuck = by_id["stuck-in-accepted"]
    # no stage-change column: skipped as in every CRM («no-stage-change»), with amoCRM's own words and the column
    assert (stuck.field, stuck.reason, stuck.column) == ("deal.days_in_stage", "no-stage-change", "Дата перехода на этап")
    assert "amoCRM" in stuck.profile_reason
    blank = "Внимание: столбец «Партнерская организация» в файле amocrm_export_leads_2026-11-20.csv пуст во всех 12 строках"
    for r in rep.results:
        assert r.skipped == (r.rule_id in by_id)
        if r.skipped:
            assert r.note == skipped_note(by_id[r.rule_id])
        else:  # the rules reading the custom field blank in every row of the fixture say so (acceptance K13)
            assert r.note == "" or r.note.startswith(blank), (r.rule_id, r.note)
    assert {r.code for r in rep.results if r.note.startswith(blank)} == {"1.6", "1.13"}


def test_a_column_a_present_file_lacks_is_a_typed_record(tmp_path):
    from crm_audit.engine.requirements import MissingColumnsError

    export, _cfg = write_fixture("amocrm", tmp_path)
    f = next(export.glob("amocrm_export_leads*"))
    rows = list(csv.reader(io.StringIO(f.read_text(encoding="utf-8-sig"), newline=""), delimiter=";"))
    i = rows[0].index("Посещаемость")
    write_csv(f, [r[:i] + r[i + 1:] for r in rows], delimiter=";", encoding="utf-8-sig")
    with pytest.raises(MissingColumnsError) as exc:
        audit(tmp_path)
    [m] = exc.value.missing
    assert (m.entity, m.field, m.column, m.file, m.needed_by, m.needed_by_all) == (
        "deals", "deal.Посещаемость", "Посещаемость", str(f), ("missing-traffic-or-budget",), False)
    [p] = exc.value.problems
    assert (p.file, p.reason) == (str(f), "missing-column")
    assert p.message == "required column «Посещаемость» is missing; needed by rule(s): 1.4 missing-traffic-or-budget"

