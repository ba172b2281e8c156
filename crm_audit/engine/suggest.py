"""Which canonical field an export column no profile header names probably is.

One matcher for ``crm-audit inspect`` (it prints the suggestion) and ``crm-audit
init --from-export`` (it writes the same suggestion into ``columns:``, marked for
the user to confirm), so the two never disagree.

A column is proposed for a field the file has no column for when its name
resembles one of the field's names — the profile's own aliases in every
language, then the names the other CRMs' profiles give the same field (HubSpot's
«Amount» for a Bitrix24 export's «Amount») — by:

* the same name (case-, space- and accent-insensitive);
* the words of one inside the other («Fase do funil» holds «Fase», «Deal stage»
  holds «Stage», «ID da pessoa» is inside «ID da pessoa de contato»);
* spelling (difflib ratio, «Realizada» ~ «Finalizada»).

With a loaded export the column's values must also fit the field's type (dates,
numbers, statuses, yes/no): a «Deal stage» column of «New», «Won» is no deal
status. Each column goes to one field at most, each field to one column, best
score first.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from crm_audit.engine.profile import hkey

if TYPE_CHECKING:
    from crm_audit.engine.loading import LoadedEntity, LoadedExport
    from crm_audit.engine.profile import EntitySpec, Profile

#: the lowest score a suggestion is shown at (inspect) or written at (init) when its values fit the field
SUGGEST_CUTOFF = 0.7
#: the lowest score for a text field, or a typed field whose values cannot be checked (a blank column)
NAME_ONLY_CUTOFF = 0.84
#: a name the other CRMs' profiles give the field counts a little less than this profile's own
OTHER_PROFILE_WEIGHT = 0.95
#: share of a column's non-blank cells that must read as the field's type
VALUES_SHARE = 0.9


@dataclass(frozen=True)
class ColumnSuggestion:
    entity: str
    field: str
    header: str  # the export's column, entity prefix removed (what `columns:` takes)
    like: str  # the known name it resembles
    score: float
    values_fit: bool | None = None  # the column's values read as the field's type (None: not checked)


def _words(key: str) -> set[str]:
    return {w for w in re.findall(r"\w+", key) if w}


def name_score(header: str, alias: str) -> float:
    """How much ``header`` looks like ``alias`` (1.0 the same name)."""
    k, a = hkey(header), hkey(alias)
    if not k or not a:
        return 0.0
    if k == a:
        return 1.0
    hw, aw = _words(k), _words(a)
    if _opposed(hw, aw):  # «última atividade» is no «próxima atividade», however close the spelling
        return 0.0
    best = difflib.SequenceMatcher(None, k, a).ratio()
    if aw and hw and any(len(w) >= 3 for w in aw & hw):
        if aw <= hw:  # «Fase do funil» holds «Fase»
            best = max(best, 0.85 + 0.1 * len(aw) / len(hw))
        elif hw <= aw and len(hw) >= 2:  # «ID da pessoa» is inside «ID da pessoa de contato» (one word is too little: «Type»)
            best = max(best, 0.85 + 0.1 * len(hw) / len(aw))
    if _is_id(k) != _is_id(a):  # «AccountId» is no account name
        best *= 0.8
    return best


@lru_cache(maxsize=None)
def _guards() -> dict:
    """``suggest_guards.yaml``: the words of opposite meaning and the shapes a name's values never have."""
    from pathlib import Path

    from crm_audit import resources

    return resources.data_file(Path(__file__).parent / "suggest_guards.yaml") or {}


@lru_cache(maxsize=None)
def _opposites() -> tuple[tuple[frozenset[str], frozenset[str]], ...]:
    return tuple((frozenset(hkey(str(w)) for w in one), frozenset(hkey(str(w)) for w in other))
                 for one, other in _guards().get("opposite_words") or [])


def _opposed(hw: set[str], aw: set[str]) -> bool:
    """One name holds a word of one side of an opposite pair (next / last, won / lost) and the other a word of the
    other side only."""
    for one, other in _opposites():
        h1, h2, a1, a2 = bool(hw & one), bool(hw & other), bool(aw & one), bool(aw & other)
        if (h1 and a2 and not a1 and not h2) or (h2 and a1 and not a2 and not h1):
            return True
    return False


def _is_id(key: str) -> bool:
    return key.endswith("id") or key.startswith("id ") or key == "id"


@lru_cache(maxsize=None)
def _other_aliases(crm: str, entity: str) -> dict[str, tuple[str, ...]]:
    """field -> the headers the other bundled profiles give it (same entity, same canonical field)."""
    from crm_audit.engine.profile import available, load_profile

    out: dict[str, list[str]] = {}
    for name in available():
        if name == crm:
            continue
        try:
            spec = load_profile(name).entities.get(entity)
        except Exception:  # a profile another engineer is editing: its names are simply not used
            continue
        if spec is None:
            continue
        for fname, fs in spec.fields.items():
            out.setdefault(fname, []).extend(fs.headers)
    return {k: tuple(dict.fromkeys(v)) for k, v in out.items()}


@lru_cache(maxsize=None)
def _team_names(entity: str) -> dict[str, tuple[str, ...]]:
    """field -> other teams' own names for it (``column_synonyms.yaml``: a renamed column, «Vendedor» for the owner)."""
    from pathlib import Path

    from crm_audit import resources

    data = resources.data_file(Path(__file__).parent / "column_synonyms.yaml") or {}
    return {f: tuple(str(n) for n in names) for f, names in (data.get(entity) or {}).items()}


@lru_cache(maxsize=None)
def _needs_words(entity: str) -> dict[str, tuple[str, ...]]:
    """field -> the words one of which a column's name must hold to be proposed for it (``needs_words``)."""
    return {f: tuple(hkey(str(w)) for w in words) for f, words in ((_guards().get("needs_words") or {}).get(entity) or {}).items()}


@lru_cache(maxsize=None)
def _never_words(entity: str) -> dict[str, frozenset[str]]:
    """field -> the words none of which a column's name may hold to be proposed for it (``never_words``)."""
    return {f: frozenset(hkey(str(w)) for w in words)
            for f, words in ((_guards().get("never_words") or {}).get(entity) or {}).items()}


def names_another_figure(entity: str, field: str, header: str) -> bool:
    """``header``'s name holds a word ``suggest_guards.yaml`` says names another figure than ``field`` (``never_words``:
    «Moeda de MRR» is the currency of the MRR, not of the deal's value) — whatever its values look like."""
    never = _never_words(entity).get(field)
    return bool(never and never & set(re.findall(r"\w+", hkey(header))))


def says_field(entity: str, field: str, header: str) -> bool:
    """``header``'s name holds a word ``suggest_guards.yaml`` requires for ``field`` (True when none is required) and
    none of the words it says name another figure: «Última modificação» says nothing of a stage, «Última alteração de
    etapa» does; «Moeda de MRR» is the currency of the MRR, not of the deal's value."""
    if names_another_figure(entity, field, header):
        return False
    k = hkey(header)
    words = _needs_words(entity).get(field)
    if not words:
        return True
    return any(w in k for w in words)


#: the rule files' entity prefix of a field reference (``deal.Бюджет``) -> the profiles' entity
_REF_ENTITY = {"deal": "deals", "org": "organizations", "person": "persons", "activity": "activities"}


@lru_cache(maxsize=None)
def _handbook_fields() -> dict[str, frozenset[str]]:
    """entity -> the keys of the custom fields the bundled rules read under the handbook's own names
    (``crm_audit/field_synonyms.yaml``'s rule fields: «Бюджет», «Посещаемость», «Город» …)."""
    from pathlib import Path

    from crm_audit import resources

    data = resources.data_file(Path(__file__).parent.parent / "field_synonyms.yaml") or {}
    out: dict[str, set[str]] = {}
    for ref in data:
        prefix, _, name = str(ref).partition(".")
        if prefix in _REF_ENTITY and name:
            out.setdefault(_REF_ENTITY[prefix], set()).add(hkey(name))
    return {e: frozenset(v) for e, v in out.items()}


def handbook_field(entity: str, header: str) -> bool:
    """``header`` (its prefix stripped) is a field a bundled rule reads under the handbook's name — a Pipedrive team's
    «Бюджет» is rule 1.4's budget, never the deal's amount however close the name is to amoCRM's «Бюджет» (acceptance
    Q4): a column the rules read as it is is proposed for no canonical field, by name or by values."""
    names = _handbook_fields().get(entity, frozenset())
    # a prefix no profile knows («Handel - Бюджет», a Danish Pipedrive export) is still the file's entity prefix
    return hkey(header) in names or hkey(header.rpartition(" - ")[2]) in names


def candidates(profile: "Profile", entity: str, header: str, fields: list[str]) -> list[tuple[float, str, str]]:
    """(score, field, the name it resembles) for every field of ``fields`` ``header`` may be, best first: the
    profile's own aliases, the other profiles' (a little less) and other teams' own names (as much). A field whose
    names the column's does not speak of (:func:`says_field`) is none of them."""
    spec = profile.entities[entity]
    if handbook_field(entity, header) and not any(hkey(a) in (hkey(header), hkey(header.rpartition(" - ")[2]))
                                                  for f in fields for a in spec.fields[f].headers):
        return []  # the handbook's own field, read by a rule as it is (a profile whose alias it is maps it exactly)
    others = _other_aliases(profile.name, entity)
    team = _team_names(entity)
    out = []
    for f in fields:
        if not says_field(entity, f, header):
            continue
        best = None
        for alias in spec.fields[f].headers:
            s = name_score(header, alias)
            if best is None or s > best[0]:
                best = (s, f, alias)
        for alias in others.get(f, ()):
            s = name_score(header, alias) * OTHER_PROFILE_WEIGHT
            if best is None or s > best[0]:
                best = (s, f, alias)
        for alias in team.get(f, ()):
            s = name_score(header, alias)
            if best is None or s > best[0]:
                best = (s, f, alias)
        if best is not None and best[0] >= SUGGEST_CUTOFF:
            out.append(best)
    return sorted(out, key=lambda x: -x[0])


def _type_test(fs, col: str) -> str | None:
    """SQL: a non-blank cell of ``col`` reads as the field's type (None: any text does)."""
    from crm_audit.engine.mapping import _sql_list

    if fs.type == "date":
        return f"coalesce(parse_date({col}), parse_date_mdy({col})) IS NOT NULL OR regexp_full_match(strip({col}), '[0-9]{{10}}|[0-9]{{13}}')"
    if fs.type == "number":
        return f"parse_num({col}) IS NOT NULL"
    if fs.type == "id":
        return f"parse_id({col}) IS NOT NULL"
    if fs.type in ("enum", "bool") and fs.values:
        return f"norm({col}) IN ({_sql_list([v for vals in fs.values.values() for v in vals])})"
    return None


def not_a_name(export: "LoadedExport", ent: "LoadedEntity", field: str, col: str) -> str | None:
    """For a field whose values are names (``suggest_guards.yaml`` ``not_names``): the shape («e-mail», «domain»)
    most of the column's filled cells have — the column is a link key or a contact detail, not the name; else None."""
    guard = _guards().get("not_names") or {}
    refused = ((guard.get("fields") or {}).get(ent.entity) or {}).get(field) or []
    from crm_audit.sqltext import sql_literal

    shapes = [(name, rx) for name, rx in (guard.get("shapes") or {}).items() if name in refused]
    if not shapes:
        return None
    counts = export.con.execute(
        f"SELECT count(*) FILTER (WHERE NOT is_blank({col})), "
        + ", ".join(f"count(*) FILTER (WHERE regexp_full_match(strip({col}), {sql_literal(rx)}))" for _n, rx in shapes)
        + f" FROM {ent.table}").fetchone()
    total = counts[0]
    if not total:
        return None
    share = float(guard.get("share", 0.5))
    return next((name for (name, _rx), n in zip(shapes, counts[1:]) if n and n >= share * total), None)


def links_nothing(export: "LoadedExport", ent: "LoadedEntity", field: str, col: str) -> bool:
    """A link field's (``org_id``, ``person_id``, ``deal_id``) column none of whose values is an id of the linked
    file of the export (an e-mail or a domain beside ids «CONT-…»): it links no record. False when that file is
    not loaded (nothing to check against)."""
    from crm_audit.engine.requirements import REF_ENTITY

    target = export.entities.get(REF_ENTITY.get(field[:-3], "")) if field.endswith("_id") else None
    if target is None or target is ent or "id" not in target.fields:
        return False
    total, hits = export.con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE v IN (SELECT CAST(id AS VARCHAR) FROM {target.table} WHERE id IS NOT NULL)) "
        f"FROM (SELECT DISTINCT parse_id({col}) AS v FROM {ent.table} WHERE NOT is_blank({col}))").fetchone()
    return bool(total) and not hits


def values_fit(export: "LoadedExport", ent: "LoadedEntity", fs, col: str, field: str | None = None) -> bool | None:
    """The column's non-blank cells read as the field's type (None: no test for the type, or no value); a name
    field's (``field``) column whose values are e-mails, web addresses or domains does not fit (:func:`not_a_name`),
    nor a link field's column whose values are no id of the linked file (:func:`links_nothing`)."""
    if field is not None and (not_a_name(export, ent, field, col) is not None or links_nothing(export, ent, field, col)):
        return False
    test = _type_test(fs, col)
    if test is None:
        return None
    total, hits = export.con.execute(
        f"SELECT count(*) FILTER (WHERE NOT is_blank({col})), count(*) FILTER (WHERE NOT is_blank({col}) AND ({test})) "
        f"FROM {ent.table}").fetchone()
    if not total:
        return None
    return hits >= VALUES_SHARE * total


def cited_name(profile: "Profile", entity: str, field: str, header: str, like: str, langs: list[str]) -> str:
    """The known name a suggestion cites (init's comment «похоже на «…»», inspect's «its header «…»»): ``like`` when
    the file's interface languages (``langs``) are not known or it is a name of one of them; else the field's name in
    those languages that most resembles the column, when it does (a Spanish «Creado el» cites no Portuguese «Criado
    em» and no English «Contact»: acceptance J11); else "" (none)."""
    if not langs:
        return like
    langs_ = set(langs)

    def of_file(name: str) -> bool:
        return bool(profile.name_languages(name) & langs_)

    if of_file(like):
        return like
    own = [(name_score(header, h), h) for h in profile.entities[entity].fields[field].headers if of_file(h)]
    best = max(own, default=None)
    return best[1] if best is not None and best[0] >= SUGGEST_CUTOFF else ""


def suggest_for_entity(profile: "Profile", entity: str, mapped: set[str], headers: list[str],
                       export: "LoadedExport | None" = None, langs: list[str] | None = None) -> list[ColumnSuggestion]:
    """The fields no column of the file feeds (``mapped``: those that have one) matched to the file's
    columns no field takes (``headers``), one to one, best score first; values checked when ``export`` is given.
    ``langs``: the file's interface languages (the name each suggestion cites is one of theirs, or none)."""
    spec: EntitySpec = profile.entities[entity]
    free = [f for f in spec.fields if f not in mapped]
    ent = export.entities.get(entity) if export is not None else None
    cols = {h: c for c, h in ent.custom.values()} if ent is not None else {}
    scored: list[ColumnSuggestion] = []
    weak: list[ColumnSuggestion] = []  # a list field's names below the cutoff: taken when the primary of one above
    for h in headers:
        name = spec.strip_prefix(h)[0]
        for score, f, like in candidates(profile, entity, name, free):
            fit = values_fit(export, ent, spec.fields[f], cols[h], f) if h in cols else None
            if fit is False:
                continue
            s = ColumnSuggestion(entity, f, name, cited_name(profile, entity, f, name, like, langs or []), score, fit)
            if score < NAME_ONLY_CUTOFF and fit is not True:
                if spec.fields[f].split and h in cols:
                    weak.append(s)
                continue
            scored.append(s)
    if ent is not None:
        scored = _primary_first(export, ent, spec, scored, weak, {spec.strip_prefix(h)[0]: cols[h] for h in headers if h in cols})
    out: list[ColumnSuggestion] = []
    taken_h: set[str] = set()
    taken_f: set[str] = set()
    for s in sorted(scored, key=lambda s: (-s.score, headers.index(next(h for h in headers if spec.strip_prefix(h)[0] == s.header)))):
        if hkey(s.header) in taken_h or s.field in taken_f:
            continue
        out.append(s)
        taken_h.add(hkey(s.header))
        taken_f.add(s.field)
    return out


def primary_of(export: "LoadedExport", ent: "LoadedEntity", sep: str, one: str, many: str) -> bool:
    """Column ``one`` holds, in every row it is filled, one of the items column ``many`` lists there, and ``many``
    lists several in some row: ``one`` is the list's primary item (HubSpot's «Associated Company (Primary)» beside
    «Associated Company» «A;B», in whatever language the two are named)."""
    sep_re = re.escape(sep)
    items = f"string_split(regexp_replace(trim({many}), ?, ?, 'g'), ?)"
    total, inside, several, own_lists = export.con.execute(
        f"SELECT count(*) FILTER (WHERE NOT is_blank({one})), "
        f"count(*) FILTER (WHERE NOT is_blank({one}) AND list_contains({items}, trim({one}))), "
        f"count(*) FILTER (WHERE regexp_matches({many}, ?)), "
        f"count(*) FILTER (WHERE contains({one}, ?)) FROM {ent.table}",
        [rf"\s*{sep_re}\s*", sep, sep, rf"[^{sep_re}\s]\s*{sep_re}\s*[^{sep_re}\s]", sep]).fetchone()
    return bool(total) and inside == total and several > 0 and not own_lists


def _primary_first(export: "LoadedExport", ent: "LoadedEntity", spec: "EntitySpec", scored: list[ColumnSuggestion],
                   weak: list[ColumnSuggestion], cols: dict[str, str]) -> list[ColumnSuggestion]:
    """A field whose cells may list several items (``split:``) proposed for a column, and another column holds the
    primary item of its lists (:func:`primary_of`; ``weak``: the names too far from the field's to be proposed on
    their own): the primary column takes the list's score and goes first — the deal's company is its primary one,
    not each of a list (the list's name is the nearer to the field's: «Powiązana firma» vs «… (główna)»)."""
    out = list(scored)
    for a in [*scored, *weak]:
        sep = spec.fields[a.field].split
        if not sep or a.header not in cols:
            continue
        for b in scored:
            if (b.field == a.field and b.header != a.header and b.header in cols and b.score >= a.score
                    and primary_of(export, ent, sep, cols[a.header], cols[b.header])):
                lifted = replace(a, score=b.score + 1e-6)
                out = [x for x in out if x is not a] + [lifted]
                break
    return out


def suggest_columns(export: "LoadedExport", profile: "Profile") -> list[ColumnSuggestion]:
    """:func:`suggest_for_entity` for every file of a loaded export (its custom columns against its unmapped fields)."""
    out: list[ColumnSuggestion] = []
    for entity, ent in export.entities.items():
        # a field filled from no column of its own (a default, a status from the stage) needs none — except an id
        # linked by name (`link_by_name`: org_id from the org's name): a column of ids is still better
        linked = {f for f in ent.fields if f.endswith("_id") and f not in ent.from_columns and f[:-3] + "_name" in ent.from_columns}
        mapped = set(ent.from_columns) | {f for f in ent.fields if f in profile.entities[entity].fields and ent.fields[f] and f not in linked}
        langs = profile.interface_languages([*ent.fields.values(), *(h for _c, h in ent.custom.values())])
        out += suggest_for_entity(profile, entity, mapped, [h for _c, h in ent.custom.values()], export, langs)
    return out
