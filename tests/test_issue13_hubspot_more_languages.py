"""HubSpot's deals export in the interface languages added last (issue 13): Polish, Swedish, Danish, Norwegian,
Finnish, Korean and Chinese (Simplified), through `init --from-export` → `run` with no hand edits, audit exactly as
the same team's English export does (the same deal ids per rule), with the closed flags and the closed stages in the
export's language and each locale's usual date format.

One English table below; each language is the same rows under its header map, yes/no words, closed-stage names and
date format (the labels are the profile's `languages.<code>`, crm_audit/profiles/hubspot.yaml, which records what is
evidenced and what inferred). Half of the languages run only under `pytest -m slow` (tests/slow_variants.py).
"""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from crm_audit.engine.inspect import inspect_export
from slow_variants import every_other
from language_twins import twin_findings
from test_crm_exports_issue13 import findings
from test_issue13_owners_and_stages import init, run, table

FIELDS = ["id", "title", "stage", "pipeline", "value", "created", "owner", "close_date", "is_closed", "is_won"]
HEADERS = {
    "en": ["Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Create Date", "Deal owner", "Close Date",
           "Is Deal Closed?", "Is Closed Won"],
    "pl": ["Identyfikator rekordu", "Nazwa transakcji", "Etap transakcji", "Pipeline", "Kwota", "Data utworzenia",
           "Właściciel transakcji", "Data zamknięcia", "Jest zamknięta", "Jest zamknięta wygrana"],
    "sv": ["Post-ID", "Affärsnamn", "Affärsfas", "Pipeline", "Belopp", "Skapandedatum", "Affärsägare", "Stängningsdatum",
           "Är stängd", "Är stängd vunnen"],
    "da": ["Post-ID", "Aftalenavn", "Aftalefase", "Pipeline", "Beløb", "Oprettelsesdato", "Aftaleejer", "Lukningsdato",
           "Er lukket", "Er lukket vundet"],
    "nb": ["Post-ID", "Avtalenavn", "Avtalefase", "Pipeline", "Beløp", "Opprettelsesdato", "Avtaleeier", "Avslutningsdato",
           "Er lukket", "Er lukket vunnet"],
    "fi": ["Tietueen tunnus", "Kaupan nimi", "Kaupan vaihe", "Pipeline", "Summa", "Luontipäivä", "Kaupan omistaja",
           "Sulkemispäivä", "On suljettu", "On suljettu voitettu"],
    "ko": ["레코드 ID", "거래 이름", "거래 단계", "파이프라인", "금액", "생성일", "거래 소유자", "마감일", "거래 종료 여부", "성사 여부"],
    "zh-CN": ["记录 ID", "交易名称", "交易阶段", "管道", "金额", "创建日期", "交易所有者", "成交日期", "交易是否已关闭？", "是否成交"],
}
#: yes / no as the language writes a boolean property
YES_NO = {"en": ("true", "false"), "pl": ("Tak", "Nie"), "sv": ("Ja", "Nej"), "da": ("Ja", "Nej"), "nb": ("Ja", "Nei"),
          "fi": ("Kyllä", "Ei"), "ko": ("예", "아니요"), "zh-CN": ("是", "否")}
#: the default pipeline's closed won / lost stages
CLOSED = {"en": ("Closed Won", "Closed Lost"), "pl": ("Zamknięta wygrana", "Zamknięta przegrana"),
          "sv": ("Stängd vunnen", "Stängd förlorad"), "da": ("Lukket vundet", "Lukket tabt"),
          "nb": ("Lukket vunnet", "Lukket tapt"), "fi": ("Suljettu ja voitettu", "Suljettu ja hävitty"),
          "ko": ("성사됨", "실패함"), "zh-CN": ("成交", "失败")}
#: each locale's usual date (and time) format
DATE_FORMAT = {"en": "%Y-%m-%d %H:%M", "pl": "%d.%m.%Y %H:%M", "sv": "%Y-%m-%d %H:%M", "da": "%d.%m.%Y %H:%M",
               "nb": "%d.%m.%Y %H:%M", "fi": "%d.%m.%Y", "ko": "%Y.%m.%d %H:%M", "zh-CN": "%Y/%m/%d %H:%M"}
#: file name: the «All deals» view in the language (accents dropped, as HubSpot names its export files)
VIEW = {"en": "all-deals", "pl": "wszystkie-transakcje", "sv": "alla-affarer", "da": "alle-aftaler", "nb": "alle-avtaler",
        "fi": "kaikki-kaupat", "ko": "all-deals", "zh-CN": "all-deals"}
# id, title, stage (WON / LOST: the language's closed stage), pipeline, amount, created, owner, close date, closed, won
DEALS = [
    ["18345670001", "Acme renewal", "Appointment Scheduled", "Sales Pipeline", "0", "2026-10-01 09:00", "Jane Roe", "2026-12-31 00:00", False, False],
    ["18345670002", "Beta expansion", "Contract Sent", "Sales Pipeline", "5000", "2026-11-01 09:00", "John Doe", "2026-12-31 00:00", False, False],
    ["18345670004", "test", "Qualified To Buy", "Sales Pipeline", "100", "2026-11-10 09:00", "John Doe", "2026-12-31 00:00", False, False],
    ["18345670005", "Globex", "WON", "Sales Pipeline", "12000", "2026-08-01 09:00", "Jane Roe", "2026-11-02 00:00", True, True],
    ["18345670006", "Initech", "LOST", "Sales Pipeline", "300", "2026-07-01 09:00", "John Doe", "2026-10-15 00:00", True, False],
]
LANGS = ["pl", "sv", "da", "nb", "fi", "ko", "zh-CN"]


def write_deals(lang: str, d) -> None:
    d.mkdir(parents=True, exist_ok=True)
    yes, no = YES_NO[lang]
    won, lost = CLOSED[lang]

    def cell(field: str, v):
        if isinstance(v, bool):
            return yes if v else no
        if field == "stage":
            return {"WON": won, "LOST": lost}.get(v, v)
        if field in ("created", "close_date"):
            return dt.datetime.strptime(v, "%Y-%m-%d %H:%M").strftime(DATE_FORMAT[lang])
        return v

    rows = [[cell(f, v) for f, v in zip(FIELDS, r)] for r in DEALS]
    with open(d / f"hubspot-crm-exports-{VIEW[lang]}-2026-11-20.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([HEADERS[lang], *rows])


@pytest.fixture(scope="module")
def english(tmp_path_factory) -> dict[str, set[str]]:
    return twin_findings(tmp_path_factory, "hubspot", write_deals, "en", {"18345670004"})


@pytest.mark.parametrize("lang", every_other(LANGS))
def test_hubspot_deals_export_in_another_interface_language_audits_alike(lang, tmp_path, english):
    export = tmp_path / "export"
    write_deals(lang, export)
    rep = inspect_export(export, crm="hubspot")
    assert rep.languages[:1] == [lang]
    deals = dict((f, h) for h, f in next(f for f in rep.files if f.entity == "deals").mapped)
    assert set(FIELDS) <= set(deals), sorted(set(FIELDS) - set(deals))
    work = tmp_path / "work"
    s = init(work, "hubspot", export)
    assert not (s.get("columns") or {}).get("deals")  # every header known: nothing left for the user to map
    assert run(work, export) == 0
    assert findings(work) == english
    got = dict(table(export, "hubspot", "SELECT id, status FROM deals"))
    assert got == {"18345670001": "open", "18345670002": "open", "18345670004": "open", "18345670005": "won",
                   "18345670006": "lost"}
    created = dict(table(export, "hubspot", "SELECT id, CAST(created AS VARCHAR) FROM deals"))
    assert created["18345670002"].startswith("2026-11-01")  # the locale's date format read day / month right
