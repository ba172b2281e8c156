"""Check fake responses against a CRM's published schema (JSON Schema via ``jsonschema``), with a documented overlay.

Real responses carry nulls the published schemas do not declare (a deal
without a person has ``person_id: null``; the last page's ``next_cursor`` is
``null``). The overlay lists them, per endpoint, as item fields that may also
be null; nothing else is relaxed.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).parent / "schemas"

#: Pipedrive: fields real responses return as null although the OpenAPI specification says string/integer/…
PIPEDRIVE_NULLS = {
    "*": ["next_cursor"],  # additional_data.next_cursor on the last page
    "/deals": ["person_id", "org_id", "stage_change_time", "won_time", "lost_time", "expected_close_date", "origin_id", "currency"],
    "/deals/archived": ["person_id", "org_id", "stage_change_time", "won_time", "lost_time", "expected_close_date"],
    "/activities": ["deal_id", "person_id", "org_id", "lead_id", "project_id", "due_date", "due_time", "duration", "location",
                    "note", "public_description", "marked_as_done_time", "priority", "attendees", "participants",
                    "conference_meeting_client", "conference_meeting_id", "conference_meeting_url"],
    "/persons": ["org_id", "birthday", "job_title", "notes", "postal_address", "picture_id", "first_name", "last_name", "im"],
    "/organizations": ["address", "website", "linkedin", "industry", "annual_revenue", "employee_count"],
    "/users": ["icon_url", "last_login", "phone", "modified", "timezone_offset", "role_id"],
    "/dealFields": ["description"],
}


def _nullable(schema, names: set[str]):
    if isinstance(schema, dict):
        props = schema.get("properties")
        if isinstance(props, dict):
            for name, sub in props.items():
                if name in names and isinstance(sub, dict):
                    t = sub.get("type")
                    if isinstance(t, str):
                        sub["type"] = [t, "null"]
                    elif isinstance(t, list) and "null" not in t:
                        sub["type"] = t + ["null"]
                    elif t is None:
                        props[name] = {"anyOf": [sub, {"type": "null"}]}
        for v in schema.values():
            _nullable(v, names)
    elif isinstance(schema, list):
        for v in schema:
            _nullable(v, names)


@lru_cache(maxsize=None)
def pipedrive_validator(version: str, path: str):
    import jsonschema

    doc = json.loads((HERE / "pipedrive-openapi-subset.json").read_text(encoding="utf-8"))
    schema = copy.deepcopy(doc[version][path]["schema"])
    _nullable(schema, set(PIPEDRIVE_NULLS["*"]) | set(PIPEDRIVE_NULLS.get(path, [])))
    return jsonschema.Draft202012Validator(schema)


def pipedrive_cost(version: str, path: str) -> int:
    doc = json.loads((HERE / "pipedrive-openapi-subset.json").read_text(encoding="utf-8"))
    return int(doc[version][path]["x-token-cost"] or 0)


def problems(validator, body) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in list(validator.iter_errors(body))[:5]]
