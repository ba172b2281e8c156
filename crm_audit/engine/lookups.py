"""Names for the ids of an API-shaped dump (the profile's ``lookups:``).

A team that scripts its export (Bitrix24's ``crm.deal.list``, HubSpot's API)
gets stage and pipeline *ids* in the deals file («C2:PREPARATION», «2») and
the names in a second file (``crm.status.list`` dumped as stages.csv). Such a
file is no entity: :func:`match` recognises it (by name, or by its key and
value headers), :func:`apply` replaces the ids of the deals' field with the
names (and numbers the stages by the file's sort column, for ``crm-audit
init``). Ids the file does not name stay as they are, with a warning; ids
with no file at all are named by the profile's ``known`` names where it has
them, and a warning says which file would name the rest. A list saved as the
API answered it (users.json: Pipedrive's ``data``, amoCRM's
``_embedded.users``, Bitrix24's ``result``, HubSpot's ``results``) is read as
a table of its records' scalar fields (:func:`read_json`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from crm_audit.engine.mapping import ListedColumn, LoadedEntity, detect_entity, name_in_stem
from crm_audit.engine.profile import HeaderList, Lookup, LookupStatus, Profile, RowsWhere, hkey
from crm_audit.engine.readers import RawTable, drop_raw
from crm_audit.errors import Msg
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
    # owners are named in deals, organizations and persons alike (one users list): one warning for all of them
    "owner": (
        N_("{n} owner id(s) in {records} are not in {source} (such as «{example}»): shown as exported; "
           "name them in crm-audit.yaml (owner_ids: {{ID: name}}) or put the list of users ({files}.csv with {key} and {value}) "
           "next to the deals"),
        N_("{n} owner id(s) in {records} are named by no file of the export (such as «{example}»): shown as exported; "
           "name them in crm-audit.yaml (owner_ids: {{ID: name}}) or put the list of users ({files}.csv with {key} and {value}) "
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
    entity = None  # whether the file is an entity of the profile (asked once, when it matters)
    uses: list[LookupUse] = []
    for lk in profile.lookups:
        key, value = _column(raw.headers, lk.key), _column(raw.headers, lk.value)
        if key is None or value is None:
            continue
        # a JSON dump read one row per record of this lookup's nested list (amoCRM's pipelines.json: each pipeline's
        # `_embedded.statuses`) is this lookup's list, whatever the file's name
        by_name = name_in_stem(path, lk.files) or bool(lk.json_items and raw.info.nested == lk.json_items)
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
        if any(u.value == value for u in uses):  # Pipedrive's stages.csv «name» is the stage's, not its pipeline's
            continue
        uses.append(LookupUse(lk, key, value, _column(raw.headers, lk.order)))
    return FoundLookup(raw, uses) if uses else None


def _keep_rows_like(con, found: list[FoundLookup]) -> None:
    """Leave out the lists' rows that are another list's (a lookup's `rows_like`: Bitrix24's crm.status.list holds the
    lead statuses and sources beside the deal stages); a blank cell, or a file without the column, is kept."""
    for f in found:
        for u in f.uses:
            like = u.lookup.rows_like
            col = _column(f.raw.headers, like.headers) if like is not None else None
            if col is not None:
                pattern = sql_literal(f"(?i)(?:{like.pattern})")
                con.execute(f"DELETE FROM {f.raw.name} WHERE NOT is_blank(c{col}) AND NOT regexp_full_match(strip(c{col}), {pattern})")


# --------------------------------------------------------------------------- column names by API key


def _header_list(profile: Profile, path: Path) -> HeaderList | None:
    """The header list ``path`` is by its name, whole or as words of it in a row (dealFields.json; Bitrix24's
    crm.deal.fields.json, deal_fields.json), None when it is none."""
    return next((hl for hl in profile.header_lists if norm(path.stem) in {norm(f) for f in hl.files}), None) or \
        next((hl for hl in profile.header_lists if name_in_stem(path, hl.files)), None)


def is_header_list(profile: Profile, path: Path) -> bool:
    """Whether ``path`` is, by its name, a list naming the export's columns (Pipedrive's dealFields.csv, Bitrix24's
    crm.deal.fields.json): never an entity, never a lookup."""
    return _header_list(profile, path) is not None


@dataclass
class HeaderNames:
    """What the export's header lists (Pipedrive's dealFields.json) say of the columns headed by API keys."""

    names: dict[str, str]  # hkey(API key) -> the column's name
    options: dict[str, dict[str, str]]  # hkey(API key) -> option id -> its label (an enum / set field's options)
    # hkey(API key) of the fields holding several values (Bitrix24's isMultiple): a `false` cell is blank
    multiple: set[str] = field(default_factory=set)
    sources: dict[str, str] = field(default_factory=dict)  # hkey(API key) -> the file name of the list of its options


def _keys_read(profile: Profile) -> set[str]:
    """hkey of every header the profile reads a field from (its fields' headers, `api_headers:`, the lookups' id
    columns): a header list names none of them (GET /dealFields lists the standard `stage_id` «Stage» too, and the
    stage ids stay the column the stages list names: acceptance W2)."""
    keys = {hkey(h) for h in profile.api_headers} | {hkey(c) for lk in profile.lookups for c in lk.columns}
    return keys | {hkey(h) for es in profile.entities.values() for fs in es.fields.values()
                   for h in (*fs.headers, *(fs.fallback.headers if fs.fallback else []))}


def _api_field_names(profile: Profile) -> set[str]:
    """hkey of the headers of every field the profile reads from an API dump by its code (a field with an
    `api_headers:` header: stage «Стадия сделки» … STAGE_ID): a custom field the team named so is never read as that
    field (it would be read in place of the dump's own STAGE_ID); it keeps its key."""
    api = {hkey(h) for h in profile.api_headers}
    return {hkey(h) for es in profile.entities.values() for fs in es.fields.values()
            if api & {hkey(x) for x in fs.headers} for h in fs.headers}


def _first(record: dict, names: list[str]):
    keys = {hkey(k): k for k in record}
    return next((record[keys[hkey(n)]] for n in names if hkey(n) in keys), None)


def _label(v, language: str) -> str:
    """A label as text: a label per language ({"ru": …, "en": …}, Bitrix24's lang_map) is the profile's language's,
    else English, else the first non-blank one; blank for anything else."""
    from crm_audit.engine import jsonread

    if isinstance(v, dict):
        by_lang = {norm(k): x for k, x in v.items() if isinstance(x, str) and x.strip()}
        v = by_lang.get(norm(language)) or by_lang.get("en") or next(iter(by_lang.values()), None)
    return "" if v is None or isinstance(v, (dict, list)) else jsonread.text(v).strip()


def _name(record: dict, names: list[str], language: str) -> str:
    """The first of ``names`` the record has non-blank (listLabel, else formLabel, else title)."""
    keys = {hkey(k): k for k in record}
    return next((t for n in names if hkey(n) in keys for t in [_label(record[keys[hkey(n)]], language)] if t), "")


def _json_fields(path: Path, hl: HeaderList) -> list[dict]:
    """The field records of a JSON header list: a list of records (GET /dealFields' ``data``), or an object keyed by
    the field's key (Bitrix24's crm.deal.fields ``result``: read with the key under ``hl.key[0]``)."""
    from crm_audit.engine import jsonread

    doc = jsonread.load(path)
    return jsonread.keyed_records(doc, hl.key[0]) or jsonread.records(doc) or []


def _options(recs: list[dict], hl: HeaderList) -> dict[str, dict[str, str]]:
    """hkey(key) -> option id -> label, of the fields of a JSON header list that list their options (``hl.options``)."""
    from crm_audit.engine import jsonread

    if hl.options is None:
        return {}
    out: dict[str, dict[str, str]] = {}
    for r in recs:
        key, opts = _first(r, hl.key), _first(r, hl.options.items)
        if key is None or not isinstance(opts, list):
            continue
        pairs = ((_first(o, hl.options.key), _first(o, hl.options.value)) for o in opts if isinstance(o, dict))
        labels = {jsonread.text(i).strip(): jsonread.text(v).strip() for i, v in pairs if i is not None and v is not None}
        if labels:
            out[hkey(jsonread.text(key))] = labels
    return out


def _multiple(recs: list[dict], hl: HeaderList) -> set[str]:
    """hkey(key) of the fields a JSON header list flags as holding several values (``hl.multiple``: isMultiple)."""
    from crm_audit.engine import jsonread

    flags = ((_first(r, hl.key), _first(r, hl.multiple)) for r in recs) if hl.multiple else ()
    return {hkey(jsonread.text(k)) for k, m in flags if k is not None and norm(jsonread.text(m)) in ("true", "y", "1")}


def header_names(con, profile: Profile, files: list[Path], read) -> HeaderNames:
    """The names (and options) of the columns headed by API keys, from the export's header lists (``read(path)``: a
    CSV list as a RawTable, dropped here after; a JSON one is read as its records); a key the profile reads a field
    from keeps its header, and so does a key the list's `key_like` does not match."""
    from crm_audit.engine import jsonread

    out = HeaderNames({}, {})
    like: dict[str, str | None] = {}  # hkey(key) -> the key_like of the list naming it
    for path in files:
        hl = _header_list(profile, path)
        if hl is None:
            continue
        if path.suffix.lower() in jsonread.SUFFIXES:
            recs = _json_fields(path, hl)
            pairs = [(jsonread.text(_first(r, hl.key)).strip(), _name(r, hl.value, profile.language or "")) for r in recs
                     if _first(r, hl.key) is not None]
            listed = _options(recs, hl)
            out.options.update(listed)
            out.sources.update({k: path.name for k in listed})
            out.multiple |= _multiple(recs, hl)
        else:
            raw = read(path)
            key = _column(raw.headers, hl.key)
            values = [i for i in dict.fromkeys(_column(raw.headers, [v]) for v in hl.value) if i is not None and i != key]
            pairs = []
            if key is not None and values:
                name = f"coalesce({', '.join(f'nullif(strip(c{i}), {chr(39)}{chr(39)})' for i in values)})"
                pairs = con.execute(f"SELECT strip(c{key}), {name} FROM {raw.name} WHERE NOT is_blank(c{key})").fetchall()
            drop_raw(con, raw.name)
        for k, v in pairs:
            if k and v:
                out.names[hkey(k)] = v
                like[hkey(k)] = hl.key_like
    read_keys, shadowing = _keys_read(profile), _api_field_names(profile)
    out.names = {k: v for k, v in out.names.items()
                 if k not in read_keys and _key_like(k, like.get(k)) and hkey(v) not in shadowing}
    out.options = {k: v for k, v in out.options.items() if k in out.names}
    out.multiple = {k for k in out.multiple if k in out.names}
    return out


def _key_like(key: str, pattern: str | None) -> bool:
    import re

    return pattern is None or re.fullmatch(pattern, key, re.IGNORECASE) is not None


def named_headers(headers: list[str], names: dict[str, str]) -> list[str]:
    """``headers`` with each API key the header lists name (``names``) replaced by its name, unless the file has a
    column of that name already."""
    taken = {hkey(h) for h in headers}
    return [names[hkey(h)] if hkey(h) in names and hkey(names[hkey(h)]) not in taken else h for h in headers]


def blank_false(con, raw: RawTable, multiple: set[str]) -> None:
    """Blank the `false` cells of the columns (headed by their API keys) of fields holding several values: Bitrix24's
    REST answers an empty multiple field `false` as well as `[]`."""
    for i, h in enumerate(raw.headers):
        if hkey(h) in multiple:
            con.execute(f"UPDATE {raw.name} SET c{i} = '' WHERE lower(strip(c{i})) = 'false'")


#: how many options of a field an unknown option id's message lists
OPTIONS_SHOWN = 10


def label_options(con, raw: RawTable, names: HeaderNames, path: Path, on_bad_value: str = "error") -> list[DataWarning]:
    """Give the columns of ``raw`` (headed by their API keys) whose field lists its options the options' labels for
    their ids: an enum's «2» -> «Нет», a set's «1,3» -> «Да, Может быть». An id the list lacks (an option deleted, the
    field changed since the list was saved: acceptance Z-L) is a bad value of the field, as a date that does not read:
    with ``on_bad_value: error`` an InputError naming the file, the row, the field's name and the id; with `warn` a
    warning per cell and the id read as blank (never as text). A cell already holding a label keeps it; a field with
    no option list is left alone."""
    from crm_audit.engine.mapping import MAX_REPORTED, OPTION_HINT, UNKNOWN_OPTION, UNKNOWN_OPTION_WARN
    from crm_audit.errors import InputError, Problem

    warnings: list[DataWarning] = []
    problems: list[Problem] = []
    for i, h in enumerate(raw.headers):
        labels = names.options.get(hkey(h))
        if not labels:
            continue
        cases = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in labels.items())
        kept = f"[{', '.join(sql_literal(v) for v in dict.fromkeys(['', *labels.values()]))}]"
        label = f"CASE strip(x) {cases} WHEN '' THEN '' ELSE CASE WHEN list_contains({kept}, strip(x)) THEN strip(x) END END"
        parts = f"list_transform(string_split(c{i}, ','), lambda x: {label})"
        unknown = (f"list_filter(list_transform(string_split(c{i}, ','), lambda x: strip(x)), "
                   f"lambda x: x <> '' AND NOT list_contains({kept}, x) AND NOT list_contains({_sql_list(labels)}, x))")
        where = f"NOT is_blank(c{i}) AND len({unknown}) > 0"
        bad = con.execute(f"SELECT _row, array_to_string({unknown}, ', ') FROM {raw.name} WHERE {where} ORDER BY _row "
                          f"LIMIT {MAX_REPORTED}").fetchall()
        if bad:
            total = con.execute(f"SELECT count(*) FROM {raw.name} WHERE {where}").fetchall()[0][0]
            column = names.names.get(hkey(h), h)
            shown = [f"{k} «{v}»" for k, v in list(labels.items())[:OPTIONS_SHOWN]]
            known = ", ".join(shown) + (", …" if len(labels) > OPTIONS_SHOWN else "")
            source = names.sources.get(hkey(h), "")
            for r, v in bad:
                params = {"value": v, "source": source, "known": known}
                if on_bad_value == "warn":
                    warnings.append(DataWarning("bad-value", "", str(path), r, column, template=UNKNOWN_OPTION_WARN,
                                                params=params))
                else:
                    problems.append(Problem(template=UNKNOWN_OPTION, params=params, file=str(path), row=r, column=column,
                                            reason="bad-value"))
            if total > len(bad):
                more = N_("… and {n} more rows with unreadable values in «{column}»")
                params = {"n": total - len(bad), "column": column}
                if on_bad_value == "warn":
                    warnings.append(DataWarning("bad-value", "", str(path), None, column, template=more, params=params))
                else:
                    problems.append(Problem(template=more, params=params, file=str(path), column=column, reason="bad-value"))
        if problems:
            continue
        con.execute(f"UPDATE {raw.name} SET c{i} = array_to_string(list_filter({parts}, lambda y: y IS NOT NULL), ', ') "
                    f"WHERE NOT is_blank(c{i})")
    if problems:
        raise InputError(problems=problems, hint=OPTION_HINT)
    return warnings


def _sql_list(labels: dict[str, str]) -> str:
    return f"[{', '.join(sql_literal(k) for k in labels)}]"


# --------------------------------------------------------------------------- JSON lists

def json_nests(profile: Profile) -> list[tuple[str, str]]:
    """The nested lists the profile's lookups read from a JSON dump: (items key, parent prefix)."""
    return [(lk.json_items, lk.json_parent) for lk in profile.lookups if lk.json_items]


def json_files(profile: Profile, directory: Path) -> list[Path]:
    """The .json files of an export folder named like a lookup of the profile (users.json: the API's users list)."""
    if not directory.is_dir():
        return []
    names = [f for lk in profile.lookups for f in lk.files]
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in (".json", ".jsonl", ".ndjson") and not p.name.startswith(".")
                  and name_in_stem(p, names))


def read_json(con, path: Path, table: str, nests: list[tuple[str, str]] | None = None) -> RawTable | None:
    """A JSON list of records (an API's users list dumped as users.json) as a raw table of its scalar fields, the
    way a CSV is read (``_row``, ``c0 … cN``); None when the file holds no such list. ``nests``: (items key, parent
    prefix) of the lists a record may nest (:func:`crm_audit.engine.jsonread.rows`); the raw table's
    ``info.nested`` says which one its rows are."""
    from crm_audit.engine import jsonread
    from crm_audit.engine.readers import RawInfo

    found = jsonread.read(con, path, table, nests)
    return RawTable(table, path, found[0], RawInfo(kind="json", nested=found[1])) if found is not None else None


def _applies(lk: Lookup, ent: LoadedEntity) -> bool:
    """The file's column of the lookup's field is one of its id columns (an owner named by a list export is left alone)."""
    used = ent.fields.get(lk.field, "")
    return bool(lk.columns) and hkey(used) in {hkey(c) for c in lk.columns}


def _name_sql(raw: RawTable, u: LookupUse) -> str:
    """The name of a row of a lookup file: its value column, then `more` columns (a surname) after a space."""
    parts = [u.value, *(i for i in (_column(raw.headers, [m]) for m in u.lookup.more) if i is not None and i != u.value)]
    if len(parts) == 1:
        return f"strip(c{u.value})"
    cols = ", ".join(f"nullif(strip(c{i}), '')" for i in parts)
    return f"strip(concat_ws(' ', {cols}))"


def apply(con, entities: dict[str, LoadedEntity], profile: Profile, found: list[FoundLookup]) -> list[DataWarning]:
    """Replace ids with names from the lookup files (and the profile's `known` names).

    Stage and pipeline ids are the deals'; owner ids are named in every entity whose owner column holds
    them (deals, organizations, persons, activities: renaming only the deals' owners would make a rule
    comparing the deal's owner with its organization's flag everything)."""
    deals = entities.get("deals")
    warnings: list[DataWarning] = []
    names: dict[str, dict[str, str]] = {}  # field -> norm(id) -> name, for the catalog
    _keep_rows_like(con, found)
    for lk in profile.lookups:
        files = [(f.raw, u) for f in found for u in f.uses if u.lookup is lk]
        targets = sorted((e for e in entities.values() if _applies(lk, e) and (lk.field == "owner" or e is deals)),
                         key=lambda e: e is not deals)  # the deals first: the warning names their file when they have such ids
        if not targets:
            if deals is not None and files and lk.field not in deals.from_columns:
                _listed_column(con, deals, profile, lk, files)
            continue
        col = lk.field
        # the name of an id: the settings' (`stage_ids:`) first, then a dumped list's, then the profile's `known`
        rows = [f"({sql_literal(norm(k))}, {sql_literal(v)}, {float(10 * (i + 1)) if lk.known_sorted else 'NULL'}::DOUBLE, {0 if k in lk.settings else 2})"
                for i, (k, v) in enumerate(lk.known.items())]
        known = f"SELECT * FROM (VALUES {', '.join(rows)}) v(k, name, ord, prio)"
        selects = [known] if rows else []
        if rows and lk.known_prefix:  # «C2:WON» named like «WON» (a name the settings gave the prefixed id wins)
            pre = sql_literal("^(" + lk.known_prefix + ")")
            selects += [f"SELECT DISTINCT norm(e.{col}) AS k, v.name, v.ord, v.prio + 1 AS prio FROM {e.table} e JOIN ({known}) v "
                        f"ON regexp_replace(norm(e.{col}), {pre}, '', 'i') = v.k WHERE regexp_matches(norm(e.{col}), {pre}, 'i')"
                        for e in targets]
        for raw, u in files:
            order = f"TRY_CAST(parse_num(c{u.order}) AS DOUBLE)" if u.order is not None else "NULL::DOUBLE"
            name = _name_sql(raw, u)
            selects.append(f"SELECT norm(c{u.key}) AS k, {name} AS name, {order} AS ord, 1 AS prio FROM {raw.name} "
                           f"WHERE NOT is_blank(c{u.key}) AND NOT is_blank({name})")
        if not selects:  # no file and no known names: every id is unnamed (and said so below)
            selects = ["SELECT NULL::VARCHAR AS k, NULL::VARCHAR AS name, NULL::DOUBLE AS ord, 0 AS prio WHERE FALSE"]
        con.execute(f"CREATE OR REPLACE TEMP TABLE _lookup AS SELECT k, arg_min(name, [prio, coalesce(ord, 0)]) AS name, arg_min(ord, [prio, coalesce(ord, 0)]) AS ord, "
                    f"min(prio) AS prio FROM ({' UNION ALL '.join(selects)}) GROUP BY k")
        ordered = [r.path.name for r, u in files if u.order is not None] or (["the profile"] if lk.known_sorted and rows else [])
        if col == "stage" and ordered and deals is not None and _takes_list_order(con, deals, bool(files and ordered[0] != "the profile")):
            if "stage_order" not in deals.fields:
                con.execute(f"ALTER TABLE {deals.table} ADD COLUMN stage_order DOUBLE")
            con.execute(f"UPDATE {deals.table} SET stage_order = m.ord FROM _lookup m WHERE norm({deals.table}.{col}) = m.k")
            by_profile = ordered == ["the profile"]  # no column holds it: told in words (the CLI's language), never as a header
            deals.fields["stage_order"] = "" if by_profile else ", ".join(dict.fromkeys(ordered))
            deals.notes["stage_order"] = [Msg(N_("sort order from {source}"), {"source": [Msg(N_("the profile"))]})
                                          if by_profile else Msg(N_("sort order"))]
        source = ", ".join([*dict.fromkeys(r.path.name for r, _u in files), *(["the settings"] if lk.settings else [])])
        def is_id(c: str) -> str:  # the value is an id, not a name the export already gives
            return f"regexp_full_match(strip({c}), {sql_literal('(?i)' + lk.id_like)})"

        unnamed_where = f"NOT is_blank({col}) AND norm({col}) NOT IN (SELECT k FROM _lookup) AND {is_id(col)}"
        unnamed = [(e, *con.execute(f"SELECT count(*), min(_row), arg_min({col}, _row) FROM {e.table} WHERE {unnamed_where}").fetchone())
                   for e in targets]
        distinct = con.execute(f"SELECT count(DISTINCT k) FROM ({' UNION ALL '.join(f'SELECT norm({col}) AS k FROM {e.table} WHERE {unnamed_where}' for e in targets)})").fetchone()[0]
        found_ids: dict[str, str | None] = {}
        if col in ("stage", "pipeline"):  # every stage / pipeline the CRM's list names, also those no deal is in
            for raw, u in files:
                found_ids.update(con.execute(f"SELECT DISTINCT strip(c{u.key}), {_name_sql(raw, u)} FROM {raw.name} "
                                             f"WHERE NOT is_blank(c{u.key}) AND NOT is_blank({_name_sql(raw, u)}) ORDER BY 1").fetchall())
        names[col] = dict(con.execute("SELECT k, name FROM _lookup").fetchall())
        for e in targets:
            found_ids.update(con.execute(f"SELECT DISTINCT strip(d.{col}), m.name FROM {e.table} d LEFT JOIN _lookup m ON norm(d.{col}) = m.k "
                                         f"WHERE NOT is_blank(d.{col}) AND (m.name IS NOT NULL OR {is_id('d.' + col)}) ORDER BY 1").fetchall())
        if deals is not None:  # what `crm-audit init` writes as stage_ids: / pipeline_ids: / owner_ids:
            # in the CRM's sort order where a list (or the profile) gives one, else by id
            orders = dict(con.execute("SELECT k, ord FROM _lookup").fetchall())
            # a list keyed by the names themselves (Salesforce's OpportunityStage by MasterLabel) renames nothing
            found_ids = {k: v for k, v in found_ids.items() if v is None or norm(k) != norm(v) or k != v}
            deals.ids[col] = dict(sorted(found_ids.items(), key=lambda kv: (orders.get(norm(kv[0])) is None, orders.get(norm(kv[0])) or 0, kv[0])))
            deals.ids_source[col] = source or "the profile"
        if deals is not None and deals in targets:  # ids only the profile's defaults named (prio 2, 3: `known`)
            deals.default_named[col] = {r[0] for r in con.execute(
                f"SELECT DISTINCT m.name FROM {deals.table} d JOIN _lookup m ON norm(d.{col}) = m.k WHERE m.prio >= 2").fetchall()}
        if col == "stage" and deals is not None and deals in targets:
            _status_from_list(con, deals, files)
        for e in targets:
            if col == "stage":  # the id as the file gave it: a per-stage column may name the stage by it (`{stage_id}`)
                con.execute(f"ALTER TABLE {e.table} ADD COLUMN IF NOT EXISTS stage__id VARCHAR")
                con.execute(f"UPDATE {e.table} SET stage__id = strip({col})")
            named = con.execute(f"SELECT count(*) FROM {e.table} WHERE norm({col}) IN (SELECT k FROM _lookup)").fetchone()[0]
            con.execute(f"UPDATE {e.table} SET {col} = m.name FROM _lookup m WHERE norm({e.table}.{col}) = m.k")
            renamed = lk.settings or lk.known or any(u.key != u.value for _r, u in files)  # Salesforce's list: names by names
            if named and renamed:
                named_from = [*dict.fromkeys(r.path.name for r, _u in files), *(["crm-audit.yaml"] if lk.settings else [])]
                e.note(col, Msg(N_("names from {source}"), {"source": named_from or [Msg(N_("the profile"))]}))
        if distinct:
            first, n, row, example = next(u for u in unnamed if u[1])
            named_somewhere, named_nowhere = UNNAMED_ID[col]
            # the files by their names, the settings as a msgid (made in the language the warning is shown in)
            named_by = [*dict.fromkeys(r.path.name for r, _u in files), *([Msg(N_("the settings"))] if lk.settings else [])]
            params = {"n": distinct, "deals": unnamed[0][1] if unnamed[0][0] is deals else 0, "source": named_by, "example": example,
                      "files": ", ".join(lk.files[:1] if col == "owner" else lk.files[:2]), "key": lk.key[0], "value": lk.value[0]}
            if col == "owner":
                params["records"] = ", ".join(f"{u[0].file.name} ({u[1]})" for u in unnamed if u[1])
            warnings.append(DataWarning("unnamed-id", "", str(first.file), row, first.fields[col],
                                        template=named_somewhere if files or lk.settings else named_nowhere, params=params))
        con.execute("DROP TABLE _lookup")
    if deals is not None:
        deals.catalog = _catalog(con, found, names.get("pipeline", {}), deals)
    for f in found:
        drop_raw(con, f.raw.name)
    return warnings


#: share of a column's distinct ids a list must name for init to map the column to the list's field (Salesforce's Master
#: record type «012000000000000AAA» is in no RecordType.csv)
LISTED_SHARE = 0.5


def _listed_column(con, deals: LoadedEntity, profile: Profile, lk: Lookup, files: list[tuple[RawTable, LookupUse]]) -> None:
    """A deals column of the lookup's `columns:` no field is read from (RecordTypeId: the record type as the pipeline is a
    team's choice) whose ids the export's list names (RecordType.csv): recorded as ``deals.listed`` for `crm-audit init`
    to map — the ids are the field's, the list says so (acceptance U6); without the list they stay a commented proposal."""
    wanted = {hkey(c) for c in lk.columns}
    spec = profile.entities["deals"]
    keys = " UNION ".join(f"SELECT norm(c{u.key}) AS k FROM {raw.name} WHERE NOT is_blank(c{u.key})" for raw, u in files)
    for sql, header in deals.custom.values():
        if hkey(spec.strip_prefix(header)[0]) not in wanted and hkey(header) not in wanted:
            continue
        total, named, examples = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE v IN ({keys})), list(s ORDER BY s)[1:3] FROM "
            f"(SELECT DISTINCT norm({sql}) AS v, strip({sql}) AS s FROM {deals.table} WHERE NOT is_blank({sql}))").fetchone()
        if total and named >= LISTED_SHARE * total:
            deals.listed[lk.field] = ListedColumn(spec.strip_prefix(header)[0], tuple(dict.fromkeys(r.path.name for r, _u in files)),
                                                  named, total, tuple(examples))
            return


def _status_from_list(con, deals: LoadedEntity, files: list[tuple[RawTable, LookupUse]]) -> None:
    """A deal's status from its stage's semantics in the CRM's stage list (Bitrix24's stages.csv SEMANTICS: S success,
    F failure, blank in progress — `status:` of the lookup), where the deals' status is derived (no status column of
    their own): a custom failure stage «C2:UC_…» is lost though its id says nothing; it is no guess then."""
    if "status" not in deals.fields or "status" in deals.from_columns:
        return
    guessed = "status__guessed" in [d[0] for d in con.execute(f"SELECT * FROM {deals.table} LIMIT 0").description]
    for raw, u in files:
        spec = u.lookup.status
        scol = _column(raw.headers, spec.columns) if spec is not None else None
        if scol is None:
            continue
        for key, values in spec.values.items():
            # the stage by its id, or by its name where a script wrote the names («Выдано») and the list names them
            ids = (f"SELECT k FROM {raw.name}, (SELECT unnest([norm(c{u.key}), norm({_name_sql(raw, u)})]) AS k) "
                   f"WHERE norm(c{scol}) IN ({', '.join(sql_literal(norm(v)) for v in values)}) AND k IS NOT NULL "
                   f"AND {_closed_sql(raw, spec)}")
            also = ', "status__guessed" = FALSE' if guessed else ""
            con.execute(f"UPDATE {deals.table} SET status = {sql_literal(key)}{also} WHERE norm(stage) IN ({ids})")


def _takes_list_order(con, deals: LoadedEntity, from_file: bool) -> bool:
    """Whether the stage list's sort order numbers the deals' stages: a dumped list's always (the CRM's own order wins
    over a deal's probability), the profile's `known` order where the deals carry no order of their own (a
    probability column absent, or blank in every row)."""
    if from_file or "stage_order" not in deals.fields:
        return True
    return not con.execute(f"SELECT count(stage_order) FROM {deals.table}").fetchone()[0]


def _catalog(con, found: list[FoundLookup], pipelines: dict[str, str] | None = None,
             deals: LoadedEntity | None = None) -> list[tuple[str, str, float | None, str | None]]:
    """Every (pipeline, stage, sort order, won / lost / None) of a dumped list that names both (amoCRM's pipelines and
    statuses, Pipedrive's stages with pipeline_name), or names the stage's pipeline by an id the pipeline list names
    (Bitrix24's stages.csv CATEGORY_ID, categories.csv; Pipedrive's stages.csv pipeline_id, pipelines.csv;
    ``pipelines``: norm(id) -> name): the CRM's own stages, also those no deal is in; won / lost where the list says
    the stage's semantics (Bitrix24's SEMANTICS S / F, the lookup's `status:`). A list naming no pipeline at all
    (Salesforce's OpportunityStage) is laid over the ``deals``' pipelines (:func:`_catalog_by_deals`)."""
    out: list[tuple[str, str, float | None, str | None]] = []
    for f in found:
        stage = next((u for u in f.uses if u.lookup.field == "stage"), None)
        pipe = next((u for u in f.uses if u.lookup.field == "pipeline"), None)
        if stage is None:
            continue
        order = f"TRY_CAST(parse_num(c{stage.order}) AS DOUBLE)" if stage.order is not None else "NULL::DOUBLE"
        status = _status_sql(f.raw, stage)
        pcol = _column(f.raw.headers, stage.lookup.pipeline) if pipe is None else None
        if pcol is not None:  # the stage's pipeline by id: named by the pipeline list (an id it lacks stays the id)
            rows = con.execute(f"SELECT strip(c{pcol}), norm(c{pcol}), {_name_sql(f.raw, stage)}, min({order}), any_value({status}) "
                               f"FROM {f.raw.name} WHERE NOT is_blank(c{pcol}) AND NOT is_blank({_name_sql(f.raw, stage)}) "
                               "GROUP BY ALL ORDER BY 1, 4, 3").fetchall()
            out += [((pipelines or {}).get(k, pid), s, o, st) for pid, k, s, o, st in rows]
            continue
        if pipe is None and pcol is None:
            out += _catalog_by_deals(con, f.raw, stage, order, status, deals)
            continue
        if pipe is None or stage.value == pipe.value:
            continue
        out += con.execute(f"SELECT strip(c{pipe.value}), strip(c{stage.value}), min({order}), any_value({status}) FROM {f.raw.name} "
                           f"WHERE NOT is_blank(c{pipe.value}) AND NOT is_blank(c{stage.value}) GROUP BY ALL ORDER BY 1, 3, 2").fetchall()
    return out


def _status_sql(raw: RawTable, u: LookupUse) -> str:
    """SQL of a list row's stage semantics: 'won' / 'lost' by the lookup's `status:` column (where its `closed:`
    column says the stage closes), else NULL."""
    spec = u.lookup.status
    scol = _column(raw.headers, spec.columns) if spec is not None else None
    if scol is None:
        return "NULL::VARCHAR"
    whens = " ".join(f"WHEN norm(c{scol}) IN ({', '.join(sql_literal(norm(v)) for v in values)}) THEN {sql_literal(key)}"
                     for key, values in spec.values.items())
    return f"CASE WHEN NOT ({_closed_sql(raw, spec)}) THEN NULL {whens} END"


def _closed_sql(raw: RawTable, spec: LookupStatus) -> str:
    """SQL: the list row's stage closes by the status's `closed:` column (a blank cell or no such column: no status);
    TRUE without `closed:`."""
    return _where_sql(raw, spec.closed, False) if spec.closed is not None else "TRUE"


def _where_sql(raw: RawTable, where: RowsWhere | None, blank: bool) -> str:
    """SQL: the list row's column (the first of ``where.headers`` in the file) holds one of ``where.values``; ``blank``
    for a blank cell, and for a file without the column (or no ``where``)."""
    col = _column(raw.headers, where.headers) if where is not None else None
    if col is None:
        return str(blank).upper()
    return (f"(CASE WHEN is_blank(c{col}) THEN {str(blank).upper()} "
            f"ELSE norm(c{col}) IN ({', '.join(sql_literal(norm(v)) for v in where.values)}) END)")


def _catalog_by_deals(con, raw: RawTable, u: LookupUse, order: str, status: str,
                      deals: LoadedEntity | None) -> list[tuple[str, str, float | None, str | None]]:
    """A stage list naming no pipeline (Salesforce's OpportunityStage: each record type's sales process picks a subset
    of the org's stages, and no dump here says which) over the deals' pipelines: without a pipeline column (every deal
    in the profile's one pipeline) that pipeline has every listed stage, less the inactive ones (the lookup's
    `inactive:`) no deal is in; with one (RecordTypeId), each pipeline has the listed stages its deals are in — in the
    list's order, with its won / lost."""
    if deals is None or "stage" not in deals.fields:
        return []
    name = _name_sql(raw, u)
    inactive = _where_sql(raw, u.lookup.inactive, False)
    rows = con.execute(f"SELECT norm(c{u.key}), norm({name}), {name}, {order}, {status}, {inactive} FROM {raw.name} "
                       f"WHERE NOT is_blank(c{u.key}) AND NOT is_blank({name})").fetchall()
    pipe = "strip(pipeline)" if "pipeline" in deals.fields else "NULL"
    has_id = "stage__id" in [d[0] for d in con.execute(f"SELECT * FROM {deals.table} LIMIT 0").description]
    used = con.execute(f"SELECT DISTINCT coalesce({pipe}, ''), norm(stage), {'norm(stage__id)' if has_id else 'NULL'} FROM {deals.table} "
                       "WHERE NOT is_blank(stage)").fetchall()
    if "pipeline" not in deals.from_columns:  # one pipeline: the CRM's whole active list
        pname = next((p for p, *_ in used), "")
        in_use = {k for _p, *ks in used for k in ks}
        return [(pname, s, o, st) for k, n, s, o, st, off in rows if not off or k in in_use or n in in_use]
    deals.catalog_by_deals = True
    return [(p, s, o, st) for p in dict.fromkeys(p for p, *_ in used)
            for k, n, s, o, st, _off in rows if {k, n} & {x for q, *ks in used if q == p for x in ks}]
