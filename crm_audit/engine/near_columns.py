"""An export's file or column the profile does not name, found by what is around it (issue 13 acceptance J3, J4).

* :func:`near_entity` — a file whose headers have every signature field of an entity but lack a required column
  (a Spanish Salesforce report whose id column is labelled in a way the profile does not know): not "no deals file",
  but the deals file lacking its id — ``init`` proposes that column by name, a run names the file and the column;
* :func:`closest_file` — when no file is even that near, the file with the most deal columns: the error names it,
  what it lacks and how to map it, never a bare "no deals file";
* :func:`closed_flag_columns` — the columns that may be the «closed» flag when several yes/no flags lack a column:
  those whose name is the won / lost flag's name without its won / lost word («Est clôturée» beside «Est clôturée
  gagnée», «Is Closed» beside «Is Closed Won»), so init maps a closed flag by its values without taking a won flag
  for a lost one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crm_audit.engine.profile import hkey

if TYPE_CHECKING:
    from crm_audit.engine.profile import Profile


def _mapped(profile: "Profile", entity: str, headers: list[str]) -> set[str]:
    spec = profile.entities[entity]
    idx = spec.header_index()
    return {f for f in (idx.get(hkey(spec.strip_prefix(h)[0])) for h in headers) if f}


def near_entity(profile: "Profile", headers: list[str], entities: tuple[str, ...] = ("deals",)) -> str | None:
    """The entity of ``entities`` whose signature fields ``headers`` all have while a required field has no column
    (the most mapped fields first); None when none is that near. Only for a file
    :func:`crm_audit.engine.mapping.detect_entity` did not recognise. The deals only by default: any file with a
    «Name» column has the signature of the organizations and the persons."""
    best: tuple[int, str | None] = (0, None)
    for name, spec in profile.entities.items():
        if name not in entities or not spec.signature:
            continue
        have = _mapped(profile, name, headers)
        lacking = spec.missing_required(have)  # an id derived from the row's content is not lacking (L10)
        if lacking and spec.signed_by(have) and len(have) > best[0]:
            best = (len(have), name)
    return best[1]


@dataclass(frozen=True)
class ClosestFile:
    path: Path
    mapped: int  # how many of the entity's fields its columns feed
    lacking: list[str]  # the signature and required fields it has no column for (field names)


def closest_file(profile: "Profile", entity: str, files: list[tuple[Path, list[str]]], least: int = 2) -> ClosestFile | None:
    """Of ``files`` (path, headers) — files no entity was read from —, the one whose columns feed the most fields of
    ``entity`` (at least ``least``), with the signature / required fields it lacks; None when none comes near."""
    spec = profile.entities[entity]
    best: ClosestFile | None = None
    for path, headers in files:
        have = _mapped(profile, entity, headers)
        if len(have) < least or (best is not None and len(have) <= best.mapped):
            continue
        lacking = list(dict.fromkeys([*spec.signature_lacking(have),
                                      *(n for n, fs in spec.fields.items() if fs.required and n not in have)]))
        best = ClosestFile(path, len(have), lacking)
    return best


def unrecognised_file(profile: "Profile", entity: str, files: list[tuple[Path, list[str]]]) -> Path | None:
    """Of ``files`` (path, headers) no entity was read from, the one that is the ``entity`` file but went unrecognised:
    named exactly as the profile names that file (activities.csv in headers of another language, issue 13 M3), else
    the one whose columns come nearest to it (:func:`closest_file`). None when none is: a file that only has the name
    as a word of its own and columns of something else (contacts_backup.csv: «Имя», «Телефон») is no contacts file
    to map (issue 13 acceptance R3)."""
    from crm_audit.engine.mapping import named_entity
    from crm_audit.textnorm import norm

    own = {norm(f) for f in profile.entities[entity].files}
    named = next((p for p, _hs in files if norm(p.stem) in own and named_entity(profile, p) == entity), None)
    if named is not None:
        return named
    near = closest_file(profile, entity, files)
    return near.path if near is not None else None


def _words(header: str) -> list[str]:
    return re.findall(r"\w+", hkey(header))


def closed_flag_columns(profile: "Profile", mapped: dict[str, str], headers: list[str]) -> list[str]:
    """Of ``headers`` (custom columns), those that may be the profile's «closed» flag (``derive_status.from_flags.closed``)
    when it has no column: the name of a mapped won / lost flag (``mapped``: field -> header) without its last
    words — every word of the column in that name, in order, and fewer of them («Est clôturée» in «Est clôturée
    gagnée»). Empty when the closed flag is mapped or no won / lost flag is."""
    ds = profile.derive_status
    flags = ds.from_flags if ds is not None else None
    if flags is None or not flags.closed or flags.closed in mapped:
        return []
    names = [_words(mapped[f]) for f in (flags.won, flags.lost) if f and f in mapped]
    out = []
    for h in headers:
        w = _words(h)
        if w and any(len(w) < len(n) and n[:len(w)] == w for n in names):
            out.append(h)
    return out
