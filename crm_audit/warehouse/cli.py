"""The command line's warehouse parts (``run`` / ``validate`` / ``inspect --engine URL``), kept out of ``cli.py``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from crm_audit.errors import CrmAuditError, Problem, UsageError
from crm_audit.i18n import _


def settings_engine(config: str) -> bool:
    """The settings name an engine (``engine: url:``): ``run`` without --export audits it."""
    from crm_audit import settings as settings_mod

    if not Path(config).exists():
        return False
    try:
        s = settings_mod.load(config)
    except CrmAuditError:
        return False  # run_cycle reports the settings' problems
    return bool(s.engine is not None and s.engine.url)


def check_sources(config: str, export, from_api: bool, engine_url) -> None:
    """One place to read the CRM from: an export, the CRM's API, or a warehouse (--engine or the settings)."""
    given = bool(export) + bool(from_api) + bool(engine_url)
    if given > 1 or (given == 0 and not settings_engine(config)):
        raise UsageError(_("give either --export DIR (an export folder), --from-crm / --snapshot ID (the CRM read through its "
                           "API) or --engine URL (the CRM's tables in a warehouse; or engine: url: in the settings)"))


def split_engine(engine: str | None) -> tuple[str | None, str | None]:
    """``--engine`` of validate: a SQL engine's name (duckdb, postgres …) or an engine URL -> (dialect, URL)."""
    if engine is None:
        return None, None
    from crm_audit.engine import dialects
    from crm_audit.warehouse.url import parse, secret_pairs

    if "://" in engine or secret_pairs(engine):  # (a libpq DSN with a password: refused, masked)

        return parse(engine).dialect, engine
    try:
        return dialects.get(engine).name, None
    except ValueError:
        raise unknown_engine(engine) from None


def unknown_engine(engine: str) -> UsageError:
    """``--engine NAME`` naming no SQL engine: the names (and that a URL is taken too), in the reader's language."""
    from crm_audit.engine import dialects
    from crm_audit.warehouse.url import mask

    known = ", ".join([*dialects.NAMES, *dialects.ALIASES])
    return UsageError(problems=[Problem(_("--engine {url}: unknown engine «{scheme}»; one of: {known} (e.g. "
                                          "postgresql://user@host:5432/db, duckdb:///warehouse.duckdb)").format(
        url=mask(engine), scheme=engine.strip(), known=known), reason="engine-url")])


def settings_dialect(settings) -> str:
    """The SQL engine the settings' rules run on: ``engine: url:``'s, else DuckDB (an export, the CRM's API)."""
    from crm_audit.warehouse.url import parse

    conf = getattr(settings, "engine", None)
    if conf is not None and conf.url:
        try:
            return parse(conf.url).dialect
        except CrmAuditError:  # settings_engine_problems reports it
            pass
    return "duckdb"


def warehouse_problems(settings, url: str) -> list[Problem]:
    """What `validate --engine URL` adds: the connection and every table and column the profile needs."""
    from crm_audit.warehouse.inspect import inspect_warehouse

    try:
        rep = inspect_warehouse(settings, url)
    except CrmAuditError as exc:
        return exc.problems or [Problem(str(exc), reason="engine")]
    return rep.problems


def inspect_engine(config: str | None, url: str) -> None:
    """`inspect --engine URL`: what the audit would read from the warehouse; exit 2 when a run could not."""
    from crm_audit import settings as settings_mod
    from crm_audit.resources import demo_dir
    from crm_audit.settings import SETTINGS_FILE
    from crm_audit.warehouse.inspect import format_warehouse, inspect_warehouse

    if config is None:
        config = SETTINGS_FILE if Path(SETTINGS_FILE).exists() else str(demo_dir() / "crm-audit.yaml")
    elif not Path(config).exists():
        raise UsageError(_("{config}: settings file not found").format(config=config))
    rep = inspect_warehouse(settings_mod.load(config), url)
    click.echo(format_warehouse(rep))
    if rep.problems:
        raise SystemExit(2)


def warehouse_rule_sql(rule, settings, url: str) -> str:
    """`rules explain ID --sql --engine URL`: the one read-only statement the rule runs on that warehouse (the entity
    queries as CTEs, custom fields found in the connector's metadata), or why it would be skipped there."""
    from crm_audit.engine import plan as planmod
    from crm_audit.engine.backends.sql_backend import SQLBackend
    from crm_audit.report import skipped_reason
    from crm_audit.warehouse.audit import custom_needed, decide, resolve, resolve_warehouse
    from crm_audit.warehouse.connect import connect
    from crm_audit.warehouse.entities import build_layout

    source = resolve(settings, url)
    plans = planmod.build_all([rule], settings)
    with connect(source.url) as conn:
        layout = build_layout(source.profile, source.schema, conn.target, custom_needed(plans),
                              resolve_warehouse(source, conn.target), zone=source.zone)
        runnable, skipped, _warnings = decide(plans, layout)
        if skipped:
            return _("skipped on this warehouse: {why}").format(why=skipped_reason(skipped[0]))
        backend = SQLBackend(conn.target, settings, dt.date.today(), layout.sources(), ctes=layout.ctes())
        return backend.rule_sql(runnable[0], pretty=True)


def settings_engine_problems(settings) -> list[Problem]:
    """`validate` (without --engine): the settings' `engine:` block — its URL parses (no password in it) and its
    warehouse profile loads — each problem at the block's line; nothing is connected to."""
    conf = getattr(settings, "engine", None)
    if conf is None:
        return []
    from crm_audit.warehouse import profile as wprofile
    from crm_audit.warehouse.url import parse

    out: list[Problem] = []
    checks = [("url", lambda: parse(conf.url))] if conf.url else []
    if conf.url or conf.profile:
        checks.append(("profile", lambda: wprofile.load(wprofile.profile_name(settings))))
    for key, check in checks:
        try:
            check()
        except CrmAuditError as exc:
            line, col = settings.where("engine", key)
            for p in exc.problems or [Problem(str(exc))]:
                out.append(Problem(f"engine: {key}: {p}", file=settings.file, line=line, col=col, reason=p.reason))
    return out

