"""The short terminal summary printed after every run."""

from __future__ import annotations

from pathlib import Path

import click

from crm_audit.report import AuditReport

MAX_WARNINGS = 50
MAX_MANAGERS = 15


def summary_lines(report: AuditReport, written: list[tuple[str, Path]]) -> list[str]:
    lines = [
        f"Audit as of {report.as_of:%d.%m.%Y}: {report.deal_count} deals audited, "
        f"{report.total} violations in {sum(1 for r in report.results if r.count)} of {len(report.results)} rules.",
        "",
        "By rule:",
    ]
    width = max((len(r.sheet_title) for r in report.results), default=10)
    for r in report.results:
        count = "skipped" if r.skipped else str(r.count)
        lines.append(f"  {r.sheet_title:<{width}}  {count:>7}  ({r.rule_id})")
    hits = report.hits_by_owner()
    if len(hits):
        lines += ["", "By manager:"]
        for _, row in hits.head(MAX_MANAGERS).iterrows():
            lines.append(f"  {row['owner'] or '(no owner)':<30} {int(row['total']):>6}")
        if len(hits) > MAX_MANAGERS:
            lines.append(f"  … and {len(hits) - MAX_MANAGERS} more managers")
    if report.warnings:
        lines += ["", f"Data warnings ({len(report.warnings)}):"]
        for w in report.warnings[:MAX_WARNINGS]:
            lines.append(f"  {w.line()}")
        if len(report.warnings) > MAX_WARNINGS:
            lines.append(f"  … and {len(report.warnings) - MAX_WARNINGS} more")
    if written:
        lines.append("")
        for what, path in written:
            lines.append(f"Wrote {what}: {path}")
    return lines


def print_summary(report: AuditReport, written: list[tuple[str, Path]]) -> None:
    for line in summary_lines(report, written):
        click.echo(line)
