"""The CRM's own stage list as an export's per-stage columns name it (acceptance N5).

A HubSpot export writes one column per stage of every pipeline — ``Date entered "<stage> (<pipeline>)"`` (the profile's
``per_stage`` headers) and the ``stage_columns`` families (``Date exited "…"``, ``Latest time in "…"``) —, in the CRM's
order of the stages, a stage no deal is in included. :func:`listed_stages` reads them back into (pipeline, stage)
pairs in column order: ``init`` writes every stage they name, in their order.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crm_audit.engine.profile import EntitySpec

#: every quote mark a per-stage header may be written with (read alike, as crm_audit/engine/mapping.py `stage_key`)
_QUOTE = "[\"'\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a\u300c\u300d]"


def _regex(pattern: str) -> re.Pattern:
    """A header of ``pattern`` with its stage and pipeline as groups (quote marks any, runs of spaces any)."""
    out = []
    for part in re.split(r"(\{stage\}|\{pipeline\}|\s+|[\"'\u2018\u2019\u201c\u201d\u201e\u00ab\u00bb\u300c\u300d])", pattern):
        if part == "{stage}":
            out.append("(?P<stage>.+)")  # greedy: a stage whose name has parentheses keeps them
        elif part == "{pipeline}":
            out.append("(?P<pipeline>[^()]+?)")
        elif part and part.isspace():
            out.append(r"\s*")
        elif part and re.fullmatch(_QUOTE, part):
            out.append(_QUOTE)
        elif part:
            out.append(re.escape(part))
    return re.compile("".join(out), re.IGNORECASE)


def patterns(spec: "EntitySpec") -> list[str]:
    """The entity's per-stage header patterns: its fields' ``per_stage`` (every language merged) and ``stage_columns``."""
    return [*(p for fs in spec.fields.values() for p in fs.per_stage), *spec.stage_columns]


#: a header naming «<stage> (<pipeline>)» in quote marks, whatever the words around it (a language no profile has)
_ANY_FAMILY = re.compile(rf"(?P<pre>.*?){_QUOTE}(?P<stage>.+)\((?P<pipeline>[^()]+?)\)\s*{_QUOTE}(?P<post>.*)")


def family_of_pipelines(headers: list[str], pipelines: list[str]) -> str | None:
    """The per-stage pattern of a language no profile has: the words around «"<stage> (<pipeline>)"» shared by the
    most columns whose pipeline is one of the deals' own (``pipelines``), the family seen first on a tie — HubSpot's
    «Data wejścia na etap "Proposal (Sales)"»; None when no family names two stages."""
    known = {" ".join(p.split()).casefold() for p in pipelines if p}
    families: dict[tuple[str, str], int] = {}
    for h in headers:
        m = _ANY_FAMILY.fullmatch(h.strip())
        if m and " ".join(m.group("pipeline").split()).casefold() in known:
            key = (m.group("pre").strip(), m.group("post").strip())
            families[key] = families.get(key, 0) + 1
    best = max(families.items(), key=lambda kv: kv[1], default=None)  # max keeps the first of equals
    if best is None or best[1] < 2:
        return None
    pre, post = best[0]
    return " ".join(x for x in (pre, '"{stage} ({pipeline})"', post) if x)


def listed_stages(spec: "EntitySpec", headers: list[str], pipelines: list[str] | None = None) -> list[tuple[str, str, str]]:
    """(pipeline — "" where the pattern names none —, stage, the pattern of its first column) for each stage the
    per-stage ``headers`` name, in the order of their first column; one pair once, however many families name it.
    ``pipelines``: the deals' pipelines — when no pattern of the profile names a column, the family of a language no
    profile has (:func:`family_of_pipelines`)."""
    shapes = [(p, _regex(p)) for p in patterns(spec)]
    if pipelines and not any(rx.fullmatch(h.strip()) for h in headers for _p, rx in shapes):
        own = family_of_pipelines(headers, pipelines)
        shapes = [(own, _regex(own))] if own else []
    out: dict[tuple[str, str], tuple[str, str, str]] = {}
    for h in headers:
        hit = next(((p, m) for p, rx in shapes for m in [rx.fullmatch(h.strip())] if m), None)
        if hit is None:
            continue
        pattern, m = hit
        stage = " ".join(m.group("stage").split())
        pipeline = " ".join((m.groupdict().get("pipeline") or "").split())
        if stage:
            out.setdefault((pipeline.casefold(), stage.casefold()), (pipeline, stage, pattern))
    return list(out.values())
