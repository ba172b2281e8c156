"""CLI pieces for reading the CRM through its API: ``crm-audit sync``, ``crm-audit crm check``,
and what ``run --from-crm`` / ``init --from-crm`` call. Thin: parse, call :mod:`crm_audit.sources`, print."""

from __future__ import annotations

from pathlib import Path

import click

from crm_audit.clihelp import HelpCommand, HelpGroup
from crm_audit.errors import SettingsError
from crm_audit.i18n import N_, _, ngettext


def _settings(config: str):
    from crm_audit import settings as settings_mod

    if not Path(config).exists():
        raise SettingsError(_("{config}: settings file not found; create one with `crm-audit init --crm NAME --from-crm` "
                              "(or pass --config PATH)").format(config=config))
    return settings_mod.load(config)


def _progress(quiet: bool):
    from crm_audit.progress import Progress

    return Progress(enabled=False if quiet else None)


def sync_summary(r) -> list[str]:
    """The lines a sync prints (counts, requests, the CRM's cost, waits)."""
    from crm_audit.sources.incremental import object_name

    objs = ", ".join(f"{object_name(o.name)} {o.read:,}" + (" " + _("(−{n:,} deleted)").format(n=o.deleted) if o.deleted else "")
                     for o in r.objects if o.read or o.deleted)
    mode = {"full": _("full"), "incremental": _("incremental")}.get(r.mode, r.mode)
    lines = [_("Sync {id} ({mode}) of {crm}: {objects}.").format(id=r.sync_id, mode=mode, crm=r.crm, objects=objs or _("nothing new"))]
    cost = [ngettext("{n:,} request", "{n:,} requests", r.requests).format(n=r.requests)]
    if r.cost:
        cost.append(ngettext("cost {n:,} API token", "cost {n:,} API tokens", r.cost).format(n=r.cost))
    if r.retries:
        cost.append(ngettext("{n} retried", "{n} retried", r.retries).format(n=r.retries))
    if r.waited >= 1:
        cost.append(_("{seconds:.0f} s waited for the CRM's limits").format(seconds=r.waited))
    lines.append(", ".join(cost) + ".")
    if r.daily:
        lines.append(_("The account's daily API allocation: {used:,} of {total:,} requests used (the last 24 hours).")
                     .format(used=r.daily[0], total=r.daily[1]))
    if r.snapshot is not None:
        rows = ", ".join(entity_count(e, n) for e, n in r.counts.items())
        lines.append(_("Snapshot for the audit: {path} ({rows}).").format(path=r.snapshot, rows=rows))
    return lines


def entity_count(entity: str, n: int) -> str:
    """«119 deals» of an export entity (deals, organizations, persons, activities) in the CLI's language."""
    forms = {"deals": ngettext("{n:,} deal", "{n:,} deals", n), "organizations": ngettext("{n:,} organization", "{n:,} organizations", n),
             "persons": ngettext("{n:,} person", "{n:,} persons", n), "activities": ngettext("{n:,} activity", "{n:,} activities", n)}
    return forms[entity].format(n=n) if entity in forms else f"{n:,} {entity}"



def run_sync_cmd(config: str, full: bool, check_deleted: bool, quiet: bool, ledger: str | None = None):
    from crm_audit import sources

    settings = _settings(config)
    progress = _progress(quiet)
    try:
        return sources.sync(settings, full=full, check_deleted=check_deleted, ledger=ledger, progress=progress)
    finally:
        progress.close()


@click.command("sync", cls=HelpCommand, help=N_("Copy the CRM's deals, tasks, companies, contacts, pipelines and users into the local cache (incremental)."))
@click.option("--config", "-c", "config", default="crm-audit.yaml", show_default=True, type=click.Path(dir_okay=False),
              help=N_("Settings file (its crm: and crm_api: say which CRM and how to reach it)."))
@click.option("--full", is_flag=True, help=N_("Forget the cache and read everything again."))
@click.option("--check-deleted", is_flag=True, help=N_("List every id now to find deleted records (otherwise every crm_api: id_check_days)."))
@click.option("--ledger", "ledger_path", type=click.Path(dir_okay=False), help=N_("Audit history database; the cache lives next to it."))
@click.option("--quiet", "-q", is_flag=True, help=N_("Print nothing but errors."))
def sync_cmd(config, full, check_deleted, ledger_path, quiet):
    result = run_sync_cmd(config, full, check_deleted, quiet, ledger_path)
    if not quiet:
        for line in sync_summary(result):
            click.echo(line)


@click.group("crm", cls=HelpGroup, help=N_("The CRM's API: check access before the first sync."))
def crm_group():
    pass


@crm_group.command("check", help=N_('Check the token, the account address and every permission the audit needs; say exactly what is wrong.'))
@click.option("--config", "-c", "config", default="crm-audit.yaml", show_default=True, type=click.Path(dir_okay=False),
              help=N_("Settings file (its crm: and crm_api: say which CRM and how to reach it)."))
def crm_check(config):
    import sys

    from crm_audit import sources

    settings = _settings(config)
    r = sources.check(settings)
    ok, fail = _("ok"), _("FAIL")
    width = max(len(ok), len(fail))
    for item in r.items:
        click.echo(f"{(ok if item.ok else fail):<{width}} {item.what}" + ("" if item.ok else f": {item.detail}"))
    if r.error is not None and not r.items:
        click.echo(f"{fail:<{width}} {r.error.message}")
    if r.ok:
        click.echo(_("{crm} at {account}: the audit can read everything it needs.").format(crm=r.crm, account=r.account))
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
        click.echo(_("Dry run: no sync (it would write the cache); auditing the latest snapshot."))
    return sources.source_for(settings, ledger=ledger)


def register(cli) -> None:
    cli.add_command(sync_cmd)
    cli.add_command(crm_group)


def keep_snapshot(config: str, ledger: str | None, source) -> None:
    """The audit is recorded: its snapshot is kept whatever `keep_snapshots` says (the audit stays reproducible)."""
    from crm_audit import sources

    sources.mark_used(_settings(config), source, ledger)
