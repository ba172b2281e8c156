"""SQL macros shared by the export loader and the rule backend (DuckDB).

They are the SQL twins of :mod:`crm_audit.textnorm` and of the value parsers:
keeping them as named macros keeps the generated rule SQL short and readable
(``norm(d.stage) = 'выставлен счет'``) and portable — a warehouse port only
needs these few functions.
"""

from __future__ import annotations

import re

from crm_audit.engine import amounts
from crm_audit.textnorm import WS_CLASS

WS = WS_CLASS
#: an id cell in scientific notation as Excel writes it: 1.83457E+11, 1,83457E+11 (a French Excel), 1E+12
SCI_ID = r"[0-9]([.,][0-9]+)?[eE]\+?[0-9]{1,2}"
# Currency codes, signs and words that may follow or precede an amount (data: engine/number_formats.yaml).
_CURRENCY = amounts.CURRENCY


#: a year-first date of the Korean, Chinese and Japanese locales: «2026. 11. 13.», «2026年11月13日», «2026년 11월 13일»
#: (groups: year, month, day)
EAST_ASIAN_DATE = r"^([0-9]{4})(?:\. ?| ?[年년] ?)([0-9]{1,2})(?:\. ?| ?[月월] ?)([0-9]{1,2})(?:\.| ?[日일])?"


def _lit(pattern: str) -> str:
    """A pattern inside an SQL string literal."""
    return pattern.replace("'", "''")


def _duckdb_version() -> tuple[int, ...]:
    import duckdb

    return tuple(int(p) for p in re.findall(r"[0-9]+", duckdb.__version__)[:2])


def _let(value: str, name: str, body: str) -> str:
    """SQL: ``body`` with ``name`` bound to ``value``, computed once (inside a CASE branch DuckDB does not share a
    repeated subexpression: the currency-stripped digits of an amount were computed a dozen times per cell)."""
    arrow = f"lambda {name}: {body}" if _duckdb_version() >= (1, 3) else f"{name} -> {body}"
    return f"list_transform([{value}], {arrow})[1]"


MACROS = [
    # text
    # (one reference to x: the macros nest — parse_date(strip(norm(…))) — and a CASE naming x three times made the
    # expression of a profile with empty values grow threefold per level, seconds to bind; issue 17)
    f"CREATE OR REPLACE MACRO strip(x) AS regexp_replace(x, '^{WS}+|{WS}+$', '', 'g')",
    "CREATE OR REPLACE MACRO norm(x) AS replace(lower(strip(x)), 'ё', 'е')",
    f"CREATE OR REPLACE MACRO is_blank(x) AS (x IS NULL OR regexp_full_match(x, '{WS}*'))",
    # ids: Excel turns 123 into 123.0 (or 1.23E+05 for long ones)
    # (each parser starts with a fast path for the common clean value: one regex, one cast)
    # an id Excel wrote in scientific notation with fewer digits than the number has: its digits are lost
    r"CREATE OR REPLACE MACRO rounded_id(x) AS regexp_full_match(strip(x), '" + SCI_ID + r"') AND "
    r"coalesce(length(regexp_extract(strip(x), '[.,]([0-9]+)', 1)), 0) < "
    r"TRY_CAST(regexp_extract(strip(x), '[eE]\+?([0-9]+)$', 1) AS INTEGER)",
    r"CREATE OR REPLACE MACRO parse_id(x) AS CASE WHEN x IS NULL THEN NULL WHEN regexp_full_match(x, '[0-9]{1,18}') THEN x "
    r"WHEN regexp_full_match(x, '[0-9]{1,18}\.0') THEN left(x, length(x) - 2) "
    r"WHEN is_blank(x) THEN NULL "
    # scientific notation (1.83457E+11, 1,83457E+11 from a French Excel): an id only when every digit is written
    # (1.83457000012E+11); a rounded one (its mantissa shorter than the exponent) is no id: NULL (ROUNDED_ID, P1)
    r"WHEN regexp_full_match(strip(x), '" + SCI_ID + r"') THEN CASE WHEN NOT rounded_id(x) "
    r"  AND TRY_CAST(replace(strip(x), ',', '.') AS DOUBLE) < 1e15 "
    r"  THEN CAST(CAST(TRY_CAST(replace(strip(x), ',', '.') AS DOUBLE) AS BIGINT) AS VARCHAR) END "
    r"ELSE regexp_replace(strip(x), '^(-?[0-9]+)\.0+$', '\1') END",
    # numbers: 1 500,00 / 1,500.00 / 1.500,00 / 1500.5 / 1500 руб. / R$ 15.000,00 / CHF 1'500.00 / (1,234.00)
    # an accounting negative «(1,234.00)» or a minus before the currency «-R$ 15,00»: the sign, and the rest
    f"CREATE OR REPLACE MACRO num_neg(x) AS regexp_full_match(strip(x), '{amounts.NEGATIVE}')",
    f"CREATE OR REPLACE MACRO num_core(x) AS CASE WHEN num_neg(x) THEN regexp_replace(strip(x), '{amounts.SIGN_MARKS}', '', 'g') ELSE strip(x) END",
    f"CREATE OR REPLACE MACRO num_body(x) AS regexp_replace(lower(num_core(x)), '{amounts.CURRENCY_AROUND}', '', 'g')",
    f"CREATE OR REPLACE MACRO num_digits(x) AS regexp_replace(num_body(x), '{_lit(amounts.GROUPING)}', '', 'g')",
    # the digits and separators `d` of a cell as a number; `m`: the decimal mark of a cell that reads either way
    # (15.000, 1,500: the column's, see engine/amounts.py); a cell with both marks, or with one mark repeated, tells itself
    r"CREATE OR REPLACE MACRO num_general(d, m) AS CASE "
    f"WHEN NOT regexp_full_match(d, '{amounts.SHAPE}') THEN NULL "
    # both separators: the last one is the decimal mark
    r"WHEN strpos(d, ',') > 0 AND strpos(d, '.') > 0 THEN "
    r"  CASE WHEN strpos(reverse(d), ',') < strpos(reverse(d), '.') "
    r"    THEN TRY_CAST(replace(replace(d, '.', ''), ',', '.') AS DOUBLE) "
    r"    ELSE TRY_CAST(replace(d, ',', '') AS DOUBLE) END "
    # several commas or several dots: thousands separators (₹1,00,000 too)
    r"WHEN length(d) - length(replace(d, ',', '')) > 1 THEN TRY_CAST(replace(d, ',', '') AS DOUBLE) "
    r"WHEN length(d) - length(replace(d, '.', '')) > 1 THEN TRY_CAST(replace(d, '.', '') AS DOUBLE) "
    # 15.000 / 1,500: the column's decimal mark decides
    f"WHEN regexp_full_match(d, '{amounts.AMBIGUOUS}') THEN "
    r"  CASE WHEN strpos(d, m) > 0 THEN TRY_CAST(replace(d, m, '.') AS DOUBLE) "
    r"  ELSE TRY_CAST(replace(replace(d, ',', ''), '.', '') AS DOUBLE) END "
    # any other single comma is a decimal comma (1500,5 / 0,500)
    r"ELSE TRY_CAST(replace(d, ',', '.') AS DOUBLE) END",
    r"CREATE OR REPLACE MACRO parse_num_m(x, m) AS CASE WHEN x IS NULL THEN NULL "
    # 15.000 / 1,500 written plainly: read with the column's decimal mark
    r"WHEN regexp_full_match(x, '-?[1-9][0-9]{0,2}[.,][0-9]{3}') THEN "
    r"  CASE WHEN strpos(x, m) > 0 THEN CAST(replace(x, m, '.') AS DOUBLE) ELSE CAST(replace(replace(x, ',', ''), '.', '') AS DOUBLE) END "
    r"WHEN regexp_full_match(x, '-?[0-9]{1,15}(\.[0-9]{1,6})?') THEN CAST(x AS DOUBLE) "
    # Russian Excel: 1500,50 / 1 500,00 (a space or a no-break space between thousands)
    r"WHEN regexp_full_match(x, '-?[0-9]{1,15},[0-9]{1,2}') THEN CAST(replace(x, ',', '.') AS DOUBLE) "
    "WHEN regexp_full_match(x, '-?[0-9]{1,3}([ \u00a0][0-9]{3}){1,4}(,[0-9]{1,2})?') "
    "THEN CAST(replace(replace(replace(x, ' ', ''), '\u00a0', ''), ',', '.') AS DOUBLE) "
    r"WHEN is_blank(x) THEN NULL "
    f"ELSE {_let('num_digits(x)', 'nd_', 'num_general(nd_, m)')} * CASE WHEN num_neg(x) THEN -1 ELSE 1 END END",
    # a cell that reads either way without the column's decimal mark, and the mark a cell shows by itself (NULL: none)
    f"CREATE OR REPLACE MACRO num_ambiguous(x) AS regexp_full_match(num_digits(x), '{amounts.AMBIGUOUS}')",
    # the mark of the digits and separators `d`
    r"CREATE OR REPLACE MACRO num_mark_d(d) AS CASE "
    f"WHEN NOT regexp_full_match(d, '{amounts.SHAPE}') OR regexp_full_match(d, '{amounts.AMBIGUOUS}') THEN NULL "
    r"WHEN strpos(d, ',') > 0 AND strpos(d, '.') > 0 THEN "
    r"  CASE WHEN strpos(reverse(d), ',') < strpos(reverse(d), '.') THEN ',' ELSE '.' END "
    r"WHEN length(d) - length(replace(d, ',', '')) > 1 THEN '.' "
    r"WHEN length(d) - length(replace(d, '.', '')) > 1 THEN ',' "
    r"WHEN strpos(d, ',') > 0 THEN ',' WHEN strpos(d, '.') > 0 THEN '.' END",
    f"CREATE OR REPLACE MACRO num_mark(x) AS {_let('num_digits(x)', 'nd_', 'num_mark_d(nd_)')}",
    f"CREATE OR REPLACE MACRO parse_num(x) AS parse_num_m(x, '{amounts.DEFAULT_MARK}')",
    # dates: ISO, dd.mm.yyyy, d/m/y or m/d/y (by the profile's date order),
    # with or without time, English month names, or an Excel serial number
    r"CREATE OR REPLACE MACRO date_head(x) AS regexp_replace(strip(x), '[ T,]+[0-9]{1,2}:[0-9]{2}.*$', '')",
    r"CREATE OR REPLACE MACRO parse_date_common(x) AS CASE WHEN is_blank(x) THEN NULL "
    r"WHEN regexp_full_match(strip(x), '[0-9]{5}(\.[0-9]+)?') THEN "
    r"  CASE WHEN TRY_CAST(strip(x) AS DOUBLE) BETWEEN 20000 AND 80000 "
    r"  THEN CAST(DATE '1899-12-30' + CAST(floor(CAST(strip(x) AS DOUBLE)) AS INTEGER) AS DATE) END "
    r"WHEN regexp_matches(strip(x), '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T]|$)') THEN "
    r"  CAST(try_strptime(regexp_extract(strip(x), '^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})'), '%Y-%m-%d') AS DATE) "
    r"WHEN regexp_matches(strip(x), '^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}([ T,]|$)') THEN "
    r"  CAST(try_strptime(regexp_extract(strip(x), '^([0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4})'), '%d.%m.%Y') AS DATE) "
    r"WHEN regexp_matches(strip(x), '^[0-9]{4}[/.][0-9]{1,2}[/.][0-9]{1,2}([ T]|$)') THEN "
    r"  CAST(try_strptime(replace(regexp_extract(strip(x), '^([0-9]{4}[/.][0-9]{1,2}[/.][0-9]{1,2})'), '.', '/'), '%Y/%m/%d') AS DATE) "
    # East Asian locales, year first: Korean «2026. 11. 13.» («2026. 11. 13. 오전 10:15»), Chinese / Japanese
    # «2026年11月13日 10:15», Korean «2026년 11월 13일» (the time, 오전 / 오후 or 午前 / 午後 included, is no part of the date)
    f"WHEN regexp_matches(strip(x), '{EAST_ASIAN_DATE}([^0-9]|$)') THEN "
    f"  CAST(try_strptime(regexp_replace(regexp_extract(strip(x), '{EAST_ASIAN_DATE}'), '{EAST_ASIAN_DATE}', '\\1-\\2-\\3'), "
    r"'%Y-%m-%d') AS DATE) "
    r"WHEN regexp_matches(strip(x), '^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{2}([ T,]|$)') THEN "
    r"  CAST(try_strptime(regexp_extract(strip(x), '^([0-9]{1,2}\.[0-9]{1,2}\.[0-9]{2})'), '%d.%m.%y') AS DATE) "
    r"WHEN regexp_matches(date_head(x), '^[0-9]{1,2}[ -]?[A-Za-z]{3,9}\.?[ -,]*[0-9]{4}$') THEN "
    r"  CAST(try_strptime(regexp_replace(date_head(x), '[ .,-]+', ' ', 'g'), ['%d %b %Y', '%d %B %Y']) AS DATE) "
    r"WHEN regexp_matches(date_head(x), '^[A-Za-z]{3,9}\.?[ -]?[0-9]{1,2}(st|nd|rd|th)?,?[ -]?[0-9]{4}$') THEN "
    r"  CAST(try_strptime(regexp_replace(regexp_replace(date_head(x), '(st|nd|rd|th),', ','), '[ .,-]+', ' ', 'g'), ['%b %d %Y', '%B %d %Y']) AS DATE) "
    r"ELSE NULL END",
    # slashes or dashes with the day first (Russian / European Excel) ...
    *[
        f"CREATE OR REPLACE MACRO slash_date_{name}(x) AS CASE "
        r"WHEN regexp_matches(strip(x), '^[0-9]{1,2}[/-][0-9]{1,2}[/-][0-9]{4}') THEN "
        r"  CAST(try_strptime(replace(regexp_extract(strip(x), '^([0-9]{1,2}[/-][0-9]{1,2}[/-][0-9]{4})'), '-', '/'), "
        f"'{fmt}/%Y') AS DATE) "
        r"ELSE CAST(try_strptime(replace(regexp_extract(strip(x), '^([0-9]{1,2}[/-][0-9]{1,2}[/-][0-9]{2})'), '-', '/'), "
        f"'{fmt}/%y') AS DATE) END"
        for name, fmt in (("dmy", "%d/%m"), ("mdy", "%m/%d"))
    ],
    r"CREATE OR REPLACE MACRO is_slash_date(x) AS regexp_matches(strip(x), '^[0-9]{1,2}[/-][0-9]{1,2}[/-]([0-9]{4}|[0-9]{2})([ T,]|$)')",
    r"CREATE OR REPLACE MACRO parse_date(x) AS CASE WHEN x IS NULL THEN NULL WHEN regexp_full_match(x, '[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?') THEN TRY_CAST(left(x, 10) AS DATE) "
    r"WHEN regexp_full_match(x, '[0-9]{2}\.[0-9]{2}\.[0-9]{4}( [0-9]{2}:[0-9]{2}(:[0-9]{2})?)?') THEN CAST(try_strptime(left(x, 10), '%d.%m.%Y') AS DATE) "
    r"WHEN is_slash_date(x) THEN slash_date_dmy(x) ELSE parse_date_common(x) END",
    # ... or the month first (US HubSpot / Salesforce exports)
    r"CREATE OR REPLACE MACRO parse_date_mdy(x) AS CASE WHEN x IS NULL THEN NULL WHEN regexp_full_match(x, '[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?') THEN TRY_CAST(left(x, 10) AS DATE) "
    r"WHEN regexp_full_match(x, '[0-9]{2}\.[0-9]{2}\.[0-9]{4}( [0-9]{2}:[0-9]{2}(:[0-9]{2})?)?') THEN CAST(try_strptime(left(x, 10), '%d.%m.%Y') AS DATE) "
    r"WHEN is_slash_date(x) THEN slash_date_mdy(x) ELSE parse_date_common(x) END",
    # the first item of a list cell ("123;456" -> "123")
    r"CREATE OR REPLACE MACRO first_item(x, sep) AS CASE WHEN is_blank(x) THEN x ELSE strip(string_split_regex(strip(x), sep)[1]) END",
]


def install(con) -> None:
    """Define the macros on a DuckDB connection."""
    for sql in MACROS:
        con.execute(sql)
