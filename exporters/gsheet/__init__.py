"""Publish the audit to a Google Sheet and read managers' edits back from it.

The Google Sheet has exactly the workbook's layout (:mod:`exporters.xlsx`):
the same sheets in the same order (FAQ, one sheet per rule, «Учет попаданий»),
the same columns and the same values. To guarantee that, the sheets are built
by the workbook writer's own sheet functions on an in-memory openpyxl
workbook, and the rule sheets' data rows are taken from the very cells the
workbook writer serializes (:meth:`exporters.xlsx._RawRows.chunks`).

How values are written
    ``valueInputOption=RAW`` only: a text starting with ``= + - @`` stays a
    text, nothing is ever guessed as a date or a number. Dates are written as
    serial numbers (days since 1899-12-30, as in the workbook) in columns
    formatted ``dd.mm.yyyy``; deal links are link formatting on the cell
    (``userEnteredFormat.textFormat.link``), never a ``=HYPERLINK`` formula.

Requests
    A full publish is: one ``spreadsheets.get`` (metadata), one
    ``values.batchGet`` (what is in the sheets now), one
    ``spreadsheets.batchUpdate`` (sheets, order, grid sizes, formats,
    drop-downs, highlighting, filters, widths, protected ranges) and one
    ``values.batchUpdate`` (all values). A body larger than
    :data:`MAX_BODY_BYTES` is split into several requests. Values are padded
    with empty strings up to what the sheet held before, so rows of the
    previous audit never survive below the new ones. Re-publishing is
    idempotent: validations, conditional rules and this tool's protected
    ranges are deleted before they are added again.

Faults
    A failed attempt (429, 5xx, connection error, timeout) is retried from a
    fresh read of the spreadsheet with exponential backoff and jitter,
    honouring ``Retry-After``; every step is idempotent, so a publish that died
    half-way is completed by running it again. Values are written in one
    atomic ``values.batchUpdate`` that already carries the managers' statuses
    and comments, so no edit is lost at any point.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import column_index_from_string, get_column_letter

from crm_audit.documents.edits import (
    DECISIONS,
    HEADER_COMMENT,
    HEADER_DEAL_ID,
    HEADER_DECISION,
    HEADER_DECISION_NOTE,
    HEADER_OWNER,
    HEADER_RULE_ID,
    HEADER_STATUS,
    EditedRow,
)
from crm_audit.errors import OutputError
from crm_audit.gcutil import gc_paused
from crm_audit.report import STATUS_FIXED, STATUS_NOT_FIXED, STATUSES, AuditReport
from exporters.limits import capped, row_cap_for_cells

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CELL_CHARS",
    "MAX_CELLS",
    "AccessCheck",
    "GoogleSheetReader",
    "PublishResult",
    "RetryPolicy",
    "SheetChange",
    "check_access",
    "open_spreadsheet",
    "publish",
    "read_edits",
    "spreadsheet_key",
]

#: Google's limits.
MAX_CELLS = 10_000_000
MAX_CELL_CHARS = 50_000
MAX_TITLE_CHARS = 100
#: Split a request whose JSON body would be larger than this.
MAX_BODY_BYTES = 2_000_000

#: Columns managers and the head of sales write in (not protected).
EDITABLE_HEADERS = (HEADER_STATUS, HEADER_COMMENT, HEADER_DECISION, HEADER_DECISION_NOTE)
#: Description of the protected ranges this tool owns (others are left alone).
PROTECTION_TAG = "crm-audit"
DATE_PATTERN = "dd.mm.yyyy"

_SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
_DEFAULT_SHEET_TITLES = {"sheet1", "лист1", "лист 1"}
_META_FIELDS = (
    "spreadsheetId,properties.title,"
    "sheets(properties,conditionalFormats,protectedRanges,basicFilter,charts.chartId)"
)
_HEADER_FILL = "DDEBF7"
_NOT_FIXED_FILL, _NOT_FIXED_FONT, _FIXED_FILL = "FFC7CE", "9C0006", "E2EFDA"
_STATUS_PROMPT = "«Не исправлено» — только с комментарием в столбце «Комментарий»."
_DECISION_PROMPT = "Решение руководителя: «Принято» (строка больше не появится) или «Предупреждение»."


# --------------------------------------------------------------------------
# results


@dataclass
class SheetChange:
    """What a publish does (or would do) to one sheet."""

    title: str
    action: str  # "create" | "update" | "delete"
    added: int = 0
    updated: int = 0
    removed: int = 0
    rows: int = 0  # data rows after the publish

    def __str__(self) -> str:
        if self.action == "delete":
            return f"«{self.title}»: delete the sheet ({self.removed} rows)"
        verb = "create" if self.action == "create" else "update"
        return f"«{self.title}»: {verb}, {self.rows} rows (+{self.added} added, ~{self.updated} updated, -{self.removed} removed)"


@dataclass
class PublishResult:
    spreadsheet_id: str
    url: str
    dry_run: bool
    sheets: list[SheetChange] = field(default_factory=list)
    requests: int = 0  # API calls made by the successful attempt
    attempts: int = 1
    cells: int = 0  # cells in the spreadsheet after the publish
    row_cap: int | None = None  # rows shown per rule sheet when Google's cell limit cut the largest ones

    def summary(self) -> str:
        head = (
            f"Dry run: nothing written to {self.url}. Would change:"
            if self.dry_run
            else f"Published to {self.url} ({self.requests} API requests):"
        )
        lines = [head, *(f"  {c}" for c in self.sheets)]
        if self.row_cap is not None:
            lines.append(f"  The largest rule sheets show their first {self.row_cap} rows (Google allows {MAX_CELLS:,} cells "
                         "per spreadsheet); the violations CSV has every row.")
        return "\n".join(lines)


@dataclass
class RetryPolicy:
    """Bounded retries of a whole publish / read on 429, 5xx and connection errors."""

    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 64.0
    max_retry_after: float = 120.0
    timeout: float | tuple[float, float] = (10.0, 180.0)  # per request: (connect, read)
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random

    def delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        backoff = backoff * (0.5 + self.jitter() / 2)  # "equal jitter"
        if retry_after is not None and retry_after > 0:
            return min(retry_after, self.max_retry_after)  # what the server asked for
        return backoff


@dataclass
class AccessCheck:
    ok: bool
    message: str
    email: str | None = None
    title: str | None = None

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------
# the sheets (built by the workbook writer)


@dataclass
class _Sheet:
    title: str
    kind: str  # "faq" | "rule" | "hits"
    rows: list[list[Any]]  # None = empty; dates are serial numbers
    formats: dict[tuple[int, int], dict] = field(default_factory=dict)  # CellFormat from openpyxl styles
    links: dict[tuple[int, int], Any] = field(default_factory=dict)  # uri or ("sheet", title)
    date_cols: set[int] = field(default_factory=set)
    text_cols: set[int] = field(default_factory=set)
    widths: dict[int, float] = field(default_factory=dict)  # column -> width in characters
    frozen_rows: int = 0
    frozen_cols: int = 0
    filter_ref: tuple[int, int] | None = None  # (rows, cols) of the filtered table
    data_rows: int = 0
    extent: int = 0  # rows (header included) the drop-downs and highlighting cover
    charts: list[dict] = field(default_factory=list)  # {"title", "anchor": (r, c), "domain": ref, "series": [(ref, label)]}

    @property
    def header(self) -> list[str]:
        return [("" if v is None else str(v)) for v in (self.rows[0] if self.rows else [])]

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)


def _rgb(color: Any) -> str | None:
    rgb = getattr(color, "rgb", None)
    if isinstance(rgb, str) and re.fullmatch(r"[0-9A-Fa-f]{6,8}", rgb):
        return rgb[-6:].upper()
    return None


def _color(hex6: str) -> dict:
    return {
        "rgbColor": {
            "red": int(hex6[0:2], 16) / 255,
            "green": int(hex6[2:4], 16) / 255,
            "blue": int(hex6[4:6], 16) / 255,
        }
    }


def _cell_format(cell: Any) -> dict:
    """The Sheets CellFormat of an openpyxl cell's style (what matters to a reader)."""
    fmt: dict[str, Any] = {}
    font = cell.font
    text: dict[str, Any] = {}
    if font is not None:
        if font.b:
            text["bold"] = True
        if font.i:
            text["italic"] = True
        if font.sz and float(font.sz) != 11:
            text["fontSize"] = int(round(float(font.sz)))
        rgb = _rgb(font.color)
        if rgb and rgb != "000000":
            text["foregroundColorStyle"] = _color(rgb)
    if text:
        fmt["textFormat"] = text
    fill = cell.fill
    if fill is not None and fill.fill_type == "solid":
        rgb = _rgb(fill.fgColor)
        if rgb:
            fmt["backgroundColorStyle"] = _color(rgb)
    al = cell.alignment
    if al is not None:
        if al.wrap_text:
            fmt["wrapStrategy"] = "WRAP"
        if al.vertical in ("top", "center", "bottom"):
            fmt["verticalAlignment"] = {"top": "TOP", "center": "MIDDLE", "bottom": "BOTTOM"}[al.vertical]
    return fmt


def _sheet_from_ws(ws: Any, kind: str) -> _Sheet:
    from exporters.xlsx import _plain

    rows: list[list[Any]] = []
    formats: dict[tuple[int, int], dict] = {}
    links: dict[tuple[int, int], Any] = {}
    for r, row in enumerate(ws.iter_rows(), 0):
        values: list[Any] = []
        for c, cell in enumerate(row):
            value = _plain(cell.value)
            if isinstance(value, bool):
                value = "Да" if value else "Нет"
            values.append(value)
            fmt = _cell_format(cell)
            if fmt:
                formats[(r, c)] = fmt
            link = cell.hyperlink
            if link is not None:
                if link.location:
                    target = link.location.rsplit("!", 1)[0]
                    if target.startswith("'") and target.endswith("'"):
                        target = target[1:-1].replace("''", "'")
                    links[(r, c)] = ("sheet", target)
                elif link.target:
                    links[(r, c)] = link.target
        rows.append(values)
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    for row in rows:
        while row and row[-1] is None:
            row.pop()
    sheet = _Sheet(ws.title, kind, rows, formats, links)
    for letter, dim in ws.column_dimensions.items():
        col = column_index_from_string(letter) - 1
        if dim.width:
            sheet.widths[col] = float(dim.width)
        if dim.number_format == "@":
            sheet.text_cols.add(col)
    if ws.freeze_panes:
        col_letters = re.match(r"([A-Z]+)(\d+)", ws.freeze_panes)
        if col_letters:
            sheet.frozen_cols = column_index_from_string(col_letters.group(1)) - 1
            sheet.frozen_rows = int(col_letters.group(2)) - 1
    for chart in getattr(ws, "_charts", []):
        spec = _chart_of(chart)
        if spec:
            sheet.charts.append(spec)
    ref = ws.auto_filter.ref
    if ref:
        m = re.fullmatch(r"[A-Z]+\d+:([A-Z]+)(\d+)", ref)
        if m:
            sheet.filter_ref = (int(m.group(2)), column_index_from_string(m.group(1)))
    return sheet


def _ref(formula: str | None) -> tuple[str, int, int, int, int] | None:
    """('Sheet', r0, r1, c0, c1) of an openpyxl reference like ``'Учет'!$B$2:$D$2``."""
    if not formula or "!" not in formula:
        return None
    title, ref = formula.rsplit("!", 1)
    if title.startswith("'") and title.endswith("'"):
        title = title[1:-1].replace("''", "'")
    m = re.fullmatch(r"\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?", ref)
    if not m:
        return None
    c0, r0 = column_index_from_string(m.group(1)) - 1, int(m.group(2)) - 1
    c1 = column_index_from_string(m.group(3) or m.group(1))
    r1 = int(m.group(4) or m.group(2))
    return title, r0, r1, c0, c1


def _chart_of(chart: Any) -> dict | None:
    """A line/bar chart of the workbook as series references (translated to a Sheets chart)."""
    kind = {"LineChart": "LINE", "BarChart": "COLUMN"}.get(type(chart).__name__)
    if kind is None or not chart.series:
        return None
    series = []
    domain = None
    for s in chart.series:
        val = _ref(s.val.numRef.f if s.val is not None and s.val.numRef is not None else None)
        if val is None:
            continue
        label = s.tx.strRef.f if s.tx is not None and s.tx.strRef is not None else None
        series.append((val, _ref(label)))
        if domain is None and s.cat is not None:
            ref = s.cat.numRef or s.cat.strRef
            domain = _ref(ref.f if ref is not None else None)
    if not series:
        return None
    try:
        title = "".join(run.t for p in chart.title.tx.rich.p for run in (p.r or []))
    except AttributeError:
        title = ""
    anchor = chart.anchor if isinstance(chart.anchor, str) else "A1"
    m = re.fullmatch(r"([A-Z]+)(\d+)", anchor) or re.fullmatch(r"(A)(1)", "A1")
    return {
        "kind": kind,
        "title": title,
        "anchor": (int(m.group(2)) - 1, column_index_from_string(m.group(1)) - 1),
        "domain": domain,
        "series": series,
        "x_title": _axis_title(chart.x_axis),
        "y_title": _axis_title(chart.y_axis),
    }


def _axis_title(axis: Any) -> str:
    try:
        return "".join(run.t for p in axis.title.tx.rich.p for run in (p.r or []))
    except AttributeError:
        return ""


def _number(text: str) -> int | float:
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return float(text)


#: One cell as exporters.xlsx._RawRows writes it: an inline string or a value.
_CELL_RE = re.compile(
    r'<c r="([A-Z]+)([0-9]+)"(?: s="([0-9]+)")?'
    r'(?: t="inlineStr"><is><t(?: xml:space="preserve")?>(.*?)</t></is>|><v>([^<]*)</v>)</c>',
    re.S,
)


def _unescape(text: str) -> str:
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


def _add_raw_rows(sheet: _Sheet, raw: Any) -> None:
    """Append the data rows the workbook writer serializes for a rule sheet.

    The rows are read back from the writer's own SpreadsheetML (so the Sheet
    holds exactly what the workbook holds) with one regular expression over
    the fixed shapes the writer emits — an XML parser took 30 s at 200k rows.
    """
    date_sid = str(raw._ids["date"][0])
    rows = sheet.rows
    columns: dict[str, int] = {}
    for chunk in raw.chunks():
        for letters, row_no, sid, text, number in _CELL_RE.findall(chunk):
            r = int(row_no) - 1
            while len(rows) <= r:
                rows.append([])
            c = columns.get(letters)
            if c is None:
                c = columns[letters] = column_index_from_string(letters) - 1
            if number:
                value: Any = _number(number)
                if sid == date_sid:
                    sheet.date_cols.add(c)
            else:
                value = _unescape(text)
            values = rows[r]
            while len(values) <= c:
                values.append(None)
            values[c] = value
    for ref, url in raw.links:  # filled while the rows were serialized
        letters = ref.rstrip("0123456789")
        sheet.links[(int(ref[len(letters):]) - 1, column_index_from_string(letters) - 1)] = url


def _build_sheets(report: AuditReport, deal_id_header: str | None = None) -> list[_Sheet]:
    """The workbook's sheets, in order, as values + formats."""
    from exporters import xlsx as X

    wb = Workbook()
    wb.remove(wb.active)
    titles = X._sheet_titles(report.results)
    faq = wb.create_sheet(X.FAQ_TITLE)
    styles = X._Styles(faq)
    X._write_faq(faq, report, titles, styles)
    cap = _row_cap(report)
    raws = [
        X._write_rule_sheet(wb.create_sheet(title), capped(result, cap, "не помещается в таблицу Google (не больше 10 млн ячеек)"),
                            report, styles, deal_id_header)
        for result, title in zip(report.results, titles)
    ]
    hits = wb.create_sheet(X.HITS_TITLE)
    X._write_hits(hits, report, styles)
    for raw in raws:
        raw.register_styles()

    sheets = [_sheet_from_ws(faq, "faq")]
    for raw in raws:
        sheet = _sheet_from_ws(raw.ws, "rule")
        _add_raw_rows(sheet, raw)
        sheet.data_rows = raw.n
        sheet.extent = raw.n + 1 + X.EXTRA_ROWS
        sheets.append(sheet)
    sheets.append(_sheet_from_ws(hits, "hits"))
    return sheets


# --------------------------------------------------------------------------
# limits

#: cells kept free for the FAQ, «Учет попаданий» and sheets of the team's own
_RESERVED_CELLS = 250_000


def _row_cap(report: AuditReport) -> int | None:
    """Rows per rule sheet that keep the spreadsheet under Google's cell limit (None: no cap needed)."""
    from exporters import xlsx as X

    def cols(result) -> int:
        return len(X.rule_sheet_headers(result)) + 2  # + the note column and its gap

    fixed = sum((1 + X.EXTRA_ROWS) * cols(r) for r in report.results)
    return row_cap_for_cells(report.results, cols, max(0, MAX_CELLS - _RESERVED_CELLS - fixed))



def _check_limits(sheets: Sequence[_Sheet], spreadsheet_id: str) -> None:
    seen: dict[str, str] = {}
    for sheet in sheets:
        title = sheet.title
        if not title.strip():
            raise OutputError(f"Google Sheets {spreadsheet_id}: a sheet title is empty.")
        if len(title) > MAX_TITLE_CHARS:
            raise OutputError(
                f"Google Sheets {spreadsheet_id}: the sheet title «{title[:40]}…» is longer than "
                f"{MAX_TITLE_CHARS} characters."
            )
        if any(ord(ch) < 32 for ch in title):
            raise OutputError(f"Google Sheets {spreadsheet_id}: the sheet title {title!r} has control characters.")
        key = title.casefold()
        if key in seen:
            raise OutputError(
                f"Google Sheets {spreadsheet_id}: two sheets would be titled «{title}» (titles must differ, case aside)."
            )
        seen[key] = title
        for r, row in enumerate(sheet.rows):
            for c, value in enumerate(row):
                if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                    raise OutputError(
                        f"Google Sheets {spreadsheet_id}: cell {get_column_letter(c + 1)}{r + 1} of sheet «{title}» has "
                        f"{len(value)} characters; Google Sheets allows at most {MAX_CELL_CHARS} per cell."
                    )


# --------------------------------------------------------------------------
# what is in the spreadsheet now


@dataclass
class _Existing:
    sheet_id: int
    title: str
    index: int
    rows: int  # grid size
    cols: int
    cond_rules: int
    protected: list[dict]
    has_filter: bool
    charts: list[int] = field(default_factory=list)
    values: list[list[Any]] = field(default_factory=list)  # used range (from values.batchGet)
    full: bool = False  # values hold the whole sheet (not only the header)


def _quote_title(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _a1(title: str, rows: int | None = None, cols: int | None = None) -> str:
    if rows is None:
        return _quote_title(title)
    return f"{_quote_title(title)}!A1:{get_column_letter(max(cols, 1))}{max(rows, 1)}"


def _existing(meta: dict) -> list[_Existing]:
    out = []
    for s in meta.get("sheets", []):
        p = s.get("properties", {})
        grid = p.get("gridProperties", {})
        out.append(
            _Existing(
                sheet_id=int(p.get("sheetId", 0)),
                title=p.get("title", ""),
                index=int(p.get("index", 0)),
                rows=int(grid.get("rowCount", 0)),
                cols=int(grid.get("columnCount", 0)),
                cond_rules=len(s.get("conditionalFormats", []) or []),
                protected=list(s.get("protectedRanges", []) or []),
                has_filter="basicFilter" in s,
                charts=[int(c["chartId"]) for c in s.get("charts", []) or [] if "chartId" in c],
            )
        )
    out.sort(key=lambda e: e.index)
    return out


# --------------------------------------------------------------------------
# HTTP calls with retries


class _Retryable(Exception):
    def __init__(self, what: str, retry_after: float | None = None):
        super().__init__(what)
        self.retry_after = retry_after


class _Calls:
    """Counts API calls and turns HTTP failures into retryable / final errors."""

    def __init__(self, spreadsheet: Any, policy: RetryPolicy):
        self.spreadsheet = spreadsheet
        self.policy = policy
        self.count = 0
        client = getattr(spreadsheet, "client", None)
        if client is not None and hasattr(client, "set_timeout"):
            client.set_timeout(policy.timeout)

    @property
    def sid(self) -> str:
        return _sid(self.spreadsheet)

    def __call__(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - classified below
            raise _classify(exc, what, self.sid) from exc


def _sid(spreadsheet: Any) -> str:
    try:
        return str(spreadsheet.id)
    except Exception:  # noqa: BLE001
        return "?"


def _api_message(response: Any) -> str:
    try:
        err = response.json().get("error", {})
        return str(err.get("message") or err.get("status") or "")[:500]
    except Exception:  # noqa: BLE001
        return ""


def _retry_after(response: Any) -> float | None:
    value = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            from email.utils import parsedate_to_datetime

            when = parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
        except Exception:  # noqa: BLE001
            return None


def _classify(exc: Exception, what: str, sid: str) -> Exception:
    import requests
    from gspread.exceptions import APIError, SpreadsheetNotFound

    if isinstance(exc, (OutputError, _Retryable)):
        return exc
    try:
        from google.auth import exceptions as auth_errors
    except ImportError:  # pragma: no cover - google-auth comes with gspread
        auth_errors = None
    if auth_errors is not None and isinstance(exc, auth_errors.RefreshError):
        # the message of a refresh error never carries the key, but keep it out anyway
        return OutputError(
            f"Google Sheets {sid}: Google refused the credentials ({what}).",
            hint="Check that the service-account key is current (not deleted in Google Cloud Console), "
            "or sign in again (delete ~/.config/gspread/authorized_user.json).",
        )
    if auth_errors is not None and isinstance(exc, auth_errors.TransportError):
        return _Retryable(f"{what}: connection to Google's sign-in failed")
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        kind = "timed out" if isinstance(exc, requests.exceptions.Timeout) else "connection failed"
        return _Retryable(f"{what}: {kind} ({type(exc).__name__})")
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return _Retryable(f"{what}: connection broken")
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(exc, SpreadsheetNotFound) or status == 404:
        return OutputError(
            f"Google Sheets {sid}: spreadsheet not found or not shared with this account ({what}).",
            hint=_SHARE_HINT,
        )
    if isinstance(exc, PermissionError) or status in (401, 403):
        message = _api_message(response) if response is not None else ""
        if "has not been used" in message or "SERVICE_DISABLED" in message or "disabled" in message.lower():
            return OutputError(f"Google Sheets {sid}: the Google Sheets API is not enabled ({what}).", hint=_ENABLE_HINT)
        return OutputError(
            f"Google Sheets {sid}: no permission to {what} (HTTP {status or 403}).",
            hint=_SHARE_HINT,
        )
    if isinstance(exc, APIError) or status is not None:
        if status in _RETRY_STATUS:
            return _Retryable(f"{what}: HTTP {status} {_api_message(response)}".strip(), _retry_after(response))
        return OutputError(f"Google Sheets {sid}: Google rejected the request ({what}): HTTP {status} {_api_message(response)}")
    return exc


_SHARE_HINT = (
    "Open the spreadsheet in the browser, press «Share» (Настройки доступа) and add the service account's "
    "e-mail (client_email in the key file; `crm-audit gsheet check` prints it) as an Editor. "
    "With your own Google account, open the spreadsheet once to make sure you can edit it."
)
_ENABLE_HINT = (
    "Enable it for the Google Cloud project of your key: "
    "https://console.cloud.google.com/apis/library/sheets.googleapis.com — then run again in a few minutes."
)


def _with_retries(spreadsheet: Any, policy: RetryPolicy | None, what: str, body: Callable[[_Calls], Any]) -> tuple[Any, _Calls, int]:
    policy = policy or RetryPolicy()
    last = ""
    for attempt in range(1, max(1, policy.attempts) + 1):
        calls = _Calls(spreadsheet, policy)
        try:
            return body(calls), calls, attempt
        except _Retryable as exc:
            last = str(exc)
            if attempt >= policy.attempts:
                break
            policy.sleep(policy.delay(attempt, exc.retry_after))
    raise OutputError(
        f"Google Sheets {_sid(spreadsheet)}: could not {what} after {policy.attempts} attempt(s); "
        f"last error: {last}.",
        hint="Nothing the managers wrote is lost: run the same command again (Google may be rate-limiting; "
        "wait a minute if the last error was HTTP 429).",
    )


# --------------------------------------------------------------------------
# reading


def _read_current(calls: _Calls, ours: set[str], existing: list[_Existing]) -> None:
    """Fill ``existing[*].values``: whole sheets for ours, the header row for the others."""
    if not existing:
        return
    ranges = []
    for e in existing:
        full = e.title.casefold() in ours or e.title.casefold() in _DEFAULT_SHEET_TITLES
        e.full = full
        ranges.append(_quote_title(e.title) if full else f"{_quote_title(e.title)}!1:1")
    params = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER", "majorDimension": "ROWS"}
    res = calls("read the spreadsheet", calls.spreadsheet.values_batch_get, ranges, params=params)
    for e, vr in zip(existing, res.get("valueRanges", [])):
        e.values = vr.get("values", []) or []


def _is_rule_sheet(values: list[list[Any]], deal_header: str) -> bool:
    header = [str(v).strip() for v in (values[0] if values else [])]
    return HEADER_RULE_ID in header and deal_header in header


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_edits(
    spreadsheet: Any,
    *,
    deal_id_header: str | None = None,
    rule_ids_by_code: dict[str, str] | None = None,
    retry: RetryPolicy | None = None,
) -> list[EditedRow]:
    """Statuses, comments and decisions of every rule sheet, one :class:`EditedRow` per data row.

    Like :class:`exporters.xlsx_readback.WorkbookReader`: a rule sheet is a sheet
    with «ID сделки» and «Статус» headers; columns are found by header
    (case, spaces and ё ignored), never by position; a data row is a row with
    a value in the deal id column; when «ID правила» is empty or deleted, the
    code in the sheet title gives the rule (``rule_ids_by_code``). Two
    requests: the sheet list and one ``values.batchGet``. Raises
    :class:`~crm_audit.errors.OutputError` when the spreadsheet cannot be
    read (then nothing must be written).
    """
    deal_header = deal_id_header or HEADER_DEAL_ID
    by_code = dict(rule_ids_by_code or {})

    def body(calls: _Calls) -> list[EditedRow]:
        meta = calls("read the sheet list", calls.spreadsheet.fetch_sheet_metadata, {"fields": "sheets.properties"})
        existing = _existing(meta)
        for e in existing:
            e.full = True
        ranges = [_quote_title(e.title) for e in existing]
        if not ranges:
            return []
        params = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"}
        res = calls("read the spreadsheet", calls.spreadsheet.values_batch_get, ranges, params=params)
        out: list[EditedRow] = []
        for e, vr in zip(existing, res.get("valueRanges", [])):
            values = vr.get("values", []) or []
            out.extend(_edits_of_sheet(e.title, values, deal_header, by_code))
        return out

    result, _, _ = _with_retries(spreadsheet, retry, "read the managers' edits", body)
    return result


class GoogleSheetReader:
    """:class:`~crm_audit.documents.edits.EditsReader` for a published Google Sheet."""

    def __init__(self, spreadsheet: Any, rule_ids_by_code: dict[str, str] | None = None, *,
                 deal_id_header: str | None = None, retry: RetryPolicy | None = None):
        self.spreadsheet = spreadsheet
        self.rule_ids_by_code = rule_ids_by_code or {}
        self.deal_id_header = deal_id_header
        self.retry = retry

    def read_edits(self) -> list[EditedRow]:
        return read_edits(self.spreadsheet, deal_id_header=self.deal_id_header,
                          rule_ids_by_code=self.rule_ids_by_code, retry=self.retry)


def _edits_of_sheet(title: str, values: list[list[Any]], deal_header: str, by_code: dict[str, str]) -> list[EditedRow]:
    from crm_audit.textnorm import norm

    if not values:
        return []
    header = values[0]
    idx = {norm(h): i for i, h in reversed(list(enumerate(header))) if isinstance(h, str) and h.strip()}

    def col(name: str) -> int | None:
        return idx.get(norm(name))

    c_rule, c_deal = col(HEADER_RULE_ID), col(deal_header)
    c_status, c_comment = col(HEADER_STATUS), col(HEADER_COMMENT)
    c_decision, c_note, c_owner = col(HEADER_DECISION), col(HEADER_DECISION_NOTE), col(HEADER_OWNER)
    if c_deal is None or c_status is None:
        return []  # FAQ, hit tracking, or a sheet somebody added

    def get(row: list[Any], c: int | None) -> Any:
        if c is None or c >= len(row):
            return None
        v = row[c]
        return None if v == "" else v

    rows = values[1:]
    # the sheet's rule id, for rows where a manager cleared «ID правила»
    ids = [_text(get(r, c_rule)).strip() for r in rows if get(r, c_deal) is not None]
    ids = [i for i in ids if i]
    sheet_rule = by_code.get(title.split(" ", 1)[0]) or (max(set(ids), key=ids.count) if ids else "")
    out = []
    for i, row in enumerate(rows, 2):
        deal = get(row, c_deal)
        if deal is None or not _text(deal).strip():
            continue
        rule = _text(get(row, c_rule)).strip() or sheet_rule
        if not rule:
            continue
        status = get(row, c_status)
        out.append(
            EditedRow.build(
                rule,
                deal,
                None if status is None else _text(status),
                None if get(row, c_comment) is None else _text(get(row, c_comment)),
                None if get(row, c_decision) is None else _text(get(row, c_decision)),
                None if get(row, c_note) is None else _text(get(row, c_note)),
                owner=None if get(row, c_owner) is None else _text(get(row, c_owner)),
                sheet=title,
                row=i,
                status_cell=f"{get_column_letter(c_status + 1)}{i}" if c_status is not None else "",
            )
        )
    return out


# --------------------------------------------------------------------------
# the plan


def _sheet_id_for(title: str, taken: set[int]) -> int:
    sid = zlib.crc32(title.encode("utf-8")) & 0x3FFFFFFF
    while sid in taken or sid == 0:
        sid = (sid + 1) & 0x3FFFFFFF
    taken.add(sid)
    return sid


def _grid(sheet_id: int, r0: int | None = None, r1: int | None = None, c0: int | None = None, c1: int | None = None) -> dict:
    g: dict[str, Any] = {"sheetId": sheet_id}
    if r0 is not None:
        g["startRowIndex"] = r0
    if r1 is not None:
        g["endRowIndex"] = r1
    if c0 is not None:
        g["startColumnIndex"] = c0
    if c1 is not None:
        g["endColumnIndex"] = c1
    return g


def _norm_cell(value: Any) -> str:
    return _text(value)


def _row_key(row: list[Any], c_rule: int | None, c_deal: int | None) -> tuple[str, str] | None:
    from crm_audit.documents.edits import normalise_id

    if c_deal is None or c_deal >= len(row) or _text(row[c_deal]).strip() == "":
        return None
    rule = _text(row[c_rule]).strip() if c_rule is not None and c_rule < len(row) else ""
    return rule, normalise_id(row[c_deal])


def _trim(row: Sequence[Any]) -> list[str]:
    out = [_norm_cell(v) for v in row]
    while out and out[-1] == "":
        out.pop()
    return out


def _diff(sheet: _Sheet, old: _Existing | None, deal_header: str) -> SheetChange:
    new_rows = [_trim(r) for r in sheet.rows[1:]]
    if sheet.kind == "rule":
        new_rows = new_rows[: sheet.data_rows]
    if old is None:
        return SheetChange(sheet.title, "create", added=len(new_rows), rows=len(new_rows))
    old_values = old.values
    if sheet.kind == "rule":
        header = sheet.header
        c_rule = header.index(HEADER_RULE_ID) if HEADER_RULE_ID in header else None
        c_deal = header.index(deal_header) if deal_header in header else None
        old_header = [_text(v).strip() for v in (old_values[0] if old_values else [])]
        o_rule = old_header.index(HEADER_RULE_ID) if HEADER_RULE_ID in old_header else None
        o_deal = old_header.index(deal_header) if deal_header in old_header else None
        new_by_key = {}
        for row in sheet.rows[1 : 1 + sheet.data_rows]:
            key = _row_key(row, c_rule, c_deal)
            if key:
                new_by_key[key] = _trim(row)
        old_by_key = {}
        for row in old_values[1:]:
            key = _row_key(row, o_rule, o_deal)
            if key:
                old_by_key[key] = _trim(row)
        added = sum(1 for k in new_by_key if k not in old_by_key)
        removed = sum(1 for k in old_by_key if k not in new_by_key)
        updated = sum(1 for k, v in new_by_key.items() if k in old_by_key and old_by_key[k] != v)
        return SheetChange(sheet.title, "update", added, updated, removed, rows=len(new_by_key))
    old_rows = [_trim(r) for r in old_values[1:]]
    common = min(len(old_rows), len(new_rows))
    updated = sum(1 for i in range(common) if old_rows[i] != new_rows[i])
    if old_values and _trim(old_values[0]) != _trim(sheet.rows[0] if sheet.rows else []):
        updated += 1
    return SheetChange(
        sheet.title,
        "update",
        added=max(0, len(new_rows) - len(old_rows)),
        updated=updated,
        removed=max(0, len(old_rows) - len(new_rows)),
        rows=len(new_rows),
    )


@dataclass
class _Plan:
    requests: list[dict]
    value_ranges: list[dict]
    changes: list[SheetChange]
    cells: int


def _used(values: list[list[Any]]) -> tuple[int, int]:
    return len(values), max((len(r) for r in values), default=0)


def _plan(sheets: list[_Sheet], existing: list[_Existing], sid: str, deal_header: str) -> _Plan:
    by_title = {e.title.casefold(): e for e in existing}
    ours = {s.title.casefold() for s in sheets}
    taken = {e.sheet_id for e in existing}
    requests: list[dict] = []
    values: list[dict] = []
    changes: list[SheetChange] = []
    ids: dict[str, int] = {}
    sizes: dict[str, tuple[int, int]] = {}

    # 1. sheets: add / rename / move / resize, ours first in the workbook's order
    for index, sheet in enumerate(sheets):
        old = by_title.get(sheet.title.casefold())
        used_rows, used_cols = _used(old.values) if old else (0, 0)
        need_rows = max(len(sheet.rows), sheet.extent, 1) + (0 if sheet.kind == "rule" else 20)
        need_cols = max(sheet.width, max(sheet.widths, default=-1) + 1, 1)
        rows, cols = max(need_rows, used_rows), max(need_cols, used_cols)
        sizes[sheet.title] = (rows, cols)
        grid = {"rowCount": rows, "columnCount": cols, "frozenRowCount": sheet.frozen_rows, "frozenColumnCount": sheet.frozen_cols}
        if old is None:
            sheet_id = _sheet_id_for(sheet.title, taken)
            requests.append(
                {"addSheet": {"properties": {"sheetId": sheet_id, "title": sheet.title, "index": index, "gridProperties": grid}}}
            )
        else:
            sheet_id = old.sheet_id
            props = {"sheetId": sheet_id, "title": sheet.title, "index": index, "gridProperties": grid}
            requests.append(
                {
                    "updateSheetProperties": {
                        "properties": props,
                        "fields": "title,index,gridProperties.rowCount,gridProperties.columnCount,"
                        "gridProperties.frozenRowCount,gridProperties.frozenColumnCount",
                    }
                }
            )
        ids[sheet.title] = sheet_id
        changes.append(_diff(sheet, old, deal_header))

    # 2. per sheet: clear what a previous publish set, then set it again
    for sheet in sheets:
        sheet_id = ids[sheet.title]
        old = by_title.get(sheet.title.casefold())
        rows, cols = sizes[sheet.title]
        if old is not None:
            for i in reversed(range(old.cond_rules)):
                requests.append({"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": i}})
            for pr in old.protected:
                if str(pr.get("description", "")).startswith(PROTECTION_TAG) and "protectedRangeId" in pr:
                    requests.append({"deleteProtectedRange": {"protectedRangeId": pr["protectedRangeId"]}})
            if old.has_filter:
                requests.append({"clearBasicFilter": {"sheetId": sheet_id}})
            for chart_id in old.charts:
                requests.append({"deleteEmbeddedObject": {"objectId": chart_id}})
            requests.append({"setDataValidation": {"range": _grid(sheet_id)}})
        requests.append({"repeatCell": {"range": _grid(sheet_id), "cell": {}, "fields": "userEnteredFormat"}})
        requests.extend(_format_requests(sheet, sheet_id, ids, rows))
        values.extend(_value_ranges(sheet, old, cols))

    # 3. sheets of a previous audit that are gone (a rule removed) and the blank default sheet
    for e in existing:
        if e.title.casefold() in ours:
            continue
        if _is_rule_sheet(e.values, deal_header) or (
            e.title.casefold() in _DEFAULT_SHEET_TITLES and e.full and not any(any(_text(v) for v in r) for r in e.values)
        ):
            requests.append({"deleteSheet": {"sheetId": e.sheet_id}})
            gone = max(0, len(e.values) - 1)
            if _is_rule_sheet(e.values, deal_header):
                changes.append(SheetChange(e.title, "delete", removed=gone))
            taken.discard(e.sheet_id)
        else:
            sizes[e.title] = (e.rows, e.cols)
    cells = sum(r * c for r, c in sizes.values())
    if cells > MAX_CELLS:
        raise OutputError(
            f"Google Sheets {sid}: the spreadsheet would have {cells:,} cells; Google allows at most "
            f"{MAX_CELLS:,} per spreadsheet. Publish fewer rules or clean up the export, or use the .xlsx workbook."
        )
    return _Plan(requests, values, changes, cells)


def _col_of(header: list[str], name: str) -> int | None:
    return header.index(name) if name in header else None


def _format_requests(sheet: _Sheet, sheet_id: int, ids: dict[str, int], grid_rows: int) -> list[dict]:
    reqs: list[dict] = []
    # column widths (pixels ~ 7 per character + padding), runs of equal widths together
    cols = sorted(sheet.widths)
    i = 0
    while i < len(cols):
        j = i
        px = int(round(sheet.widths[cols[i]] * 7 + 5))
        while j + 1 < len(cols) and cols[j + 1] == cols[j] + 1 and int(round(sheet.widths[cols[j + 1]] * 7 + 5)) == px:
            j += 1
        reqs.append(
            {
                "updateDimensionProperties": {
                    "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": cols[i], "endIndex": cols[j] + 1},
                    "properties": {"pixelSize": px},
                    "fields": "pixelSize",
                }
            }
        )
        i = j + 1
    data_end = max(sheet.extent, len(sheet.rows))
    data_end = min(data_end, grid_rows)
    for c in sorted(sheet.text_cols):
        reqs.append(
            {
                "repeatCell": {
                    "range": _grid(sheet_id, 1, data_end, c, c + 1),
                    "cell": {"userEnteredFormat": {"numberFormat": {"type": "TEXT"}, "wrapStrategy": "WRAP", "verticalAlignment": "TOP"}},
                    "fields": "userEnteredFormat(numberFormat,wrapStrategy,verticalAlignment)",
                }
            }
        )
    for c in sorted(sheet.date_cols):
        reqs.append(
            {
                "repeatCell": {
                    "range": _grid(sheet_id, 1, data_end, c, c + 1),
                    "cell": {"userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": DATE_PATTERN}}},
                    "fields": "userEnteredFormat.numberFormat",
                }
            }
        )
    # formats and in-document links of the cells openpyxl built (FAQ, hit tracking, rule headers)
    if sheet.formats or any(isinstance(v, tuple) for v in sheet.links.values()):
        nrows = max([r for r, _ in sheet.formats] + [r for (r, _), v in sheet.links.items() if isinstance(v, tuple)] + [0]) + 1
        ncols = max([c for _, c in sheet.formats] + [c for (_, c), v in sheet.links.items() if isinstance(v, tuple)] + [0]) + 1
        rows = []
        for r in range(nrows):
            cells = []
            for c in range(ncols):
                fmt = json.loads(json.dumps(sheet.formats.get((r, c), {})))
                link = sheet.links.get((r, c))
                if isinstance(link, tuple):
                    target = ids.get(link[1])
                    if target is not None:
                        fmt.setdefault("textFormat", {})["link"] = {"uri": f"#gid={target}"}
                elif isinstance(link, str) and sheet.kind != "rule":
                    fmt.setdefault("textFormat", {})["link"] = {"uri": link}
                cells.append({"userEnteredFormat": fmt} if fmt else {})
            rows.append({"values": cells})
        reqs.append(
            {"updateCells": {"rows": rows, "fields": "userEnteredFormat", "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0}}}
        )
    # deal links on the rule sheets: link formatting, per cell
    if sheet.kind == "rule":
        by_col: dict[int, dict[int, str]] = {}
        for (r, c), link in sheet.links.items():
            if isinstance(link, str) and r > 0:
                by_col.setdefault(c, {})[r] = link
        for c, links in sorted(by_col.items()):
            first, last = min(links), max(links)
            rows = [
                {"values": [{"userEnteredFormat": {"textFormat": {"link": {"uri": links[r]}}}} if r in links else {}]}
                for r in range(first, last + 1)
            ]
            for start, part in _split_rows(rows):
                reqs.append(
                    {
                        "updateCells": {
                            "rows": part,
                            "fields": "userEnteredFormat.textFormat.link",
                            "start": {"sheetId": sheet_id, "rowIndex": first + start, "columnIndex": c},
                        }
                    }
                )
    if sheet.filter_ref is not None:
        f_rows, f_cols = sheet.filter_ref
        reqs.append({"setBasicFilter": {"filter": {"range": _grid(sheet_id, 0, f_rows, 0, f_cols)}}})
    for chart in sheet.charts:
        reqs.append(_chart_request(chart, ids, sheet_id))
    if sheet.kind == "rule":
        reqs.extend(_rule_sheet_requests(sheet, sheet_id, grid_rows))
    else:
        reqs.append(
            {
                "addProtectedRange": {
                    "protectedRange": {
                        "range": _grid(sheet_id),
                        "description": f"{PROTECTION_TAG}: лист заполняет аудит",
                        "warningOnly": True,
                    }
                }
            }
        )
    return reqs


def _chart_request(chart: dict, ids: dict[str, int], sheet_id: int) -> dict:
    def grid(ref: tuple[str, int, int, int, int]) -> dict:
        title, r0, r1, c0, c1 = ref
        return _grid(ids[title], r0, r1, c0, c1)

    spec: dict[str, Any] = {
        "chartType": chart["kind"],
        "legendPosition": "RIGHT_LEGEND",
        "headerCount": 0,
        "axis": [
            {"position": "BOTTOM_AXIS", "title": chart["x_title"]},
            {"position": "LEFT_AXIS", "title": chart["y_title"]},
        ],
        "series": [],
    }
    # row-oriented series whose label is the cell left of the values (openpyxl's titles_from_data):
    # take that column into every range and let Sheets read it as the header
    labelled = all(
        label is not None and label[0] == values[0] and label[3] == values[3] - 1 and values[2] - values[1] == 1
        for values, label in chart["series"]
    ) and (chart["domain"] is None or (chart["domain"][2] - chart["domain"][1] == 1 and chart["domain"][3] >= 1))

    def widen(ref: tuple[str, int, int, int, int]) -> tuple[str, int, int, int, int]:
        return (ref[0], ref[1], ref[2], ref[3] - 1, ref[4]) if labelled else ref

    if chart["domain"] is not None:
        spec["domains"] = [{"domain": {"sourceRange": {"sources": [grid(widen(chart["domain"]))]}}}]
    for values, _label in chart["series"]:
        spec["series"].append({"series": {"sourceRange": {"sources": [grid(widen(values))]}}, "targetAxis": "LEFT_AXIS"})
    if labelled:
        spec["headerCount"] = 1
    row, col = chart["anchor"]
    return {
        "addChart": {
            "chart": {
                "spec": {"title": chart["title"], "basicChart": spec},
                "position": {
                    "overlayPosition": {
                        "anchorCell": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": col},
                        "widthPixels": 830,
                        "heightPixels": 340,
                    }
                },
            }
        }
    }


def _rule_sheet_requests(sheet: _Sheet, sheet_id: int, grid_rows: int) -> list[dict]:
    reqs: list[dict] = []
    header = sheet.header
    end = min(sheet.extent, grid_rows)
    c_status, c_comment = _col_of(header, HEADER_STATUS), _col_of(header, HEADER_COMMENT)
    c_decision = _col_of(header, HEADER_DECISION)
    table_cols = sheet.filter_ref[1] if sheet.filter_ref else len(header)

    def dropdown(c: int, choices: Sequence[str], prompt: str) -> dict:
        return {
            "setDataValidation": {
                "range": _grid(sheet_id, 1, end, c, c + 1),
                "rule": {
                    "condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": v} for v in choices]},
                    "inputMessage": prompt,
                    "strict": True,
                    "showCustomUi": True,
                },
            }
        }

    if c_status is not None:
        reqs.append(dropdown(c_status, STATUSES, _STATUS_PROMPT))
    if c_decision is not None:
        reqs.append(dropdown(c_decision, DECISIONS, _DECISION_PROMPT))
    if c_status is not None:
        s = get_column_letter(c_status + 1)
        rng = [_grid(sheet_id, 1, end, 0, table_cols)]
        rules = []
        if c_comment is not None:
            k = get_column_letter(c_comment + 1)
            rules.append(
                (
                    f'=AND(${s}2="{STATUS_NOT_FIXED}",LEN(TRIM(${k}2))=0)',
                    {"backgroundColorStyle": _color(_NOT_FIXED_FILL), "textFormat": {"foregroundColorStyle": _color(_NOT_FIXED_FONT)}},
                )
            )
        rules.append((f'=${s}2="{STATUS_FIXED}"', {"backgroundColorStyle": _color(_FIXED_FILL)}))
        for i, (formula, fmt) in enumerate(rules):
            reqs.append(
                {
                    "addConditionalFormatRule": {
                        "index": i,
                        "rule": {
                            "ranges": rng,
                            "booleanRule": {
                                "condition": {"type": "CUSTOM_FORMULA", "values": [{"userEnteredValue": formula}]},
                                "format": fmt,
                            },
                        },
                    }
                }
            )
    # protect every column but the ones managers and the head of sales write in
    editable = {i for i, h in enumerate(header) if h in EDITABLE_HEADERS}
    start = None
    for c in range(table_cols + 1):
        locked = c < table_cols and c not in editable
        if locked and start is None:
            start = c
        elif not locked and start is not None:
            reqs.append(
                {
                    "addProtectedRange": {
                        "protectedRange": {
                            "range": _grid(sheet_id, None, None, start, c),
                            "description": f"{PROTECTION_TAG}: столбцы заполняет аудит (статус и комментарии — можно)",
                            "warningOnly": True,
                        }
                    }
                }
            )
            start = None
    return reqs


def _json_value(value: Any) -> Any:
    if value is None:
        return ""
    return value


def _value_ranges(sheet: _Sheet, old: _Existing | None, cols: int) -> list[dict]:
    """The sheet's values, padded with "" over what the sheet holds now."""
    used_rows, used_cols = _used(old.values) if old else (0, 0)
    width = max(sheet.width, used_cols, 1)
    height = max(len(sheet.rows), used_rows, 1)
    grid = [[_json_value(v) for v in row] + [""] * (width - len(row)) for row in sheet.rows]
    grid.extend([""] * width for _ in range(height - len(grid)))
    out = []
    for start, part in _split_rows(grid):
        rng = f"{_quote_title(sheet.title)}!A{start + 1}:{get_column_letter(width)}{start + len(part)}"
        out.append({"range": rng, "majorDimension": "ROWS", "values": part})
    return out


def _size(obj: Any) -> int:
    """Bytes of ``obj`` as sent (requests serializes with json.dumps' defaults: ASCII escapes)."""
    return len(json.dumps(obj))


def _split_rows(rows: list[Any]) -> list[tuple[int, list[Any]]]:
    """``rows`` as (offset, part) pieces of at most half the body limit each."""
    budget = max(1000, MAX_BODY_BYTES // 2)
    sizes = [_size(row) + 2 for row in rows]  # each row serialized once
    if sum(sizes) <= budget:
        return [(0, rows)]
    out: list[tuple[int, list[Any]]] = []
    start, size = 0, 0
    for i, n in enumerate(sizes):
        if i > start and size + n > budget:
            out.append((start, rows[start:i]))
            start, size = i, 0
        size += n
    out.append((start, rows[start:]))
    return out


def _pack(items: list[dict], limit: int | None = None) -> list[list[dict]]:
    """Split ``items`` in order into groups whose JSON is at most ``limit`` bytes."""
    limit = limit or MAX_BODY_BYTES
    sizes = [_size(item) + 1 for item in items]  # each item serialized once
    if sum(sizes) <= limit - 200:
        return [items] if items else []
    groups: list[list[dict]] = []
    current: list[dict] = []
    size = 0
    for item, n in zip(items, sizes):
        if current and size + n > limit - 200:
            groups.append(current)
            current, size = [], 0
        current.append(item)
        size += n
    if current:
        groups.append(current)
    return groups


# --------------------------------------------------------------------------
# publish


def publish(
    report: AuditReport,
    spreadsheet: Any,
    *,
    dry_run: bool = False,
    deal_id_header: str | None = None,
    retry: RetryPolicy | None = None,
) -> PublishResult:
    """Write ``report`` into ``spreadsheet`` (a :class:`gspread.Spreadsheet`).

    With ``dry_run`` nothing is written: the result lists, per sheet, the rows
    that would be added, updated and removed (:meth:`PublishResult.summary`).
    Raises :class:`~crm_audit.errors.OutputError` when Google's limits would
    be exceeded, access is missing, or the retries run out.
    """
    sid = _sid(spreadsheet)
    deal_header = deal_id_header or HEADER_DEAL_ID
    with gc_paused():
        sheets = _build_sheets(report, deal_id_header)
    _check_limits(sheets, sid)
    ours = {s.title.casefold() for s in sheets}

    def body(calls: _Calls) -> PublishResult:
        meta = calls("read the spreadsheet", calls.spreadsheet.fetch_sheet_metadata, {"fields": _META_FIELDS})
        existing = _existing(meta)
        _read_current(calls, ours, existing)
        with gc_paused():
            plan = _plan(sheets, existing, sid, deal_header)
        result = PublishResult(sid, _url(spreadsheet), dry_run, plan.changes, cells=plan.cells, row_cap=_row_cap(report))
        if dry_run:
            result.requests = calls.count
            return result
        for group in _pack(plan.requests):
            calls("update the sheets' layout", calls.spreadsheet.batch_update, {"requests": group})
        for group in _pack(plan.value_ranges):
            calls(
                "write the values",
                calls.spreadsheet.values_batch_update,
                {"valueInputOption": "RAW", "data": group},
            )
        result.requests = calls.count
        return result

    result, _, attempts = _with_retries(spreadsheet, retry, "publish the audit", body)
    result.attempts = attempts
    return result


def _url(spreadsheet: Any) -> str:
    try:
        return str(spreadsheet.url)
    except Exception:  # noqa: BLE001
        return f"https://docs.google.com/spreadsheets/d/{_sid(spreadsheet)}"


# --------------------------------------------------------------------------
# connecting


def spreadsheet_key(url_or_key: str) -> str:
    """The spreadsheet key of a URL (``…/spreadsheets/d/KEY/edit#gid=0``) or the key itself."""
    text = url_or_key.strip()
    m = re.search(r"/spreadsheets/d/([a-zA-Z0-9_-]+)", text)
    if m:
        return m.group(1)
    m = re.search(r"[?&]key=([a-zA-Z0-9_-]+)", text)
    if m:
        return m.group(1)
    if re.fullmatch(r"[a-zA-Z0-9_-]{10,}", text):
        return text
    raise OutputError(
        f"«{text[:80]}» is not a Google Sheets URL or key.",
        hint="Copy the spreadsheet's address from the browser (https://docs.google.com/spreadsheets/d/…/edit).",
    )


def _credentials_file(credentials_path: str | os.PathLike[str] | None) -> str | None:
    path = credentials_path or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    return str(path) if path else None


def service_account_email(credentials_path: str | os.PathLike[str] | None = None) -> str | None:
    """The ``client_email`` of a service-account key file (nothing else is read out of it)."""
    path = _credentials_file(credentials_path)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    email = data.get("client_email") if isinstance(data, dict) else None
    return str(email) if email else None


def _client(credentials_path: str | os.PathLike[str] | None = None) -> Any:
    import gspread

    path = _credentials_file(credentials_path)
    if path:
        if not os.path.isfile(path):
            raise OutputError(
                f"Google credentials file not found: {path}.",
                hint="Set the path of the service-account JSON key (google_credentials in the settings, "
                "--credentials, or GOOGLE_APPLICATION_CREDENTIALS).",
            )
        try:
            return gspread.service_account(filename=path, scopes=_SCOPES)
        except (ValueError, KeyError) as exc:
            raise OutputError(
                f"{path} is not a valid service-account key ({type(exc).__name__}).",
                hint="Download a JSON key of the service account in Google Cloud Console → IAM → Service accounts → Keys.",
            ) from None
    try:
        return gspread.oauth(scopes=_SCOPES)
    except FileNotFoundError:
        raise OutputError(
            "No Google credentials: no service-account key given and no OAuth client file "
            "(~/.config/gspread/credentials.json).",
            hint="Use a service-account key (--credentials key.json or GOOGLE_APPLICATION_CREDENTIALS), or put an "
            "OAuth desktop client's JSON at ~/.config/gspread/credentials.json to sign in with your Google account.",
        ) from None


def open_spreadsheet(
    url_or_key: str,
    credentials_path: str | os.PathLike[str] | None = None,
    *,
    client: Any = None,
    retry: RetryPolicy | None = None,
) -> Any:
    """Open the spreadsheet with a service-account key (path, or
    ``GOOGLE_APPLICATION_CREDENTIALS``) or the user's Google account (OAuth);
    ``client`` (a :class:`gspread.Client`) skips the credentials."""
    key = spreadsheet_key(url_or_key)
    gc = client if client is not None else _client(credentials_path)
    policy = retry or RetryPolicy()
    if hasattr(gc, "set_timeout"):
        gc.set_timeout(policy.timeout)

    class _Key:  # for messages while the spreadsheet is not open yet
        id = key

    def body(calls: _Calls) -> Any:
        return calls("open the spreadsheet", gc.open_by_key, key)

    try:
        spreadsheet, _, _ = _with_retries(_Key(), policy, "open the spreadsheet", body)
    except OutputError as exc:
        email = service_account_email(credentials_path) or _client_email(gc)
        if email and "share" in exc.hint.lower():
            exc.hint = _SHARE_HINT.replace("the service account's e-mail (client_email in the key file; "
                                           "`crm-audit gsheet check` prints it)", email)
        raise
    return spreadsheet


def _client_email(gc: Any) -> str | None:
    auth = getattr(getattr(gc, "http_client", None), "auth", None)
    email = getattr(auth, "service_account_email", None)
    return email if isinstance(email, str) and "@" in email else None


def check_access(
    url_or_key: str,
    credentials_path: str | os.PathLike[str] | None = None,
    *,
    client: Any = None,
    retry: RetryPolicy | None = None,
) -> AccessCheck:
    """Can this account read and edit the spreadsheet? The answer says what to do if not.

    The edit check rewrites the spreadsheet's title with itself (a change-free write).
    Never prints or returns a key or a token.
    """
    try:
        key = spreadsheet_key(url_or_key)
    except OutputError as exc:
        return AccessCheck(False, exc.message)
    try:
        gc = client if client is not None else _client(credentials_path)
    except OutputError as exc:
        return AccessCheck(False, exc.message)
    email = service_account_email(credentials_path) or _client_email(gc)
    who = f"the service account {email}" if email else "your Google account"
    share = (
        f"Open https://docs.google.com/spreadsheets/d/{key} → «Share» (Настройки доступа) → add {email} "
        "with the role «Editor» (Редактор), untick «Notify people», press «Share»."
        if email
        else f"Make sure your Google account can edit https://docs.google.com/spreadsheets/d/{key} (ask its owner for «Editor»)."
    )
    try:
        sh = open_spreadsheet(key, credentials_path, client=gc, retry=retry)
    except OutputError as exc:
        text = exc.message
        if "not enabled" in text:
            return AccessCheck(False, f"{text}", email)
        return AccessCheck(False, f"Cannot open spreadsheet {key} as {who}.\n{share}", email)
    policy = retry or RetryPolicy()

    def body(calls: _Calls) -> Any:
        return calls(
            "edit the spreadsheet",
            calls.spreadsheet.batch_update,
            {"requests": [{"updateSpreadsheetProperties": {"properties": {"title": sh.title}, "fields": "title"}}]},
        )

    try:
        _with_retries(sh, policy, "check edit rights", body)
    except OutputError as exc:
        if "not enabled" in exc.message:
            return AccessCheck(False, exc.message, email, sh.title)
        return AccessCheck(
            False,
            f"{who.capitalize()} can read «{sh.title}» ({key}) but cannot edit it.\n"
            + share.replace("add ", "give ", 1).replace("with the role", "the role"),
            email,
            sh.title,
        )
    return AccessCheck(True, f"OK: {who} can read and edit «{sh.title}» ({key}).", email, sh.title)

