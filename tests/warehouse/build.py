"""Write an export's data as the tables a replication connector creates (issue 15 point 3).

An export fixture is loaded through the product's own loader (:func:`crm_audit.engine.loading.load_export`), so the
values are the canonical ones a ``crm-audit run --export`` audits; the same data is then laid out the way Fivetran's
or Airbyte's Pipedrive / HubSpot connector lays it out in a warehouse (see
``tests/fixtures/warehouse/<connector>_<crm>/EVIDENCE.md`` for the source of every table and column), with what real
syncs leave behind:

* ids instead of names: owners, stages and pipelines are rows of their own tables, the deals carry the ids;
* custom fields under the CRM's keys (Pipedrive's 40-hex hashes, HubSpot's internal property names), named by the
  connector's field-metadata table where it has one (Pipedrive ``deal_fields`` / ``organization_fields``, HubSpot
  ``property`` + ``property_option``), one enum field stored as its option id;
* soft deletes: a deleted deal, a deleted (undone, overdue) task on an open deal, a deleted person and stage that
  nothing references, each marked the connector's way (``_fivetran_deleted``, Pipedrive ``status``/``deleted``/
  ``active_flag``, HubSpot ``is_deleted``/``archived`` and the ``*_archived`` streams);
* HubSpot tasks linked to deals through the association table (Fivetran ``engagement_deal``) or array (Airbyte
  ``engagements_tasks.deals``), one task on two deals where the export has one;
* Airbyte's metadata columns on every table and, for Pipedrive, the raw table (``airbyte_internal``) with an older
  version of a deal next to the current one, and a deal record whose owner, organization and person names are
  older than the users / organizations / persons rows.

A :class:`Warehouse` is a list of :class:`Table` (schema, name, typed columns, rows) written by
:func:`write_duckdb` into a DuckDB database file or by :func:`write_postgres` through a psycopg connection; both
are deterministic (fixed ids, timestamps and raw ids) and take well under a second for the 300-deal demo.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEMO_EXPORT = ROOT / "crm_audit" / "demo_data" / "pipedrive"
DEMO_SETTINGS = ROOT / "crm_audit" / "demo_data" / "crm-audit.yaml"
HUBSPOT_EXPORT = ROOT / "tests" / "fixtures" / "hubspot" / "export"
HUBSPOT_SETTINGS = ROOT / "tests" / "fixtures" / "hubspot" / "crm-audit.yaml"
HUBSPOT_TASKS_EXPORT = ROOT / "tests" / "fixtures" / "hubspot-tasks" / "export"
AS_OF = dt.date(2026, 11, 20)
CONNECTORS = ("airbyte_pipedrive", "airbyte_hubspot", "fivetran_pipedrive", "fivetran_hubspot")

#: When the connector last synced (every ``_fivetran_synced`` / ``_airbyte_extracted_at``), fixed for determinism.
SYNCED = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.timezone.utc)
#: Ids of the rows that exist only in the warehouse (deleted in the CRM): never in the export, never audited.
DELETED_DEAL = 990001
DELETED_TASK = 990002
DELETED_PERSON = 990003
DELETED_STAGE = 990004

# neutral column types -> (DuckDB, PostgreSQL)
_TYPES = {
    "BIGINT": ("BIGINT", "bigint"),
    "TEXT": ("VARCHAR", "text"),
    "DOUBLE": ("DOUBLE", "double precision"),
    "DECIMAL": ("DECIMAL(38, 9)", "numeric(38, 9)"),
    "BOOLEAN": ("BOOLEAN", "boolean"),
    "DATE": ("DATE", "date"),
    "TIMESTAMP": ("TIMESTAMP", "timestamp"),
    "TIMESTAMPTZ": ("TIMESTAMPTZ", "timestamptz"),
    "JSON": ("JSON", "jsonb"),
}


@dataclass
class Table:
    schema: str
    name: str
    columns: list[tuple[str, str]]  # (name, neutral type)
    rows: list[tuple] = field(default_factory=list)

    def add(self, **values: Any) -> None:
        unknown = set(values) - {c for c, _ in self.columns}
        if unknown:
            raise KeyError(f"{self.name}: no column {sorted(unknown)}")
        self.rows.append(tuple(values.get(c) for c, _ in self.columns))


@dataclass
class Warehouse:
    connector: str
    crm: str
    tables: list[Table]
    #: what the builder put in that the export does not have (the profile must leave it out)
    extras: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str, schema: str | None = None) -> Table:
        return next(t for t in self.tables if t.name == name and (schema is None or t.schema == schema))


# ---------------------------------------------------------------------------------------------------------------
# the export's canonical values


@dataclass
class Canon:
    """The export as the product loaded it: one dict per record, custom fields by their export name."""

    crm: str
    deals: list[dict]
    orgs: list[dict]
    persons: list[dict]
    activities: list[dict]  # one per activity, ``deal_ids`` a list (a HubSpot task may have several)
    pipelines: dict[str, list[str]]  # pipeline -> stages in the settings' (the CRM's) order
    custom: dict[str, list[str]]  # entity -> custom field names, in export order


_PREFIX = re.compile(r"^(deal|organization|person|activity)\s+-\s+", re.I)
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?")


def _when(day: dt.date | None, raw: str | None) -> dt.datetime | None:
    """The timestamp the CRM holds: the parsed date with the export's clock time (midnight when it has none)."""
    if day is None:
        return None
    h = m = s = 0
    hit = _TIME.search((raw or "").split(" ", 1)[1] if raw and " " in raw.strip() else "")
    if hit:
        h, m, s = int(hit.group(1)), int(hit.group(2)), int(hit.group(3) or 0)
        ampm = (hit.group(4) or "").lower()
        if ampm == "pm" and h < 12:
            h += 12
        elif ampm == "am" and h == 12:
            h = 0
    return dt.datetime(day.year, day.month, day.day, h, m, s)


def canonical(export_dir: Path, crm: str, settings_path: Path | None = None) -> Canon:
    import yaml

    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import load_profile

    export = load_export(export_dir, load_profile(crm), as_of=AS_OF)
    try:
        out: dict[str, list[dict]] = {}
        custom: dict[str, list[str]] = {}
        for ent_name, ent in export.entities.items():
            # a cursor of its own: the loader may leave a result unfinished on its connection (DuckDB 2 refuses more work)
            rel = export.con.cursor().sql(f"SELECT * FROM {ent.table} ORDER BY _row")
            cols = rel.columns
            recs = [dict(zip(cols, r)) for r in rel.fetchall()]
            names = {sql: _PREFIX.sub("", header) for sql, header in ent.custom.values()}
            custom[ent_name] = list(names.values())
            for r in recs:
                r["custom"] = {names[c]: r[c] for c in names}
            out[ent_name] = recs
        settings = yaml.safe_load(Path(settings_path).read_text(encoding="utf-8")) if settings_path else {}
    finally:
        export.con.close()
        export.close()
    acts: dict[str, dict] = {}
    for a in out.get("activities", []):  # the loader gives one row per (task, deal)
        if a["id"] in acts:
            if a.get("deal_id"):
                acts[a["id"]]["deal_ids"].append(a["deal_id"])
            continue
        a["deal_ids"] = [a["deal_id"]] if a.get("deal_id") else []
        acts[a["id"]] = a
    pipelines = {str(p): [str(s) for s in stages] for p, stages in (settings.get("pipelines") or {}).items()}
    for d in out["deals"]:  # stages the settings do not list come after, in order of appearance
        if d.get("pipeline") is not None:
            stages = pipelines.setdefault(d["pipeline"], [])
            if d.get("stage") is not None and d["stage"] not in stages:
                stages.append(d["stage"])
    return Canon(crm, out["deals"], out.get("organizations", []), out.get("persons", []), list(acts.values()),
                 pipelines, custom)


# ---------------------------------------------------------------------------------------------------------------
# helpers shared by the layouts


def _hash_key(name: str) -> str:
    """A Pipedrive custom field's key: 40 hex characters (``dcf558aac1ae4e8c4f849ba5e668430d8df9be12``)."""
    return hashlib.sha1(("crm-audit fixture " + name).encode()).hexdigest()


def _internal_name(label: str) -> str:
    """A HubSpot custom property's internal name as HubSpot derives it from a label: ASCII, lower case, ``_``."""
    table = str.maketrans({"а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
                           "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
                           "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
                           "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya"})
    return re.sub(r"[^a-z0-9]+", "_", label.lower().translate(table)).strip("_")


def _raw_id(*parts: Any) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "crm-audit-fixture/" + "/".join(map(str, parts))))


def _int(v: Any) -> int | None:
    return None if v is None or str(v).strip() == "" else int(float(str(v)))


def _pd_time(ts: dt.datetime | None) -> str | None:
    """Pipedrive's API text for a moment: ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    return ts.strftime("%Y-%m-%d %H:%M:%S") if ts else None


def _utc(ts: dt.datetime | None, zone: str = "UTC") -> dt.datetime | None:
    """The instant of ``ts``, a wall-clock time in the CRM account's ``zone`` (as the export shows it)."""
    from zoneinfo import ZoneInfo

    return ts.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.timezone.utc) if ts else None


class _Ids:
    """Stable ids for names: users, pipelines, stages, organizations named only by name."""

    def __init__(self, start: int):
        self.next, self.ids = start, {}

    def __call__(self, key) -> int:
        if key not in self.ids:
            self.ids[key] = self.next
            self.next += 1
        return self.ids[key]


@dataclass
class _Common:
    canon: Canon
    users: _Ids
    pipes: _Ids
    stages: _Ids
    org_by_name: dict[str, str]
    enum_options: dict[str, dict[str, int]]  # custom field name -> label -> option id

    @classmethod
    def of(cls, canon: Canon, enum_fields: tuple[str, ...]) -> "_Common":
        users, pipes, stages = _Ids(11884360), _Ids(1), _Ids(1)
        for p, ss in canon.pipelines.items():
            pipes(p)
            for s in ss:
                stages((p, s))
        for rec in canon.deals + canon.orgs + canon.persons + canon.activities:
            if rec.get("owner"):
                users(rec["owner"])
        orgs = {o["name"]: o["id"] for o in canon.orgs if o.get("name")}
        options: dict[str, dict[str, int]] = {}
        n = 37
        for ent in ("deals", "organizations"):
            recs = canon.deals if ent == "deals" else canon.orgs
            for name in canon.custom.get(ent, []):
                values = [r["custom"][name] for r in recs if r["custom"].get(name) is not None]
                if name in enum_fields and all(str(v).strip() == v and v for v in values):  # an enum holds labels
                    labels = sorted({r["custom"][name] for r in recs if r["custom"].get(name) not in (None, "")})
                    options[name] = {}
                    for label in labels:
                        options[name][label] = n
                        n += 1
        return cls(canon, users, pipes, stages, orgs, options)

    def custom_value(self, name: str, value: Any) -> Any:
        """How the CRM's API gives a custom value: an enum as its option id (text), the rest as exported."""
        if value in (None, ""):
            return None
        if name in self.enum_options:
            return str(self.enum_options[name][value])
        return value

    def first_open_deal_without_tasks(self) -> dict:
        """An open deal with no undone activity: a deleted task on it changes rules 1.1 and 2.3 if it is counted."""
        busy = {d for a in self.canon.activities if not a.get("done") for d in a["deal_ids"]}
        return next(d for d in self.canon.deals if d.get("status") == "open" and d["id"] not in busy)


# ---------------------------------------------------------------------------------------------------------------
# Pipedrive


def _pipedrive_rows(c: _Common):
    """The Pipedrive API's records (v1, as the Recents / list endpoints return them) for the export's data."""
    canon = c.canon
    deal_keys = {n: _hash_key(n) for n in canon.custom.get("deals", [])}
    org_keys = {n: _hash_key(n) for n in canon.custom.get("organizations", [])}
    # In Pipedrive a deal's organization and person are records with ids; an export may name one the
    # organizations / persons files lack, or name it without its id: the warehouse has the record all the same.
    link_org, extra_orgs = _links(canon.deals, "org", canon.orgs, 800001)
    link_person, extra_persons = _links(canon.deals, "person", canon.persons, 850001)
    deals = []
    for d in canon.deals:
        rec = {
            "id": int(d["id"]), "title": d["title"], "user_id": c.users(d["owner"]) if d.get("owner") else None,
            "owner_name": d.get("owner"), "value": d.get("value"), "currency": d.get("currency"),
            "org_id": link_org.get(d["id"]), "org_name": d.get("org_name"),
            "person_id": link_person.get(d["id"]), "person_name": d.get("person_name"),
            "pipeline_id": c.pipes(d["pipeline"]) if d.get("pipeline") else None,
            "stage_id": c.stages((d["pipeline"], d["stage"])) if d.get("stage") else None,
            "status": d.get("status"), "deleted": False, "active": d.get("status") == "open",
            "lost_reason": d.get("lost_reason"),
            "add_time": _when(d.get("created"), d.get("created__raw")),
            "stage_change_time": _when(d.get("stage_changed"), d.get("stage_changed__raw")),
            "next_activity_date": d.get("next_activity_date"),
            "undone_activities_count": _int(d.get("activities_to_do")),
            "custom": {deal_keys[n]: c.custom_value(n, v) for n, v in d["custom"].items()},
        }
        deals.append(rec)
    # the names a deal record carries are as of the deal's last change: the first deal's owner, organization and
    # person were renamed since (the users / organizations / persons rows have the names the export shows)
    first = next(r for r in deals if r["owner_name"] and r["org_name"] and r["person_name"])
    first.update(owner_name=first["owner_name"] + " (до переименования)", org_name=first["org_name"] + " (старое)",
                 person_name=first["person_name"] + " (старое)")
    # a deal deleted in Pipedrive: an open deal with no tasks, audited by 1.1 if it were read
    template = deals[0]
    deals.append({**template, "id": DELETED_DEAL, "title": "Удалённая сделка", "status": "deleted", "deleted": True,
                  "active": False, "undone_activities_count": 0, "next_activity_date": None,
                  "custom": {k: None for k in template["custom"]}})
    orgs = [{"id": int(o["id"]), "name": o["name"], "owner_id": c.users(o["owner"]) if o.get("owner") else None,
             "owner_name": o.get("owner"), "active_flag": True,
             "custom": {org_keys[n]: c.custom_value(n, v) for n, v in o["custom"].items()}} for o in canon.orgs]
    orgs += [{"id": oid, "name": name, "owner_id": None, "owner_name": None, "active_flag": True,
              "custom": {k: None for k in org_keys.values()}} for oid, name in extra_orgs.items()]
    persons = [{"id": int(p["id"]), "name": p["name"], "owner_id": c.users(p["owner"]) if p.get("owner") else None,
                "owner_name": p.get("owner"), "org_name": p.get("org_name"),
                "org_id": _int(p.get("org_id")) or _int(c.org_by_name.get(p.get("org_name"))), "active_flag": True}
               for p in canon.persons]
    persons += [{"id": pid, "name": name, "owner_id": None, "owner_name": None, "org_name": None, "org_id": None,
                 "active_flag": True} for pid, name in extra_persons.items()]
    persons.append({"id": DELETED_PERSON, "name": "Удалённый контакт", "owner_id": None, "owner_name": None,
                    "org_name": None, "org_id": None, "active_flag": False})
    types = _ActivityTypes()
    acts = []
    for a in canon.activities:
        acts.append({"id": int(a["id"]), "subject": a.get("subject"), "type": types.key(a.get("type")),
                     "type_name": a.get("type"), "due_date": a["due_date"].isoformat() if a.get("due_date") else "",
                     "due_time": a.get("due_time") or "", "done": bool(a.get("done")),
                     "deal_id": _int(a["deal_ids"][0]) if a["deal_ids"] else None,
                     "user_id": c.users(a["owner"]) if a.get("owner") else None, "owner_name": a.get("owner"),
                     "active_flag": True})
    target = c.first_open_deal_without_tasks()
    acts.append({"id": DELETED_TASK, "subject": "Удалённая задача", "type": "task", "type_name": types.name("task"),
                 "due_date": "2026-11-01", "due_time": "", "done": False, "deal_id": int(target["id"]),
                 "user_id": c.users(target["owner"]) if target.get("owner") else None,
                 "owner_name": target.get("owner"), "active_flag": False})
    fields = {"deals": [(n, deal_keys[n]) for n in canon.custom.get("deals", [])],
              "organizations": [(n, org_keys[n]) for n in canon.custom.get("organizations", [])]}
    extras = {"deleted_deal": DELETED_DEAL, "deleted_task": (DELETED_TASK, int(target["id"])),
              "deal_field_keys": deal_keys, "org_field_keys": org_keys, "enum_options": c.enum_options}
    return deals, orgs, persons, acts, fields, types, extras


def _links(deals: list[dict], what: str, records: list[dict], first_new: int) -> tuple[dict, dict[int, str]]:
    """deal id -> the id of its organization / person, and the records the export lacks (id -> name)."""
    known = {str(r["id"]): r for r in records}
    by_name = {r.get("name"): str(r["id"]) for r in records if r.get("name")}
    links: dict = {}
    extra: dict[int, str] = {}
    named: dict[str, int] = {}
    for d in deals:
        rid, name = d.get(f"{what}_id"), d.get(f"{what}_name")
        if rid in (None, "") and name not in (None, ""):  # named without its id: the CRM has one
            rid = by_name.get(name)
            if rid is None:
                rid = named.setdefault(name, first_new + len(named))
        if rid in (None, ""):
            continue
        links[d["id"]] = int(rid)
        if str(rid) not in known:
            extra.setdefault(int(rid), name)
    return links, extra


class _ActivityTypes:
    """Pipedrive activity types: ``key_string`` (what an activity's ``type`` holds) and the name the export shows."""

    _KNOWN = {"звонок": "call", "call": "call", "встреча": "meeting", "meeting": "meeting", "задача": "task",
              "task": "task", "письмо": "email", "email": "email", "срок": "deadline", "deadline": "deadline",
              "дедлайн": "deadline", "обед": "lunch", "lunch": "lunch"}

    def __init__(self):
        self.names: dict[str, str] = {}  # key_string -> name
        self._keys: dict[str, str] = {}  # name -> key_string

    def key(self, name: str | None) -> str | None:
        if name is None:
            return None
        if name not in self._keys:
            key = self._KNOWN.get(name.strip().lower()) or f"custom_{len(self._keys) + 1}"
            self._keys[name] = key
            self.names.setdefault(key, name)
        return self._keys[name]

    def name(self, key: str) -> str:
        return self.names.setdefault(key, key.capitalize())


def _field_rows(c: _Common, fields: list[tuple[str, str]], start: int) -> list[dict]:
    """The ``*_fields`` rows for the custom fields (key, name, type, options) after a few built-in ones."""
    rows = [{"id": start, "key": "title", "name": "Title", "field_type": "varchar", "options": None},
            {"id": start + 1, "key": "user_id", "name": "Owner", "field_type": "user", "options": None}]
    for i, (name, key) in enumerate(fields, start=start + 2):
        opts = c.enum_options.get(name)
        rows.append({"id": i, "key": key, "name": name, "field_type": "enum" if opts else "varchar",
                     "options": [{"id": oid, "label": label} for label, oid in opts.items()] if opts else None})
    return rows


_AIRBYTE_META = [("_airbyte_raw_id", "TEXT"), ("_airbyte_extracted_at", "TIMESTAMPTZ"), ("_airbyte_meta", "JSON"),
                 ("_airbyte_generation_id", "BIGINT")]


def _ab(stream: str, rec_id: Any) -> dict:
    return {"_airbyte_raw_id": _raw_id(stream, rec_id), "_airbyte_extracted_at": SYNCED,
            "_airbyte_meta": {"sync_id": 7, "changes": []}, "_airbyte_generation_id": 0}


def airbyte_pipedrive(canon: Canon, schema: str = "pipedrive", enum_fields: tuple[str, ...] = ("Источник сделки",
                      "Агентство ли это"), raw_tables: bool = True) -> Warehouse:
    """Airbyte source-pipedrive -> destination-postgres: typed final tables plus the raw ``_airbyte_data`` (where
    the custom fields' hash keys are: the streams' schemas do not declare them). ``raw_tables=False``: a Direct
    Load destination (PostgreSQL 3.x), typed tables only — the custom fields are nowhere."""
    c = _Common.of(canon, enum_fields)
    deals, orgs, persons, acts, fields, types, extras = _pipedrive_rows(c)
    raw_schema = "airbyte_internal"
    t_deals = Table(schema, "deals", [
        ("id", "BIGINT"), ("title", "TEXT"), ("user_id", "BIGINT"), ("owner_name", "TEXT"), ("value", "DECIMAL"),
        ("currency", "TEXT"), ("org_id", "BIGINT"), ("org_name", "TEXT"), ("person_id", "BIGINT"),
        ("person_name", "TEXT"), ("pipeline_id", "BIGINT"), ("stage_id", "BIGINT"), ("status", "TEXT"),
        ("deleted", "BOOLEAN"), ("active", "BOOLEAN"), ("lost_reason", "TEXT"), ("add_time", "TEXT"),
        ("stage_change_time", "TEXT"), ("update_time", "TIMESTAMP"), ("next_activity_date", "DATE"),
        ("undone_activities_count", "BIGINT")] + _AIRBYTE_META)
    raw_cols = [("_airbyte_raw_id", "TEXT"), ("_airbyte_extracted_at", "TIMESTAMPTZ"),
                ("_airbyte_loaded_at", "TIMESTAMPTZ"), ("_airbyte_data", "JSON"), ("_airbyte_meta", "JSON"),
                ("_airbyte_generation_id", "BIGINT")]
    t_raw_deals = Table(raw_schema, f"{schema}_raw__stream_deals", raw_cols)
    for d in deals:
        api = {k: v for k, v in d.items() if k != "custom"}
        api["add_time"], api["stage_change_time"] = _pd_time(d["add_time"]), _pd_time(d["stage_change_time"])
        api["update_time"] = _pd_time(SYNCED.replace(tzinfo=None) - dt.timedelta(hours=1))
        api["next_activity_date"] = d["next_activity_date"].isoformat() if d["next_activity_date"] else None
        api.update(d["custom"])
        meta = _ab("deals", d["id"])
        typed = {k: api.get(k) for k, _ in t_deals.columns if not k.startswith("_airbyte")}
        typed.update(update_time=SYNCED.replace(tzinfo=None) - dt.timedelta(hours=1),
                     next_activity_date=d["next_activity_date"])  # declared date / timestamp: typed columns
        t_deals.add(**typed, **meta)
        t_raw_deals.add(_airbyte_data=api, _airbyte_loaded_at=SYNCED, **meta)
    # the raw table keeps every version a sync extracted: an older one of the first deal, another city and source
    first = t_raw_deals.rows[0]
    old = dict(json.loads(json.dumps(first[3], default=str)))
    for k in old:
        if k in extras["deal_field_keys"].values() and old[k] is not None:
            old[k] = "устаревшее значение"
    t_raw_deals.add(_airbyte_raw_id=_raw_id("deals", "old", old["id"]),
                    _airbyte_extracted_at=SYNCED - dt.timedelta(days=14), _airbyte_loaded_at=SYNCED - dt.timedelta(days=14),
                    _airbyte_data=old, _airbyte_meta={"sync_id": 6, "changes": []}, _airbyte_generation_id=0)

    t_orgs = Table(schema, "organizations", [("id", "BIGINT"), ("name", "TEXT"), ("owner_id", "BIGINT"),
                                             ("owner_name", "TEXT"), ("active_flag", "BOOLEAN"),
                                             ("delete_time", "TEXT")] + _AIRBYTE_META)
    t_raw_orgs = Table(raw_schema, f"{schema}_raw__stream_organizations", raw_cols)
    for o in orgs:
        api = {k: v for k, v in o.items() if k != "custom"} | o["custom"] | {"delete_time": None}
        meta = _ab("organizations", o["id"])
        t_orgs.add(**{k: api.get(k) for k, _ in t_orgs.columns if not k.startswith("_airbyte")}, **meta)
        t_raw_orgs.add(_airbyte_data=api, _airbyte_loaded_at=SYNCED, **meta)

    t_persons = Table(schema, "persons", [("id", "BIGINT"), ("name", "TEXT"), ("owner_id", "BIGINT"),
                                          ("owner_name", "TEXT"), ("org_id", "BIGINT"), ("org_name", "TEXT"),
                                          ("active_flag", "BOOLEAN")] + _AIRBYTE_META)
    for p in persons:
        t_persons.add(**p, **_ab("persons", p["id"]))
    t_acts = Table(schema, "activities", [("id", "BIGINT"), ("subject", "TEXT"), ("type", "TEXT"),
                                          ("type_name", "TEXT"), ("due_date", "TEXT"), ("due_time", "TEXT"),
                                          ("done", "BOOLEAN"), ("deal_id", "BIGINT"), ("user_id", "BIGINT"),
                                          ("owner_name", "TEXT"), ("active_flag", "BOOLEAN")] + _AIRBYTE_META)
    for a in acts:
        t_acts.add(**a, **_ab("activities", a["id"]))
    t_users = Table(schema, "users", [("id", "BIGINT"), ("name", "TEXT"), ("email", "TEXT"),
                                      ("active_flag", "BOOLEAN")] + _AIRBYTE_META)
    for name, uid in c.users.ids.items():
        t_users.add(id=uid, name=name, email=f"user{uid}@example.com", active_flag=True, **_ab("users", uid))
    t_pipes = Table(schema, "pipelines", [("id", "BIGINT"), ("name", "TEXT"), ("order_nr", "BIGINT"),
                                          ("active", "BOOLEAN")] + _AIRBYTE_META)
    for name, pid in c.pipes.ids.items():
        t_pipes.add(id=pid, name=name, order_nr=pid, active=True, **_ab("pipelines", pid))
    t_stages = Table(schema, "stages", [("id", "BIGINT"), ("name", "TEXT"), ("pipeline_id", "BIGINT"),
                                        ("pipeline_name", "TEXT"), ("order_nr", "BIGINT"),
                                        ("active_flag", "BOOLEAN")] + _AIRBYTE_META)
    for (pipe, stage), sid in c.stages.ids.items():
        t_stages.add(id=sid, name=stage, pipeline_id=c.pipes(pipe), pipeline_name=pipe,
                     order_nr=canon.pipelines[pipe].index(stage) + 1, active_flag=True, **_ab("stages", sid))
    first_pipe = next(iter(c.pipes.ids))
    t_stages.add(id=DELETED_STAGE, name="Удалённый этап", pipeline_id=c.pipes(first_pipe), pipeline_name=first_pipe,
                 order_nr=99, active_flag=False, **_ab("stages", DELETED_STAGE))
    t_types = Table(schema, "activity_types", [("id", "BIGINT"), ("key_string", "TEXT"), ("name", "TEXT"),
                                               ("active_flag", "BOOLEAN")] + _AIRBYTE_META)
    for i, (key, name) in enumerate(sorted(types.names.items()), start=1):
        t_types.add(id=i, key_string=key, name=name, active_flag=True, **_ab("activity_types", i))
    tables = [t_deals, t_orgs, t_persons, t_acts, t_users, t_pipes, t_stages, t_types, t_raw_deals, t_raw_orgs]
    for ent, stream, start in (("deals", "deal_fields", 12450), ("organizations", "organization_fields", 4000)):
        t = Table(schema, stream, [("id", "BIGINT"), ("key", "TEXT"), ("name", "TEXT"), ("field_type", "TEXT"),
                                   ("options", "JSON"), ("active_flag", "BOOLEAN")] + _AIRBYTE_META)
        for r in _field_rows(c, fields[ent], start):
            t.add(**r, active_flag=True, **_ab(stream, r["id"]))
        tables.append(t)
    if not raw_tables:
        tables = [t for t in tables if t.schema != raw_schema]
    return Warehouse("airbyte_pipedrive", "pipedrive", tables, extras)


def fivetran_pipedrive(canon: Canon, schema: str = "pipedrive", enum_fields: tuple[str, ...] = ("Источник сделки",
                       "Агентство ли это"), zone: str = "UTC", time_type: str = "TIMESTAMPTZ") -> Warehouse:
    """Fivetran's Pipedrive connector: singular table names, ``_fivetran_synced`` / ``_fivetran_deleted``, times as
    instants; custom fields as columns named by their API key, named by ``deal_field`` / ``organization_field``.
    ``zone``: the account's time zone the export's clock times are in (the warehouse holds the instants);
    ``time_type``: ``TIMESTAMP`` stores them without a zone, as UTC's wall clock (a destination without instants)."""
    c = _Common.of(canon, enum_fields)
    deals, orgs, persons, acts, fields, types, extras = _pipedrive_rows(c)
    ft = [("_fivetran_synced", "TIMESTAMPTZ"), ("_fivetran_deleted", "BOOLEAN")]

    def fv(deleted: bool = False) -> dict:
        return {"_fivetran_synced": SYNCED, "_fivetran_deleted": deleted}

    def when(ts: dt.datetime | None) -> dt.datetime | None:
        t = _utc(ts, zone)
        return t.replace(tzinfo=None) if t is not None and time_type == "TIMESTAMP" else t

    deal_keys, org_keys = list(extras["deal_field_keys"].values()), list(extras["org_field_keys"].values())
    t_deal = Table(schema, "deal", [
        ("id", "BIGINT"), ("user_id", "BIGINT"), ("stage_id", "BIGINT"), ("pipeline_id", "BIGINT"),
        ("org_id", "BIGINT"), ("person_id", "BIGINT"), ("title", "TEXT"), ("value", "DOUBLE"),
        ("currency", "TEXT"), ("status", "TEXT"), ("lost_reason", "TEXT"), ("add_time", time_type),
        ("stage_change_time", time_type), ("next_activity_date", "DATE")]
        + [(k, "TEXT") for k in deal_keys] + ft)
    for d in deals:
        deleted = d["id"] == DELETED_DEAL
        t_deal.add(**{k: d.get(k) for k, _ in t_deal.columns[:14] if k not in ("add_time", "stage_change_time")},
                   add_time=when(d["add_time"]), stage_change_time=when(d["stage_change_time"]),
                   **d["custom"], **fv(deleted))
    # Fivetran marks a deal deleted in Pipedrive with _fivetran_deleted; its last synced status stays as it was
    t_deal.rows[-1] = tuple("open" if col == "status" else v for (col, _), v in zip(t_deal.columns, t_deal.rows[-1]))
    t_org = Table(schema, "organization", [("id", "BIGINT"), ("name", "TEXT"), ("owner_id", "BIGINT")]
                  + [(k, "TEXT") for k in org_keys] + ft)
    for o in orgs:
        t_org.add(id=o["id"], name=o["name"], owner_id=o["owner_id"], **o["custom"], **fv())
    t_person = Table(schema, "person", [("id", "BIGINT"), ("name", "TEXT"), ("owner_id", "BIGINT"),
                                        ("org_id", "BIGINT")] + ft)
    for p in persons:
        t_person.add(id=p["id"], name=p["name"], owner_id=p["owner_id"], org_id=p["org_id"], **fv(not p["active_flag"]))
    t_act = Table(schema, "activity", [("id", "BIGINT"), ("subject", "TEXT"), ("type", "TEXT"), ("due_date", "DATE"),
                                       ("due_time", "TEXT"), ("done", "BOOLEAN"), ("deal_id", "BIGINT"),
                                       ("user_id", "BIGINT")] + ft)
    for a in acts:
        t_act.add(id=a["id"], subject=a["subject"], type=a["type"],
                  due_date=dt.date.fromisoformat(a["due_date"]) if a["due_date"] else None,
                  due_time=a["due_time"] or None, done=a["done"], deal_id=a["deal_id"], user_id=a["user_id"],
                  **fv(not a["active_flag"]))
    t_users = Table(schema, "users", [("id", "BIGINT"), ("name", "TEXT"), ("email", "TEXT"),
                                      ("active_flag", "BOOLEAN")] + ft)
    for name, uid in c.users.ids.items():
        t_users.add(id=uid, name=name, email=f"user{uid}@example.com", active_flag=True, **fv())
    t_pipe = Table(schema, "pipeline", [("id", "BIGINT"), ("name", "TEXT"), ("order_nr", "BIGINT"),
                                        ("active", "BOOLEAN")] + ft)
    for name, pid in c.pipes.ids.items():
        t_pipe.add(id=pid, name=name, order_nr=pid, active=True, **fv())
    t_stage = Table(schema, "stage", [("id", "BIGINT"), ("name", "TEXT"), ("pipeline_id", "BIGINT"),
                                      ("order_nr", "BIGINT"), ("active_flag", "BOOLEAN")] + ft)
    for (pipe, stage), sid in c.stages.ids.items():
        t_stage.add(id=sid, name=stage, pipeline_id=c.pipes(pipe), order_nr=canon.pipelines[pipe].index(stage) + 1,
                    active_flag=True, **fv())
    t_stage.add(id=DELETED_STAGE, name="Удалённый этап", pipeline_id=1, order_nr=99, active_flag=False, **fv(True))
    t_types = Table(schema, "activity_type", [("id", "BIGINT"), ("key_string", "TEXT"), ("name", "TEXT"),
                                              ("active_flag", "BOOLEAN")] + ft)
    for i, (key, name) in enumerate(sorted(types.names.items()), start=1):
        t_types.add(id=i, key_string=key, name=name, active_flag=True, **fv())
    tables = [t_deal, t_org, t_person, t_act, t_users, t_pipe, t_stage, t_types]
    for ent, tname, start in (("deals", "deal_field", 12450), ("organizations", "organization_field", 4000)):
        t = Table(schema, tname, [("id", "BIGINT"), ("key", "TEXT"), ("name", "TEXT"), ("field_type", "TEXT"),
                                  ("options", "JSON"), ("active_flag", "BOOLEAN")] + ft)
        for r in _field_rows(c, fields[ent], start):
            t.add(**r, active_flag=True, **fv())
        tables.append(t)
    return Warehouse("fivetran_pipedrive", "pipedrive", tables, extras)


# ---------------------------------------------------------------------------------------------------------------
# HubSpot


def _hubspot_rows(c: _Common):
    """HubSpot CRM v3 objects (deals, companies, contacts, tasks, owners, pipelines) for the export's data."""
    canon = c.canon
    names = {n: _internal_name(n) for ent in ("deals", "organizations") for n in canon.custom.get(ent, [])}
    owners = {name: 70000000 + i for i, name in enumerate(c.users.ids, start=1)}
    pipe_ids = {p: ("default" if i == 1 else str(18650000 + i)) for p, i in c.pipes.ids.items()}
    stage_ids = {k: str(101 + i) if k[0] != next(iter(pipe_ids)) else f"stage{i}" for k, i in c.stages.ids.items()}
    deals = []
    for d in canon.deals:
        won, lost = d.get("status") == "won", d.get("status") == "lost"
        deals.append({
            "id": str(d["id"]), "dealname": d.get("title"),
            "dealstage": stage_ids[(d["pipeline"], d["stage"])] if d.get("stage") else None,
            "pipeline": pipe_ids[d["pipeline"]] if d.get("pipeline") else None,
            "amount": d.get("value"), "deal_currency_code": d.get("currency") or None,
            "hubspot_owner_id": str(owners[d["owner"]]) if d.get("owner") else None,
            "createdate": _utc(_when(d.get("created"), d.get("created__raw"))),
            "closedate": _utc(_when(d.get("close_date"), d.get("close_date__raw"))),
            "hs_v2_date_entered_current_stage": _utc(_when(d.get("stage_changed"), d.get("stage_changed__raw"))),
            "hs_lastmodifieddate": _utc(_when(d.get("modified"), d.get("modified__raw"))),
            "notes_next_activity_date": _utc(_when(d.get("next_activity_date"), d.get("next_activity_date__raw"))),
            "closed_lost_reason": d.get("lost_reason"), "closed_won_reason": d.get("won_reason"),
            "hs_is_closed_won": won, "hs_is_closed_lost": lost, "hs_is_closed": won or lost,
            "companies": [x for x in [d.get("org_id")] if x], "contacts": [x for x in [d.get("person_id")] if x],
            "custom": {names[n]: c.custom_value(n, v) for n, v in d["custom"].items()},
        })
    template = deals[0]
    deals.append({**template, "id": str(DELETED_DEAL), "dealname": "Удалённая сделка", "companies": [],
                  "contacts": [], "custom": {k: None for k in template["custom"]}})
    companies = [{"id": str(o["id"]), "name": o.get("name"),
                  "hubspot_owner_id": str(owners[o["owner"]]) if o.get("owner") else None,
                  "custom": {names[n]: c.custom_value(n, v) for n, v in o["custom"].items()}} for o in canon.orgs]
    contacts = []
    for p in canon.persons:
        first, _, last = (p.get("name") or "").partition(" ")
        contacts.append({"id": str(p["id"]), "firstname": first or None, "lastname": last or None,
                         "hubspot_owner_id": str(owners[p["owner"]]) if p.get("owner") else None,
                         "associatedcompanyid": p.get("org_id"), "archived": False})
    contacts.append({"id": str(DELETED_PERSON), "firstname": "Удалённый", "lastname": "Контакт",
                     "hubspot_owner_id": None, "associatedcompanyid": None, "archived": True})
    tasks = []
    for a in canon.activities:
        tasks.append({"id": str(a["id"]), "hs_task_subject": a.get("subject"),
                      "hs_task_type": (a.get("type") or "").upper() or None,
                      "hs_task_status": "COMPLETED" if a.get("done") else "NOT_STARTED",
                      "hs_timestamp": _utc(_when(a.get("due_date"), a.get("due_date__raw"))),
                      "hubspot_owner_id": str(owners[a["owner"]]) if a.get("owner") else None,
                      "deals": [str(x) for x in a["deal_ids"]], "archived": False})
    target = c.first_open_deal_without_tasks()
    tasks.append({"id": str(DELETED_TASK), "hs_task_subject": "Удалённая задача", "hs_task_type": "TODO",
                  "hs_task_status": "NOT_STARTED", "hs_timestamp": dt.datetime(2026, 11, 1, 9, tzinfo=dt.timezone.utc),
                  "hubspot_owner_id": str(owners[target["owner"]]) if target.get("owner") else None,
                  "deals": [str(target["id"])], "archived": True})
    owner_rows = []
    for name, oid in owners.items():
        first, _, last = name.partition(" ")
        owner_rows.append({"id": str(oid), "firstName": first, "lastName": last or None,
                           "email": f"owner{oid}@example.com", "archived": False})
    pipelines = []
    for p, pid in pipe_ids.items():
        stages = []
        for order, s in enumerate(canon.pipelines[p]):
            closed = s.lower() in ("closed won", "closed lost")
            stages.append({"stageId": stage_ids[(p, s)], "label": s, "displayOrder": order, "active": True,
                           "metadata": {"isClosed": "true" if closed else "false",
                                        "probability": "1.0" if s.lower() == "closed won" else
                                        ("0.0" if closed else str(round(0.1 + 0.1 * order, 1)))}})
        stages.append({"stageId": str(DELETED_STAGE), "label": "Удалённый этап", "displayOrder": 99,
                       "active": False, "metadata": {"isClosed": "false", "probability": "0.0"}})
        pipelines.append({"pipelineId": pid, "label": p, "displayOrder": c.pipes(p), "active": True,
                          "stages": stages})
    extras = {"deleted_deal": DELETED_DEAL, "deleted_task": (DELETED_TASK, int(target["id"])),
              "property_names": names, "enum_options": c.enum_options, "owners": owners, "pipelines": pipe_ids,
              "stages": stage_ids}
    return deals, companies, contacts, tasks, owner_rows, pipelines, names, extras


def airbyte_hubspot(canon: Canon, schema: str = "hubspot", enum_fields: tuple[str, ...] = ()) -> Warehouse:
    """Airbyte source-hubspot -> destination-postgres: ``properties_<name>`` columns (and the ``properties`` JSON),
    associations as id arrays, pipelines with their stages as a JSON array, deleted objects in ``*_archived``."""
    c = _Common.of(canon, enum_fields)
    deals, companies, contacts, tasks, owners, pipelines, names, extras = _hubspot_rows(c)
    custom_deal = [names[n] for n in canon.custom.get("deals", [])]
    custom_org = [names[n] for n in canon.custom.get("organizations", [])]
    deal_props = [("dealname", "TEXT"), ("dealstage", "TEXT"), ("pipeline", "TEXT"), ("amount", "DECIMAL"),
                  ("deal_currency_code", "TEXT"), ("hubspot_owner_id", "TEXT"), ("createdate", "TIMESTAMPTZ"),
                  ("closedate", "TIMESTAMPTZ"), ("hs_v2_date_entered_current_stage", "TIMESTAMPTZ"),
                  ("hs_lastmodifieddate", "TIMESTAMPTZ"), ("notes_next_activity_date", "TIMESTAMPTZ"),
                  ("closed_lost_reason", "TEXT"), ("closed_won_reason", "TEXT"), ("hs_is_closed_won", "BOOLEAN"),
                  ("hs_is_closed_lost", "BOOLEAN"), ("hs_is_closed", "BOOLEAN")] + [(n, "TEXT") for n in custom_deal]
    obj = [("id", "TEXT"), ("createdAt", "TIMESTAMPTZ"), ("updatedAt", "TIMESTAMPTZ"), ("archived", "BOOLEAN"),
           ("properties", "JSON")]

    def props(rec: dict, cols) -> dict:
        flat = {**rec, **rec.get("custom", {})}
        return {f"properties_{n}": flat.get(n) for n, _ in cols}

    def jsonable(d: dict) -> dict:
        return json.loads(json.dumps(d, default=lambda v: v.isoformat().replace("+00:00", "Z")))

    deal_cols = obj + [("companies", "JSON"), ("contacts", "JSON")] + [(f"properties_{n}", t) for n, t in deal_props]
    t_deals = Table(schema, "deals", deal_cols + _AIRBYTE_META)
    t_archived = Table(schema, "deals_archived", deal_cols + _AIRBYTE_META)
    for d in deals:
        p = props(d, deal_props)
        row = dict(id=d["id"], createdAt=p["properties_createdate"], updatedAt=SYNCED - dt.timedelta(hours=1),
                   archived=False, properties=jsonable({k[11:]: v for k, v in p.items()}),
                   companies=[int(x) for x in d["companies"]], contacts=[int(x) for x in d["contacts"]], **p)
        t_deals.add(**row, **_ab("deals", d["id"]))  # a deleted deal stays in ``deals`` as last synced
        if d["id"] == str(DELETED_DEAL):
            t_archived.add(**{**row, "archived": True}, **_ab("deals_archived", d["id"]))
    comp_props = [("name", "TEXT"), ("hubspot_owner_id", "TEXT")] + [(n, "TEXT") for n in custom_org]
    t_comp = Table(schema, "companies", obj + [(f"properties_{n}", t) for n, t in comp_props] + _AIRBYTE_META)
    for o in companies:
        p = props(o, comp_props)
        t_comp.add(id=o["id"], createdAt=SYNCED - dt.timedelta(days=90), updatedAt=SYNCED - dt.timedelta(days=1),
                   archived=False, properties=jsonable({k[11:]: v for k, v in p.items()}), **p, **_ab("companies", o["id"]))
    cont_props = [("firstname", "TEXT"), ("lastname", "TEXT"), ("hubspot_owner_id", "TEXT"),
                  ("associatedcompanyid", "TEXT")]
    t_cont = Table(schema, "contacts", obj + [("companies", "JSON")] + [(f"properties_{n}", t) for n, t in cont_props]
                   + _AIRBYTE_META)
    t_cont_arch = Table(schema, "contacts_archived", t_cont.columns)
    for p0 in contacts:
        p = props(p0, cont_props)
        row = dict(id=p0["id"], createdAt=SYNCED - dt.timedelta(days=60), updatedAt=SYNCED - dt.timedelta(days=1),
                   archived=p0["archived"], properties=jsonable({k[11:]: v for k, v in p.items()}),
                   companies=[int(p0["associatedcompanyid"])] if p0["associatedcompanyid"] else [], **p)
        (t_cont_arch if p0["archived"] else t_cont).add(**row, **_ab("contacts", p0["id"]))
    task_props = [("hs_task_subject", "TEXT"), ("hs_task_type", "TEXT"), ("hs_task_status", "TEXT"),
                  ("hs_timestamp", "TIMESTAMPTZ"), ("hubspot_owner_id", "TEXT")]
    task_cols = obj + [("deals", "JSON"), ("companies", "JSON"), ("contacts", "JSON")] + \
        [(f"properties_{n}", t) for n, t in task_props] + _AIRBYTE_META
    t_tasks = Table(schema, "engagements_tasks", task_cols)
    t_tasks_arch = Table(schema, "engagements_tasks_archived", task_cols)
    for tk in tasks:
        p = props(tk, task_props)
        row = dict(id=tk["id"], createdAt=SYNCED - dt.timedelta(days=30), updatedAt=SYNCED - dt.timedelta(days=1),
                   archived=False, properties=jsonable({k[11:]: v for k, v in p.items()}), deals=tk["deals"],
                   companies=[], contacts=[], **p)
        t_tasks.add(**row, **_ab("engagements_tasks", tk["id"]))  # the deleted task stays as last synced ...
        if tk["archived"]:  # ... and its deletion is in the archived stream
            t_tasks_arch.add(**{**row, "archived": True}, **_ab("engagements_tasks_archived", tk["id"]))
    t_owners = Table(schema, "owners", [("id", "TEXT"), ("email", "TEXT"), ("firstName", "TEXT"), ("lastName", "TEXT"),
                                        ("userId", "BIGINT"), ("createdAt", "TIMESTAMPTZ"), ("updatedAt", "TIMESTAMPTZ"),
                                        ("archived", "BOOLEAN"), ("teams", "JSON")] + _AIRBYTE_META)
    for o in owners:
        t_owners.add(**o, userId=int(o["id"]) - 70000000 + 500, createdAt=SYNCED - dt.timedelta(days=365),
                     updatedAt=SYNCED - dt.timedelta(days=10), teams=[], **_ab("owners", o["id"]))
    t_pipes = Table(schema, "deal_pipelines", [("pipelineId", "TEXT"), ("label", "TEXT"), ("displayOrder", "BIGINT"),
                                               ("active", "BOOLEAN"), ("stages", "JSON"), ("objectType", "TEXT"),
                                               ("createdAt", "BIGINT"), ("updatedAt", "BIGINT")] + _AIRBYTE_META)
    for p in pipelines:
        t_pipes.add(**p, objectType="DEAL", createdAt=1700000000000, updatedAt=1760000000000,
                    **_ab("deal_pipelines", p["pipelineId"]))
    tables = [t_deals, t_archived, t_comp, t_cont, t_cont_arch, t_tasks, t_tasks_arch, t_owners, t_pipes]
    return Warehouse("airbyte_hubspot", "hubspot", tables, extras)


def fivetran_hubspot(canon: Canon, schema: str = "hubspot", enum_fields: tuple[str, ...] = ("Агентство ли это",)) -> Warehouse:
    """Fivetran's HubSpot connector (tables as dbt_hubspot_source declares them): ``property_<name>`` columns,
    association tables, ``is_deleted`` / ``_fivetran_deleted``, labels in ``property`` / ``property_option``."""
    c = _Common.of(canon, enum_fields)
    deals, companies, contacts, tasks, owners, pipelines, names, extras = _hubspot_rows(c)
    ft = [("_fivetran_synced", "TIMESTAMPTZ")]
    syn = {"_fivetran_synced": SYNCED}
    custom_deal = [names[n] for n in canon.custom.get("deals", [])]
    custom_org = [names[n] for n in canon.custom.get("organizations", [])]
    t_deal = Table(schema, "deal", [
        ("deal_id", "BIGINT"), ("portal_id", "BIGINT"), ("is_deleted", "BOOLEAN"), ("deal_pipeline_id", "TEXT"),
        ("deal_pipeline_stage_id", "TEXT"), ("owner_id", "BIGINT"), ("property_dealname", "TEXT"),
        ("property_amount", "DOUBLE"), ("property_deal_currency_code", "TEXT"), ("property_createdate", "TIMESTAMPTZ"),
        ("property_closedate", "TIMESTAMPTZ"), ("property_hs_v2_date_entered_current_stage", "TIMESTAMPTZ"),
        ("property_hs_lastmodifieddate", "TIMESTAMPTZ"), ("property_notes_next_activity_date", "TIMESTAMPTZ"),
        ("property_closed_lost_reason", "TEXT"), ("property_closed_won_reason", "TEXT"),
        ("property_hs_is_closed_won", "BOOLEAN"), ("property_hs_is_closed_lost", "BOOLEAN"),
        ("property_hs_is_closed", "BOOLEAN")] + [(f"property_{n}", "TEXT") for n in custom_deal] + ft)
    t_dc = Table(schema, "deal_company", [("deal_id", "BIGINT"), ("company_id", "BIGINT"), ("type_id", "BIGINT"),
                                          ("category", "TEXT")] + ft)
    t_dct = Table(schema, "deal_contact", [("deal_id", "BIGINT"), ("contact_id", "BIGINT"), ("type_id", "BIGINT"),
                                           ("category", "TEXT")] + ft)
    for d in deals:
        t_deal.add(deal_id=int(d["id"]), portal_id=7780468, is_deleted=d["id"] == str(DELETED_DEAL),
                   deal_pipeline_id=d["pipeline"], deal_pipeline_stage_id=d["dealstage"],
                   owner_id=_int(d["hubspot_owner_id"]), property_dealname=d["dealname"], property_amount=d["amount"],
                   property_deal_currency_code=d["deal_currency_code"], property_createdate=d["createdate"],
                   property_closedate=d["closedate"],
                   property_hs_v2_date_entered_current_stage=d["hs_v2_date_entered_current_stage"],
                   property_hs_lastmodifieddate=d["hs_lastmodifieddate"],
                   property_notes_next_activity_date=d["notes_next_activity_date"],
                   property_closed_lost_reason=d["closed_lost_reason"], property_closed_won_reason=d["closed_won_reason"],
                   property_hs_is_closed_won=d["hs_is_closed_won"], property_hs_is_closed_lost=d["hs_is_closed_lost"],
                   property_hs_is_closed=d["hs_is_closed"], **{f"property_{k}": v for k, v in d["custom"].items()}, **syn)
        for i, co in enumerate(d["companies"]):  # HubSpot's deal-to-company types: 5 the primary, 341 every association
            for type_id in ((5, 341) if i == 0 else (341,)):
                t_dc.add(deal_id=int(d["id"]), company_id=int(co), type_id=type_id, category="HUBSPOT_DEFINED", **syn)
        for ct in d["contacts"]:
            t_dct.add(deal_id=int(d["id"]), contact_id=int(ct), type_id=3, category="HUBSPOT_DEFINED", **syn)
    t_comp = Table(schema, "company", [("id", "BIGINT"), ("portal_id", "BIGINT"), ("is_deleted", "BOOLEAN"),
                                       ("property_name", "TEXT"), ("property_hubspot_owner_id", "BIGINT")]
                   + [(f"property_{n}", "TEXT") for n in custom_org] + ft)
    for o in companies:
        t_comp.add(id=int(o["id"]), portal_id=7780468, is_deleted=False, property_name=o["name"],
                   property_hubspot_owner_id=_int(o["hubspot_owner_id"]),
                   **{f"property_{k}": v for k, v in o["custom"].items()}, **syn)
    t_cont = Table(schema, "contact", [("id", "BIGINT"), ("_fivetran_deleted", "BOOLEAN"), ("property_firstname", "TEXT"),
                                       ("property_lastname", "TEXT"), ("property_hubspot_owner_id", "BIGINT"),
                                       ("property_associatedcompanyid", "BIGINT")] + ft)
    for p in contacts:
        t_cont.add(id=int(p["id"]), _fivetran_deleted=p["archived"], property_firstname=p["firstname"],
                   property_lastname=p["lastname"], property_hubspot_owner_id=_int(p["hubspot_owner_id"]),
                   property_associatedcompanyid=_int(p["associatedcompanyid"]), **syn)
    t_eng = Table(schema, "engagement", [("id", "BIGINT"), ("portal_id", "BIGINT"), ("type", "TEXT"),
                                         ("_fivetran_deleted", "BOOLEAN")] + ft)
    t_task = Table(schema, "engagement_task", [("engagement_id", "BIGINT"), ("_fivetran_deleted", "BOOLEAN"),
                                               ("property_hs_task_subject", "TEXT"), ("property_hs_task_type", "TEXT"),
                                               ("property_hs_task_status", "TEXT"), ("property_hs_timestamp", "TIMESTAMPTZ"),
                                               ("property_hubspot_owner_id", "BIGINT")] + ft)
    t_ed = Table(schema, "engagement_deal", [("engagement_id", "BIGINT"), ("deal_id", "BIGINT"), ("category", "TEXT")] + ft)
    for tk in tasks:
        t_eng.add(id=int(tk["id"]), portal_id=7780468, type="TASK", _fivetran_deleted=tk["archived"], **syn)
        t_task.add(engagement_id=int(tk["id"]), _fivetran_deleted=tk["archived"], property_hs_task_subject=tk["hs_task_subject"],
                   property_hs_task_type=tk["hs_task_type"], property_hs_task_status=tk["hs_task_status"],
                   property_hs_timestamp=tk["hs_timestamp"], property_hubspot_owner_id=_int(tk["hubspot_owner_id"]), **syn)
        for d in tk["deals"]:
            t_ed.add(engagement_id=int(tk["id"]), deal_id=int(d), category="HUBSPOT_DEFINED", **syn)
    t_owner = Table(schema, "owner", [("owner_id", "BIGINT"), ("portal_id", "BIGINT"), ("email", "TEXT"),
                                      ("first_name", "TEXT"), ("last_name", "TEXT"), ("type", "TEXT"),
                                      ("active_user_id", "BIGINT")] + ft)
    for o in owners:
        t_owner.add(owner_id=int(o["id"]), portal_id=7780468, email=o["email"], first_name=o["firstName"],
                    last_name=o["lastName"], type="PERSON", active_user_id=int(o["id"]) - 70000000 + 500, **syn)
    t_pipe = Table(schema, "deal_pipeline", [("pipeline_id", "TEXT"), ("label", "TEXT"), ("display_order", "BIGINT"),
                                             ("active", "BOOLEAN"), ("_fivetran_deleted", "BOOLEAN")] + ft)
    t_stage = Table(schema, "deal_pipeline_stage", [("stage_id", "TEXT"), ("pipeline_id", "TEXT"), ("label", "TEXT"),
                                                    ("display_order", "BIGINT"), ("probability", "DOUBLE"),
                                                    ("is_closed", "BOOLEAN"), ("closed_won", "BOOLEAN"),
                                                    ("active", "BOOLEAN"), ("_fivetran_deleted", "BOOLEAN")] + ft)
    for p in pipelines:
        t_pipe.add(pipeline_id=p["pipelineId"], label=p["label"], display_order=p["displayOrder"], active=True,
                   _fivetran_deleted=False, **syn)
        for s in p["stages"]:
            deleted = s["stageId"] == str(DELETED_STAGE)
            if deleted and p is not pipelines[0]:
                continue
            t_stage.add(stage_id=s["stageId"], pipeline_id=p["pipelineId"], label=s["label"],
                        display_order=s["displayOrder"], probability=float(s["metadata"]["probability"]),
                        is_closed=s["metadata"]["isClosed"] == "true", closed_won=s["label"].lower() == "closed won",
                        active=s["active"], _fivetran_deleted=deleted, **syn)
    t_prop = Table(schema, "property", [("_fivetran_id", "TEXT"), ("name", "TEXT"), ("label", "TEXT"),
                                        ("hubspot_object", "TEXT"), ("type", "TEXT"), ("field_type", "TEXT"),
                                        ("hubspot_defined", "BOOLEAN")] + ft)
    t_opt = Table(schema, "property_option", [("property_id", "TEXT"), ("label", "TEXT"), ("value", "TEXT"),
                                              ("display_order", "BIGINT"), ("hidden", "BOOLEAN")] + ft)
    for obj_name, labels in (("deal", canon.custom.get("deals", [])), ("company", canon.custom.get("organizations", []))):
        for label in labels:
            fid = hashlib.md5(f"{obj_name}/{names[label]}".encode()).hexdigest()
            opts = c.enum_options.get(label)
            t_prop.add(_fivetran_id=fid, name=names[label], label=label, hubspot_object=obj_name,
                       type="enumeration" if opts else "string", field_type="select" if opts else "text",
                       hubspot_defined=False, **syn)
            for i, (olabel, oid) in enumerate((opts or {}).items()):
                t_opt.add(property_id=fid, label=olabel, value=str(oid), display_order=i, hidden=False, **syn)
    tables = [t_deal, t_dc, t_dct, t_comp, t_cont, t_eng, t_task, t_ed, t_owner, t_pipe, t_stage, t_prop, t_opt]
    return Warehouse("fivetran_hubspot", "hubspot", tables, extras)


LAYOUTS = {"airbyte_pipedrive": airbyte_pipedrive, "airbyte_hubspot": airbyte_hubspot,
           "fivetran_pipedrive": fivetran_pipedrive, "fivetran_hubspot": fivetran_hubspot}


@functools.lru_cache(maxsize=8)
def _canonical(export_dir: Path, crm: str, settings: Path | None) -> Canon:
    return canonical(export_dir, crm, settings)  # the layouts only read it


def build(connector: str, export_dir: Path | None = None, settings: Path | None = None, **kw) -> Warehouse:
    """The connector's tables for an export (default: the demo export for Pipedrive, the HubSpot fixture)."""
    crm = connector.split("_", 1)[1]
    if export_dir is None:
        export_dir, settings = (DEMO_EXPORT, DEMO_SETTINGS) if crm == "pipedrive" else (HUBSPOT_EXPORT, HUBSPOT_SETTINGS)
    return LAYOUTS[connector](_canonical(Path(export_dir), crm, Path(settings) if settings else None), **kw)


# ---------------------------------------------------------------------------------------------------------------
# schema variants a real warehouse shows (the acceptance tester's, issue 15): a table's columns retyped or dropped, a
# field-metadata row added


def retype(wh: Warehouse, table: str, columns: dict[str, str]) -> Warehouse:
    """``columns`` (name -> neutral type) of ``table`` stored as another type (ids as DOUBLE, as a destination types a
    JSON number; a number custom field as DOUBLE); the values converted (``float`` for DOUBLE / DECIMAL)."""
    t = wh.table(table)
    conv = {"DOUBLE": float, "DECIMAL": float, "TEXT": str, "BIGINT": int}
    idx = {i: typ for i, (c, _t) in enumerate(t.columns) for name, typ in columns.items() if c == name}
    assert len(idx) == len(columns), f"{table}: no column {sorted(columns)}"
    t.columns = [(c, idx.get(i, typ)) for i, (c, typ) in enumerate(t.columns)]
    t.rows = [tuple(conv[idx[i]](v) if i in idx and v not in (None, "") else (None if i in idx else v)
                    for i, v in enumerate(r)) for r in t.rows]
    return wh


def drop_columns(wh: Warehouse, table: str, names: list[str]) -> Warehouse:
    """``table`` without the columns ``names`` (a connector version without them, a field before the next sync)."""
    t = wh.table(table)
    keep = [i for i, (c, _t) in enumerate(t.columns) if c not in names]
    assert len(keep) == len(t.columns) - len(names), f"{table}: no column {names}"
    t.columns = [t.columns[i] for i in keep]
    t.rows = [tuple(r[i] for i in keep) for r in t.rows]
    return wh


def add_column(wh: Warehouse, table: str, name: str, typ: str = "TEXT", value: Any = None) -> Warehouse:
    """A column of ``value`` in every row of ``table`` (an old field's column, NULL since the field was deleted)."""
    t = wh.table(table)
    t.columns = [*t.columns, (name, typ)]
    t.rows = [(*r, value) for r in t.rows]
    return wh


#: JSON held in an engine's own JSON type where the writer's default is text: ClickHouse ``JSON`` (objects only: a
#: root array cannot be one), Spark / Databricks ``VARIANT`` (``parse_json``)
NATIVE_JSON = "NATIVE_JSON"


def json_as(wh: Warehouse, typ: str, objects_only: bool = False) -> Warehouse:
    """Every JSON column of the warehouse stored as ``typ`` instead: ``TEXT`` (its JSON text in a text column, as a
    team's own job or an older destination writes it; PostgreSQL text, DuckDB VARCHAR) or :data:`NATIVE_JSON`;
    ``objects_only``: only the columns whose values are all objects (ClickHouse's JSON holds no root array)."""
    for t in wh.tables:
        cols = []
        for i, (c, old) in enumerate(t.columns):
            objects = all(r[i] is None or isinstance(r[i], dict) for r in t.rows)
            new = typ if old == "JSON" and (objects or not objects_only) else old
            cols.append((c, new))
            if new == "TEXT" and old == "JSON":
                t.rows = [(*r[:i], _value(r[i], "JSON"), *r[i + 1:]) for r in t.rows]
        t.columns = cols
    return wh


def custom_key(wh: Warehouse, entity: str, name: str) -> str:
    """The key (the data column's name) of the custom field ``name`` of ``entity`` (deals, organizations)."""
    return wh.extras["deal_field_keys" if entity == "deals" else "org_field_keys"][name]


# ---------------------------------------------------------------------------------------------------------------
# writers


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _value(v: Any, typ: str) -> Any:
    if typ in ("JSON", NATIVE_JSON) and v is not None:
        return json.dumps(v, ensure_ascii=False, default=lambda x: x.isoformat().replace("+00:00", "Z"))
    return v


_ARROW = {"BIGINT": "int64", "TEXT": "string", "DOUBLE": "float64", "DECIMAL": "float64", "BOOLEAN": "bool_",
          "DATE": "date32", "TIMESTAMP": "timestamp", "TIMESTAMPTZ": "timestamptz", "JSON": "string", NATIVE_JSON: "string"}


def _arrow(t: Table):
    import pyarrow as pa

    arrays = []
    for i, (_, typ) in enumerate(t.columns):
        kind = _ARROW[typ]
        pa_type = (pa.timestamp("us") if kind == "timestamp" else pa.timestamp("us", tz="UTC") if kind == "timestamptz"
                   else getattr(pa, kind)())
        arrays.append(pa.array([_value(r[i], typ) for r in t.rows], type=pa_type))
    return pa.table(arrays, names=[f"c{i}" for i in range(len(t.columns))])


def write_duckdb(wh: Warehouse, path: Path | str) -> Path:
    """Write the tables into a DuckDB database file (replacing one that is there)."""
    import duckdb

    path = Path(path)
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    try:
        con.execute("SET TimeZone = 'UTC'")
        for t in wh.tables:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(t.schema)}")
            data = _arrow(t)  # noqa: F841 (read by name below)
            select = ", ".join(f"CAST(c{i} AS {_TYPES[typ][0]}) AS {_q(c)}" for i, (c, typ) in enumerate(t.columns))
            con.execute(f"CREATE TABLE {_q(t.schema)}.{_q(t.name)} AS SELECT {select} FROM data")
    finally:
        con.close()
    return path


def write_postgres(wh: Warehouse, conn, schemas: dict[str, str] | None = None) -> None:
    """Write the tables through a psycopg connection (autocommit); ``schemas`` renames schemas (one per test)."""
    schemas = schemas or {}
    cur = conn.cursor()
    for t in wh.tables:
        schema = schemas.get(t.schema, t.schema)
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(schema)}")
        cur.execute(f"DROP TABLE IF EXISTS {_q(schema)}.{_q(t.name)}")
        cols = ", ".join(f"{_q(c)} {_TYPES[typ][1]}" for c, typ in t.columns)
        cur.execute(f"CREATE TABLE {_q(schema)}.{_q(t.name)} ({cols})")
        names = ", ".join(_q(c) for c, _ in t.columns)
        with cur.copy(f"COPY {_q(schema)}.{_q(t.name)} ({names}) FROM STDIN") as cp:
            for r in t.rows:
                cp.write_row([_value(v, typ) for v, (_, typ) in zip(r, t.columns)])


#: neutral column types -> ClickHouse (a connector's ClickHouse destination: JSON as String, times as UTC instants)
_CH_TYPES = {"BIGINT": "Int64", "TEXT": "String", "DOUBLE": "Float64", "DECIMAL": "Decimal(38, 9)", "BOOLEAN": "Bool",
             "DATE": "Date32", "TIMESTAMP": "DateTime64(6, 'UTC')", "TIMESTAMPTZ": "DateTime64(6, 'UTC')", "JSON": "String",
             NATIVE_JSON: "JSON"}
#: neutral column types -> Spark SQL (Databricks: JSON as STRING; a timestamp without a zone is TIMESTAMP_NTZ)
_SPARK_TYPES = {"BIGINT": "BIGINT", "TEXT": "STRING", "DOUBLE": "DOUBLE", "DECIMAL": "DECIMAL(38, 9)", "BOOLEAN": "BOOLEAN",
                "DATE": "DATE", "TIMESTAMP": "TIMESTAMP_NTZ", "TIMESTAMPTZ": "TIMESTAMP", "JSON": "STRING",
                NATIVE_JSON: "VARIANT"}
_TIMES = ("DATE", "TIMESTAMP", "TIMESTAMPTZ")


def _as_text(v: Any, typ: str, offset: bool) -> Any:
    """A date or a time as text an engine casts exactly: an instant in UTC (``offset``: ending ``+00:00``, for an
    engine that would read it in the session's zone), a wall clock as it is."""
    if v is None or typ not in _TIMES:
        return v
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return v.isoformat(sep=" ") + ("+00:00" if offset else "")
    return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()


def _arrow_text_times(t: Table, offset: bool = False):
    """The table as Arrow with its dates and times as text (:func:`_as_text`), the rest typed."""
    import pyarrow as pa

    arrays = []
    for i, (_, typ) in enumerate(t.columns):
        if typ in _TIMES:
            arrays.append(pa.array([_as_text(r[i], typ, offset) for r in t.rows], type=pa.string()))
        else:
            kind = _ARROW[typ]
            arrays.append(pa.array([_value(r[i], typ) for r in t.rows], type=getattr(pa, kind)()))
    return pa.table(arrays, names=[f"c{i}" for i in range(len(t.columns))])


def write_clickhouse(wh: Warehouse, folder: Path | str, schemas: dict[str, str] | None = None) -> Path:
    """Write the tables into an embedded ClickHouse's data folder (chdb; one database per schema, MergeTree tables, so
    that a later session over the folder — ``crm-audit run --engine chdb:///folder`` — reads them)."""
    from chdb import session

    schemas = schemas or {}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    s = session.Session(str(folder))
    try:
        for t in wh.tables:
            db = "`" + schemas.get(t.schema, t.schema) + "`"
            s.query(f"CREATE DATABASE IF NOT EXISTS {db}")
            cols = ", ".join(f"`{c}` Nullable({_CH_TYPES[typ]})" for c, typ in t.columns)
            s.query(f"DROP TABLE IF EXISTS {db}.`{t.name}`")
            s.query(f"CREATE TABLE {db}.`{t.name}` ({cols}) ENGINE = MergeTree ORDER BY tuple() "
                    "SETTINGS allow_nullable_key = 1")
            if t.rows:
                data = _arrow_text_times(t)  # noqa: F841 (read by name by Python())
                select = ", ".join(f"CAST(c{i} AS Nullable({_CH_TYPES[typ]}))" for i, (_c, typ) in enumerate(t.columns))
                s.query(f"INSERT INTO {db}.`{t.name}` SELECT {select} FROM Python(data)")
    finally:
        s.close()
    return folder


def write_spark(wh: Warehouse, spark, schemas: dict[str, str] | None = None) -> None:
    """Write the tables as tables of a Spark session's catalog (one database per schema; the session's warehouse
    folder holds them as Parquet), as a connector's Databricks destination does."""
    schemas = schemas or {}
    for t in wh.tables:
        db = "`" + schemas.get(t.schema, t.schema) + "`"
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {db}")
        spark.sql(f"DROP TABLE IF EXISTS {db}.`{t.name}`")
        select = ", ".join((f"parse_json(c{i})" if typ == NATIVE_JSON else f"CAST(c{i} AS {_SPARK_TYPES[typ]})") + f" AS `{c}`"
                           for i, (c, typ) in enumerate(t.columns))
        data = _arrow_text_times(t, offset=True)  # Spark reads a time without an offset in the session's zone
        if t.rows:
            spark.createDataFrame(data).createOrReplaceTempView("_crm_audit_load")
            spark.sql(f"CREATE TABLE {db}.`{t.name}` USING parquet AS SELECT {select} FROM _crm_audit_load")
            spark.catalog.dropTempView("_crm_audit_load")
        else:
            cols = ", ".join(f"`{c}` {_SPARK_TYPES[typ]}" for c, typ in t.columns)
            spark.sql(f"CREATE TABLE {db}.`{t.name}` ({cols}) USING parquet")


__all__ = ["AS_OF", "CONNECTORS", "NATIVE_JSON", "Canon", "Table", "Warehouse", "add_column", "build", "canonical",
           "custom_key", "drop_columns", "json_as", "retype", "write_clickhouse", "write_duckdb", "write_postgres", "write_spark"]
