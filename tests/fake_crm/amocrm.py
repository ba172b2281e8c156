"""A stateful fake of amoCRM's API v4 (leads, tasks, companies, contacts, pipelines, users, events, custom fields).

* Page-number paging (``page``, ``limit`` ≤ 250, ``_links.next`` while there
  are more), HTTP 204 with no body for an empty list; ``filter[updated_at][from]``
  inclusive, ``order[updated_at]=asc``; events filtered by ``filter[type]`` and
  ``filter[created_at][from]``; unix timestamps; the nulls real responses carry.
* 7 requests per second per account (``rps_limit``, a 429 past it, measured on
  arrival); a wrong token 401; ``unpaid`` 402; ``forbidden`` paths 403.
* Every body is checked against a JSON schema written from amoCRM's API docs
  (tests/fake_crm/schemas/amocrm-v4.json).
* :meth:`from_export` builds the account from a canonical dataset
  (tests/samplegen.py); :meth:`write_export` writes the same state as amoCRM's
  own export (the leads file and the contacts list with its company rows), for
  the parity test. amoCRM's export links deals to companies and contacts by
  name, so names are made unique here.
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
WON, LOST = 142, 143
SCHEMAS = Path(__file__).parent / "schemas" / "amocrm-v4.json"
CUSTOM = ("Источник сделки", "Город", "Страна", "Посещаемость", "Ссылка на запись демо", "Ссылка на коммерческое предложение",
          "Партнерская организация")
AGENCY = "Агентство ли это"
KIND = {"leads": "lead", "companies": "company", "contacts": "contact", "tasks": "task", "users": "user", "pipelines": "pipeline",
        "events": "event", "custom_fields": "custom_field", "loss_reasons": "loss_reason"}


@lru_cache(maxsize=None)
def _validator(kind: str):
    import jsonschema

    doc = json.loads(SCHEMAS.read_text(encoding="utf-8"))
    schema = {"definitions": doc["definitions"], "type": "object", "required": ["_links", "_embedded"], "properties": {
        "_page": {"type": "integer"}, "_links": {"$ref": "#/definitions/links"},
        "_embedded": {"type": "object", "properties": {k: {"type": "array", "items": {"$ref": f"#/definitions/{v}"}} for k, v in KIND.items()}}}}
    return jsonschema.Draft7Validator(schema)


def _norm(s):
    return " ".join((s or "").lower().replace("ё", "е").split())


class FakeAmoCrm(FakeCrm):
    def __init__(self, token: str = "amo-long-lived-token-abcdef", now: dt.datetime | None = None):
        super().__init__()
        self.token = token
        self.now = now or dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.timezone.utc)
        self.account = {"id": 30123456, "name": "Тестовая компания", "subdomain": "acme", "currency": "RUB", "timezone": TZ,
                        "_embedded": {"task_types": [{"id": 1, "name": "Звонок"}, {"id": 2, "name": "Встреча"}, {"id": 3, "name": "Задача"},
                                                     {"id": 4, "name": "Письмо"}, {"id": 5, "name": "Дедлайн"}]}}
        self.users, self.pipelines, self.loss_reasons = {}, {}, {}
        self.custom_fields: dict[str, dict[int, dict]] = {"leads": {}, "companies": {}, "contacts": {}}
        self.leads, self.companies, self.contacts, self.tasks, self.events = {}, {}, {}, {}, {}
        self.rps_limit: int | None = 7
        self._arrivals: list[float] = []
        self.unpaid = False
        self.forbidden: tuple[str, ...] = ()

    def ts(self) -> int:
        return int(self.now.timestamp())

    def tick(self, seconds: int = 1) -> int:
        self.now += dt.timedelta(seconds=seconds)
        return self.ts()

    # ------------------------------------------------------------------ changes
    def update(self, obj: str, rid: int, **changes) -> dict:
        rec = getattr(self, obj)[rid]
        t = self.tick()
        if obj == "leads" and "status_id" in changes and changes["status_id"] != rec["status_id"]:
            self._event("lead_status_changed", rid, t)
        rec.update(changes)
        rec["updated_at"] = t
        return rec

    def delete(self, obj: str, rid: int) -> None:
        getattr(self, obj).pop(rid)
        t = self.tick()
        if obj != "tasks":
            self._event({"leads": "lead_deleted", "companies": "company_deleted", "contacts": "contact_deleted"}[obj], rid, t)

    def _event(self, kind: str, entity_id: int, t: int) -> None:
        eid = f"01fake{len(self.events) + 1:010d}"
        self.events[eid] = {"id": eid, "type": kind, "entity_id": entity_id, "entity_type": "lead" if kind.startswith("lead") else kind.split("_")[0],
                            "created_by": 1, "created_at": t, "value_after": [], "value_before": [], "account_id": self.account["id"]}

    # ------------------------------------------------------------------ serving
    def route(self, method, path, q, headers):
        if (headers.get("authorization") or "") != f"Bearer {self.token}":
            return 401, {}, {"title": "Unauthorized", "type": "https://httpstatus.es/401", "status": 401, "detail": "Unauthorized"}
        if self.rps_limit:
            t = time.monotonic()
            self._arrivals = [x for x in self._arrivals if t - x < 1.0]
            if len(self._arrivals) >= self.rps_limit:
                return 429, {}, {"title": "Too Many Requests", "status": 429}
            self._arrivals.append(t)
        if self.unpaid:
            return 402, {}, {"title": "Payment Required", "status": 402, "detail": "Account is not paid"}
        if any(path.startswith(p) for p in self.forbidden):
            return 403, {}, {"title": "Forbidden", "status": 403, "detail": "Access denied"}
        if path == "/api/v4/account":
            return 200, {}, json.loads(json.dumps(self.account))
        lists = {"/api/v4/leads": ("leads", self.leads), "/api/v4/companies": ("companies", self.companies),
                 "/api/v4/contacts": ("contacts", self.contacts), "/api/v4/tasks": ("tasks", self.tasks),
                 "/api/v4/users": ("users", self.users), "/api/v4/leads/pipelines": ("pipelines", self.pipelines),
                 "/api/v4/leads/loss_reasons": ("loss_reasons", self.loss_reasons), "/api/v4/events": ("events", self.events)}
        for ent in ("leads", "companies", "contacts"):
            lists[f"/api/v4/{ent}/custom_fields"] = ("custom_fields", self.custom_fields[ent])
        if path not in lists:
            return 404, {}, {"title": "Not Found", "status": 404}
        kind, store = lists[path]
        items = list(store.values())
        if kind == "events":
            types = set((q.get("filter[type]") or "").split(",")) - {""}
            items = [e for e in items if not types or e["type"] in types]
            if "filter[created_at][from]" in q:
                items = [e for e in items if e["created_at"] >= int(q["filter[created_at][from]"])]
            items.sort(key=lambda e: (e["created_at"], e["id"]), reverse=True)  # newest first, as amoCRM lists events
        else:
            if "filter[updated_at][from]" in q:
                items = [r for r in items if r["updated_at"] >= int(q["filter[updated_at][from]"])]
            if q.get("order[updated_at]"):
                items.sort(key=lambda r: (r["updated_at"], r["id"]), reverse=q["order[updated_at]"] == "desc")
            else:
                items.sort(key=lambda r: r["id"])
        limit = min(int(q.get("limit") or 50), 250)
        page = int(q.get("page") or 1)
        chunk = items[(page - 1) * limit: page * limit]
        if not chunk:
            return 204, {}, None
        links = {"self": {"href": f"{self.url}{path}?page={page}&limit={limit}"}}
        if page * limit < len(items):
            links["next"] = {"href": f"{self.url}{path}?page={page + 1}&limit={limit}"}
        return 200, {}, {"_page": page, "_links": links, "_embedded": {kind: json.loads(json.dumps(chunk))}}

    def validate(self, path, status, body):
        if path == "/api/v4/account" or body is None:
            return []
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in list(_validator("list").iter_errors(body))[:5]]

    # ------------------------------------------------------------------ one dataset, two presentations
    @classmethod
    def from_export(cls, export, settings: dict, **kw) -> "FakeAmoCrm":
        from samplegen import AGENCY_FIELD

        fake = cls(**kw)
        tz = ZoneInfo(TZ)
        acc = fake.account["id"]
        unix = lambda t: int((t if t.tzinfo else t.replace(tzinfo=tz)).timestamp()) if t else None  # noqa: E731
        users: dict[str, int] = {}

        def user(name):
            if not name or not name.strip():
                return next(iter(fake.users), None) or user("Иван Петров")
            k = _norm(name)
            if k not in users:
                uid = 8000000 + len(users) + 1
                users[k] = uid
                fake.users[uid] = {"id": uid, "name": name.strip(), "email": f"u{uid}@example.ru", "lang": "ru",
                                   "rights": {"is_active": name.strip() != "Павел Орлов", "is_admin": len(users) == 1, "is_free": False}}
            return users[k]

        user("Иван Петров")
        stage_ids: dict[tuple, int] = {}
        for k, (pname, stages) in enumerate(settings["pipelines"].items()):
            pid = 7000000 + k + 1
            sts = [{"id": 1000 * pid % 9_000_000 + 1, "name": "Неразобранное", "sort": 10, "is_editable": False, "pipeline_id": pid,
                    "color": "#c1c1c1", "type": 1, "account_id": acc}]
            for j, s in enumerate(stages):
                sid = 40000000 + k * 100 + j + 1
                sts.append({"id": sid, "name": s, "sort": 20 + 10 * j, "is_editable": True, "pipeline_id": pid, "color": "#99ccff", "type": 0,
                            "account_id": acc})
                stage_ids[(_norm(pname), _norm(s))] = sid
            sts += [{"id": WON, "name": "Успешно реализовано", "sort": 10000, "is_editable": False, "pipeline_id": pid, "color": "#CCFF66",
                     "type": 0, "account_id": acc},
                    {"id": LOST, "name": "Закрыто и не реализовано", "sort": 11000, "is_editable": False, "pipeline_id": pid, "color": "#D5D8DB",
                     "type": 0, "account_id": acc}]
            fake.pipelines[pid] = {"id": pid, "name": pname, "sort": k + 1, "is_main": k == 0, "is_unsorted_on": True, "is_archive": False,
                                   "account_id": acc, "_embedded": {"statuses": sts}}
        pipe_by = {_norm(p["name"]): p["id"] for p in fake.pipelines.values()}
        main_pid = next(iter(fake.pipelines))
        fields = {}
        for j, name in enumerate(CUSTOM):
            fid = 600000 + j
            fake.custom_fields["leads"][fid] = {"id": fid, "name": name, "type": "text", "code": None, "sort": j, "entity_type": "leads", "enums": None}
            fields[name] = fid
        fake.custom_fields["companies"][690000] = {"id": 690000, "name": AGENCY, "type": "select", "code": None, "sort": 1, "entity_type": "companies",
                                                   "enums": [{"id": 1, "value": "Да", "sort": 1}, {"id": 2, "value": "Нет", "sort": 2}]}
        reasons: dict[str, int] = {}
        t0 = int(dt.datetime(2025, 1, 15, 9, tzinfo=dt.timezone.utc).timestamp())
        seen_names: dict[str, int] = {}

        def unique(name):
            k = _norm(name)
            seen_names[k] = seen_names.get(k, 0) + 1
            return name if seen_names[k] == 1 else f"{name} ({seen_names[k]})"

        org_ids: dict[str, int] = {}
        for o in export.organizations:
            cid = 50000000 + int(o["id"])
            org_ids[o["id"]] = cid
            ag = (o.get(AGENCY_FIELD) or "").strip()
            cfv = [{"field_id": 690000, "field_name": AGENCY, "field_code": None, "field_type": "select",
                    "values": [{"value": "Да" if _norm(ag) in ("да", "yes") else "Нет", "enum_id": 1 if _norm(ag) in ("да", "yes") else 2}]}] if ag else None
            fake.companies[cid] = {"id": cid, "name": unique(o["name"]) if o["name"].strip() else o["name"], "responsible_user_id": user(o.get("owner")),
                                   "group_id": 0, "created_by": 0, "updated_by": 0, "created_at": t0, "updated_at": t0, "closest_task_at": None,
                                   "is_deleted": False, "custom_fields_values": cfv, "account_id": acc, "_embedded": {"tags": []}}
        person_org = {}
        for d in export.deals:
            if d.get("person_id") and d["person_id"] not in person_org:
                person_org[d["person_id"]] = org_ids.get(d.get("org_id"))
        for p in export.persons:
            pid = 60000000 + int(p["id"])
            comp = person_org.get(p["id"])
            fake.contacts[pid] = {"id": pid, "name": unique(p["name"]) if p["name"].strip() else p["name"], "first_name": "", "last_name": "",
                                  "responsible_user_id": user(p.get("owner")), "group_id": 0, "created_by": 0, "updated_by": 0, "created_at": t0,
                                  "updated_at": t0, "closest_task_at": None, "is_deleted": False, "is_unsorted": False, "custom_fields_values": None,
                                  "account_id": acc, "_embedded": {"companies": [{"id": comp}] if comp else []}}
        for d in export.deals:
            lid = 20000000 + int(d["id"])
            status = d.get("status") or "open"
            if status == "deleted":
                continue
            pid = pipe_by.get(_norm(d.get("pipeline")), main_pid)
            sid = WON if status == "won" else LOST if status == "lost" else stage_ids.get((_norm(fake.pipelines[pid]["name"]), _norm(d.get("stage"))))
            if sid is None:  # a stage the settings do not list: it exists in the CRM, after the listed ones
                st = fake.pipelines[pid]["_embedded"]["statuses"]
                sid = 40900000 + len(stage_ids) + 1
                st.insert(-2, {"id": sid, "name": d["stage"], "sort": 5000 + len(stage_ids), "is_editable": True, "pipeline_id": pid,
                               "color": "#99ccff", "type": 0, "account_id": acc})
                stage_ids[(_norm(fake.pipelines[pid]["name"]), _norm(d["stage"]))] = sid
            created, changed = unix(d.get("created")), unix(d.get("stage_changed"))
            reason = (d.get("lost_reason") or "").strip() if status == "lost" else ""
            if reason and reason not in reasons:
                reasons[reason] = 9000 + len(reasons) + 1
                fake.loss_reasons[reasons[reason]] = {"id": reasons[reason], "name": reason, "sort": len(reasons), "created_at": t0, "updated_at": t0}
            cfv = [{"field_id": fields[n], "field_name": n, "field_code": None, "field_type": "text", "values": [{"value": d[n]}]}
                   for n in CUSTOM if d.get(n) not in (None, "")]
            emb = {"tags": [], "companies": [{"id": org_ids[d["org_id"]]}] if d.get("org_id") in org_ids else [],
                   "contacts": [{"id": 60000000 + int(d["person_id"]), "is_main": True}] if d.get("person_id") and
                   60000000 + int(d["person_id"]) in fake.contacts else []}
            if reason:
                emb["loss_reason"] = [{"id": reasons[reason], "name": reason}]
            fake.leads[lid] = {"id": lid, "name": d.get("title") or "", "price": int(round(float(d["value"]))) if d.get("value") not in (None, "") else 0,
                               "responsible_user_id": user(d.get("owner")), "group_id": 0, "status_id": sid, "pipeline_id": pid,
                               "loss_reason_id": reasons.get(reason), "created_by": 0, "updated_by": 0, "created_at": created or t0,
                               "updated_at": max(created or t0, changed or 0), "closed_at": changed if status in ("won", "lost") else None,
                               "closest_task_at": None, "is_deleted": False, "custom_fields_values": cfv or None, "score": None,
                               "account_id": acc, "labor_cost": None, "_embedded": emb}
            if changed and changed != created:
                fake._event("lead_status_changed", lid, changed)
        types = {"Звонок": 1, "Встреча": 2, "Задача": 3, "Письмо": 4, "Дедлайн": 5}
        for a in export.activities:
            tid = 30000000 + int(a["id"])
            due = a.get("due_date")
            if due is None:
                continue  # an amoCRM task always has a deadline
            tm = dt.time.fromisoformat(a["due_time"]) if a.get("due_time") else dt.time(23, 59)
            lead = 20000000 + int(a["deal_id"]) if a.get("deal_id") else None
            fake.tasks[tid] = {"id": tid, "created_by": 0, "updated_by": 0, "created_at": t0, "updated_at": t0,
                               "responsible_user_id": user(a.get("owner")), "group_id": 0, "entity_id": lead if lead in fake.leads else None,
                               "entity_type": "leads" if lead in fake.leads else None, "is_completed": bool(a.get("done")),
                               "task_type_id": types.get(a.get("type"), 3), "text": a.get("subject") or "—", "duration": 0,
                               "complete_till": int(dt.datetime.combine(due, tm, tz).timestamp()), "result": None, "account_id": acc}
        latest = max([r["updated_at"] for s in (fake.leads, fake.companies, fake.contacts, fake.tasks) for r in s.values()]
                     + [e["created_at"] for e in fake.events.values()])
        fake.now = max(fake.now, dt.datetime.fromtimestamp(latest, dt.timezone.utc) + dt.timedelta(hours=1))
        return fake

    def write_export(self, folder: Path) -> None:
        """The account as amoCRM's own export writes it: the leads file, the contacts list (contacts and companies, «Тип»)."""
        tz = ZoneInfo(TZ)
        fmt = lambda ts: dt.datetime.fromtimestamp(ts, tz).strftime("%d.%m.%Y %H:%M:%S") if ts else ""  # noqa: E731
        users = {u["id"]: u["name"] for u in self.users.values()}
        statuses = {(s["pipeline_id"], s["id"]): s["name"] for p in self.pipelines.values() for s in p["_embedded"]["statuses"]}
        folder.mkdir(parents=True, exist_ok=True)
        head = ["ID", "Название сделки", "Бюджет ", "Ответственный", "Дата создания сделки", "Дата закрытия", "Этап сделки", "Воронка",
                "Полное имя контакта", "Компания", "Причина отказа", *CUSTOM]
        with open(folder / "amocrm_export_leads_2026-11-20.csv", "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f, delimiter=";")
            w.writerow(head)
            for d in sorted(self.leads.values(), key=lambda d: d["id"]):
                emb = d["_embedded"]
                comp = self.companies.get(emb["companies"][0]["id"])["name"] if emb.get("companies") else ""
                cont = self.contacts.get(emb["contacts"][0]["id"])["name"] if emb.get("contacts") else ""
                cf = {v["field_name"]: v["values"][0]["value"] for v in d.get("custom_fields_values") or []}
                reason = emb["loss_reason"][0]["name"] if emb.get("loss_reason") and d["status_id"] == LOST else ""
                w.writerow([d["id"], d["name"], f"{d['price']:,}".replace(",", " "), users[d["responsible_user_id"]],
                            fmt(d["created_at"]), fmt(d["closed_at"]) or "не закрыта", statuses[(d["pipeline_id"], d["status_id"])],
                            self.pipelines[d["pipeline_id"]]["name"], cont, comp, reason, *[cf.get(n, "") for n in CUSTOM]])
        with open(folder / "contacts.csv", "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f, delimiter=";")
            w.writerow(["ID", "Тип", "Полное имя контакта", "Название компании", "Ответственный", "Дата создания контакта", AGENCY])
            for c in sorted(self.contacts.values(), key=lambda c: c["id"]):
                comp = self.companies[c["_embedded"]["companies"][0]["id"]]["name"] if c["_embedded"].get("companies") else ""
                w.writerow([c["id"], "контакт", c["name"], comp, users[c["responsible_user_id"]], fmt(c["created_at"]).replace(".", "-"), ""])
            for c in sorted(self.companies.values(), key=lambda c: c["id"]):
                ag = (c.get("custom_fields_values") or [{}])[0].get("values", [{}])[0].get("value", "") if c.get("custom_fields_values") else ""
                w.writerow([c["id"], "компания", "", c["name"], users[c["responsible_user_id"]], fmt(c["created_at"]).replace(".", "-"), ag])
