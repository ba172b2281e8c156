"""Closed stages an export without readable closed flags still shows (issue 13 acceptance P4).

Any CRM whose profile has closed flags (``derive_status.from_flags``) gets this when the export lacks them (HubSpot's
view export without «Is Closed Won», a Pipedrive file without «Won time» / «Lost time»: acceptance Q3). A Salesforce
report tells won / lost by its «Closed» / «Won» columns; a report without them (its author did not pick
them) or with cells no language reads leaves every deal in a stage the profile does not spell (an org's renamed
«Won - Signed», a French «Fermée/Gagnée») open. ``crm-audit init`` then takes from the CRM's own data which stages are
closed: a stage whose every deal carries the profile's won / lost order value (``derive_status.from_stage.
closed_by_order``: Salesforce's probability 100 % / 0 %,
HubSpot's «Deal probability» 1 / 0), or whose name holds a won / lost / closed word of one of
the profile's languages (``closed_words.yaml``). They go under won_stages: / lost_stages: with
closed_stages_confirmed: false — `validate` and `run` name them until the team confirms — and out of the open order.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from crm_audit.textnorm import norm


@dataclass
class ClosedGuess:
    """Stages taken for closed: won, lost, and why each (Russian, the settings' comment)."""

    won: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    why: dict[str, str] = field(default_factory=dict)
    # the export has none of the CRM's closed flags to read and its status comes from the stage names alone: with no
    # stage guessed closed, init says so (a renamed closed stage would be audited as open — acceptance Q3)
    flags_missing: bool = False

    @property
    def keys(self) -> set[str]:
        return {norm(s) for s in (*self.won, *self.lost)}


@functools.cache
def _words() -> dict[str, dict[str, list[str]]]:
    from crm_audit import resources

    return resources.data_file(Path(__file__).parent / "closed_words.yaml") or {}


def _cjk(word: str) -> bool:
    return any(0x3040 <= ord(ch) <= 0x9FFF or 0xF900 <= ord(ch) <= 0xFAFF for ch in word)


def status_word(text: str) -> tuple[str, str] | None:
    """("won" | "lost" | "deleted", the language) when the whole text is such a word of some language («Vundet»,
    «Kaybedildi», «삭제됨»); None when it is none, or words of two kinds (a status text of a language no profile knows:
    crm_audit/engine/value_words.py)."""
    key = norm(text)
    hits = {(kind, code) for code, kinds in _words().items() for kind in ("won", "lost", "deleted")
            for w in kinds.get(kind, []) if norm(w) == key}
    kinds = {k for k, _c in hits}
    return (next(iter(kinds)), sorted(c for _k, c in hits)[0]) if len(kinds) == 1 else None


def header_outcome(header: str) -> str | None:
    """"won" / "lost" / "closed" when a column's name holds that word of some language and no word of another kind
    («Czy zamknięta wygrana»: won; «Is Deal Closed?»: closed); None otherwise."""
    tokens = {norm(t) for t in re.split(r"[\W_]+", header) if t}
    kinds = {kind for kinds in _words().values() for kind in ("won", "lost", "closed")
             for w in kinds.get(kind, []) if norm(w) in tokens or (_cjk(w) and w in header)}
    if kinds & {"won", "lost"}:
        kinds.discard("closed")  # «Is Closed Won»: the won flag
    return next(iter(kinds)) if len(kinds) == 1 else None


def name_outcome(stage: str, languages: list[str]) -> tuple[str, str] | None:
    """("won" | "lost" | "closed", the word) when the stage's name holds a closed word of one of ``languages``."""
    tokens = {norm(t) for t in re.split(r"[\W_]+", stage) if t}
    for kind in ("won", "lost", "closed"):
        for code in languages:
            for w in _words().get(code, {}).get(kind, []):
                if norm(w) in tokens or (_cjk(w) and w in stage):
                    return kind, w
    return None


def _flags_readable(export, deals, flags) -> bool:
    """Whether one of the CRM's closed flags (``derive_status.from_flags``: Salesforce «Closed», HubSpot «Is Closed»,
    Pipedrive «Won time» / «Lost time», Bitrix24 «Сделка закрыта») is a column of the export with a value read."""
    names = [f for f in (flags.closed, flags.won, flags.lost) if f and deals.fields.get(f)]
    return any(export.con.execute(f'SELECT count("{f}") FROM {deals.table}').fetchone()[0] for f in names)


def _values(v) -> list[float]:
    return [float(x) for x in (v if isinstance(v, list) else [v])]


def guess_closed(export, profile) -> ClosedGuess:
    """The stages the export's deals are open in that its own data says are closed — none when the CRM's closed flags
    read (they decide), or the profile has no closed flags and stages to go by."""
    out = ClosedGuess()
    ds = profile.derive_status
    deals = export.entities.get("deals")
    if (ds is None or ds.from_flags is None or deals is None or "stage" not in deals.fields
            or "status" not in deals.fields or _flags_readable(export, deals, ds.from_flags)):
        return out
    if deals.fields["status"] not in (deals.fields.get("stage"), "status"):  # the export's own status column decides
        return out
    out.flags_missing = True
    by_order = ds.from_stage.closed_by_order if ds.from_stage is not None else {}
    order = "stage_order" in deals.fields and bool(deals.fields.get("stage_order")) and by_order
    vals = "list(DISTINCT stage_order) FILTER (WHERE stage_order IS NOT NULL)" if order else "NULL"
    rows = export.con.execute(
        f"SELECT strip(stage) AS s, {vals} AS v, min(_row) AS first FROM {deals.table} WHERE NOT is_blank(stage) "
        "GROUP BY ALL HAVING bool_and(coalesce(status, 'open') = 'open') ORDER BY first").fetchall()
    languages = list(dict.fromkeys([*profile.languages, profile.language, "en", "ru"]))
    for stage, values, _first in rows:
        kind, why = None, ""
        if order and values and len(values) == 1:
            for outcome in ("won", "lost"):
                if outcome in by_order and float(values[0]) in _values(by_order[outcome]):
                    kind = outcome
                    why = f"у всех его сделок «{deals.fields['stage_order']}» {values[0]:g}"
        if kind is None:
            named = name_outcome(stage, languages)
            if named is not None:
                kind, word = named
                why = f"в названии слово «{word}»"
        if kind is None:
            continue
        (out.won if kind == "won" else out.lost).append(stage)
        out.why[stage] = ("выигрышный" if kind == "won" else "проигрышный" if kind == "lost"
                          else "закрытый (исход не ясен, записан в проигрышные)") + ": " + why
    return out
