"""Write small Pipedrive list exports (``Deal - …`` headers) for tests."""

from __future__ import annotations

import csv
from pathlib import Path

HEADERS = {
    "deals": ("Deal", {
        "id": "ID", "title": "Title", "owner": "Owner", "value": "Value", "currency": "Currency",
        "status": "Status", "pipeline": "Pipeline", "stage": "Stage", "lost_reason": "Lost reason",
        "org_id": "Organization ID", "org_name": "Organization", "person_id": "Contact person ID",
        "person_name": "Contact person", "created": "Deal created", "stage_changed": "Last stage change",
        "next_activity_date": "Next activity date", "activities_to_do": "Activities to do",
    }),
    "organizations": ("Organization", {"id": "ID", "name": "Name", "owner": "Owner"}),
    "persons": ("Person", {"id": "ID", "name": "Name", "owner": "Owner", "org_name": "Organization"}),
    "activities": ("Activity", {
        "id": "ID", "subject": "Subject", "type": "Type", "due_date": "Due date", "due_time": "Due time",
        "done": "Done", "deal_id": "Deal ID", "owner": "Assigned to user",
    }),
}


def header(entity: str, key: str) -> str:
    prefix, names = HEADERS[entity]
    return f"{prefix} - {names.get(key, key)}"


def write_table(path: Path, entity: str, rows: list[dict], keys: list[str] | None = None) -> Path:
    if keys is None:
        keys = []
        for r in rows:
            for k in r:
                if k not in keys:
                    keys.append(k)
        if not keys:
            keys = list(HEADERS[entity][1])
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow([header(entity, k) for k in keys])
        for r in rows:
            w.writerow(["" if r.get(k) is None else str(r.get(k)) for k in keys])
    return path


def write_export(directory: Path, deals, organizations, persons, activities) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    write_table(directory / "deals.csv", "deals", deals)
    write_table(directory / "organizations.csv", "organizations", organizations, None if organizations else ["id", "name", "owner", "Агентство ли это"])
    write_table(directory / "persons.csv", "persons", persons, None if persons else ["id", "name", "owner", "org_name"])
    write_table(directory / "activities.csv", "activities", activities, None if activities else ["id", "subject", "type", "due_date", "due_time", "done", "deal_id", "owner"])
    return directory
