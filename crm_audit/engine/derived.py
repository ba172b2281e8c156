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

from crm_audit.engine.mapping import LoadedEntity
from crm_audit.engine.profile import Profile
from crm_audit.errors import Msg
from crm_audit.i18n import N_
from crm_audit.textnorm import norm

#: the entities the deals link to by a field of theirs: entity -> the rule language's name of it (org_id / org_name)
KINDS = {"organizations": "org", "persons": "person"}

#: how inspect says where the records were read from (its file line shows the deals file)
DERIVED_NOTE = N_("read from the deals' rows (the export has no file of them): one record per {name} and {fields}, "
                  "each deal linked to the record of its own row")
#: the same where the deals file names the record's id too
DERIVED_BY_ID = N_("read from the deals' rows (the export has no file of them): one record per {id}, its {name} and "
                   "{fields} from the first row naming it")
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
        cols: dict[str, tuple[str, str]] = {}  # field -> (the deals' SQL column, its header)
        for name, headers in spec.from_deals.items():
            hit = next((deals.custom[norm(h)] for h in headers if norm(h) in deals.custom), None)
            if hit is None:
                break
            cols[name] = hit
        else:
            by_id = f"{kind}_id" in deals.fields
            entities[entity] = _build(con, deals, entity, kind, cols)
            params = {"name": f"«{deals.fields[f'{kind}_name']}»", "fields": ", ".join(f"«{h}»" for _c, h in cols.values())}
            out[entity] = (Msg(DERIVED_BY_ID, {**params, "id": f"«{deals.fields[f'{kind}_id']}»"}) if by_id else
                           Msg(DERIVED_NOTE, params))
    return out


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
