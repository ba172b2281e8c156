"""Which sheet of a workbook holds the export (acceptance T3).

A workbook saved by hand often has more than the export's own sheet: a pivot summary put first («Сводная»: owner,
count, sum, «Итого»), notes, an empty «Лист3». The sheet read is the one whose headers the bundled profiles know
best (a CRM's export headers, in every language the profiles hold), then the one with the most rows and cells; every
other sheet with data is named in a note. Two sheets that each hold the same entity of the CRM (its headers and its
required columns: a copy of the deals, filtered) are an error naming the file and its sheets: which one is the
export is the user's to say. Nothing here depends on a language: the profiles' data decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm_audit.errors import InputError, Msg, Problem
from crm_audit.i18n import N_

#: a sheet left unread: its headers are not the export's
SKIPPED = N_("sheet «{skipped}» of the workbook skipped (its columns: {found}); the data is read from sheet «{sheet}», "
             "the one with the export's columns")
#: a sheet left unread that holds another entity of the CRM
SKIPPED_OTHER = N_("sheet «{skipped}» of the workbook skipped: it holds {entity}, the file is read from sheet «{sheet}»; "
                   "to audit them too, save that sheet as a file of its own in the export folder")
#: two sheets that are each the same entity's export
TWO_SHEETS = N_("the workbook holds {entity} on several sheets: {sheets}; keep the export's sheet only (delete the "
                "others or save them as files of their own) and run again")


@dataclass
class Sheet:
    """One sheet of a workbook as calamine reads it: rows from the sheet's row 0, its merged ranges."""

    name: str
    rows: list[list[Any]]
    merged: Any = ()

    def filled(self) -> int:
        return sum(1 for r in self.rows for v in r if v is not None and str(v).strip())

    def header_and_body(self) -> tuple[int, list[str], int]:
        """(index of the header row, its headers, the data rows under it)."""
        from crm_audit.engine.readers import _cell_text, _nonblank, header_index_of

        start = next((i for i, r in enumerate(self.rows) if _nonblank(r)), 0)
        h = start + header_index_of(self.rows[start:])
        headers = [(_cell_text(c) or "").strip() for c in self.rows[h]] if h < len(self.rows) else []
        return h, headers, sum(1 for r in self.rows[h + 1:] if _nonblank(r))


@dataclass
class _Judged:
    sheet: Sheet
    headers: list[str]
    rows: int
    score: int  # the bundled profiles' best count of known headers
    entity: str | None = None  # the entity of the best profile it holds (its headers and its required columns)


def choose_sheet(path: Path, sheets: list[Sheet]) -> tuple[Sheet, list[Msg]]:
    """The sheet of the workbook ``path`` to read and a note for each other sheet with data (see the module)."""
    filled = [s for s in sheets if s.filled()]
    if len(filled) <= 1:
        return (filled or sheets)[0], []
    judged = _judge(path, filled)
    by_entity: dict[str, list[_Judged]] = {}
    for j in judged:
        if j.entity is not None:
            by_entity.setdefault(j.entity, []).append(j)
    for entity, same in by_entity.items():
        if len(same) > 1:
            raise _two_sheets(path, entity, same)
    best = max(judged, key=lambda j: (j.score, j.rows, j.sheet.filled()))
    return best.sheet, [_skipped_note(j, best) for j in judged if j is not best]


def _judge(path: Path, sheets: list[Sheet]) -> list[_Judged]:
    from crm_audit.engine.inspect import profile_score
    from crm_audit.engine.profile import available, load_profile

    judged = []
    for s in sheets:
        _h, headers, rows = s.header_and_body()
        judged.append(_Judged(s, headers, rows, 0))
    best_profile, best = None, 0
    for name in available():
        profile = load_profile(name)
        for j in judged:
            score = profile_score(profile, {path: j.headers})
            j.score = max(j.score, score)
            if score > best:
                best_profile, best = profile, score
    if best_profile is not None:
        for j in judged:
            j.entity = _entity_held(best_profile, j.headers)
    return judged


def _entity_held(profile, headers: list[str]) -> str | None:
    """The entity of ``profile`` a sheet's headers are a file of, by the headers alone (never the workbook's name),
    with the entity's required columns; None when none is."""
    from crm_audit.engine import mapping

    entity = mapping.detect_entity(profile, Path(""), headers)
    if entity is None or mapping.unfit_msg(profile, entity, headers) is not None:
        return None
    return entity


def _entity_name(entity: str) -> Msg | str:
    from crm_audit.engine.requirements import ENTITY_NAMES

    return ENTITY_NAMES.get(entity, entity)


def _skipped_note(j: _Judged, read: _Judged) -> Msg:
    from crm_audit.engine.mapping import _found_columns

    if j.entity is not None and j.entity != read.entity:
        return Msg(SKIPPED_OTHER, {"skipped": j.sheet.name, "entity": _entity_name(j.entity), "sheet": read.sheet.name})
    return Msg(SKIPPED, {"skipped": j.sheet.name, "found": _found_columns(j.headers), "sheet": read.sheet.name})


def _two_sheets(path: Path, entity: str, same: list[_Judged]) -> InputError:
    sheets = ", ".join(f"«{j.sheet.name}»" for j in same)
    return InputError(problems=[Problem(template=TWO_SHEETS, params={"entity": _entity_name(entity), "sheets": sheets},
                                        file=str(path), reason="sheets")])
