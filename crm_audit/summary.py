"""The short terminal summary printed after every run (in the CLI's language, :mod:`crm_audit.i18n`)."""

from __future__ import annotations

from pathlib import Path

import click

from crm_audit.deal_label import deal_label_cli
from crm_audit.i18n import _, ngettext
from crm_audit.report import AuditReport, Changes

MAX_WARNINGS = 50
MAX_MANAGERS = 15


def written_what(kind: str) -> str:
    """The name of an output kind (``workbook``, ``violations CSV``, …) in the CLI's language."""
    names = {"workbook": _("workbook"), "violations CSV": _("violations CSV"), "Google Sheet": _("Google Sheet")}
    return names.get(kind, kind)


def _result_name(r) -> str:
    """A rule's line in "By rule": its sheet's title in Russian («1.8 Нет источника»), code and id in English."""
    from crm_audit.errors import ByLanguage

    return ByLanguage({"en": f"{r.code} {r.rule_id}".strip(), "ru": r.sheet_title}).text()


def item_rule(i) -> str:
    """The rule a review item is about: its sheet in Russian («1.2 Замороженные без задач»), code and id in English
    («1.2 frozen-without-tasks»; :func:`crm_audit.report.rule_name`)."""
    from crm_audit.errors import ByLanguage

    return ByLanguage({"en": f"{i.code} {i.rule_id}".strip(), "ru": i.sheet or f"{i.code} {i.rule_id}".strip()}).text()


def summary_lines(report: AuditReport, written: list[tuple[str, Path]]) -> list[str]:
    flagged = sum(1 for r in report.results if r.count)
    lines = [
        _("Audit as of {date}: {deals}, {violations} in {flagged} of {rules} rules.").format(
            date=f"{report.as_of:%d.%m.%Y}",
            deals=ngettext("{n} deal audited", "{n} deals audited", report.deal_count).format(n=report.deal_count),
            violations=ngettext("{n} violation", "{n} violations", report.total).format(n=report.total),
            flagged=flagged, rules=len(report.results)),
        "",
        _("By rule:"),
    ]
    names = [_result_name(r) for r in report.results]
    width = max((len(n) for n in names), default=10)
    for r, name in zip(report.results, names):
        count = _("skipped") if r.skipped else str(r.count)
        lines.append(f"  {name:<{width}}  {count:>7}")
    hits = report.hits_by_owner()
    if len(hits):
        lines += ["", _("By manager:")]
        no_owner = _("(no owner)")
        for _i, row in hits.head(MAX_MANAGERS).iterrows():
            lines.append(f"  {row['owner'] or no_owner:<30} {int(row['total']):>6}")
        if len(hits) > MAX_MANAGERS:
            more = len(hits) - MAX_MANAGERS
            lines.append("  " + ngettext("… and {n} more manager", "… and {n} more managers", more).format(n=more))
    if report.warnings:
        lines += ["", _("Data warnings ({n}):").format(n=len(report.warnings))]
        for w in report.warnings[:MAX_WARNINGS]:
            lines.append(f"  {w.line()}")
        if len(report.warnings) > MAX_WARNINGS:
            lines.append("  " + _("… and {n} more").format(n=len(report.warnings) - MAX_WARNINGS))
    if written:
        lines.append("")
        for what, path in written:
            lines.append(_("Wrote {what}: {path}").format(what=written_what(what), path=path))
    return lines


def change_lines(ch: Changes) -> list[str]:
    """What changed since the previous audit: the team's numbers, then each manager with any change.

    Per manager (:mod:`crm_audit.history.changes`): previous − resolved − accepted − handed over = still open; a deal
    that changed owner is handed over by the previous owner and taken over by the current one.
    """
    if ch.since is None:
        return []
    t = ch.team
    lines = [_("Since the audit of {date}: {new} new, {resolved} resolved, {open} still open, {fixed_failing} marked "
               "«Исправлено» but still failing, {accepted} accepted, {warned} warned.").format(
        date=f"{ch.since:%d.%m.%Y}", new=t.new, resolved=t.resolved, open=t.still_open, fixed_failing=t.fixed_failing,
        accepted=t.accepted, warned=t.warned)]
    unchecked = sum(ch.not_compared.values())
    if unchecked:
        rules = ", ".join(f"{rule}: {n}" for rule, n in ch.not_compared.items())
        lines.append("  " + ngettext("Left out: {n} finding of a rule not checked in one of the two audits ({rules}) — neither "
                                     "new nor resolved.",
                                     "Left out: {n} findings of rules not checked in one of the two audits ({rules}) — neither "
                                     "new nor resolved.", unchecked).format(n=unchecked, rules=rules))
    moved = getattr(t, "handed_over", 0)
    if moved:
        lines.append("  " + ngettext("Of those still open, {n} finding is on a deal that changed owner (handed over below).",
                                     "Of those still open, {n} findings are on deals that changed owner (handed over below).",
                                     moved).format(n=moved))
    for name, c in ch.by_manager.items():
        line = (f"  {name[:28]:<28} +{c.new:<5} -{c.resolved:<5} ={c.still_open:<6} "
                + _("fixed-but-failing {fixed_failing:<4} accepted {accepted:<4} warned {warned}").format(
                    fixed_failing=c.fixed_failing, accepted=c.accepted, warned=c.warned))
        handed, taken = getattr(c, "handed_over", 0), getattr(c, "taken_over", 0)
        if handed or taken:
            line += "  " + _("handed over {handed} taken over {taken}").format(handed=handed, taken=taken)
        lines.append(line)
    return lines


def print_summary(report: AuditReport, written: list[tuple[str, Path]]) -> None:
    for line in summary_lines(report, written):
        click.echo(line)


def review_summary_lines(rv) -> list[str]:
    """``crm-audit review``: per manager open, overdue, waiting for a decision, without comment, repeats, warnings
    (a :class:`~crm_audit.history.review.Review`), then the findings that wait for someone."""
    if rv.as_of is None:
        return [_("No audits in the ledger yet: run `crm-audit run` first.")]
    lines = [_("Review of the audit as of {date} (managers' due date {due}, today {today}).").format(
        date=f"{rv.as_of:%d.%m.%Y}", due=f"{rv.due_date:%d.%m.%Y}", today=f"{rv.today:%d.%m.%Y}"), ""]
    if rv.changes is not None and rv.changes.since is not None:
        lines += change_lines(rv.changes) + [""]
    heads = [_("open"), _("overdue"), _("waiting"), _("no comment"), _("invalid"), _("fixed, still failing"),
             _("in earlier audits"), _("accepted"), _("warnings (qtr)")]
    widths = [len(h) + 1 for h in heads]
    manager = _("manager")
    lines.append(f"{manager:<28}" + "".join(f" {h:>{w}}" for h, w in zip(heads, widths)))
    for m in rv.managers:
        values = [len(m.open), len(m.overdue), len(m.waiting), len(m.no_comment), len(m.invalid), len(m.fixed_failing),
                  len(m.repeats), len(m.accepted), m.warnings_quarter]
        lines.append(f"{m.owner[:28]:<28}" + "".join(f" {v:>{w}}" for v, w in zip(values, widths)))
    deal = _("deal")
    sections = (
        ("waiting", _("«Не исправлено», waiting for your decision (crm-audit accept / warn RULE DEAL):"),
         lambda i: f"{item_rule(i)} {deal} {i.deal_id} «{deal_label_cli(i.title, i.deal_id)}» — {i.comment}"),
        ("no_comment", _("«Не исправлено» without the mandatory comment:"),
         lambda i: f"{item_rule(i)} {deal} {i.deal_id} «{deal_label_cli(i.title, i.deal_id)}»"),
        ("invalid", _("A status the drop-down does not know (counted as not handled; ask the manager to pick one):"),
         lambda i: f"{item_rule(i)} {deal} {i.deal_id} «{deal_label_cli(i.title, i.deal_id)}» — «{i.status}»"),
        ("fixed_failing", _("Marked «Исправлено» but still failing in the new export:"),
         lambda i: f"{item_rule(i)} {deal} {i.deal_id} «{deal_label_cli(i.title, i.deal_id)}»"),
    )
    for key, heading, line in sections:
        items = [i for m in rv.managers for i in getattr(m, key)]
        if items:
            lines += ["", heading] + [f"  {i.owner}: {line(i)}" for i in items]
    if rv.waivers:
        lines += ["", ngettext("{n} accepted finding is waived (crm-audit waivers).",
                               "{n} accepted findings are waived (crm-audit waivers).", rv.waivers).format(n=rv.waivers)]
    return lines
