"""The shared part of the fake CRM servers: a threaded HTTP server, faults, a request log, schema checks.

A fake CRM subclasses :class:`FakeCrm` and implements :meth:`FakeCrm.route`
(method, path, query, headers) -> (status, headers, JSON body). The base:

* serves on 127.0.0.1 (a free port) in a thread; :attr:`url` is its root;
* logs every request (:attr:`log`: path, query, status, cost);
* **faults** (:meth:`inject`): the N-th request (optionally only for a path)
  answers 429 with ``Retry-After``, a 500/503, or drops the connection after
  sending half of the body; ``hold(path_prefix, n)`` blocks the n-th such request
  until :meth:`release` (a test kills the client process meanwhile);
* **validation**: every JSON body a fake sends goes through its ``validate``
  (the CRM's published schema); a body that does not fit is recorded in
  :attr:`schema_errors` (and answered 500, so no test passes on it).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


_post = threading.local()  # the body of the POST being routed (per server thread)


@dataclass
class Fault:
    kind: str  # "429" | "500" | "503" | "drop"
    nth: int  # 1-based count of matching requests
    path: str | None = None  # only requests whose path starts with this
    retry_after: float | None = 1
    seen: int = 0
    done: bool = False


@dataclass
class Hold:
    path: str
    nth: int
    seen: int = 0
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class FakeCrm:
    """Base of the fake CRM servers (see the module docstring)."""

    def __init__(self):
        self.log: list[dict] = []
        self.faults: list[Fault] = []
        self.holds: list[Hold] = []
        self.schema_errors: list[str] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ to override
    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, dict, Any]:
        raise NotImplementedError

    def validate(self, path: str, status: int, body: Any) -> list[str]:
        return []

    # ------------------------------------------------------------------ control
    def inject(self, kind: str, nth: int = 1, path: str | None = None, retry_after: float | None = 1) -> Fault:
        f = Fault(kind, nth, path, retry_after)
        self.faults.append(f)
        return f

    def hold(self, path: str, nth: int) -> Hold:
        h = Hold(path, nth)
        self.holds.append(h)
        return h

    def accept_posts(self, parse: Callable[[bytes], Any]) -> None:
        """Serve POSTs too (a search, a batch, a token request): while one is routed, :meth:`post_body` is its body
        as ``parse`` reads it (None for a GET)."""
        fake = self

        def do_POST(handler):
            n = int(handler.headers.get("Content-Length") or 0)
            _post.body = parse(handler.rfile.read(n))
            try:
                fake._handle(handler)
            finally:
                _post.body = None

        self._server.RequestHandlerClass.do_POST = do_POST

    @staticmethod
    def post_body() -> Any:
        return getattr(_post, "body", None)

    def requests_to(self, prefix: str) -> list[dict]:
        return [e for e in self.log if e["path"].startswith(prefix)]

    # ------------------------------------------------------------------ serving
    def start(self) -> "FakeCrm":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):
                fake._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        for h in self.holds:
            h.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _fault_for(self, path: str) -> Fault | None:
        for f in self.faults:
            if f.done or (f.path and not path.startswith(f.path)):
                continue
            f.seen += 1
            if f.seen == f.nth:
                f.done = True
                return f
        return None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in h.headers.items()}
        with self._lock:
            fault = self._fault_for(parts.path)
            hold = None
            for hd in self.holds:
                if parts.path.startswith(hd.path):
                    hd.seen += 1
                    if hd.seen == hd.nth:
                        hold = hd
        if hold is not None:
            hold.reached.set()
            hold.release.wait(30)
        entry = {"path": parts.path, "query": query, "status": None}
        if fault is not None and fault.kind in ("429", "500", "503"):
            status, extra, body = int(fault.kind), ({"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}), \
                {"success": False, "error": "Too many requests" if fault.kind == "429" else "Internal error"}
        else:
            with self._lock:
                status, extra, body = self.route("GET", parts.path, query, headers)
            problems = self.validate(parts.path, status, body) if status == 200 else []
            if problems:
                self.schema_errors += [f"{parts.path}: {p}" for p in problems]
                status, body = 500, {"success": False, "error": "fake: response does not fit the published schema"}
        entry["status"] = status
        with self._lock:
            self.log.append(entry)
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            h.send_header(k, v)
        h.end_headers()
        if fault is not None and fault.kind == "drop":  # the connection dies mid-page
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            h.close_connection = True
            try:
                import socket

                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        h.wfile.write(data)
