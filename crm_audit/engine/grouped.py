"""A report grouped by its first column whose group value is written in the group's first row only (issue 13, what
was left of acceptance O2).

A formatted report (Salesforce «Opportunities by Owner», any CRM's grouped list saved to a spreadsheet) shows each
group's value — the owner — once, in the group's first row, and closes the group with a subtotal line. Saved with
merged cells the value fills its range when read (crm_audit/engine/readers.py); saved without merging, the rows under
the first are blank there, and every deal of the group but one would be audited as having no owner. Here such a column
is continued down within each group: only when the file has subtotal lines between the groups (the profile's footer
patterns, the lines no deal id is on), every group's first row holds a value and no other row does — a column that
is blank legitimately here and there never has that shape. Said as a warning, by file and column.
"""

from __future__ import annotations

from crm_audit.engine.footer_lines import footer_sql
from crm_audit.i18n import N_
from crm_audit.report import DataWarning

#: the leading columns a report groups by (Salesforce: up to two grouping levels in a formatted report's first columns)
GROUP_COLUMNS = 2

FILLED_DOWN = N_("column «{column}» holds each group's value in the group's first row only (a grouped report saved "
                 "without merged cells): the value is carried down to the group's other {n} row(s) — groups end at "
                 "the report's subtotal lines")


def fill_down(con, raw_table: str, headers: list[str], patterns: list[str], id_cols: list[str], path) -> list[DataWarning]:
    """Continue each grouping column's value down its group in the raw table (a table, never the view a large CSV is
    read through: such a report is a spreadsheet) and say so; nothing when the file has not the shape above."""
    if not patterns or not headers or not _is_table(con, raw_table):
        return []
    sql = footer_sql(len(headers), patterns, id_cols)
    filled = " OR ".join(f"NOT is_blank(c{i})" for i in range(len(headers)))
    out: list[DataWarning] = []
    for k in range(min(GROUP_COLUMNS, len(headers))):
        if f"c{k}" in id_cols:
            continue
        blocks = (f"WITH t AS (SELECT _row, c{k} AS v, coalesce(({sql.no_id}) AND regexp_full_match({sql.first}, {sql.match}, 's'), FALSE) "
                  f"AS f, ({filled}) AS d FROM {raw_table}), "
                  "b AS (SELECT *, sum(CASE WHEN f THEN 1 ELSE 0 END) OVER (ORDER BY _row ROWS UNBOUNDED PRECEDING) AS blk FROM t), "
                  "g AS (SELECT *, row_number() OVER (PARTITION BY blk ORDER BY _row) AS i, "
                  "first_value(v) OVER (PARTITION BY blk ORDER BY _row) AS head FROM b WHERE d AND NOT f) ")
        groups, blank_heads, filled_rest, rest, subtotals = con.execute(
            blocks + "SELECT count(DISTINCT blk), count(*) FILTER (WHERE i = 1 AND is_blank(v)), "
                     "count(*) FILTER (WHERE i > 1 AND NOT is_blank(v)), count(*) FILTER (WHERE i > 1), "
                     "(SELECT count(*) FROM b WHERE f AND _row < (SELECT max(_row) FROM g)) FROM g").fetchone()
        if groups < 2 or subtotals < 1 or blank_heads or filled_rest or not rest:
            continue
        con.execute(blocks + f"UPDATE {raw_table} SET c{k} = g.head FROM g WHERE {raw_table}._row = g._row AND g.i > 1")
        out.append(DataWarning("grouped-report", "", str(path), None, headers[k], template=FILLED_DOWN,
                               params={"column": headers[k], "n": rest}))
    return out


def _is_table(con, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT internal", [name]).fetchone()[0])
