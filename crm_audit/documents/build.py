"""The audit document as a neutral model (:mod:`crm_audit.documents.model`), built from an AuditReport.

Sheets, in order: «FAQ» (how to work with the document and, per rule, what
is wrong, why it matters and how to fix it; each rule's name links to its
sheet), one sheet per rule (:mod:`crm_audit.documents.layout`: the header,
then one row per violation in ``RuleResult.rows`` order; a note right of the
header when the rule has no violations, was skipped or capped), and «Учет
попаданий» (hits per manager per rule in this audit, then the history over
the audits with a chart). Every text a manager reads is Russian.

Optional columns of ``RuleResult.rows`` pre-fill the process columns:
``status``, ``comment``, ``first_seen``, ``streak``, ``carry_note``,
``decision``, ``decision_note`` (carried over from the previous audit);
without them a row is «Не обработано», first seen in this audit, 1 audit in a row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from crm_audit.documents.cells import clean_text, plain_value
from crm_audit.documents.layout import (
    DECISIONS,
    EXTRA_ROWS,
    FAQ_TITLE,
    BASE_COLUMNS,
    HEADER_CARRY_NOTE,
    HEADER_COMMENT,
    HEADER_DECISION,
    HEADER_DECISION_NOTE,
    HEADER_DUE,
    HEADER_FIRST_SEEN,
    HEADER_RULE_ID,
    HEADER_STATUS,
    HEADER_STREAK,
    PROCESS_COLUMNS,
    Role,
    HITS_TITLE,
    PROPERTY_AS_OF,
    PROPERTY_LEDGER,
    STATUS_FIXED,
    STATUS_NEW,
    STATUS_NOT_FIXED,
    STATUSES,
    SheetColumn,
    rule_sheet_columns,
    sheet_notes,
)
from crm_audit.documents.limits import capped
from crm_audit.documents.warning_labels import label as warning_label
from crm_audit.documents.model import (
    Cell,
    CellRange,
    Chart,
    Document,
    Format,
    Guard,
    Highlight,
    Link,
    Sheet,
    Table,
    TableColumn,
    Validation,
)
from crm_audit.report import AuditReport, RuleResult

__all__ = ["build_document", "faq_sheet", "hits_sheet", "rule_sheet", "sheet_titles", "DATE_FORMAT"]

DATE_FORMAT = "DD.MM.YYYY"
HITS_MANAGER_HEADER = "Менеджер"
HITS_TOTAL_HEADER = "Всего"
HITS_TOTAL_ROW = "Итого"
NO_OWNER = "(без ответственного)"

_HEADER_FILL = "DDEBF7"
_RED_FILL, _RED_FONT = "FFC7CE", "9C0006"
_GREEN_FILL = "E2EFDA"
_LINK_COLOR = "0563C1"
_GREY = "595959"

# formats ----------------------------------------------------------------------
HEADER = Format(bold=True, fill=_HEADER_FILL, wrap=True, valign="top")
HEADER_RIGHT = Format(bold=True, fill=_HEADER_FILL, wrap=True, valign="top", halign="right")  # over numbers and dates
HEADER_DATE = Format(bold=True, fill=_HEADER_FILL, valign="top", halign="right")  # a date: one line, never wrapped
TEXT = Format()
WRAP = Format(wrap=True, valign="top")
COMMENT = Format(wrap=True, valign="top", number_format="@")
DATE = Format(number_format=DATE_FORMAT)
INT = Format(number_format="0", halign="right")
COUNT = Format(number_format="0", halign="left", valign="top")
NUMBER = Format(number_format="General", halign="right")
BOLD_INT = Format(bold=True, valign="top", halign="right")
LINK = Format(underline=True, color=_LINK_COLOR)
TITLE = Format(bold=True, size=14)
BOLD = Format(bold=True, valign="top")
LABEL = Format(bold=True, wrap=True, valign="top")
NOTE = Format(italic=True, color=_GREY)
TECHNICAL = Format(color=_GREY)  # «ID правила»: the read-back key, not for reading
HEADER_NOTE = Format(bold=True, italic=True, color=_GREY, valign="top")
RULE_LINK = Format(bold=True, size=12, underline=True, color=_LINK_COLOR)
NOT_FIXED = Format(fill=_RED_FILL, color=_RED_FONT)  # «Не исправлено» without a comment
FIXED = Format(fill=_GREEN_FILL)
INVALID = Format(fill=_RED_FILL, color=_RED_FONT)  # a status or decision that is none of the choices
OVERDUE = Format(fill="FFEB9C", color="9C5700")  # past the due date and still «Не обработано»

_BY_KIND = {"text": TEXT, "link": LINK, "date": DATE, "int": INT, "number": NUMBER}

STATUS_ERROR_TITLE = "Недопустимый статус"
STATUS_ERROR = "Выберите статус из списка: «Не обработано», «Исправлено» или «Не исправлено»."
STATUS_PROMPT_TITLE = "Статус"
STATUS_PROMPT = "«Не исправлено» — только с комментарием в столбце «Комментарий»."
DECISION_ERROR_TITLE = "Недопустимое решение"
DECISION_ERROR = "Выберите решение из списка: «Принято» или «Предупреждение»."
#: A cell holds one validation (LibreOffice keeps only the last of two over the same cell: the drop-down would be lost),
#: so the decision's drop-down carries the head's column warning itself: shown as soon as the cell is selected, before
#: anything is picked; it stops nothing (the ID columns' guard is a warning too). Google Sheets: a warning-only range.
DECISION_PROMPT_TITLE = "Столбец руководителя"
DECISION_PROMPT = ("Заполняет руководитель отдела продаж: «Принято» (строка больше не появится) или «Предупреждение». "
                   "Менеджер здесь ничего не выбирает.")
GUARD_ID_TITLE = "Столбец заполняет аудит"
GUARD_ID = ("По этому столбцу статусы и комментарии переносятся в следующий аудит: не меняйте его. "
            "Продолжить всё равно?")
GUARD_DECISION_TITLE = "Столбец руководителя"
GUARD_DECISION = "«Решение» и «Комментарий руководителя» заполняет руководитель отдела продаж. Продолжить всё равно?"

#: Right-aligned headers: over numbers and dates (text headers stay left).
_RIGHT_KINDS = ("int", "number", "date")

#: What each column of a rule sheet holds, for the FAQ (base columns by key, then the process columns by header).
COLUMN_HELP: dict[str, str] = {
    "deal_url": "ссылка на сделку в CRM: откройте и исправьте сделку там.",
    "deal_id": "номер сделки в CRM. По нему (вместе с «ID правила») статус и комментарии переносятся в следующий аудит: "
               "не меняйте его.",
    "title": "название сделки из выгрузки.",
    "owner": "менеджер, ответственный за сделку: отфильтруйте по нему свои строки.",
    "state": "состояние сделки в CRM: открыта, выиграна, проиграна; «закрыта (исход не подтверждён)» — CRM закрыла "
             "сделку, а выиграна она или проиграна, в настройках аудита ещё не подтверждено.",
    "reason": "причина проигрыша или выигрыша, как она записана в CRM.",
    "pipeline": "воронка сделки.",
    "stage": "этап сделки в воронке.",
    HEADER_STATUS: "ваш ответ по строке: «Не обработано», «Исправлено» или «Не исправлено» (выберите из списка).",
    HEADER_COMMENT: "ваше объяснение; обязательно при «Не исправлено».",
    HEADER_DUE: "до какого дня разобрать строку. Строка «Не обработано» после этого дня подсвечивается жёлтым.",
    HEADER_FIRST_SEEN: "дата аудита, в котором сделка впервые нарушила это правило.",
    HEADER_STREAK: "сколько аудитов подряд сделка нарушает это правило (1 — нарушение новое).",
    HEADER_CARRY_NOTE: "что аудит перенёс из прошлого документа: например, «Исправлено», но сделка всё ещё нарушает правило.",
    HEADER_DECISION: "решение руководителя по строке «Не исправлено»: «Принято» — объяснение принято, строка больше "
                     "не появится; «Предупреждение» — менеджер получает предупреждение. Заполняет руководитель.",
    HEADER_DECISION_NOTE: "пояснение руководителя к решению.",
    HEADER_RULE_ID: "код правила для переноса статусов в следующий аудит: не меняйте его.",
}

_WIDTH_SAMPLE = 2000  # rows sampled to size a column
_RULE_WIDTH = 16  # «Учет попаданий»: a rule column (its code and title wrap in the header)
_DATE_WIDTH = 12  # a dd.mm.yyyy header on one line
#: «Учет попаданий»: the chart shows this many managers with the most hits (its title says so when there are more).
CHART_MANAGERS = 10
_MIN_WIDTH, _MAX_WIDTH = 8, 50
_NOTE_WIDTH = 60
_INVALID_TITLE_RE = re.compile(r"[\\*?:/\[\]]")


# values -------------------------------------------------------------------------


def _number_text(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def as_text(value: Any) -> str:
    """A plain value as a manager reads it (dates ``dd.mm.yyyy``, yes/no in Russian)."""
    if isinstance(value, bool):
        return "Да" if value else "Нет"
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.strftime("%d.%m.%Y")
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def _clean(value: str) -> str | None:
    """Text as the model holds it: no characters a spreadsheet rejects; None for ""."""
    if not value:
        return None
    return value if value.isprintable() else (clean_text(value) or None)


def typed(value: Any, kind: str) -> Any:
    """The model value of a cell in a column of ``kind``: a date, a number, or text; None when missing."""
    value = plain_value(value)
    if value is None:
        return None
    if value.__class__ is str:
        return _clean(value)
    if isinstance(value, bool):
        return as_text(value)
    if kind in ("date", "number", "int"):
        if isinstance(value, dt.date):
            return value.date() if isinstance(value, dt.datetime) else value
        if isinstance(value, (int, float)):
            if isinstance(value, float) and math.isinf(value):
                return as_text(value)
            if kind == "int" and isinstance(value, float) and value.is_integer():
                return int(value)
            return value
    if kind == "link":
        return _clean(as_text(value).strip())
    return _clean(as_text(value))


#: The characters :func:`clean_text` removes that a UTF-8 (Arrow) string can hold, as an RE2 class.
_ILLEGAL_RE2 = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{FFFE}\x{FFFF}]"


class Converted(Sequence):
    """A column of ``RuleResult.rows`` as model values, converted slice by slice when read.

    A rule sheet may hold a million rows: a renderer reads its table in
    slices (``values[a:b]``), so only one slice of converted values exists
    at a time. A renderer that works on Arrow arrays may ask :meth:`arrow`
    for the same values without a Python object per cell.
    """

    __slots__ = ("_series", "_convert", "_kind")

    def __init__(self, series: pd.Series, convert: Callable[[list[Any]], list[Any]], kind: str | None = None):
        self._series = series
        self._convert = convert
        self._kind = kind  # the column's kind when ``convert`` is :func:`_converter`'s for it (else no Arrow slices)

    def __len__(self) -> int:
        return len(self._series)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return self._convert(self._series.iloc[index].tolist())
        return self._convert([self._series.iloc[index]])[0]

    def __iter__(self):
        for start in range(0, len(self), 4096):
            yield from self[start : start + 4096]

    def arrow(self, start: int, stop: int) -> Any:
        """``self[start:stop]`` as an Arrow array (string or int64, null for None), or None: read the slice then.

        Only where the values need no Python: text and links held as Arrow
        strings without a character :func:`clean_text` removes ("" becomes
        null, as :func:`_clean` makes it None; :func:`typed` strips only a
        link that is not text), and integer columns of any kind but text and
        link (the number itself, as :func:`typed` keeps it).
        """
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        kind, dtype = self._kind, self._series.dtype
        if kind in ("text", "link") and isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
            arr = pa.array(self._series.iloc[start:stop])
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
            if arr.type != pa.string():
                arr = arr.cast(pa.string())
            if pc.any(pc.match_substring_regex(arr, _ILLEGAL_RE2)).as_py():
                return None
            empty = pc.equal(arr, "")
            if pc.any(empty).as_py():
                arr = pc.if_else(empty, pa.scalar(None, pa.string()), arr)
            return arr
        if kind in ("int", "number", "date") and isinstance(dtype, np.dtype) and dtype.kind == "i":
            return pa.array(self._series.to_numpy()[start:stop], pa.int64())
        return None


#: A number as a CRM exports it as text: no leading zero (an id or a code keeps it), at most 15 digits (Excel's
#: precision), a decimal point or a decimal comma (not followed by three digits: that is a thousands separator).
_NUMBER_TEXT_RE = re.compile(r"-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,6}|,(?![0-9]{3}$)[0-9]{1,6})?")


def _text_number(value: str) -> int | float | None:
    """The number a text holds (``"210000"`` -> 210000, ``"12,5"`` -> 12.5), or None."""
    text = value.strip()
    if not _NUMBER_TEXT_RE.fullmatch(text):
        return None
    if "." in text or "," in text:
        return float(text.replace(",", "."))
    return int(text)


def _numeric_text(rows: pd.DataFrame, key: str) -> bool:
    """True when a text column's sampled values are all numbers (as text or not) and at least one is a text."""
    if key not in rows.columns:
        return False
    texts = 0
    for v in rows[key].iloc[:_WIDTH_SAMPLE].tolist():
        v = plain_value(v)
        if v is None or (v.__class__ is str and not v.strip()):
            continue
        if v.__class__ is str:
            if _text_number(v) is None:
                return False
            texts += 1
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            return False
    return texts > 0


def _text_numbers(values: list[Any]) -> list[Any]:
    """Model values of a numeric-text column: numbers where the text is one, anything else as :func:`typed` makes it."""
    out = []
    for v in values:
        number = _text_number(v) if v.__class__ is str else None
        out.append(number if number is not None else typed(v, "number"))
    return out


def _converter(kind: str) -> Callable[[list[Any]], list[Any]]:
    """Raw values -> model values for a column of ``kind`` (fast paths for text and integers)."""
    if kind == "text":  # most cells are str: keep them (cleaned), the rest go the long way
        return lambda values: [(_clean(v) if v.__class__ is str else typed(v, kind)) for v in values]
    if kind == "link":
        return lambda values: [typed(v, kind) for v in values]
    return lambda values: [(v if v.__class__ is int else typed(v, kind)) for v in values]


def _column(rows: pd.DataFrame, key: str, convert: Callable[[list[Any]], list[Any]], default: Any = None,
            kind: str | None = None) -> Sequence[Any]:
    if key not in rows.columns:
        return [default] * len(rows)
    return Converted(rows[key], convert, kind)


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold().replace("ё", "е")


_STATUS_BY_FOLD = {_fold(s): s for s in STATUSES}
_DECISION_BY_FOLD = {_fold(s): s for s in DECISIONS}


def _choice(raw: Any, by_fold: dict[str, str]) -> str | None:
    """A carried-over choice: the choice it means (case, spaces, ё ignored), else the text as written."""
    text = typed(raw, "text")
    if text is None or not text.strip():
        return None
    return by_fold.get(_fold(text), text)


def _status_values(values: list[Any]) -> list[str]:
    return [_choice(v, _STATUS_BY_FOLD) or STATUS_NEW for v in values]


def _decision_values(values: list[Any]) -> list[str | None]:
    return [_choice(v, _DECISION_BY_FOLD) for v in values]


def _streak_values(values: list[Any]) -> list[int]:
    return [int(s) if (s := plain_value(v)) is not None else 1 for v in values]


def _first_seen(value: Any, as_of: dt.date) -> Any:
    if value.__class__ is dt.date:
        return value
    return typed(value, "date") or as_of


def _date(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def _plural(n: int, one: str, few: str, many: str) -> str:
    n10, n100 = abs(n) % 10, abs(n) % 100
    if n10 == 1 and n100 != 11:
        return one
    if 2 <= n10 <= 4 and not 12 <= n100 <= 14:
        return few
    return many


# sizes --------------------------------------------------------------------------


def _width_of_texts(header: str, texts: Iterable[str], header_line: bool = True) -> float:
    words = header.split() or [""]
    need = max(len(w) for w in words) + 2
    if header_line:
        need = max(need, min(len(header), 22) + 2)
    for text in texts:
        line = len(text) if "\n" not in text else max(len(part) for part in text.split("\n"))
        if line + 2 > need:
            need = line + 2
            if need >= _MAX_WIDTH:
                break
    return float(max(_MIN_WIDTH, min(_MAX_WIDTH, need)))


#: Rule sheets: the widest a column of the export gets (longer text is cut on screen; the URL column is narrow, the
#: deal title carries the link): 20 columns must print readable on A4 landscape, fit to width (issue 16)
_DATA_MAX_WIDTH, _LINK_MAX_WIDTH = 24, 16


def _column_width(column: SheetColumn, values: Sequence[Any]) -> float:
    if column.process is not None:
        return float(column.process.width)
    if column.kind == "date":
        return float(max(12, _width_of_texts(column.header, [])))
    sample = (v if v.__class__ is str else as_text(v) for v in values[:_WIDTH_SAMPLE] if v is not None)
    # the header wraps (the header row is as tall as it needs): its longest word sets the least width
    need = _width_of_texts(column.header, sample, header_line=False)
    return min(need, _LINK_MAX_WIDTH if column.kind == "link" else _DATA_MAX_WIDTH)


def text_lines(text: str, width: float) -> int:
    """Lines ``text`` takes when wrapped in a column ``width`` characters wide (estimate)."""
    capacity = max(1, int(width) - 1)
    return sum(max(1, len(textwrap.wrap(part, capacity))) for part in text.split("\n"))


# sheets ---------------------------------------------------------------------------


def sheet_titles(results: Sequence[RuleResult]) -> list[str]:
    """Valid, unique (case-insensitively) sheet titles for the rule sheets (at most 31 characters)."""
    used = {FAQ_TITLE.casefold(), HITS_TITLE.casefold()}
    titles = []
    for result in results:
        raw = clean_text(str(result.sheet_title or f"{result.code} {result.title}"))
        title = _INVALID_TITLE_RE.sub("_", " ".join(raw.split())).strip("'").strip() or result.rule_id
        title = title[:31].strip()
        candidate, i = title, 2
        while candidate.casefold() in used:
            suffix = f" ({i})"
            candidate = title[: 31 - len(suffix)].rstrip() + suffix
            i += 1
        used.add(candidate.casefold())
        titles.append(candidate)
    return titles


def _titled_links(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with a blank deal title (what rule 1.5 flags) that carries the deal's link read «Сделка 25 (без
    названия)»: a link with nothing to click is no link (a row without a link keeps its blank title)."""
    if not len(rows) or not {"title", "deal_url", "deal_id"} <= set(rows.columns):
        return rows
    title = rows["title"].astype("string").fillna("").str.strip()
    url = rows["deal_url"].astype("string").fillna("").str.strip()
    blank = ((title == "") & (url != "")).to_numpy(dtype=bool)
    if not blank.any():
        return rows
    from crm_audit.deal_label import deal_label

    rows = rows.copy()
    fixed = [deal_label(None, d) for d in rows["deal_id"].to_numpy()[blank]]
    rows.loc[blank, "title"] = fixed
    return rows


def _cell(value: Any, fmt: Format = TEXT, kind: str = "text", link: Link | None = None) -> Cell | None:
    v = typed(value, kind)
    if v is None and link is None and fmt is TEXT:
        return None
    return Cell(v, fmt, link)


def rule_sheet(
    result: RuleResult, title: str, report: AuditReport, *, deal_id_header: str | None = None, extra_rows: int = EXTRA_ROWS
) -> Sheet:
    """One rule's sheet: the header row, then the violations as a columnar table."""
    columns = rule_sheet_columns(result, deal_id_header=deal_id_header)
    rows = result.rows if result.rows is not None else pd.DataFrame(columns=[c.key for c in columns])
    rows = _titled_links(rows)
    n = len(rows)
    evidence = {c.key for c in result.evidence}
    # evidence a CRM exports as text but that holds numbers (a budget, traffic): numbers, right-aligned
    laid_out = columns
    columns = [dataclasses.replace(c, kind="number") if c.key in evidence and c.kind == "text" and _numeric_text(rows, c.key)
               else c for c in columns]
    values: list[Sequence[Any]] = []
    for c in columns:
        p = c.process
        if p is None and c.key in evidence and c.kind == "number" and c not in laid_out:
            values.append(_column(rows, c.key, _text_numbers))
        elif p is None:
            values.append(_column(rows, c.key, _converter(c.kind), kind=c.kind))
        elif p.key == "status":
            values.append(_column(rows, "status", _status_values, STATUS_NEW))
        elif p.key == "decision":
            values.append(_column(rows, "decision", _decision_values))
        elif p.key == "due":
            values.append([report.due_date] * n)
        elif p.key == "first_seen":
            values.append(_column(rows, "first_seen", lambda seen: [_first_seen(f, report.as_of) for f in seen], report.as_of))
        elif p.key == "streak":
            values.append(_column(rows, "streak", _streak_values, 1))
        elif p.key == "rule_id":
            values.append([_clean(str(result.rule_id))] * n)
        else:  # comment, carry note, decision note: text as written
            values.append(_column(rows, p.key, _converter("text"), kind="text"))

    formats = [COMMENT if c.header == HEADER_COMMENT or c.key == "decision_note"
               else TECHNICAL if c.key == "rule_id" else _BY_KIND.get(c.kind, TEXT)
               for c in columns]
    url_at = next((i for i, c in enumerate(columns) if c.key == "deal_url"), None)
    title_at = next((i for i, c in enumerate(columns) if c.key == "title"), None)
    if url_at is not None and title_at is not None:
        formats[title_at] = LINK  # the deal title carries the deal's link (where its row has one)
    table = Table([TableColumn(v, f, links=(c.kind == "link"), link_to=url_at if i == title_at and url_at is not None else None)
                   for i, (c, v, f) in enumerate(zip(columns, values, formats))], n)
    widths = {i: _column_width(c, v) for i, (c, v) in enumerate(zip(columns, values))}
    ncols = len(columns)
    header = [Cell(_clean(c.header), HEADER_RIGHT if c.kind in _RIGHT_KINDS else HEADER) for c in columns]
    notes = sheet_notes(result)
    if notes:
        header += [None, Cell(_clean(" ".join(notes)), HEADER_NOTE)]
        widths[ncols + 1] = _NOTE_WIDTH
    at = {c.header: i for i, c in reversed(list(enumerate(columns)))}
    status, comment, decision, due = at[HEADER_STATUS], at[HEADER_COMMENT], at[HEADER_DECISION], at[HEADER_DUE]
    keys = [i for i, c in enumerate(columns) if c.role is Role.KEY]
    heads = [i for i, c in enumerate(columns) if c.role is Role.HEAD]
    extent = n + 1 + extra_rows
    body = CellRange(1, 0, extent - 1, ncols - 1)
    return Sheet(
        title, "rule", [header], table,
        widths=widths,
        heights={0: max(text_lines(c.header, widths[i] - 1) for i, c in enumerate(columns))},
        column_formats={comment: COMMENT},
        frozen=(1, 0),
        filter=CellRange(0, 0, n, ncols - 1),
        validations=[
            Validation(status, 1, extent - 1, STATUSES, error_title=STATUS_ERROR_TITLE, error=STATUS_ERROR,
                       prompt_title=STATUS_PROMPT_TITLE, prompt=STATUS_PROMPT),
            Validation(decision, 1, extent - 1, DECISIONS, error_title=DECISION_ERROR_TITLE, error=DECISION_ERROR,
                       prompt_title=DECISION_PROMPT_TITLE, prompt=DECISION_PROMPT),
        ],
        highlights=[
            Highlight(body, status, NOT_FIXED, equals=STATUS_NOT_FIXED, blank_column=comment, stop=True),
            Highlight(body, status, FIXED, equals=STATUS_FIXED),
            Highlight(body, status, OVERDUE, equals=STATUS_NEW, before_today=due),
            Highlight(CellRange(1, status, extent - 1, status), status, INVALID, not_one_of=STATUSES),
            Highlight(CellRange(1, decision, extent - 1, decision), decision, INVALID, not_one_of=DECISIONS),
        ],
        guards=[Guard(i, i, 1, extent - 1, GUARD_ID_TITLE, GUARD_ID) for i in keys]
        + [Guard(min(heads), max(heads), 1, extent - 1, GUARD_DECISION_TITLE, GUARD_DECISION)],
        roles=[c.role for c in columns],
        notes=notes,
        repeat_rows=1,
        extent=extent,
        text_digits=tuple(keys),
        # printed: the deal's columns from its id to the head's comment (the URL and «ID правила» mean nothing on paper)
        print_columns=(1 if columns[0].role is Role.LINK else 0, ncols - 2 if columns[-1].key == "rule_id" else ncols - 1),
        # two pages wide, the deal's id and title on the left of each: ~7 pt, not a 20-column row shrunk to 2.4 pt
        pages_wide=2,
        repeat_columns=(lambda ids: (min(ids), max(ids)) if ids else None)(
            [i for i, c in enumerate(columns) if c.key in ("deal_id", "title")]),
    )


class _Lines:
    """Rows of a sheet written top to bottom (FAQ, «Учет попаданий»)."""

    def __init__(self, sheet: Sheet, label_width: float = 0, text_width: float = 0):
        self.sheet = sheet
        self.widths = (label_width, text_width)

    @property
    def row(self) -> int:
        """The index of the next row."""
        return len(self.sheet.cells)

    def add(self, *cells: Cell | None) -> None:
        self.sheet.cells.append(list(cells))

    def line(self, label: Any = None, text: Any = None, label_format: Format = LABEL) -> None:
        """A FAQ line: a bold label and a wrapped text, as tall as either needs."""
        lines = max(
            text_lines(as_text(label), self.widths[0]) if label is not None else 1,
            text_lines(as_text(text), self.widths[1]) if text is not None else 1,
        )
        if lines > 1:
            self.sheet.heights[self.row] = lines
        self.add(None if label is None else _cell(label, label_format), None if text is None else _cell(text, WRAP))


def _criticality_text(criticality: int) -> str:
    return {1: "1 — критично", 2: "2 — менее критично"}.get(criticality, str(criticality))


def faq_sheet(report: AuditReport, titles: Sequence[str], *, deal_id_header: str | None = None) -> Sheet:
    """«FAQ»: the audit in one line, how to work with the document, then every rule (its name links to its sheet)."""
    sheet = Sheet(FAQ_TITLE, "faq", widths={0: 24, 1: 100}, landscape=False)
    out = _Lines(sheet, 24, 100)
    line = out.line
    as_of, due = report.as_of, report.due_date
    days = (due - as_of).days
    out.add(_cell(f"Аудит CRM на {_date(as_of)}", TITLE))
    summary = [
        f"Сформирован {report.generated_at.strftime('%d.%m.%Y %H:%M')}",
        f"проверено сделок: {report.deal_count}",
        f"нарушений: {report.total}",
    ]
    if report.crm:
        summary.append(f"CRM: {report.crm}")
    line("Сводка", "; ".join(summary) + ".")
    if report.source:
        line("Выгрузка", _source_text(report.source))
    line()
    out.add(_cell("Как работать с документом", TITLE))
    line(
        "Что это",
        "Каждый лист с кодом в названии — одно правило ведения сделок в CRM; каждая строка на нём — "
        "сделка, которая правило нарушает. Ниже в этом листе по каждому правилу написано, что не так, "
        "почему это важно и как исправить.",
    )
    line(
        "Что сделать",
        "Найдите на каждом листе свои сделки (фильтр по столбцу «Ответственный») и для каждой строки "
        f"поставьте значение в столбце «{HEADER_STATUS}»:",
    )
    line(STATUS_NEW, "значение по умолчанию: строку ещё не разобрали.")
    line(STATUS_FIXED, "вы согласны с замечанием и исправили сделку в CRM.")
    line(
        STATUS_NOT_FIXED,
        f"вы не согласны или не можете исправить. Комментарий в столбце «{HEADER_COMMENT}» обязателен: "
        "объясните почему. Строка «Не исправлено» без комментария подсвечивается красным.",
    )
    line(
        "Срок",
        f"{days} {_plural(days, 'день', 'дня', 'дней')}: разберите все свои строки до {_date(due)} "
        f"(столбец «{HEADER_DUE}»).",
    )
    line(
        "Что дальше",
        "Руководитель отдела продаж читает комментарии. Если объяснение убедительное, строка принимается "
        "и больше не появится в следующих аудитах; если нет — менеджер получает предупреждение.",
    )
    line(
        "Учет попаданий",
        f"Лист «{HITS_TITLE}» показывает, сколько нарушений у каждого менеджера в этом аудите.",
    )
    line(
        "Важно",
        "Сортировать, фильтровать и удалять строки можно. Не переименовывайте столбцы и не удаляйте "
        f"столбцы «{deal_id_header or 'ID сделки'}» и «{HEADER_RULE_ID}»: по ним статусы и комментарии переносятся "
        "в следующий аудит. При попытке изменить их (и столбцы руководителя) появится предупреждение.",
    )
    line(
        "Как считаются попадания",
        "Попадание — одна сделка на листе одного правила в одном аудите: сделка, нарушающая три правила, даёт три "
        "попадания. Нарушения, принятые руководителем («Принято»), не считаются. Строки, разобранные как "
        "«Исправлено», но по-прежнему нарушающие правило, снова попадают в следующий аудит.",
    )
    line()
    out.add(_cell("Столбцы листов правил", TITLE))
    for c in BASE_COLUMNS:
        header = (deal_id_header or c.title) if c.key == "deal_id" else c.title
        line(header, COLUMN_HELP[c.key])
    line("Данные правила", "столбцы между «Этап» и «Статус» — значения сделки, по которым правило сработало "
         "(у каждого правила свои, перечислены ниже в описании правила).")
    for p in PROCESS_COLUMNS:
        line(p.header, COLUMN_HELP[p.header])
    line()
    out.add(_cell("Правила", TITLE))
    for result, title in zip(report.results, titles):
        out.add(_cell(f"{result.code} {result.title}".strip(), RULE_LINK, link=Link(sheet=title)))
        line("Критичность", _criticality_text(result.criticality))
        if result.skipped:  # not «0» (a pass at a glance): the rule did not run; the note below says why
            line("Нарушений", "пропущено — правило не проверялось (причина — в «Примечании» ниже)")
        else:
            out.add(_cell("Нарушений", LABEL), _cell(result.count, COUNT, "int"))
        if result.scope_text:
            line("Какие сделки", result.scope_text)
        if result.evidence:
            line("Данные правила", "; ".join(f"«{c.title}»" for c in result.evidence)
                 + " — значения сделки, по которым правило сработало.")
        line("Что не так", result.what or "—")
        line("Почему это важно", result.why or "—")
        line("Как исправить", result.how or "—")
        if result.note:
            line("Примечание", result.note)
        line()

    if report.warnings:
        out.add(_cell("Проблемы в данных", TITLE))
        line(
            "Всего",
            f"{len(report.warnings)} — эти строки выгрузки проверены не всеми правилами или прочитаны с допущениями.",
        )
        shown = report.warnings[:200]
        for warning in shown:
            where = ", ".join(
                part
                for part in (
                    warning.file,
                    f"строка {warning.row}" if warning.row is not None else None,
                    f"столбец «{warning.column}»" if warning.column else None,
                )
                if part
            )
            text = warning.text("ru")  # the FAQ is a manager's page: Russian whatever the CLI speaks
            line(warning_label(warning.code), f"{text} ({where})" if where else text)
        if len(report.warnings) > len(shown):
            line("…", f"и ещё {len(report.warnings) - len(shown)}")
    return sheet


def _source_text(source: str) -> str:
    """What the FAQ says the audit read: an export folder or file by its name (a path relative to the analyst's
    folder means nothing to a manager); anything else (a warehouse) as the audit described it."""
    path = Path(source)
    try:
        return path.resolve().name if path.exists() else source
    except OSError:
        return source


def _owner_text(owner: Any) -> str:
    return (as_text(owner) if plain_value(owner) is not None else "") or NO_OWNER


def hits_sheet(report: AuditReport) -> Sheet:
    """«Учет попаданий»: managers × rules in this audit with totals, then the history over the audits."""
    results = report.results
    table = report.hits_by_owner()
    if report.hit_history is not None:  # one spelling per manager on the whole sheet: the history's, over every audit
        from crm_audit.textnorm import norm

        spelled = {norm(o): o for o in report.hit_history.by_owner}
        table["owner"] = [spelled.get(norm(o), o) for o in table["owner"]]
    owners = [_owner_text(o) for o in table["owner"]]
    manager_width = _width_of_texts(HITS_MANAGER_HEADER, [*owners, HITS_TOTAL_ROW])
    dates = len(report.hit_history.dates) if report.hit_history is not None else 0
    widths = [max(manager_width, 20), *[_RULE_WIDTH] * len(results), 10]
    widths += [_DATE_WIDTH] * max(0, dates + 2 - len(widths))  # the history's date columns below
    widths = [w if i < 1 or i > dates else max(w, _DATE_WIDTH) for i, w in enumerate(widths)]
    sheet = Sheet(HITS_TITLE, "hits", widths=dict(enumerate(widths)), frozen=(1, 1), repeat_rows=1)
    out = _Lines(sheet)
    rule_headers = [f"{r.code} {r.title}".strip() for r in results]
    out.add(_cell(HITS_MANAGER_HEADER, HEADER), *(_cell(h, HEADER_RIGHT) for h in rule_headers),
            _cell(HITS_TOTAL_HEADER, HEADER_RIGHT))
    sheet.heights[0] = max([1, *(text_lines(h, _RULE_WIDTH - 1) for h in rule_headers)])
    totals = [0] * len(results)
    for owner, (_, row) in zip(owners, table.iterrows()):
        counts = [int(row.get(r.rule_id, 0) or 0) for r in results]
        totals = [t + c for t, c in zip(totals, counts)]
        out.add(_cell(owner), *(_cell(c, INT, "int") for c in counts), _cell(sum(counts), BOLD_INT, "int"))
    out.add(_cell(HITS_TOTAL_ROW, BOLD), *(_cell(c, BOLD_INT, "int") for c in totals), _cell(sum(totals), BOLD_INT, "int"))
    out.add()
    out.add(_cell(
        f"Попадания в аудите на {_date(report.as_of)}: сколько сделок каждого менеджера нарушают "
        "каждое правило (столбцы — правила, их описание на листе «FAQ»), «Всего» — по всем правилам.", NOTE))
    _since_last(out, report)
    _hit_history(out, report)
    return sheet


#: «Учет попаданий», «С прошлого аудита»: (header, ChangeCounts field) per column, in the terminal summary's order.
SINCE_LAST_COLUMNS = (
    ("Новых", "new"),
    ("Исправлено", "resolved"),
    ("Осталось", "still_open"),
    (f"«{STATUS_FIXED}», но осталось", "fixed_failing"),
    ("Принято", "accepted"),
    ("Предупреждений", "warned"),
)
#: Shown only when a deal changed owner between the two audits.
SINCE_LAST_MOVED = (("Передано другим", "handed_over"), ("Получено от других", "taken_over"))
SINCE_LAST_TEAM = "Вся команда"


def _since_last(out: _Lines, report: AuditReport) -> None:
    """What changed since the previous audit, per manager and for the team: the numbers of
    :mod:`crm_audit.history.changes` (``report.changes``), the ones the terminal summary and ``review`` show."""
    ch = report.changes
    if ch is None or ch.since is None:
        return
    columns = list(SINCE_LAST_COLUMNS)
    if getattr(ch.team, "handed_over", 0) or any(getattr(c, "handed_over", 0) or getattr(c, "taken_over", 0)
                                                  for c in ch.by_manager.values()):
        columns += SINCE_LAST_MOVED
    out.add()
    out.add(_cell(f"С прошлого аудита (от {_date(ch.since)}) по {_date(ch.as_of)}: что изменилось", BOLD))
    header_row = out.row
    out.add(_cell(HITS_MANAGER_HEADER, HEADER), *(_cell(h, HEADER_RIGHT) for h, _ in columns))
    widths = out.sheet.widths
    out.sheet.heights[header_row] = max([1, *(text_lines(h, widths.get(i + 1, _RULE_WIDTH) - 1) for i, (h, _) in enumerate(columns))])
    for name, c in ch.by_manager.items():
        out.add(_cell(name or NO_OWNER), *(_cell(int(getattr(c, key, 0) or 0), INT, "int") for _, key in columns))
    out.add(_cell(SINCE_LAST_TEAM, BOLD), *(_cell(int(getattr(ch.team, key, 0) or 0), BOLD_INT, "int") for _, key in columns))
    out.add()
    note = ("Новых — нарушения, которых не было в прошлом аудите; «Исправлено» — были и ушли (сделку исправили в CRM); "
            "«Осталось» — есть в обоих аудитах; ««Исправлено», но осталось» — отмечены «Исправлено», но сделка всё ещё "
            "нарушает правило; «Принято» — руководитель принял объяснение; «Предупреждений» — предупреждения "
            "руководителя по прошлому аудиту.")
    if len(columns) > len(SINCE_LAST_COLUMNS):
        note += (" «Передано другим» / «Получено от других» — нарушения по сделкам, которые сменили ответственного "
                 "(для команды они в «Осталось»).")
    if ch.not_compared:  # their rule did not run in one of the two audits: not fixed by anyone, not new
        rules = ", ".join(f"{rule}: {n}" for rule, n in ch.not_compared.items())
        note += (f" Не сравнивались нарушения правил, которые не проверялись в одном из двух аудитов: {rules} — "
                 "они не считаются ни новыми, ни исправленными.")
    out.add(_cell(note, NOTE))


def _hit_history(out: _Lines, report: AuditReport) -> None:
    """Managers × audit dates (hits per audit), warnings, who never appears, a chart.

    ``report.hit_history`` is filled from the ledger by the audit cycle; None for a one-off audit.
    """
    hist = report.hit_history
    if hist is None or not hist.dates:
        return
    dates = list(hist.dates)
    by_owner, warnings, never = hist.by_owner, hist.warnings, list(hist.never)
    owners = sorted(by_owner, key=lambda o: (-sum(by_owner[o]), str(o)))
    out.add()
    out.add(_cell("История: попадания по аудитам", BOLD))
    header_row = out.row
    out.add(_cell(HITS_MANAGER_HEADER, HEADER), *(_cell(_date(d), HEADER_DATE) for d in dates),
            _cell(HITS_TOTAL_HEADER, HEADER_RIGHT), _cell("Предупреждений", HEADER_RIGHT))
    for o in owners:
        counts = [int(x) for x in by_owner[o]]
        out.add(_cell(o or NO_OWNER), *(_cell(c, INT, "int") for c in counts), _cell(sum(counts), BOLD_INT, "int"),
                _cell(int(warnings.get(o, 0)), INT, "int"))
    for o in never:
        out.add(_cell(o), *(_cell(0, INT, "int") for _ in dates), _cell(0, BOLD_INT, "int"),
                _cell(int(warnings.get(o, 0)), INT, "int"))
    out.add()
    text = ("Никогда не попадали в аудит: " + ", ".join(never) + ".") if never else "Все менеджеры хотя бы раз попадали в аудит."
    out.add(_cell(text, NOTE))
    out.add(_cell("Попадание — одна сделка на одном листе правила в одном аудите; принятые руководителем "
                  "нарушения не считаются. «Предупреждений» — все предупреждения руководителя за всё время.", NOTE))
    if owners:
        shown = min(CHART_MANAGERS, len(owners))
        series = [((r, 0), CellRange(r, 1, r, len(dates))) for r in range(header_row + 1, header_row + 1 + shown)]
        title = "Попадания по аудитам"
        if shown < len(owners):
            title += f" ({shown} менеджеров с наибольшим числом из {len(owners)})"
        out.sheet.charts.append(Chart(
            title, "Дата аудита", "Нарушений", (out.row + 1, 0),
            CellRange(header_row, 1, header_row, len(dates)), series,
            kind="column" if len(dates) == 1 else "line"))  # one audit: a line of one point shows nothing


def build_document(
    report: AuditReport,
    *,
    row_cap: int | None = None,
    cap_where: str = "",
    deal_id_header: str | None = None,
    extra_rows: int = EXTRA_ROWS,
) -> Document:
    """The whole document: «FAQ», one sheet per rule, «Учет попаданий».

    ``row_cap``: at most this many data rows per rule sheet (a note right of
    the header says how many are shown and that the rest are ``cap_where``,
    e.g. «не помещается на лист Excel»). ``deal_id_header`` renames «ID сделки».
    """
    titles = sheet_titles(report.results)
    sheets = [faq_sheet(report, titles, deal_id_header=deal_id_header)]
    sheets += [
        rule_sheet(capped(result, row_cap, cap_where), title, report, deal_id_header=deal_id_header, extra_rows=extra_rows)
        for result, title in zip(report.results, titles)
    ]
    sheets.append(hits_sheet(report))
    props = {PROPERTY_AS_OF: report.as_of.isoformat()}
    if report.ledger_id:
        props[PROPERTY_LEDGER] = report.ledger_id
    return Document(f"Аудит CRM на {_date(report.as_of)}", sheets, properties=props)
