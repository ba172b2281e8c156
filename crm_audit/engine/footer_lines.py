"""How a report's footer line (totals, subtotals, notes: the profile's `footer:` patterns) is told in SQL: its first
filled cell of the first three matches a pattern and its id cells hold no id. Read by the loader, which leaves the
footer out (crm_audit/engine/mapping.py), and by the grouped report's fill-down, whose groups end at subtotal lines
(crm_audit/engine/grouped.py)."""

from __future__ import annotations

from typing import NamedTuple

from crm_audit.sqltext import sql_literal


class FooterSql(NamedTuple):
    first: str  # the row's first filled cell of its first three, lower-cased
    match: str  # one regular expression of every pattern, as an SQL literal (one per pattern made the macros bound anew)
    no_id: str  # the row's id cells are blank or hold text without a digit («Итого» typed into the id column)


def footer_sql(n: int, patterns: list[str], id_cols: list[str]) -> FooterSql:
    firsts = ", ".join(f"CASE WHEN is_blank(c{i}) THEN NULL ELSE lower(strip(c{i})) END" for i in range(min(n, 3)))
    return FooterSql(f"coalesce({firsts})", sql_literal("|".join(f"(?:{p})" for p in patterns)),
                     " AND ".join(f"(is_blank({c}) OR NOT regexp_matches({c}, '[0-9]'))" for c in id_cols) or "TRUE")
