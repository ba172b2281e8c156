"""Pages of one listing saved as files of their own (acceptance W4).

An API answers a list a page at a time (Bitrix24's `next`, HubSpot's `paging.next`, Pipedrive's `pagination`) and a
script saves each page: deals_page1.json + deals_page2.json, or deals.json + deals_page2.json; a CRM that caps its export
at N rows gives deals-p1.csv + deals-p2.csv. Such files are one entity's rows, read as one table when their names differ
only by a page marker (:func:`page_groups`) AND their headers are the same set (JSON pages: the same id key, their
columns being the keys their records carry) and their record ids do not overlap (:func:`join`). A page with other
headers is a file of its own (two exports of the entity: the loader's «two files» error); a page whose ids the pages
before it have too (fetched twice, an overlapping offset) is a :class:`Repeat` the loader stops on, naming the ids and
files (acceptance X3) — keeping «one of the two files» would lose the other pages' rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from crm_audit.engine.readers import RawTable, drop_raw
from crm_audit.textnorm import norm

#: a page marker at the end of a file's name: «_page2», «-p1», «_part3», «_стр2», «_2» (a page number of up to 4
#: digits, never part of a date: the rest of the name must not end with a digit — deals_2026-11-20 is no page)
_MARKER = re.compile(r"(?i)^(?P<base>.*?[^\d\s._-])[\s._-]*(?:(?:page|part|pg|p|стр|страница|часть)[\s._-]*)?\d{1,4}$")
#: a page word after a separator: «deals-2026-11-01_page2» — the rest of the name may end with a digit then (a date is
#: part of the name: deals-2026-11-01.json beside deals-2026-11-01_page2.json are pages of one list, acceptance X2)
_WORD_MARKER = re.compile(r"(?i)^(?P<base>.*?[^\s._-])[\s._-]+(?:page|part|pg|p|стр|страница|часть)[\s._-]*\d{1,4}$")


def _base(path: Path) -> tuple[str, bool]:
    """(the name without its page marker, whether it had one), by :func:`norm`."""
    m = _WORD_MARKER.match(path.stem.strip()) or _MARKER.match(path.stem.strip())
    return (norm(m.group("base")), True) if m else (norm(path.stem), False)


def page_groups(files: list[Path]) -> dict[Path, list[Path]]:
    """The first file of each group of two or more files (same suffix, same name but for a page marker; at most one
    without a marker — deals.json beside deals_page2.json) -> the group's other files, in their order."""
    groups: dict[tuple[str, str], list[tuple[Path, bool]]] = {}
    for p in files:
        base, marked = _base(p)
        groups.setdefault((base, p.suffix.lower()), []).append((p, marked))
    out: dict[Path, list[Path]] = {}
    for members in groups.values():
        if len(members) < 2 or sum(1 for _p, marked in members if not marked) > 1:
            continue
        ordered = sorted(members, key=lambda m: (m[1], _page_number(m[0])))  # the unmarked first, then by page
        out[ordered[0][0]] = [p for p, _m in ordered[1:]]
    return out


def _page_number(path: Path) -> int:
    digits = re.search(r"(\d+)$", path.stem.strip())
    return int(digits.group(1)) if digits else 0


#: how many of a page's repeated ids an error names
SHOWN_IDS = 5


@dataclass
class Repeat:
    """A page (its name and headers those of the list) whose ids the pages before it have too (acceptance X3): a page
    fetched twice, or an offset that overlaps — neither joined nor read on its own."""

    path: Path
    ids: list[str]  # the first :data:`SHOWN_IDS` repeated ids, in the page's order
    n: int  # how many of its ids repeat
    total: int  # how many ids the page has
    files: list[Path]  # the pages before it that have them
    column: str  # the id column's header
    row: int  # the page's first row with a repeated id


@dataclass
class Joined:
    raw: RawTable  # the pages' rows in one table (the first page's name and headers)
    pages: list[Path]  # the files joined to the first, in order
    left: list[Path]  # the files that are not pages of it (other headers): read on their own
    repeats: list[Repeat] = field(default_factory=list)  # pages whose ids the pages before them have too
    spans: list[tuple[Path, int]] = field(default_factory=list)  # each page read (the first too): its last ``_row``


def page_row(spans: list[tuple[Path, int]], row: int) -> tuple[Path, int] | None:
    """The page and its own row of the joined table's row ``row`` (the pages' rows are numbered on, each after the
    previous page's last: :func:`join`), None past the last page."""
    before = 0
    for path, last in spans:
        if row <= last:
            return path, row - before
        before = last
    return None


def _fits(heads: list[str], theirs: list[str], id_col: int, json: bool) -> bool:
    """Whether a page's headers are those of the first page: the same set — or, JSON pages (whose columns are the keys
    their records carry: an API leaves out a property no record of the page has a value for, HubSpot's
    `hs_date_entered_<stage>`), the same id key."""
    if len(set(theirs)) != len(theirs):
        return False
    return heads[id_col] in theirs if json else sorted(theirs) == sorted(heads)


def join(con, first: RawTable, others: list[RawTable], id_col: int | None) -> Joined:
    """``others`` appended to ``first`` where each :func:`_fits` it and, the id column ``id_col`` of ``first`` given,
    has none of its ids; the rows keep their order (``_row`` numbered on after the previous page's). A page that does
    not fit is left out (dropped here; the caller reads its file again on its own)."""
    heads = [h.strip() for h in first.headers]
    json = first.info.kind == "json"
    if len(set(heads)) != len(heads) or id_col is None:
        for o in others:
            drop_raw(con, o.name)
        return Joined(first, [], [o.path for o in others])
    table = f"{first.name}__pages"
    con.execute(f"CREATE TABLE {table} AS SELECT _row, {', '.join(f'c{i}' for i in range(len(heads)))} FROM {first.name}")
    joined, left, repeats = [], [], []
    spans = [(first.path, con.execute(f"SELECT coalesce(max(_row), 0) FROM {table}").fetchone()[0])]  # file, its last _row
    for o in others:
        theirs = [h.strip() for h in o.headers]
        if not _fits(heads, theirs, id_col, json):
            left.append(o.path)
            drop_raw(con, o.name)
            continue
        repeat = _repeat(con, table, id_col, o, theirs.index(heads[id_col]), spans)
        if repeat is not None:
            repeats.append(repeat)
            drop_raw(con, o.name)
            continue
        for h in theirs:  # a JSON page's key the pages before lack: a column of its own, blank in their rows
            if h not in heads:
                con.execute(f"ALTER TABLE {table} ADD COLUMN c{len(heads)} VARCHAR")
                heads.append(h)
        aligned = ", ".join(f"c{theirs.index(h)}" if h in theirs else "NULL" for h in heads)
        con.execute(f"INSERT INTO {table} SELECT _row + (SELECT coalesce(max(_row), 0) FROM {table}), {aligned} FROM {o.name}")
        joined.append(o.path)
        spans.append((o.path, con.execute(f"SELECT coalesce(max(_row), 0) FROM {table}").fetchone()[0]))
        drop_raw(con, o.name)
    if not joined:
        con.execute(f"DROP TABLE {table}")
        return Joined(first, [], left, repeats)
    drop_raw(con, first.name)
    con.execute(f"ALTER TABLE {table} RENAME TO {first.name}")
    return Joined(replace(first, headers=[*first.headers, *heads[len(first.headers):]]), joined, left, repeats, spans)


def _repeat(con, table: str, id_col: int, page: RawTable, j: int, spans: list[tuple[Path, int]]) -> Repeat | None:
    """The ids of ``page`` (its id column ``j``) that the pages joined so far (``table``, their rows' ``spans``) have
    too, or None."""
    rows = con.execute(f"SELECT p.c{j}, p._row, min(t._row) FROM {page.name} p JOIN {table} t ON norm(t.c{id_col}) = norm(p.c{j}) "
                       f"WHERE NOT is_blank(p.c{j}) AND NOT is_blank(t.c{id_col}) GROUP BY p.c{j}, p._row ORDER BY p._row").fetchall()
    if not rows:
        return None
    total = con.execute(f"SELECT count(DISTINCT norm(c{j})) FROM {page.name} WHERE NOT is_blank(c{j})").fetchone()[0]
    files = []
    for _id, _r, at in rows:
        where = page_row(spans, at)[0]
        if where not in files:
            files.append(where)
    ids = list(dict.fromkeys(str(i).strip() for i, _r, _at in rows))  # norm-equal spellings of one id: rare, counted apart
    return Repeat(page.path, ids[:SHOWN_IDS], len(ids), total, [p for p, _last in spans if p in files],
                  page.headers[j].strip(), rows[0][1])
