"""Read an export directory into canonical DuckDB tables, using a profile.

Every file becomes a raw all-text table (``c0 … cN`` plus ``_row``, the
spreadsheet row number with the header as row 1), then one SQL statement maps
and parses it into the canonical table of its entity (``deals``,
``organizations``, ``persons``, ``activities``). Values that do not parse are
reported with file, row, column and the raw value.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError, Problem
from .profile import ENTITIES, EntitySpec, Profile
from .report import DataWarning
from .textnorm import norm

DATA_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
TYPE_EXPECTED = {
    "number": "a number such as 1500, 1 500,00 or 1500.50",
    "date": "a date such as 2026-11-20, 2026-11-20 10:00:00 or 20.11.2026",
}
MAX_REPORTED = 5


@dataclass
class LoadedEntity:
    entity: str
    file: Path
    table: str
    rows: int
    fields: dict[str, str]  # canonical field -> export header used
    custom: dict[str, tuple[str, str]]  # norm(name) -> (sql column, export header)
    ignored: list[str] = field(default_factory=list)

    def column_for(self, name: str) -> str | None:
        """SQL column of a canonical field or custom field (by export name)."""
        if name in self.fields:
            return name
        hit = self.custom.get(norm(name))
        return hit[0] if hit else None


@dataclass
class LoadedExport:
    con: Any
    directory: Path
    entities: dict[str, LoadedEntity]
    warnings: list[DataWarning] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)
    _tmp: Any = None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


# --------------------------------------------------------------------------- files


def _sniff_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None:
        raise InputError(
            problems=[Problem("the file is not text (unknown encoding); export it again as CSV or XLSX", file=str(path), reason="encoding")]
        )
    return best.encoding


def _header_and_delim(path: Path, text_head: str) -> tuple[list[str], str]:
    first = text_head.lstrip("\ufeff")
    best: tuple[int, str, list[str]] = (-1, ",", [])
    for delim in (",", ";", "\t", "|"):
        try:
            row = next(csv.reader(io.StringIO(first), delimiter=delim), [])
        except csv.Error:
            continue
        if len(row) > best[0]:
            best = (len(row), delim, row)
    if best[0] <= 0:
        raise InputError(problems=[Problem("the file is empty (no header row)", file=str(path), row=1, reason="empty")])
    return best[2], best[1]


def _read_csv(con, path: Path, table: str, tmpdir: Path) -> list[str]:
    with open(path, "rb") as fh:
        head = fh.read(256 * 1024)
    if not head.strip():
        raise InputError(problems=[Problem("the file is empty", file=str(path), reason="empty")])
    enc = _sniff_encoding(path, head)
    src = path
    if enc not in ("utf-8", "utf-8-sig", "ascii"):
        src = tmpdir / (table + ".csv")
        try:
            with open(path, encoding=enc, newline="") as fin, open(src, "w", encoding="utf-8", newline="") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(problems=[Problem(f"cannot decode the file as {enc}: {exc}", file=str(path), reason="encoding")]) from None
        with open(src, "rb") as fh:
            head = fh.read(256 * 1024)
    text_head = head.decode("utf-8", errors="replace")
    # only the first record matters; cut at the last complete line
    headers, delim = _header_and_delim(path, text_head)
    cols = {f"c{i}": "VARCHAR" for i in range(len(headers))}
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT row_number() OVER () + 1 AS _row, * FROM read_csv(?, "
            "header=false, skip=1, delim=?, quote='\"', escape='\"', columns=?, null_padding=true, "
            "parallel=false, max_line_size=50000000, auto_detect=false)",
            [str(src), delim, cols],
        )
    except Exception as exc:  # duckdb.Error: malformed CSV
        msg = str(exc).split("\n")
        first = next((m for m in msg if "Line" in m or "line" in m), msg[0])
        detail = next((m.strip() for m in msg[1:] if m.strip()), "")
        raise InputError(
            problems=[
                Problem(
                    f"the CSV cannot be read: {first.strip()} {detail} — check that the file is an unmodified "
                    "CSV export (quotes balanced, one header row)",
                    file=str(path),
                    reason="csv-malformed",
                )
            ]
        ) from None
    return headers


def _cell_text(v: Any) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.strftime("%H:%M")
    return str(v)


def _read_xlsx(con, path: Path, table: str) -> list[str]:
    import pyarrow as pa
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        rows = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types
        raise InputError(problems=[Problem(f"cannot read the workbook: {exc}", file=str(path), reason="xlsx")]) from None
    if not rows:
        raise InputError(problems=[Problem("the workbook's first sheet is empty", file=str(path), reason="empty")])
    headers = [(_cell_text(h) or "") for h in rows[0]]
    n = len(headers)
    data = {f"c{i}": [] for i in range(n)}
    for r in rows[1:]:
        for i in range(n):
            data[f"c{i}"].append(_cell_text(r[i]) if i < len(r) else None)
    arrow = pa.table({"_row": pa.array(range(2, len(rows) + 1), pa.int64()), **{k: pa.array(v, pa.string()) for k, v in data.items()}})
    con.register(f"{table}_arrow", arrow)
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table}_arrow")
    con.unregister(f"{table}_arrow")
    return headers


def read_raw(con, path: Path, table: str, tmpdir: Path) -> list[str]:
    """Load a CSV/XLSX file into an all-text table; returns its headers."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(con, path, table)
    return _read_csv(con, path, table, tmpdir)


# --------------------------------------------------------------------------- mapping


def _detect_entity(profile: Profile, path: Path, headers: list[str]) -> str | None:
    stem = norm(path.stem)
    for name, spec in profile.entities.items():
        if stem in {norm(f) for f in spec.files}:
            return name
    # by prefix: most headers carry the entity's prefix
    best = (0, None)
    for name, spec in profile.entities.items():
        hits = sum(1 for h in headers if spec.strip_prefix(h)[1])
        if hits > best[0]:
            best = (hits, name)
    if best[1] and best[0] * 2 >= len([h for h in headers if h.strip()]):
        return best[1]
    # by signature fields
    for name, spec in profile.entities.items():
        idx = spec.header_index()
        mapped = {idx.get(norm(h)) for h in headers}
        if spec.signature and all(f in mapped for f in spec.signature) and "id" in mapped:
            return name
    return None


def _text_expr(cols: list[str]) -> str:
    if len(cols) == 1:
        return cols[0]
    # duplicate headers: the first non-blank value of the row
    parts = " ".join(f"WHEN NOT is_blank({c}) THEN {c}" for c in cols)
    return f"CASE {parts} ELSE {cols[0]} END"


def _sql_list(values: list[str]) -> str:
    return ", ".join("'" + norm(v).replace("'", "''") + "'" for v in values)


def _typed_expr(spec, raw: str) -> str:
    if spec.type == "id":
        return f"parse_id({raw})"
    if spec.type == "number":
        return f"parse_num({raw})"
    if spec.type == "date":
        return f"parse_date({raw})"
    if spec.type == "enum":
        whens = " ".join(f"WHEN norm({raw}) IN ({_sql_list(vals)}) THEN '{key}'" for key, vals in spec.values.items())
        return f"CASE {whens} ELSE NULL END"
    if spec.type == "bool":
        t = _sql_list(spec.values.get("true", []))
        f = _sql_list(spec.values.get("false", []))
        return f"CASE WHEN norm({raw}) IN ({t}) THEN TRUE WHEN norm({raw}) IN ({f}) THEN FALSE ELSE NULL END"
    return raw


def map_entity(con, entity: str, spec: EntitySpec, path: Path, raw_table: str, headers: list[str], on_bad_value: str) -> tuple[LoadedEntity, list[DataWarning]]:
    index = spec.header_index()
    by_field: dict[str, list[int]] = {}
    custom: dict[str, list[int]] = {}
    custom_header: dict[str, str] = {}
    ignored: list[str] = []
    for i, h in enumerate(headers):
        bare, _ = spec.strip_prefix(h)
        if not bare:
            ignored.append(f"column {i + 1} (no header)")
            continue
        f = index.get(norm(bare))
        if f is not None:
            by_field.setdefault(f, []).append(i)
        else:
            custom.setdefault(norm(bare), []).append(i)
            custom_header.setdefault(norm(bare), bare)
    warnings: list[DataWarning] = []
    for name, spec_f in spec.fields.items():
        if spec_f.required and name not in by_field:
            raise InputError(
                problems=[
                    Problem(
                        f"required column «{spec_f.headers[0]}» ({entity[:-1]} {name}) is missing; "
                        f"found columns: {', '.join(h for h in headers if h.strip())[:400]}",
                        file=str(path),
                        row=1,
                        reason="missing-column",
                    )
                ]
            )
    select = ["_row"]
    fields: dict[str, str] = {}
    checks: list[tuple[str, str, str, str]] = []  # (field, raw expr, parsed col, type)
    for name, idxs in by_field.items():
        fs = spec.fields[name]
        raw = _text_expr([f"c{i}" for i in idxs])
        expr = _typed_expr(fs, raw)
        select.append(f"{expr} AS \"{name}\"")
        if fs.type != "text":
            select.append(f"{raw} AS \"{name}__raw\"")
            checks.append((name, f"{name}__raw", name, fs.type))
        fields[name] = headers[idxs[0]]
    custom_cols: dict[str, tuple[str, str]] = {}
    for k, (key, idxs) in enumerate(custom.items()):
        col = f"x{k}"
        select.append(f"{_text_expr([f'c{i}' for i in idxs])} AS {col}")
        custom_cols[key] = (col, custom_header[key])
    not_empty = " OR ".join(f"NOT is_blank(c{i})" for i in range(len(headers))) or "FALSE"
    table = entity
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {', '.join(select)} FROM {raw_table} WHERE {not_empty}")
    con.execute(f"DROP TABLE {raw_table}")
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    problems: list[Problem] = []
    for name, rawcol, col, typ in checks:
        bad = con.execute(
            f'SELECT _row, "{rawcol}" FROM {table} WHERE NOT is_blank("{rawcol}") AND "{col}" IS NULL ORDER BY _row LIMIT {MAX_REPORTED}'
        ).fetchall()
        if not bad:
            continue
        total = con.execute(f'SELECT count(*) FROM {table} WHERE NOT is_blank("{rawcol}") AND "{col}" IS NULL').fetchone()[0]
        header = fields[name]
        fs = spec.fields[name]
        if typ in ("enum", "bool"):
            known = ", ".join(v for vals in fs.values.values() for v in vals[:2])
            for r, v in bad:
                warnings.append(
                    DataWarning("unknown-value", f"unknown value «{v}» (expected one of: {known}); the cell is treated as empty", str(path), r, header)
                )
            if total > len(bad):
                warnings.append(DataWarning("unknown-value", f"… and {total - len(bad)} more rows with unknown values in «{header}»", str(path), None, header))
            continue
        expected = TYPE_EXPECTED.get(typ, typ)
        for r, v in bad:
            msg = f"cannot read «{v}»: expected {expected}"
            if on_bad_value == "warn":
                warnings.append(DataWarning("bad-value", msg + "; the cell is treated as empty", str(path), r, header))
            else:
                problems.append(Problem(msg, file=str(path), row=r, column=header, reason="bad-value"))
        if total > len(bad):
            more = f"… and {total - len(bad)} more rows with unreadable values in «{header}»"
            if on_bad_value == "warn":
                warnings.append(DataWarning("bad-value", more, str(path), None, header))
            else:
                problems.append(Problem(more, file=str(path), column=header, reason="bad-value"))
    if problems:
        raise InputError(
            problems=problems,
            hint="Fix the cells in the export (or set `on_bad_value: warn` in crm-audit.yaml to treat them as empty).",
        )
    return LoadedEntity(entity, path, table, rows, fields, custom_cols, ignored), warnings


def _fingerprint(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def load_export(directory: str | Path, profile: Profile, on_bad_value: str = "error", con=None) -> LoadedExport:
    """Find, read, map and parse the export files in ``directory``."""
    import duckdb

    from . import sqlfuncs

    d = Path(directory)
    if not d.exists():
        raise InputError(problems=[Problem("the export directory does not exist", file=str(d), reason="not-found")])
    files = [d] if d.is_file() else sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES and not p.name.startswith((".", "~$")))
    if not files:
        raise InputError(
            problems=[Problem(f"no export files (CSV or XLSX) found; expected deals.csv, activities.csv, organizations.csv, persons.csv", file=str(d), reason="no-files")]
        )
    if con is None:
        con = duckdb.connect()
        sqlfuncs.install(con)
    tmp = tempfile.TemporaryDirectory(prefix="crm-audit-")
    out = LoadedExport(con, d, {}, _tmp=tmp)
    try:
        seen: dict[str, Path] = {}
        for i, path in enumerate(files):
            raw_table = f"raw_{i}"
            headers = read_raw(con, path, raw_table, Path(tmp.name))
            entity = _detect_entity(profile, path, headers)
            if entity is None:
                con.execute(f"DROP TABLE {raw_table}")
                out.warnings.append(DataWarning("unknown-file", "not recognised as deals, organizations, persons or activities; ignored", str(path)))
                continue
            if entity in seen:
                raise InputError(
                    problems=[Problem(f"a second {entity} file (the first is {seen[entity].name}); keep one", file=str(path), reason="duplicate-file")]
                )
            seen[entity] = path
            loaded, warns = map_entity(con, entity, profile.entities[entity], path, raw_table, headers, on_bad_value)
            out.entities[entity] = loaded
            out.warnings.extend(warns)
            out.fingerprints[path.name] = _fingerprint(path)
        if "deals" not in out.entities:
            raise InputError(
                problems=[Problem("no deals file found (deals.csv / deals.xlsx, or a file with deal headers)", file=str(d), reason="no-deals")]
            )
    except BaseException:
        out.close()
        raise
    return out


__all__ = ["ENTITIES", "LoadedEntity", "LoadedExport", "load_export"]
