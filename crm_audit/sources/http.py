"""The one HTTP core every CRM client uses (httpx): limits, retries, paging, typed errors.

- :class:`RateLimiter` keeps a steady request rate (amoCRM: 7/s) and obeys what
  the responses say: a burst window running out (``x-ratelimit-remaining`` /
  ``x-ratelimit-reset``), ``Retry-After`` on a 429 or 503, a daily budget
  (``x-daily-requests-left``, Salesforce's ``Sforce-Limit-Info``); a wait longer
  than ``max_wait`` raises :class:`~crm_audit.sources.errors.RateLimited`
  instead of hanging a nightly job.
- :class:`HttpCore` sends GETs with the auth headers, retries a dropped
  connection, a timeout, a 429 and a 5xx with exponential backoff (GETs are
  idempotent, so a page cut mid-body is simply asked again), counts requests
  and the CRM's token cost, and maps a refusal to a typed error through the
  connector's ``classify`` (bad token, missing scope, wrong domain, API disabled).
- :class:`Paging` describes one paging style — cursor, offset/start, page
  number, next link — as data: which query parameter carries the position and
  how to read the items and the next position from a page.

Nothing here logs; messages pass through :func:`~crm_audit.sources.credentials.mask`, and so
does whatever httpx and httpcore log (their request lines carry the URL, and a Bitrix24
webhook's code is part of its path): :class:`MaskSecrets` sits on their loggers.
"""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from crm_audit.i18n import _
from crm_audit.sources.credentials import mask
from crm_audit.sources.errors import (ApiDisabled, ApiResponseError, BadToken, MissingScope, NoNetwork, RateLimited,
                                      SourceError, WrongDomain)


class MaskSecrets(logging.Filter):
    """Masks every known token (and a webhook's code) in a log record of the HTTP libraries, whoever turns their logging on."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot be formatted: let logging report it as it would
            return True
        masked = mask(text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


# a logger's filter sees only its own records (not its children's): each logger the two libraries write to
for _name in ("httpx", "httpcore", "httpcore.connection", "httpcore.connection_pool", "httpcore.http11", "httpcore.http2", "httpcore.proxy"):
    if not any(isinstance(f, MaskSecrets) for f in logging.getLogger(_name).filters):
        logging.getLogger(_name).addFilter(MaskSecrets())


@dataclass
class Limits:
    """A CRM's published limits, as the client enforces them before the server has to."""

    rps: float | None = None  # steady requests per second (amoCRM: 7)
    max_wait: float = 300.0  # the longest one wait may last; beyond it the sync stops with RateLimited
    retries: int = 6  # attempts after the first, for 429 / 5xx / dropped connections
    backoff: float = 0.5  # first backoff in seconds, doubled each attempt (with jitter), capped at 30 s
    timeout: float = 60.0
    #: the share of a daily allocation the sync leaves to the account's other integrations (Salesforce: 0.1 — it stops
    #: once 90% of the org's 24-hour API requests are used); None: no daily stop
    daily_reserve: float | None = None


class RateLimiter:
    """Waits before a request so the CRM never has to refuse one (and obeys it when it does)."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.limits = limits
        self.clock, self._sleep = clock, sleep
        self._next_at = 0.0  # earliest time of the next request (steady rate)
        self._blocked_until = 0.0  # a burst window ran out / Retry-After
        self.waited = 0.0  # seconds spent waiting, for the sync report
        self.daily_left: int | None = None
        self.daily_used: int | None = None  # a daily allocation as the CRM reports it (Salesforce's Sforce-Limit-Info)
        self.daily_total: int | None = None

    def _wait_until(self, t: float) -> None:
        delay = t - self.clock()
        if delay <= 0:
            return
        if delay > self.limits.max_wait:
            raise RateLimited(_("the CRM asks to wait {seconds:.0f} s before the next request (its limit is used up); "
                                "run the sync again later — nothing is lost, it resumes where it stopped").format(seconds=delay))
        self.waited += delay
        self._sleep(delay)

    def before(self) -> None:
        reserve = self.limits.daily_reserve
        if reserve is not None and self.daily_total and self.daily_used is not None \
                and self.daily_used >= self.daily_total * (1 - reserve):
            raise RateLimited(_("the account has used {used:,} of its {total:,} API requests of the last 24 hours; "
                                "the sync stops here to leave the last {reserve:.0%} to the account's other integrations — run it "
                                "again later (nothing is lost, it resumes where it stopped)")
                              .format(used=self.daily_used, total=self.daily_total, reserve=reserve))
        self._wait_until(max(self._next_at, self._blocked_until))
        if self.limits.rps:
            self._next_at = max(self.clock(), self._next_at) + 1.0 / self.limits.rps

    def observe(self, headers: httpx.Headers) -> None:
        """Read the limit headers of a response (any CRM's spelling; absent ones are ignored)."""
        remaining = _int(headers.get("x-ratelimit-remaining"))
        reset = _float(headers.get("x-ratelimit-reset"))
        if remaining is not None and remaining <= 0 and reset is not None:  # a small margin: the CRM's window is measured on arrival
            self._blocked_until = max(self._blocked_until, self.clock() + reset * 1.05 + 0.05)
        daily = _int(headers.get("x-daily-requests-left"))
        if daily is not None:
            self.daily_left = daily
        info = headers.get("sforce-limit-info")  # "api-usage=18/15000"
        if info and "api-usage=" in info:
            used, _, total = info.split("api-usage=")[1].split(",")[0].partition("/")
            if _int(used) is not None and _int(total) is not None:
                self.daily_used, self.daily_total = int(used), int(total)
                self.daily_left = int(total) - int(used)

    def retry_after(self, seconds: float) -> None:
        self._blocked_until = max(self._blocked_until, self.clock() + seconds)

    def sleep(self, seconds: float) -> None:
        self._wait_until(self.clock() + seconds)


def _int(v) -> int | None:
    try:
        return int(float(v)) if v not in (None, "") else None
    except ValueError:
        return None


def _float(v) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except ValueError:
        return None


def retry_after_seconds(headers: httpx.Headers, clock_now: float | None = None) -> float | None:
    """``Retry-After`` as seconds (a number, or an HTTP date)."""
    v = headers.get("retry-after")
    if v is None:
        return None
    sec = _float(v)
    if sec is not None:
        return max(0.0, sec)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    import datetime as dt

    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


@dataclass
class Stats:
    """What a sync cost: requests, the CRM's own token cost, retries, seconds waited."""

    requests: int = 0
    cost: int = 0
    retries: int = 0
    by_path: dict[str, int] = field(default_factory=dict)


Classifier = Callable[[httpx.Response], "SourceError | None"]


def default_classify(resp: httpx.Response, crm: str | None = None) -> SourceError | None:
    """A refusal as a typed error (a connector refines it with its own error bodies)."""
    s, url = resp.status_code, str(resp.request.url) if resp.request else None
    body = mask(resp.text[:300]) if resp.content else ""
    url = mask(url) if url else None
    crm = crm or _("the CRM")
    answer = f"HTTP {s}: {body}" if body else f"HTTP {s}"
    if s == 401:
        return BadToken(_("{crm} refused the token ({answer}); it is wrong, expired or revoked — "
                          "create a new one and put it where the settings say").format(crm=crm, answer=answer), status=s, url=url)
    if s == 402:
        return ApiDisabled(_("{crm} says the account's plan does not include API access (HTTP 402)").format(crm=crm), status=s, url=url)
    if s == 403:
        return MissingScope(_("{crm} refused access to {path} ({answer}); the token's user or app "
                              "lacks the permission to read it — grant it, or use an admin's token")
                            .format(crm=crm, path=_path(url), answer=answer), status=s, url=url)
    if s == 404:
        return WrongDomain(_("{host} has no {crm} API at {path} (HTTP 404); check the account address in crm_api: domain")
                           .format(host=_host(url), crm=crm, path=_path(url)), status=s, url=url)
    return None


def _host(url: str | None) -> str:
    return mask(urlsplit(url).netloc) if url else "?"


def url_path(url: str | None) -> str:
    """The path of a URL, for messages and the request counters ("?" when there is none), with any secret in it
    (a Bitrix24 webhook's code) masked."""
    return mask(urlsplit(url).path) if url else "?"


_path = url_path


@dataclass
class Paging:
    """One paging style, as data.

    ``param``: the query parameter that carries the position (``cursor``,
    ``start``, ``page``; None for next links, which are whole URLs);
    ``items``: the records of a page; ``next``: the next position from a page
    (None: last page) — given the page's JSON, the current position and the
    number of items. ``first``: the first position (None: parameter absent).
    """

    items: Callable[[Any], list]
    next: Callable[[Any, Any, int], Any]
    param: str | None = None
    first: Any = None

    @staticmethod
    def cursor(items: Callable[[Any], list], next_cursor: Callable[[Any], Any], param: str = "cursor") -> "Paging":
        return Paging(items, lambda js, pos, n: next_cursor(js) or None, param)

    @staticmethod
    def offset(items: Callable[[Any], list], limit: int, param: str = "start") -> "Paging":
        return Paging(items, lambda js, pos, n: (pos or 0) + n if n >= limit else None, param, 0)

    @staticmethod
    def page_number(items: Callable[[Any], list], limit: int, param: str = "page", has_next: Callable[[Any], bool] | None = None) -> "Paging":
        def nxt(js, pos, n):
            more = has_next(js) if has_next is not None else n >= limit
            return (pos or 1) + 1 if more and n else None
        return Paging(items, nxt, param, 1)

    @staticmethod
    def next_link(items: Callable[[Any], list], link: Callable[[Any], str | None]) -> "Paging":
        return Paging(items, lambda js, pos, n: link(js) or None, None)


class HttpCore:
    """GETs to one CRM account with its limits, retries and typed errors."""

    def __init__(self, base_url: str, headers: dict[str, str], limits: Limits, *, crm: str | None = None,
                 classify: Classifier | None = None, transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 probe_host: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.crm = crm or _("the CRM")
        self.limits = limits
        self.limiter = RateLimiter(limits, clock, sleep)
        self.stats = Stats()
        self.classify = classify
        self.probe_host = probe_host
        #: called once on a 401 to get a fresh access token (OAuth2 refresh, Salesforce's JWT bearer flow); it sets the new
        #: credentials with :meth:`set_auth`. None: a 401 is a :class:`BadToken` at once.
        self.reauth: Callable[[], None] | None = None
        self._transport = transport
        self._client = httpx.Client(headers={**headers, "Accept": "application/json", "User-Agent": "crm-audit"},
                                    timeout=limits.timeout, transport=transport, follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def set_auth(self, headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> None:
        """New credentials for every following request (after a token refresh); never shown anywhere."""
        client = getattr(self._client, "inner", self._client)  # a connector may wrap the client (HubSpot's search POSTs)
        if headers:
            client.headers.update(headers)
        if params:
            client.params = client.params.merge(params)

    def post_form(self, url: str, data: dict[str, str], *, json_body: bool = False, auth: tuple[str, str] | None = None,
                  method: str = "POST") -> httpx.Response:
        """One request to an OAuth2 token endpoint (a POSTed form, JSON where the CRM wants it, or a GET with the query
        Bitrix24 wants): counted, paced, a dropped connection retried; the response is the caller's to read (its errors
        are the token endpoint's own)."""
        # a client of its own: the API's credentials (an old Bearer header, Bitrix24's `auth` parameter) never go to the token endpoint
        client = httpx.Client(headers={"Accept": "application/json", "User-Agent": "crm-audit"}, timeout=self.limits.timeout,
                              transport=self._transport, follow_redirects=False)
        try:
            return self._send_token_request(client, url, data, json_body, auth, method)
        finally:
            client.close()

    def _send_token_request(self, client: httpx.Client, url: str, data: dict, json_body: bool, auth, method: str) -> httpx.Response:
        attempt = 0
        while True:
            self.limiter.before()
            self.stats.requests += 1
            self.stats.by_path[_path(url)] = self.stats.by_path.get(_path(url), 0) + 1
            try:
                if method == "GET":
                    resp = client.get(url, params=data)
                else:
                    kw: dict[str, Any] = {"json": data} if json_body else {"data": data}
                    resp = client.post(url, auth=auth, **kw)
                resp.read()
                return resp
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.TimeoutException, httpx.ConnectError) as exc:
                if attempt >= self.limits.retries or isinstance(exc, httpx.ConnectError) and _dns_failure(exc):
                    raise self._unreachable(url, exc) from None
                attempt += 1
                self.stats.retries += 1
                self.limiter.sleep(self._backoff(attempt))

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def get(self, path: str, params: dict | None = None, cost: int = 1, *, body: Any = None) -> Any:
        """The JSON of one GET (None for an empty 204), after waits and retries; a typed error otherwise.

        ``body``: a read-only POST with this JSON body instead (Bitrix24's ``batch``), with the same limits and retries."""
        url = self._url(path)
        post, body = body, None  # `body` is the answer's below
        attempt = 0
        reauthed = False
        while True:
            self.limiter.before()
            self.stats.requests += 1
            self.stats.by_path[_path(url)] = self.stats.by_path.get(_path(url), 0) + 1
            try:
                resp = self._client.get(url, params=params) if post is None else self._client.post(url, params=params, json=post)
                body = resp.content  # read the whole body now: a connection dropped mid-page fails here
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.TimeoutException, httpx.ConnectError) as exc:
                if isinstance(exc, httpx.ConnectError) and attempt == 0 and _dns_failure(exc):
                    raise self._unreachable(url, exc) from None
                if attempt >= self.limits.retries:
                    raise self._unreachable(url, exc) from None
                attempt += 1
                self.stats.retries += 1
                self.limiter.sleep(self._backoff(attempt))
                continue
            self.limiter.observe(resp.headers)
            if resp.status_code == 429 or resp.status_code in (500, 502, 503, 504):
                if attempt >= self.limits.retries:
                    if resp.status_code == 429:
                        raise RateLimited(_("{crm} kept answering 429 Too Many Requests after {n} retries; run the sync later")
                                          .format(crm=self.crm, n=attempt), status=429, url=mask(url))
                    raise ApiResponseError(_("{crm} answered HTTP {status} {n} times for {path}; it may be down — try again later")
                                           .format(crm=self.crm, status=resp.status_code, n=attempt + 1, path=_path(url)),
                                           status=resp.status_code, url=mask(url))
                attempt += 1
                self.stats.retries += 1
                wait = retry_after_seconds(resp.headers)
                if wait is not None:
                    self.limiter.retry_after(wait)
                else:
                    self.limiter.sleep(self._backoff(attempt))
                continue
            if resp.status_code == 401 and self.reauth is not None and not reauthed:
                reauthed = True  # an expired access token: a new one once, then the same request again
                self.reauth()
                continue
            if resp.status_code >= 400:
                err = (self.classify(resp) if self.classify else None) or default_classify(resp, self.crm)
                if err is None:
                    err = ApiResponseError(_("{crm} answered HTTP {status} for {path}: {body}")
                                           .format(crm=self.crm, status=resp.status_code, path=_path(url), body=mask(resp.text[:300])),
                                           status=resp.status_code, url=mask(url))
                raise err
            if resp.status_code in (301, 302, 307, 308):
                raise WrongDomain(_("{host} redirects to {target}: not the {crm} API address; check crm_api: domain")
                                  .format(host=_host(url), target=mask(resp.headers.get("location", "?")), crm=self.crm),
                                  status=resp.status_code, url=mask(url))
            self.stats.cost += cost
            if resp.status_code == 204 or not body:
                return None
            try:
                return resp.json()
            except ValueError:
                if attempt < self.limits.retries:  # a body cut short looks like bad JSON: ask again
                    attempt += 1
                    self.stats.retries += 1
                    self.limiter.sleep(self._backoff(attempt))
                    continue
                raise ApiResponseError(_("{crm} answered something that is not JSON for {path} (is {host} the right address?)")
                                       .format(crm=self.crm, path=_path(url), host=_host(url)),
                                       status=resp.status_code, url=mask(url)) from None

    def pages(self, path: str, params: dict | None, paging: Paging, cost: int = 1) -> Iterator[tuple[list, Any]]:
        """Every page of a list: (items, the position of the page after it — None after the last)."""
        params = dict(params or {})
        pos = paging.first
        url = path
        while True:
            q = dict(params)
            if paging.param is not None and pos is not None:
                q[paging.param] = pos
            js = self.get(url, q if paging.param is not None or url == path else None, cost)
            items = paging.items(js) if js is not None else []
            nxt = paging.next(js, pos, len(items)) if js is not None else None
            yield items, nxt
            if nxt is None:
                return
            if paging.param is None:
                url = nxt  # a next link carries every parameter
            else:
                pos = nxt

    def _backoff(self, attempt: int) -> float:
        return min(30.0, self.limits.backoff * 2 ** (attempt - 1)) * (0.75 + 0.5 * random.random())

    def _unreachable(self, url: str, exc: Exception) -> SourceError:
        host = _host(url)
        if _dns_failure(exc):
            if self.probe_host and _resolves(self.probe_host):
                return WrongDomain(_("{host} does not exist (no such address) while {probe} answers; check the account "
                                     "address in crm_api: domain").format(host=host, probe=self.probe_host), url=mask(url))
            return NoNetwork(_("cannot resolve {host}: no network or DNS; check the connection (and a proxy, if any)").format(host=host),
                             url=mask(url))
        return NoNetwork(_("cannot reach {host} ({kind}: {error}); check the network, a proxy or a firewall — "
                           "the sync resumes where it stopped").format(host=host, kind=type(exc).__name__, error=mask(str(exc))[:200]),
                         url=mask(url))


def _dns_failure(exc: BaseException) -> bool:
    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, socket.gaierror):
            return True
        text = str(e).lower()
        if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo failed" in text \
                or "temporary failure in name resolution" in text or "no address associated" in text:
            return True
        e = e.__cause__ or e.__context__
    return False


def _resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
        return True
    except OSError:
        return False
