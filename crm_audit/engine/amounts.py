"""How a CRM export writes amounts: currency marks around the number, and the decimal mark of a number column.

The currency marks (:data:`CURRENCY`) are data (``number_formats.yaml``): every
ISO 4217 code, the currency signs and the local words, made into one portable
regular expression that the loader's ``parse_num`` macro and the rule-side
parse (:mod:`crm_audit.engine.dialects.numbers`) strip before or after a number.

The decimal mark of a number column is taken from its values, like the date
order (:func:`crm_audit.engine.mapping._date_order`): a cell such as
``1.234,56``, ``15,5``, ``1,234.56`` or ``15.25`` says which mark the export
uses; cells that read either way (``15.000``, ``1,500``) follow it, and when no
cell tells, the decimal mark of the export's interface language (CLDR, through
Babel) decides, with a note. The settings' ``decimal_mark:`` fixes it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from crm_audit.errors import Msg
from crm_audit.i18n import N_
from crm_audit.textnorm import WS_CLASS

# libyaml's loader where PyYAML has it (the same data, ~8 ms less on every run than the pure-Python one)
_DATA = yaml.load((Path(__file__).with_name("number_formats.yaml")).read_text(encoding="utf-8"),
                  Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

ISO_CODES: tuple[str, ...] = tuple(_DATA["iso_codes"].split())
SYMBOLS: tuple[str, ...] = tuple(str(s) for s in _DATA["symbols"])
DOLLARS: tuple[str, ...] = tuple(str(s) for s in _DATA["dollars"])
WORDS: tuple[str, ...] = tuple(str(s) for s in _DATA["words"])
LANGUAGE_ALIASES: dict[str, str] = dict(_DATA.get("language_aliases") or {})

#: the decimal marks a column may have
MARKS = (",", ".")
#: how ``num_mark`` reads cells that could be either (``15.000``, ``1,500``) when nothing else tells
DEFAULT_MARK = "."


def _escape(s: str) -> str:
    """A literal for the portable regex subset (:mod:`crm_audit.engine.dialects.regex`)."""
    return "".join("\\" + c if c in "\\.^$|?*+()[]{}-/" else c for c in s)


def _currency_pattern() -> str:
    marks = {m.lower() for m in (*ISO_CODES, *SYMBOLS, *DOLLARS, *WORDS)}
    # longest first: «usd$» before «usd», «руб.» before «руб» (RE2 and Java take the first alternative that matches)
    return "(" + "|".join(_escape(m) for m in sorted(marks, key=lambda m: (-len(m), m))) + ")"


#: a currency code, sign or word (lower case: matched against the lower-cased cell)
CURRENCY = _currency_pattern()
#: the cell without the currency before or after the number: ``regexp_replace(lower(cell), CURRENCY_AROUND, '', 'g')``
#: (spaces before a leading / after a trailing mark too: «- R$ 15,00» is « R$ 15,00» once its minus is gone)
CURRENCY_AROUND = f"^{WS_CLASS}*{CURRENCY}{WS_CLASS}*|{WS_CLASS}*{CURRENCY}{WS_CLASS}*$"
#: an accounting negative, the currency inside or outside the brackets — «(1,234.00)», «(R$ 1.234,00)»,
#: «R$ (1.234,00)», «(1.234,00) R$», «$(1,234.00)» — or a minus before the currency «-R$ 15,00», «- R$ 15,00»:
#: the whole cell (no digit outside the brackets: «12 (15)» is no negative, it stays a bad value)
NEGATIVE = r"[^()\-0-9]*\([^()\-]*\)[^()\-0-9]*|-[^()\-]*"
#: what is removed from such a cell before the currency: the brackets or the leading minus
SIGN_MARKS = r"^-|[()]"
#: thousands separators inside the digits: spaces, apostrophes (Swiss «1'500.00», «1’500.00»)
GROUPING = f"[{WS_CLASS[1:-1]}'’]"
#: the digits and separators of a number
SHAPE = r"[-+]?([0-9]+[.,]?)*[0-9]+([.,][0-9]+)?|[-+]?[0-9]*[.,][0-9]+"
#: one separator before exactly three digits, one to three digits before it (no leading 0): «15.000», «1,500»
AMBIGUOUS = r"[-+]?[1-9][0-9]{0,2}[.,][0-9]{3}"
#: cells whose mark shows at once — one or two decimals after a comma (digits grouped by spaces or not: «1 500,00»,
#: «0,5») or after a point («1500.25») — and that never read either way: :func:`gather` takes their mark without
#: the currency, grouping and sign work (a messy 1M-deal export: ~1 s a column)
FAST_COMMA = r"-?([0-9]+|[0-9]{1,3}([ \x{00A0}][0-9]{3})+),[0-9]{1,2}"
FAST_DOT = r"-?[0-9]+\.[0-9]{1,2}"


# ----------------------------------------------------------------------------- the language's decimal mark


@functools.lru_cache(maxsize=None)
def language_mark(code: str | None) -> str | None:
    """The decimal mark of an interface language (``pt-BR`` → ``,``; ``en`` → ``.``) from CLDR, None if unknown."""
    if not code:
        return None
    from babel import Locale, UnknownLocaleError
    from babel.numbers import get_decimal_symbol

    name = LANGUAGE_ALIASES.get(code, code).replace("-", "_")
    try:
        mark = get_decimal_symbol(Locale.parse(name))
    except (UnknownLocaleError, ValueError):
        return None
    return mark if mark in MARKS else None


@functools.lru_cache(maxsize=None)
def language_title(code: str) -> str:
    """The language's own name for a note («português (Brasil)»), else the code."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(LANGUAGE_ALIASES.get(code, code).replace("-", "_")).get_display_name() or code
    except (UnknownLocaleError, ValueError):
        return code


# ----------------------------------------------------------------------------- one column's decimal mark


@dataclass(frozen=True)
class Evidence:
    """What a number column's cells say about its decimal mark."""

    comma: int = 0  # cells whose decimal mark is a comma (1.234,56 / 15,5)
    dot: int = 0  # ... a dot (1,234.56 / 15.25)
    ambiguous: int = 0  # cells read either way (15.000 / 1,500)
    comma_example: str = ""
    dot_example: str = ""
    ambiguous_example: str = ""


@dataclass(frozen=True)
class MarkDecision:
    """The decimal mark a column is read with, and a note (msgid, values) when the data did not settle it.

    ``how``: what decided — ``cells`` (cells with decimals), ``language`` (only cells that read either way: the
    export's language), ``mixed`` (both marks among the cells), ``fixed`` (the settings), ``none`` (no cell with a
    separator)."""

    mark: str
    note: tuple[str, dict[str, str]] | None = None
    code: str = "decimal-mark"
    how: str = field(default="none", compare=False)
    example: str = field(default="", compare=False)


@dataclass(frozen=True)
class ColumnMark:
    """How one number column's decimal mark was decided: what `crm-audit init` proposes `decimal_mark:` from."""

    column: str
    mark: str  # the mark the column is read with
    language_mark: str  # the mark a cell that reads either way would get without the cells (the language's, else usual)
    language: str | None  # the export's interface language (code), None when unknown
    how: str  # MarkDecision.how
    example: str = ""  # a cell that shows it («1,500.00»; «15.000» when only such cells occur)


def gather(con, raw_table: str, cols: list[str]) -> Evidence:
    """The :class:`Evidence` of one field's columns (a cell without a separator is skipped cheaply)."""
    if not cols:
        return Evidence()
    cells = f"SELECT unnest([{', '.join(cols)}]) AS x FROM {raw_table}"
    comma, dot = f"regexp_full_match(x, '{FAST_COMMA}')", f"regexp_full_match(x, '{FAST_DOT}')"
    q = (f"SELECT count(*) FILTER (WHERE m = ','), count(*) FILTER (WHERE m = '.'), count(*) FILTER (WHERE a), "
         f"min(x) FILTER (WHERE m = ','), min(x) FILTER (WHERE m = '.'), min(x) FILTER (WHERE a) FROM ("
         f"SELECT strip(x) AS x, CASE WHEN {comma} THEN ',' WHEN {dot} THEN '.' ELSE num_mark(x) END AS m, "
         f"CASE WHEN {comma} OR {dot} THEN FALSE ELSE num_ambiguous(x) END AS a FROM ({cells}) "
         f"WHERE regexp_matches(x, '[0-9][.,][0-9]')) AS t")
    c, d, a, ce, de, ae = con.execute(q).fetchone()
    return Evidence(c or 0, d or 0, a or 0, ce or "", de or "", ae or "")


def decide(ev: Evidence, column: str, language: str | None, fallback: str | None, fixed: str | None = None) -> MarkDecision:
    """The decimal mark of a column from its :class:`Evidence`.

    ``fixed``: the settings' ``decimal_mark:`` (taken as given, no note). Cells with
    decimals decide; both marks among them is a warning naming the column and an
    example of each (each such cell keeps its own reading; the cells that read
    either way follow the majority). Only cells that read either way: the mark of
    the export's ``language`` (``fallback`` when the language is not known), with a
    note saying so and how to set it.
    """
    if fixed in MARKS:
        return MarkDecision(fixed, how="fixed")
    default = language_mark(language) or fallback or DEFAULT_MARK
    if ev.comma and ev.dot:
        mark = "," if ev.comma > ev.dot else "." if ev.dot > ev.comma else default
        return MarkDecision(mark, how="mixed", example=ev.comma_example if mark == "," else ev.dot_example, note=(
            N_("the column «{column}» mixes decimal marks: «{comma}» has a decimal comma, «{dot}» a decimal point "
               "({n_comma} and {n_dot} cells); each such cell is read as written, cells such as «{ambiguous}» with the "
               "{mark_name} — check the column in the CRM, or set `decimal_mark: \"{other}\"` in crm-audit.yaml if that is wrong"),
            {"column": column, "comma": ev.comma_example, "dot": ev.dot_example, "n_comma": str(ev.comma), "n_dot": str(ev.dot),
             "ambiguous": ev.ambiguous_example or (ev.comma_example if mark == "," else ev.dot_example),
             "mark_name": _mark_name(mark), "other": "." if mark == "," else ","}), code="decimal-mark-mixed")
    if ev.comma:
        return MarkDecision(",", how="cells", example=ev.comma_example)
    if ev.dot:
        return MarkDecision(".", how="cells", example=ev.dot_example)
    if not ev.ambiguous:
        return MarkDecision(default)
    value = _read(ev.ambiguous_example, default)
    if language and language_mark(language):
        template = N_("amounts such as «{example}» in «{column}» read either way (no cell has decimals); read with the "
                      "{mark_name} of the export's language ({language}): {example} = {value} — if that is wrong, set "
                      "`decimal_mark: \"{other}\"` in crm-audit.yaml")
    else:
        template = N_("amounts such as «{example}» in «{column}» read either way (no cell has decimals); read with the "
                      "{mark_name}, this CRM's usual one: {example} = {value} — if that is wrong, set "
                      "`decimal_mark: \"{other}\"` in crm-audit.yaml")
    return MarkDecision(default, (template, {
        "example": ev.ambiguous_example, "column": column, "mark_name": _mark_name(default),
        "language": language_title(language) if language else "", "value": value, "other": "." if default == "," else ","}),
        how="language", example=ev.ambiguous_example)


def _mark_name(mark: str) -> Msg:
    return Msg(N_("decimal comma")) if mark == "," else Msg(N_("decimal point"))


def _read(cell: str, mark: str) -> str:
    """How an ambiguous cell reads with ``mark``, for the note: «15.000» with a comma → «15000»."""
    digits = re.sub(r"[^0-9.,\-]", "", cell)
    if mark == ",":
        number = digits.replace(".", "").replace(",", ".")
    else:
        number = digits.replace(",", "")
    try:
        v = float(number)
    except ValueError:
        return cell
    return str(int(v)) if v == int(v) else str(v)
