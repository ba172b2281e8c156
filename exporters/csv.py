"""Every violation as CSV: one row per (rule, deal).

UTF-8 without BOM, a header row, every field of the rows in double quotes (Arrow's CSV writer; the ``csv`` module's
QUOTE_MINIMAL when a report's columns are not Arrow-typable — the same text either way), so multi-line values
round-trip. Columns: :data:`CSV_COLUMNS`. ``evidence`` is
``"<title>: <value>; <title>: <value>"`` over the rule's evidence columns
(dates ISO, integral numbers without ``.0``, missing values empty).

CSV is data: text starting with ``= + - @`` is written as is; only NUL
characters are removed. A deal without an owner is written «(без ответственного)», as the hit-tracking sheet and
the terminal name it (the rule sheets keep the owner cell blank: the read-back takes a warning's manager from it).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path
from typing import Any

from crm_audit.report import BASE_COLUMNS, AuditReport
from crm_audit.sqltext import sql_literal as _quote
from exporters.safe import atomic_write, plain_value, strip_nul

__all__ = ["CSV_COLUMNS", "as_excel_csv", "format_value", "write_violations_csv"]

CSV_COLUMNS = (
    "rule_id",
    "rule_code",
    "criticality",
    "deal_id",
    "deal_url",
    "title",
    "owner",
    "state",
    "reason",
    "pipeline",
    "stage",
    "evidence",
    "as_of",
)

_BASE_KEYS = tuple(c.key for c in BASE_COLUMNS)
#: the owner of a deal that has none, as the hit-tracking sheet and the terminal write it
NO_OWNER = "(без ответственного)"


def format_value(value: Any, kind: str = "text") -> str:
    """``value`` as CSV text: "" when missing, ISO dates, ``12`` not ``12.0``."""
    value = plain_value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if kind == "date" or value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return strip_nul(str(value))


def _format_column(values: list[Any], kind: str) -> list[str]:
    """A whole column as CSV text; the common str/None cells skip the generic path."""
    out = []
    for v in values:
        if v is None:
            out.append("")
        elif type(v) is str:
            out.append(v if "\x00" not in v else strip_nul(v))
        else:
            out.append(format_value(v, kind))
    return out


def write_violations_csv(report: AuditReport, path: str | os.PathLike[str]) -> Path:
    """Write every violation of ``report`` to ``path`` atomically; return the path.

    The rows are formatted and written by DuckDB over Arrow columns (1M
    violations in well under a second); a small report (up to
    :data:`CSV_MODULE_ROWS` violations: a DuckDB connection costs more than
    writing them) and one whose columns Arrow cannot type (mixed Python
    objects) are written by the ``csv`` module instead, byte for byte the same.
    """
    target = Path(path)
    small = sum(len(r.rows) for r in report.results if r.rows is not None) <= CSV_MODULE_ROWS
    with atomic_write(target) as tmp:
        if small or not _write_with_duckdb(report, tmp):
            _write_with_csv_module(report, tmp)
    return target


#: Up to this many violations the ``csv`` module writes the file (a few ms; DuckDB's connection alone took ~30 ms)
CSV_MODULE_ROWS = 2_000


def _sql_text(expr: str, dtype: Any, kind: str) -> str:
    """SQL turning a column of Arrow type ``dtype`` into the text :func:`format_value` gives."""
    import pyarrow as pa

    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        text = f"replace({expr}, chr(0), '')"
    elif pa.types.is_boolean(dtype):
        text = f"CASE WHEN {expr} THEN 'true' ELSE 'false' END"
    elif pa.types.is_integer(dtype):
        text = f"CAST({expr} AS VARCHAR)"
    elif pa.types.is_floating(dtype):
        text = (f"CASE WHEN isnan({expr}) THEN NULL WHEN isfinite({expr}) AND {expr} = trunc({expr}) AND abs({expr}) < 1e37 "
                f"THEN CAST(CAST({expr} AS HUGEINT) AS VARCHAR) ELSE CAST({expr} AS VARCHAR) END")
    elif pa.types.is_date(dtype):
        text = f"strftime({expr}, '%Y-%m-%d')"
    elif pa.types.is_timestamp(dtype):
        text = (f"CASE WHEN {'TRUE' if kind == 'date' else 'FALSE'} OR CAST({expr} AS TIME) = TIME '00:00:00' "
                f"THEN strftime({expr}, '%Y-%m-%d') ELSE strftime({expr}, '%Y-%m-%d %H:%M:%S') END")
    elif pa.types.is_null(dtype):
        return "''"
    else:
        raise TypeError(f"no CSV text for {dtype}")
    return f"coalesce({text}, '')"


#: What the CSV's DuckDB connection may hold: it streams :data:`CSV_CHUNK_ROWS` Arrow rows at a time to the file, in
#: their order (no sort), so it needs little; the bound keeps the whole run within its memory budget on any number
#: of violations.
CSV_DUCKDB_MEMORY = "256MiB"
#: Rows per slice: the fields of a slice are held at once as Arrow text (~300 bytes a row; a ``COPY`` of 300,000 rows
#: once ran out of 256 MiB on a busy machine): a slice bounds it whatever the load and the rule's size.
CSV_CHUNK_ROWS = 65_536


def _write_with_duckdb(report: AuditReport, tmp: Path) -> bool:
    """Write the CSV with DuckDB; False when a column has no Arrow type (``tmp`` is then rewritten by the caller).

    One rule at a time, in slices of :data:`CSV_CHUNK_ROWS`: its rows (Arrow columns, never a Python object per
    row) are formatted by DuckDB into the CSV's text fields in their own order (``preserve_insertion_order``) and
    written by Arrow's CSV writer, which quotes every text field (issue 17: DuckDB's ``COPY … TO`` took ~3 s for
    1.5M violations, this ~2 s); memory holds one rule's Arrow columns and one slice's fields, not every violation
    and a sort of them.
    """
    import duckdb
    import pyarrow.csv as pa_csv

    results = [r for r in report.results if r.rows is not None and len(r.rows)]
    if not results:
        return False
    con = duckdb.connect(config={"memory_limit": CSV_DUCKDB_MEMORY, "preserve_insertion_order": True})
    try:
        with open(tmp, "wb", buffering=0) as out:
            out.write((",".join(CSV_COLUMNS) + "\n").encode())
            for result in results:
                table = _arrow_rows(result)
                if table is None:
                    return False
                select = _rule_select(report, result, table)
                for start in range(0, table.num_rows, CSV_CHUNK_ROWS):
                    con.register("r", table.slice(start, CSV_CHUNK_ROWS))
                    try:
                        rel = con.sql(select)
                        fields = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
                        pa_csv.write_csv(fields, out, pa_csv.WriteOptions(include_header=False))
                    except (duckdb.ConversionException, duckdb.OutOfMemoryException):
                        return False  # the csv module writes the same text
                    finally:
                        con.unregister("r")
        return True
    finally:
        con.close()


def _arrow_rows(result: Any) -> Any:
    """The rule's CSV columns as an Arrow table (text columns are the frame's own Arrow data); None if untypable."""
    import pyarrow as pa

    rows = result.rows
    keys = [k for k in _BASE_KEYS if k in rows.columns] + [c.key for c in result.evidence if c.key in rows.columns]
    try:
        columns = {k: pa.array(rows[k], from_pandas=True) for k in dict.fromkeys(keys)}
    except (pa.ArrowException, TypeError, ValueError):
        return None
    return pa.table({**columns, "_row": pa.nulls(len(rows))})  # keeps the row count when the frame lacks every column


def _rule_select(report: AuditReport, result: Any, table: Any) -> str:
    """The SELECT giving the CSV fields of one rule's rows (registered as ``r``), in :data:`CSV_COLUMNS` order."""
    types = dict(zip(table.column_names, table.schema.types))
    base = {k: _sql_text(k, types[k], "text") if k in types else "''" for k in _BASE_KEYS}
    parts = []
    for c in result.evidence:
        value = _sql_text(c.key, types[c.key], c.kind) if c.key in types else "''"
        parts.append(f"{_quote(strip_nul(c.title) + ': ')} || {value}")
    evidence = " || '; ' || ".join(parts) if parts else "''"
    return (
        f"SELECT {_quote(strip_nul(str(result.rule_id)))} AS rule_id, {_quote(strip_nul(str(result.code)))} AS rule_code, "
        f"{_quote(str(result.criticality))} AS criticality, {base['deal_id']} AS deal_id, {base['deal_url']} AS deal_url, "
        f"{base['title']} AS title, coalesce(nullif(trim({base['owner']}), ''), {_quote(NO_OWNER)}) AS owner, {base['state']} AS state, {base['reason']} AS reason, "
        f"{base['pipeline']} AS pipeline, {base['stage']} AS stage, {evidence} AS evidence, "
        f"{_quote(report.as_of.isoformat())} AS as_of FROM r"
    )


def _write_with_csv_module(report: AuditReport, tmp: Path) -> None:
    """The same CSV, written row by row with the ``csv`` module (any Python values): the header bare, every field
    quoted, lines ending in «\n» — the bytes Arrow's writer gives (:func:`_write_with_duckdb`)."""
    as_of = report.as_of.isoformat()
    with open(tmp, "w", encoding="utf-8", errors="replace", newline="") as fh:
        fh.write(",".join(CSV_COLUMNS) + "\n")
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for result in report.results:
            if result.rows is None or not len(result.rows):
                continue
            rows = result.rows
            n = len(rows)

            def col(key: str, kind: str = "text") -> list[str]:
                if key not in rows.columns:
                    return [""] * n
                return _format_column(rows[key].astype(object).where(rows[key].notna(), None).tolist(), kind)

            base = {k: col(k) for k in _BASE_KEYS}
            base["owner"] = [o if o.strip() else NO_OWNER for o in base["owner"]]
            titles = [strip_nul(c.title) for c in result.evidence]
            ev_cols = [col(c.key, c.kind) for c in result.evidence]
            evidence = ["; ".join(f"{t}: {v}" for t, v in zip(titles, vals)) for vals in zip(*ev_cols)] if ev_cols else [""] * n
            rid, code, crit = strip_nul(str(result.rule_id)), strip_nul(str(result.code)), str(result.criticality)
            writer.writerows(
                (rid, code, crit, d, u, t, o, st, r, p, sg, e, as_of)
                for d, u, t, o, st, r, p, sg, e in zip(
                    base["deal_id"], base["deal_url"], base["title"], base["owner"], base["state"],
                    base["reason"], base["pipeline"], base["stage"], evidence,
                )
            )


def as_excel_csv(path: str | os.PathLike[str]) -> None:
    """Rewrite a violations CSV in place for Excel with a Russian locale (``run --csv-excel``).

    Excel opens a CSV by double-click in the system's ANSI code page and with
    the locale's list separator, which is «;» where the decimal comma is
    used: a UTF-8 BOM makes it read UTF-8 (Cyrillic intact), «;» splits the
    columns. The fields and their text are the same as in the plain CSV.
    """
    src = Path(path)
    staged = src.with_name(src.name + ".excel")
    try:
        with open(src, encoding="utf-8", newline="") as fin, open(staged, "w", encoding="utf-8-sig", newline="") as fout:
            csv.writer(fout, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n").writerows(csv.reader(fin))
        os.replace(staged, src)
    finally:
        if staged.exists():
            staged.unlink()

