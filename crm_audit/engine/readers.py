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

from crm_audit.errors import InputError, Problem
from crm_audit.engine.profile import ENTITIES, EntitySpec, Profile, hkey
from crm_audit.report import DataWarning
from crm_audit.textnorm import WS_CLASS, norm

DATA_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".htm", ".html")
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
    # norm(export header) -> canonical field it fed (a rule may name a
    # mapped column by its export name: amoCRM's «Бюджет» is the deal value)
    header_fields: dict[str, str] = field(default_factory=dict)
    typed: set[str] = field(default_factory=set)  # parsed fields (keep a "<name>__raw" text column)
    raw: "RawInfo | None" = None
    rows_where: str | None = None  # the file's rows this entity is (`rows_where`), as text

    def column_for(self, name: str) -> str | None:
        """SQL column of a canonical field or custom field (by export name)."""
        if name in self.fields:
            return name
        hit = self.custom.get(norm(name))
        if hit:
            return hit[0]
        canon = self.header_fields.get(norm(name))
        if canon is not None and canon in self.fields:
            return f"{canon}__raw" if canon in self.typed else canon
        return None


@dataclass
class LoadedExport:
    con: Any
    directory: Path
    entities: dict[str, LoadedEntity]
    warnings: list[DataWarning] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)
    _tmp: Any = None
    profile: Profile | None = None
    unknown_files: list[tuple[Path, list[str]]] = field(default_factory=list)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


# --------------------------------------------------------------------------- files

SNIFF_CHARS = 128 * 1024
HEADER_SCAN = 30  # rows looked at to find the header below a report preamble


def _problem(path: Path, msg: str, reason: str, **kw) -> InputError:
    return InputError(problems=[Problem(msg, file=str(path), reason=reason, **kw)])


def _looks_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM: every other byte of ASCII text is NUL."""
    sample = head[:4000]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def detect_encoding(path: Path, data: bytes) -> str:
    """The text encoding of an export file (UTF-8 [BOM], UTF-16, cp1251, ...)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    u16 = _looks_utf16(data)
    if u16:
        return u16
    if b"\x00" in data:
        raise _problem(path, "the file is not text (it contains binary data); export it again as CSV or XLSX", "encoding")
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        bad_at = exc.start
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    non_ascii = sum(1 for ch in text if ord(ch) > 127)
    if non_ascii > 20 and bad <= 0.02 * non_ascii:
        line = data[:bad_at].count(b"\n") + 1
        raise _problem(
            path,
            f"the file is UTF-8 but has {bad} broken byte(s) (first at line {line}); "
            "it was damaged after the export — export it again",
            "encoding", line=line,
        )
    # Russian Excel / Bitrix24: Windows-1251 (its letters are bytes C0..FF)
    try:
        cyr = data.decode("cp1251")
        letters = sum(1 for ch in cyr if "\u0400" <= ch <= "\u04ff")
        high = sum(1 for b in data if b >= 0x80)
        if high and letters >= 0.7 * high:
            return "cp1251"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    if best is None:
        raise _problem(path, "the file is not text (unknown encoding); export it again as CSV or XLSX", "encoding")
    return best.encoding


def _decode(path: Path, data: bytes, enc: str) -> str:
    try:
        text = data.decode(enc)
    except (UnicodeDecodeError, LookupError) as exc:
        raise _problem(path, f"cannot decode the file as {enc}: {exc}", "encoding") from None
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise _problem(path, "the file is not text (it contains NUL characters); export it again as CSV or XLSX", "encoding")
    return text


def _records(text: str, delim: str, limit: int = HEADER_SCAN) -> list[list[str]]:
    out: list[list[str]] = []
    try:
        for rec in csv.reader(io.StringIO(text, newline=""), delimiter=delim):
            if rec:
                out.append(rec)
            if len(out) >= limit:
                break
    except csv.Error:
        pass
    return out


def _nonblank(row: list[Any]) -> int:
    return sum(1 for v in row if v is not None and str(v).strip())


def header_index_of(rows: list[list[Any]]) -> int:
    """Index of the header row: the first row, or the first after a report
    preamble (leading rows with at most one filled cell, e.g. a report title)."""
    counts = [_nonblank(r) for r in rows[:HEADER_SCAN]]
    if not counts or max(counts) <= 1:
        return 0
    for i, c in enumerate(counts):
        if c >= 2:
            return i
    return 0


def sniff_csv(path: Path, text: str) -> tuple[str, int, list[str]]:
    """(delimiter, 0-based record index of the header, headers)."""
    head = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in head:
        head = head[: head.rindex("\n") + 1]
    best = None
    for delim in (",", ";", "\t", "|"):
        recs = _records(head, delim)
        if not recs:
            continue
        h = header_index_of(recs)
        n = len(recs[h])
        consistent = sum(1 for r in recs[h:] if len(r) == n)
        score = (n > 1, consistent, n)
        if best is None or score > best[0]:
            best = (score, delim, h, recs[h])
    if best is None or not any(c.strip() for c in best[3]):
        raise _problem(path, "the file is empty (no header row)", "empty", row=1)
    return best[1], best[2], [c.strip().lstrip("\ufeff") for c in best[3]]


@dataclass
class RawInfo:
    """How a file was read (shown by `crm-audit inspect`)."""

    kind: str = "csv"  # csv | xlsx | xls | html
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int = 1


_RAW_INFO: dict[str, RawInfo] = {}


#: Files larger than this are not read into memory when they are valid UTF-8:
#: the encoding is checked by streaming and DuckDB reads the file itself.
STREAM_ABOVE = 8 * 1024 * 1024


def _utf8_head(path: Path, whole: bool = True) -> str | None:
    """The decoded head of a large file, reading it once and fingerprinting it on the way.

    None when the file holds a NUL byte, starts with a UTF-16 BOM or is not
    UTF-8. With ``whole=False`` only the head is decoded: the parallel reader
    (:func:`_read_large_csv_fast`) has DuckDB check the rest while reading it.
    """
    import hashlib

    h = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    head: str | None = None
    nul = False
    with open(path, "rb") as fh:
        first = fh.read(SNIFF_CHARS * 4)
        h.update(first)
        nul = b"\x00" in first
        try:
            head = decoder.decode(first)
        except UnicodeDecodeError:
            pass
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
            nul = nul or b"\x00" in chunk
            if whole and head is not None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    head = None
        if whole and head is not None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                head = None
    _FINGERPRINTS[_file_key(path)] = h.hexdigest()[:16]
    if head is None or nul or first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    return head.lstrip("\ufeff")


def _read_large_csv_fast(con, path: Path, table: str, head: str) -> list[str] | None:
    """Read a large UTF-8 CSV with DuckDB's parallel reader; None to use the careful path.

    The parallel reader cannot pad short rows and gives no row numbers, so it
    reads only files whose every record has the header's width (strict mode
    fails otherwise) and the row number comes from the table's ``rowid``
    (insertion order is preserved). Any failure — a ragged or malformed file,
    bytes that are not UTF-8 — falls back to the serial reader, which reports
    the problem exactly as before.
    """
    import duckdb

    if head.lstrip()[:1] == "<" and "<table" in head[:SNIFF_CHARS].lower():
        return None
    try:
        delim, hidx, headers = sniff_csv(path, head)
    except InputError:
        return None
    cols = {f"c{i}": "VARCHAR" for i in range(len(headers))}
    data = f"{table}__csv"
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {data} AS SELECT * FROM read_csv(?, header=false, delim=?, quote='\"', escape='\"', "
            "columns=?, null_padding=false, parallel=true, max_line_size=50000000, auto_detect=false, strict_mode=true)",
            [str(path), delim, cols],
        )
    except duckdb.Error:
        con.execute(f"DROP TABLE IF EXISTS {data}")
        return None
    con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT rowid + 1 AS _row, * FROM {data} WHERE rowid > {hidx}")
    _RAW_INFO[str(path)] = RawInfo("csv", "utf-8", delim, hidx + 1)
    return headers


#: sha256 prefixes computed while scanning large files: (path, size, mtime) -> digest
_FINGERPRINTS: dict[tuple[str, int, int], str] = {}


def _file_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path), st.st_size, st.st_mtime_ns)


def drop_raw(con, table: str) -> None:
    """Drop a raw table made by :func:`read_raw` (a table, or a view over ``<table>__csv``)."""
    if con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT internal", [table]).fetchone()[0]:
        con.execute(f"DROP VIEW {table}")
        con.execute(f"DROP TABLE IF EXISTS {table}__csv")
    else:
        con.execute(f"DROP TABLE {table}")


def _read_csv(con, path: Path, table: str, tmpdir: Path, data: bytes | None = None) -> list[str]:
    if data is None and path.stat().st_size > STREAM_ABOVE:
        head = _utf8_head(path, whole=False)
        if head is not None:  # (a file whose head is not UTF-8 is not UTF-8 as a whole either)
            headers = _read_large_csv_fast(con, path, table, head)
            if headers is not None:
                return headers
            if _utf8_head(path) is not None:  # irregular but UTF-8 throughout: the streaming serial reader
                return _read_csv_text(con, path, table, tmpdir, head, "utf-8", whole=False)
    if data is None:
        data = path.read_bytes()
    if not data.strip():
        raise _problem(path, "the file is empty", "empty")
    enc = detect_encoding(path, data)
    text = _decode(path, data, enc)
    del data
    return _read_csv_text(con, path, table, tmpdir, text, enc, whole=True)


def _read_csv_text(con, path: Path, table: str, tmpdir: Path, text: str, enc: str, whole: bool) -> list[str]:
    """``text`` is the whole decoded file (``whole``) or its head (a large UTF-8 file)."""
    if text.lstrip()[:1] == "<" and "<table" in text[:SNIFF_CHARS].lower():
        if not whole:
            text = _decode(path, path.read_bytes(), enc)
        return _read_html(con, path, table, text, enc)
    delim, hidx, headers = sniff_csv(path, text)
    src = path
    if enc != "utf-8" and whole:
        src = tmpdir / (table + ".csv")
        src.write_text(text, encoding="utf-8", newline="")
    cols = {f"c{i}": "VARCHAR" for i in range(len(headers))}
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM (SELECT row_number() OVER () AS _row, * FROM read_csv(?, "
            "header=false, delim=?, quote='\"', escape='\"', columns=?, null_padding=true, "
            "parallel=false, max_line_size=50000000, auto_detect=false, strict_mode=true)) WHERE _row > ?",
            [str(src), delim, cols, hidx + 1],
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
    _RAW_INFO[str(path)] = RawInfo("csv", enc, delim, hidx + 1)
    return headers


def _cell_text(v: Any) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return None
        return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.strftime("%H:%M")
    if isinstance(v, dt.timedelta):
        return str(v)
    return str(v)


def _rows_to_table(con, path: Path, table: str, rows: list[list[Any]], info: RawInfo) -> list[str]:
    import pyarrow as pa

    rows = [list(r) for r in rows]
    if not rows or not any(_nonblank(r) for r in rows):
        raise _problem(path, "the first sheet / table is empty", "empty", row=1)
    while rows and not _nonblank(rows[0]):
        rows.pop(0)
        info.header_row += 1
    h = header_index_of(rows)
    info.header_row += h
    headers = [(_cell_text(c) or "").strip().lstrip("\ufeff") for c in rows[h]]
    # trailing blank header cells with no data under them are not columns
    width = max((len(r) for r in rows), default=0)
    headers += [""] * (width - len(headers))
    while headers and not headers[-1] and not any(len(r) >= len(headers) and _cell_text(r[len(headers) - 1]) for r in rows[h + 1:]):
        headers.pop()
    n = len(headers)
    data = {f"c{i}": [] for i in range(n)}
    body = rows[h + 1:]
    for r in body:
        for i in range(n):
            data[f"c{i}"].append(_cell_text(r[i]) if i < len(r) else None)
    first = info.header_row + 1
    arrow = pa.table({"_row": pa.array(range(first, first + len(body)), pa.int64()), **{k: pa.array(v, pa.string()) for k, v in data.items()}})
    con.register(f"{table}_arrow", arrow)
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table}_arrow")
    con.unregister(f"{table}_arrow")
    _RAW_INFO[str(path)] = info
    return headers


def _read_xlsx(con, path: Path, table: str, kind: str = "xlsx") -> list[str]:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        rows = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types
        raise _problem(path, f"cannot read the workbook: {exc}", "xlsx") from None
    if not rows:
        raise _problem(path, "the workbook's first sheet is empty", "empty")
    return _rows_to_table(con, path, table, rows, RawInfo(kind))


class _TableParser:
    """Rows of the first <table> of an HTML file (Bitrix24's «Excel» export)."""

    def __init__(self) -> None:
        from html.parser import HTMLParser

        outer = self

        class P(HTMLParser):
            def handle_starttag(self, tag, attrs):
                outer.start(tag, dict(attrs))

            def handle_startendtag(self, tag, attrs):
                outer.start(tag, dict(attrs))
                outer.end(tag)

            def handle_endtag(self, tag):
                outer.end(tag)

            def handle_data(self, data):
                outer.data(data)

        self.parser = P(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.depth = 0  # nested tables are flattened into their cell
        self.done = False
        self.span = 1

    def start(self, tag: str, attrs: dict) -> None:
        if self.done:
            return
        if tag == "table":
            self.depth += 1
        elif self.depth == 1 and tag == "tr":
            self._close_row()
            self.row = []
        elif self.depth == 1 and tag in ("td", "th"):
            self._close_cell()
            if self.row is None:
                self.row = []
            self.cell = []
            try:
                self.span = max(1, min(100, int(attrs.get("colspan") or 1)))
            except ValueError:
                self.span = 1
        elif tag == "br" and self.cell is not None:
            self.cell.append("\n")

    def end(self, tag: str) -> None:
        if self.done:
            return
        if tag == "table":
            self.depth -= 1
            if self.depth <= 0:
                self._close_row()
                self.done = True
        elif self.depth == 1 and tag in ("td", "th"):
            self._close_cell()
        elif self.depth == 1 and tag == "tr":
            self._close_row()

    def data(self, data: str) -> None:
        if self.cell is not None and not self.done:
            self.cell.append(data)

    def _close_cell(self) -> None:
        if self.cell is not None and self.row is not None:
            text = "".join(self.cell)
            text = "\n".join(" ".join(line.split()) for line in text.split("\n")).strip()
            self.row.append(text)
            self.row.extend([""] * (self.span - 1))
        self.cell = None
        self.span = 1

    def _close_row(self) -> None:
        self._close_cell()
        if self.row is not None:
            self.rows.append(self.row)
        self.row = None

    def feed(self, text: str) -> list[list[str]]:
        self.parser.feed(text)
        self.parser.close()
        self._close_row()
        return self.rows


def _read_html(con, path: Path, table: str, text: str, enc: str) -> list[str]:
    import re

    m = re.search(r"<meta[^>]+charset=[\"']?([A-Za-z0-9_-]+)", text[:4096], re.I)
    if m and enc not in ("utf-16", "utf-16-le", "utf-16-be"):
        declared = m.group(1).lower()
        try:
            if codecs.lookup(declared).name != codecs.lookup(enc).name:
                text = _decode(path, path.read_bytes(), declared)
        except LookupError:
            pass
        except InputError:
            pass
    try:
        rows = _TableParser().feed(text)
    except Exception as exc:  # noqa: BLE001 - html.parser on broken markup
        raise _problem(path, f"cannot read the HTML table: {exc}", "html") from None
    if not rows:
        raise _problem(path, "the file is HTML without a table; export it again as CSV or XLSX", "html")
    return _rows_to_table(con, path, table, rows, RawInfo("html", enc))


def read_raw(con, path: Path, table: str, tmpdir: Path) -> list[str]:
    """Load a CSV/XLSX/XLS/HTML file into an all-text table; returns its headers.

    The table has ``_row`` (the row number as a spreadsheet shows it, header
    included) and ``c0 … cN``; rows above the header (a report preamble) are
    not in it. The format is taken from the content, not the file name (an
    .xls that is an HTML table, an .xlsx renamed to .csv).
    """
    try:
        with open(path, "rb") as fh:
            magic = fh.read(8)
    except OSError as exc:
        raise _problem(path, f"cannot open the file: {exc.strerror or exc}", "not-found") from None
    if magic.startswith(b"PK\x03\x04"):
        return _read_xlsx(con, path, table, "xlsx")
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        return _read_xlsx(con, path, table, "xls")
    return _read_csv(con, path, table, tmpdir)


def peek_headers(path: Path) -> list[str]:
    """Headers of a file without loading it (profile auto-detection)."""
    import duckdb

    con = duckdb.connect()
    try:
        with tempfile.TemporaryDirectory(prefix="crm-audit-") as tmp:
            return read_raw(con, path, "peek", Path(tmp))
    finally:
        con.close()


# --------------------------------------------------------------------------- mapping


def _stem_tokens(path: Path) -> set[str]:
    import re

    return {t for t in re.split(r"[^0-9a-zа-яё]+", norm(path.stem)) if t}


def _detect_entity(profile: Profile, path: Path, headers: list[str]) -> str | None:
    stem = norm(path.stem)
    for name, spec in profile.entities.items():
        if stem in {norm(f) for f in spec.files}:
            return name
    # a file name such as amocrm_export_leads_2026-11-20.csv
    tokens = _stem_tokens(path)
    by_token = [name for name, spec in profile.entities.items() if tokens & {norm(f) for f in spec.files}]
    if len(by_token) == 1:
        return by_token[0]
    # by prefix: most headers carry the entity's prefix
    best = (0, None)
    for name, spec in profile.entities.items():
        hits = sum(1 for h in headers if spec.strip_prefix(h)[1])
        if hits > best[0]:
            best = (hits, name)
    if best[1] and best[0] * 2 >= len([h for h in headers if h.strip()]):
        return best[1]
    # by signature fields: the entity with the most mapped headers
    found = (0, None)
    for name, spec in profile.entities.items():
        idx = spec.header_index()
        mapped = [idx.get(hkey(spec.strip_prefix(h)[0])) for h in headers]
        have = {m for m in mapped if m}
        if spec.signature and all(f in have for f in spec.signature) and "id" in have:
            if len(have) > found[0]:
                found = (len(have), name)
    return found[1]


def _text_expr(cols: list[str], join: str | None = None) -> str:
    if len(cols) == 1:
        return cols[0]
    if join is not None:
        parts = ", ".join(f"CASE WHEN is_blank({c}) THEN NULL ELSE strip({c}) END" for c in cols)
        return f"nullif(concat_ws({_lit(join)}, {parts}), '')"
    # duplicate headers: the first non-blank value of the row
    parts = " ".join(f"WHEN NOT is_blank({c}) THEN {c}" for c in cols)
    return f"CASE {parts} ELSE {cols[0]} END"


def _lit(v: str) -> str:
    return "'" + str(v).replace("'", "''") + "'"


def _sql_list(values: list[str]) -> str:
    return ", ".join(_lit(norm(v)) for v in values) or "NULL"


def _typed_expr(spec, raw: str, date_order: str = "dmy") -> str:
    if spec.type == "id":
        return f"parse_id({raw})"
    if spec.type == "number":
        return f"parse_num({raw})"
    if spec.type == "date":
        return f"parse_date_mdy({raw})" if date_order == "mdy" else f"parse_date({raw})"
    if spec.type == "enum":
        whens = " ".join(f"WHEN norm({raw}) IN ({_sql_list(vals)}) THEN {_lit(key)}" for key, vals in spec.values.items())
        return f"CASE {whens} ELSE NULL END" if whens else "NULL"
    if spec.type == "bool":
        t = _sql_list(spec.values.get("true", []))
        f = _sql_list(spec.values.get("false", []))
        return f"CASE WHEN norm({raw}) IN ({t}) THEN TRUE WHEN norm({raw}) IN ({f}) THEN FALSE ELSE NULL END"
    return raw


def _raw_expr(fs, cols: list[str], fallback: list[str] | None = None) -> str:
    raw = _text_expr(cols, fs.join) if cols else None
    if fallback:  # `fallback` columns: for a row whose own columns are blank (or absent)
        fb = _text_expr(fallback, fs.fallback.join)
        raw = fb if raw is None else f"CASE WHEN is_blank({raw}) THEN {fb} ELSE {raw} END"
    if fs.split:
        raw = f"first_item({raw}, {_lit(fs.split)})"
    if fs.remove:
        raw = f"nullif(strip(regexp_replace({raw}, {_lit(fs.remove)}, '', 'g')), '')"
    if fs.null_values:
        raw = f"CASE WHEN norm({raw}) IN ({_sql_list(fs.null_values)}) THEN NULL ELSE {raw} END"
    return raw


def _slash_count(col: str, part: int) -> str:
    """SQL: how many cells of ``col`` are slash dates whose ``part`` (1 or 2) is above 12.

    A cheap anchored prefix test (at most a few characters read) guards the
    strip/extract/is_slash_date work, which then runs only on the few cells
    that can be slash dates (ISO dates fail at their third digit).
    """
    group = "([0-9]{1,2})[/-]" if part == 1 else "[0-9]{1,2}[/-]([0-9]{1,2})"
    return (
        f"count(*) FILTER (WHERE CASE WHEN regexp_matches({col}, '^{WS_CLASS}*[0-9]{{1,2}}[/-]') "
        f"THEN TRY_CAST(regexp_extract(strip({col}), '^{group}', 1) AS INTEGER) > 12 AND is_slash_date({col}) ELSE FALSE END)"
    )


def _date_order(con, raw_table: str, cols: list[str], default: str) -> tuple[str, str | None]:
    """The file's d/m/y vs m/d/y order, from values such as 25/11/2026."""
    if not cols:
        return default, None
    a, b = con.execute(f"SELECT {' + '.join(_slash_count(c, 1) for c in cols)}, {' + '.join(_slash_count(c, 2) for c in cols)} FROM {raw_table}").fetchone()
    a, b = a or 0, b or 0
    if default == "mdy" and a and not b:
        return "dmy", "dates are written day first (such as 25/11/2026); read as day/month/year"
    if default == "dmy" and b and not a:
        return "mdy", "dates are written month first (such as 11/25/2026); read as month/day/year"
    return default, None


def _footer_filter(con, raw_table: str, n: int, patterns: list[str], id_cols: list[str]) -> str:
    """SQL condition keeping rows that are not report footer lines."""
    if not patterns or n == 0:
        return "TRUE"
    firsts = ", ".join(f"CASE WHEN is_blank(c{i}) THEN NULL ELSE lower(strip(c{i})) END" for i in range(min(n, 3)))
    first = f"coalesce({firsts})"
    match = " OR ".join(f"regexp_full_match({first}, {_lit(p)}, 's')" for p in patterns)
    no_id = " AND ".join(f"is_blank({c})" for c in id_cols) or "TRUE"
    start = con.execute(f"SELECT min(_row) FROM {raw_table} WHERE {no_id} AND ({match})").fetchone()[0]
    if start is None:
        return "TRUE"
    return f"NOT ({no_id} AND _row >= {int(start)})"


def _status_expr(profile: Profile | None, by_field: dict[str, list[int]], spec: EntitySpec, date_order: str,
                 by_fb: dict[str, list[int]] | None = None) -> str | None:
    ds = profile.derive_status if profile is not None else None
    if ds is None:
        return None

    def raw(name: str) -> str:
        return _raw_expr(spec.fields[name], [f"c{i}" for i in by_field[name]], [f"c{i}" for i in (by_fb or {}).get(name, [])])

    whens = []
    if "status" in by_field:
        fs = spec.fields["status"]
        explicit = _typed_expr(fs, raw("status"), date_order)
        whens.append(f"WHEN ({explicit}) IS NOT NULL THEN ({explicit})")
    ff = ds.from_flags
    if ff and ff.closed in by_field and ff.won in by_field:
        fc, fw = spec.fields[ff.closed], spec.fields[ff.won]
        closed = _typed_expr(fc, raw(ff.closed))
        won = _typed_expr(fw, raw(ff.won))
        whens.append(f"WHEN ({closed}) IS TRUE AND ({won}) IS TRUE THEN 'won' WHEN ({closed}) IS TRUE THEN 'lost' WHEN ({closed}) IS FALSE THEN 'open'")
    fs_ = ds.from_stage
    if fs_ and "stage" in by_field:
        stage = raw("stage")
        for key in ("won", "lost", "deleted"):
            vals = getattr(fs_, key)
            if vals:
                whens.append(f"WHEN norm({stage}) IN ({_sql_list(vals)}) THEN '{key}'")
        if fs_.otherwise:
            whens.append(f"WHEN NOT is_blank({stage}) THEN '{fs_.otherwise}'")
    if not whens or ("status" in by_field and len(whens) == 1):
        return None
    return f"CASE {' '.join(whens)} ELSE NULL END"


def _columns_text(headers: list[str], idxs: list[int], join: str | None) -> str:
    if not idxs:
        return ""
    return headers[idxs[0]] if len(idxs) == 1 or not join else " + ".join(headers[i] for i in idxs)


def _rows_where(spec: EntitySpec, headers: list[str]) -> int | None:
    """Index of the column an entity's `rows_where` reads (None: no such filter or column)."""
    if spec.rows_where is None:
        return None
    keys = [hkey(spec.strip_prefix(h)[0]) for h in headers]
    return next((keys.index(hkey(h)) for h in spec.rows_where.headers if hkey(h) in keys), None)


def _rows_where_sql(spec: EntitySpec, col: int) -> str:
    return f"norm(c{col}) IN ({_sql_list(spec.rows_where.values)})"


def map_entity(con, entity: str, spec: EntitySpec, path: Path, raw_table: str, headers: list[str], on_bad_value: str,
               profile: Profile | None = None, shared: bool = False) -> tuple[LoadedEntity, list[DataWarning]]:
    """Map a raw table into the entity's table (``shared``: another entity maps
    the same file after this one, which keeps the raw table and reports the
    file's own problems)."""
    index = spec.header_index()
    fb_index = {hkey(h): n for n, f in spec.fields.items() if f.fallback for h in f.fallback.headers}
    by_fb: dict[str, list[int]] = {}  # field -> its `fallback` columns
    by_field: dict[str, list[int]] = {}
    custom: dict[str, list[int]] = {}
    custom_header: dict[str, str] = {}
    ignored: list[str] = []
    header_fields: dict[str, str] = {}
    for i, h in enumerate(headers):
        bare, _ = spec.strip_prefix(h)
        if not bare:
            ignored.append(f"column {i + 1} (no header)")
            continue
        f = index.get(hkey(bare))
        if f is not None:
            by_field.setdefault(f, []).append(i)
            header_fields.setdefault(norm(bare), f)
        elif hkey(bare) in fb_index:
            by_fb.setdefault(fb_index[hkey(bare)], []).append(i)
            header_fields.setdefault(norm(bare), fb_index[hkey(bare)])
        else:
            custom.setdefault(norm(bare), []).append(i)
            custom_header.setdefault(norm(bare), bare)
    for name, idxs in by_field.items():  # several columns: the profile's header order decides
        rank = {hkey(h): k for k, h in enumerate(spec.fields[name].headers)}
        idxs.sort(key=lambda i: rank.get(hkey(spec.strip_prefix(headers[i])[0]), len(rank)))
    for name, idxs in by_fb.items():
        rank = {hkey(h): k for k, h in enumerate(spec.fields[name].fallback.headers)}
        idxs.sort(key=lambda i: rank.get(hkey(spec.strip_prefix(headers[i])[0]), len(rank)))
        by_field.setdefault(name, [])  # the field is there (from its fallback columns only, when empty)
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
    date_order = profile.date_order if profile is not None else "dmy"
    date_cols = [f"c{i}" for name, idxs in by_field.items() if spec.fields[name].type == "date" for i in idxs + by_fb.get(name, [])]
    date_order, note = _date_order(con, raw_table, date_cols, date_order)
    if note:
        warnings.append(DataWarning("date-order", note, str(path)))
    select = ["_row"]
    fields: dict[str, str] = {}
    checks: list[tuple[str, str, str, str]] = []  # (field, raw expr, parsed col, type)
    status_derived = _status_expr(profile, by_field, spec, date_order, by_fb) if entity == "deals" else None
    for name, idxs in by_field.items():
        fs = spec.fields[name]
        raw = _raw_expr(fs, [f"c{i}" for i in idxs], [f"c{i}" for i in by_fb.get(name, [])])
        if name == "status" and status_derived:
            continue
        expr = _typed_expr(fs, raw, date_order)
        select.append(f"{expr} AS \"{name}\"")
        if fs.type != "text":
            select.append(f"{raw} AS \"{name}__raw\"")
            checks.append((name, f"{name}__raw", name, fs.type))
        fields[name] = _columns_text(headers, idxs, fs.join)
        if name in by_fb:
            fb_text = _columns_text(headers, by_fb[name], fs.fallback.join)
            fields[name] = f"{fields[name]}, else {fb_text}" if idxs else fb_text
    if status_derived:
        select.append(f"{status_derived} AS \"status\"")
        fields["status"] = headers[(by_field["status"] or by_fb["status"])[0]] if "status" in by_field else (
            f"{fields['stage']} (status from the stage)" if "stage" in by_field else "status (from the flags)")
    for name, fs in spec.fields.items():
        if name not in fields and fs.default is not None:
            select.append(f"{_lit(fs.default)} AS \"{name}\"")
            fields[name] = f"(no column: «{fs.default}»)"
    custom_cols: dict[str, tuple[str, str]] = {}
    for k, (key, idxs) in enumerate(custom.items()):
        col = f"x{k}"
        select.append(f"{_text_expr([f'c{i}' for i in idxs])} AS {col}")
        custom_cols[key] = (col, custom_header[key])
    # one regex per row instead of one per cell: a row is empty when all its cells joined are blank
    not_empty = f"NOT is_blank(concat({', '.join(f'c{i}' for i in range(len(headers)))}))" if headers else "FALSE"
    id_cols = [f"c{i}" for i in by_field.get("id", [])]
    keep = _footer_filter(con, raw_table, len(headers), profile.footer if profile is not None else [], id_cols)
    table = entity
    rw_col = _rows_where(spec, headers)
    only = "" if rw_col is None else f" AND {_rows_where_sql(spec, rw_col)}"
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {', '.join(select)} FROM {raw_table} WHERE ({not_empty}) AND ({keep}){only}")
    if not shared:
        dropped = con.execute(f"SELECT count(*) FROM {raw_table} WHERE ({not_empty}) AND NOT ({keep})").fetchone()[0]
        if dropped:
            warnings.append(DataWarning("footer", f"{dropped} report footer line(s) (totals, notes) skipped", str(path)))
        if rw_col is not None:
            warnings += _rows_of_no_entity(con, profile, raw_table, headers, rw_col, f"({not_empty}) AND ({keep})", path)
        drop_raw(con, raw_table)
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
        if typ == "date" and date_order == "mdy":
            expected = "a date such as 2026-11-20, 11/20/2026 or 20.11.2026"
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
    typed = {n for n, fs in spec.fields.items() if n in fields and fs.type != "text" and n in by_field and not (n == "status" and status_derived)}
    ent = LoadedEntity(entity, path, table, rows, fields, custom_cols, ignored, header_fields=header_fields, typed=typed)
    if rw_col is not None:
        ent.rows_where = f"rows whose «{headers[rw_col]}» is {' / '.join(spec.rows_where.values)}"
    return ent, warnings


def _rows_of_no_entity(con, profile: Profile | None, raw_table: str, headers: list[str], col: int, rows: str, path: Path) -> list[DataWarning]:
    """Rows whose `rows_where` column holds a value no entity of the profile takes (skipped: say so)."""
    specs = [s for s in (profile.entities.values() if profile is not None else []) if _rows_where(s, headers) == col]
    known = " OR ".join(_rows_where_sql(s, col) for s in specs)
    n, first, value = con.execute(
        f"SELECT count(*), min(_row), arg_min(c{col}, _row) FROM {raw_table} WHERE {rows} AND NOT coalesce({known}, FALSE)").fetchone()
    if not n:
        return []
    values = ", ".join(v for s in specs for v in s.rows_where.values)
    return [DataWarning("rows-skipped", f"{n} row(s) skipped: «{headers[col]}» is {f'«{value}»' if value else 'blank'} (first at row {first}), "
                        f"not one of: {values}", str(path), first, headers[col])]


def _link_by_name(con, out: "LoadedExport", profile: Profile) -> None:
    """Fill deals.org_id / person_id, activities.deal_id by matching names (exports without ids)."""
    deals = out.entities.get("deals")
    if deals is None:
        return
    for kind, ent_name in (("org", "organizations"), ("person", "persons")):
        ent = out.entities.get(ent_name)
        if kind not in profile.link_by_name or f"{kind}_id" in deals.fields or f"{kind}_name" not in deals.fields:
            continue
        if ent is None or "id" not in ent.fields or "name" not in ent.fields:
            continue
        _link_column(con, out, deals, f"{kind}_id", f"{kind}_name", ent, "name",
                     "several records named «{}»; deals are linked to the first of them")
    acts = out.entities.get("activities")
    if "deal" in profile.link_by_name and acts is not None and "deal_id" not in acts.fields and "deal_name" in acts.fields and "title" in deals.fields:
        # activities name their deal (Salesforce's «Opportunity»): link by the deal's title
        _link_column(con, out, acts, "deal_id", "deal_name", deals, "title",
                     "several deals named «{}»; its activities are linked to the first of them")


def _link_column(con, out: "LoadedExport", src: "LoadedEntity", id_col: str, name_col: str, target: "LoadedEntity",
                 target_name: str, ambiguous: str) -> None:
    """``src.id_col`` = the id of the ``target`` record whose ``target_name`` matches ``src.name_col`` (the first one in the file)."""
    con.execute(f"ALTER TABLE {src.table} ADD COLUMN {id_col} VARCHAR")
    named = f"FROM {target.table} WHERE id IS NOT NULL AND NOT is_blank({target_name})"
    con.execute(
        f"UPDATE {src.table} SET {id_col} = m.id FROM (SELECT norm({target_name}) AS k, arg_min(id, _row) AS id {named} GROUP BY 1) m "
        f"WHERE norm({src.table}.{name_col}) = m.k"
    )
    src.fields[id_col] = f"{src.fields[name_col]} (linked by name to {target.file.name})"
    dup = con.execute(
        f"SELECT min({target_name}) {named} GROUP BY norm({target_name}) "
        f"HAVING count(DISTINCT id) > 1 AND norm(min({target_name})) IN (SELECT norm({name_col}) FROM {src.table}) ORDER BY 1 LIMIT 5"
    ).fetchall()
    for (name,) in dup:
        out.warnings.append(DataWarning("ambiguous-link", ambiguous.format(name), str(target.file), None, target.fields.get(target_name)))


def _dates_from_days(con, out: "LoadedExport", profile: Profile, as_of: dt.date, on_bad_value: str) -> None:
    """A date field the export lacks, from a «days since» column (`from_days`): as-of minus the days."""
    for entity, ent in out.entities.items():
        for name, fs in profile.entities[entity].fields.items():
            hit = next((ent.custom[norm(h)] for h in fs.from_days if norm(h) in ent.custom), None)
            if name in ent.fields or hit is None:
                continue
            col, header = hit
            days = f"TRY_CAST(round(parse_num({col})) AS INTEGER)"
            bad = con.execute(f"SELECT _row, {col} FROM {ent.table} WHERE NOT is_blank({col}) AND {days} IS NULL ORDER BY _row LIMIT {MAX_REPORTED}").fetchall()
            if bad and on_bad_value != "warn":
                raise InputError(
                    problems=[Problem(f"cannot read «{v}»: expected a number of days", file=str(ent.file), row=r, column=header, reason="bad-value") for r, v in bad],
                    hint="Fix the cells in the export (or set `on_bad_value: warn` in crm-audit.yaml to treat them as empty).",
                )
            for r, v in bad:
                out.warnings.append(DataWarning("bad-value", f"cannot read «{v}»: expected a number of days; the cell is treated as empty", str(ent.file), r, header))
            con.execute(f"ALTER TABLE {ent.table} ADD COLUMN \"{name}\" DATE")
            con.execute(f"UPDATE {ent.table} SET \"{name}\" = DATE {_lit(as_of.isoformat())} - {days}")
            ent.fields[name] = f"{header} (days before {as_of.isoformat()})"


def _shared_with(con, profile: Profile, entity: str, path: Path, raw_table: str, headers: list[str],
                 seen: dict[str, Path]) -> tuple[list[str], list[DataWarning]]:
    """The other entities whose rows this file also holds (`rows_where`: amoCRM's
    contacts list has contacts and companies), and a warning for such rows left
    to that entity's own file."""
    if _rows_where(profile.entities[entity], headers) is None:
        return [], []
    feeds: list[str] = []
    warns: list[DataWarning] = []
    for other, spec in profile.entities.items():
        col = None if other == entity else _rows_where(spec, headers)
        if col is None:
            continue
        n = con.execute(f"SELECT count(*) FROM {raw_table} WHERE {_rows_where_sql(spec, col)}").fetchone()[0]
        if n and other in seen:
            warns.append(DataWarning("rows-skipped", f"{n} row(s) whose «{headers[col]}» is {' / '.join(spec.rows_where.values)} skipped: "
                                     f"the {other} are read from {seen[other].name}", str(path), None, headers[col]))
        elif n:
            feeds.append(other)
    return feeds, warns


def _fingerprint(path: Path) -> str:
    """sha256 prefix of a file (reused when the large-file scan computed it)."""
    import hashlib

    cached = _FINGERPRINTS.pop(_file_key(path), None)
    if cached is not None:
        return cached

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def load_export(directory: str | Path, profile: Profile, on_bad_value: str = "error", con=None, as_of: dt.date | None = None) -> LoadedExport:
    """Find, read, map and parse the export files in ``directory``.

    ``as_of`` (default today) dates the «days since» columns (`from_days`)."""
    import duckdb

    from crm_audit.engine import sqlfuncs

    d = Path(directory)
    if not d.exists():
        raise InputError(problems=[Problem("the export directory does not exist", file=str(d), reason="not-found")])
    files = [d] if d.is_file() else sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES and not p.name.startswith((".", "~$")))
    if not files:
        raise InputError(
            problems=[Problem("no export files (CSV or XLSX) found; expected deals.csv, activities.csv, organizations.csv, persons.csv", file=str(d), reason="no-files")]
        )
    if con is None:
        con = duckdb.connect()
        sqlfuncs.install(con)
    tmp = tempfile.TemporaryDirectory(prefix="crm-audit-")
    out = LoadedExport(con, d, {}, _tmp=tmp, profile=profile)
    try:
        seen: dict[str, Path] = {}
        shared: dict[str, list[DataWarning]] = {}  # entity read from another entity's file -> its warnings
        for i, path in enumerate(files):
            raw_table = f"raw_{i}"
            try:
                headers = read_raw(con, path, raw_table, Path(tmp.name))
            except duckdb.Error as exc:
                raise InputError(problems=[Problem(f"cannot read the file: {str(exc).splitlines()[0]}", file=str(path), reason="unreadable")]) from None
            entity = _detect_entity(profile, path, headers)
            if entity is None:
                drop_raw(con, raw_table)
                out.warnings.append(DataWarning("unknown-file", "not recognised as deals, organizations, persons or activities; ignored", str(path)))
                out.unknown_files.append((path, headers))
                continue
            if entity in seen and entity not in shared:
                raise InputError(
                    problems=[Problem(f"a second {entity} file (the first is {seen[entity].name}); keep one", file=str(path), reason="duplicate-file")]
                )
            if entity in shared:  # a file of its own replaces the rows read from another entity's file
                prev = out.entities.pop(entity)
                del shared[entity]
                out.warnings.append(DataWarning("rows-skipped", f"{prev.rows} row(s) ({prev.rows_where}) skipped: the {entity} are read from {path.name}", str(prev.file)))
            seen[entity] = path
            try:
                feeds, warns = _shared_with(con, profile, entity, path, raw_table, headers, seen)
                for other in feeds:  # the same file holds rows of other entities (`rows_where`)
                    out.entities[other], shared[other] = map_entity(
                        con, other, profile.entities[other], path, raw_table, headers, on_bad_value, profile, shared=True)
                    seen[other] = path
                loaded, more = map_entity(con, entity, profile.entities[entity], path, raw_table, headers, on_bad_value, profile)
            except duckdb.Error as exc:  # a value the SQL cannot take: name the file, never a traceback
                raise InputError(problems=[Problem(f"cannot read the file: {str(exc).splitlines()[0]}", file=str(path), reason="unreadable")]) from None
            info = _RAW_INFO.pop(str(path), None)
            if info is not None:
                loaded.raw = info
                for other in feeds:
                    out.entities[other].raw = info
            out.entities[entity] = loaded
            out.warnings.extend(warns + more)
            out.fingerprints[path.name] = _fingerprint(path)
        for warns in shared.values():
            out.warnings.extend(warns)
        if "deals" in out.entities:
            _link_by_name(con, out, profile)
        _dates_from_days(con, out, profile, as_of or dt.date.today(), on_bad_value)
        if "deals" not in out.entities:
            raise InputError(
                problems=[Problem("no deals file found (deals.csv / deals.xlsx, or a file with deal headers)", file=str(d), reason="no-deals")]
            )
    except BaseException:
        out.close()
        raise
    return out


__all__ = ["ENTITIES", "LoadedEntity", "LoadedExport", "load_export"]
