"""The audit on a warehouse: settings + engine URL + warehouse profile -> :class:`~crm_audit.report.AuditReport`.

The same report an export gives (:func:`crm_audit.engine.audit.audit_export`), so the cycle writes the same
workbook, Google Sheet, CSV, ledger and carry-over: the rules run on the target, each as one read-only
query with the profile's entity queries as CTEs (:class:`~crm_audit.engine.backends.sql_backend.SQLBackend`);
rows are fingerprinted and ordered locally as for every engine. What the cycle needs besides the findings —
the deal count, every owner, deals in a stage the settings lack, the newest deal date, rows per entity — is
fetched with a few small read-only queries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import pandas as pd
from sqlglot import exp

from crm_audit.engine import plan as planmod
from crm_audit.engine.audit import _kind, scope_text, select_rules, stage_order_warning
from crm_audit.engine.plan import FieldRef, RulePlan, field_ref
from crm_audit.errors import UsageError
from crm_audit.i18n import N_, _
from crm_audit.progress import silent
from crm_audit.report import (BASE_COLUMNS, AuditReport, Column, DataWarning, RuleResult, SkippedRule, UnjudgedDeals, skipped_note,
                              skipped_warning, unjudged_note, unjudged_warning)
from crm_audit.warehouse import profile as wprofile
from crm_audit.warehouse.profile import profile_name
from crm_audit.warehouse.entities import Layout, build_layout, cte_name, finding_text, findings_error, probe, resolve as resolve_profile
from crm_audit.textnorm import norm
from crm_audit.warehouse.url import EngineURL, parse

REF_ENTITY = {"deal": "deals", "org": "organizations", "person": "persons", "tasks": "activities"}
TASK_NEEDS = {"open_count": ["deal_id"], "total_count": ["deal_id"], "overdue_count": ["deal_id", "due_date"],
              "first_overdue_due": ["deal_id", "due_date"], "first_overdue_subject": ["deal_id", "due_date", "subject"],
              "next_due": ["deal_id", "due_date"], "next_subject": ["deal_id", "due_date", "subject"]}
STAGE_SINCE = ("days_in_stage", "stage_since")


@dataclass
class WarehouseSource:
    """Where the audit reads the CRM: the engine, the warehouse profile, the connector's schema."""

    url: EngineURL
    profile: wprofile.WarehouseProfile
    schema: str | None
    zone: str = "UTC"  # the CRM account's time zone (engine: timezone:): a timestamp's date is taken there

    def __str__(self) -> str:
        """For the analyst's terminal: the URL (never a password: :func:`parse` refuses one)."""
        where = f", {self.schema}" if self.schema else ""
        return f"{self.url} ({self.profile.name}{where})"

    @property
    def label(self) -> str:
        """What the workbook's FAQ and the ledger say the audit read: the warehouse profile, the schema and the
        database's name — no user, host, socket path or password (the team reads the document)."""
        return " · ".join(p for p in (self.profile.name, self.schema, self.url.database) if p)


def resolve(settings, url_text: str | None) -> WarehouseSource:
    """The warehouse of ``--engine URL`` and the settings' ``engine:`` block (the URL's ``?profile=&schema=`` win)."""
    conf = getattr(settings, "engine", None)
    text = url_text or (conf.url if conf is not None else None)
    if not text:
        raise UsageError(_("no engine URL: give --engine URL or engine: url: in the settings"))
    url = parse(text)
    prof = wprofile.load(url.profile or profile_name(settings))
    schema = url.schema or (conf.schema_ if conf is not None else None)
    if schema is None and url.scheme == "bigquery" and url.path:
        schema = url.path
    return WarehouseSource(url, prof, schema, conf.timezone if conf is not None else "UTC")


def resolve_warehouse(source: WarehouseSource, target):
    """What of the profile the warehouse has; an :class:`InputError` naming every table and column the run needs and
    the warehouse lacks."""
    resolved = resolve_profile(source.profile, probe(source.profile, target, source.schema))
    if resolved.fatal:
        raise findings_error(source.profile, resolved.fatal, _where(source))
    return resolved


def _where(source: WarehouseSource) -> str:
    return f"{source.url}" + (f", schema {source.schema}" if source.schema else "")


def _deals_table(source: WarehouseSource) -> str:
    table = source.profile.entities["deals"].from_
    return f"{source.schema}.{table}" if source.schema else table


def unread_warnings(source: WarehouseSource, layout: Layout) -> list[DataWarning]:
    """What the warehouse lacks that is not fatal: fields not read, entities absent, custom fields not found."""
    out = [DataWarning("warehouse-missing", finding_text(f, source.label), source.profile.file)
           for f in (layout.resolved.findings if layout.resolved is not None else []) if not f.fatal]
    out += [DataWarning("warehouse-missing", "", source.profile.file, template=N_(
        "custom field «{field}» is not in the connector's field list: rules reading it are skipped"),
        params={"field": nf}) for nf in layout.not_found]
    out += [DataWarning("warehouse-missing", "", source.profile.file, template=N_(
        "custom field «{field}» is in the connector's field list, but table «{table}» has no column «{column}» yet (a new "
        "field, before the connector's next sync?): rules reading it are skipped"),
        params={"field": name, "table": table, "column": column}) for _ent, name, table, column in layout.no_column]
    out += [DataWarning("warehouse-duplicate-field", "", source.profile.file, template=N_(
        "the connector's field list «{table}» has several live custom fields «{field}»: keys {keys}; the newest, «{key}», "
        "is read — delete or rename the other one in the CRM"),
        params={"field": name, "table": source.profile.entities[ent].custom_fields.table, "key": key,
                "keys": ", ".join(f"«{k}»" for k in [key, *others])})
        for ent, name, key, others in layout.duplicates]
    return out


def custom_needed(plans: list[RulePlan]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for p in plans:
        if p.rule.off:  # switched off (rules: skip:): it reads nothing
            continue
        for ref in p.fields | _cond_refs(p):
            if ref.custom and ref.entity in REF_ENTITY:
                out.setdefault(REF_ENTITY[ref.entity], set()).add(ref.name)
    return out


def _cond_refs(p: RulePlan) -> set[FieldRef]:
    from crm_audit.engine import partial

    return partial.cond_refs(p.condition)


def _available(ref: FieldRef, layout: Layout) -> bool:
    ents = layout.entities
    deals = ents["deals"].source
    if ref.entity == "deal":
        if ref.name in STAGE_SINCE:  # as for an export: never counted from the creation date for every deal
            return "stage_changed" in deals.fields
        return ref.name == "reason" or deals.column_for(ref.name) is not None
    ent = ents.get(REF_ENTITY[ref.entity])
    if ref.entity == "tasks":
        needs = TASK_NEEDS[ref.name] + ([] if ref.name == "total_count" else ["done"])
        return ent is not None and all(n in ent.source.fields for n in needs)
    if ref.name == "name" and not ref.custom and deals.column_for(f"{ref.entity}_name") is not None:
        return True
    return ent is not None and ent.source.column_for(ref.name) is not None and deals.column_for(f"{ref.entity}_id") is not None


_WHAT = {"tasks": "задачи сделок", "org": "поля организаций", "person": "поля контактов"}


def unread_why(ref: FieldRef, layout: Layout, title: str) -> str:
    """Why a field a rule reads is not there, in the terms the user knows: the table, the column, the custom field's
    name (Russian: the rule sheet's note)."""
    prof = layout.profile
    ent = REF_ENTITY.get(ref.entity, "deals")
    findings = layout.resolved.findings if layout.resolved is not None else []
    if ent not in layout.entities:  # the entity's table is missing (or not in the profile)
        q = prof.entities.get(ent)
        if q is None:
            return f"профиль хранилища ({title}) не читает {_WHAT.get(ref.entity, ent)}"
        return f"в хранилище ({title}) нет таблицы «{q.from_}», поэтому {_WHAT.get(ref.entity, ent)} проверить нельзя"
    if ref.custom:
        for e, name, table, column in layout.no_column:
            if e == ent and norm(name) == norm(ref.name):
                return (f"пользовательское поле «{ref.name}» есть в списке полей коннектора, но в таблице «{table}» "
                        f"нет его столбца «{column}» (новое поле до следующей синхронизации?)")
        q = prof.entities[ent]
        if q.custom_fields is None:
            return f"профиль хранилища ({title}) не читает пользовательские поля ({ent})"
        return f"пользовательского поля «{ref.name}» нет в списке полей коннектора (таблица «{q.custom_fields.table}»)"
    names = {"tasks": TASK_NEEDS.get(ref.name, []) + ["done"]}.get(ref.entity, [ref.name])
    if ref.entity == "deal" and ref.name in STAGE_SINCE:
        names = ["stage_changed"]
    if ref.entity in ("org", "person"):
        names = [ref.name, f"{ref.entity}_id"]
    for f in findings:
        if f.entity in (ent, "deals") and f.column and any(f.key.endswith(f"fields: {n}") for n in names):
            return f"в таблице «{f.table}» хранилища ({title}) нет столбца «{f.column}»"
    table = prof.entities[ent].from_
    return f"профиль хранилища ({title}) не читает поле «{names[0] if ref.name in STAGE_SINCE else ref.name}» из таблицы «{table}»"


def decide(plans: list[RulePlan], layout: Layout) -> tuple[list[RulePlan], list[SkippedRule], list[DataWarning]]:
    """Which rules run on what the profile maps; a rule reading what it does not is skipped, saying so."""
    from crm_audit.engine import partial

    runnable, skipped, warnings = [], [], []
    title = layout.profile.title or layout.profile.name
    for p in plans:
        if p.rule.off:
            skipped.append(SkippedRule(p.rule.id, p.rule.code, "deal", "", "off", p.rule.off, title=p.rule.title))
            continue
        if p.empty_lists:  # compared with an empty list from the settings: it could flag no deal (acceptance O1)
            from crm_audit.engine.requirements import empty_list_skip

            skipped.append(empty_list_skip(p, None))
            continue
        lacking = {ref for ref in p.fields | partial.cond_refs(p.condition) if not _available(ref, layout)}
        n = partial.narrow(p, lacking)
        need = sorted(n.needed & lacking, key=lambda r: r.ref)
        if need:
            ref = need[0]
            skipped.append(SkippedRule(p.rule.id, p.rule.code, ref.entity, ref.ref, "not-exported",
                                       unread_why(ref, layout, title), title=p.rule.title))
            continue
        runnable.append(n.plan)
        if n.unchecked:
            warnings.append(DataWarning("rule-partial", "", layout.profile.file, template=N_(
                "rule {code} {rule} runs without {columns}: the warehouse profile does not map them; that part of the "
                "rule is not checked"), params={"code": p.rule.code, "rule": p.rule.id,
                                                 "columns": ", ".join(f"«{r.ref}»" for r in n.unchecked)}))
    return runnable, skipped, warnings


def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _facts(backend, layout: Layout, settings, where: str) -> tuple[int, list[str], list[DataWarning], dt.date | None, dict[str, int]]:
    """Deal count, owners, stage warnings (located at ``where``: the deals table), the newest deal date and rows per
    entity: small read-only queries."""
    from crm_audit.engine.dialects.compiler import ascii_name

    n = lambda name: ascii_name(field_ref(f"deal.{name}"))  # noqa: E731
    count = backend.over_audit_deals(exp.select(exp.Count(this=exp.Star()).as_("n")).from_("audit_deals"), []).to_pylist()[0]["n"]
    owners = []
    deals = layout.entities["deals"].source
    if "owner" in deals.fields:
        q = (exp.select(_col(n("owner")).as_("owner")).distinct().from_("audit_deals")
             .where(exp.and_(exp.Not(this=exp.Is(this=_col(n("owner")), expression=exp.Null())),
                             exp.NEQ(this=exp.Trim(this=_col(n("owner"))), expression=exp.Literal.string("")))))
        owners = sorted({r["owner"] for r in backend.over_audit_deals(q, []).to_pylist()})
    warnings: list[DataWarning] = []
    if settings.pipelines and {"pipeline", "stage"} <= deals.fields:
        q = (exp.select(_col(n("id")).as_("id"), _col(n("pipeline")).as_("pipeline"), _col(n("stage")).as_("stage"))
             .from_("audit_deals").where(exp.Is(this=_col("_stage_pos"), expression=exp.Null())).order_by(_col("_row"), _col(n("id"))))
        rows = backend.over_audit_deals(q, []).to_pylist()
        from crm_audit.textnorm import norm

        known_p = {norm(p) for p in settings.pipelines}
        for r in rows[:50]:
            values = {"deal": r["id"], "pipeline": r["pipeline"] or "", "stage": r["stage"] or ""}
            template = (N_("deal {deal}: pipeline «{pipeline}» (stage «{stage}») is not in the settings; stage comparisons skip this deal")
                        if norm(r["pipeline"]) not in known_p else
                        N_("deal {deal}: stage «{stage}» is not in pipeline «{pipeline}» of the settings; stage comparisons skip this deal"))
            warnings.append(DataWarning("unknown-stage", "", where, template=template, params=values))
        if len(rows) > 50:
            warnings.append(DataWarning("unknown-stage", "", where, template=N_(
                "… and {n} more deals with a stage or pipeline not in the settings"), params={"n": len(rows) - 50}))
    if "status" in deals.fields:
        q = (exp.select(exp.Count(this=exp.Star()).as_("n"), exp.Min(this=_col(n("id"))).as_("first")).from_("audit_deals")
             .where(exp.EQ(this=_col("_status"), expression=exp.Literal.string("unknown"))))
        row = backend.over_audit_deals(q, []).to_pylist()[0]
        if row["n"]:
            warnings.append(DataWarning("unknown-status", "", where, template=N_(
                "deals with an empty or unknown status, in no rule's scope: {n} (e.g. deal {deal})"),
                params={"n": row["n"], "deal": row["first"]}))
    newest = None
    dates = [f for f in ("created", "stage_changed", "updated") if f in deals.fields]
    if dates:
        q = exp.select(*[exp.Max(this=_col(f)).as_(f) for f in dates]).from_(cte_name("deals"))
        row = backend.over_audit_deals(q, []).to_pylist()[0]
        found = [v for v in row.values() if isinstance(v, dt.date)]
        newest = max(found) if found else None
        if isinstance(newest, dt.datetime):
            newest = newest.date()
    rows_per = {}
    for ent in layout.entities:
        q = exp.select(exp.Count(this=exp.Star()).as_("n")).from_(cte_name(ent))
        rows_per[ent] = int(backend.over_audit_deals(q, []).to_pylist()[0]["n"])
    return int(count), owners, warnings, newest, rows_per


def _unjudged(backend, plans: list[RulePlan], layout: Layout) -> list[UnjudgedDeals]:
    """Per rule, the deals in its scope whose compared date is empty (as :func:`crm_audit.engine.requirements.unjudged`
    for an export), counted on the warehouse."""
    from crm_audit.engine.dialects.compiler import ascii_name
    from crm_audit.engine.requirements import _DERIVED_FROM, _EMPTY_OPS
    from crm_audit.rules.lang import All, Leaf, iter_conds

    fields = layout.resolved.fields["deals"] if layout.resolved is not None else {}
    out: list[UnjudgedDeals] = []
    for p in plans:
        compared: list[FieldRef] = []
        for c in iter_conds(p.condition):
            if isinstance(c, Leaf) and c.op not in _EMPTY_OPS:
                ref = field_ref(c.field)
                if ref.entity == "deal" and (ref.type == "date" or ref.name in STAGE_SINCE) and ref not in compared:
                    compared.append(ref)
        if not compared:
            continue
        scope = backend.compiler.scope(p)
        if p.rule.where is not None and isinstance(p.condition, All) and len(p.condition.items) == 2:
            scope.append(backend.compiler.cond(p.condition.items[0]))
        for ref in compared:
            q = (exp.select(exp.Count(this=exp.Star()).as_("n")).from_("audit_deals")
                 .where(exp.and_(*scope, exp.Is(this=_col(ascii_name(ref)), expression=exp.Null()))))
            n = int(backend.over_audit_deals(q, [p]).to_pylist()[0]["n"])
            if n:
                names = _DERIVED_FROM.get(ref.name, (ref.name,))
                column = " / ".join(fields[x] for x in names if x in fields) or ref.name
                out.append(UnjudgedDeals(p.rule.id, p.rule.code, ref.ref, n, column, title=p.rule.title))
    return out


def audit_warehouse(settings, source: WarehouseSource, as_of: dt.date | None = None, rule_ids: list[str] | None = None,
                    rules=None, progress: Callable[[str], None] | None = None) -> AuditReport:
    """Run the rules where the CRM's tables are (see the module docstring)."""
    from crm_audit.engine.backends.sql_backend import SQLBackend
    from crm_audit.warehouse.connect import connect

    as_of = as_of or dt.date.today()
    progress = progress or silent
    rules, rule_warnings = select_rules(settings, rules, rule_ids)
    plans = planmod.build_all(rules, settings)
    progress(_("loading {source}").format(source=source))
    with connect(source.url) as conn:
        target = conn.target
        resolved = resolve_warehouse(source, target)
        layout = build_layout(source.profile, source.schema, target, custom_needed(plans), resolved, zone=source.zone)
        runnable, skipped, decide_warnings = decide(plans, layout)
        from crm_audit.engine.profile import load_profile

        # `is_yes` reads the yes words of the CRM's profile (every language it declares), as for its export
        backend = SQLBackend(target, settings, as_of, layout.sources(), ctes=layout.ctes(),
                             yes_words=load_profile(source.profile.crm).yes_no.yes)
        count, owners, stage_warnings, newest, rows_per = _facts(backend, layout, settings, _deals_table(source))
        unjudged = _unjudged(backend, runnable, layout)
        fingerprint = data_fingerprint(backend, layout, count, rows_per, owners)
        ran = {q.rule.id: q for q in runnable}
        skip_by = {s.rule_id: s for s in skipped}
        results = []
        warnings = [unjudged_warning(u) for u in unjudged]  # the CLI's language in the terminal, Russian on the FAQ
        for i, p in enumerate(plans, 1):
            r = p.rule
            progress(_("rule {i}/{n}: {rule}").format(i=i, n=len(plans), rule=r.sheet_title))  # «1.7 Разные ответственные»
            evidence = [Column(f"ev{k}", title, _kind(ref), planmod.is_volatile(ref)) for k, (ref, title) in enumerate(p.evidence)]
            skip = skip_by.get(r.id)
            note = ""
            if skip is not None:
                df = pd.DataFrame(columns=[c.key for c in BASE_COLUMNS] + [c.key for c in evidence])
                note = skipped_note(skip)
                warnings.append(skipped_warning(skip))
            else:
                df = backend.run(ran[r.id])
                note = " ".join(f"Внимание: {unjudged_note(u)}." for u in unjudged if u.rule_id == r.id)
            results.append(RuleResult(rule_id=r.id, code=r.code, title=r.title, criticality=r.criticality,
                                      sheet_title=r.sheet_title, evidence=evidence, rows=df, what=r.what, why=r.why, how=r.how,
                                      scope_text=scope_text(r), note=note, skipped=skip is not None))
    warnings += [DataWarning(p.reason, "", p.file, template=p.template, params=p.params) if p.template
                 else DataWarning(p.reason, p.message, p.file) for p in rule_warnings]
    from crm_audit.engine.stage_guess import order_unconfirmed

    if order_unconfirmed(settings):  # a pipeline of one open stage has no order to confirm
        warnings.append(stage_order_warning(settings))
    warnings += unread_warnings(source, layout) + decide_warnings + stage_warnings
    return AuditReport(as_of=as_of, generated_at=dt.datetime.now().replace(microsecond=0),
                       due_date=as_of + dt.timedelta(days=settings.output.due_days), results=results, deal_count=count,
                       warnings=warnings, source=source.label, crm=settings.crm,
                       input_fingerprints=fingerprint,
                       entity_rows=rows_per, owners=owners, skipped=skipped, unjudged=unjudged, newest_date=newest)


#: the canonical fields whose newest value moves when the connector brings changes (whichever an entity has)
_MOVING = ("updated", "modified", "created", "stage_changed", "due_date", "close_date")


def data_fingerprint(backend, layout: Layout, deal_count: int, rows_per: dict, owners: list[str]) -> dict[str, str]:
    """What the audit read from the warehouse, as the fingerprint an export's files give (``input_fingerprints``).

    A warehouse has no files to hash: per entity its row count, the newest value of each field that moves when the
    CRM changes and the total length of each field's text (one read-only query each), with the deal count and the
    owners, stand for the data. A re-run
    before the connector synced gives the same fingerprint, so a manager's «Исправлено» stays (nothing to re-check
    yet), as a re-run on the same export files does; the fingerprint does not depend on ``--as-of``."""
    import hashlib

    parts = [f"deals={deal_count}", f"rows={sorted((str(k), str(v)) for k, v in (rows_per or {}).items())}",
             f"owners={sorted(map(str, owners or []))}"]
    for name, ent in sorted(layout.entities.items()):
        moving = [f for f in _MOVING if f in ent.source.fields]
        fields = sorted(ent.source.fields)
        # the newest moving dates, and the total length of every field's text: an edit of a title, a stage, an owner
        # or a custom field moves it even where the connector maps no "modified" time
        q = exp.select(*[exp.Max(this=_col(f)).as_(f"m_{i}") for i, f in enumerate(moving)],
                       *[exp.Sum(this=exp.Length(this=exp.Coalesce(this=exp.cast(_col(f), "text"),
                                                                     expressions=[exp.Literal.string("")]))).as_(f"l_{i}")
                         for i, f in enumerate(fields)]).from_(cte_name(name))
        if not moving and not fields:
            continue
        row = backend.over_audit_deals(q, []).to_pylist()[0]
        parts.append(f"{name}:" + "|".join(f"{k}={v}" for k, v in sorted(row.items())))
    return {"warehouse": hashlib.sha256("\n".join(parts).encode()).hexdigest()}
