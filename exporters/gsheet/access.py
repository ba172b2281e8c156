"""Reaching the spreadsheet: credentials, opening, retries and quota pacing, error causes, the access check.

Faults
    A failed attempt (429, 5xx, connection error, timeout) is retried with
    exponential backoff and jitter, honouring ``Retry-After``. Credentials
    and tokens are never printed, logged or kept: messages name the
    service account's e-mail at most.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crm_audit.errors import OutputError

_SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
_RETRY_STATUS = {408, 429, 500, 502, 503, 504}


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
