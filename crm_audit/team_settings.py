"""The team's own lines of a crm-audit.yaml that ``crm-audit init --from-export DIR --force`` overwrites.

A team that re-runs init after its export changed (a column added, a stage new) keeps its work: the hand-written
`fields:`, `stage_names:`, `pipeline_names:`, a confirmed stage order (`stage_order_confirmed: true`, or the pipelines
it lists: their stages stay in the team's order, a stage no deal is in any more stays; stages new in the export are
inserted where the export puts them and that pipeline alone is marked to confirm again), its won / lost split of the
closed stages (`won_stages:` / `lost_stages:`, each stage still in pipelines: stays where the team put it; a closed stage
new in the export is added where init puts it and only then `closed_stages_confirmed:` is turned off), the lists it filled (`frozen_lost_reasons:`, `partner_managers:`,
`trial_stages:`, `lists:`), its `deal_url:`, its rule files and `rules: disable:`, and the `rules: skip:` lines it
wrote by hand — a skip line init writes itself has init's «<code>: чтобы включить — …» comment right above it
(templates/crm-audit.yaml.j2), a hand-written one has not. A line whose column, stage or pipeline the export no longer
has is written commented out with why (as a stale `columns:` line is, :func:`crm_audit.exportdraft.draft_from_export`).

:func:`read_team_settings` reads the file (tolerantly: what does not read is left to init), :func:`keep_team_lines`
puts the team's lines into an init draft, :func:`keep_comments` puts the team's own trailing comments back on the
lines written as the team wrote them. ``columns:`` / ``values:`` are kept by :mod:`crm_audit.cli_profiles`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crm_audit.textnorm import norm

if TYPE_CHECKING:
    from crm_audit.engine.loading import LoadedExport
    from crm_audit.exportdraft import Draft, Mapping, PipelineDraft

#: the comment next to a line init keeps from the team's file
OWN = "из вашего crm-audit.yaml"
#: what init writes in the comment right above each `rules: skip:` line of its own (templates/crm-audit.yaml.j2)
INIT_SKIP_MARK = ": чтобы включить — "
#: the team's lists init keeps when filled
LISTS = ("frozen_lost_reasons", "partner_managers", "trial_stages")
#: the lines whose own trailing comment init --force keeps when it keeps the line's value: top-level keys, and the
#: sections whose every line is kept
COMMENTED = ("deal_url", "stage_order_confirmed", *LISTS, "won_stages", "lost_stages", "closed_stages_confirmed")
COMMENTED_SECTIONS = ("fields", "stage_names", "pipeline_names")
#: what marks a comment init wrote on a line itself (a proposal to check, a kept line): not the team's words
INIT_COMMENT_MARKS = ("проверьте", OWN)


@dataclass
class TeamSettings:
    """What a team wrote in the crm-audit.yaml init is about to overwrite (beyond `columns:` / `values:`)."""

    deal_url: str = ""
    pipelines: dict[str, list[str]] = field(default_factory=dict)
    stage_order_confirmed: bool | list[str] = True  # as written: true / false / the pipelines confirmed
    fields: dict[str, str] = field(default_factory=dict)
    stage_names: dict[str, str] = field(default_factory=dict)
    pipeline_names: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)  # frozen_lost_reasons / partner_managers / trial_stages
    own_lists: dict[str, list[str]] = field(default_factory=dict)  # `lists:` (the team's lists for its own rules)
    rule_files: list[str] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)
    skip: dict[str, str] = field(default_factory=dict)  # the hand-written `rules: skip:` lines
    # `won_stages:` / `lost_stages:` as written (None: the file has neither) and `closed_stages_confirmed:`
    won_stages: list[str] | None = None
    lost_stages: list[str] | None = None
    closed_confirmed: bool | list[str] = True  # or the closed stages confirmed, by name
    # the team's own trailing comments on the lines init keeps: key path -> (the comment, the line's value as written)
    comments: dict[tuple, tuple[str, object]] = field(default_factory=dict)


@dataclass
class Stale:
    """A team's line no longer true of the export: written commented out with why."""

    section: str  # fields / stage_names / pipeline_names
    key: str
    value: str
    why: str  # Russian, the comment
    file: str = ""  # the file that lacks the column (fields:)


@dataclass
class NewStages:
    """Stages of a pipeline whose order the team confirmed that the export has and the team's order lacks."""

    pipeline: str
    stages: list[str]
    after: dict[str, str | None]  # stage -> the team's stage it was put after (None: first)


@dataclass
class TeamKept:
    """The team's lines an init draft carries (:attr:`crm_audit.exportdraft.Draft.team`)."""

    fields: list["Mapping"] = field(default_factory=list)
    stage_names: list["Mapping"] = field(default_factory=list)
    pipeline_names: list["Mapping"] = field(default_factory=list)
    stale: list[Stale] = field(default_factory=list)
    new_stages: list[NewStages] = field(default_factory=list)
    own_lists: dict[str, list[str]] = field(default_factory=dict)
    rule_files: list[str] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)
    skip: dict[str, str] = field(default_factory=dict)
    new_closed: list[str] = field(default_factory=list)  # closed stages new in the export added to the team's lists
    closed_kept: list[str] = field(default_factory=list)  # with them, the closed stages still confirmed


def _strs(value) -> list[str]:
    return [str(x) for x in value if x is not None and str(x).strip()] if isinstance(value, list) else []


def _pairs(value) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items() if v is not None and str(v).strip()} if isinstance(value, dict) else {}


def _hand_skips(doc, skip: dict) -> dict[str, str]:
    """The `rules: skip:` lines without init's comment right above them (the team's own)."""
    lines = Path(doc.file).read_text(encoding="utf-8-sig").splitlines()
    out: dict[str, str] = {}
    for rid, why in skip.items():
        line = doc.marks.get(("rules", "skip", rid), (None, None))[0]
        above = lines[line - 2].strip() if line and line >= 2 else ""
        if not (above.startswith("#") and INIT_SKIP_MARK in above):
            out[str(rid)] = str(why if why is not None else "")
    return out


def _confirmed(value) -> bool | list[str]:
    """`stage_order_confirmed:` / `closed_stages_confirmed:` as the team wrote it: a list of names (pipelines, closed
    stages), else anything but false is true."""
    return _strs(value) if isinstance(value, list) else value is not False


def _order_confirmed(team: TeamSettings, pipeline: str) -> bool:
    if isinstance(team.stage_order_confirmed, bool):
        return team.stage_order_confirmed
    return norm(pipeline) in {norm(p) for p in team.stage_order_confirmed}


def read_team_settings(path: Path) -> TeamSettings:
    """The team's lines of the settings file at ``path`` (a file or a key that does not read: left out)."""
    from crm_audit import yamlsrc

    doc = yamlsrc.load(path)
    data = doc.data if not doc.problems and isinstance(doc.data, dict) else {}
    pipes = data.get("pipelines")
    rules = data.get("rules") if isinstance(data.get("rules"), dict) else {}
    lists = data.get("lists")
    return TeamSettings(
        deal_url=str(data.get("deal_url") or ""),
        pipelines={str(k): _strs(v) for k, v in pipes.items() if _strs(v)} if isinstance(pipes, dict) else {},
        stage_order_confirmed=_confirmed(data.get("stage_order_confirmed", True)),
        fields=_pairs(data.get("fields")), stage_names=_pairs(data.get("stage_names")),
        pipeline_names=_pairs(data.get("pipeline_names")),
        lists={k: _strs(data.get(k)) for k in LISTS if _strs(data.get(k))},
        own_lists={str(k): _strs(v) for k, v in lists.items()} if isinstance(lists, dict) else {},
        rule_files=_strs(rules.get("files")), disable=_strs(rules.get("disable")),
        skip=_hand_skips(doc, rules["skip"]) if isinstance(rules.get("skip"), dict) else {},
        **_closed_lists(data), comments=_own_comments(doc, data))


def _comment_at(line: str) -> int | None:
    """Where the comment ending a YAML ``line`` starts (a «#» at its start or after a blank, outside quotes)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'" and (i == 0 or line[i - 1] in " \t:[{,"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return i
    return None


def trailing_comment(line: str) -> str:
    """The comment ending a YAML ``line``, else ""."""
    at = _comment_at(line)
    return line[at + 1:].strip() if at is not None else ""


def _own_comments(doc, data: dict) -> dict[tuple, tuple[str, object]]:
    """The team's trailing comments on the lines init keeps (:data:`COMMENTED`, :data:`COMMENTED_SECTIONS`): init's own
    comments there (:data:`INIT_COMMENT_MARKS`) are left to init."""
    if not data:
        return {}
    paths = [(k,) for k in COMMENTED if k in data]
    paths += [(s, k) for s in COMMENTED_SECTIONS if isinstance(data.get(s), dict) for k in data[s]]
    lines = Path(doc.file).read_text(encoding="utf-8-sig").splitlines()
    out: dict[tuple, tuple[str, object]] = {}
    for path in paths:
        line = doc.marks.get(path, (None, None))[0]
        said = trailing_comment(lines[line - 1]) if line and line <= len(lines) else ""
        if said and not any(m in said for m in INIT_COMMENT_MARKS):
            value = data[path[0]] if len(path) == 1 else data[path[0]][path[1]]
            out[path] = (said, value)
    return out


def keep_comments(text: str, team: TeamSettings) -> str:
    """``text`` (the settings init wrote) with the team's own trailing comment back on each line whose value init
    kept as the team wrote it (before init's comment on that line, if any); a line init changed loses it."""
    from crm_audit import yamlsrc

    if not team.comments:
        return text
    doc = yamlsrc.loads(text)
    if doc.problems or not isinstance(doc.data, dict):
        return text
    lines = text.split("\n")
    for path, (said, value) in team.comments.items():
        section = doc.data if len(path) == 1 else doc.data.get(path[0])
        line = doc.marks.get(path, (None, None))[0]
        if not isinstance(section, dict) or path[-1] not in section or section[path[-1]] != value or not line:
            continue
        body, own = lines[line - 1], trailing_comment(lines[line - 1])
        if own:
            body = body[:_comment_at(body)].rstrip()
        lines[line - 1] = f"{body}    # {said}" + (f"; {own}" if own else "")
    return "\n".join(lines)


def _closed_lists(data: dict) -> dict:
    """The team's `won_stages:` / `lost_stages:` (both None when the file has neither) and `closed_stages_confirmed:`."""
    if "won_stages" not in data and "lost_stages" not in data:
        return {}
    return {"won_stages": _strs(data.get("won_stages")), "lost_stages": _strs(data.get("lost_stages")),
            "closed_confirmed": _confirmed(data.get("closed_stages_confirmed", True))}


# --------------------------------------------------------------------------- pipelines


def _insert_new(team: list[str], export: list[str]) -> tuple[list[str], dict[str, str | None]]:
    """``team``'s stages with the ``export``'s stages it lacks, each put after the nearest stage before it in the
    export's order that is already placed (else before the nearest after it, else last); and where each went."""
    out = list(team)
    after: dict[str, str | None] = {}
    placed = {norm(s) for s in out}
    for i, st in enumerate(export):
        if norm(st) in placed:
            continue
        before = next((export[j] for j in range(i - 1, -1, -1) if norm(export[j]) in placed), None)
        if before is not None:
            at = next(k for k, s in enumerate(out) if norm(s) == norm(before)) + 1
        else:
            nxt = next((export[j] for j in range(i + 1, len(export)) if norm(export[j]) in placed), None)
            at = next((k for k, s in enumerate(out) if norm(s) == norm(nxt)), len(out)) if nxt is not None else len(out)
        if at > 0 and before is None:
            before = out[at - 1]
        out.insert(at, st)
        after[st] = before
        placed.add(norm(st))
    return out, after


def _merged(p: "PipelineDraft", name: str, team: list[str]) -> tuple["PipelineDraft", NewStages | None]:
    """The export's pipeline ``p`` in the team's confirmed order ``team`` (its stages no deal is in kept)."""
    from crm_audit.exportdraft import PipelineDraft, _yaml_comment

    stages, after = _insert_new(team, p.stages)
    there = {norm(s) for s in p.stages}
    idle = [s for s in team if norm(s) not in there]
    note = f"порядок — {OWN} (вы его подтвердили)"
    if idle:
        note += f"; {', '.join(f'«{s}»' for s in idle)} — ни одной сделки в этой выгрузке, оставлено"
    if not after:
        return PipelineDraft(name, stages, _yaml_comment(note), guessed=False, from_crm=False), None
    where = ", ".join(f"«{s}» — " + (f"после «{a}»" if a else "первым") for s, a in after.items())
    note += (f"; НОВЫЕ этапы выгрузки вставлены по выгрузке ({where}): проверьте их место и поставьте "
             "stage_order_confirmed: true")
    return (PipelineDraft(name, stages, _yaml_comment(note), guessed=True, from_crm=False),
            NewStages(name, list(after), after))


def merge_pipelines(drafted: list["PipelineDraft"], team: TeamSettings) -> tuple[list["PipelineDraft"], list[NewStages]]:
    """The export's pipelines, those the team confirmed the order of in the team's order (see :func:`_merged`): a new
    stage marks its own pipeline guessed, the others stay confirmed (`stage_order_confirmed:` lists them)."""
    by_key = {norm(k): (k, v) for k, v in team.pipelines.items() if _order_confirmed(team, k)}
    if not by_key:
        return drafted, []
    out, new = [], []
    for p in drafted:
        if norm(p.name) not in by_key:
            out.append(p)
            continue
        name, stages = by_key[norm(p.name)]
        merged, added = _merged(p, name, stages)
        out.append(merged)
        if added is not None:
            new.append(added)
    return out, new


# --------------------------------------------------------------------------- closed stages


def keep_closed(draft: "Draft", team: TeamSettings, stages: set[str]) -> list[str]:
    """Put the team's won / lost split of the closed stages into ``draft`` (``stages``: the drafted pipelines' stages,
    normalised): each of its stages still in them stays where the team put it (a stage the team took out of both lists
    stays out); a closed stage init drafts that the team's file never named (new in the export) is added where init
    puts it, and only then is the team's `closed_stages_confirmed:` narrowed to the stages it had confirmed (the new one
    is not) — as a new stage marks its own pipeline's order to confirm again (:func:`merge_pipelines`). Returns those new
    closed stages."""
    if team.won_stages is None or team.lost_stages is None:
        return []  # the team's file had no closed lists: init's stand
    known = {norm(s) for st in team.pipelines.values() for s in st} | {norm(s) for s in (*team.won_stages, *team.lost_stages)}
    new_won = [s for s in draft.won_stages if norm(s) not in known]
    new_lost = [s for s in draft.lost_stages if norm(s) not in known]
    draft.won_stages = [*(s for s in team.won_stages if norm(s) in stages), *new_won]
    draft.lost_stages = [*(s for s in team.lost_stages if norm(s) in stages), *new_lost]
    new = [*new_won, *new_lost]
    gone = [s for s in (*team.won_stages, *team.lost_stages) if norm(s) not in stages]
    confirmed = _closed_confirmed(team, stages)
    draft.closed_confirmed = (team.closed_confirmed if team.closed_confirmed is True and not new else confirmed or False)
    note = f"won_stages: / lost_stages: — {OWN}"
    if team.closed_confirmed is True:
        note += " (вы их подтвердили)"
    elif confirmed:
        note += f" (вы подтвердили {', '.join(f'«{s}»' for s in confirmed)})"
    if gone:
        note += f"; {', '.join(f'«{s}»' for s in gone)} — больше нет в pipelines:, убрано"
    if new:
        note += (f"; НОВЫЕ закрытые этапы выгрузки {', '.join(f'«{s}»' for s in new)} добавлены туда, куда их ставит init: "
                 "выигрышный перенесите в won_stages:, проигрышный оставьте в lost_stages:, затем "
                 + ("добавьте его в closed_stages_confirmed: (или поставьте true)" if confirmed else
                    "поставьте closed_stages_confirmed: true"))
    draft.closed_team = note
    return new


def _closed_confirmed(team: TeamSettings, stages: set[str]) -> list[str]:
    """The closed stages the team confirmed (all of its lists' when it wrote true) that are still ``stages``."""
    if team.closed_confirmed is False:
        return []
    named = [*team.won_stages, *team.lost_stages] if team.closed_confirmed is True else team.closed_confirmed
    return [s for s in named if norm(s) in stages]


# --------------------------------------------------------------------------- names, fields, lists


def _kept_fields(team: TeamSettings, export: "LoadedExport") -> tuple[list["Mapping"], list[Stale]]:
    from crm_audit.engine.requirements import REF_ENTITY
    from crm_audit.exportdraft import Mapping

    kept, stale = [], []
    for key, column in team.fields.items():
        ent = export.entities.get(REF_ENTITY.get(key.partition(".")[0], ""))
        if ent is None or ent.column_for(column) is not None:  # no file of it: the rule is skipped, the line stays
            kept.append(Mapping(key, column, OWN))
            continue
        file = Path(ent.file).name
        stale.append(Stale("fields", key, column, f"{OWN}: в {file} больше нет колонки «{column}» — строка не действует; "
                                                  "уберите «#», когда колонка вернётся в выгрузку", file))
    return kept, stale


def _kept_names(section: str, names: dict[str, str], known: set[str], what: str) -> tuple[list["Mapping"], list[Stale]]:
    from crm_audit.exportdraft import Mapping

    kept, stale = [], []
    for key, value in names.items():
        if norm(value) in known:
            kept.append(Mapping(key, value, OWN))
        else:
            stale.append(Stale(section, key, value, f"{OWN}: {what} «{value}» больше нет в pipelines: — строка не действует; "
                                                    "уберите «#», когда он вернётся в выгрузку"))
    return kept, stale


def keep_team_lines(draft: "Draft", team: TeamSettings, export: "LoadedExport", domain: str | None = None) -> None:
    """Put ``team``'s lines into ``draft`` (after its pipelines and lists are drafted, before the rules that cannot run
    are decided: they read the team's fields and names)."""
    draft.pipelines, new = merge_pipelines(draft.pipelines, team)
    stages = {norm(s) for p in draft.pipelines for s in p.stages}
    new_closed = keep_closed(draft, team, stages)
    for name, values in team.lists.items():
        if name == "trial_stages":
            values = [s for s in values if norm(s) in stages]  # a trial stage gone from pipelines: would stop the run
            if not values:
                continue
            draft.trial_why, draft.trial_missing = [], False
        setattr(draft, name, list(values))
    if team.deal_url and not domain:
        draft.deal_url = team.deal_url
    fields, stale = _kept_fields(team, export)
    stage_names, gone = _kept_names("stage_names", team.stage_names, stages, "этапа")
    pipeline_names, lost = _kept_names("pipeline_names", team.pipeline_names, {norm(p.name) for p in draft.pipelines}, "воронки")
    draft.team = TeamKept(fields=fields, stage_names=stage_names, pipeline_names=pipeline_names, stale=[*stale, *gone, *lost],
                          new_stages=new, own_lists=dict(team.own_lists), rule_files=list(team.rule_files),
                          disable=list(team.disable), skip=dict(team.skip), new_closed=new_closed,
                          closed_kept=draft.closed_confirmed if isinstance(draft.closed_confirmed, list) else [])
