"""An API's list dumped as JSON, read into the raw table shape of a CSV (``_row``, ``c0 … cN``, headers).

A team that scripts its export saves what the API answers: amoCRM v4's ``{"_embedded": {"leads": [...]}}``,
Pipedrive's ``{"data": [...]}``, HubSpot's ``{"results": [...]}``, Bitrix24's ``{"result": [...]}`` or a bare list.
The records are the first list of objects of the document (:data:`RECORD_KEYS` first); each record is one row. The
flattening is generic, never per CRM:

* a scalar field is a column of its name (``true`` / ``false`` for booleans, blank for null);
* an object field's scalar fields are columns too, unless the record has a field of that name (HubSpot's
  ``metadata``, ``properties``); the object's lists are read as a record's own (amoCRM's ``_embedded``);
* a list of objects each naming a field and holding its values (``{"field_name": …, "values": [{"value": …}]}``,
  amoCRM's ``custom_fields_values``) is one column per named field, its values joined by «, »;
* any other list of objects is its first object's scalar fields, each as ``<the list's name in the singular>_<field>``
  (amoCRM's ``_embedded.companies[0].id`` → ``company_id``: a lead's own company, the first one linked);
* other lists (tags as strings, empty lists) are left out.

A list read for a lookup (``nests``: the profile's ``json_items`` / ``json_parent``, HubSpot's or amoCRM's pipelines
with their stages nested) is one row per nested record, its parent's scalar fields first, prefixed.
"""

from __future__ import annotations

import json
from pathlib import Path

#: where an API's list response keeps its records: Pipedrive `data`, HubSpot v3 `results`, Bitrix24 `result`,
#: amoCRM v4 `_embedded.<name>`, Salesforce REST `records` (any first list of objects is taken, these first)
RECORD_KEYS = ("data", "results", "result", "_embedded", "records", "items", "users")
#: the keys of a «named field with values» object (amoCRM's custom_fields_values items)
FIELD_NAME_KEYS = ("field_name", "name", "label", "field_code")
FIELD_VALUE_KEYS = ("values", "value")


def records(doc, depth: int = 0) -> list[dict] | None:
    """The first list of objects in an API response (the response itself when it is one)."""
    if isinstance(doc, list):
        return doc if doc and all(isinstance(x, dict) for x in doc) else None
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


def _lists(field: str, v: list, out: dict) -> None:
    named = _named_values(v)
    if named is not None:
        out.update((k, x) for k, x in named.items() if k not in out)
        return
    if v and isinstance(v[0], dict):
        prefix = _singular(field).lstrip("_") + "_"
        out.update((prefix + k, x) for k, x in v[0].items() if not isinstance(x, (dict, list)) and prefix + k not in out)


def scalars(record: dict, prefix: str = "", lists: bool = False) -> dict:
    """A record's scalar fields, those of an object field (HubSpot's stage `metadata`: isClosed, probability) after
    them unless the record has a field of that name; ``lists``: its lists of objects too (see the module's doc)."""
    out = {prefix + k: v for k, v in record.items() if not isinstance(v, (dict, list))}
    for v in record.values():
        if isinstance(v, dict):
            out.update((prefix + k, x) for k, x in v.items() if not isinstance(x, (dict, list)) and prefix + k not in out)
    if lists:
        for k, v in record.items():
            if isinstance(v, list):
                _lists(k, v, out)
            elif isinstance(v, dict):
                for k2, v2 in v.items():
                    if isinstance(v2, list):
                        _lists(k2, v2, out)
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


def load(path: Path):
    """The document of a JSON file, None when it is not JSON (or not UTF-8)."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None


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
    nested records of — see :func:`rows`); None when the file holds no list of records (or it is not JSON)."""
    doc = load(path)
    recs = records(doc) if doc is not None else None
    flat, nested = rows(recs, nests, lists) if recs else ([], None)
    return (to_table(con, table, flat), nested) if flat else None
