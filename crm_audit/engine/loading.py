"""Read an export directory into canonical DuckDB tables, using a profile.

The stages, each in its own module: every file is read into a raw all-text
table (:mod:`~crm_audit.engine.readers`, encodings in
:mod:`~crm_audit.engine.encoding`), recognised as one entity and mapped and
parsed into that entity's table (``deals``, ``organizations``, ``persons``,
``activities``; :mod:`~crm_audit.engine.mapping`), then entities that refer
to each other by name are linked (:mod:`~crm_audit.engine.linking`). Values
that do not parse are reported with file, row, column and the raw value.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from crm_audit.engine import derived, encoding, linking, lookups, mapping, near_columns, readers
from crm_audit.engine import pages as pages_mod
from crm_audit.engine.mapping import LoadedEntity, MapJob
from crm_audit.engine.profile import ENTITIES, Profile
from crm_audit.engine.readers import DATA_SUFFIXES, RawInfo, RawTable, peek_headers
from crm_audit.errors import InputError, Msg, Problem, file_problem
from crm_audit.i18n import N_
from crm_audit.report import _ENGLISH, DataWarning, _forms


@dataclass
class LoadedExport:
    con: Any
    directory: Path
    entities: dict[str, LoadedEntity]
    warnings: list[DataWarning] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)
    _tmp: Any = None
    profile: Profile | None = None
    unknown_files: list[tuple[Path, list[str]]] = field(default_factory=list)
    #: entity -> why its records link to no deal (tasks whose deal column names no deal): the rules reading it are not judged
    unlinked: dict[str, Msg] = field(default_factory=dict)
    #: the export's date order as its cells settled it (None: nothing proved one): `init --from-export` writes it
    date_order: mapping.DateDecision | None = None
    #: entity -> how it was read from the deals file's own columns (the profile's `from_deals:`; no file of its own)
    derived: dict[str, Msg] = field(default_factory=dict)
    #: entity -> its file's records no deal links to, replaced by those the deals' rows name (`from_deals:`)
    set_aside: dict[str, derived.SetAside] = field(default_factory=dict)
    #: entity -> why the file that holds its rows among another entity's (`rows_where`: amoCRM's contacts list) gave
    #: none: said instead of the profile's «export that list» when the entity has no file (acceptance Y-B)
    unsplit: dict[str, Msg] = field(default_factory=dict)

    #: a listing read with its other pages (deals_page1.json + deals_page2.json): its first file -> each page and its
    #: last row in the joined table (whose rows are numbered on from page to page)
    page_spans: dict[str, list[tuple[Path, int]]] = field(default_factory=dict)

    def on_own_page(self, items: list) -> list:
        """Problems / warnings (``file`` and ``row``) with the file and row of the page their row is on, where the file
        is the first page of a listing read with its other pages — every check on the loaded tables says its rows so
        (a bad cell, a stage the settings lack: acceptance Z-M)."""
        out = []
        for item in items:
            spans = self.page_spans.get(item.file) if item.file and item.row else None
            found = pages_mod.page_row(spans, item.row) if spans else None
            out.append(replace(item, file=str(found[0]), row=found[1]) if found else item)
        return out

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


#: a file the export holds that is no entity of the profile by its name or its headers (`run` warns of it; `inspect`
#: lists it as «not recognised» with its headers — any other reason a file is ignored, it says in `run`'s words)
NOT_RECOGNISED = N_("not recognised as deals, organizations, persons or activities; ignored")


def _unreadable(path: Path, exc: Exception) -> InputError:
    """A value or file the SQL cannot take: name the file, never a traceback."""
    return file_problem(path, N_("cannot read the file: {why}"), "unreadable", {"why": str(exc).splitlines()[0]})


def _read_raw(con, path: Path, table: str, tmpdir: Path):
    """``path`` read into the raw table ``table``; an unreadable file is an input error naming it."""
    import duckdb

    try:
        return readers.read_raw(con, path, table, tmpdir)
    except duckdb.Error as exc:
        raise _unreadable(path, exc) from None


#: columns headed by API keys, read by the names a dumped field list gives them (Pipedrive's dealFields.csv)
HEADER_NAMES = _forms(lambda n: _ENGLISH.ngettext(
    "{n} column headed by an API key is read by its name from {source} ({example})",
    "{n} columns headed by API keys are read by their names from {source} (such as {example})", n))


class _Loader:
    """One :func:`load_export` call: the files read so far and what they gave."""

    def __init__(self, con, out: LoadedExport, profile: Profile, on_bad_value: str, tmpdir: Path, deals_file: Path | None = None):
        self.con, self.out, self.profile, self.on_bad_value, self.tmpdir = con, out, profile, on_bad_value, tmpdir
        self.deals_file = deals_file  # read as the deals whatever its headers (init: crm_audit/engine/deals_file.py)
        self.seen: dict[str, Path] = {}  # entity -> the file it is read from
        self.shared: dict[str, list[DataWarning]] = {}  # entity read from another entity's file -> its warnings
        self.lookups: list[lookups.FoundLookup] = []  # files naming ids (an API dump's stage list)
        self.unfit: dict[str, list[tuple[Path, Msg]]] = {}  # entity -> files named like it that lack its columns, why
        # a second file of an entity read already (two exports in one folder): every pair is named at once (issue 13
        # items 10 / 11), the load stops after the last file
        self.duplicates: list[Problem] = []
        self.named = False  # init: a file named like an entity is read as it whatever its headers (load_export's ``named``)
        self.tentative: dict[str, tuple[Path, Msg, list[str]]] = {}  # entity -> the file so read, why it was unfit, headers
        self.header_names = lookups.HeaderNames({}, {})  # columns headed by API keys: their names (dealFields.csv)
        self.header_sources: list[str] = []  # the header lists' file names
        self.left: list[Path] = []  # files named as pages of another's listing that are not (W4): read on their own
        self.page_spans: dict[str, list[tuple[Path, int]]] = {}  # a joined listing's first file -> its pages' rows

    def _map(self, entity: str, raw: RawTable, shared: bool = False, provisional: bool = False) -> tuple[LoadedEntity, list[DataWarning]]:
        job = MapJob(entity, self.profile.entities[entity], raw, self.on_bad_value, self.profile, shared=shared,
                     provisional=provisional)
        return mapping.map_entity(self.con, job)

    def _lookalike_ignored(self, entity: str, path: Path, raw_table: str) -> bool:
        """Two files claim ``entity``, one by the profile's own file name for it (Account.csv), the other by its headers
        only (Lead.csv): the named one is the entity, the other is ignored with a warning (issue 13 item 10). True:
        ``path`` is the one ignored; False: read ``path`` (the look-alike read first gave way) or, when both or neither
        are named so, both are the entity (the caller stops on the two files)."""
        first = self.seen[entity]
        named_first = mapping.named_entity(self.profile, first) == entity
        if named_first == (mapping.named_entity(self.profile, path) == entity):
            return False
        if named_first:
            readers.drop_raw(self.con, raw_table)
            self._say_lookalike(path, entity, first)
            return True
        if any(p == first for e, p in self.seen.items() if e != entity):  # the look-alike feeds another entity as well
            return False
        del self.seen[entity]
        self.out.entities.pop(entity, None)
        self.out.fingerprints.pop(first.name, None)
        self._say_lookalike(first, entity, path)
        return False

    def _say_lookalike(self, path: Path, entity: str, named: Path) -> None:
        self.out.warnings.append(DataWarning("unknown-file", "", str(path), template=N_("has columns like the {entity} file, but "
                                                                                      "{file} is that file by its name; ignored"),
                                             params={"entity": entity, "file": named.name}))

    def _named_headers(self, path: Path, raw: RawTable) -> RawTable:
        """``raw`` with its API-key headers named by the header lists, said once per file (which key, which name)."""
        lookups.blank_false(self.con, raw, self.header_names.multiple)  # an empty multiple field: `false`
        # an enum's option id -> its label (W3); an id the list lacks is a bad value (Z-L)
        self.out.warnings += lookups.label_options(self.con, raw, self.header_names, path, self.on_bad_value)
        headers = lookups.named_headers(raw.headers, self.header_names.names)
        renamed = [(old, new) for old, new in zip(raw.headers, headers) if old != new]
        if renamed:
            self.out.warnings.append(DataWarning(
                "header-names", "", str(path), template=HEADER_NAMES[0], plural=HEADER_NAMES[1],
                params={"n": len(renamed), "source": ", ".join(self.header_sources),
                        "example": f"{renamed[0][0]} → {renamed[0][1]}"}))
        return replace(raw, headers=headers)

    def _drop_tentative(self, entity: str) -> None:
        """A file of the entity's own columns replaces the one read as it by its name alone (a «contacts_backup.csv»
        beside Pipedrive's «people-….csv»): that one is ignored, as it would be without ``named``."""
        path, why, headers = self.tentative.pop(entity)
        del self.seen[entity]
        self.out.entities.pop(entity, None)
        self.out.fingerprints.pop(path.name, None)
        self.unfit.setdefault(entity, []).append((path, why))
        self.out.warnings.append(DataWarning("unknown-file", "", str(path), template=N_("named like the {entity} file, but {why}; ignored"),
                                             params={"entity": entity, "why": why}))
        self.out.unknown_files.append((path, headers))

    def _join_pages(self, path: Path, raw: RawTable, raw_table: str, pages: list[Path]) -> RawTable:
        """The rows of ``pages`` appended to ``raw`` where they are pages of its listing (:func:`crm_audit.engine.pages.join`),
        said in a note; a file that is not is left in ``self.left`` to be read on its own (the «two files» error)."""
        entity = mapping.detect_entity(self.profile, path, raw.headers)
        ids = mapping.match_columns(self.profile.entities[entity], raw.headers).by_field.get("id") if entity else None
        others = [_read_raw(self.con, p, f"{raw_table}_p{k}", self.tmpdir) for k, p in enumerate(pages)]
        joined = pages_mod.join(self.con, raw, others, ids[0] if ids else None)
        self.left += joined.left
        for rep in joined.repeats:  # a page fetched twice / an overlapping offset: said with the other twins (X3)
            shown = ", ".join(rep.ids) + (", …" if rep.n > len(rep.ids) else "")
            params = {"entity": entity, "n": rep.n, "total": rep.total, "ids": shown, "files": ", ".join(p.name for p in rep.files)}
            msg = (N_("a page of the {entity} list that repeats the pages before it: each of its {n} id(s) ({ids}) is on "
                      "{files} too; remove this file from the export folder") if rep.n >= rep.total else
                   N_("a page of the {entity} list that overlaps the pages before it: {n} of its {total} id(s) ({ids}) are "
                      "on {files} too; save the list's pages again so that no id repeats from page to page (keeping "
                      "one of the files would lose the other pages' rows)"))
            self.duplicates += file_problem(rep.path, msg, "pages-overlap", params, row=rep.row, column=rep.column).problems
        if joined.pages:
            self.page_spans[str(path)] = joined.spans
            n = self.con.execute(f"SELECT count(*) FROM {raw.name}").fetchone()[0]
            self.out.warnings.append(DataWarning("pages-joined", "", str(path), template=N_(
                "read with {files} as pages of one list ({n} rows in all)"), params={"files": ", ".join(p.name for p in joined.pages), "n": n}))
            for p in joined.pages:
                self.out.fingerprints[p.name] = encoding.file_fingerprint(p)
        return joined.raw

    def read(self, path: Path, raw_table: str, pages: list[Path] | None = None) -> None:
        import duckdb

        con, out = self.con, self.out
        if mapping.other_object(self.profile, path):  # an object of the CRM the audit does not read (Lead.csv): never fatal
            out.warnings.append(DataWarning("unknown-file", "", str(path),
                                            template=N_("by its name, an object of the CRM the audit does not read; ignored")))
            return
        if lookups.is_header_list(self.profile, path):  # names the columns of the other files (read before them)
            return
        try:
            raw = readers.read_raw(con, path, raw_table, self.tmpdir)
        except duckdb.Error as exc:
            raise _unreadable(path, exc) from None
        for why in raw.info.skipped_sheets:  # a workbook's other sheets (a pivot summary put first: acceptance T3)
            out.warnings.append(DataWarning("skipped-sheet", "", str(path), template=why.template, params=why.params))
        if pages:  # the other pages of this file's listing (deals_page2.json): one table when they fit (W4)
            raw = self._join_pages(path, raw, raw_table, pages)
        if self.header_names.names:  # columns headed by API keys, named by the dump's field lists (dealFields.csv)
            raw = self._named_headers(path, raw)
        found = lookups.match(self.profile, path, raw)
        if found is not None:  # names the ids of a deal field: read after the deals
            self.lookups.append(found)
            return
        entity = mapping.detect_entity(self.profile, path, raw.headers)
        provisional = path == self.deals_file and entity in (None, "deals")
        entity = "deals" if provisional else entity
        unfit = mapping.unfit_msg(self.profile, entity, raw.headers) if entity is not None and not provisional else None
        if unfit is not None and self.named and entity not in self.seen and mapping.detect_entity(self.profile, path, []) == entity:
            self.tentative[entity] = (path, unfit, raw.headers)  # init: named like the entity, its headers in a language
            provisional, unfit = True, None  # the profile lacks — until a file of the entity's own columns comes
        elif entity in self.tentative and unfit is None:
            self._drop_tentative(entity)
        near = near_columns.near_entity(self.profile, raw.headers) if entity is None else None
        if near is not None:  # the entity's columns but for a required one (an id labelled otherwise): say so (J3)
            self.unfit.setdefault(near, []).append((path, mapping.unfit_msg(self.profile, near, raw.headers)))
            out.warnings.append(DataWarning("unknown-file", "", str(path), template=N_("has the {entity} file's columns, but {why}; ignored"),
                                            params={"entity": near, "why": self.unfit[near][-1][1]}))
        if entity is None or unfit is not None:  # not an entity of the profile, whatever its name: ignored, never fatal
            readers.drop_raw(con, raw_table)
            if unfit is not None:
                self.unfit.setdefault(entity, []).append((path, unfit))
                out.warnings.append(DataWarning("unknown-file", "", str(path), template=N_("named like the {entity} file, but {why}; ignored"),
                                                params={"entity": entity, "why": unfit}))
            elif near is None:
                out.warnings.append(DataWarning("unknown-file", "", str(path), template=NOT_RECOGNISED))
            out.unknown_files.append((path, raw.headers))
            return
        if entity in self.seen and entity not in self.shared and self._lookalike_ignored(entity, path, raw_table):
            return
        if entity in self.seen and entity not in self.shared:  # said with every other entity's twin after the last file
            readers.drop_raw(con, raw_table)
            self.duplicates += file_problem(path, N_("two {entity} files: {first} and {second}; keep one of them in the export "
                                                     "folder"), "duplicate-file",
                                            {"entity": entity, "first": self.seen[entity].name, "second": path.name}).problems
            return
        if entity in self.shared:  # a file of its own replaces the rows read from another entity's file
            prev = out.entities.pop(entity)
            del self.shared[entity]
            out.warnings.append(DataWarning("rows-skipped", "", str(prev.file), template=N_("{n} row(s) ({where}) skipped: the {entity} are read from {file}"),
                                            params={"n": prev.rows, "where": prev.rows_where, "entity": entity, "file": path.name}))
        self.seen[entity] = path
        try:
            feeds, warns = mapping.shared_with(con, self.profile, entity, raw, self.seen)
            out.unsplit.update(_unsplit(con, self.profile, entity, raw, [*self.seen, *feeds]))
            for other in feeds:  # the same file holds rows of other entities (`rows_where`)
                out.entities[other], self.shared[other] = self._map(other, raw, shared=True)
                self.seen[other] = path
            out.entities[entity], more = self._map(entity, raw, provisional=provisional)
        except duckdb.Error as exc:
            raise _unreadable(path, exc) from None
        out.warnings.extend(warns + more)
        out.fingerprints[path.name] = raw.fingerprint or encoding.file_fingerprint(path)


#: an entity named in a message (the same words as the rules' requirements)
_ENTITY_WORDS = {"deals": Msg(N_("deals")), "organizations": Msg(N_("organizations")),
                 "persons": Msg(N_("persons (contacts)")), "activities": Msg(N_("activities (tasks)"))}


def _unsplit(con, profile: Profile, entity: str, raw: RawTable, seen) -> dict[str, Msg]:
    """The entities whose rows a file of ``entity`` would also hold (`rows_where` on the same column: amoCRM's
    contacts list, contacts and companies told apart by «Тип») yet gives none, each with why: the file has no such
    column (read whole as ``entity``), or no row of it holds the entity's values."""
    own = profile.entities[entity].rows_where
    if own is None:
        return {}
    out: dict[str, Msg] = {}
    for other, spec in profile.entities.items():
        rw = spec.rows_where
        if other == entity or other in seen or rw is None or not {mapping.hkey(h) for h in rw.headers} & {mapping.hkey(h) for h in own.headers}:
            continue
        col = mapping.rows_where_column(spec, raw.headers)
        params = {"file": raw.path.name, "entity": _ENTITY_WORDS.get(other, other), "loaded": _ENTITY_WORDS.get(entity, entity)}
        if col is None:
            out[other] = Msg(N_("{file} is read whole as {loaded}: it has no column «{columns}» telling the {entity} rows "
                                "apart, so the {entity} cannot be checked — export the list again with that column"),
                             {**params, "columns": " / ".join(dict.fromkeys(rw.headers))})
            continue
        seen_values = [r[0] for r in con.execute(f"SELECT DISTINCT c{col} FROM {raw.name} WHERE NOT is_blank(c{col}) "
                                                 f"ORDER BY 1 LIMIT 6").fetchall()]
        out[other] = Msg(N_("no row of {file} has «{column}» {values} (the column holds: {seen}), so the {entity} cannot "
                            "be checked — check that column in the export"),
                         {**params, "column": raw.headers[col], "values": " / ".join(rw.values),
                          "seen": ", ".join(f"«{v}»" for v in seen_values) or "—"})
    return out


#: What DuckDB may hold in memory for one audit (the export's tables, ``audit_deals`` and the joins that build it);
#: past it, joins and sorts spill to the run's temporary folder instead of growing the process (issue 17: 1M deals in
#: ≤ 2 GB peak RSS; DuckDB's own default is 80 % of the machine's memory). The environment variable
#: ``CRM_AUDIT_DUCKDB_MEMORY`` sets another limit ("4GB" on a big server, where spilling only costs time). Either is
#: raised to twice the largest export file (DuckDB's CSV reader takes a block as large as the file, which cannot
#: spill) and to at least :data:`_FLOOR`. Measured at 1M deals, the whole command (CPU-s · peak RSS at 1 GB / 1.5 GB /
#: unbounded): high-violation 42.6 · 1.78 / 41.6 · 2.31 / 40.2 · 2.80 GB, generator 38.2 · 1.56 / 36.2 · 2.09 /
#: 34.0 · 2.49 GB, messy 39.9 · 1.57 / 37.8 · 2.10 / 33.4 · 2.51 GB: the bound costs 6-16 % CPU, but any bound a
#: good deal above 1 GB breaks the 2 GB peak on every shape, so it stays a fixed 1 GB rather than a share of the
#: machine's memory (benchmarks/README.md, 2026-12-06 17:10-18:10).
DUCKDB_MEMORY = "1GB"
_FLOOR = 256 * 1024**2
_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def _bytes(text: str) -> int | None:
    """``"1GB"``, ``"1.5 GiB"``, ``"800MB"`` as bytes; None when it is not such a size."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if m is None or m.group(2).lower() not in _UNITS:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def memory_limit(files: list[Path]) -> int:
    """DuckDB's memory limit for an audit of ``files``, in bytes (see :data:`DUCKDB_MEMORY`)."""
    import os

    configured = _bytes(os.environ.get("CRM_AUDIT_DUCKDB_MEMORY", "")) or _bytes(DUCKDB_MEMORY) or 0
    largest = max((p.stat().st_size for p in files if p.is_file()), default=0)
    return max(configured, 2 * largest, _FLOOR)


def _bound_memory(con, tmpdir: Path, files: list[Path]) -> None:
    from crm_audit.sqltext import sql_literal

    con.execute(f"SET temp_directory = {sql_literal(str(tmpdir))}")  # spilled blocks go with the run's temporary folder
    con.execute(f"SET memory_limit = '{memory_limit(files) // 1024**2}MiB'")


def _require_deal_ids(con, deals: LoadedEntity) -> None:
    """Stop when the deals file has rows but not one deal id: an audit of 0 deals would pass silently and become
    "the previous audit" of the next run (an export that lost its ids, or the wrong column mapped as the id)."""
    if deals.rows == 0 or "id" not in deals.fields:
        return
    if con.execute(f"SELECT count(*) FROM {deals.table} WHERE id IS NOT NULL").fetchone()[0]:
        return
    raise file_problem(deals.file, N_("the deal id column «{column}» is blank in every one of its {n} rows: no deal can be "
                                      "audited; export the deals again with their ids (or map the id column in crm-audit.yaml, "
                                      "columns: deals: id:)"), "no-ids",
                       {"column": deals.fields["id"], "n": deals.rows}, column=deals.fields["id"])


#: the deal fields every audit shows (the owner groups the findings, the title names the deal): a deals file without
#: a column for one is warned by name, never audited silently as «(без ответственного)» / untitled
SHOWN_FIELDS = {
    "owner": N_("the deals file has no owner column («{header}»): every deal is counted under «(no owner)»{hint}"),
    "title": N_("the deals file has no title column («{header}»): the deals are shown without their names{hint}"),
}


def _lacking_deal_columns(out: LoadedExport, profile: Profile) -> list[DataWarning]:
    """A warning per :data:`SHOWN_FIELDS` field the deals file has no column for, with the closest unmapped column."""
    from crm_audit.engine.suggest import suggest_for_entity

    deals = out.entities["deals"]
    spec = profile.entities["deals"]
    lacking = [f for f in SHOWN_FIELDS if f in spec.fields and f not in deals.from_columns]
    if not lacking:
        return []
    found = {s.field: s.header for s in suggest_for_entity(profile, "deals", set(deals.from_columns),
                                                            [h for _c, h in deals.custom.values()], out)}
    warnings = []
    for f in lacking:
        header = profile.header_in("deals", f, [h for h in [*deals.fields.values(), *(h for _c, h in deals.custom.values())] if h])
        hint = (Msg(N_("; is it «{column}»? If so, map it in crm-audit.yaml: columns: {{deals: {{{field}: {column}}}}}"),
                    {"column": found[f], "field": f}) if f in found else
                Msg(N_("; map the team's column in crm-audit.yaml: columns: {{deals: {{{field}: <header>}}}}"), {"field": f}))
        warnings.append(DataWarning(f"no-{f}-column", "", str(deals.file), None, None, template=SHOWN_FIELDS[f],
                                    params={"header": header, "hint": hint}))
    return warnings


def _bad_cells_hint(errors: list[InputError]) -> str:
    """What to do about the cells of every file that do not read: the values hint (it ends with the other's advice)
    where a cell of a field with a set of values is among them."""
    hints = {e.hint for e in errors}
    return mapping.VALUES_HINT if mapping.VALUES_HINT in hints else next(iter(hints), "")


def load_export(directory: str | Path, profile: Profile, on_bad_value: str = "error", con=None, as_of: dt.date | None = None,
                deals_file: Path | None = None, named: bool = False) -> LoadedExport:
    """Find, read, map and parse the export files in ``directory``.

    ``as_of`` (default today) dates the «days since» columns (`from_days`); ``deals_file``: a file read as the deals
    though no header of it is known (init's guess, :mod:`crm_audit.engine.deals_file`): its columns are told by values;
    ``named`` (init): a file named like an entity (the profile's ``files:``) is read as it though it lacks the entity's
    required columns or none of its headers is known (a tasks / companies export in a language the profile does not
    have: acceptance R2 / R8), its columns told by values too."""
    import duckdb

    from crm_audit.engine import sqlfuncs

    d = Path(directory)
    if not d.exists():
        raise file_problem(d, N_("the export directory does not exist"), "not-found", {})
    json_lookups = lookups.json_files(profile, d)  # users.json, pipelines.json: read as lists of names below
    files = [p for p in readers.export_files(d) if p not in json_lookups]
    if not files:
        raise file_problem(d, N_("no export files (CSV, XLSX or JSON) found; expected {files}"), "no-files",
                           {"files": ", ".join(f"{spec.files[0] if spec.files else name}.csv"
                                               for name, spec in profile.entities.items())})
    own_con = con is None
    tmp = tempfile.TemporaryDirectory(prefix="crm-audit-")
    if own_con:
        con = duckdb.connect()
        _bound_memory(con, Path(tmp.name), files)
        sqlfuncs.install(con)
    out = LoadedExport(con, d, {}, _tmp=tmp, profile=profile)
    loader = None
    try:
        loader = _Loader(con, out, profile, on_bad_value, Path(tmp.name), deals_file)
        loader.named = named
        loader.header_names = lookups.header_names(con, profile, files, lambda p: _read_raw(con, p, "raw_header_list", Path(tmp.name)))
        loader.header_sources = [p.name for p in files if lookups.is_header_list(profile, p)]
        bad_cells: list[InputError] = []  # cells that do not read (`on_bad_value: error`): every file's at once
        groups = pages_mod.page_groups(files)  # deals_page1.json + deals_page2.json: tried as one listing (W4)
        todo = [(path, f"raw_{i}", groups.get(path)) for i, path in enumerate(files)
                if not any(path in more for more in groups.values())]
        for path, table, more in todo:
            try:
                loader.read(path, table, more)
            except InputError as exc:  # the twins found so far are said with it
                if exc.problems and all(p.reason == "bad-value" for p in exc.problems):
                    bad_cells.append(exc)
                    continue
                if loader.duplicates:
                    raise InputError(problems=[*loader.duplicates, *exc.problems], hint=exc.hint) from None
                raise
            finally:  # files named as its pages that are not: read on their own (the «two files» error)
                todo += [(p, f"{table}_l{k}", None) for k, p in enumerate(loader.left)]
                loader.left = []
        if loader.duplicates or bad_cells:
            raise InputError(problems=[*loader.duplicates, *(p for exc in bad_cells for p in exc.problems)],
                             hint=_bad_cells_hint(bad_cells))
        for i, path in enumerate(json_lookups):  # an API's list dumped as JSON (users.json)
            raw = lookups.read_json(con, path, f"raw_json_{i}", lookups.json_nests(profile))
            found = lookups.match(profile, path, raw) if raw is not None else None
            if found is not None:
                loader.lookups.append(found)
            elif raw is not None:
                readers.drop_raw(con, raw.name)
        for warns in loader.shared.values():
            out.warnings.extend(warns)
        # one date order for the export: a file whose dates fit both orders reads as another file proves (M1)
        out.date_order, out.warnings = mapping.settle_date_order(con, out.entities, profile, out.warnings)
        out.warnings += lookups.apply(con, out.entities, profile, loader.lookups)
        if "deals" in out.entities:
            unlinked = linking.keyless_deals(con, out.entities, profile)  # no deal ids: keys derived (L10)
            out.derived = derived.derive_from_deals(con, out.entities, profile)  # the deals' rows name them (issue 13 O4)
            out.warnings += linking.link_by_name(con, out.entities, profile)
            how, out.set_aside, unlinked_files = derived.fall_back_unlinked(con, out.entities, profile)  # R13
            out.derived.update(how)
            out.warnings += unlinked_files
            unlinked = unlinked or linking.unlinked_activities(con, out.entities)
            if unlinked is not None:
                out.unlinked["activities"] = unlinked
                out.warnings.append(DataWarning("unlinked-tasks", "", str(out.entities["activities"].file),
                                                template=unlinked.template, params=unlinked.params))
        out.warnings += mapping.dates_from_days(con, out.entities, profile, as_of or dt.date.today(), on_bad_value)
        out.warnings += mapping.dates_from_stage_columns(con, out.entities, profile, on_bad_value)
        if "deals" in out.entities:
            _require_deal_ids(con, out.entities["deals"])
            out.warnings += _lacking_deal_columns(out, profile)
        if "deals" not in out.entities:
            unfit = loader.unfit.get("deals")
            if unfit:  # a file named like the deals that lacks their columns: say what it lacks
                raise InputError(problems=[Problem(template=why.template, params=why.params, file=str(p), row=1, reason="missing-column")
                                           for p, why in unfit])
            near = near_columns.closest_file(profile, "deals", out.unknown_files)
            if near is not None:  # the file nearest to a deals file: what it lacks and how to map it (J3)
                spec = profile.entities["deals"]
                headers = dict(out.unknown_files)[near.path]
                lacking = ", ".join(f"«{profile.header_in('deals', f, headers, prefixed=False)}» ({f})" for f in near.lacking)
                raise InputError(problems=[Problem(
                    template=N_("no deals file found; the nearest is this file ({n} of its columns are deal fields), but it has no "
                                "column for {lacking}: if it has them under other names, map them in crm-audit.yaml (columns: "
                                "{{deals: {{{field}: <header>}}}}); found columns: {found}"),
                    params={"n": near.mapped, "lacking": lacking, "field": (near.lacking or spec.signature_fields())[0],
                            "found": mapping._found_columns(headers)},
                    file=str(near.path), row=1, reason="no-deals")])
            raise InputError(
                problems=[Problem(template=N_("no deals file found (deals.csv / deals.xlsx, or a file with deal headers)"),
                                  file=str(d), reason="no-deals")]
            )
    except BaseException as exc:
        out.close()
        if own_con:
            con.close()
        if isinstance(exc, InputError) and loader is not None and loader.page_spans:
            out.page_spans = loader.page_spans
            raise type(exc)(problems=out.on_own_page(exc.problems), hint=exc.hint) from None
        raise
    out.page_spans = loader.page_spans
    out.warnings = out.on_own_page(out.warnings)
    return out


__all__ = ["DATA_SUFFIXES", "ENTITIES", "LoadedEntity", "LoadedExport", "RawInfo", "load_export", "peek_headers"]
