"""Bitrix24's deal list export in its interface languages, through `init --from-export` → `run` with no hand
edits: one team written in Russian, English and Ukrainian must audit alike.

The column titles are those of the deal list component (crm.deal.list lang/ru, lang/en, lang/ua/component.php in
a public copy of Bitrix24's source, recorded in crm_audit/profiles/bitrix24.yaml); the final stages carry
Bitrix24's default names in each language (CRM_DEAL_STAGE_WON / LOSE / APOLOGY of crm_status.php: «Сделка
успешна» / «Deal won» / «Успішна угода», «Сделка провалена» / «Deal lost» / «Угода провалена», «Анализ причины
провала» / «Analyze failure» / «Аналіз причини провалу»); «Сделка закрыта» is Да / Нет, Yes / No, Так / Ні. The
file is what the «Экспорт в CSV» writes: `;`-separated, every field quoted, a `;` after the last one, UTF-8 with a
BOM, dates DD.MM.YYYY HH:MM:SS.
"""

from __future__ import annotations

import pytest

from language_twins import twin_findings
from test_crm_exports_issue13 import findings
from test_issue13_owners_and_stages import init, run, table

HEADERS = {
    "ru": ["ID", "Название сделки", "Ответственный", "Сумма", "Валюта", "Компания", "Контакт", "Направление", "Стадия сделки",
           "Дата создания", "Дата изменения", "Сделка закрыта", "Предполагаемая дата закрытия"],
    "en": ["ID", "Deal Name", "Responsible", "Income", "Currency", "Company", "Contact", "Pipeline", "Stage",
           "Created", "Modified", "Closed", "Assumed close date"],
    "ua": ["ID", "Назва", "Відповідальний", "Сума", "Валюта", "Компанія", "Контакт", "Напрямок", "Стадія угоди",
           "Дата створення", "Дата змінення", "Угода закрита", "Орієнтовна дата закриття"],
}
#: the team's stages in each language: its own first two, then Bitrix24's default final stages
STAGES = {
    "ru": {"new": "Первичный контакт", "offer": "Переговоры", "won": "Сделка успешна", "lost": "Сделка провалена",
           "apology": "Анализ причины провала"},
    "en": {"new": "First contact", "offer": "Negotiation", "won": "Deal won", "lost": "Deal lost", "apology": "Analyze failure"},
    "ua": {"new": "Первинний контакт", "offer": "Переговори", "won": "Успішна угода", "lost": "Угода провалена",
           "apology": "Аналіз причини провалу"},
}
YES_NO = {"ru": ("Да", "Нет"), "en": ("Yes", "No"), "ua": ("Так", "Ні")}
PIPELINE = {"ru": "Продажи", "en": "Sales", "ua": "Продажі"}
# id, title, owner, amount, company, contact, stage, created, modified, closed
DEALS = [
    ("11", "ООО Ромашка — внедрение", "Анна Смирнова", "150000.00", "ООО Ромашка", "Мария Иванова", "offer",
     "01.10.2026 10:00:00", "15.11.2026 12:00:00", False),
    ("12", "тест", "Иван Петров", "0.00", "", "", "new", "01.11.2026 10:00:00", "02.11.2026 10:00:00", False),
    ("13", "Альфа Маркет", "Анна Смирнова", "90000.00", "Альфа Маркет", "", "won", "01.08.2026 10:00:00",
     "01.09.2026 10:00:00", True),
    ("14", "Гамма Трейд", "Иван Петров", "30000.00", "Гамма Трейд", "Пётр 89161234567", "apology", "01.07.2026 10:00:00",
     "01.08.2026 10:00:00", True),
    ("15", "Бета Групп", "Иван Петров", "", "Бета Групп", "", "new", "10.09.2026 10:00:00", "10.09.2026 10:00:00", False),
]


def write_deals(lang: str, d) -> None:
    d.mkdir(parents=True, exist_ok=True)
    yes, no = YES_NO[lang]

    def line(cells: list[str]) -> str:
        return ";".join(f'"{c}"' for c in cells) + ";"

    rows = [line(HEADERS[lang])]
    for i, title, owner, amount, org, person, stage, created, modified, closed in DEALS:
        rows.append(line([i, title, owner, amount, "RUB", org, person, PIPELINE[lang], STAGES[lang][stage], created, modified,
                          yes if closed else no, ""]))
    (d / "deals.csv").write_text("\n".join(rows) + "\n", encoding="utf-8-sig")


@pytest.fixture(scope="module")
def russian(tmp_path_factory) -> dict[str, set[str]]:
    return twin_findings(tmp_path_factory, "bitrix24", write_deals, "ru", {"12"})


@pytest.mark.parametrize("lang", ["en", "ua"])
def test_bitrix24_deal_list_in_every_language_audits_alike(lang, tmp_path, russian):
    export = tmp_path / "export"
    write_deals(lang, export)
    work = tmp_path / "work"
    s = init(work, "bitrix24", export)
    assert not (s.get("columns") or {}).get("deals")  # every column title known to the profile
    st = STAGES[lang]
    # the won / lost stages last, the apology stage among the lost ones, never an open stage
    assert s["pipelines"][PIPELINE[lang]][-3:] == [st["won"], st["lost"], st["apology"]] or \
        s["pipelines"][PIPELINE[lang]][-2:] == [st["won"], st["apology"]]
    assert run(work, export) == 0
    assert findings(work) == russian
    got = dict(table(export, "bitrix24", "SELECT id, status FROM deals"))
    assert got == {"11": "open", "12": "open", "13": "won", "14": "lost", "15": "open"}
