"""Rule plans compiled into sqlglot expression trees, rendered per dialect.

The audit is two steps, as on DuckDB before: ``audit_deals`` — the deals
(first row per id, deleted ones out) joined once with their organization,
contact person, per-deal task aggregates and stage positions, holding only the
columns the rules read — and one ``SELECT … WHERE scope AND condition`` per
rule over it. DuckDB materialises ``audit_deals`` in its own in-memory
database (:mod:`crm_audit.engine.backends.duckdb_backend`); any other engine
gets one self-contained read-only query per rule (:meth:`RuleCompiler.query`:
CTEs, no macros, no temporary objects, ASCII aliases).

The rows a rule query returns carry no fingerprint and no order: both are
added in one place by :mod:`crm_audit.engine.dialects.finish`, from the
values fetched, so every engine gives the same fingerprints (waivers key on
them) and the same order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from sqlglot import exp

from crm_audit.engine.dialects import Dialect, S, num
from crm_audit.engine.dialects.regex import placeholder_pattern
from crm_audit.engine.plan import FieldRef, RulePlan, StagePlan, field_ref
from crm_audit.report import BASE_COLUMNS, STATE_GUESSED, STATE_TITLES
from crm_audit.rules.lang import All, AnyOf, Cond, Leaf, Linked, Not, iter_conds
from crm_audit.textnorm import YES_VALUES, norm

#: the yes words `is_yes` reads when the compiler is given none (the rules' own «Да» / Yes / True / 1); an export's
#: profile gives its own, of every interface language it declares (Sim, Ja, Tak …)
YES = tuple(v for v in YES_VALUES if v in ("да", "yes", "true", "1"))
ENTITY_TABLES = ("deals", "organizations", "persons", "activities")


@dataclass
class Source:
    """One entity's table where the audit reads it: its name and which columns hold which fields."""

    table: str
    fields: set[str]  # canonical fields present
    columns: dict[str, str] = field(default_factory=dict)  # canonical or custom field name -> column
    order: str | None = "_row"  # the column giving the rows' order (first row per id wins)
    unique_ids: bool = False  # ids known to be unique: no first-row-per-id window needed
    custom_lookup: Callable[[str], str | None] | None = None
    # how a custom text field read as a number takes a value that reads either way (15.000, 1,500); None: the point
    decimal_mark: str | None = None

    def column_for(self, name: str) -> str | None:
        if name in self.columns:
            return self.columns[name]
        if self.custom_lookup is not None:
            return self.custom_lookup(name)
        return name if name in self.fields else None


def sources_from_export(export, unique: dict[str, bool] | None = None) -> dict[str, Source]:
    """The loaded export's tables (:class:`~crm_audit.engine.loading.LoadedExport`) as sources."""
    unique = unique or {}
    out = {}
    for name, ent in export.entities.items():
        out[name] = Source(ent.table, set(ent.fields), order="_row", unique_ids=unique.get(ent.table, False),
                           custom_lookup=ent.column_for, decimal_mark=getattr(ent, "decimal_mark", None))
    return out


#: a rule field's entity -> the source (export file) it is read from
_ENTITY_SOURCE = {"deal": "deals", "org": "organizations", "person": "persons"}


def legacy_name(ref: FieldRef) -> str:
    """The column of ``audit_deals`` DuckDB materialises (``"deal.title"``; other modules query it by this name)."""
    return f"{ref.entity}.{ref.name}"


def ascii_name(ref: FieldRef) -> str:
    """An ASCII column alias for a field (custom fields are named in the team's language)."""
    if re.fullmatch(r"[A-Za-z0-9_]+", ref.name):
        return f"{ref.entity}__{ref.name}"
    return f"{ref.entity}__c{hashlib.sha1(ref.name.encode('utf-8')).hexdigest()[:10]}"


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _and(parts: list) -> exp.Expression:
    return exp.and_(*parts) if parts else exp.true()


def _coalesce(x, default) -> exp.Expression:
    return exp.Coalesce(this=x, expressions=[default])


def _in(x, values: list) -> exp.Expression:
    """``x IN (values)``; FALSE for no values (``IN ()`` is DuckDB-only)."""
    return exp.In(this=x, expressions=values) if values else exp.false()


def _not(x) -> exp.Expression:
    return exp.Not(this=exp.paren(x) if not isinstance(x, (exp.Column, exp.Paren, exp.Anonymous, exp.Func)) else x)


class RuleCompiler:
    """Plans -> sqlglot trees for one dialect, one export layout, one audit date."""

    def __init__(self, dialect: Dialect, settings, as_of: dt.date, sources: dict[str, Source] | None = None,
                 names: Callable[[FieldRef], str] = ascii_name, yes_words: Sequence[str] | None = None):
        self.d = dialect
        # `is_yes`: the profile's yes words (any language), normalised as the SQL's norm() compares them
        self.yes = tuple(dict.fromkeys(norm(w) for w in yes_words)) if yes_words else YES
        self.settings = settings
        self.as_of = as_of
        self.sources = sources or {}
        self.name = names

    # ------------------------------------------------------------------ audit_deals
    def _dedup(self, src: Source) -> exp.Expression:
        """The entity's rows with an id, the first (in ``order``) of each id."""
        q = exp.select("*").from_(exp.to_table(src.table)).where(exp.Not(this=exp.Is(this=col("id"), expression=exp.Null())))
        if src.unique_ids:
            return q
        return self.d.first_per_id(q, col(src.order or "id"))

    def _deal_expr(self, ref: FieldRef, deals: Source) -> exp.Expression:
        has = lambda n: n in deals.fields  # noqa: E731
        if ref.name in ("days_in_stage", "stage_since"):
            parts = [col(n, "d") for n in ("stage_changed", "created") if has(n)]
            since = exp.Coalesce(this=parts[0], expressions=parts[1:]) if len(parts) > 1 else parts[0]
            return self.d.days_between(since, self.d.date(self.as_of.isoformat())) if ref.name == "days_in_stage" else since
        if ref.name == "reason":
            lost = col("lost_reason", "d") if has("lost_reason") else exp.Null()
            won = col("won_reason", "d") if has("won_reason") else exp.Null()
            status = col("status", "d") if has("status") else exp.Null()  # a warehouse may not give it: rules skipped
            return exp.Case(ifs=[
                exp.If(this=exp.and_(exp.EQ(this=status, expression=S("won")), _not(self.d.is_blank(won))), true=won.copy()),
                exp.If(this=_not(self.d.is_blank(lost.copy())), true=lost.copy()),
            ], default=won.copy())
        c = deals.column_for(ref.name)
        return col(c, "d") if c is not None else exp.Null()

    def _rel_expr(self, ref: FieldRef, src: Source | None, alias: str, joined: bool, deal_name) -> exp.Expression:
        c = src.column_for(ref.name) if (src is not None and joined) else None
        if ref.name == "name" and not ref.custom:
            if c:
                return exp.Case(ifs=[exp.If(this=exp.Not(this=exp.Is(this=col("id", alias), expression=exp.Null())), true=col(c, alias))],
                                default=deal_name.copy())
            return deal_name.copy()
        return col(c, alias) if c else exp.Null()

    def task_agg(self, refs: list[FieldRef]) -> exp.Select:
        """Per deal id: the task aggregates ``refs`` ask for."""
        acts = self.sources["activities"]
        has = lambda n: n in acts.fields  # noqa: E731
        a = lambda n: col(n, "a")  # noqa: E731
        d = self.d
        as_of = d.date(self.as_of.isoformat())
        undone = _not(_coalesce(a("done"), exp.false())) if has("done") else exp.true()
        overdue = exp.and_(undone.copy(), exp.LT(this=a("due_date"), expression=as_of.copy()))
        upcoming = exp.and_(undone.copy(), exp.GTE(this=a("due_date"), expression=as_of.copy()))
        subj = a("subject") if has("subject") else exp.Null()
        tie = a(acts.order) if acts.order else a("id")
        aggs = {
            "total_count": lambda: exp.Count(this=exp.Star()),
            "open_count": lambda: d.count_if(undone.copy()),
            "overdue_count": lambda: d.count_if(overdue.copy()),
            "first_overdue_due": lambda: d.min_if(a("due_date"), overdue.copy()),
            "first_overdue_subject": lambda: d.first_by(subj.copy(), a("due_date"), tie.copy(), overdue.copy()),
            "next_due": lambda: d.min_if(a("due_date"), upcoming.copy()),
            "next_subject": lambda: d.first_by(subj.copy(), a("due_date"), tie.copy(), upcoming.copy()),
        }
        names = sorted({r.name for r in refs})
        return (exp.select(a("deal_id"), *[exp.alias_(aggs[n](), n, quoted=True) for n in names])
                .from_(exp.to_table(acts.table).as_("a"))
                .where(exp.Not(this=exp.Is(this=a("deal_id"), expression=exp.Null())))
                .group_by(a("deal_id")))

    def stage_table(self) -> exp.Expression | None:
        """The settings' stage order as rows (pn, sn, pos) of normalised names."""
        rows = [(norm(p), norm(st), i) for p, stages in self.settings.pipelines.items() for i, st in enumerate(stages)]
        if not rows:
            return None
        if self.d.name in ("duckdb", "postgres"):
            values = exp.values([exp.tuple_(S(p), S(s), num(i)) for p, s, i in rows], alias="v", columns=["pn", "sn", "pos"])
            return exp.select("*").from_(values)
        q = None
        for p, s, i in rows:
            one = exp.select(exp.alias_(S(p), "pn"), exp.alias_(S(s), "sn"), exp.alias_(num(i), "pos"))
            q = one if q is None else exp.union(q, one, distinct=False)
        return q

    def audit_deals(self, plans: list[RulePlan], task_table: str = "task_agg") -> tuple[exp.Select, exp.Select | None]:
        """The ``audit_deals`` query for ``plans`` (and the task aggregates it joins, when a plan reads tasks)."""
        d = self.d
        refs: set[FieldRef] = set()
        for p in plans:
            refs |= p.fields
        for name in ("id", "title", "owner", "pipeline", "stage", "reason", "status"):
            refs.add(field_ref(f"deal.{name}"))
        deals = self.sources["deals"]
        orgs, persons, acts = (self.sources.get(n) for n in ("organizations", "persons", "activities"))
        uses_linked = any(isinstance(c, Linked) for p in plans for c in iter_conds(p.condition))
        need = {"org": any(r.entity == "org" for r in refs) or uses_linked,
                "person": any(r.entity == "person" for r in refs) or uses_linked}
        need_tasks = sorted((r for r in refs if r.entity == "tasks"), key=lambda r: r.name)
        d_has = lambda n: n in deals.fields  # noqa: E731

        cols: list[tuple[str, exp.Expression]] = [("_row", col(deals.order, "d") if deals.order else exp.Null())]
        status = col("status", "d") if d_has("status") else exp.Null()
        cols.append(("_status", _coalesce(status.copy(), S("unknown"))))
        for ref in sorted(refs, key=lambda r: (r.entity, r.name)):
            if ref.entity == "deal":
                cols.append((self.name(ref), self._deal_expr(ref, deals)))
        joins: list[tuple[exp.Expression, str, exp.Expression]] = []
        for entity, src, alias in (("org", orgs, "o"), ("person", persons, "p")):
            if not need[entity]:
                continue
            joined = src is not None and "id" in src.fields and d_has(f"{entity}_id")
            if joined:
                joins.append((self._dedup(src).subquery(alias), alias, exp.EQ(this=col("id", alias), expression=col(f"{entity}_id", "d"))))
            dn = col(f"{entity}_name", "d") if d_has(f"{entity}_name") else exp.Null()
            did = col(f"{entity}_id", "d") if d_has(f"{entity}_id") else exp.Null()
            cols.append((f"_linked_{entity}", exp.paren(exp.or_(_not(d.is_blank(did)), _not(d.is_blank(dn))))))
            for ref in sorted(refs, key=lambda r: r.name):
                if ref.entity == entity:
                    cols.append((self.name(ref), self._rel_expr(ref, src, alias, joined, dn)))
        tasks = None
        if need_tasks:
            tasks = self.task_agg(need_tasks)
            joins.append((exp.to_table(task_table).as_("t"), "t", exp.EQ(this=col("deal_id", "t"), expression=col("id", "d"))))
            for ref in need_tasks:
                e = _coalesce(col(ref.name, "t"), num(0)) if ref.name.endswith("_count") else col(ref.name, "t")
                cols.append((self.name(ref), e))
        stages = self.stage_table()
        base = self._dedup(deals)
        if stages is not None and d_has("pipeline") and d_has("stage"):
            # names normalised once per distinct (pipeline, stage), not once per deal (issue 17: two regex replaces per
            # row); keyed by the raw text with NULL as '' (a blank name matches no settings' pipeline either way)
            key = lambda x: _coalesce(x, S(""))  # noqa: E731
            names = (exp.select(exp.alias_(key(col("pipeline")), "kp"), exp.alias_(key(col("stage")), "ks"),
                                exp.alias_(d.norm(key(col("pipeline"))), "_pn"), exp.alias_(d.norm(key(col("stage"))), "_sn"))
                     .from_(exp.to_table(deals.table)).distinct())
            joins.append((names.subquery("sk"), "sk", exp.and_(exp.EQ(this=col("kp", "sk"), expression=key(col("pipeline", "d"))),
                                                               exp.EQ(this=col("ks", "sk"), expression=key(col("stage", "d"))))))
            joins.append((stages.subquery("sp"), "sp", exp.and_(exp.EQ(this=col("pn", "sp"), expression=col("_pn", "sk")),
                                                                exp.EQ(this=col("sn", "sp"), expression=col("_sn", "sk")))))
            cols += [("_pipeline_n", col("_pn", "sk")), ("_stage_pos", col("pos", "sp"))]
        else:
            cols += [("_pipeline_n", d.norm(col("pipeline", "d")) if d_has("pipeline") else exp.Null()), ("_stage_pos", exp.Null())]
        seen: dict[str, exp.Expression] = {}
        for name, e in cols:
            seen.setdefault(name, e)
        q = exp.select(*[exp.alias_(e, name, quoted=True) for name, e in seen.items()]).from_(base.subquery("d"))
        for table, _alias, on in joins:
            q = q.join(table, on=on, join_type="left")
        q = q.where(exp.NEQ(this=_coalesce(status.copy(), S("")), expression=S("deleted")))
        return q, tasks

    # ------------------------------------------------------------------ conditions
    def cond(self, c: Cond) -> exp.Expression:
        if isinstance(c, All):
            return exp.paren(exp.and_(*[self.cond(x) for x in c.items])) if c.items else exp.true()
        if isinstance(c, AnyOf):
            return exp.paren(exp.or_(*[self.cond(x) for x in _merged_placeholders(c.items)])) if c.items else exp.false()
        if isinstance(c, Not):
            return exp.paren(exp.Not(this=_coalesce(self.cond(c.item), exp.false())))
        if isinstance(c, StagePlan):
            if not c.positions:
                return exp.false()
            case = exp.Case(this=col("_pipeline_n"), ifs=[exp.If(this=S(p), true=num(pos)) for p, pos in c.positions.items()],
                            default=exp.Null())
            cmp = exp.GTE if c.op == "at_least" else exp.LTE
            return _coalesce(cmp(this=col("_stage_pos"), expression=exp.paren(case)), exp.false())
        if isinstance(c, Linked):
            return col(f"_linked_{c.entity}")
        if isinstance(c, Leaf):
            return _coalesce(self.leaf(c), exp.false())
        raise TypeError(c)

    def parse_num(self, x, entity: str | None = None) -> exp.Expression:
        """The text ``x`` as a number, the way the loader reads amounts (``sqlfuncs.parse_num``); a value that reads
        either way (15.000, 1,500) with the settings' `decimal_mark:` when it is "," or ".", else with the mark
        the export's file of ``entity`` (deal, org, person) was read with, else the point."""
        from crm_audit.engine import amounts
        from crm_audit.engine.dialects import numbers

        mark = getattr(self.settings, "decimal_mark", None)
        if mark not in amounts.MARKS:
            src = self.sources.get(_ENTITY_SOURCE.get(entity or "", ""))
            mark = src.decimal_mark if src is not None and src.decimal_mark in amounts.MARKS else amounts.DEFAULT_MARK
        return numbers.parse_num(self.d, x, mark)

    def leaf(self, c: Leaf) -> exp.Expression:
        d = self.d
        ref = field_ref(c.field)
        x = col(self.name(ref))
        typ = ref.type
        op, v = c.op, c.value
        raw = _coalesce(x.copy(), S("")) if c.on == "raw" else _coalesce(d.strip(x.copy()), S(""))
        ntext = _coalesce(d.norm(x.copy()), S(""))
        if typ == "status":
            x, typ, ntext = col("_status"), "text", col("_status")
        if op == "empty":
            e = d.is_blank(x) if typ == "text" else exp.paren(exp.Is(this=x, expression=exp.Null()))
            return e if v else exp.Not(this=e)
        if op == "empty_or_zero":
            if typ == "text":
                e = exp.paren(exp.or_(d.is_blank(x), exp.EQ(this=_coalesce(self.parse_num(x.copy(), ref.entity), num(1)), expression=num(0))))
            else:
                e = exp.paren(exp.or_(exp.Is(this=x, expression=exp.Null()), exp.EQ(this=x.copy(), expression=num(0))))
            return e if v else exp.Not(this=e)
        if op == "is_yes":
            e = _in(ntext, [S(y) for y in self.yes])
            return e if v else exp.Not(this=exp.paren(e))
        if op in ("equals", "not_equals", "in", "not_in"):
            values = v if isinstance(v, list) else [v]
            if typ == "number":
                e = _in(x, [d.double(x_) for x_ in values])
            elif typ == "date":
                e = _in(x, [d.date(str(x_)) for x_ in values])
            else:
                e = _in(ntext, [S(norm(x_)) for x_ in values])
            return e if op in ("equals", "in") else exp.Not(this=_coalesce(e, exp.false()))
        if op in ("contains", "not_contains"):
            e = d.contains(ntext, norm(v))
            return e if op == "contains" else exp.Not(this=e)
        if op == "starts_with":
            return d.starts_with(ntext, norm(v))
        if op == "ends_with":
            return d.ends_with(ntext, norm(v))
        if op == "matches":
            return d.search(raw, str(v))
        if op == "placeholder":
            return d.full_match(ntext, placeholder_pattern(v))
        if op in ("length_lt", "length_gt"):
            cmp = exp.LT if op == "length_lt" else exp.GT
            return cmp(this=d.length(_coalesce(d.strip(x), S(""))), expression=num(int(v)))
        if op in ("gt", "gte", "lt", "lte"):
            cmp = {"gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}[op]
            if typ == "date":
                lit = self.as_of if v == "as_of" else v
                return cmp(this=x, expression=d.date(lit.isoformat()))
            val = self.parse_num(x, ref.entity) if typ == "text" else x
            return cmp(this=val, expression=d.double(v))
        if op in ("same_as", "differs_from"):
            other = col(self.name(field_ref(v)))
            e = exp.EQ(this=ntext, expression=_coalesce(d.norm(other), S("")))
            return e if op == "same_as" else exp.Not(this=exp.paren(e))
        raise ValueError(f"unknown op {op}")

    def scope(self, plan: RulePlan) -> list[exp.Expression]:
        parts = [_in(col("_status"), [S(s) for s in plan.statuses])]
        if plan.pipelines:
            parts.append(_in(col("_pipeline_n"), [S(p) for p in plan.pipelines]))
        return parts

    def where(self, plan: RulePlan) -> exp.Expression:
        return _and(self.scope(plan) + [self.cond(plan.condition)])

    # ------------------------------------------------------------------ rule queries
    def rows(self, plan: RulePlan, table: str = "audit_deals") -> exp.Select:
        """The rule's rows over ``table``: the base columns and evidence ``ev0…``, unordered, no fingerprint."""
        url = self.settings.deal_url
        link = self.d.replace(S(url), S("{id}"), col(self.name(field_ref("deal.id")))) if url else exp.Null()
        state = exp.Case(this=col("_status"), ifs=[exp.If(this=S(k), true=S(v)) for k, v in STATE_TITLES.items()], default=col("_status"))
        st = self.settings
        guessed = st.closed_unconfirmed() if hasattr(st, "closed_unconfirmed") else []
        if guessed:  # won or lost only as init guessed it: the manager reads that it is not confirmed
            stage = self.d.norm(col(self.name(field_ref("deal.stage"))))
            state = exp.Case(ifs=[exp.If(this=_and([_in(col("_status"), [S("won"), S("lost")]),
                                                   _in(stage, [S(norm(x)) for x in guessed])]),
                                         true=S(STATE_GUESSED))], default=state)
        base = {
            "deal_url": link, "deal_id": col(self.name(field_ref("deal.id"))), "title": col(self.name(field_ref("deal.title"))),
            "owner": col(self.name(field_ref("deal.owner"))), "state": state, "reason": col(self.name(field_ref("deal.reason"))),
            "pipeline": col(self.name(field_ref("deal.pipeline"))), "stage": col(self.name(field_ref("deal.stage"))),
        }
        sel = [exp.alias_(base[c.key], c.key) for c in BASE_COLUMNS]
        sel += [exp.alias_(col(self.name(ref)), f"ev{i}") for i, (ref, _t) in enumerate(plan.evidence)]
        return exp.select(*sel).from_(exp.to_table(table)).where(self.where(plan))

    def query(self, plan: RulePlan) -> exp.Select:
        """One self-contained read-only query for ``plan``: ``audit_deals`` (and ``task_agg``) as CTEs."""
        deals, tasks = self.audit_deals([plan])
        q = self.rows(plan)
        if tasks is not None:
            q = q.with_("task_agg", as_=tasks)
        q = q.with_("audit_deals", as_=deals)
        return self.d.finish(q)

    def sql(self, plan: RulePlan, pretty: bool = True) -> str:
        return self.d.render(self.query(plan), pretty=pretty)


def _merged_placeholders(items: list[Cond]) -> list[Cond]:
    """The alternatives of an ``any:`` with every ``placeholder:`` of one field made one (their words in one list, at
    the place of the first): «is one of A, or one of B» is «is one of A + B», and the name is normalised and matched
    once instead of once per list (rule 1.5 has a list per language: ten normalisations of each title; issue 17)."""
    merged: list[Cond] = []
    first: dict[tuple[str, str], int] = {}
    for x in items:
        if isinstance(x, Leaf) and x.op == "placeholder" and isinstance(x.value, list):
            key = (x.field, x.on)
            if key in first:
                i = first[key]
                merged[i] = replace(merged[i], value=list(merged[i].value) + list(x.value))
                continue
            first[key] = len(merged)
        merged.append(x)
    return merged
