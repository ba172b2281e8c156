"""Settings drafted from a warehouse: what ``crm-audit init --engine URL`` writes.

The warehouse is read as ``run --engine`` reads it (read-only, the bundled warehouse profiles: data), and the draft
is :mod:`crm_audit.exportdraft`'s (the same :class:`~crm_audit.exportdraft.Draft`, lists, `fields:` proposals,
switched-off rules and template), so a file written from a warehouse reads like one written from an export:

* the warehouse profile: the one named (``--warehouse-profile`` / ``?profile=``), else the bundled profile whose
  tables are there (:func:`detect`: every profile's tables looked up in every schema that has its deals table; the
  one whose tables the run needs are all there, with the most of its tables present; a tie is a question to the user);
* ``pipelines:``: every pipeline's stages in the CRM's own order from the connector's stage / pipeline tables (the
  profile's ``stages:`` — Pipedrive ``order_nr``, HubSpot ``display_order``), closed stages last; without such
  a table, the deals' stages ordered as an export's are (marked as guessed);
* the owners and lost reasons of the deals (partner managers, frozen lost reasons: the handbook's lists where the
  data has them);
* ``fields:``: a custom field a rule reads that the connector's field-metadata table lists under another name
  (close, or a known synonym: ``crm_audit/field_synonyms.yaml``), proposed for the user to confirm;
* ``rules: skip:``: every rule the warehouse cannot feed (:func:`crm_audit.warehouse.audit.decide`), naming the
  missing field, and every bundled rule naming a pipeline or stage the team does not have;
* ``engine:``: the URL (it never holds a password: credentials stay in the environment), profile and schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlglot import exp

from crm_audit.errors import InputError, Problem, UsageError
from crm_audit.i18n import N_, _
from crm_audit.textnorm import norm
from crm_audit.warehouse import profile as wprofile
from crm_audit.warehouse.entities import (Probe, Resolved, _parse, _qualify, _render, _rollback, _table_names, _tkey,
                                          cte_name, custom_catalog, findings_error, mark_json, probe, resolve, select_from)
from crm_audit.warehouse.url import PASSWORD_ENV, EngineURL

#: the rule language's entity -> the warehouse entity (and back)
REF_ENTITY = {"deal": "deals", "org": "organizations", "person": "persons"}
ENTITY_REF = {v: k for k, v in REF_ENTITY.items()}


@dataclass
class Candidate:
    """A bundled warehouse profile in one schema of the warehouse: what of it is there."""

    profile: wprofile.WarehouseProfile
    schema: str | None
    probe: Probe
    resolved: Resolved

    @property
    def tables(self) -> list[str]:
        return [t for t in _table_names(self.profile) if self.probe.has_table(t)]

    @property
    def total(self) -> int:
        return len(_table_names(self.profile))

    def rank(self) -> tuple[int, int]:
        return len(self.tables), -len(self.resolved.findings)

    def label(self) -> str:
        return f"{self.profile.name}" + (f" (schema {self.schema})" if self.schema else "")


@dataclass
class Detected:
    """The warehouse profile and schema init writes, and why."""

    profile: wprofile.WarehouseProfile
    schema: str | None
    resolved: Resolved
    named: bool  # given by the user (--warehouse-profile / ?profile=), not detected
    tables: list[str] = field(default_factory=list)
    total: int = 0
    ref: str = ""  # as the settings name it (engine: profile:): a bundled profile's name, or the team's file's path

    def __post_init__(self) -> None:
        self.ref = self.ref or self.profile.name

    def why(self) -> str:
        """Why this profile (the CLI's language)."""
        if self.named:
            return _("named with --warehouse-profile")
        return _("{n} of its {total} tables are there: {tables}").format(n=len(self.tables), total=self.total,
                                                                         tables=", ".join(self.tables))

    def why_ru(self) -> str:
        """Why this profile, for the settings file (Russian)."""
        if self.named:
            return "указан в --warehouse-profile"
        return f"найден по таблицам: есть {len(self.tables)} из {self.total} его таблиц ({', '.join(self.tables)})"


def _where(url: EngineURL, schema: str | None) -> str:
    return f"{url}" + (f", schema {schema}" if schema else "")


def _listing(target) -> dict[str, set[str]] | None:
    """schema -> its tables (lower case), from ``information_schema.tables``; None where the engine has none."""
    try:
        rows = target.run("SELECT table_schema AS s, table_name AS t FROM information_schema.tables").to_pylist()
    except Exception:  # an engine without information_schema (or not readable): every profile is probed instead
        _rollback(target)
        return None
    out: dict[str, set[str]] = {}
    for r in rows:
        if r["s"] is not None and r["t"] is not None:
            out.setdefault(str(r["s"]), set()).add(str(r["t"]).lower())
    return out


def detect(target, url: EngineURL, named: str | None, schema: str | None, crm: str | None = None) -> Detected:
    """The warehouse profile (and schema) of this warehouse: ``named`` as given, else detected by the tables present
    (see the module docstring). An :class:`InputError` when no CRM tables are found (or the named profile's are
    missing), a :class:`UsageError` listing the candidates when several fit equally."""
    if named:
        prof = wprofile.load(named)
        res = resolve(prof, probe(prof, target, schema))
        if res.fatal:
            raise findings_error(prof, res.fatal, _where(url, schema))
        path = Path(named).expanduser()
        own = path.suffix in (".yaml", ".yml") and path.exists()  # the team's own profile file: its path, absolute
        return Detected(prof, schema, res, True, ref=str(path.resolve()) if own else prof.name)
    listing = _listing(target)
    cands: list[Candidate] = []
    deal_tables: list[str] = []
    for name in wprofile.available():
        prof = wprofile.load(name)
        if crm and prof.crm != crm:
            continue
        deals = prof.entities["deals"].from_.lower()
        deal_tables.append(deals)
        if schema is not None or listing is None:
            schemas: list[str | None] = [schema]
        else:
            schemas = sorted(s for s, tables in listing.items() if deals in tables)
        for sch in schemas:
            pr = probe(prof, target, sch)
            if pr.has_table(deals):
                cands.append(Candidate(prof, sch, pr, resolve(prof, pr)))
    if not cands:
        raise InputError(problems=[Problem(template=N_(
            "no CRM tables found at {where}: none of the warehouse profiles' deals tables ({tables}) is there; give "
            "the connector's schema with --schema, or a profile of your own with --warehouse-profile FILE"),
            params={"where": _where(url, schema), "tables": ", ".join(sorted(set(deal_tables)))}, reason="warehouse-no-crm")])
    fit = [c for c in cands if not c.resolved.fatal]
    if not fit:  # the deals table is there, some table or column the run needs is not: say which, for the closest
        best = max(cands, key=Candidate.rank)
        raise findings_error(best.profile, best.resolved.fatal, _where(url, best.schema))
    # in one schema the profile with the most of its tables there (Airbyte's Pipedrive with its raw tables over the
    # Direct Load one, whose tables are a part of them); two schemas, or two profiles equally there: the user chooses
    best: dict[str | None, list[Candidate]] = {}
    for c in sorted(fit, key=Candidate.rank, reverse=True):
        top = best.setdefault(c.schema, [c])
        if c is not top[0] and c.rank() == top[0].rank():
            top.append(c)
    tied = [c for cs in best.values() for c in cs]
    if len(tied) > 1:
        raise UsageError(problems=[Problem(template=N_(
            "several warehouse profiles fit {where}: {candidates}; choose one with --warehouse-profile NAME (and the "
            "schema with --schema SCHEMA)"), params={"where": str(url), "candidates": ", ".join(c.label() for c in tied)},
            reason="warehouse-ambiguous")])
    c = tied[0]
    return Detected(c.profile, c.schema, c.resolved, False, c.tables, c.total)


# --------------------------------------------------------------------------- what the warehouse holds


def _rows(target, q: exp.Expression) -> list[dict]:
    return target.run(_render(target, q)).to_pylist()


def stage_rows(prof: wprofile.WarehouseProfile, target, schema: str | None) -> list[dict] | None:
    """The profile's ``stages:`` rows (pipeline, stage, stage_order, pipeline_order, closed); None when the profile
    has no such section or the warehouse lacks its tables / columns."""
    q = prof.stages
    if q is None:
        return None
    d = prof.sql
    sel = [exp.alias_(_parse(q.alternatives(n)[0], d, f"stages: fields: {n}", prof.file), n, quoted=True) for n in q.fields]
    out = select_from(prof, q, sel, "stages")
    try:
        tables = [_tkey(t) for t in out.find_all(exp.Table)]
        out = mark_json(out, probe(prof, target, schema, names=list(dict.fromkeys(tables))))  # a JSON access per its type
        return _rows(target, _qualify(out, schema))
    except Exception:  # a stage table the warehouse lacks: the deals' own stages are used (the order marked as guessed)
        _rollback(target)
        return None


def _truthy(v) -> bool:
    return v is True or (isinstance(v, (int, float)) and v == 1) or (isinstance(v, str) and v.strip().lower() in ("true", "t", "1", "yes"))


def pipelines_from_table(rows: list[dict], prof: wprofile.WarehouseProfile):
    """Every pipeline's stages in the CRM's order (closed stages last), as :class:`~crm_audit.exportdraft.PipelineDraft`."""
    from crm_audit.exportdraft import PipelineDraft

    table = prof.stages.from_
    order = prof.stages.alternatives("stage_order")[0]
    by_pipe: dict[str, tuple[str, list]] = {}
    for i, r in enumerate(rows):
        p, s = r.get("pipeline"), r.get("stage")
        if p is None or s is None or not str(s).strip():
            continue
        p, s = str(p).strip(), str(s).strip()
        _name, stages = by_pipe.setdefault(norm(p), (p, []))
        stages.append((r.get("pipeline_order"), i, _truthy(r.get("closed")), r.get("stage_order"), s))
    big = float("inf")
    pipes = sorted(by_pipe.values(), key=lambda v: (min((x[0] for x in v[1] if x[0] is not None), default=big), min(x[1] for x in v[1])))
    out = []
    for name, stages in pipes:
        seen: set[str] = set()
        ordered = []
        # a pipeline spelled two ways (two rows of the pipeline table, the same name): the first one's stages first
        key = lambda x: (x[2], x[0] if x[0] is not None else big, x[3] if x[3] is not None else big, x[1])  # noqa: E731
        for _po, _i, _closed, _so, s in sorted(stages, key=key):
            if norm(s) not in seen:  # a stage spelled twice in one pipeline: listed once
                seen.add(norm(s))
                ordered.append(s)
        out.append(PipelineDraft(name, ordered, f"порядок этапов из CRM: таблица {table}, {order}", False))
    return out


def pipelines_from_deals(backend_run, layout, crm_profile, dialect):
    """Without a stage table: the deals' pipelines and stages, ordered as an export's are (the CRM's order value where
    the open deals carry one and agree on it, else a guess, marked: the handbook's pipeline, the days deals take to
    reach a stage, first appearance; where the status comes from the stage, a stage whose every deal is won or lost last, never among the open stages)."""
    from crm_audit.exportdraft import DEFAULT_PIPELINE, _order_pipeline

    deals = layout.entities["deals"].source
    if "stage" not in deals.fields:
        return []
    col = lambda n: exp.column(n, quoted=True)  # noqa: E731
    pipe = col("pipeline") if "pipeline" in deals.fields else exp.Null()
    has_status = "status" in deals.fields
    # a deal's probability is the deal's (a manager edits it; a won deal reads 100, a lost one 0 wherever it closed):
    # the stage's place only from its open deals, and only where they agree (as `init --from-export`, acceptance L2);
    # a stage only closed deals are in is a final stage only where the CRM's status comes from the stage (amoCRM,
    # Bitrix24, HubSpot: `derive_status`) — a Pipedrive deal keeps its stage when it is won
    open_value = (exp.Case(ifs=[exp.If(this=exp.EQ(this=col("status"), expression=exp.Literal.string("open")),
                                       true=col("stage_order"))]) if has_status else col("stage_order"))
    order = exp.Min(this=open_value.copy()) if "stage_order" in deals.fields else exp.Null()
    top = exp.Max(this=open_value.copy()) if "stage_order" in deals.fields else exp.Null()
    closed_only = (exp.Min(this=exp.Case(ifs=[exp.If(this=exp.In(this=col("status"), expressions=[
        exp.Literal.string("won"), exp.Literal.string("lost")]), true=exp.Literal.number(1))], default=exp.Literal.number(0)))
        if has_status and crm_profile is not None and crm_profile.derive_status is not None
        and crm_profile.derive_status.from_stage is not None else exp.Literal.number(0))
    reach = (exp.Median(this=dialect.days_between(col("created"), col("stage_changed")))
             if {"created", "stage_changed"} <= deals.fields else exp.Null())

    def query(days):
        return (exp.select(exp.alias_(pipe.copy(), "p"), exp.alias_(exp.Trim(this=col("stage")), "s"), exp.alias_(order.copy(), "o"),
                           exp.alias_(top.copy(), "t"), exp.alias_(exp.Min(this=col("_row")), "f"), exp.alias_(days, "r"),
                           exp.alias_(closed_only.copy(), "c"))
                .from_(cte_name("deals")).where(exp.Not(this=exp.Is(this=col("stage"), expression=exp.Null())))
                .group_by(pipe.copy(), exp.Trim(this=col("stage"))))

    try:
        rows = backend_run(query(reach))
    except Exception:  # an engine without MEDIAN (BigQuery): the order without the days
        rows = backend_run(query(exp.Null()))
    by_pipe: dict[str, tuple[str, dict]] = {}
    closed: dict[str, set[str]] = {}  # pipeline -> stages whose every deal is won or lost
    for i, r in enumerate(sorted(rows, key=lambda r: (r["f"] is None, r["f"]))):
        if not str(r["s"] or "").strip():
            continue
        pname = str(r["p"] or "").strip() or DEFAULT_PIPELINE
        stages = by_pipe.setdefault(norm(pname), (pname, {}))[1]
        vals = sorted({float(v) for v in (r["o"], r["t"]) if v is not None})
        if r["c"] is not None and int(r["c"]) == 1:
            closed.setdefault(norm(pname), set()).add(norm(r["s"]))
        prev = stages.get(norm(r["s"]))
        if prev is None:
            stages[norm(r["s"])] = [str(r["s"]).strip(), r["o"], i, None if r["r"] is None else float(r["r"]), vals]
        else:  # the same stage spelled two ways: the first spelling, the smallest order value
            if r["o"] is not None:
                prev[1] = r["o"] if prev[1] is None else min(prev[1], r["o"])
            prev[4] = sorted(set(prev[4]) | set(vals))
    return [_order_pipeline(name, [tuple(v) for v in stages.values()], crm_profile, closed.get(key, set()))
            for key, (name, stages) in by_pipe.items()]


def _distinct(run, fld: str, layout, where: exp.Expression | None = None) -> list[str]:
    deals = layout.entities["deals"].source
    if fld not in deals.fields:
        return []
    c = exp.column(fld, quoted=True)
    q = exp.select(exp.alias_(exp.Trim(this=c), "v")).distinct().from_(cte_name("deals")).where(
        exp.and_(exp.Not(this=exp.Is(this=c.copy(), expression=exp.Null())), *([where] if where is not None else [])))
    return sorted({str(r["v"]) for r in run(q) if r["v"] is not None and str(r["v"]).strip()})


# --------------------------------------------------------------------------- custom fields and rules


def field_proposals(detected: Detected, target, needed: dict[str, set[str]], crm_profile) -> list:
    """`fields:` proposals: each custom field a rule reads that the connector's metadata lists under another name."""
    from crm_audit.exportdraft import Mapping, _key, closest_name, proposal_note, synonym_info

    prof = detected.profile
    yes_words = {norm(w) for w in (*crm_profile.yes_no.yes, *crm_profile.yes_no.no)}
    out = []
    for ent, names in sorted(needed.items()):
        q = prof.entities.get(ent)
        if ent not in ENTITY_REF or q is None or q.custom_fields is None or ent not in detected.resolved.entities \
                or ent in detected.resolved.no_custom:
            continue
        catalog = custom_catalog(prof, ent, target, detected.schema)
        taken = {k for k in catalog if k in {norm(n) for n in names}}  # the rules' own names stay theirs
        for name in sorted(names):
            if norm(name) in catalog:
                continue
            free = {_key(f.name): f.name for k, f in catalog.items() if k not in taken}
            ref = f"{ENTITY_REF[ent]}.{name}"
            best = closest_name(ref, free)
            if best is None:
                continue
            f = catalog[norm(best[0])]
            if synonym_info(ref).get("yes_no") and f.options and not all(norm(v) in yes_words for v in f.options.values()):
                continue
            out.append(Mapping(ref, best[0], proposal_note(ref, best[2]) + f" (поле из {q.custom_fields.table})"))
            taken.add(norm(best[0]))
    return out


def rules_off(skipped, rules, settings, detected: Detected) -> list:
    """`rules: skip:` entries: the rules the warehouse cannot feed (naming the field) and the bundled rules naming a
    pipeline or stage the team does not have."""
    from crm_audit.engine import plan as planmod
    from crm_audit.exportdraft import RuleOff, list_off, names_off

    prof = detected.profile
    title = prof.title or prof.name
    off: dict[str, RuleOff] = {}
    for s in skipped:
        if s.reason == "empty-list":  # a list of the settings is empty: nothing to flag until it is filled
            off[s.rule_id] = list_off(s)
            continue
        ent, _dot, name = s.field.partition(".")
        custom = name not in planmod.FIELDS.get(ent, {})
        q = prof.entities.get(REF_ENTITY.get(ent, ""))
        why = f"в хранилище ({title}) нет поля «{s.field}»"
        if custom and (q is None or q.custom_fields is None or REF_ENTITY.get(ent) in detected.resolved.no_custom):
            why += " — коннектор не копирует список своих полей CRM, поле не найти по названию"
            enable = ("укажите таблицу метаданных полей (custom_fields:) в копии профиля хранилища (engine: profile: путь "
                      "к копии) или возьмите коннектор, который её копирует; затем уберите правило из rules: skip:")
        elif custom:
            enable = (f"если это поле есть в CRM под другим названием, укажите его в fields: ({s.field}: <название поля в CRM>) "
                      "и проверьте, что коннектор его копирует; затем уберите правило из rules: skip:")
        else:
            enable = ("укажите столбец этого поля в копии профиля хранилища (engine: profile: путь к копии) или "
                      "настройте коннектор, чтобы он копировал его; затем уберите правило из rules: skip:")
        off[s.rule_id] = RuleOff(s.rule_id, s.code, why, enable)
    names_off(rules, settings, off)
    order = {r.id: i for i, r in enumerate(rules)}
    return sorted(off.values(), key=lambda o: order.get(o.rule_id, 0))


# --------------------------------------------------------------------------- the draft


@dataclass
class EngineDraft:
    """What init writes from a warehouse: the export draft, and the warehouse it came from."""

    draft: object  # crm_audit.exportdraft.Draft
    url: EngineURL
    detected: Detected
    owners: list[str]
    statuses: dict[str, int]
    #: the proposed engine: timezone: (crm_audit.warehouse.zone.ZoneProposal); None: UTC, said as a default
    zone: object = None


def settings_url(url: EngineURL) -> EngineURL:
    """The URL as the settings keep it: without crm-audit's own parameters (written as profile: / schema:), a DuckDB
    file's path (a chdb / local Spark folder's) absolute (the settings run from any folder); it holds no password (the
    URL parser refuses one)."""
    from crm_audit.warehouse.url import LOCAL

    path = url.path
    if url.scheme in LOCAL and path and not Path(path).expanduser().is_absolute():
        path = str(Path(path).expanduser().resolve())
    return EngineURL(url.scheme, url.user, url.host, url.port, path, url.driver_params())


def draft_from_engine(url: EngineURL, named: str | None = None, schema: str | None = None, crm: str | None = None) -> EngineDraft:
    """Connect read-only and draft the settings (see the module docstring)."""
    from crm_audit import settings as settings_mod
    from crm_audit.engine import dialects
    from crm_audit.engine import plan as planmod
    from crm_audit.engine.profile import load_profile
    from crm_audit.exportdraft import Draft, fill_lists
    from crm_audit.rules import ruleset
    from crm_audit.warehouse.audit import custom_needed, decide
    from crm_audit.warehouse.connect import connect
    from crm_audit.warehouse.entities import build_layout
    from crm_audit.warehouse.zone import propose as propose_zone

    with connect(url) as conn:
        target = conn.target
        detected = detect(target, url, named or url.profile, schema or url.schema, crm)
        prof, sch = detected.profile, detected.schema
        crm_profile = load_profile(prof.crm)
        d = dialects.get(target.dialect)
        draft = Draft(crm=prof.crm, deal_url=crm_profile.deal_url)
        layout = build_layout(prof, sch, target, {}, detected.resolved)
        ctes = layout.ctes()

        def run(q: exp.Select) -> list[dict]:
            for name, body in ctes:
                q = q.with_(name, as_=body)
            return target.run(d.render(q)).to_pylist()

        rows = stage_rows(prof, target, sch)
        draft.pipelines = pipelines_from_table(rows, prof) if rows else pipelines_from_deals(run, layout, crm_profile, d)
        if not draft.pipelines:
            raise InputError(problems=[Problem(template=N_(
                "the warehouse ({where}) has no pipeline stages: neither a stage table of the profile nor a deal with a "
                "stage; check the schema and that the connector syncs the deals and their stages"),
                params={"where": _where(url, sch)}, file=prof.file, reason="no-stages")])
        owners = _distinct(run, "owner", layout)
        status = exp.column("status", quoted=True)
        fill_lists(draft, _distinct(run, "lost_reason", layout, exp.EQ(this=status, expression=exp.Literal.string("lost"))), owners)
        statuses: dict[str, int] = {}
        if "status" in layout.entities["deals"].source.fields:
            q = exp.select(exp.alias_(status.copy(), "s"), exp.alias_(exp.Count(this=exp.Star()), "n")).from_(cte_name("deals")).group_by(status.copy())
            statuses = {str(r["s"]): int(r["n"]) for r in run(q) if r["s"] is not None}
        # the custom fields the rules read, under the connector's names
        base = settings_mod.from_dict(draft.settings_dict())
        rules, _problems = ruleset.collect(base)
        draft.fields = field_proposals(detected, target, custom_needed(planmod.build_all(rules, base)), crm_profile)
        s = settings_mod.from_dict({**draft.settings_dict(), "rules": {"skip": {}}})
        rules, _problems = ruleset.collect(s)
        plans = planmod.build_all(rules, s)
        layout = build_layout(prof, sch, target, custom_needed(plans), detected.resolved)
        _runnable, skipped, _warnings = decide(plans, layout)
        draft.off = rules_off(skipped, rules, s, detected)
        zone = propose_zone(target)
    return EngineDraft(draft, url, detected, owners, statuses, zone)


def _q(text: str) -> str:
    from crm_audit.exportdraft import _yaml_safe

    return _yaml_safe(text)


#: where the proposed zone came from (crm_audit.warehouse.zone.ZoneProposal.source), as the settings file says it
ZONE_SOURCES_RU = {
    "session": "пояс {zone} предложен по часовому поясу сессии хранилища, не по настройкам CRM.",
    "machine": "пояс {zone} предложен по часовому поясу этого компьютера (хранилище своего не назвало), не по настройкам CRM.",
    "default": "ни хранилище, ни этот компьютер не назвали пояс, кроме UTC; записан UTC.",
}


def engine_block(ed: EngineDraft) -> str:
    """The settings' ``engine:`` block and what init read (comments), appended to the template."""
    det = ed.detected
    prof = det.profile
    lines = ["", "# Где читать CRM: её таблицы в хранилище, куда их копирует коннектор (`crm-audit run` без --export;",
             "# `--engine АДРЕС` в командной строке заменяет url). Пароля здесь НЕТ и не должно быть: он берётся из",
             f"# переменной окружения {PASSWORD_ENV} (или переменной драйвера, например PGPASSWORD).",
             f"# Профиль хранилища {prof.name} ({prof.title or prof.name}) {det.why_ru()}.",
             "# Свой профиль: скопируйте файл профиля, поправьте таблицы и укажите путь к копии в profile:.",
             "engine:", f"  url: {_q(str(settings_url(ed.url)))}", f"  profile: {_q(det.ref)}"]
    if det.schema:
        lines.append(f"  schema: {_q(det.schema)}")
    zone = ed.zone.zone if ed.zone is not None else "UTC"
    source = ed.zone.source if ed.zone is not None else "default"
    lines += ["  # Часовой пояс аккаунта CRM (название IANA). Коннектор хранит время в UTC, а CRM и её выгрузка показывают",
              "  # даты по поясу аккаунта: сделка, переведённая на этап в 01:30 по Москве, в CRM — 13-го, а в UTC — ещё 12-го.",
              "  # ПРОВЕРЬТЕ: " + ZONE_SOURCES_RU[source].format(zone=zone),
              "  # Поставьте пояс из настроек аккаунта CRM, иначе даты у границы суток сдвинутся на день и находки",
              "  # разойдутся с CRM.",
              f"  timezone: {_q(zone)}"]
    lines += ["", "# Прочитано из хранилища командой `init --engine` (для справки; это не настройки):"]
    if ed.statuses:
        lines.append("# сделки по статусам: " + ", ".join(f"{k} — {v}" for k, v in sorted(ed.statuses.items())))
    lines.append("# ответственные:" if ed.owners else "# ответственных в сделках нет")
    lines += [f"#   - {o}" for o in ed.owners]
    return "\n".join(lines) + "\n"


def settings_text_from_engine(ed: EngineDraft) -> str:
    from crm_audit.exportdraft import template_values
    from crm_audit.initfile import render_settings

    return render_settings(ed.draft.crm, **template_values(ed.draft)) + engine_block(ed)


def write_settings_from_engine(directory: str | Path, url_text: str, profile: str | None = None, schema: str | None = None,
                               crm: str | None = None, force: bool = False) -> tuple[Path, EngineDraft]:
    """``crm-audit init --engine URL``: write crm-audit.yaml that audits this warehouse as it is (atomically)."""
    from crm_audit.settings import SETTINGS_FILE
    from crm_audit.warehouse.url import parse

    url = parse(url_text)  # a bad URL or one holding a password: a clear error before anything else
    d = Path(directory)
    path = d / SETTINGS_FILE
    if path.exists() and not force:
        raise UsageError(_("{path} already exists; edit it, or pass --force to overwrite it").format(path=path))
    ed = draft_from_engine(url, profile, schema, crm)
    text = settings_text_from_engine(ed)
    d.mkdir(parents=True, exist_ok=True)
    from crm_audit.initfile import write_text_atomically

    write_text_atomically(path, text)
    return path, ed
