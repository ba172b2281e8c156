"""CLI pieces for reading the CRM through its API: ``crm-audit sync``, ``crm-audit crm check``,
and what ``run --from-crm`` / ``init --from-crm`` call. Thin: parse, call :mod:`crm_audit.sources`, print."""

from __future__ import annotations

from pathlib import Path

import click

from crm_audit.errors import SettingsError


def _settings(config: str):
    from crm_audit import settings as settings_mod

    if not Path(config).exists():
        raise SettingsError(f"{config}: settings file not found; create one with `crm-audit init --crm NAME --from-crm` "
                            "(or pass --config PATH)")
    return settings_mod.load(config)


def _progress(quiet: bool):
    from crm_audit.progress import Progress

    return Progress(enabled=False if quiet else None)


def sync_summary(r) -> list[str]:
    """The lines a sync prints (counts, requests, the CRM's cost, waits)."""
    objs = ", ".join(f"{o.name} {o.read:,}" + (f" (−{o.deleted:,} deleted)" if o.deleted else "") for o in r.objects if o.read or o.deleted)
    lines = [f"Sync {r.sync_id} ({r.mode}) of {r.crm}: {objs or 'nothing new'}.",
             f"{r.requests:,} requests" + (f", cost {r.cost:,} API tokens" if r.cost else "")
             + (f", {r.retries} retried" if r.retries else "") + (f", {r.waited:.0f} s waited for the CRM's limits" if r.waited >= 1 else "") + "."]
    if r.daily:
        lines.append(f"The account's daily API allocation: {r.daily[0]:,} of {r.daily[1]:,} requests used (the last 24 hours).")
    if r.snapshot is not None:
        rows = ", ".join(f"{n:,} {e}" for e, n in r.counts.items())
        lines.append(f"Snapshot for the audit: {r.snapshot} ({rows}).")
    return lines


def run_sync_cmd(config: str, full: bool, check_deleted: bool, quiet: bool, ledger: str | None = None):
    from crm_audit import sources

    settings = _settings(config)
    progress = _progress(quiet)
    try:
        return sources.sync(settings, full=full, check_deleted=check_deleted, ledger=ledger, progress=progress)
    finally:
        progress.close()


@click.command("sync")
@click.option("--config", "-c", "config", default="crm-audit.yaml", show_default=True, type=click.Path(dir_okay=False),
              help="Settings file (its crm: and crm_api: say which CRM and how to reach it).")
@click.option("--full", is_flag=True, help="Forget the cache and read everything again.")
@click.option("--check-deleted", is_flag=True, help="List every id now to find deleted records (otherwise every crm_api: id_check_days).")
@click.option("--ledger", "ledger_path", type=click.Path(dir_okay=False), help="Audit history database; the cache lives next to it.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def sync_cmd(config, full, check_deleted, ledger_path, quiet):
    """Copy the CRM's deals, tasks, companies, contacts, pipelines and users into the local cache (incremental)."""
    result = run_sync_cmd(config, full, check_deleted, quiet, ledger_path)
    if not quiet:
        for line in sync_summary(result):
            click.echo(line)


@click.group("crm")
def crm_group():
    """The CRM's API: check access before the first sync."""


@crm_group.command("check")
@click.option("--config", "-c", "config", default="crm-audit.yaml", show_default=True, type=click.Path(dir_okay=False))
def crm_check(config):
    """Check the token, the account address and every permission the audit needs; say exactly what is wrong."""
    import sys

    from crm_audit import sources

    settings = _settings(config)
    r = sources.check(settings)
    for item in r.items:
        click.echo(f"{'ok  ' if item.ok else 'FAIL'} {item.what}" + ("" if item.ok else f": {item.detail}"))
    if r.error is not None and not r.items:
        click.echo(f"FAIL {r.error.message}")
    if r.ok:
        click.echo(f"{r.crm} at {r.account}: the audit can read everything it needs.")
    else:
        sys.exit(2)


def source_for_run(config: str, ledger: str | None, *, from_crm: bool, snapshot: str | None, dry_run: bool, quiet: bool):
    """What ``run --from-crm`` / ``run --snapshot`` audits: sync first (not on a dry run, which writes nothing), then the snapshot."""
    from crm_audit import sources

    settings = _settings(config)
    if snapshot is not None:
        if snapshot.isdigit():
            return sources.source_for(settings, ledger=ledger, sync_id=int(snapshot))
        return sources.source_for(settings, snapshot=snapshot)
    if from_crm and not dry_run:
        result = run_sync_cmd(config, False, False, quiet, ledger)
        if not quiet:
            for line in sync_summary(result):
                click.echo(line)
    elif from_crm and not quiet:
        click.echo("Dry run: no sync (it would write the cache); auditing the latest snapshot.")
    return sources.source_for(settings, ledger=ledger)


def register(cli) -> None:
    cli.add_command(sync_cmd)
    cli.add_command(crm_group)


def keep_snapshot(config: str, ledger: str | None, source) -> None:
    """The audit is recorded: its snapshot is kept whatever `keep_snapshots` says (the audit stays reproducible)."""
    from crm_audit import sources

    sources.mark_used(_settings(config), source, ledger)
