"""Deal rows the audit cannot tell apart by their id: rows without one, and one id on several rows. Said by `run`
(the backend audits the first row of each id only) and by `inspect` before any run (issue 13: duplicate ids named
with their rows wherever the export is looked at, acceptance P1)."""

from __future__ import annotations

from crm_audit.i18n import N_
from crm_audit.report import DataWarning

#: how many ids (with their rows) a warning names
SHOWN = 5

NO_ID = N_("{n} deal row(s) have no ID and are not audited (first at row {row})")
DUPLICATE = N_("deal IDs on more than one row (ID: rows): {ids} ({n} in all); only the first row of each ID is audited, "
               "the other rows are not — if they are different deals, export them with their own IDs")


def deal_id_warnings(con, deals) -> tuple[list[DataWarning], bool]:
    """(the warnings about the deals table's ids, whether some id is on several rows). ``deals``: the loaded entity."""
    out: list[DataWarning] = []
    blank = con.execute(f"SELECT _row FROM {deals.table} WHERE id IS NULL ORDER BY _row LIMIT 1").fetchall()
    if blank:
        n = con.execute(f"SELECT count(*) FROM {deals.table} WHERE id IS NULL").fetchone()[0]
        out.append(DataWarning("deal-without-id", "", str(deals.file), blank[0][0], deals.fields.get("id"), template=NO_ID,
                               params={"n": n, "row": blank[0][0]}))
    # one id on several rows: never merged silently — named with its rows (acceptance P1); a Bitrix24 export
    # with «Товар» has a row per product (the profile's hint `duplicate-deal` says so)
    dup = con.execute(f"SELECT id, list(_row ORDER BY _row), count(*) OVER () FROM {deals.table} WHERE id IS NOT NULL "
                      f"GROUP BY id HAVING count(*) > 1 ORDER BY min(_row) LIMIT {SHOWN}").fetchall()
    if dup:
        ids = "; ".join(f"{d[0]}: {', '.join(str(r) for r in d[1])}" for d in dup) + ("; …" if dup[0][2] > len(dup) else "")
        out.append(DataWarning("duplicate-deal", "", str(deals.file), dup[0][1][1], deals.fields.get("id"), template=DUPLICATE,
                               params={"ids": ids, "n": dup[0][2]}))
    return out, bool(dup)
