"""The audit as a library call: settings + export directory -> AuditReport."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

import pandas as pd

from crm_audit.engine import plan as planmod
from crm_audit.i18n import N_, _, ngettext
from crm_audit.rules import ruleset
from crm_audit.rules.lang import Rule
from crm_audit.rules.ruleset import RuleSet
from crm_audit.engine.profile import profile_for
from crm_audit.report import (BASE_COLUMNS, AuditReport, Column, DataWarning, RuleResult, blank_column_note, blank_column_warning,
                               skipped_note, skipped_warning, stage_columns_note, stage_columns_warning, unjudged_note,
                               unjudged_warning)
from crm_audit.settings import (DEAL_URL_EXAMPLE, Settings, closed_stages_message, deal_url_example_of,
                                values_warning)
from crm_audit.errors import UsageError
from crm_audit.progress import silent

#: the warning while `stage_order_confirmed: false` (the order of the stages was guessed by `init`)
STAGE_ORDER_GUESSED = N_("the order of the stages in `pipelines:` was guessed from the export: rules that compare stages "
                       "(«stage ≥ X») may flag or miss deals; check the order, then set `stage_order_confirmed: true`")



def stage_order_warning(settings: Settings) -> DataWarning:
    """The run's warning of a guessed stage order: of every pipeline, or of those `stage_order_confirmed:` leaves out."""
    from crm_audit.settings import ORDER_GUESSED_ALL, order_guessed_message

    template, params = order_guessed_message(settings)
    if template == ORDER_GUESSED_ALL:
        template = STAGE_ORDER_GUESSED
    return DataWarning("stage-order-guessed", "", settings.file, template=template, params=params)


KIND_BY_TYPE = {"date": "date", "number": "number", "text": "text", "status": "text"}



def select_rules(settings, rules=None, rule_ids: list[str] | None = None) -> tuple[list, list]:
    """The rules an audit runs (the settings' rules, or ``rules``; only ``rule_ids`` if given) and the warnings their
    files gave; an unknown id is a usage error."""
    rule_warnings = []
    if rules is None:
        rules = ruleset.load_with_warnings(settings)
    if isinstance(rules, RuleSet):
        rules, rule_warnings = rules
    if rule_ids:
        unknown = [r for r in rule_ids if r not in {x.id for x in rules}]
        if unknown:
            raise UsageError(_("unknown rule id(s): {ids}; see `crm-audit rules`").format(ids=", ".join(unknown)))
        rules = [r for r in rules if r.id in rule_ids]
    return rules, rule_warnings

def _rows_of(entity: str, n: int) -> str:
    """«1,000 deals», «1 000 сделок»: rows read of an entity, for the progress line."""
    forms = {"deals": ngettext("{n} deal", "{n} deals", n), "organizations": ngettext("{n} organization", "{n} organizations", n),
             "persons": ngettext("{n} person", "{n} persons", n), "activities": ngettext("{n} activity", "{n} activities", n)}
    return forms.get(entity, "{n} " + entity).format(n=f"{n:,}")


def _kind(ref) -> str:
    if ref.entity == "tasks" and ref.name.endswith("_count") or ref.name == "days_in_stage":
        return "int"
    return KIND_BY_TYPE.get(ref.type, "text")


def scope_text(rule: Rule) -> str:
    names = {"open": "открытые", "won": "выигранные", "lost": "проигранные"}
    text = ", ".join(names[s] for s in rule.statuses) + " сделки"
    if rule.pipelines:
        text += " в воронке " + " / ".join(f"«{p}»" for p in rule.pipelines)
    return text


def audit_export(
    settings: Settings,
    export_dir: str | Path,
    as_of: dt.date | None = None,
    rule_ids: list[str] | None = None,
    rules: RuleSet | list[Rule] | None = None,
    progress: Callable[[str], None] | None = None,
    before_rules: Callable[[], None] | None = None,
) -> AuditReport:
    """Run the loaded rules over an export directory and return the report.

    ``rules``: the rules already parsed — a :class:`~crm_audit.rules.ruleset.RuleSet`
    (``ruleset.load_with_warnings``: its warnings are reported), or a list of
    rules; by default the settings' rule files are parsed here.
    Raises a :class:`~crm_audit.errors.CrmAuditError` subclass on any user
    mistake (settings, rules, missing or unreadable export files).
    ``progress`` is called with a short English line per stage and rule
    (see :class:`crm_audit.progress.Progress`). ``before_rules`` is called once the export is loaded, before the
    rules run (the cycle waits there for the read-back of the previous document to end, so the two peaks of
    memory do not add up: :mod:`crm_audit.cycle.background`).
    """
    from crm_audit.engine import requirements
    from crm_audit.engine.backends.duckdb_backend import DuckDBBackend
    from crm_audit.engine.loading import load_export

    from crm_audit.settings import unfinished_problem

    unfinished = unfinished_problem(settings) if hasattr(settings, "unfinished") else None
    if unfinished is not None:  # init wrote the file without reading the export: nothing to audit with yet
        from crm_audit.errors import SettingsError

        raise SettingsError(problems=[unfinished])
    as_of = as_of or dt.date.today()
    rules, rule_warnings = select_rules(settings, rules, rule_ids)
    plans = planmod.build_all(rules, settings)
    progress = progress or silent
    if hasattr(export_dir, "load_export"):  # a CRM read through its API (crm_audit.sources.SyncedSource): its API profile
        from crm_audit.engine.profile import with_values

        profile = with_values(export_dir.profile.with_columns(getattr(settings, "columns", None) or {}), settings, strict=False)
        progress(_("loading {source}").format(source=export_dir))
        export = export_dir.load_export(settings.on_bad_value, as_of, profile)
    else:
        profile = profile_for(settings)  # with the settings' `columns:`
        progress(_("loading the export {folder}").format(folder=export_dir))
        export = load_export(export_dir, profile, settings.on_bad_value, as_of=as_of)
    deals = export.entities.get("deals")
    if deals is not None and deals.row_key and settings.deal_url:  # no deal ids (L10): a link would open no deal
        settings = settings.model_copy(update={"deal_url": ""})
    counts = ", ".join(_rows_of(name, e.rows) for name, e in export.entities.items())
    progress(_("loaded {counts}; preparing the rules").format(counts=counts))
    if before_rules is not None:
        before_rules()
    try:
        from crm_audit.engine import export_check
        from crm_audit.errors import SettingsError

        from crm_audit.settings import columns_problems

        # every problem of `columns:` at once: an unknown entity or field, a header the file lacks (V2)
        needs = requirements.decide(plans, export, profile)  # what the export lacks: skip or stop, before any SQL
        unmatched = columns_problems(settings, profile) + export_check.unmatched_columns(settings, export, profile, needs)
        if unmatched:
            raise SettingsError(problems=unmatched)
        export_check.raise_if_missing(settings, export, needs)  # a column a `fields:` line names: at that line (V3)
        backend = DuckDBBackend(export, settings, as_of)
        backend.prepare(needs.runnable)
        blank = requirements.blank_columns(export, needs.runnable)  # columns the export lost the values of
        unjudged = requirements.unjudged(backend, needs.runnable)  # deals a rule cannot judge (no date)
        results = []
        skipped_warnings = [blank_column_warning(b) for b in blank]  # the terminal in the CLI's language, the FAQ in Russian
        skipped_warnings += [unjudged_warning(u) for u in unjudged]
        deals = export.entities.get("deals")
        per_stage = deals.per_stage.get("stage_changed") if deals is not None else None
        # days in stage read from one column per stage (HubSpot's Date entered "<stage> (<pipeline>)"): said per rule
        from_columns = ({q.rule.id for q in needs.runnable if requirements.reads_stage_since(q)} if per_stage else set())
        from crm_audit.engine.stage_guess import guessed_comparisons, order_unconfirmed  # «stage ≥ X» by an order nobody confirmed

        guessed = {g.rule_id: g for g in guessed_comparisons(plans, settings)}
        ran = {q.rule.id: q for q in needs.runnable}
        for i, p in enumerate(plans, 1):
            r = p.rule
            progress(_("rule {i}/{n}: {rule}").format(i=i, n=len(plans), rule=r.sheet_title))  # «1.7 Разные ответственные»
            evidence = [Column(f"ev{i}", title, _kind(ref), planmod.is_volatile(ref)) for i, (ref, title) in enumerate(p.evidence)]
            note = ""
            skip = needs.skipped_rule(r.id)
            if skip is not None:
                df = pd.DataFrame(columns=[c.key for c in BASE_COLUMNS] + [c.key for c in evidence])
                note = skipped_note(skip)
                skipped_warnings.append(skipped_warning(skip))
            else:
                df = backend.run(ran.get(r.id, p))  # as decided: without the `any:` branches the export cannot feed
                notes = [f"Внимание: {blank_column_note(b)}." for b in blank if r.id in b.needed_by]
                notes += [f"Внимание: {unjudged_note(u)}." for u in unjudged if u.rule_id == r.id]
                if r.id in from_columns:
                    pattern = deals.fields["stage_changed"]
                    notes.append(stage_columns_note(pattern, len(per_stage)))
                    skipped_warnings.append(stage_columns_warning(r.code, r.id, r.title, pattern, len(per_stage),
                                                                  str(deals.file)))
                if r.id in guessed:
                    notes.append(guessed[r.id].note())
                    skipped_warnings.append(guessed[r.id].warning())
                note = " ".join(notes)
            results.append(
                RuleResult(
                    rule_id=r.id, code=r.code, title=r.title, criticality=r.criticality,
                    sheet_title=r.sheet_title, evidence=evidence,
                    rows=df, what=r.what, why=r.why, how=r.how, scope_text=scope_text(r), note=note,
                    skipped=skip is not None,
                )
            )
        warnings = skipped_warnings + [DataWarning(p.reason, "", p.file, template=p.template, params=p.params) if p.template
                                       else DataWarning(p.reason, p.message, p.file) for p in rule_warnings]
        if order_unconfirmed(settings):  # a pipeline of one open stage has no order to confirm
            warnings.append(stage_order_warning(settings))
        example = deal_url_example_of(settings.crm, settings.deal_url)
        if example:  # every row's link opens no deal
            warnings.append(DataWarning("deal-url-example", "", settings.file, template=DEAL_URL_EXAMPLE,
                                        params={"url": settings.deal_url, "example": example}))
        if settings.closed_unconfirmed():  # init's guess of which closed stages are won / lost
            template, params = closed_stages_message(settings)
            warnings.append(DataWarning("closed-stages-guessed", "", settings.file, template=template, params=params))
        warnings += export.warnings + needs.warnings + export.on_own_page(backend.warnings)
        # cell texts of the status / done that no value of the profile or of `values:` names (the deals holding them
        # are in no rule's scope), and init's inference of what they mean while unconfirmed: said first, never one line
        # lost among the others (a silent pass otherwise)
        first = [w for w in warnings if w.code == "unmapped-values"]
        guessed_values = values_warning(settings)
        if guessed_values is not None:
            first.insert(0, DataWarning("values-guessed", "", settings.file, template=guessed_values[0],
                                        params=guessed_values[1]))
        warnings = first + [w for w in warnings if w.code != "unmapped-values"]
        warnings += [DataWarning(p.reason, "", p.file, p.line, template=p.template, params=p.params)  # rules: skip: now stale
                     for p in export_check.enableable_rules(settings, export, profile)]
        warnings += [DataWarning(p.reason, "", p.file, p.line, template=p.template, params=p.params)  # a name no owner is
                     for p in export_check.list_names_not_in_export([q.rule for q in plans], settings, export)]
        for w in warnings:  # the CRM's own explanation of a warning (profile `hints`)
            if w.code in profile.hints:
                w.message = f"{w.message} — {profile.hint(w.code)}"
        return AuditReport(
            as_of=as_of,
            generated_at=dt.datetime.now().replace(microsecond=0),
            due_date=as_of + dt.timedelta(days=settings.output.due_days),
            results=results,
            deal_count=backend.deal_count,
            warnings=warnings,
            source=str(export_dir),
            crm=settings.crm,
            input_fingerprints=dict(export.fingerprints),
            entity_rows={k: v.rows for k, v in export.entities.items()},
            owners=backend.owners(),
            skipped=list(needs.skipped),
            blank_columns=blank,
            unjudged=unjudged,
            newest_date=_newest_date(export),
        )
    finally:
        export.close()
        export.con.close()


#: Deal fields whose newest value says how fresh an export is (things that happened, never a planned date).
_FRESHNESS_FIELDS = ("created", "stage_changed", "updated")


def _newest_date(export) -> dt.date | None:
    """The newest created / stage-change date of the export's deals, None when it has neither."""
    deals = export.entities.get("deals")
    fields = [f for f in _FRESHNESS_FIELDS if deals is not None and f in deals.fields]
    if not fields:
        return None
    try:
        row = export.con.execute(
            "SELECT " + ", ".join(f'max(try_cast("{f}" AS DATE))' for f in fields) + f" FROM {deals.table}"
        ).fetchone()
    except Exception:  # a column of another type: freshness is a hint, never a reason to fail the audit
        return None
    found = [d for d in row or () if isinstance(d, dt.date)]
    return max(found) if found else None

