"""``crm-audit inspect DIR``: what the audit would read from an export.

Which profile reads it (auto-detected by headers unless given), which file is
which entity, which column feeds which field, which columns are kept as
custom fields or ignored, row counts, the first unreadable cells, and which
rules can run, would be skipped (the CRM does not export what they need) or
would fail (a column the CRM exports is missing from the files). This is what
the analyst runs when the first audit looks wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from crm_audit.errors import CrmAuditError, InputError, Problem
from crm_audit.i18n import N_, _, ngettext
from crm_audit.engine.profile import Profile, available, hkey, load_profile, with_closed_stages, with_decimal_mark
from crm_audit.report import BlankColumn, blank_column_warning, blank_here, skipped_why, unjudged_here

MAX_PROBLEMS = 10


# --------------------------------------------------------------------------- detection


def profile_score(profile: Profile, files: dict[Path, list[str]]) -> int:
    """How well a profile explains the files' headers (higher is better)."""
    detect = {hkey(h) for h in profile.detect}
    score = 0
    for path, headers in files.items():
        best = 0
        for spec in profile.entities.values():
            idx = spec.header_index()
            hits = 0
            for h in headers:
                bare, had_prefix = spec.strip_prefix(h)
                if hkey(bare) in idx:
                    hits += 2 if had_prefix else 1
            best = max(best, hits)
        score += best
        score += 3 * sum(1 for h in headers if hkey(h) in detect)
    return score


def detect_profile(directory: str | Path) -> tuple[str, dict[str, int]]:
    """(best profile name, score of every bundled profile) from the headers."""
    from crm_audit.engine.readers import export_files, peek_headers

    d = Path(directory)
    headers: dict[Path, list[str]] = {}
    for p in export_files(d):
        try:
            headers[p] = peek_headers(p)
        except CrmAuditError:
            continue
    scores = {name: profile_score(load_profile(name), headers) for name in available()}
    if not scores or max(scores.values()) == 0:
        return "pipedrive", scores
    best = max(scores.values())
    winners = [n for n, s in scores.items() if s == best]
    return ("pipedrive" if "pipedrive" in winners else winners[0]), scores


SURE_SCORE = 6  # a profile this far ahead (and twice the next one) explains the headers beyond doubt


@dataclass(frozen=True)
class Detection:
    """Which bundled profile reads an export, as :func:`detect_profile` scores it, and how sure that is.

    ``decided``: one profile scores highest and above 0 (none, or a tie: the caller asks for ``--crm``); ``sure``: it
    scores at least :data:`SURE_SCORE` and twice the next one; ``try_also``: the other profiles worth a ``--crm``
    (a tie, or within half the best score; every profile when no header matched), best first."""

    name: str
    scores: dict[str, int]
    decided: bool
    sure: bool
    try_also: tuple[str, ...]

    def scores_text(self) -> str:
        """«hubspot 36, salesforce 13»: the profiles that matched a header, best first."""
        return ", ".join(f"{n} {s}" for n, s in sorted(self.scores.items(), key=lambda x: (-x[1], x[0])) if s)


def detection(directory: str | Path) -> Detection:
    """:func:`detect_profile` with its certainty: what ``init --from-export`` without ``--crm`` says and uses."""
    name, scores = detect_profile(directory)
    best = max(scores.values(), default=0)
    ranked = sorted(scores, key=lambda n: (-scores[n], n))
    if best == 0:
        return Detection(name, scores, False, False, tuple(available()))
    winners = [n for n in ranked if scores[n] == best]
    second = max((s for n, s in scores.items() if n != name), default=0)
    close = tuple(n for n in ranked if n != name and scores[n] > 0 and 2 * scores[n] >= best)
    return Detection(name, scores, len(winners) == 1, best >= SURE_SCORE and best >= 2 * second, close)


# --------------------------------------------------------------------------- report


@dataclass
class FileReport:
    path: Path
    entity: str | None
    rows: int = 0
    mapped: list[tuple[str, str]] = field(default_factory=list)  # (export header, field)
    custom: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    how_read: str = ""
    headers: list[str] = field(default_factory=list)
    rows_where: str = ""  # a file holding two entities: this entity's rows
    derived: str = ""  # an entity read from the deals file's own columns (the profile's `from_deals:`): how
    # a column no field takes -> the closest field of the profile and the header it resembles
    suggestions: dict[str, tuple[str, str]] = field(default_factory=dict)
    # a column no name suggests, whose values fit a field no column feeds (crm_audit/engine/value_guess.py)
    value_guesses: list = field(default_factory=list)
    # the export could not be loaded: why this file (taken for `entity` by its name or headers) was not read
    unread: str | None = None
    # not recognised, but nearly an entity's file (its signature columns, a required one missing): that entity and
    # what it lacks — the text `run` stops with when no other file is that entity's
    near: str | None = None
    near_why: str = ""
    # the export could not be loaded, but not because of this file (it fits its entity): it was not read
    waits: bool = False
    # the CRM's per-stage columns not read (EntitySpec.stage_columns, a `per_stage` field fed otherwise): (the family's
    # header with <stage> / <pipeline>, how many columns), listed once instead of as custom fields
    stage_columns: list[tuple[str, int]] = field(default_factory=list)
    # ignored by the load for a reason of its own (a look-alike of a file named as the entity, a file named like an
    # entity lacking its columns, an object the audit does not read): `run`'s warning, word for word (acceptance S7)
    skipped: str = ""
    # the settings' `values:` read into a mapped column: (its header, the field, {cell text: value})
    values: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


@dataclass
class RuleCheck:
    code: str
    rule_id: str
    state: str  # run | skip | fail
    why: str = ""
    partial: bool = False  # runs, but some deals cannot be judged or a column it reads is blank (``why``)


@dataclass
class InspectReport:
    directory: Path
    profile: str
    profile_title: str
    detected: bool
    scores: dict[str, int] = field(default_factory=dict)
    files: list[FileReport] = field(default_factory=list)
    absent: list[tuple[str, str]] = field(default_factory=list)  # (entity, note)
    rules: list[RuleCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    languages: list[str] = field(default_factory=list)  # the interface languages of the headers (profile `languages:`)
    # cells that do not read, which `run` stops on under the settings in force (`on_bad_value: error`)
    stops_on: int = 0

    def rules_in(self, state: str) -> list[str]:
        return [r.rule_id for r in self.rules if r.state == state]


def _languages(profile: Profile, d: Path) -> list[str]:
    """The interface languages of the export's headers (:func:`crm_audit.engine.mapping.headers_read`)."""
    from crm_audit.engine.mapping import detect_entity, headers_read
    from crm_audit.engine.readers import export_files

    files = [(p, _headers_or_none(p)) for p in export_files(d)]
    return profile.interface_languages(headers_read(profile, [(detect_entity(profile, p, hs) if hs else None, hs)
                                                              for p, hs in files]))


def _headers_or_none(path: Path) -> list[str]:
    from crm_audit.engine.readers import peek_headers

    try:
        return peek_headers(path)
    except CrmAuditError:
        return []


def suggest_columns(export, profile):
    """The columns to suggest for fields no column feeds: the matcher `init --from-export` writes `columns:` with
    (:mod:`crm_audit.engine.suggest`), so inspect suggests nothing init would not apply."""
    from crm_audit.engine.suggest import suggest_columns as suggest

    return suggest(export, profile)


def _settings_for(crm: str, config: str | Path | None):
    from crm_audit import settings as settings_mod
    from crm_audit.resources import demo_dir

    if config is not None:
        s = settings_mod.load(config)
        return s.model_copy(update={"crm": crm}) if s.crm != crm else s
    s = settings_mod.load(demo_dir() / "crm-audit.yaml")
    return s.model_copy(update={"crm": crm})


def _rule_checks(export, settings) -> tuple[list[RuleCheck], list[BlankColumn], list, object]:
    """Each rule's outcome, the columns blank in every row, the values of the fields rules read as yes/no that
    are no yes/no word of the profile (as `run` warns of them), and what the rules need of the export
    (:func:`crm_audit.engine.requirements.decide`)."""
    import datetime as dt

    from crm_audit.engine import plan as planmod
    from crm_audit.engine import requirements
    from crm_audit.engine.backends.duckdb_backend import DuckDBBackend
    from crm_audit.rules import ruleset

    rules, _warnings = ruleset.load_with_warnings(settings)
    plans = planmod.build_all(rules, settings)
    needs = requirements.decide(plans, export)
    blank = requirements.blank_columns(export, needs.runnable)
    unjudged = []
    off_stage: dict[str, int] = {}  # rule id -> deals of its scope in a stage the settings lack (not compared)
    able = [p for p in needs.runnable if not needs.missing_for(p.rule.id)]
    if able and not any(m.needed_by_all for m in needs.missing):  # the deals a rule could not judge (no date), as `run` counts them
        backend = DuckDBBackend(export, settings, dt.date.today())
        backend.prepare(able)
        unjudged = requirements.unjudged(backend, able)
        from crm_audit.engine import stage_guess

        off_stage = {p.rule.id: backend.stage_unknown_deals(p.statuses) for p in able if stage_guess.compares_stages(p)}
    out = []
    for p in plans:
        missing = needs.missing_for(p.rule.id)
        skip = needs.skipped_rule(p.rule.id)
        if missing:
            from crm_audit.engine.export_check import renamed_column_note  # a `fields:` line names it: where it may have gone

            cols = "; ".join(_("{file}: required column «{column}» is missing").format(file=requirements.file_name(m), column=m.column)
                             + "".join(f" — {n.text()}" for n in [renamed_column_note(settings, export, needs, m)] if n)
                             for m in missing)
            out.append(RuleCheck(p.rule.code, p.rule.id, "fail", cols))
        elif skip is not None:
            out.append(RuleCheck(p.rule.code, p.rule.id, "skip", skipped_why(skip).text()))  # in the CLI's language
        else:
            notes = [unjudged_here(u) for u in unjudged if u.rule_id == p.rule.id]
            notes += [blank_here(b) for b in blank if p.rule.id in b.needed_by]
            if off_stage.get(p.rule.id):
                notes.append(ngettext("{n} deal in the rule's scope is in a stage or pipeline the settings lack: its stage "
                                      "is not compared (add the stage under `pipelines:`)",
                                      "{n} deals in the rule's scope are in a stage or pipeline the settings lack: their "
                                      "stage is not compared (add the stages under `pipelines:`)",
                                      off_stage[p.rule.id]).format(n=off_stage[p.rule.id]))
            read_aside = _set_aside_notes(p, export)  # where it reads a file's records from instead (never partial)
            out.append(RuleCheck(p.rule.code, p.rule.id, "run", "; ".join([*notes, *read_aside]), partial=bool(notes)))
    return out, blank, [w for w in needs.warnings if w.code == "unknown-value"], needs


def _set_aside_notes(p, export) -> list[str]:
    """A rule reading organizations / persons whose file no deal links to: it reads those the deals' rows name."""
    from crm_audit.engine.requirements import REF_ENTITY

    aside = getattr(export, "set_aside", {})
    read = {REF_ENTITY.get(ref.entity) for ref in p.fields}
    return [_("reads the {entity} from the deals' own columns, not from {file}: no deal links to its records (see the "
              "problems below)").format(entity=entity_title(e), file=a.entity.file.name)
            for e, a in aside.items() if e in read]


def _as_init_would(rep: InspectReport, export, profile) -> None:
    """A rule that runs on the handbook's settings but that `init --from-export` writes under `rules: skip:` (a stage
    or pipeline of the handbook the team does not have, a stage order it guessed): said as skipped, with init's reason
    — inspect and init agree on which rules run (issue 13 acceptance L5)."""
    from crm_audit import exportdraft as xd

    try:
        draft = xd.Draft(crm=profile.name, pipelines=xd.pipelines_of(export, profile))
        off = {o.rule_id: o.why for o in xd.rules_that_cannot_run(draft, export, profile).off} if draft.pipelines else {}
    except CrmAuditError:
        return
    for rc in rep.rules:
        if rc.state == "run" and rc.rule_id in off:
            rc.state, rc.partial = "skip", False
            rc.why = _("`init --from-export` switches it off: {why}").format(why=off[rc.rule_id])


#: inspect without settings: the trial stages init would propose for a rule sparing them (acceptance P5)
TRIAL_PROPOSED = N_("`init --from-export` proposes trial_stages: {stages} (by their names) — check them")
TRIAL_NOT_FOUND = N_("no trial stage found among the export's stages: trial_stages: stays empty, and deals long in a "
                     "trial stage are flagged — write yours in trial_stages:")


def _reads_setting(cond, name: str) -> bool:
    """The rule condition compares a field with the settings' list ``name``."""
    from crm_audit.rules.lang import SettingRef

    if cond is None:
        return False
    if isinstance(getattr(cond, "value", None), SettingRef) and cond.value.name == name:
        return True
    return any(_reads_setting(c, name) for c in (*(getattr(cond, "items", None) or []), getattr(cond, "item", None)))


def _trial_note(rep: InspectReport, export, profile, settings) -> None:
    """A rule sparing the trial stages (2.4) that runs: the trial stages init would propose by the export's stage
    names, or that it found none — never a silent empty list (issue 13 acceptance P5)."""
    from crm_audit import exportdraft as xd
    from crm_audit.rules import ruleset

    try:
        rules = {r.id: r for r in ruleset.load_with_warnings(settings)[0]}
        draft = xd.Draft(crm=profile.name, pipelines=xd.pipelines_of(export, profile))
    except CrmAuditError:
        return
    if not draft.pipelines:
        return
    xd.fill_lists(draft, [], [])
    if not draft.trial_why and not draft.trial_missing:  # the handbook's own trial stage is the team's
        return
    note = (_(TRIAL_PROPOSED).format(stages=", ".join(f"«{s}»" for s in draft.trial_stages)) if draft.trial_why
            else _(TRIAL_NOT_FOUND))
    for rc in rep.rules:
        rule = rules.get(rc.rule_id)
        if rc.state == "run" and rule is not None and any(_reads_setting(c, "trial_stages") for c in (rule.where, rule.when)):
            rc.why = f"{rc.why}; {note}" if rc.why else note


def _with_notes(header: str, notes: list) -> str:
    """A mapped column as inspect lists it: the header, then how the field is fed beyond it (made in the CLI's language)."""
    said = "; ".join(n.text() for n in notes)
    if not said:
        return header
    return f"{header} ({said})" if header else f"({said})"


def inspect_export(directory: str | Path, crm: str | None = None, config: str | Path | None = None) -> InspectReport:
    """Everything ``crm-audit inspect`` prints, as data (never raises for a bad export)."""
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.readers import export_files, peek_headers

    d = Path(directory)
    if not d.exists():
        raise InputError(problems=[Problem(template=N_("the export directory does not exist"), file=str(d), reason="not-found")])
    settings = None
    if config is not None:  # its columns:, ids and rules as `run` reads them, whichever profile is asked for
        from crm_audit import settings as settings_mod

        settings = settings_mod.load(config)
        crm = crm or settings.crm
    detected = crm is None
    scores: dict[str, int] = {}
    if crm is None:
        crm, scores = detect_profile(d)
    profile = load_profile(crm).with_columns(settings.columns if settings is not None else {})
    if settings is not None:
        profile = (profile.with_ids("stage", settings.stage_ids or {}).with_ids("pipeline", settings.pipeline_ids or {})
                   .with_ids("owner", getattr(settings, "owner_ids", None) or {}))
        if settings.date_order in ("dmy", "mdy"):  # the team said how its dates read, as `run` reads them
            profile = profile.model_copy(update={"date_order": settings.date_order, "date_order_fixed": True})
        profile = with_decimal_mark(profile, settings)  # and how its amounts read
        from crm_audit.engine.profile import with_one_pipeline  # a file without a pipeline column: the only one's deals

        profile = with_one_pipeline(profile, settings.pipelines)
        profile = with_closed_stages(profile, settings)  # and its won_stages: / lost_stages:, as `run` reads them
        from crm_audit.engine.profile import with_values  # and its own words for the status / done values

        profile = with_values(profile, settings)
    rep = InspectReport(d, profile.name, profile.title or profile.name, detected, scores)
    rep.languages = _languages(profile, d)
    try:
        export = load_export(d, profile, on_bad_value="warn")
    except CrmAuditError as exc:
        from crm_audit.engine.mapping import detect_entity, unfit_reason

        rep.error = exc.message
        for p in export_files(d):
            try:
                headers = peek_headers(p)
                entity = detect_entity(profile, p, headers)
                # the problems the load stopped on in this very file (by their file, never by their text)
                named = [pr.text() for pr in exc.problems if _names_file(pr, p)]
                if entity is None:
                    rep.files.append(_unrecognised(profile, p, headers, named[0] if named else None))
                    continue
                # the file is this entity's, but the export did not load: the error naming it, else why it does not fit
                why = named[0] if named else unfit_reason(profile, entity, headers)
                rep.files.append(FileReport(p, entity, headers=headers, unread=why, waits=why is None))
            except CrmAuditError as e2:
                rep.files.append(FileReport(p, None, how_read=_("unreadable: {why}").format(why=e2.message.splitlines()[0])))
        return rep
    try:
        suggested = suggest_columns(export, profile)
        guessed = _value_guesses(export, profile, suggested)
        from crm_audit.settings import read_values

        own_values = read_values(settings, profile).fields if settings is not None else {}
        for name, ent in export.entities.items():
            fr = FileReport(ent.file, name, ent.rows)
            fr.mapped = [(_with_notes(hdr, ent.notes.get(f, [])), f) for f, hdr in ent.fields.items()]
            # read into a field, or where its own column is blank (its mapped line says so)
            per_stage = {h for hs in [*ent.per_stage.values(), *ent.per_stage_blank.values()] for h in hs}
            fr.custom, fr.stage_columns = _stage_families(profile.entities[name], [hdr for _col, hdr in ent.custom.values()
                                                                                  if hdr not in per_stage])
            fr.suggestions = {s.header: (s.field, s.like) for s in suggested if s.entity == name}
            fr.value_guesses = [g for g in guessed if g.entity == name and g.file in ("", ent.file.name)]
            fr.ignored = list(ent.ignored)
            fr.values = [(ent.fields[fld], fld, pairs) for (e, fld), pairs in own_values.items()
                         if e == name and pairs and fld in ent.fields]
            fr.rows_where = ent.rows_where.text() if ent.rows_where is not None else ""
            how = getattr(export, "derived", {}).get(name)
            fr.derived = how.text() if how is not None else ""
            if ent.raw is not None:
                bits = [ent.raw.kind]
                if ent.raw.sheet:
                    bits.append(_("sheet «{name}»").format(name=ent.raw.sheet))
                if ent.raw.encoding:
                    bits.append(ent.raw.encoding)
                if ent.raw.delimiter:
                    bits.append(_("delimiter {char}").format(char={"\t": "TAB", ",": "','", ";": "';'", "|": "'|'"}.get(ent.raw.delimiter,
                                                                                                                    ent.raw.delimiter)))
                bits.append(_("header row {n}").format(n=ent.raw.header_row))
                fr.how_read = ", ".join(bits)
            rep.files.append(fr)
        for path, headers in export.unknown_files:
            rep.files.append(_unrecognised(profile, path, headers))
        _skipped_files(rep, export)
        for ent_name in profile.entities:
            if ent_name not in export.entities:
                why = profile.unsupported_reason(ent_name)
                if why and ent_name in export.unsplit:  # the list that holds them is there but gave none (Y-B)
                    why = export.unsplit[ent_name].text()
                from crm_audit.engine.near_columns import unrecognised_file

                there = unrecognised_file(profile, ent_name, export.unknown_files) if not why else None
                if there is not None:  # the file is there, its headers not recognised (issue 13 M3)
                    why = _("{file} is there but was not recognised (see above): map its columns with columns: in "
                            "crm-audit.yaml").format(file=there.name)
                rep.absent.append((ent_name, why or _("no such file in the export")))  # the profile's own words, whole
        stops = _bad_values_stop(settings, profile.name, config)  # read with `warn` to list them all; said as `run` does
        if settings is not None and settings.closed_unconfirmed():  # init's won / lost guess, as `run` warns of it
            from crm_audit.report import DataWarning
            from crm_audit.settings import closed_stages_message

            template, params = closed_stages_message(settings)
            rep.problems.append(DataWarning("closed-stages-guessed", "", str(settings.file), template=template,
                                            params=params).message)
        if settings is not None:  # init's inference of the export's own status / done words, as `run` warns of it
            from crm_audit.report import DataWarning
            from crm_audit.settings import values_warning

            guessed_values = values_warning(settings)
            if guessed_values is not None:
                rep.problems.insert(0, DataWarning("values-guessed", "", str(settings.file), template=guessed_values[0],
                                                   params=guessed_values[1]).line())
        # texts of the status / done no value names: first, as `run` says them (the deals holding them are unaudited)
        from crm_audit.engine.mapping import as_run_stops

        rep.problems[:0] = [((as_run_stops(w) if stops else None) or w).line() for w in export.warnings
                            if w.code == "unmapped-values"]  # «read as blank» only where `run` reads them so (S4)
        if "deals" in export.entities:  # deal rows without an id, one id on several rows: as `run` says them
            from crm_audit.engine.deal_ids import deal_id_warnings

            rep.problems += [w.line() for w in deal_id_warnings(export.con, export.entities["deals"])[0]]
        for w in export.warnings:
            if w.code in ("bad-value", "unknown-value", "date-order", "decimal-mark", "decimal-mark-mixed", "ambiguous-link", "footer", "grouped-report", "rows-skipped", "unknown-file", "unnamed-id",
                          "no-owner-column", "no-title-column", "unlinked-tasks", "no-deal-ids", "deal-key-collision", "closed-stage-unknown", "no-stage-column",
                          "duplicate-header",  # a header twice: which column is read, as `run` says (acceptance L12)
                          "unlinked-records",  # a file of organizations / persons no deal links to (acceptance R13)
                          "skipped-sheet",  # a workbook's sheet not read: a pivot summary put first (acceptance T3)
                          "status-flags-contradict", "no-open-deals", "no-closed-deals"):
                rep.problems.append(_as_run_meets(w, stops, rep).line())
        try:
            settings = settings or _settings_for(profile.name, config)
            if settings.crm != profile.name:
                settings = settings.model_copy(update={"crm": profile.name})
            rep.rules, blank, yes_no, needs = _rule_checks(export, settings)
            if config is not None:  # a stage in no pipeline of the team's settings, as `run` warns of its deals (S6)
                from crm_audit.engine.export_check import stages_not_in_settings

                rep.problems += [w.line() for w in stages_not_in_settings(settings, export, needs)]
            if config is None:  # no settings of the team's: the rules init would write under rules: skip: said so
                _as_init_would(rep, export, profile)
                _trial_note(rep, export, profile, settings)
            rep.problems = ([blank_column_warning(b).message for b in blank] + rep.problems
                            + [_as_run_meets(w, stops, rep).line() for w in yes_no])
        except CrmAuditError as exc:
            rep.error = _("cannot check the rules: {message}").format(message=exc.message)
    finally:
        export.close()
        export.con.close()
    return rep


def _skipped_files(rep: InspectReport, export) -> None:
    """Every file `run` warns it ignores, with `run`'s reason: a file the load set aside for a reason of its own is
    said so; one it never kept (a look-alike of the file named as its entity, an object the audit does not read) is
    added to the list (acceptance S7)."""
    from crm_audit.engine.loading import NOT_RECOGNISED

    listed = {f.path.resolve(): f for f in rep.files}
    for w in export.warnings:
        if w.code != "unknown-file" or not w.file or w.template == NOT_RECOGNISED:
            continue
        path = Path(w.file)
        fr = listed.get(path.resolve())
        if fr is None:
            fr = listed[path.resolve()] = FileReport(path, None)
            rep.files.append(fr)
        if fr.entity is None and fr.near is None:
            fr.skipped = w.text(None)


def _value_guesses(export, profile, suggested) -> list:
    """The columns whose values fit a field no column feeds, beside the name suggestions (neither their column nor
    their field again): the guesser `init --from-export` writes `columns:` with."""
    from crm_audit.engine.profile import hkey
    from crm_audit.engine.value_guess import guess_by_values

    return guess_by_values(export, profile, {(s.entity, hkey(s.header)) for s in suggested},
                           {(s.entity, s.field) for s in suggested})


def _stage_families(spec, custom: list[str]) -> tuple[list[str], list[tuple[str, int]]]:
    """The custom columns that are none of the CRM's per-stage families (`stage_columns`, and `per_stage` headers not
    read), and each family found with its count."""
    from crm_audit.engine.mapping import per_stage_regex, stage_key

    patterns = [*(p for fs in spec.fields.values() for p in fs.per_stage), *spec.stage_columns]
    shapes = [(p.replace("{stage}", "<stage>").replace("{pipeline}", "<pipeline>"), per_stage_regex(p)) for p in patterns]
    counts: dict[str, int] = {}
    rest = []
    for h in custom:
        hit = next((shown for shown, rx in shapes if rx.fullmatch(stage_key(h))), None)
        if hit is None:
            rest.append(h)
        else:
            counts[hit] = counts.get(hit, 0) + 1
    return rest, list(counts.items())


def _names_file(problem: Problem, path: Path) -> bool:
    """The load stopped on ``path``: the problem is in it, or names it as one of two files of one entity."""
    if problem.file and Path(problem.file).resolve() == path.resolve():
        return True
    return problem.reason == "duplicate-file" and path.name in (problem.params.get("first"), problem.params.get("second"))


def _unrecognised(profile: Profile, path: Path, headers: list[str], why: str | None = None) -> FileReport:
    """A file no entity was read from: nearly an entity's (:func:`crm_audit.engine.near_columns.near_entity`) — the
    entity and what it lacks, as `run` says it —, else ``why`` (the problem the load stopped on in it), else plain."""
    from crm_audit.engine.mapping import unfit_msg
    from crm_audit.engine.near_columns import near_entity

    fr = FileReport(path, None, headers=headers)
    fr.near = near_entity(profile, headers)
    if fr.near is not None:
        lacks = unfit_msg(profile, fr.near, headers)
        fr.near_why = lacks.text() if lacks is not None else (why or "")
    elif why:
        fr.near_why = why
    return fr


def _bad_values_stop(settings, crm: str, config) -> bool:
    """Whether `run` stops on a cell that does not read under the settings in force (`on_bad_value: error`, the
    default): the settings given or found here, else the bundled ones `inspect` checks the rules with."""
    if settings is None:
        try:
            settings = _settings_for(crm, config)
        except CrmAuditError:
            return True
    return settings.on_bad_value != "warn"


def _as_run_meets(w, stops: bool, rep: InspectReport):
    """A warning as `run` meets it: a bad value `run` stops on is said so (and counted), never «treated as empty»."""
    from crm_audit.engine.mapping import as_run_stops

    stop = as_run_stops(w) if stops else None
    if stop is None:
        return w
    rep.stops_on += 1
    return stop


def entity_title(entity: str) -> str:
    """An entity as the CLI names it (deals, organizations, persons (contacts), activities (tasks))."""
    titles = {"deals": _("deals"), "organizations": _("organizations"), "persons": _("persons (contacts)"),
              "activities": _("activities (tasks)")}
    return titles.get(entity, entity)


def format_report(rep: InspectReport) -> str:
    """``crm-audit inspect``: what was detected, in the CLI's language."""
    lines = [_("Export: {folder}").format(folder=rep.directory)]
    line = (_("Profile: {name} ({title}), detected by headers") if rep.detected else _("Profile: {name} ({title}), given")).format(
        name=rep.profile, title=rep.profile_title)
    if rep.detected and rep.scores:
        line += " — " + _("scores: {scores}").format(scores=", ".join(f"{n} {s}" for n, s in sorted(rep.scores.items(), key=lambda x: -x[1])))
    if rep.languages:
        line += "\n" + _("Languages: {names}").format(names=", ".join(rep.languages))
    lines += [line, "", _("Files:")]
    for f in rep.files:
        how = f" ({f.how_read})" if f.how_read else ""
        if f.entity is None:
            if f.skipped:  # ignored for a reason of its own: `run`'s words
                lines.append(f"  {f.path.name}: {f.skipped}" + how)
                continue
            if f.near is not None:  # nearly an entity's file: which, and what it lacks (as `run` says)
                lines.append("  " + _("{file}: not recognised, but nearly the {entity} file: {why}; ignored").format(
                    file=f.path.name, entity=entity_title(f.near), why=f.near_why) + how)
                continue
            if f.near_why:  # the export stopped on this file (the nearest to the deals, lacking their columns)
                lines.append("  " + _("{file}: not recognised: {why}; ignored").format(file=f.path.name, why=f.near_why) + how)
                continue
            lines.append("  " + _("{file}: not recognised, ignored").format(file=f.path.name) + how)
            if f.headers:
                lines.append("    " + _("headers: {names}").format(names=", ".join(h for h in f.headers if h)[:300]))
            continue
        if f.waits:  # fits its entity; the load stopped on another file
            lines.append(f"  {f.path.name} → {entity_title(f.entity)}: " + _("not read: the export stops on another file "
                                                                             "(below)"))
            continue
        if f.unread is not None:  # taken for the entity, not read: why
            lines.append(f"  {f.path.name} → {entity_title(f.entity)}: " + _("unreadable: {why}").format(why=f.unread))
            continue
        lines.append(f"  {f.path.name} → {entity_title(f.entity)}: "
                     + ngettext("{n} row", "{n} rows", f.rows or 0).format(n=f.rows) + how)
        if f.rows_where:
            lines.append("    " + _("only the {rows}").format(rows=f.rows_where))
        if f.derived:
            lines.append("    " + f.derived)
        lines.append("    " + _("mapped: {pairs}").format(pairs="; ".join(f"{h} → {fld}" for h, fld in f.mapped)))
        if f.custom:
            lines.append("    " + _("kept as custom fields: {names}").format(names=", ".join(f.custom)))
        if f.stage_columns:
            lines.append("    " + _("one column per stage, not read: {families}").format(
                families=", ".join(f"«{shown}» ({n})" for shown, n in f.stage_columns)))
        for header, (fld, like) in f.suggestions.items():
            line = f"columns: {{{f.entity}: {{{fld}: {header}}}}}"
            if like:
                lines.append("    " + _("unmapped «{header}»: closest field {field} (its header «{like}»); if it is that field, map it in "
                                      "crm-audit.yaml: {line}").format(header=header, field=fld, like=like, line=line))
            else:  # no name of the field in the file's language resembles it (never another language's: J11)
                lines.append("    " + _("unmapped «{header}»: closest field {field}; if it is that field, map it in crm-audit.yaml: "
                                      "{line}").format(header=header, field=fld, line=line))
        for g in f.value_guesses:
            line = f"columns: {{{f.entity}: {{{g.field}: {g.header}}}}}"
            values = ", ".join(f"«{v}»" for v in g.examples)
            if g.sure or not g.others:
                lines.append("    " + _("unmapped «{header}»: by its values ({values}) looks like {field}; if it is that field, "
                                      "map it in crm-audit.yaml: {line}").format(header=g.header, values=values, field=g.field,
                                                                                 line=line))
            else:  # the values leave other columns for the field too
                lines.append("    " + _("unmapped «{header}»: by its values ({values}) may be {field}, as may {others}; if it is "
                                      "that field, map it in crm-audit.yaml: {line}").format(
                    header=g.header, values=values, field=g.field, others=", ".join(f"«{o}»" for o in g.others), line=line))
        for header, fld, pairs in f.values:
            lines.append("    " + _("values of «{header}» ({field}) from crm-audit.yaml (values:): {pairs}").format(
                header=header, field=fld, pairs=", ".join(f"{t} → {v}" for t, v in pairs.items())))
        if f.ignored:
            lines.append("    " + _("ignored: {names}").format(names=", ".join(f.ignored)))
    for ent, note in rep.absent:
        lines.append("  " + _("(no {entity} file: {note})").format(entity=entity_title(ent), note=note))
    if rep.error:
        lines += ["", _("Cannot load the export:"), *("  " + x for x in rep.error.splitlines())]
    if rep.rules:
        lines += ["", _("Rules:")]
        width = max(len(r.rule_id) for r in rep.rules)
        labels = {"run": _("can run"), "skip": _("would be skipped"), "fail": _("would FAIL")}
        not_every = _("(not every deal)")
        for r in rep.rules:
            text = f"  {r.code:<5} {r.rule_id:<{width}}  {labels[r.state]}" + (f" {not_every}" if r.partial else "")
            if r.why:
                text += f": {r.why}"
            lines.append(text)
        counts = {s: len(rep.rules_in(s)) for s in ("run", "skip", "fail")}
        partial = sum(1 for r in rep.rules if r.partial)
        ran = (_("{n} can run ({partial} of them not on every deal)") if partial else _("{n} can run")).format(n=counts["run"],
                                                                                                             partial=partial)
        lines.append("  " + _("{ran}, {skip} would be skipped, {fail} would fail.").format(ran=ran, skip=counts["skip"],
                                                                                            fail=counts["fail"]))
    if rep.problems:
        lines += ["", _("First parse problems:")]
        if rep.stops_on:
            lines.append("  " + _("`run` stops on the values below that do not read (on_bad_value: error): fix the cells in the "
                                  "export, or set `on_bad_value: warn` in crm-audit.yaml to treat them as empty"))
        lines += [f"  {p}" for p in rep.problems[:MAX_PROBLEMS]]
        if len(rep.problems) > MAX_PROBLEMS:
            lines.append("  " + _("… and {n} more").format(n=len(rep.problems) - MAX_PROBLEMS))
    return "\n".join(lines)
