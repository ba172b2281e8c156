"""One manager's to-do, ready to send as it is: Russian, only their deals, grouped by rule in code order.

Each finding: the deal title as the link, what exactly is wrong (the rule
sheet's evidence: the field and its value, the days in stage, the overdue
task's subject and date), the status and comment the manager gave, the
head's decision where there is one; the due date on top. Built from a
:class:`~crm_audit.history.review.Review` (pure), rendered as text
(``review --manager``), as a self-contained HTML page (``review --manager
NAME --html FILE``, the e-mail's HTML part) and as a Telegram message.
Nothing of the colleagues' numbers is in it.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field

from crm_audit.deal_label import deal_label
from crm_audit.history.review import Item, ManagerReview, Review, code_key
from crm_audit.notify.fmt import DAYS, DEALS, FINDINGS, RULES, date_text, plural, value_text
from crm_audit.history.changes import ManagerChanges, manager_changes
from crm_audit.report import STATUS_FIXED, STATUS_NEW, STATUS_NOT_FIXED


@dataclass
class TodoGroup:
    """The findings of one rule, in the order of the rule sheet (deal)."""

    rule_id: str
    code: str
    title: str  # "1.1 Открытые сделки без задач" (the sheet's title)
    what: str
    how: str
    items: list[Item]


@dataclass
class Todo:
    owner: str
    as_of: dt.date
    due_date: dt.date
    today: dt.date
    groups: list[TodoGroup]
    accepted: list[Item] = field(default_factory=list)  # accepted by the head: off the list
    since: dt.date | None = None  # the previous audit
    changes: ManagerChanges | None = None  # this manager's changes since the previous audit
    warnings_quarter: int = 0

    @property
    def total(self) -> int:
        return sum(len(g.items) for g in self.groups)

    @property
    def deals(self) -> int:
        return len({i.deal_id for g in self.groups for i in g.items})

    @property
    def overdue(self) -> bool:
        return self.today > self.due_date


def manager_todo(rv: Review, m: ManagerReview) -> Todo:
    """The to-do of manager ``m`` of the review ``rv`` (its open findings, grouped by rule in code order)."""
    by_rule: dict[str, list[Item]] = {}
    for i in m.open:
        by_rule.setdefault(i.rule_id, []).append(i)
    groups = []
    for rule_id, items in by_rule.items():
        info = rv.rules.get(rule_id)
        code = info.code if info else (items[0].code or "")
        groups.append(TodoGroup(rule_id, code, info.sheet if info else items[0].sheet or rule_id,
                                info.what if info else "", info.how if info else "", items))
    groups.sort(key=lambda g: (code_key(g.code) if g.code else ((9, 0, ""),), g.title))
    changes = since = None
    if rv.changes is not None and rv.changes.since is not None:
        since = rv.changes.since
        changes = manager_changes(rv.changes, m.owner)
    return Todo(m.owner, rv.as_of, rv.due_date, rv.today, groups, list(m.accepted), since, changes, m.warnings_quarter)


# --------------------------------------------------------------------------- what a finding says


def evidence_text(item: Item) -> str:
    """«Просроченная задача: Позвонить; Срок задачи: 19.11.2026»."""
    return "; ".join(f"{title}: {value_text(value)}" for title, value in item.evidence)


def status_text(item: Item, overdue: bool) -> str:
    """The status and comment the manager gave, and what that means now."""
    comment = f": «{item.comment}»" if item.comment else ""
    if item.invalid:
        return (f"статус «{item.status}» не из списка — выберите «{STATUS_FIXED}» или «{STATUS_NOT_FIXED}»"
                + comment + (" (срок прошёл)" if overdue else ""))
    if item.status == STATUS_NOT_FIXED:
        if not item.comment:
            return f"«{STATUS_NOT_FIXED}» без комментария — напишите, почему (комментарий обязателен)"
        return f"«{STATUS_NOT_FIXED}»{comment} — ждёт решения руководителя" if item.waiting else f"«{STATUS_NOT_FIXED}»{comment}"
    return f"«{item.status or STATUS_NEW}»{comment}" + (" — срок прошёл" if overdue and item.status in (STATUS_NEW, "") else "")


def _changes_line(t: Todo) -> str | None:
    if t.changes is None or t.since is None:
        return None
    c = t.changes
    parts = [f"новых {c.new}", f"исправлено {c.resolved}", f"осталось {c.still_open}"]
    if c.fixed_failing:
        parts.append(f"отмечено «{STATUS_FIXED}», но нарушение осталось: {c.fixed_failing}")
    if c.accepted:
        parts.append(f"принято руководителем {c.accepted}")
    if c.warned:
        parts.append(f"предупреждений {c.warned}")
    if c.handed_over:
        parts.append(f"передано другому менеджеру (сделка сменила ответственного) {c.handed_over}")
    if c.taken_over:
        parts.append(f"получено от другого менеджера {c.taken_over}")
    return f"С прошлого аудита ({date_text(t.since)}): " + ", ".join(parts) + "."


def headline(t: Todo) -> str:
    if not t.total:
        return f"{t.owner}, по аудиту CRM от {date_text(t.as_of)} у вас нет открытых нарушений. Спасибо!"
    return (f"{t.owner}, по аудиту CRM от {date_text(t.as_of)} у вас {plural(t.total, FINDINGS)} "
            f"({plural(t.deals, DEALS)}, {plural(len(t.groups), RULES)}).")


def due_line(t: Todo) -> str:
    if t.overdue:
        late = (t.today - t.due_date).days
        return f"Срок был {date_text(t.due_date)} — прошло {plural(late, DAYS)}: обработайте, пожалуйста, сегодня."
    left = (t.due_date - t.today).days
    return f"Срок: до {date_text(t.due_date)}" + (f" (осталось {plural(left, DAYS)})." if left else " (сегодня).")


HOW_TO = (f"Что сделать: исправьте сделку в CRM и поставьте в документе аудита «{STATUS_FIXED}»; если исправить нельзя — "
          f"«{STATUS_NOT_FIXED}» и комментарий, почему.")


def subject(t: Todo) -> str:
    if not t.total:
        return f"Аудит CRM от {date_text(t.as_of)}: открытых нарушений нет"
    return f"Аудит CRM от {date_text(t.as_of)}: {plural(t.total, FINDINGS)} — срок до {date_text(t.due_date)}"


# --------------------------------------------------------------------------- text


def todo_text(t: Todo) -> list[str]:
    """The to-do as plain text lines (the terminal, the e-mail's text part)."""
    lines = [headline(t)]
    if t.total:
        lines.append(due_line(t))
    ch = _changes_line(t)
    if ch:
        lines.append(ch)
    if t.total:
        lines += [HOW_TO]
    for g in t.groups:
        lines += ["", f"{g.title} — {len(g.items)}"]
        if g.what:
            lines.append(f"  Что не так: {g.what}")
        if g.how:
            lines.append(f"  Как исправить: {g.how}")
        for i in g.items:
            lines.append(f"  • «{deal_label(i.title, i.deal_id)}» (сделка {i.deal_id})" + (f" {i.url}" if i.url else ""))
            ev = evidence_text(i)
            if ev:
                lines.append(f"      {ev}")
            lines.append(f"      Статус: {status_text(i, t.overdue)}")
            if i.note:
                lines.append(f"      Примечание: {i.note}")
    if t.accepted:
        lines += ["", f"Принято руководителем (из списка убрано): {len(t.accepted)}"]
        lines += [f"  • «{deal_label(i.title, i.deal_id)}» (сделка {i.deal_id}, {i.sheet})" for i in t.accepted]
    return lines


# --------------------------------------------------------------------------- HTML


def render_todo_html(t: Todo, title: str = "Список дел по аудиту CRM") -> str:
    """A self-contained page (no scripts, no external files): the manager's page and the e-mail's HTML part."""
    from crm_audit.notify.templates import environment

    return environment().get_template("todo.html.j2").render(t=t, title=title, headline=headline(t), due_line=due_line(t),
                                                              changes_line=_changes_line(t), how_to=HOW_TO,
                                                              evidence_text=evidence_text, status_text=status_text)


# --------------------------------------------------------------------------- Telegram


def todo_telegram(t: Todo) -> list[str]:
    """The to-do as Telegram HTML lines (each line closes its own tags, so a message can be split between lines)."""
    e = html.escape
    lines = [f"<b>{e(headline(t))}</b>"]
    if t.total:
        lines.append(e(due_line(t)))
    ch = _changes_line(t)
    if ch:
        lines.append(e(ch))
    for g in t.groups:
        lines += ["", f"<b>{e(g.title)}</b> — {len(g.items)}"]
        if g.how:
            lines.append(f"<i>{e(g.how)}</i>")
        for i in g.items:
            name = e(deal_label(i.title, i.deal_id))
            link = f'<a href="{e(i.url, quote=True)}">{name}</a>' if i.url else name
            ev = evidence_text(i)
            lines.append(f"• {link}" + (f" — {e(ev)}" if ev else "") + f". Статус: {e(status_text(i, t.overdue))}")
    if t.accepted:
        lines += ["", e(f"Принято руководителем (из списка убрано): {len(t.accepted)}")]
    return lines
