"""``crm-audit inspect --engine URL`` and ``validate --engine URL``: what the audit would read from a warehouse.

Connects (read-only), reads every table's columns the profile names and reports: the profile, the schema, per
entity its table and rows, the fields read (and from which expression), the fields not read (the column the
warehouse lacks), the custom fields the rules name and whether the connector's field list has them, which
rules would run and which would be skipped; ``problems`` are what stops a run (a missing deals table, join
table, id, or column of a join or filter).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_audit.errors import CrmAuditError, Problem
from crm_audit.i18n import _, ngettext


@dataclass
class EntityInfo:
    entity: str
    table: str
    rows: int | None = None
    read: list[tuple[str, str]] = field(default_factory=list)  # (field, expression)
    not_read: list[str] = field(default_factory=list)  # texts: the field and the column it lacks
    custom_found: list[tuple[str, str]] = field(default_factory=list)  # (display name, the data column read)
    custom_missing: list[str] = field(default_factory=list)
    custom_no_column: list[tuple[str, str]] = field(default_factory=list)  # (display name, the column the table lacks)
    custom_duplicates: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (name, key read, other keys)


@dataclass
class WarehouseReport:
    source: str
    profile: str
    profile_file: str
    entities: list[EntityInfo] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # entities whose table is not there
    runnable: list[str] = field(default_factory=list)  # "code id"
    skipped: list[str] = field(default_factory=list)  # "code id: why"
    problems: list[Problem] = field(default_factory=list)


def inspect_warehouse(settings, url_text: str | None) -> WarehouseReport:
    """Connect and report (never raises for what the warehouse lacks: it is in ``problems``)."""
    from sqlglot import exp

    from crm_audit.engine import plan as planmod
    from crm_audit.engine.dialects import get as dialect
    from crm_audit.rules import ruleset
    from crm_audit.report import skipped_reason
    from crm_audit.warehouse.audit import _where, custom_needed, decide, resolve
    from crm_audit.warehouse.connect import connect
    from crm_audit.warehouse.entities import build_layout, cte_name, finding_text, probe, resolve as resolve_profile

    source = resolve(settings, url_text)
    prof = source.profile
    rep = WarehouseReport(str(source), f"{prof.name} ({prof.title})" if prof.title else prof.name, str(prof.file))
    plans = planmod.build_all(ruleset.load_with_warnings(settings).rules, settings)
    with connect(source.url) as conn:
        target = conn.target
        resolved = resolve_profile(prof, probe(prof, target, source.schema))
        where = _where(source)
        rep.problems = [Problem(finding_text(f, where), file=prof.file, reason="warehouse-missing") for f in resolved.fatal]
        by_entity: dict[str, list[str]] = {}
        for f in resolved.findings:
            if not f.fatal and f.column is None and f.key.endswith(": from"):
                rep.absent.append(f.entity)
            elif not f.fatal:
                by_entity.setdefault(f.entity, []).append(finding_text(f, where))
        if rep.problems:
            return rep
        layout = build_layout(prof, source.schema, target, custom_needed(plans), resolved, zone=source.zone)
        d = dialect(target.dialect)
        for ent, e in layout.entities.items():
            q = exp.select(exp.Count(this=exp.Star()).as_("n")).from_(cte_name(ent)).with_(cte_name(ent), as_=e.query)
            info = EntityInfo(ent, prof.entities[ent].from_, int(target.run(d.render(q)).to_pylist()[0]["n"]))
            info.read = sorted(resolved.fields[ent].items())
            info.not_read = by_entity.get(ent, [])
            info.custom_found = sorted(e.columns.items())
            info.custom_no_column = [(n, c) for x, n, _t, c in layout.no_column if x == ent]
            info.custom_duplicates = [(n, k, o) for x, n, k, o in layout.duplicates if x == ent]
            info.custom_missing = [n.split(": ", 1)[1] for n in layout.not_found if n.startswith(f"{ent}: ")]
            rep.entities.append(info)
        runnable, skipped, _warnings = decide(plans, layout)
        rep.runnable = [f"{p.rule.code} {p.rule.id}" for p in runnable]
        rep.skipped = [f"{s.code} {s.rule_id}: {skipped_reason(s)}" for s in skipped]
    return rep


def format_warehouse(rep: WarehouseReport) -> str:
    lines = [_("Warehouse: {source}").format(source=rep.source), _("Warehouse profile: {name} — {file}").format(
        name=rep.profile, file=rep.profile_file)]
    for p in rep.problems:
        lines.append("  " + _("error: {problem}").format(problem=p.message))
    for ent in rep.absent:
        lines.append("  " + _("{entity}: no table; rules reading it are skipped").format(entity=ent))
    for e in rep.entities:
        lines += ["", f"{e.entity} ← {e.table}: " + ngettext("{n} row", "{n} rows", e.rows or 0).format(n=e.rows)]
        lines.append("    " + _("read: {pairs}").format(pairs="; ".join(f"{f} = {x}" for f, x in e.read)))
        for t in e.not_read:
            lines.append("    " + _("not read: {what}").format(what=t))
        if e.custom_found:
            lines.append("    " + _("custom fields found: {names}").format(names=len(e.custom_found)))
            lines += ["      " + f"{name} = {column}" for name, column in e.custom_found]
        for name, column in e.custom_no_column:
            lines.append("    " + _("custom field «{field}»: table «{table}» has no column «{column}» yet; rules reading it "
                                  "are skipped").format(field=name, table=e.table, column=column))
        for name, key, others in e.custom_duplicates:
            lines.append("    " + _("custom field «{field}»: several live fields with this name (keys {keys}); the newest, "
                                  "«{key}», is read").format(field=name, key=key, keys=", ".join(f"«{k}»" for k in [key, *others])))
        if e.custom_missing:
            lines.append("    " + _("custom fields the rules name that the connector's field list lacks: {names}")
                         .format(names=", ".join(e.custom_missing)))
    if rep.runnable or rep.skipped:
        lines += ["", _("Rules that can run: {n}").format(n=len(rep.runnable))]
        lines += ["  " + _("skipped: {rule}").format(rule=s) for s in rep.skipped]
    return "\n".join(lines)


__all__ = ["CrmAuditError", "WarehouseReport", "format_warehouse", "inspect_warehouse"]
