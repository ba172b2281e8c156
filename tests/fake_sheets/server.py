"""A small stateful fake of the Google Sheets v4 REST API, for tests.

Runs on 127.0.0.1 (``http.server`` in a thread, a free port) and speaks
enough of the API for gspread 6: ``spreadsheets.get`` (``fields``,
``ranges``, ``includeGridData``), ``values.get/batchGet/update/batchUpdate/
clear/batchClear/append`` and ``spreadsheets.batchUpdate`` with the requests
a publisher needs (sheets, cells, formats, validation, conditional rules,
filters, protected ranges, dimensions, borders).

* **Strict.** Every request body and query parameter is checked against the
  Sheets v4 discovery document shipped with google-api-python-client
  (unknown fields, wrong types, bad enum values, a ``Request`` with not
  exactly one kind); ranges outside the grid, unknown sheet ids, duplicate
  titles and the like are refused like Google does: HTTP 400 with a message.
  Each refusal is also kept in :attr:`FakeSheets.errors` so a test can
  assert that no request was malformed.
* **Stateful.** Values are stored as written (RAW); a USER_ENTERED formula is
  stored as :class:`Formula` so a test can see it happened. Formats,
  validations, conditional rules, protected ranges, filters and dimensions
  are kept per sheet. ``spreadsheets.batchUpdate`` and
  ``values.batchUpdate`` are atomic.
* **Recorded.** :attr:`FakeSheets.log` has every request (method, path,
  params, body, size, status).
* **Faults.** :meth:`FakeSheets.inject` makes the N-th request answer
  429 (with ``Retry-After``) / 500 / 503, be slow, or drop the connection
  (before or after the request was applied).
* **Quota.** ``write_quota`` (write requests per ``quota_window`` seconds of
  ``clock``, Google's "per minute per user") answers 429 with ``Retry-After``
  over it; give the fake the test's fake clock so nobody waits.
* **Access.** A spreadsheet that is not shared (``can_read=False``) answers
  403 PERMISSION_DENIED, a missing one 404, a read-only one 403 on writes;
  ``api_disabled`` answers every request with Google's SERVICE_DISABLED 403,
  ``credentials_revoked`` with 401 UNAUTHENTICATED, ``token_refused`` makes the
  token endpoint refuse a service account's key (``invalid_grant``), and
  ``offline`` makes Google unreachable (a connection error, like no DNS).
* **Hooks.** ``before_request(entry)`` runs before each request is applied
  (a test edits the sheet "while the run publishes").

Point gspread at it with :meth:`FakeSheets.client` (anonymous credentials,
a transport adapter that sends ``https://sheets.googleapis.com`` to the fake
and refuses every other host, so no test can reach the internet).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["ApiError", "FakeSheets", "Formula", "Sheet", "Spreadsheet"]

GOOGLE_HOST = "https://sheets.googleapis.com"
TOKEN_HOST = "https://oauth2.googleapis.com"


# --------------------------------------------------------------------------
# the discovery document


def _discovery() -> dict:
    import googleapiclient

    path = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "sheets.v4.json"
    return json.loads(path.read_text(encoding="utf-8"))


DISCOVERY = _discovery()
SCHEMAS: dict[str, dict] = DISCOVERY["schemas"]
STANDARD_PARAMS: dict[str, dict] = DISCOVERY.get("parameters", {})
#: Schemas where exactly one field must be set (protobuf "oneof" unions).
_ONE_OF = {"Request": (1, 1), "ExtendedValue": (0, 1)}


def _methods(resource: dict, prefix: str = "") -> dict[str, dict]:
    out = {}
    for name, res in resource.get("resources", {}).items():
        for mname, m in res.get("methods", {}).items():
            out[f"{prefix}{name}.{mname}"] = m
        out.update(_methods(res, f"{prefix}{name}."))
    return out


METHODS = _methods(DISCOVERY)


class ApiError(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "INVALID_ARGUMENT"):
        super().__init__(message)
        self.status = status
        self.code = code


def validate(value: Any, schema: dict, path: str = "") -> list[str]:
    """Problems of ``value`` against a discovery schema (empty when valid)."""
    errors: list[str] = []
    _validate(value, schema, path or "body", errors)
    return errors


def _validate(value: Any, schema: dict, path: str, errors: list[str]) -> None:
    ref = schema.get("$ref")
    name = None
    if ref:
        name = ref
        schema = SCHEMAS[ref]
    t = schema.get("type")
    if t == "object":
        if not isinstance(value, dict):
            errors.append(f"{path}: expected an object ({name or 'object'}), got {type(value).__name__}")
            return
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if props is not None and key in props:
                _validate(item, props[key], f"{path}.{key}", errors)
            elif extra is not None:
                _validate(item, extra, f"{path}.{key}", errors)
            else:
                errors.append(f'{path}: unknown name "{key}" in {name or "object"}: Cannot find field.')
        if name in _ONE_OF:
            lo, hi = _ONE_OF[name]
            n = len([k for k in value if value[k] is not None])
            if not lo <= n <= hi:
                errors.append(f"{path}: {name} must have {'exactly one' if lo else 'at most one'} kind set, has {sorted(value)}")
    elif t == "array":
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _validate(item, schema.get("items", {}), f"{path}[{i}]", errors)
    elif t == "string":
        fmt = schema.get("format")
        if fmt in ("int64", "uint64"):
            if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"-?\d+", value))):
                errors.append(f"{path}: invalid int64 value {value!r}")
            return
        if not isinstance(value, str):
            errors.append(f"{path}: expected a string, got {type(value).__name__} {value!r}")
            return
        enum = schema.get("enum")
        if enum and value not in enum:
            errors.append(f"{path}: invalid value {value!r} (expected one of {', '.join(enum)})")
    elif t == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{path}: expected an integer, got {type(value).__name__} {value!r}")
            return
        if schema.get("format") == "int32" and not -(2**31) <= value < 2**31:
            errors.append(f"{path}: {value} is out of int32 range")
    elif t == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"{path}: expected a number, got {type(value).__name__} {value!r}")
    elif t == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{path}: expected a boolean, got {type(value).__name__} {value!r}")
    elif t == "any" or t is None:
        return


def validate_params(method: str, params: dict[str, list[str]]) -> list[str]:
    m = METHODS[method]
    allowed = {**STANDARD_PARAMS, **m.get("parameters", {})}
    errors = []
    for key, values in params.items():
        spec = allowed.get(key)
        if spec is None:
            errors.append(f"query: unknown parameter {key!r} for {method}")
            continue
        if len(values) > 1 and not spec.get("repeated"):
            errors.append(f"query: parameter {key!r} given {len(values)} times")
        for v in values:
            if spec.get("enum") and v not in spec["enum"]:
                errors.append(f"query: invalid value {v!r} for {key}")
            if spec.get("type") == "boolean" and v not in ("true", "false", "True", "False"):
                errors.append(f"query: invalid boolean {v!r} for {key}")
    return errors


# --------------------------------------------------------------------------
# state


class Formula(str):
    """A value entered with USER_ENTERED that starts with '=' (a formula)."""


def col_letter(n: int) -> str:  # 0-based
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def col_index(letters: str) -> int:  # 0-based
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


@dataclass
class Sheet:
    sheet_id: int
    title: str
    rows: int = 1000
    cols: int = 26
    frozen_rows: int = 0
    frozen_cols: int = 0
    values: dict[tuple[int, int], Any] = field(default_factory=dict)
    formats: dict[tuple[int, int], dict] = field(default_factory=dict)  # userEnteredFormat
    validation: dict[tuple[int, int], dict] = field(default_factory=dict)
    notes: dict[tuple[int, int], str] = field(default_factory=dict)
    cond: list[dict] = field(default_factory=list)
    protected: list[dict] = field(default_factory=list)
    basic_filter: dict | None = None
    col_px: dict[int, int] = field(default_factory=dict)
    row_px: dict[int, int] = field(default_factory=dict)
    hidden: bool = False
    tab_color: dict | None = None
    charts: list[dict] = field(default_factory=list)

    def clone(self) -> "Sheet":
        """A copy for an atomic update (stored cell dicts are never mutated in place)."""
        return Sheet(
            self.sheet_id, self.title, self.rows, self.cols, self.frozen_rows, self.frozen_cols,
            dict(self.values), dict(self.formats), dict(self.validation), dict(self.notes),
            list(self.cond), list(self.protected), self.basic_filter, dict(self.col_px), dict(self.row_px),
            self.hidden, self.tab_color, list(self.charts),
        )

    # helpers for tests -----------------------------------------------------

    def grid(self, *, rows: int | None = None, cols: int | None = None) -> list[list[Any]]:
        """Stored values as a list of rows (trailing empty rows/cells trimmed)."""
        if not self.values:
            return []
        nr = rows if rows is not None else max(r for r, _ in self.values) + 1
        nc = cols if cols is not None else max(c for _, c in self.values) + 1
        out = [[self.values.get((r, c)) for c in range(nc)] for r in range(nr)]
        for row in out:
            while row and row[-1] is None:
                row.pop()
        return out

    def set(self, a1: str, value: Any) -> None:
        r, c = _cell_ref(a1)
        if value is None or value == "":
            self.values.pop((r, c), None)
        else:
            self.values[(r, c)] = value

    def get(self, a1: str) -> Any:
        return self.values.get(_cell_ref(a1))

    def link(self, r: int, c: int) -> str | None:
        return ((self.formats.get((r, c)) or {}).get("textFormat") or {}).get("link", {}).get("uri")

    def properties(self, index: int) -> dict:
        grid = {"rowCount": self.rows, "columnCount": self.cols}
        if self.frozen_rows:
            grid["frozenRowCount"] = self.frozen_rows
        if self.frozen_cols:
            grid["frozenColumnCount"] = self.frozen_cols
        props = {"sheetId": self.sheet_id, "title": self.title, "index": index, "sheetType": "GRID", "gridProperties": grid}
        if self.hidden:
            props["hidden"] = True
        if self.tab_color:
            props["tabColorStyle"] = self.tab_color
        return props


def _cell_ref(a1: str) -> tuple[int, int]:
    m = re.fullmatch(r"([A-Za-z]+)(\d+)", a1)
    if not m:
        raise ValueError(a1)
    return int(m.group(2)) - 1, col_index(m.group(1))


@dataclass
class Spreadsheet:
    spreadsheet_id: str
    title: str = "Аудит CRM"
    sheets: list[Sheet] = field(default_factory=list)
    next_protected_id: int = 1000
    locale: str = "ru_RU"
    can_edit: bool = True
    can_read: bool = True

    def clone(self) -> "Spreadsheet":
        return Spreadsheet(
            self.spreadsheet_id, self.title, [s.clone() for s in self.sheets], self.next_protected_id,
            self.locale, self.can_edit, self.can_read,
        )

    def sheet(self, title: str) -> Sheet:
        for s in self.sheets:
            if s.title == title:
                return s
        raise KeyError(title)

    def by_id(self, sheet_id: Any) -> Sheet:
        for s in self.sheets:
            if s.sheet_id == sheet_id:
                return s
        raise ApiError(f"Invalid requests: No grid with id: {sheet_id}")

    def by_title(self, title: str) -> Sheet:
        for s in self.sheets:
            if s.title.casefold() == title.casefold():
                return s
        raise ApiError(f"Unable to parse range: {title}")

    def titles(self) -> list[str]:
        return [s.title for s in self.sheets]


# --------------------------------------------------------------------------
# A1 ranges


_A1 = re.compile(r"^(?:([A-Za-z]+)?(\d+)?)(?::(?:([A-Za-z]+)?(\d+)?))?$")


def parse_range(book: Spreadsheet, text: str) -> tuple[Sheet, int, int | None, int, int | None]:
    """(sheet, r0, r1, c0, c1) of an A1 range, end exclusive, None = to the end."""
    text = text.strip()
    if "!" in text:
        title, ref = text.rsplit("!", 1)
    else:
        title, ref = text, ""
    if title.startswith("'") and title.endswith("'") and len(title) >= 2:
        title = title[1:-1].replace("''", "'")
    sheet = None
    if "!" not in text:
        # "Sheet1" or "A1:B2" (on the first sheet)
        try:
            sheet = book.by_title(title)
            ref = ""
        except ApiError:
            if _A1.match(text) and text:
                sheet, ref = book.sheets[0], text
            else:
                raise ApiError(f"Unable to parse range: {text}") from None
    else:
        sheet = book.by_title(title)
    if not ref:
        return sheet, 0, None, 0, None
    m = _A1.match(ref)
    if not m or not any(m.groups()):
        raise ApiError(f"Unable to parse range: {text}")
    c0l, r0s, c1l, r1s = m.groups()
    single = ":" not in ref
    r0 = int(r0s) - 1 if r0s else 0
    c0 = col_index(c0l) if c0l else 0
    if single:
        if not (c0l and r0s):
            if c0l:  # "A" -> column
                return sheet, 0, None, c0, c0 + 1
            return sheet, r0, r0 + 1, 0, None
        return sheet, r0, r0 + 1, c0, c0 + 1
    r1 = int(r1s) if r1s else None
    c1 = col_index(c1l) + 1 if c1l else None
    if not r0s and not r1s:
        r1 = None
    if not c0l and not c1l:
        c1 = None
    return sheet, r0, r1, c0, c1


def a1_of(sheet: Sheet, r0: int, r1: int, c0: int, c1: int) -> str:
    title = "'" + sheet.title.replace("'", "''") + "'"
    return f"{title}!{col_letter(c0)}{r0 + 1}:{col_letter(max(c1 - 1, c0))}{max(r1, r0 + 1)}"


# --------------------------------------------------------------------------
# partial responses (the ``fields`` parameter)


def parse_fields(text: str) -> dict:
    """``a,b(c,d/e),f.g`` -> nested dict; {} under a name means "all of it"."""
    pos = 0

    def parse_list(end: str | None) -> dict:
        nonlocal pos
        out: dict = {}
        while pos < len(text):
            if end and text[pos] == end:
                pos += 1
                return out
            if text[pos] in ", ":
                pos += 1
                continue
            m = re.compile(r"[A-Za-z0-9_*]+(?:[./][A-Za-z0-9_*]+)*").match(text, pos)
            if not m:
                raise ApiError(f"Invalid field selection {text}")
            pos = m.end()
            node = out
            parts = re.split(r"[./]", m.group(0))
            for p in parts[:-1]:
                node = node.setdefault(p, {})
                if node is None:
                    break
            if node is None:
                continue
            if pos < len(text) and text[pos] == "(":
                pos += 1
                sub = parse_list(")")
                node[parts[-1]] = _merge(node.get(parts[-1]), sub)
            else:
                node[parts[-1]] = {}
        if end:
            raise ApiError(f"Invalid field selection {text}")
        return out

    return parse_list(None)


def _merge(a: dict | None, b: dict) -> dict:
    if a is None:
        return b
    if a == {} or b == {}:
        return {}
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out.get(k), v)
    return out


def apply_fields(obj: Any, mask: dict) -> Any:
    if not mask or "*" in mask:
        return obj
    if isinstance(obj, list):
        return [apply_fields(x, mask) for x in obj]
    if not isinstance(obj, dict):
        return obj
    return {k: apply_fields(v, mask[k]) for k, v in obj.items() if k in mask}


# --------------------------------------------------------------------------
# the server


@dataclass
class Fault:
    kind: str  # "status" | "drop" | "drop_after" | "delay" | "timeout"
    status: int = 500
    retry_after: float | None = None
    seconds: float = 0.0


class FakeSheets:
    """The fake API: state, request log, fault injection, HTTP server."""

    def __init__(self) -> None:
        self.books: dict[str, Spreadsheet] = {}
        self.log: list[dict] = []
        self.errors: list[str] = []  # every HTTP 400 message (malformed or invalid requests)
        self.faults: dict[int, Fault] = {}
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        # quota: write requests per window (None: no quota), Google's per-minute-per-user limit
        self.write_quota: int | None = None
        self.quota_window = 60.0
        self.quota_retry_after = True  # send Retry-After with the 429 (Google does not always)
        self.clock = time.monotonic
        self._writes: list[float] = []
        self.quota_refusals = 0
        # access failures
        self.api_disabled = False
        self.credentials_revoked = False
        self.token_refused = False
        self.offline = False
        self.before_request = None  # callable(entry) run before a request is applied
        self._default_policy = None

    # lifecycle -----------------------------------------------------------------

    def start(self) -> "FakeSheets":
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-sheets", daemon=True)
        self._thread.start()
        self._unpaced()
        return self

    def _unpaced(self) -> None:
        """Calls made without ``retry=`` use the product's process-wide policy, which paces writes on the
        wall clock; against this fake (no quota unless a test sets one) it neither paces nor sleeps."""
        try:
            from exporters.gsheet import access
        except ImportError:  # pragma: no cover - the fake serves other clients too
            return
        self._default_policy = (access, access._DEFAULT_POLICY)
        access._DEFAULT_POLICY = access.RetryPolicy(writes_per_minute=10**9, reads_per_minute=10**9,
                                                    sleep=lambda seconds: None)

    def stop(self) -> None:
        if self._default_policy is not None:
            module, policy = self._default_policy
            module._DEFAULT_POLICY = policy
            self._default_policy = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeSheets":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # setup / inspection ---------------------------------------------------------

    def create(self, spreadsheet_id: str, title: str = "Аудит CRM", sheets: tuple[str, ...] = ("Лист1",)) -> Spreadsheet:
        book = Spreadsheet(spreadsheet_id, title)
        for i, name in enumerate(sheets):
            book.sheets.append(Sheet(i if i else 0, name))
        self.books[spreadsheet_id] = book
        return book

    def book(self, spreadsheet_id: str) -> Spreadsheet:
        return self.books[spreadsheet_id]

    def snapshot(self) -> dict[str, Spreadsheet]:
        """A copy of the whole state (cheap: stored cell dicts are never mutated in place)."""
        with self.lock:
            return {k: b.clone() for k, b in self.books.items()}

    def restore(self, books: dict[str, Spreadsheet]) -> None:
        with self.lock:
            self.books = {k: b.clone() for k, b in books.items()}

    @property
    def request_count(self) -> int:
        return len(self.log)

    def inject(self, n: int, kind: str = "status", *, status: int = 500, retry_after: float | None = None, seconds: float = 0.0) -> None:
        """Make the n-th request (1-based, counting every request since start) fail.

        ``kind``: "status" (answer ``status``, with ``Retry-After`` when
        given), "delay" (answer after ``seconds``), "drop" (close the
        connection without applying the request), "drop_after" (apply it,
        then close the connection: the response is lost), "timeout" (the
        client's read timeout expires: nothing applied, nobody waits).
        """
        self.faults[n] = Fault(kind, status, retry_after, seconds)

    def clear_faults(self) -> None:
        self.faults.clear()

    def session_adapter_mount(self, session: Any) -> None:
        """Send Google's API and token hosts to this fake; refuse every other host."""
        session.mount(GOOGLE_HOST, _RedirectAdapter(self, GOOGLE_HOST))
        session.mount(TOKEN_HOST, _RedirectAdapter(self, TOKEN_HOST))
        session.mount("https://", _BlockAdapter())
        session.mount("http://", _BlockAdapter())

    def client(self, credentials: Any = None) -> Any:
        """A gspread.Client talking to this fake (anonymous credentials unless given: a service
        account's credentials get their token from the fake's token endpoint)."""
        import gspread
        from google.auth.credentials import AnonymousCredentials

        gc = gspread.Client(auth=credentials if credentials is not None else AnonymousCredentials())
        self.session_adapter_mount(gc.http_client.session)
        auth_request = getattr(gc.http_client.session, "_auth_request", None)
        if auth_request is not None and getattr(auth_request, "session", None) is not None:
            self.session_adapter_mount(auth_request.session)
        return gc

    # dispatch ----------------------------------------------------------------

    def handle(self, method: str, raw_path: str, body: bytes) -> tuple[int, dict, dict]:
        """(status, json, headers) for one request; raises _Drop to drop the connection."""
        split = urlsplit(raw_path)
        params = parse_qs(split.query, keep_blank_values=True)
        if split.path == "/token":  # the OAuth token endpoint (service-account credentials)
            if self.token_refused:
                return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, {}
            return 200, {"access_token": "fake-access-token", "expires_in": 3600, "token_type": "Bearer"}, {}
        with self.lock:
            index = len(self.log) + 1
            entry = {
                "index": index,
                "method": method,
                "path": unquote(split.path),
                "params": params,
                "size": len(body),
                "body": None,
                "status": None,
            }
            self.log.append(entry)
            fault = self.faults.get(index)
        if self.credentials_revoked:
            entry["status"] = 401
            return 401, {"error": {"code": 401, "message": "Request had invalid authentication credentials. Expected OAuth 2 "
                                   "access token, login cookie or other valid authentication credential.",
                                   "status": "UNAUTHENTICATED"}}, {}
        if self.api_disabled:
            entry["status"] = 403
            return 403, _SERVICE_DISABLED, {}
        if self.write_quota is not None and method != "GET":
            with self.lock:
                now = self.clock()
                self._writes = [t for t in self._writes if t > now - self.quota_window]
                if len(self._writes) >= self.write_quota:
                    self.quota_refusals += 1
                    entry["status"] = 429
                    wait = self._writes[0] + self.quota_window - now
                    headers = {"Retry-After": str(max(1, int(-(-wait // 1))))} if self.quota_retry_after else {}
                    return 429, {"error": {"code": 429, "message": "Quota exceeded for quota metric 'Write requests' and "
                                           "limit 'Write requests per minute per user' of service 'sheets.googleapis.com'",
                                           "status": "RESOURCE_EXHAUSTED"}}, headers
                self._writes.append(now)
        if self.before_request is not None:
            self.before_request(entry)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "drop":
            entry["status"] = "dropped"
            raise _Drop()
        if fault is not None and fault.kind == "status":
            entry["status"] = fault.status
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(int(fault.retry_after)) if float(fault.retry_after).is_integer() else str(fault.retry_after)
            reason = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}.get(fault.status, "UNKNOWN")
            msg = "Quota exceeded for quota metric 'Write requests'" if fault.status == 429 else "Internal error encountered."
            return fault.status, {"error": {"code": fault.status, "message": msg, "status": reason}}, headers
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            entry["status"] = 400
            return self._error(ApiError("Invalid JSON payload received."))
        entry["body"] = payload
        try:
            with self.lock:
                status, result = self._route(method, split.path, params, payload)
        except ApiError as exc:
            entry["status"] = exc.status
            return self._error(exc)
        entry["status"] = status
        if fault is not None and fault.kind == "drop_after":
            entry["status"] = "dropped after apply"
            raise _Drop()
        return status, result, {}

    def _error(self, exc: ApiError) -> tuple[int, dict, dict]:
        if exc.status == 400:  # malformed or refused as invalid (403/404 are access answers)
            self.errors.append(str(exc))
        return exc.status, {"error": {"code": exc.status, "message": str(exc), "status": exc.code}}, {}

    def _route(self, method: str, path: str, params: dict, body: Any) -> tuple[int, dict]:
        m = re.fullmatch(r"/v4/spreadsheets/([^/:]+)(.*)", path)
        if not m:
            raise ApiError(f"Not found: {path}", 404, "NOT_FOUND")
        sid, rest = unquote(m.group(1)), m.group(2)
        book = self.books.get(sid)
        if book is None:
            raise ApiError("Requested entity was not found.", 404, "NOT_FOUND")
        if not book.can_read:  # exists, not shared with the caller
            raise ApiError("The caller does not have permission", 403, "PERMISSION_DENIED")

        def check(name: str, schema_ref: str | None) -> None:
            problems = validate_params(name, params)
            if schema_ref is not None:
                if body is None:
                    problems.append("body: missing request body")
                else:
                    problems.extend(validate(body, {"$ref": schema_ref}))
            elif body not in (None, {}):
                problems.append("body: this method takes no body")
            if problems:
                raise ApiError("Invalid request: " + "; ".join(problems[:20]))

        def writable() -> None:
            if not book.can_edit:
                raise ApiError("The caller does not have permission", 403, "PERMISSION_DENIED")

        if rest == "" and method == "GET":
            check("spreadsheets.get", None)
            return 200, self._get(book, params)
        if rest == ":batchUpdate" and method == "POST":
            check("spreadsheets.batchUpdate", "BatchUpdateSpreadsheetRequest")
            writable()
            return 200, self._batch_update(book, body)
        if rest == "/values:batchGet" and method == "GET":
            check("spreadsheets.values.batchGet", None)
            ranges = params.get("ranges", [])
            return 200, {"spreadsheetId": sid, "valueRanges": [self._values_get(book, r, params) for r in ranges]}
        if rest == "/values:batchUpdate" and method == "POST":
            check("spreadsheets.values.batchUpdate", "BatchUpdateValuesRequest")
            writable()
            return 200, self._values_batch_update(book, body)
        if rest == "/values:batchClear" and method == "POST":
            check("spreadsheets.values.batchClear", "BatchClearValuesRequest")
            writable()
            cleared = [self._clear(book, r) for r in body.get("ranges", [])]
            return 200, {"spreadsheetId": sid, "clearedRanges": cleared}
        vm = re.fullmatch(r"/values/([^:]+(?:%3A[^:]*)*)(:clear|:append)?", rest)
        if vm is None:
            vm = re.fullmatch(r"/values/(.+?)(:clear|:append)?", rest)
        if vm:
            rng = unquote(vm.group(1))
            action = vm.group(2)
            if action is None and method == "GET":
                check("spreadsheets.values.get", None)
                return 200, self._values_get(book, rng, params)
            if action is None and method == "PUT":
                check("spreadsheets.values.update", "ValueRange")
                writable()
                opt = (params.get("valueInputOption") or [None])[0]
                if opt is None:
                    raise ApiError("'valueInputOption' is required but not specified")
                new = book.clone()
                res = self._write(new, {**body, "range": body.get("range", rng)}, opt, rng)
                self.books[sid] = new
                return 200, {"spreadsheetId": sid, **res}
            if action == ":clear" and method == "POST":
                check("spreadsheets.values.clear", "ClearValuesRequest")
                writable()
                return 200, {"spreadsheetId": sid, "clearedRange": self._clear(book, rng)}
            if action == ":append" and method == "POST":
                check("spreadsheets.values.append", "ValueRange")
                writable()
                opt = (params.get("valueInputOption") or [None])[0]
                if opt is None:
                    raise ApiError("'valueInputOption' is required but not specified")
                sheet, r0, r1, c0, c1 = parse_range(book, rng)
                last = max([r for (r, _) in sheet.values] + [-1]) + 1
                vals = body.get("values", [])
                need = last + len(vals)
                if need > sheet.rows:
                    sheet.rows = need
                target = a1_of(sheet, last, last + len(vals), c0, c0 + max((len(v) for v in vals), default=1))
                res = self._write(book, {"values": vals, "range": target}, opt, target)
                return 200, {"spreadsheetId": sid, "updates": res}
        raise ApiError(f"Not found: {method} {path}", 404, "NOT_FOUND")

    # spreadsheets.get ---------------------------------------------------------

    def _get(self, book: Spreadsheet, params: dict) -> dict:
        include = (params.get("includeGridData") or ["false"])[0].lower() == "true"
        ranges = params.get("ranges", [])
        wanted: dict[int, list[tuple]] = {}
        for r in ranges:
            sheet, r0, r1, c0, c1 = parse_range(book, r)
            wanted.setdefault(sheet.sheet_id, []).append((r0, r1, c0, c1))
        sheets = []
        for i, s in enumerate(book.sheets):
            if ranges and s.sheet_id not in wanted:
                continue
            item: dict[str, Any] = {"properties": s.properties(i)}
            if s.cond:
                item["conditionalFormats"] = copy.deepcopy(s.cond)
            if s.protected:
                item["protectedRanges"] = copy.deepcopy(s.protected)
            if s.basic_filter is not None:
                item["basicFilter"] = copy.deepcopy(s.basic_filter)
            if s.charts:
                item["charts"] = copy.deepcopy(s.charts)
            if include:
                item["data"] = [self._grid_data(s, *rng) for rng in wanted.get(s.sheet_id, [(0, None, 0, None)])]
            sheets.append(item)
        out = {
            "spreadsheetId": book.spreadsheet_id,
            "properties": {"title": book.title, "locale": book.locale, "autoRecalc": "ON_CHANGE", "timeZone": "Europe/Moscow"},
            "sheets": sheets,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.spreadsheet_id}/edit",
        }
        fields = (params.get("fields") or [""])[0]
        if fields:
            out = apply_fields(out, parse_fields(fields))
        return out

    def _grid_data(self, s: Sheet, r0: int, r1: int | None, c0: int, c1: int | None) -> dict:
        r1 = s.rows if r1 is None else min(r1, s.rows)
        c1 = s.cols if c1 is None else min(c1, s.cols)
        keys = set(s.values) | set(s.formats) | set(s.validation)
        last_r = max([r for r, c in keys if r0 <= r < r1 and c0 <= c < c1] + [r0 - 1]) + 1
        rows = []
        for r in range(r0, last_r):
            cells = []
            for c in range(c0, c1):
                cell: dict[str, Any] = {}
                v = s.values.get((r, c))
                if v is not None:
                    cell["userEnteredValue"] = _extended(v)
                    cell["effectiveValue"] = _extended(v) if not isinstance(v, Formula) else {"stringValue": "#FORMULA"}
                    cell["formattedValue"] = _formatted(v, s.formats.get((r, c)))
                if (r, c) in s.formats:
                    cell["userEnteredFormat"] = copy.deepcopy(s.formats[(r, c)])
                if (r, c) in s.validation:
                    cell["dataValidation"] = copy.deepcopy(s.validation[(r, c)])
                if (r, c) in s.notes:
                    cell["note"] = s.notes[(r, c)]
                cells.append(cell)
            while cells and not cells[-1]:
                cells.pop()
            rows.append({"values": cells} if cells else {})
        return {"startRow": r0, "startColumn": c0, "rowData": rows}

    # values ---------------------------------------------------------------------

    def _values_get(self, book: Spreadsheet, rng: str, params: dict) -> dict:
        sheet, r0, r1, c0, c1 = parse_range(book, rng)
        r1e = sheet.rows if r1 is None else r1
        c1e = sheet.cols if c1 is None else c1
        if r1e > sheet.rows or c1e > sheet.cols:
            raise ApiError(f"Range ({rng}) exceeds grid limits. Max rows: {sheet.rows}, max columns: {sheet.cols}")
        render = (params.get("valueRenderOption") or ["FORMATTED_VALUE"])[0]
        major = (params.get("majorDimension") or ["ROWS"])[0]
        inside = [k for k in sheet.values if r0 <= k[0] < r1e and c0 <= k[1] < c1e]
        last_r = max((k[0] for k in inside), default=r0 - 1) + 1
        last_c = max((k[1] for k in inside), default=c0 - 1) + 1
        rows = []
        for r in range(r0, last_r):
            row = []
            for c in range(c0, last_c):
                v = sheet.values.get((r, c))
                if v is None:
                    row.append("")
                elif render == "FORMATTED_VALUE":
                    row.append(_formatted(v, sheet.formats.get((r, c))))
                elif render == "FORMULA" or not isinstance(v, Formula):
                    row.append(v if not isinstance(v, Formula) else str(v))
                else:
                    row.append("#FORMULA")
            rows.append(row)
        for row in rows:
            while row and row[-1] == "":
                row.pop()
        while rows and not rows[-1]:
            rows.pop()
        out: dict[str, Any] = {"range": a1_of(sheet, r0, r1e, c0, c1e), "majorDimension": major}
        if major == "COLUMNS":
            width = max((len(r) for r in rows), default=0)
            cols = [[(r[c] if c < len(r) else "") for r in rows] for c in range(width)]
            for col in cols:
                while col and col[-1] == "":
                    col.pop()
            rows = cols
        if rows:
            out["values"] = rows
        return out

    def _write(self, book: Spreadsheet, vr: dict, option: str, rng: str) -> dict:
        sheet, r0, r1, c0, c1 = parse_range(book, vr.get("range") or rng)
        values = vr.get("values", []) or []
        if vr.get("majorDimension", "ROWS") == "COLUMNS":
            width = max((len(v) for v in values), default=0)
            values = [[(col[i] if i < len(col) else None) for col in values] for i in range(width)]
        height = len(values)
        width = max((len(v) for v in values), default=0)
        if r1 is not None and height > r1 - r0 or c1 is not None and width > c1 - c0:
            raise ApiError(
                f"Requested writing within range [{vr.get('range') or rng}], but tried writing to row [{r0 + height}]"
                if r1 is not None and height > r1 - r0
                else f"Requested writing within range [{vr.get('range') or rng}], but tried writing to column [{col_letter(c0 + width - 1)}]"
            )
        if r0 + height > sheet.rows or c0 + width > sheet.cols:
            raise ApiError(f"Range ({vr.get('range') or rng}) exceeds grid limits. Max rows: {sheet.rows}, max columns: {sheet.cols}")
        cells = 0
        for i, row in enumerate(values):
            for j, v in enumerate(row):
                if v is None:
                    continue  # null: leave the cell as it is
                key = (r0 + i, c0 + j)
                cells += 1
                if isinstance(v, dict) or isinstance(v, list):
                    raise ApiError(f"Invalid values[{i}][{j}]: {json.dumps(v)[:80]}")
                if v == "":
                    sheet.values.pop(key, None)
                    continue
                if option == "USER_ENTERED" and isinstance(v, str):
                    if v.startswith("="):
                        v = Formula(v)
                    elif re.fullmatch(r"-?\d+(\.\d+)?", v):
                        v = float(v) if "." in v else int(v)
                    elif v.startswith("'"):
                        v = v[1:]
                sheet.values[key] = v
        return {
            "updatedRange": a1_of(sheet, r0, r0 + max(height, 1), c0, c0 + max(width, 1)),
            "updatedRows": height,
            "updatedColumns": width,
            "updatedCells": cells,
        }

    def _values_batch_update(self, book: Spreadsheet, body: dict) -> dict:
        opt = body.get("valueInputOption")
        if not opt:
            raise ApiError("'valueInputOption' is required but not specified")
        new = book.clone()
        responses = [self._write(new, vr, opt, vr.get("range", "")) for vr in body.get("data", [])]
        self.books[book.spreadsheet_id] = new
        return {
            "spreadsheetId": book.spreadsheet_id,
            "totalUpdatedRows": sum(r["updatedRows"] for r in responses),
            "totalUpdatedCells": sum(r["updatedCells"] for r in responses),
            "totalUpdatedSheets": len({r["updatedRange"].rsplit("!", 1)[0] for r in responses}),
            "responses": [{"spreadsheetId": book.spreadsheet_id, **r} for r in responses],
        }

    def _clear(self, book: Spreadsheet, rng: str) -> str:
        sheet, r0, r1, c0, c1 = parse_range(book, rng)
        r1 = sheet.rows if r1 is None else r1
        c1 = sheet.cols if c1 is None else c1
        for key in [k for k in sheet.values if r0 <= k[0] < r1 and c0 <= k[1] < c1]:
            del sheet.values[key]
        return a1_of(sheet, r0, r1, c0, c1)

    # spreadsheets.batchUpdate ---------------------------------------------------

    def _batch_update(self, book: Spreadsheet, body: dict) -> dict:
        requests = body.get("requests") or []
        if not requests:
            raise ApiError("Must specify at least one request.")
        new = book.clone()
        replies = []
        for i, req in enumerate(requests):
            (kind, arg), = req.items()
            handler = getattr(self, f"_r_{kind}", None)
            if handler is None:
                raise ApiError(f"Invalid requests[{i}]: the fake does not implement {kind}")
            try:
                reply = handler(new, arg)
            except ApiError as exc:
                raise ApiError(f"Invalid requests[{i}].{kind}: {exc}", exc.status, exc.code) from None
            replies.append({kind: reply} if reply else {})
        self.books[book.spreadsheet_id] = new
        return {"spreadsheetId": book.spreadsheet_id, "replies": replies}

    # grid helpers

    def _range(self, book: Spreadsheet, gr: dict, *, clamp: bool = False) -> tuple[Sheet, int, int, int, int]:
        sheet = book.by_id(gr.get("sheetId", 0))
        r0 = gr.get("startRowIndex", 0)
        r1 = gr.get("endRowIndex", sheet.rows)
        c0 = gr.get("startColumnIndex", 0)
        c1 = gr.get("endColumnIndex", sheet.cols)
        if r0 < 0 or c0 < 0 or r1 < r0 or c1 < c0:
            raise ApiError(f"Invalid range {gr}")
        if not clamp and (r1 > sheet.rows or c1 > sheet.cols):
            raise ApiError(
                f"Range ('{sheet.title}'!{col_letter(c0)}{r0 + 1}:{col_letter(max(c1 - 1, 0))}{r1}) exceeds grid limits. "
                f"Max rows: {sheet.rows}, max columns: {sheet.cols}"
            )
        return sheet, r0, min(r1, sheet.rows), c0, min(c1, sheet.cols)

    @staticmethod
    def _fields(fields: str | None) -> list[list[str]]:
        if not fields:
            raise ApiError("At least one field must be updated (the 'fields' mask is empty)")
        tree = parse_fields(fields)
        paths: list[list[str]] = []

        def walk(node: dict, prefix: list[str]) -> None:
            for k, v in node.items():
                if v:
                    walk(v, prefix + [k])
                else:
                    paths.append(prefix + [k])

        walk(tree, [])
        return paths

    @staticmethod
    def _apply_mask(target: dict, source: dict, paths: list[list[str]]) -> dict:
        out = copy.deepcopy(target)
        for path in paths:
            if path == ["*"]:
                return copy.deepcopy(source)
            src: Any = source
            for p in path:
                src = src.get(p) if isinstance(src, dict) else None
            node = out
            for p in path[:-1]:
                node = node.setdefault(p, {})
                if not isinstance(node, dict):
                    break
            if src is None:
                node.pop(path[-1], None)
            else:
                node[path[-1]] = copy.deepcopy(src)
        return _prune(out)

    def _set_cell(self, sheet: Sheet, key: tuple[int, int], cell: dict, paths: list[list[str]]) -> None:
        current: dict[str, Any] = {}
        if key in sheet.values:
            current["userEnteredValue"] = _extended(sheet.values[key])
        if key in sheet.formats:
            current["userEnteredFormat"] = sheet.formats[key]
        if key in sheet.validation:
            current["dataValidation"] = sheet.validation[key]
        if key in sheet.notes:
            current["note"] = sheet.notes[key]
        for path in paths:
            if path[0] not in ("userEnteredValue", "userEnteredFormat", "dataValidation", "note", "textFormatRuns", "*"):
                raise ApiError(f"Invalid field mask path {'.'.join(path)} for CellData")
        new = self._apply_mask(current, cell, paths)
        self._store_cell(sheet, key, new)

    @staticmethod
    def _store_cell(sheet: Sheet, key: tuple[int, int], new: dict) -> None:
        if "userEnteredValue" in new:
            sheet.values[key] = _from_extended(new["userEnteredValue"])
        else:
            sheet.values.pop(key, None)
        for name, store in (("userEnteredFormat", sheet.formats), ("dataValidation", sheet.validation), ("note", sheet.notes)):
            if name in new and new[name] not in ({}, None, ""):
                store[key] = new[name]
            else:
                store.pop(key, None)

    # requests

    def _r_addSheet(self, book: Spreadsheet, arg: dict) -> dict:
        props = arg.get("properties", {})
        title = props.get("title") or f"Лист{len(book.sheets) + 1}"
        if any(s.title.casefold() == title.casefold() for s in book.sheets):
            raise ApiError(f'A sheet with the name "{title}" already exists. Please enter another name.')
        _check_title(title)
        sheet_id = props.get("sheetId")
        if sheet_id is None:
            sheet_id = max([s.sheet_id for s in book.sheets] + [0]) + 1
        if any(s.sheet_id == sheet_id for s in book.sheets):
            raise ApiError(f"A sheet with the id {sheet_id} already exists.")
        grid = props.get("gridProperties", {})
        sheet = Sheet(sheet_id, title, grid.get("rowCount", 1000), grid.get("columnCount", 26))
        sheet.frozen_rows = grid.get("frozenRowCount", 0)
        sheet.frozen_cols = grid.get("frozenColumnCount", 0)
        index = props.get("index", len(book.sheets))
        if index > len(book.sheets):
            raise ApiError(f"Invalid index {index}")
        book.sheets.insert(index, sheet)
        return {"properties": sheet.properties(book.sheets.index(sheet))}

    def _r_deleteSheet(self, book: Spreadsheet, arg: dict) -> None:
        sheet = book.by_id(arg.get("sheetId"))
        if len(book.sheets) == 1:
            raise ApiError("You can't remove all the sheets in a document.")
        book.sheets.remove(sheet)

    def _r_updateSpreadsheetProperties(self, book: Spreadsheet, arg: dict) -> None:
        paths = self._fields(arg.get("fields"))
        props = self._apply_mask({"title": book.title}, arg.get("properties", {}), paths)
        book.title = props.get("title", book.title)

    def _r_updateSheetProperties(self, book: Spreadsheet, arg: dict) -> None:
        props = arg.get("properties", {})
        sheet = book.by_id(props.get("sheetId"))
        paths = self._fields(arg.get("fields"))
        current = sheet.properties(book.sheets.index(sheet))
        new = self._apply_mask(current, props, paths)
        title = new.get("title", sheet.title)
        if title.casefold() != sheet.title.casefold() and any(s.title.casefold() == title.casefold() for s in book.sheets):
            raise ApiError(f'A sheet with the name "{title}" already exists. Please enter another name.')
        _check_title(title)
        grid = new.get("gridProperties", {})
        rows, cols = grid.get("rowCount", sheet.rows), grid.get("columnCount", sheet.cols)
        if rows < 1 or cols < 1:
            raise ApiError("rowCount and columnCount must be at least 1")
        frozen_r, frozen_c = grid.get("frozenRowCount", 0), grid.get("frozenColumnCount", 0)
        if frozen_r > rows or frozen_c > cols:
            raise ApiError("Frozen rows/columns exceed the grid")
        sheet.title = title
        if rows < sheet.rows or cols < sheet.cols:
            for store in (sheet.values, sheet.formats, sheet.validation, sheet.notes):
                for key in [k for k in store if k[0] >= rows or k[1] >= cols]:
                    del store[key]
        sheet.rows, sheet.cols = rows, cols
        sheet.frozen_rows, sheet.frozen_cols = frozen_r, frozen_c
        sheet.hidden = bool(new.get("hidden", False))
        if any(p[0] == "index" for p in paths) and "index" in props:
            target = props["index"]
            old = book.sheets.index(sheet)
            if target > len(book.sheets):
                raise ApiError(f"Invalid index {target}")
            book.sheets.pop(old)
            # "before the move" indexes, like Google
            book.sheets.insert(target - 1 if target > old else target, sheet)

    def _r_updateCells(self, book: Spreadsheet, arg: dict) -> None:
        paths = self._fields(arg.get("fields"))
        rows = arg.get("rows", [])
        if ("start" in arg) == ("range" in arg):
            raise ApiError("updateCells needs exactly one of start or range")
        if "start" in arg:
            st = arg["start"]
            sheet = book.by_id(st.get("sheetId", 0))
            r0, c0 = st.get("rowIndex", 0), st.get("columnIndex", 0)
            width = max((len(r.get("values", [])) for r in rows), default=0)
            if r0 + len(rows) > sheet.rows or c0 + width > sheet.cols:
                raise ApiError(f"Range exceeds grid limits. Max rows: {sheet.rows}, max columns: {sheet.cols}")
            for i, row in enumerate(rows):
                for j, cell in enumerate(row.get("values", [])):
                    self._set_cell(sheet, (r0 + i, c0 + j), cell, paths)
        else:
            sheet, r0, r1, c0, c1 = self._range(book, arg["range"])
            for r in range(r0, r1):
                cells = rows[r - r0].get("values", []) if r - r0 < len(rows) else []
                for c in range(c0, c1):
                    cell = cells[c - c0] if c - c0 < len(cells) else {}
                    self._set_cell(sheet, (r, c), cell, paths)

    def _r_repeatCell(self, book: Spreadsheet, arg: dict) -> None:
        paths = self._fields(arg.get("fields"))
        sheet, r0, r1, c0, c1 = self._range(book, arg["range"])
        cell = arg.get("cell", {})
        whole = (r0, r1, c0, c1) == (0, sheet.rows, 0, sheet.cols)
        if whole and not cell and all(p[0] in ("userEnteredFormat",) for p in paths) and paths == [["userEnteredFormat"]]:
            sheet.formats.clear()  # fast path: reset every format
            return
        for path in paths:
            if path[0] not in ("userEnteredValue", "userEnteredFormat", "dataValidation", "note", "textFormatRuns", "*"):
                raise ApiError(f"Invalid field mask path {'.'.join(path)} for CellData")
        fresh = self._apply_mask({}, cell, paths)
        f_value = _from_extended(fresh["userEnteredValue"]) if "userEnteredValue" in fresh else None
        f_format = fresh.get("userEnteredFormat") or None
        f_valid = fresh.get("dataValidation") or None
        f_note = fresh.get("note") or None
        values, formats, validation, notes = sheet.values, sheet.formats, sheet.validation, sheet.notes
        for r in range(r0, r1):
            for c in range(c0, c1):
                key = (r, c)
                if key in values or key in formats or key in validation or key in notes:
                    self._set_cell(sheet, key, cell, paths)
                    continue
                # an empty cell: the same result for all of them
                if f_value is not None:
                    values[key] = f_value
                if f_format is not None:
                    formats[key] = f_format
                if f_valid is not None:
                    validation[key] = f_valid
                if f_note is not None:
                    notes[key] = f_note

    def _r_setDataValidation(self, book: Spreadsheet, arg: dict) -> None:
        sheet, r0, r1, c0, c1 = self._range(book, arg["range"])
        rule = arg.get("rule")
        if rule is not None:
            cond = rule.get("condition", {})
            if cond.get("type") == "ONE_OF_LIST" and not cond.get("values"):
                raise ApiError("ONE_OF_LIST needs at least one value")
            rule = copy.deepcopy(rule)  # one object shared by the cells (never mutated)
            for r in range(r0, r1):
                for c in range(c0, c1):
                    sheet.validation[(r, c)] = rule
        else:
            for key in [k for k in sheet.validation if r0 <= k[0] < r1 and c0 <= k[1] < c1]:
                del sheet.validation[key]

    def _r_addConditionalFormatRule(self, book: Spreadsheet, arg: dict) -> None:
        rule = arg.get("rule", {})
        ranges = rule.get("ranges", [])
        if not ranges:
            raise ApiError("A conditional format rule needs at least one range")
        sheets = {self._range(book, r)[0].sheet_id for r in ranges}
        if len(sheets) != 1:
            raise ApiError("All ranges of a conditional format rule must be on the same sheet")
        if ("booleanRule" in rule) == ("gradientRule" in rule):
            raise ApiError("A conditional format rule needs exactly one of booleanRule or gradientRule")
        sheet = book.by_id(sheets.pop())
        index = arg.get("index", 0)
        if index > len(sheet.cond):
            raise ApiError(f"Invalid index {index}")
        sheet.cond.insert(index, copy.deepcopy(rule))

    def _r_deleteConditionalFormatRule(self, book: Spreadsheet, arg: dict) -> dict:
        sheet = book.by_id(arg.get("sheetId", 0))
        index = arg.get("index", 0)
        if not 0 <= index < len(sheet.cond):
            raise ApiError(f"No conditional format on sheet {sheet.sheet_id} at index {index}")
        return {"rule": sheet.cond.pop(index)}

    def _r_setBasicFilter(self, book: Spreadsheet, arg: dict) -> None:
        flt = arg.get("filter", {})
        sheet, *_ = self._range(book, flt.get("range", {}))
        sheet.basic_filter = copy.deepcopy(flt)

    def _r_clearBasicFilter(self, book: Spreadsheet, arg: dict) -> None:
        sheet = book.by_id(arg.get("sheetId", 0))
        sheet.basic_filter = None

    def _r_addProtectedRange(self, book: Spreadsheet, arg: dict) -> dict:
        pr = copy.deepcopy(arg.get("protectedRange", {}))
        if "range" not in pr and "namedRangeId" not in pr:
            raise ApiError("A protected range needs a range")
        sheet, *_ = self._range(book, pr["range"])
        if pr.get("warningOnly") and pr.get("editors"):
            raise ApiError("warningOnly protected ranges cannot have editors")
        if "protectedRangeId" in pr and any(p["protectedRangeId"] == pr["protectedRangeId"] for s in book.sheets for p in s.protected):
            raise ApiError("Duplicate protectedRangeId")
        pr.setdefault("protectedRangeId", book.next_protected_id)
        book.next_protected_id += 1
        pr["range"].setdefault("sheetId", sheet.sheet_id)
        sheet.protected.append(pr)
        return {"protectedRange": copy.deepcopy(pr)}

    def _r_deleteProtectedRange(self, book: Spreadsheet, arg: dict) -> None:
        pid = arg.get("protectedRangeId")
        for s in book.sheets:
            for p in s.protected:
                if p.get("protectedRangeId") == pid:
                    s.protected.remove(p)
                    return
        raise ApiError(f"No protected range with id: {pid}")

    def _dimension(self, book: Spreadsheet, dr: dict) -> tuple[Sheet, dict, int, int]:
        sheet = book.by_id(dr.get("sheetId", 0))
        dim = dr.get("dimension")
        if dim not in ("ROWS", "COLUMNS"):
            raise ApiError("dimension must be ROWS or COLUMNS")
        limit = sheet.rows if dim == "ROWS" else sheet.cols
        start, end = dr.get("startIndex", 0), dr.get("endIndex", limit)
        if not 0 <= start <= end <= limit:
            raise ApiError(f"Invalid dimension range {start}:{end} (max {limit})")
        return sheet, (sheet.row_px if dim == "ROWS" else sheet.col_px), start, end

    def _r_updateDimensionProperties(self, book: Spreadsheet, arg: dict) -> None:
        self._fields(arg.get("fields"))
        if "range" not in arg:
            raise ApiError("updateDimensionProperties needs a range")
        sheet, store, start, end = self._dimension(book, arg["range"])
        px = arg.get("properties", {}).get("pixelSize")
        if px is not None:
            for i in range(start, end):
                store[i] = px

    def _r_autoResizeDimensions(self, book: Spreadsheet, arg: dict) -> None:
        sheet, store, start, end = self._dimension(book, arg.get("dimensions", {}))
        for i in range(start, end):
            store[i] = 100

    def _r_updateBorders(self, book: Spreadsheet, arg: dict) -> None:
        sheet, r0, r1, c0, c1 = self._range(book, arg["range"])
        borders = {k: v for k, v in arg.items() if k != "range"}
        for r in range(r0, r1):
            for c in range(c0, c1):
                fmt = copy.deepcopy(sheet.formats.get((r, c), {}))
                fmt.setdefault("borders", {}).update(copy.deepcopy(borders))
                sheet.formats[(r, c)] = fmt

    def _r_addChart(self, book: Spreadsheet, arg: dict) -> dict:
        chart = copy.deepcopy(arg.get("chart", {}))
        spec = chart.get("spec", {})
        basic = spec.get("basicChart")
        if basic is not None:
            for part in [*basic.get("domains", []), *basic.get("series", [])]:
                src = (part.get("domain") or part.get("series") or {}).get("sourceRange", {}).get("sources", [])
                if not src:
                    raise ApiError("A chart series/domain needs a source range")
                for gr in src:
                    self._range(book, gr)
        anchor = chart.get("position", {}).get("overlayPosition", {}).get("anchorCell")
        if anchor is not None:
            sheet = book.by_id(anchor.get("sheetId", 0))
            if anchor.get("rowIndex", 0) >= sheet.rows or anchor.get("columnIndex", 0) >= sheet.cols:
                raise ApiError("The chart's anchor cell is outside the grid")
        elif "sheetId" in chart.get("position", {}):
            sheet = book.by_id(chart["position"]["sheetId"])
        else:
            raise ApiError("A chart needs a position")
        ids = {c["chartId"] for s in book.sheets for c in s.charts}
        chart.setdefault("chartId", max(ids | {5000}) + 1)
        if chart["chartId"] in ids and chart["chartId"] != max(ids | {5000}) + 1:
            raise ApiError(f"Duplicate chart id {chart['chartId']}")
        sheet.charts.append(chart)
        return {"chart": copy.deepcopy(chart)}

    def _r_deleteEmbeddedObject(self, book: Spreadsheet, arg: dict) -> None:
        oid = arg.get("objectId")
        for s in book.sheets:
            for c in s.charts:
                if c.get("chartId") == oid:
                    s.charts.remove(c)
                    return
        raise ApiError(f"No embedded object with id: {oid}")

    def _r_appendDimension(self, book: Spreadsheet, arg: dict) -> None:
        sheet = book.by_id(arg.get("sheetId", 0))
        if arg.get("dimension") == "ROWS":
            sheet.rows += arg.get("length", 0)
        else:
            sheet.cols += arg.get("length", 0)


def _check_title(title: str) -> None:
    if not title.strip():
        raise ApiError("Sheet title must not be empty")
    if len(title) > 100:
        raise ApiError("Sheet title is too long (at most 100 characters)")


def _prune(d: dict) -> dict:
    for k in list(d):
        if isinstance(d[k], dict):
            _prune(d[k])
            if not d[k]:
                del d[k]
    return d


def _extended(v: Any) -> dict:
    if isinstance(v, Formula):
        return {"formulaValue": str(v)}
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, (int, float)):
        return {"numberValue": v}
    return {"stringValue": str(v)}


def _from_extended(ev: dict) -> Any:
    if "formulaValue" in ev:
        return Formula(ev["formulaValue"])
    for k in ("stringValue", "numberValue", "boolValue"):
        if k in ev:
            return ev[k]
    return None


def _formatted(v: Any, fmt: dict | None) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        nf = (fmt or {}).get("numberFormat") or {}
        if nf.get("type") in ("DATE", "DATE_TIME"):
            day = dt.date(1899, 12, 30) + dt.timedelta(days=int(v))
            return day.strftime("%d.%m.%Y")
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)
    if isinstance(v, Formula):
        return "#FORMULA"
    return str(v)


# --------------------------------------------------------------------------
# HTTP


_SERVICE_DISABLED = {"error": {
    "code": 403,
    "message": "Google Sheets API has not been used in project 123456789012 before or it is disabled. Enable it by "
               "visiting https://console.developers.google.com/apis/api/sheets.googleapis.com/overview?project=123456789012 "
               "then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our "
               "systems and retry.",
    "status": "PERMISSION_DENIED",
    "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED", "domain": "googleapis.com",
         "metadata": {"service": "sheets.googleapis.com", "consumer": "projects/123456789012"}},
    ],
}}


class _Drop(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeSheets

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        started = time.perf_counter()
        try:
            status, payload, headers = self.server_fake.handle(method, self.path, body)
        except _Drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        # headers and body in one write: no Nagle / delayed-ACK stall between them
        self._headers_buffer.append(b"\r\n" + data)
        self.flush_headers()
        if self.server_fake.log:
            self.server_fake.log[-1].setdefault("seconds", time.perf_counter() - started)

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")


def _adapters() -> Any:
    import requests

    return requests.adapters


class _RedirectAdapter(_adapters().HTTPAdapter):
    """Sends requests for one of Google's hosts to the fake (or fails like no network when it is offline)."""

    def __init__(self, fake: FakeSheets, host: str):
        super().__init__()
        self.fake = fake
        self.host = host

    def send(self, request: Any, **kwargs: Any) -> Any:
        import requests

        if self.fake.offline:
            raise requests.exceptions.ConnectionError(
                f"HTTPSConnectionPool(host='{self.host[8:]}', port=443): Max retries exceeded "
                f"(Caused by NameResolutionError: Failed to resolve '{self.host[8:]}')")
        fault = self.fake.faults.get(len(self.fake.log) + 1) if self.host == GOOGLE_HOST else None
        if fault is not None and fault.kind == "timeout":  # the client gives up waiting: no wall-clock wait here
            with self.fake.lock:
                self.fake.log.append({"index": len(self.fake.log) + 1, "method": request.method, "path": request.path_url,
                                      "params": {}, "size": 0, "body": None, "status": "timed out",
                                      "timeout": kwargs.get("timeout")})
            raise requests.exceptions.ReadTimeout(f"Read timed out. (read timeout={kwargs.get('timeout')})")
        request.url = self.fake.base_url + request.url[len(self.host) :]
        return super().send(request, **kwargs)


class _BlockAdapter(_adapters().BaseAdapter):
    """Refuses every request to a host other than the fake: no test reaches the internet."""

    def send(self, request: Any, **kwargs: Any) -> Any:
        import requests

        raise requests.exceptions.ConnectionError(f"blocked by the fake Sheets server: {request.url.split('?')[0]}")

    def close(self) -> None:
        pass
