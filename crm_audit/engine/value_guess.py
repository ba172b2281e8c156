"""Which canonical field an unmapped column is, told by its VALUES (issue 13 "What must work" items 2 and 4).

An export in an interface language the profile has no names for («Deal - Sahibi», «Deal - Oluşturuldu») leaves the
owner, the dates, the value, the status … unmapped, and the name-based matcher (:mod:`crm_audit.engine.suggest`)
has nothing to go by. Here each custom column of a recognised file is read (a sample of its rows, one query per
column) and set against what the fields still without a column hold (``value_guess.yaml``: statuses, yes/no, dates,
amounts, currency codes, people's names, reasons filled on lost deals only, ids of the linked file).

A guess is ``sure`` only when the values leave one column for the field and that column fits no other field of the
same kind (the only column whose cells are all status words; the two date columns of which one is never later than
the other, for «created» and «last stage change» — and, for a date, whose name holds a word of the field's in some
language: «aşama», «stage», «etapa»). ``inspect`` shows every guess with a few of the values;
``init --from-export`` writes a sure guess into `columns:` with a comment to check it and every other one commented
out — a wrong mapping that audits silently is worse than none.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from crm_audit.engine.profile import hkey
from crm_audit.engine.suggest import handbook_field, names_another_figure
from crm_audit.sqltext import sql_literal
from crm_audit.textnorm import norm

if TYPE_CHECKING:
    from crm_audit.engine.loading import LoadedEntity, LoadedExport
    from crm_audit.engine.profile import Profile

#: rows of a file read to guess (the first ones: a guess costs one query per column whatever the export's size)
SAMPLE_ROWS = 5000
#: default share of a column's filled cells that must fit a shape
SHARE = 0.9
#: values shown as the evidence of a guess
SHOWN = 3

# a person's name: two to four words of letters (a particle «de», «van der» between them), the first and the last
# capitalised; never digits, «@» or «/» (an e-mail, a phone, an address is no name)
_PERSON = (r"\p{Lu}[\p{L}'’.-]*( [\p{L}'’.-]+){0,2} \p{Lu}[\p{L}'’.-]*"
           # a Japanese / Chinese / Korean name written family name, a space, given name («佐藤 健», «김 민수»): scripts
           # without capitals; the space tells it from a single word (a stage «見込み», a company «鈴木工業»)
           r"|[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]{1,4}[ \x{3000}][\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]{1,4}")
_CONTACT = r"[^@\s]+@[^@\s]+\.[^@\s]+|(https?://|www\.)\S+|\+?[0-9][0-9 ()./-]{6,}[0-9]"


@dataclass(frozen=True)
class ValueGuess:
    entity: str
    field: str
    header: str  # the export's column, entity prefix removed (what `columns:` takes)
    shape: str  # value_guess.yaml's shape the values fit
    examples: tuple[str, ...]  # a few distinct values of the column
    sure: bool  # the one column the values leave for the field, fitting no other field
    others: tuple[str, ...] = ()  # the other columns the values leave for the field (not sure)
    file: str = ""  # the file of the column (its name)


@lru_cache(maxsize=None)
def _spec() -> dict:
    from crm_audit import resources

    return resources.data_file(Path(__file__).parent / "value_guess.yaml") or {}


@lru_cache(maxsize=None)
def _iso_codes() -> tuple[str, ...]:
    from crm_audit import resources

    data = resources.data_file(Path(__file__).parent / "number_formats.yaml") or {}
    return tuple(str(data.get("iso_codes") or "").split())


def _lits(values) -> str:
    return ", ".join(sql_literal(norm(str(v))) for v in values) or "NULL"


@dataclass
class _Column:
    col: str  # SQL column
    header: str
    filled: int
    distinct: int
    fits: dict[str, int]  # shape test -> filled cells that pass
    examples: tuple[str, ...]
    status_said: dict[str, str] | None = None  # :func:`_status_words`, once read (the status column and its guess ask)


def _read_columns(export: "LoadedExport", table: str, columns: list[tuple[str, str]],
                  tests: dict[str, str]) -> list[_Column]:
    """Every column's counts and examples over the first rows, in two queries for the whole file (not two a column:
    each query binds the date / number macros anew, ~25 ms, which made an export of 130 columns take 3 s)."""
    if not columns:
        return []
    names = list(tests)
    keys = [f"c{i}" for i in range(len(columns))]
    sample = ("WITH s AS (SELECT row_number() OVER () AS r_, "
              + ", ".join(f"CAST({col} AS VARCHAR) AS {k}" for k, (col, _h) in zip(keys, columns))
              + f" FROM (SELECT * FROM {table} LIMIT {SAMPLE_ROWS})), "
              f"u AS (SELECT * FROM (UNPIVOT s ON {', '.join(keys)} INTO NAME k VALUE v) WHERE NOT is_blank(v)) ")
    counts = {r[0]: r[1:] for r in export.con.execute(
        sample + "SELECT k, count(*), count(DISTINCT norm(v))"
        + "".join(f", count(*) FILTER (WHERE {_sub(tests[n], 'v')})" for n in names)
        + " FROM u GROUP BY k").fetchall()}
    examples: dict[str, list[str]] = {}
    for k, v in export.con.execute(
            sample + f"SELECT k, v FROM (SELECT k, v, row_number() OVER (PARTITION BY k ORDER BY n DESC, r) AS i FROM "
            f"(SELECT k, strip(v) AS v, count(*) AS n, min(r_) AS r FROM u GROUP BY 1, 2)) WHERE i <= {SHOWN} "
            f"ORDER BY k, i").fetchall():
        examples.setdefault(k, []).append(v)
    out = []
    for k, (col, header) in zip(keys, columns):
        row = counts.get(k) or (0, 0, *(0 for _ in names))
        out.append(_Column(col, header, row[0], row[1], dict(zip(names, row[2:])), tuple(examples.get(k, ()))))
    return out


def _tests(profile: "Profile", entity: str, fields: dict[str, dict]) -> dict[str, str]:
    """SQL tests of a cell ``x`` (a placeholder) per shape, one per enum / flag field."""
    spec = profile.entities[entity]
    t = {
        "date": "coalesce(parse_date(x), parse_date_mdy(x)) IS NOT NULL",
        "number": "parse_num(x) IS NOT NULL",
        "currency": f"upper(strip(x)) IN ({', '.join(sql_literal(c) for c in _iso_codes())}) AND regexp_full_match(strip(x), '[A-Za-z]{{3}}')",
        "person": f"regexp_full_match(strip(x), {sql_literal(_PERSON)})",
        "contact": f"regexp_full_match(strip(x), {sql_literal(_CONTACT)})",
        "int": "regexp_full_match(strip(x), '[0-9]{1,18}(\\.0+)?')",
        # one id or several joined by «;» / «,» (HubSpot's «Associated Deal IDs» «103;107»: a many-to-many link)
        "ints": "regexp_full_match(strip(x), '[0-9]{1,18}(\\.0+)?(\\s*[;,]\\s*[0-9]{1,18}(\\.0+)?)*')",
        # a record's id: digits (HubSpot, Pipedrive, Bitrix24), or 15 / 18 letters and digits (Salesforce)
        "key": "regexp_full_match(strip(x), '[0-9]{1,18}|[A-Za-z0-9]{15}|[A-Za-z0-9]{18}') AND regexp_matches(x, '[0-9]')",
        # a yes / no cell in any language the profile reads (a closed flag: true / false, VRAI / FAUX …)
        "yesno": f"norm(x) IN ({_lits([*profile.yes_no.yes, *profile.yes_no.no])})",
    }
    for f, how in fields.items():
        if how.get("shape") in ("enum", "flag"):
            t["values:" + f] = f"norm(x) IN ({_lits([v for vals in spec.fields[f].values.values() for v in vals])})"
    return t


def _missing(profile: "Profile", ent: "LoadedEntity") -> set[str]:
    """The entity's fields no column feeds (as :func:`crm_audit.engine.suggest.suggest_columns` counts them)."""
    fields = profile.entities[ent.entity].fields
    linked = {f for f in ent.fields if f.endswith("_id") and f not in ent.from_columns and f[:-3] + "_name" in ent.from_columns}
    mapped = set(ent.from_columns) | {f for f in ent.fields if f in fields and ent.fields[f] and f not in linked}
    if "id" in fields and fields["id"].required and "id" not in ent.from_columns:
        mapped.discard("id")  # ids derived from the rows' content (no id column found): the id is still to find
    return {f for f in fields if f not in mapped}


def guess_by_values(export: "LoadedExport", profile: "Profile", taken: set[tuple[str, str]] | None = None,
                    taken_fields: set[tuple[str, str]] | None = None) -> list[ValueGuess]:
    """Every custom column of the export's files whose values fit a field no column feeds. ``taken``: (entity,
    header key) of columns already proposed (by their name), ``taken_fields``: (entity, field) already proposed."""
    out: list[ValueGuess] = []
    # the deals first: another file's owner is told by the deals' owners (_deal_owners), guessed here too
    # a file set aside (no deal links to its records, read from the deals' columns instead): its columns too, so a
    # name column under an unknown header is still proposed (acceptance R13)
    aside = [(e, a.entity) for e, a in getattr(export, "set_aside", {}).items()]
    for entity, ent in sorted([*export.entities.items(), *aside], key=lambda kv: kv[0] != "deals"):
        wanted = {f: how for f, how in (_spec().get(entity) or {}).items()
                  if f in profile.entities[entity].fields}
        missing = _missing(profile, ent) - {f for e, f in (taken_fields or set()) if e == entity}
        fields = {f: how for f, how in wanted.items() if f in missing}
        if not fields:
            continue
        spec = profile.entities[entity]
        tests = _tests(profile, entity, fields)
        read = []
        feeding = {hkey(h) for h in ent.fields.values() if h}  # a custom column a field is read from (days in stage)
        for col, header in ent.custom.values():
            name = spec.strip_prefix(header)[0]
            if (entity, hkey(name)) in (taken or set()) or handbook_field(entity, name) or hkey(header) in feeding:
                continue  # (a rule's own field under the handbook's name — «Бюджет» — is no canonical field: Q4)
            read.append((col, name))
        cols = [c for c in _read_columns(export, ent.table, read, tests) if c.filled]
        out += [replace(g, file=ent.file.name) for g in _guess_entity(
            export, profile, ent, fields, cols, {f: _deals_column(export, profile, out, f) for f in ("owner", "org_id", "person_id")})]
    return out


def _deals_column(export, profile, guessed: list[ValueGuess], field: str) -> str | None:
    """The SQL column of the deals' ``field``: mapped, else the column guessed sure for it (None: neither)."""
    deals = export.entities.get("deals")
    if deals is None:
        return None
    if field in deals.from_columns:
        return f'"{field}"'
    g = next((g for g in guessed if g.entity == "deals" and g.field == field and g.sure), None)
    spec = profile.entities["deals"]
    return next((col for col, header in deals.custom.values() if g is not None and spec.strip_prefix(header)[0] == g.header),
                None)


def _sub(test: str, col: str) -> str:
    """``test`` with its cell placeholder ``x`` (a whole word outside quotes) replaced by the column."""
    parts = re.split(r"('(?:[^']|'')*')", test)
    return "".join(p if i % 2 else re.sub(r"\bx\b", col, p) for i, p in enumerate(parts))


def _fits(c: _Column, test: str, share: float = SHARE) -> bool:
    return c.filled > 0 and c.fits.get(test, 0) >= share * c.filled


def _guess_entity(export, profile, ent, fields: dict[str, dict], cols: list[_Column],
                  deal_cols: dict[str, str | None] | None = None) -> list[ValueGuess]:
    """The guesses of one file's columns; ``deal_cols``: the SQL columns of the deals' owner, org_id and person_id
    (:func:`_deals_column`), which tell another file's owner and name."""
    deal_cols = deal_cols or {}
    rows = min(ent.rows, SAMPLE_ROWS) or 1
    cands: dict[str, list[_Column]] = {}
    contact = {c.header for c in cols if _fits(c, "contact", 0.5)}  # e-mails, phones, web addresses: never a name
    status_of = _status_sql(export, profile, ent, fields, cols)
    for f, how in fields.items():
        shape, share = how.get("shape"), float(how.get("share", SHARE))
        fit: list[_Column] = []
        if shape in ("enum", "flag"):
            if shape == "flag":  # yes/no alone cannot tell one flag from another: only the entity's one flag left
                flags = [n for n, fs in profile.entities[ent.entity].fields.items() if fs.type == "bool" and fs.values]
                if sum(1 for n in flags if n in _missing(profile, ent)) != 1:
                    continue
            fit = [c for c in cols if _fits(c, "values:" + f, share)]
        elif shape == "amount":
            fit = [c for c in cols if _fits(c, "number", share) and not _fits(c, "date", share) and c.header not in contact
                   and not _stage_figure(export, ent, c)]
        elif shape == "currency":
            fit = [c for c in cols if _fits(c, "currency", share)]
        elif shape == "person":
            fit = [c for c in cols if c.header not in contact and _fits(c, "person", float(how.get("share", 0.8)))
                   and c.filled >= float(how.get("filled", 0.9)) * rows
                   and ((c.distinct <= max(1.0, float(how.get("repeated", 0.5)) * c.filled) and c.filled >= 2)
                        or _deal_owners(export, ent, c, deal_cols.get("owner")))]
        elif shape == "reason":
            if status_of is None:
                continue
            fit = [c for c in cols if not _fits(c, "number", 0.5) and not _fits(c, "date", 0.5)
                   and _only_when(export, ent, c, status_of, str(how.get("status", "lost")))]
        elif shape == "link":
            fit = [c for c in cols if _fits(c, "ints", share) and _links(export, ent, f, c, share)]
        elif shape == "key":  # every row's own id: filled and distinct in every row, no other file's ids
            whole = [c for c in cols if _fits(c, "key", 1.0) and c.filled == rows and c.distinct == c.filled]
            fit = [c for c in whole if not _ids_of_another_file(export, ent, c)] or _first_column(ent, whole)
        elif shape in ("date", "category", "text"):
            continue  # together below: which date is which is told by their order; a category / text by its neighbours
        fit = [c for c in fit if not names_another_figure(ent.entity, f, c.header)]  # «Moeda de MRR»: never the currency
        if fit:
            cands[f] = fit
    _narrow_links(export, ent, fields, cands, cols)
    _no_amount_of_ids(export, ent, fields, cands)
    _no_link_of_the_key(export, ent, fields, cands)
    _links_by_elimination(fields, cands)
    out: list[ValueGuess] = []
    # one column, one field: a column fitting two fields' shapes is sure for neither
    used: dict[str, list[str]] = {}
    for f, fit in cands.items():
        for c in fit:
            used.setdefault(c.header, []).append(f)
    for f, fit in cands.items():
        shape = fields[f]["shape"]
        for c in fit:
            sure = len(fit) == 1 and len(used[c.header]) == 1
            if shape == "key":  # distinct numbers alone may be amounts or durations: the name or a link must say «id»
                sure = sure and (_says_id(c.header) or _named_by_another_file(export, ent, c))
            out.append(ValueGuess(ent.entity, f, c.header, shape, c.examples, sure,
                                  tuple(o.header for o in fit if o is not c)))
    out += _guess_words(export, ent, fields, [c for c in cols if c.header not in {g.header for g in out if g.sure}], rows,
                        {g.header for g in out}, deal_cols)
    for f, how in fields.items():  # a status / done column in words no language of the profile knows
        if how.get("unknown") and f not in cands:
            out += _guess_states(export, ent, f, how["unknown"], cols, rows, out)
    out += _guess_flags(export, profile, ent, cols, {g.header for g in out if g.sure})
    taken = {g.header for g in out} | _per_stage_columns(export, ent, cols)
    out += _guess_dates(export, ent, {f: h for f, h in fields.items() if h.get("shape") == "date"},
                        [c for c in cols if c.header not in taken and _fits(c, "date")], rows,
                        {f: h for f, h in (_spec().get(ent.entity) or {}).items() if h.get("shape") == "date"})
    return out


def _no_amount_of_ids(export, ent, fields: dict[str, dict], cands: dict[str, list[_Column]]) -> None:
    """An id is never an amount: a column whose name says «id» («Post-ID», «Associerade företags-ID:n»), or the key
    column another file names (the Finnish «Tietueen tunnus» the tasks' deal ids hold), leaves the amount's
    candidates — the record's id stays sure for the key (acceptance R2)."""
    keys = {c.header for f, fit in cands.items() if fields[f].get("shape") == "key" for c in fit
            if _says_id(c.header) or _named_by_another_file(export, ent, c)}
    for f in [f for f in cands if fields[f].get("shape") == "amount"]:
        cands[f] = [c for c in cands[f] if c.header not in keys and not _says_id(c.header)]
        if not cands[f]:
            del cands[f]


def _first_column(ent, whole: list[_Column]) -> list[_Column]:
    """Of the columns filled and distinct in every row whose small ids are another file's too (1, 2, 3 are every
    file's first ids), the file's first column: an export writes a record's own id first (Pipedrive's «ID», HubSpot's
    «Record ID», Bitrix24's «ID»), a link later (acceptance S5: a persons file whose every header is unknown)."""
    at = _positions(ent)
    first = min(at.values(), default=None)
    return [c for c in whole if first is not None and at.get(hkey(c.header)) == first][:1]


def _no_link_of_the_key(export, ent, fields: dict[str, dict], cands: dict[str, list[_Column]]) -> None:
    """The file's own id is no link: a column the key's candidates leave alone (the one, named «id» or named by another
    file) leaves the links' candidates — a persons file's first column 1, 2, 3 is the person's id, not a company's
    (acceptance S5); a tasks file's own ids 1…7 are not its deals'."""
    keys = [c for f, fit in cands.items() if fields[f].get("shape") == "key" and len(fit) == 1 for c in fit
            if _says_id(c.header) or _named_by_another_file(export, ent, c)]
    for f in [f for f in cands if fields[f].get("shape") == "link"]:
        cands[f] = [c for c in cands[f] if c not in keys]
        if not cands[f]:
            del cands[f]


def _links_by_elimination(fields: dict[str, dict], cands: dict[str, list[_Column]]) -> None:
    """A link the values leave one column for takes it from the other links: a deal's person ids 1, 2, 3 are the
    companies' ids too, but the company ids 1…4 are no person's — so the first is the person link, the second the
    company's (acceptance S5)."""
    links = [f for f in cands if fields[f].get("shape") == "link"]
    changed = True
    while changed:
        changed = False
        for f in links:
            if len(cands.get(f, ())) != 1:
                continue
            for g in links:
                if g != f and len(cands.get(g, ())) > 1 and cands[f][0] in cands[g]:
                    cands[g] = [c for c in cands[g] if c is not cands[f][0]]
                    changed = True


def _stage_figure(export, ent, c: _Column) -> bool:
    """A number of the deal's stage, never its amount: a column named with the stage's word in some language («Aşama
    Süresi», «Fasevarighed»: days in the stage), or one of 0–100 whose every stage has one value (the stage's
    probability «Olasılık (%)»)."""
    if _said(c.header, ((_spec().get(ent.entity) or {}).get("stage") or {}).get("words")):
        return True
    if "stage" not in ent.from_columns:
        return False
    num = f"TRY_CAST(replace(strip({c.col}), ',', '.') AS DOUBLE)"
    out_of_range, most = export.con.execute(
        f"SELECT count(*) FILTER (WHERE {num} IS NULL OR NOT ({num} BETWEEN 0 AND 100)), max(n) FROM (SELECT *, "
        f"count(DISTINCT {c.col}) OVER (PARTITION BY stage) AS n FROM (SELECT * FROM {ent.table} LIMIT {SAMPLE_ROWS}) "
        f"WHERE NOT is_blank({c.col}))").fetchone()
    return out_of_range == 0 and most == 1


def _status_sql(export, profile, ent, fields, cols) -> tuple[str, dict[str, list[str]]] | None:
    """(an SQL expression of a row's status value, the status words per value): the status column, else the one custom
    column whose values are statuses; None when neither is there."""
    fs = profile.entities[ent.entity].fields.get("status")
    if fs is None:
        return None
    if "status" in ent.from_columns:
        if "status" not in ent.typed:
            return "status", {v: [v] for v in fs.values}
        # the column's own texts: the profile's words, and a text of a language no profile knows that is, whole, the
        # word won / lost of some language («Tabt»: a Danish lost deal, whose «Årsag til tab» is then the lost reason)
        from crm_audit.engine.closed_guess import status_word

        words = {v: list(ws) for v, ws in fs.values.items()}
        for (text,) in export.con.execute(f'SELECT DISTINCT strip("status__raw") FROM (SELECT * FROM {ent.table} '
                                          f'LIMIT {SAMPLE_ROWS}) WHERE NOT is_blank("status__raw") AND status IS NULL').fetchall():
            said = status_word(str(text))
            if said is not None and said[0] in words:
                words[said[0]].append(str(text))
        return '"status__raw"', words
    fit = [c for c in cols if "values:status" in c.fits and _fits(c, "values:status")]
    if len(fit) == 1:
        return fit[0].col, {v: words for v, words in fs.values.items()}
    if fit:
        return None
    # no column of the profile's words: the one column of a few texts, two of them the words won / lost / deleted of
    # some language («Kazanıldı», «Kaybedildi» of a Turkish export), read by those
    found = [(c, said) for c in cols if (said := _status_words(export, ent, c))]
    if len(found) != 1:
        return None
    c, said = found[0]
    words: dict[str, list[str]] = {v: [] for v in fs.values}
    for t, kind in said.items():
        if kind in words:
            words[kind].append(t)
    return c.col, words


def _status_words(export, ent, c: _Column) -> dict[str, str]:
    """A column of a few texts two of which (or more) are the words won / lost / deleted of some language («Kazanıldı»,
    «Kaybedildi» of a Turkish export, «赢单», «丢单»): those texts and what each says; {} for any other column."""
    from crm_audit.engine.closed_guess import status_word

    if not 2 <= c.distinct <= 6:
        return {}
    if c.status_said is None:
        texts = [str(t) for (t,) in export.con.execute(
            f"SELECT DISTINCT strip({c.col}) FROM (SELECT * FROM {ent.table} LIMIT {SAMPLE_ROWS}) "
            f"WHERE NOT is_blank({c.col})").fetchall()]
        said = {t: k[0] for t in texts if (k := status_word(t)) is not None}
        c.status_said = said if len(set(said.values())) >= 2 else {}
    return c.status_said


def _only_when(export, ent, c: _Column, status_of, value: str) -> bool:
    """The column is filled in some row and only in rows whose status is ``value``."""
    expr, words = status_of
    if value not in words:
        return False
    inside = f"norm({expr}) IN ({_lits(words[value])})"
    n_in, n_out = export.con.execute(
        f"SELECT count(*) FILTER (WHERE {inside}), count(*) FILTER (WHERE NOT coalesce({inside}, FALSE)) "
        f"FROM (SELECT * FROM {ent.table} LIMIT {SAMPLE_ROWS}) WHERE NOT is_blank({c.col})").fetchone()
    return n_in > 0 and n_out == 0


def _narrow_links(export, ent, fields: dict[str, dict], cands: dict[str, list[_Column]], cols: list[_Column]) -> None:
    """Ids told apart by the names beside them: of several id columns fitting a link (a Turkish deal's «Organizasyon
    kimliği» and «İrtibat kişisi kimliği» both hold 1, 2, 3 — ids of the companies and of the people), the one whose
    linked row's name is, row by row, the text of another column of this file (the company's name the deal carries)
    is the link; and an id column that is a link is no amount."""
    from crm_audit.engine.requirements import REF_ENTITY

    for f in [f for f in cands if fields[f].get("shape") == "link" and len(cands[f]) > 1]:
        target = export.entities.get(REF_ENTITY.get(f[:-3], ""))
        if target is None or "id" not in target.fields:
            continue
        texts = [c for c in cols if c not in cands[f] and not _fits(c, "number", 0.5)]
        names = (['"name"'] if "name" in target.fields else []) + [col for col, _h in target.custom.values()]
        # the primary of a list beside it («… (primärt)» of «A;B»: suggest.primary_of), whatever the language
        from crm_audit.engine.suggest import primary_of

        firsts = [c for c in cands[f] if any(o is not c and primary_of(export, ent, ";", c.col, o.col) for o in cands[f])]
        named = [c for c in cands[f] if texts and names and _names_beside(export, ent, target, c, texts, names)]
        if len(firsts) == 1 or len(named) == 1:
            cands[f] = firsts if len(firsts) == 1 else named
    linked = {c.header for f, fit in cands.items() if fields[f].get("shape") == "link" for c in fit}
    for f in [f for f in cands if fields[f].get("shape") == "amount"]:
        rest = [c for c in cands[f] if c.header not in linked]
        if rest:
            cands[f] = rest


def _names_beside(export, ent, target, c: _Column, texts: list[_Column], names: list[str]) -> bool:
    """Some column of ``texts`` holds, in at least 90 % of the rows, a text (one of the columns ``names``: its name,
    mapped or not) of the ``target`` row whose id ``c`` holds."""
    return _linked_texts_agree(export, f"(SELECT * FROM {ent.table} LIMIT {SAMPLE_ROWS})", c.col, [t.col for t in texts],
                               target.table, names, f"NOT is_blank(d.{c.col})")


def _named_by_deals(export, ent, c: _Column, link: str) -> bool:
    """The deals linked to the rows of ``ent`` (``link``: the deals' SQL column of its ids) carry, in some column of
    theirs, the text of ``c`` in at least 90 % of them."""
    deals = export.entities["deals"]
    texts = [col for col, _h in deals.custom.values() if col != link] + [f'"{f}"' for f in ("person_name", "org_name", "title")
                                                                         if f in deals.from_columns]
    if not texts or "id" not in ent.fields:
        return False
    return _linked_texts_agree(export, deals.table, link, texts, f"(SELECT * FROM {ent.table} LIMIT {SAMPLE_ROWS})",
                               [c.col], f"NOT is_blank(t.{c.col})")


def _linked_texts_agree(export, rows: str, link: str, texts: list[str], linked: str, their: list[str], where: str) -> bool:
    """Joined by ``link`` (a column of ``rows``, alias d) to the ``linked`` record of that id (alias t), some column of
    ``texts`` equals some column of ``their`` in at least 90 % of the pairs (``where``: the pairs counted)."""
    row = export.con.execute(
        "SELECT count(*)" + "".join(f", count(*) FILTER (WHERE norm(d.{a}) = norm(t.{b}))" for a in texts for b in their)
        + f" FROM {rows} AS d JOIN {linked} AS t ON CAST(t.id AS VARCHAR) = parse_id(d.{link}) WHERE {where}").fetchone()
    return bool(row[0]) and max(row[1:]) >= 0.9 * row[0]


def _says_id(header: str) -> bool:
    """The column's name has a word beginning with «id» («ID», «Record ID», «Identyfikator rekordu», «Id. del registro»)."""
    return any(w.startswith("id") for w in re.split(r"[\W_]+", norm(header)) if w)


def _named_by_another_file(export, ent, c: _Column) -> bool:
    """Another file of the export has a column holding most of ``c``'s values (the tasks' deal ids)."""
    return any(_share_in(export, ent, c, other.table, f"strip(CAST({col} AS VARCHAR))") >= 0.5
               for other in export.entities.values() if other is not ent
               for col, _h in [*other.custom.values(), *((f'"{f}"', f) for f in other.fields if f.endswith("_id"))])


def _share_in(export, ent, c: _Column, table: str, expr: str) -> float:
    """The share of ``c``'s distinct values (the first rows of ``ent``) that ``expr`` of ``table`` holds."""
    total, hits = export.con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE v IN (SELECT DISTINCT {expr} FROM {table})) "
        f"FROM (SELECT DISTINCT strip({c.col}) AS v FROM (SELECT * FROM {ent.table} LIMIT {SAMPLE_ROWS}) "
        f"WHERE NOT is_blank({c.col}))").fetchone()
    return hits / total if total else 0.0


def _per_stage_columns(export, ent, cols: list[_Column]) -> set[str]:
    """The columns named for one stage of the deals (HubSpot's «Date entered "Proposal (Sales)"» in a language no
    profile has): never the deal's own date of a field."""
    if "stage" not in ent.fields:
        return set()
    stages = [norm(str(s)) for (s,) in export.con.execute(
        f'SELECT DISTINCT strip(stage) FROM {ent.table} WHERE NOT is_blank(stage)').fetchall()]
    return {c.header for c in cols if any(s and f'"{s}' in norm(c.header) for s in stages)}


def _ids_of_another_file(export, ent, c: _Column) -> bool:
    """Most of the column's values are ids of another file of the export (a deal's company ids, its task ids)."""
    return any(_share_in(export, ent, c, other.table, "CAST(id AS VARCHAR)") >= 0.5
               for other in export.entities.values() if other is not ent and "id" in other.fields)


def _guess_flags(export, profile, ent, cols: list[_Column], taken: set[str]) -> list[ValueGuess]:
    """The CRM's closed flags (`derive_status.from_flags`: «Is Closed Won», «Is closed lost», «Is Deal Closed?») no column
    feeds, told by yes / no values under a name holding the word won / lost / closed of some language
    (closed_words.yaml: a Polish «Czy zamknięta wygrana» is the won flag): sure when one column says so."""
    from crm_audit.engine.closed_guess import header_outcome

    ds = profile.derive_status
    ff = ds.from_flags if ds is not None else None
    if ff is None or ent.entity != "deals":
        return []
    spec = profile.entities["deals"]
    missing = _missing(profile, ent)
    out: list[ValueGuess] = []
    for kind in ("closed", "won", "lost"):
        f = getattr(ff, kind)
        if not f or f not in missing or f not in spec.fields or spec.fields[f].type != "bool":
            continue
        fit = [c for c in cols if c.header not in taken and _fits(c, "yesno") and header_outcome(c.header) == kind]
        for c in fit:
            out.append(ValueGuess(ent.entity, f, c.header, "flag_named", c.examples, len(fit) == 1,
                                  tuple(o.header for o in fit if o is not c)))
    return out


def _deal_owners(export, ent, c: _Column, owners: str | None) -> bool:
    """Another file's column (a company's, a task's) whose every value is an owner of the export's deals (``owners``:
    their SQL column): people however few its rows are (two companies of two managers repeat no name)."""
    deals = export.entities.get("deals")
    if deals is None or deals is ent or owners is None:
        return False
    left = export.con.execute(
        f"SELECT count(*) FROM (SELECT DISTINCT norm({c.col}) AS v FROM (SELECT * FROM {ent.table} LIMIT {SAMPLE_ROWS}) "
        f"WHERE NOT is_blank({c.col})) WHERE v NOT IN (SELECT norm({owners}) FROM {deals.table} WHERE NOT is_blank({owners}))"
    ).fetchone()[0]
    return left == 0


def _links(export, ent, field: str, c: _Column, share: float) -> bool:
    """The column's ids are ids of the file ``field`` links to (at least ``share`` of its distinct values)."""
    from crm_audit.engine.requirements import REF_ENTITY

    target = export.entities.get(REF_ENTITY.get(field[:-3], "")) if field.endswith("_id") else None
    if target is None or target is ent or "id" not in target.fields:
        return False
    total, hits = export.con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE v IN (SELECT CAST(id AS VARCHAR) FROM {target.table} WHERE id IS NOT NULL)) "
        f"FROM (SELECT DISTINCT parse_id(strip(u)) AS v FROM (SELECT unnest(regexp_split_to_array(CAST({c.col} AS VARCHAR), "
        f"'[;,]')) AS u FROM (SELECT * FROM {ent.table} LIMIT {SAMPLE_ROWS}) WHERE NOT is_blank({c.col})) "
        f"WHERE NOT is_blank(u))").fetchone()
    return bool(total) and hits >= share * total


def _said(header: str, words: list) -> bool:
    k = hkey(header)
    return any(hkey(str(w)) in k for w in words or [])


def _guess_dates(export, ent, fields: dict[str, dict], cols: list[_Column], rows: int,
                 all_dates: dict[str, dict]) -> list[ValueGuess]:
    """The date fields without a column set against the date columns: each field's column must be filled as the field
    is and never earlier, row by row, than the fields it comes `after`. The assignments that give a column to the
    most fields (the first listed first: «created» before «stage_changed») are kept; a field's guess is sure when every
    kept assignment gives it the same column — or, among those the values leave, the only one whose name says so."""
    if not fields or not cols:
        return []
    names = list(fields)
    by_header = {c.header: c for c in cols}
    fixed = {f: f for f in ent.fields if f in ent.from_columns}  # mapped date fields, by their typed column

    def filled_ok(f: str, c: _Column) -> bool:
        return c.filled >= float(fields[f].get("filled", 0)) * rows

    order_cache: dict[tuple[str, str], bool] = {}

    def not_before(late: str, early: str) -> bool:  # SQL expressions of two date columns: late >= early in every row
        key = (late, early)
        if key not in order_cache:
            bad = export.con.execute(
                f"SELECT count(*) FROM (SELECT * FROM {ent.table} LIMIT {SAMPLE_ROWS}) "
                f"WHERE {late} < {early}").fetchone()[0]
            order_cache[key] = bad == 0
        return order_cache[key]

    def valid(assign: dict[str, _Column | None]) -> bool:
        for f, c in assign.items():
            if c is None:
                continue
            if not filled_ok(f, c):
                return False
            for early in fields[f].get("after") or []:
                other = assign.get(early)
                if other is not None and not not_before(_parsed(c.col), _parsed(other.col)):
                    return False
                if other is None and early in fixed and not not_before(_parsed(c.col), f"CAST({early} AS DATE)"):
                    return False
            for g, gh in all_dates.items():  # a field that comes after this one, already mapped
                if f in (gh.get("after") or []) and g in fixed and not not_before(f"CAST({g} AS DATE)", _parsed(c.col)):
                    return False
        return True

    options = [None, *cols]
    best: list[dict[str, _Column | None]] = []
    best_key: tuple | None = None
    for combo in itertools.product(options, repeat=len(names)):
        picked = [c.header for c in combo if c is not None]
        if len(picked) != len(set(picked)):
            continue
        assign = dict(zip(names, combo))
        if not valid(assign):
            continue
        key = tuple(c is not None for c in combo)  # the first fields first
        if best_key is None or key > best_key:
            best, best_key = [assign], key
        elif key == best_key:
            best.append(assign)
    out: list[ValueGuess] = []
    for f in names:
        seen = list(dict.fromkeys(a[f].header for a in best if a[f] is not None))
        if not seen:
            continue
        said = [h for h in seen if _said(h, fields[f].get("words"))]
        pick = said[0] if said else seen[0]
        # a date is sure only when its name says so too: dates alone cannot tell a deal's creation or its last stage
        # change from its last activity or its close date (a French HubSpot export with no stage-change column
        # must not take «Date de la dernière activité» for it: acceptance J13)
        sure = len(said) == 1
        c = by_header[pick]
        out.append(ValueGuess(ent.entity, f, pick, "date", c.examples, sure, tuple(h for h in seen if h != pick)))
    # a column sure for two fields is sure for neither
    counts: dict[str, int] = {}
    for g in out:
        counts[g.header] = counts.get(g.header, 0) + 1
    return [g if counts[g.header] == 1 else ValueGuess(g.entity, g.field, g.header, g.shape, g.examples, False, g.others)
            for g in out]


def _parsed(col: str) -> str:
    """A custom text column's cells as dates (either order of day and month)."""
    return f"coalesce(parse_date({col}), parse_date_mdy({col}))"


def _textual(c: _Column, names: bool = False) -> bool:
    """Words, not numbers, dates, codes, contacts or people's names (a stage, a pipeline, a title, a company).
    ``names``: two or three capitalised words count as words too — a title («Дельта Лтд», «Гамма Групп») reads like a
    person's name, and a title is told by its cells differing (acceptance Q6), never proposed for sure alone."""
    return not any(_fits(c, t, 0.5) for t in ("number", "int", "date", "currency", "contact", *(() if names else ("person",))))


def _positions(ent) -> dict[str, int]:
    """hkey(header, whole or without its prefix) -> its column's place in the file (none when the file cannot be peeked)."""
    from crm_audit.engine.readers import peek_headers
    from crm_audit.errors import CrmAuditError

    try:
        headers = peek_headers(Path(ent.file))
    except (CrmAuditError, OSError, ValueError):
        return {}
    out: dict[str, int] = {}
    for i, h in enumerate(headers):
        out.setdefault(hkey(h), i)
        if " - " in h or " – " in h:
            out.setdefault(hkey(re.split(r" [-–] ", h, maxsplit=1)[1]), i)
    return out


def _guess_words(export, ent, fields: dict[str, dict], cols: list[_Column], rows: int,
                 guessed: set[str] = frozenset(), deal_cols: dict[str, str | None] | None = None) -> list[ValueGuess]:
    """The fields whose cells are words (value_guess.yaml `category`: a stage, a pipeline — a few values repeated; `text`:
    a title, a company — mostly distinct). Values alone never tell one such column from another: a guess is sure only
    when the column's name holds a word of the field's, or it stands beside the column of the field named `beside`
    (Pipedrive's list puts «Stage» next to «Pipeline»), or — a title and a company — the one column's cells hold the
    other's (a deal titled «山田商事 導入» of the company «山田商事»). Every other fitting column is a proposal."""
    words = {f: h for f, h in fields.items() if h.get("shape") in ("category", "text")}
    if not words:
        return []
    text = [c for c in cols if _textual(c)]
    out: list[ValueGuess] = []
    pos: dict[str, int] | None = None
    sure_cols: set[str] = set()
    for f, how in words.items():
        if how["shape"] != "category":
            continue
        beside = how.get("beside")
        at = None
        if beside and beside in ent.from_columns:
            pos = _positions(ent) if pos is None else pos
            at = pos.get(hkey(ent.fields.get(beside) or ""))
        near_by = {c.header for c in text if at is not None and pos.get(hkey(c.header)) in (at - 1, at + 1)}
        # a column named with a word of the field's, or beside the field `beside`, need not repeat (a report of five
        # deals in five stages: «Aşama»; Kommo's «Potansiyel müşteri durumu» beside the pipeline «Satış hunisi»)
        fit = [c for c in text if c.filled >= float(how.get("filled", 0.9)) * rows and c.header not in sure_cols
               and c.distinct <= min(int(how.get("max_distinct", 50)),
                                     c.filled if _said(c.header, how.get("words")) or c.header in near_by else
                                     max(1.0, float(how.get("repeated", 0.5)) * c.filled))]
        if not fit:
            continue
        said = [c for c in fit if _said(c.header, how.get("words"))]
        pick = said[0] if len(said) == 1 else None
        if pick is None and not said:
            near = [c for c in fit if c.header in near_by]
            pick = near[0] if len(near) == 1 else None
        if pick is not None:
            sure_cols.add(pick.header)
        for c in fit:
            out.append(ValueGuess(ent.entity, f, c.header, "category", c.examples, c is pick,
                                  tuple(o.header for o in fit if o is not c)))
    out += _guess_texts(export, ent, {f: h for f, h in words.items() if h["shape"] == "text"},
                        [c for c in cols if c.header not in sure_cols and (_textual(c) or (
                            _textual(c, names=True) and c.header not in guessed))], rows, deal_cols or {})  # (an owner's names: its own)
    return out


def _guess_texts(export, ent, fields: dict[str, dict], cols: list[_Column], rows: int,
                 deal_cols: dict[str, str | None]) -> list[ValueGuess]:
    """A title (`distinct`: at least that share of its cells differ) and the field `within` it (a company's name the
    title holds): sure together when exactly one pair of columns has the one's cells inside the other's — in some row
    strictly, the other way round in none, equal or inside in at least half the rows both are filled. A person's or a
    company's name (`linked_from`: the deals' link to the file): sure as the one column whose text a deal linked to the
    row carries in a column of its own (the deal's «İrtibat kişisi» is the name of the person its «… kimliği» names)."""
    if not fields:
        return []
    fit: dict[str, list[_Column]] = {}
    for f, how in fields.items():
        fit[f] = [c for c in cols if c.filled >= float(how.get("filled", 0.9)) * rows
                  and c.distinct >= float(how.get("distinct", 0)) * c.filled]
    sure: dict[str, _Column] = {}
    for f, how in fields.items():
        outer = how.get("within")
        if outer not in fields:
            continue
        pairs = [(t, o) for t in fit[outer] for o in fit[f] if t is not o and _holds(export, ent, t, o)]
        if len(pairs) == 1:
            sure[outer], sure[f] = pairs[0]
        elif not pairs:  # a real export: the company in a few titles only — the pair most clearly so (acceptance R6)
            pair = _most_held(export, ent, fit[outer], fit[f])
            if pair is not None:
                sure[outer], sure[f] = pair
    for f, how in (_spec().get(ent.entity) or {}).items():  # the inner one mapped by its name («Organisaatio»)
        outer = how.get("within")
        if outer in fields and outer not in sure and f not in fields and f in ent.from_columns:
            inner = _Column(f'"{f}"', ent.fields.get(f) or f, 0, 0, {}, ())
            hits = [t for t in fit[outer] if _holds(export, ent, t, inner)]
            if len(hits) == 1:
                sure[outer] = hits[0]
    for f, how in fields.items():  # the outer one mapped by its name («取引名»): the column its cells hold (acceptance R6)
        outer = how.get("within")
        if outer and outer not in fields and outer in ent.from_columns and f not in sure:
            title = _Column(f'"{outer}"', ent.fields.get(outer) or outer, 0, 0, {}, ())
            hits = [c for c in fit[f] if _holds(export, ent, title, c)]
            pair = (title, hits[0]) if len(hits) == 1 else None if hits else _most_held(export, ent, [title], fit[f])
            if pair is not None:
                sure[f] = pair[1]
    for f, how in fields.items():  # every row's own text (a deal's title) that one column alone has: that column
        if (f not in sure and how.get("distinct") and not how.get("within") and not how.get("linked_from")
                and len(fit[f]) == 1 and fit[f][0] not in sure.values()):
            sure[f] = fit[f][0]
    for f, how in fields.items():
        link = deal_cols.get(str(how.get("linked_from")))
        if link is not None and f not in sure:
            hits = [c for c in fit[f] if _named_by_deals(export, ent, c, link)]
            if len(hits) == 1:
                sure[f] = hits[0]
    out: list[ValueGuess] = []
    for f, cs in fit.items():
        for c in cs:
            out.append(ValueGuess(ent.entity, f, c.header, "text", c.examples, sure.get(f) is c,
                                  tuple(o.header for o in cs if o is not c)))
    return out


def _held(export, ent, outer: _Column, inner: _Column) -> tuple[int, int, int, int]:
    """Rows both filled, rows whose ``outer`` cell holds ``inner``'s and is longer, rows equal, rows the other way round."""
    o, i = f"norm({outer.col})", f"norm({inner.col})"
    return export.con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE contains({o}, {i}) AND {o} <> {i}), count(*) FILTER (WHERE {o} = {i}), "
        f"count(*) FILTER (WHERE contains({i}, {o}) AND {o} <> {i}) FROM (SELECT * FROM {ent.table} LIMIT {SAMPLE_ROWS}) "
        f"WHERE NOT is_blank({outer.col}) AND NOT is_blank({inner.col})").fetchone()


def _holds(export, ent, outer: _Column, inner: _Column) -> bool:
    """``outer``'s cells hold ``inner``'s (see :func:`_guess_texts`)."""
    both, inside, equal, rev = _held(export, ent, outer, inner)
    return bool(both) and inside >= 1 and rev == 0 and inside + equal >= 0.5 * both


def title_held_by(export) -> str | None:
    """The unmapped column of the deals whose cells hold the mapped title's («Nazwa szansy sprzedaży» «Acme renewal»
    holds «Nazwa konta» «Acme»: the column proposed as the title by a name both share is the deal's company): its
    header, None when no column or several do."""
    ent = export.entities.get("deals")
    if ent is None or "title" not in ent.from_columns:
        return None
    inner = _Column('"title"', ent.fields["title"], 0, 0, {}, ())
    hits = [h for col, h in ent.custom.values() if _holds(export, ent, _Column(col, h, 0, 0, {}, ()), inner)]
    return hits[0] if len(hits) == 1 else None


#: rows whose title holds the company's name, at least, for the pair to be told by them when fewer than half do
MIN_HELD = 2


def _most_held(export, ent, outers: list[_Column], inners: list[_Column]) -> tuple[_Column, _Column] | None:
    """The (outer, inner) pair whose outer cells hold the inner's in the most rows — at least :data:`MIN_HELD`, none
    the other way round, and more rows than any other pair's (a title naming its company in a few deals, «Acme
    integration» of «Acme», where another column's words, a source «web» in «website redesign», are in one): else None."""
    scored = sorted(((inside, t, o) for t in outers for o in inners if t is not o
                     for _b, inside, _e, rev in [_held(export, ent, t, o)] if rev == 0 and inside >= MIN_HELD),
                    key=lambda x: -x[0])
    if not scored or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return scored[0][1], scored[0][2]


def _guess_states(export, ent, field: str, how: dict, cols: list[_Column], rows: int,
                  guessed: list[ValueGuess]) -> list[ValueGuess]:
    """The column of ``field`` (the deals' status, a task's done) whose texts no language of the profile knows (a
    Turkish «Açık / Kazanıldı / Kaybedildi»: issue 13 acceptance Q2; a Danish «Udført / Skal gøres»): words,
    `min_distinct`..`max_distinct` distinct values of at most `max_length` characters, repeated, filled in `filled` of
    the rows; never a column guessed sure as another field or named as the stage or the pipeline. For the status, a
    sparse column of words (a lost reason) whose rows all hold one of the column's values speaks for it: sure when one
    column is so backed more than any other; else sure only as the one fitting column, every fitting column otherwise
    a proposal."""
    sure_other = {g.header for g in guessed if g.sure}
    named = [w for f in ("stage", "pipeline") for w in ((_spec().get(ent.entity) or {}).get(f) or {}).get("words", [])]
    fit = []
    for c in cols:
        if (c.header in sure_other or _said(c.header, named) or not _textual(c, names=True) or _fits(c, "person", 0.9)
                or not int(how.get("min_distinct", 2)) <= c.distinct <= int(how.get("max_distinct", 4))
                or c.filled < float(how.get("filled", 0.9)) * rows or c.distinct > float(how.get("repeated", 0.5)) * c.filled):
            continue
        longest = export.con.execute(f"SELECT max(length(strip({c.col}))) FROM (SELECT * FROM {ent.table} LIMIT {SAMPLE_ROWS})"
                                     ).fetchone()[0] or 0
        if longest <= int(how.get("max_length", 20)):
            fit.append(c)
    if not fit:
        return []
    if field != "status":  # of several, the one whose name says the field's word («Uppgiftsstatus», not «Uppgiftstyp»)
        said = [c for c in fit if _said(c.header, how.get("words") or [])]
        pick = fit[0] if len(fit) == 1 else said[0] if len(said) == 1 else None
        return [ValueGuess(ent.entity, field, c.header, "states", c.examples, c is pick,
                           tuple(o.header for o in fit if o is not c)) for c in fit]
    # a lost reason / a lost or won date: filled in some rows, at most half, words or dates — one value of the status there
    markers = [m for m in cols if m not in fit and 0 < m.filled <= 0.5 * rows and not _fits(m, "contact", 0.5)
               and not _fits(m, "number", 0.5) and not _fits(m, "person", 0.5)]
    backed: dict[str, int] = {}
    for c in fit:
        backed[c.header] = sum(1 for m in markers if export.con.execute(
            f"SELECT count(DISTINCT norm({c.col})) FROM (SELECT * FROM {ent.table} LIMIT {SAMPLE_ROWS}) "
            f"WHERE NOT is_blank({m.col}) AND NOT is_blank({c.col})").fetchone()[0] == 1)
    top = max(backed.values())
    best = [c for c in fit if backed[c.header] == top]
    pick = best[0] if (len(fit) == 1 or (top and len(best) == 1)) else None
    worded = [c for c in fit if _status_words(export, ent, c)]
    if pick is None and len(worded) == 1:  # the one column holding status words of some language («赢单», «丢单»)
        pick = worded[0]
    return [ValueGuess(ent.entity, field, c.header, "states", c.examples, c is pick,
                       tuple(o.header for o in fit if o is not c)) for c in fit]
