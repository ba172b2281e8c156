"""A stateful fake of Bitrix24's REST API behind an incoming webhook (/rest/<user>/<code>/<method>.json).

* ``start`` paging, 50 a page, ``next`` / ``total`` / ``time`` in every answer;
  ``filter[>=DATE_MODIFY]`` (inclusive), ``order[...]``, ``select[]``; values as
  Bitrix24 sends them (ids and sums as text, ``Y``/``N``, ISO times with the
  portal's offset, null dates).
* An application's OAuth2 access token instead of the webhook: ``/rest/<method>.json?auth=<token>``
  (``oauth_token``), 401 ``expired_token`` for any other.
* The leaky bucket: ``rps_limit`` requests per second, past it 503
  ``QUERY_LIMIT_EXCEEDED``; a wrong webhook code 401 ``INVALID_CREDENTIALS``;
  ``forbidden`` methods 401 ``insufficient_scope``.
* Every body is checked against tests/fake_crm/schemas/bitrix24-rest.json (a
  JSON schema written from the REST documentation).
* :meth:`from_export` builds the portal from a canonical dataset;
  :meth:`write_export` writes the same state as Bitrix24's list exports (deals,
  companies, contacts; there is no activities export), for the parity test.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from pathlib import Path
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from .hubspot import _norm, schema_problems
from .server import FakeCrm

TZ = "Europe/Moscow"
SCHEMAS = Path(__file__).parent / "schemas" / "bitrix24-rest.json"
WON, LOSE = "Сделка успешна", "Сделка провалена"
LOST_REASON = ("UF_CRM_1700000099", "Причина проигрыша")
AGENCY = ("UF_CRM_1700000200", "Агентство ли это")
TYPE_IDS = {"Встреча": "1", "Звонок": "2", "Письмо": "4"}
STORES = {"crm.deal.list": ("deals", "DATE_MODIFY"), "crm.company.list": ("companies", "DATE_MODIFY"),
          "crm.contact.list": ("contacts", "DATE_MODIFY"), "crm.activity.list": ("activities", "LAST_UPDATED"), "user.get": ("users", None)}


def _t(v: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(v) if v else None


class FakeBitrix24(FakeCrm):
    def __init__(self, code: str = "k7x2m9q4w1z8r5t3", now: dt.datetime | None = None):
        super().__init__()
        self.code = code
        self.tz = ZoneInfo(TZ)
        self.now = (now or dt.datetime(2026, 11, 20, 9, 0)).replace(tzinfo=self.tz)
        self.users: dict[str, dict] = {}
        self.categories: dict[str, dict] = {}
        self.statuses: list[dict] = []
        self.fields: dict[str, dict] = {"crm.deal.fields": {}, "crm.company.fields": {}, "crm.contact.fields": {}}
        self.deals, self.companies, self.contacts, self.activities = {}, {}, {}, {}
        self.rps_limit: int | None = None
        self._arrivals: list[float] = []
        self.forbidden: tuple[str, ...] = ()
        self.oauth_token: str | None = None  # an application's access token (/rest/<method>.json?auth=...), when set
        self.stagehistory: dict[str, dict] = {}  # crm.stagehistory.list rows: one per move of a deal into a stage
        self.batch_cmds: list[list[str]] = []  # the commands of each `batch` call

    def webhook(self) -> str:
        return f"https://acme.bitrix24.ru/rest/1/{self.code}/"

    def iso(self, t: dt.datetime | None = None) -> str:
        return (t or self.now).astimezone(self.tz).isoformat(timespec="seconds")

    def tick(self, seconds: int = 1) -> str:
        self.now += dt.timedelta(seconds=seconds)
        return self.iso()

    def update(self, obj: str, rid: str, **changes) -> dict:
        rec = getattr(self, obj)[rid]
        t = self.tick()
        if obj == "deals" and "STAGE_ID" in changes and changes["STAGE_ID"] != rec["STAGE_ID"]:
            changes.setdefault("MOVED_TIME", t)
            self.add_history(rid, changes["STAGE_ID"], t)
        rec.update(changes)
        rec["LAST_UPDATED" if obj == "activities" else "DATE_MODIFY"] = t
        return rec

    def add_history(self, deal: str, stage: str, when: str, type_id: int = 2) -> None:
        hid = len(self.stagehistory) + 1
        d = self.deals[deal]
        sem = "S" if stage.endswith("WON") else "F" if stage.endswith("LOSE") else "P"
        self.stagehistory[str(hid)] = {"ID": hid, "TYPE_ID": type_id, "OWNER_ID": int(deal), "CREATED_TIME": when,
                                       "CATEGORY_ID": int(d["CATEGORY_ID"]), "STAGE_SEMANTIC_ID": sem, "STAGE_ID": stage}

    def start(self) -> "FakeBitrix24":
        super().start()
        self.accept_posts(lambda raw: json.loads(raw or b"{}"))  # `batch`: a JSON body {halt, cmd}
        return self

    def delete(self, obj: str, rid: str) -> None:
        getattr(self, obj).pop(rid)
        self.tick()

    # ------------------------------------------------------------------ serving
    def _answer(self, result, total=None, nxt=None) -> dict:
        t = time.time()
        out = {"result": result}
        if nxt is not None:
            out["next"] = nxt
        if total is not None:
            out["total"] = total
        out["time"] = {"start": t, "finish": t + 0.01, "duration": 0.01, "processing": 0.005,
                       "date_start": self.iso(), "date_finish": self.iso(), "operating_reset_at": int(t) + 600, "operating": 0}
        return out

    def route(self, method, path, q, headers):
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "rest" and self.oauth_token is not None:  # an application: the token in `auth`
            if q.get("auth") != self.oauth_token:
                return 401, {}, {"error": "expired_token", "error_description": "The access token provided has expired."}
            parts = ["rest", "1", self.code, parts[1]]
        if len(parts) != 4 or parts[0] != "rest":
            return 404, {}, {"error": "NOT_FOUND", "error_description": "Not found"}
        if parts[2] != self.code:
            return 401, {}, {"error": "INVALID_CREDENTIALS", "error_description": "Invalid request credentials"}
        if self.rps_limit:
            t = time.monotonic()
            self._arrivals = [x for x in self._arrivals if t - x < 1.0]
            if len(self._arrivals) >= self.rps_limit:
                return 503, {}, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
            self._arrivals.append(t)
        name = parts[3].removesuffix(".json")
        body = self.post_body()
        if name == "batch" and body is not None:
            return self._batch(body)
        return self._method(name, q)

    def _batch(self, body: dict):
        """Up to 50 commands, each "method?query"; one request against the bucket; halt stops at the first error."""
        cmds = body.get("cmd") or {}
        if len(cmds) > 50:
            return 400, {}, {"error": "ERROR_BATCH_LENGTH_EXCEEDED", "error_description": "Max batch length exceeded"}
        self.batch_cmds.append(list(cmds.values()))
        result, errors, totals, nexts, times = {}, {}, {}, {}, {}
        for key, cmd in cmds.items():
            method, _, qs = cmd.partition("?")
            status, _, answer = self._method(method, {k: v[-1] for k, v in parse_qs(qs, keep_blank_values=True).items()})
            if status != 200:
                errors[key] = answer
                if body.get("halt"):
                    break
                continue
            self.schema_errors += [f"batch {method}: {p}" for p in self.validate(f"/rest/1/{self.code}/{method}.json", 200, answer)]
            result[key] = answer["result"]
            times[key] = answer["time"]
            if "total" in answer:
                totals[key] = answer["total"]
            if "next" in answer:
                nexts[key] = answer["next"]
        # PHP's empty arrays: [] where there is nothing
        return 200, {}, self._answer({"result": result or [], "result_error": errors or [], "result_total": totals or [],
                                      "result_next": nexts or [], "result_time": times or []})

    def _method(self, name: str, q: dict):
        if name in self.forbidden:
            return 401, {}, {"error": "insufficient_scope", "error_description": "The request requires higher privileges than provided by the webhook token"}
        if name == "crm.category.list":
            cats = sorted(self.categories.values(), key=lambda c: c["sort"])
            return 200, {}, self._answer({"categories": json.loads(json.dumps(cats))}, len(cats))
        if name in self.fields:
            return 200, {}, self._answer(json.loads(json.dumps(self.fields[name])))
        if name == "crm.status.list":
            items = [s for s in self.statuses if s["ENTITY_ID"] == q.get("filter[ENTITY_ID]", s["ENTITY_ID"])]
            items.sort(key=lambda s: (int(s["SORT"]), int(s["ID"])))
            return 200, {}, self._page(items, q)
        if name == "crm.stagehistory.list":
            if str(q.get("entityTypeId")) != "2":
                return 400, {}, {"error": "INVALID_ARG_VALUE", "error_description": "entityTypeId: only deals here"}
            items = list(self.stagehistory.values())
            if q.get("filter[>=CREATED_TIME]"):
                items = [h for h in items if _t(h["CREATED_TIME"]) >= _t(q["filter[>=CREATED_TIME]"])]
            items.sort(key=lambda h: (_t(h["CREATED_TIME"]), h["ID"]) if q.get("order[CREATED_TIME]") else h["ID"])
            start = int(q.get("start") or 0)
            return 200, {}, self._answer({"items": json.loads(json.dumps(items[start:start + 50]))}, len(items),
                                         start + 50 if start + 50 < len(items) else None)
        if name not in STORES:
            return 404, {}, {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}
        store, mod = STORES[name]
        items = list(getattr(self, store).values())
        for k, v in q.items():
            if k.startswith("filter[>=") and mod:
                items = [r for r in items if _t(r[mod]) >= _t(v)]
            elif k.startswith("filter[") and not k.startswith("filter[>"):
                f = k[7:-1]
                items = [r for r in items if str(r.get(f)) == v]
        if mod and q.get(f"order[{mod}]"):
            items.sort(key=lambda r: (_t(r[mod]), int(r["ID"])))
        else:
            items.sort(key=lambda r: int(r["ID"]))
        if q.get("select[0]") == "ID" and "select[1]" not in q:
            items = [{"ID": r["ID"]} for r in items]
        return 200, {}, self._page(items, q)

    def _page(self, items: list, q: dict) -> dict:
        start = int(q.get("start") or 0)
        chunk = items[start:start + 50]
        return self._answer(json.loads(json.dumps(chunk)), len(items), start + 50 if start + 50 < len(items) else None)

    def validate(self, path, status, body):
        name = path.rsplit("/", 1)[-1].removesuffix(".json")
        kind = {"crm.deal.list": "deals", "crm.company.list": "companies", "crm.contact.list": "contacts", "crm.activity.list": "activities",
                "user.get": "users", "crm.status.list": "statuses", "crm.category.list": "categories", "batch": "batch",
                "crm.stagehistory.list": "stagehistory"}.get(name, "fields")
        res = body.get("result")
        if kind in ("deals", "companies", "contacts", "activities") and res and list(res[0]) == ["ID"]:
            kind = "ids"
        return schema_problems(SCHEMAS, kind, body)

    # ------------------------------------------------------------------ one dataset, two presentations
    @classmethod
    def from_export(cls, export, settings: dict, **kw) -> "FakeBitrix24":
        from samplegen import AGENCY_FIELD, DEAL_CUSTOM_FIELDS

        fake = cls(**kw)
        tz = fake.tz
        iso = lambda t: fake.iso(t if t.tzinfo else t.replace(tzinfo=tz)) if t else None  # noqa: E731
        t0 = fake.iso(dt.datetime(2025, 1, 15, 12, tzinfo=tz))
        users: dict[str, str] = {}

        def user(name):
            if not name or not name.strip():
                return user("Иван Петров")
            k = _norm(name)
            if k not in users:
                uid = str(len(users) + 1)
                first, _, last = name.strip().partition(" ")
                users[k] = uid
                fake.users[uid] = {"ID": uid, "ACTIVE": name.strip() != "Павел Орлов", "NAME": first, "LAST_NAME": last, "SECOND_NAME": "",
                                   "EMAIL": f"u{uid}@example.ru", "WORK_POSITION": "Менеджер", "UF_DEPARTMENT": [1]}
            return users[k]

        user("Иван Петров")
        stage_ids: dict[tuple, str] = {}

        def category(name):
            for cid, c in fake.categories.items():
                if _norm(c["name"]) == _norm(name):
                    return cid
            cid = str(len(fake.categories) * 2)  # ids 0, 2, 4 ... (deleted pipelines leave gaps)
            fake.categories[cid] = {"id": int(cid), "name": name, "sort": 100 * (len(fake.categories) + 1), "entityTypeId": 2,
                                    "isDefault": "Y" if cid == "0" else "N"}
            prefix = "" if cid == "0" else f"C{cid}:"
            entity = "DEAL_STAGE" if cid == "0" else f"DEAL_STAGE_{cid}"
            for sid, label, sem, sort in ((f"{prefix}WON", WON, "S", 900), (f"{prefix}LOSE", LOSE, "F", 1000)):
                fake.statuses.append({"ID": str(len(fake.statuses) + 1), "ENTITY_ID": entity, "STATUS_ID": sid, "NAME": label, "NAME_INIT": label,
                                      "SORT": str(sort), "SYSTEM": "Y", "CATEGORY_ID": cid, "COLOR": "#7BD500", "SEMANTICS": sem})
            return cid

        def stage(cid, name):
            key = (cid, _norm(name))
            if key not in stage_ids:
                prefix, entity = ("", "DEAL_STAGE") if cid == "0" else (f"C{cid}:", f"DEAL_STAGE_{cid}")
                n = len([s for s in fake.statuses if s["ENTITY_ID"] == entity and not s["SEMANTICS"]])
                sid = f"{prefix}UC_{len(stage_ids) + 1:06d}"
                fake.statuses.append({"ID": str(len(fake.statuses) + 1), "ENTITY_ID": entity, "STATUS_ID": sid, "NAME": name, "NAME_INIT": "",
                                      "SORT": str(10 * (n + 1)), "SYSTEM": "N", "CATEGORY_ID": cid, "COLOR": "#39A8EF", "SEMANTICS": None})
                stage_ids[key] = sid
            return stage_ids[key]

        for pname, stages in settings["pipelines"].items():
            cid = category(pname)
            for s in stages:
                if s not in (WON, LOSE):
                    stage(cid, s)
        uf = lambda key, label, kind="string", items=None: {"type": kind, "isRequired": False, "isReadOnly": False, "isImmutable": False,  # noqa: E731
                                                            "isMultiple": False, "isDynamic": True, "title": key, "listLabel": label,
                                                            "formLabel": label, "filterLabel": label, **({"items": items} if items else {})}
        deal_uf = {name: f"UF_CRM_17000000{j:02d}" for j, name in enumerate(DEAL_CUSTOM_FIELDS)}
        fake.fields["crm.deal.fields"] = {"ID": {"type": "integer", "isRequired": False, "isReadOnly": True, "isImmutable": False,
                                                 "isMultiple": False, "isDynamic": False, "title": "ID"},
                                          **{k: uf(k, name) for name, k in deal_uf.items()}, LOST_REASON[0]: uf(*LOST_REASON)}
        fake.fields["crm.company.fields"] = {AGENCY[0]: uf(*AGENCY, "enumeration", [{"ID": "101", "VALUE": "Да"}, {"ID": "102", "VALUE": "Нет"}])}
        seen: dict[str, int] = {}

        def unique(name):  # the list export links deals to companies and contacts by name: names are made unique here
            k = _norm(name)
            seen[k] = seen.get(k, 0) + 1
            return name if seen[k] == 1 or not name.strip() else f"{name} ({seen[k]})"

        for o in export.organizations:
            ag = _norm(o.get(AGENCY_FIELD))
            fake.companies[o["id"]] = {"ID": o["id"], "TITLE": unique(o["name"]), "COMPANY_TYPE": "CUSTOMER", "ASSIGNED_BY_ID": user(o.get("owner")),
                                       "DATE_CREATE": t0, "DATE_MODIFY": t0, "OPENED": "Y",
                                       AGENCY[0]: ("101" if ag in ("да", "yes") else "102") if ag else None}
        person_org = {}
        for d in export.deals:
            if d.get("person_id") and d["person_id"] not in person_org:
                person_org[d["person_id"]] = d.get("org_id") if d.get("org_id") in fake.companies else None
        for p in export.persons:
            bits = unique(p["name"]).strip().split(" ", 2)
            last, first, second = (bits + ["", "", ""])[:3] if len(bits) > 1 else ("", bits[0], "")
            fake.contacts[p["id"]] = {"ID": p["id"], "NAME": first, "LAST_NAME": last or None, "SECOND_NAME": second or None,
                                      "ASSIGNED_BY_ID": user(p.get("owner")), "COMPANY_ID": person_org.get(p["id"]), "DATE_CREATE": t0,
                                      "DATE_MODIFY": t0, "OPENED": "Y"}
        for d in export.deals:
            status = d.get("status") or "open"
            if status == "deleted":
                continue
            cid = category(d.get("pipeline") or next(iter(settings["pipelines"])))
            prefix = "" if cid == "0" else f"C{cid}:"
            sid = f"{prefix}WON" if status == "won" else f"{prefix}LOSE" if status == "lost" else stage(cid, d.get("stage") or "Принял в работу")
            created, changed = iso(d.get("created")), iso(d.get("stage_changed"))
            modified = max((x for x in (created, changed, t0) if x), key=lambda x: _t(x))
            rec = {"ID": d["id"], "TITLE": d.get("title") or "", "TYPE_ID": "SALE", "CATEGORY_ID": cid, "STAGE_ID": sid,
                   "STAGE_SEMANTIC_ID": {"won": "S", "lost": "F"}.get(status, "P"), "IS_NEW": "N", "CLOSED": "Y" if status != "open" else "N",
                   "OPPORTUNITY": f"{float(d['value']):.2f}" if d.get("value") not in (None, "") else "0.00", "CURRENCY_ID": d.get("currency") or "RUB",
                   "ASSIGNED_BY_ID": user(d.get("owner")), "COMPANY_ID": d.get("org_id") if d.get("org_id") in fake.companies else "0",
                   "CONTACT_ID": d.get("person_id") if d.get("person_id") in fake.contacts else None, "DATE_CREATE": created or t0,
                   "DATE_MODIFY": modified, "MOVED_TIME": changed or created or t0, "CLOSEDATE": changed if status != "open" else None,
                   LOST_REASON[0]: (d.get("lost_reason") or None) if status == "lost" else None}
            rec.update({k: (None if d.get(name) in (None, "") else str(d[name])) for name, k in deal_uf.items()})
            fake.deals[d["id"]] = rec
            first = min((s for s in fake.statuses if s["CATEGORY_ID"] == cid and not s["SEMANTICS"]), key=lambda s: int(s["SORT"]))["STATUS_ID"]
            if rec["MOVED_TIME"] != rec["DATE_CREATE"] and first != sid:
                fake.add_history(d["id"], first, rec["DATE_CREATE"], 1)  # created in the first stage, moved later
                fake.add_history(d["id"], sid, rec["MOVED_TIME"])
            else:
                fake.add_history(d["id"], sid, rec["DATE_CREATE"], 1)
        for a in export.activities:
            if a.get("due_date") is None:
                continue
            tm = dt.time.fromisoformat(a["due_time"]) if a.get("due_time") else dt.time(23, 59, 59)
            deal = a.get("deal_id") if a.get("deal_id") in fake.deals else None
            fake.activities[a["id"]] = {"ID": a["id"], "OWNER_ID": deal or "0", "OWNER_TYPE_ID": "2", "TYPE_ID": TYPE_IDS.get(a.get("type"), "6"),
                                        "PROVIDER_ID": "CRM_TODO", "SUBJECT": a.get("subject") or "—", "COMPLETED": "Y" if a.get("done") else "N",
                                        "RESPONSIBLE_ID": user(a.get("owner")), "DEADLINE": fake.iso(dt.datetime.combine(a["due_date"], tm, tz)),
                                        "CREATED": t0, "LAST_UPDATED": t0}
        latest = max(_t(r["DATE_MODIFY"]) for s in (fake.deals, fake.companies, fake.contacts) for r in s.values())
        fake.now = max(fake.now, latest + dt.timedelta(hours=1))
        return fake

    def write_export(self, folder: Path) -> None:
        """The portal as Bitrix24's list exports write it (CSV, «;», dates «dd.mm.yyyy hh:mm:ss»)."""
        from samplegen import DEAL_CUSTOM_FIELDS

        fmt = lambda v: _t(v).astimezone(self.tz).strftime("%d.%m.%Y %H:%M:%S") if v else ""  # noqa: E731
        user = lambda i: " ".join(x for x in (self.users[i]["NAME"], self.users[i]["LAST_NAME"]) if x)  # noqa: E731
        person = lambda c: " ".join(x for x in (c["LAST_NAME"], c["NAME"], c["SECOND_NAME"]) if x)  # noqa: E731
        stages = {s["STATUS_ID"]: s["NAME"] for s in self.statuses}
        labels = {k: f["listLabel"] for k, f in self.fields["crm.deal.fields"].items() if k.startswith("UF_")}
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "DEAL_20261120.csv", "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f, delimiter=";")
            w.writerow(["ID", "Название сделки", "Ответственный", "Сумма", "Валюта", "Компания", "Контакт", "Направление", "Стадия сделки",
                        "Дата создания", "Дата изменения", "Сделка закрыта", *labels.values()])
            for i, d in sorted(self.deals.items(), key=lambda x: int(x[0])):
                comp = self.companies.get(d["COMPANY_ID"])
                cont = self.contacts.get(d["CONTACT_ID"] or "")
                w.writerow([i, d["TITLE"], user(d["ASSIGNED_BY_ID"]), d["OPPORTUNITY"], d["CURRENCY_ID"], comp["TITLE"] if comp else "",
                            person(cont) if cont else "", self.categories[d["CATEGORY_ID"]]["name"], stages[d["STAGE_ID"]],
                            fmt(d["DATE_CREATE"]), fmt(d["DATE_MODIFY"]), "Да" if d["CLOSED"] == "Y" else "Нет",
                            *[d.get(k) or "" for k in labels]])
        assert set(DEAL_CUSTOM_FIELDS) <= set(labels.values())
        with open(folder / "COMPANY_20261120.csv", "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f, delimiter=";")
            w.writerow(["ID", "Название компании", "Ответственный", "Дата создания", AGENCY[1]])
            for i, c in sorted(self.companies.items(), key=lambda x: int(x[0])):
                w.writerow([i, c["TITLE"], user(c["ASSIGNED_BY_ID"]), fmt(c["DATE_CREATE"]), {"101": "Да", "102": "Нет"}.get(c.get(AGENCY[0]) or "", "")])
        with open(folder / "CONTACT_20261120.csv", "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f, delimiter=";")
            w.writerow(["ID", "ФИО", "Ответственный", "Компания", "Дата создания"])
            for i, c in sorted(self.contacts.items(), key=lambda x: int(x[0])):
                comp = self.companies.get(c["COMPANY_ID"] or "")
                w.writerow([i, person(c), user(c["ASSIGNED_BY_ID"]), comp["TITLE"] if comp else "", fmt(c["DATE_CREATE"])])
