"""Organizations / persons read from the deals file's own columns, when the export has no file of them.

Some CRMs' deals export carries, on each deal's row, the deal's linked record and some of its fields: amoCRM's
leads export names the main contact («Полное имя контакта») and the contact's owner («Ответственный за
контакт»), and has no contacts file unless the contacts list is exported too. A profile says so with the entity's
``from_deals:`` (field -> headers of the deals file; :class:`~crm_audit.engine.profile.EntitySpec`): the entity is
then built from the deals' rows that name a record — its name the deals' ``org_name`` / ``person_name``, its other
fields those columns —, one record per distinct name and values (the deals' own ``org_id`` / ``person_id``, where
the file has it, is the record's id), and each deal is linked to the record of its own row. A deal's row says
exactly whose record it names: two contacts of one name with different owners stay two records, never "the first
of that name". Nothing is built when the entity has a file of its own (it wins), when the deals file has no column
of the record's name, or when it lacks a column of one of the listed fields (the profile's `unsupported:` reason
then stands, true).
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_audit.engine.mapping import LoadedEntity
from crm_audit.engine.profile import Profile
from crm_audit.errors import Msg
from crm_audit.i18n import N_
from crm_audit.report import DataWarning
from crm_audit.textnorm import norm

#: the entities the deals link to by a field of theirs: entity -> the rule language's name of it (org_id / org_name)
KINDS = {"organizations": "org", "persons": "person"}

#: how inspect says where the records were read from (its file line shows the deals file)
DERIVED_NOTE = N_("read from the deals' rows (the export has no file of them): one record per {name} and {fields}, "
                  "each deal linked to the record of its own row")
#: the same where the deals file names the record's id too
DERIVED_BY_ID = N_("read from the deals' rows (the export has no file of them): one record per {id}, its {name} and "
                   "{fields} from the first row naming it")
#: the same, where the export has a file of them that no deal links to (:func:`fall_back_unlinked`)
INSTEAD_NOTE = N_("read from the deals' rows, not from {file} (no deal links to its records): one record per {name} and "
                  "{fields}, each deal linked to the record of its own row")
INSTEAD_BY_ID = N_("read from the deals' rows, not from {file} (no deal links to its records): one record per {id}, its "
                   "{name} and {fields} from the first row naming it")
#: a file of organizations / persons no deal links to: why, and what the audit does instead
NO_LINK = N_("no deal links to the {entity} of {file}: {why}; {then}")
WHY_NO_COLUMN = N_("the file has no column of what the deals name them by («{column}») — map it in crm-audit.yaml "
                   "(columns: {{{entity_key}: {{{field}: <header>}}}})")
WHY_NO_MATCH = N_("none of them is named by the deals' «{column}» (the deals name {examples})")
THEN_FROM_DEALS = N_("they are read from the deals' own columns instead ({fields})")
THEN_UNCHECKED = N_("the rules reading them check no deal's {entity}")
#: the deal's link column, as inspect lists it
LINK_NOTE = N_("the record of the deal's own row")


def derive_from_deals(con, entities: dict[str, LoadedEntity], profile: Profile) -> dict[str, Msg]:
    """Build the profile's `from_deals:` entities the export has no file of into ``entities``; entity -> how (inspect)."""
    deals = entities.get("deals")
    out: dict[str, Msg] = {}
    if deals is None:
        return out
    for entity, kind in KINDS.items():
        spec = profile.entities.get(entity)
        if spec is None or not spec.from_deals or entity in entities or f"{kind}_name" not in deals.fields:
            continue
        cols = _deal_columns(deals, spec.from_deals)
        if cols is not None:
            out[entity] = _how(deals, kind, cols, DERIVED_BY_ID, DERIVED_NOTE, {})
            entities[entity] = _build(con, deals, entity, kind, cols)
    return out


def _deal_columns(deals: LoadedEntity, from_deals: dict[str, list[str]]) -> dict[str, tuple[str, str]] | None:
    """field -> (the deals' SQL column, its header) of each `from_deals:` field; None when one has no column."""
    cols: dict[str, tuple[str, str]] = {}
    for name, headers in from_deals.items():
        hit = next((deals.custom[norm(h)] for h in headers if norm(h) in deals.custom), None)
        if hit is None:
            return None
        cols[name] = hit
    return cols


def _how(deals: LoadedEntity, kind: str, cols: dict[str, tuple[str, str]], by_id: str, by_row: str, more: dict) -> Msg:
    """How inspect says the records were read from the deals' rows (by the deals' record ids, else by each row)."""
    params = {**more, "name": f"«{deals.fields[f'{kind}_name']}»", "fields": ", ".join(f"«{h}»" for _c, h in cols.values())}
    if f"{kind}_id" in deals.fields:
        return Msg(by_id, {**params, "id": f"«{deals.fields[f'{kind}_id']}»"})
    return Msg(by_row, params)


def _build(con, deals: LoadedEntity, entity: str, kind: str, cols: dict[str, tuple[str, str]]) -> LoadedEntity:
    name_col, id_col = f'"{kind}_name"', f"{kind}_id"
    values = [f'"{c}"' for c, _h in cols.values()]
    key = "concat_ws(chr(31), " + ", ".join(f"coalesce(norm({v}), '')" for v in [name_col, *values]) + ")"
    has_id = id_col in deals.fields  # the deals name the record's id too: it is the record's id
    ident = f'"{id_col}"' if has_id else "CAST(min(_row) AS VARCHAR)"
    group = f'"{id_col}"' if has_id else "_k"
    named = f'NOT is_blank({name_col})' + (f' AND "{id_col}" IS NOT NULL' if has_id else "")
    picked = ", ".join(f'arg_min(strip({v}), _row) AS "{n}"' for v, n in zip(values, cols))
    # each named row's key, once (a join on it links the deals: the key recomputed in an UPDATE's join costs seconds)
    keys = f"_{entity}_from_deals"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {keys} AS SELECT _row, {key} AS _k FROM {deals.table} WHERE {named}")
    con.execute(
        f"CREATE OR REPLACE TABLE {entity} AS SELECT {ident} AS id, arg_min(strip({name_col}), _row) AS name, {picked}, "
        f"min(_row) AS _row, arg_min(_k, _row) AS _k FROM {deals.table} JOIN {keys} USING (_row) GROUP BY {group}")
    if not has_id:  # each deal: the record its own row names
        con.execute(f'ALTER TABLE {deals.table} ADD COLUMN "{id_col}" VARCHAR')
        con.execute(f'UPDATE {deals.table} SET "{id_col}" = r.id FROM {entity} r, {keys} k '
                    f"WHERE k._row = {deals.table}._row AND k._k = r._k")
        deals.fields[id_col] = deals.fields[f"{kind}_name"]
        deals.note(id_col, Msg(LINK_NOTE))
    con.execute(f"DROP TABLE {keys}")
    rows = con.execute(f"SELECT count(*) FROM {entity}").fetchone()[0]
    fields = {"id": deals.fields[id_col] if has_id else "", "name": deals.fields[f"{kind}_name"], **{n: h for n, (_c, h) in cols.items()}}
    ent = LoadedEntity(entity, deals.file, entity, rows, fields, {}, from_columns={"name", *cols}, on_bad_value=deals.on_bad_value)
    if not has_id:
        ent.note("id", Msg(N_("the row of the deals file that names the record first")))
    return ent


@dataclass
class SetAside:
    """A file's organizations / persons no deal links to, replaced by the records the deals' own rows name."""

    entity: LoadedEntity  # as read from its file (its table renamed, kept for inspect)
    why: Msg  # why no deal links to them, and what was read instead


def fall_back_unlinked(con, entities: dict[str, LoadedEntity], profile: Profile
                       ) -> tuple[dict[str, Msg], dict[str, SetAside], list[DataWarning]]:
    """A file of organizations / persons that no deal of the export links to (its name column unmapped, or no name /
    id of it the deals name): its records are replaced by those the deals' own rows name where the profile reads
    them so (`from_deals:`), else said — a rule reading them would judge no deal, silently. Returns the replaced
    entities' notes (as :func:`derive_from_deals`), the files set aside, and the warnings."""
    deals = entities.get("deals")
    how: dict[str, Msg] = {}
    aside: dict[str, SetAside] = {}
    warnings: list[DataWarning] = []
    if deals is None:
        return how, aside, warnings
    for entity, kind in KINDS.items():
        ent = entities.get(entity)
        why = _no_link(con, deals, ent, entity, kind) if ent is not None and ent.file != deals.file else None
        if why is None:
            continue
        spec = profile.entities.get(entity)
        cols = _deal_columns(deals, spec.from_deals) if spec is not None and spec.from_deals and f"{kind}_name" in deals.fields else None
        params = {"entity": ENTITY_TITLES[entity], "file": ent.file.name, "why": why}
        if cols is None:
            warnings.append(DataWarning("unlinked-records", "", str(ent.file), template=NO_LINK,
                                        params={**params, "then": Msg(THEN_UNCHECKED, {"entity": ENTITY_TITLES[entity]})}))
            continue
        _unlink(con, deals, kind)
        how[entity] = _how(deals, kind, cols, INSTEAD_BY_ID, INSTEAD_NOTE, {"file": ent.file.name})  # before the link
        con.execute(f"ALTER TABLE {ent.table} RENAME TO _unlinked_{entity}")
        ent.table = f"_unlinked_{entity}"
        entities[entity] = _build(con, deals, entity, kind, cols)
        then = Msg(THEN_FROM_DEALS, {"fields": ", ".join(f"«{h}»" for _c, h in cols.values())})
        msg = Msg(NO_LINK, {**params, "then": then})
        aside[entity] = SetAside(ent, msg)
        warnings.append(DataWarning("unlinked-records", "", str(ent.file), template=NO_LINK, params=msg.params))
    return how, aside, warnings


#: the entities as a message names them
ENTITY_TITLES = {"organizations": Msg(N_("organizations")), "persons": Msg(N_("persons (contacts)"))}


def _no_link(con, deals: LoadedEntity, ent: LoadedEntity, entity: str, kind: str) -> Msg | None:
    """Why no deal links to a record of ``ent`` though some deal names one (None: a deal links, or none names one)."""
    id_col, name_col = f"{kind}_id", f"{kind}_name"
    own_id = id_col in deals.from_columns  # the deals' own column of the record's id; else linked by name (or not)
    by = id_col if own_id else name_col
    if by not in deals.fields:
        return None
    shown = f'"{by}__raw"' if by in deals.typed else f'"{by}"'
    named = f"NOT is_blank(CAST({shown} AS VARCHAR))"
    linked = (f'count(*) FILTER (WHERE CAST("{id_col}" AS VARCHAR) IN (SELECT CAST(id AS VARCHAR) FROM {ent.table}))'
              if id_col in deals.fields and "id" in ent.fields else "0")
    n_named, n_linked = con.execute(f"SELECT count(*) FILTER (WHERE {named}), {linked} FROM {deals.table}").fetchone()
    if not n_named or n_linked:
        return None
    field = "id" if own_id else "name"
    if field not in ent.fields or "id" not in ent.fields:
        return Msg(WHY_NO_COLUMN, {"column": deals.fields[by], "entity_key": entity, "field": field})
    examples = [v for (v,) in con.execute(f"SELECT DISTINCT CAST({shown} AS VARCHAR) AS v FROM {deals.table} WHERE {named} "
                                          "ORDER BY 1 LIMIT 3").fetchall()]
    return Msg(WHY_NO_MATCH, {"column": deals.fields[by], "examples": ", ".join(f"«{v}»" for v in examples)})


def _unlink(con, deals: LoadedEntity, kind: str) -> None:
    """Drop the deals' link to a file's records made by name (none linked): the derived records link them anew."""
    id_col = f"{kind}_id"
    if id_col not in deals.fields or id_col in deals.from_columns:
        return
    con.execute(f'ALTER TABLE {deals.table} DROP COLUMN "{id_col}"')
    del deals.fields[id_col]
    deals.notes.pop(id_col, None)
