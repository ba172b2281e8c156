"""Run rule plans as SQL on DuckDB.

The export is joined once into an ``audit_deals`` table (deals × their
organization × their contact person × per-deal task aggregates, deleted deals
and duplicate ids removed), holding only the columns the loaded rules read.
Each rule then is one ``SELECT … WHERE scope AND condition`` over it: no
Python loop per deal. :meth:`DuckDBBackend.rule_sql` returns that SQL, which
``crm-audit rules explain --sql`` prints.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

from crm_audit.rules.lang import All, AnyOf, Cond, Leaf, Linked, Not
from crm_audit.engine.loading import LoadedEntity, LoadedExport
from crm_audit.engine.plan import FieldRef, RulePlan, StagePlan, field_ref, is_volatile
from crm_audit.sqltext import sql_literal
from crm_audit.report import BASE_COLUMNS, FINGERPRINT_BASE, FINGERPRINT_COLUMN, STATE_TITLES, DataWarning
from crm_audit.settings import Settings
from crm_audit.textnorm import WS_CLASS, YES_VALUES, norm

#: keeps the first row (in file order) of each id
_FIRST_BY_ID = " QUALIFY row_number() OVER (PARTITION BY id ORDER BY _row) = 1"
YES = tuple(v for v in YES_VALUES if v in ("да", "yes", "true", "1"))


def ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


@dataclass
class Col:
    """A column of ``audit_deals``: its name and the expression building it."""

    name: str
    expr: str
    type: str


class DuckDBBackend:
    def __init__(self, export: LoadedExport, settings: Settings, as_of: dt.date):
        self.export = export
        self.con = export.con if export is not None else None
        self.settings = settings
        self.as_of = as_of
        self.warnings: list[DataWarning] = []
        self.deal_count = 0

    # ------------------------------------------------------------------ audit_deals
    def _entity(self, name: str) -> LoadedEntity | None:
        return self.export.entities.get(name)

    def prepare(self, plans: list[RulePlan]) -> None:
        """Build ``audit_deals`` with the columns ``plans`` read.

        ``plans`` are the rules that run: what the export lacks was decided
        before (:func:`crm_audit.engine.requirements.decide`).
        """
        refs: set[FieldRef] = set()
        for p in plans:
            refs |= p.fields
        for name in ("id", "title", "owner", "pipeline", "stage", "reason", "status"):
            refs.add(field_ref(f"deal.{name}"))
        deals = self._entity("deals")
        orgs = self._entity("organizations")
        persons = self._entity("persons")
        acts = self._entity("activities")
        need_org = any(r.entity == "org" for r in refs) or any(self._uses(p, Linked) for p in plans)
        need_person = any(r.entity == "person" for r in refs) or any(self._uses(p, Linked) for p in plans)
        need_tasks = [r for r in refs if r.entity == "tasks"]
        con = self.con
        as_of = f"DATE {sql_literal(self.as_of.isoformat())}"

        # deals without id can't be linked or reported; duplicates are kept once
        blank = con.execute("SELECT _row FROM deals WHERE id IS NULL ORDER BY _row LIMIT 5").fetchall()
        if blank:
            n = con.execute("SELECT count(*) FROM deals WHERE id IS NULL").fetchone()[0]
            self.warnings.append(DataWarning("deal-without-id", f"{n} deal row(s) have no ID and are not audited (first at row {blank[0][0]})", str(deals.file), blank[0][0], deals.fields.get("id")))
        dup = con.execute("SELECT id, count(*) FROM deals WHERE id IS NOT NULL GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 5").fetchall()
        if dup:
            self.warnings.append(DataWarning("duplicate-deal", f"deal ID(s) {', '.join(str(d[0]) for d in dup)} appear more than once; the first row of each is audited", str(deals.file), None, deals.fields.get("id")))

        unique = {deals.table: not dup}  # the duplicate check above already answers it for deals

        def dedup(ent: LoadedEntity) -> str:
            if ent.table not in unique:
                unique[ent.table] = self._ids_unique(ent)
            return f"(SELECT * FROM {ent.table} WHERE id IS NOT NULL{'' if unique[ent.table] else _FIRST_BY_ID})"

        cols: list[Col] = [Col("_row", "d._row", "number")]
        joins = [f"FROM {dedup(deals)} d"]
        d_has = lambda n: n in deals.fields  # noqa: E731
        status_expr = "d.status" if d_has("status") else "NULL"
        cols.append(Col("_status", f"coalesce({status_expr}, 'unknown')", "text"))
        for ref in sorted(refs, key=lambda r: (r.entity, r.name)):
            if ref.entity != "deal":
                continue
            cols.append(Col(self._name(ref), self._deal_expr(ref, deals, as_of), ref.type))
        # the deal's organization and contact person: one LEFT JOIN each
        for entity, ent, alias, needed in (("org", orgs, "o", need_org), ("person", persons, "p", need_person)):
            if not needed:
                continue
            joined = ent is not None and "id" in ent.fields and d_has(f"{entity}_id")
            if joined:
                joins.append(f"LEFT JOIN {dedup(ent)} {alias} ON {alias}.id = d.{entity}_id")
            dn = f"d.{entity}_name" if d_has(f"{entity}_name") else "NULL"
            did = f"d.{entity}_id" if d_has(f"{entity}_id") else "NULL"
            cols.append(Col(f"_linked_{entity}", f"(NOT is_blank({did}) OR NOT is_blank({dn}))", "bool"))
            for ref in refs:
                if ref.entity == entity:
                    cols.append(Col(self._name(ref), self._rel_expr(ref, ent, alias, joined, dn), ref.type))
        if need_tasks:
            con.execute(self._task_agg_sql(acts, need_tasks, as_of))
            joins.append("LEFT JOIN task_agg t ON t.deal_id = d.id")
            for ref in need_tasks:
                expr = f"coalesce(t.{ref.name}, 0)" if ref.name.endswith("_count") else f"t.{ref.name}"
                cols.append(Col(self._name(ref), expr, ref.type))
        # stage order: one join to a small (pipeline, stage, position) table of the settings
        stage_table = self._stage_table_sql()
        if stage_table and d_has("pipeline") and d_has("stage"):
            joins[0] = f"FROM (SELECT *, norm(pipeline) AS _pn, norm(stage) AS _sn FROM {dedup(deals)} dd) d"
            joins.append(f"LEFT JOIN ({stage_table}) sp ON sp.pn = d._pn AND sp.sn = d._sn")
            cols.append(Col("_pipeline_n", "d._pn", "text"))
            cols.append(Col("_stage_pos", "sp.pos", "number"))
        else:
            cols.append(Col("_pipeline_n", "norm(d.pipeline)" if d_has("pipeline") else "NULL", "text"))
            cols.append(Col("_stage_pos", "NULL", "number"))
        # unique by name (a field may be asked for twice)
        seen: dict[str, Col] = {}
        for c in cols:
            seen.setdefault(c.name, c)
        select = ", ".join(f"{c.expr} AS {ident(c.name)}" for c in seen.values())
        sql = f"CREATE OR REPLACE TEMP TABLE audit_deals AS SELECT {select} {' '.join(joins)} WHERE coalesce({status_expr}, '') <> 'deleted'"
        con.execute(sql)
        self.deal_count = con.execute("SELECT count(*) FROM audit_deals").fetchone()[0]
        self._stage_warnings(deals)

    def owners(self) -> list[str]:
        """Every owner of an audited (not deleted) deal: who could appear in the audit."""
        if self.export is None or "owner" not in self._entity("deals").fields:
            return []
        rows = self.con.execute(
            "SELECT DISTINCT \"deal.owner\" FROM audit_deals WHERE _status <> 'deleted' AND NOT is_blank(\"deal.owner\") ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]

    def _ids_unique(self, ent: LoadedEntity) -> bool:
        """No id appears twice: then the first-row-per-id window (a sort of the
        whole table, seconds at 1M rows) is not needed — one hash count is enough."""
        return bool(self.con.execute(f"SELECT count(id) = count(DISTINCT id) FROM {ent.table}").fetchone()[0])

    @staticmethod
    def _uses(plan: RulePlan, kind: type) -> bool:
        from crm_audit.rules.lang import iter_conds

        return any(isinstance(c, kind) for c in iter_conds(plan.condition))

    @staticmethod
    def _name(ref: FieldRef) -> str:
        return f"{ref.entity}.{ref.name}"

    def _deal_expr(self, ref: FieldRef, deals: LoadedEntity, as_of: str) -> str:
        has = lambda n: n in deals.fields  # noqa: E731
        if ref.name in ("days_in_stage", "stage_since"):
            parts = [f"d.{n}" for n in ("stage_changed", "created") if has(n)]
            since = f"coalesce({', '.join(parts)})" if len(parts) > 1 else parts[0]
            return f"date_diff('day', {since}, {as_of})" if ref.name == "days_in_stage" else since
        if ref.name == "reason":
            lost = "d.lost_reason" if has("lost_reason") else "NULL"
            won = "d.won_reason" if has("won_reason") else "NULL"
            return f"CASE WHEN d.status = 'won' AND NOT is_blank({won}) THEN {won} WHEN NOT is_blank({lost}) THEN {lost} ELSE {won} END"
        col = deals.column_for(ref.name)
        if col is None:
            return "NULL"
        return f"d.{ident(col)}"

    def _rel_expr(self, ref: FieldRef, ent: LoadedEntity | None, alias: str, joined: bool, deal_name: str) -> str:
        col = ent.column_for(ref.name) if (ent is not None and joined) else None
        if ref.name == "name" and not ref.custom:
            # the entity file's name when the deal's id is found there, else the deal's own column
            if col:
                return f"CASE WHEN {alias}.id IS NOT NULL THEN {alias}.{ident(col)} ELSE {deal_name} END"
            return deal_name
        return f"{alias}.{ident(col)}" if col else "NULL"

    def _task_agg_sql(self, acts: LoadedEntity, refs: list[FieldRef], as_of: str) -> str:
        has = lambda n: n in acts.fields  # noqa: E731
        undone = "NOT coalesce(a.done, FALSE)" if has("done") else "TRUE"
        overdue = f"{undone} AND a.due_date < {as_of}"
        upcoming = f"{undone} AND a.due_date >= {as_of}"
        subj = "a.subject" if has("subject") else "NULL"
        aggs = {
            "total_count": "count(*)",
            "open_count": f"count(*) FILTER (WHERE {undone})",
            "overdue_count": f"count(*) FILTER (WHERE {overdue})",
            "first_overdue_due": f"min(a.due_date) FILTER (WHERE {overdue})",
            "first_overdue_subject": f"arg_min({subj}, a.due_date) FILTER (WHERE {overdue})",
            "next_due": f"min(a.due_date) FILTER (WHERE {upcoming})",
            "next_subject": f"arg_min({subj}, a.due_date) FILTER (WHERE {upcoming})",
        }
        names = sorted({r.name for r in refs})
        select = ", ".join(f"{aggs[n]} AS {n}" for n in names)
        return f"CREATE OR REPLACE TEMP TABLE task_agg AS SELECT a.deal_id, {select} FROM {acts.table} a WHERE a.deal_id IS NOT NULL GROUP BY a.deal_id"

    def _stage_table_sql(self) -> str:
        """The settings' stage order as a VALUES table (pn, sn, pos), normalised names."""
        rows = [f"({sql_literal(norm(p))}, {sql_literal(norm(st))}, {i})" for p, stages in self.settings.pipelines.items() for i, st in enumerate(stages)]
        return f"SELECT * FROM (VALUES {', '.join(rows)}) AS v(pn, sn, pos)" if rows else ""

    def _stage_warnings(self, deals: LoadedEntity) -> None:
        if "stage" not in deals.fields or "pipeline" not in deals.fields:
            return
        rows = self.con.execute(
            "SELECT \"deal.id\", \"deal.pipeline\", \"deal.stage\", _row FROM audit_deals WHERE _stage_pos IS NULL ORDER BY _row"
        ).fetchall()
        known_p = {norm(p) for p in self.settings.pipelines}
        for deal_id, pipeline, stage, row in rows[:50]:
            if norm(pipeline) not in known_p:
                msg = f"deal {deal_id}: pipeline «{pipeline or ''}» (stage «{stage or ''}») is not in the settings; stage comparisons skip this deal"
            else:
                msg = f"deal {deal_id}: stage «{stage or ''}» is not in pipeline «{pipeline}» of the settings; stage comparisons skip this deal"
            self.warnings.append(DataWarning("unknown-stage", msg, str(deals.file), row, deals.fields.get("stage")))
        if len(rows) > 50:
            self.warnings.append(DataWarning("unknown-stage", f"… and {len(rows) - 50} more deals with a stage or pipeline not in the settings", str(deals.file)))
        unknown = self.con.execute("SELECT count(*), min(_row) FROM audit_deals WHERE _status = 'unknown'").fetchone()
        if unknown[0]:
            self.warnings.append(DataWarning("unknown-status", f"{unknown[0]} deal(s) have an empty or unknown status and are in no rule's scope (first at row {unknown[1]})", str(deals.file), unknown[1], deals.fields.get("status")))

    # ------------------------------------------------------------------ conditions
    def cond_sql(self, c: Cond) -> str:
        if isinstance(c, All):
            return "(" + " AND ".join(self.cond_sql(x) for x in c.items) + ")" if c.items else "TRUE"
        if isinstance(c, AnyOf):
            return "(" + " OR ".join(self.cond_sql(x) for x in c.items) + ")" if c.items else "FALSE"
        if isinstance(c, Not):
            return f"(NOT coalesce({self.cond_sql(c.item)}, FALSE))"
        if isinstance(c, StagePlan):
            if not c.positions:
                return "FALSE"
            cases = " ".join(f"WHEN {sql_literal(p)} THEN {pos}" for p, pos in c.positions.items())
            cmp = ">=" if c.op == "at_least" else "<="
            return f"coalesce(_stage_pos {cmp} (CASE _pipeline_n {cases} ELSE NULL END), FALSE)"
        if isinstance(c, Linked):
            return f"_linked_{c.entity}"
        if isinstance(c, Leaf):
            return f"coalesce({self.leaf_sql(c)}, FALSE)"
        raise TypeError(c)

    def leaf_sql(self, c: Leaf) -> str:
        ref = field_ref(c.field)
        x = ident(self._name(ref))
        typ = ref.type
        op, v = c.op, c.value
        raw = f"coalesce({x}, '')" if c.on == "raw" else f"coalesce(strip({x}), '')"
        ntext = f"coalesce(norm({x}), '')"
        if typ == "status":
            x, typ, ntext = "_status", "text", "_status"
        if op == "empty":
            e = f"is_blank({x})" if typ == "text" else f"({x} IS NULL)"
            return e if v else f"NOT {e}"
        if op == "empty_or_zero":
            e = f"(is_blank({x}) OR coalesce(parse_num({x}), 1) = 0)" if typ == "text" else f"({x} IS NULL OR {x} = 0)"
            return e if v else f"NOT {e}"
        if op == "is_yes":
            e = f"{ntext} IN ({', '.join(sql_literal(y) for y in YES)})"
            return e if v else f"NOT ({e})"
        if op in ("equals", "not_equals", "in", "not_in"):
            values = v if isinstance(v, list) else [v]
            if typ == "number":
                lits = ", ".join(str(float(x_)) for x_ in values)
                e = f"{x} IN ({lits})"
            elif typ == "date":
                e = f"{x} IN ({', '.join('DATE ' + sql_literal(str(x_)) for x_ in values)})"
            else:
                e = f"{ntext} IN ({', '.join(sql_literal(norm(x_)) for x_ in values)})"
            return e if op in ("equals", "in") else f"NOT coalesce({e}, FALSE)"
        if op in ("contains", "not_contains"):
            e = f"contains({ntext}, {sql_literal(norm(v))})"
            return e if op == "contains" else f"NOT {e}"
        if op == "starts_with":
            return f"starts_with({ntext}, {sql_literal(norm(v))})"
        if op == "ends_with":
            return f"suffix({ntext}, {sql_literal(norm(v))})"
        if op == "matches":
            return f"regexp_matches({raw}, {sql_literal(v)})"
        if op == "placeholder":
            words = "|".join(re.escape(norm(w)).replace("\\ ", " ") for w in v)
            pattern = "(?:" + words + r")(?:\s?[0-9]+)?"
            return f"regexp_full_match({ntext}, {sql_literal(pattern)})"
        if op in ("length_lt", "length_gt"):
            cmp = "<" if op == "length_lt" else ">"
            return f"length(coalesce(strip({x}), '')) {cmp} {int(v)}"
        if op in ("gt", "gte", "lt", "lte"):
            cmp = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
            if typ == "date":
                lit = self.as_of if v == "as_of" else v
                return f"{x} {cmp} DATE {sql_literal(lit.isoformat())}"
            num = f"parse_num({x})" if typ == "text" else x
            return f"{num} {cmp} {float(v)}"
        if op in ("same_as", "differs_from"):
            other = ident(self._name(field_ref(v)))
            e = f"{ntext} = coalesce(norm({other}), '')"
            return e if op == "same_as" else f"NOT ({e})"
        raise ValueError(f"unknown op {op}")

    def where_sql(self, plan: RulePlan) -> str:
        parts = [f"_status IN ({', '.join(sql_literal(s) for s in plan.statuses)})"]
        if plan.pipelines:
            parts.append(f"_pipeline_n IN ({', '.join(sql_literal(p) for p in plan.pipelines)})")
        parts.append(self.cond_sql(plan.condition))
        return " AND ".join(parts)

    def rule_sql(self, plan: RulePlan) -> str:
        url = self.settings.deal_url
        link = f"replace({sql_literal(url)}, '{{id}}', \"deal.id\")" if url else "NULL"
        states = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in STATE_TITLES.items())
        base = {
            "deal_url": link,
            "deal_id": '"deal.id"',
            "title": '"deal.title"',
            "owner": '"deal.owner"',
            "state": f"CASE _status {states} ELSE _status END",
            "reason": '"deal.reason"',
            "pipeline": '"deal.pipeline"',
            "stage": '"deal.stage"',
        }
        sel = [f"{base[c.key]} AS {c.key}" for c in BASE_COLUMNS]
        for i, (ref, _title) in enumerate(plan.evidence):
            sel.append(f"{ident(self._name(ref))} AS ev{i}")
        # the deal's audited fields for this rule, hashed (see workflow.fingerprints): the same row
        # gives the same value at every audit, so a waived deal that changed is noticed
        audited = list(FINGERPRINT_BASE) + [f"ev{i}" for i, (ref, _t) in enumerate(plan.evidence) if not is_volatile(ref)]
        # blank is empty however written ("  ", a no-break space): a value that only gained or lost surrounding
        # spaces is the same value, so a waiver does not end for it
        texts = ", ".join(f"coalesce(regexp_replace(CAST({c} AS VARCHAR), {sql_literal('^' + WS_CLASS + '+|' + WS_CLASS + '+$')}, '', 'g'), '')"
                          for c in audited)
        sel.append(f"substr(md5(concat_ws(chr(31), {texts})), 1, 16) AS {FINGERPRINT_COLUMN}")
        order = "norm(\"deal.owner\") NULLS LAST, TRY_CAST(\"deal.id\" AS BIGINT) NULLS LAST, \"deal.id\""
        return f"SELECT {', '.join(sel)}\nFROM audit_deals\nWHERE {self.where_sql(plan)}\nORDER BY {order}"

    def run(self, plan: RulePlan) -> pd.DataFrame:
        return fetch_frame(self.con, self.rule_sql(plan))


def fetch_frame(con, sql: str) -> pd.DataFrame:
    """A rule query's result as the DataFrame the report holds.

    Through Arrow: text columns stay Arrow strings (no Python object per
    cell; a third faster than ``.df()`` at 1M violations). DATE columns come
    back as ``datetime.date`` (None when missing); timestamps are turned into
    dates as well, since the writers expect dates.
    """
    import pyarrow as pa

    if hasattr(con, "complete"):  # DuckDB >= 2: finish a result left open by an earlier execute().fetchone()
        con.complete()
    rel = con.sql(sql)
    table = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
    if not isinstance(table, pa.Table):  # a RecordBatchReader
        table = table.read_all()
    df = table.to_pandas()
    for col in df.columns:
        if str(df[col].dtype).startswith("datetime"):
            df[col] = _as_dates(df[col])
    return df


def _as_dates(series: pd.Series) -> list:
    """A datetime column as ``datetime.date`` values, None when missing (vectorised)."""
    return series.dt.date.where(series.notna(), None).tolist()
