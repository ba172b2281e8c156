"""Link entities that an export relates by name instead of by id.

Some CRMs export deals with their organization's and contact's *name* only
(no ids), and activities with their deal's name (Salesforce's «Opportunity»);
the profile's ``link_by_name`` says so. Linking fills the missing id column
with the id of the first record (in file order) of that name, and warns where
a name is ambiguous. Where both sides also name an account (an activity
report's «Company / Account», the deal's account), a name shared by several
deals is told apart by it: the name and the account are matched first.
"""

from __future__ import annotations

from crm_audit.engine.mapping import LoadedEntity
from crm_audit.engine.profile import Profile
from crm_audit.errors import Msg
from crm_audit.i18n import N_
from crm_audit.report import DataWarning


def link_by_name(con, entities: dict[str, LoadedEntity], profile: Profile) -> list[DataWarning]:
    """Fill deals.org_id / person_id, activities.deal_id by matching names (exports without ids)."""
    deals = entities.get("deals")
    if deals is None:
        return []
    warnings: list[DataWarning] = []
    for kind, ent_name in (("org", "organizations"), ("person", "persons")):
        ent = entities.get(ent_name)
        if kind not in profile.link_by_name or f"{kind}_id" in deals.fields or f"{kind}_name" not in deals.fields:
            continue
        if ent is None or "id" not in ent.fields or "name" not in ent.fields:
            continue
        warnings += _link_column(con, deals, f"{kind}_id", f"{kind}_name", ent, "name",
                                 N_("several records named «{name}»; deals are linked to the first of them"))
        for key in profile.link_keys.get(kind, []):  # a deal the name did not link: by another key (a web domain)
            if key in ent.fields:
                _link_by_domain(con, deals, f"{kind}_id", f"{kind}_name", ent, key)
    acts = entities.get("activities")
    if "deal" in profile.link_by_name and acts is not None and "deal_id" not in acts.fields and "deal_name" in acts.fields and "title" in deals.fields:
        # activities name their deal (Salesforce's «Opportunity»): link by the deal's title (and account, where both have it)
        by_account = ("account_name", "org_name") if "account_name" in acts.fields and "org_name" in deals.fields else None
        warnings += _link_column(con, acts, "deal_id", "deal_name", deals, "title",
                                 N_("several deals named «{name}»; its activities are linked to the first of them"), by_account)
    return warnings


#: why the rules reading tasks are not judged when the deals have no ids and the tasks name their deals by id only
KEYLESS_TASKS = N_("the export has no deal ids, so the tasks of {file} cannot be linked to their deals (its «{column}» "
                   "holds deal ids): the rules about tasks are not judged — export the deals with the id column")


def keyless_deals(con, entities: dict[str, LoadedEntity], profile: Profile) -> Msg | None:
    """A deals file without ids (their keys derived from the content: EntitySpec.row_key, L10; the warning saying so
    is the mapping's): the tasks made to link by their deal's name where the profile links so (`link_by_name: [deal]`)
    — their deal id column cannot name a derived key. Else, tasks naming their deals by id: why the rules reading
    them are not judged (None when nothing needs saying)."""
    deals = entities.get("deals")
    if deals is None or not deals.row_key:
        return None
    acts = entities.get("activities")
    if acts is None or "deal_id" not in acts.fields:
        return None
    if "deal" in profile.link_by_name and "deal_name" in acts.fields and "title" in deals.fields:
        drop = ["deal_id", *(["deal_id__raw"] if "deal_id" in acts.typed else [])]
        for c in drop:  # linked again by name (link_by_name)
            con.execute(f'ALTER TABLE {acts.table} DROP COLUMN "{c}"')
        del acts.fields["deal_id"]
        acts.typed.discard("deal_id")
        acts.from_columns.discard("deal_id")
        return None
    return Msg(KEYLESS_TASKS, {"file": acts.file.name, "column": acts.fields["deal_id"]})


def web_domain(x: str) -> str:
    """SQL: the web domain a cell names — «https://www.Flowers.net/about» and «flowers.net» both «flowers.net»."""
    return (f"regexp_replace(regexp_replace(lower(strip({x})), '^[a-z][a-z0-9+.-]*://', ''), "
            "'^www[.]|[/?#:].*$', '', 'g')")


def _link_by_domain(con, src: LoadedEntity, id_col: str, name_col: str, target: LoadedEntity, key: str) -> None:
    """``src.id_col`` (still empty) = the id of the first ``target`` record whose ``key`` is the web domain
    ``src.name_col`` names (:func:`web_domain`); the column's note names the key."""
    hit = con.execute(
        f"UPDATE {src.table} SET {id_col} = m.id FROM (SELECT {web_domain(key)} AS k, arg_min(id, _row) AS id "
        f"FROM {target.table} WHERE id IS NOT NULL AND NOT is_blank({key}) GROUP BY 1) m "
        f"WHERE {src.table}.{id_col} IS NULL AND NOT is_blank({src.table}.{name_col}) "
        f"AND {web_domain(f'{src.table}.{name_col}')} = m.k").fetchall()
    if hit and hit[0][0]:
        src.note(id_col, Msg(N_("else by «{column}» of {file}"), {"column": target.fields.get(key, key), "file": target.file.name}))


def _link_column(con, src: LoadedEntity, id_col: str, name_col: str, target: LoadedEntity,
                 target_name: str, ambiguous: str, also: tuple[str, str] | None = None) -> list[DataWarning]:
    """``src.id_col`` = the id of the ``target`` record whose ``target_name`` matches ``src.name_col`` (the first one in the file).

    ``also`` = (src column, target column): a second name (the account) matched first, so a name several targets
    share links each row to the target of its account; rows it does not settle fall back to the name alone."""
    con.execute(f"ALTER TABLE {src.table} ADD COLUMN {id_col} VARCHAR")
    named = f"FROM {target.table} WHERE id IS NOT NULL AND NOT is_blank({target_name})"
    src_also = ""
    if also is not None:
        s2, t2 = also
        con.execute(
            f"UPDATE {src.table} SET {id_col} = m.id FROM (SELECT norm({target_name}) AS k, norm({t2}) AS k2, arg_min(id, _row) AS id "
            f"{named} AND NOT is_blank({t2}) GROUP BY 1, 2) m "
            f"WHERE norm({src.table}.{name_col}) = m.k AND norm({src.table}.{s2}) = m.k2"
        )
        src_also = f" AND {id_col} IS NULL"
    con.execute(
        f"UPDATE {src.table} SET {id_col} = m.id FROM (SELECT norm({target_name}) AS k, arg_min(id, _row) AS id {named} GROUP BY 1) m "
        f"WHERE norm({src.table}.{name_col}) = m.k{src_also}"
    )
    src.fields[id_col] = src.fields[name_col]
    src.note(id_col, Msg(N_("linked by name to {file}"), {"file": target.file.name}))
    # a name several targets share, used by a row its account (if any) did not settle
    unsettled = f"SELECT norm({name_col}) FROM {src.table}"
    if also is not None:
        s2, t2 = also
        unsettled += (f" s WHERE NOT EXISTS (SELECT 1 FROM {target.table} t WHERE t.id IS NOT NULL AND norm(t.{target_name}) = norm(s.{name_col}) "
                      f"AND NOT is_blank(t.{t2}) AND norm(t.{t2}) = norm(s.{s2}))")
    dup = con.execute(
        f"SELECT min({target_name}) {named} GROUP BY norm({target_name}) "
        f"HAVING count(DISTINCT id) > 1 AND norm(min({target_name})) IN ({unsettled}) ORDER BY 1 LIMIT 5"
    ).fetchall()
    return [DataWarning("ambiguous-link", "", str(target.file), None, target.fields.get(target_name), template=ambiguous, params={"name": name})
            for (name,) in dup]


#: why the rules reading tasks are not judged when no task links to a deal of the export (the skipped rules' note)
UNLINKED_TASKS = N_("no task of {file} links to a deal of the export (its «{column}» holds {examples}, which are "
                    "neither a deal's id nor its title): the rules about tasks are not judged — export the tasks with "
                    "their deals' ids, or map the column in crm-audit.yaml (columns: activities:)")


def unlinked_activities(con, entities: dict[str, LoadedEntity]) -> Msg | None:
    """Why the activities cannot be told apart by deal: their link column is filled, yet no value of it names a deal
    of the export (a view export's deal names read as ids, another account's ids). None when some task links (or none
    names a deal at all: an export of unlinked tasks). A rule judging "no task" on such a file would flag every deal."""
    deals, acts = entities.get("deals"), entities.get("activities")
    if deals is None or acts is None or acts.rows == 0 or "deal_id" not in acts.fields:
        return None
    if not _has_column(con, deals.table, "id"):  # deals read before their id column is known (init's provisional read of
        return None  # a file no header of which is the deals'): no task can link yet; load_export stops on it when final
    # the cells as written: the name column when the link was made by name, else the id column's text
    src = "deal_id" if "deal_id" in acts.from_columns or "deal_name" not in acts.fields else "deal_name"
    raw = f'"{src}__raw"' if src in acts.typed else f'"{src}"'
    # the usual answer first, cheaply: a deal among the first thousand tasks' links (a scan of the deals that stops at
    # the first; the whole count below holds every deal id and probes every task: ~0.2 s at 1M deals; issue 17)
    if con.execute(f"SELECT 1 FROM {deals.table} WHERE id IN (SELECT deal_id FROM {acts.table} WHERE deal_id IS NOT NULL "
                   "LIMIT 1000) LIMIT 1").fetchone():
        return None
    filled, linked = con.execute(
        f"SELECT count(*) FILTER (WHERE NOT is_blank({raw})), count(*) FILTER (WHERE deal_id IN (SELECT id FROM {deals.table})) "
        f"FROM {acts.table}").fetchone()
    if not filled or linked:
        return None
    examples = [v for (v,) in con.execute(f"SELECT DISTINCT {raw} FROM {acts.table} WHERE NOT is_blank({raw}) ORDER BY 1 LIMIT 3").fetchall()]
    return Msg(UNLINKED_TASKS, {"file": acts.file.name, "column": acts.fields[src],
                                "examples": ", ".join(f"«{v}»" for v in examples)})


def _has_column(con, table: str, column: str) -> bool:
    """``table`` has the column ``column``."""
    return column in {d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description}
