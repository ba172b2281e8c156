"""The head of sales' digest: who is unresolved, who keeps appearing, what waits for a decision, what changed.

Pure over a :class:`~crm_audit.history.review.Review`; rendered as text (the
e-mail's text part), HTML (``templates/digest.html.j2``) and Telegram lines.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from crm_audit.deal_label import deal_label
from crm_audit.history.review import Item, Review, code_key
from crm_audit.notify.fmt import AUDITS, FINDINGS, date_text, plural, plural_form
from crm_audit.report import STATUS_FIXED


@dataclass
class Appearing:
    """A manager who keeps appearing: in how many of the audits they had findings, and how many are repeats now."""

    owner: str
    audits_with_hits: int
    audits: int
    in_a_row: int  # audits in a row up to the latest with findings
    repeats: int  # findings of the latest audit also in earlier audits


def keeps_appearing(rv: Review) -> list[Appearing]:
    n = len(rv.audits)
    repeats = {m.owner: len(m.repeats) for m in rv.managers}
    out = []
    for owner, hits in rv.hits_by_manager.items():
        row = 0
        for v in reversed(hits):
            if not v:
                break
            row += 1
        with_hits = sum(1 for v in hits if v)
        if with_hits:
            out.append(Appearing(owner, with_hits, n, row, repeats.get(owner, 0)))
    return sorted(out, key=lambda a: (-a.in_a_row, -a.repeats, -a.audits_with_hits, a.owner))


def waiting_items(rv: Review) -> list[Item]:
    """What waits for the head's decision: manager by manager, each one's findings in rule code order (1.2 before 1.10)."""
    return [i for m in rv.managers for i in sorted(m.waiting, key=lambda i: (code_key(i.code or "9"), str(i.deal_id)))]


def subject(rv: Review) -> str:
    t = rv.totals
    return (f"Аудит CRM от {date_text(rv.as_of)}: открыто {t['open']}, ждут вашего решения {t['waiting']}"
            + (f", просрочено {t['overdue']}" if t["overdue"] else ""))


def _changes_line(rv: Review) -> str | None:
    ch = rv.changes
    if ch is None or ch.since is None:
        return None
    c = ch.team
    return (f"С прошлого аудита ({date_text(ch.since)}): новых {c.new}, исправлено {c.resolved}, осталось {c.still_open}, "
            f"отмечено «{STATUS_FIXED}», но нарушение осталось: {c.fixed_failing}, принято {c.accepted}, предупреждений {c.warned}.")


def manager_changes_text(c) -> str:
    """One manager's numbers since the previous audit, as the text part and Telegram say them (zeros left out after
    the first three): «+18 новых, −4 исправлено, 9 осталось, «Исправлено», но осталось 1, принято 2, предупреждений 2»."""
    parts = [f"+{c.new} {plural_form(c.new, ('новое', 'новых', 'новых'))}", f"−{c.resolved} исправлено", f"{c.still_open} осталось"]
    for n, text in ((c.fixed_failing, f"«{STATUS_FIXED}», но осталось"), (c.accepted, "принято"), (c.warned, "предупреждений"),
                    (getattr(c, "handed_over", 0), "передано другим (сделки сменили ответственного)"),
                    (getattr(c, "taken_over", 0), "получено от других")):
        if n:
            parts.append(f"{text} {n}")
    return ", ".join(parts)


def digest_text(rv: Review) -> list[str]:
    t = rv.totals
    lines = [f"Аудит CRM от {date_text(rv.as_of)}: сводка для руководителя (срок для менеджеров {date_text(rv.due_date)}, "
             f"сегодня {date_text(rv.today)}).",
             f"Открыто {plural(t['open'], FINDINGS)}; просрочено {t['overdue']}; ждут вашего решения {t['waiting']}; "
             f"«Не исправлено» без комментария {t['no_comment']}; статус не из списка {t['invalid']}; "
             f"принято {t['accepted']}."]
    ch = _changes_line(rv)
    if ch:
        lines.append(ch)
    lines += ["", "Кто не обработал (открыто / просрочено / без комментария / статус не из списка):"]
    for m in rv.managers:
        if m.open:
            lines.append(f"  {m.owner}: {len(m.open)} / {len(m.overdue)} / {len(m.no_comment)} / {len(m.invalid)}")
    if rv.changes is not None and rv.changes.since is not None and rv.changes.by_manager:
        lines += ["", "С прошлого аудита по менеджерам:"]
        lines += [f"  {name}: {manager_changes_text(c)}" for name, c in rv.changes.by_manager.items()]
    appearing = [a for a in keeps_appearing(rv) if a.in_a_row > 1]
    if appearing:
        lines += ["", "Кто попадает в аудит раз за разом:"]
        lines += [f"  {a.owner}: {plural(a.in_a_row, AUDITS)} подряд (всего в {a.audits_with_hits} из {a.audits}), "
                  f"повторных нарушений сейчас {a.repeats}" for a in appearing]
    waiting = waiting_items(rv)
    if waiting:
        lines += ["", f"Ждут вашего решения (принять: crm-audit accept ПРАВИЛО СДЕЛКА, предупредить: crm-audit warn …) — {len(waiting)}:"]
        lines += [f"  {i.owner}, {i.sheet}: «{deal_label(i.title, i.deal_id)}» (сделка {i.deal_id})" + (f" {i.url}" if i.url else "")
                  + f" — «{i.comment}»" for i in waiting]
    return lines


def render_digest_html(rv: Review, title: str = "Сводка аудита CRM") -> str:
    from crm_audit.notify.templates import environment

    return environment().get_template("digest.html.j2").render(rv=rv, title=title, changes_line=_changes_line(rv),
                                                                appearing=[a for a in keeps_appearing(rv) if a.in_a_row > 1],
                                                                waiting=waiting_items(rv))


def digest_telegram(rv: Review) -> list[str]:
    """Telegram HTML lines (each closes its own tags)."""
    e = html.escape
    t = rv.totals
    lines = [f"<b>{e(subject(rv))}</b>",
             e(f"Без комментария {t['no_comment']}, статус не из списка {t['invalid']}, принято {t['accepted']}.")]
    ch = _changes_line(rv)
    if ch:
        lines.append(e(ch))
    if rv.changes is not None and rv.changes.since is not None and rv.changes.by_manager:
        lines += ["", "<b>С прошлого аудита по менеджерам</b>:"]
        lines += [e(f"• {name}: {manager_changes_text(c)}") for name, c in rv.changes.by_manager.items()]
    lines += ["", "<b>Кто не обработал</b> (открыто / просрочено):"]
    lines += [e(f"• {m.owner}: {len(m.open)} / {len(m.overdue)}") for m in rv.managers if m.open]
    appearing = [a for a in keeps_appearing(rv) if a.in_a_row > 1]
    if appearing:
        lines += ["", "<b>Попадают раз за разом</b>:"]
        lines += [e(f"• {a.owner}: {plural(a.in_a_row, AUDITS)} подряд, повторных {a.repeats}") for a in appearing]
    waiting = waiting_items(rv)
    if waiting:
        lines += ["", f"<b>Ждут вашего решения</b> — {len(waiting)}:"]
        for i in waiting:
            name = e(deal_label(i.title, i.deal_id))
            link = f'<a href="{e(i.url, quote=True)}">{name}</a>' if i.url else name
            lines.append(f"• {e(i.owner)}, {e(i.sheet)}: {link} — «{e(i.comment or '')}»")
    return lines
