"""One audit cycle, in the only order that loses nothing.

1. read back every document the team may have written in (the previous
   audit's document as the ledger recorded it, a copy of it, the ``--out``
   target, the Google Sheet) into the ledger;
2. audit the export (the engine) — started in a second thread before 1, since
   it only reads the export (:mod:`crm_audit.cycle.background`);
3. carry the ledger over to the new findings (pure): the accepted findings
   leave the report first, before any output is started;
4. write the outputs, each atomically, after a write-ahead note in the ledger;
5. publish to the Google Sheet (merging edits typed meanwhile);
6. record the audit, its findings and the waivers that ended, in one transaction.

A dry run and a partial ``--rule`` run work on an in-memory copy of the
ledger (:meth:`Ledger.snapshot`): they cannot change it. Nothing here prints:
:func:`run_cycle` returns a :class:`CycleResult` for the caller to show.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from crm_audit.cycle.background import BackgroundCall
from crm_audit.cycle.documents import location_of, reader_for, sources_to_read
from crm_audit.cycle.outputs import EarlyCsv, Written, check_output_paths, refuse_open_document, remove_leftover_temps, write_outputs
from crm_audit.cycle.request import AuditRequest, CycleResult, Notice, ReadBack
from crm_audit.cycle.superseded import file_state, remember_read, rows_to_store, superseded_notice, superseded_sources
from crm_audit.errors import RuleError, SettingsError, UsageError
from crm_audit.i18n import _, ngettext
from crm_audit.progress import silent


def _path(value) -> Path | None:
    return Path(value).expanduser() if value not in (None, "") else None


def run_cycle(req: AuditRequest) -> CycleResult:
    """Run one audit cycle (see the module docstring); raises :class:`~crm_audit.errors.CrmAuditError` on bad input."""
    from crm_audit import settings as settings_mod
    from crm_audit.rules import ruleset

    progress = req.progress or silent
    if not Path(req.config).exists():
        raise SettingsError(_("{config}: settings file not found; create one with `crm-audit init` (or pass --config PATH)")
                            .format(config=req.config))
    settings = settings_mod.load(req.config)
    partial = bool(req.rule_ids)
    # a partial run writes only what it is told to: the settings' outputs are the team's documents
    out = _path(req.out) or (settings.resolve(settings.output.xlsx) if settings.output.xlsx and not partial else None)
    csv = _path(req.violations_csv) or (
        settings.resolve(settings.output.violations_csv) if settings.output.violations_csv and not partial else None)
    gsheet = req.gsheet or (settings.google_sheet if not partial else None)
    credentials = str(req.credentials) if req.credentials else (
        str(settings.resolve(settings.google_credentials)) if settings.google_credentials else None)
    ledger_path = _path(req.ledger) or settings.ledger_path()
    as_of = req.as_of or dt.date.today()
    rule_set = ruleset.load_with_warnings(settings)  # parsed once: the audit reuses it
    rules = rule_set.rules
    by_code = {r.code: r.id for r in rules}
    rule_ids = tuple(by_code.get(r, r) for r in req.rule_ids)  # --rule takes the sheet's code (1.8) too
    scratch = req.dry_run or partial  # works on a copy of the ledger: changes no ledger row

    if req.previous and req.no_previous:
        raise UsageError(_("--previous and --no-previous contradict each other; give one"))
    warehouse = None  # the CRM's tables in a warehouse: --engine URL, or engine: url: in the settings without an export
    if req.engine or (not req.export and req.source is None and settings.engine is not None and settings.engine.url):
        from crm_audit.warehouse.audit import resolve

        warehouse = resolve(settings, req.engine or None)  # a bad URL or profile stops the run before anything is read
    from crm_audit.engine.dialects.check import engine_problems

    # a `matches:` pattern the engine cannot run (DuckDB: look-around, back-references) stops the run as validate does
    bad = engine_problems([r for r in rules if not r.off and (not rule_ids or r.id in rule_ids)],
                          warehouse.url.dialect if warehouse is not None else "duckdb")
    if bad:
        raise RuleError(problems=bad)
    check_output_paths(out, csv, ledger_path)
    if out is not None and not req.dry_run:
        refuse_open_document(out)
    if partial and not req.dry_run and ((out is not None and out.exists()) or gsheet):
        # the team's document holds every rule's sheet and the managers' work on them
        where = _("the workbook {path}").format(path=out) if out is not None and out.exists() else _("the Google Sheet")
        raise UsageError(_("--rule runs part of the audit: it would replace {where} with {n} rule sheet(s) of {total}; write the "
                           "partial result to a new file instead (--out partial.xlsx, or --violations-csv), or use --dry-run")
                         .format(where=where, n=len(req.rule_ids), total=len(rules)))

    from crm_audit.engine.audit import audit_export
    from crm_audit.history.carry import apply_waivers, waivers_by_rule
    from crm_audit.history.ledger import Ledger
    from crm_audit.history.pull import store_edits

    def audit(say, read_back_done):
        """2. the audit: only reads the export (the CRM, the warehouse); loads it while the documents are read back,
        then waits for the read-back to end before the rules run (its memory and theirs do not add up)"""
        if warehouse is not None:
            from crm_audit.warehouse.audit import audit_warehouse

            read_back_done()
            return audit_warehouse(settings, warehouse, as_of=as_of, rule_ids=list(rule_ids) or None, rules=rule_set,
                                   progress=say)
        return audit_export(settings, req.source if req.source is not None else req.export, as_of=as_of,
                            rule_ids=list(rule_ids) or None, rules=rule_set, progress=say, before_rules=read_back_done)

    ledger = Ledger.snapshot(ledger_path) if scratch else Ledger(ledger_path)
    with ledger, BackgroundCall(audit, progress) as audit_job:
        result = CycleResult(report=None, dry_run=req.dry_run, partial=partial)  # type: ignore[arg-type]
        replaced = ledger.audit_on(as_of)
        if replaced is not None and not scratch:  # a dry or partial run replaces nothing (its ledger is a copy)
            result.replaced = as_of
        # 1. nothing is overwritten before every document the team may have written in is read back
        sources, notices = sources_to_read(ledger, out=out, gsheet=gsheet, previous=req.previous, no_previous=req.no_previous,
                                           replaced_id=replaced["id"] if replaced is not None else None)
        result.notices += notices
        # older audits' documents edited after they were last read (a manager kept the older dated file open): first,
        # so every current document's edit wins over them
        sources = superseded_sources(ledger, {s.location for s in sources}) + sources
        latest_as_of = (latest := ledger.latest_audit()) and latest["as_of"]
        unfinished = [i for w in ledger.unfinished_writes() for i in w.ids]
        spreadsheet = None
        gsheet_loc = location_of(gsheet) if gsheet else None
        seen_in_gsheet = None
        superseded_reads = []  # told once every document is read: a newer document's edit wins over them
        for i, src in enumerate(sources):
            progress(_("reading back {location}").format(location=src.location))
            if src.location == gsheet_loc:
                from exporters.gsheet import open_spreadsheet

                spreadsheet = open_spreadsheet(gsheet, credentials, client=req.gsheet_client, retry=req.gsheet_retry)
            reader = reader_for(src.location, by_code, credentials, client=req.gsheet_client, retry=req.gsheet_retry,
                                spreadsheet=spreadsheet if src.location == gsheet_loc else None, ledger=ledger)
            state, read_at = file_state(src.location) if src.kind == "xlsx" else None, dt.datetime.now()
            edits = reader.read_edits()
            if i == len(sources) - 1:
                # the last document's rows are in memory: the rules may run while they are stored in the ledger (SQLite,
                # one thread) — the parsed sheets are gone, so the two memory peaks still do not add up (issue 17: the
                # second audit's 2.5 s of storing no longer wait before the rules)
                audit_job.release()
            if src.location == gsheet_loc:
                seen_in_gsheet = edits
            pulled = store_edits(ledger, rows_to_store(ledger, src, edits), src.location, src.audit_id, read_at,
                                 version=src.version, shown_file=src.shown_file)
            del edits  # the untouched rows of a million-row document are not held through the audit (issue 17: memory)
            remember_read(ledger, src.location, state, read_at)
            rb = ReadBack(src.location, src.kind, src.role, src.audit_as_of, pulled.compact())
            result.read_back.append(rb)
            if src.role == "superseded":
                superseded_reads.append((rb, src.audit_id, read_at))
        result.notices += [n for rb, audit_id, read_at in superseded_reads
                           if (n := superseded_notice(ledger, rb, audit_id, read_at, latest_as_of)) is not None]
        if gsheet and spreadsheet is None:
            from exporters.gsheet import open_spreadsheet

            spreadsheet = open_spreadsheet(gsheet, credentials, client=req.gsheet_client, retry=req.gsheet_retry)

        # 2.–3. the audit (started before the read-back, in a second thread), with the ledger carried over
        report = audit_job.result()
        result.report = report
        if (stale := stale_as_of(as_of, report.newest_date)) is not None:
            result.notices.append(stale)
        if not req.dry_run:
            targets = [p for p in (out, csv) if p is not None]
            for p in remove_leftover_temps(targets):
                result.notices.append(Notice("temp-removed", _("removed {path}, left by a run that was stopped while writing")
                                             .format(path=p)))
        # the accepted findings leave the report before any output starts: none of them shows an accepted finding
        waivers = apply_waivers(report, waivers_by_rule(ledger, as_of))
        # the CSV needs only the audit's rows: written meanwhile, put in place with the other outputs (issue 17)
        early_csv = EarlyCsv(report, csv, csv_excel=req.csv_excel) if csv is not None and not req.dry_run else None
        try:
            return _after_audit(req, result, report, ledger, early_csv, waivers, progress, as_of=as_of, out=out, csv=csv,
                                gsheet=gsheet, gsheet_loc=gsheet_loc, spreadsheet=spreadsheet, seen_in_gsheet=seen_in_gsheet,
                                partial=partial, scratch=scratch, unfinished=unfinished)
        finally:
            if early_csv is not None:
                early_csv.discard()


def _after_audit(req: AuditRequest, result: CycleResult, report, ledger, early_csv, waivers, progress, *, as_of, out, csv,
                 gsheet, gsheet_loc, spreadsheet, seen_in_gsheet, partial: bool, scratch: bool, unfinished: list) -> CycleResult:
    """3.–6. of :func:`run_cycle`: carry-over, the outputs, the Google Sheet, the ledger."""
    from crm_audit.cycle.written_parts import forget_written, record_written
    from crm_audit.history.carry import carry_inputs, carry_over
    from crm_audit.history.changes import changes_for_report
    from crm_audit.history.hits import hit_history
    from crm_audit.history.pull import store_edits
    from crm_audit.history.record import findings_table, record

    progress(_("carrying over statuses and comments ({n} violations)").format(n=f"{report.total:,}"))
    carry = carry_over(report, carry_inputs(ledger, report), waivers)
    report.warnings = [w for rb in result.read_back for w in rb.result.warnings()] + report.warnings
    if not partial:
        report.hit_history = hit_history(report, ledger)
        report.changes = changes_for_report(ledger, report, carry)

    # 4. outputs: the findings file first (what the document shows), a write-ahead note, then the files
    write_id = findings_file = None
    report.ledger_id = ledger.ledger_id
    if not req.dry_run:
        if not scratch:
            findings_file = ledger.prepare_findings(as_of, findings_table(report, carry))
            if out is not None:
                write_id = ledger.begin_document_write(location_of(out), as_of, findings_file)
                forget_written(ledger, location_of(out))  # recorded again from the file once it is in place
        result.written += write_outputs(report, out, csv, progress, csv_excel=req.csv_excel, early_csv=early_csv)
        if out is not None and not scratch:  # as written: once superseded, only a later change to it is read again
            remember_read(ledger, location_of(out), file_state(str(out)), dt.datetime.now())
            record_written(ledger, location_of(out), out, report, findings_file)

    # 5. the Google Sheet
    if spreadsheet is not None:
        from exporters.gsheet import publish

        progress(_("publishing to the Google Sheet"))
        published = publish(report, spreadsheet, seen=seen_in_gsheet, dry_run=req.dry_run, retry=req.gsheet_retry,
                            progress=progress)
        result.publish = published
        late = published.late_edits
        if late:
            store_edits(ledger, late, gsheet_loc, None)
            result.notices.append(Notice("late-edits", ngettext(
                "{n} edit typed into the Google Sheet during this run was kept in it and recorded",
                "{n} edits typed into the Google Sheet during this run were kept in it and recorded", len(late)).format(n=len(late))))
        if not req.dry_run:
            result.written.append(Written("Google Sheet", gsheet))

    # 6. the ledger (a partial or dry run records nothing: its ledger is a copy)
    if not scratch:
        progress(_("recording the audit in the ledger"))
        # the shared Google Sheet is the team's document when there is one; the workbook is then a copy
        documents = [(gsheet_loc, "gsheet")] if spreadsheet is not None else []
        if out is not None:
            documents.append((location_of(out), "xlsx"))
        audit_id = record(report, ledger, carry, documents, write_id=write_id, findings_file=findings_file)
        if req.source is not None or ledger.sync_of(audit_id) is not None:  # which CRM sync it read (None: an export)
            ledger.record_sync(audit_id, getattr(req.source, "sync_id", None), getattr(req.source, "crm", ""),
                               str(getattr(req.source, "snapshot", "")))
        if unfinished:
            ledger.close_writes(unfinished)
        result.recorded = True
    return result


__all__ = ["AuditRequest", "CycleResult", "run_cycle"]


#: --as-of this many days or more from the export's newest date is probably a mistake (a wrong date or an old export).
STALE_AS_OF_DAYS = 45


def stale_as_of(as_of: dt.date, newest: dt.date | None) -> Notice | None:
    """A notice when the audit date is far from the newest date in the export, else None."""
    if newest is None or abs((as_of - newest).days) <= STALE_AS_OF_DAYS:
        return None
    days = abs((as_of - newest).days)
    text = (ngettext("the audit date {date} is {n} day after the newest date in the export ({newest}); check --as-of or "
                     "whether this is the latest export",
                     "the audit date {date} is {n} days after the newest date in the export ({newest}); check --as-of or "
                     "whether this is the latest export", days) if as_of > newest else
            ngettext("the audit date {date} is {n} day before the newest date in the export ({newest}); check --as-of or "
                     "whether this is the latest export",
                     "the audit date {date} is {n} days before the newest date in the export ({newest}); check --as-of or "
                     "whether this is the latest export", days))
    return Notice("as-of-far", text.format(date=f"{as_of:%d.%m.%Y}", n=days, newest=f"{newest:%d.%m.%Y}"))

