"""Which date fields a warehouse holds as timestamps, so that their date is taken in the CRM account's time zone.

The entity query (:mod:`crm_audit.warehouse.entities`) casts each date field to DATE; on a TIMESTAMP WITH TIME ZONE
that cast takes the date in the session's zone (the machine's, ``PGTZ``, the server's), so findings depended on
where the audit ran. Before the entity query is built, :func:`timestamp_kinds` asks the engine the types of its
date fields (one read-only query with ``WHERE FALSE``: no rows read) and the query converts each timestamp with
:func:`crm_audit.engine.dialects.timestamps.local_date` to the zone of ``engine: timezone:`` (default UTC).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_audit.engine.dialects import timestamps


@dataclass
class LocalTimes:
    """An entity's date fields held as timestamps (field -> ``aware`` | ``naive``) and the zone their date is in."""

    dialect: str
    zone: str
    kinds: dict[str, str] = field(default_factory=dict)


def describe(target, sql: str) -> dict[str, str]:
    """The result columns of ``sql`` (lower case) -> their type name, as the engine describes them."""
    if hasattr(target, "describe"):  # an embedded engine that says its own types (chdb, a Spark session)
        return target.describe(sql)
    conn = getattr(target, "connection", None)
    if target.dialect == "duckdb" and hasattr(conn, "sql"):
        rel = conn.sql(sql)
        return {c.lower(): timestamps.type_name("duckdb", t) for c, t in zip(rel.columns, rel.types)}
    if conn is not None and hasattr(conn, "cursor"):  # a DB-API connection: cursor.description's type codes
        cur = conn.cursor()
        try:
            cur.execute(sql)
            return {str(c[0]).lower(): timestamps.type_name(target.dialect, c[1]) for c in cur.description}
        finally:
            cur.close()
    import pyarrow as pa

    out = {}
    for f in target.run(sql).schema:  # an engine giving only Arrow
        t = f.type
        out[f.name.lower()] = (("timestamptz" if t.tz else "timestamp") if pa.types.is_timestamp(t) else
                               "date" if pa.types.is_date(t) else str(t))
    return out


def timestamp_kinds(target, sql: str, names: list[str], zone: str) -> LocalTimes:
    """``names`` (date fields selected by ``sql`` under their own names) that are timestamps on ``target``."""
    out = LocalTimes(target.dialect, zone)
    if not names:
        return out
    try:
        described = describe(target, sql)
    except Exception:  # the entity query itself says what is wrong when it runs
        conn = getattr(target, "connection", None)
        if conn is not None and hasattr(conn, "rollback"):
            try:
                conn.rollback()
            except Exception:  # autocommit: nothing to roll back
                pass
        return out
    for n in names:
        k = timestamps.kind(target.dialect, described.get(n.lower(), "other"))
        if k in ("aware", "naive"):
            out.kinds[n] = k
    return out
