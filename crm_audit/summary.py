"""The short terminal summary printed after every run (in the CLI's language, :mod:`crm_audit.i18n`)."""

from __future__ import annotations

from pathlib import Path

import click

from crm_audit.i18n import _, ngettext
from crm_audit.report import AuditReport, Changes

MAX_WARNINGS = 50
MAX_MANAGERS = 15


def written_what(kind: str) -> str:
    """The name of an output kind (``workbook``, ``violations CSV``, …) in the CLI's language."""
    names = {"workbook": _("workbook"), "violations CSV": _("violations CSV"), "Google Sheet": _("Google Sheet")}
    return names.get(kind, kind)


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
    width = max((len(r.sheet_title) for r in report.results), default=10)
    for r in report.results:
        count = _("skipped") if r.skipped else str(r.count)
        lines.append(f"  {r.sheet_title:<{width}}  {count:>7}  ({r.rule_id})")
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
    """What changed since the previous audit: the team's numbers, then each manager with any change."""
    if ch.since is None:
        return []
    t = ch.team
    lines = [_("Since the audit of {date}: {new} new, {resolved} resolved, {open} still open, {fixed_failing} marked "
               "«Исправлено» but still failing, {accepted} accepted, {warned} warned.").format(
        date=f"{ch.since:%d.%m.%Y}", new=t.new, resolved=t.resolved, open=t.still_open, fixed_failing=t.fixed_failing,
        accepted=t.accepted, warned=t.warned)]
    for name, c in sorted(ch.by_manager.items(), key=lambda kv: (-(kv[1].new + kv[1].still_open), kv[0])):
        lines.append(f"  {name[:28]:<28} +{c.new:<5} -{c.resolved:<5} ={c.still_open:<6} "
                     + _("fixed-but-failing {fixed_failing:<4} accepted {accepted:<4} warned {warned}").format(
                         fixed_failing=c.fixed_failing, accepted=c.accepted, warned=c.warned))
    return lines


def print_summary(report: AuditReport, written: list[tuple[str, Path]]) -> None:
    for line in summary_lines(report, written):
        click.echo(line)
