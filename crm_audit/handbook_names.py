"""The team's pipeline / stage that answers a pipeline / stage of the handbook (issue 13 item 3, acceptance N8).

A bundled rule names the handbook's pipelines and stages («Партнеры», «Отправлено КП»); a team's CRM names them its
own way, in its own language. The candidates for a handbook name are the name itself and its synonyms in every
language (crm_audit/name_synonyms.yaml, and the CRMs' default steps marked ``handbook:`` in
crm_audit/default_pipelines.yaml); a team name answers one when its key is a candidate's, or is close to one:
difflib's ratio of the two keys at least :data:`NAME_CUTOFF`, or one's words a run of the other's («Proposta/Cotação»
within a Salesforce pt-BR team's «Proposta/Cotação de preço»). ``init`` proposes the answer (to be confirmed),
``validate`` / ``run`` name it («did you mean …») where a bundled rule names a stage the settings lack.
"""

from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path
from typing import NamedTuple

from crm_audit.textnorm import norm

#: the lowest difflib ratio of two names' keys that proposes one for the other
NAME_CUTOFF = 0.84
#: a name whose words are a run of another's is that close when it has at least this many words (one word is too
#: little: «Proposta» is in «Proposta de valor», another stage)
RUN_WORDS = 2


def key(text: str) -> str:
    from crm_audit.engine.profile import hkey

    return hkey(text)


def _words(k: str) -> list[str]:
    return [w for w in re.split(r"\W+", k) if w]


def score(a: str, b: str, floor: float = 0.0) -> float:
    """How close two names are, 0..1: 1.0 for the same key; difflib's ratio of the keys; at least :data:`NAME_CUTOFF`
    when the shorter one's words are a run of the longer one's («proposta cotacao» in «proposta cotacao de preco»).
    A ratio whose cheap upper bounds (difflib's real_quick_ratio / quick_ratio) are below ``floor`` is not computed:
    0.0 is returned for it (a caller that wants only names at least that close)."""
    ka, kb = key(a), key(b)
    if ka == kb:
        return 1.0
    m = difflib.SequenceMatcher(None, ka, kb)
    ratio = 0.0 if floor and (m.real_quick_ratio() < floor or m.quick_ratio() < floor) else m.ratio()
    short, long_ = sorted((_words(ka), _words(kb)), key=len)
    n = len(short)
    if RUN_WORDS <= n < len(long_) and any(long_[i:i + n] == short for i in range(len(long_) - n + 1)):
        return max(ratio, NAME_CUTOFF)
    return ratio


def closest(name: str, candidates: dict[str, str], floor: float = 0.0) -> tuple[str, float] | None:
    """(the candidate's value, score) of the candidate key closest to ``name`` (the first of equal scores); with a
    ``floor``, a score below it may be reported as 0.0 (:func:`score`)."""
    best = None
    for cand, value in candidates.items():
        r = score(name, cand, floor)
        if best is None or r > best[1]:
            best = (value, r)
    return best


class Answer(NamedTuple):
    team: str  # the team's name
    score: float
    via: str  # the handbook name or the synonym it matched
    rank: int  # 0: the handbook name itself, else its synonym's place


@functools.lru_cache(maxsize=None)
def synonyms(kind: str) -> dict[str, tuple[str, ...]]:
    """norm(handbook name) -> its synonyms («pipeline» / «stage»), the CRMs' default steps of that meaning included."""
    from crm_audit import resources

    data = resources.data_file(Path(__file__).parent / "name_synonyms.yaml") or {}
    names = {norm(k): list(v) for k, v in (data.get("pipelines" if kind == "pipeline" else "stages") or {}).items()}
    if kind == "stage":
        from crm_audit import stage_defaults

        for k, v in stage_defaults.handbook_names().items():
            have = names.setdefault(norm(k), [])
            have += [n for n in v if n not in have]
    return {k: tuple(v) for k, v in names.items()}


def answers(kind: str, handbook: str, team: list[str]) -> list[Answer]:
    """Every candidate of ``handbook``'s that a team name answers (its best team name each), best first."""
    return list(_answers(kind, handbook, tuple(team)))


@functools.lru_cache(maxsize=4096)
def _answers(kind: str, handbook: str, team: tuple[str, ...]) -> tuple[Answer, ...]:
    """:func:`answers`, once per process for the same names (validate, inspect and run each ask for every rule)."""
    cands = {key(t): t for t in team}
    out = []
    for i, n in enumerate([handbook, *synonyms(kind).get(norm(handbook), ())]):
        hit = cands.get(key(n))
        if hit is not None:
            out.append(Answer(hit, 1.0, n, i))
            continue
        near = closest(n, cands, NAME_CUTOFF)
        if near and near[1] >= NAME_CUTOFF:
            out.append(Answer(near[0], near[1], n, i))
    return tuple(sorted(out, key=lambda a: (-a.score, a.rank)))


def best(kind: str, handbook: str, team: list[str]) -> Answer | None:
    """The team's name that answers ``handbook`` best, or None."""
    found = answers(kind, handbook, team)
    return found[0] if found else None
