"""A stateful fake of HubSpot's CRM API (objects v3 list + search, pipelines, owners, properties, associations v4, account info).

* List endpoints: ``after`` cursor paging (``limit`` ≤ 100, ``paging.next.after``),
  ``archived=true`` lists deleted records with ``archivedAt``.
* Search (``POST /crm/v3/objects/<object>/search``): ``filterGroups`` with a
  ``GTE`` on the modification date (epoch milliseconds, inclusive), one sort,
  ``limit`` ≤ 200, ``after``; past ``search_cap`` results (10,000) it answers
  400 VALIDATION_ERROR, as HubSpot does. Results carry only the properties
  asked for plus ``hs_object_id``, ``createdate`` and the modification date.
* Associations v4 batch read (``POST /crm/v4/associations/<from>/<to>/batch/read``),
  207 Multi-Status with ``NO_ASSOCIATIONS_FOUND`` errors for records without any.
* Limits: the ten-second window (``window``: (max, seconds)) with HubSpot's
  ``X-HubSpot-RateLimit-*`` headers, a 429 past it; a wrong token 401
  (INVALID_AUTHENTICATION); ``forbidden`` paths 403 (MISSING_SCOPES).
* Every body is checked against tests/fake_crm/schemas/hubspot-v3.json (a JSON
  schema written from HubSpot's API reference).
* :meth:`from_export` builds the portal from a canonical dataset
  (tests/samplegen.py); :meth:`write_export` writes the same state as HubSpot's
  own index-page exports (deals, companies, contacts, tasks), for the parity test.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from .server import FakeCrm

TZ = "Europe/Moscow"
SCHEMAS = Path(__file__).parent / "schemas" / "hubspot-v3.json"
MODIFIED = {"deals": "hs_lastmodifieddate", "companies": "hs_lastmodifieddate", "contacts": "lastmodifieddate", "tasks": "hs_lastmodifieddate"}
#: the deal custom properties of the sample dataset: (internal name, label) — HubSpot makes the name from the label
DEAL_CUSTOM = [("istochnik_sdelki", "Источник сделки"), ("gorod", "Город"), ("strana", "Страна"), ("poseshchaemost", "Посещаемость"),
               ("byudzhet", "Бюджет"), ("ssylka_na_zapis_demo", "Ссылка на запись демо"),
               ("ssylka_na_kommercheskoe_predlozhenie", "Ссылка на коммерческое предложение"),
               ("partnerskaya_organizaciya", "Партнерская организация")]
AGENCY = ("agentstvo_li_eto", "Агентство ли это")
TASK_TYPE = {"Звонок": "CALL", "Письмо": "EMAIL", "Встреча": "MEETING"}
TASK_LABEL = {"CALL": "Call", "EMAIL": "Email", "TODO": "To-do", "MEETING": "Meeting"}


@lru_cache(maxsize=None)
def definition_validator(schemas: Path, kind: str):
    """A validator for one definition of a JSON schema file written from a CRM's API docs ({"definitions": ...})."""
    import jsonschema

    doc = json.loads(schemas.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator({"definitions": doc["definitions"], "$ref": f"#/definitions/{kind}"})


def schema_problems(schemas: Path, kind: str, body) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in list(definition_validator(schemas, kind).iter_errors(body))[:5]]


def _norm(s):
    return " ".join((s or "").lower().replace("ё", "е").split())


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


class FakeHubSpot(FakeCrm):
    def __init__(self, token: str = "pat-eu1-4f1c2a3b-1111-2222-3333-abcdefabcdef", now: dt.datetime | None = None):
        super().__init__()
        self.token = token
        self.now = now or dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.timezone.utc)
        self.account = {"portalId": 146223377, "accountType": "STANDARD", "timeZone": TZ, "companyCurrency": "RUB", "additionalCurrencies": [],
                        "utcOffset": "+03:00", "utcOffsetMilliseconds": 10800000, "uiDomain": "app-eu1.hubspot.com", "dataHostingLocation": "eu1"}
        self.owners: dict[str, dict] = {}
        self.pipelines: dict[str, dict] = {}
        self.properties: dict[str, list[dict]] = {"deals": [], "companies": [], "contacts": []}
        self.objects: dict[str, dict[str, dict]] = {"deals": {}, "companies": {}, "contacts": {}, "tasks": {}}
        self.archived: dict[str, dict[str, dict]] = {k: {} for k in self.objects}
        #: associations: (from, to) -> {from id: [(to id, [type ids])]}
        self.assoc: dict[tuple[str, str], dict[str, list[tuple[str, list[int]]]]] = {("deals", "companies"): {}, ("deals", "contacts"): {},
                                                                                      ("tasks", "deals"): {}}
        self.search_cap = 10_000
        self.window: tuple[int, float] | None = None  # (requests, seconds): HubSpot's rolling window, 429 past it
        self.daily = 250_000
        self._arrivals: list[float] = []
        self.forbidden: tuple[str, ...] = ()
        self.search_bodies: list[tuple[str, dict]] = []  # (object, body) of every search asked

    # ------------------------------------------------------------------ changes
    def tick(self, seconds: int = 1) -> str:
        self.now += dt.timedelta(seconds=seconds)
        return _iso(self.now)

    def update(self, obj: str, rid: str, **props) -> dict:
        rec = self.objects[obj][rid]
        t = self.tick()
        if obj == "deals" and "dealstage" in props and props["dealstage"] != rec["properties"]["dealstage"]:
            props.setdefault("hs_v2_date_entered_current_stage", t)
        rec["properties"].update(props)
        rec["properties"][MODIFIED[obj]] = t
        rec["updatedAt"] = t
        return rec

    def archive(self, obj: str, rid: str) -> None:
        rec = self.objects[obj].pop(rid)
        t = self.tick()
        rec.update(archived=True, archivedAt=t, updatedAt=t)
        self.archived[obj][rid] = rec

    # ------------------------------------------------------------------ serving
    def start(self) -> "FakeHubSpot":
        super().start()
        self.accept_posts(lambda raw: json.loads(raw or b"{}"))  # the search and batch reads: a read-only POST with a JSON body
        return self

    def _limit_headers(self) -> tuple[dict, bool]:
        if not self.window:
            return {}, False
        n, secs = self.window
        t = time.monotonic()
        self._arrivals = [x for x in self._arrivals if t - x < secs]
        over = len(self._arrivals) >= n
        if not over:
            self._arrivals.append(t)
        self.daily -= 1
        return {"X-HubSpot-RateLimit-Max": str(n), "X-HubSpot-RateLimit-Remaining": str(max(0, n - len(self._arrivals))),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(secs * 1000)), "X-HubSpot-RateLimit-Daily": "250000",
                "X-HubSpot-RateLimit-Daily-Remaining": str(self.daily)}, over

    def route(self, method, path, q, headers):
        body = self.post_body()
        if (headers.get("authorization") or "") != f"Bearer {self.token}":
            return 401, {}, {"status": "error", "message": "Authentication credentials not found. This API supports OAuth 2.0 authentication "
                             "and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                             "correlationId": "0b1f2a3c-0000-4000-8000-000000000001", "category": "INVALID_AUTHENTICATION"}
        search = path.endswith("/search")
        extra, over = ({}, False) if search else self._limit_headers()
        if over:
            return 429, {**extra, "Retry-After": "1"}, {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                                                       "errorType": "RATE_LIMIT", "correlationId": "0b1f2a3c-0000-4000-8000-000000000002",
                                                       "policyName": "TEN_SECONDLY_ROLLING"}
        for p in self.forbidden:
            if path.startswith(p):
                scope = "crm.objects." + path.split("/")[4] + ".read" if path.startswith("/crm/v3/objects/") else "crm.objects.owners.read"
                return 403, extra, {"status": "error", "message": "This app hasn't been granted all required scopes to make this call.",
                                    "correlationId": "0b1f2a3c-0000-4000-8000-000000000003",
                                    "errors": [{"message": "One or more of the following scopes are required.",
                                                "context": {"requiredGranularScopes": [scope]}}], "category": "MISSING_SCOPES"}
        parts = path.strip("/").split("/")
        if path == "/account-info/v3/details":
            return 200, extra, dict(self.account)
        if path == "/crm/v3/owners":
            arch = q.get("archived") == "true"
            return (200, extra, self._page([o for o in self.owners.values() if o["archived"] == arch], q, 100))
        if path == "/crm/v3/pipelines/deals":
            return 200, extra, {"results": json.loads(json.dumps(list(self.pipelines.values())))}
        if len(parts) == 4 and parts[:3] == ["crm", "v3", "properties"] and parts[3] in self.properties:
            return 200, extra, {"results": json.loads(json.dumps(self.properties[parts[3]]))}
        if len(parts) == 4 and parts[:3] == ["crm", "v3", "objects"] and parts[3] in self.objects and body is None:
            store = self.archived if q.get("archived") == "true" else self.objects
            return 200, extra, self._page(sorted(store[parts[3]].values(), key=lambda r: int(r["id"])), q, 100)
        if search and len(parts) == 5 and parts[3] in self.objects and body is not None:
            return self._search(parts[3], body, extra)
        if len(parts) == 7 and parts[:3] == ["crm", "v4", "associations"] and parts[5:] == ["batch", "read"] and body is not None:
            links = self.assoc.get((parts[3], parts[4]), {})
            results, errors = [], []
            for inp in body.get("inputs") or []:
                got = links.get(str(inp["id"]))
                if got:
                    results.append({"from": {"id": str(inp["id"])}, "to": [
                        {"toObjectId": int(t), "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": k, "label": "Primary" if k == 5 else None}
                                                                    for k in types]} for t, types in got]})
                else:
                    errors.append({"status": "error", "category": "OBJECT_NOT_FOUND", "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                                   "message": f"No {parts[4]} is associated with {parts[3]} {inp['id']}.", "context": {"fromObjectId": [str(inp["id"])]}})
            out = {"status": "COMPLETE", "results": results, "startedAt": _iso(self.now), "completedAt": _iso(self.now)}
            if errors:
                out.update(numErrors=len(errors), errors=errors)
            return (207 if errors else 200), extra, out
        return 404, extra, {"status": "error", "message": f"Unable to route GET {path}", "category": "OBJECT_NOT_FOUND"}

    def _page(self, items: list, q: dict, cap: int) -> dict:
        limit = min(int(q.get("limit") or 10), cap)
        start = int(q.get("after") or 0)
        out: dict = {"results": json.loads(json.dumps(items[start:start + limit]))}
        if start + limit < len(items):
            out["paging"] = {"next": {"after": str(start + limit), "link": f"{self.url}?after={start + limit}"}}
        return out

    def _search(self, obj: str, body: dict, extra: dict):
        prop = MODIFIED[obj]
        self.search_bodies.append((obj, json.loads(json.dumps(body))))
        after = int(body.get("after") or 0)
        if after >= self.search_cap:
            return 400, extra, {"status": "error", "message": f"Paging past {self.search_cap} results is not allowed; narrow the search.",
                                "correlationId": "0b1f2a3c-0000-4000-8000-000000000004", "category": "VALIDATION_ERROR"}
        items = list(self.objects[obj].values())

        def key(r, name):
            return int(r["id"]) if name == "hs_object_id" else _ms(r["properties"][name])

        ops = {"GTE": lambda a, b: a >= b, "GT": lambda a, b: a > b, "EQ": lambda a, b: a == b, "LT": lambda a, b: a < b}
        for group in body.get("filterGroups") or []:
            for f in group.get("filters") or []:
                assert f["propertyName"] in (prop, "hs_object_id"), f
                items = [r for r in items if ops[f["operator"]](key(r, f["propertyName"]), int(f["value"]))]
        sort = ((body.get("sorts") or [{}])[0]).get("propertyName") or "hs_object_id"
        items.sort(key=lambda r: (key(r, sort), int(r["id"])))
        limit = min(int(body.get("limit") or 10), 200)
        chunk = items[after:after + limit]
        keep = set(body.get("properties") or []) | {"hs_object_id", "createdate", prop}
        results = [{**{k: v for k, v in r.items() if k != "properties"}, "properties": {k: v for k, v in r["properties"].items() if k in keep}}
                   for r in chunk]
        out: dict = {"total": len(items), "results": json.loads(json.dumps(results))}
        if after + limit < len(items):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return 200, extra, out

    def validate(self, path, status, body):
        kind = ("account" if path.startswith("/account-info") else "owners" if path == "/crm/v3/owners" else
                "pipelines" if path.startswith("/crm/v3/pipelines") else "properties" if path.startswith("/crm/v3/properties") else
                "associations" if path.startswith("/crm/v4/associations") else "search" if path.endswith("/search") else "collection")
        return schema_problems(SCHEMAS, kind, body)

    # ------------------------------------------------------------------ one dataset, two presentations
    @classmethod
    def from_export(cls, export, settings: dict, **kw) -> "FakeHubSpot":
        from samplegen import AGENCY_FIELD

        fake = cls(**kw)
        tz = ZoneInfo(TZ)
        iso = lambda t: _iso(t if t.tzinfo else t.replace(tzinfo=tz)) if t else None  # noqa: E731
        t0 = _iso(dt.datetime(2025, 1, 15, 9, tzinfo=dt.timezone.utc))
        owners: dict[str, str] = {}

        def owner(name):
            if not name or not name.strip():
                return owner("Иван Петров")
            k = _norm(name)
            if k not in owners:
                oid = str(81000000 + len(owners) + 1)
                first, _, last = name.strip().partition(" ")
                owners[k] = oid
                fake.owners[oid] = {"id": oid, "email": f"u{oid}@example.ru", "firstName": first, "lastName": last, "userId": int(oid) - 30000000,
                                    "userIdIncludingInactive": int(oid) - 30000000, "type": "PERSON", "createdAt": t0, "updatedAt": t0,
                                    "archived": name.strip() == "Павел Орлов", "teams": []}
            return owners[k]

        owner("Иван Петров")
        stage_ids: dict[tuple, str] = {}

        def pipeline(name):
            for pid, p in fake.pipelines.items():
                if _norm(p["label"]) == _norm(name):
                    return pid
            k = len(fake.pipelines)
            pid = "default" if k == 0 else str(7000000 + k)
            stages = [{"id": "closedwon" if k == 0 else f"{pid}01", "label": "Closed Won", "displayOrder": 900,
                       "metadata": {"isClosed": "true", "probability": "1.0"}, "createdAt": t0, "updatedAt": t0, "archived": False,
                       "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT"},
                      {"id": "closedlost" if k == 0 else f"{pid}02", "label": "Closed Lost", "displayOrder": 901,
                       "metadata": {"isClosed": "true", "probability": "0.0"}, "createdAt": t0, "updatedAt": t0, "archived": False,
                       "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT"}]
            fake.pipelines[pid] = {"id": pid, "label": name, "displayOrder": k, "archived": False, "createdAt": t0, "updatedAt": t0, "stages": stages}
            return pid

        def stage(pid, name):
            key = (pid, _norm(name))
            if key not in stage_ids:
                st = fake.pipelines[pid]["stages"]
                sid = str(40000000 + len(stage_ids) + 1)
                n_open = sum(1 for s in st if s["metadata"]["isClosed"] == "false")
                st.insert(n_open, {"id": sid, "label": name, "displayOrder": n_open, "metadata": {"isClosed": "false", "probability": "0.2"},
                                   "createdAt": t0, "updatedAt": t0, "archived": False, "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT"})
                stage_ids[key] = sid
            return stage_ids[key]

        for pname, stages in settings["pipelines"].items():
            pid = pipeline(pname)
            for s in stages:
                if s not in ("Closed Won", "Closed Lost"):
                    stage(pid, s)
        group = {"deals": "dealinformation", "companies": "companyinformation", "contacts": "contactinformation"}
        for obj, names in (("deals", ["dealname", "dealstage", "pipeline", "amount", "closedate", "createdate", "hubspot_owner_id",
                                      "closed_lost_reason", "hs_v2_date_entered_current_stage", "hs_lastmodifieddate"]),
                           ("companies", ["name", "hubspot_owner_id", "createdate", "hs_lastmodifieddate"]),
                           ("contacts", ["firstname", "lastname", "hubspot_owner_id", "associatedcompanyid", "lastmodifieddate"])):
            for j, n in enumerate(names):
                fake.properties[obj].append({"name": n, "label": n.replace("_", " ").title(), "type": "string", "fieldType": "text",
                                             "groupName": group[obj], "displayOrder": j, "hubspotDefined": True, "calculated": False,
                                             "hidden": False, "formField": False, "options": []})
        for j, (n, label) in enumerate(DEAL_CUSTOM):
            fake.properties["deals"].append({"name": n, "label": label, "type": "string", "fieldType": "text", "groupName": "dealinformation",
                                             "displayOrder": -1, "calculated": False, "hidden": False, "formField": True, "options": []})
        fake.properties["companies"].append({"name": AGENCY[0], "label": AGENCY[1], "type": "enumeration", "fieldType": "radio",
                                             "groupName": "companyinformation", "displayOrder": -1, "calculated": False, "hidden": False,
                                             "formField": True, "options": [{"label": "Да", "value": "yes", "displayOrder": 0, "hidden": False},
                                                                            {"label": "Нет", "value": "no", "displayOrder": 1, "hidden": False}]})

        def record(rid, props, created=None, modified=None):
            c, m = created or t0, modified or created or t0
            return {"id": rid, "properties": {"hs_object_id": rid, **props}, "createdAt": c, "updatedAt": m, "archived": False}

        org_ids: dict[str, str] = {}
        for o in export.organizations:
            cid = str(5100000000 + int(o["id"]))
            org_ids[o["id"]] = cid
            ag = _norm(o.get(AGENCY_FIELD))
            fake.objects["companies"][cid] = record(cid, {"name": o["name"], "hubspot_owner_id": owner(o.get("owner")), "createdate": t0,
                                                          "hs_lastmodifieddate": t0,
                                                          AGENCY[0]: ("yes" if ag in ("да", "yes") else "no") if ag else None})
        person_org = {}
        for d in export.deals:
            if d.get("person_id") and d["person_id"] not in person_org:
                person_org[d["person_id"]] = org_ids.get(d.get("org_id"))
        for p in export.persons:
            pid = str(6100000000 + int(p["id"]))
            first, _, last = p["name"].strip().rpartition(" ")
            first = first.strip()  # HubSpot's forms trim a value's ends (a double space inside a name stays)
            fake.objects["contacts"][pid] = record(pid, {"firstname": first or last, "lastname": last if first else None,
                                                         "hubspot_owner_id": owner(p.get("owner")), "associatedcompanyid": person_org.get(p["id"]),
                                                         "createdate": t0, "lastmodifieddate": t0})
        for d in export.deals:
            status = d.get("status") or "open"
            if status == "deleted":
                continue
            did = str(2100000000 + int(d["id"]))
            pid = pipeline(d.get("pipeline") or next(iter(settings["pipelines"])))
            st = fake.pipelines[pid]["stages"]
            sid = next(s["id"] for s in st if s["label"] == "Closed Won") if status == "won" else \
                next(s["id"] for s in st if s["label"] == "Closed Lost") if status == "lost" else stage(pid, d.get("stage") or "Принял в работу")
            created, changed = iso(d.get("created")), iso(d.get("stage_changed"))
            modified = max(x for x in (created, changed, t0) if x)
            props = {"dealname": d.get("title") or "", "dealstage": sid, "pipeline": pid,
                     "amount": None if d.get("value") in (None, "") else f"{float(d['value']):g}", "deal_currency_code": d.get("currency") or None,
                     "hubspot_owner_id": owner(d.get("owner")), "createdate": created or t0, "closedate": changed if status != "open" else None,
                     "closed_lost_reason": (d.get("lost_reason") or None) if status == "lost" else None,
                     "hs_v2_date_entered_current_stage": changed, "hs_lastmodifieddate": modified}
            props.update({n: (None if d.get(label) in (None, "") else str(d[label])) for n, label in DEAL_CUSTOM})
            fake.objects["deals"][did] = record(did, props, created or t0, modified)
            if d.get("org_id") in org_ids:
                fake.assoc[("deals", "companies")][did] = [(org_ids[d["org_id"]], [5, 341])]
            if d.get("person_id") and str(6100000000 + int(d["person_id"])) in fake.objects["contacts"]:
                fake.assoc[("deals", "contacts")][did] = [(str(6100000000 + int(d["person_id"])), [3])]
        for a in export.activities:
            if a.get("due_date") is None:
                continue  # a HubSpot task always has a due date (hs_timestamp)
            tid = str(9100000000 + int(a["id"]))
            tm = dt.time.fromisoformat(a["due_time"]) if a.get("due_time") else dt.time(8, 0)
            fake.objects["tasks"][tid] = record(tid, {"hs_task_subject": a.get("subject") or "—",
                                                      "hs_task_status": "COMPLETED" if a.get("done") else "NOT_STARTED",
                                                      "hs_task_type": TASK_TYPE.get(a.get("type"), "TODO"), "hubspot_owner_id": owner(a.get("owner")),
                                                      "hs_timestamp": _iso(dt.datetime.combine(a["due_date"], tm, tz)), "hs_lastmodifieddate": t0})
            did = str(2100000000 + int(a["deal_id"])) if a.get("deal_id") else None
            if did in fake.objects["deals"]:
                fake.assoc[("tasks", "deals")][tid] = [(did, [216])]
        latest = max(_ms(r["properties"][MODIFIED[o]]) for o in fake.objects for r in fake.objects[o].values())
        fake.now = max(fake.now, dt.datetime.fromtimestamp(latest / 1000, dt.timezone.utc) + dt.timedelta(hours=1))
        return fake

    def write_export(self, folder: Path) -> None:
        """The portal as HubSpot's index-page exports write it (property labels as headers, local times, ";" between associations)."""
        tz = ZoneInfo(TZ)

        def local(v):
            return dt.datetime.fromisoformat(v.replace("Z", "+00:00")).astimezone(tz).strftime("%Y-%m-%d %H:%M") if v else ""

        owner = lambda i: " ".join(x for x in (self.owners[i]["firstName"], self.owners[i]["lastName"]) if x) if i else ""  # noqa: E731
        person = lambda c: " ".join(x for x in (c["properties"]["firstname"], c["properties"].get("lastname")) if x)  # noqa: E731
        stages = {(pid, s["id"]): s for pid, p in self.pipelines.items() for s in p["stages"]}
        folder.mkdir(parents=True, exist_ok=True)
        comps, conts = self.objects["companies"], self.objects["contacts"]
        with open(folder / "hubspot-crm-exports-all-deals-2026-11-20.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Currency", "Create Date", "Close Date", "Deal owner",
                        "Last Modified Date", "Closed Lost Reason", "Associated Company IDs (Primary)", "Associated Company (Primary)",
                        "Associated Contact IDs", "Associated Contact", "Is Deal Closed?", "Is Closed Won", "Date entered current stage",
                        *[label for _, label in DEAL_CUSTOM]])
            for did, d in sorted(self.objects["deals"].items(), key=lambda x: int(x[0])):
                p = d["properties"]
                st = stages[(p["pipeline"], p["dealstage"])]
                closed, won = st["metadata"]["isClosed"] == "true", st["metadata"]["probability"] == "1.0"
                comp = next((c for c, types in self.assoc[("deals", "companies")].get(did, []) if 5 in types), "")
                cont = [c for c, _ in self.assoc[("deals", "contacts")].get(did, [])]
                w.writerow([did, p["dealname"], st["label"], self.pipelines[p["pipeline"]]["label"], p["amount"] or "",
                            p.get("deal_currency_code") or "", local(p["createdate"]),
                            local(p["closedate"]), owner(p["hubspot_owner_id"]), local(p["hs_lastmodifieddate"]), p["closed_lost_reason"] or "",
                            comp, comps[comp]["properties"]["name"] if comp else "", ";".join(cont),
                            ";".join(f"{person(conts[c])} (c{c}@example.ru)" for c in cont), str(closed).lower(), str(closed and won).lower(),
                            local(p["hs_v2_date_entered_current_stage"]), *[p.get(n) or "" for n, _ in DEAL_CUSTOM]])
        with open(folder / "hubspot-crm-exports-all-companies-2026-11-20.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["Record ID", "Company name", "Company owner", "Create Date", AGENCY[1]])
            for cid, c in sorted(comps.items(), key=lambda x: int(x[0])):
                p = c["properties"]
                w.writerow([cid, p["name"], owner(p["hubspot_owner_id"]), local(p["createdate"]),
                            {"yes": "Да", "no": "Нет"}.get(p.get(AGENCY[0]) or "", "")])
        with open(folder / "hubspot-crm-exports-all-contacts-2026-11-20.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["Record ID", "First Name", "Last Name", "Contact owner", "Associated Company IDs", "Associated Company"])
            for pid, c in sorted(conts.items(), key=lambda x: int(x[0])):
                p = c["properties"]
                comp = p.get("associatedcompanyid") or ""
                w.writerow([pid, p["firstname"], p.get("lastname") or "", owner(p["hubspot_owner_id"]), comp,
                            comps[comp]["properties"]["name"] if comp in comps else ""])
        with open(folder / "hubspot-crm-exports-all-tasks-2026-11-20.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["Record ID", "Task Title", "Task Type", "Due Date", "Task Status", "Associated Deal IDs", "Assigned to"])
            for tid, t in sorted(self.objects["tasks"].items(), key=lambda x: int(x[0])):
                p = t["properties"]
                w.writerow([tid, p["hs_task_subject"], TASK_LABEL[p["hs_task_type"]], local(p["hs_timestamp"]),
                            "Completed" if p["hs_task_status"] == "COMPLETED" else "Not started",
                            ";".join(d for d, _ in self.assoc[("tasks", "deals")].get(tid, [])), owner(p["hubspot_owner_id"])])
