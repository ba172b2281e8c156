"""What a data warning is about, in the words a manager reads on the FAQ sheet.

A :class:`~crm_audit.report.DataWarning` carries an internal ``code``
(``unknown-stage``, ``document-edit`` …) for tests and the library; the FAQ's
«Проблемы в данных» block shows this label instead, never the code.
"""

from __future__ import annotations

LABELS: dict[str, str] = {
    "ambiguous-link": "Неоднозначная связь",
    "bad-value": "Непонятное значение",
    "blank-column": "Пустой столбец",
    "date-order": "Порядок дня и месяца",
    "deal-without-id": "Сделка без ID",
    "decimal-mark": "Десятичный разделитель",
    "decimal-mark-mixed": "Разные десятичные разделители",
    "document-edit": "Правка в документе",
    "duplicate-deal": "Повтор сделки",
    "duplicate-header": "Повтор столбца",
    "footer": "Итоговая строка",
    "header-names": "Названия колонок по API-ключам",
    "ids-unused": "Настройки",
    "list-name-not-in-export": "Имя не из выгрузки",
    "misspelt-field": "Опечатка в поле?",
    "missing-comment": "Нет комментария",
    "no-deal-id": "Строка без ID сделки",
    "pipelines-by-id": "Воронки по ID",
    "pages-joined": "Страницы одного списка",
    "rows-skipped": "Пропущенные строки",
    "rule-partial": "Правило проверено частично",
    "rule-skipped": "Правило пропущено",
    "rule-stage-order-guessed": "Порядок этапов",
    "rule-unjudged": "Сделки без оценки",
    "stage-columns": "Дни на этапе по колонкам этапов",
    "sheet-capped": "Лист обрезан",
    "stage-order-guessed": "Порядок этапов",
    "closed-stages-guessed": "Закрытые этапы",
    "closed-stage-unknown": "Закрытая сделка без итога",
    "status-flags-contradict": "Флаги закрытия противоречат",
    "no-open-deals": "Нет открытых сделок",
    "no-closed-deals": "Нет закрытых сделок",
    "grouped-report": "Значение группы продолжено вниз",
    "unlinked-tasks": "Задачи без сделок",
    "unlinked-records": "Компании или контакты без сделок",
    "deal-url-example": "Ссылка на сделку — пример",
    "no-owner-column": "Нет колонки ответственного",
    "no-title-column": "Нет колонки названия",
    "no-deal-ids": "Нет ID сделок",
    "deal-key-collision": "Совпадающие сделки без ID",
    "no-stage-column": "Нет колонки даты этапа",
    "skip-stale": "Правило можно включить",
    "unknown-decision": "Неизвестное решение",
    "unknown-file": "Лишний файл",
    "skipped-sheet": "Лист книги не прочитан",
    "unknown-pipeline": "Неизвестная воронка",
    "unknown-stage": "Неизвестный этап",
    "unknown-status": "Неизвестный статус",
    "unknown-value": "Неизвестное значение",
    "unmapped-values": "Значения, которых профиль не знает",
    "values-guessed": "Значения полей (values:)",
    "unnamed-id": "ID без названия",
    "warehouse-missing": "Нет в хранилище",
    "warehouse-duplicate-field": "Поле дважды в хранилище",
}

#: A code without a label of its own (a newer warning) still reads as Russian.
DEFAULT = "Данные"


def label(code: str) -> str:
    """The Russian label of a warning ``code``."""
    return LABELS.get(code, DEFAULT)
