"""The ``crm-audit`` command: a thin click layer over the library API.

Heavy modules (pandas, DuckDB, openpyxl) are imported inside the commands so
that ``crm-audit --help`` and ``crm-audit validate`` start instantly.
Every :class:`~crm_audit.errors.CrmAuditError` becomes a one-paragraph
message on stderr and exit code 2; violations with ``--fail-on-violations``
give exit code 1.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from pathlib import Path

import click

from crm_audit import __version__
from crm_audit.errors import CrmAuditError, OutputError, SettingsError, UsageError
from crm_audit.clihelp import HelpGroup
from crm_audit.i18n import N_, _, ngettext
from crm_audit.progress import Progress, silent

DEFAULT_CONFIG = "crm-audit.yaml"
EXIT_OK, EXIT_VIOLATIONS, EXIT_ERROR = 0, 1, 2


def _parse_date(ctx, param, value):
    if value is None:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            pass
    raise click.BadParameter(_("«{value}» is not a date; use YYYY-MM-DD or DD.MM.YYYY, e.g. 2026-11-20 or 20.11.2026")
                             .format(value=value)) from None


def _err(msg: str) -> None:
    click.echo(msg, err=True)


config_option = click.option(
    "--config", "-c", "config", default=DEFAULT_CONFIG, show_default=True,
    type=click.Path(dir_okay=False), help=N_("Settings file (crm-audit.yaml, written by `crm-audit init`)."),
)


@click.group(cls=HelpGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, help=N_("Audit a CRM export against the company's CRM handbook rules.\n"
                '\n'
                '\b\n'
                'Typical biweekly run:\n'
                '  crm-audit init                 # once: writes crm-audit.yaml to edit\n'
                '  crm-audit validate             # check settings and rule files\n'
                '  crm-audit run --export export/ --out audit.xlsx --violations-csv violations.csv\n'
                'Try it on bundled sample data:  crm-audit demo'))
@click.version_option(__version__, prog_name="crm-audit", message="%(prog)s %(version)s")  # no words: the same in every language
def cli() -> None:
    pass


# --------------------------------------------------------------------------- run


def _print_cycle(result, quiet: bool) -> None:
    """What a run says after the progress line. ``quiet`` (a log, cron): no read-back chatter, but the summary, the
    changes since the last audit, the notes (a far --as-of) and the warnings still print — logs hold the summary."""
    from .summary import print_summary

    for rb in [] if quiet else result.read_back:
        r = rb.result
        edits = ngettext("{n} edit", "{n} edits", r.changed).format(n=r.changed)  # people's: not what the tool carried in
        decisions = ngettext("{n} decision", "{n} decisions", r.decisions).format(n=r.decisions)
        line = _("Read from {name}: {edits}, {decisions}").format(name=rb.name, edits=edits, decisions=decisions)
        if r.stored:
            line += " " + ngettext("({n} new in the history)", "({n} new in the history)", r.stored).format(n=r.stored)
        click.echo(line)
    if result.replaced is not None:
        click.echo(_("The audit of {date} was replaced by this run (its documents were read before writing).")
                   .format(date=f"{result.replaced:%d.%m.%Y}"))
    for n in result.notices:
        click.echo(_("note: {message}").format(message=n.message))
    if result.publish is not None:
        click.echo(result.publish.summary())
    print_summary(result.report, [(w.kind, w.location) for w in result.written])
    if result.report.changes is not None and result.report.changes.since is not None:
        from .summary import change_lines

        click.echo("")
        for line in change_lines(result.report.changes):
            click.echo(line)
    if result.dry_run:
        click.echo(_("Dry run: nothing was written (no workbook, CSV, Google Sheet or ledger change)."))
    elif result.partial:
        click.echo(_("Partial run (--rule): the ledger and the team's document are unchanged."))


@cli.command(help=N_('Run the audit on an export and write the workbook and/or CSV.\n'
                '\n'
                "Before anything is written, the previous audit's document (as the ledger\n"
                'recorded it, wherever --out points now) and the --out target are read\n'
                'back: statuses, comments and decisions are carried over.'))
@config_option
@click.option("--export", "-e", "export", type=click.Path(), help=N_("Export directory (deals, organizations, persons, activities files) or a single deals file."))
@click.option("--from-crm", is_flag=True, help=N_("Sync from the CRM's API (crm_api: in the settings), then audit the fresh snapshot instead of an export."))
@click.option("--snapshot", help=N_("Audit a kept snapshot instead of an export: a sync id or a snapshot folder (reproduces a past audit)."))
@click.option("--engine", "engine_url", help=N_("Audit the CRM's tables where a connector replicated them: an engine URL (postgresql://user@host:5432/db, duckdb:///warehouse.duckdb, snowflake://…, bigquery://project/dataset, databricks://…, clickhouse://…; the password from CRM_AUDIT_ENGINE_PASSWORD); engine: profile / schema in the settings."))
@click.option("--as-of", "as_of", callback=_parse_date, help=N_("Audit date YYYY-MM-DD or DD.MM.YYYY (default: today). Days in stage and overdue tasks count from it."))
@click.option("--out", "-o", "out", type=click.Path(dir_okay=False), help=N_("Write the workbook (.xlsx): FAQ, one sheet per rule, «Учет попаданий»."))
@click.option("--violations-csv", type=click.Path(dir_okay=False), help=N_("Write every violation, one row per (rule, deal), as CSV."))
@click.option("--csv-excel", is_flag=True, help=N_("Write the violations CSV for Excel with a Russian locale: UTF-8 with BOM, «;» between fields."))
@click.option("--rule", "rule_ids", multiple=True, help=N_("Run only this rule id (repeatable); changes no document and no ledger row."))
@click.option("--fail-on-violations", is_flag=True, help=N_("Exit with code 1 when any violation is found."))
@click.option("--quiet", "-q", is_flag=True, help=N_("No progress line and no read-back chatter: only the summary, notes and warnings (what a log keeps)."))
@click.option("--ledger", "ledger_path", type=click.Path(dir_okay=False), help=N_("Audit history database (default: crm-audit.db next to the settings)."))
@click.option("--gsheet", help=N_("Publish to this Google spreadsheet (URL or key; default: google_sheet in the settings)."))
@click.option("--credentials", type=click.Path(dir_okay=False), help=N_("Service-account JSON key (default: google_credentials in the settings, then GOOGLE_APPLICATION_CREDENTIALS, then your Google account)."))
@click.option("--previous", help=N_("Where the previous audit's document is now (FILE or Google Sheet URL), when it was moved or renamed."))
@click.option("--no-previous", is_flag=True, help=N_("Start without the previous audit's document (what was typed in it since it was last read is not carried over)."))
@click.option("--dry-run", is_flag=True, help=N_("Show what would change (rows added/updated/removed in the Google Sheet); write nothing, anywhere."))
@click.option("--notify", "send_digests", is_flag=True, help=N_("Then send the digests (as `crm-audit notify`): each manager their to-do, the head of sales the summary."))
def run(config, export, from_crm, snapshot, as_of, out, violations_csv, csv_excel, rule_ids, fail_on_violations, quiet, ledger_path, gsheet,
        credentials, previous, no_previous, dry_run, send_digests, engine_url):
    from .cycle.request import AuditRequest
    from .cycle.run import run_cycle

    source = None
    if csv_excel and not violations_csv:
        raise UsageError(_("--csv-excel changes the violations CSV: give --violations-csv FILE.csv too"))
    from crm_audit.warehouse.cli import check_sources

    check_sources(config, export, from_crm or snapshot, engine_url)
    if from_crm or snapshot:
        from crm_audit.sources.cli import source_for_run

        source = source_for_run(config, ledger_path, from_crm=from_crm, snapshot=snapshot, dry_run=dry_run, quiet=quiet)
    request = AuditRequest(config, export or "", as_of, out, violations_csv, tuple(rule_ids), ledger_path, gsheet, credentials,
                           dry_run, previous, no_previous, source=source, csv_excel=csv_excel,
                           engine=engine_url)
    result = _run_with_progress(run_cycle, request, quiet)
    if source is not None and result.recorded:
        from crm_audit.sources.cli import keep_snapshot

        keep_snapshot(config, ledger_path, source)
    _print_cycle(result, quiet)
    if send_digests:
        if not result.recorded:
            _err(_("note: --notify: nothing sent (a dry run or a partial --rule run records no audit); "
                   "`crm-audit notify --dry-run` previews the digests"))
        else:
            _notify_after_run(config, ledger_path)
    if fail_on_violations and result.report.total:
        sys.exit(EXIT_VIOLATIONS)


def _run_with_progress(run_cycle, request, quiet: bool):
    progress = Progress(enabled=False if quiet else None)  # on a terminal only
    request.progress = progress
    try:
        return run_cycle(request)
    finally:
        progress.close()  # the summary starts on a clean line


# --------------------------------------------------------------------------- demo


@cli.command(help=N_('Run the whole audit on a bundled sample Pipedrive export.'))
@click.option("--out", "-o", "out_dir", default="crm-audit-demo", show_default=True, type=click.Path(file_okay=False), help=N_("Folder for the demo workbook and CSV."))
@click.option("--as-of", "as_of", callback=_parse_date, default="2026-11-20", show_default=True, help=N_("Audit date of the demo."))
def demo(out_dir, as_of):
    from crm_audit.resources import demo_dir

    from .cycle.request import AuditRequest
    from .cycle.run import run_cycle

    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    request = AuditRequest(demo_dir() / "crm-audit.yaml", demo_dir() / "pipedrive", as_of, d / "audit-demo.xlsx",
                           d / "violations-demo.csv", ledger=d / "crm-audit.db")
    _print_cycle(_run_with_progress(run_cycle, request, False), False)
    click.echo("\n" + _("Open the workbook to see what managers get. Next: `crm-audit init` to write your own settings."))


# --------------------------------------------------------------------------- init


@cli.command(help=N_('Write a commented crm-audit.yaml to DIRECTORY (default: here), or to the file -c/--config names.'))
@click.argument("directory", default=None, required=False, type=click.Path(file_okay=False))
@click.option("--config", "-c", "config", default=None, type=click.Path(dir_okay=False),
              help=N_("The settings file to write, as the other commands read it (FOLDER/crm-audit.yaml; its folder is where init works, like DIRECTORY; with --force the team's edits in it are kept)."))
@click.option("--crm", default=None, help=N_("CRM export profile: pipedrive, amocrm, bitrix24, hubspot, salesforce (default: with --from-export, detected from the export's headers; otherwise pipedrive)."))
@click.option("--from-export", "from_export", type=click.Path(exists=True), help=N_("Prefill pipelines and stages from this export."))
@click.option("--from-crm", is_flag=True, help=N_("Read pipelines, stage order, users and custom fields from the live CRM (its API)."))
@click.option("--domain", help=N_("With --from-crm or --from-export: the CRM account's address (amoCRM: acme.amocrm.ru; Kommo: acme.kommo.com; Pipedrive: acme.pipedrive.com; HubSpot: the portal id); with --from-export it makes deal_url link to your deals."))
@click.option("--token-env", help=N_("With --from-crm: the environment variable holding the API token (default: PIPEDRIVE_API_TOKEN / AMOCRM_TOKEN)."))
@click.option("--token-file", type=click.Path(dir_okay=False), help=N_("With --from-crm: a file outside the project holding the API token."))
@click.option("--engine", "engine_url", default=None, help=N_("Read pipelines, stage order, owners and custom fields from the CRM's tables in a warehouse (an engine URL, as for `crm-audit run --engine`; the password stays in CRM_AUDIT_ENGINE_PASSWORD) and write the engine: settings."))
@click.option("--warehouse-profile", "warehouse_profile", default=None, help=N_("With --engine: the warehouse profile (fivetran_pipedrive, airbyte_hubspot …, or a profile .yaml file; default: detected from the tables)."))
@click.option("--schema", default=None, help=N_("With --engine: the connector's schema (BigQuery: the dataset; default: detected)."))
@click.option("--force", is_flag=True, help=N_("Overwrite an existing crm-audit.yaml."))
def init(directory, config, crm, from_export, from_crm, domain, token_env, token_file, engine_url, warehouse_profile, schema, force):
    from crm_audit.engine.profile import canonical_name

    directory = _init_folder(directory, config)
    explicit = crm is not None
    crm = canonical_name(crm or "pipedrive")  # «--crm HubSpot», «--crm Kommo»: the profile's name is written
    if bool(from_export) + bool(from_crm) + bool(engine_url) > 1:
        raise UsageError(_("give one of --from-export DIR, --from-crm or --engine URL"))
    if (warehouse_profile or schema) and not engine_url:
        raise UsageError(_("--warehouse-profile and --schema go with --engine URL"))
    if engine_url:
        from crm_audit.warehouse.draft import write_settings_from_engine
        from crm_audit.warehouse.zone import message as zone_message

        path, ed = write_settings_from_engine(Path(directory), engine_url, warehouse_profile, schema,
                                              crm if explicit else None, force)
        det = ed.detected
        shown = (_("Warehouse profile: {name} ({title}), schema {schema} — {why}") if det.schema else
                 _("Warehouse profile: {name} ({title}) — {why}"))
        click.echo(shown.format(name=det.profile.name, title=det.profile.title or det.profile.name, schema=det.schema,
                                why=det.why()))
        click.echo(zone_message(ed.zone).format(zone=ed.zone.zone, path=path))
        if ed.draft.off:
            click.echo(ngettext("{n} rule switched off (the reason is next to it in the file)",
                                "{n} rules switched off (the reason is next to each in the file)", len(ed.draft.off)).format(n=len(ed.draft.off)))
        click.echo(_("Wrote {path} from the warehouse. Check the proposed fields and the rules switched off, then run "
                     "`crm-audit validate --config {path}` and `crm-audit run --config {path}`.").format(path=path))
        return
    if from_crm:
        from crm_audit.sources.initcrm import write_settings_from_crm

        path = write_settings_from_crm(Path(directory), crm=crm, force=force, domain=domain, token_env=token_env, token_file=token_file)
        click.echo(_("Wrote {path} from the live CRM. Check the lists and the rules switched off, then run "
                     "`crm-audit run --from-crm --config {path}`.").format(path=path))
        return
    if from_export:
        from crm_audit.cli_profiles import detected_crm, write_settings_from_export

        if not explicit:  # the profile inspect would read the export with, and how sure that is
            crm = detected_crm(from_export)
        path = write_settings_from_export(Path(directory), crm=crm, export_dir=from_export, force=force, domain=domain)
        if _written_key(path, "pipelines"):
            click.echo(_("Wrote {path}. Check the order of the stages, edit the lists, then run `crm-audit validate --config {path}`.")
                       .format(path=path))
        else:  # no stage column: no stages, no order to check — the rules switched off for it are what to look at
            click.echo(_("Wrote {path}. The export has no stages, so there is no stage order to check: look at the rules "
                         "switched off (rules: skip:, the reason next to each) and edit the lists, then run "
                         "`crm-audit validate --config {path}`.").format(path=path))
        from crm_audit.settings import deal_url_example_text

        example = deal_url_example_text(crm, _written_deal_url(path))
        if example:
            click.echo(example)
        return
    from crm_audit.initfile import write_settings

    path = write_settings(Path(directory), crm=crm, force=force)
    click.echo(_("Wrote {path}. Edit the pipelines, stages and lists, then run `crm-audit validate --config {path}`.").format(path=path))


def _init_folder(directory: str | None, config: str | None) -> str:
    """The folder init writes crm-audit.yaml into: DIRECTORY, or the folder of the file --config names (the same
    option as the other commands'), which must be that file; both given must be the same folder."""
    from crm_audit.settings import SETTINGS_FILE

    if config is None:
        return directory or "."
    path = Path(config)
    if path.name != SETTINGS_FILE:
        raise UsageError(_("init writes {name}: give --config FOLDER/{name} (got «{config}»)").format(name=SETTINGS_FILE, config=config))
    folder = path.parent
    if directory is not None and Path(directory).resolve() != folder.resolve():
        raise UsageError(_("init was given two folders: DIRECTORY «{directory}» and --config «{config}» (in «{folder}»): "
                           "give one of them").format(directory=directory, config=config, folder=folder))
    return str(folder)


def _written_key(path: Path, key: str):
    """``key``'s value in the settings file init just wrote (None when it has none)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return data.get(key) if isinstance(data, dict) else None


def _written_deal_url(path: Path) -> str:
    """The `deal_url:` of the settings file init just wrote ("" when it has none)."""
    return str(_written_key(path, "deal_url") or "")


def _register_extra_commands() -> None:
    from crm_audit.cli_profiles import inspect_cmd

    cli.add_command(inspect_cmd)
    from crm_audit.sources.cli import register as register_sources  # `crm-audit sync`, `crm-audit crm check`

    register_sources(cli)


# --------------------------------------------------------------------------- validate / rules


def _settings_or_demo(config: str, must_exist: bool):
    from crm_audit import settings as settings_mod
    from crm_audit.resources import demo_dir

    if Path(config).exists() or must_exist:
        return settings_mod.collect(config)
    s, problems = settings_mod.collect(demo_dir() / "crm-audit.yaml")
    _err(_("note: {config} not found; showing the bundled rules with the demo settings").format(config=config))
    return s, problems


def _engine_name(engine: str | None) -> str | None:
    """The dialect name of ``--engine`` (usage error for an unknown one)."""
    from crm_audit.engine import dialects

    if engine is None:
        return None
    try:
        return dialects.get(engine).name
    except ValueError:
        from crm_audit.warehouse.cli import unknown_engine

        raise unknown_engine(engine) from None


@cli.command(help=N_('Check the settings and every rule file without running (all problems at once).'))
@config_option
@click.option("--engine", default=None, help=N_("Also check that every rule can run on this engine: a SQL engine's name (duckdb, postgres, bigquery, snowflake, spark / databricks, clickhouse) or an engine URL (then also the connection and every table and column of the warehouse profile)."))
@click.option("--export", "-e", "export", type=click.Path(), default=None,
              help=N_("Also check the settings and the rules against this export (a directory or a deals file): every `columns:` header is in it, every field a rule reads is there, and which rules under rules: skip: it can now run."))
def validate(config, engine, export):
    from crm_audit.rules import ruleset

    from crm_audit.warehouse.cli import split_engine

    engine, engine_url = split_engine(engine)
    settings, problems = _settings_or_demo(config, must_exist=True)
    rules = []
    if settings is not None:
        rules, broken, rproblems = ruleset.collect_all(settings)
        problems += rproblems + ruleset.empty_list_problems(rules, settings)
        problems += _profile_problems(settings, config)
        from crm_audit.warehouse.cli import settings_engine_problems

        problems += settings_engine_problems(settings)  # the engine: block's URL and warehouse profile (no connection)
        if engine_url is None:  # --engine NAME, else the engine the settings name (engine: url:), else DuckDB (an export)
            from crm_audit.engine.dialects.check import engine_problems
            from crm_audit.warehouse.cli import settings_dialect

            problems += engine_problems(rules, engine if engine is not None else settings_dialect(settings))
        if engine_url is not None:  # an engine URL: the connection and the warehouse profile's tables and columns
            from crm_audit.warehouse.cli import warehouse_problems

            problems += warehouse_problems(settings, engine_url)
        if export is not None:
            problems += _export_check(settings, rules + _plannable(broken, settings), export, problems)
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        _err(_("warning: {problem}").format(problem=p) if p.severity != "error" else str(p))
    if errors:
        _err(ngettext("{n} problem found.", "{n} problems found.", len(errors)).format(n=len(errors)))
        sys.exit(EXIT_ERROR)
    if problems:
        click.echo(ngettext("OK: {config} and {rules} rules are valid ({n} warning).",
                            "OK: {config} and {rules} rules are valid ({n} warnings).", len(problems))
                   .format(config=config, rules=len(rules), n=len(problems)))
    else:
        click.echo(_("OK: {config} and {rules} rules are valid.").format(config=config, rules=len(rules)))


def _plannable(broken: list, settings) -> list:
    """The rules with a problem whose fields can still be checked against an export (what of them parsed plans; a
    rule broken so that it does not plan is left out — its own problems are said): every problem in one pass (U4)."""
    from crm_audit.engine import plan as planmod

    out = []
    for rule in broken:
        try:
            planmod.build_all([rule], settings)
        except Exception:  # noqa: BLE001 — a half-parsed rule: its file's problems say why
            continue
        out.append(rule)
    return out


def _export_check(settings, rules, export: str, problems: list) -> list:
    """`validate --export DIR`'s problems not said already (a `values:` problem stops the export's loading too). Under
    an unknown `crm:` the export is checked with the one profile close to it (a typo «pipedrve»), saying so; with
    none or several, a warning says the export was not checked and why (acceptance S3)."""
    if any(p.severity == "error" and p.reason == "unknown-profile" for p in problems):
        settings, note = _stand_in_profile(settings, export)
        if settings is None:
            return [note]
        from crm_audit.settings import validate_problems

        more = [note, *validate_problems(settings), *_export_problems(settings, rules, export)]
    else:
        more = _export_problems(settings, rules, export)
    said = {str(p) for p in problems}
    out = []
    for p in more:
        if str(p) not in said:
            said.add(str(p))
            out.append(p)
    return out


def _stand_in_profile(settings, export: str):
    """(the settings with `crm:` the one bundled profile close to their unknown one, the warning that says the export
    was checked with it) — or (None, the warning that says why the export was not checked)."""
    from crm_audit.engine.profile import close_profiles, profile_path

    name = settings.crm
    close = [] if profile_path(name) is not None else close_profiles(name)  # a profile file that does not load: none
    params = {"export": export, "name": name, "profiles": ", ".join(close)}
    if len(close) == 1:
        template = N_("the export «{export}» was checked with the CRM profile «{profiles}» instead of the unknown «{name}»: "
                      "fix crm:")
    elif close:
        template = N_("the export «{export}» was not checked: several CRM profiles are close to «{name}» ({profiles}); "
                      "fix crm: and run `crm-audit validate --export` again")
    elif profile_path(name) is not None:
        template = N_("the export «{export}» was not checked: the CRM profile «{name}» does not load; fix it and run "
                      "`crm-audit validate --export` again")
    else:
        template = N_("the export «{export}» was not checked: no CRM profile is close to «{name}»; fix crm: and run "
                      "`crm-audit validate --export` again")
    note = settings.problem(("crm",), template, "export-not-checked" if len(close) != 1 else "export-checked-as", params)
    note.severity = "warning"
    return (settings.model_copy(update={"crm": close[0]}) if len(close) == 1 else None), note


def _export_problems(settings, rules, export: str) -> list:
    """`validate --export DIR`: the settings' `columns:` and the rules against that export (crm_audit.engine.export_check)."""
    from crm_audit.engine import export_check
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import profile_for

    try:
        profile = profile_for(settings)
        loaded = load_export(export, profile, on_bad_value="warn")
    except CrmAuditError as exc:
        problems = list(exc.problems)
        if exc.hint and problems:  # what to do (a re-export for ids Excel rounded, P1), after the last of them
            from dataclasses import replace

            hint = _(exc.hint)
            problems[-1] = replace(problems[-1], message=f"{problems[-1].message}\n{hint}")
        return problems
    try:
        from crm_audit.errors import Problem

        keyless = [Problem(template=w.template, params=w.params, file=w.file, severity="warning", reason=w.code)
                   for w in loaded.warnings if w.code in ("no-deal-ids", "deal-key-collision")]  # no deal ids (L10)
        if "deals" in loaded.entities:  # deal rows without an id, one id on several rows: warned as `run` warns of them
            from crm_audit.engine.deal_ids import deal_id_warnings

            keyless += [Problem(message=f"{w.message} — {profile.hint(w.code)}" if w.code in profile.hints else "",
                                template=w.template, params=w.params, file=w.file, row=w.row, column=w.column,
                                severity="warning", reason=w.code)
                        for w in deal_id_warnings(loaded.con, loaded.entities["deals"])[0]]
        needs = export_check.decide(rules, settings, loaded, profile)
        # the cells `run` stops on (`on_bad_value: error`) or reads as blank, every file's; status / done texts no
        # value names (an interface language the profile lacks): the `values:` line to write
        return (export_check.unmatched_columns(settings, loaded, profile, needs)
                + export_check.unread_file_columns(settings, loaded, profile)
                + export_check.rule_field_problems(rules, settings, loaded, profile, needs)
                + export_check.enableable_rules(settings, loaded, profile) + keyless
                + export_check.list_names_not_in_export(rules, settings, loaded)
                + export_check.unreadable_cells(settings, loaded, needs)
                + [Problem(template=w.template, params=w.params, file=w.file, row=w.row, column=w.column, severity="warning",
                           reason=w.code) for w in export_check.stages_not_in_settings(settings, loaded, needs)])
    finally:
        loaded.close()
        loaded.con.close()


def _profile_problems(settings, config: str) -> list:
    """The settings' `crm:` profile must load (a typo in it would only surface at `run`)."""
    from crm_audit.errors import Problem
    from crm_audit.settings import validate_problems

    try:
        return validate_problems(settings)  # the profile loads, `columns:` names its fields, the stage order is confirmed
    except CrmAuditError as exc:
        line, col = settings.where("crm")
        return [Problem(f"crm: {p.message}", file=p.file if p.file and p.line else config, line=p.line or line, col=p.col or col,
                        reason="unknown-profile") for p in exc.problems] or [Problem(f"crm: {exc}", file=config, line=line, reason="unknown-profile")]


@cli.group(invoke_without_command=True, help=N_('List the loaded rules (code, id, criticality, title).'))
@config_option
@click.pass_context
def rules(ctx, config):
    ctx.ensure_object(dict)
    ctx.obj["config"] = config
    if ctx.invoked_subcommand is not None:
        return
    loaded = _load_rules(config)
    width = max((len(r.id) for r in loaded), default=10)
    code, rid, crit, title = _("code"), _("id"), _("crit"), _("title")
    click.echo(f"{code:<6} {rid:<{width}} {crit:<5} {title}")
    for r in loaded:
        click.echo(f"{r.code:<6} {r.id:<{width}} {r.criticality:<5} {r.title}")
    click.echo("\n" + ngettext("{n} rule. `crm-audit rules explain ID` shows one in detail.",
                               "{n} rules. `crm-audit rules explain ID` shows one in detail.", len(loaded)).format(n=len(loaded)))


def _load_rules(config: str):
    from crm_audit.rules import ruleset
    from crm_audit.errors import RuleError

    settings, problems = _settings_or_demo(config, must_exist=False)
    if settings is None or problems:
        raise SettingsError(problems=problems)
    loaded, rproblems = ruleset.collect(settings)
    errors = [p for p in rproblems if p.severity == "error"]
    if errors:
        raise RuleError(problems=errors)
    return loaded


@rules.command(help=N_('Explain one rule in plain Russian, with its YAML.'))
@click.argument("rule_id")
@click.option("--sql", is_flag=True, help=N_("Also print the SQL the rule compiles to."))
@click.option("--engine", default=None, help=N_("With --sql: that engine's one self-contained query. SQL engine: duckdb (default), postgres, bigquery, snowflake, spark (databricks), clickhouse."))
@click.pass_context
def explain(ctx, rule_id, sql, engine):
    from crm_audit.rules.explain import explain_rule

    from crm_audit.warehouse.cli import split_engine

    engine, engine_url = split_engine(engine)

    loaded = _load_rules(ctx.obj["config"])
    match = [r for r in loaded if r.id == rule_id or r.code == rule_id]
    if not match:
        raise UsageError(_("unknown rule «{rule}»; known: {known}").format(rule=rule_id, known=", ".join(r.id for r in loaded)))
    click.echo(explain_rule(match[0]))
    if sql:
        from crm_audit.engine.rule_sql import rule_sql

        from crm_audit import settings as settings_mod
        from crm_audit.resources import demo_dir

        cfg = ctx.obj["config"] if Path(ctx.obj["config"]).exists() else demo_dir() / "crm-audit.yaml"
        from crm_audit.engine.dialects.regex import PatternError

        try:
            if engine_url is not None:  # the statement run on that warehouse, its entity queries in front
                from crm_audit.warehouse.cli import warehouse_rule_sql

                text = warehouse_rule_sql(match[0], settings_mod.load(cfg), engine_url)
            else:
                text = rule_sql(match[0], settings_mod.load(cfg), engine)
        except PatternError as exc:
            raise UsageError(f"{match[0].id}: {exc.text()}") from None  # in the CLI's language
        click.echo("\n" + _("SQL:") + "\n" + text)


# --------------------------------------------------------------------------- workflow


def _open_workflow(config: str, ledger_path: str | None):
    from crm_audit.rules import ruleset
    from crm_audit import settings as settings_mod
    from crm_audit.history.ledger import Ledger

    if not Path(config).exists():
        raise SettingsError(_("{config}: settings file not found; create one with `crm-audit init` (or pass --config PATH)")
                            .format(config=config))
    settings = settings_mod.load(config)
    rules = ruleset.load(settings)
    path = Path(ledger_path) if ledger_path else settings.ledger_path()
    if not path.exists():
        # a mistyped path must not start an empty history the head of sales' decisions silently go to
        raise UsageError(_("{path}: no audit history (ledger) there; run `crm-audit run` first, or pass the right --ledger PATH")
                         .format(path=path))
    return settings, rules, Ledger(path)


def _read_it_hint() -> str:
    return _("Read it from where it is now with `crm-audit pull --from FILE|URL` (or `crm-audit run … --previous FILE|URL`)")


ledger_option = click.option("--ledger", "ledger_path", type=click.Path(dir_okay=False), help=N_("Audit history database (default: crm-audit.db next to the settings)."))


def _print_read_back(read_back) -> None:
    from collections import Counter

    for rb in read_back:
        res = rb.result
        counts = Counter(e.status or (e.status_raw and "?") or "" for e in res.edits)
        names = {"": _("empty"), "?": _("a status not in the drop-down (see the warnings)")}
        statuses = ", ".join(f"{names.get(k, k)}: {v}" for k, v in sorted(counts.items()))
        click.echo(ngettext("Read {n} row from {location}: {statuses}", "Read {n} rows from {location}: {statuses}", len(res.edits))
                   .format(n=len(res.edits), location=rb.location, statuses=statuses))
        click.echo(_("{stored} new or changed; decisions: {accepted} accepted, {warned} warnings.")
                   .format(stored=res.stored, accepted=res.accepted, warned=res.warned))
        for w in res.warnings():
            click.echo("  " + _("warning: {message}").format(message=w.message))


@cli.command(help=N_('Read statuses, comments and decisions from the audit document into the ledger.'))
@config_option
@ledger_option
@click.option("--from", "document", help=N_("The audit document to read (FILE or Google Sheet URL; default: the latest audit's documents as the ledger recorded them)."))
def pull(config, ledger_path, document):
    from .cycle.pull import pull_documents

    settings, rules, ledger = _open_workflow(config, ledger_path)
    with ledger:
        _print_read_back(pull_documents(ledger, settings, rules, document))


def _decide(config, ledger_path, rule_id, deal_id, kind, note, until=None, force=False):
    from .history.decisions import decide

    _settings, rules, ledger = _open_workflow(config, ledger_path)
    with ledger:
        d = decide(ledger, rules, rule_id, deal_id, kind, note, until=until, force=force)
    if not d.audited:
        _err(_("note: {rule} / deal {deal} is not in any audit yet; the decision is recorded (--force)").format(rule=d.rule_id, deal=d.deal_id))
    return f" ({d.owner})" if d.owner else ""


@cli.command(help=N_('Accept a finding: it leaves the following audits (until the deal changes or --until passes).\n'
                '\n'
                "RULE_ID is the rule's id or its code (1.8)."))
@config_option
@ledger_option
@click.argument("rule_id")
@click.argument("deal_id")
@click.option("--note", "-n", help=N_("Why it is accepted."))
@click.option("--until", callback=_parse_date, help=N_("The waiver expires after this date (YYYY-MM-DD or DD.MM.YYYY)."))
@click.option("--force", is_flag=True, help=N_("Record it even though no audit has flagged this deal for this rule yet."))
def accept(config, ledger_path, rule_id, deal_id, note, until, force):
    who = _decide(config, ledger_path, rule_id, deal_id, "accepted", note, until, force)
    if until:
        click.echo(_("Accepted {rule} / deal {deal}{who} until {until}.").format(rule=rule_id, deal=deal_id, who=who, until=f"{until:%d.%m.%Y}"))
    else:
        click.echo(_("Accepted {rule} / deal {deal}{who}.").format(rule=rule_id, deal=deal_id, who=who))


@cli.command(help=N_("Record a warning against the finding's manager (RULE_ID: the rule's id or its code)."))
@config_option
@ledger_option
@click.argument("rule_id")
@click.argument("deal_id")
@click.option("--note", "-n", help=N_("What the warning is for."))
@click.option("--force", is_flag=True, help=N_("Record it even though no audit has flagged this deal for this rule yet."))
def warn(config, ledger_path, rule_id, deal_id, note, force):
    who = _decide(config, ledger_path, rule_id, deal_id, "warning", note, force=force)
    click.echo(_("Warning recorded for {rule} / deal {deal}{who}.").format(rule=rule_id, deal=deal_id, who=who))


@cli.command(help=N_('Take back a decision: the finding is audited again (or its warnings are removed). RULE_ID: the id or code.'))
@config_option
@ledger_option
@click.argument("rule_id")
@click.argument("deal_id")
@click.option("--warning", "kind", flag_value="warning", help=N_("Take back the warnings instead of the acceptance."))
@click.option("--accepted", "kind", flag_value="accepted", default=True, help=N_("Take back the acceptance (the default)."))
def revoke(config, ledger_path, rule_id, deal_id, kind):
    from .history.decisions import revoke as revoke_decision

    _settings, rules, ledger = _open_workflow(config, ledger_path)
    with ledger:
        d = revoke_decision(ledger, rules, rule_id, deal_id, kind)
    if kind == "accepted":
        text = (_("Took back the acceptance of {rule} / deal {deal}.") if d.count else
                _("No acceptance to take back for {rule} / deal {deal}."))
    else:
        text = (_("Took back the warning(s) of {rule} / deal {deal}.") if d.count else
                _("No warning(s) to take back for {rule} / deal {deal}."))
    click.echo(text.format(rule=d.rule_id, deal=d.deal_id))


def _day(iso: str | None) -> str:
    """A date the ledger keeps as ISO text, as the CLI shows dates: 06.12.2026 (as it is when not a date)."""
    try:
        return f"{dt.date.fromisoformat(str(iso)[:10]):%d.%m.%Y}" if iso else ""
    except ValueError:
        return str(iso)


@cli.command(help=N_('List accepted findings that are kept out of the audits.'))
@config_option
@ledger_option
@click.option("--all", "show_all", is_flag=True, help=N_("Include waivers that ended (expired or the deal changed)."))
def waivers(config, ledger_path, show_all):
    _settings, rules, ledger = _open_workflow(config, ledger_path)
    # «1.7 Разные ответственные (owner-mismatch)»: the rule as the document names it, and the id `accept`/`warn` take
    shown = {r.id: f"{r.sheet_title} ({r.id})" for r in rules}
    with ledger:
        ws = ledger.waivers(active_only=not show_all)
        if not ws:
            click.echo(_("No accepted findings."))
            return
        for w in ws:
            until = " " + _("until {date}").format(date=_day(w.expires_on)) if w.expires_on else ""
            ended = (" — " + _("ENDED {date} ({why})").format(date=_day(w.ended_on), why=w.ended_reason or _("ended"))
                     if w.ended_reason or w.ended_on else "")
            deal, accepted = _("deal"), _("accepted")
            source = {"cli": _("command line"), "document": _("in the document")}.get(w.source, w.source)
            click.echo(f"{shown.get(w.rule_id, w.rule_id):<50} {deal} {w.deal_id:<10} {w.owner or '':<24} {accepted} {_day(w.decided_on)}{until} "
                       f"({source}){': ' + w.note if w.note else ''}{ended}")


@cli.command(help=N_('Per manager: open, overdue, waiting for a decision, without comment, repeats, warnings.'))
@config_option
@ledger_option
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help=N_("Also write a self-contained HTML report."))
@click.option("--manager", help=N_("Only this manager: their to-do (Russian, by rule in code order, with links and evidence); with --html, their own page."))
@click.option("--today", callback=_parse_date, help=N_("Review as of this day (default: today)."))
@click.option("--no-pull", is_flag=True, help=N_("Do not read the latest document first."))
def review(config, ledger_path, html_path, manager, today, no_pull):
    from crm_audit.history.review import build_review, render_html, rule_infos
    from crm_audit.notify.todo import manager_todo, render_todo_html, todo_text

    from .cycle.pull import pull_documents

    settings, rules, ledger = _open_workflow(config, ledger_path)
    with ledger:
        if not no_pull and ledger.latest_audit() is not None:
            try:
                pull_documents(ledger, settings, rules, missing_hint=_read_it_hint())
            except CrmAuditError as exc:  # the review still shows what the ledger has; never silently
                _err(_("warning: {message}; the review shows what was read before (or pass --no-pull)").format(message=exc.message))
        rv = build_review(ledger, due_days=settings.output.due_days, today=today, deal_url=settings.deal_url,
                          rules=rule_infos(rules), manager=manager)
        if manager and not rv.managers:
            from crm_audit.history.review import closest_manager

            everyone = build_review(ledger, due_days=settings.output.due_days, today=today, deal_url=settings.deal_url,
                                    rules=rule_infos(rules)).managers
            hit = closest_manager(manager, [m.owner for m in everyone])
            raise UsageError(_("no manager «{manager}» in the audits").format(manager=manager)
                             + (" " + _("(did you mean {names}?)").format(names=f"«{hit}»") if hit else ""))
    if manager and rv.as_of is not None:
        todos = [manager_todo(rv, m) for m in rv.managers]
        for line in (ln for t in todos for ln in todo_text(t)):
            click.echo(line)
    else:
        from .summary import review_summary_lines

        for line in review_summary_lines(rv):
            click.echo(line)
    if html_path:
        from exporters.safe import atomic_write

        if not Path(html_path).parent.is_dir():
            raise OutputError(_("{path}: the folder {folder} does not exist; create it or choose another path")
                              .format(path=html_path, folder=Path(html_path).parent))
        from .cycle.outputs import output_error

        try:
            with atomic_write(Path(html_path)) as tmp:
                Path(tmp).write_text(render_todo_html(todos[0]) if manager and rv.as_of is not None else render_html(rv),
                                     encoding="utf-8")
        except OSError as exc:
            raise output_error(Path(html_path), exc) from None
        click.echo("\n" + _("Wrote {path}").format(path=html_path))


# --------------------------------------------------------------------------- notify


def _notify_after_run(config: str, ledger_path: str | None) -> None:
    from crm_audit import settings as settings_mod
    from crm_audit.history.ledger import Ledger
    from crm_audit.rules import ruleset

    settings = settings_mod.load(config)
    with Ledger(Path(ledger_path) if ledger_path else settings.ledger_path()) as ledger:
        _send_digests(ledger, settings, ruleset.load(settings))


def _send_digests(ledger, settings, rules, *, today=None, channels=("email", "telegram"), preview_dir=None, resend=False) -> None:
    from crm_audit.notify.send import notify as send

    res = send(ledger, settings, rules, today=today, channels=channels, preview_dir=preview_dir, resend=resend)
    from crm_audit.notify.report import notify_lines

    for line in notify_lines(res, settings_file=settings.file, preview_dir=preview_dir):
        click.echo(line)
    if res.failed:
        raise CrmAuditError(ngettext("{failed} of {n} message failed (listed above); the {sent} delivered are recorded "
                                     "and will not be sent again",
                                     "{failed} of {n} messages failed (listed above); the {sent} delivered are recorded "
                                     "and will not be sent again", len(res.deliveries))
                            .format(failed=len(res.failed), n=len(res.deliveries), sent=len(res.sent)))


@cli.command(help=N_("Send the latest audit's digests: each manager their to-do, the head of sales the team summary.\n"
                '\n'
                '\b\n'
                "Addresses and the mail server are in the settings' notify: section; the\n"
                'SMTP password and the Telegram bot token come from the environment\n'
                '(CRM_AUDIT_SMTP_PASSWORD, CRM_AUDIT_TELEGRAM_TOKEN by default). What was\n'
                'delivered is recorded in the ledger and not sent again (--resend).'))
@config_option
@ledger_option
@click.option("--dry-run", is_flag=True, help=N_("Write the messages into --preview-dir (.eml files, Telegram texts); send nothing, record nothing."))
@click.option("--preview-dir", type=click.Path(file_okay=False), default="crm-audit-preview", show_default=True, help=N_("Where --dry-run writes the messages."))
@click.option("--resend", is_flag=True, help=N_("Send again what the ledger records as already sent for this audit."))
@click.option("--channel", "channels", multiple=True, type=click.Choice(["email", "telegram"]), help=N_("Only this channel (repeatable; default: both)."))
@click.option("--today", callback=_parse_date, help=N_("As of this day (default: today): the days left to the due date."))
@click.option("--no-pull", is_flag=True, help=N_("Do not read the latest document first."))
def notify(config, ledger_path, dry_run, preview_dir, resend, channels, today, no_pull):
    from .cycle.pull import pull_documents

    settings, rules, ledger = _open_workflow(config, ledger_path)
    if dry_run:  # the preview reads the documents as the send does (same warnings), into a copy: the ledger stays as it is
        from crm_audit.history.ledger import Ledger

        ledger.close()
        ledger = Ledger.snapshot(ledger.path)
    with ledger:
        if not no_pull and ledger.latest_audit() is not None:
            try:
                pull_documents(ledger, settings, rules, missing_hint=_read_it_hint())
            except CrmAuditError as exc:
                _err(_("warning: {message}; the digests show what was read before (or pass --no-pull)").format(message=exc.message))
        _send_digests(ledger, settings, rules, today=today, channels=tuple(channels) or ("email", "telegram"),
                      preview_dir=Path(preview_dir) if dry_run else None, resend=resend)


# --------------------------------------------------------------------------- google sheets


@cli.group(help=N_('Google Sheets: check access before the first publish.'))
def gsheet():
    pass


@gsheet.command("check", help=N_('Verify access to the spreadsheet and say exactly what to do if it is missing.'))
@config_option
@click.argument("url_or_key", required=False)
@click.option("--credentials", type=click.Path(dir_okay=False), help=N_("Service-account JSON key (default: from the settings or GOOGLE_APPLICATION_CREDENTIALS)."))
def gsheet_check(config, url_or_key, credentials):
    from exporters.gsheet import check_access

    settings = None
    if Path(config).exists():
        from crm_audit import settings as settings_mod

        settings = settings_mod.load(config)
    url_or_key = url_or_key or (settings.google_sheet if settings else None)
    if not url_or_key:
        raise UsageError(_("give the spreadsheet URL or key (or set google_sheet: in crm-audit.yaml)"))
    if credentials is None and settings is not None and settings.google_credentials:
        credentials = str(settings.resolve(settings.google_credentials))
    r = check_access(url_or_key, credentials)
    click.echo(r.message)
    if not r.ok:
        sys.exit(EXIT_ERROR)


# --------------------------------------------------------------------------- entry point


_register_extra_commands()


_CLICK_PATH = re.compile(r"^(?:File|Directory|Path) '(?P<path>.*)' (?P<what>does not exist|is a file|is a directory|"
                         r"is not readable|is not writable|is not executable)\.$")


def _click_path_message(message: str) -> str:
    """click.Path's English complaint («File '/tmp' is a directory.») in the CLI's language; other texts as they are."""
    m = _CLICK_PATH.match(message)
    if m is None:
        return message
    texts = {"does not exist": _("«{path}» does not exist"), "is a file": _("«{path}» is a file, a folder is expected"),
             "is a directory": _("«{path}» is a folder, a file name is expected"),
             "is not readable": _("«{path}» cannot be read (no permission)"),
             "is not writable": _("«{path}» cannot be written (no permission)"),
             "is not executable": _("«{path}» is not executable")}
    return texts[m["what"]].format(path=m["path"])


def _click_error(exc: click.ClickException) -> str:
    """A command-line mistake click found, in the CLI's language (with where to get help)."""
    ctx = getattr(exc, "ctx", None)
    param = getattr(exc, "param", None)
    hint = getattr(exc, "param_hint", None) or (param.get_error_hint(ctx) if param is not None and ctx is not None else None)
    hint = " / ".join(hint) if isinstance(hint, (list, tuple)) else hint
    if isinstance(exc, click.exceptions.NoSuchOption):
        text = _("no such option: {name}").format(name=exc.option_name)
        if exc.possibilities:
            text += " " + _("(did you mean {names}?)").format(names=", ".join(sorted(exc.possibilities)))
    elif isinstance(exc, click.exceptions.MissingParameter):
        text = _("missing argument {name}").format(name=hint) if exc.param_type == "argument" or (
            param is not None and param.param_type_name == "argument") else _("missing option {name}").format(name=hint)
    elif isinstance(exc, click.exceptions.BadParameter):
        message = _click_path_message(exc.message)
        text = _("invalid value for {name}: {message}").format(name=hint, message=message) if hint else message
    elif isinstance(exc, click.exceptions.BadOptionUsage) and exc.message.endswith(" requires an argument."):
        text = _("option {name} needs a value after it").format(name=exc.option_name)
    elif isinstance(exc, click.exceptions.BadOptionUsage) and exc.message.endswith(" does not take a value."):
        text = _("option {name} takes no value").format(name=exc.option_name)
    else:
        text = exc.format_message()
    text = _("error: {message}").format(message=text)
    if ctx is not None:
        text += "\n" + _("Help: `{command} --help`").format(command=ctx.command_path)
    return text


def main(argv: list[str] | None = None) -> int:
    """Console entry point: maps errors to exit codes, never a traceback."""
    from crm_audit.i18n import choose_language, settings_language, use_language

    use_language(choose_language(settings_language(sys.argv[1:] if argv is None else argv, DEFAULT_CONFIG)))
    try:
        cli.main(args=argv, prog_name="crm-audit", standalone_mode=False)
    except CrmAuditError as exc:
        _err(_("error: {message}").format(message=exc.message))
        return EXIT_ERROR
    except click.exceptions.Abort:
        _err(_("aborted"))
        return EXIT_ERROR
    except click.ClickException as exc:
        from crm_audit.i18n import is_russian

        if is_russian():  # click's own texts are English: said again in Russian, never mixed
            _err(_click_error(exc))
        else:
            exc.show()
        return EXIT_ERROR if exc.exit_code != 0 else 0
    except SystemExit as exc:
        return int(exc.code or 0)
    except KeyboardInterrupt:
        _err(_("interrupted; nothing was overwritten"))
        return 130
    except OSError as exc:  # a file the command was given cannot be used: say which and why, never "a bug"
        from crm_audit.oserrors import os_error_text

        why = os_error_text(exc)
        _err(_("error: {message}").format(message=f"{exc.filename}: {why}" if exc.filename else why))
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - a bug must not look like a crash to the analyst
        if os.environ.get("CRM_AUDIT_DEBUG"):
            raise
        _err(_("error: unexpected {kind}: {exc}\n(this is a bug in crm-audit; rerun with CRM_AUDIT_DEBUG=1 and report the traceback)")
             .format(kind=type(exc).__name__, exc=exc))
        return EXIT_ERROR
    return EXIT_OK


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
