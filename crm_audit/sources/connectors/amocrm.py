"""amoCRM / Kommo: API v4 (leads, tasks, companies, contacts, pipelines with statuses, users, events).

- Auth: a long-lived token (or an OAuth2 access token) as ``Authorization: Bearer``
  against the account's own address (``crm_api: {domain: acme.amocrm.ru}``; Kommo:
  ``acme.kommo.com``).
- Paging: page numbers (``page``, ``limit`` up to 250) with ``_links.next`` while
  there are more; an empty list is HTTP 204 with no body.
- Incremental: ``filter[updated_at][from]`` (unix seconds, inclusive) with
  ``order[updated_at]=asc``; times are unix timestamps.
- Deletions: the events API lists ``lead_deleted`` / ``company_deleted`` /
  ``contact_deleted``; tasks have no such filter: a periodic id check.
- Stage changes: ``lead_status_changed`` events (the latest one per lead is
  the date the deal entered its stage; none: its creation date).
- Won / lost: statuses 142 («Успешно реализовано») and 143 («Закрыто и не
  реализовано») in every pipeline.
- Limits: 7 requests per second per account (a 429 past it; repeated
  excess gets the IP blocked, so the client keeps below it by itself, at 6.5/s).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx

from crm_audit.i18n import _
from crm_audit.sources.cache import Record, SyncCache
from crm_audit.sources.connector import (CheckResult, Connector, CustomField, InitValues, ObjectSpec, Table,
                                         iso_utc, local_text, text, unique_label)
from crm_audit.sources.errors import ApiDisabled, BadToken, MissingScope, SourceError, WrongDomain
from crm_audit.sources.http import HttpCore, Limits, Paging, default_classify, url_path as _path
from crm_audit.sources.oauth import RefreshSpec

PAGE = 250
WON, LOST = 142, 143
DELETE_EVENTS = {"leads": "lead_deleted", "companies": "company_deleted", "contacts": "contact_deleted"}
TASK_TYPES = {1: "Звонок", 2: "Встреча", 3: "Написать письмо"}


def _items(kind: str):
    return lambda js: ((js or {}).get("_embedded") or {}).get(kind) or []


def _has_next(js) -> bool:
    return bool(((js or {}).get("_links") or {}).get("next"))


def _ts(v) -> str | None:
    return iso_utc(v) if isinstance(v, (int, float)) and v else None


def classify(resp: httpx.Response) -> SourceError | None:
    url = str(resp.request.url) if resp.request else None
    try:
        body = resp.json()
    except ValueError:
        body = {}
    detail = str((body or {}).get("detail") or (body or {}).get("title") or "") if isinstance(body, dict) else ""
    if resp.status_code == 401:
        return BadToken(_("amoCRM refused the token (401 {detail}); a long-lived token is shown once when created in "
                          "amoCRM › Settings › Integrations › your private integration › Keys and scopes — create a new one")
                        .format(detail=detail or "Unauthorized"), status=401, url=url)
    if resp.status_code == 402:
        return ApiDisabled(_("amoCRM: the account's subscription has ended (402 Payment Required); the API is off until it is paid"),
                           status=402, url=url)
    if resp.status_code == 403:
        return MissingScope(_("amoCRM refused {path} (403 {detail}); the token's user lacks the right to see it — "
                              "give the user access to all deals, tasks and contacts, or use an administrator's token")
                            .format(path=_path(url), detail=detail or "Forbidden"), status=403, url=url)
    if resp.status_code == 404 and _path(url).startswith("/api/v4/account"):
        return WrongDomain(_("{url}: no amoCRM account answers at this address; check crm_api: domain (acme.amocrm.ru or acme.kommo.com)")
                           .format(url=url),
                           status=404, url=url)
    return default_classify(resp, "amoCRM")


class AmoCrmConnector(Connector):
    crm = "amocrm"
    title = "amoCRM"
    profile_file = "amocrm.yaml"
    #: an OAuth2 integration's token refresh: the account's own /oauth2/access_token, a JSON body (redirect_uri from the token file)
    oauth_refresh = RefreshSpec("https://{domain}/oauth2/access_token", "json")
    objects = [
        ObjectSpec("account", "reference", "full"),
        ObjectSpec("users", "reference", "full"),
        ObjectSpec("pipelines", "reference", "full"),
        ObjectSpec("loss_reasons", "reference", "full"),
        ObjectSpec("leads_fields", "reference", "full"),
        ObjectSpec("companies_fields", "reference", "full"),
        ObjectSpec("contacts_fields", "reference", "full"),
        ObjectSpec("leads", "incremental", "filter"),
        ObjectSpec("companies", "incremental", "filter"),
        ObjectSpec("contacts", "incremental", "filter"),
        ObjectSpec("tasks", "incremental", "id-check"),
        ObjectSpec("events", "incremental", "none", ordered=False),
    ]

    def __init__(self, core: HttpCore, account: str, timezone: str | None = None, page_size: int = PAGE, domain: str | None = None):
        super().__init__(core, account, timezone)
        self.page = min(page_size, PAGE)
        self.domain = domain

    @classmethod
    def build(cls, api, secret, transport=None, clock=None, sleep=None) -> "AmoCrmConnector":
        import time

        from crm_audit.errors import SettingsError

        domain = (api.domain or "").strip().removeprefix("https://").removeprefix("http://").strip("/")
        if not api.base_url and not domain:
            raise SettingsError(_("crm_api: amoCRM needs the account's address: crm_api: {{domain: acme.amocrm.ru}} (Kommo: acme.kommo.com)")
                                .format())
        if domain and "." not in domain:
            domain += ".amocrm.ru"
        base = api.base_url.rstrip("/") if api.base_url else f"https://{domain}"
        core = HttpCore(base, {"Authorization": f"Bearer {secret.reveal()}"}, Limits(rps=6.5), crm="amoCRM", classify=classify,
                        transport=transport, clock=clock or time.monotonic, sleep=sleep or time.sleep,
                        probe_host="www.kommo.com" if domain.endswith("kommo.com") else "www.amocrm.ru")
        return cls(core, base, api.timezone, api.page_size or PAGE, domain or None)

    # ------------------------------------------------------------------ fetching
    def _list(self, path: str, kind: str, params: dict) -> Iterator[list]:
        paging = Paging.page_number(_items(kind), self.page, has_next=_has_next)
        for items, _ in self.core.pages(path, {"limit": self.page, **params}, paging):
            yield items

    def fetch(self, obj: str, since: str | None) -> Iterator[list[Record]]:
        if obj == "account":
            js = self.core.get("/api/v4/account", {"with": "task_types"}) or {}
            yield [Record("account", None, js)]
            return
        if obj == "users":
            for items in self._list("/api/v4/users", "users", {}):
                yield [Record(str(u["id"]), None, u) for u in items]
            return
        if obj == "pipelines":
            for items in self._list("/api/v4/leads/pipelines", "pipelines", {}):
                yield [Record(str(p["id"]), None, p) for p in items]
            return
        if obj == "loss_reasons":
            for items in self._list("/api/v4/leads/loss_reasons", "loss_reasons", {}):
                yield [Record(str(p["id"]), None, p) for p in items]
            return
        if obj.endswith("_fields"):
            entity = obj.removesuffix("_fields")
            for items in self._list(f"/api/v4/{entity}/custom_fields", "custom_fields", {}):
                yield [Record(str(f["id"]), None, f) for f in items]
            return
        if obj == "events":
            params = {"filter[type]": "lead_status_changed"}
            if since is not None:
                params["filter[created_at][from]"] = _unix(since)
            for items in self._list("/api/v4/events", "events", params):
                yield [Record(str(e["id"]), _ts(e.get("created_at")), e) for e in items]
            return
        params = {"order[updated_at]": "asc"}
        if obj in ("leads", "contacts"):
            params["with"] = "contacts,loss_reason" if obj == "leads" else "companies"
        if since is not None:
            params["filter[updated_at][from]"] = _unix(since)
        for items in self._list(f"/api/v4/{obj}", obj, params):
            yield [Record(str(x["id"]), _ts(x.get("updated_at")), x, bool(x.get("is_deleted"))) for x in items]

    def fetch_deleted(self, obj: str, since: str | None) -> Iterator[list[Record]]:
        if obj not in DELETE_EVENTS:
            return
        params = {"filter[type]": DELETE_EVENTS[obj]}
        if since is not None:
            params["filter[created_at][from]"] = _unix(since)
        for items in self._list("/api/v4/events", "events", params):
            yield [Record(str(e["entity_id"]), None, None, True) for e in items]

    def list_ids(self, obj: str) -> Iterator[list[str]]:
        for items in self._list(f"/api/v4/{obj}", obj, {}):
            yield [str(x["id"]) for x in items]

    # ------------------------------------------------------------------ the audit's tables
    def account_timezone(self, cache: SyncCache) -> str | None:
        return next((a.get("timezone") for _, a in cache.live("account")), None)

    def _custom(self, cache: SyncCache, entity: str) -> list[tuple[str, str]]:
        out, names = [], set()
        for i, f in cache.live(f"{entity}_fields"):
            name = (f.get("name") or i).strip()
            name = unique_label(name, names)
            out.append((i, name))
        return out

    @staticmethod
    def _cf(rec: dict, fields: list[tuple[str, str]]) -> list[str | None]:
        by_id = {str(v.get("field_id")): v for v in (rec.get("custom_fields_values") or [])}
        cells = []
        for fid, _ in fields:
            v = by_id.get(fid)
            vals = [text(x.get("value")) for x in (v or {}).get("values") or []]
            cells.append(", ".join(x for x in vals if x) or None)
        return cells

    def tables(self, cache: SyncCache) -> dict[str, Table]:
        tz = self.timezone(cache)
        users = {i: u.get("name") for i, u in cache.live("users")}
        statuses, pipelines = {}, {}
        for i, p in cache.live("pipelines"):
            pipelines[i] = p.get("name")
            for s in ((p.get("_embedded") or {}).get("statuses") or []):
                statuses[(i, str(s["id"]))] = s.get("name")
        reasons = {i: r.get("name") for i, r in cache.live("loss_reasons")}
        companies = dict(cache.live("companies"))
        contacts = dict(cache.live("contacts"))
        entered: dict[str, str] = {}
        for _, e in cache.live("events"):
            t = _ts(e.get("created_at"))
            lid = str(e.get("entity_id"))
            if t and (lid not in entered or t > entered[lid]):
                entered[lid] = t
        user = lambda x: users.get(str(x)) if x else None  # noqa: E731
        out: dict[str, Table] = {}
        lcf = self._custom(cache, "leads")
        rows = []
        for i, d in cache.live("leads"):
            emb = d.get("_embedded") or {}
            comp = next((c.get("id") for c in emb.get("companies") or []), None)
            conts = emb.get("contacts") or []
            main = next((c.get("id") for c in conts if c.get("is_main")), conts[0].get("id") if conts else None)
            sid, pid = d.get("status_id"), str(d.get("pipeline_id"))
            status = "won" if sid == WON else "lost" if sid == LOST else "open"
            reason = next((r.get("name") for r in emb.get("loss_reason") or []), None) or reasons.get(str(d.get("loss_reason_id")))
            rows.append([i, d.get("name"), user(d.get("responsible_user_id")), text(d.get("price")), pipelines.get(pid),
                         statuses.get((pid, str(sid))), status, reason if status == "lost" else None,
                         text(comp), (companies.get(str(comp)) or {}).get("name") if comp else None,
                         text(main), (contacts.get(str(main)) or {}).get("name") if main else None,
                         local_text(d.get("created_at"), tz), local_text(entered.get(i), tz), local_text(d.get("updated_at"), tz),
                         local_text(d.get("closed_at"), tz)] + self._cf(d, lcf))
        out["deals"] = Table(["id", "name", "responsible_user", "price", "pipeline", "status", "status_code", "loss_reason", "company_id",
                              "company_name", "contact_id", "contact_name", "created_at", "status_changed_at", "updated_at", "closed_at"]
                             + [n for _, n in lcf], rows)
        ccf = self._custom(cache, "companies")
        out["organizations"] = Table(["id", "name", "responsible_user"] + [n for _, n in ccf],
                                     [[i, c.get("name"), user(c.get("responsible_user_id"))] + self._cf(c, ccf) for i, c in companies.items()])
        pcf = self._custom(cache, "contacts")
        prow = []
        for i, c in contacts.items():
            comp = next((x.get("id") for x in ((c.get("_embedded") or {}).get("companies") or [])), None)
            prow.append([i, c.get("name"), user(c.get("responsible_user_id")), text(comp),
                         (companies.get(str(comp)) or {}).get("name") if comp else None] + self._cf(c, pcf))
        out["persons"] = Table(["id", "name", "responsible_user", "company_id", "company_name"] + [n for _, n in pcf], prow)
        types = dict(TASK_TYPES)
        for _, a in cache.live("account"):
            for t in ((a.get("_embedded") or {}).get("task_types") or []):
                types[t.get("id")] = t.get("name")
        trows = []
        for i, t in cache.live("tasks"):
            due = local_text(t.get("complete_till"), tz)
            trows.append([i, t.get("text"), types.get(t.get("task_type_id"), text(t.get("task_type_id"))), due[:10] if due else None,
                          due[11:16] if due else None, text(bool(t.get("is_completed"))),
                          text(t.get("entity_id")) if t.get("entity_type") == "leads" else None, user(t.get("responsible_user_id"))])
        out["activities"] = Table(["id", "text", "task_type", "due_date", "due_time", "is_completed", "lead_id", "responsible_user"], trows)
        return out

    # ------------------------------------------------------------------ check and init
    def check(self) -> CheckResult:
        probes = [(_("token and account (/api/v4/account)"), "/api/v4/account"), (_("users"), "/api/v4/users"),
                  (_("deals (leads)"), "/api/v4/leads"), (_("pipelines and statuses"), "/api/v4/leads/pipelines"),
                  (_("tasks"), "/api/v4/tasks"), (_("companies"), "/api/v4/companies"), (_("contacts"), "/api/v4/contacts"),
                  (_("events (stage changes)"), "/api/v4/events")]
        return self.run_checks([(what, lambda p=path: self.core.get(p, {"limit": 1} if p != "/api/v4/account" else None))
                                for what, path in probes])

    def init_values(self, cache: SyncCache) -> InitValues:
        pipelines = {}
        for _, p in sorted(cache.live("pipelines"), key=lambda x: (x[1].get("sort") or 0, int(x[0]))):
            sts = sorted(((p.get("_embedded") or {}).get("statuses") or []), key=lambda s: (s.get("sort") or 0, s["id"]))
            body = [s.get("name") for s in sts if s["id"] not in (WON, LOST) and s.get("type") != 1]  # type 1: «Неразобранное»
            ends = [s.get("name") for sid in (WON, LOST) for s in sts if s["id"] == sid]
            pipelines[p.get("name")] = body + ends
        users = [(u.get("name"), bool((u.get("rights") or {}).get("is_active", True))) for _, u in cache.live("users")]
        fields = [CustomField(ent, f.get("name"), i, f.get("type") or "", [e.get("value") for e in f.get("enums") or []])
                  for ent, key in (("deals", "leads"), ("organizations", "companies"), ("persons", "contacts"))
                  for i, f in cache.live(f"{key}_fields")]
        reasons = sorted({r.get("name") for _, r in cache.live("loss_reasons") if r.get("name")})
        url = f"https://{self.domain}/leads/detail/{{id}}" if self.domain else "https://example.amocrm.ru/leads/detail/{id}"
        return InitValues(pipelines, users, fields, url, reasons)


def _unix(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())
