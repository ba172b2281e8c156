"""A stateful fake of Pipedrive's API (v2 lists, v1 users) that behaves like the real one.

* **Data**: users (one deactivated), pipelines and stages in order, deal /
  organization / person fields (custom fields keyed by 40-character hashes,
  enum options), deals, organizations, persons, activities — as v2 returns
  them, with the nulls real responses carry. :meth:`FakePipedrive.from_export`
  builds it from a canonical dataset (tests/samplegen.py);
  :meth:`FakePipedrive.to_export` gives the same data back as Pipedrive's
  export would show it (so one dataset is served by the API and written as the
  export for the parity tests).
* **Paging**: cursor (keyset on the sort key, opaque base64), ``limit`` ≤ 500
  (default 100); ``sort_by`` id / update_time / add_time; ``updated_since``
  inclusive, ``updated_until`` exclusive; ``status=deleted`` lists deals
  deleted up to 30 days ago; ``/deals/archived``; ``include_option_labels``.
* **Changes**: :meth:`update`, :meth:`delete`, :meth:`archive`, :meth:`add`
  bump ``update_time`` on the fake's clock (:attr:`now`).
* **Limits and refusals**: ``x-ratelimit-*`` burst headers (``burst=(n, seconds)``:
  429 with ``Retry-After`` past it), token cost per endpoint (``x-token-cost``
  of the spec) in :attr:`tokens`; a wrong token 401; ``api_disabled`` 403;
  ``no_scope`` (path prefixes) 403.
* Every body is validated against Pipedrive's OpenAPI specification
  (tests/fake_crm/schemas, with the documented null overlay).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from zoneinfo import ZoneInfo

from .schema import pipedrive_cost, pipedrive_validator, problems
from .server import FakeCrm

TZ = "Europe/Moscow"
TYPE_KEYS = {"Звонок": "call", "Задача": "task", "Встреча": "meeting", "Письмо": "email", "Дедлайн": "deadline"}
TYPE_NAMES = {v: k for k, v in TYPE_KEYS.items()}
V2_LISTS = ("deals", "activities", "organizations", "persons", "pipelines", "stages", "dealFields", "organizationFields", "personFields")


def field_code(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()  # 40 hex characters, like Pipedrive's keys


def _utc(t: dt.datetime | None, tz: ZoneInfo) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz)
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _norm(s: str | None) -> str:
    return " ".join((s or "").lower().replace("ё", "е").split())


class FakePipedrive(FakeCrm):
    def __init__(self, token: str = "pd-test-token-0123456789", now: dt.datetime | None = None):
        super().__init__()
        self.token = token
        self.oauth_token: str | None = None
        self.now = now or dt.datetime(2026, 11, 20, 6, 0, 0, tzinfo=dt.timezone.utc)
        self.users: dict[int, dict] = {}
        self.pipelines: dict[int, dict] = {}
        self.stages: dict[int, dict] = {}
        self.fields: dict[str, list[dict]] = {"dealFields": [], "organizationFields": [], "personFields": []}
        self.deals: dict[int, dict] = {}
        self.organizations: dict[int, dict] = {}
        self.persons: dict[int, dict] = {}
        self.activities: dict[int, dict] = {}
        self.burst: tuple[int, float] | None = None
        self._window: list[float] = []
        self.tokens = 0
        self.api_disabled = False
        self.no_scope: tuple[str, ...] = ()
        self.validate_bodies = True
        self._memo: dict = {}

    def _version(self) -> tuple:
        return (self.now, len(self.deals), len(self.activities), len(self.persons), len(self.organizations))

    # ------------------------------------------------------------------ the clock and changes
    def tick(self, seconds: int = 1) -> str:
        self.now += dt.timedelta(seconds=seconds)
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _store(self, obj: str) -> dict[int, dict]:
        return getattr(self, obj)

    def update(self, obj: str, rid: int, **changes) -> dict:
        rec = self._store(obj)[rid]
        custom = changes.pop("custom_fields", None)
        rec.update(changes)
        if custom:
            rec.setdefault("custom_fields", {}).update(custom)
        if "stage_id" in changes:
            rec["stage_change_time"] = self.tick(0) if False else self.now.strftime("%Y-%m-%dT%H:%M:%SZ")
            rec["pipeline_id"] = self.stages[changes["stage_id"]]["pipeline_id"]
        rec["update_time"] = self.tick()
        return rec

    def delete(self, obj: str, rid: int) -> None:
        if obj == "deals":
            self.update("deals", rid, is_deleted=True)
        else:
            del self._store(obj)[rid]  # persons, organizations, activities: gone from every list

    def archive(self, rid: int) -> None:
        self.update("deals", rid, is_archived=True, archive_time=self.now.strftime("%Y-%m-%dT%H:%M:%SZ"))

    def add(self, obj: str, rec: dict) -> dict:
        store = self._store(obj)
        rec.setdefault("id", max(store, default=0) + 1)
        t = self.tick()
        rec.setdefault("add_time", t)
        rec["update_time"] = t
        store[rec["id"]] = rec
        return rec

    # ------------------------------------------------------------------ serving
    def route(self, method, path, query, headers):
        auth = headers.get("x-api-token") or (headers.get("authorization") or "").removeprefix("Bearer ")
        if auth not in (self.token, self.oauth_token) or not auth:
            return 401, {}, {"success": False, "error": "unauthorized access", "errorCode": 401, "error_info": "Please check developers.pipedrive.com"}
        if self.api_disabled:
            return 403, {}, {"success": False, "error": "API access is disabled for this user. Ask your admin to enable the «Use API» permission.",
                             "errorCode": 403}
        if any(path.startswith(p) for p in self.no_scope):
            return 403, {}, {"success": False, "error": "Scope and URL mismatch", "errorCode": 403}
        extra = {}
        if self.burst is not None:
            n, window = self.burst
            t = time.monotonic()
            self._window = [x for x in self._window if t - x < window]
            if len(self._window) >= n:
                return 429, {"Retry-After": str(max(1, round(window))), "x-ratelimit-limit": str(n), "x-ratelimit-remaining": "0",
                             "x-ratelimit-reset": f"{window - (t - self._window[0]):.2f}"}, {"success": False, "error": "Request over limit"}
            self._window.append(t)
            extra = {"x-ratelimit-limit": str(n), "x-ratelimit-remaining": str(n - len(self._window)),
                     "x-ratelimit-reset": f"{window - (t - self._window[0]):.2f}"}
        if path == "/v1/users":
            self.tokens += pipedrive_cost("v1", "/users")
            return 200, extra, {"success": True, "data": [dict(u) for u in self.users.values()]}
        if path.startswith("/api/v2/"):
            name = path[len("/api/v2/"):]
            if name in V2_LISTS or name == "deals/archived":
                self.tokens += pipedrive_cost("v2", "/" + name)
                try:
                    return 200, extra, self._list(name, query)
                except ValueError as exc:
                    return 400, extra, {"success": False, "error": str(exc), "errorCode": 400}
        return 404, extra, {"success": False, "error": "Unknown method .", "errorCode": 404}

    def validate(self, path, status, body):
        if not self.validate_bodies:
            return []
        if path == "/v1/users":
            return problems(pipedrive_validator("v1", "/users"), body)
        return problems(pipedrive_validator("v2", path[len("/api/v2"):]), body)

    def _list(self, name: str, q: dict) -> dict:
        limit = int(q.get("limit") or 100)
        if limit > 500:
            raise ValueError("Limit must be between 1 and 500")
        labels = q.get("include_option_labels") == "true"
        if name.endswith("Fields"):
            items = list(self.fields[name])
            key = lambda r: (r["field_code"],)  # noqa: E731
        else:
            store = self.deals if name == "deals/archived" else self._store(name)
            items = list(store.values())
            if name == "deals":
                status = q.get("status")
                items = [d for d in items if not d.get("is_archived")]
                if status == "deleted":
                    cutoff = (self.now - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
                    items = [d for d in items if d.get("is_deleted") and d["update_time"] >= cutoff]
                else:
                    items = [d for d in items if not d.get("is_deleted")]
                    if status:
                        items = [d for d in items if d["status"] in status.split(",")]
            elif name == "deals/archived":
                items = [d for d in items if d.get("is_archived") and not d.get("is_deleted")]
            if "updated_since" in q:
                since = _rfc(q["updated_since"])
                items = [r for r in items if r["update_time"] >= since]  # "later than or equal to"
            if "updated_until" in q:
                until = _rfc(q["updated_until"])
                items = [r for r in items if r["update_time"] < until]
            if "ids" in q:
                want = {int(x) for x in q["ids"].split(",") if x}
                items = [r for r in items if r["id"] in want]
            sort_by = q.get("sort_by", "id")
            if sort_by not in ("id", "update_time", "add_time", "due_date"):
                raise ValueError(f"Invalid sort_by {sort_by}")
            key = (lambda r: (r["id"],)) if sort_by == "id" else (lambda r, s=sort_by: (r.get(s) or "", r["id"]))
        desc = q.get("sort_direction") == "desc"
        memo_key = (name, tuple(sorted((k, v) for k, v in q.items() if k not in ("cursor", "limit"))), self._version())
        if self._memo.get("key") != memo_key:  # the filtered, sorted list is reused while paging (a large account)
            items.sort(key=key, reverse=desc)
            self._memo = {"key": memo_key, "items": items, "keys": [key(r) for r in items]}
        items, keys = self._memo["items"], self._memo["keys"]
        start = 0
        if q.get("cursor"):
            import bisect

            after = tuple(json.loads(base64.urlsafe_b64decode(q["cursor"].encode())))
            start = next((i for i, k in enumerate(keys) if k < after), len(keys)) if desc else bisect.bisect_right(keys, after)
        page, more = items[start:start + limit], len(items) > start + limit
        nxt = base64.urlsafe_b64encode(json.dumps(list(key(page[-1]))).encode()).decode() if more else None
        data = [self._out(name, r, labels) for r in page]
        return {"success": True, "data": data, "additional_data": {"next_cursor": nxt}}

    def _out(self, name: str, r: dict, labels: bool) -> dict:
        r = json.loads(json.dumps(r))
        if "custom_fields" in r and labels:
            fields = {f["field_code"]: f for f in self.fields.get({"deals": "dealFields", "deals/archived": "dealFields",
                                                                   "organizations": "organizationFields",
                                                                   "persons": "personFields"}.get(name, ""), [])}
            for code, v in list(r["custom_fields"].items()):
                f = fields.get(code)
                if f and f["field_type"] == "enum" and v is not None:
                    r["custom_fields"][code] = {"id": v, "label": next(o["label"] for o in f["options"] if o["id"] == v)}
        return r

    # ------------------------------------------------------------------ one dataset, two presentations
    @classmethod
    def from_export(cls, export, settings: dict, deactivated: tuple[str, ...] = ("Павел Орлов",), **kw) -> "FakePipedrive":
        """The API's state for a canonical dataset (tests/samplegen.Export)."""
        fake = cls(**kw)
        tz = ZoneInfo(TZ)
        users: dict[str, int] = {}

        def user(name):
            if not name or not name.strip():
                return None
            k = _norm(name)
            if k not in users:
                uid = len(users) + 1
                users[k] = uid
                fake.users[uid] = {"id": uid, "name": name.strip(), "email": f"user{uid}@example.com", "has_created_company": uid == 1,
                                   "access": [{"app": "sales", "admin": uid == 1, "permission_set_id": "a1"}],
                                   "active_flag": name.strip() not in deactivated, "timezone_name": TZ, "timezone_offset": "+03:00",
                                   "locale": "ru_RU", "lang": 7, "default_currency": "RUB", "icon_url": None, "is_you": uid == 1,
                                   "is_deleted": False, "role_id": 1, "phone": None, "activated": True,
                                   "last_login": "2026-11-19 08:00:00", "created": "2024-01-10 09:00:00", "modified": "2026-11-01 09:00:00"}
            return users[k]

        for name in ("Иван Петров",):  # the token's user first
            user(name)
        # pipelines and stages in the settings' order, then what only deals show
        stage_ids: dict[tuple[str, str], int] = {}
        pipe_ids: dict[str, int] = {}

        def pipe(name):
            k = _norm(name)
            if k not in pipe_ids:
                pid = len(pipe_ids) + 1
                pipe_ids[k] = pid
                fake.pipelines[pid] = {"id": pid, "name": name, "order_nr": pid, "is_deleted": False, "is_deal_probability_enabled": False,
                                       "add_time": "2024-01-10T09:00:00Z", "update_time": "2024-01-10T09:00:00Z"}
            return pipe_ids[k]

        def stage(pname, sname):
            pid = pipe(pname)
            k = (_norm(pname), _norm(sname))
            if k not in stage_ids:
                sid = len(stage_ids) + 1
                stage_ids[k] = sid
                order = sum(1 for s in fake.stages.values() if s["pipeline_id"] == pid) + 1
                fake.stages[sid] = {"id": sid, "pipeline_id": pid, "name": sname, "order_nr": order, "deal_probability": 100,
                                    "is_deal_rot_enabled": False, "days_to_rotten": None, "is_deleted": False,
                                    "add_time": "2024-01-10T09:00:00Z", "update_time": "2024-01-10T09:00:00Z"}
            return stage_ids[k]

        for pname, stages in settings["pipelines"].items():
            for s in stages:
                stage(pname, s)
        # custom fields
        from samplegen import AGENCY_FIELD, DEAL_CUSTOM_FIELDS

        enum_deal = {"Источник сделки"}
        deal_fields = []
        for name in DEAL_CUSTOM_FIELDS:
            f = {"field_name": name, "field_code": field_code(name), "description": None, "field_type": "enum" if name in enum_deal else "varchar",
                 "options": None, "subfields": None, "is_custom_field": True, "is_optional_response_field": False}
            if name in enum_deal:
                labels = sorted({(d.get(name) or "").strip() for d in export.deals} - {""})
                f["options"] = [{"id": i + 1, "label": lb, "color": None, "update_time": None, "add_time": None} for i, lb in enumerate(labels)]
            deal_fields.append(f)
        std = [{"field_name": n, "field_code": c, "description": None, "field_type": t, "options": None, "subfields": None,
                "is_custom_field": False, "is_optional_response_field": False}
               for n, c, t in (("Title", "title", "varchar"), ("Value", "value", "monetary"), ("Stage", "stage_id", "stage"))]
        fake.fields["dealFields"] = std + deal_fields
        agency_labels = sorted({(o.get(AGENCY_FIELD) or "").strip() for o in export.organizations} - {""})
        fake.fields["organizationFields"] = [
            {"field_name": "Name", "field_code": "name", "description": None, "field_type": "varchar", "options": None, "subfields": None,
             "is_custom_field": False, "is_optional_response_field": False},
            {"field_name": AGENCY_FIELD, "field_code": field_code(AGENCY_FIELD), "description": None, "field_type": "enum",
             "options": [{"id": i + 1, "label": lb, "color": None, "update_time": None, "add_time": None} for i, lb in enumerate(agency_labels)],
             "subfields": None, "is_custom_field": True, "is_optional_response_field": False}]
        fake.fields["personFields"] = [{"field_name": "Name", "field_code": "name", "description": None, "field_type": "varchar", "options": None,
                                        "subfields": None, "is_custom_field": False, "is_optional_response_field": False}]
        opt = lambda f, v: next((o["id"] for o in f["options"] if o["label"] == (v or "").strip()), None)  # noqa: E731
        base_t = "2025-01-15T09:00:00Z"
        # organizations (and those only deals name: linked or name-only)
        org_by_id: dict[str, int] = {}
        agency_f = fake.fields["organizationFields"][1]
        for o in export.organizations:
            oid = int(o["id"])
            org_by_id[o["id"]] = oid
            fake.organizations[oid] = _org(oid, o["name"], user(o["owner"]), {agency_f["field_code"]: opt(agency_f, o.get(AGENCY_FIELD))}, base_t)
        next_org = max(fake.organizations, default=0) + 1
        org_by_name: dict[str, int] = {}
        for d in export.deals:
            if d.get("org_name") and (not d.get("org_id") or d["org_id"] not in org_by_id):
                key = d.get("org_id") or f"name:{d['org_name']}"
                if key not in org_by_id:
                    org_by_id[key] = next_org
                    fake.organizations[next_org] = _org(next_org, d["org_name"], None, {agency_f["field_code"]: None}, base_t)
                    next_org += 1
        # persons: linked to the organization of the first deal naming them
        person_org: dict[str, int | None] = {}
        for d in export.deals:
            if d.get("person_id") and d["person_id"] not in person_org:
                person_org[d["person_id"]] = org_by_id.get(d.get("org_id") or f"name:{d.get('org_name')}") if d.get("org_name") else None
        for p in export.persons:
            pid = int(p["id"])
            fake.persons[pid] = {"id": pid, "name": p["name"], "first_name": None, "last_name": None, "owner_id": user(p["owner"]) or 1,
                                 "org_id": person_org.get(p["id"]), "add_time": base_t, "update_time": base_t, "emails": [], "phones": [],
                                 "is_deleted": False, "visible_to": 3, "label_ids": [], "picture_id": None, "custom_fields": {},
                                 "notes": None, "im": [], "birthday": None, "job_title": None, "postal_address": None}
        # deals
        dcodes = {f["field_name"]: f for f in deal_fields}
        for d in export.deals:
            did = int(d["id"])
            sid = stage(d["pipeline"], d["stage"]) if d.get("pipeline") and d.get("stage") else None
            cf = {}
            for name, f in dcodes.items():
                v = d.get(name)
                cf[f["field_code"]] = opt(f, v) if f["field_type"] == "enum" else (v if v not in (None, "") else None)
            status = d.get("status") or "open"
            created = _utc(d.get("created"), tz) or base_t
            changed = _utc(d.get("stage_changed"), tz)
            closed = changed if status in ("won", "lost") else None
            fake.deals[did] = {
                "id": did, "title": d.get("title") or "", "creator_user_id": user(d.get("owner")) or 1, "owner_id": user(d.get("owner")) or 1,
                "person_id": int(d["person_id"]) if d.get("person_id") else None,
                "org_id": org_by_id.get(d.get("org_id") or f"name:{d.get('org_name')}") if d.get("org_name") else None,
                "pipeline_id": fake.stages[sid]["pipeline_id"] if sid else 1, "stage_id": sid or 1,
                "value": float(d["value"]) if d.get("value") not in (None, "") else 0, "currency": d.get("currency") or "RUB",
                "add_time": created, "update_time": max(created, changed or created), "stage_change_time": changed,
                "is_deleted": status == "deleted", "is_archived": False, "status": "lost" if status == "deleted" else status,
                "probability": None, "lost_reason": d.get("lost_reason") if status in ("lost", "deleted") else None, "visible_to": 3,
                "close_time": closed, "won_time": closed if status == "won" else None, "lost_time": closed if status == "lost" else None,
                "expected_close_date": None, "label_ids": [], "origin": "ManuallyCreated", "origin_id": None, "channel": None,
                "channel_id": None, "arr": None, "mrr": None, "acv": None, "custom_fields": cf}
        # activities: due date and time in UTC when a time is set
        for a in export.activities:
            aid = int(a["id"])
            due, tm = a.get("due_date"), a.get("due_time")
            if due is not None and tm:
                t = dt.datetime.combine(due, dt.time.fromisoformat(tm), tz).astimezone(dt.timezone.utc)
                due_s, tm_s = t.strftime("%Y-%m-%d"), t.strftime("%H:%M")
            else:
                due_s, tm_s = (due.isoformat() if due else None), None
            fake.activities[aid] = {
                "id": aid, "subject": a.get("subject") or "", "type": TYPE_KEYS.get(a.get("type"), "task"), "owner_id": user(a.get("owner")) or 1,
                "creator_user_id": 1, "is_deleted": False, "add_time": base_t, "update_time": base_t,
                "deal_id": int(a["deal_id"]) if a.get("deal_id") else None, "lead_id": None, "person_id": None, "org_id": None,
                "project_id": None, "due_date": due_s, "due_time": tm_s, "duration": None, "busy": False, "done": bool(a.get("done")),
                "marked_as_done_time": base_t if a.get("done") else None, "location": None, "participants": None, "attendees": None,
                "conference_meeting_client": None, "conference_meeting_url": None, "conference_meeting_id": None,
                "public_description": None, "priority": None, "note": None}
        fake.tz = tz
        start = dt.datetime(2025, 11, 1, tzinfo=dt.timezone.utc)
        for store in (fake.organizations, fake.persons, fake.activities):
            for rid, rec in store.items():
                t = (start + dt.timedelta(minutes=(rid * 7919) % (300 * 24 * 60))).strftime("%Y-%m-%dT%H:%M:%SZ")
                rec["add_time"] = min(rec["add_time"], t)
                rec["update_time"] = t
        latest = max(r["update_time"] for store in (fake.deals, fake.organizations, fake.persons, fake.activities) for r in store.values())
        fake.now = max(fake.now, dt.datetime.fromisoformat(latest.replace("Z", "+00:00")) + dt.timedelta(hours=1))
        return fake

    def to_export(self):
        """The API's current state as Pipedrive's export shows it (canonical records for samplegen.write_pipedrive)."""
        from samplegen import AGENCY_FIELD, DEAL_CUSTOM_FIELDS, Export

        tz = ZoneInfo(TZ)
        name = lambda uid: self.users[uid]["name"] if uid in self.users else None  # noqa: E731
        local = lambda s: dt.datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(tz).replace(tzinfo=None) if s else None  # noqa: E731
        dfields = {f["field_code"]: f for f in self.fields["dealFields"]}
        ofields = {f["field_code"]: f for f in self.fields["organizationFields"]}

        def label(f, v):
            if v is None:
                return None
            if f["field_type"] == "enum":
                return next(o["label"] for o in f["options"] if o["id"] == v)
            return v

        deals = []
        for d in sorted(self.deals.values(), key=lambda d: d["id"]):
            if d.get("is_archived"):
                continue
            st = self.stages.get(d["stage_id"], {})
            rec = {"id": str(d["id"]), "title": d["title"], "owner": name(d["owner_id"]),
                   "value": d["value"], "currency": d["currency"], "status": "deleted" if d["is_deleted"] else d["status"],
                   "pipeline": self.pipelines.get(d["pipeline_id"], {}).get("name"), "stage": st.get("name"),
                   "lost_reason": d.get("lost_reason"), "org_id": str(d["org_id"]) if d.get("org_id") else None,
                   "org_name": self.organizations[d["org_id"]]["name"] if d.get("org_id") in self.organizations else None,
                   "person_id": str(d["person_id"]) if d.get("person_id") else None,
                   "person_name": self.persons[d["person_id"]]["name"] if d.get("person_id") in self.persons else None,
                   "created": local(d["add_time"]), "stage_changed": local(d.get("stage_change_time")),
                   "next_activity_date": None, "activities_to_do": ""}
            for code, v in d["custom_fields"].items():
                rec[dfields[code]["field_name"]] = label(dfields[code], v)
            for n in DEAL_CUSTOM_FIELDS:
                rec.setdefault(n, None)
            deals.append(rec)
        orgs = []
        for o in sorted(self.organizations.values(), key=lambda o: o["id"]):
            rec = {"id": str(o["id"]), "name": o["name"], "owner": name(o["owner_id"])}
            for code, v in o["custom_fields"].items():
                rec[ofields[code]["field_name"]] = label(ofields[code], v)
            rec.setdefault(AGENCY_FIELD, None)
            orgs.append(rec)
        persons = [{"id": str(p["id"]), "name": p["name"], "owner": name(p["owner_id"]),
                    "org_name": self.organizations[p["org_id"]]["name"] if p.get("org_id") in self.organizations else None}
                   for p in sorted(self.persons.values(), key=lambda p: p["id"])]
        acts = []
        for a in sorted(self.activities.values(), key=lambda a: a["id"]):
            due, tm = a.get("due_date"), a.get("due_time")
            if due and tm:
                t = dt.datetime.fromisoformat(f"{due}T{tm}").replace(tzinfo=dt.timezone.utc).astimezone(tz)
                due_d, tm_s = t.date(), t.strftime("%H:%M")
            else:
                due_d, tm_s = (dt.date.fromisoformat(due) if due else None), None
            acts.append({"id": str(a["id"]), "deal_id": str(a["deal_id"]) if a.get("deal_id") else None, "type": TYPE_NAMES.get(a["type"], a["type"]),
                         "subject": a["subject"], "due_date": due_d, "due_time": tm_s, "done": a["done"], "owner": name(a["owner_id"])})
        return Export(deals, orgs, persons, acts)


def _org(oid, name, owner, custom, t):
    return {"id": oid, "name": name, "owner_id": owner or 1, "add_time": t, "update_time": t, "is_deleted": False, "visible_to": 3,
            "label_ids": [], "address": None, "custom_fields": custom, "website": None, "linkedin": None, "industry": None,
            "annual_revenue": None, "employee_count": None}


def _rfc(s: str) -> str:
    t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
