"""Each entity of a warehouse profile as one read-only ``SELECT``, placed as a CTE in front of the rule queries.

``src_deals`` (and ``src_organizations``, ``src_persons``, ``src_activities``) has the columns an export's
loaded table has: every canonical field the profile maps, cast to its type (ids as text, dates as DATE,
numbers as DOUBLE, yes/no as BOOLEAN), ``_row`` (the profile's ``order``) and one column per custom field
the rules read (``c_<hash>``), found by its display name in the connector's field-metadata table (an enum
field stored as option ids is shown by its labels). The SQL fragments are parsed in the profile's dialect and
rendered for the target's by sqlglot; tables are qualified with the run's schema.

Before anything runs, :func:`probe` reads every table's columns (``SELECT * … WHERE FALSE``) and
:func:`resolve` decides what the warehouse supports: a field whose columns are missing is not read (the rules
needing it are skipped, saying so; a list of alternatives takes the first the warehouse has); a missing deals
table, join table, or a column of a join / ``where`` / the id stops the run naming each
(:class:`Finding`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from crm_audit.engine.dialects import timestamps
from crm_audit.engine.dialects.compiler import Source
from crm_audit.errors import InputError, Problem, SettingsError
from crm_audit.i18n import _
from crm_audit.textnorm import norm
from crm_audit.warehouse.localtime import LocalTimes, describe, timestamp_kinds
from crm_audit.warehouse.profile import EntityQuery, WarehouseProfile

#: canonical field type (the export profile's) -> the SQL type of the entity query's column
SQL_TYPES = {"id": "TEXT", "text": "TEXT", "enum": "TEXT", "number": "DOUBLE", "date": "DATE", "bool": "BOOLEAN"}
STATUSES = ("open", "won", "lost", "deleted")  # a deal's status as the audit reads it
_PLAIN = re.compile(r"[A-Za-z0-9_$]+")


def cte_name(entity: str) -> str:
    return f"src_{entity}"


def custom_alias(name: str) -> str:
    return "c_" + hashlib.sha1(norm(name).encode("utf-8")).hexdigest()[:12]


def _parse(fragment: str, dialect: str, what: str, file: str | None) -> exp.Expression:
    try:
        return sqlglot.parse_one(fragment, read=dialect)
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SettingsError(problems=[Problem(_("{file}: {what}: cannot read the SQL «{sql}»: {why}")
                                              .format(file=file, what=what, sql=fragment, why=why), file=file,
                                              reason="warehouse-profile")]) from None


def _table(text: str, dialect: str, what: str, file: str | None) -> exp.Expression:
    """A join's ``table``: a table name or a parenthesised SELECT."""
    sel = _parse(f"SELECT 1 FROM {text}", dialect, what, file)
    return (sel.args.get("from_") or sel.args.get("from")).this


def parse_fragments(prof: WarehouseProfile) -> None:
    """Every SQL fragment of the profile parses (a :class:`SettingsError` naming the file and key otherwise)."""
    sections = list(prof.entities.items()) + ([("stages", prof.stages)] if prof.stages is not None else [])
    for ent, q in sections:
        key = "stages" if ent == "stages" else f"entities: {ent}"
        for name in q.fields:
            for frag in q.alternatives(name):
                _parse(frag, prof.sql, f"{key}: fields: {name}", prof.file)
        for i, w in enumerate(q.where):
            _parse(w, prof.sql, f"{key}: where[{i}]", prof.file)
        for j in q.joins:
            _table(j.table, prof.sql, f"{key}: joins: {j.alias}: table", prof.file)
            _parse(j.on, prof.sql, f"{key}: joins: {j.alias}: on", prof.file)
        if q.order:
            _parse(q.order, prof.sql, f"{key}: order", prof.file)
        if q.custom_fields is not None:
            for i, w in enumerate(q.custom_fields.filters):
                _parse(w, prof.sql, f"{key}: custom_fields: where[{i}]", prof.file)
            if q.custom_fields.newest:
                _parse(q.custom_fields.newest, prof.sql, f"{key}: custom_fields: newest", prof.file)


def _qualify(e: exp.Expression, schema: str | None) -> exp.Expression:
    """Every table of ``e`` in ``schema`` (BigQuery: the dataset) unless it names its own."""
    if not schema:
        return e
    e = e.copy()
    ctes = {c.alias for c in e.find_all(exp.CTE)}
    for t in e.find_all(exp.Table):
        if not t.args.get("db") and t.name not in ctes:
            t.set("db", exp.to_identifier(schema))
    return e


def _ident(name: str) -> exp.Identifier:
    """A column name from the metadata: unquoted when it is a plain lower-case identifier (each engine folds it)."""
    return exp.to_identifier(name, quoted=not re.fullmatch(r"[a-z_][a-z0-9_]*", name))


def _render(target, e: exp.Expression) -> str:
    from crm_audit.engine import dialects

    return dialects.get(target.dialect).render(e)


# --------------------------------------------------------------------------- what the warehouse has


@dataclass
class Probe:
    """Every table the profile names -> its columns (lower case), None when the warehouse has no such table; and
    their types as the engine's driver describes them (``types``: table -> column -> type name, lower case)."""

    columns: dict[str, set[str] | None] = field(default_factory=dict)
    types: dict[str, dict[str, str]] = field(default_factory=dict)

    def type_of(self, table: str, column: str) -> str | None:
        return self.types.get(table.lower(), {}).get(column.lower())

    def has_table(self, name: str) -> bool:
        return self.columns.get(name.lower()) is not None

    def has_column(self, table: str, column: str) -> bool:
        cols = self.columns.get(table.lower())
        return cols is not None and column.lower() in cols


def _rollback(target) -> None:
    conn = getattr(target, "connection", None)
    if conn is not None and hasattr(conn, "rollback"):
        try:
            conn.rollback()
        except Exception:  # autocommit, or nothing to roll back
            pass


def _tkey(t: exp.Table) -> str:
    """A table as the probe knows it: ``name``, or ``schema.name`` where the profile names its own schema."""
    return ".".join(p for p in (t.args.get("db") and t.args["db"].name, t.name) if p)


def _table_names(prof: WarehouseProfile) -> list[str]:
    names: list[str] = []
    for q in prof.entities.values():
        names.append(q.from_)
        for j in q.joins:
            t = _table(j.table, prof.sql, "", prof.file)
            names += [_tkey(t)] if isinstance(t, exp.Table) else [_tkey(x) for x in t.find_all(exp.Table)]
        if q.custom_fields is not None:
            names.append(q.custom_fields.table)
            if q.custom_fields.options is not None and q.custom_fields.options.table:
                names.append(q.custom_fields.options.table)
    return list(dict.fromkeys(names))


def probe(prof: WarehouseProfile, target, schema: str | None, names: list[str] | None = None) -> Probe:
    """Read the columns and their types of every table the profile names (``names``: these) with
    ``SELECT * FROM t WHERE FALSE`` (no rows, read-only; the types as the driver describes the result)."""
    out = Probe()
    for name in (_table_names(prof) if names is None else names):
        t = _table(name, prof.sql, "", prof.file)
        q = _qualify(exp.select("*").from_(t.copy()).where(exp.false()), schema if not t.args.get("db") else None)
        try:
            types = describe(target, _render(target, q))
        except Exception:  # the driver's "no such table", whatever its class: reported as missing
            _rollback(target)
            out.columns[name.lower()] = None
            continue
        out.columns[name.lower()] = set(types)
        out.types[name.lower()] = types
    return out


def _json_bases(e: exp.Expression) -> list[exp.Column]:
    """The columns JSON accesses (``->`` / ``->>`` chains) of ``e`` start from."""
    kinds = (exp.JSONExtract, exp.JSONExtractScalar)
    return [n.this for n in e.find_all(*kinds) if isinstance(n.this, exp.Column) and not isinstance(n.this, kinds)]


def _source_table(c: exp.Column) -> str | None:
    """The table (as :func:`_tkey` names it) column ``c`` is read from: its alias looked up in the nearest SELECT's
    FROM and joins (a join's own subquery is its own SELECT); None for a subquery's column."""
    sel = c.find_ancestor(exp.Select)
    while sel is not None:
        frm = sel.args.get("from_") or sel.args.get("from")
        sources = ([frm.this] if frm is not None else []) + [j.this for j in sel.args.get("joins") or []]
        for t in sources:
            if (c.table or "").lower() in ((t.alias_or_name or "").lower(), "") and isinstance(t, exp.Table):
                return _tkey(t)
            if c.table and (t.alias_or_name or "").lower() == c.table.lower():
                return None
        sel = sel.find_ancestor(exp.Select)
    return None


def mark_json(e: exp.Expression, pr: Probe | None) -> exp.Expression:
    """``e`` (a SELECT over the profile's tables, not yet qualified) with each column a JSON access starts from marked
    native or text (:data:`crm_audit.engine.dialects.JSON_NATIVE`) by the type the probe read, so that each dialect
    writes the access for that type (BigQuery JSON vs STRING, PostgreSQL jsonb vs text, ClickHouse JSON vs String,
    Spark VARIANT vs STRING); a column the probe did not describe is left unmarked (the connector's usual type)."""
    from crm_audit.engine.dialects import JSON_NATIVE, json_native

    if pr is None:
        return e
    for c in _json_bases(e):
        table = _source_table(c)
        typ = pr.type_of(table, c.name) if table else None
        if typ is not None:
            c.meta[JSON_NATIVE] = json_native(typ)
    return e


@dataclass
class Finding:
    """A table or column the profile names that the warehouse lacks; ``fatal``: the run cannot go on without it."""

    entity: str
    table: str
    column: str | None  # None: the table itself
    key: str  # the profile key that names it
    fatal: bool = True


@dataclass
class Resolved:
    """What of the profile the warehouse supports."""

    fields: dict[str, dict[str, str]]  # entity -> field -> the fragment chosen
    entities: list[str]  # entities whose table is there
    findings: list[Finding] = field(default_factory=list)
    no_custom: set[str] = field(default_factory=set)  # entities whose custom fields cannot be read
    probe: Probe | None = None  # the tables' columns it was decided on

    @property
    def fatal(self) -> list[Finding]:
        return [f for f in self.findings if f.fatal]


def _aliases(prof: WarehouseProfile, q: EntityQuery) -> dict[str, str | None]:
    out: dict[str, str | None] = {q.table_alias.lower(): q.from_}
    for j in q.joins:
        t = _table(j.table, prof.sql, "", prof.file)
        out[j.alias.lower()] = _tkey(t) if isinstance(t, exp.Table) else None
    return out


def _lacking(prof: WarehouseProfile, q: EntityQuery, frag: str, pr: Probe, key: str) -> list[tuple[str, str]]:
    """(table, column) the fragment names that the warehouse lacks."""
    aliases = _aliases(prof, q)
    out = []
    for c in _parse(frag, prof.sql, key, prof.file).find_all(exp.Column):
        table = aliases.get((c.table or q.table_alias).lower(), "?")
        if table in (None, "?") or not pr.has_table(table):
            continue
        if not pr.has_column(table, c.name):
            out.append((table, c.name))
    return out


def resolve(prof: WarehouseProfile, pr: Probe) -> Resolved:
    out = Resolved({}, [], probe=pr)
    for ent, q in prof.entities.items():
        if not pr.has_table(q.from_):
            out.findings.append(Finding(ent, q.from_, None, f"entities: {ent}: from", fatal=ent == "deals"))
            continue
        ok = True
        for j in q.joins:
            t = _table(j.table, prof.sql, "", prof.file)
            for inner in ([t] if isinstance(t, exp.Table) else list(t.find_all(exp.Table))):
                if not pr.has_table(_tkey(inner)):
                    out.findings.append(Finding(ent, _tkey(inner), None, f"entities: {ent}: joins: {j.alias}"))
                    ok = False
        frags = [(f"where[{i}]", w) for i, w in enumerate(q.where)] + [(f"joins: {j.alias}: on", j.on) for j in q.joins]
        frags += [("order", q.order)] if q.order else []
        for key, frag in frags:
            for table, column in _lacking(prof, q, frag, pr, key):
                out.findings.append(Finding(ent, table, column, f"entities: {ent}: {key}"))
                ok = False
        chosen: dict[str, str] = {}
        for name in q.fields:
            alts = q.alternatives(name)
            gaps = [_lacking(prof, q, frag, pr, f"fields: {name}") for frag in alts]
            pick = next((frag for frag, gap in zip(alts, gaps) if not gap), None)
            if pick is not None:
                chosen[name] = pick
            else:
                table, column = gaps[0][0]
                out.findings.append(Finding(ent, table, column, f"entities: {ent}: fields: {name}", fatal=name == "id"))
        if "id" not in chosen:
            ok = False
        cf = q.custom_fields
        if cf is not None:  # without its field list an entity's custom fields are not read (the rules say so)
            opts = cf.options
            tables = [cf.table] + ([opts.table] if opts is not None and opts.table else [])
            gaps = [Finding(ent, t, None, f"entities: {ent}: custom_fields", fatal=False) for t in tables if not pr.has_table(t)]
            cols = [(cf.table, c) for c in (cf.name, cf.key)]
            cols += [(cf.table, opts.json_)] if opts is not None and opts.json_ else []
            cols += [(cf.table, opts.field_id)] + [(opts.table, c) for c in (opts.link, opts.value, opts.label)] if (
                opts is not None and opts.table and opts.field_id and opts.link) else []
            gaps += [Finding(ent, t, c, f"entities: {ent}: custom_fields", fatal=False) for t, c in cols
                     if pr.has_table(t) and not pr.has_column(t, c)]
            if gaps:
                out.findings += gaps
                out.no_custom.add(ent)
        if ok:
            out.fields[ent] = chosen
            out.entities.append(ent)
    return out


def findings_error(prof: WarehouseProfile, findings: list[Finding], where: str) -> InputError:
    return InputError(problems=[Problem(finding_text(m, where), file=prof.file, reason="warehouse-missing") for m in findings],
                      hint=_("Check the schema (engine: schema: in the settings, or ?schema= in the URL) and that the connector "
                             "syncs these tables; for a schema of your own, copy the profile, edit it and name the copy in "
                             "engine: profile:."))


def finding_text(m: Finding, where: str) -> str:
    if m.column is None:
        return _("the warehouse ({where}) has no table «{table}» (the profile's {key})").format(where=where, table=m.table, key=m.key)
    return _("the warehouse ({where}) has no column «{column}» in table «{table}» (the profile's {key})").format(
        where=where, column=m.column, table=m.table, key=m.key)


# --------------------------------------------------------------------------- custom fields


@dataclass
class CustomField:
    key: str
    options: dict[str, str] = field(default_factory=dict)  # option id (as text) -> label
    name: str = ""  # the display name, as the metadata spells it
    others: list[str] = field(default_factory=list)  # keys of older live fields with the same name (not read)


def _option_id(v) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def custom_catalog(prof: WarehouseProfile, ent: str, target, schema: str | None) -> dict[str, CustomField]:
    """norm(display name) -> key (and option labels), read from the connector's field metadata (read-only queries)."""
    cf = prof.entities[ent].custom_fields
    if cf is None:
        return {}
    opts = cf.options
    cols = [cf.name, cf.key] + ([opts.json_] if opts is not None and opts.json_ else []) + (
        [opts.field_id] if opts is not None and opts.table and opts.field_id else [])
    q = exp.select(*[exp.column(c).as_(f"m{i}") for i, c in enumerate(cols)]).from_(exp.to_table(cf.table))
    # the metadata table's own columns: a filter (or `newest`) naming a column this connector version does not copy
    # has nothing to go by and is not applied; two live rows of one name are then still found and warned about
    meta = {n.lower() for n in target.run(_render(target, _qualify(exp.select("*").from_(exp.to_table(cf.table))
                                                                   .where(exp.false()), schema))).column_names}

    def usable(frag: str, key: str) -> exp.Expression | None:
        e = _parse(frag, prof.sql, f"entities: {ent}: custom_fields: {key}", prof.file)
        return e if all(c.name.lower() in meta for c in e.find_all(exp.Column)) else None

    for i, w in enumerate(cf.filters):  # deleted / inactive fields never supply a column
        e = usable(w, f"where[{i}]")
        q = q.where(e, append=True) if e is not None else q
    # two live fields with one name: the newest first (the profile's `newest`, larger is newer), then by key
    newest = usable(cf.newest, "newest") if cf.newest else None
    order = [exp.Ordered(this=newest, desc=True, nulls_first=False)] if newest is not None else []
    q = q.order_by(*order, exp.Ordered(this=exp.column(cf.key), nulls_first=False))
    rows = target.run(_render(target, _qualify(q, schema))).to_pylist()
    by_link: dict[str, dict[str, str]] = {}
    if opts is not None and opts.table and opts.link:
        oq = exp.select(exp.column(opts.link).as_("l"), exp.column(opts.value).as_("v"), exp.column(opts.label).as_("t")
                        ).from_(exp.to_table(opts.table))
        for r in target.run(_render(target, _qualify(oq, schema))).to_pylist():
            if r["l"] is not None and r["v"] is not None:
                by_link.setdefault(str(r["l"]), {})[_option_id(r["v"])] = r["t"]
    out: dict[str, CustomField] = {}
    for r in rows:
        name, key = r["m0"], r["m1"]
        if name is None or key is None:
            continue
        options: dict[str, str] = {}
        if opts is not None and opts.json_ and r.get("m2"):
            raw = r["m2"]
            try:
                items = json.loads(raw) if isinstance(raw, str) else raw
            except ValueError:
                items = []
            for o in items or []:
                if isinstance(o, dict) and o.get("id") is not None and o.get("label") is not None:
                    options[_option_id(o["id"])] = str(o["label"])
        elif opts is not None and opts.table:
            options = by_link.get(str(r.get("m2")), {})
        first = out.setdefault(norm(str(name)), CustomField(str(key), options, str(name)))
        if first.key != str(key) and str(key) not in first.others:
            first.others.append(str(key))
    return out


def custom_column(q: EntityQuery, f: CustomField) -> str:
    """The data column (or expression) of a custom field, as the profile's ``column`` names it."""
    return q.custom_fields.column.format(key=f.key)


def _custom_source(prof: WarehouseProfile, q: EntityQuery, f: CustomField) -> exp.Expression:
    text = custom_column(q, f)
    return (exp.column(_ident(text), table=q.table_alias) if _PLAIN.fullmatch(text) else
            _parse(text, prof.sql, "custom_fields: column", prof.file))


def custom_lacks(prof: WarehouseProfile, q: EntityQuery, f: CustomField, pr: Probe | None) -> list[tuple[str, str]]:
    """(table, column) of the custom field's data column the warehouse lacks (a field the connector lists before it
    adds its column, at the next sync)."""
    if pr is None:
        return []
    text = custom_column(q, f)
    if _PLAIN.fullmatch(text):
        return [] if pr.has_column(q.from_, text) or not pr.has_table(q.from_) else [(q.from_, text)]
    return _lacking(prof, q, text, pr, "custom_fields: column")


def _custom_expr(prof: WarehouseProfile, q: EntityQuery, f: CustomField, dialect=None) -> exp.Expression:
    """The custom field as text, as an export shows it: an integral number without «.0» (a DOUBLE «Бюджет» 5000
    reads «5000» on every engine), an empty text as no value; an enum's option id as its label."""
    from crm_audit.engine import dialects

    e = exp.Cast(this=_custom_source(prof, q, f), to=exp.DataType.build("TEXT"))
    e = exp.Nullif(this=(dialect or dialects.get(None)).plain_number(e), expression=exp.Literal.string(""))
    if not f.options:
        return e
    return exp.Case(ifs=[exp.If(this=exp.EQ(this=e.copy(), expression=exp.Literal.string(k)), true=exp.Literal.string(v))
                         for k, v in f.options.items()], default=e.copy())


# --------------------------------------------------------------------------- the entity queries


@dataclass
class Entity:
    """One entity as the audit reads it from the warehouse."""

    name: str
    query: exp.Select
    source: Source
    custom: dict[str, str] = field(default_factory=dict)  # norm(display name) -> column alias in the CTE
    columns: dict[str, str] = field(default_factory=dict)  # display name (the metadata's) -> the data column read


@dataclass
class Layout:
    """The profile's entities for one run: CTEs and :class:`Source` s for the compiler."""

    profile: WarehouseProfile
    entities: dict[str, Entity]
    resolved: Resolved | None = None
    not_found: list[str] = field(default_factory=list)  # custom fields the metadata does not name ("deals: Город")
    no_column: list[tuple[str, str, str, str]] = field(default_factory=list)  # (entity, name, table, column) it lacks
    duplicates: list[tuple[str, str, str, list[str]]] = field(default_factory=list)  # (entity, name, key read, others)

    def sources(self) -> dict[str, Source]:
        return {n: e.source for n, e in self.entities.items()}

    def ctes(self) -> list[tuple[str, exp.Select]]:
        return [(cte_name(n), e.query) for n, e in self.entities.items()]


def field_types(prof: WarehouseProfile) -> dict[str, dict[str, str]]:
    """entity -> canonical field -> its type, from the export profile of the same CRM."""
    from crm_audit.engine.profile import load_profile

    crm = load_profile(prof.crm)
    return {ent: {f: spec.type for f, spec in crm.entities[ent].fields.items()} if ent in crm.entities else {}
            for ent in prof.entities}


def entity_query(prof: WarehouseProfile, ent: str, fields: dict[str, str], schema: str | None, types: dict[str, str],
                 custom: dict[str, CustomField], dialect: str | None = None, times: LocalTimes | None = None,
                 raw_dates: bool = False, columns: Probe | None = None) -> exp.Select:
    """The entity's SELECT (alias -> custom field in ``custom``) for the target's ``dialect``; a date field held as a
    timestamp (``times``) is its date in the account's time zone; ``raw_dates``: date fields as the warehouse has
    them (to ask their types, :mod:`crm_audit.warehouse.localtime`); ``columns``: the tables' column types (a JSON
    access is written for the column's type, :func:`mark_json`)."""
    from crm_audit.engine import dialects

    target = dialects.get(dialect)
    q = prof.entities[ent]
    d = prof.sql
    sel: list[exp.Expression] = [exp.alias_(_parse(q.order or fields["id"], d, f"entities: {ent}: order", prof.file), "_row", quoted=True)]
    for name, frag in fields.items():
        e = _parse(frag, d, f"entities: {ent}: fields: {name}", prof.file)
        typ = "TEXT" if name == "status" else SQL_TYPES.get(types.get(name, "text"), "TEXT")
        if typ == "DATE" and raw_dates:
            sel.append(exp.alias_(e, name, quoted=True))
            continue
        kind = times.kinds.get(name) if times is not None and typ == "DATE" else None
        e = (timestamps.local_date(times.dialect, e, times.zone, kind == "aware") if kind else
             exp.Cast(this=e, to=exp.DataType.build(typ)))
        if types.get(name) == "id":  # compared as text: an id stored as DOUBLE / NUMERIC (102.0) is «102» everywhere
            e = target.plain_number(e)
        if ent == "deals" and name == "status":  # another value is no status: in no rule's scope, and warned about
            e = exp.Case(ifs=[exp.If(this=exp.In(this=e.copy(), expressions=[exp.Literal.string(x) for x in STATUSES]), true=e.copy())],
                         default=exp.Null())
        sel.append(exp.alias_(e, name, quoted=True))
    for a, f in custom.items():
        sel.append(exp.alias_(_custom_expr(prof, q, f, target), a, quoted=True))
    return _qualify(mark_json(select_from(prof, q, sel, f"entities: {ent}"), columns), schema)


def select_from(prof: WarehouseProfile, q, sel: list[exp.Expression], where: str) -> exp.Select:
    """``SELECT sel`` from a profile query's table with its left joins and filters (``where``: the profile key, for errors)."""
    d = prof.sql
    out = exp.select(*sel).from_(exp.Table(this=exp.to_identifier(q.from_), alias=exp.TableAlias(this=exp.to_identifier(q.table_alias))))
    for j in q.joins:
        table = _table(j.table, d, f"{where}: joins: {j.alias}: table", prof.file).copy()
        table.set("alias", exp.TableAlias(this=exp.to_identifier(j.alias)))
        out = out.join(table, on=_parse(j.on, d, f"{where}: joins: {j.alias}: on", prof.file), join_type="left")
    for i, w in enumerate(q.where):
        out = out.where(_parse(w, d, f"{where}: where[{i}]", prof.file), append=True)
    return out


def build_layout(prof: WarehouseProfile, schema: str | None, target, custom_needed: dict[str, set[str]] | None = None,
                 resolved: Resolved | None = None, zone: str = "UTC") -> Layout:
    """The run's entities (what :func:`resolve` found the warehouse has); custom fields in ``custom_needed``
    (entity -> display names) found through the metadata; a timestamp read as its date in ``zone`` (the account's)."""
    if resolved is None:
        resolved = resolve(prof, probe(prof, target, schema))
    types = field_types(prof)
    entities: dict[str, Entity] = {}
    not_found: list[str] = []
    no_column: list[tuple[str, str, str, str]] = []
    duplicates: list[tuple[str, str, str, list[str]]] = []
    for ent in resolved.entities:
        q = prof.entities[ent]
        wanted = sorted((custom_needed or {}).get(ent, set()))
        catalog = (custom_catalog(prof, ent, target, schema) if wanted and q.custom_fields is not None
                   and ent not in resolved.no_custom else {})
        chosen: dict[str, CustomField] = {}
        custom: dict[str, str] = {}
        columns: dict[str, str] = {}
        for name in wanted:
            f = catalog.get(norm(name))
            if f is None:
                not_found.append(f"{ent}: {name}")
                continue
            if f.others:
                duplicates.append((ent, f.name, f.key, list(f.others)))
            lacks = custom_lacks(prof, q, f, resolved.probe)
            if lacks:  # listed in the metadata, no column yet: not read, its rules skipped (warned)
                no_column += [(ent, f.name, t, c) for t, c in lacks[:1]]
                continue
            a = custom_alias(name)
            chosen[a] = f
            custom[norm(name)] = a
            columns[f.name] = custom_column(q, f)
        fields = resolved.fields[ent]
        dates = {n: f for n, f in fields.items() if n != "status" and SQL_TYPES.get(types.get(ent, {}).get(n, "text")) == "DATE"}
        raw = entity_query(prof, ent, dates, schema, types.get(ent, {}), {}, target.dialect, raw_dates=True,
                           columns=resolved.probe) if dates else None
        times = timestamp_kinds(target, _render(target, raw.where(exp.false(), append=True)) if raw else "", list(dates), zone)
        query = entity_query(prof, ent, fields, schema, types.get(ent, {}), chosen, target.dialect, times=times,
                             columns=resolved.probe)
        names = set(fields)
        src = Source(cte_name(ent), names, order="_row", unique_ids=False,
                     custom_lookup=lambda n, custom=custom, names=names: n if n in names else custom.get(norm(n)))
        entities[ent] = Entity(ent, query, src, custom, columns)
    return Layout(prof, entities, resolved, not_found, no_column, duplicates)
