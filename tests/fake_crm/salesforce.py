"""A stateful fake of Salesforce's REST API: the JWT bearer sign-in, SOQL query / queryAll with nextRecordsUrl, describe.

* ``POST /services/oauth2/token`` (grant_type jwt-bearer): the assertion's RS256
  signature is checked with the connected app's certificate key, and its ``iss``
  (consumer key), ``sub`` (a known, active user), ``aud``
  (https://login.salesforce.com) and ``exp``; the answer names ``instance_url``
  (the fake itself). :meth:`expire_sessions` makes every issued token answer
  401 ``INVALID_SESSION_ID``, as a session timeout does.
* ``GET /services/data/v62.0/query|queryAll?q=SOQL``: a small SOQL subset
  (``SELECT fields FROM object [WHERE SystemModstamp >= t | WHERE Field = 'value'] [ORDER BY f [, f]] [LIMIT n]``);
  a field the object does not have is 400 ``INVALID_FIELD``; ``query`` hides
  deleted records, ``queryAll`` returns them with ``IsDeleted: true``; batches of
  ``Sforce-Query-Options: batchSize`` (200-2,000, default 2,000) with
  ``nextRecordsUrl`` (``/services/data/v62.0/query/01g...-2000``) while ``done`` is false.
* ``GET /services/data/v62.0/sobjects/<object>/describe``: fields with
  ``custom`` and ``picklistValues``; ``Opportunity.RecordTypeId`` only when the
  org has opportunity record types (``record_types=True``: one per pipeline of
  the dataset's settings, each with its sales process, ``BusinessProcess``), and
  ``CurrencyIsoCode`` only in a multi-currency org (``multi_currency=True``).
* ``GET .../sobjects/Opportunity/describe/layouts``: ``recordTypeMappings`` (the
  master and each record type) with their ``StageName`` picklist values.
* ``Sforce-Limit-Info: api-usage=used/total`` on every API answer; past the
  allocation 403 ``REQUEST_LIMIT_EXCEEDED``; ``forbidden`` objects 400
  ``INVALID_TYPE`` (the user's profile cannot read them).
* Every body is checked against tests/fake_crm/schemas/salesforce-rest.json
  (a JSON schema written from Salesforce's REST API Developer Guide).
* :meth:`from_export` builds the org from a canonical dataset;
  :meth:`write_export` writes the same state as Salesforce's report exports
  (opportunities, accounts, contacts, activities), for the parity test.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import re
from pathlib import Path
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from .hubspot import _norm, schema_problems
from .server import FakeCrm

TZ = "Europe/Moscow"
SCHEMAS = Path(__file__).parent / "schemas" / "salesforce-rest.json"
DATA = "/services/data/v62.0"
WON, LOST = "Closed Won", "Closed Lost"
PREFIX = {"Opportunity": "006", "Account": "001", "Contact": "003", "Task": "00T", "User": "005", "OpportunityHistory": "008",
          "OpportunityStage": "01J", "Organization": "00D", "RecordType": "012", "BusinessProcess": "019"}
FIELDS = {
    "Opportunity": {"Id", "Name", "OwnerId", "Amount", "AccountId", "ContactId", "StageName", "IsClosed", "IsWon", "CreatedDate", "CloseDate",
                    "SystemModstamp", "IsDeleted", "Probability", "LastModifiedDate"},
    "Account": {"Id", "Name", "OwnerId", "CreatedDate", "SystemModstamp", "IsDeleted"},
    "Contact": {"Id", "FirstName", "LastName", "Name", "AccountId", "OwnerId", "CreatedDate", "SystemModstamp", "IsDeleted"},
    "Task": {"Id", "Subject", "ActivityDate", "Status", "IsClosed", "WhatId", "OwnerId", "TaskSubtype", "Type", "SystemModstamp", "IsDeleted"},
    "OpportunityHistory": {"Id", "OpportunityId", "StageName", "CreatedDate", "SystemModstamp", "IsDeleted", "Amount"},
    "User": {"Id", "Name", "FirstName", "LastName", "Email", "IsActive", "SystemModstamp"},
    "OpportunityStage": {"Id", "MasterLabel", "ApiName", "SortOrder", "IsActive", "IsClosed", "IsWon", "DefaultProbability", "SystemModstamp"},
    "Organization": {"Id", "Name", "TimeZoneSidKey", "DefaultCurrencyIsoCode"},
    "RecordType": {"Id", "Name", "DeveloperName", "BusinessProcessId", "SobjectType", "IsActive", "SystemModstamp"},
    "BusinessProcess": {"Id", "Name", "TableEnumOrId", "IsActive", "SystemModstamp"},
}
MASTER_RECORD_TYPE = "012000000000000AAA"  # the master record type every org has
#: the opportunity custom fields of the sample dataset: (API name, label)
DEAL_CUSTOM = [("Istochnik_sdelki__c", "Источник сделки"), ("Gorod__c", "Город"), ("Strana__c", "Страна"),
               ("Poseshchaemost__c", "Посещаемость"), ("Byudzhet__c", "Бюджет"), ("Ssylka_na_zapis_demo__c", "Ссылка на запись демо"),
               ("Ssylka_na_KP__c", "Ссылка на коммерческое предложение"), ("Partnerskaya_organizaciya__c", "Партнерская организация")]
AGENCY = ("Agentstvo__c", "Агентство ли это")
LOSS_REASON = ("Loss_Reason__c", "Loss Reason")
SUBTYPE = {"Звонок": "Call", "Письмо": "Email"}
_SOQL = re.compile(r"^SELECT (?P<cols>.+?) FROM (?P<obj>\w+)(?: WHERE (?P<where>.+?))?(?: ORDER BY (?P<order>.+?))?(?: LIMIT (?P<limit>\d+))?$")
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def sf_id(obj: str, n: int) -> str:
    """An 18-character record id with the object's key prefix."""
    s = ""
    while n:
        n, r = divmod(n, 62)
        s = _B62[r] + s
    return (PREFIX[obj] + s.rjust(12, "0") + "AAA")[:18]


def sf_time(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _t(v: str) -> dt.datetime:
    return dt.datetime.fromisoformat(v.replace("Z", "+00:00"))


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class FakeSalesforce(FakeCrm):
    def __init__(self, client_id: str = "3MVG9fTLmJ60pJ5Jq8wQbG7k2xYfakeConsumerKey", username: str = "audit@acme-crm.ru",
                 now: dt.datetime | None = None, record_types: bool = False, multi_currency: bool = False):
        from cryptography.hazmat.primitives.asymmetric import rsa

        super().__init__()
        self.client_id, self.username = client_id, username
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # the connected app's certificate key
        self.now = now or dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.timezone.utc)
        self.tz = ZoneInfo(TZ)
        self.store: dict[str, dict[str, dict]] = {o: {} for o in FIELDS}
        self.fields = {o: set(f) for o, f in FIELDS.items()}  # this org's: features add standard fields
        if record_types:
            self.fields["Opportunity"].add("RecordTypeId")
        if multi_currency:
            self.fields["Opportunity"].add("CurrencyIsoCode")
        self.stage_sets: dict[str, list[str]] = {}  # record type id -> its sales process's stages
        self.describe_fields: dict[str, list[dict]] = {"Opportunity": [], "Account": [], "Contact": []}
        self.tokens: set[str] = set()
        self.logins = 0
        self.daily_total, self.daily_used = 15_000, 0
        self.forbidden: tuple[str, ...] = ()
        self._cursors: dict[str, list[dict]] = {}
        self._seq = 0

    # ------------------------------------------------------------------ the connected app
    def private_key_pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()

    def expire_sessions(self) -> None:
        self.tokens.clear()

    # ------------------------------------------------------------------ changes
    def tick(self, seconds: int = 1) -> str:
        self.now += dt.timedelta(seconds=seconds)
        return sf_time(self.now)

    def _next(self, obj: str) -> str:
        self._seq += 1
        return sf_id(obj, 900_000 + self._seq)

    def update(self, obj: str, rid: str, **changes) -> dict:
        rec = self.store[obj][rid]
        t = self.tick()
        if obj == "Opportunity" and "StageName" in changes and changes["StageName"] != rec["StageName"]:
            hid = self._next("OpportunityHistory")
            self.store["OpportunityHistory"][hid] = {"Id": hid, "OpportunityId": rid, "StageName": changes["StageName"], "Amount": rec["Amount"],
                                                     "CreatedDate": t, "SystemModstamp": t, "IsDeleted": False}
        rec.update(changes)
        rec["SystemModstamp"] = t
        return rec

    def delete(self, obj: str, rid: str) -> None:
        """To the recycle bin: queryAll still returns it, with IsDeleted."""
        self.store[obj][rid].update(IsDeleted=True, SystemModstamp=self.tick())

    def purge(self, obj: str, rid: str) -> None:
        """Emptied from the recycle bin: gone from every query."""
        self.store[obj].pop(rid)
        self.tick()

    # ------------------------------------------------------------------ serving
    def start(self) -> "FakeSalesforce":
        super().start()
        self.accept_posts(lambda raw: {k: v[-1] for k, v in parse_qs(raw.decode()).items()})  # the token endpoint: a form
        return self

    def _token(self, form: dict) -> tuple[int, dict, dict]:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        bad = lambda desc: (400, {}, {"error": "invalid_grant", "error_description": desc})  # noqa: E731
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {}, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
        try:
            head, body, sig = form["assertion"].split(".")
            claims = json.loads(_unb64(body))
            self.key.public_key().verify(_unb64(sig), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except (KeyError, ValueError, InvalidSignature):
            return bad("invalid assertion")
        if claims.get("iss") != self.client_id:
            return 400, {}, {"error": "invalid_client_id", "error_description": "client identifier invalid"}
        if claims.get("aud") != "https://login.salesforce.com":
            return bad("audience is invalid")
        if claims.get("exp", 0) < dt.datetime.now(dt.timezone.utc).timestamp():
            return bad("expired authorization code")
        if claims.get("sub") != self.username:
            return bad("user hasn't approved this consumer")
        self.logins += 1
        token = f"00D5g000004fake!AR8AQ{self.logins:04d}.{base64.urlsafe_b64encode(self.key.public_key().public_numbers().n.to_bytes(256, 'big')[:24]).decode()}"
        self.tokens.add(token)
        return 200, {}, {"access_token": token, "scope": "api", "instance_url": self.url, "id": f"{self.url}/id/00D5g000004fakeEAA/{sf_id('User', 1)}",
                         "token_type": "Bearer", "issued_at": str(int(self.now.timestamp() * 1000)), "signature": "c2lnbmF0dXJl"}

    def route(self, method, path, q, headers):
        form = self.post_body()
        if path == "/services/oauth2/token" and form is not None:
            return self._token(form)
        auth = headers.get("authorization") or ""
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return 401, {}, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        self.daily_used += 1
        limit = {"Sforce-Limit-Info": f"api-usage={self.daily_used}/{self.daily_total}"}
        if self.daily_used > self.daily_total:
            return 403, limit, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        if path in (f"{DATA}/query", f"{DATA}/queryAll"):
            return self._query(q.get("q") or "", path.endswith("All"), headers, limit)
        if path.startswith(f"{DATA}/query/"):
            locator, _, start = path.rsplit("/", 1)[1].rpartition("-")
            if locator not in self._cursors:
                return 400, limit, [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]
            return 200, limit, self._batch(locator, int(start), headers)
        if path == f"{DATA}/sobjects/Opportunity/describe/layouts":
            return 200, limit, self._layouts()
        m = re.fullmatch(rf"{DATA}/sobjects/(\w+)/describe", path)
        if m and m.group(1) in self.describe_fields:
            obj = m.group(1)
            std = [{"name": f, "label": f, "type": "id" if f == "Id" else "string", "custom": False, "nillable": f != "Id", "picklistValues": []}
                   for f in sorted(self.fields[obj])]
            return 200, limit, {"name": obj, "label": obj, "queryable": True, "custom": False,
                                "fields": std + json.loads(json.dumps(self.describe_fields[obj]))}
        return 404, limit, [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]

    def _query(self, soql: str, all_rows: bool, headers: dict, limit: dict):
        m = _SOQL.match(" ".join(soql.split()))
        if not m:
            return 400, limit, [{"message": f"unexpected token: {soql[:40]}", "errorCode": "MALFORMED_QUERY"}]
        obj = m.group("obj")
        if obj not in self.fields:
            return 400, limit, [{"message": f"sObject type '{obj}' is not supported.", "errorCode": "INVALID_TYPE"}]
        if obj in self.forbidden:
            return 400, limit, [{"message": f"sObject type '{obj}' is not supported. If you are attempting to use a custom object, be sure "
                                 "to append the '__c' after the entity name.", "errorCode": "INVALID_TYPE"}]
        cols = [c.strip() for c in m.group("cols").split(",")]
        custom = {f["name"] for f in self.describe_fields.get(obj, [])}
        for c in cols:
            if c not in self.fields[obj] and c not in custom:
                return 400, limit, [{"message": f"No such column '{c}' on entity '{obj}'.", "errorCode": "INVALID_FIELD"}]
        rows = [r for r in self.store[obj].values() if all_rows or not r.get("IsDeleted")]
        if m.group("where"):
            w = re.fullmatch(r"SystemModstamp >= (\S+)", m.group("where"))
            eq = re.fullmatch(r"(\w+) = '([^']*)'", m.group("where"))
            if w:
                since = _t(w.group(1))
                rows = [r for r in rows if _t(r["SystemModstamp"]) >= since]
            elif eq and eq.group(1) in self.fields[obj]:
                rows = [r for r in rows if r.get(eq.group(1)) == eq.group(2)]
            else:
                return 400, limit, [{"message": "fake: unsupported WHERE", "errorCode": "MALFORMED_QUERY"}]
        if m.group("order"):
            keys = [k.split()[0] for k in m.group("order").split(",")]
            rows.sort(key=lambda r: tuple(r.get(k) or "" for k in keys))
        if m.group("limit"):
            rows = rows[:int(m.group("limit"))]
        out = []
        for r in rows:
            rec = {"attributes": {"type": obj, "url": f"{DATA}/sobjects/{obj}/{r['Id']}"}}
            rec.update({c: r.get(c) for c in cols})
            out.append(json.loads(json.dumps(rec)))
        self._seq += 1
        locator = f"01gD0000002HU{self._seq:05d}"
        self._cursors[locator] = out
        return 200, limit, self._batch(locator, 0, headers)

    def _layouts(self) -> dict:
        """describe/layouts: each record type's StageName values (the master's: every active stage)."""
        pick = lambda values: [{"picklistName": "StageName", "picklistValues": [  # noqa: E731
            {"active": True, "defaultValue": False, "label": v, "value": v, "validFor": None} for v in values]}]
        stages = [s["ApiName"] for s in sorted(self.store["OpportunityStage"].values(), key=lambda s: s["SortOrder"]) if s["IsActive"]]
        maps = [{"available": True, "defaultRecordTypeMapping": not self.stage_sets, "developerName": "Master", "master": True,
                 "name": "Master", "recordTypeId": MASTER_RECORD_TYPE, "picklistsForRecordType": pick(stages)}]
        for k, (rt, values) in enumerate(self.stage_sets.items()):
            r = self.store["RecordType"][rt]
            maps.append({"available": True, "defaultRecordTypeMapping": k == 0, "developerName": r["DeveloperName"], "master": False,
                         "name": r["Name"], "recordTypeId": rt, "picklistsForRecordType": pick(values)})
        return {"layouts": [], "recordTypeMappings": maps, "recordTypeSelectorRequired": [bool(self.stage_sets)]}

    def _batch(self, locator: str, start: int, headers: dict) -> dict:
        rows = self._cursors[locator]
        m = re.search(r"batchSize=(\d+)", headers.get("sforce-query-options") or "")
        size = min(2000, max(200, int(m.group(1)))) if m else 2000
        chunk = rows[start:start + size]
        out: dict = {"totalSize": len(rows), "done": start + size >= len(rows), "records": chunk}
        if not out["done"]:
            out["nextRecordsUrl"] = f"{DATA}/query/{locator}-{start + size}"
        return out

    def validate(self, path, status, body):
        kind = "token" if path == "/services/oauth2/token" else "describe" if path.endswith("/describe") else \
            "layouts" if path.endswith("/describe/layouts") else "query"
        return schema_problems(SCHEMAS, kind, body)

    # ------------------------------------------------------------------ one dataset, two presentations
    @classmethod
    def from_export(cls, export, settings: dict, **kw) -> "FakeSalesforce":
        from samplegen import AGENCY_FIELD

        fake = cls(**kw)
        tz = fake.tz
        at = lambda t: sf_time(t if t.tzinfo else t.replace(tzinfo=tz)) if t else None  # noqa: E731
        t0 = sf_time(dt.datetime(2025, 1, 15, 9, tzinfo=dt.timezone.utc))
        st = fake.store
        st["Organization"][sf_id("Organization", 1)] = {"Id": sf_id("Organization", 1), "Name": "ООО Акме", "TimeZoneSidKey": TZ,
                                                         "DefaultCurrencyIsoCode": "RUB"}
        users: dict[str, str] = {}

        def user(name):
            if not name or not name.strip():
                return user("Иван Петров")
            k = _norm(name)
            if k not in users:
                uid = sf_id("User", len(users) + 1)
                first, _, last = name.strip().partition(" ")
                users[k] = uid
                st["User"][uid] = {"Id": uid, "Name": name.strip(), "FirstName": first, "LastName": last, "Email": f"u{len(users)}@acme-crm.ru",
                                   "IsActive": name.strip() != "Павел Орлов", "SystemModstamp": t0}
            return users[k]

        user("Иван Петров")
        pipelines = {name: list(names) for name, names in settings["pipelines"].items()}
        if "RecordTypeId" in fake.fields["Opportunity"]:  # every deal has a record type: pipelines the settings do not know too
            known = {_norm(p) for p in pipelines}
            for d in export.deals:
                p = (d.get("pipeline") or "").strip()
                if p and _norm(p) not in known:
                    extra = pipelines.setdefault(p, [])
                    if d.get("stage") and (d.get("status") or "open") == "open" and d["stage"] not in extra:
                        extra.append(d["stage"])
        stages: list[str] = []
        for names in pipelines.values():
            stages += [s for s in names if s not in stages and s not in (WON, LOST)]
        for k, (label, closed, won) in enumerate([(s, False, False) for s in stages] + [(WON, True, True), (LOST, True, False)]):
            sid = sf_id("OpportunityStage", k + 1)
            st["OpportunityStage"][sid] = {"Id": sid, "MasterLabel": label, "ApiName": label, "SortOrder": k + 1, "IsActive": True,
                                           "IsClosed": closed, "IsWon": won, "DefaultProbability": 100.0 if won else 0.0 if closed else 10.0 * (k + 1),
                                           "SystemModstamp": t0}
        st["OpportunityStage"][sf_id("OpportunityStage", 99)] = {"Id": sf_id("OpportunityStage", 99), "MasterLabel": "Старая стадия",
                                                                 "ApiName": "Old", "SortOrder": 3, "IsActive": False, "IsClosed": False,
                                                                 "IsWon": False, "DefaultProbability": 20.0, "SystemModstamp": t0}
        pipeline_rt: dict[str, str] = {}  # the settings' pipeline (normalized) -> its record type
        if "RecordTypeId" in fake.fields["Opportunity"]:
            for k, (name, names) in enumerate(pipelines.items()):
                bp, rt = sf_id("BusinessProcess", k + 1), sf_id("RecordType", k + 1)
                st["BusinessProcess"][bp] = {"Id": bp, "Name": name, "TableEnumOrId": "Opportunity", "IsActive": True, "SystemModstamp": t0}
                st["RecordType"][rt] = {"Id": rt, "Name": name, "DeveloperName": f"Pipeline_{k + 1}", "BusinessProcessId": bp,
                                        "SobjectType": "Opportunity", "IsActive": True, "SystemModstamp": t0}
                fake.stage_sets[rt] = [x for x in names if x not in (WON, LOST)] + [WON, LOST]
                pipeline_rt[_norm(name)] = rt
        field = lambda name, label, kind="string", values=(): {"name": name, "label": label, "type": kind, "custom": True, "nillable": True,  # noqa: E731
                                                              "picklistValues": [{"active": True, "defaultValue": False, "label": lab, "value": v,
                                                                                  "validFor": None} for v, lab in values]}
        reasons = sorted({d["lost_reason"] for d in export.deals if d.get("status") == "lost" and d.get("lost_reason")})
        fake.describe_fields["Opportunity"] = [field(n, label) for n, label in DEAL_CUSTOM] + [
            field(*LOSS_REASON, "picklist", [(r, r) for r in reasons])]
        fake.describe_fields["Account"] = [field(*AGENCY, "picklist", [("Yes", "Да"), ("No", "Нет")])]
        accounts: dict[str, str] = {}
        for o in export.organizations:
            aid = sf_id("Account", int(o["id"]))
            accounts[o["id"]] = aid
            ag = _norm(o.get(AGENCY_FIELD))
            st["Account"][aid] = {"Id": aid, "Name": o["name"], "OwnerId": user(o.get("owner")), "CreatedDate": t0, "SystemModstamp": t0,
                                  "IsDeleted": False, AGENCY[0]: ("Yes" if ag in ("да", "yes") else "No") if ag else None}
        person_org = {}
        for d in export.deals:
            if d.get("person_id") and d["person_id"] not in person_org:
                person_org[d["person_id"]] = accounts.get(d.get("org_id"))
        for p in export.persons:
            cid = sf_id("Contact", int(p["id"]))
            first, _, last = p["name"].strip().rpartition(" ")
            first = first.strip()
            st["Contact"][cid] = {"Id": cid, "FirstName": first or None, "LastName": last, "Name": " ".join(x for x in (first, last) if x),
                                  "AccountId": person_org.get(p["id"]), "OwnerId": user(p.get("owner")), "CreatedDate": t0,
                                  "SystemModstamp": t0, "IsDeleted": False}
        hist = 0
        for d in export.deals:
            status = d.get("status") or "open"
            oid = sf_id("Opportunity", int(d["id"]))
            stage = WON if status == "won" else LOST if status == "lost" else (d.get("stage") or "Принял в работу")
            created, changed = at(d.get("created")) or t0, at(d.get("stage_changed"))
            modified = max((x for x in (created, changed, t0) if x), key=_t)
            close = (_t(changed or created).astimezone(tz).date() if status != "open" else _t(created).astimezone(tz).date() + dt.timedelta(days=60))
            rec = {"Id": oid, "Name": d.get("title") or "", "OwnerId": user(d.get("owner")),
                   "Amount": None if d.get("value") in (None, "") else float(d["value"]), "AccountId": accounts.get(d.get("org_id")),
                   "ContactId": sf_id("Contact", int(d["person_id"])) if d.get("person_id") and sf_id("Contact", int(d["person_id"])) in st["Contact"]
                   else None, LOSS_REASON[0]: (d.get("lost_reason") or None) if status == "lost" else None,
                   "StageName": stage, "IsClosed": status in ("won", "lost"), "IsWon": status == "won", "CreatedDate": created,
                   "CloseDate": close.isoformat(), "SystemModstamp": modified, "IsDeleted": status == "deleted"}
            if "RecordTypeId" in fake.fields["Opportunity"]:  # a pipeline the settings do not know: no record type (the master)
                rec["RecordTypeId"] = pipeline_rt.get(_norm(d.get("pipeline")))
            if "CurrencyIsoCode" in fake.fields["Opportunity"]:
                rec["CurrencyIsoCode"] = "USD" if int(d["id"]) % 5 == 0 else "RUB"
            rec.update({n: (None if d.get(label) in (None, "") else str(d[label])) for n, label in DEAL_CUSTOM})
            st["Opportunity"][oid] = rec
            runs = [("Принял в работу", created)] if changed and changed != created and stage != "Принял в работу" else []
            runs.append((stage, changed or created))
            if hist % 4 == 0:  # an amount change within the stage: a history row that is not a stage change
                runs.append((stage, sf_time(_t(runs[-1][1]) + dt.timedelta(hours=5))))
            for s, when in runs:
                hist += 1
                hid = sf_id("OpportunityHistory", hist)
                st["OpportunityHistory"][hid] = {"Id": hid, "OpportunityId": oid, "StageName": s, "Amount": rec["Amount"], "CreatedDate": when,
                                                 "SystemModstamp": when, "IsDeleted": status == "deleted"}
        for a in export.activities:
            if a.get("due_date") is None:
                continue
            tid = sf_id("Task", int(a["id"]))
            deal = sf_id("Opportunity", int(a["deal_id"])) if a.get("deal_id") else None
            st["Task"][tid] = {"Id": tid, "Subject": a.get("subject") or "—", "ActivityDate": a["due_date"].isoformat(),
                               "Status": "Completed" if a.get("done") else "Not Started", "IsClosed": bool(a.get("done")),
                               "WhatId": deal if deal in st["Opportunity"] else None, "OwnerId": user(a.get("owner")),
                               "TaskSubtype": SUBTYPE.get(a.get("type"), "Task"), "Type": a.get("type") and {"Звонок": "Call", "Письмо": "Email",
                                                                                                             "Встреча": "Meeting"}.get(a["type"]),
                               "SystemModstamp": t0, "IsDeleted": False}
        latest = max(_t(r["SystemModstamp"]) for o in ("Opportunity", "Account", "Contact", "Task", "OpportunityHistory")
                     for r in st[o].values())
        fake.now = max(fake.now, latest + dt.timedelta(hours=1))
        return fake

    def stage_entered(self, oid: str) -> str:
        """When the opportunity entered its current stage the last time (from its history), as the report's «Last Stage Change Date»."""
        rows = sorted((h["CreatedDate"], h["StageName"]) for h in self.store["OpportunityHistory"].values() if h["OpportunityId"] == oid)
        entered, prev = self.store["Opportunity"][oid]["CreatedDate"], None
        for when, stage in rows:
            if stage != prev:
                entered, prev = when, stage
        return entered

    def write_export(self, folder: Path) -> None:
        """The org as Salesforce's report exports write them (labels as headers, US dates, «1»/«0» checkboxes, the footer)."""
        day = lambda v: _t(v).astimezone(self.tz).strftime("%m/%d/%Y") if v else ""  # noqa: E731
        iso_day = lambda v: dt.date.fromisoformat(v).strftime("%m/%d/%Y") if v else ""  # noqa: E731
        st = self.store
        user = lambda i: st["User"][i]["Name"] if i else ""  # noqa: E731
        live = lambda obj: sorted((r for r in st[obj].values() if not r.get("IsDeleted")), key=lambda r: r["Id"])  # noqa: E731
        footer = [[], ["Total"], ["Confidential Information - Do Not Distribute"],
                  ["Copyright © 2000-2026 salesforce.com, inc. All rights reserved."]]
        rts = {i: r["Name"] for i, r in st["RecordType"].items()} if "RecordTypeId" in self.fields["Opportunity"] else {}
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "opportunities.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["Opportunity ID", "Opportunity Name", "Opportunity Owner", "Account Name", "Account ID", "Primary Contact",
                        "Primary Contact ID", "Amount", "Opportunity Currency", "Stage", "Closed", "Won", "Loss Reason", "Created Date",
                        "Last Stage Change Date", "Close Date", *[label for _, label in DEAL_CUSTOM]] + (["Opportunity Record Type"] if rts else []))
            for d in live("Opportunity"):
                acc = st["Account"].get(d["AccountId"] or "")
                cont = st["Contact"].get(d["ContactId"] or "")
                w.writerow([d["Id"], d["Name"], user(d["OwnerId"]), acc["Name"] if acc else "", d["AccountId"] or "",
                            cont["Name"] if cont else "", d["ContactId"] or "",
                            "" if d["Amount"] is None else f"{d['Amount']:.2f}", d.get("CurrencyIsoCode") or "RUB", d["StageName"], int(d["IsClosed"]), int(d["IsWon"]),
                            d.get(LOSS_REASON[0]) or "", day(d["CreatedDate"]), day(self.stage_entered(d["Id"])), iso_day(d["CloseDate"]),
                            *[d.get(n) or "" for n, _ in DEAL_CUSTOM]] + ([rts.get(d.get("RecordTypeId") or "", "")] if rts else []))
            w.writerows(footer)
        with open(folder / "accounts.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["Account ID", "Account Name", "Account Owner", AGENCY[1]])
            for a in live("Account"):
                w.writerow([a["Id"], a["Name"], user(a["OwnerId"]), {"Yes": "Да", "No": "Нет"}.get(a.get(AGENCY[0]) or "", "")])
            w.writerows(footer)
        with open(folder / "contacts.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["Contact ID", "First Name", "Last Name", "Contact Owner", "Account Name"])
            for c in live("Contact"):
                acc = st["Account"].get(c["AccountId"] or "")
                w.writerow([c["Id"], c["FirstName"] or "", c["LastName"], user(c["OwnerId"]), acc["Name"] if acc else ""])
            w.writerows(footer)
        with open(folder / "activities.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["Activity ID", "Subject", "Task Subtype", "Date", "Status", "Related To ID", "Assigned"])
            for t in live("Task"):
                what = t["WhatId"] or ""
                w.writerow([t["Id"], t["Subject"], t["TaskSubtype"], iso_day(t["ActivityDate"]), t["Status"],
                            what if what.startswith("006") else "", user(t["OwnerId"])])
            w.writerows(footer)
