"""A warehouse timestamp as the date the CRM shows: converted to the account's time zone on the engine, per dialect.

A connector stores a CRM time as an instant (Fivetran's "Instant": TIMESTAMP WITH TIME ZONE; BigQuery TIMESTAMP;
Airbyte's API text, read as a TIMESTAMP without a zone, is UTC). ``CAST(x AS DATE)`` takes the date in the
*session's* time zone — the machine's for DuckDB, ``PGTZ`` / the role's / the server's for PostgreSQL — so the same
data gave other findings where cron ran. Here the date is taken in the zone the settings name (``engine: timezone:``,
default UTC), whatever the session's:

* :func:`kind` classifies a result column's type (as the driver describes it) as ``date``, ``aware`` (an instant),
  ``naive`` (a timestamp without a zone: read as UTC) or ``other`` (text, numbers: cast as before);
* :func:`local_date` writes the engine's expression for an ``aware`` or ``naive`` value.
"""

from __future__ import annotations

from sqlglot import exp

S = exp.Literal.string

#: PostgreSQL type OIDs (psycopg's ``description.type_code``; pg_type.h)
_PG_OIDS = {1082: "date", 1114: "timestamp", 1184: "timestamptz", 25: "text", 1043: "varchar", 114: "json", 3802: "jsonb"}
#: snowflake-connector-python's ``type_code`` numbers (FIELD_TYPES)
_SNOWFLAKE_CODES = {2: "text", 3: "date", 4: "timestamp_ntz", 5: "variant", 6: "timestamp_ltz", 7: "timestamp_tz",
                    8: "timestamp_ntz", 9: "object", 10: "array"}
#: dialects whose plain ``TIMESTAMP`` is an instant (BigQuery TIMESTAMP, Spark's TIMESTAMP_LTZ, ClickHouse's
#: DateTime is one too)
_INSTANT_TIMESTAMP = ("bigquery", "spark", "clickhouse")


def type_name(dialect: str, type_code) -> str:
    """A driver's ``cursor.description`` type code (or DuckDB's type) as a lower-case type name."""
    if isinstance(type_code, int):
        table = _PG_OIDS if dialect == "postgres" else _SNOWFLAKE_CODES if dialect == "snowflake" else {}
        return table.get(type_code, "other")
    return str(type_code).strip().lower()


def kind(dialect: str, name: str) -> str:
    """``date`` | ``aware`` | ``naive`` | ``other`` for a type name of ``dialect`` (see :func:`type_name`)."""
    n = name.lower()
    if n.startswith("nullable(") or n.startswith("lowcardinality("):
        n = n.split("(", 1)[1].rstrip(")")
    if n in ("date", "date32"):
        return "date"
    if any(w in n for w in ("with time zone", "timestamptz", "timestamp_tz", "timestamp_ltz")):
        return "aware"
    if "timestamp_ntz" in n or "without time zone" in n:
        return "naive"
    if n.startswith("timestamp"):
        return "aware" if dialect in _INSTANT_TIMESTAMP else "naive"
    if n.startswith("datetime"):  # BigQuery's DATETIME is a wall clock; ClickHouse's DateTime a Unix time
        return "aware" if dialect == "clickhouse" else "naive"
    return "other"


def _fn(name: str, *args) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _date(e) -> exp.Cast:
    return exp.Cast(this=e, to=exp.DataType.build("DATE"))


def local_date(dialect: str, x: exp.Expression, zone: str, aware: bool) -> exp.Expression:
    """The date of timestamp ``x`` in ``zone`` (an IANA name), independent of the session's time zone; ``aware``:
    ``x`` is an instant, else a timestamp without a zone holding UTC."""
    z = S(zone)
    if dialect == "duckdb":  # timezone(zone, TIMESTAMPTZ) -> the local TIMESTAMP; timezone('UTC', TIMESTAMP) -> TIMESTAMPTZ
        return _date(_fn("timezone", z, x if aware else _fn("timezone", S("UTC"), x)))
    if dialect == "postgres":  # the same with AT TIME ZONE
        inner = x if aware else exp.AtTimeZone(this=exp.Paren(this=x), zone=S("UTC"))
        return _date(exp.Paren(this=exp.AtTimeZone(this=exp.Paren(this=inner), zone=z)))
    if dialect == "snowflake":
        return _date(_fn("CONVERT_TIMEZONE", z, x) if aware else _fn("CONVERT_TIMEZONE", S("UTC"), z, x))
    if dialect == "bigquery":  # DATE(TIMESTAMP, zone); a DATETIME is UTC's wall clock: TIMESTAMP(DATETIME) reads it so
        return _fn("DATE", x if aware else _fn("TIMESTAMP", x), z)
    if dialect == "spark":  # a TIMESTAMP is shown in the session's zone: back to UTC's wall clock, then to the account's
        utc = _fn("to_utc_timestamp", x, _fn("current_timezone")) if aware else x
        return _fn("to_date", _fn("from_utc_timestamp", utc, z))
    if dialect == "clickhouse":  # DateTime is a Unix time
        return _fn("toDate", x, z)
    return _date(x)


#: the session's time zone, as one row ``tz`` (None: the engine has no session zone to ask — BigQuery is UTC; Snowflake
#: says it only through SHOW PARAMETERS)
_SESSION_ZONE = {"duckdb": "SELECT current_setting('TimeZone') AS tz", "postgres": "SELECT current_setting('TimeZone') AS tz",
                 "clickhouse": "SELECT timezone() AS tz", "spark": "SELECT current_timezone() AS tz"}


def session_zone_sql(dialect: str) -> str | None:
    """A read-only query giving the engine session's time zone in the column ``tz`` (DuckDB: the machine's; PostgreSQL:
    ``PGTZ`` / the role's / the server's; ClickHouse: the server's; Spark: ``spark.sql.session.timeZone``)."""
    return _SESSION_ZONE.get(dialect)
