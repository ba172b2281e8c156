"""Put an audit with given findings into a ledger, as a test's starting point (through the ledger's API)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from crm_audit.history.findings_store import SCHEMA


def add_audit(led, as_of: str, rows: list[dict]) -> int:
    """``rows``: dicts with rule_id, deal_id and optionally owner, title, streak, status, comment, note, fingerprint."""
    day = dt.date.fromisoformat(as_of)
    data = {f.name: [] for f in SCHEMA}
    for r in rows:
        for name in data:
            default = {"streak": 1, "first_seen": day}.get(name)
            value = r.get(name, default)
            data[name].append(None if name == "status" and value == "Не обработано" else value)
    return led.record_audit(as_of=day, source="test", input_fingerprints={}, deal_count=len(rows), violation_count=len(rows),
                            documents=[], findings=pa.table(data, schema=SCHEMA))
