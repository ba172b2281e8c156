"""Bitrix24: REST through an incoming webhook (crm.deal.list, crm.activity.list, companies, contacts, categories, statuses, users).

- Auth: the incoming webhook's URL is the credential
  (``https://acme.bitrix24.ru/rest/1/<code>/``, from the environment variable
  ``BITRIX24_WEBHOOK`` or a file); ``crm_api: base_url`` replaces its scheme and
  host (a proxy, the tests). It is never printed: messages name the portal only.
- Paging: ``start`` offsets, 50 a page (fixed), ``next`` and ``total`` in the
  answer; after the first page the rest come up to 50 pages to one ``batch``
  call (POST, ``cmd`` = the list method with each page's ``start``): 2,500
  records a request instead of 50, one request against the leaky bucket.
- Incremental: ``filter[>=DATE_MODIFY]`` (activities ``LAST_UPDATED``), inclusive,
  ``order[DATE_MODIFY]=ASC``; times are ISO with the portal's offset.
- Deletions: the lists have no deleted filter: a periodic id check.
- Stages: ``crm.category.list`` (entityTypeId 2) for the pipelines,
  ``crm.status.list`` with ``ENTITY_ID`` ``DEAL_STAGE`` / ``DEAL_STAGE_<id>`` for
  their stages (``SORT``, ``SEMANTICS`` S won / F lost); a deal's
  ``STAGE_SEMANTIC_ID`` (P/S/F) is its status; the date it entered its stage
  from ``crm.stagehistory.list`` (entityTypeId 2: a row per move, read
  incrementally by ``CREATED_TIME``): the latest entry into its current stage;
  ``MOVED_TIME`` where the history has none.
- Users: ``user.get`` (``ACTIVE`` false: deactivated).
- Limits: a leaky bucket of 2 requests per second (50 in a burst); past it
  ``QUERY_LIMIT_EXCEEDED`` (HTTP 503), retried with backoff by the core; the
  client keeps to 1.8/s itself (arrivals bunch on a busy network).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import httpx

from crm_audit.i18n import _
from crm_audit.sources.cache import Record, SyncCache
from crm_audit.sources.connector import (CheckResult, Connector, CustomField, InitValues, ObjectSpec, Table,
                                         iso_utc, local_text, text, unique_label)
from crm_audit.sources.errors import ApiDisabled, ApiResponseError, BadToken, MissingScope, SourceError, WrongDomain
from crm_audit.sources.http import HttpCore, Limits, default_classify, url_path as _path
from crm_audit.sources.oauth import RefreshSpec

PAGE = 50  # fixed by Bitrix24
BATCH = 50  # commands in one `batch` call (Bitrix24's maximum)
LISTS = {"deals": ("crm.deal.list", "DATE_MODIFY"), "companies": ("crm.company.list", "DATE_MODIFY"),
         "contacts": ("crm.contact.list", "DATE_MODIFY"), "activities": ("crm.activity.list", "LAST_UPDATED")}
FIELDS = {"deals_fields": "crm.deal.fields", "companies_fields": "crm.company.fields", "contacts_fields": "crm.contact.fields"}
ACTIVITY_TYPES = {"1": "Встреча", "2": "Звонок", "3": "Задача", "4": "Письмо", "6": "Дело"}
_ENTITY = {"deals": "deals", "organizations": "companies", "persons": "contacts"}

_result = lambda js: _items((js or {}).get("result"))  # noqa: E731


def _items(result) -> list:
    """A list method's records: the result itself, or its ``items`` (crm.item.list, crm.stagehistory.list)."""
    if isinstance(result, dict):
        return result.get("items") or []
    return result or []


def classify(resp: httpx.Response) -> SourceError | None:
    """Bitrix24's refusals: ``{"error": "...", "error_description": "..."}``."""
    url = str(resp.request.url) if resp.request else None
    host = urlsplit(url).netloc if url else "?"
    try:
        body = resp.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    err, desc = str(body.get("error") or ""), str(body.get("error_description") or "")
    if err in ("INVALID_CREDENTIALS", "expired_token", "invalid_token", "NO_AUTH_FOUND") or resp.status_code == 401 and err != "insufficient_scope":
        return BadToken(_("Bitrix24 ({host}) refused the webhook ({error}); it was deleted or its code is wrong — "
                          "create an incoming webhook in Разработчикам › Другое › Входящий вебхук and copy its URL again")
                        .format(host=host, error=err or resp.status_code), status=resp.status_code, url=None)
    if err in ("insufficient_scope", "ACCESS_DENIED") or resp.status_code == 403:
        method = _path(url).rsplit("/", 1)[-1].removesuffix(".json")
        return MissingScope(_("Bitrix24 ({host}): the webhook may not call {method} ({error}); give it the «CRM (crm)» "
                              "and «Пользователи (user)» rights, or a user who sees every deal")
                            .format(host=host, method=method, error=f"{err}: {desc[:120]}"), status=resp.status_code, url=None)
    if err in ("PAYMENT_REQUIRED", "ACCOUNT_NOT_FOUND_OR_BLOCKED") or resp.status_code == 402:
        return ApiDisabled(_("Bitrix24 ({host}): REST is not available on this portal ({error}); check the plan")
                           .format(host=host, error=err or 402), status=resp.status_code, url=None)
    if resp.status_code == 404 and err in ("", "ERROR_METHOD_NOT_FOUND", "NOT_FOUND"):
        return WrongDomain(_("{host}: no Bitrix24 REST answers here ({error}); check the webhook URL "
                             "(https://<portal>.bitrix24.ru/rest/<user>/<code>/)").format(host=host, error=err or 404),
                           status=404, url=None)
    return default_classify(resp, "Bitrix24")


class Bitrix24Connector(Connector):
    crm = "bitrix24"
    title = "Битрикс24"
    profile_file = "bitrix24.yaml"
    #: a local or market application's OAuth2 token refresh: oauth.bitrix.info, a GET with everything in the query
    oauth_refresh = RefreshSpec("https://oauth.bitrix.info/oauth/token/", "query", apply="param")
    objects = [
        ObjectSpec("users", "reference", "full"),
        ObjectSpec("categories", "reference", "full"),
        ObjectSpec("stages", "reference", "full"),
        ObjectSpec("deals_fields", "reference", "full"),
        ObjectSpec("companies_fields", "reference", "full"),
        ObjectSpec("contacts_fields", "reference", "full"),
        ObjectSpec("deals", "incremental", "id-check"),
        ObjectSpec("companies", "incremental", "id-check"),
        ObjectSpec("contacts", "incremental", "id-check"),
        ObjectSpec("activities", "incremental", "id-check"),
        ObjectSpec("stage_history", "incremental", "none"),  # rows never change; a deleted deal's rows no longer matter
    ]

    def __init__(self, core: HttpCore, account: str, timezone: str | None = None, portal: str | None = None, batch: int = BATCH):
        super().__init__(core, account, timezone)
        self.portal = portal
        self.batch = batch

    @classmethod
    def build(cls, api, secret, transport=None, clock=None, sleep=None) -> "Bitrix24Connector":
        import time

        from crm_audit.errors import SettingsError

        if api.auth == "oauth2":  # an application's access token, sent as the `auth` parameter to https://<portal>/rest/
            portal = (api.domain or "").strip().removeprefix("https://").removeprefix("http://").strip("/")
            if not portal and not api.base_url:
                raise SettingsError(_("crm_api: auth: oauth2 needs the portal's address: crm_api: {{domain: acme.bitrix24.ru}}").format())
            root = api.base_url.rstrip("/") if api.base_url else f"https://{portal}"
            core = HttpCore(root + "/rest", {}, Limits(rps=1.8), crm="Bitrix24", classify=classify, transport=transport,
                            clock=clock or time.monotonic, sleep=sleep or time.sleep, probe_host="www.bitrix24.ru")
            core.set_auth(params={"auth": secret.reveal()})
            return cls(core, f"https://{portal or urlsplit(root).netloc}", api.timezone, portal or None)
        hook = secret.reveal().strip()
        parts = urlsplit(hook if "://" in hook else f"https://{hook}")
        if not parts.netloc or "/rest/" not in parts.path + "/":
            raise SettingsError(_("crm_api: the Bitrix24 webhook must be its whole URL, https://<portal>.bitrix24.ru/rest/<user>/<code>/ "
                                  "(Разработчикам › Другое › Входящий вебхук)"))
        from crm_audit.sources import credentials

        code = parts.path.rstrip("/").rsplit("/", 1)[-1]
        if len(code) >= 6:  # the webhook's code is its secret: masked in every message, like a token
            credentials._registry.append(code)
        root = api.base_url.rstrip("/") if api.base_url else f"{parts.scheme}://{parts.netloc}"
        core = HttpCore(root + parts.path.rstrip("/"), {}, Limits(rps=1.8), crm="Bitrix24", classify=classify, transport=transport,
                        clock=clock or time.monotonic, sleep=sleep or time.sleep, probe_host="www.bitrix24.ru")
        return cls(core, f"https://{parts.netloc}", api.timezone, parts.netloc)

    # ------------------------------------------------------------------ fetching
    def _list(self, method: str, params: dict) -> Iterator[list]:
        """Every page of a list method: the first one alone (it says how many there are), the rest by ``batch``."""
        js = self.core.get(f"{method}.json", {**params, "start": 0}) or {}
        yield _result(js)
        nxt, total = js.get("next"), int(js.get("total") or 0)
        while nxt is not None:
            starts = list(range(int(nxt), max(total, int(nxt) + 1), PAGE))[:self.batch]
            cmd = {f"p{s}": f"{method}?{urlencode({**params, 'start': s})}" for s in starts}
            res = (self.core.get("batch.json", body={"halt": 1, "cmd": cmd}) or {}).get("result") or {}
            errors = res.get("result_error") or {}
            if errors:
                raise _batch_error(method, next(iter(errors.values())))
            for key in cmd:
                yield _items((res.get("result") or {}).get(key))
            last = f"p{starts[-1]}"
            nxt = (res.get("result_next") or {}).get(last)  # records added while paging: go on
            total = int((res.get("result_total") or {}).get(last) or total)

    def fetch(self, obj: str, since: str | None) -> Iterator[list[Record]]:
        if obj == "users":
            for items in self._list("user.get", {}):
                yield [Record(str(u["ID"]), None, u) for u in items]
            return
        if obj == "categories":
            js = self.core.get("crm.category.list.json", {"entityTypeId": 2}) or {}
            yield [Record(str(c["id"]), None, c) for c in ((js.get("result") or {}).get("categories") or [])]
            return
        if obj == "stages":
            cats = ["0"] + [str(c["id"]) for page in self.fetch("categories", None) for c in (r.data for r in page) if str(c["id"]) != "0"]
            for cid in cats:
                entity = "DEAL_STAGE" if cid == "0" else f"DEAL_STAGE_{cid}"
                for items in self._list("crm.status.list", {"filter[ENTITY_ID]": entity, "order[SORT]": "ASC"}):
                    yield [Record(f"{entity}:{s['STATUS_ID']}", None, {**s, "CATEGORY_ID": cid}) for s in items]
            return
        if obj in FIELDS:
            js = self.core.get(f"{FIELDS[obj]}.json") or {}
            yield [Record(k, None, {"FIELD": k, **v}) for k, v in (js.get("result") or {}).items() if k.startswith("UF_")]
            return
        if obj == "stage_history":
            params = {"entityTypeId": 2, "order[CREATED_TIME]": "ASC", "order[ID]": "ASC"}
            if since is not None:
                params["filter[>=CREATED_TIME]"] = since
            for items in self._list("crm.stagehistory.list", params):
                yield [Record(str(h["ID"]), iso_utc(h.get("CREATED_TIME")), h) for h in items]
            return
        method, mod = LISTS[obj]
        params: dict = {f"order[{mod}]": "ASC", "order[ID]": "ASC", "select[0]": "*", "select[1]": "UF_*"}
        if obj == "activities":
            params["filter[OWNER_TYPE_ID]"] = 2  # deals' activities
        if since is not None:
            params[f"filter[>={mod}]"] = since
        for items in self._list(method, params):
            yield [Record(str(x["ID"]), iso_utc(x.get(mod)), x) for x in items]

    def list_ids(self, obj: str) -> Iterator[list[str]]:
        method, _ = LISTS[obj]
        params: dict = {"order[ID]": "ASC", "select[0]": "ID"}
        if obj == "activities":
            params["filter[OWNER_TYPE_ID]"] = 2
        for items in self._list(method, params):
            yield [str(x["ID"]) for x in items]

    # ------------------------------------------------------------------ the audit's tables
    def _custom(self, cache: SyncCache, entity: str) -> list[tuple[str, str, dict]]:
        out, names = [], set()
        for key, f in cache.live(f"{entity}_fields"):
            label = (f.get("listLabel") or f.get("formLabel") or f.get("title") or key).strip()
            label = unique_label(label, names)
            out.append((key, label, {str(i.get("ID")): i.get("VALUE") for i in f.get("items") or []}))
        return out

    @staticmethod
    def _cells(rec: dict, fields) -> list[str | None]:
        cells = []
        for key, _, opts in fields:
            v = rec.get(key)
            vals = v if isinstance(v, list) else [v]
            vals = [text(opts.get(str(x), x)) if opts else text(x) for x in vals if x not in (None, "", False)]
            cells.append(", ".join(x for x in vals if x) or None)
        return cells

    def tables(self, cache: SyncCache) -> dict[str, Table]:
        tz = self.timezone(cache)
        users = {i: " ".join(x for x in (u.get("NAME"), u.get("LAST_NAME")) if x) or u.get("EMAIL") for i, u in cache.live("users")}
        cats = {i: c.get("name") for i, c in cache.live("categories")}
        stages = {s.get("STATUS_ID"): s.get("NAME") for _, s in cache.live("stages")}
        companies = dict(cache.live("companies"))
        contacts = dict(cache.live("contacts"))
        entered: dict[tuple[str, str], str] = {}  # (deal, stage) -> the latest entry into it (crm.stagehistory.list)
        for _, h in cache.live("stage_history"):
            key, when = (str(h.get("OWNER_ID")), str(h.get("STAGE_ID"))), iso_utc(h.get("CREATED_TIME")) or ""
            if when > entered.get(key, ""):
                entered[key] = when
        user = lambda x: users.get(str(x)) if x else None  # noqa: E731
        ref = lambda x: str(x) if x not in (None, "", "0", 0) else None  # noqa: E731
        out: dict[str, Table] = {}
        dcf = self._custom(cache, "deals")
        rows = []
        for i, d in cache.live("deals"):
            comp, cont = ref(d.get("COMPANY_ID")), ref(d.get("CONTACT_ID"))
            rows.append([i, d.get("TITLE"), user(d.get("ASSIGNED_BY_ID")), text(d.get("OPPORTUNITY")), d.get("CURRENCY_ID"), comp,
                         _prop(companies.get(comp), "TITLE"), cont, _person(contacts.get(cont)), cats.get(str(d.get("CATEGORY_ID") or 0)),
                         stages.get(d.get("STAGE_ID"), d.get("STAGE_ID")), d.get("STAGE_SEMANTIC_ID"), d.get("CLOSED"),
                         local_text(d.get("DATE_CREATE"), tz), local_text(entered.get((i, str(d.get("STAGE_ID")))) or d.get("MOVED_TIME"), tz), local_text(d.get("DATE_MODIFY"), tz),
                         local_text(d.get("CLOSEDATE"), tz)] + self._cells(d, dcf))
        out["deals"] = Table(["ID", "TITLE", "ASSIGNED_BY_NAME", "OPPORTUNITY", "CURRENCY_ID", "COMPANY_ID", "Компания", "CONTACT_ID", "Контакт",
                              "Направление", "Стадия сделки", "STAGE_SEMANTIC_ID", "CLOSED", "DATE_CREATE", "MOVED_TIME", "DATE_MODIFY",
                              "CLOSEDATE"] + [n for _, n, _ in dcf], rows)
        ccf = self._custom(cache, "companies")
        out["organizations"] = Table(["ID", "TITLE", "Ответственный"] + [n for _, n, _ in ccf],
                                     [[i, c.get("TITLE"), user(c.get("ASSIGNED_BY_ID"))] + self._cells(c, ccf) for i, c in companies.items()])
        pcf = self._custom(cache, "contacts")
        out["persons"] = Table(["ID", "ФИО", "Ответственный", "Компания"] + [n for _, n, _ in pcf],
                               [[i, _person(c), user(c.get("ASSIGNED_BY_ID")), _prop(companies.get(ref(c.get("COMPANY_ID"))), "TITLE")]
                                + self._cells(c, pcf) for i, c in contacts.items()])
        acts = []
        for i, a in cache.live("activities"):
            due = local_text(a.get("DEADLINE"), tz)
            acts.append([i, a.get("SUBJECT"), ACTIVITY_TYPES.get(str(a.get("TYPE_ID")), text(a.get("TYPE_ID"))), due[:10] if due else None,
                         due[11:16] if due else None, "true" if a.get("COMPLETED") == "Y" else "false",
                         ref(a.get("OWNER_ID")) if str(a.get("OWNER_TYPE_ID")) == "2" else None, user(a.get("RESPONSIBLE_ID"))])
        out["activities"] = Table(["ID", "SUBJECT", "TYPE", "DEADLINE_DATE", "DEADLINE_TIME", "COMPLETED", "OWNER_ID", "RESPONSIBLE"], acts)
        return out

    # ------------------------------------------------------------------ check and init
    def check(self) -> CheckResult:
        probes = [(_("webhook and users ({method})"), "user.get"), (_("deals ({method})"), "crm.deal.list"),
                  (_("pipelines ({method})"), "crm.category.list"), (_("stages ({method})"), "crm.status.list"),
                  (_("activities ({method})"), "crm.activity.list"), (_("companies ({method})"), "crm.company.list"),
                  (_("contacts ({method})"), "crm.contact.list"), (_("deal fields ({method})"), "crm.deal.fields")]
        probes = [(what.format(method=m), m) for what, m in probes]
        args = {"crm.category.list": {"entityTypeId": 2}, "crm.deal.fields": None}
        return self.run_checks([(what, lambda m=m: self.core.get(f"{m}.json", args.get(m, {"start": 0}))) for what, m in probes])

    def init_values(self, cache: SyncCache) -> InitValues:
        pipelines = {}
        by_cat: dict[str, list[dict]] = {}
        for _, s in cache.live("stages"):
            by_cat.setdefault(str(s.get("CATEGORY_ID")), []).append(s)
        for cid, c in sorted(cache.live("categories"), key=lambda x: (int(x[1].get("sort") or 0), int(x[0]))):
            sts = sorted(by_cat.get(cid, []), key=lambda s: (int(s.get("SORT") or 0), s.get("STATUS_ID")))
            pipelines[c.get("name")] = [s.get("NAME") for s in sts if not s.get("SEMANTICS")] + [s.get("NAME") for s in sts if s.get("SEMANTICS")]
        users = [(" ".join(x for x in (u.get("NAME"), u.get("LAST_NAME")) if x), bool(u.get("ACTIVE", True))) for _, u in cache.live("users")]
        fields = [CustomField(ent, f.get("listLabel") or key, key, f.get("type") or "", [i.get("VALUE") for i in f.get("items") or []])
                  for ent, obj in _ENTITY.items() for key, f in cache.live(f"{obj}_fields")]
        url = f"https://{self.portal}/crm/deal/details/{{id}}/" if self.portal else "https://example.bitrix24.ru/crm/deal/details/{id}/"
        return InitValues(pipelines, users, fields, url, [])


def _prop(rec: dict | None, name: str):
    return (rec or {}).get(name)


def _person(c: dict | None) -> str | None:
    c = c or {}
    return " ".join(x for x in (c.get("LAST_NAME"), c.get("NAME"), c.get("SECOND_NAME")) if x) or None


def _batch_error(method: str, err) -> SourceError:
    """An error one command of a ``batch`` call answered (``result_error``)."""
    err = err if isinstance(err, dict) else {"error": str(err)}
    code, desc = str(err.get("error") or ""), str(err.get("error_description") or "")[:160]
    if code in ("insufficient_scope", "ACCESS_DENIED"):
        return MissingScope(_("Bitrix24: the webhook may not call {method} ({error}); give it the «CRM (crm)» and «Пользователи (user)» "
                              "rights, or a user who sees every deal").format(method=method, error=f"{code}: {desc}"))
    return ApiResponseError(_("Bitrix24 answered an error for {method} inside a batch call ({error})")
                            .format(method=method, error=f"{code}: {desc}"))
