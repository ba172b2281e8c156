"""The head of sales' review: who is unresolved, who keeps appearing.

Built from the ledger only (after the latest document has been pulled), so
it answers for any past audit as well as the current one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from crm_audit.history.ledger import Ledger
from crm_audit.report import STATUS_FIXED, STATUS_NEW, STATUS_NOT_FIXED

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


@dataclass
class ManagerReview:
    owner: str
    open: list[Item] = field(default_factory=list)
    overdue: list[Item] = field(default_factory=list)  # past the due date, still «Не обработано»
    waiting: list[Item] = field(default_factory=list)  # «Не исправлено» with a comment, no decision yet
    no_comment: list[Item] = field(default_factory=list)  # «Не исправлено» without a comment
    repeats: list[Item] = field(default_factory=list)
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

    @property
    def totals(self) -> dict[str, int]:
        keys = ("open", "overdue", "waiting", "no_comment", "repeats")
        out = {k: sum(len(getattr(m, k)) for m in self.managers) for k in keys}
        out["warnings_quarter"] = sum(m.warnings_quarter for m in self.managers)
        return out


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def build_review(ledger: Ledger, *, due_days: int = 3, today: dt.date | None = None, deal_url: str = "",
                 rule_sheets: dict[str, str] | None = None, manager: str | None = None) -> Review:
    from crm_audit.textnorm import display_names, norm

    today = today or dt.date.today()
    rule_sheets = rule_sheets or {}
    audits = ledger.audits()
    latest = audits[-1] if audits else None
    by_owner: dict[str, ManagerReview] = {}

    # one manager however the CRM spells the name (case, spaces, «ё»), shown as on «Учет попаданий»
    names = display_names({r[0] or NO_OWNER: r[1] for r in ledger.con.execute(
        "SELECT owner, count(*) FROM finding_audits GROUP BY owner")})

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
        edits = ledger.last_edits()
        decided = {
            (r["rule_id"], r["deal_id"])
            for r in ledger.con.execute(
                "SELECT rule_id, deal_id FROM decisions WHERE (kind='accepted' AND active=1) OR (kind='warning' AND audit_id=?)",
                (latest["id"],),
            )
        }
        rows = ledger.con.execute(
            "SELECT fa.*, f.title FROM finding_audits fa LEFT JOIN findings f USING (rule_id, deal_id) "
            "WHERE fa.audit_id = ? ORDER BY fa.owner, fa.rule_id, CAST(fa.deal_id AS INTEGER), fa.deal_id",
            (latest["id"],),
        ).fetchall()
        for r in rows:
            key = (r["rule_id"], r["deal_id"])
            e = edits.get(key)
            fresh = e is not None and e["audit_id"] == latest["id"]
            status = (e["status"] or e["status_raw"] or STATUS_NEW) if fresh else (r["status"] or STATUS_NEW)
            comment = e["comment"] if fresh else r["comment"]
            item = Item(r["rule_id"], r["deal_id"], r["owner"] or NO_OWNER, r["title"] or "", status, comment,
                        int(r["streak"]), bool(r["repeat"]), deal_url.replace("{id}", r["deal_id"]) if deal_url else "",
                        rule_sheets.get(r["rule_id"], r["rule_id"]), r["note"])
            m = mgr(r["owner"])
            if status == STATUS_FIXED:
                continue  # the manager says it is fixed; the next audit checks
            m.open.append(item)
            if status == STATUS_NEW and today > due:
                m.overdue.append(item)
            if status == STATUS_NOT_FIXED:
                if not comment:
                    m.no_comment.append(item)
                elif key not in decided:
                    m.waiting.append(item)
            if item.repeat or item.streak > 1:
                m.repeats.append(item)
    for w in ledger.warnings(since=quarter_start(today)):
        mgr(w["owner"]).warnings_quarter += 1
    # history: hits per manager and per rule over the audits
    dates = [dt.date.fromisoformat(a["as_of"]) for a in audits]
    index = {a["id"]: i for i, a in enumerate(audits)}
    hm: dict[str, list[int]] = defaultdict(lambda: [0] * len(audits))
    hr: dict[str, list[int]] = defaultdict(lambda: [0] * len(audits))
    for r in ledger.con.execute("SELECT audit_id, owner, rule_id, count(*) AS n FROM finding_audits GROUP BY audit_id, owner, rule_id"):
        i = index.get(r["audit_id"])
        if i is None:
            continue
        hm[mgr(r["owner"]).owner][i] += r["n"]
        hr[r["rule_id"]][i] += r["n"]
    managers = sorted(by_owner.values(), key=lambda m: (-len(m.open), -len(m.overdue), m.owner))
    if manager:
        managers = [m for m in managers if norm(m.owner) == norm(manager)]
    return Review(as_of, due, today, managers, dates, dict(hm), dict(hr), rule_sheets, len(ledger.waivers()))


def review_lines(rv: Review) -> list[str]:
    if rv.as_of is None:
        return ["No audits in the ledger yet: run `crm-audit run` first."]
    lines = [
        f"Review of the audit as of {rv.as_of:%d.%m.%Y} (managers' due date {rv.due_date:%d.%m.%Y}, today {rv.today:%d.%m.%Y}).",
        "",
        f"{'manager':<28} {'open':>5} {'overdue':>8} {'waiting':>8} {'no comment':>11} {'repeats':>8} {'warnings (qtr)':>15}",
    ]
    for m in rv.managers:
        lines.append(
            f"{m.owner[:28]:<28} {len(m.open):>5} {len(m.overdue):>8} {len(m.waiting):>8} {len(m.no_comment):>11} {len(m.repeats):>8} {m.warnings_quarter:>15}"
        )
    waiting = [i for m in rv.managers for i in m.waiting]
    if waiting:
        lines += ["", "«Не исправлено», waiting for your decision (crm-audit accept / warn RULE DEAL):"]
        for i in waiting:
            lines.append(f"  {i.owner}: {i.rule_id} {i.deal_id} «{i.title}» — {i.comment}")
    missing = [i for m in rv.managers for i in m.no_comment]
    if missing:
        lines += ["", "«Не исправлено» without the mandatory comment:"]
        for i in missing:
            lines.append(f"  {i.owner}: {i.rule_id} {i.deal_id} «{i.title}»")
    if rv.waivers:
        lines += ["", f"{rv.waivers} accepted finding(s) are waived (crm-audit waivers)."]
    return lines


def todo_lines(rv: Review) -> list[str]:
    """A manager's own to-do list, grouped by sheet, with links."""
    lines = []
    for m in rv.managers:
        lines.append(f"{m.owner}: {len(m.open)} open finding(s) in the audit of {rv.as_of:%d.%m.%Y}; finish by {rv.due_date:%d.%m.%Y}.")
        by_sheet: dict[str, list[Item]] = defaultdict(list)
        for i in m.open:
            by_sheet[i.sheet].append(i)
        for sheet, items in by_sheet.items():
            lines.append(f"\n  {sheet}")
            for i in items:
                extra = f" — {i.status}" + (f": {i.comment}" if i.comment else "")
                lines.append(f"    • {i.title or i.deal_id} {i.url}{extra}")
    return lines or ["No open findings for this manager."]


def render_html(rv: Review, title: str = "Разбор аудита CRM") -> str:
    import jinja2

    from crm_audit.resources import templates_dir

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), autoescape=True)
    env.globals["polyline"] = _polyline
    return env.get_template("review.html.j2").render(rv=rv, title=title, charts=_charts(rv))


PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def _charts(rv: Review) -> list[dict]:
    charts = []
    for name, series in (("Попадания по менеджерам", rv.hits_by_manager), ("Попадания по правилам", rv.hits_by_rule)):
        top = sorted(series.items(), key=lambda kv: -sum(kv[1]))[:10]
        peak = max([max(v) for _, v in top] + [1])
        charts.append({
            "title": name,
            "series": [{"name": rv.rule_sheets.get(k, k), "values": v, "color": PALETTE[i % len(PALETTE)]} for i, (k, v) in enumerate(top)],
            "peak": peak,
            "labels": [d.strftime("%d.%m") for d in rv.audits],
        })
    return charts


def _polyline(values: list[int], peak: int, width: int = 560, height: int = 200, pad: int = 30) -> str:
    n = len(values)
    if n == 0:
        return ""
    step = (width - 2 * pad) / max(n - 1, 1)
    pts = [(pad + i * step if n > 1 else width / 2, height - pad - (v / peak) * (height - 2 * pad)) for i, v in enumerate(values)]
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
