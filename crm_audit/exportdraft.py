"""Settings drafted from an export: what ``crm-audit init --from-export`` writes.

:func:`draft_from_export` reads the export once through the CRM's profile and
proposes everything a first audit needs, each with the reason it was chosen:

* ``columns:`` — a canonical field whose header the profile does not know,
  mapped to the export's column with the closest name (case-, space- and
  accent-insensitive) or, for the deal status, the column whose values are
  statuses;
* ``fields:`` — a field the rules read, under the team's own column name
  (``crm_audit/field_synonyms.yaml``: the names other teams use), proposed
  for the user to confirm;
* ``pipelines:`` — every stage that occurs (and, where the export has the CRM's
  dumped list of every pipeline's stages, the stages no deal is in), in the
  CRM's own order where the export carries one (probability / sort order), else the handbook's order
  where the pipeline is the handbook's, else the order in which deals reach
  the stages (days from creation to the last stage change), else first
  appearance; anything but the CRM's own order is a guess, so
  ``stage_order_confirmed: false`` is written;
* ``rules: skip:`` — every rule this export cannot feed (a field no column
  provides, a pipeline or stage the team does not have), with the reason and
  how to switch it back on. A missing field is never read as empty.

Nothing here prints; the CLI renders the draft with the settings template.
"""

from __future__ import annotations

import difflib
import json
import re
import textwrap
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from typing import TYPE_CHECKING

from crm_audit.errors import InputError, Problem
from crm_audit.i18n import N_
from crm_audit.textnorm import norm

if TYPE_CHECKING:
    from crm_audit.engine.loading import LoadedExport
    from crm_audit.engine.profile import Profile
    from crm_audit.team_settings import TeamKept, TeamSettings

#: how close (difflib ratio on header keys) a column name must be to a known name
NAME_CUTOFF = 0.84
#: share of a column's non-blank cells that must be known values (status, yes/no)
VALUES_SHARE = 0.9
DEFAULT_PIPELINE = "Основная воронка"


@dataclass
class Mapping:
    """One proposed mapping and why (written as a comment next to it)."""

    key: str
    value: str
    why: str


@dataclass
class RuleOff:
    rule_id: str
    code: str
    why: str  # what the export lacks (Russian, for the settings comment and the run's note)
    enable: str  # how to switch it back on
    setting: str = ""  # a list from the settings the rule is off for while it is empty (init says so at the list)


@dataclass
class PipelineDraft:
    name: str
    stages: list[str]
    source: str  # how the order was found (Russian, written as a comment)
    guessed: bool
    # the order is the CRM's own (its probability / sort order, its stage list, its API); False: not guessed, yet not
    # taken from the CRM either (its standard pipeline, one open stage or none) — the settings do not say «из данных CRM»
    from_crm: bool = True


@dataclass
class Draft:
    crm: str
    deal_url: str = ""
    # the cells of the export that do not read («file» row N, «column»: «value»): `on_bad_value: warn` is written, with
    # them named — `error` would stop the first run on them
    bad_values: list[str] = field(default_factory=list)
    # of them, the values of a list column (a status, a flag) the CRM's profile does not know — a word of an interface
    # language it lacks («Voltooid»), not a mistake in the CRM: the comment says so (acceptance P3)
    unknown_values: list[str] = field(default_factory=list)
    typed_bad_values: list[str] = field(default_factory=list)  # the others: a date, a number that does not read
    # of them, an API dump's option ids its field list does not list (the list older than the data: acceptance Z-L)
    option_values: list[str] = field(default_factory=list)
    option_lists: list[str] = field(default_factory=list)  # the field lists they are not in (crm.deal.fields.json)
    # the cells the load read as unreadable (warnings «bad-value» / «unknown-value») and those of the yes/no fields the
    # rules test, known only when the rules are decided (:func:`rules_that_cannot_run`; a Pipedrive option id its field
    # list lacks, acceptance X5): every cell `run` would stop on under `error`, whatever its kind
    load_cells: list = field(default_factory=list)
    rule_cells: list = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    columns: dict[str, list[Mapping]] = field(default_factory=dict)  # entity -> mappings
    # entity -> a column whose name only resembles a date / number field's and whose values cannot confirm it (all
    # blank): written as a commented line for the user to uncomment, never read (Salesforce's free-text «Next Step»
    # is not «Next Step Date»; once a manager types into it, a date column would stop the run)
    column_hints: dict[str, list[Mapping]] = field(default_factory=dict)
    # the team's own `columns:` lines (a crm-audit.yaml init overwrites) whose header the entity's file no longer has:
    # (entity, field, header, file name) — not kept (the run would stop on them), written commented, said by init (N6)
    stale_columns: list[tuple[str, str, str, str]] = field(default_factory=list)
    fields: list[Mapping] = field(default_factory=list)
    # the handbook's pipelines / stages the bundled rules name -> this team's (crm_audit/name_synonyms.yaml), to confirm
    pipeline_names: list[Mapping] = field(default_factory=list)
    stage_names: list[Mapping] = field(default_factory=list)
    # `fields:` proposals written commented out with why (a CRM's built-in column that may or may not be the field)
    fields_held: list[Mapping] = field(default_factory=list)
    # `stage_names:` proposals for a stage the rules compare («stage ≥ X») in a pipeline whose order is guessed:
    # written commented out (the rule would compare by a guess), the rules needing them off with the reason
    stage_names_held: list[Mapping] = field(default_factory=list)
    pipelines: list[PipelineDraft] = field(default_factory=list)
    trial_stages: list[str] = field(default_factory=list)
    frozen_lost_reasons: list[str] = field(default_factory=list)
    lost_reasons: list[str] = field(default_factory=list)  # every lost reason of the export (a comment to pick from)
    partner_managers: list[str] = field(default_factory=list)
    off: list[RuleOff] = field(default_factory=list)
    # an API dump's stage / pipeline ids -> names (None: no list of the export names it), and where the names came from
    ids: dict[str, dict[str, str | None]] = field(default_factory=dict)
    ids_source: dict[str, str] = field(default_factory=dict)
    # the deals' stage-change date read from one column per stage (the profile's `per_stage`, HubSpot's `Date entered
    # "<stage> (<pipeline>)"`): (those headers as the field's column, the current-stage header the export lacks, how
    # many columns); None: the export has a stage-change column of its own, or none
    stage_changed_from: tuple[str, str, int] | None = None
    # closed stages the export does not tell won or lost (a renamed won stage): written under lost_stages: (how the run
    # reads them until told) for the user to confirm, with closed_stages_confirmed: false
    won_stages: list[str] = field(default_factory=list)
    lost_stages: list[str] = field(default_factory=list)
    # init --force over the team's won_stages: / lost_stages: (crm_audit/team_settings.py keep_closed): the comment
    # (Russian) saying they are the team's and which closed stages are new, and whether they stay confirmed
    closed_team: str | None = None
    closed_confirmed: bool | list[str] = False  # or the closed stages the team confirmed (a new one is not)
    # trial stages proposed by their names (Russian lines: «stage» — why), or none found (P5): said at trial_stages:
    trial_why: list[str] = field(default_factory=list)
    trial_missing: bool = False
    # closed stages taken from the data of an export without readable closed flags: «stage» — why (Russian lines)
    closed_why: list[str] = field(default_factory=list)
    # the CRM's closed flag columns the export lacks, in the export's language (Salesforce «Closed» / «Won», HubSpot
    # «Is Deal Closed?» / «Is Closed Won»): the comment asks for them (acceptance Q3)
    closed_flags: list[str] = field(default_factory=list)
    closed_flags_missing: bool = False  # no flags, no stage guessed closed: the comment says the state is by names only
    # `decimal_mark:` to write ("," / "."; None: auto) and the comment that asks the user to confirm it (Russian lines)
    decimal_mark: str | None = None
    decimal_mark_why: list[str] = field(default_factory=list)
    # `date_order:` to write ("dmy" / "mdy"; None: not written, auto) when the export's cells settled it, and the
    # comment naming the file, column and cell that did (Russian lines)
    date_order: str | None = None
    date_order_why: list[str] = field(default_factory=list)
    # the deals file has no stage column (the header expected, e.g. «Deal - Stage»; None: it has one): `pipelines: {}`
    # is written and the rules reading the stage or pipeline are under rules: skip:, naming that column
    no_stage_column: str | None = None
    deals_file: str = ""
    no_stage_rules: list[str] = field(default_factory=list)  # the rules off that cannot run without the stage / pipeline
    # the deals file has no id column (L10): the deals' keys are derived from their content — the comment saying so
    # (Russian, the run's warning), None when the file has ids
    no_deal_ids: str | None = None
    # a field's cell texts the profile does not know (an interface language it lacks: a Korean status «진행 중»),
    # each with what the export's data says it means, None where it cannot tell (crm_audit/engine/value_words.py):
    # written under `values:` (the untold commented out) with values_confirmed: false; the team's own kept as given
    values: list = field(default_factory=list)

    # the team's own `values:` were still unconfirmed (`values_confirmed: false` in the file init overwrites)
    own_values_confirmed: bool = True
    # the team's own lines of the file init overwrites (fields, names, rules; crm_audit/team_settings.py), None: no file
    team: "TeamKept | None" = None

    @property
    def values_confirmed(self) -> bool:
        return self.own_values_confirmed and not any(fw.guessed for fw in self.values)

    def apply(self, found: "Unrunnable") -> None:
        """Take :func:`rules_that_cannot_run`'s proposals into the draft."""
        self.fields, self.off = list(found.fields), list(found.off)
        self.pipeline_names, self.stage_names = list(found.pipeline_names), list(found.stage_names)
        self.stage_names_held = list(found.stage_names_held)
        self.no_stage_rules = list(found.no_stage_rules)
        self.fields_held = list(found.fields_held)
        self.rule_cells = list(found.bad_cells)
        self.set_bad_values()

    def set_bad_values(self) -> None:
        """`bad_values` / `unknown_values` / `typed_bad_values` from the cells that do not read (`load_cells`,
        `rule_cells`): `on_bad_value: warn` is written when there is any, naming them — never a blocked first run.
        A yes/no cell of a rule is no word of an interface language the profile lacks: a cell to fix in the CRM."""
        from crm_audit.engine.mapping import UNKNOWN_OPTION_WARN

        every = [*self.load_cells, *self.rule_cells]
        self.bad_values = cells_text(every)
        self.unknown_values = cells_text([w for w in self.load_cells if w.code == "unknown-value"])
        option = [w for w in self.load_cells if w.template == UNKNOWN_OPTION_WARN]
        listed = {(w.file, w.column) for w in option}  # … and the «… and N more» line of their columns
        option += [w for w in self.load_cells if w.row is None and (w.file, w.column) in listed]
        self.option_values = cells_text(option)
        self.option_lists = list(dict.fromkeys(str(w.params.get("source", "")) for w in option))
        self.typed_bad_values = cells_text([*(w for w in self.load_cells if w.code == "bad-value"
                                              and all(w is not o for o in option)),
                                            *self.rule_cells])

    @property
    def stage_order_confirmed(self) -> bool | list[str]:
        """`stage_order_confirmed:` as written: true when no pipeline's order is a guess, false when every one is, else
        the pipelines whose order is the CRM's or the team's (by name: a guess in one pipeline leaves the others')."""
        confirmed = [p.name for p in self.pipelines if not p.guessed]
        return True if len(confirmed) == len(self.pipelines) else (confirmed or False)

    def settings_dict(self) -> dict:
        """The draft as a settings mapping (what the written file loads to)."""
        return {
            "crm": self.crm,
            "deal_url": self.deal_url,
            "pipelines": {p.name: p.stages for p in self.pipelines},
            "frozen_lost_reasons": self.frozen_lost_reasons,
            "partner_managers": self.partner_managers,
            "trial_stages": self.trial_stages,
            "columns": {e: {m.key: m.value for m in ms} for e, ms in self.columns.items() if ms},
            "fields": {m.key: m.value for m in self.fields},
            "pipeline_names": {m.key: m.value for m in self.pipeline_names},
            "stage_names": {m.key: m.value for m in self.stage_names},
            "rules": {"skip": {o.rule_id: o.why for o in self.off}},
            "stage_order_confirmed": self.stage_order_confirmed,
            **({"won_stages": self.won_stages, "lost_stages": self.lost_stages,
                "closed_stages_confirmed": self.closed_confirmed}
               if self.won_stages or self.lost_stages or self.closed_team else {}),
            **{f"{f}_ids": {k: v for k, v in ids.items() if v} for f, ids in self.ids.items() if any(ids.values())},
            **self.values_dict(),
        }

    def values_dict(self) -> dict:
        """`values:` (and `values_confirmed: false` while init told any of them) as the written file loads them."""
        out: dict[str, dict] = {}
        for fw in self.values:
            if fw.told:
                out.setdefault(fw.entity, {}).setdefault(fw.field, {}).update(fw.told)
        return {"values": out, "values_confirmed": self.values_confirmed} if self.values else {}


# --------------------------------------------------------------------------- names


def _key(text: str) -> str:
    from crm_audit.engine.profile import hkey

    return hkey(text)


def _closest(name: str, candidates: dict[str, str]) -> tuple[str, float] | None:
    """(the candidate's value, ratio) of the candidate key closest to ``name``. A candidate whose cheap upper bounds
    of the ratio (difflib's real_quick_ratio / quick_ratio) cannot beat the best so far is not compared in full."""
    best = None
    k = _key(name)
    for cand, value in candidates.items():
        m = difflib.SequenceMatcher(None, k, cand)
        if best is not None and (m.real_quick_ratio() <= best[1] or m.quick_ratio() <= best[1]):
            continue
        r = m.ratio()
        if best is None or r > best[1]:
            best = (value, r)
    return best


@lru_cache(maxsize=None)
def _synonyms() -> dict[str, dict]:
    from crm_audit import resources

    return resources.data_file(Path(__file__).parent / "field_synonyms.yaml") or {}


# --------------------------------------------------------------------------- columns the profile does not know


def _file_headers(export_dir: Path, profile) -> list[tuple[Path, str, list[str]]]:
    """(file, entity, headers) of every file the profile recognises."""
    from crm_audit.engine.mapping import files_with_entity
    from crm_audit.engine.near_columns import near_entity

    out, near = [], []
    for path, headers, entity in files_with_entity(export_dir, profile):
        if entity is not None:
            out.append((path, entity, headers))
        elif near_entity(profile, headers) is not None:
            near.append((path, "deals", headers))
    # no deals file, but one with the deals' columns save a required one (an id labelled as the profile does not know:
    # issue 13 acceptance J3): read as the deals, its missing column proposed by name (columns_by_name)
    return out if any(e == "deals" for _p, e, _h in out) else out + near


def _stale_columns(columns: dict[str, list[Mapping]], files: list[tuple[Path, str, list[str]]], profile) -> list[tuple[str, str, str, str]]:
    """The team's `columns:` (``columns``) whose header no file of the entity has, as `validate` judges them
    (crm_audit/engine/export_check.py `unmatched_columns`: the header as written, or without the file's prefix):
    (entity, field, header, file name). An entity without a file is not judged (the header may be in the next export)."""
    from crm_audit.engine.profile import hkey

    out = []
    for entity, maps in columns.items():
        mine = [(p, hs) for p, e, hs in files if e == entity]
        spec = profile.entities.get(entity)
        if not mine or spec is None:
            continue
        keys = {hkey(x) for _p, hs in mine for h in hs if h
                for x in (h, spec.strip_prefix(h)[0], spec.strip_prefix(h, spec.file_prefix(hs))[0])}
        out += [(entity, m.key, m.value, mine[0][0].name) for m in maps
                if m.key in spec.column_keys() and hkey(m.value) not in keys and hkey(spec.strip_prefix(m.value)[0]) not in keys]
    return out


def columns_by_name(files: list[tuple[Path, str, list[str]]], profile, only_required: bool = False) -> dict[str, list[Mapping]]:
    """Canonical fields the profile finds no header for, mapped to the export's column whose name resembles
    one of the field's names (:mod:`crm_audit.engine.suggest`, the matcher ``inspect`` suggests with; names
    only: a column whose values are known is matched by :func:`columns_suggested`). ``only_required``: just
    the fields a file cannot be read without, required or its signature (before the export is loaded)."""
    from crm_audit.engine.mapping import match_columns
    from crm_audit.engine.suggest import NAME_ONLY_CUTOFF, suggest_for_entity

    out: dict[str, list[Mapping]] = {}
    for path, entity, headers in files:
        spec = profile.entities[entity]
        m = match_columns(spec, headers)
        # a file is not read without its required fields nor without its signature (a Salesforce-shaped Contacts.csv
        # with «ContactID», «FullName»: its name column proposed too, else the file is skipped — acceptance K12); a
        # link id is proposed once its values can be checked against the linked file (columns_suggested), a date /
        # number once its values can be read as one (a city «Kota» is no amount «Kwota»: acceptance R7)
        lone = {n for n, fs in spec.fields.items()
                if not fs.required and (n not in spec.signature_fields() or n.endswith("_id") or fs.type in TYPED)}
        # a column whose name is nearer a lone field's is left to it (an API dump's «associated_deal_ids» is the deal
        # ids, told by its values, never the deal names its name also resembles: acceptance R10)
        free = [headers[i] for idxs in m.custom.values() for i in idxs]
        for s in suggest_for_entity(profile, entity, set(m.by_field), free, langs=profile.interface_languages(headers)):
            if s.score >= NAME_ONLY_CUTOFF and not (only_required and s.field in lone):
                out.setdefault(entity, []).append(Mapping(s.field, s.header, f"{_looks_like(s.like, path.name)} — проверьте"))
    return out


def _looks_like(like: str, file: str) -> str:
    """Why a column is proposed for a field, as its comment says it: the field's known name it resembles — a name in
    the file's own interface language, or none (:func:`crm_audit.engine.suggest.cited_name`)."""
    return f"похоже на «{like}» ({file})" if like else f"похоже на название поля ({file})"


#: field types whose cells a column's values must confirm before a name that only resembles the field's is written
TYPED = ("date", "number")


def columns_suggested(export, profile, hints: dict[str, list[Mapping]] | None = None) -> dict[str, list[Mapping]]:
    """The columns ``inspect`` suggests for the fields no column feeds (names close, values of the field's type):
    each written to `columns:` for the user to confirm. A date / number field whose column's name is not one of the
    field's names and whose values cannot be checked (blank in every row) goes to ``hints`` instead: written as a
    comment, not read."""
    from crm_audit.engine.suggest import suggest_columns

    out: dict[str, list[Mapping]] = {}
    for s in suggest_columns(export, profile):
        checked = "; значения подходят" if s.values_fit else ""
        file = export.entities[s.entity].file.name
        m = Mapping(s.field, s.header, f"{_looks_like(s.like, file)} — проверьте{checked}")
        if s.values_fit is None and s.score < 1.0 and profile.entities[s.entity].fields[s.field].type in TYPED:
            if hints is not None:
                m.why = (f"название {_looks_like(s.like, file)}, но значений в колонке нет — не записано: уберите «#», "
                         "если это то же поле")
                hints.setdefault(s.entity, []).append(m)
            continue
        out.setdefault(s.entity, []).append(m)
    return out


def columns_named_by_lists(export, _profile) -> dict[str, list[Mapping]]:
    """The deals column whose ids the export's own list names (Salesforce's RecordTypeId named by RecordType.csv:
    :attr:`LoadedEntity.listed`), written to `columns:` for the team to check: the list says what the ids are."""
    deals = export.entities.get("deals")
    out = [Mapping(f, c.header, f"проверьте: {', '.join(c.files)} называет ID этой колонки ({c.named} из {c.total}: "
                                f"{', '.join(f'«{v}»' for v in c.examples)}) — взята как {f}; уберите строку, если это не то")
           for f, c in (deals.listed.items() if deals is not None else ())]
    return {"deals": out} if out else {}


def columns_by_values(export, profile) -> dict[str, list[Mapping]]:
    """An enum / yes-no field with no column, fed by the custom column whose values are that field's values.

    A column feeds one field: it is proposed once. Yes/no values alone cannot tell one flag from another
    (a column of true/false may be «is closed», «is won» or «is lost»): a yes/no column is proposed by its
    values only when a single yes/no field of the entity lacks a column — else a won flag could be read as
    lost; the name-based proposals (or the user's `columns:`) map the others. The «closed» flag is the exception:
    a yes/no column named as the mapped won / lost flag without its last word («Est clôturée» beside «Est clôturée
    gagnée») is it (:func:`crm_audit.engine.near_columns.closed_flag_columns`; issue 13 acceptance J4).
    """
    from crm_audit.engine.near_columns import closed_flag_columns

    out: dict[str, list[Mapping]] = {}
    for entity, ent in export.entities.items():
        spec = profile.entities[entity]
        taken: set[str] = set()
        open_flags = [n for n, fs in spec.fields.items() if fs.type == "bool" and fs.values and n not in ent.fields]
        flags = profile.derive_status.from_flags if profile.derive_status is not None else None
        near_closed = closed_flag_columns(profile, {f: ent.fields[f] for f in ent.from_columns if ent.fields.get(f)},
                                          [h for _c, h in ent.custom.values()]) if entity == "deals" else []
        for name, fs in spec.fields.items():
            if name in ent.fields or fs.type not in ("enum", "bool") or not fs.values:
                continue
            only: list[str] | None = None
            if fs.type == "bool" and len(open_flags) > 1:
                if not (near_closed and flags is not None and name == flags.closed):
                    continue
                only = near_closed
            known = [norm(v) for vals in fs.values.values() for v in vals]
            lit = ", ".join(json.dumps(v, ensure_ascii=False).replace("'", "''").replace('"', "'") for v in known)
            for col, header in ent.custom.values():
                if col in taken or (only is not None and header not in only):
                    continue
                total, hits = export.con.execute(
                    f"SELECT count(*) FILTER (WHERE NOT is_blank({col})), count(*) FILTER (WHERE norm({col}) IN ({lit})) FROM {ent.table}"
                ).fetchone()
                if total and hits >= VALUES_SHARE * total:
                    out.setdefault(entity, []).append(Mapping(name, header, f"значения колонки — {fs.type == 'enum' and 'статусы' or 'да/нет'} ({hits} из {total})"))
                    taken.add(col)
                    break
    return out


#: what a column's values were taken for (value_guess.yaml's shapes), as init's comment says it
_SHAPE_WORDS = {"enum": "значения поля", "flag": "да/нет этого поля", "date": "даты", "amount": "суммы",
                "currency": "коды валют ISO 4217", "person": "имена людей, повторяются", "link": "ID из файла, на который ссылается поле",
                "reason": "текст есть только у сделок с одним статусом (проигранных или выигранных)",
                "category": "несколько значений, повторяются", "text": "текст, почти везде разный",
                "states": "2–4 коротких значения, повторяются; строки с причиной проигрыша — с одним из них",
                "states:done": "два коротких значения, повторяются",
                "key": "у каждой строки свой ID, других файлов он не называет",
                "flag_named": "да/нет, в названии — слово «выиграна» / «проиграна» / «закрыта» на одном из языков"}


def columns_by_shape(export, profile, hints: dict[str, list[Mapping]] | None = None) -> dict[str, list[Mapping]]:
    """The fields no column feeds, told by the values of a column no name matched (an interface language the profile
    does not know: :mod:`crm_audit.engine.value_guess`): the one column that fits a field is written to `columns:` with a
    comment to check it; a column the values leave open (another column fits the field too, or it fits two fields) goes
    to ``hints``: written commented out, never read — a wrong mapping that audits silently is worse than none."""
    from crm_audit.engine.value_guess import guess_by_values

    out: dict[str, list[Mapping]] = {}
    for g in guess_by_values(export, profile):
        file = g.file or export.entities[g.entity].file.name
        values = ", ".join(f"«{v}»" for v in g.examples)
        what = _SHAPE_WORDS.get(f"{g.shape}:{g.field}", _SHAPE_WORDS.get(g.shape, g.shape))
        if g.sure:
            out.setdefault(g.entity, []).append(
                Mapping(g.field, g.header, f"проверьте: название не узнано, но по значениям похоже на {g.field} ({file}): "
                                           f"{what}: {values}"))
        elif hints is not None:
            others = f"; подходят и {', '.join(f'«{o}»' for o in g.others)}" if g.others else ""
            hints.setdefault(g.entity, []).append(
                Mapping(g.field, g.header, f"по значениям может быть {g.field} ({file}): {what}: {values}{others} — не "
                                           "записано: уберите «#», если это оно"))
    return out


def _shape_again(export, profile, hints: dict[str, list[Mapping]]) -> dict[str, list[Mapping]]:
    """:func:`columns_by_shape` once more, with the ids its first pass found read: a link to them (the tasks' deal ids,
    the deals' company ids) is told by them (a HubSpot export in a language the profile lacks: acceptance R2); the
    hints are this pass's (``hints``: the first pass's only — a name-based hint is kept elsewhere)."""
    hints.clear()
    return columns_by_shape(export, profile, hints)


# --------------------------------------------------------------------------- rule fields under the team's names


def synonym_info(ref: str) -> dict:
    """``crm_audit/field_synonyms.yaml``'s entry for a rule field (``deal.Источник сделки``): names, yes_no."""
    return next((v for k, v in _synonyms().items() if norm(k) == norm(ref)), {}) or {}


#: a note in parentheses closing a header («… (Google Docs)»), left out when its name is compared with a field's names
_TRAILING_NOTE = re.compile(r"\s*\([^()]*\)\s*$")


def closest_name(ref: str, candidates: dict[str, str]) -> tuple[str, float, str] | None:
    """The candidate (name key -> name) that is the rule field ``ref`` under this team's name: (the name, how close,
    the field's own name or synonym it matched); the same key first, else the closest above :data:`NAME_CUTOFF`."""
    name = ref.partition(".")[2]
    best = None
    # a header with a note in parentheses after the name («Ссылка на КП (Google Docs)», «Запись демо (Zoom)»): the name
    bare = {_TRAILING_NOTE.sub("", k): h for k, h in candidates.items() if _TRAILING_NOTE.search(k)}
    for n in [name, *synonym_info(ref).get("names", [])]:
        hit = candidates.get(_key(n)) or bare.get(_key(n))
        if hit is not None:
            return hit, 1.0, n
        near = _closest(n, candidates)
        if near and near[1] >= NAME_CUTOFF and (best is None or near[1] > best[1]):
            best = (near[0], near[1], n)
    return best


def proposal_note(ref: str, matched: str, header: str | None = None) -> str:
    """The comment next to a proposed `fields:` entry (Russian, in the settings file): the name it matched, quoted as
    the export writes it (``header``: the team's column — not a synonym of another language, issue 13 acceptance P6)."""
    how = ("то же название" if _key(matched) == _key(ref.partition(".")[2])
           else f"так это поле называют: «{header if header is not None else matched}»")
    return f"{how} — проверьте, что это то же поле"


def _guarded(ref: str, free: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """``free`` (name key -> header) less the headers field_synonyms.yaml's `never:` / `held:` keep from ``ref``
    (a CRM's built-in «Source origin» is no deal source), and the `held:` headers there were (proposed commented out)."""
    info = synonym_info(ref)
    never = {_key(n) for n in info.get("never", [])}
    held = {_key(n) for n in (info.get("held") or {}).get("names", [])}
    return ({k: h for k, h in free.items() if k not in never and k not in held},
            [h for k, h in free.items() if k in held])


def rule_fields_by_name(export, missing_refs: list[str], held: list[Mapping] | None = None) -> list[Mapping]:
    """For each rule field the export lacks, the team's column that is the same field (by name or a known synonym);
    ``held``: where none is, the columns field_synonyms.yaml's `held:` names, to write commented out with its reason."""
    from crm_audit.engine.requirements import REF_ENTITY

    out: list[Mapping] = []
    taken: set[tuple[str, str]] = set()
    for ref in missing_refs:
        ent = export.entities.get(REF_ENTITY.get(ref.partition(".")[0], ""))
        if ent is None:
            continue
        free, kept = _guarded(ref, {_key(h): h for _c, h in ent.custom.values() if (ent.entity, h) not in taken})
        best = closest_name(ref, free)
        if best is None:
            if held is not None and kept:
                why = " ".join(str((synonym_info(ref).get("held") or {}).get("why", "")).split())
                held.append(Mapping(ref, kept[0], f"«{kept[0]}»: {why}"))
            continue
        if synonym_info(ref).get("yes_no") and not _yes_no_column(export, ent, best[0]):
            continue
        note = proposal_note(ref, best[2], best[0])
        col = next(c for c, h in ent.custom.values() if h == best[0])
        if ent.rows and not export.con.execute(f"SELECT count(*) FILTER (WHERE NOT is_blank({col})) FROM {ent.table}").fetchone()[0]:
            # the rules would take the field as empty for every record: said here and by `run` (issue 13 acceptance K13)
            note += f"; столбец пуст во всех строках ({ent.rows}) — если в CRM поле заполнено, выгрузите его заново"
        out.append(Mapping(ref, best[0], note))
        taken.add((ent.entity, best[0]))
    return out


def _yes_no_column(export, ent, header: str) -> bool:
    """The column holds yes/no values (in any language of the profile's bool fields)."""
    profile = export.profile
    words = {norm(v) for spec in profile.entities.values() for fs in spec.fields.values() if fs.type == "bool"
             for vals in fs.values.values() for v in vals}
    words |= {"да", "нет", "yes", "no", "sim", "não", "nao", "sí", "si", "ja", "nein", "oui", "non", "sì", "tak", "nie", "true", "false"}
    col = next(c for c, h in ent.custom.values() if h == header)
    lit = ", ".join("'" + w.replace("'", "''") + "'" for w in sorted(words))
    total, hits = export.con.execute(
        f"SELECT count(*) FILTER (WHERE NOT is_blank({col})), count(*) FILTER (WHERE norm({col}) IN ({lit})) FROM {ent.table}").fetchone()
    return bool(total) and hits >= VALUES_SHARE * total


# --------------------------------------------------------------------------- stages


def _handbook_pipelines() -> dict[str, list[str]]:
    from crm_audit.initfile import EXAMPLE

    return EXAMPLE["pipelines"]


def _mixed(x: tuple) -> list:
    """The different order values the open deals of a stage carry (``found``'s fifth item; [] when one or none): a
    per-deal probability a manager edited, which says nothing of the stage's place."""
    return list(x[4]) if len(x) > 4 and x[4] and len(x[4]) > 1 else []


def _mixed_note(body: list[tuple]) -> str:
    mixed = [(x[0], _mixed(x)) for x in body if _mixed(x)]
    return ("у открытых сделок этапов " if len(mixed) > 1 else "у открытых сделок этапа ") + "; ".join(
        f"«{s}» разные значения ({', '.join(f'{v:g}' for v in vals)})" for s, vals in mixed) if mixed else ""


def _by_crm_order(body: list[tuple], source: str | None = None) -> tuple[list[str], str, bool]:
    """Stages by the CRM's order value (probability / sort order) of their open deals, ties by first appearance, the
    stages without a value (no open deal carries one, or the open deals carry different ones) after them in first
    appearance: (stages, how the order was found, guessed — a tie or a stage without a value leaves part of the order
    to first appearance). ``source``: where the values come from, when a dumped stage list gives them."""
    valued = sorted((x for x in body if x[1] is not None), key=lambda x: (x[1], x[2]))
    mixed = _mixed_note(body)
    rest = [s for s, *_ in sorted((x for x in body if x[1] is None), key=lambda x: x[2])]
    blank = [s for s, *_ in sorted((x for x in body if x[1] is None and not _mixed(x)), key=lambda x: x[2])]
    counts: dict[float, list[str]] = {}
    for s, v, *_ in valued:
        counts.setdefault(v, []).append(s)
    tied = [names for names in counts.values() if len(names) > 1]
    source = source or "порядок из данных CRM (вероятность / порядок этапа), по открытым сделкам"
    notes = []
    if mixed:
        notes.append(mixed + " — они поставлены после остальных в порядке первого появления")
    if tied:
        notes.append("у этапов " + "; ".join(", ".join(f"«{s}»" for s in names) for names in tied)
                     + " одинаковое значение — между ними порядок первого появления")
    if blank:
        notes.append("у этапов " + ", ".join(f"«{s}»" for s in blank)
                     + " значения нет — они поставлены после остальных в порядке первого появления")
    if notes:
        source = "порядок угадан частично: " + source + "; " + "; ".join(notes) + " — проверьте"
    return [s for s, *_ in valued] + rest, source, bool(notes)


def _by_default_pipeline(profile, ordered: list[str], how: str) -> tuple[list[str], str, bool]:
    """``ordered`` (stages in the order ``how`` says) with the stages the CRM's default pipeline names put in its
    order (:mod:`crm_audit.stage_defaults`): (stages, how the order was found — Russian, the settings' comment —,
    guessed: a stage the default pipeline does not name keeps its place, a guess)."""
    from crm_audit import stage_defaults

    found = stage_defaults.order_by_default(profile.name, ordered)
    if found is None:
        return ordered, f"порядок угадан: {how}", True
    crm = (profile.title or profile.name).split(" (")[0]  # «Salesforce (reports)» -> «Salesforce»
    langs = ", ".join(found.languages)
    if found.complete:
        return found.stages, (f"порядок стандартной воронки {crm} ({langs}): все этапы — её этапы; если вы меняли "
                              "порядок этапов в CRM, поправьте"), False
    placed = ", ".join(f"«{s}»" for s in found.placed)
    rest = ", ".join(f"«{s}»" for s in found.unplaced)
    return found.stages, (f"порядок угадан частично: {placed} — по стандартной воронке {crm} ({langs}); {rest} — "
                          f"{how} — проверьте"), True


def _by_stage_columns(profile, body: list[tuple], listed: tuple[str, list[str]]) -> tuple[list[str], str, bool]:
    """The open stages (``body``) in the order of the CRM's per-stage columns (``listed``: their header pattern and the
    stages they name, in column order — the CRM's own stage list), a stage no column names after them by first
    appearance: (stages, how the order was found — the settings' comment —, guessed). Confirmed only where the CRM's
    default pipeline names every stage in that same order; a stage it does not know leaves the order unconfirmed
    (acceptance N5: «Qualifiziert für Kauf», named by a column only)."""
    from crm_audit import stage_defaults

    pattern, names = listed
    keys = [norm(s) for s in names]
    spelled = {norm(x[0]): x[0] for x in body}
    ordered = [spelled[k] for k in dict.fromkeys(keys) if k in spelled]
    rest = [x[0] for x in sorted(body, key=lambda x: x[2]) if norm(x[0]) not in set(keys)]
    ordered += rest
    crm = (profile.title or profile.name).split(" (")[0]
    found = stage_defaults.order_by_default(profile.name, ordered)
    if found is not None and found.complete and found.stages == ordered:
        return ordered, (f"порядок стандартной воронки {crm} ({', '.join(found.languages)}) — тот же, что у колонок "
                         f"«{pattern}» выгрузки; если вы меняли порядок этапов в CRM, поправьте"), False
    source = f"по колонкам «{pattern}» выгрузки (в них CRM перечисляет этапы воронки по порядку)"
    notes = []
    unknown = found.unplaced if found is not None else [s for s in ordered if s not in rest]
    unknown = [s for s in unknown if s not in rest]
    if unknown:
        notes.append(("этапа " if len(unknown) == 1 else "этапов ") + ", ".join(f"«{s}»" for s in unknown)
                     + f" нет в стандартной воронке {crm}")
    elif found is not None and found.complete:
        notes.append(f"стандартная воронка {crm} ставит их иначе: " + ", ".join(found.stages))
    if rest:
        notes.append(("этапа " if len(rest) == 1 else "этапов ") + ", ".join(f"«{s}»" for s in rest)
                     + " нет среди этих колонок — поставлены после остальных в порядке первого появления")
    return ordered, (f"порядок не подтверждён: {source}; " + "; ".join(notes) + " — проверьте порядок, затем "
                     "поставьте stage_order_confirmed: true"), True


def _order_pipeline(name: str, found: list[tuple[str, float | None, int, float | None]], profile,
                    closed: set[str] = frozenset(), language: str | None = None,
                    listed: tuple[str, list[str]] | None = None, list_source: str | None = None,
                    own_final: bool = False) -> PipelineDraft:
    """One pipeline's stages in order, and how the order was found.

    ``found``: (stage, the CRM's order value, first row, median days to reach it);
    ``closed``: normalised stages whose every deal the CRM's closed flags say is won or
    lost (a custom final stage such as Bitrix24's «Отказ клиента»): listed last, never
    among the open stages; ``listed``: the header pattern of the export's per-stage columns and the stages they name,
    in column order (:func:`crm_audit.engine.stage_list.listed_stages`); ``list_source``: the dumped stage list
    the order values come from (its file), for the settings' comment; ``own_final``: the CRM's stage list names this
    pipeline's won / lost stages (Bitrix24's SEMANTICS) — the CRM's default final stages are not added then."""
    terminal = {norm(s) for s in profile.terminal_stages()} | set(closed)
    stages = [s for s, *_ in found]
    body = [x for x in found if norm(x[0]) not in terminal]
    body = [(x[0], None, *x[2:]) if _mixed(x) else x for x in body]  # a stage whose open deals disagree: no value
    if body and any(x[1] is not None for x in body):
        ordered, source, guessed = _by_crm_order(
            body, f"порядок из списка этапов CRM ({list_source})" if list_source else None)
    elif listed and body:  # the CRM's own stage list, as its per-stage columns name it
        ordered, source, guessed = _by_stage_columns(profile, body, listed)
    else:
        handbook = next((st for p, st in _handbook_pipelines().items() if norm(p) == norm(name)), None)
        if handbook is None:  # a pipeline whose stages are all in one of the handbook's
            keys = {norm(s) for s, *_ in body}
            handbook = next((st for st in _handbook_pipelines().values() if keys and keys <= {norm(s) for s in st}), None)
        if handbook is not None and {norm(s) for s, *_ in body} <= {norm(s) for s in handbook}:
            spelled = {norm(s): s for s, *_ in body}
            ordered = [spelled.get(norm(s), s) for s in handbook]
            extra = [s for s in handbook if norm(s) not in spelled]
            source = "порядок угадан: этапы совпали с воронкой из руководства, взят её порядок" + (
                f" (добавлены этапы без сделок: {', '.join(extra)})" if extra else "")
            guessed = True
        else:
            if body and all(x[3] is not None for x in body):
                ordered = [s for s, *_ in sorted(body, key=lambda x: (x[3], x[2]))]
                source = "по тому, сколько дней от создания сделки до перехода на этап"
            else:
                ordered = [s for s, *_ in sorted(body, key=lambda x: x[2])]
                source = "в порядке первого появления в выгрузке"
            ordered, source, guessed = _by_default_pipeline(profile, ordered, source)
        if _mixed_note(body):  # the CRM's values were there, but not one per stage
            source += "; порядок из данных CRM не взят: " + _mixed_note(body)
    # the CRM's order values, or its per-stage columns whose order the default pipeline confirms (acceptance P9)
    from_crm = not guessed and body and (any(x[1] is not None for x in body) or bool(listed))
    if len(ordered) <= 1 and (guessed or not from_crm):  # one open stage (or none): no order to guess
        source, guessed = ("один открытый этап — порядок не нужен" if ordered else
                           "открытых этапов нет: ни одна сделка этой воронки в выгрузке не открыта — их этапы и порядок "
                           "проверьте, когда выгрузка будет с открытыми сделками"), False
    fs = profile.derive_status.from_stage if profile.derive_status else None
    ends: list[str] = []
    if fs is not None:  # won / lost stages last (the CRM has them in every pipeline)
        # a pipeline whose deals close in its own final stages (HubSpot «Signed», «Went dark»): the CRM's default
        # won / lost stages are added only where the profile says every pipeline has them
        own_closed = set(closed) - {norm(n) for n in (*fs.won, *fs.lost)}
        add = (fs.defaults == "every_pipeline" and not own_final) or not own_closed
        # a missing default final stage in the export's language only (issue 13 D16: no «Сделка успешна» in a German
        # pipeline): the language of the final stages the pipeline shows, else of the export's headers (``language``)
        pairs = fs.default_names
        shown = next((code for code, pair in pairs.items() for st in stages if norm(st) in {norm(x) for x in pair}), None)
        pair = pairs.get(shown or language or "") if pairs and (shown or language) else None
        for k, names in enumerate((fs.won, fs.lost)):
            seen = [s for s in stages if norm(s) in {norm(n) for n in names}]
            if seen or not add:
                ends += seen
            elif pairs:  # the export's language unknown: no default stage's name to add (acceptance R9: no «Сделка
                ends += pair[k:k + 1] if pair else []  # успешна» in a Chinese pipeline)
            else:
                ends += names[:1]
    named = {norm(s) for s in ends}
    rest = [x for x in found if norm(x[0]) in closed and norm(x[0]) not in named]
    if list_source and all(x[1] is not None for x in rest):  # a dumped list's SORT of its final stages, else as found
        # (a probability is no order of final stages: won 1 after lost 0 would put «Gone quiet» before «Paid»)
        rest.sort(key=lambda x: x[1])
    ends += [x[0] for x in rest]
    return PipelineDraft(name, ordered + ends, source, guessed, bool(from_crm))


def closed_unknown_stages(export) -> list[str]:
    """The stages in which the CRM closed deals without the export saying won or lost (see
    :func:`crm_audit.engine.mapping.closed_in_unknown_stages`), in order of first appearance."""
    deals = export.entities["deals"]
    names = [d[0] for d in export.con.execute(f"SELECT * FROM {deals.table} LIMIT 0").description]
    if "status__guessed" not in names or "stage" not in deals.fields:
        return []
    return [r[0] for r in export.con.execute(f'SELECT strip(stage) FROM {deals.table} WHERE "status__guessed" '
                                             "GROUP BY 1 ORDER BY min(_row)").fetchall()]


def _final_stages_language(profile, stages: list[str]) -> str | None:
    """The language whose names of the CRM's default final stages some deal's stage has (a REST dump's «Сделка
    успешна», named from its id), else None: an export of a language no profile has gets none of them added."""
    fs = profile.derive_status.from_stage if profile.derive_status else None
    keys = set(stages)
    return next((code for code, pair in ((fs.default_names or {}) if fs else {}).items()
                 if keys & {norm(x) for x in pair}), None)


def pipelines_of(export, profile, language: str | None = None, guess=None) -> list[PipelineDraft]:
    """Every pipeline of the export with every stage a deal is in, ordered as :func:`_order_pipeline` says
    (``language``: the export's interface language, for the CRM's default final stages no deal is in; ``guess``: the
    closed stages taken from the data of an export without readable closed flags
    (:func:`crm_audit.engine.closed_guess.guess_closed`) — listed last, out of the open order)."""
    deals = export.entities["deals"]
    if "stage" not in deals.fields:  # never blocks init: the rules comparing stages are switched off, naming the column
        return []
    pipe = "pipeline" if "pipeline" in deals.fields else "NULL"
    # a deal's probability is the deal's (a manager edits it; a won deal reads 100, a lost one 0 wherever it closed):
    # the stage's place only from its open deals, and only where they agree — unless the value is the stage's own,
    # read from the CRM's dumped stage list (`catalog`): then every deal of the stage carries it
    is_open = "status = 'open'" if "status" in deals.fields and not deals.catalog else "TRUE"
    order, vals = ((f"min(stage_order) FILTER (WHERE {is_open})",
                    f"list(DISTINCT stage_order ORDER BY stage_order) FILTER (WHERE {is_open} AND stage_order IS NOT NULL)")
                   if "stage_order" in deals.fields else ("NULL", "NULL"))
    reach = ("median(date_diff('day', created, stage_changed))"
             if "created" in deals.fields and "stage_changed" in deals.fields else "NULL")
    rows = export.con.execute(
        f"SELECT {pipe} AS p, strip(stage) AS s, {order} AS ord, min(_row) AS first, {reach} AS reach, {vals} AS vals "
        "FROM deals WHERE NOT is_blank(stage) GROUP BY ALL ORDER BY first").fetchall()
    closed: dict[str, set[str]] = {}  # pipeline -> stages whose every deal is closed by the CRM's flags
    if profile.derive_status is not None and profile.derive_status.from_stage is not None and "status" in deals.fields:
        for p, s in export.con.execute(
                f"SELECT {pipe} AS p, strip(stage) AS s FROM deals WHERE NOT is_blank(stage) GROUP BY ALL "
                "HAVING bool_and(coalesce(status, '') IN ('won', 'lost'))").fetchall():
            closed.setdefault(norm((p or "").strip() or DEFAULT_PIPELINE), set()).add(norm(s))
    if deals.catalog:  # the CRM's own list of every pipeline's stages (a dumped list): the stages no deal is in too
        seen = {(norm((p or "").strip() or DEFAULT_PIPELINE), norm(s)) for p, s, *_ in rows}
        last = max((r[3] for r in rows), default=0)
        rows += [(p, s, o, last + 1 + i, None, None) for i, (p, s, o, _st) in enumerate(deals.catalog) if (norm(p), norm(s)) not in seen]
    listed_closed = _catalog_closed(deals.catalog)  # the won / lost stages the CRM's list names (its own final stages)
    for p, names in listed_closed.items():
        closed.setdefault(p, set()).update(names)
    listed = _listed_stages(deals, profile, pipe != "NULL", list(dict.fromkeys((p or "").strip() for p, *_ in rows if p)))
    if listed:  # the stages the per-stage columns name that no deal is in, after the deals' own (ordered by the columns)
        seen = {(norm((p or "").strip() or DEFAULT_PIPELINE), norm(s)) for p, s, *_ in rows}
        last = max((r[3] for r in rows), default=0)
        rows += [(p, s, None, last + 1 + i, None, None) for i, (p, s) in enumerate(
            (p, s) for p, (_pattern, names) in listed.items() for s in names) if (norm(p), norm(s)) not in seen]
    by_pipe: dict[str, tuple[str, dict[str, list]]] = {}
    for p, s, ord_, first, days, vals in rows:
        pname = (p or "").strip() or DEFAULT_PIPELINE
        key = norm(pname)
        _, stages = by_pipe.setdefault(key, (pname, {}))
        prev = stages.get(norm(s))
        if prev is None:
            stages[norm(s)] = [s, ord_, first, days, list(vals or [])]
        else:  # the same stage spelled two ways: the first spelling, the earliest figures
            prev[1] = ord_ if prev[1] is None else prev[1] if ord_ is None else min(prev[1], ord_)
            prev[4] = sorted(set(prev[4]) | set(vals or []))
    out = []
    guessed_closed = guess.keys if guess is not None else set()
    defaults = {norm(n) for n in deals.default_named.get("stage", ())}  # named by the CRM's defaults alone (W1)
    terminal = {norm(s) for s in profile.terminal_stages()}
    language = language or _final_stages_language(profile, [k for _n, st in by_pipe.values() for k in st])
    for pname, stages in by_pipe.values():
        mine = guessed_closed & set(stages)
        p = _order_pipeline(pname, [tuple(v) for v in stages.values()], profile, closed.get(norm(pname), set()) | mine, language,
                            next((v for k, v in listed.items() if norm(k) == norm(pname)), None),
                            deals.fields.get("stage_order") if deals.catalog else None, norm(pname) in listed_closed)
        if deals.catalog_by_deals:  # Salesforce: a record type's sales process picks its stages, in no file here
            p.source += ("; список этапов CRM не делится по воронкам — здесь только этапы, на которых есть сделки этой "
                         "воронки: добавьте её остальные этапы на их места")
        if mine:  # which stages are closed is a guess (closed_stages_confirmed: false); the open stages' order is the CRM's
            p.source += ("; закрытые этапы угаданы (в выгрузке нет читаемых колонок «закрыта» / «выиграна»): "
                         + ", ".join(stages[k][0] for k in stages if k in mine) + " — проверьте won_stages: / lost_stages:")
        body = [k for k in stages if k not in terminal and k not in closed.get(norm(pname), set()) | mine]
        if len(body) > 1:  # one open stage: no order to confirm
            _defaults_guess(p, profile, [s for s in p.stages if norm(s) in defaults and norm(s) in body])
        out.append(p)
    return out


def _defaults_guess(p: PipelineDraft, profile, named: list[str]) -> None:
    """A pipeline some of whose open stages are only the CRM's default names of their ids (no stage list of the export
    and no `stage_ids:` named them: the team may have renamed them — «C2:PREPARATION» is «Квалификация» in its CRM):
    its names and order are a guess, never «взят из данных CRM» (acceptance W1); the comment says which list is missing
    and under which file name it is read."""
    if not named or not p.from_crm:  # guessed already, or not claimed as the CRM's
        return
    crm = (profile.title or profile.name).split(" (")[0]
    files = next((lk.files for lk in profile.lookups if lk.field == "stage"), [])
    where = (" (" + ", ".join(files) + " — .csv или .json)") if files else ""
    p.guessed, p.from_crm = True, False
    p.source = (f"порядок не подтверждён: этапы {', '.join(f'«{s}»' for s in named)} названы по умолчанию {crm} по их id — "
                f"списка этапов CRM в выгрузке не найдено; положите его рядом со сделками{where} и запустите init снова, "
                f"или проверьте названия в stage_ids: и порядок здесь, затем поставьте stage_order_confirmed: true")


def _catalog_closed(catalog: list[tuple[str, str, float | None, str | None]]) -> dict[str, set[str]]:
    """Normalised pipeline -> the normalised stages the CRM's dumped stage list says are won or lost."""
    out: dict[str, set[str]] = {}
    for p, s, _o, status in catalog:
        if status in ("won", "lost"):
            out.setdefault(norm((p or "").strip() or DEFAULT_PIPELINE), set()).add(norm(s))
    return out


def _listed_stages(deals, profile, by_pipeline: bool, pipelines: list[str]) -> dict[str, tuple[str, list[str]]]:
    """Pipeline -> (the per-stage header pattern as shown, the stages its columns name in column order): the CRM's own
    stage list in the deals file's per-stage columns (HubSpot's `Date entered "<stage> (<pipeline>)"`, acceptance N5;
    in a language no profile has, the columns naming the deals' ``pipelines``). Without a pipeline column
    (``by_pipeline`` false) the columns of one pipeline only, as the export's one pipeline."""
    from crm_audit.engine.stage_list import listed_stages

    spec = profile.entities["deals"]
    pairs = listed_stages(spec, [h for _c, h in deals.custom.values()], pipelines if by_pipeline else None)
    if not pairs:
        return {}
    out: dict[str, tuple[str, list[str]]] = {}
    for p, s, pattern in pairs:
        shown = pattern.replace("{stage}", "<stage>").replace("{pipeline}", "<pipeline>")
        out.setdefault(p, (shown, []))[1].append(s)
    if not by_pipeline:
        return {DEFAULT_PIPELINE: next(iter(out.values()))} if len(out) == 1 else {}
    return out


# --------------------------------------------------------------------------- the draft


def _yaml_comment(text: str) -> str:
    """``text`` inside a YAML comment: one line (a cell's line breaks as spaces)."""
    return " ".join(str(text).split())


def _yaml_safe(text: str) -> str:
    """A YAML-safe spelling of a name: as it is where PyYAML reads it back unchanged as a mapping key, a flow-list
    item and a value; otherwise JSON-quoted (a subset of YAML). Asked of the parser, not of a character list: «?»
    inside a flow item, « #», «1.5», «yes» and «: » all read back as something else."""
    if text and text == text.strip() and "\n" not in text:
        import yaml

        try:
            if yaml.safe_load(f"{text}: [{text}, x]\nv: {text}\n") == {text: [text, "x"], "v": text}:
                return text
        except yaml.YAMLError:
            pass
    # YAML reads U+0085, U+2028 and U+2029 as line breaks even inside quotes (JSON leaves them raw): escaped
    return json.dumps(text, ensure_ascii=False).translate({0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def _distinct(export, entity: str, fld: str, where: str = "TRUE") -> list[str]:
    ent = export.entities.get(entity)
    if ent is None or fld not in ent.fields:
        return []
    rows = export.con.execute(f"SELECT DISTINCT strip({fld}) FROM {ent.table} WHERE NOT is_blank({fld}) AND {where} ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def _add_columns(draft: Draft, entity: str, found: list[Mapping]) -> None:
    """Add proposed `columns:` mappings, one column per field and one field per column: a header already given
    to a field (or a field already given a header) is not proposed again — a yes/no column read as «closed»,
    «won» and «lost» at once turns a won deal lost."""
    have = draft.columns.setdefault(entity, [])
    for m in found:
        if any(x.key == m.key or norm(x.value) == norm(m.value) for x in have):
            continue
        have.append(m)


def _title_by_values(draft: Draft, export) -> bool:
    """A title proposed by a name it shares with another column whose cells hold its own («Nazwa konta» «Acme» inside
    «Nazwa szansy sprzedaży» «Acme renewal») is the deal's company: the holding column becomes the title, the other
    the company (when none is mapped); False when nothing changed."""
    from crm_audit.engine.value_guess import title_held_by

    held = draft.columns.get("deals", [])
    m = next((x for x in held if x.key == "title" and not x.why.startswith("из вашего")), None)
    outer = title_held_by(export) if m is not None else None
    if m is None or outer is None:
        return False
    file, inner = export.entities["deals"].file.name, m.value
    m.value, m.why = outer, f"проверьте: по значениям — в её ячейках названия из «{inner}», компании сделки ({file})"
    if not any(x.key == "org_name" for x in held):
        held.append(Mapping("org_name", inner, f"проверьте: по значениям — компания, её название есть в «{outer}» ({file})"))
    return True


def days_columns(export, profile) -> dict[str, list[Mapping]]:
    """The «days since» columns the loader read a date from by the word in their name alone (a Turkish Salesforce
    report's «Aşama Süresi» for `stage_changed`, mapping._days_column_by_word): each as a `columns:` line
    «<field>_days: <header>» for the team to check, so the settings say where the date comes from."""
    from crm_audit.engine.profile import DAYS_SUFFIX

    out: dict[str, list[Mapping]] = {}
    for e, ent in export.entities.items():
        spec = profile.entities[e]
        for name, fs in spec.fields.items():
            header = ent.fields.get(name)
            if not fs.from_days or not header or name in ent.from_columns or name in ent.per_stage \
                    or norm(header) in {norm(h) for h in fs.from_days}:
                continue
            out.setdefault(e, []).append(Mapping(f"{name}{DAYS_SUFFIX}", header,
                                                 f"проверьте: название не узнано, но по названию и значениям — число дней "
                                                 f"на этапе, дата {name} = дата аудита минус эти дни ({ent.file.name})"))
    return out


def draft_from_export(export_dir: str | Path, crm: str, columns: dict[str, dict[str, str]] | None = None,
                      domain: str | None = None, values: dict | None = None, values_confirmed: bool = True,
                      team: "TeamSettings | None" = None) -> Draft:
    """Read the export and propose settings that run (see the module's docstring); ``columns``: the
    team's own `columns:` (from the settings file init overwrites), kept and read with; ``domain``: the team's
    account (`init --domain`), put into the profile's example `deal_url`; ``values``: the team's own `values:` (as
    ``columns``), kept and read with — still to be confirmed unless ``values_confirmed``; ``team``: the rest of the
    team's lines in that file (fields, names, a confirmed stage order, lists, rules), kept
    (:func:`crm_audit.team_settings.keep_team_lines`)."""
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import apply_values, load_profile

    d = Path(export_dir)
    base = load_profile(crm)
    own_values = _own_values(values, base)
    base = apply_values(base, own_values)
    draft = Draft(crm=crm, deal_url=base.deal_url_for(domain) if domain else base.deal_url)
    # the team's own `columns:` (a crm-audit.yaml init overwrites) stand; then what the files' names suggest
    draft.columns = {e: [Mapping(k, v, "из вашего crm-audit.yaml") for k, v in fs.items() if v]
                     for e, fs in (columns or {}).items() if e in base.entities and fs}
    own = base.with_columns({e: {m.key: m.value for m in ms} for e, ms in draft.columns.items()})
    files = _file_headers(d, own)
    draft.stale_columns = _stale_columns(draft.columns, files, base)
    if draft.stale_columns:  # the field is mapped as it would be without the team's line
        stale = {(e, k) for e, k, _h, _f in draft.stale_columns}
        draft.columns = {e: [m for m in ms if (e, m.key) not in stale] for e, ms in draft.columns.items()}
        own = base.with_columns({e: {m.key: m.value for m in ms} for e, ms in draft.columns.items()})
        files = _file_headers(d, own)
    for e, ms in columns_by_name(files, own, only_required=True).items():  # a file is not read without them
        _add_columns(draft, e, ms)
    profile = base.with_columns({e: {m.key: m.value for m in ms} for e, ms in draft.columns.items()})
    from crm_audit.engine.deals_file import unrecognised_deals_file

    guessed = unrecognised_deals_file(d, profile)  # no file's headers are the deals': the one that can be, by values
    export = load_export(d, profile, on_bad_value="warn", deals_file=guessed, named=True)
    try:
        hints: dict[str, list[Mapping]] = {}
        shaped: dict[str, list[Mapping]] = {}  # the value passes' own (the second replaces the first's)
        first: list[dict] = []  # what the first value pass found: the second reads the export anew only after a find

        def by_shape(e, p):
            first.append(columns_by_shape(e, p, shaped))
            return first[-1]

        for step in (columns_named_by_lists, lambda e, p: columns_suggested(e, p, hints), columns_by_values,  # each read again with what it found
                     by_shape, lambda e, p: _shape_again(e, p, shaped) if any(first) else {}):
            found = step(export, profile)
            if not found:
                continue
            for e, ms in found.items():
                _add_columns(draft, e, ms)
            export.close()
            export.con.close()
            profile = base.with_columns({e: {m.key: m.value for m in ms} for e, ms in draft.columns.items()})
            export = load_export(d, profile, on_bad_value="warn", deals_file=guessed, named=True)
        if _title_by_values(draft, export):
            export.close()
            export.con.close()
            profile = base.with_columns({e: {m.key: m.value for m in ms} for e, ms in draft.columns.items()})
            export = load_export(d, profile, on_bad_value="warn", deals_file=guessed, named=True)
        if guessed is not None and unrecognised_deals_file(d, profile) is not None:
            # the columns its values gave do not make it the deals file `run` reads (no stage, no title): said as before
            check = load_export(d, profile, on_bad_value="warn")
            check.close()
            check.con.close()
        for e, ms in days_columns(export, profile).items():  # read as days by their word: written for the team to check
            _add_columns(draft, e, ms)
        for e, ms in shaped.items():
            hints.setdefault(e, []).extend(ms)
        draft.column_hints = {e: [m for m in ms if not any(x.key == m.key or norm(x.value) == norm(m.value)
                                                           for x in draft.columns.get(e, []))] for e, ms in hints.items()}
        for e, k, h, f in draft.stale_columns:  # the team's line, commented with why (uncommented when the column is back)
            draft.column_hints.setdefault(e, []).append(Mapping(k, h, f"из вашего crm-audit.yaml: в {f} больше нет колонки "
                                                                      f"«{h}» — строка не действует; уберите «#», когда колонка "
                                                                      "вернётся в выгрузку"))
        # the status / done texts the profile does not know: what the export's data says they mean (read with it)
        from crm_audit.engine.value_words import infer_values, with_own

        draft.values = with_own(infer_values(export, profile), own_values, export, profile)
        draft.own_values_confirmed = values_confirmed or not own_values
        told = {(fw.entity, fw.field): {w.text: w.value for w in fw.words if w.value and not w.own} for fw in draft.values}
        if any(told.values()):
            base = apply_values(base, told)
            export.close()
            export.con.close()
            profile = base.with_columns({e: {m.key: m.value for m in ms} for e, ms in draft.columns.items()})
            export = load_export(d, profile, on_bad_value="warn", deals_file=guessed, named=True)
        # the languages of the files read as the export's entities (acceptance M7)
        from crm_audit.engine.mapping import headers_read

        draft.languages = base.interface_languages(headers_read(profile, [(e, hs) for _p, e, hs in files]))
        draft.load_cells = [w for w in export.warnings if w.code in ("bad-value", "unknown-value")]
        draft.set_bad_values()
        deals = export.entities["deals"]
        draft.ids, draft.ids_source = dict(deals.ids), dict(deals.ids_source)
        from crm_audit.errors import Msg

        draft.no_deal_ids = next((Msg(w.template, w.params).text("ru") for w in export.warnings if w.code == "no-deal-ids"), None)
        if "stage_changed" in deals.per_stage:  # days in stage from the per-stage columns: the file says so
            draft.stage_changed_from = (deals.fields["stage_changed"], _expected_header(export, profile, "deals", "stage_changed"),
                                        len(deals.per_stage["stage_changed"]))
        from crm_audit.engine.closed_guess import guess_closed

        guess = guess_closed(export, profile)  # no readable closed flags: the closed stages the data shows (P4)
        draft.pipelines = pipelines_of(export, profile, draft.languages[0] if draft.languages else None, guess)
        draft.won_stages = list(guess.won)
        draft.lost_stages = [*guess.lost, *(s for s in closed_unknown_stages(export) if norm(s) not in guess.keys)]
        draft.closed_why = [f"«{s}» — {w}" for s, w in guess.why.items()]
        draft.closed_flags_missing = guess.flags_missing and not guess.why
        if guess.why or draft.closed_flags_missing:
            flags = profile.derive_status.from_flags
            draft.closed_flags = [_expected_header(export, profile, "deals", f)
                                  for f in dict.fromkeys((flags.closed, flags.won, flags.lost)) if f]
        draft.decimal_mark, draft.decimal_mark_why = propose_decimal_mark(
            [cm for e in export.entities.values() for cm in e.column_marks])
        draft.date_order, draft.date_order_why = propose_date_order(export.date_order)
        lost = "status = 'lost'" if "status" in deals.fields else "TRUE"  # no status column: a reason given marks a lost deal
        fill_lists(draft, _distinct(export, "deals", "lost_reason", lost), _distinct(export, "deals", "owner"))
        if team is not None:  # the team's own lines of the file init overwrites stand (init --force)
            from crm_audit.team_settings import keep_team_lines

            keep_team_lines(draft, team, export, domain)
        if not draft.pipelines and "stage" not in deals.fields:  # no stage column: the rules reading it are off
            draft.no_stage_column = _expected_header(export, profile, "deals", "stage")
            draft.deals_file = Path(deals.file).name
        if len(draft.pipelines) == 1 and "pipeline" not in deals.fields:  # no pipeline column: its deals are in the one
            from crm_audit.engine.profile import with_one_pipeline  # pipeline written, as `run` reads them (L4)

            export.close()
            export.con.close()
            profile = with_one_pipeline(profile, {draft.pipelines[0].name: []})
            export = load_export(d, profile, on_bad_value="warn", deals_file=guessed, named=True)
        if draft.pipelines or draft.no_stage_column:  # else every cell of the stage column blank: the caller says so
            draft.apply(rules_that_cannot_run(draft, export, profile))
    finally:
        export.close()
        export.con.close()
    return draft


def _file_columns(path) -> str:
    """The headers of the file at ``path`` as a message lists them ("" when it cannot be read again)."""
    from crm_audit.engine.mapping import _found_columns
    from crm_audit.engine.readers import peek_headers
    from crm_audit.errors import CrmAuditError

    try:
        return _found_columns(peek_headers(Path(path))) if path else ""
    except (CrmAuditError, OSError):
        return ""


def _own_values(values: dict | None, profile) -> dict[tuple[str, str], dict[str, str]]:
    """The team's own `values:` (a crm-audit.yaml init overwrites) that the profile can read: (entity, field) ->
    {cell text: value}; a line the profile cannot take is left out (validate names it)."""
    if not values:
        return {}
    from crm_audit import settings as settings_mod

    s = settings_mod.Settings.model_construct(values=values, crm=profile.name, marks={}, file=None)
    return {k: v for k, v in settings_mod.read_values(s, profile).fields.items() if v}


def unreadable_cells(export, shown: int = 3, codes: tuple[str, ...] = ("bad-value", "unknown-value")) -> list[str]:
    """The export's cells that do not read (a date «32.13.2026», an unknown status; ``codes``: the warnings' codes), as
    the settings' comment names them: «file» row N, «column»: «value» — the first ``shown`` and how many more."""
    return cells_text([w for w in export.warnings if w.code in codes], shown)


def cells_text(warnings: list, shown: int = 3) -> list[str]:
    """Cells that do not read (their warnings; one without a row: «… and N more»), as the settings' comment names
    them: «file» row N, «column»: «value» — the first ``shown`` and how many more."""
    bad = [w for w in warnings if w.row is not None]
    out = [f"{Path(w.file).name} строка {w.row}, «{w.column}»: «{w.params.get('value', '')}»" for w in bad[:shown]]
    more = len(bad) - len(out) + sum(int(w.params.get("n", 0)) for w in warnings if w.row is None)
    return out + ([f"и ещё {more}"] if more > 0 and out else [])


def _expected_header(export, profile, entity: str, name: str) -> str:
    """The header of a canonical field as this export would write it (its language, its files' prefix)."""
    from crm_audit.engine import requirements

    return requirements._Checker(export, profile).header(entity, name)


_MARK_WITH = {",": "десятичной запятой", ".": "десятичной точкой"}
_MARK_ACC = {",": "запятую", ".": "точку"}


def propose_decimal_mark(marks) -> tuple[str | None, list[str]]:
    """`decimal_mark:` for the settings from how the export's number columns were read
    (:class:`crm_audit.engine.amounts.ColumnMark`), with a comment for the user to confirm; (None, []) when `auto`
    reads every future export alike.

    The cells with decimals settle one mark that is not the interface language's (a Mexican Spanish account writing
    «1,500.00»): that mark — else a later export whose amounts have no decimals («1,500») would be read the language's
    way. Only cells that read either way («15.000»): the language's mark, which was guessed. Columns settling different
    marks, or one column with both: auto, with a comment naming them."""
    from crm_audit.engine import amounts

    def lang(cm) -> str:
        return amounts.language_title(cm.language) if cm.language else "обычный для этой CRM"

    settled = [cm for cm in marks if cm.how == "cells"]
    mixed = [cm for cm in marks if cm.how == "mixed"]
    guessed = [cm for cm in marks if cm.how == "language"]
    kinds = {cm.mark for cm in settled}
    if mixed or len(kinds) > 1:
        shown = "; ".join(f"«{cm.column}»: «{cm.example}»" for cm in [*mixed, *settled][:3])
        return None, ["проверьте: столбцы сумм пишут дробную часть по-разному (" + shown + "); каждая ячейка с дробной",
                      "частью читается как записана, остальные — по большинству; если выгрузка пишет суммы одним способом,",
                      'поставьте decimal_mark: "," или "."']
    if kinds:
        mark = next(iter(kinds))
        against = [cm for cm in settled if cm.mark != cm.language_mark]
        if not against:
            return None, []
        cm = against[0]
        # «1,500» with a point (1500) is 1.5 with the language's comma; «15.000» with a comma (15000) is 15 with its point
        other, read_as, wrong = ("1,500", "1500", "1.5") if mark == "." else ("15.000", "15000", "15")
        return mark, [f"проверьте: суммы в выгрузке записаны с {_MARK_WITH[mark]} («{cm.example}» в «{cm.column}»), а язык",
                      f"выгрузки ({lang(cm)}) пишет {_MARK_ACC[cm.language_mark]}; без этой строки сумма без дробной части",
                      f"вроде «{other}» была бы прочитана как {wrong}, а так — {read_as}. Если это не так, поставьте auto"]
    if guessed:
        cm = guessed[0]
        mark = cm.mark
        value = amounts._read(cm.example, mark)
        return mark, [f"проверьте: ни в одной ячейке «{cm.column}» нет дробной части («{cm.example}»): прочитано по языку",
                      f"выгрузки ({lang(cm)}) с {_MARK_WITH[mark]}, {cm.example} = {value}; если суммы записаны иначе,",
                      f'поставьте decimal_mark: "{"." if mark == "," else ","}"']
    return None, []


_ORDER_WORDS = {"dmy": "день/месяц/год", "mdy": "месяц/день/год"}


def propose_date_order(decision) -> tuple[str | None, list[str]]:
    """`date_order:` for the settings from the order the export's cells settled
    (:class:`crm_audit.engine.mapping.DateDecision`), with a comment naming the file, column and cell that showed it,
    so a later export whose dates all fit both orders («12/1/2026») is read the same way; (None, []) when no cell
    settled it (the run says which order it assumed)."""
    import re

    if decision is None:
        return None, []
    where = f"{decision.file}, «{decision.column}»: «{decision.example}»"
    words = _ORDER_WORDS[decision.order]
    if decision.clock_only:
        return decision.order, [f"init: проверьте: порядок дат взят из выгрузки ({where}):",
                                "ни в одной дате нет дня больше 12, но часы записаны с am/pm, как в США, где месяц",
                                f"идёт первым, — даты читаются как {words}; если день записан первым, поставьте dmy"]
    parts = re.match(r"\s*([0-9]{1,2})[/-]([0-9]{1,2})", decision.example or "")
    day = (parts.group(1) if decision.order == "dmy" else parts.group(2)).lstrip("0") if parts else ""
    first = "день" if decision.order == "dmy" else "месяц"
    why = f"{day} может быть только днём, значит первым записан {first}" if day else f"первым записан {first}"
    return decision.order, [f"init: порядок дат взят из выгрузки ({where}):",
                            f"{why}; так же ({words}) читаются и даты, подходящие",
                            "к обоим порядкам, вроде «1/12/2026», в этой и следующих выгрузках"]


def fill_lists(draft: Draft, lost_reasons: list[str], owners: list[str]) -> None:
    """The handbook's lists kept where this team's data has them: trial stages among the draft's stages, frozen lost
    reasons among the lost deals' reasons, partner managers among the owners."""
    from crm_audit.initfile import EXAMPLE

    found = {norm(s) for p in draft.pipelines for s in p.stages}
    draft.trial_stages = [s for s in EXAMPLE["trial_stages"] if norm(s) in found]
    if not draft.trial_stages:  # the team's own name for the trial stage («Trial», «Testphase», «Période d'essai»)
        propose_trial_stages(draft, EXAMPLE["trial_stages"])
    draft.lost_reasons = list(lost_reasons)
    draft.frozen_lost_reasons = [r for r in EXAMPLE["frozen_lost_reasons"] if norm(r) in {norm(x) for x in lost_reasons}]
    draft.partner_managers = [m for m in EXAMPLE["partner_managers"] if norm(m) in {norm(o) for o in owners}]


def propose_trial_stages(draft: Draft, handbook: list[str]) -> None:
    """The team's stages that are the handbook's trial stage (rule 2.4 spares a deal in one): a name answering it as
    crm_audit/name_synonyms.yaml lists its names in every language (:func:`crm_audit.handbook_names.answers`), or
    holding one of its one-word names («Trial (14 days)», «Période d'essai»). Written into `trial_stages:` with why,
    for the user to confirm (issue 13 acceptance P5); none found: ``draft.trial_missing`` (the settings say so)."""
    from crm_audit import handbook_names

    closed = {norm(s) for s in (*draft.won_stages, *draft.lost_stages)}
    team = list(dict.fromkeys(s for p in draft.pipelines for s in p.stages if norm(s) not in closed))
    for name in handbook:
        words = {handbook_names.key(w) for w in (name, *handbook_names.synonyms("stage").get(norm(name), ()))
                 if len(handbook_names._words(handbook_names.key(w))) == 1}
        hits: dict[str, str] = {}
        for a in handbook_names.answers("stage", name, team):  # best first: a team name's closest synonym names it
            hits.setdefault(a.team, a.via)
        for s in team:
            word = next((w for w in handbook_names._words(handbook_names.key(s)) if w in words), None)
            if s not in hits and word is not None:
                hits[s] = word
        for s in team:  # in the pipelines' order
            if s in hits and s not in draft.trial_stages:
                draft.trial_stages.append(s)
                draft.trial_why.append(f"«{s}» — похоже на «{name}» руководства (по названию «{hits[s]}»)")
    draft.trial_missing = not draft.trial_stages


@dataclass
class Unrunnable:
    """What :func:`rules_that_cannot_run` proposes: the team's columns for rule fields, and the rules to switch off."""

    fields: list[Mapping] = field(default_factory=list)  # `fields:` (a rule field -> the team's column)
    off: list[RuleOff] = field(default_factory=list)  # `rules: skip:`, in rule order
    # the cells of the yes/no fields the rules test that are no yes/no word (their warnings; read with `warn`): `run`
    # would stop on them under `on_bad_value: error` (acceptance X5)
    bad_cells: list = field(default_factory=list)
    pipeline_names: list[Mapping] = field(default_factory=list)  # `pipeline_names:` (the handbook's -> the team's)
    stage_names: list[Mapping] = field(default_factory=list)  # `stage_names:`
    stage_names_held: list[Mapping] = field(default_factory=list)  # `stage_names:` written commented out (order guessed)
    no_stage_rules: list[str] = field(default_factory=list)  # rules that need the stage column the export lacks
    fields_held: list[Mapping] = field(default_factory=list)  # `fields:` written commented out, with why (P6)


def rules_that_cannot_run(draft: Draft, export: LoadedExport, profile: Profile) -> Unrunnable:
    """The `fields:` to propose for the rule fields the export lacks, and every rule still lacking something
    (a field no column provides, a pipeline or stage of the handbook the team does not have) with the reason
    and how to switch it back on. ``draft`` gives the rest of the settings (pipelines, lists) and is not changed;
    ``export`` is read through ``profile`` (a list export, or a CRM's API snapshot for ``init --from-crm``)."""
    from crm_audit import settings as settings_mod
    from crm_audit.engine import plan as planmod
    from crm_audit.engine import requirements
    from crm_audit.rules import ruleset

    from crm_audit.team_settings import TeamKept

    kept = draft.team or TeamKept()  # the team's own lines (init --force): read with, never proposed again

    def decide(fields: list[Mapping], names: tuple[list[Mapping], list[Mapping]] = ([], [])):
        s = settings_mod.from_dict({**draft.settings_dict(), "fields": {m.key: m.value for m in [*kept.fields, *fields]},
                                    "rules": {"skip": {}, "disable": list(kept.disable)},
                                    "pipeline_names": {m.key: m.value for m in [*kept.pipeline_names, *names[0]]},
                                    "stage_names": {m.key: m.value for m in [*kept.stage_names, *names[1]]}})
        rules, _problems = ruleset.collect(s)
        return s, rules, requirements.decide(planmod.build_all(rules, s), export, profile)

    s0, rules0, needs = decide([])
    names = handbook_names(draft, rules0, s0)
    held = held_stage_names(draft, rules0, s0, names[1])
    names = (names[0], [m for m in names[1] if m not in held])
    if names[0] or names[1]:
        s0, rules0, needs = decide([], names)
    lacking = [m.field for m in needs.missing if not m.needed_by_all and "." in m.field and
               m.field.partition(".")[2] not in planmod.FIELDS.get(m.field.partition(".")[0], {})]
    fields_held: list[Mapping] = []
    out = Unrunnable(fields=rule_fields_by_name(export, list(dict.fromkeys(lacking)), fields_held), pipeline_names=names[0],
                     stage_names=names[1], stage_names_held=held, fields_held=fields_held)
    s, rules, needs = decide(out.fields, names)
    out.bad_cells = [w for w in needs.warnings if w.code in ("bad-value", "unknown-value")]
    out.fields = [*kept.fields, *out.fields]
    out.pipeline_names, out.stage_names = [*kept.pipeline_names, *names[0]], [*kept.stage_names, *names[1]]
    everyone = [m for m in needs.missing if m.needed_by_all]
    # a status column the values propose (commented out, value_guess._guess_states): the settings are written with
    # it to choose, never a blocked first run (issue 13 acceptance Q2)
    # a status column the values only propose (commented out, value_guess._guess_states) is named, but the first run
    # would stop on the missing status all the same: init stops here, its settings keep the line to fill (N3b)
    proposed = list(dict.fromkeys(m.value for m in draft.column_hints.get("deals", []) if m.key == "status"))
    if everyone:
        m = everyone[0]
        # entity / name / header / found: init writes the settings to finish with that column's line to fill (N3b)
        template = (N_("the deals file has no «{column}» column; by their values the statuses may be in {proposed}: map "
                       "the right one in crm-audit.yaml (columns: {{deals: {{status: <header>}}}}) — every rule needs it")
                    if proposed else
                    N_("the deals file has no «{column}» column and no column whose values are statuses: map it in "
                       "crm-audit.yaml (columns: {{deals: {{status: <header>}}}}) — every rule needs it"))
        raise InputError(problems=[Problem(
            template=template,
            params={"column": m.column, "entity": "deals", "name": "status", "header": m.column,
                    "proposed": ", ".join(f"«{h}»" for h in proposed), "found": _file_columns(m.file)},
            file=m.file, reason="missing-column")])
    off: dict[str, RuleOff] = {}
    lacks: dict[str, list] = {}  # rule id -> the MissingColumns it needs
    for m in needs.missing:
        for rid in m.needed_by:
            lacks.setdefault(rid, []).append(m)
    for rid, ms in lacks.items():
        cols = list(dict.fromkeys(f"«{m.column}»" for m in ms))  # one column two files lack is named once
        names = ", ".join(cols)
        files = ", ".join(dict.fromkeys(requirements.file_name(m) for m in ms))
        how = []
        for m in ms:
            name = m.field.partition(".")[2]
            custom = name not in planmod.FIELDS.get(m.field.partition(".")[0], {})
            how.append(f"fields: ({m.field}: <ваша колонка>)" if custom else f"columns: (заголовок «{m.column}»)")
        enable = (f"добавьте {'колонку' if len(cols) == 1 else 'колонки'} {names} в выгрузку или укажите свою в "
                  f"{'; '.join(dict.fromkeys(how))}, затем уберите правило из rules: skip:")
        why = f"в выгрузке нет {'поля' if len(cols) == 1 else 'полей'} {names} ({files})"
        off[rid] = RuleOff(rid, next((r.code for r in rules if r.id == rid), ""), why, enable)
    deals_file = Path(export.entities["deals"].file).name
    if draft.no_stage_column:  # every rule that cannot run without the stage or the pipeline, whatever else it lacks
        from crm_audit.engine import partial

        col = draft.no_stage_column
        stage = {planmod.field_ref("deal.stage"), planmod.field_ref("deal.pipeline")}
        for p in planmod.build_all(rules, s):
            if not stage & partial.needed_refs(p):
                continue
            out.no_stage_rules.append(p.rule.id)
            if p.rule.id in off:  # its reason names the stage / pipeline column already, with the other columns it lacks
                continue
            off[p.rule.id] = RuleOff(
                p.rule.id, p.rule.code, f"в выгрузке нет колонки этапа «{col}» ({deals_file}): этап и воронку сделки не узнать",
                f"выгрузите сделки с колонкой «{col}» (или укажите свою в columns: (deals: stage: <заголовок>)) и запустите "
                "crm-audit init --from-export <папка выгрузки> --force")
    for sk in needs.skipped:  # no stage-change column: days in stage are never counted from the creation date
        if sk.reason == "no-stage-change" and sk.rule_id not in off:
            why = sk.profile_reason or (f"в выгрузке нет столбца «{sk.column}» с датой последней смены этапа ({deals_file}), "
                                        "поэтому дни на этапе посчитать нельзя")
            days = ("; или столбец дней на этапе: deals: stage_changed_days: <заголовок>"
                    if profile.entities["deals"].days_field("stage_changed_days") else "")
            enable = (f"укажите столбец с датой последней смены этапа в columns: (deals: stage_changed: <заголовок>{days}; "
                      f"ожидался «{sk.column}») или добавьте его в выгрузку, затем уберите правило из rules: skip:")
            off[sk.rule_id] = RuleOff(sk.rule_id, sk.code, " ".join(why.split()), enable)
    for sk in needs.skipped:  # a list the rule compares with is empty (no handbook value in this export): it flags nothing
        if sk.reason == "empty-list" and sk.rule_id not in off:
            off[sk.rule_id] = list_off(sk)
    held_off(rules, s, off, held, draft)
    names_off(rules, s, off)
    order = {r.id: i for i, r in enumerate(rules)}
    out.off = sorted((o for o in off.values() if o.rule_id not in kept.skip), key=lambda o: order.get(o.rule_id, 0))
    return out


@lru_cache(maxsize=None)
def _name_synonyms() -> dict[str, dict[str, list[str]]]:
    from crm_audit import resources

    return resources.data_file(Path(__file__).parent / "name_synonyms.yaml") or {}


def handbook_names(draft: Draft, rules, s) -> tuple[list[Mapping], list[Mapping]]:
    """(`pipeline_names:`, `stage_names:`) to propose: each pipeline / stage of the handbook a bundled rule names and
    this team lacks, answered by the team's pipeline / stage of the same meaning in any language
    (``crm_audit/name_synonyms.yaml``: the same name first, else the closest above :data:`NAME_CUTOFF`); one team name
    answers one handbook name, a pipeline the team's best match first."""
    from crm_audit import resources
    from crm_audit.rules import ruleset

    bundled = resources.rules_dir()
    wanted: dict[str, list[str]] = {"pipeline": [], "stage": []}
    for rule in rules:
        if Path(rule.file).parent != bundled:
            continue
        for u in ruleset.unknown_names(rule, s):
            if u.kind in wanted and u.name not in wanted[u.kind] and not u.scoped:  # a stage the team has elsewhere
                wanted[u.kind].append(u.name)
    from crm_audit import handbook_names as hb

    synonyms = _name_synonyms()
    team = {"pipeline": [p.name for p in draft.pipelines],
            "stage": list(dict.fromkeys(st for p in draft.pipelines for st in p.stages))}
    out: dict[str, list[Mapping]] = {"pipeline": [], "stage": []}
    for kind in ("pipeline", "stage"):
        # the same name or synonym first, else the closest (crm_audit/handbook_names.py: close keys, or one's words a
        # run of the other's — «Proposta/Cotação» in «Proposta/Cotação de preço», acceptance N8)
        found = [(-a.score, a.rank, handbook, a.team, a.via) for handbook in wanted[kind]
                 for a in hb.answers(kind, handbook, team[kind])]
        taken: set[str] = set()
        done: set[str] = set()
        for _s, _i, handbook, hit, n in sorted(found, key=lambda x: (x[0], x[1])):
            if handbook in done or norm(hit) in taken:
                continue
            what = "воронка" if kind == "pipeline" else "этап"
            like = "" if _key(n) == _key(hit) else f" (похоже на «{n}»)"
            out[kind].append(Mapping(handbook, hit, f"{what} руководства «{handbook}» — у вас, похоже, «{hit}»{like}: "
                                                    "проверьте, что это то же самое"))
            done.add(handbook)
            taken.add(norm(hit))
        only = synonyms.get("only_pipeline")  # a team's only pipeline is its sales pipeline, whatever the CRM names it
        unnamed = {k for k, v in draft.ids.get("pipeline", {}).items() if not v}  # an API dump's id: not a name to map
        if kind == "pipeline" and only in wanted["pipeline"] and only not in done and len(team["pipeline"]) == 1 \
                and norm(team["pipeline"][0]) not in taken and team["pipeline"][0] not in unnamed:
            one = team["pipeline"][0]
            out[kind].append(Mapping(only, one, f"воронка руководства «{only}» — у вас одна воронка, «{one}»: "
                                                "проверьте, что это то же самое"))
    return out["pipeline"], out["stage"]


def _compared_stages(rules, s) -> set[str]:
    """The handbook's stages (normalised) a bundled rule compares («stage ≥ X») and ``s`` lacks."""
    from crm_audit import resources
    from crm_audit.rules import ruleset

    bundled = resources.rules_dir()
    return {norm(u.name) for rule in rules if Path(rule.file).parent == bundled
            for u in ruleset.unknown_names(rule, s) if u.kind == "stage" and u.compared and not u.scoped}


def _guessed_pipelines_of(draft: Draft, stage: str) -> list[str]:
    """The pipelines holding ``stage`` whose order is guessed."""
    return [p.name for p in draft.pipelines if p.guessed and norm(stage) in {norm(x) for x in p.stages}]


def held_stage_names(draft: Draft, rules, s, proposed: list[Mapping]) -> list[Mapping]:
    """The proposed `stage_names:` to write commented out: a handbook stage a bundled rule compares («stage ≥ X»)
    answered by a team stage of a pipeline whose order is guessed. Active, the rule would compare by the guess on the
    first run (issue 13 acceptance J, J2: deals in an earlier stage counted as «at or after» the proposal stage); the
    user confirms the order, then moves the line into stage_names:."""
    compared = _compared_stages(rules, s)
    return [m for m in proposed if norm(m.key) in compared and _guessed_pipelines_of(draft, m.value)]


def list_off(sk) -> RuleOff:
    """A rule skipped for an empty settings list (a :class:`~crm_audit.report.SkippedRule`, «empty-list») as a
    `rules: skip:` entry: the list, the column compared with it and the export's values of that column."""
    there = f" (в выгрузке: {', '.join(sk.values)})" if sk.values else ""
    return RuleOff(sk.rule_id, sk.code, f"список {sk.setting} пуст: правилу не с чем сравнить «{sk.column}», оно не "
                                        f"отметило бы ни одной сделки{there}",
                   f"впишите в {sk.setting}: нужные значения{there}, затем уберите правило из rules: skip: (если таких "
                   "у вас нет, оставьте его здесь)", setting=sk.setting)


def held_off(rules, s, off: dict[str, RuleOff], held: list[Mapping], draft: Draft) -> None:
    """Add to ``off`` every bundled rule naming a stage whose proposed name is held (:func:`held_stage_names`), with
    the reason (the pipeline's order is a guess) and how to switch it on."""
    from crm_audit import resources
    from crm_audit.rules import ruleset

    if not held:
        return
    by_key = {norm(m.key): m for m in held}
    bundled = resources.rules_dir()
    for rule in rules:
        if rule.id in off or Path(rule.file).parent != bundled:
            continue
        m = next((by_key[norm(u.name)] for u in ruleset.unknown_names(rule, s)
                  if u.kind == "stage" and not u.scoped and norm(u.name) in by_key), None)
        if m is None:
            continue
        names = _guessed_pipelines_of(draft, m.value)
        what = ("воронки " if len(names) == 1 else "воронок ") + ", ".join(f"«{n}»" for n in names)
        off[rule.id] = RuleOff(
            rule.id, rule.code,
            f"порядок этапов {what} угадан, а правило сравнивает этапы («этап не раньше «{m.key}»»): "
            f"предложенное stage_names: ({m.key}: {m.value}) записано закомментированным",
            f"проверьте порядок этапов {what} в pipelines:, поставьте stage_order_confirmed: true, "
            f"перенесите «{m.key}: {m.value}» в stage_names:, затем уберите правило из rules: skip:")


def names_off(rules, s, off: dict[str, RuleOff]) -> None:
    """Add to ``off`` every bundled rule that names a pipeline or stage of the handbook the team does not have (it
    would check nothing), with the reason and how to switch it back on; the team's own rules are `validate`'s."""
    from crm_audit import handbook_names as hb
    from crm_audit import resources
    from crm_audit.rules import ruleset

    bundled = resources.rules_dir()
    for rule in rules:  # a bundled rule naming a pipeline / stage this team does not have checks nothing
        if Path(rule.file).parent != bundled:  # the team's own rule: a name it lacks is an error `validate` reports
            continue
        unknown = [u for u in ruleset.unknown_names(rule, s) if u.kind in ("pipeline", "stage")]
        scope = {norm(p) for p in rule.pipelines}
        if scope and not scope <= {norm(u.name) for u in unknown if u.kind == "pipeline"}:
            # a scope of several pipelines runs on those the team has (validate warns about the others)
            unknown = [u for u in unknown if not (u.kind == "pipeline" and norm(u.name) in scope)]
        u = unknown[0] if unknown else None
        if u is None or rule.id in off:
            continue
        if u.scoped:  # the stage is the team's, in another pipeline than the rule's
            pipes = ", ".join(f"«{pl}»" for pl in u.scoped)
            off[rule.id] = RuleOff(rule.id, rule.code, f"в воронке {pipes}, которую проверяет правило, нет этапа «{u.name}» "
                                                       "(он есть в другой воронке): правилу не с чем сравнить этапы сделок",
                                   f"если такой этап в воронке {pipes} есть, добавьте его в pipelines: на его место по "
                                   "порядку, затем уберите правило из rules: skip:")
            continue
        what = "воронки" if u.kind == "pipeline" else "этапа"
        key = "pipeline_names" if u.kind == "pipeline" else "stage_names"
        team = list(s.pipelines) if u.kind == "pipeline" else list(dict.fromkeys(x for st in s.pipelines.values() for x in st))
        near = hb.best(u.kind, u.name, team)  # a close name init did not propose (another handbook name took it)
        like = f" (возможно, это «{near.team}»?)" if near is not None else ""
        off[rule.id] = RuleOff(rule.id, rule.code, f"в ваших воронках нет {what} «{u.name}» из руководства{like}",
                               f"укажите {'свою воронку' if u.kind == 'pipeline' else 'свой этап'} в {key}: ({u.name}: <ваше название>) "
                               f"или добавьте {'её' if u.kind == 'pipeline' else 'его'} в pipelines:, "
                               "затем уберите правило из rules: skip:")


# --------------------------------------------------------------------------- rendering


def template_values(draft: Draft) -> dict:
    """What :func:`crm_audit.initfile.render_settings` needs to write the draft, names YAML-safe."""
    q = _yaml_safe
    return {
        "deal_url": draft.deal_url or "https://example.com/deal/{id}",
        "no_deal_ids": textwrap.wrap(f"ВНИМАНИЕ: {_yaml_comment(draft.no_deal_ids)}.", 100) if draft.no_deal_ids else [],
        "stage_changed_from": draft.stage_changed_from,
        "pipelines": {q(p.name): [q(s) for s in p.stages] for p in draft.pipelines},
        "no_stage_column": (draft.no_stage_column, draft.deals_file, len(draft.no_stage_rules)) if draft.no_stage_column else None,
        "pipeline_notes": {q(p.name): p.source for p in draft.pipelines},
        "stage_order_confirmed": draft.stage_order_confirmed is True,
        # some pipelines confirmed (by name), the others' order guessed: written as a list, the guessed ones named
        "stage_order_partial": ([q(n) for n in draft.stage_order_confirmed] if isinstance(draft.stage_order_confirmed, list)
                                else None),
        "stage_order_guessed": ", ".join(f"«{_yaml_comment(p.name)}»" for p in draft.pipelines if p.guessed),
        "stage_order_from_crm": all(p.from_crm for p in draft.pipelines),
        "decimal_mark": draft.decimal_mark,
        "decimal_mark_why": draft.decimal_mark_why,
        "date_order": draft.date_order,
        "date_order_why": [_yaml_comment(x) for x in draft.date_order_why],
        "bad_values": [_yaml_comment(b) for b in draft.bad_values],
        "unknown_values": [_yaml_comment(b) for b in draft.unknown_values],
        "typed_bad_values": bool(draft.typed_bad_values),
        "option_values": [_yaml_comment(b) for b in draft.option_values],
        "option_lists": ", ".join(_yaml_comment(b) for b in draft.option_lists if b),
        "profile_file": f"crm_audit/profiles/{draft.crm}.yaml",
        "closed_stages": ({"won": [q(s) for s in draft.won_stages], "lost": [q(s) for s in draft.lost_stages]}
                          if draft.won_stages or draft.lost_stages or draft.closed_team else None),
        "closed_team": textwrap.wrap(f"Закрытые этапы: {_yaml_comment(draft.closed_team)}.", 100) if draft.closed_team else None,
        "closed_confirmed": draft.closed_confirmed,
        "closed_confirmed_some": [q(s) for s in draft.closed_confirmed] if isinstance(draft.closed_confirmed, list) else None,
        "closed_why": [_yaml_comment(x) for x in draft.closed_why],
        "closed_flags_missing": draft.closed_flags_missing and not (draft.won_stages or draft.lost_stages),
        "closed_flags": " / ".join(f"«{_yaml_comment(x)}»" for x in draft.closed_flags) or "«Closed» / «Won»",
        "frozen_lost_reasons": [q(r) for r in draft.frozen_lost_reasons],
        "lost_reasons": ", ".join(draft.lost_reasons),
        "partner_managers": [q(m) for m in draft.partner_managers],
        "trial_stages": [q(s) for s in draft.trial_stages],
        "trial_why": [_yaml_comment(x) for x in draft.trial_why],
        "trial_missing": draft.trial_missing and bool(draft.pipelines),
        "languages": draft.languages[0] + (f" (в части колонок также: {', '.join(draft.languages[1:])})" if draft.languages[1:] else "")
        if draft.languages else "",
        "columns": {e: [(q(m.key), q(m.value), m.why) for m in ms] for e, ms in draft.columns.items() if ms},
        "values": _values_lines(draft),
        "values_confirmed": draft.values_confirmed,
        "column_hints": {e: [(q(m.key), q(m.value), m.why) for m in ms] for e, ms in draft.column_hints.items() if ms},
        # the team's `columns:` lines whose header is gone (written commented among column_hints): init says them
        "stale_columns": list(draft.stale_columns),
        "fields": [(q(m.key), q(m.value), m.why) for m in draft.fields],
        "fields_held": [(q(m.key), q(m.value), _yaml_comment(m.why)) for m in draft.fields_held],
        "pipeline_names": [(q(m.key), q(m.value), m.why) for m in draft.pipeline_names],
        "stage_names": [(q(m.key), q(m.value), m.why) for m in draft.stage_names],
        "stage_names_held": [(q(m.key), q(m.value), m.why) for m in draft.stage_names_held],
        "rules_off": [(o.rule_id, q(o.why), o.code, o.enable) for o in draft.off],
        **_team_values(draft),
        # the rules off while a list of the settings is empty, by list («1.2»): said at the list
        "list_off": {k: ", ".join(o.code for o in draft.off if o.setting == k) for k in {o.setting for o in draft.off if o.setting}},
        # field -> (where the names came from, [(id, name or None)]): written as stage_ids: / pipeline_ids:
        "ids": {f: (draft.ids_source.get(f, ""), [(json.dumps(k, ensure_ascii=False), q(v) if v else None) for k, v in ids.items()])
                for f, ids in draft.ids.items() if ids},
    }


def _team_values(draft: Draft) -> dict:
    """The team's own lines init keeps (:mod:`crm_audit.team_settings`) as the template writes them: those no longer
    true of the export by section (written commented out with why), the hand-written `rules: skip:` / `disable:`, the
    rule files and `lists:`."""
    if draft.team is None:
        return {}
    q, kept = _yaml_safe, draft.team
    stale: dict[str, list] = {}
    for st in kept.stale:
        stale.setdefault(st.section, []).append((q(st.key), q(st.value), _yaml_comment(st.why)))
    return {"team_stale": stale, "own_skip": [(q(r), q(w)) for r, w in kept.skip.items()],
            "disable": [q(r) for r in kept.disable], "rule_files": [q(f) for f in kept.rule_files],
            "own_lists": {q(k): [q(v) for v in vs] for k, vs in kept.own_lists.items()}}


def _values_lines(draft: Draft) -> dict[str, list[tuple[str, str, str, list[tuple[bool, str, str, str]]]]]:
    """`values:` as the template writes it: entity -> [(field, its column, its values «open | won | …», [(told, text,
    value or the placeholder, why)])]; a text not told is written commented out with the placeholder to replace."""
    out: dict[str, list] = {}
    for fw in draft.values:
        keys = " | ".join(fw.keys)
        lines = [(w.value is not None, _yaml_safe(w.text), w.value if w.value is not None else f"<{keys}>",
                  _yaml_comment(w.why))
                 for w in fw.words]
        out.setdefault(fw.entity, []).append((fw.field, _yaml_comment(fw.header), keys, lines))
    return out
