"""Reaching the spreadsheet: credentials, opening, retries and quota pacing, error causes, the access check.

Requests and faults
    Every request goes through :class:`_Calls`, which

    * paces it under Google's per-minute quota (60 read and 60 write requests
      per minute per user): before a request that would exceed it, it waits
      until the oldest request of the last minute leaves the window
      (:class:`RetryPolicy.writes_per_minute`);
    * retries *that request* on 429, 5xx, a dropped connection or a timeout
      (exponential backoff with jitter; ``Retry-After`` honoured; a 429
      without ``Retry-After`` waits out a full quota window), so a long
      publish resumes from the step that failed instead of starting over;
    * turns a final failure into a :class:`GoogleSheetsError` that names the
      cause (:class:`Cause`) and says what to do.

    Requests that are not safe to send twice (a ``spreadsheets.batchUpdate``
    whose answer was lost may have been applied) are retried only when Google
    certainly did not apply them (429); otherwise the caller re-plans
    (:mod:`exporters.gsheet.publish`).

Secrets
    Credentials and tokens are never printed, logged or kept: messages name
    the account's e-mail at most, and nothing is cached on disk by this module.
"""

from __future__ import annotations

import collections
import json
import math
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from crm_audit.errors import OutputError
from crm_audit.i18n import _

_SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
ENABLE_API_URL = "https://console.cloud.google.com/apis/library/sheets.googleapis.com"


class Cause(str, Enum):
    """Why the spreadsheet cannot be reached or written."""

    OK = "ok"
    BAD_ADDRESS = "bad-address"  # not a spreadsheet URL or key
    NO_CREDENTIALS = "no-credentials"  # no key file / OAuth client
    CREDENTIALS = "credentials-refused"  # revoked, deleted or invalid key; expired sign-in
    API_DISABLED = "api-disabled"  # the Sheets API is not enabled in the key's Cloud project
    NOT_SHARED = "not-shared"  # not shared with the account (or no such spreadsheet)
    READ_ONLY = "read-only"  # shared as Viewer / Commenter
    UNREACHABLE = "unreachable"  # no connection to Google
    GAVE_UP = "gave-up"  # retries ran out (quota, 5xx)
    REJECTED = "rejected"  # any other refusal


class GoogleSheetsError(OutputError):
    """An :class:`~crm_audit.errors.OutputError` (exit 2) that knows its :class:`Cause`."""

    def __init__(self, message: str, cause: Cause, hint: str = ""):
        super().__init__(message, hint=hint)
        self.cause = cause


@dataclass
class RetryPolicy:
    """Retries, timeouts and quota pacing of the requests to Google.

    ``attempts`` bounds the tries of one request (not of a whole publish);
    ``clock`` and ``sleep`` are injectable so tests never wait.
    """

    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 64.0
    max_retry_after: float = 120.0
    timeout: float | tuple[float, float] = (10.0, 180.0)  # per request: (connect, read)
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random
    clock: Callable[[], float] = time.monotonic
    #: Google's quota: requests per minute per user (reads and writes are counted apart).
    writes_per_minute: int = 60
    reads_per_minute: int = 60
    quota_window: float = 60.0
    #: tries while Google is unreachable when opening (fail within seconds, not after a minute of retries)
    connect_attempts: int = 2
    _sent: dict[str, collections.deque] = field(default_factory=dict, init=False, repr=False, compare=False)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        backoff = backoff * (0.5 + self.jitter() / 2)  # "equal jitter"
        if retry_after is not None and retry_after > 0:
            return min(retry_after, self.max_retry_after)  # what the server asked for
        return backoff

    # quota pacing ------------------------------------------------------------

    def _limit(self, kind: str) -> int:
        return max(1, self.writes_per_minute if kind == "write" else self.reads_per_minute)

    def _window(self, kind: str) -> collections.deque:
        sent = self._sent.setdefault(kind, collections.deque())
        now = self.clock()
        while sent and sent[0] <= now - self.quota_window:
            sent.popleft()
        return sent

    def quota_wait(self, kind: str) -> float:
        """Seconds to wait before a request of ``kind`` stays under the per-minute quota."""
        sent = self._window(kind)
        if len(sent) < self._limit(kind):
            return 0.0
        return max(0.0, sent[len(sent) - self._limit(kind)] + self.quota_window - self.clock())

    def note(self, kind: str) -> None:
        self._window(kind).append(self.clock())

    def estimate(self, writes: int) -> float:
        """Seconds ``writes`` more write requests take under the quota (waiting only; not transfer time)."""
        sent = list(self._window("write"))
        limit, now = self._limit("write"), self.clock()
        t = now
        for _ in range(writes):
            if len(sent) >= limit:
                t = max(t, sent[len(sent) - limit] + self.quota_window)
            sent.append(t)
        return t - now


_DEFAULT_POLICY: RetryPolicy | None = None


def default_policy() -> RetryPolicy:
    """One policy per process, so the quota pacing covers every call of a run."""
    global _DEFAULT_POLICY
    if _DEFAULT_POLICY is None:
        _DEFAULT_POLICY = RetryPolicy()
    return _DEFAULT_POLICY


@dataclass
class AccessCheck:
    """The answer of :func:`check_access`: ``ok``, the :class:`Cause` and a message that says what to do."""

    ok: bool
    message: str
    email: str | None = None
    title: str | None = None
    cause: Cause = Cause.OK

    def __str__(self) -> str:
        return self.message


class _Retryable(Exception):
    def __init__(self, what: str, retry_after: float | None = None, *, status: int | None = None, connection: bool = False):
        super().__init__(what)
        self.retry_after = retry_after
        self.status = status
        self.connection = connection  # no answer at all: connection refused, dropped or timed out

    @property
    def not_applied(self) -> bool:
        """Google certainly did not apply the request (quota is checked before anything is done)."""
        return self.status == 429


def format_minutes(seconds: float) -> str:
    return _("~{n} min").format(n=max(1, math.ceil(seconds / 60)))


class _Calls:
    """Sends requests: quota pacing, per-request retries, and the cause of a final failure."""

    def __init__(self, spreadsheet: Any, policy: RetryPolicy, *, account: str | None = None,
                 progress: Callable[[str], None] | None = None, opening: bool = False):
        self.spreadsheet = spreadsheet
        self.policy = policy
        self.account = account
        self.progress = progress
        self.opening = opening
        self.count = 0  # requests sent, retries included
        self.retries = 0
        self.waited = 0.0  # seconds slept (pacing and retries)
        self.status = ""  # "step 3/40", shown while waiting
        self.remaining: Callable[[], float] | None = None  # seconds of the publish still ahead
        client = getattr(spreadsheet, "client", None)
        if client is not None and hasattr(client, "set_timeout"):
            client.set_timeout(policy.timeout)
        if self.account is None:
            self.account = _client_email(client)

    @property
    def sid(self) -> str:
        return _sid(self.spreadsheet)

    def _sleep(self, seconds: float, why: str) -> None:
        if seconds <= 0:
            return
        if self.progress is not None and seconds >= 1:
            left = seconds + (self.remaining() if self.remaining else 0.0)
            step = f"; {self.status}" if self.status else ""
            self.progress(_("Google Sheets: {why}, waiting {seconds} s{step}, {left} left")
                          .format(why=why, seconds=math.ceil(seconds), step=step, left=format_minutes(left)))
        self.policy.sleep(seconds)
        self.waited += seconds

    def __call__(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A read request (retried: reading twice is harmless)."""
        return self.send(what, fn, *args, kind="read", **kwargs)

    def write(self, what: str, fn: Callable[..., Any], *args: Any, repeatable: bool = True, **kwargs: Any) -> Any:
        """A write request; ``repeatable=False``: retried only when Google certainly did not apply it."""
        return self.send(what, fn, *args, kind="write", repeatable=repeatable, **kwargs)

    def send(self, what: str, fn: Callable[..., Any], *args: Any, kind: str = "read", repeatable: bool = True,
             **kwargs: Any) -> Any:
        policy = self.policy
        attempts = max(1, policy.attempts)
        attempt = 0
        while True:
            attempt += 1
            self._sleep(policy.quota_wait(kind), (_("Google allows {n} read requests per minute") if kind == "read" else
                                                  _("Google allows {n} write requests per minute")).format(n=policy._limit(kind)))
            policy.note(kind)
            self.count += 1
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - classified below
                err = _classify(exc, what, self.sid, account=self.account, kind=kind)
                if isinstance(err, OutputError):
                    raise err from None  # the message says it all (and carries no secret)
                if not isinstance(err, _Retryable):
                    raise
                limit = min(attempts, max(1, policy.connect_attempts)) if (self.opening and err.connection) else attempts
                if attempt >= limit or not (repeatable or err.not_applied):
                    if self.opening and err.connection:
                        raise _unreachable(self.sid, str(err)) from None
                    if not repeatable and not err.not_applied:
                        raise err  # the caller re-plans
                    raise _gave_up(self.sid, what, attempt, str(err)) from None
                self.retries += 1
                wait = policy.delay(attempt, err.retry_after)
                if err.status == 429 and err.retry_after is None:
                    wait = max(wait, policy.quota_window)  # wait out a full quota window
                self._sleep(wait, f"{what}: {err}")


def _gave_up(sid: str, what: str, attempts: int, last: str) -> GoogleSheetsError:
    return GoogleSheetsError(
        _("Google Sheets {sid}: could not {what} after {attempts} attempt(s); last error: {last}.")
        .format(sid=sid, what=what, attempts=attempts, last=last),
        Cause.GAVE_UP,
        hint=_("Nothing the managers wrote is lost: run the same command again (Google may be rate-limiting; "
               "wait a minute if the last error was HTTP 429)."),
    )


def _unreachable(sid: str, detail: str) -> GoogleSheetsError:
    return GoogleSheetsError(
        _("Google Sheets {sid}: cannot reach Google (sheets.googleapis.com): {detail}.").format(sid=sid, detail=detail),
        Cause.UNREACHABLE,
        hint=_("Check the internet connection, the proxy (HTTPS_PROXY) and the firewall, then run again. Nothing was written."),
    )


def _sid(spreadsheet: Any) -> str:
    try:
        return str(spreadsheet.id)
    except Exception:  # noqa: BLE001
        return "?"


def _error_body(response: Any) -> dict:
    try:
        err = response.json().get("error", {})
        return err if isinstance(err, dict) else {}
    except Exception:  # noqa: BLE001
        return {}


def _api_message(response: Any) -> str:
    err = _error_body(response)
    return str(err.get("message") or err.get("status") or "")[:500]


def _reasons(response: Any) -> set[str]:
    details = _error_body(response).get("details") or []
    return {str(d.get("reason")) for d in details if isinstance(d, dict) and d.get("reason")}


def _api_disabled(response: Any) -> bool:
    message = _api_message(response)
    return "SERVICE_DISABLED" in _reasons(response) or "has not been used" in message or "it is disabled" in message


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


def _response_of(exc: BaseException) -> Any:
    """The HTTP response behind ``exc`` (gspread turns a 403 into a bare PermissionError *from* the APIError)."""
    seen = 0
    while exc is not None and seen < 5:
        response = getattr(exc, "response", None)
        if response is not None and hasattr(response, "status_code"):
            return response
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _share_advice(sid: str, account: str | None, role: str = "add") -> str:
    page = f"https://docs.google.com/spreadsheets/d/{sid}"
    if not account:
        return _("Make sure your Google account can edit {page} (ask its owner for «Editor»), or use a "
                 "service-account key (--credentials).").format(page=page)
    if role == "add":
        return _("Open {page} → «Share» («Настройки доступа») → add {account} → «Editor» («Редактор»), "
                 "untick «Notify people», press «Share».").format(page=page, account=account)
    return _("Open {page} → «Share» («Настройки доступа») → change the role of {account} → «Editor» («Редактор»), "
             "untick «Notify people», press «Share».").format(page=page, account=account)


def _credentials_refused(sid: str, account: str | None, detail: str) -> GoogleSheetsError:
    who = account or _("this account")
    where = (f"Google Cloud Console → IAM & Admin → Service accounts → {account} → Keys → Add key → JSON"
             if account else "Google Cloud Console → IAM & Admin → Service accounts → Keys")
    return GoogleSheetsError(
        _("Google Sheets {sid}: Google refused the credentials of {who}{detail} — the key was deleted or "
          "revoked, the service account was disabled, or the file is not a valid key.").format(sid=sid, who=who, detail=detail),
        Cause.CREDENTIALS,
        hint=_("Create a new key ({where}) and point --credentials / google_credentials at it; "
               "with your own Google account, sign in again (delete ~/.config/gspread/authorized_user.json).").format(where=where),
    )


def _classify(exc: Exception, what: str, sid: str, *, account: str | None = None, kind: str = "read") -> Exception:
    import requests
    from gspread.exceptions import SpreadsheetNotFound

    if isinstance(exc, (OutputError, _Retryable)):
        return exc
    try:
        from google.auth import exceptions as auth_errors
    except ImportError:  # pragma: no cover - google-auth comes with gspread
        auth_errors = None
    if auth_errors is not None and isinstance(exc, auth_errors.RefreshError):
        # the refresh error's text is Google's reason (never the key); only a short reason is kept
        reason = str(exc.args[0]).split(":", 1)[0][:60] if exc.args else ""
        return _credentials_refused(sid, account, f" ({reason})" if reason else "")
    if auth_errors is not None and isinstance(exc, auth_errors.TransportError):
        return _Retryable(_("{what}: connection to Google's sign-in failed").format(what=what), connection=True)
    if isinstance(exc, requests.exceptions.ConnectionError) or isinstance(exc, requests.exceptions.Timeout):
        kind_text = _("timed out") if isinstance(exc, requests.exceptions.Timeout) else _("connection failed")
        return _Retryable(f"{what}: {kind_text} ({type(exc).__name__})", connection=True)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return _Retryable(_("{what}: connection broken").format(what=what), connection=True)
    response = _response_of(exc)
    status = getattr(response, "status_code", None)
    if status == 401:
        return _credentials_refused(sid, account, f" (HTTP 401 {_api_message(response)})".rstrip())
    if (status == 403 or isinstance(exc, PermissionError)) and _api_disabled(response):
        project = re.search(r"project[s]?[ /=](\d+)", _api_message(response))
        link = ENABLE_API_URL + (f"?project={project.group(1)}" if project else "")
        return GoogleSheetsError(
            _("Google Sheets {sid}: the Google Sheets API is not enabled in the Google Cloud project of {account}.")
            .format(sid=sid, account=account or _("these credentials")),
            Cause.API_DISABLED,
            hint=_("Enable it: {link} (press «Enable»), wait a few minutes, then run again.").format(link=link),
        )
    if isinstance(exc, SpreadsheetNotFound) or status == 404 or (kind == "read" and (status == 403 or isinstance(exc, PermissionError))):
        return GoogleSheetsError(
            _("Google Sheets {sid}: the spreadsheet is not shared with {account} (or there is no spreadsheet with this address).")
            .format(sid=sid, account=account or _("this Google account")),
            Cause.NOT_SHARED,
            hint=_share_advice(sid, account),
        )
    if status == 403 or isinstance(exc, PermissionError):
        return GoogleSheetsError(
            _("Google Sheets {sid}: {account} can read the spreadsheet but cannot edit it (it is shared as Viewer or Commenter).")
            .format(sid=sid, account=account or _("this Google account")),
            Cause.READ_ONLY,
            hint=_share_advice(sid, account, role="change"),
        )
    if status is not None:
        if status in _RETRY_STATUS:
            return _Retryable(f"{what}: HTTP {status} {_api_message(response)}".strip(), _retry_after(response), status=status)
        return GoogleSheetsError(
            _("Google Sheets {sid}: Google rejected the request ({what}): HTTP {status} {message}")
            .format(sid=sid, what=what, status=status, message=_api_message(response)),
            Cause.REJECTED,
        )
    return exc


def _with_retries(spreadsheet: Any, policy: RetryPolicy | None, what: str, body: Callable[[_Calls], Any], *,
                  progress: Callable[[str], None] | None = None) -> tuple[Any, _Calls]:
    """Run ``body`` with a :class:`_Calls` (each request retried on its own)."""
    calls = _Calls(spreadsheet, policy or default_policy(), progress=progress)
    try:
        return body(calls), calls
    except _Retryable as exc:  # a request that must not be repeated blindly: reported, nothing lost
        raise _gave_up(calls.sid, what, 1, str(exc)) from None


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
    raise GoogleSheetsError(
        _("«{text}» is not a Google Sheets URL or key.").format(text=text[:80]),
        Cause.BAD_ADDRESS,
        hint=_("Copy the spreadsheet's address from the browser (https://docs.google.com/spreadsheets/d/…/edit)."),
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
            raise GoogleSheetsError(
                _("Google credentials file not found: {path}.").format(path=path),
                Cause.NO_CREDENTIALS,
                hint=_("Set the path of the service-account JSON key (google_credentials in the settings, "
                       "--credentials, or GOOGLE_APPLICATION_CREDENTIALS)."),
            )
        try:
            return gspread.service_account(filename=path, scopes=_SCOPES)
        except (ValueError, KeyError) as exc:
            raise GoogleSheetsError(
                _("{path} is not a valid service-account key ({kind}).").format(path=path, kind=type(exc).__name__),
                Cause.CREDENTIALS,
                hint=_("Download a JSON key of the service account in Google Cloud Console → IAM → Service accounts → Keys."),
            ) from None
    try:
        return gspread.oauth(scopes=_SCOPES)
    except FileNotFoundError:
        raise GoogleSheetsError(
            _("No Google credentials: no service-account key given and no OAuth client file (~/.config/gspread/credentials.json)."),
            Cause.NO_CREDENTIALS,
            hint=_("Use a service-account key (--credentials key.json or GOOGLE_APPLICATION_CREDENTIALS), or put an "
                   "OAuth desktop client's JSON at ~/.config/gspread/credentials.json to sign in with your Google account."),
        ) from None


def _opening_timeout(policy: RetryPolicy) -> float | tuple[float, float]:
    """A short connect timeout while opening: an unreachable Google is reported within seconds."""
    t = policy.timeout
    connect, read = t if isinstance(t, tuple) else (t, t)
    return (min(connect, 5.0), read)


def open_spreadsheet(
    url_or_key: str,
    credentials_path: str | os.PathLike[str] | None = None,
    *,
    client: Any = None,
    retry: RetryPolicy | None = None,
) -> Any:
    """Open the spreadsheet with a service-account key (path, or
    ``GOOGLE_APPLICATION_CREDENTIALS``) or the user's Google account (OAuth);
    ``client`` (a :class:`gspread.Client`) skips the credentials.

    Raises :class:`GoogleSheetsError` (an ``OutputError``: exit 2) whose
    ``cause`` and message say what is wrong and what to do.
    """
    key = spreadsheet_key(url_or_key)
    gc = client if client is not None else _client(credentials_path)
    policy = retry or default_policy()
    account = service_account_email(credentials_path) or _client_email(gc)
    if hasattr(gc, "set_timeout"):
        gc.set_timeout(_opening_timeout(policy))

    class _Key:  # for messages while the spreadsheet is not open yet
        id = key

    calls = _Calls(_Key(), policy, account=account, opening=True)
    spreadsheet = calls(_("open the spreadsheet"), gc.open_by_key, key)
    if hasattr(gc, "set_timeout"):
        gc.set_timeout(policy.timeout)
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
    """Can this account read and edit the spreadsheet? The answer names the cause and says what to do if not.

    The edit check rewrites the spreadsheet's title with itself (a change-free write).
    Never prints or returns a key or a token.
    """
    policy = retry or default_policy()
    email = service_account_email(credentials_path)
    try:
        key = spreadsheet_key(url_or_key)
        gc = client if client is not None else _client(credentials_path)
        email = email or _client_email(gc)
        sh = open_spreadsheet(key, credentials_path, client=gc, retry=policy)
    except GoogleSheetsError as exc:
        return AccessCheck(False, exc.message, email, cause=exc.cause)
    who = _("the service account {email}").format(email=email) if email else _("your Google account")
    calls = _Calls(sh, policy, account=email, opening=True)
    try:
        calls.write(
            _("edit the spreadsheet"),
            sh.batch_update,
            {"requests": [{"updateSpreadsheetProperties": {"properties": {"title": sh.title}, "fields": "title"}}]},
        )
    except GoogleSheetsError as exc:
        return AccessCheck(False, exc.message, email, sh.title, cause=exc.cause)
    return AccessCheck(True, _("OK: {who} can read and edit «{title}» ({key}).").format(who=who, title=sh.title, key=key),
                       email, sh.title, Cause.OK)
