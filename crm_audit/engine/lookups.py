"""Names for the ids of an API-shaped dump (the profile's ``lookups:``).

A team that scripts its export (Bitrix24's ``crm.deal.list``, HubSpot's API)
gets stage and pipeline *ids* in the deals file («C2:PREPARATION», «2») and
the names in a second file (``crm.status.list`` dumped as stages.csv). Such a
file is no entity: :func:`match` recognises it (by name, or by its key and
value headers), :func:`apply` replaces the ids of the deals' field with the
names (and numbers the stages by the file's sort column, for ``crm-audit
init``). Ids the file does not name stay as they are, with a warning; ids
with no file at all are named by the profile's ``known`` names where it has
them, and a warning says which file would name the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crm_audit.engine.mapping import LoadedEntity, _stem_tokens, detect_entity
from crm_audit.engine.profile import Lookup, Profile, hkey
from crm_audit.engine.readers import RawTable, drop_raw
from crm_audit.i18n import N_
from crm_audit.report import DataWarning
from crm_audit.sqltext import sql_literal
from crm_audit.textnorm import norm

#: the unnamed-id warning per field: (some lookup file or the settings exist, no file names them)
UNNAMED_ID = {
    "stage": (
        N_("{n} stage id(s) of {deals} deal(s) are not in {source} (such as «{example}»): shown as exported; "
           "name them in crm-audit.yaml (stage_ids: {{ID: name}}) or put the list of stages ({files}.csv with {key} and {value}) "
           "next to the deals"),
        N_("{n} stage id(s) of {deals} deal(s) are named by no file of the export (such as «{example}»): shown as exported; "
           "name them in crm-audit.yaml (stage_ids: {{ID: name}}) or put the list of stages ({files}.csv with {key} and {value}) "
           "next to the deals"),
    ),
    "pipeline": (
        N_("{n} pipeline id(s) of {deals} deal(s) are not in {source} (such as «{example}»): shown as exported; "
           "name them in crm-audit.yaml (pipeline_ids: {{ID: name}}) or put the list of pipelines ({files}.csv with {key} and {value}) "
           "next to the deals"),
        N_("{n} pipeline id(s) of {deals} deal(s) are named by no file of the export (such as «{example}»): shown as exported; "
           "name them in crm-audit.yaml (pipeline_ids: {{ID: name}}) or put the list of pipelines ({files}.csv with {key} and {value}) "
           "next to the deals"),
    ),
    "owner": (
        N_("{n} owner id(s) of {deals} deal(s) are not in {source} (such as «{example}»): shown as exported; "
           "name them in crm-audit.yaml (owner_ids: {{ID: name}}) or put the list of owners ({files}.csv with {key} and {value}) "
           "next to the deals"),
        N_("{n} owner id(s) of {deals} deal(s) are named by no file of the export (such as «{example}»): shown as exported; "
           "name them in crm-audit.yaml (owner_ids: {{ID: name}}) or put the list of owners ({files}.csv with {key} and {value}) "
           "next to the deals"),
    ),
}


@dataclass
class LookupUse:
    """One lookup a file names: which of its columns hold the ids, the names and the sort order."""

    lookup: Lookup
    key: int  # column indexes in the raw table
    value: int
    order: int | None


@dataclass
class FoundLookup:
    """A lookup file of the export, read into a raw table; one file may name two fields
    (amoCRM's dumped statuses: status_id / status_name and pipeline_id / pipeline_name)."""

    raw: RawTable
    uses: list[LookupUse]


def _column(headers: list[str], names: list[str]) -> int | None:
    keys = [hkey(h) for h in headers]
    return next((keys.index(hkey(n)) for n in names if hkey(n) in keys), None)


def match(profile: Profile, path: Path, raw: RawTable) -> FoundLookup | None:
    """The lookups this file is (by its name, or by its key and value headers), None when it is none.

    A file the profile takes for an entity (leads.csv, or a file with the deals' own columns) is that
    entity even when it has a lookup's headers (an amoCRM leads dump has `status_id` and `name`)."""
    stem, tokens = norm(path.stem), _stem_tokens(path)
    entity = None  # whether the file is an entity of the profile (asked once, when it matters)
    uses: list[LookupUse] = []
    for lk in profile.lookups:
        key, value = _column(raw.headers, lk.key), _column(raw.headers, lk.value)
        if key is None or value is None or key == value:
            continue
        names = {norm(f) for f in lk.files}
        by_name = stem in names or bool(tokens & names)
        if not by_name:
            # by headers alone when its key column is a specific one (STATUS_ID), not a bare «ID»
            if hkey(raw.headers[key]) == "id":
                continue
            if entity is None:
                entity = detect_entity(profile, path, raw.headers) is not None
            if entity:
                continue
        if any(u.lookup.field == lk.field for u in uses):
            continue
        uses.append(LookupUse(lk, key, value, _column(raw.headers, lk.order)))
    return FoundLookup(raw, uses) if uses else None


def _applies(lk: Lookup, deals: LoadedEntity) -> bool:
    """The deals file's column of the lookup's field is one of its id columns."""
    used = deals.fields.get(lk.field, "")
    return bool(lk.columns) and hkey(used) in {hkey(c) for c in lk.columns}


def apply(con, entities: dict[str, LoadedEntity], profile: Profile, found: list[FoundLookup]) -> list[DataWarning]:
    """Replace the deals' ids with names from the lookup files (and the profile's `known` names)."""
    deals = entities.get("deals")
    warnings: list[DataWarning] = []
    for lk in profile.lookups:
        files = [(f.raw, u) for f in found for u in f.uses if u.lookup is lk]
        if deals is None or not _applies(lk, deals):
            continue
        col = lk.field
        # the name of an id: the settings' (`stage_ids:`) first, then a dumped list's, then the profile's `known`
        rows = [f"({sql_literal(norm(k))}, {sql_literal(v)}, NULL::DOUBLE, {0 if k in lk.settings else 2})" for k, v in lk.known.items()]
        selects = [f"SELECT * FROM (VALUES {', '.join(rows)}) v(k, name, ord, prio)"] if rows else []
        for raw, u in files:
            order = f"TRY_CAST(parse_num(c{u.order}) AS DOUBLE)" if u.order is not None else "NULL::DOUBLE"
            selects.append(f"SELECT norm(c{u.key}) AS k, strip(c{u.value}) AS name, {order} AS ord, 1 AS prio FROM {raw.name} "
                           f"WHERE NOT is_blank(c{u.key}) AND NOT is_blank(c{u.value})")
        if not selects:  # no file and no known names: every id is unnamed (and said so below)
            selects = ["SELECT NULL::VARCHAR AS k, NULL::VARCHAR AS name, NULL::DOUBLE AS ord, 0 AS prio WHERE FALSE"]
        con.execute(f"CREATE OR REPLACE TEMP TABLE _lookup AS SELECT k, arg_min(name, [prio, coalesce(ord, 0)]) AS name, min(ord) AS ord "
                    f"FROM ({' UNION ALL '.join(selects)}) GROUP BY k")
        if col == "stage" and any(u.order is not None for _r, u in files) and "stage_order" not in deals.fields:
            con.execute(f"ALTER TABLE {deals.table} ADD COLUMN stage_order DOUBLE")
            con.execute(f"UPDATE {deals.table} SET stage_order = m.ord FROM _lookup m WHERE norm({deals.table}.{col}) = m.k")
            deals.fields["stage_order"] = f"{', '.join(r.path.name for r, _u in files)} (sort order)"
        unnamed = con.execute(
            f"SELECT count(*), min(_row), arg_min({col}, _row), count(DISTINCT norm({col})) FROM {deals.table} "
            f"WHERE NOT is_blank({col}) AND norm({col}) NOT IN (SELECT k FROM _lookup)").fetchone()
        source = ", ".join([*dict.fromkeys(r.path.name for r, _u in files), *(["the settings"] if lk.settings else [])])
        found_ids = con.execute(f"SELECT DISTINCT strip(d.{col}), m.name FROM {deals.table} d LEFT JOIN _lookup m ON norm(d.{col}) = m.k "
                                f"WHERE NOT is_blank(d.{col}) ORDER BY 1").fetchall()
        deals.ids[col] = dict(found_ids)
        deals.ids_source[col] = source or "the profile"
        con.execute(f"UPDATE {deals.table} SET {col} = m.name FROM _lookup m WHERE norm({deals.table}.{col}) = m.k")
        deals.fields[col] = f"{deals.fields[col]} (names from {source or 'the profile'})"
        if unnamed[0]:
            named_somewhere, named_nowhere = UNNAMED_ID[col]
            warnings.append(DataWarning("unnamed-id", "", str(deals.file), unnamed[1], deals.fields[col],
                                        template=named_somewhere if files or lk.settings else named_nowhere,
                                        params={"n": unnamed[3], "deals": unnamed[0], "source": source, "example": unnamed[2],
                                                "files": ", ".join(lk.files[:2]),
                                                "key": lk.key[0], "value": lk.value[0]}))
        con.execute("DROP TABLE _lookup")
    if deals is not None:
        deals.catalog = _catalog(con, found)
    for f in found:
        drop_raw(con, f.raw.name)
    return warnings


def _catalog(con, found: list[FoundLookup]) -> list[tuple[str, str, float | None]]:
    """Every (pipeline, stage, sort order) of a dumped list that names both (amoCRM's pipelines and statuses,
    Pipedrive's stages with pipeline_name): the CRM's own stages, also those no deal is in."""
    out: list[tuple[str, str, float | None]] = []
    for f in found:
        stage = next((u for u in f.uses if u.lookup.field == "stage"), None)
        pipe = next((u for u in f.uses if u.lookup.field == "pipeline"), None)
        if stage is None or pipe is None or stage.value == pipe.value:
            continue
        order = f"TRY_CAST(parse_num(c{stage.order}) AS DOUBLE)" if stage.order is not None else "NULL::DOUBLE"
        out += con.execute(f"SELECT strip(c{pipe.value}), strip(c{stage.value}), min({order}) FROM {f.raw.name} "
                           f"WHERE NOT is_blank(c{pipe.value}) AND NOT is_blank(c{stage.value}) GROUP BY ALL ORDER BY 1, 3, 2").fetchall()
    return out
