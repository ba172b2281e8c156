"""HubSpot: CRM v3 objects (deals, tasks, companies, contacts), pipelines, owners, properties; v4 associations.

- Auth: a private app's access token (or an OAuth2 access token) as
  ``Authorization: Bearer`` against https://api.hubapi.com; scopes
  ``crm.objects.deals.read``, ``crm.objects.companies.read``,
  ``crm.objects.contacts.read``, ``crm.objects.owners.read`` and tasks
  (``crm.objects.contacts.read`` covers tasks on most portals).
- Reading: the search API (``POST /crm/v3/objects/<object>/search``, read-only),
  sorted by the modification date ascending, 200 a page, ``after`` cursor; a
  search never returns more than 10,000 results, so past that it starts again
  from the last modification date read (``GTE``, inclusive) — the watermark moves
  page by page and a killed sync resumes. Search results carry no associations:
  deals -> companies/contacts and tasks -> deals are read per page through
  ``POST /crm/v4/associations/<from>/<to>/batch/read``; a contact's company is
  its ``associatedcompanyid`` property.
- Modification date: ``hs_lastmodifieddate`` (contacts: ``lastmodifieddate``),
  RFC 3339 UTC with milliseconds; the search filter takes epoch milliseconds.
- Deletions: ``GET /crm/v3/objects/<object>?archived=true`` lists archived
  (deleted) records; every sync reads it (it has no date filter).
- Stage order and won/lost: ``/crm/v3/pipelines/deals`` (``displayOrder``;
  a stage's ``metadata.isClosed`` and ``probability`` "1.0" won / "0.0" lost).
- Stage-change date: ``hs_v2_date_entered_current_stage``.
- Owners: ``/crm/v3/owners`` (active) and ``?archived=true`` (deactivated users).
- Limits: per 10 seconds per app (100 or 190 by plan: ``X-HubSpot-RateLimit-Max``
  / ``-Remaining`` / ``-Interval-Milliseconds``), daily (``-Daily-Remaining``),
  and the search API's 5 requests per second without headers; 429 with
  ``Retry-After`` is obeyed by the core.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx

from crm_audit.i18n import _
from crm_audit.sources.cache import Record, SyncCache
from crm_audit.sources.connector import (CheckResult, Connector, CustomField, InitValues, ObjectSpec, Table,
                                         iso_utc, local_text, text, unique_label)
from crm_audit.sources.errors import ApiResponseError, BadToken, MissingScope, SourceError
from crm_audit.sources.http import HttpCore, Limits, Paging, RateLimiter, default_classify, url_path as _path
from crm_audit.sources.oauth import RefreshSpec

API_ROOT = "https://api.hubapi.com"
PAGE = 100  # list endpoints (owners, archived records)
SEARCH_PAGE = 200  # the search API's maximum
SEARCH_CAP = 10_000  # a search returns at most this many results, whatever the paging
SEARCH_INTERVAL = 0.22  # the search API: 5 requests per second per account, no headers to say so
MODIFIED = {"deals": "hs_lastmodifieddate", "companies": "hs_lastmodifieddate", "contacts": "lastmodifieddate",
            "tasks": "hs_lastmodifieddate"}
PROPERTIES = {
    "deals": ["dealname", "dealstage", "pipeline", "amount", "deal_currency_code", "hubspot_owner_id", "createdate", "closedate",
              "closed_lost_reason", "hs_v2_date_entered_current_stage", "hs_lastmodifieddate"],
    "companies": ["name", "hubspot_owner_id", "createdate", "hs_lastmodifieddate"],
    "contacts": ["firstname", "lastname", "hubspot_owner_id", "associatedcompanyid", "createdate", "lastmodifieddate"],
    "tasks": ["hs_task_subject", "hs_task_status", "hs_task_type", "hs_timestamp", "hubspot_owner_id", "hs_lastmodifieddate"],
}
ASSOCIATIONS = {"deals": ("companies", "contacts"), "tasks": ("deals",)}
PRIMARY_DEAL_COMPANY = 5  # association type id of a deal's primary company
#: hs_task_type as HubSpot's own export shows it («Task Type»)
TASK_TYPES = {"CALL": "Call", "EMAIL": "Email", "TODO": "To-do", "MEETING": "Meeting", "LINKED_IN": "LinkedIn"}
_ENTITY = {"deals": "deals", "organizations": "companies", "persons": "contacts"}

_results = lambda js: (js or {}).get("results") or []  # noqa: E731
_after = lambda js: (((js or {}).get("paging") or {}).get("next") or {}).get("after")  # noqa: E731


class HubSpotLimiter(RateLimiter):
    """The core's limiter, also reading HubSpot's own limit headers (per 10-second window and daily)."""

    def observe(self, headers: httpx.Headers) -> None:
        super().observe(headers)
        remaining = _num(headers.get("x-hubspot-ratelimit-remaining"))
        interval = _num(headers.get("x-hubspot-ratelimit-interval-milliseconds"))
        if remaining is not None and remaining <= 0 and interval:
            # the window is rolling: waiting one whole interval is the safe side
            self._blocked_until = max(self._blocked_until, self.clock() + interval / 1000.0 + 0.05)
        daily = _num(headers.get("x-hubspot-ratelimit-daily-remaining"))
        if daily is not None:
            self.daily_left = int(daily)


class _SearchClient:
    """httpx's client as the core uses it, plus the read-only search POSTs: a GET whose params carry ``__search__``
    is sent as ``POST`` with that JSON body (the paging cursor merged in), so searches get the core's limits,
    retries and typed errors."""

    def __init__(self, inner: httpx.Client):
        self.inner = inner

    def get(self, url, params=None):
        if params and "__search__" in params:
            body = {**params["__search__"], **{k: v for k, v in params.items() if k != "__search__"}}
            return self.inner.post(url, json=body)
        return self.inner.get(url, params=params)

    def post(self, url, params=None, json=None):
        return self.inner.post(url, params=params, json=json)

    def close(self) -> None:
        self.inner.close()


def classify(resp: httpx.Response) -> SourceError | None:
    """HubSpot's refusals: ``{"status": "error", "message": ..., "category": "INVALID_AUTHENTICATION" | "MISSING_SCOPES" ...}``."""
    url = str(resp.request.url) if resp.request else None
    try:
        body = resp.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    category, msg = str(body.get("category") or ""), str(body.get("message") or "")
    if resp.status_code == 401 or category in ("INVALID_AUTHENTICATION", "EXPIRED_AUTHENTICATION"):
        return BadToken(_("HubSpot refused the access token (401); it is wrong, rotated or expired — copy it again from HubSpot › "
                          "Settings › Integrations › Private apps › your app › Access token"), status=resp.status_code, url=url)
    if resp.status_code == 403 or category == "MISSING_SCOPES":
        scopes = [s for e in body.get("errors") or [] for s in ((e.get("context") or {}).get("requiredGranularScopes") or [])]
        need = ", ".join(scopes) or _("the read scope of this object")
        return MissingScope(_("HubSpot: the private app may not read {path} (missing scope: {need}); add it in Private apps › "
                              "your app › Scopes and copy the token again").format(path=_path(url), need=need),
                            status=resp.status_code, url=url)
    if resp.status_code == 400 and category == "VALIDATION_ERROR":
        return ApiResponseError(_("HubSpot rejected the request to {path}: {message}").format(path=_path(url), message=msg[:200]),
                                status=400, url=url)
    return default_classify(resp, "HubSpot")


class HubSpotConnector(Connector):
    crm = "hubspot"
    title = "HubSpot"
    profile_file = "hubspot.yaml"
    #: a public app's OAuth2 token refresh (a private app's token does not expire)
    oauth_refresh = RefreshSpec("https://api.hubapi.com/oauth/v1/token", "form")
    objects = [
        ObjectSpec("account", "reference", "full"),
        ObjectSpec("owners", "reference", "full"),
        ObjectSpec("pipelines", "reference", "full"),
        ObjectSpec("deals_properties", "reference", "full"),
        ObjectSpec("companies_properties", "reference", "full"),
        ObjectSpec("contacts_properties", "reference", "full"),
        ObjectSpec("deals", "incremental", "filter"),
        ObjectSpec("companies", "incremental", "filter"),
        ObjectSpec("contacts", "incremental", "filter"),
        ObjectSpec("tasks", "incremental", "filter"),
    ]
    search_cap = SEARCH_CAP

    def __init__(self, core: HttpCore, account: str, timezone: str | None = None, page_size: int = SEARCH_PAGE):
        super().__init__(core, account, timezone)
        self.page = min(page_size, SEARCH_PAGE)
        self._custom_names: dict[str, list[str]] = {}
        self._last_search = -1e9

    @classmethod
    def build(cls, api, secret, transport=None, clock=None, sleep=None) -> "HubSpotConnector":
        import time

        base = api.base_url.rstrip("/") if api.base_url else API_ROOT
        core = HttpCore(base, {"Authorization": f"Bearer {secret.reveal()}"}, Limits(), crm="HubSpot", classify=classify,
                        transport=transport, clock=clock or time.monotonic, sleep=sleep or time.sleep, probe_host="api.hubapi.com")
        core.limiter = HubSpotLimiter(core.limits, core.limiter.clock, core.limiter._sleep)
        core._client = _SearchClient(core._client)
        return cls(core, base, api.timezone, api.page_size or SEARCH_PAGE)

    # ------------------------------------------------------------------ fetching
    def _list(self, path: str, params: dict) -> Iterator[list]:
        for items, _ in self.core.pages(path, {"limit": PAGE, **params}, Paging.cursor(_results, _after, "after")):
            yield items

    def _custom_properties(self, obj: str) -> list[str]:
        if obj not in self._custom_names:  # normally filled by the properties read earlier in the same sync
            js = self.core.get(f"/crm/v3/properties/{obj}") or {}
            self._custom_names[obj] = [p["name"] for p in _results(js) if not p.get("hubspotDefined")]
        return self._custom_names[obj]

    def _search(self, obj: str, since: str | None) -> Iterator[list]:
        """Every record modified at or after ``since``, oldest first, past the 10,000-result cap.

        At the cap the search starts again from the last modification date read (``GTE``); when every record
        of a search shares that date (a bulk import), those records are read by id (``EQ`` date, ``GT`` id,
        sorted by id), then the search goes on after the date (``GT``)."""
        prop = MODIFIED[obj]
        props = PROPERTIES[obj] + [p for p in self._custom_properties(obj) if p not in PROPERTIES[obj]] if obj in _ENTITY.values() \
            else PROPERTIES[obj]
        frm, op, tie = since, "GTE", None  # tie: (date, last id) while reading the records of one date by id
        while True:
            if tie is not None:
                filters = [_filter(prop, "EQ", _ms(tie[0])), _filter("hs_object_id", "GT", tie[1])]
                sort = "hs_object_id"
            else:
                filters = [_filter(prop, op, _ms(frm))] if frm else []
                sort = prop
            body = {"filterGroups": [{"filters": filters}] if filters else [],
                    "sorts": [{"propertyName": sort, "direction": "ASCENDING"}], "properties": props, "limit": self.page}
            after, last = None, None
            capped = False
            while True:
                self._pace_search()
                js = self.core.get(f"/crm/v3/objects/{obj}/search", {"__search__": body, **({"after": after} if after else {})}) or {}
                items = _results(js)
                if items:
                    last = items[-1]
                    yield items
                after = _after(js)
                if not after:
                    break
                if int(after) + self.page > self.search_cap:
                    capped = True  # the next page would pass the cap
                    break
            if tie is not None:
                if capped:
                    tie = (tie[0], last["id"])
                else:
                    frm, op, tie = tie[0], "GT", None
                continue
            if not capped:
                return
            date = last["properties"].get(prop)
            if date == frm:  # every record up to the cap has this one date: read them by id
                tie = (date, "0")
            else:
                frm, op = date, "GTE"

    def _pace_search(self) -> None:
        now = self.core.limiter.clock()
        wait = self._last_search + SEARCH_INTERVAL - now
        if wait > 0:
            self.core.limiter.sleep(wait)
        self._last_search = self.core.limiter.clock()

    def _associate(self, obj: str, items: list[dict]) -> None:
        """Each record's associations (``_assoc``: {to object: [(id, primary)]}) through the v4 batch read, one request per kind."""
        for to in ASSOCIATIONS.get(obj, ()):
            for r in items:
                r.setdefault("_assoc", {})[to] = []
            if not items:
                continue
            js = self.core.get(f"/crm/v4/associations/{obj}/{to}/batch/read", {"__search__": {"inputs": [{"id": r["id"]} for r in items]}}) or {}
            by_id = {r["id"]: r for r in items}
            for res in _results(js):
                rec = by_id.get(str((res.get("from") or {}).get("id")))
                if rec is None:
                    continue
                rec["_assoc"][to] = [(str(t["toObjectId"]), any(a.get("typeId") == PRIMARY_DEAL_COMPANY for a in t.get("associationTypes") or []))
                                     for t in res.get("to") or []]

    def fetch(self, obj: str, since: str | None) -> Iterator[list[Record]]:
        if obj == "account":
            js = self.core.get("/account-info/v3/details") or {}
            yield [Record("account", None, js)]
            return
        if obj == "owners":
            for archived in ("false", "true"):
                for items in self._list("/crm/v3/owners", {"archived": archived}):
                    yield [Record(str(o["id"]), iso_utc(o.get("updatedAt")), o) for o in items]
            return
        if obj == "pipelines":
            js = self.core.get("/crm/v3/pipelines/deals") or {}
            yield [Record(str(p["id"]), iso_utc(p.get("updatedAt")), p) for p in _results(js)]
            return
        if obj.endswith("_properties"):
            entity = obj.removesuffix("_properties")
            js = self.core.get(f"/crm/v3/properties/{entity}") or {}
            props = _results(js)
            self._custom_names[entity] = [p["name"] for p in props if not p.get("hubspotDefined")]
            yield [Record(p["name"], None, p) for p in props]
            return
        prop = MODIFIED[obj]
        for items in self._search(obj, since):
            self._associate(obj, items)
            yield [Record(str(x["id"]), iso_utc((x.get("properties") or {}).get(prop)) or iso_utc(x.get("updatedAt")), x,
                          bool(x.get("archived"))) for x in items]

    def fetch_deleted(self, obj: str, since: str | None) -> Iterator[list[Record]]:
        for items in self._list(f"/crm/v3/objects/{obj}", {"archived": "true"}):
            yield [Record(str(x["id"]), iso_utc(x.get("archivedAt")) or iso_utc(x.get("updatedAt")), x, True) for x in items]

    def list_ids(self, obj: str) -> Iterator[list[str]]:
        for items in self._list(f"/crm/v3/objects/{obj}", {}):
            yield [str(x["id"]) for x in items]

    # ------------------------------------------------------------------ the audit's tables
    def account_timezone(self, cache: SyncCache) -> str | None:
        return next((a.get("timeZone") for _, a in cache.live("account")), None)

    def _custom(self, cache: SyncCache, entity: str) -> list[tuple[str, str, dict]]:
        """(internal name, unique label, {option value: label}) of an object's custom properties."""
        out, names = [], set()
        for name, p in cache.live(f"{entity}_properties"):
            if p.get("hubspotDefined"):
                continue
            label = (p.get("label") or name).strip()
            label = unique_label(label, names)
            out.append((name, label, {str(o.get("value")): o.get("label") for o in p.get("options") or []}))
        return out

    @staticmethod
    def _cells(props: dict, fields) -> list[str | None]:
        cells = []
        for name, _, opts in fields:
            v = props.get(name)
            if v in (None, ""):
                cells.append(None)
            elif opts:
                cells.append(", ".join(text(opts.get(x, x)) or "" for x in str(v).split(";")) or None)
            else:
                cells.append(text(v))
        return cells

    def tables(self, cache: SyncCache) -> dict[str, Table]:
        tz = self.timezone(cache)
        owners = {i: " ".join(x for x in (o.get("firstName"), o.get("lastName")) if x) or o.get("email") for i, o in cache.live("owners")}
        pipelines, stages = {}, {}
        for pid, p in cache.live("pipelines"):
            pipelines[pid] = p.get("label")
            for s in p.get("stages") or []:
                stages[(pid, str(s["id"]))] = s
        companies = dict(cache.live("companies"))
        contacts = dict(cache.live("contacts"))
        owner = lambda x: owners.get(str(x)) if x else None  # noqa: E731
        cname = lambda i: _prop(companies.get(i), "name")  # noqa: E731
        out: dict[str, Table] = {}
        dcf = self._custom(cache, "deals")
        rows = []
        for i, d in cache.live("deals"):
            if d.get("archived"):
                continue
            p = d.get("properties") or {}
            pid = p.get("pipeline") or ""
            st = stages.get((pid, p.get("dealstage") or "")) or {}
            meta = st.get("metadata") or {}
            status = "open"
            if str(meta.get("isClosed")).lower() == "true":
                status = "won" if _num(meta.get("probability")) == 1.0 else "lost"
            assoc = d.get("_assoc") or {}
            comps = assoc.get("companies") or []
            comp = next((c for c, primary in comps if primary), comps[0][0] if comps else None)
            conts = assoc.get("contacts") or []
            cont = conts[0][0] if conts else None
            rows.append([i, p.get("dealname"), owner(p.get("hubspot_owner_id")), text(p.get("amount")), p.get("deal_currency_code"),
                         comp, cname(comp) if comp else None, cont, _person(contacts.get(cont)) if cont else None,
                         pipelines.get(pid), st.get("label") or p.get("dealstage"), status,
                         p.get("closed_lost_reason") if status == "lost" else None, local_text(p.get("createdate"), tz),
                         local_text(p.get("hs_v2_date_entered_current_stage"), tz), local_text(p.get("hs_lastmodifieddate"), tz),
                         local_text(p.get("closedate"), tz)] + self._cells(p, dcf))
        out["deals"] = Table(["id", "dealname", "owner_name", "amount", "deal_currency_code", "company_id", "company_name", "contact_id",
                              "contact_name", "pipeline_label", "stage_label", "status", "closed_lost_reason", "createdate",
                              "hs_v2_date_entered_current_stage", "hs_lastmodifieddate", "closedate"] + [n for _, n, _ in dcf], rows)
        ccf = self._custom(cache, "companies")
        out["organizations"] = Table(["id", "name", "owner_name"] + [n for _, n, _ in ccf],
                                     [[i, _prop(c, "name"), owner(_prop(c, "hubspot_owner_id"))] + self._cells(c.get("properties") or {}, ccf)
                                      for i, c in companies.items() if not c.get("archived")])
        pcf = self._custom(cache, "contacts")
        prow = []
        for i, c in contacts.items():
            if c.get("archived"):
                continue
            comp = _prop(c, "associatedcompanyid")
            prow.append([i, _person(c), owner(_prop(c, "hubspot_owner_id")), comp, cname(comp) if comp else None]
                        + self._cells(c.get("properties") or {}, pcf))
        out["persons"] = Table(["id", "name", "owner_name", "company_id", "company_name"] + [n for _, n, _ in pcf], prow)
        trows = []
        for i, t in cache.live("tasks"):
            if t.get("archived"):
                continue
            p = t.get("properties") or {}
            due = local_text(p.get("hs_timestamp"), tz)
            deals = ";".join(d for d, _ in ((t.get("_assoc") or {}).get("deals") or [])) or None
            kind = p.get("hs_task_type")
            trows.append([i, p.get("hs_task_subject"), TASK_TYPES.get(kind or "", kind), due[:10] if due else None, due[11:16] if due else None,
                          text(p.get("hs_task_status") == "COMPLETED"), deals, owner(p.get("hubspot_owner_id"))])
        out["activities"] = Table(["id", "hs_task_subject", "task_type", "due_date", "due_time", "done", "deal_ids", "owner_name"], trows)
        return out

    # ------------------------------------------------------------------ check and init
    def check(self) -> CheckResult:
        get = self.core.get
        return self.run_checks([
            (_("token and account (/account-info/v3/details)"), lambda: get("/account-info/v3/details")),
            (_("owners (crm.objects.owners.read)"), lambda: get("/crm/v3/owners", {"limit": 1})),
            (_("deals (crm.objects.deals.read)"), lambda: get("/crm/v3/objects/deals", {"limit": 1})),
            (_("pipelines and stages"), lambda: get("/crm/v3/pipelines/deals")),
            (_("tasks"), lambda: get("/crm/v3/objects/tasks", {"limit": 1})),
            (_("companies (crm.objects.companies.read)"), lambda: get("/crm/v3/objects/companies", {"limit": 1})),
            (_("contacts (crm.objects.contacts.read)"), lambda: get("/crm/v3/objects/contacts", {"limit": 1})),
            (_("deal properties"), lambda: get("/crm/v3/properties/deals"))])

    def init_values(self, cache: SyncCache) -> InitValues:
        pipelines = {}
        for _, p in sorted(cache.live("pipelines"), key=lambda x: (x[1].get("displayOrder") or 0, x[0])):
            sts = sorted((s for s in p.get("stages") or [] if not s.get("archived")), key=lambda s: (s.get("displayOrder") or 0, s["id"]))
            closed = lambda s: str((s.get("metadata") or {}).get("isClosed")).lower() == "true"  # noqa: E731
            pipelines[p.get("label")] = [s.get("label") for s in sts if not closed(s)] + [s.get("label") for s in sts if closed(s)]
        users = [(" ".join(x for x in (o.get("firstName"), o.get("lastName")) if x) or o.get("email"), not o.get("archived"))
                 for _, o in cache.live("owners")]
        fields = [CustomField(ent, p.get("label") or name, name, p.get("type") or "", [o.get("label") for o in p.get("options") or []])
                  for ent, obj in _ENTITY.items() for name, p in cache.live(f"{obj}_properties") if not p.get("hubspotDefined")]
        reasons = sorted({_prop(d, "closed_lost_reason").strip() for _, d in cache.live("deals") if _prop(d, "closed_lost_reason")})
        portal = next((a.get("portalId") for _, a in cache.live("account")), None)
        url = f"https://app.hubspot.com/contacts/{portal or 'PORTAL_ID'}/record/0-3/{{id}}"
        return InitValues(pipelines, users, fields, url, reasons)


def _prop(rec: dict | None, name: str):
    return ((rec or {}).get("properties") or {}).get(name)


def _person(c: dict | None) -> str | None:
    p = (c or {}).get("properties") or {}
    return " ".join(x for x in (p.get("firstname"), p.get("lastname")) if x) or None


def _num(v) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except ValueError:
        return None


def _filter(prop: str, op: str, value) -> dict:
    return {"propertyName": prop, "operator": op, "value": str(value)}


def _ms(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
