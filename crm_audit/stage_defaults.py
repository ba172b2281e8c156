"""A pipeline's stages ordered by the CRM's default pipeline (``crm_audit/default_pipelines.yaml``).

``init --from-export`` asks :func:`order_by_default` when the export carries no stage order of its own: the
stages named by a step of the CRM's default pipeline (in any of its interface languages) take that step's
place, the others keep theirs between them. Nothing here prints; the caller writes the source as a comment.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from crm_audit.engine.profile import hkey

DATA = Path(__file__).parent / "default_pipelines.yaml"


@dataclass
class DefaultOrder:
    """The stages in order, and which of them the CRM's default pipeline placed."""

    stages: list[str]
    placed: list[str] = field(default_factory=list)  # in the default pipeline, in its order
    unplaced: list[str] = field(default_factory=list)  # kept at their place (first appearance / days to reach)
    languages: list[str] = field(default_factory=list)  # the languages whose names placed them, most first

    @property
    def complete(self) -> bool:
        """Every stage placed: the order is the CRM's default one, not a guess."""
        return bool(self.placed) and not self.unplaced


@functools.lru_cache(maxsize=1)
def _data() -> dict:
    from crm_audit import resources

    return resources.data_file(DATA) or {}


def _key(name: str) -> str:
    """The profiles' header key (case, «ё», Latin accents folded) without spaces."""
    return hkey(name).replace(" ", "")


def _languages(step: dict) -> list[tuple[str, list]]:
    """A step's (language, names); ``handbook:`` is the handbook stage the step means, no language."""
    return [(lang, names) for lang, names in step.items() if lang != "handbook"]


@functools.lru_cache(maxsize=1)
def handbook_names() -> dict[str, list[str]]:
    """The handbook's stage (as the rules write it) -> every name, in every language, of the CRMs' default steps
    marked ``handbook:`` with it (Pipedrive «Proposal Made», Salesforce «Proposal/Price Quote», Bitrix24's EXECUTING
    «In Arbeit» …): ``init`` proposes them for the handbook's stage as it does crm_audit/name_synonyms.yaml's.
    A name two steps of one CRM share (Bitrix24's Polish «W toku», NEW and EXECUTING) is left out."""
    out: dict[str, list[str]] = {}
    for crm, data in _data().items():
        known = steps(crm)
        for step in (data or {}).get("stages") or []:
            if step.get("handbook"):
                names = out.setdefault(str(step["handbook"]), [])
                names += [str(n) for _lang, ns in _languages(step) for n in ns
                          if _key(str(n)) in known and str(n) not in names]
    return out


@functools.lru_cache(maxsize=None)
def steps(crm: str) -> dict[str, tuple[int, str]]:
    """Name key -> (the step's index, the language it is written in) of ``crm``'s default pipeline; a name two steps
    share is left out (it places nothing)."""
    out: dict[str, tuple[int, str]] = {}
    shared: set[str] = set()
    for i, step in enumerate((_data().get(crm) or {}).get("stages") or []):
        for lang, names in _languages(step):
            for n in names:
                k = _key(str(n))
                if k in out and out[k][0] != i:
                    shared.add(k)
                out.setdefault(k, (i, lang))
    return {k: v for k, v in out.items() if k not in shared}


def order_by_default(crm: str, stages: list[str]) -> DefaultOrder | None:
    """``stages`` (in their present order) with those the CRM's default pipeline names put in its order, each into
    one of the places such stages held; the others stay where they are. None: the CRM has no default pipeline
    here, or none of the stages is in it."""
    known = steps(crm)
    found = {s: known[_key(s)] for s in stages if _key(s) in known}
    if not found:
        return None
    slots = [i for i, s in enumerate(stages) if s in found]
    ranked = sorted(found, key=lambda s: (found[s][0], stages.index(s)))
    out = list(stages)
    for slot, s in zip(slots, ranked):
        out[slot] = s
    counts: dict[str, int] = {}
    for _i, lang in found.values():
        counts[lang] = counts.get(lang, 0) + 1
    return DefaultOrder(out, ranked, [s for s in stages if s not in found],
                        sorted(counts, key=lambda lang: -counts[lang]))

