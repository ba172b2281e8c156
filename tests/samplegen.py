"""Deterministic generator of a realistic Pipedrive export.

Used for the bundled demo (``crm_audit/demo_data/pipedrive``), end-to-end
tests and the 1,000,000-deal benchmark.  Stdlib only; linear in the number of
deals; the same ``(n_deals, seed, as_of)`` always gives the same records and
byte-identical files.

Two layers:

* :func:`generate` builds the *canonical* records (:class:`Export`): plain
  dicts with Python values (``str``/``None`` for text, ``float`` for the deal
  value, ``date``/``datetime`` for dates, ``bool`` for an activity's done
  flag), before any export formatting.  Every one of the 17 bundled rules is
  hit at a realistic rate, and a fixed list of *scenario* deals (spread over
  the export) pins the edge cases every seed must contain: boundary days in
  stage (7/8, 14/15), tasks due on the audit date and the day before,
  «ё» and odd-case stage names, stages and pipelines unknown to the settings,
  placeholder and near-placeholder names, formula-like text (``=``, ``+``,
  ``-``, ``@``), organizations missing from the organizations file.
* :func:`write_pipedrive` writes the four CSV files, either as Pipedrive's
  list export writes them (``style="clean"``) or as they come back from a
  trip through Russian-locale Excel (``style="messy"``).
"""

from __future__ import annotations

import csv
import io
import random
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import itemgetter
from pathlib import Path

from crm_audit.gcutil import gc_paused

__all__ = [
    "AGENCY_FIELD",
    "DEAL_CUSTOM_FIELDS",
    "DEFAULT_SETTINGS",
    "Export",
    "generate",
    "generate_export",
    "write_pipedrive",
]

# --------------------------------------------------------------------------
# Settings of the demo company (reference, section 2)
# --------------------------------------------------------------------------

DEFAULT_SETTINGS: dict = {
    "crm": "pipedrive",
    "deal_url": "https://demo.pipedrive.com/deal/{id}",
    "pipelines": {
        "Клиенты": [
            "Принял в работу", "Квалификация", "Проведено демо", "Отправлено КП",
            "Тестовый период", "Согласование договора", "Выставлен счет",
        ],
        "Партнеры": [
            "Принял в работу", "Знакомство", "Проведено демо", "Отправлено КП",
            "Подписание договора",
        ],
        "Повторные продажи": ["Принял в работу", "Отправлено КП", "Выставлен счет"],
    },
    "frozen_lost_reasons": [
        "Сайт в разработке", "Несезон", "Смена маркетолога", "Согласование бюджета",
    ],
    "partner_managers": ["Ольга Партнерова"],
    "trial_stages": ["Тестовый период"],
}

#: Deal custom fields, in export column order.
DEAL_CUSTOM_FIELDS = (
    "Источник сделки",
    "Город",
    "Страна",
    "Посещаемость",
    "Бюджет",
    "Ссылка на запись демо",
    "Ссылка на коммерческое предложение",
    "Партнерская организация",
)
#: The organization's yes/no custom field.
AGENCY_FIELD = "Агентство ли это"

F_SOURCE, F_CITY, F_COUNTRY, F_TRAFFIC, F_BUDGET, F_DEMO, F_KP, F_PARTNER = DEAL_CUSTOM_FIELDS


@dataclass
class Export:
    """The canonical records of one export, before any export formatting."""

    deals: list[dict]
    organizations: list[dict]
    persons: list[dict]
    activities: list[dict]


# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

PARTNER_MANAGER = "Ольга Партнерова"

MANAGERS = [  # (name, weight)
    ("Иван Петров", 11), ("Мария Кузнецова", 11), ("Алексей Соколов", 10),
    ("Екатерина Волкова", 10), ("Дмитрий Морозов", 9), ("Наталья Лебедева", 9),
    ("Сергей Новиков", 8), ("Юлия Фёдорова", 8), ("Андрей Васильев", 7),
    ("Светлана Ковалёва", 6), ("Павел Орлов", 5), (PARTNER_MANAGER, 10),
]
MANAGER_NAMES = [m for m, _ in MANAGERS]

FIRST_M = ["Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Алексей", "Артём",
           "Илья", "Кирилл", "Михаил", "Никита", "Роман", "Егор", "Павел", "Олег"]
FIRST_F = ["Анна", "Мария", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Екатерина",
           "Светлана", "Юлия", "Анастасия", "Дарья", "Ксения", "Алина", "Виктория"]
SURNAMES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов",
            "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев",
            "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев", "Орлов",
            "Андреев", "Макаров", "Никитин", "Захаров"]
PATRONYMIC_M = ["Александрович", "Сергеевич", "Игоревич", "Петрович", "Владимирович"]
PATRONYMIC_F = ["Александровна", "Сергеевна", "Игоревна", "Петровна", "Владимировна"]

CORE_A = ["Альфа", "Вектор", "Гранит", "Северный", "Техно", "Строй", "Мега", "Бизнес",
          "Эко", "Нова", "Интер", "Глобал", "Сиб", "Урал", "Волга", "Балтик", "Прайм",
          "Смарт", "Лидер", "Стандарт", "Авто", "Агро", "Медиа", "Фарм", "Энерго",
          "Транс", "Инвест", "Кредо", "Орион", "Полюс"]
CORE_B = ["Трейд", "Групп", "Сервис", "Логистик", "Софт", "Пром", "Маркет", "Строй",
          "Консалт", "Систем", "Холдинг", "Тех", "Плюс", "Лаб", "Снаб", "Инжиниринг"]
BRAND_KIND = ["Кофейня", "Студия", "Клиника", "Школа", "Салон", "Пекарня", "Фитнес-клуб",
              "Стоматология", "Автосервис", "Гостиница"]
BRAND_WORD = ["Бриз", "Лаванда", "Уют", "Ритм", "Маяк", "Сфера", "Кедр", "Олимп",
              "Янтарь", "Радуга", "Тестостерон Лабс"]
AGENCY_WORD = ["Пиксель", "Медиаволна", "Кликбейс", "Таргет Про", "Лидоген", "Контекст",
               "Промо Лаб", "Креатив", "Веб-Ракета", "Трафик"]
AGENCY_PATTERN = ["Рекламное агентство «{}»", "Digital-агентство «{}»",
                  "Агентство интернет-маркетинга «{}»", "ООО «{} Диджитал»",
                  "Маркетинговое агентство «{}»"]
PRODUCTS = ["Внедрение CRM", "Подписка на 12 месяцев", "Продление лицензии", "Аудит сайта",
            "Настройка рекламы", "Поставка оборудования", "Интеграция с 1С",
            "Обучение сотрудников", "Расширение тарифа", "Пилотный проект",
            "SEO-продвижение", "Разработка лендинга", "Техподдержка", "Годовой контракт",
            "Сквозная аналитика", "Контекстная реклама"]
CITIES = [  # (city, country, weight)
    ("Москва", "Россия", 35), ("Санкт-Петербург", "Россия", 15), ("Екатеринбург", "Россия", 6),
    ("Новосибирск", "Россия", 5), ("Казань", "Россия", 5), ("Нижний Новгород", "Россия", 4),
    ("Краснодар", "Россия", 4), ("Самара", "Россия", 3), ("Ростов-на-Дону", "Россия", 3),
    ("Пермь", "Россия", 2), ("Алматы", "Казахстан", 5), ("Астана", "Казахстан", 3),
    ("Минск", "Беларусь", 4), ("Ташкент", "Узбекистан", 3), ("Ереван", "Армения", 3),
]
SOURCES = [("Сайт", 28), ("Входящий звонок", 15), ("Рекомендация", 12), ("Выставка", 5),
           ("Холодный звонок", 10), ("Email-рассылка", 6), ("Яндекс Директ", 12),
           ("Партнер", 6), ("Соцсети", 6), (None, 5), ("  ", 2)]
CURRENCIES = [("RUB", 88), ("USD", 5), ("EUR", 3), ("KZT", 4)]
LOST_REASONS = [
    ("Сайт в разработке", 9), ("Несезон", 10), ("Смена маркетолога", 8),
    ("Согласование бюджета", 8), ("Дорого", 14), ("Выбрали конкурента", 14),
    ("Нет бюджета", 10), ("Не выходит на связь", 12), ("Нецелевой запрос", 8),
    ("Несезон — вернуться весной", 2),  # contains a frozen reason, is not one
    ("несезон ", 1), ("Сайт в разработке ", 1),  # frozen, odd case / trailing space
    (None, 3),
]
ACTIVITY_TYPES = [("Звонок", 35), ("Задача", 30), ("Встреча", 15), ("Письмо", 12), ("Дедлайн", 8)]
SUBJECTS = {
    "Звонок": ["Позвонить клиенту", "Перезвонить по КП", "Уточнить бюджет",
               "Созвон с ЛПР", "Напомнить об оплате", "Звонок по итогам демо"],
    "Задача": ["Подготовить КП", "Отправить договор", "Выставить счёт", "Собрать бриф",
               "Подготовить демо-стенд", "Вернуться к клиенту"],
    "Встреча": ["Демо продукта", "Встреча в офисе клиента", "Онлайн-встреча",
                "Презентация для руководства"],
    "Письмо": ["Отправить презентацию", "Письмо с материалами", "Follow-up после встречи"],
    "Дедлайн": ["Дедлайн по договору", "Окончание тестового периода", "Срок оплаты счёта"],
}
SUBJECT_DETAILS = ["обсудить сроки и скидку", "взять реквизиты", "позвать ЛПР",
                   "уточнить количество пользователей", "прислать запись демо"]
DUE_TIMES = ["10:00", "11:30", "12:00", "14:00", "15:30", "16:00", "17:00"]
FORMULA_TITLES = ["=СУММ(1;2)", "+7 999 123-45-67 перезвонить", "-20% на годовую подписку",
                  "@ремаркетинг Q4"]
FORMULA_SUBJECTS = ["=1+2 перезвонить", "+7 916 555-12-34 набрать после обеда",
                    "-10% согласовать с руководителем", "@Мария проверь счёт"]
INVALID_TITLES = ["тест", "Тест", "test", "Новая сделка", "Новая сделка 2", "новая сделка3",
                  "New deal", "Сделка", "Сделка1", "клиент", "Без названия", "???", "---",
                  "аб", "12345", "", "   "]
UNKNOWN_STAGES = ["Переговоры", "Ожидает оплаты"]
UNKNOWN_PIPELINE = ("Архив 2024", ["Новый лид", "В работе"])
EMAIL_USERS = ["info", "sales", "manager", "office", "ivanov", "petrova", "zakaz"]
EMAIL_DOMAINS = ["mail.ru", "yandex.ru", "gmail.com", "romashka.ru", "vector-trade.ru"]

# --------------------------------------------------------------------------
# Scenario deals: edge cases present in every generated export
# --------------------------------------------------------------------------
# Keys: status, owner, pipeline, stage, org (none/regular/partner/agency/ghost/
# nameonly), org_name, org_owner (same/other/none/<name>), org_agency,
# person (none/link), person_name, person_owner, title, lost_reason, value,
# fields ({custom field: value}), days (days in stage), no_stage_change,
# late (stage change at 23:59:59), tasks (undone activities: future/today/
# yesterday/overdue/nodue/far, or (kind, subject)), n_done.

_PM = PARTNER_MANAGER
SCENARIOS: list[dict] = [
    # 1.1 open deal without tasks
    dict(status="open", tasks=[]),
    dict(status="open", tasks=[], n_done=0),
    # 1.2 frozen lost deal without tasks
    dict(status="lost", lost_reason="Несезон", tasks=[]),
    dict(status="lost", lost_reason="  смена маркетолога", tasks=[]),
    dict(status="lost", lost_reason="Несезон — вернуться весной", tasks=[]),  # not frozen
    dict(status="lost", lost_reason="Сайт в разработке", tasks=["far"]),  # has a task
    # 1.3 amount after proposal
    dict(status="open", pipeline="Клиенты", stage="Отправлено КП", value=None),
    dict(status="won", pipeline="Клиенты", stage="Выставлен счёт", value=0.0),
    dict(status="open", pipeline="Партнеры", stage="Подписание договора", value=0.0),
    dict(status="open", pipeline="Клиенты", stage="Квалификация", value=None),  # before КП
    dict(status="lost", pipeline="Клиенты", stage="Согласование договора", value=None),
    # 1.4 traffic / budget
    dict(status="open", pipeline="Клиенты", stage="Тестовый период", fields={F_BUDGET: None}),
    dict(status="won", pipeline="Повторные продажи", stage="Выставлен счет",
         fields={F_TRAFFIC: "   "}),
    # 1.5 invalid names
    dict(status="open", title="тест"),
    dict(status="open", title="Новая сделка 2"),
    dict(status="open", title="New deal"),
    dict(status="open", title="???"),
    dict(status="open", title="Внедрение  CRM"),
    dict(status="open", title=" Аудит сайта"),
    dict(status="open", title="Продление лицензии "),
    dict(status="open", title="Сделка1"),
    dict(status="open", title="аб"),
    dict(status="open", title="12345"),
    dict(status="open", title=""),
    dict(status="open", title="Тестостерон Лабс — поставка"),  # valid
    dict(status="open", title="Тестовый период для «Вектор»"),  # valid
    dict(status="open", title="Сделка с ООО «Вектор»"),  # valid
    dict(status="open", title="Аудит сайта\nвторой этап"),  # valid, multi-line
    dict(status="open", person="link", person_name="Иван +7 916 123-45-67"),
    dict(status="open", person="link", person_name="petrov@romashka.ru"),
    dict(status="open", person="link", person_name="Контакт"),
    dict(status="open", person="link", person_name="Анна  Смирнова"),
    dict(status="open", person="link", person_name="+7 999 123-45-67"),
    dict(status="open", org="regular", org_name="ООО  «Альфа Трейд»"),
    dict(status="open", org="regular", org_name="Клиент 3"),
    dict(status="open", org="regular", org_name="ООО «Гранит» "),
    dict(status="won", title="тест"),  # out of scope
    # 1.6 partner org not set
    dict(status="open", org="partner", org_name="ООО «Вектор Плюс» от партнера",
         fields={F_PARTNER: None}),
    dict(status="open", org="partner", org_name="Кофейня «Бриз» (от партнёра)",
         fields={F_PARTNER: None}),
    dict(status="open", org="partner", org_name="ООО «Север» От Партнера",
         fields={F_PARTNER: "Агентство «Пиксель»"}),  # set
    # 1.7 owner mismatch
    dict(status="open", org="regular", org_owner="other", person="link", person_owner="same"),
    dict(status="open", org="regular", org_owner="same", person="link", person_owner="other"),
    dict(status="open", org="regular", org_owner="other", person="link", person_owner="other"),
    dict(status="open", owner="Юлия Фёдорова", org="regular", org_owner="Юлия Федорова",
         person="link", person_owner="юлия фёдорова "),  # same person, spelled differently
    dict(status="open", org="regular", org_owner="none", person="link", person_owner="none"),
    # 1.8 source
    dict(status="open", fields={F_SOURCE: None}),
    dict(status="lost", fields={F_SOURCE: "  "}),
    # 1.9 demo recording
    dict(status="open", pipeline="Клиенты", stage="Проведено демо", fields={F_DEMO: None}),
    dict(status="won", pipeline="Клиенты", stage="Согласование договора", fields={F_DEMO: None}),
    dict(status="open", pipeline="Клиенты", stage="Квалификация", fields={F_DEMO: None}),
    # 1.10 proposal link
    dict(status="open", pipeline="Повторные продажи", stage="Отправлено КП", fields={F_KP: None}),
    # 1.11 no organization
    dict(status="open", pipeline="Клиенты", org="none"),
    dict(status="open", pipeline="Партнеры", org="none"),
    dict(status="open", pipeline="Повторные продажи", org="none"),  # out of scope
    dict(status="open", pipeline="Клиенты", org="nameonly"),  # has an organization (name only)
    # 1.12 partner pipeline, organization not an agency
    dict(status="open", pipeline="Партнеры", org="regular", org_agency="Нет"),
    dict(status="open", pipeline="Партнеры", org="regular", org_agency=None),
    dict(status="open", pipeline="Партнеры", org="ghost"),  # org missing from the file
    dict(status="open", pipeline="Партнеры", org="agency", org_agency="да"),
    dict(status="open", pipeline="Партнеры", org="agency", org_agency="Yes"),
    # 1.13 partner manager's deal without partner
    dict(status="open", owner=_PM, pipeline="Клиенты", stage="Проведено демо", org="regular",
         org_agency="Нет", fields={F_PARTNER: None}),
    dict(status="open", owner=_PM, pipeline="Клиенты", stage="Согласование договора",
         org="partner", fields={F_PARTNER: None}),
    dict(status="open", owner=_PM, pipeline="Клиенты", stage="проведено ДЕМО", org="regular",
         org_agency=None, fields={F_PARTNER: None}),
    dict(status="open", owner=_PM, pipeline="Клиенты", stage="Проведено демо", org="agency",
         org_agency="Да", fields={F_PARTNER: None}),  # agency
    dict(status="open", owner=_PM, pipeline="Клиенты", stage="Отправлено КП", org="regular",
         fields={F_PARTNER: "Агентство «Пиксель»"}),  # partner set
    dict(status="open", owner=_PM, pipeline="Клиенты", stage="Квалификация", org="regular",
         fields={F_PARTNER: None}),  # before demo
    # 2.1 city / country
    dict(status="open", fields={F_CITY: None}),
    dict(status="open", fields={F_COUNTRY: None}),
    dict(status="won", fields={F_CITY: " "}),
    # 2.2 stuck in «Принял в работу» (boundaries 7/8, 14/15)
    dict(status="open", pipeline="Клиенты", stage="Принял в работу", days=7),
    dict(status="open", pipeline="Клиенты", stage="Принял в работу", days=8),
    dict(status="open", pipeline="Клиенты", stage="Принял в работу", days=15),
    dict(status="open", pipeline="Клиенты", stage="Принял в работу", days=10, no_stage_change=True),
    dict(status="open", pipeline="Партнеры", stage="Принял в работу", days=8, late=True),
    dict(status="open", pipeline="Клиенты", stage="Принял в работу", days=7, late=True),
    # 2.3 overdue tasks (due yesterday = overdue, due today = not)
    dict(status="open", tasks=["yesterday"]),
    dict(status="open", tasks=["today"]),
    dict(status="open", tasks=["nodue"]),
    dict(status="open", tasks=["overdue", "future"]),
    dict(status="open", tasks=[("yesterday", "=1+2 перезвонить")]),
    # 2.4 no stage movement (trial stages excluded)
    dict(status="open", pipeline="Клиенты", stage="Квалификация", days=14),
    dict(status="open", pipeline="Клиенты", stage="Квалификация", days=15),
    dict(status="open", pipeline="Клиенты", stage="Квалификация", days=14, late=True),
    dict(status="open", pipeline="Клиенты", stage="Тестовый период", days=40),
    dict(status="open", pipeline="Клиенты", stage="Отправлено КП", days=-2),  # changed after as_of
    # stages / pipelines unknown to the settings, odd spelling
    dict(status="open", pipeline="Клиенты", stage="Переговоры", days=20, value=None),
    dict(status="open", pipeline="Архив 2024", stage="Новый лид", org="none", days=30),
    dict(status="open", pipeline="клиенты", stage=" Отправлено КП ", value=None),
    dict(status="open", pipeline="Клиенты", stage="ВЫСТАВЛЕН СЧЁТ", fields={F_KP: None}),
    # formula-like text
    dict(status="open", title="=СУММ(1;2)"),
    dict(status="open", title="-20% на годовую подписку", tasks=[]),
    dict(status="open", title="@ремаркетинг Q4"),
    dict(status="open", org="regular", org_name="@Digital Студия", org_owner="other"),
    dict(status="open", org="partner", fields={F_PARTNER: '=HYPERLINK("http://example.com";"клик")'}),
    # deleted deals are never audited
    dict(status="deleted", title="тест", org="none", tasks=[], fields={F_SOURCE: None, F_CITY: None}),
]


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _table(pairs) -> list:
    """A lookup table: each item repeated `weight` times (pick with one random())."""
    out = []
    for item, weight in pairs:
        out.extend([item] * weight)
    return out


def _norm(s: str) -> str:
    return s.strip().lower().replace("ё", "е")


_STATUS_T = _table([("open", 55), ("won", 20), ("lost", 22), ("deleted", 3)])
_MANAGER_T = _table(MANAGERS)
_CITY_T = _table([((c, k), w) for c, k, w in CITIES])
_SOURCE_T = _table(SOURCES)
_CURRENCY_T = _table(CURRENCIES)
_LOST_T = _table(LOST_REASONS)
_ATYPE_T = _table(ACTIVITY_TYPES)
_PIPE_DEFAULT_T = _table([("Клиенты", 80), ("Партнеры", 6), ("Повторные продажи", 14)])
_PIPE_PM_T = _table([("Клиенты", 60), ("Партнеры", 35), ("Повторные продажи", 5)])
_ORGK_DEFAULT_T = _table([("regular", 168), ("partner", 10), ("agency", 4), ("none", 16),
                          ("ghost", 1), ("nameonly", 1)])
_ORGK_PM_T = _table([("regular", 40), ("partner", 25), ("agency", 30), ("none", 5)])
_ORGK_PARTNERS_T = _table([("agency", 80), ("regular", 15), ("none", 5)])
_PARTNER_SUFFIX_T = _table([(" от партнера", 14), (" (от партнёра)", 3), (" от партнёра", 2),
                            (" От Партнера", 1)])
_BOUNDARY_DAYS = (7, 8, 14, 15)
_AGENCY_NAMES = [p.format(w) for p in AGENCY_PATTERN for w in AGENCY_WORD]


def _stage_tables(stages: list[str]) -> dict[str, list[int]]:
    n = len(stages)
    won = [(n - 1, 70), (n - 2, 20)] + [(k, 2) for k in range(n - 2)]
    return {
        "open": _table([(k, n - k + 2) for k in range(n)]),
        "won": _table(won),
        "lost": _table([(k, 1) for k in range(n)]),
        "deleted": _table([(k, 1) for k in range(n)]),
    }


def _fmt_plain_number(v) -> str:
    v = float(v)
    return "%d" % v if v.is_integer() else repr(v)


def _fmt_ru_number(v) -> str:
    return f"{float(v):,.2f}".replace(",", " ").replace(".", ",")


# --------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------


def _name_pools():
    """Precomputed name lists (built once): (category table, person name table)."""
    global _POOLS
    if _POOLS is None:
        org_cats = []
        for form, weight in (("ООО", 55), ("АО", 7), ("ЗАО", 3), ("ПАО", 2)):
            names = ([f"{form} «{c}»" for c in _CORES] * 15 + [f'{form} "{c}"' for c in _CORES] * 4
                     + [f"{form} {c}" for c in _CORES])
            org_cats += [names] * weight
        org_cats += [[f"ИП {s} {f[0]}. {p[0]}." for s in SURNAMES for f in FIRST_M
                      for p in PATRONYMIC_M]] * 14
        org_cats += [[f"{k} «{w}»" for k in BRAND_KIND for w in BRAND_WORD]] * 19
        people = []
        for female, firsts, pats in ((False, FIRST_M, PATRONYMIC_M), (True, FIRST_F, PATRONYMIC_F)):
            lasts = [s + "а" if female else s for s in SURNAMES]
            people.append(
                [f"{f} {s}" for f in firsts for s in lasts] * 13  # 65%: Имя Фамилия
                + [f"{s} {f}" for f in firsts for s in lasts] * 3  # 15%: Фамилия Имя
                + [f"{s} {f} {pats[(i + j) % len(pats)]}"  # 12%: Фамилия Имя Отчество
                   for i, f in enumerate(firsts) for j, s in enumerate(lasts)] * 2
                + firsts * (len(lasts) * 8 // 5)  # 8%: Имя
            )
        _POOLS = (org_cats, people[0] + people[1])
    return _POOLS


_POOLS = None
_SECONDS = None


def _seconds_of_day() -> list:
    """timedelta(seconds=k) for every second of a day (built once)."""
    global _SECONDS
    if _SECONDS is None:
        _SECONDS = [timedelta(seconds=k) for k in range(86400)]
    return _SECONDS


class _Generator:
    def __init__(self, n_deals: int, seed: int, as_of: date):
        self.n = n_deals
        self.rng = random.Random(seed)
        self.rnd = self.rng.random
        self.as_of = as_of
        self.midnight = datetime(as_of.year, as_of.month, as_of.day)
        # dates and midnights as_of - 1000 .. as_of + 199 (every offset used)
        self.dates = [as_of + timedelta(days=k - 1000) for k in range(1200)]
        self.midnights = [self.midnight + timedelta(days=k - 1000) for k in range(1200)]
        self.seconds = _seconds_of_day()
        self.deals: list[dict] = []
        self.orgs: list[dict] = []
        self.persons: list[dict] = []
        self.acts: list[dict] = []
        self.next_org = 1
        self.next_person = 1
        self.next_act = 1
        self.org_pools: dict = {}  # org kind -> deal owner -> [org]
        self.person_pools: dict = {}  # org id -> [person]
        self.lone_persons: dict = {}  # deal owner -> [person without organization]
        self.org_cats, self.person_names = _name_pools()
        pipes = DEFAULT_SETTINGS["pipelines"]
        pipelines = {p: list(s) for p, s in pipes.items()}
        pipelines[UNKNOWN_PIPELINE[0]] = list(UNKNOWN_PIPELINE[1])
        self.canon_pipe = {_norm(p): p for p in pipelines}
        self.stage_t = {p: _stage_tables(s) for p, s in pipelines.items()}
        # stage names as the CRM spells them: «Выставлен счёт» in «Клиенты»
        self.stage_names = {p: [s.replace("счет", "счёт") if p == "Клиенты" else s for s in st]
                            for p, st in pipelines.items()}
        self.known = {_norm(p): {_norm(s): k for k, s in enumerate(st)} for p, st in pipes.items()}
        self.demo_idx = {_norm(p): st.index("Проведено демо") if "Проведено демо" in st else None
                         for p, st in pipes.items()}
        self.kp_idx = {_norm(p): st.index("Отправлено КП") for p, st in pipes.items()}

    # -- small draws -------------------------------------------------------

    def pick(self, seq):
        return seq[int(self.rnd() * len(seq))]

    def other_manager(self, owner):
        while True:
            m = MANAGER_NAMES[int(self.rnd() * len(MANAGER_NAMES))]
            if m != owner:
                return m

    def owner_like(self, mode, owner, p_other: float = 0.05, p_none: float = 0.03):
        """The owner of an organization/person: mode same/other/none/<name> or drawn."""
        if mode is None:
            r = self.rnd()
            mode = "same" if r >= p_other + p_none else "other" if r < p_other else "none"
        if mode == "same":
            return owner
        if mode == "other":
            return self.other_manager(owner)
        if mode == "none":
            return None
        return mode  # an explicit name

    def person_name(self) -> str:
        names = self.person_names
        return names[int(self.rnd() * len(names))]

    def phone(self) -> str:
        r = self.rnd
        return (f"+7 9{int(r() * 90) + 10} {int(r() * 900) + 100}-"
                f"{int(r() * 90) + 10}-{int(r() * 90) + 10}")

    def invalid_person_name(self) -> str:
        r = int(self.rnd() * 9)
        name = self.person_name()
        if r == 0:
            return f"{name.split()[0]} {self.phone()}"
        if r == 1:
            return f"{self.pick(EMAIL_USERS)}@{self.pick(EMAIL_DOMAINS)}"
        if r == 2:
            return self.pick(["Контакт", "Клиент 2", "контакт1", "Клиент"])
        if r == 3:
            return " " + name
        if r == 4:
            return name + " "
        if r == 5 and " " in name:
            return name.replace(" ", "  ", 1)
        if r == 6:
            return self.pick(["??", "Ан", "-"])
        if r == 7:
            return self.phone()
        return f"{name} {self.pick(EMAIL_USERS)}@{self.pick(EMAIL_DOMAINS)}"

    def org_name(self) -> str:
        rnd = self.rnd
        cats = self.org_cats
        names = cats[int(rnd() * len(cats))]
        return names[int(rnd() * len(names))]

    def invalid_org_name(self) -> str:
        r = int(self.rnd() * 7)
        name = self.org_name()
        if r == 0:
            return name.replace(" ", "  ", 1)
        if r == 1:
            return name + " "
        if r == 2:
            return " " + name
        return self.pick(["Клиент", "Клиент 3", "тест", "???", "ИП", "12345", "Без названия"])

    def agency_name(self) -> str:
        return _AGENCY_NAMES[int(self.rnd() * len(_AGENCY_NAMES))]

    # -- organizations and persons -----------------------------------------

    def new_org(self, kind: str, deal_owner: str, F: dict) -> dict:
        rnd = self.rnd
        oid = str(self.next_org)
        self.next_org += 1
        if F and "org_name" in F:
            name = F["org_name"]
        elif kind == "agency":
            name = self.agency_name()
        elif kind == "partner":
            name = self.org_name() + _PARTNER_SUFFIX_T[int(rnd() * len(_PARTNER_SUFFIX_T))]
        else:
            r = rnd()
            if r < 0.027:
                name = "@Digital Студия" if r < 0.002 else self.invalid_org_name()
            else:
                name = self.org_name()
        forced_owner = F.get("org_owner") if F else None
        owner = self.owner_like(forced_owner, deal_owner, 0.05, 0.03)
        if owner == "Юлия Фёдорова" and forced_owner is None and rnd() < 0.3:
            owner = "Юлия Федорова"  # same user, typed without «ё»
        if F and "org_agency" in F:
            agency = F["org_agency"]
        elif kind == "agency":
            r = rnd()
            agency = "Да" if r < 0.95 else "да" if r < 0.98 else "Yes"
        else:
            agency = "Нет" if rnd() < 0.75 else None
        org = {"id": oid, "name": name, "owner": owner, AGENCY_FIELD: agency}
        self.orgs.append(org)
        return org

    def get_org(self, kind: str, owner: str, F: dict):
        """(org_id, org_name, org record or None) for a deal."""
        if kind == "none":
            return None, None, None
        if kind == "ghost":  # linked, but missing from the organizations file
            oid = str(self.next_org)
            self.next_org += 1
            return oid, F.get("org_name") or self.org_name(), None
        if kind == "nameonly":
            return None, F.get("org_name") or self.org_name(), None
        pools = self.org_pools.get(kind)
        if pools is None:
            pools = self.org_pools[kind] = {}
        pool = pools.get(owner)
        if pool and not F and self.rnd() < 0.4:
            org = pool[int(self.rnd() * len(pool))]
        else:
            org = self.new_org(kind, owner, F)
            if pool is None:
                pools[owner] = [org]
            else:
                pool.append(org)
        return org["id"], org["name"], org

    def get_person(self, org_id, org_name, owner: str, F: dict):
        rnd = self.rnd
        if F and "person" in F:
            if F["person"] == "none":
                return None, None
        elif rnd() < 0.1:
            return None, None
        if org_id:
            key, pools = org_id, self.person_pools
        else:
            key, pools = owner, self.lone_persons
        pool = pools.get(key)
        forced = F and ("person_name" in F or "person_owner" in F)
        if pool and not forced and rnd() < 0.4:
            p = pool[int(rnd() * len(pool))]
            return p["id"], p["name"]
        pid = str(self.next_person)
        self.next_person += 1
        if forced and "person_name" in F:
            name = F["person_name"]
        elif rnd() < 0.035:
            name = self.invalid_person_name()
        else:
            names = self.person_names
            name = names[int(rnd() * len(names))]
        p = {"id": pid, "name": name,
             "owner": self.owner_like(F.get("person_owner") if F else None, owner, 0.04, 0.03),
             "org_name": org_name}
        self.persons.append(p)
        if pool is None:
            pools[key] = [p]
        else:
            pool.append(p)
        return pid, name

    # -- deals -------------------------------------------------------------

    def odd_title(self) -> str:
        """A rare title: a placeholder, formula-like text or a multi-line title."""
        r = self.rnd()
        if r < 0.87:
            return self.pick(INVALID_TITLES)
        if r < 0.94:
            return self.pick(FORMULA_TITLES)
        return f"{self.pick(PRODUCTS)}\n{self.pick(SUBJECT_DETAILS)}"

    def run(self) -> Export:
        """Generate every deal (with its organization, person and activities)."""
        n = self.n
        k = min(len(SCENARIOS), n)
        forced = {(2 * j + 1) * n // (2 * k): SCENARIOS[j] for j in range(k)}
        forced_get = forced.get
        empty: dict = {}

        rnd = self.rnd
        bits = self.rng.getrandbits
        mids = self.midnights
        SEC = self.seconds
        get_org = self.get_org
        get_person = self.get_person
        agency_name = self.agency_name
        other_manager = self.other_manager
        deals_append = self.deals.append
        acts_append = self.acts.append
        known_all = self.known
        canon_pipe = self.canon_pipe
        stage_t = self.stage_t
        stage_names = self.stage_names
        demo_idx = self.demo_idx
        kp_idx = self.kp_idx
        frozen = _FROZEN
        norm = _norm
        PM = PARTNER_MANAGER
        ST, nST = _STATUS_T, len(_STATUS_T)
        MT, nMT = _MANAGER_T, len(_MANAGER_T)
        PPM, nPPM = _PIPE_PM_T, len(_PIPE_PM_T)
        PDF, nPDF = _PIPE_DEFAULT_T, len(_PIPE_DEFAULT_T)
        OKP, nOKP = _ORGK_PARTNERS_T, len(_ORGK_PARTNERS_T)
        OKM, nOKM = _ORGK_PM_T, len(_ORGK_PM_T)
        OKD, nOKD = _ORGK_DEFAULT_T, len(_ORGK_DEFAULT_T)
        LT, nLT = _LOST_T, len(_LOST_T)
        CT, nCT = _CURRENCY_T, len(_CURRENCY_T)
        SRC, nSRC = _SOURCE_T, len(_SOURCE_T)
        CIT, nCIT = _CITY_T, len(_CITY_T)
        PR, nPR = PRODUCTS, len(PRODUCTS)
        CO, nCO = _CORES, len(_CORES)
        ACT = _ACT_T  # 1024 entries
        DTM = (DUE_TIMES * 2)[:8]
        DET, nDET = SUBJECT_DETAILS, len(SUBJECT_DETAILS)
        FS = FORMULA_SUBJECTS  # 4 entries
        dates = self.dates
        BD = _BOUNDARY_DAYS
        next_act = self.next_act

        for i in range(n):
            F = forced_get(i, empty)
            fz = F is not empty
            did = str(i + 1)

            status = F["status"] if fz and "status" in F else ST[int(rnd() * nST)]
            owner = F["owner"] if fz and "owner" in F else MT[int(rnd() * nMT)]
            is_pm = owner == PM

            # pipeline and stage
            if fz and "pipeline" in F:
                pipeline = F["pipeline"]
            else:
                r = rnd()
                if r < 0.003:
                    pipeline = UNKNOWN_PIPELINE[0]
                elif is_pm:
                    pipeline = PPM[int(rnd() * nPPM)]
                else:
                    pipeline = PDF[int(rnd() * nPDF)]
                if r > 0.996:
                    pipeline = pipeline.lower()
            pkey = norm(pipeline)
            known = known_all.get(pkey)
            if fz and "stage" in F:
                stage = F["stage"]
                idx = known.get(norm(stage)) if known is not None else None
            else:
                canon = canon_pipe[pkey]
                table = stage_t[canon][status]
                idx = table[int(rnd() * len(table))]
                stage = stage_names[canon][idx]
                if known is None:
                    idx = None
                else:
                    r = rnd()
                    if r < 0.02:
                        if r < 0.004:
                            stage, idx = UNKNOWN_STAGES[int(rnd() * 2)], None
                        elif r < 0.01:
                            stage = stage.lower()
                        elif r < 0.015:
                            stage = stage.upper()
                        else:
                            stage = stage + " "
            if idx is None:
                after_demo = after_kp = False
            else:
                d = demo_idx[pkey]
                after_demo = d is not None and idx >= d
                after_kp = idx >= kp_idx[pkey]

            # organization and contact person
            if fz and "org" in F:
                kind = F["org"]
            elif pkey == "партнеры":
                kind = OKP[int(rnd() * nOKP)]
            elif is_pm and pkey == "клиенты":
                kind = OKM[int(rnd() * nOKM)]
            else:
                kind = OKD[int(rnd() * nOKD)]
            org_id, org_name, org = get_org(kind, owner, F)
            person_id, person_name = get_person(org_id, org_name, owner, F)

            # title
            if fz and "title" in F:
                title = F["title"]
            else:
                r = rnd()
                if r < 0.046:
                    title = self.odd_title()
                else:
                    product = PR[int(rnd() * nPR)]
                    core = CO[int(rnd() * nCO)]
                    if r < 0.5:
                        title = f"{core} — {product}"
                    elif r < 0.7:
                        title = f"{product} {core}"
                    elif r < 0.85:
                        title = product
                    else:
                        title = f"{product} для «{core}»"

            if fz and "lost_reason" in F:
                lost_reason = F["lost_reason"]
            else:
                lost_reason = LT[int(rnd() * nLT)] if status == "lost" else None

            # amount
            if fz and "value" in F:
                value = F["value"]
            elif rnd() < (0.1 if after_kp else 0.55):
                value = None if rnd() < 0.7 else 0.0
            else:
                value = float(5000 + 500 * int(rnd() * rnd() * 2000))
                if rnd() < 0.05:
                    value += 0.5
            currency = CT[int(rnd() * nCT)]

            # custom fields
            source = SRC[int(rnd() * nSRC)]
            city, country = CIT[int(rnd() * nCIT)]
            r = rnd()
            if r < 0.065:
                if r < 0.035:
                    city = None
                elif r < 0.06:
                    country = None
                else:
                    city = country = None
            if rnd() < (0.08 if after_kp else 0.5):
                traffic = None
            else:
                traffic = str(500 * (1 + int(rnd() * rnd() * 200)))
            if rnd() < (0.08 if after_kp else 0.5):
                budget = None
            else:
                budget = str(10000 * (1 + int(rnd() * rnd() * 100)))
            if rnd() < (0.9 if after_demo else 0.05):
                demo = f"https://drive.google.com/file/d/{bits(40):010x}/view"
            else:
                demo = None
            if rnd() < (0.9 if after_kp else 0.03):
                kp = f"https://docs.google.com/presentation/d/{bits(40):010x}"
            else:
                kp = None
            if kind == "partner":
                p_partner = 0.65
            elif is_pm and org is not None and org[AGENCY_FIELD] != "Да":
                p_partner = 0.5
            else:
                p_partner = 0.02
            partner = agency_name() if rnd() < p_partner else None

            # dates: days in the current stage, creation before that
            if fz and "days" in F:
                days = F["days"]
            elif status == "open":
                r = rnd()
                if idx == 0:  # «Принял в работу»: ~30% stuck (> 7 days)
                    if r < 0.68:
                        days = int(rnd() * 8)
                    elif r < 0.74:
                        days = BD[int(rnd() * 4)]
                    elif r < 0.84:
                        days = 9 + int(rnd() * 6)
                    elif r < 0.997:
                        days = 15 + int(rnd() * rnd() * 200)
                    else:
                        days = -1 - int(rnd() * 3)  # stage changed after the audit date
                elif r < 0.66:
                    days = int(rnd() * 15)
                elif r < 0.72:
                    days = BD[int(rnd() * 4)]
                elif r < 0.997:
                    days = 15 + int(rnd() * rnd() * 200)
                else:
                    days = -1 - int(rnd() * 3)
            else:
                days = int(rnd() * 330)
            r = rnd()
            if fz and F.get("late"):
                secs = 86399
            elif r < 0.02:
                secs = 86399 if r < 0.01 else 1  # 23:59:59 / 00:00:01
            else:
                secs = 28800 + int(rnd() * 43200)
            if fz and F.get("no_stage_change") or (
                    idx == 0 and not (fz and "days" in F) and rnd() < 0.5):
                stage_changed = None
                created = mids[1000 - days] + SEC[secs]
                age = days
            else:
                stage_changed = mids[1000 - days] + SEC[secs]
                age = days if idx == 0 else days + int(rnd() * rnd() * 250)
                created = mids[1000 - age] + SEC[28800 + int(rnd() * 43200)]
                if created > stage_changed:
                    created = stage_changed
            if age < 0:
                age = 0

            # activities: undone ones (tasks) by kind, done ones in the past
            if fz and "tasks" in F:
                undone = F["tasks"]
            elif status == "open":
                r = rnd()
                if r < 0.12:
                    undone = ()
                else:
                    undone = []
                    for _ in range(1 if r < 0.65 else 2 if r < 0.92 else 3):
                        r = rnd()
                        undone.append("future" if r >= 0.20 else "today" if r < 0.03 else
                                      "yesterday" if r < 0.06 else "nodue" if r < 0.10 else
                                      "overdue")
            elif status == "lost":
                p = 0.6 if lost_reason is not None and norm(lost_reason) in frozen else 0.05
                undone = (("overdue" if rnd() < 0.15 else "far"),) if rnd() < p else ()
            elif status == "won":
                undone = (("overdue" if rnd() < 0.3 else "future"),) if rnd() < 0.08 else ()
            else:
                undone = ("future",) if rnd() < 0.3 else ()
            if fz and "n_done" in F:
                n_done = F["n_done"]
            else:
                n_done = int(rnd() * 5) + (1 if status == "won" else 0)

            next_date = None
            n_todo = 0
            for j in range(n_done + len(undone)):
                # one 32-bit draw: type+subject, subject variant, due time, owner
                b = bits(32)
                atype, subject, timed = ACT[b & 1023]
                v = (b >> 10) & 1023
                if v < 55:
                    subject = (f"{subject}\n{DET[v % nDET]}" if v < 51  # multi-line, 5%
                               else FS[v & 3])  # formula-like, 0.4%
                if j < n_done:
                    done = True
                    due = dates[1000 - int(rnd() * (age + 1))]
                else:
                    done = False
                    spec = undone[j - n_done]
                    if spec.__class__ is tuple:
                        spec, subject = spec
                    if spec == "future":
                        due = dates[1001 + int(rnd() * 30)]
                    elif spec == "overdue":
                        due = dates[998 - int(rnd() * 45)]
                    elif spec == "today":
                        due = dates[1000]
                    elif spec == "yesterday":
                        due = dates[999]
                    elif spec == "far":
                        due = dates[1030 + int(rnd() * 120)]
                    else:  # nodue
                        due = None
                    n_todo += 1
                    if due is not None and (next_date is None or due < next_date):
                        next_date = due
                acts_append({
                    "id": str(next_act), "deal_id": did, "type": atype, "subject": subject,
                    "due_date": due,
                    "due_time": (DTM[(b >> 24) & 7] if timed and (b >> 20) & 15 < 10
                                 and due is not None else None),
                    "done": done,
                    "owner": owner if b >> 27 else other_manager(owner),  # 1/32 another user
                })
                next_act += 1
            if rnd() < 0.03:  # a call with the person, linked to no deal
                acts_append({
                    "id": str(next_act), "deal_id": None, "type": "Звонок",
                    "subject": "Позвонить клиенту", "due_date": dates[997 - int(rnd() * 20)],
                    "due_time": None, "done": False, "owner": owner,
                })
                next_act += 1

            deal = {
                "id": did,
                "title": title,
                "owner": owner,
                "value": value,
                "currency": currency,
                "status": status,
                "pipeline": pipeline,
                "stage": stage,
                "lost_reason": lost_reason,
                "org_id": org_id,
                "org_name": org_name,
                "person_id": person_id,
                "person_name": person_name,
                "created": created,
                "stage_changed": stage_changed,
                "next_activity_date": next_date,
                "activities_to_do": str(n_todo),
                F_SOURCE: source,
                F_CITY: city,
                F_COUNTRY: country,
                F_TRAFFIC: traffic,
                F_BUDGET: budget,
                F_DEMO: demo,
                F_KP: kp,
                F_PARTNER: partner,
            }
            if fz and "fields" in F:
                deal.update(F["fields"])
            deals_append(deal)
        self.next_act = next_act
        return Export(self.deals, self.orgs, self.persons, self.acts)


_FROZEN = {_norm(r) for r in DEFAULT_SETTINGS["frozen_lost_reasons"]}
# Company cores for titles and organization names: «Вектор Трейд», «Вектортрейд», ...
_CORES = ([f"{a} {b}" for a in CORE_A for b in CORE_B]
          + [a + b.lower() for a in CORE_A for b in CORE_B]
          + [f"{a}-{b}" for a in CORE_A for b in CORE_B[:8]])
# (type, subject, has a due time) weighted by the type's share
_ACT_T = _table([((t, s, t in ("Звонок", "Встреча")), w * 12 // len(SUBJECTS[t]))
                 for t, w in ACTIVITY_TYPES for s in SUBJECTS[t]])
_ACT_T = [_ACT_T[k * len(_ACT_T) // 1024] for k in range(1024)]  # 1024 entries: pick by 10 bits


def generate(n_deals: int = 300, seed: int = 7, as_of: date = date(2026, 11, 20)) -> Export:
    """Canonical records of a realistic export of `n_deals` deals, audited on `as_of`.

    Deterministic: the same arguments give the same records.
    """
    if n_deals < 0:
        raise ValueError("n_deals must be >= 0")
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    with gc_paused():
        return _Generator(int(n_deals), seed, as_of).run()


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

# (canonical key, header without the "Entity - " prefix, value kind)
DEAL_COLUMNS = [
    ("id", "ID", "id"), ("title", "Title", "text"), ("owner", "Owner", "text"),
    ("value", "Value", "number"), ("currency", "Currency", "text"),
    ("org_name", "Organization", "text"), ("org_id", "Organization ID", "id"),
    ("person_name", "Contact person", "text"), ("person_id", "Contact person ID", "id"),
    ("pipeline", "Pipeline", "text"), ("stage", "Stage", "text"),
    ("status", "Status", "status"), ("lost_reason", "Lost reason", "text"),
    ("created", "Deal created", "datetime"), ("stage_changed", "Last stage change", "datetime"),
    ("next_activity_date", "Next activity date", "date"),
    ("activities_to_do", "Activities to do", "text"),
] + [(f, f, "text") for f in DEAL_CUSTOM_FIELDS]
ORG_COLUMNS = [("id", "ID", "id"), ("name", "Name", "text"), ("owner", "Owner", "text"),
               (AGENCY_FIELD, AGENCY_FIELD, "text")]
PERSON_COLUMNS = [("id", "ID", "id"), ("name", "Name", "text"), ("owner", "Owner", "text"),
                  ("org_name", "Organization", "text")]
ACTIVITY_COLUMNS = [
    ("id", "ID", "id"), ("subject", "Subject", "text"), ("type", "Type", "text"),
    ("due_date", "Due date", "date"), ("due_time", "Due time", "text"),
    ("done", "Done", "done"), ("deal_id", "Deal ID", "id"),
    ("owner", "Assigned to user", "text"),
]
PREFIXES = {"deals": "Deal - ", "organizations": "Organization - ",
            "persons": "Person - ", "activities": "Activity - "}
STATUS_OUT = {"open": "Open", "won": "Won", "lost": "Lost", "deleted": "Deleted"}
STYLES = ("clean", "messy")


def _fmt_date(v, messy: bool) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        v = v.date()
    s = v.isoformat()
    return f"{s[8:10]}.{s[5:7]}.{s[:4]}" if messy else s


def _format_column(values: list, kind: str, messy: bool) -> list:
    """One column of a chunk as export text ('' for an empty cell)."""
    if kind == "text" or kind == "id" and not messy:
        return ["" if v is None else v for v in values]
    if kind == "id":  # Excel turned every ID into a float
        try:
            return [v + ".0" if v else "" for v in values]
        except TypeError:  # not text
            return ["" if v is None or v == "" else f"{v}.0" for v in values]
    if kind == "number":
        fmt = _fmt_ru_number if messy else _fmt_plain_number
        return ["" if v is None or v == "" else fmt(v) for v in values]
    if kind == "datetime":
        if not messy:
            return ["" if v is None else v.isoformat(" ") for v in values]
        out = []
        for v in values:
            if v is None:
                out.append("")
            else:
                s = v.isoformat(" ")
                out.append(f"{s[8:10]}.{s[5:7]}.{s[:4]} {s[11:16]}")
        return out
    if kind == "date":  # few distinct dates: format each once
        cache = {v: _fmt_date(v, messy) for v in set(values)}
        return [cache[v] for v in values]
    if kind == "status":
        return [STATUS_OUT.get(v, v) or "" for v in values]
    if kind == "done":
        return ["Done" if v else "To do" for v in values]
    raise ValueError(kind)


_CHUNK = 8192
_CSV_FORMATS = {
    False: {"delimiter": ",", "quoting": csv.QUOTE_ALL, "lineterminator": "\n"},
    True: {"delimiter": ";", "quoting": csv.QUOTE_MINIMAL, "lineterminator": "\r\n"},
}
_NEEDS_QUOTES_MESSY = re.compile('[;"\r\n]')


class _LineFormatter:
    """csv.writer into a string: the reference formatting, used for rare rows."""

    def __init__(self, fmt: dict):
        self.buf = io.StringIO()
        self.writer = csv.writer(self.buf, **fmt)

    def __call__(self, rows) -> str:
        self.buf.seek(0)
        self.buf.truncate()
        self.writer.writerows(rows)
        return self.buf.getvalue()


def _write_csv(path: Path, header: list[str], records: list[dict], columns, messy: bool) -> None:
    """Write `records` exactly as csv.writer would (byte for byte), but faster.

    Chunks of records are formatted column by column; a column is quoted
    value by value only where one of its values needs it (QUOTE_MINIMAL: a
    delimiter, quote or line break; QUOTE_ALL: quotes are doubled), then rows
    are joined with plain string operations.
    """
    slow = _LineFormatter(_CSV_FORMATS[messy])
    get_row = itemgetter(*[key for key, _, _ in columns])
    kinds = [kind for _, _, kind in columns]
    extra_empty = len(header) - len(columns)  # duplicated empty trailing columns
    needs_quotes = _NEEDS_QUOTES_MESSY.search
    with open(path, "w", encoding="utf-8-sig" if messy else "utf-8", newline="",
              buffering=1 << 20) as f:
        write = f.write
        write(slow([header]))
        for start in range(0, len(records), _CHUNK):
            chunk = records[start:start + _CHUNK]
            n = len(chunk)
            # one pass over each record (cache-friendly), then transpose to columns
            raw_cols = zip(*map(get_row, chunk)) if len(kinds) > 1 else [list(map(get_row, chunk))]
            cols = [_format_column(raw, kind, messy) for raw, kind in zip(raw_cols, kinds)]
            for k, col in enumerate(cols):
                try:
                    joined = "\x1f".join(col)
                except TypeError:  # a value that is not text: str() it, as csv.writer does
                    col = cols[k] = ["" if v is None else str(v) for v in col]
                    joined = "\x1f".join(col)
                if messy:
                    if needs_quotes(joined):
                        cols[k] = [f'"{v.replace(chr(34), chr(34) * 2)}"' if quote else v
                                   for v, quote in zip(col, map(needs_quotes, col))]
                elif '"' in joined:
                    cols[k] = [v.replace('"', '""') for v in col]
            cols += [[""] * n] * extra_empty
            if messy:
                lines = list(map(";".join, zip(*cols)))
                lines.append("")
                write("\r\n".join(lines))
            else:
                write('"')
                write('"\n"'.join(map('","'.join, zip(*cols))))
                write('"\n')
        if messy:
            write(slow([[None] * len(header)] * 3))  # empty trailing rows: ;;;;


def write_pipedrive(export: Export, out_dir, style: str = "clean") -> dict[str, Path]:
    """Write `export` as the four Pipedrive CSV files in `out_dir`.

    ``clean``: Pipedrive's list export (UTF-8, ``,``, every field quoted,
    ``Entity - Field`` headers, ``YYYY-MM-DD HH:MM:SS`` dates, decimal point).
    ``messy``: the same files after Russian-locale Excel (UTF-8 BOM, ``;``,
    minimal quoting, headers without prefix, ``dd.mm.yyyy [HH:MM]`` dates,
    ``1 500,00`` numbers, IDs as ``123.0``, a duplicated empty trailing
    «Город» column in deals, three empty trailing rows).
    Returns {"deals": path, "organizations": ..., "persons": ..., "activities": ...}.
    """
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {STYLES}")
    messy = style == "messy"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan = [
        ("deals", DEAL_COLUMNS, export.deals),
        ("organizations", ORG_COLUMNS, export.organizations),
        ("persons", PERSON_COLUMNS, export.persons),
        ("activities", ACTIVITY_COLUMNS, export.activities),
    ]
    paths: dict[str, Path] = {}
    with gc_paused():
        for name, columns, records in plan:
            if messy:
                header = [h for _, h, _ in columns]
                if name == "deals":
                    header.append(F_CITY)  # the same header twice, an empty column
            else:
                header = [PREFIXES[name] + h for _, h, _ in columns]
            path = out / f"{name}.csv"
            _write_csv(path, header, records, columns, messy)
            paths[name] = path
    return paths


def generate_export(out_dir, n_deals: int = 300, seed: int = 7,
                    as_of: date = date(2026, 11, 20), style: str = "clean") -> Export:
    """:func:`generate` then :func:`write_pipedrive`; returns the canonical records."""
    export = generate(n_deals, seed, as_of)
    write_pipedrive(export, out_dir, style)
    return export


if __name__ == "__main__":  # python -m samplegen OUT_DIR [N] [STYLE]
    import sys
    import time

    t0 = time.perf_counter()
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    ex = generate(n)
    t1 = time.perf_counter()
    write_pipedrive(ex, sys.argv[1] if len(sys.argv) > 1 else "sample-export",
                    sys.argv[3] if len(sys.argv) > 3 else "clean")
    t2 = time.perf_counter()
    print(f"{len(ex.deals)} deals, {len(ex.activities)} activities: "
          f"generate {t1 - t0:.2f}s, write {t2 - t1:.2f}s")
