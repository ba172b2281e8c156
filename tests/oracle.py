"""Test oracle: the 17 bundled rules of the reference (section 3), in plain Python.

Deliberately simple and independent of the product code (no pandas, no
DuckDB, no rule YAML): one loop over the deals, one ``if`` per rule, written
from the reference text.  It works on canonical records (``samplegen.Export``
or anything with ``deals``, ``organizations``, ``persons`` and ``activities``
lists of dicts) and returns the set of ``(rule_id, deal_id)`` the product must
report.

Interpretations made here (where the reference leaves a choice):

* "Organization name" (1.5, 1.6) is the organizations file's name when the
  deal's ``org_id`` is found there, else the deal's ``org_name``; the deal
  "has an organization" when ``org_id`` or ``org_name`` is non-empty.  The
  same for the contact person (persons file by ``person_id``, else the deal's
  ``person_name``).
* Owners (1.7) and «Агентство ли это» (1.12, 1.13) come from the
  organizations/persons files only; an ``org_id`` missing from the file has
  no owner and is not an agency.
* Stage *name* tests (2.2 «Принял в работу», 2.4 trial stages) compare the
  normalized stage name only, whatever the pipeline; "stage ≥ X" needs the
  deal's own pipeline (and stage) to be in the settings.
"""

from __future__ import annotations

import re
from datetime import date, datetime

RULE_IDS = (
    "open-deal-without-tasks",               # 1.1
    "frozen-deal-without-tasks",             # 1.2
    "missing-amount-after-proposal",         # 1.3
    "missing-traffic-or-budget",             # 1.4
    "invalid-name",                          # 1.5
    "partner-org-not-set",                   # 1.6
    "owner-mismatch",                        # 1.7
    "missing-source",                        # 1.8
    "missing-demo-recording",                # 1.9
    "missing-proposal-link",                 # 1.10
    "open-deal-without-organization",        # 1.11
    "partner-pipeline-org-not-agency",       # 1.12
    "partner-manager-deal-without-partner",  # 1.13
    "missing-city-or-country",               # 2.1
    "stuck-in-accepted",                     # 2.2
    "overdue-tasks",                         # 2.3
    "no-stage-movement",                     # 2.4
)

PLACEHOLDERS = ("тест", "test", "новая сделка", "new deal", "сделка", "deal",
                "контакт", "клиент", "без названия")
_PLACEHOLDER_RE = re.compile(
    r"^(?:" + "|".join(re.escape(p) for p in PLACEHOLDERS) + r") ?\d*$"
)
_ONLY_MARKS_RE = re.compile(r"^[?\-–—]+$")
YES = {"да", "yes", "true", "1"}


# -- field rules (reference, section 2) ---------------------------------------

def norm(value) -> str:
    """Comparison form: no surrounding spaces, lower case, «ё» as «е»."""
    if value is None:
        return ""
    return str(value).strip().lower().replace("ё", "е")


def is_empty(value) -> bool:
    return value is None or str(value).strip() == ""


def amount_missing(value) -> bool:
    if is_empty(value):
        return True
    try:
        return float(str(value).replace(" ", "").replace(",", ".")) == 0
    except ValueError:
        return False


def is_yes(value) -> bool:
    return norm(value) in YES


def as_date(value):
    """The date part of a date/datetime (or of an ISO string); None if empty."""
    if is_empty(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip()[:10])


def is_done(value) -> bool:
    if isinstance(value, bool):
        return value
    return norm(value) in {"done", "true", "1", "да", "yes", "выполнено"}


def name_is_invalid(name, person: bool = False) -> bool:
    """Rule 1.5's test of one name, judged on the value as exported."""
    raw = "" if name is None else str(name)
    if raw != raw.strip() or "  " in raw:
        return True
    trimmed = raw.strip()
    if len(trimmed) < 3 or not any(ch.isalpha() for ch in trimmed):
        return True
    if _PLACEHOLDER_RE.match(norm(trimmed)) or _ONLY_MARKS_RE.match(trimmed):
        return True
    if person and (any(ch.isdigit() for ch in trimmed) or "@" in trimmed):
        return True
    return False


def stage_at_least(deal, stage_x, pipelines) -> bool:
    """Stage ≥ X in the deal's own pipeline; unknown pipeline/stage is never ≥."""
    for pipeline_name, stages in pipelines.items():
        if norm(pipeline_name) == norm(deal.get("pipeline")):
            order = [norm(s) for s in stages]
            if norm(stage_x) not in order or norm(deal.get("stage")) not in order:
                return False
            return order.index(norm(deal.get("stage"))) >= order.index(norm(stage_x))
    return False


def _key(value) -> str:
    return "" if value is None else str(value).strip()


# -- the rules ----------------------------------------------------------------

def expected_violations(export, settings: dict, as_of: date) -> set[tuple[str, str]]:
    """{(rule_id, deal_id)} of every violation in `export` audited on `as_of`."""
    orgs = {_key(o.get("id")): o for o in export.organizations if _key(o.get("id"))}
    persons = {_key(p.get("id")): p for p in export.persons if _key(p.get("id"))}
    tasks: dict[str, list[dict]] = {}
    for a in export.activities:
        if not is_done(a.get("done")) and _key(a.get("deal_id")):
            tasks.setdefault(_key(a.get("deal_id")), []).append(a)

    pipelines = settings.get("pipelines") or {}
    frozen = {norm(r) for r in settings.get("frozen_lost_reasons") or []}
    partner_managers = {norm(m) for m in settings.get("partner_managers") or []}
    trial = {norm(s) for s in settings.get("trial_stages") or []}

    found: set[tuple[str, str]] = set()
    for deal in export.deals:
        deal_id = _key(deal.get("id"))
        status = norm(deal.get("status"))
        if status == "deleted":
            continue
        is_open = status == "open"
        open_or_won = status in ("open", "won")
        audited = status in ("open", "won", "lost")

        def flag(rule_id):
            found.add((rule_id, deal_id))

        deal_tasks = tasks.get(deal_id, [])
        org = orgs.get(_key(deal.get("org_id")))
        person = persons.get(_key(deal.get("person_id")))
        has_org = not is_empty(deal.get("org_id")) or not is_empty(deal.get("org_name"))
        has_person = not is_empty(deal.get("person_id")) or not is_empty(deal.get("person_name"))
        org_name = org.get("name") if org is not None else deal.get("org_name")
        person_name = person.get("name") if person is not None else deal.get("person_name")
        org_is_agency = org is not None and is_yes(org.get("Агентство ли это"))
        pipeline = norm(deal.get("pipeline"))
        stage = norm(deal.get("stage"))
        after_demo = stage_at_least(deal, "Проведено демо", pipelines)
        after_kp = stage_at_least(deal, "Отправлено КП", pipelines)
        partner_org_empty = is_empty(deal.get("Партнерская организация"))

        changed = as_date(deal.get("stage_changed")) or as_date(deal.get("created"))
        days_in_stage = (as_of - changed).days if changed is not None else None

        # 1.1
        if is_open and not deal_tasks:
            flag("open-deal-without-tasks")
        # 1.2
        if status == "lost" and norm(deal.get("lost_reason")) in frozen and not deal_tasks:
            flag("frozen-deal-without-tasks")
        # 1.3
        if open_or_won and after_kp and amount_missing(deal.get("value")):
            flag("missing-amount-after-proposal")
        # 1.4
        if open_or_won and after_kp and (is_empty(deal.get("Посещаемость"))
                                         or is_empty(deal.get("Бюджет"))):
            flag("missing-traffic-or-budget")
        # 1.5
        if is_open and (name_is_invalid(deal.get("title"))
                        or (has_person and name_is_invalid(person_name, person=True))
                        or (has_org and name_is_invalid(org_name))):
            flag("invalid-name")
        # 1.6
        if is_open and has_org and "от партнера" in norm(org_name) and partner_org_empty:
            flag("partner-org-not-set")
        # 1.7
        if is_open:
            deal_owner = norm(deal.get("owner"))
            owners = []
            if org is not None:
                owners.append(org.get("owner"))
            if person is not None:
                owners.append(person.get("owner"))
            if any(not is_empty(o) and norm(o) != deal_owner for o in owners):
                flag("owner-mismatch")
        # 1.8
        if audited and is_empty(deal.get("Источник сделки")):
            flag("missing-source")
        # 1.9
        if open_or_won and after_demo and is_empty(deal.get("Ссылка на запись демо")):
            flag("missing-demo-recording")
        # 1.10
        if open_or_won and after_kp and is_empty(deal.get("Ссылка на коммерческое предложение")):
            flag("missing-proposal-link")
        # 1.11
        if is_open and pipeline in ("клиенты", "партнеры") and not has_org:
            flag("open-deal-without-organization")
        # 1.12
        if is_open and pipeline == "партнеры" and has_org and not org_is_agency:
            flag("partner-pipeline-org-not-agency")
        # 1.13
        if (is_open and pipeline == "клиенты" and after_demo
                and norm(deal.get("owner")) in partner_managers and has_org
                and not org_is_agency and partner_org_empty):
            flag("partner-manager-deal-without-partner")
        # 2.1
        if audited and (is_empty(deal.get("Город")) or is_empty(deal.get("Страна"))):
            flag("missing-city-or-country")
        # 2.2
        if (is_open and stage == norm("Принял в работу")
                and days_in_stage is not None and days_in_stage > 7):
            flag("stuck-in-accepted")
        # 2.3
        if is_open and any(as_date(t.get("due_date")) is not None
                           and as_date(t.get("due_date")) < as_of for t in deal_tasks):
            flag("overdue-tasks")
        # 2.4
        if is_open and stage not in trial and days_in_stage is not None and days_in_stage > 14:
            flag("no-stage-movement")
    return found


def counts_by_rule(violations) -> dict[str, int]:
    """{rule_id: number of flagged deals}, every rule id present."""
    counts = dict.fromkeys(RULE_IDS, 0)
    for rule_id, _ in violations:
        counts[rule_id] = counts.get(rule_id, 0) + 1
    return counts
