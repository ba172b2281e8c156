"""The head of sales' review: who is unresolved, who keeps appearing.

Built from the ledger only (after the latest document has been pulled):
:func:`review_inputs` reads it once, :func:`make_review` is a pure function
over that data. A finding is counted as the document shows it: accepted by
the head (CLI or «Принято») leaves open / overdue / to-do; a hand-typed
status the drop-down does not know is invalid and counts as not handled;
«Исправлено» still failing in a new export is its own number, separate from
"also in earlier audits".
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from typing import Any

from crm_audit.history.changes import changes_between_latest, manager_changes
from crm_audit.history.ledger import Ledger
from crm_audit.report import STATUS_FIXED, STATUS_NEW, STATUS_NOT_FIXED, STATUSES, Changes, is_derived_key

NO_OWNER = "(без ответственного)"


@dataclass
class Item:
    rule_id: str
    deal_id: str
    owner: str
    title: str
    status: str
    comment: str | None
    streak: int
    repeat: bool
    url: str = ""
    sheet: str = ""
    note: str | None = None
    accepted: bool = False  # the head of sales accepted it (CLI or «Принято» in the document)
    invalid: bool = False  # the status is not one of the drop-down's values (kept as typed)
    evidence: list[tuple[str, str | None]] = field(default_factory=list)  # (column title, value as text) as the sheet showed
    code: str = ""  # the rule's code, e.g. "1.1"
    waiting: bool = False  # «Не исправлено» with a comment, no decision yet


@dataclass(frozen=True)
class RuleInfo:
    """What the review shows of a rule: its code (the to-do's order), title, sheet and FAQ."""

    code: str
    title: str
    sheet: str
    what: str = ""
    why: str = ""
    how: str = ""


def rule_infos(rules) -> dict[str, RuleInfo]:
    """rule id -> :class:`RuleInfo` from loaded rules (``crm_audit.rules.lang.Rule``)."""
    return {r.id: RuleInfo(r.code, r.title, r.sheet_title, r.what, r.why, r.how) for r in rules}


def code_key(code: str) -> tuple:
    """Rule codes in their natural order: 1.2 before 1.10, then 2.1."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in str(code).split("."))


def evidence_pairs(flat: list | None) -> list[tuple[str, str | None]]:
    """The ledger's ``[title, value, title, value, …]`` as pairs."""
    flat = list(flat or [])
    return [(str(flat[i]), flat[i + 1]) for i in range(0, len(flat) - 1, 2)]


@dataclass
class ManagerReview:
    owner: str
    open: list[Item] = field(default_factory=list)  # not fixed and not accepted
    overdue: list[Item] = field(default_factory=list)  # past the due date, still not handled («Не обработано» or an invalid status)
    waiting: list[Item] = field(default_factory=list)  # «Не исправлено» with a comment, no decision yet
    no_comment: list[Item] = field(default_factory=list)  # «Не исправлено» without a comment
    invalid: list[Item] = field(default_factory=list)  # a status the drop-down does not know (not handled)
    fixed_failing: list[Item] = field(default_factory=list)  # marked «Исправлено» before, still failing in a new export
    repeats: list[Item] = field(default_factory=list)  # also in earlier audits (audits in a row > 1)
    accepted: list[Item] = field(default_factory=list)  # accepted by the head: out of open / overdue / to-do
    warnings_quarter: int = 0


@dataclass
class Review:
    as_of: dt.date | None
    due_date: dt.date | None
    today: dt.date
    managers: list[ManagerReview]
    audits: list[dt.date]
    hits_by_manager: dict[str, list[int]]  # owner -> hits per audit (same order as audits)
    hits_by_rule: dict[str, list[int]]  # rule id -> hits per audit
    rule_sheets: dict[str, str]
    waivers: int = 0
    changes: Changes | None = None  # since the audit before the latest
    rules: dict[str, RuleInfo] = field(default_factory=dict)  # rule id -> code, title, FAQ (when the caller gave the rules)

    @property
    def totals(self) -> dict[str, int]:
        keys = ("open", "overdue", "waiting", "no_comment", "invalid", "fixed_failing", "repeats", "accepted")
        out = {k: sum(len(getattr(m, k)) for m in self.managers) for k in keys}
        out["warnings_quarter"] = sum(m.warnings_quarter for m in self.managers)
        return out


def name_key(name: str | None) -> str:
    """A manager's name as typed to find them (``review --manager``, ``notify.managers``): case, «ё», outer and inner
    spaces do not matter («иван  пётров» is «Иван Петров»)."""
    from crm_audit.textnorm import norm

    return " ".join(norm(name).split())


def closest_manager(name: str, names: list[str]) -> str | None:
    """The manager ``name`` probably means («did you mean …»): the only one whose name has all its words (a first
    name, a surname: «Юлия» → «Юлия Фёдорова»), else the closest spelling; None when nothing is close."""
    from crm_audit.rules.ruleset import closest

    words = name_key(name).split()
    if not words:
        return None
    having = [n for n in dict.fromkeys(names) if set(words) <= set(name_key(n).split())]
    if len(having) == 1:
        return having[0]
    by_key = {name_key(n): n for n in names}
    hit = closest(" ".join(words), list(by_key))
    return by_key[hit] if hit else None


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


@dataclass
class ReviewInputs:
    """What the review needs from the ledger, read once."""

    audits: list[Any]
    findings: list[Any]  # the latest audit's findings (ledger rows)
    edits: dict[tuple[str, str], Any]  # the last edit per finding of the latest audit's document
    decided: dict[tuple[str, str], str]  # -> 'accepted' | 'warning'
    owner_counts: dict[str, int]
    hits: list[Any]  # (audit_id, owner, rule_id, n)
    warnings: list[Any]  # the head's warnings this quarter
    waivers: int
    changes: Changes | None = None
    active_waivers: list[Any] = field(default_factory=list)  # accepted findings, in the audit or kept out of it
    deal_titles: dict[str, str] = field(default_factory=dict)  # deal id -> title as last audited (for accepted findings kept out)


def review_inputs(ledger: Ledger, today: dt.date) -> ReviewInputs:
    audits = ledger.audits()
    latest = audits[-1] if audits else None
    hits = ledger.hits()
    owner_counts: dict[str, int] = {}
    for r in hits:
        owner_counts[r["owner"] or NO_OWNER] = owner_counts.get(r["owner"] or NO_OWNER, 0) + r["n"]
    return ReviewInputs(
        audits=audits,
        findings=ledger.audit_findings(latest["id"]) if latest is not None else [],
        edits=ledger.last_edits(latest["id"]) if latest is not None else {},  # only these count as this audit's words
        decided=ledger.decided(latest["id"]) if latest is not None else {},
        owner_counts=owner_counts,
        hits=hits,
        warnings=ledger.warnings(since=quarter_start(today)),
        waivers=len(ledger.waivers()),
        changes=changes_between_latest(ledger),
        active_waivers=(waivers := ledger.waivers()),
        deal_titles=_deal_titles(ledger, audits, {str(w.deal_id) for w in waivers}),
    )


def _deal_titles(ledger: Ledger, audits: list[Any], deals: set[str]) -> dict[str, str]:
    """The title of each deal as the latest audit that had it showed it (accepted findings the audit kept out)."""
    out: dict[str, str] = {}
    for a in reversed(audits):
        wanted = sorted(deals - out.keys())
        if not wanted:
            break
        for r in ledger._find(a["id"], "WHERE deal_id IN (SELECT unnest(?::VARCHAR[]))", [wanted]):
            if r["title"] and r["deal_id"] not in out:
                out[r["deal_id"]] = r["title"]
    return out


def _link(deal_url: str, deal_id: str) -> str:
    """The deal's link in the CRM; none for a deal whose export had no ids (its key derived from the row, L10)."""
    return deal_url.replace("{id}", deal_id) if deal_url and not is_derived_key(deal_id) else ""


def build_review(ledger: Ledger, *, due_days: int = 3, today: dt.date | None = None, deal_url: str = "",
                 rule_sheets: dict[str, str] | None = None, manager: str | None = None,
                 rules: dict[str, RuleInfo] | None = None) -> Review:
    today = today or dt.date.today()
    return make_review(review_inputs(ledger, today), due_days=due_days, today=today, deal_url=deal_url,
                       rule_sheets=rule_sheets, manager=manager, rules=rules)


def make_review(data: ReviewInputs, *, due_days: int, today: dt.date, deal_url: str = "",
                rule_sheets: dict[str, str] | None = None, manager: str | None = None,
                rules: dict[str, RuleInfo] | None = None) -> Review:
    """The review (pure: from what :func:`review_inputs` read)."""
    from crm_audit.textnorm import display_names, norm

    rules = rules or {}
    rule_sheets = {**{k: r.sheet for k, r in rules.items()}, **(rule_sheets or {})}
    audits = data.audits
    latest = audits[-1] if audits else None
    by_owner: dict[str, ManagerReview] = {}
    # one manager however the CRM spells the name (case, spaces, «ё»), shown as on «Учет попаданий»
    names = display_names(data.owner_counts)

    def mgr(owner: str | None) -> ManagerReview:
        o = owner or NO_OWNER
        key = norm(o)
        if key not in by_owner:
            by_owner[key] = ManagerReview(names.get(o, o))
        return by_owner[key]

    as_of = due = None
    if latest is not None:
        as_of = dt.date.fromisoformat(latest["as_of"])
        due = as_of + dt.timedelta(days=due_days)
        for r in data.findings:
            key = (r["rule_id"], r["deal_id"])
            e = data.edits.get(key)
            # this audit's words (Ledger.last_edits: its documents', or typed into an older file after it ran)
            fresh = e is not None
            if fresh:
                status, invalid = (e["status"] or e["status_raw"] or STATUS_NEW), (e["status"] is None and bool(e["status_raw"]))
            else:
                status = r["status"] or STATUS_NEW
                invalid = status not in STATUSES
            comment = e["comment"] if fresh else r["comment"]
            item = Item(r["rule_id"], r["deal_id"], r["owner"] or NO_OWNER, r["title"] or "", status, comment,
                        int(r["streak"]), bool(r["repeat"]), _link(deal_url, r["deal_id"]),
                        rule_sheets.get(r["rule_id"], r["rule_id"]), r["note"],
                        accepted=data.decided.get(key) == "accepted", invalid=invalid,
                        evidence=evidence_pairs(r.get("evidence")),
                        code=rules[r["rule_id"]].code if r["rule_id"] in rules else "")
            m = mgr(r["owner"])
            if item.repeat:
                m.fixed_failing.append(item)
            if item.streak > 1:
                m.repeats.append(item)
            if item.accepted:
                m.accepted.append(item)
                continue  # the head accepted it: nothing left to do
            if status == STATUS_FIXED:
                continue  # the manager says it is fixed; the next audit checks
            m.open.append(item)
            if invalid:
                m.invalid.append(item)
            if (status == STATUS_NEW or invalid) and today > due:
                m.overdue.append(item)
            if status == STATUS_NOT_FIXED:
                if not comment:
                    m.no_comment.append(item)
                elif key not in data.decided:
                    item.waiting = True
                    m.waiting.append(item)
        # accepted findings the audit kept out (a re-run of the audit removes them): still shown as accepted
        listed = {(i.rule_id, i.deal_id) for m in by_owner.values() for i in m.accepted}
        for w in data.active_waivers:
            if (w.rule_id, w.deal_id) not in listed:
                mgr(w.owner).accepted.append(Item(
                    w.rule_id, w.deal_id, w.owner or NO_OWNER, data.deal_titles.get(str(w.deal_id), ""), STATUS_NEW, w.note, 0, False,
                    _link(deal_url, w.deal_id), rule_sheets.get(w.rule_id, w.rule_id), None,
                    accepted=True, code=rules[w.rule_id].code if w.rule_id in rules else ""))
    for w in data.warnings:
        mgr(w["owner"]).warnings_quarter += 1
    # history: hits per manager and per rule over the audits
    dates = [dt.date.fromisoformat(a["as_of"]) for a in audits]
    index = {a["id"]: i for i, a in enumerate(audits)}
    hm: dict[str, list[int]] = defaultdict(lambda: [0] * len(audits))
    hr: dict[str, list[int]] = defaultdict(lambda: [0] * len(audits))
    for r in data.hits:
        i = index.get(r["audit_id"])
        if i is None:
            continue
        hm[mgr(r["owner"]).owner][i] += r["n"]
        hr[r["rule_id"]][i] += r["n"]
    managers = sorted(by_owner.values(), key=lambda m: (-len(m.open), -len(m.overdue), m.owner))
    if manager:
        managers = [m for m in managers if name_key(m.owner) == name_key(manager)]
    changes = data.changes
    if manager and changes is not None:
        name = managers[0].owner if managers else manager
        changes = Changes(changes.since, changes.as_of, manager_changes(changes, name),
                          {n: c for n, c in changes.by_manager.items() if norm(n) == norm(name)})
    return Review(as_of, due, today, managers, dates, dict(hm), dict(hr), rule_sheets, data.waivers, changes, rules)


def render_html(rv: Review, title: str = "Разбор аудита CRM") -> str:
    """The head of sales' page: self-contained (inline CSS and SVG, no scripts, no network), prints on A4."""
    from crm_audit.notify.templates import environment

    return environment().get_template("review.html.j2").render(rv=rv, title=title, charts=_charts(rv))


PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
TOP = 10  # lines per chart; the rest are said under it


def _charts(rv: Review) -> list[dict]:
    charts = []
    for name, series in (("Попадания по менеджерам", rv.hits_by_manager), ("Попадания по правилам", rv.hits_by_rule)):
        ranked = sorted(series.items(), key=lambda kv: (-sum(kv[1]), str(rv.rule_sheets.get(kv[0], kv[0]))))
        top = ranked[:TOP]
        lines = [{"name": rv.rule_sheets.get(k, k), "values": v, "color": PALETTE[i % len(PALETTE)]} for i, (k, v) in enumerate(top)]
        charts.append({"title": name, "series": lines, "svg": line_chart_svg(lines, [d.strftime("%d.%m.%y") for d in rv.audits], name),
                       "more": len(ranked) - len(top)})
    return charts


def nice_ticks(peak: int, count: int = 5) -> list[int]:
    """Round y-axis ticks from 0 to at least ``peak``: 0, 5, 10 … or 0, 20, 40 … (steps 1, 2, 5 × 10ⁿ)."""
    peak = max(int(peak), 1)
    raw = peak / count
    mag = 10 ** max(len(str(int(raw))) - 1, 0) if raw >= 1 else 1
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    top = -(-peak // step) * step
    return list(range(0, top + 1, step))


def line_chart_svg(series: list[dict], labels: list[str], title: str, width: int = 560, height: int = 240) -> str:
    """A line chart as inline SVG: a y axis with round ticks and grid lines, the audit dates on the x axis,
    a dot on every value (a single audit still shows its points), the value on the last dot."""
    from html import escape

    left, right, top, bottom = 44, 16, 12, 42
    w, h = width - left - right, height - top - bottom
    n = len(labels)
    ticks = nice_ticks(max([max(s["values"]) for s in series if s["values"]] + [1]))
    ymax = ticks[-1]

    def x(i: int) -> float:
        return left + (w / 2 if n == 1 else i * w / (n - 1))

    def y(v: float) -> float:
        return top + h - v / ymax * h

    out = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
           f'font-family="Arial, sans-serif" font-size="11">']
    for t in ticks:
        out.append(f'<line x1="{left}" y1="{y(t):.1f}" x2="{left + w}" y2="{y(t):.1f}" stroke="{"#999" if t == 0 else "#e5e5e5"}"/>'
                   f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" fill="#444">{t}</text>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#999"/>')
    every = max(1, -(-n // 12))  # at most ~12 date labels
    for i, label in enumerate(labels):
        if i % every == 0 or i == n - 1:
            out.append(f'<line x1="{x(i):.1f}" y1="{top + h}" x2="{x(i):.1f}" y2="{top + h + 4}" stroke="#999"/>'
                       f'<text x="{x(i):.1f}" y="{top + h + 16}" text-anchor="middle" fill="#444">{escape(label)}</text>')
    out.append(f'<text x="{left + w / 2:.1f}" y="{height - 4}" text-anchor="middle" fill="#666">дата аудита</text>')
    out.append(f'<text x="12" y="{top + h / 2:.1f}" text-anchor="middle" fill="#666" transform="rotate(-90 12 {top + h / 2:.1f})">'
               f'нарушений</text>')
    for s in series:
        pts = [(x(i), y(v)) for i, v in enumerate(s["values"])]
        if len(pts) > 1:
            out.append(f'<polyline fill="none" stroke="{s["color"]}" stroke-width="2" points="'
                       + " ".join(f"{px:.1f},{py:.1f}" for px, py in pts) + '"/>')
        for (px, py), v in zip(pts, s["values"]):
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{s["color"]}"><title>{escape(str(s["name"]))}: {v}</title></circle>')
    out.append("</svg>")
    return "".join(out)
