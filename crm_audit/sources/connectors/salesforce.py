"""Salesforce: SOQL over the REST API (Opportunity, Task, Account, Contact, User, OpportunityStage, OpportunityHistory).

- Auth: the OAuth2 JWT bearer flow (:class:`~crm_audit.sources.oauth.JwtBearer`):
  a connected app with a certificate, its consumer key (``crm_api: client_id``),
  the user the audit reads as (``username``), the private key from a file
  (``private_key_file``) or an environment variable (``private_key_env``, default
  ``SALESFORCE_PRIVATE_KEY``), ``login_url`` (https://login.salesforce.com; a
  sandbox https://test.salesforce.com). The token answer names the org's
  ``instance_url``; a session that expires mid-sync is signed in again once. An
  access token from elsewhere also works: ``auth: token`` (``SALESFORCE_TOKEN``)
  with ``domain: acme.my.salesforce.com``.
- Reading: ``GET /services/data/v62.0/queryAll?q=SOQL`` (queryAll: deleted records
  too, with ``IsDeleted``), up to 2,000 records a page (``Sforce-Query-Options:
  batchSize`` when ``page_size`` is set), ``nextRecordsUrl`` to the next page.
- Incremental: ``WHERE SystemModstamp >= <watermark - overlap> ORDER BY
  SystemModstamp, Id`` (SystemModstamp also moves when a system process or a
  deletion touches a record; LastModifiedDate does not).
- Deletions: a deleted record comes back from queryAll with ``IsDeleted = true``
  while it is in the recycle bin (15 days); records purged from it are found by
  the periodic id check (``SELECT Id``, live records only).
- Stage order and won/lost: ``OpportunityStage`` (``SortOrder``, ``IsActive``,
  ``IsClosed``, ``IsWon``).
- Pipelines: an opportunity's pipeline is its record type's sales process
  (``RecordType`` with ``BusinessProcessId`` -> ``BusinessProcess.Name``; a record
  type without a process: the record type's name). The stages of each record
  type come from ``/sobjects/Opportunity/describe/layouts`` (its
  ``recordTypeMappings``' ``StageName`` picklist values), ordered by
  ``OpportunityStage.SortOrder``. ``RecordTypeId`` is read only when describe shows
  it (an org without opportunity record types has no such field): such an org
  keeps one pipeline named by the API profile («Продажи»), as does a deal
  without a record type.
- Currency: ``CurrencyIsoCode`` per opportunity in a multi-currency org (describe
  shows the field), else the org's ``DefaultCurrencyIsoCode``.
- Stage-change date: from ``OpportunityHistory`` (a row per change of stage,
  amount, probability or close date): the first row of the latest run of rows
  with the deal's current stage; a deal without history: its creation.
- Custom fields (``__c``): from ``/sobjects/<object>/describe``, under their
  labels (picklist values by label), as an export shows them.
- Limits: the org's 24-hour API allocation, reported on every answer in
  ``Sforce-Limit-Info: api-usage=used/total``; the sync stops (``RateLimited``,
  resumable) once ``1 - daily_reserve`` of it is used, leaving the rest to the
  org's other integrations, and shows the usage; ``REQUEST_LIMIT_EXCEEDED``
  is a ``RateLimited`` too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx

from crm_audit.i18n import _
from crm_audit.sources.cache import Record, SyncCache
from crm_audit.sources.connector import (CheckResult, Connector, CustomField, InitValues, ObjectSpec, Table,
                                         iso_utc, local_text, text, unique_label)
from crm_audit.sources.credentials import CredentialSpec
from crm_audit.sources.errors import ApiDisabled, ApiResponseError, BadToken, MissingScope, RateLimited, SourceError, WrongDomain
from crm_audit.sources.http import HttpCore, Limits, Paging, default_classify, url_path as _path

API_VERSION = "v62.0"
DATA = f"/services/data/{API_VERSION}"
LOGIN_URL = "https://login.salesforce.com"
#: the incremental objects: (sObject, the standard fields the audit reads)
INCREMENTAL = {
    "opportunities": ("Opportunity", ["Id", "Name", "OwnerId", "Amount", "AccountId", "ContactId", "StageName", "IsClosed", "IsWon", "CreatedDate",
                                      "CloseDate", "SystemModstamp", "IsDeleted"]),
    "accounts": ("Account", ["Id", "Name", "OwnerId", "CreatedDate", "SystemModstamp", "IsDeleted"]),
    "contacts": ("Contact", ["Id", "FirstName", "LastName", "Name", "AccountId", "OwnerId", "CreatedDate", "SystemModstamp", "IsDeleted"]),
    "tasks": ("Task", ["Id", "Subject", "ActivityDate", "Status", "IsClosed", "WhatId", "OwnerId", "TaskSubtype", "Type",
                       "SystemModstamp", "IsDeleted"]),
    "history": ("OpportunityHistory", ["Id", "OpportunityId", "StageName", "CreatedDate", "SystemModstamp", "IsDeleted"]),
}
REFERENCE = {
    "organization": "SELECT Id, Name, TimeZoneSidKey, DefaultCurrencyIsoCode FROM Organization",
    "users": "SELECT Id, Name, FirstName, LastName, Email, IsActive, SystemModstamp FROM User",
    "stages": "SELECT Id, MasterLabel, ApiName, SortOrder, IsActive, IsClosed, IsWon, DefaultProbability, SystemModstamp FROM OpportunityStage",
    "record_types": "SELECT Id, Name, DeveloperName, BusinessProcessId, IsActive, SystemModstamp FROM RecordType WHERE SobjectType = 'Opportunity'",
    "processes": "SELECT Id, Name, IsActive, SystemModstamp FROM BusinessProcess",
}
#: standard fields an org has only when a feature is on (describe shows them): read when present
OPTIONAL = ("RecordTypeId", "CurrencyIsoCode")
DESCRIBE = {"opportunity_fields": "Opportunity", "account_fields": "Account", "contact_fields": "Contact"}
_ENTITY = {"deals": "opportunity", "organizations": "account", "persons": "contact"}
OPPORTUNITY_PREFIX = "006"  # a Task's WhatId pointing at an opportunity

_records = lambda js: (js or {}).get("records") or []  # noqa: E731
_next_url = lambda js: (js or {}).get("nextRecordsUrl") if not (js or {}).get("done", True) else None  # noqa: E731


def classify(resp: httpx.Response) -> SourceError | None:
    """Salesforce's refusals: ``[{"message": "...", "errorCode": "INVALID_SESSION_ID"}]``."""
    url = str(resp.request.url) if resp.request else None
    try:
        body = resp.json()
    except ValueError:
        body = []
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else body if isinstance(body, dict) else {}
    code, msg = str(first.get("errorCode") or ""), str(first.get("message") or "")[:200]
    what = _path(url).removeprefix(DATA)
    if resp.status_code == 401 or code == "INVALID_SESSION_ID":
        return BadToken(_("Salesforce refused the session ({said}); sign in again — check crm_api: client_id, username and "
                          "the private key (or the access token)").format(said=f"{code or 401}: {msg}"), status=resp.status_code)
    if code == "REQUEST_LIMIT_EXCEEDED":
        return RateLimited(_("Salesforce: the org's API allocation for the last 24 hours is used up ({message}); run the sync again later — "
                             "nothing is lost, it resumes where it stopped").format(message=msg), status=resp.status_code)
    if code in ("API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED", "FUNCTIONALITY_NOT_ENABLED"):
        return ApiDisabled(_("Salesforce: API access is not available ({said}); the org's edition must include the API and the "
                             "user's profile needs «API Enabled»").format(said=f"{code}: {msg}"), status=resp.status_code)
    if code in ("INVALID_TYPE", "INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY", "INVALID_FIELD") or resp.status_code == 403:
        return MissingScope(_("Salesforce: the user may not read {what} ({said}); give the user (profile or permission set) "
                              "read access to Opportunities, Tasks, Accounts, Contacts and their fields, or use another user")
                            .format(what=what, said=f"{code or 403}: {msg}"), status=resp.status_code)
    if resp.status_code == 404 and code in ("", "NOT_FOUND"):
        return WrongDomain(_("{host}: no Salesforce REST API answers at {path} (404); check crm_api: domain / login_url")
                           .format(host=urlsplit(url).netloc if url else "?", path=_path(url)), status=404)
    if resp.status_code == 400 and code:
        return ApiResponseError(_("Salesforce rejected the query for {what} ({said})").format(what=what, said=f"{code}: {msg}"), status=400)
    return default_classify(resp, "Salesforce")


class SalesforceConnector(Connector):
    crm = "salesforce"
    title = "Salesforce"
    profile_file = "salesforce.yaml"
    objects = [
        ObjectSpec("organization", "reference", "full"),
        ObjectSpec("users", "reference", "full"),
        ObjectSpec("stages", "reference", "full"),
        ObjectSpec("record_types", "reference", "full"),
        ObjectSpec("processes", "reference", "full"),
        ObjectSpec("stage_sets", "reference", "full"),
        ObjectSpec("opportunity_fields", "reference", "full"),
        ObjectSpec("account_fields", "reference", "full"),
        ObjectSpec("contact_fields", "reference", "full"),
        ObjectSpec("opportunities", "incremental", "id-check"),
        ObjectSpec("accounts", "incremental", "id-check"),
        ObjectSpec("contacts", "incremental", "id-check"),
        ObjectSpec("tasks", "incremental", "id-check"),
        ObjectSpec("history", "incremental", "id-check"),
    ]

    def __init__(self, core: HttpCore, account: str, timezone: str | None = None):
        super().__init__(core, account, timezone)
        self._custom_names: dict[str, list[str]] = {}

    @classmethod
    def credential_spec(cls, api, settings) -> CredentialSpec:
        if api.auth in ("token", "oauth2"):  # an access token from elsewhere
            return CredentialSpec(api.token_env_for(cls.crm), settings.resolve(api.token_file) if api.token_file else None,
                                  _("Salesforce access token"))
        key_file = api.private_key_file or api.token_file
        return CredentialSpec(api.private_key_env or "SALESFORCE_PRIVATE_KEY", settings.resolve(key_file) if key_file else None,
                              _("Salesforce private key (PEM) of the connected app"))

    @classmethod
    def build(cls, api, secret, transport=None, clock=None, sleep=None) -> "SalesforceConnector":
        import time

        from crm_audit.errors import SettingsError
        from crm_audit.sources.oauth import JwtBearer

        limits = Limits(daily_reserve=api.daily_reserve)
        headers = {"Sforce-Query-Options": f"batchSize={max(200, api.page_size)}"} if api.page_size else {}
        if api.auth in ("token", "oauth2"):
            if not (api.base_url or api.domain):
                raise SettingsError(_("crm_api: with an access token Salesforce needs the org's address: domain: acme.my.salesforce.com"))
            base = api.base_url.rstrip("/") if api.base_url else f"https://{api.domain.removeprefix('https://').strip('/')}"
            core = HttpCore(base, {**headers, "Authorization": f"Bearer {secret.reveal()}"}, limits, crm="Salesforce", classify=classify,
                            transport=transport, clock=clock or time.monotonic, sleep=sleep or time.sleep, probe_host="login.salesforce.com")
            return cls(core, base, api.timezone)
        client_id = api.client_id or os.environ.get("SALESFORCE_CLIENT_ID")
        username = api.username or os.environ.get("SALESFORCE_USERNAME")
        if not client_id or not username:
            raise SettingsError(_("crm_api: Salesforce signs in with the JWT bearer flow and needs client_id (the connected app's consumer "
                                  "key) and username (the user the audit reads as); set them in crm-audit.yaml or in SALESFORCE_CLIENT_ID / "
                                  "SALESFORCE_USERNAME"))
        login = (api.login_url or (api.base_url if api.base_url else LOGIN_URL)).rstrip("/")
        core = HttpCore(api.base_url or login, headers, limits, crm="Salesforce", classify=classify, transport=transport,
                        clock=clock or time.monotonic, sleep=sleep or time.sleep, probe_host="login.salesforce.com")
        flow = JwtBearer(core, login, client_id, username, secret, keep_base=bool(api.base_url))
        try:
            token = flow.login()
        except BaseException:
            core.close()
            raise
        core.reauth = flow  # a session expired mid-sync: sign in again once
        account = str(token.get("instance_url") or core.base_url).rstrip("/")
        return cls(core, account, api.timezone)

    # ------------------------------------------------------------------ fetching
    def query(self, soql: str, *, all_rows: bool = False) -> Iterator[list[dict]]:
        """The records of a SOQL query, page by page (nextRecordsUrl)."""
        path = f"{DATA}/queryAll" if all_rows else f"{DATA}/query"
        for items, _ in self.core.pages(path, {"q": soql}, Paging.next_link(_records, _next_url)):
            yield items

    def _describe(self, sobject: str) -> list[dict]:
        js = self.core.get(f"{DATA}/sobjects/{sobject}/describe") or {}
        return [{k: f.get(k) for k in ("name", "label", "type", "custom", "picklistValues")} for f in js.get("fields") or []
                if f.get("custom") or f.get("name") in OPTIONAL]

    def _stage_sets(self) -> list[Record]:
        """Each opportunity record type's StageName values (describe/layouts' recordTypeMappings)."""
        js = self.core.get(f"{DATA}/sobjects/Opportunity/describe/layouts") or {}
        out = []
        for m in js.get("recordTypeMappings") or []:
            values = next((p.get("picklistValues") or [] for p in m.get("picklistsForRecordType") or [] if p.get("picklistName") == "StageName"), [])
            out.append(Record(str(m.get("recordTypeId")), None, {"name": m.get("name"), "master": bool(m.get("master")),
                                                                  "stages": [v.get("value") for v in values if v.get("active", True)]}))
        return out

    def _custom(self, obj: str) -> list[str]:
        sobject = INCREMENTAL[obj][0]
        key = f"{sobject.lower()}_fields"
        if key not in DESCRIBE:
            return []
        if key not in self._custom_names:  # normally filled by the describe read earlier in the same sync
            self._custom_names[key] = [f["name"] for f in self._describe(sobject)]
        return self._custom_names[key]

    def fetch(self, obj: str, since: str | None) -> Iterator[list[Record]]:
        if obj == "processes":
            try:  # a user who may read record types but not sales processes: pipelines named after the record types
                pages = list(self.query(REFERENCE[obj]))
            except MissingScope:
                pages = [[]]
            for items in pages:
                yield [Record(str(x["Id"]), iso_utc(x.get("SystemModstamp")), _clean(x)) for x in items]
            return
        if obj in REFERENCE:
            for items in self.query(REFERENCE[obj]):
                yield [Record(str(x["Id"]), iso_utc(x.get("SystemModstamp")), _clean(x)) for x in items]
            return
        if obj == "stage_sets":
            yield self._stage_sets()
            return
        if obj in DESCRIBE:
            fields = self._describe(DESCRIBE[obj])
            self._custom_names[obj] = [f["name"] for f in fields]
            yield [Record(f["name"], None, f) for f in fields]
            return
        sobject, fields = INCREMENTAL[obj]
        cols = fields + [c for c in self._custom(obj) if c not in fields]
        where = f" WHERE SystemModstamp >= {since}" if since else ""
        soql = f"SELECT {', '.join(cols)} FROM {sobject}{where} ORDER BY SystemModstamp ASC, Id ASC"
        for items in self.query(soql, all_rows=True):
            yield [Record(str(x["Id"]), iso_utc(x.get("SystemModstamp")), _clean(x), bool(x.get("IsDeleted"))) for x in items]

    def list_ids(self, obj: str) -> Iterator[list[str]]:
        for items in self.query(f"SELECT Id FROM {INCREMENTAL[obj][0]} ORDER BY Id"):
            yield [str(x["Id"]) for x in items]

    # ------------------------------------------------------------------ the audit's tables
    def account_timezone(self, cache: SyncCache) -> str | None:
        return next((o.get("TimeZoneSidKey") for _, o in cache.live("organization")), None)

    def _fields(self, cache: SyncCache, entity: str) -> list[tuple[str, str, dict]]:
        """(API name, unique label, {picklist value: label}) of an object's custom fields."""
        out, names = [], set()
        for name, f in cache.live(f"{entity}_fields"):
            if not f.get("custom", True):  # RecordTypeId, CurrencyIsoCode: read, not columns of their own
                continue
            label = (f.get("label") or name).strip()
            label = unique_label(label, names)
            out.append((name, label, {str(p.get("value")): p.get("label") for p in f.get("picklistValues") or []}))
        return out

    @staticmethod
    def _cells(rec: dict, fields) -> list[str | None]:
        cells = []
        for name, _, opts in fields:
            v = rec.get(name)
            if v in (None, ""):
                cells.append(None)
            elif opts and isinstance(v, str):
                cells.append(", ".join(text(opts.get(x, x)) or "" for x in v.split(";")) or None)  # multi-select picklists: "a;b"
            else:
                cells.append(text(v))
        return cells

    def tables(self, cache: SyncCache) -> dict[str, Table]:
        tz = self.timezone(cache)
        users = {i: u.get("Name") for i, u in cache.live("users")}
        currency = next((o.get("DefaultCurrencyIsoCode") for _, o in cache.live("organization")), None)
        pipeline_of, default_pipeline = self._pipelines(cache), self._default_pipeline()
        accounts = dict(cache.live("accounts"))
        contacts = dict(cache.live("contacts"))
        owner = lambda x: users.get(str(x)) if x else None  # noqa: E731
        changed = _stage_entered(cache)
        out: dict[str, Table] = {}
        dcf = self._fields(cache, "opportunity")
        rows = []
        for i, d in cache.live("opportunities"):
            acc, cont = d.get("AccountId"), d.get("ContactId")
            rows.append([i, d.get("Name"), owner(d.get("OwnerId")), text(d.get("Amount")), d.get("CurrencyIsoCode") or currency, acc, _get(accounts.get(acc), "Name"),
                         cont, _get(contacts.get(cont), "Name"), pipeline_of.get(str(d.get("RecordTypeId")), default_pipeline), d.get("StageName"), text(d.get("IsClosed")), text(d.get("IsWon")), local_text(d.get("CreatedDate"), tz),
                         local_text(changed.get((i, d.get("StageName"))) or d.get("CreatedDate"), tz), d.get("CloseDate"),
                         local_text(d.get("SystemModstamp"), tz)] + self._cells(d, dcf))
        out["deals"] = Table(["Id", "Name", "OwnerName", "Amount", "CurrencyIsoCode", "AccountId", "AccountName", "ContactId", "ContactName",
                              "Pipeline", "StageName", "IsClosed",
                              "IsWon", "CreatedDate", "LastStageChangeDate", "CloseDate", "SystemModstamp"] + [n for _, n, _ in dcf], rows)
        acf = self._fields(cache, "account")
        out["organizations"] = Table(["Id", "Name", "OwnerName"] + [n for _, n, _ in acf],
                                     [[i, a.get("Name"), owner(a.get("OwnerId"))] + self._cells(a, acf) for i, a in accounts.items()])
        ccf = self._fields(cache, "contact")
        out["persons"] = Table(["Id", "Name", "OwnerName", "AccountId", "AccountName"] + [n for _, n, _ in ccf],
                               [[i, c.get("Name"), owner(c.get("OwnerId")), c.get("AccountId"), _get(accounts.get(c.get("AccountId")), "Name")]
                                + self._cells(c, ccf) for i, c in contacts.items()])
        trows = []
        for i, t in cache.live("tasks"):
            what = t.get("WhatId") or ""
            trows.append([i, t.get("Subject"), t.get("TaskSubtype") or t.get("Type"), t.get("ActivityDate"), text(bool(t.get("IsClosed"))),
                          what if what.startswith(OPPORTUNITY_PREFIX) else None, owner(t.get("OwnerId"))])
        out["activities"] = Table(["Id", "Subject", "TaskSubtype", "ActivityDate", "IsClosed", "WhatId", "OwnerName"], trows)
        return out

    # ------------------------------------------------------------------ check and init
    def check(self) -> CheckResult:
        def probe(soql: str):
            return lambda: self.core.get(f"{DATA}/query", {"q": soql})

        return self.run_checks([
            (_("sign-in and users (User)"), probe("SELECT Id FROM User LIMIT 1")),
            (_("opportunities (Opportunity)"), probe("SELECT Id, StageName, OwnerId, SystemModstamp FROM Opportunity LIMIT 1")),
            (_("stages (OpportunityStage)"), probe("SELECT Id, SortOrder, IsClosed, IsWon FROM OpportunityStage LIMIT 1")),
            (_("pipelines (RecordType)"), probe("SELECT Id, Name, BusinessProcessId FROM RecordType WHERE SobjectType = 'Opportunity' LIMIT 1")),
            (_("stage history (OpportunityHistory)"), probe("SELECT Id, StageName FROM OpportunityHistory LIMIT 1")),
            (_("tasks (Task)"), probe("SELECT Id, ActivityDate, IsClosed, WhatId FROM Task LIMIT 1")),
            (_("accounts (Account)"), probe("SELECT Id FROM Account LIMIT 1")),
            (_("contacts (Contact)"), probe("SELECT Id FROM Contact LIMIT 1")),
            (_("opportunity fields (describe)"), lambda: self.core.get(f"{DATA}/sobjects/Opportunity/describe"))])

    def _default_pipeline(self) -> str:
        from crm_audit.engine.profile import load_profile

        return load_profile(str(self.profile_path())).entities["deals"].fields["pipeline"].default or "Продажи"

    @staticmethod
    def _pipelines(cache: SyncCache) -> dict[str, str]:
        """Opportunity record type id -> its pipeline: the record type's sales process, else the record type's name."""
        processes = {i: p.get("Name") for i, p in cache.live("processes")}
        return {i: processes.get(str(r.get("BusinessProcessId"))) or r.get("Name") or i for i, r in cache.live("record_types")}

    def init_values(self, cache: SyncCache) -> InitValues:
        stages = sorted((s for _, s in cache.live("stages") if s.get("IsActive")), key=lambda s: (s.get("SortOrder") or 0, s.get("MasterLabel")))

        def ordered(allowed: set[str] | None) -> list[str]:
            mine = [s for s in stages if allowed is None or s.get("ApiName") in allowed or s.get("MasterLabel") in allowed]
            return [s.get("MasterLabel") for s in mine if not s.get("IsClosed")] + \
                [s.get("MasterLabel") for s in mine if s.get("IsClosed") and s.get("IsWon")] + \
                [s.get("MasterLabel") for s in mine if s.get("IsClosed") and not s.get("IsWon")]

        pipeline_of = self._pipelines(cache)
        sets = {i: x for i, x in cache.live("stage_sets") if not x.get("master") and i in pipeline_of}
        allowed: dict[str, set[str]] = {}
        for rt, x in sets.items():  # record types sharing a sales process share its pipeline
            allowed.setdefault(pipeline_of[rt], set()).update(x.get("stages") or [])
        pipelines = {name: ordered(allowed[name]) for name in sorted(allowed)}
        if not pipelines or any(not d.get("RecordTypeId") for _, d in cache.live("opportunities")):
            order = ordered(None)  # an org without opportunity record types (or deals without one, the master's): one pipeline
            if order:
                pipelines[self._default_pipeline()] = order
        users = [(u.get("Name") or u.get("Email"), bool(u.get("IsActive"))) for _, u in cache.live("users")]
        fields = [CustomField(ent, f.get("label") or name, name, f.get("type") or "", [p.get("label") for p in f.get("picklistValues") or []])
                  for ent, obj in _ENTITY.items() for name, f in cache.live(f"{obj}_fields") if f.get("custom", True)]
        return InitValues(pipelines, users, fields,
                          f"{self.account.replace('.my.salesforce.com', '.lightning.force.com')}/lightning/r/Opportunity/{{id}}/view", [])


def _clean(rec: dict) -> dict:
    """A record without its ``attributes`` (type and URL: nothing the audit reads)."""
    return {k: v for k, v in rec.items() if k != "attributes"}


def _get(rec: dict | None, name: str):
    return (rec or {}).get(name)


def _stage_entered(cache: SyncCache) -> dict[tuple[str, str], str]:
    """(opportunity, stage) -> when the opportunity entered that stage the last time (OpportunityHistory)."""
    by_opp: dict[str, list[tuple[str, str, str]]] = {}
    for i, h in cache.live("history"):
        by_opp.setdefault(str(h.get("OpportunityId")), []).append((iso_utc(h.get("CreatedDate")) or "", i, h.get("StageName") or ""))
    out: dict[tuple[str, str], str] = {}
    for opp, rows in by_opp.items():
        rows.sort()
        prev = None
        for when, _, stage in rows:
            if stage != prev:
                out[(opp, stage)] = when
                prev = stage
    return out
