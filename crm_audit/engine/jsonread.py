"""An API's list dumped as JSON, read into the raw table shape of a CSV (``_row``, ``c0 … cN``, headers).

A team that scripts its export saves what the API answers: amoCRM v4's ``{"_embedded": {"leads": [...]}}``,
Pipedrive's ``{"data": [...]}``, HubSpot's ``{"results": [...]}``, Bitrix24's ``{"result": [...]}`` or a bare list.
The records are the first list of objects of the document (:data:`RECORD_KEYS` first); each record is one row. The
flattening is generic, never per CRM:

* a scalar field is a column of its name (``true`` / ``false`` for booleans, blank for null);
* an object field that is a record of its own — it has an id (Pipedrive's ``user_id: {"id": 1, "name": "Ann", …}``,
  ``org_id: {"value": 3, "name": "Acme"}``) or is a Salesforce sObject (``Owner: {"attributes": …, "Name": "Ann"}``)
  — is its id under the field's name and its scalar fields as ``<field>.<name>`` (``user_id.name``, ``Owner.Name``:
  the headers a Salesforce Data Loader export writes); :data:`SKIP_KEYS` (record metadata) are left out;
* any other object field's scalar fields are columns too, unless the record has a field of that name (HubSpot's
  ``metadata``, ``properties``); the object's lists are read as a record's own (amoCRM's ``_embedded``; HubSpot's
  ``associations: {"companies": {"results": [...]}}`` — a response nested in a field is its list);
* a list of objects each naming a field and holding its values (``{"field_name": …, "values": [{"value": …}]}``,
  amoCRM's ``custom_fields_values``) is one column per named field, its values joined by «, »;
* any other list of objects is its first object's scalar fields, each as ``<the list's name in the singular>_<field>``
  (amoCRM's ``_embedded.companies[0].id`` → ``company_id``: a lead's own company, the first one linked), and the ids
  of all as ``<singular>_ids`` joined by «;» (HubSpot's task associated with several deals: ``deal_ids`` «201;204»);
* a list of scalars (Bitrix24's multiple custom field ``"UF_CRM_1700000001": ["45", "47"]``, tags as strings) is one
  cell, its items joined by «, » (the separator an option-label mapping splits on), an empty list a blank cell.

The document is one API response, a list of records, several responses (pages) in a JSON array, or JSON Lines (one
record or one response a line): the pages' records are read one after another.

A list read for a lookup (``nests``: the profile's ``json_items`` / ``json_parent``, HubSpot's or amoCRM's pipelines
with their stages nested) is one row per nested record, its parent's scalar fields first, prefixed.
"""

from __future__ import annotations

import json
from pathlib import Path

#: a JSON dump's file names: one document, or JSON Lines
SUFFIXES = (".json", ".jsonl", ".ndjson")
#: where an API's list response keeps its records: Pipedrive `data`, HubSpot v3 `results`, Bitrix24 `result`,
#: amoCRM v4 `_embedded.<name>`, Salesforce REST `records` (any first list of objects is taken, these first)
RECORD_KEYS = ("data", "results", "result", "_embedded", "records", "items", "users")
#: the keys of a «named field with values» object (amoCRM's custom_fields_values items)
FIELD_NAME_KEYS = ("field_name", "name", "label", "field_code")
FIELD_VALUE_KEYS = ("values", "value")
#: the id of an object field that is a record of its own (Pipedrive's ``user_id: {"id": …}``, ``org_id: {"value": …}``)
ID_KEYS = ("id", "Id", "ID", "value")
#: object fields that are record metadata, not data (Salesforce's ``attributes``: type, url; HAL's ``_links``)
SKIP_KEYS = ("attributes", "_links")
#: an object field holding this is a Salesforce sObject (``Owner: {"attributes": {...}, "Name": "Ann"}``)
SOBJECT_KEY = "attributes"


class JsonSyntaxError(ValueError):
    """A file that is not JSON (nor JSON Lines): where it breaks (1-based line and column) and why."""

    def __init__(self, line: int, column: int, why: str):
        super().__init__(f"line {line}, column {column}: {why}")
        self.line, self.column, self.why = line, column, why


def _envelope(doc) -> bool:
    """Whether ``doc`` is an API response holding records (a page of a dump), not a record: no id of its own and a list
    of records under one of :data:`RECORD_KEYS` (directly or one level down, Bitrix24's ``result.categories``)."""
    if not isinstance(doc, dict) or any(k in doc and not isinstance(doc[k], (dict, list)) for k in ID_KEYS[:3]):
        return False
    return any(isinstance(doc.get(k), (list, dict)) and records(doc[k], 2) is not None for k in RECORD_KEYS)


def records(doc, depth: int = 0) -> list[dict] | None:
    """The first list of objects in an API response (the response itself when it is one); the records of every page
    when ``doc`` is a list of responses (a dump of several pages)."""
    if isinstance(doc, list):
        if not doc or not all(isinstance(x, dict) for x in doc):
            return None
        if depth == 0 and all(_envelope(x) for x in doc):
            return [r for page in doc for r in records(page, 1) or []] or None
        return doc
    if not isinstance(doc, dict) or depth > 3:
        return None
    keys = sorted(doc, key=lambda k: (k not in RECORD_KEYS, RECORD_KEYS.index(k) if k in RECORD_KEYS else 0))
    for k in keys:
        found = records(doc[k], depth + 1)
        if found:
            return found
    return None


def _singular(name: str) -> str:
    n = name.lower()
    if n.endswith("ies") and len(n) > 3:
        return name[:-3] + "y"
    if n.endswith(("sses", "xes", "ches", "shes")):
        return name[:-2]
    if n.endswith("s") and not n.endswith("ss"):
        return name[:-1]
    return name


def _value_text(v) -> str | None:
    if isinstance(v, dict):
        v = next((v[k] for k in ("value", "enum", "name", "label") if k in v and not isinstance(v[k], (dict, list))), None)
    if v is None or isinstance(v, list):
        return None
    return text(v) or None


def _named_values(items: list) -> dict | None:
    """A list of «named field with values» objects as {field name: its values joined}, None when it is not one."""
    if not items or not all(isinstance(x, dict) for x in items):
        return None
    out: dict = {}
    for item in items:
        name = next((item[k] for k in FIELD_NAME_KEYS if isinstance(item.get(k), str) and item[k].strip()), None)
        key = next((k for k in FIELD_VALUE_KEYS if k in item), None)
        if name is None or key is None:
            return None
        vals = item[key] if isinstance(item[key], list) else [item[key]]
        out[name.strip()] = ", ".join(t for t in (_value_text(v) for v in vals) if t)
    return out


def _id(obj: dict):
    return next((obj[k] for k in ID_KEYS if k in obj and obj[k] is not None and not isinstance(obj[k], (dict, list))), None)


def _lists(field: str, v: list, out: dict) -> None:
    named = _named_values(v)
    if named is not None:
        out.update((k, x) for k, x in named.items() if k not in out)
        return
    if v and isinstance(v[0], dict):
        prefix = _singular(field).lstrip("_") + "_"
        out.update((prefix + k, x) for k, x in v[0].items() if not isinstance(x, (dict, list)) and prefix + k not in out)
        ids = [text(i) for i in dict.fromkeys(_id(x) for x in v if isinstance(x, dict)) if i is not None]
        if ids and prefix + "ids" not in out:
            out[prefix + "ids"] = ";".join(ids)


def _nested_list(v):
    """An object field's list of records when the field holds a response of its own (HubSpot's
    ``associations.deals: {"results": [...]}``, a Salesforce subquery's ``{"totalSize", "done", "records"}``)."""
    if isinstance(v, list):
        return v
    if isinstance(v, dict) and _envelope(v):
        return records(v, 1)
    return None


def _scalar_list(v) -> bool:
    """A list whose items are all scalars (an empty list too): read as one cell."""
    return isinstance(v, list) and not any(isinstance(x, (dict, list)) for x in v)


def _cell(v):
    """A field's value as a cell: a list of scalars is its items joined by «, » (blank when empty)."""
    return ", ".join(t for t in (text(x).strip() for x in v) if t) if isinstance(v, list) else v


def keyed_records(doc, key: str, depth: int = 0) -> list[dict] | None:
    """The records of a document that keeps them in an object keyed by each record's key instead of a list (Bitrix24's
    crm.deal.fields: ``{"result": {"ID": {"type": …, "title": "ID"}, "UF_CRM_…": {…}}}``; crm.item.fields one level
    down, ``result.fields``): each value an object, read as a record with its key under ``key``; None when ``doc`` is
    no such object (a list of records, an object with scalar fields)."""
    if not isinstance(doc, dict) or not doc or depth > 2:
        return None
    for k in RECORD_KEYS + ("fields",):
        found = keyed_records(doc.get(k), key, depth + 1) if isinstance(doc.get(k), dict) else None
        if found:
            return found
    if not all(isinstance(v, dict) for v in doc.values()):
        return None
    if any(isinstance(v.get(k), list) for v in doc.values() for k in RECORD_KEYS[:3]):  # pages of a list, not records
        return None
    return [{key: k, **{k2: x for k2, x in v.items() if k2 != key}} for k, v in doc.items()]


def _is_reference(v: dict) -> bool:
    """An object field that is a record of its own: it has an id, or it is a Salesforce sObject."""
    return SOBJECT_KEY in v or _id(v) is not None


def scalars(record: dict, prefix: str = "", lists: bool = False) -> dict:
    """A record's scalar fields, those of an object field (HubSpot's stage `metadata`: isClosed, probability) after
    them unless the record has a field of that name; ``lists``: its lists of objects too (see the module's doc)."""
    out = {prefix + k: _cell(v) for k, v in record.items() if not isinstance(v, (dict, list)) or _scalar_list(v)}
    objects = {k: v for k, v in record.items() if isinstance(v, dict) and k not in SKIP_KEYS and not _envelope(v)}
    for k, v in objects.items():
        if _is_reference(v):  # user_id: {"id": 1, "name": "Ann"} -> user_id 1, user_id.name Ann
            if prefix + k not in out and _id(v) is not None:
                out[prefix + k] = _id(v)
            out.update((f"{prefix}{k}.{k2}", x) for k2, x in v.items() if not isinstance(x, (dict, list)))
    for k, v in objects.items():
        if not _is_reference(v):
            out.update((prefix + k2, x) for k2, x in v.items() if not isinstance(x, (dict, list)) and prefix + k2 not in out)
    if lists:
        for k, v in record.items():
            found = _nested_list(v)
            if found is not None and not _scalar_list(found):
                _lists(k, found, out)
            elif isinstance(v, dict) and k not in SKIP_KEYS and not _is_reference(v):
                for k2, v2 in v.items():
                    found = _nested_list(v2)
                    if found is not None:
                        _lists(k2, found, out)
    return out


def _items(record: dict, key: str):
    """The record's nested list ``key``, directly or in one of its object fields (amoCRM's `_embedded.statuses`)."""
    if isinstance(record.get(key), list):
        return record[key]
    return next((v[key] for v in record.values() if isinstance(v, dict) and isinstance(v.get(key), list)), None)


def rows(recs: list[dict], nests: list[tuple[str, str]] | None = None, lists: bool = False) -> tuple[list[dict], str | None]:
    """The records as rows of scalars, and the ``json_items`` key whose nested records the rows are (None: one row per
    record): where the records nest a list of a profile lookup's ``json_items`` (each pipeline's stages), one row per
    nested record, its parent's fields first, prefixed ``json_parent``; ``lists``: a record's lists of objects are
    read too (:func:`scalars`)."""
    for items, prefix in nests or []:
        if any(_items(r, items) for r in recs):
            return [{**scalars(r, prefix), **scalars(child)}
                    for r in recs for child in (_items(r, items) or []) if isinstance(child, dict)], items
    return [scalars(r, lists=lists) for r in recs], None


def text(v) -> str:
    return "" if v is None else ("true" if v is True else "false" if v is False else str(v))


def _lines(text: str) -> list:
    """JSON Lines: each non-blank line a document (a record, or a response holding records); a line that is not JSON
    raises :class:`JsonSyntaxError` at its line."""
    docs = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                docs.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise JsonSyntaxError(n, exc.colno, exc.msg) from None
    return docs


def parse(text: str):
    """The document of a JSON (or JSON Lines) text; JSON Lines is a list of its lines' documents. Not JSON:
    :class:`JsonSyntaxError` naming the line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and "\n" in text.strip():
            return _lines(text)
        raise JsonSyntaxError(exc.lineno, exc.colno, exc.msg) from None
    except RecursionError:
        raise JsonSyntaxError(1, 1, "nested too deeply") from None


def load(path: Path):
    """The document of a JSON file (:func:`parse`); a file that is not JSON raises :class:`JsonSyntaxError`, one that
    is not UTF-8 or cannot be read too (line 1)."""
    try:
        return parse(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise JsonSyntaxError(1, 1, f"not UTF-8 text ({exc.reason})") from None


def to_table(con, table: str, recs: list[dict]) -> list[str]:
    """``recs`` (rows of scalars) into the all-text table ``table``, the first record on row 2 as under a CSV's
    header (:func:`crm_audit.engine.readers.columns_to_table`); its headers."""
    from crm_audit.engine.readers import columns_to_table

    headers = list(dict.fromkeys(k for r in recs for k in r))
    columns_to_table(con, table, 2, len(recs), [[text(r.get(h)) for r in recs] for h in headers])
    return headers


def read(con, path: Path, table: str, nests: list[tuple[str, str]] | None = None,
         lists: bool = False) -> tuple[list[str], str | None] | None:
    """The JSON file at ``path`` as the all-text table ``table``: (its headers, the ``json_items`` key its rows are the
    nested records of — see :func:`rows`); None when the file holds no list of records. A file that is not JSON is an
    input error naming its line and column, never a file silently left out (a dump cut short by a failed script)."""
    from crm_audit.errors import file_problem
    from crm_audit.i18n import N_

    try:
        doc = load(path)
    except OSError as exc:
        raise file_problem(path, N_("cannot open the file: {why}"), "not-found", {"why": str(exc.strerror or exc)}) from None
    except JsonSyntaxError as exc:
        raise file_problem(path, N_("the file is not valid JSON: it breaks at line {line}, column {column}; save the "
                                    "API's answer again whole, or move the file out of the export folder"), "bad-json",
                           {"line": exc.line, "column": exc.column}) from None
    recs = records(doc)
    flat, nested = rows(recs, nests, lists) if recs else ([], None)
    return (to_table(con, table, flat), nested) if flat else None
