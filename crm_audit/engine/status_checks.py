"""Deals whose won / lost / open state the export contradicts, and an export without one open deal: warned by file,
column and rows, never read silently (issue 13 acceptance L3).

The CRM's closed flags decide a deal's status (`derive_status.from_flags`): a won deal that the «closed» flag says is
not closed, a deal both won and lost, a deal in the CRM's own won / lost stage whose flags say otherwise, a deal the
flags close in a stage whose name says it is open (the profile's `from_stage.open_names`, «Open») — each is impossible
in the CRM, the sign of swapped or inverted flag columns (or a stage column of another meaning). The status stays as
the flags say (the CRM's own data), and the warning names the columns and the rows so the export can be checked.

A deals file in which no deal is open leaves the rules on open deals (tasks, an organisation, an amount) nothing to
check: said, so an audit of 0 findings is not read as a clean pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm_audit.i18n import N_
from crm_audit.report import DataWarning
from crm_audit.textnorm import norm

if TYPE_CHECKING:
    from crm_audit.engine.mapping import ColumnMatch, MapJob

#: how many row numbers a warning lists
SHOWN = 10
#: a deals file this long with every deal open and no closed column is warned (a handful of open deals is plausible)
NO_CLOSED_MIN = 5

WON_NOT_CLOSED = N_("{n} deal(s) where «{won}» says won but «{closed}» says not closed (rows {rows}): impossible in the CRM — "
                    "the two columns look swapped or inverted; the deals are audited as won: check the export")
LOST_NOT_CLOSED = N_("{n} deal(s) where «{lost}» says lost but «{closed}» says not closed (rows {rows}): impossible in the CRM — "
                     "the two columns look swapped or inverted; the deals are audited as lost: check the export")
WON_AND_LOST = N_("{n} deal(s) where both «{won}» and «{lost}» say yes (rows {rows}): impossible in the CRM; the deals are "
                  "audited as won: check the export")
WON_STAGE = N_("{n} deal(s) in the CRM's won stage {stages} (column «{stage}») whose {flags} say not won (rows {rows}): "
               "the flag columns or the stage column are wrong; the deals are audited as the flags say: check the export")
LOST_STAGE = N_("{n} deal(s) in the CRM's lost stage {stages} (column «{stage}») whose {flags} say not lost (rows {rows}): "
                "the flag columns or the stage column are wrong; the deals are audited as the flags say: check the export")
OPEN_STAGE = N_("{n} deal(s) in a stage named as open, {stages} (column «{stage}»), that {flags} say are closed (rows {rows}): "
                "the flag columns or the stage column are wrong; the deals are audited as closed, as the flags say — the "
                "rules on open deals skip them: check the export")
NO_CLOSED_DEALS = N_("none of the {n} deals is closed: the export has none of the CRM's closed columns ({columns}) and no "
                     "deal is in a stage the settings name as won or lost — every deal is audited as open (a closed deal "
                     "is flagged by the rules on open deals); add those columns to the export, or name the closed stages "
                     "in crm-audit.yaml (won_stages:, lost_stages:)")
NO_OPEN_DEALS = N_("none of the {n} deal(s) is open (won: {won}, lost: {lost}): the rules on open deals have nothing to "
                   "check — if the CRM has open deals, check the export's status / closed columns")


def _rows(con, table: str, where: str) -> tuple[int, list[int], list[str]]:
    n, rows, stages = con.execute(f"SELECT count(*), list(_row ORDER BY _row), list(DISTINCT strip(stage)) "
                                  f"FROM {table} WHERE {where}").fetchall()[0]
    return n, list(rows or [])[:SHOWN], sorted(s for s in (stages or []) if s)


def _shown(rows: list[int], n: int) -> str:
    return ", ".join(map(str, rows)) + (" …" if n > len(rows) else "")


def _quote(headers) -> str:
    return ", ".join(f"«{h}»" for h in dict.fromkeys(headers))


def _lit(names: list[str]) -> str:
    return ", ".join("'" + norm(x).replace("'", "''") + "'" for x in names)


def check(con, job: "MapJob", m: "ColumnMatch", status_derived: bool) -> list[DataWarning]:
    """The warnings about the deals table ``job.entity`` just filled (see the module's docstring)."""
    if job.entity != "deals":
        return []
    table = job.entity
    cols = {d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description}
    out: list[DataWarning] = []
    ds = job.profile.derive_status if job.profile is not None else None
    ff = ds.from_flags if ds is not None else None
    fs = ds.from_stage if ds is not None else None
    if status_derived and ff is not None and "stage" in cols:
        flag = {k: f for k in ("closed", "won", "lost") if (f := getattr(ff, k)) and f in m.by_field and f in cols}
        head = {k: job.headers[m.by_field[f][0]] for k, f in flag.items()}
        stage = job.headers[m.by_field["stage"][0]] if "stage" in m.by_field else "stage"
        bool_closed = "closed" in flag and job.spec.fields[flag["closed"]].type == "bool"
        checks: list[tuple[str, str, str]] = []  # (SQL, template, the column named first)
        if bool_closed and "won" in flag:
            checks.append((f"{flag['won']} IS TRUE AND {flag['closed']} IS FALSE", WON_NOT_CLOSED, head["won"]))
        if bool_closed and "lost" in flag:
            checks.append((f"{flag['lost']} IS TRUE AND {flag['closed']} IS FALSE", LOST_NOT_CLOSED, head["lost"]))
        if "won" in flag and "lost" in flag:  # a won / lost date (Pipedrive) is true when filled
            said = {k: f"{flag[k]} IS {'NOT NULL' if job.spec.fields[flag[k]].type == 'date' else 'TRUE'}" for k in ("won", "lost")}
            checks.append((f"{said['won']} AND {said['lost']}", WON_AND_LOST, head["won"]))
        if flag and fs is not None:
            if fs.won:
                checks.append((f"norm(stage) IN ({_lit(fs.won)}) AND status IS DISTINCT FROM 'won'", WON_STAGE, stage))
            if fs.lost:
                checks.append((f"norm(stage) IN ({_lit(fs.lost)}) AND status IS DISTINCT FROM 'lost'", LOST_STAGE, stage))
            if fs.open_names:
                checks.append((f"norm(stage) IN ({_lit(fs.open_names)}) AND status IN ('won', 'lost')", OPEN_STAGE, stage))
        for where, template, column in checks:
            n, rows, stages = _rows(con, table, where)
            if n:
                out.append(DataWarning("status-flags-contradict", "", str(job.path), rows[0], column, template=template,
                                       params={"n": n, "rows": _shown(rows, n), "stages": _quote(stages), "stage": stage,
                                               "flags": _quote(head.values()), **head}))
    if "status" in cols:
        total, opened, won, lost = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE status = 'open'), count(*) FILTER (WHERE status = 'won'), "
            f"count(*) FILTER (WHERE status = 'lost') FROM {table}").fetchall()[0]
        if total and not opened:
            out.append(DataWarning("no-open-deals", "", str(job.path), None, None, template=NO_OPEN_DEALS,
                                   params={"n": total, "won": won, "lost": lost}))
        names = [f for f in ((ff.closed, ff.won, ff.lost) if ff is not None else ()) if f]
        if (status_derived and names and not any(f in m.by_field for f in names) and total >= NO_CLOSED_MIN
                and opened == total):
            heads = [job.spec.fields[f].headers[0] for f in names if f in job.spec.fields and job.spec.fields[f].headers]
            out.append(DataWarning("no-closed-deals", "", str(job.path), None, None, template=NO_CLOSED_DEALS,
                                   params={"n": total, "columns": _quote(heads)}))
    return out
