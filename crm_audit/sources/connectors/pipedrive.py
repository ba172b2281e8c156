"""Pipedrive: API v2 (deals, activities, organizations, persons, pipelines, stages, fields), v1 for users.

- Auth: an API token in the ``x-api-token`` header (https://api.pipedrive.com),
  or an OAuth2 access token as ``Authorization: Bearer`` against the
  company's own domain (``crm_api: {auth: oauth2, domain: acme.pipedrive.com}``).
- Paging: v2 lists are cursor-paged (``limit`` up to 500,
  ``additional_data.next_cursor``); v1 ``/users`` is one page.
- Incremental: ``updated_since`` (inclusive: "later than or equal to") with
  ``sort_by=update_time&sort_direction=asc``, so the watermark moves page by page.
- Deletions: deals have a filter (``status=deleted``: deleted up to 30 days
  ago; ``/deals/archived``: archived deals leave the audit too); persons,
  organizations and activities have none: a periodic id check.
- Limits: token-based — each endpoint has a cost (``x-token-cost`` in the
  OpenAPI specification: 10 for a v2 list, 5 for pipelines/stages, 20 for v1
  ``/users``) against a daily budget, and a burst limit per 2-second window
  (``x-ratelimit-remaining`` / ``x-ratelimit-reset``); 429 with ``Retry-After``.
- Times: RFC 3339 UTC in v2; shown in the account's time zone (the token
  user's ``timezone_name``) as the export does. An activity's ``due_date`` +
  ``due_time`` are UTC when a time is set.
- Custom fields: ``custom_fields`` keyed by 40-character hashes; names from
  ``/dealFields`` etc.; option labels asked for with ``include_option_labels``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from crm_audit.i18n import _
from crm_audit.sources.cache import Record, SyncCache
from crm_audit.sources.connector import (CheckResult, Connector, CustomField, InitValues, ObjectSpec, Table,
                                         iso_utc, local_text, text, unique_label)
from crm_audit.sources.errors import ApiDisabled, BadToken, MissingScope, SourceError, WrongDomain
from crm_audit.sources.http import HttpCore, Limits, Paging, default_classify, url_path as _path
from crm_audit.sources.oauth import RefreshSpec

API_ROOT = "https://api.pipedrive.com"
PAGE = 500
#: the token cost of each endpoint (x-token-cost in Pipedrive's OpenAPI specifications)
COST = {"v2-list": 10, "archived": 20, "pipelines": 5, "stages": 5, "fields": 10, "users": 20}
FIELD_ENDPOINTS = {"deals": "dealFields", "organizations": "organizationFields", "persons": "personFields"}

#: the activities table (the largest: three a deal) flattened by DuckDB from the cached JSON, no Python per record: an
#: activity's due date + due time are UTC when a time is set (shown in the account's zone, HH:MM), a date alone stays as
#: it is, an unreadable time as sent; update_time in the account's zone; done "true"/"false"; the owner's name
ACTIVITIES_SQL = """
WITH a AS (SELECT id, data::JSON AS j FROM records WHERE object = 'activities' AND NOT deleted AND data IS NOT NULL),
u AS (SELECT id, data::JSON ->> 'name' AS name FROM records WHERE object = 'users' AND NOT deleted AND data IS NOT NULL),
b AS (SELECT a.id, a.j, nullif(j ->> 'due_date', '') AS dd, nullif(j ->> 'due_time', '') AS tm FROM a),
c AS (SELECT *, timezone($tz, try_cast(dd || ' ' || (CASE WHEN length(tm) > 5 THEN tm[1:8] ELSE tm END) || '+00' AS TIMESTAMPTZ)) AS due
      FROM b)
SELECT c.id, j ->> 'subject', j ->> 'type',
       CASE WHEN dd IS NULL THEN NULL WHEN tm IS NULL THEN dd ELSE coalesce(strftime(due, '%Y-%m-%d'), dd) END,
       CASE WHEN dd IS NULL OR tm IS NULL THEN NULL ELSE coalesce(strftime(due, '%H:%M'), tm) END,
       CASE WHEN coalesce(try_cast(j ->> 'done' AS BOOLEAN), false) THEN 'true' ELSE 'false' END,
       nullif(j ->> 'deal_id', ''), u.name,
       strftime(timezone($tz, try_cast(j ->> 'update_time' AS TIMESTAMPTZ)), '%Y-%m-%d %H:%M:%S')
FROM c LEFT JOIN u ON u.id = c.j ->> 'owner_id'
ORDER BY try_cast(c.id AS BIGINT) NULLS LAST, c.id
"""

_items = lambda js: js.get("data") or []  # noqa: E731
_next_cursor = lambda js: (js.get("additional_data") or {}).get("next_cursor")  # noqa: E731


def classify(resp: httpx.Response) -> SourceError | None:
    """Pipedrive's refusals: ``{"success": false, "error": "...", "error_info": "..."}``."""
    url = str(resp.request.url) if resp.request else None
    try:
        body = resp.json()
    except ValueError:
        body = {}
    msg = str(body.get("error") or "") if isinstance(body, dict) else ""
    low = msg.lower()
    if resp.status_code == 401:
        return BadToken(_("Pipedrive refused the API token (401 unauthorized); it is wrong or was regenerated — copy it again from "
                          "Pipedrive › Settings › Personal preferences › API"), status=401, url=url)
    if resp.status_code == 403 and ("api" in low and ("disabled" in low or "access" in low)):
        return ApiDisabled(_("Pipedrive: API access is switched off for this user ({message}); an admin enables it in Settings › "
                             "Company settings › Permission sets › «Use API»").format(message=msg), status=403, url=url)
    if resp.status_code == 403 and ("scope" in low or "permission" in low or "not allowed" in low):
        return MissingScope(_("Pipedrive: the token's user or app may not read {path} ({message}); give the app the "
                              "scope (deals:read, activities:read, contacts:read, users:read) or use an admin's token")
                            .format(path=_path(url), message=msg or "forbidden"), status=403, url=url)
    if resp.status_code == 402:
        return ApiDisabled(_("Pipedrive: the company's subscription is not active (402 payment required)"), status=402, url=url)
    if resp.status_code == 404 and "/api/v2" not in (url or "") and "/v1/" not in (url or ""):
        return WrongDomain(_("{url}: not a Pipedrive API address; check crm_api: domain").format(url=url), status=404, url=url)
    return default_classify(resp, "Pipedrive")


class PipedriveConnector(Connector):
    crm = "pipedrive"
    title = "Pipedrive"
    profile_file = "pipedrive.yaml"
    #: an OAuth2 app's token refresh: oauth.pipedrive.com, the client id and secret as HTTP Basic auth
    oauth_refresh = RefreshSpec("https://oauth.pipedrive.com/oauth/token", "basic")
    objects = [
        ObjectSpec("users", "reference", "full"),
        ObjectSpec("pipelines", "reference", "full"),
        ObjectSpec("stages", "reference", "full"),
        ObjectSpec("dealFields", "reference", "full"),
        ObjectSpec("organizationFields", "reference", "full"),
        ObjectSpec("personFields", "reference", "full"),
        ObjectSpec("deals", "incremental", "filter"),
        ObjectSpec("organizations", "incremental", "id-check"),
        ObjectSpec("persons", "incremental", "id-check"),
        ObjectSpec("activities", "incremental", "id-check"),
    ]

    def __init__(self, core: HttpCore, account: str, timezone: str | None = None, page_size: int = PAGE, company: str | None = None):
        super().__init__(core, account, timezone)
        self.page = min(page_size, PAGE)
        self.company = company  # acme (from acme.pipedrive.com), for deal links

    @classmethod
    def build(cls, api, secret, transport=None, clock=None, sleep=None) -> "PipedriveConnector":
        import time

        domain = (api.domain or "").strip().removeprefix("https://").removeprefix("http://").strip("/")
        if api.base_url:
            base = api.base_url.rstrip("/")
        elif api.auth == "oauth2":
            if not domain:
                from crm_audit.errors import SettingsError

                raise SettingsError(_("crm_api: auth: oauth2 needs the company's domain (crm_api: {{domain: acme.pipedrive.com}}); "
                                      "Pipedrive gives it as api_domain with the access token").format())
            base = f"https://{domain}"
        else:
            base = API_ROOT
        headers = {"Authorization": f"Bearer {secret.reveal()}"} if api.auth == "oauth2" else {"x-api-token": secret.reveal()}
        core = HttpCore(base, headers, Limits(), crm="Pipedrive", classify=classify, transport=transport,
                        clock=clock or time.monotonic, sleep=sleep or time.sleep, probe_host="api.pipedrive.com")
        company = domain.split(".")[0] if domain.endswith("pipedrive.com") else None
        return cls(core, base, api.timezone, api.page_size or PAGE, company)

    # ------------------------------------------------------------------ fetching
    def _v2(self, path: str, params: dict, cost: int) -> Iterator[list]:
        paging = Paging.cursor(_items, _next_cursor)
        for items, _ in self.core.pages(f"/api/v2/{path}", params, paging, cost):
            yield items

    def fetch(self, obj: str, since: str | None) -> Iterator[list[Record]]:
        if obj == "users":
            js = self.core.get("/v1/users", None, COST["users"]) or {}
            yield [Record(str(u["id"]), iso_utc(u.get("modified")), u) for u in (js.get("data") or [])]
            return
        if obj in ("pipelines", "stages"):
            for items in self._v2(obj, {"limit": self.page}, COST[obj]):
                yield [Record(str(x["id"]), iso_utc(x.get("update_time")), x) for x in items]
            return
        if obj.endswith("Fields"):
            for items in self._v2(obj, {"limit": self.page}, COST["fields"]):
                yield [Record(str(x["field_code"]), None, x) for x in items]
            return
        params: dict = {"limit": self.page, "sort_by": "update_time", "sort_direction": "asc"}
        if obj in ("deals", "organizations", "persons"):
            params["include_option_labels"] = "true"
        if since is not None:
            params["updated_since"] = since
        for items in self._v2(obj, params, COST["v2-list"]):
            yield [Record(str(x["id"]), iso_utc(x.get("update_time")), x, bool(x.get("is_deleted"))) for x in items]

    def fetch_deleted(self, obj: str, since: str | None) -> Iterator[list[Record]]:
        if obj != "deals":
            return
        base: dict = {"limit": self.page, "sort_by": "update_time", "sort_direction": "asc"}
        if since is not None:
            base["updated_since"] = since
        for items in self._v2("deals", {**base, "status": "deleted"}, COST["v2-list"]):
            yield [Record(str(x["id"]), iso_utc(x.get("update_time")), x, True) for x in items]
        for items, _ in self.core.pages("/api/v2/deals/archived", base, Paging.cursor(_items, _next_cursor), COST["archived"]):
            yield [Record(str(x["id"]), iso_utc(x.get("update_time")), x, True) for x in items]

    def list_ids(self, obj: str) -> Iterator[list[str]]:
        for items in self._v2(obj, {"limit": self.page, "sort_by": "id"}, COST["v2-list"]):
            yield [str(x["id"]) for x in items]

    # ------------------------------------------------------------------ the audit's tables
    def account_timezone(self, cache: SyncCache) -> str | None:
        users = [u for _, u in cache.live("users")]
        me = next((u for u in users if u.get("is_you")), users[0] if users else None)
        return (me or {}).get("timezone_name")

    def _custom(self, cache: SyncCache, entity: str) -> list[tuple[str, str, str, dict]]:
        """(field_code, unique name, type, {option id: label}) of an entity's custom fields, in the CRM's order."""
        out, names = [], set()
        for code, f in cache.live(FIELD_ENDPOINTS[entity]):
            if not f.get("is_custom_field"):
                continue
            name = (f.get("field_name") or code).strip()
            name = unique_label(name, names)
            opts = {str(o.get("id")): o.get("label") for o in (f.get("options") or [])}
            out.append((code, name, f.get("field_type") or "", opts))
        return out

    @staticmethod
    def _value(v, ftype: str, opts: dict, users: dict) -> str | None:
        if v is None:
            return None
        if isinstance(v, dict):
            if "label" in v:
                return text(v.get("label"))
            if ftype in ("enum",) and "id" in v:
                return text(opts.get(str(v["id"]), v["id"]))
            return text(v.get("value") if "value" in v else v.get("name"))
        if isinstance(v, list):
            labels = [PipedriveConnector._value(x, "enum" if ftype == "set" else ftype, opts, users) for x in v]
            return ", ".join(x for x in labels if x) or None
        if ftype in ("enum", "set"):
            return ", ".join(text(opts.get(p.strip(), p.strip())) or "" for p in str(v).split(",")) or None
        if ftype == "user":
            return text(users.get(str(v), (v, None))[0])
        return text(v)

    def tables(self, cache: SyncCache) -> dict[str, Table]:
        tz = self.timezone(cache)
        users = {i: (u.get("name"), bool(u.get("active_flag", True))) for i, u in cache.live("users")}
        pipelines = {i: p.get("name") for i, p in cache.live("pipelines")}
        stages = {i: s for i, s in cache.live("stages")}
        orgs = {i: o for i, o in cache.live("organizations")}
        persons = {i: p for i, p in cache.live("persons")}
        owner = lambda x: users.get(str(x), (None, None))[0] if x is not None else None  # noqa: E731

        def custom_cells(rec: dict, fields) -> list:
            cf = rec.get("custom_fields") or {}
            return [self._value(cf.get(code), ftype, opts, users) for code, _, ftype, opts in fields]

        out: dict[str, Table] = {}
        dcf = self._custom(cache, "deals")
        rows = []
        for i, d in cache.live("deals"):
            if d.get("is_archived") or d.get("status") == "deleted":
                continue
            st = stages.get(str(d.get("stage_id"))) or {}
            pid = d.get("pipeline_id") or st.get("pipeline_id")
            oid, pid_ = d.get("org_id"), d.get("person_id")
            u = users.get(str(d.get("owner_id")))
            rows.append([i, d.get("title"), owner(d.get("owner_id")), None if u is None else text(u[1]), text(d.get("value")),
                         d.get("currency"), text(oid), (orgs.get(str(oid)) or {}).get("name") if oid else None,
                         text(pid_), (persons.get(str(pid_)) or {}).get("name") if pid_ else None,
                         pipelines.get(str(pid)), st.get("name"), d.get("status"), d.get("lost_reason"),
                         local_text(d.get("add_time"), tz), local_text(d.get("stage_change_time"), tz),
                         local_text(d.get("update_time"), tz), local_text(d.get("won_time"), tz),
                         local_text(d.get("lost_time"), tz), d.get("expected_close_date")] + custom_cells(d, dcf))
        out["deals"] = Table(["id", "title", "owner_name", "owner_active", "value", "currency", "org_id", "org_name", "person_id",
                              "person_name", "pipeline_name", "stage_name", "status", "lost_reason", "add_time", "stage_change_time",
                              "update_time", "won_time", "lost_time", "expected_close_date"] + [n for _, n, _, _ in dcf], rows)
        ocf = self._custom(cache, "organizations")
        out["organizations"] = Table(["id", "name", "owner_name"] + [n for _, n, _, _ in ocf],
                                     [[i, o.get("name"), owner(o.get("owner_id"))] + custom_cells(o, ocf) for i, o in orgs.items()])
        pcf = self._custom(cache, "persons")
        out["persons"] = Table(["id", "name", "owner_name", "org_id", "org_name"] + [n for _, n, _, _ in pcf],
                               [[i, p.get("name"), owner(p.get("owner_id")), text(p.get("org_id")),
                                 (orgs.get(str(p.get("org_id"))) or {}).get("name") if p.get("org_id") else None] + custom_cells(p, pcf)
                                for i, p in persons.items()])
        out["activities"] = Table(["id", "subject", "type", "due_date", "due_time", "done", "deal_id", "owner_name", "update_time"], [],
                                  cache.flatten(ACTIVITIES_SQL, tz.key))
        return out

    # ------------------------------------------------------------------ check and init
    def check(self) -> CheckResult:
        get = self.core.get
        return self.run_checks([
            (_("token and users (v1 /users)"), lambda: get("/v1/users", None, COST["users"])),
            (_("deals (deals:read)"), lambda: get("/api/v2/deals", {"limit": 1}, COST["v2-list"])),
            (_("pipelines and stages"), lambda: get("/api/v2/stages", {"limit": 1}, COST["stages"])),
            (_("activities (activities:read)"), lambda: get("/api/v2/activities", {"limit": 1}, COST["v2-list"])),
            (_("organizations and persons (contacts:read)"), lambda: get("/api/v2/persons", {"limit": 1}, COST["v2-list"])),
            (_("custom fields"), lambda: get("/api/v2/dealFields", {"limit": 1}, COST["fields"]))])

    def init_values(self, cache: SyncCache) -> InitValues:
        pipes = sorted(((p.get("order_nr") or 0, int(i), p.get("name")) for i, p in cache.live("pipelines")))
        stages = [s for _, s in cache.live("stages")]
        pipelines = {}
        for _, pid, name in pipes:
            own = sorted((s for s in stages if s.get("pipeline_id") == pid), key=lambda s: (s.get("order_nr") or 0, s.get("id")))
            pipelines[name] = [s.get("name") for s in own]
        users = [(u.get("name"), bool(u.get("active_flag", True))) for _, u in cache.live("users")]
        fields = []
        for entity, ep in FIELD_ENDPOINTS.items():
            for code, f in cache.live(ep):
                if f.get("is_custom_field"):
                    fields.append(CustomField(entity, f.get("field_name") or code, code, f.get("field_type") or "",
                                              [o.get("label") for o in (f.get("options") or [])]))
        reasons = sorted({d.get("lost_reason").strip() for _, d in cache.live("deals") if d.get("lost_reason")})
        url = f"https://{self.company}.pipedrive.com/deal/{{id}}" if self.company else "https://example.pipedrive.com/deal/{id}"
        return InitValues(pipelines, users, fields, url, reasons)
