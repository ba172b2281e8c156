"""A fake Telegram Bot API (``POST /bot<token>/sendMessage``) in a thread, for the digest tests.

It answers as the real API documents it (https://core.telegram.org/bots/api#making-requests): a JSON object with
``ok``; on success ``result`` (a Message), on failure ``error_code`` and ``description`` (401 Unauthorized for a
wrong token, 400 "Bad Request: chat not found", 400 for a text over 4096 characters or bad HTML entities, 429
with ``parameters.retry_after``). Every request it got is kept in ``requests``.
"""

from __future__ import annotations

import json
import re
import threading
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: the tags Telegram's HTML parse mode accepts
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span", "tg-spoiler", "blockquote"}


class _Check(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.error: str | None = None
        self.text = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.error = f"Bad Request: can't parse entities: Unsupported start tag \"{tag}\""
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.error = f"Bad Request: can't parse entities: Unexpected end tag \"{tag}\""

    def handle_data(self, data):
        self.text.append(data)


def parse_html(text: str) -> tuple[str | None, str]:
    """(error or None, the visible text) of a message in HTML parse mode."""
    p = _Check()
    p.feed(text)
    p.close()
    if p.stack and not p.error:
        p.error = f"Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"{p.stack[-1]}\""
    return p.error, "".join(p.text)


class FakeTelegram:
    def __init__(self, token: str = "123456:TEST-token-abc"):
        self.token = token
        self.requests: list[dict] = []
        self.accepted: list[tuple[str, str]] = []  # (chat id, text as sent) of every message the API accepted
        self.unknown_chats: set[str] = set()
        self.flood_once: set[str] = set()  # chats that get one 429 first
        #: chat -> how many more messages it accepts before the API fails (502 Bad Gateway) for it: an outage mid-way
        self.fails_after: dict[str, int] = {}
        self._next_id = 1
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                m = re.fullmatch(r"/bot([^/]+)/sendMessage", self.path)
                if not m:
                    return self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                if m[1] != fake.token:
                    return self._send(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                body = json.loads(raw.decode("utf-8"))
                chat = str(body.get("chat_id"))
                with fake._lock:
                    fake.requests.append(body)
                    if chat in fake.flood_once:
                        fake.flood_once.discard(chat)
                        return self._send(429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                                                "parameters": {"retry_after": 1}})
                    if chat in fake.fails_after:
                        if fake.fails_after[chat] <= 0:
                            return self._send(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
                        fake.fails_after[chat] -= 1
                    if chat in fake.unknown_chats:
                        return self._send(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
                    error, visible = parse_html(body["text"]) if body.get("parse_mode") == "HTML" else (None, body["text"])
                    if error:
                        return self._send(400, {"ok": False, "error_code": 400, "description": error})
                    if len(visible) > 4096:
                        return self._send(400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"})
                    fake.accepted.append((chat, body["text"]))
                    mid = fake._next_id
                    fake._next_id += 1
                return self._send(200, {"ok": True, "result": {"message_id": mid, "date": 0, "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else chat},
                                                                "text": visible}})

            def _send(self, code, payload):
                data = json.dumps(payload).encode("utf-8")
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def delivered(self, chat: str) -> list[str]:
        """The texts accepted for a chat, in order."""
        return [text for c, text in self.accepted if c == chat]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
