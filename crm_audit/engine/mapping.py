"""Map a raw table to the canonical table of its entity, as the CRM profile says.

A profile (``crm_audit/profiles/*.yaml``) names, for each entity, the export
headers of every canonical field, their types and parse rules. Mapping one raw
table (:class:`~crm_audit.engine.readers.RawTable`) is a :class:`MapJob` run in
steps: match the headers to fields (:func:`match_columns`), refuse a file that
lacks a required column, settle the file's date order, build one SQL
projection (:func:`project`), create the entity's table from it (report footer
lines and rows of other entities left out), and report the cells that do not
parse with file, row, column and the raw value.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from crm_audit.engine import amounts, status_checks
from crm_audit.engine.footer_lines import footer_sql
from crm_audit.engine.grouped import fill_down
from crm_audit.engine.profile import EntitySpec, FieldSpec, Profile, hkey
from crm_audit.engine.readers import RawInfo, RawTable, drop_raw
from crm_audit.errors import InputError, Msg, Problem
from crm_audit.i18n import N_
from crm_audit.report import DataWarning
from crm_audit.sqltext import sql_literal
from crm_audit.textnorm import WS_CLASS, norm

#: what a cell of a type must be (msgids: made in the language they are shown in)
TYPE_EXPECTED = {
    "number": N_("a number such as 1500, 1 500,00 or 1500.50"),
    "date": N_("a date such as 2026-11-20, 2026-11-20 10:00:00 or 20.11.2026"),
}
DATE_EXPECTED_MDY = N_("a date such as 2026-11-20, 11/20/2026 or 20.11.2026")
#: what a date field with `formats:` also takes
FORMAT_EXPECTED = {"unix": N_("a unix time in seconds such as 1795166400"), "unix_ms": N_("a unix time in milliseconds such as 1795166400000")}
MAX_REPORTED = 5
#: a date format of the profile (`formats:`) -> (the digits of such a cell, microseconds per unit):
#: unix seconds from 2001-09-09 to 2286, milliseconds likewise; shorter numbers stay Excel serials or bad values
UNIX_DIGITS = {"unix": ("10", 1_000_000), "unix_ms": ("13", 1_000)}
BAD_VALUE_HINT = N_("Fix the cells in the export (or set `on_bad_value: warn` in crm-audit.yaml to treat them as empty).")
#: … when a cell of a field with a set of values (the status, a task's done) is among them: they may be the CRM's own
#: words in an interface language the profile does not know
VALUES_HINT = N_("If these are your CRM's own words for the field's values (an interface language the profile does not "
                 "know), write what each means under `values:` in crm-audit.yaml — `crm-audit init --from-export DIR "
                 "--force` writes them from the export's own data, for you to confirm; else fix the cells in the export (or "
                 "set `on_bad_value: warn` in crm-audit.yaml to treat them as empty).")
#: one line per column of a field with a set of values holding texts no value names (`on_bad_value: warn`): each text
#: and its rows, and the `values:` line that maps them
UNMAPPED_VALUES = N_("cell texts of {field} that no value of the profile or of values: names (rows of each): {values} — "
                     "read as blank. If they are your CRM's own words (an interface language the profile does not know), "
                     "write what each means in crm-audit.yaml: {example}")
#: how many distinct texts :data:`UNMAPPED_VALUES` names
UNMAPPED_SHOWN = 10
#: a cell that does not read, as a warning (`on_bad_value: warn`: the run goes on without it)
UNKNOWN_VALUE_WARN = N_("unknown value «{value}» (expected one of: {known}); the cell is treated as empty")
BAD_VALUE_WARN = N_("cannot read «{value}»: expected {expected}; the cell is treated as empty")
BAD_DAYS_WARN = N_("cannot read «{value}»: expected a number of days; the cell is treated as empty")
YES_NO_WARN = N_("unknown yes/no value «{value}»: expected one of: {expected}; the cell counts as not yes")
#: a cell of an API dump's enum / set field holding an option id its field list (crm.deal.fields.json' items,
#: dealFields.json's options) does not list — an option deleted or the field changed since the list was saved
UNKNOWN_OPTION = N_("option id «{value}» is not among the field's options in {source} (expected one of: {known})")
UNKNOWN_OPTION_WARN = N_("option id «{value}» is not among the field's options in {source} (expected one of: {known}); "
                         "the cell is treated as empty")
OPTION_HINT = N_("The field list is older than the data (an option deleted or the field changed since it was saved): "
                 "save the field list again together with the data, or set `on_bad_value: warn` in crm-audit.yaml to treat "
                 "these cells as empty.")
#: the same cells as `run` meets them under `on_bad_value: error`: it stops. `inspect` reads the export with `warn` to
#: list every such cell, then says what the settings in force will do (:func:`as_run_stops`)
RUN_STOPS_ON = {
    UNKNOWN_VALUE_WARN: N_("unknown value «{value}» (expected one of: {known}); `run` stops on it (on_bad_value: error)"),
    BAD_VALUE_WARN: N_("cannot read «{value}»: expected {expected}; `run` stops on it (on_bad_value: error)"),
    BAD_DAYS_WARN: N_("cannot read «{value}»: expected a number of days; `run` stops on it (on_bad_value: error)"),
    YES_NO_WARN: N_("unknown yes/no value «{value}»: expected one of: {expected}; `run` stops on it (on_bad_value: error)"),
    UNKNOWN_OPTION_WARN: N_("option id «{value}» is not among the field's options in {source} (expected one of: {known}); "
                            "`run` stops on it (on_bad_value: error)"),
    UNMAPPED_VALUES: N_("cell texts of {field} that no value of the profile or of values: names (rows of each): {values} — "
                        "`run` stops on them (on_bad_value: error). If they are your CRM's own words (an interface language "
                        "the profile does not know), write what each means in crm-audit.yaml: {example}"),
}


def as_run_stops(w: DataWarning) -> DataWarning | None:
    """A bad-value warning (read with `on_bad_value: warn`) as `run` meets the cell under `on_bad_value: error` (the
    audit stops on it); None for any other warning."""
    from dataclasses import replace

    stop = RUN_STOPS_ON.get(w.template or "")
    return None if stop is None else replace(w, message="", template=stop)


@dataclass(frozen=True)
class ListedColumn:
    """A deals column no field is read from whose ids a lookup file of the export names (`lookups:` `columns:`)."""

    header: str  # the export's header
    files: tuple[str, ...]  # the lookup files naming its ids
    named: int  # of its distinct ids, how many the files name
    total: int
    examples: tuple[str, ...]  # a few of its ids


@dataclass
class LoadedEntity:
    entity: str
    file: Path
    table: str
    rows: int
    fields: dict[str, str]  # canonical field -> export header used
    custom: dict[str, tuple[str, str]]  # norm(name) -> (sql column, export header)
    ignored: list[str] = field(default_factory=list)
    # norm(export header) -> canonical field it fed (a rule may name a
    # mapped column by its export name: amoCRM's «Бюджет» is the deal value)
    header_fields: dict[str, str] = field(default_factory=dict)
    typed: set[str] = field(default_factory=set)  # parsed fields (keep a "<name>__raw" text column)
    raw: RawInfo | None = None
    rows_where: Msg | None = None  # the file's rows this entity is (`rows_where`), made in the language it is shown in
    # canonical fields read from the file's own columns (not a default, a link by name or a derived status)
    from_columns: set[str] = field(default_factory=set)
    # the settings' `on_bad_value` the file was read with: a value checked later (a yes/no field) obeys it too
    on_bad_value: str = "error"
    # an API dump's ids of a field (stage / pipeline) as found in this file -> their names, None where no
    # list names them (see crm_audit/engine/lookups.py); with where the names came from
    ids: dict[str, dict[str, str | None]] = field(default_factory=dict)
    ids_source: dict[str, str] = field(default_factory=dict)
    # field -> the names the profile's `known` defaults alone gave this file's ids (no dumped list nor the settings named
    # them: Bitrix24's «C2:PREPARATION» as «Подготовка документов»), which the team may have renamed — a guess (W1)
    default_named: dict[str, set[str]] = field(default_factory=dict)
    # field -> a column of the lookup's `columns:` the field is not read from, whose ids a list of the export names
    # (Salesforce's RecordTypeId named by RecordType.csv): what `crm-audit init` maps (:class:`ListedColumn`)
    listed: dict[str, "ListedColumn"] = field(default_factory=dict)
    # the CRM's own (pipeline, stage, sort order, won / lost / None) from a dumped list naming both: stages no deal
    # is in included
    catalog: list[tuple[str, str, float | None, str | None]] = field(default_factory=list)
    # the stage list names no pipeline while the deals have several (Salesforce's OpportunityStage, record types as
    # pipelines): each pipeline's `catalog` stages are only those its deals are in
    catalog_by_deals: bool = False
    # how a rule reads a custom text field of this file as a number when a value reads either way (15.000, 1,500)
    decimal_mark: str = amounts.DEFAULT_MARK
    # how each number column's decimal mark was decided (`crm-audit init` proposes `decimal_mark:` from them)
    column_marks: list[amounts.ColumnMark] = field(default_factory=list)
    # canonical field -> how it is fed beyond its column (`fields` holds the header alone): «status from the stage»,
    # «names from stages.csv», «no column: «»» — texts made in the language they are shown in (inspect)
    notes: dict[str, list[Msg]] = field(default_factory=dict)
    # the file's date order as read (d/m/y or m/d/y): a date made after the mapping (`per_stage`) reads its cells so too
    date_order: str = "dmy"
    # canonical field -> the per-stage columns it is read from (FieldSpec.per_stage: HubSpot's `Date entered "…"`)
    per_stage: dict[str, list[str]] = field(default_factory=dict)
    # canonical field -> the per-stage columns its own column's blank cells are read from («Date entered current
    # stage» blank: the deal's `Date entered "<stage> (<pipeline>)"`, acceptance P8)
    per_stage_blank: dict[str, list[str]] = field(default_factory=dict)
    # what the file's slash dates showed about their order (:func:`settle_date_order` reads a file whose dates fit
    # both orders as another file of the export proves), and the note said about it (replaced when settled so)
    date_evidence: "DateEvidence | None" = None
    date_note: DataWarning | None = None
    # the file had no id column: each record's id was derived from these fields' values (EntitySpec.row_key, L10)
    row_key: list[str] = field(default_factory=list)
    # the entity prefix the file's headers carry in an interface language the profile does not know («取引 - »:
    # EntitySpec.file_prefix), None when they carry a known one or none
    own_prefix: str | None = None

    def note(self, name: str, msg: Msg) -> None:
        self.notes.setdefault(name, []).append(msg)

    def column_for(self, name: str) -> str | None:
        """SQL column of a canonical field or custom field (by export name)."""
        if name in self.fields:
            return name
        hit = self.custom.get(norm(name))
        if hit:
            return hit[0]
        canon = self.header_fields.get(norm(name))
        if canon is not None and canon in self.fields:
            return f"{canon}__raw" if canon in self.typed else canon
        return None


def _words(text: str) -> list[str]:
    import re

    return [t for t in re.split(r"[^0-9a-zа-яё]+", norm(text)) if t]


def _stem_tokens(path: Path) -> set[str]:
    return set(_words(path.stem))


def name_in_stem(path: Path, names) -> bool:
    """Whether the file is named as one of ``names`` (a profile's `files:`), whole or as words of its name in a row,
    whatever separates them: «crm.status.list.json» is the list named crm_status_list, «amocrm_export_leads_2026-11-20.csv»
    the leads, «user.get.json» the users (W1)."""
    stem, words = norm(path.stem), _words(path.stem)
    for name in names:
        want = _words(name)
        if stem == norm(name) or (want and any(words[i:i + len(want)] == want for i in range(len(words) - len(want) + 1))):
            return True
    return False


def named_entity(profile: Profile, path: Path) -> str | None:
    """The entity whose file name (the profile's `files:`) the file has, whole or as words of it
    (amocrm_export_leads_2026-11-20.csv, crm.deal.list.json); None when no entity's or two entities' names."""
    stem = norm(path.stem)
    for name, spec in profile.entities.items():
        if stem in {norm(f) for f in spec.files}:
            return name
    by_token = [name for name, spec in profile.entities.items() if name_in_stem(path, spec.files)]
    return by_token[0] if len(by_token) == 1 else None


def other_object(profile: Profile, path: Path) -> bool:
    """True when the file is named as one of the CRM's objects the audit does not read (the profile's `other_files:`,
    Salesforce's Lead.csv): ignored whatever its headers resemble."""
    return norm(path.stem) in {norm(f) for f in profile.other_files}


def files_with_entity(export_dir, profile: Profile):
    """(file, its headers, the entity the profile tells by them or None) of every export file whose headers can be
    read (a file that cannot be read is left to the loader, which names it)."""
    from crm_audit.engine.readers import export_files, peek_headers
    from crm_audit.errors import CrmAuditError

    for path in export_files(export_dir):
        try:
            headers = peek_headers(path)
        except CrmAuditError:
            continue
        yield path, headers, detect_entity(profile, path, headers)


def detect_entity(profile: Profile, path: Path, headers: list[str]) -> str | None:
    """Which entity of the profile a file holds: by its name, else by its headers (None: not recognised)."""
    named = named_entity(profile, path)
    if named is not None:
        return named
    # by prefix: most headers carry the entity's prefix
    best = (0, None)
    for name, spec in profile.entities.items():
        hits = sum(1 for h in headers if spec.strip_prefix(h)[1])
        if hits > best[0]:
            best = (hits, name)
    if best[1] and best[0] * 2 >= len([h for h in headers if h.strip()]):
        return best[1]
    # by signature fields: the entity with the most mapped headers
    found = (0, None)
    for name, spec in profile.entities.items():
        idx = spec.header_index()
        own = spec.file_prefix(headers)
        mapped = [idx.get(hkey(spec.strip_prefix(h, own)[0])) for h in headers]
        have = {m for m in mapped if m}
        # a file's id column is needed where the entity's id is (a task report has none: it is read by its signature),
        # unless the ids are derived from the row's content (EntitySpec.row_key, L10)
        id_needed = "id" in spec.fields and spec.fields["id"].required
        if spec.signed_by(have) and ("id" in have or not id_needed or spec.keyless(have)):
            if len(have) > found[0]:
                found = (len(have), name)
    return found[1] or _entity_by_shape(profile, headers)


@lru_cache(maxsize=None)
def file_shapes() -> dict[str, tuple[frozenset[str], ...]]:
    """entity -> the header sets a file of it has all of, whatever its name (``file_shapes.yaml``), as header keys."""
    from crm_audit import resources

    data = resources.data_file(Path(__file__).parent / "file_shapes.yaml") or {}
    return {e: tuple(frozenset(hkey(h) for h in shape) for shape in shapes) for e, shapes in data.items()}


def _entity_by_shape(profile: Profile, headers: list[str]) -> str | None:
    """The entity of the profile whose shape (:func:`file_shapes`) the headers have; None when none or two do."""
    have = {hkey(h) for h in headers}
    hits = [e for e, shapes in file_shapes().items() if e in profile.entities and any(s <= have for s in shapes)]
    return hits[0] if len(hits) == 1 else None


#: a file named like an entity none of whose columns is one of its fields
NO_FIELD_OF = {
    "deals": N_("none of its columns is a deal field; found columns: {found}"),
    "organizations": N_("none of its columns is an organization field; found columns: {found}"),
    "persons": N_("none of its columns is a person field; found columns: {found}"),
    "activities": N_("none of its columns is an activity field; found columns: {found}"),
}


def unfit_reason(profile: Profile, entity: str, headers: list[str]) -> str | None:
    """Why a file taken for ``entity`` (by its name) cannot be that entity: it lacks a
    required column, or no column of it maps to a field (None: it fits)."""
    why = unfit_msg(profile, entity, headers)
    return None if why is None else why.text()


def unfit_msg(profile: Profile, entity: str, headers: list[str]) -> Msg | None:
    """:func:`unfit_reason` as a msgid and its values."""
    spec = profile.entities[entity]
    m = match_columns(spec, headers)
    for name in spec.missing_required(m.by_field):
        return missing_required_msg(profile, spec, entity, name, headers)
    # a file named as the entity, under one prefix in a language the profile does not know («거래 - ID», «거래 - 단계» …;
    # «Aktivitet - ID», «Aktivitet - Udført» of a Danish activities.csv) whose id is found is that entity's file: its
    # other columns are told by their values (crm_audit/engine/value_guess.py). A file without such a prefix and one
    # field alone is not (M3: an activities file whose headers no language of the profile names is said unrecognised)
    own_id = bool(m.own_prefix) and "id" in m.by_field and "id" in spec.fields and len(headers) >= 3
    if len([f for f in m.by_field if f != "id"]) == 0 and not own_id:
        return Msg(NO_FIELD_OF.get(entity, NO_FIELD_OF["deals"]), {"found": _found_columns(headers)})
    return None


def _found_columns(headers: list[str]) -> str:
    """The file's headers for a message: whole headers up to about 400 characters (never half of one), then «…»."""
    named = [h for h in headers if h.strip()]
    shown = [h for k, h in enumerate(named) if len(", ".join(named[:k + 1])) <= 400]
    return ", ".join(shown) + (", …" if len(shown) < len(named) else "")


def _text_expr(cols: list[str], join: str | None = None) -> str:
    if len(cols) == 1:
        return cols[0]
    if join is not None:
        parts = ", ".join(f"CASE WHEN is_blank({c}) THEN NULL ELSE strip({c}) END" for c in cols)
        return f"nullif(concat_ws({sql_literal(join)}, {parts}), '')"
    # duplicate headers: the first non-blank value of the row
    parts = " ".join(f"WHEN NOT is_blank({c}) THEN {c}" for c in cols)
    return f"CASE {parts} ELSE {cols[0]} END"


def _sql_list(values: list[str]) -> str:
    return ", ".join(sql_literal(norm(v)) for v in values) or "NULL"


def _typed_expr(spec, raw: str, date_order: str = "dmy", decimal_mark: str = amounts.DEFAULT_MARK) -> str:
    if spec.type == "id":
        return f"parse_id({raw})"
    if spec.type == "number":  # `decimal_mark`: how a cell that reads either way (15.000, 1,500) is read
        return f"parse_num_m({raw}, {sql_literal(decimal_mark)})"
    if spec.type == "date":
        parsed = f"parse_date_mdy({raw})" if date_order == "mdy" else f"parse_date({raw})"
        for fmt in reversed(spec.formats):  # a whole number of seconds (milliseconds) since 1970-01-01 UTC
            digits, scale = UNIX_DIGITS[fmt]
            whole = f"regexp_full_match(strip({raw}), '[0-9]{{{digits}}}')"
            parsed = (f"CASE WHEN {whole} THEN CAST(make_timestamp(TRY_CAST(strip({raw}) AS BIGINT) * {scale}) AS DATE) "
                      f"ELSE {parsed} END")
        return parsed
    if spec.type == "enum":
        whens = " ".join(f"WHEN norm({raw}) IN ({_sql_list(vals)}) THEN {sql_literal(key)}" for key, vals in spec.values.items())
        return f"CASE {whens} ELSE NULL END" if whens else "NULL"
    if spec.type == "bool":
        t = _sql_list(spec.values.get("true", []))
        f = _sql_list(spec.values.get("false", []))
        return f"CASE WHEN norm({raw}) IN ({t}) THEN TRUE WHEN norm({raw}) IN ({f}) THEN FALSE ELSE NULL END"
    return raw


def _without_empty_values(raw_table: str, n: int, empty: list[str] | None) -> str:
    """The raw table with every cell holding one of the profile's `empty_values` («(No value)») read as blank.

    Once per cell, in a projection under the typed expressions: the parsers' macros name their argument many times,
    and a CASE in its place made the expression (and the time to bind and run it) grow many times over (issue 17)."""
    if not empty or not n:
        return raw_table
    cases = ", ".join(f"CASE WHEN norm(c{i}) IN ({_sql_list(empty)}) THEN NULL ELSE c{i} END AS c{i}" for i in range(n))
    return f"(SELECT * REPLACE ({cases}) FROM {raw_table}) AS {raw_table}"


def _raw_expr(fs, cols: list[str], fallback: list[str] | None = None) -> str:
    raw = _text_expr(cols, fs.join) if cols else None
    if fallback:  # `fallback` columns: for a row whose own columns are blank (or absent)
        fb = _text_expr(fallback, fs.fallback.join)
        raw = fb if raw is None else f"CASE WHEN is_blank({raw}) THEN {fb} ELSE {raw} END"
    if fs.split and not fs.many:
        raw = f"first_item({raw}, {sql_literal(fs.split)})"
    if fs.remove:
        raw = f"nullif(strip(regexp_replace({raw}, {sql_literal(fs.remove)}, '', 'g')), '')"
    if fs.null_values:
        raw = f"CASE WHEN norm({raw}) IN ({_sql_list(fs.null_values)}) THEN NULL ELSE {raw} END"
    return raw


def _slash_count(col: str, part: int) -> str:
    """SQL: how many cells of ``col`` are slash dates whose ``part`` (1 or 2) is above 12."""
    return _guarded_count(col, _part_above_12(col, part))


def _guarded_count(col: str, test: str) -> str:
    """SQL: how many cells of ``col`` pass ``test``, a test only a slash date can pass.

    A cheap anchored prefix test (at most a few characters read) guards the
    strip and the patterns of ``test``, which then run only on the few cells
    that can be slash dates (ISO dates fail at their third digit); a CASE, since
    DuckDB evaluates both sides of an AND in an aggregate's filter."""
    return f"count(*) FILTER (WHERE CASE WHEN regexp_matches({col}, '^{WS_CLASS}*[0-9]{{1,2}}[/-]') THEN {test} ELSE FALSE END)"


_TWELVE_HOUR = r"'^[0-9]{1,2}[/-][0-9]{1,2}[/-]([0-9]{4}|[0-9]{2})[ T,]+[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?[ ]*[AaPp]\.?[Mm]\.?$'"


@dataclass
class DateEvidence:
    """What a file's slash dates (25/11/2026, 11/25/2026) say about their order, counted in one pass
    (:func:`_date_order`): cells whose first part is above 12 (``day_first``), whose second part is
    (``month_first``), every slash date (``slash``) and those on a 12-hour clock (``twelve_hour``); a cell that
    shows it (``example``) and its column's header (``column``)."""

    day_first: int = 0
    month_first: int = 0
    slash: int = 0
    twelve_hour: int = 0
    example: str | None = None
    column: str | None = None

    @property
    def proves(self) -> str | None:
        """The order the cells themselves prove: "dmy" / "mdy" from a day above 12 in one position only, "mdy" from
        a 12-hour clock when no day is above 12; None: no slash date, values that fit both, or both kinds."""
        if self.day_first and not self.month_first:
            return "dmy"
        if self.month_first and not self.day_first:
            return "mdy"
        if not self.day_first and not self.month_first and self.slash and self.twelve_hour:
            return "mdy"
        return None

    @property
    def strength(self) -> int:
        """2: a day above 12 proves the order; 1: only a 12-hour clock suggests it; 0: nothing."""
        if self.proves is None:
            return 0
        return 2 if self.day_first or self.month_first else 1

    @property
    def ambiguous(self) -> bool:
        """Slash dates that read either way, nothing in the file telling which."""
        return bool(self.slash) and not self.day_first and not self.month_first and not self.twelve_hour


def _first_cell(con, raw_table: str, cols: list[str], headers: list[str], test) -> tuple[str | None, str | None]:
    """The first cell (row by row, column by column) of ``cols`` passing ``test`` (a function of the cell's SQL) and
    its column's header; (None, None) when none does. Stops at the first hit."""
    if not cols:
        return None, None
    hit = con.execute(
        f"SELECT k, strip(x) FROM (SELECT unnest([{', '.join(cols)}]) AS x, unnest(range({len(cols)})) AS k "
        f"FROM {raw_table}) WHERE {test('x')} LIMIT 1").fetchone()
    return (None, None) if hit is None else (hit[1], headers[hit[0]])


def _part_above_12(x: str, part: int) -> str:
    """SQL: the cell ``x`` is a slash date whose ``part`` (1 or 2) is above 12."""
    group = "([0-9]{1,2})[/-]" if part == 1 else "[0-9]{1,2}[/-]([0-9]{1,2})"
    return f"is_slash_date({x}) AND TRY_CAST(regexp_extract(strip({x}), '^{group}', 1) AS INTEGER) > 12"


#: the notes of a file whose own cells settle its date order against the profile's usual one
PROVEN_NOTE = {
    "dmy": N_("dates are written day first (such as «{example}» in «{column}»); read as day/month/year"),
    "mdy": N_("dates are written month first (such as «{example}» in «{column}»); read as month/day/year"),
}
#: the note of a file whose dates fit both orders when another file of the export settles it (:func:`settle_date_order`)
FROM_EXPORT_NOTE = {
    "dmy": N_("dates such as «{example}» fit both day/month and month/day (no day above 12); read as day/month/year, "
              "as {file} writes them («{proof}» in «{column}»)"),
    "mdy": N_("dates such as «{example}» fit both day/month and month/day (no day above 12); read as month/day/year, "
              "as {file} writes them («{proof}» in «{column}»)"),
}
#: a file whose own cells prove the other order than the rest of the export: read its own way, said
CONFLICT_NOTE = {
    "dmy": N_("dates are written day first here (such as «{example}» in «{column}»), but month first in {file} "
              "(«{proof}» in «{other_column}»): each file is read in its own order — check that the files come from one export"),
    "mdy": N_("dates are written month first here (such as «{example}» in «{column}»), but day first in {file} "
              "(«{proof}» in «{other_column}»): each file is read in its own order — check that the files come from one export"),
}


def _date_order(con, raw_table: str, cols: list[str], default: str, fixed: bool = False,
                headers: list[str] | None = None) -> tuple[str, tuple[str, dict[str, str]] | None, DateEvidence]:
    """The file's d/m/y vs m/d/y order, from values such as 25/11/2026; a note when it was taken from the
    values against the profile's order, or when the values could be read either way (which order was assumed,
    and the settings key that sets it) as a msgid and its values; and what the cells showed (another file of the
    export whose cells fit both orders reads as these prove: :func:`settle_date_order`). ``fixed``: the settings'
    `date_order:` — the order as given, no note. ``headers``: the header of each of ``cols`` (the note quotes it).

    One pass over the file counts the evidence; a cell quoting it is looked up (the first, so at once) only when
    the file proves or guesses an order."""
    if not cols or fixed:
        return default, None, DateEvidence()
    headers = headers or cols
    first = " + ".join(_slash_count(c, 1) for c in cols)
    second = " + ".join(_slash_count(c, 2) for c in cols)
    slash = " + ".join(_guarded_count(c, f"is_slash_date({c})") for c in cols)
    twelve = " + ".join(_guarded_count(c, f"regexp_matches(strip({c}), {_TWELVE_HOUR})") for c in cols)
    a, b, n, h = con.execute(f"SELECT {first}, {second}, {slash}, {twelve} FROM {raw_table}").fetchone()
    ev = DateEvidence(a or 0, b or 0, n or 0, h or 0)
    proves = ev.proves
    if proves is not None and ev.strength == 2:
        ev.example, ev.column = _first_cell(con, raw_table, cols, headers, lambda x: _part_above_12(x, 1 if proves == "dmy" else 2))
        if proves != default:
            return proves, (PROVEN_NOTE[proves], {"example": ev.example, "column": ev.column}), ev
        return default, None, ev
    if not ev.ambiguous and proves is None:  # no slash date, or days above 12 in both positions
        return default, None, ev
    if proves is not None:  # a 12-hour clock (am / pm) is the US way of writing times: month first
        ev.example, ev.column = _first_cell(con, raw_table, cols, headers, lambda x: f"regexp_matches(strip({x}), {_TWELVE_HOUR})")
        return "mdy", (N_("dates such as «{example}» fit both day/month and month/day; their 12-hour clock (am/pm) is the US "
                          "style, so they are read as month/day/year — if they are day first, set `date_order: dmy` in crm-audit.yaml"),
                       {"example": ev.example}), ev
    # no day above 12 anywhere: the values fit both orders
    ev.example, ev.column = _first_cell(con, raw_table, cols, headers, lambda x: f"is_slash_date({x})")
    if default == "dmy":
        return default, (N_("dates such as «{example}» fit both day/month and month/day (no day above 12); read as day/month/year, "
                            "this CRM's usual order — if that is wrong, set `date_order: mdy` in crm-audit.yaml"), {"example": ev.example}), ev
    return default, (N_("dates such as «{example}» fit both day/month and month/day (no day above 12); read as month/day/year, "
                        "this CRM's usual order — if that is wrong, set `date_order: dmy` in crm-audit.yaml"), {"example": ev.example}), ev


def _decimal_marks(con, job: MapJob, m: ColumnMatch) -> tuple[dict[str, str], str, list[DataWarning], list[amounts.ColumnMark]]:
    """Each number field's decimal mark, from its cells (see :mod:`crm_audit.engine.amounts`): cells such as
    1.234,56 or 15.25 decide; when only cells such as 15.000 occur, the mark of the export's interface language
    (the language its headers are in, else the profile's own), with a note; the settings' `decimal_mark:` fixes it.
    Also the file's mark for a rule reading a custom text field as a number: its first number field's, else the
    language's."""
    profile = job.profile
    fixed = profile.decimal_mark if profile is not None else None
    languages = profile.languages_of(job.headers) if profile is not None and profile.languages else []
    language = languages[0] if languages else (profile.language if profile is not None else None)
    marks: dict[str, str] = {}
    file_mark = fixed or amounts.language_mark(language) or amounts.DEFAULT_MARK
    warnings: list[DataWarning] = []
    seen: list[amounts.ColumnMark] = []
    for name, idxs in m.by_field.items():
        if job.spec.fields[name].type != "number":
            continue
        cols = idxs + m.by_fallback.get(name, [])
        ev = amounts.gather(con, job.raw.name, [f"c{i}" for i in cols]) if fixed is None else amounts.Evidence()
        column = ", ".join(job.headers[i] for i in cols) or name
        decision = amounts.decide(ev, column, language, None, fixed)
        marks[name] = decision.mark
        seen.append(amounts.ColumnMark(column, decision.mark, amounts.language_mark(language) or amounts.DEFAULT_MARK, language,
                                       decision.how, decision.example))
        if decision.note:
            warnings.append(DataWarning(decision.code, "", str(job.path), None, column, template=decision.note[0], params=decision.note[1]))
    return marks, next(iter(marks.values()), file_mark), warnings, seen


def _footer_filter(con, raw_table: str, n: int, patterns: list[str], id_cols: list[str]) -> str:
    """SQL condition keeping rows that are not report footer lines."""
    if not patterns or n == 0:
        return "TRUE"
    sql = footer_sql(n, patterns, id_cols)  # (the first cell computed once, below: 17 ms a file otherwise)
    start = con.execute(f"SELECT min(_row) FROM (SELECT _row, {sql.first} AS first_ FROM {raw_table} WHERE {sql.no_id}) "
                        f"WHERE regexp_full_match(first_, {sql.match}, 's')").fetchone()[0]
    tail = _lone_cell_tail(con, raw_table, n)
    start = min((r for r in (start, tail) if r is not None), default=None)
    if start is None:
        return "TRUE"
    return f"NOT ({sql.no_id} AND _row >= {int(start)})"


#: the last rows of a file looked at in Python for its closing lines (the whole file in SQL only past them)
_TAIL_ROWS = 50
#: a blank cell, as the SQL macro is_blank reads it (textnorm.WS_CLASS in Python's syntax)
_BLANK = re.compile(r"[\s\u00a0\u2007\u202f\ufeff]*")


def _lone_cell_tail(con, raw_table: str, n: int) -> int | None:
    """The first row of a report's closing lines in any language («Genel Toplamlar (5 kayıt)», «Gizli Bilgiler»,
    «Oluşturan: …»): after the last row of two or more filled cells, the rows with one filled cell each (None: none).
    The last rows are read from the end (an n-column sum of is_blank in SQL took 80 ms a file of 132 columns)."""
    if n < 3:
        return None
    rows = con.execute(f"SELECT _row, {', '.join(f'c{i}' for i in range(n))} FROM {raw_table} "
                       f"ORDER BY _row DESC LIMIT {_TAIL_ROWS}").fetchall()
    lone = 0
    for r in rows:
        k = sum(1 for v in r[1:] if v is not None and not _BLANK.fullmatch(str(v)))
        if k >= 2:
            return int(r[0]) + 1 if lone else None
        lone += k == 1
    if len(rows) < _TAIL_ROWS:  # no row of two filled cells at all
        return None
    filled = " + ".join(f"(NOT is_blank(c{i}))::INT" for i in range(n))
    last, lone = con.execute(f"WITH r AS (SELECT _row, {filled} AS k FROM {raw_table}) SELECT max(_row) FILTER (WHERE k >= 2), "
                             "count(*) FILTER (WHERE k = 1 AND _row > (SELECT max(_row) FROM r WHERE k >= 2)) FROM r").fetchone()
    return None if last is None or not lone else int(last) + 1


def _status_expr(profile: Profile | None, by_field: dict[str, list[int]], spec: EntitySpec, date_order: str,
                 by_fb: dict[str, list[int]] | None = None) -> tuple[str, str | None] | None:
    """SQL of a deal's status from the profile's `derive_status`, and SQL that is true where it is a guess (a deal the
    CRM closed in a stage that neither the CRM's won / lost stages nor the settings' won_stages: / lost_stages: name:
    audited as lost, warned by stage name); None when the status is the export's own column alone."""
    ds = profile.derive_status if profile is not None else None
    if ds is None:
        return None

    def raw(name: str) -> str:
        # (the profile's `empty_values` are blank already: see _without_empty_values)
        return _raw_expr(spec.fields[name], [f"c{i}" for i in by_field[name]], [f"c{i}" for i in (by_fb or {}).get(name, [])])

    whens: list[tuple[str, str, bool]] = []  # (condition, status, a guess)
    ff = ds.from_flags
    deleted = ff.deleted if ff else None
    if deleted and deleted in by_field:  # HubSpot's archived deal, Pipedrive's `deleted: true`: deleted, whatever its
        # status column, stage and flags say (a Pipedrive deal deleted with `status: lost`: acceptance X4)
        whens.append((f"({_typed_expr(spec.fields[deleted], raw(deleted), date_order)}) IS TRUE", "'deleted'", False))
    if "status" in by_field:
        fs = spec.fields["status"]
        explicit = _typed_expr(fs, raw("status"), date_order)
        whens.append((f"({explicit}) IS NOT NULL", f"({explicit})", False))
    fs_ = ds.from_stage
    stage = raw("stage") if "stage" in by_field else None

    def stage_is(key: str) -> str | None:  # SQL: the stage is one of `from_stage`'s won / lost / deleted stages
        if fs_ is None or stage is None:
            return None
        vals = getattr(fs_, key)
        pattern = getattr(fs_, f"{key}_pattern", None)
        tests = ([f"norm({stage}) IN ({_sql_list(vals)})"] if vals else []) + (
            [f"regexp_full_match(strip({stage}), {sql_literal(pattern)}, 'i')"] if pattern else [])
        return " OR ".join(tests) or None

    if ff:  # the CRM's closed / won / lost flags, whichever the export has
        flag = {k: _typed_expr(spec.fields[f], raw(f), date_order) for k in ("closed", "won", "lost")
                if (f := getattr(ff, k)) and f in by_field}
        # a won / lost date (Pipedrive's won_time / lost_time) says so when it is filled; its absence says nothing
        dated = {k for k in ("won", "lost") if k in flag and spec.fields[getattr(ff, k)].type == "date"}
        if "won" in flag:
            whens.append((f"({flag['won']}) IS {'NOT NULL' if 'won' in dated else 'TRUE'}", "'won'", False))
        if "lost" in flag:
            whens.append((f"({flag['lost']}) IS {'NOT NULL' if 'lost' in dated else 'TRUE'}", "'lost'", False))
        if "closed" in flag:
            by_date = spec.fields[ff.closed].type == "date"
            if by_date:  # a close date (amoCRM): closed unless the settings list the stage as open (a reopened deal)
                still_open = f"norm({stage}) IN ({_sql_list(fs_.open)})" if fs_ is not None and fs_.open and stage is not None else "FALSE"
                closed = f"({flag['closed']}) IS NOT NULL AND NOT coalesce({still_open}, FALSE)"
            else:
                closed = f"({flag['closed']}) IS TRUE"
            if "won" in flag:  # Salesforce: closed and not won is lost
                whens.append((closed, "'lost'", False))
            else:
                for key in ("won", "lost"):
                    test = stage_is(key)
                    if test:
                        whens.append((f"{closed} AND ({test})", f"'{key}'", False))
                if fs_ is not None and fs_.closed_lost_pattern and stage is not None:  # the CRM's own ids: certain
                    whens.append((f"{closed} AND regexp_full_match(strip({stage}), {sql_literal(fs_.closed_lost_pattern)})", "'lost'", False))
                # closed in a stage the export cannot tell: lost (Bitrix24 has one won stage per pipeline), warned
                whens.append((closed, "'lost'", stage is not None))
            if not by_date:
                whens.append((f"({flag['closed']}) IS FALSE", "'open'", False))
        elif "won" in flag and "lost" in flag and not dated:
            whens.append((f"({flag['won']}) IS FALSE AND ({flag['lost']}) IS FALSE", "'open'", False))
        elif "won" in flag and "lost" in flag and "status" not in by_field:
            # both dates and no status column (Pipedrive without «Status»): a deal neither closed is open — as the
            # CRM has it; with a status column its blank cell stays unknown (warned), the dates deciding only won / lost
            whens.append((f"({flag['won']}) IS NULL AND ({flag['lost']}) IS NULL", "'open'", False))
    if fs_ and stage is not None:
        for key in ("won", "lost", "deleted"):
            test = stage_is(key)
            if test:
                whens.append((test, f"'{key}'", False))
        if fs_.otherwise:
            whens.append((f"NOT is_blank({stage})", f"'{fs_.otherwise}'", False))
    if not whens or ("status" in by_field and len(whens) == 1):
        return None
    status = f"CASE {' '.join(f'WHEN {c} THEN {v}' for c, v, _g in whens)} ELSE NULL END"
    if not any(g for _c, _v, g in whens):
        return status, None
    guessed = f"CASE {' '.join(f'WHEN {c} THEN {str(g).upper()}' for c, _v, g in whens)} ELSE FALSE END"
    return status, guessed


def _columns_text(headers: list[str], idxs: list[int], join: str | None) -> str:
    if not idxs:
        return ""
    return headers[idxs[0]] if len(idxs) == 1 or not join else " + ".join(headers[i] for i in idxs)


def rows_where_column(spec: EntitySpec, headers: list[str]) -> int | None:
    """Index of the column an entity's `rows_where` reads (None: no such filter or column)."""
    if spec.rows_where is None:
        return None
    keys = [hkey(spec.strip_prefix(h)[0]) for h in headers]
    return next((keys.index(hkey(h)) for h in spec.rows_where.headers if hkey(h) in keys), None)


def rows_where_sql(spec: EntitySpec, col: int) -> str:
    return f"norm(c{col}) IN ({_sql_list(spec.rows_where.values)})"


# --------------------------------------------------------------------------- map_entity, step by step


@dataclass(frozen=True)
class MapJob:
    """Map ``raw`` into the table of ``entity``.

    ``shared``: another entity maps the same raw table after this one (a file
    holding two entities, `rows_where`), so the raw table is kept and the
    file's own problems (footer lines, rows of no entity) are left to that one.
    ``provisional``: init reads the file as the entity though its required columns are not found yet (its columns
    are then told by their values: :mod:`crm_audit.engine.deals_file`).
    """

    entity: str
    spec: EntitySpec
    raw: RawTable
    on_bad_value: str = "error"
    profile: Profile | None = None
    shared: bool = False
    provisional: bool = False

    @property
    def path(self) -> Path:
        return self.raw.path

    @property
    def headers(self) -> list[str]:
        return self.raw.headers


@dataclass
class ColumnMatch:
    """Which columns (0-based indexes) feed which field."""

    by_field: dict[str, list[int]] = field(default_factory=dict)  # a field's own columns, in the profile's header order
    by_fallback: dict[str, list[int]] = field(default_factory=dict)  # a field's `fallback` columns
    custom: dict[str, list[int]] = field(default_factory=dict)  # norm(export name) -> columns of a custom field
    custom_header: dict[str, str] = field(default_factory=dict)  # norm(export name) -> the name as exported
    ignored: list[str] = field(default_factory=list)
    header_fields: dict[str, str] = field(default_factory=dict)  # see LoadedEntity.header_fields
    own_prefix: str | None = None  # see LoadedEntity.own_prefix


class ValueCheck(NamedTuple):
    """A parsed field whose unreadable cells are reported: the raw text column and the parsed one."""

    field: str
    raw_col: str
    col: str
    type: str


@dataclass
class Projection:
    """The SELECT list from the raw table to the entity's table, and what it maps."""

    select: list[str]
    fields: dict[str, str]  # canonical field -> export header(s) it is read from, as text
    checks: list[ValueCheck]
    custom_cols: dict[str, tuple[str, str]]
    status_derived: bool
    notes: dict[str, list[Msg]] = field(default_factory=dict)  # see LoadedEntity.notes
    status_guessed: bool = False  # a "status__guessed" column: deals closed in a stage the export does not tell won or lost


def match_columns(spec: EntitySpec, headers: list[str]) -> ColumnMatch:
    """Sort a file's headers into the entity's fields, `fallback` columns, custom fields and ignored columns."""
    index = spec.header_index()
    fb_index = {hkey(h): n for n, f in spec.fields.items() if f.fallback for h in f.fallback.headers}
    m = ColumnMatch()
    own = m.own_prefix = spec.file_prefix(headers)  # «取引 - »: the entity's prefix in a language the profile does not know
    secondary: list[tuple[str, int, str]] = []  # (field, column, bare header) read as the field only when alone
    for i, h in enumerate(headers):
        bare, _ = spec.strip_prefix(h, own)
        if not bare:
            m.ignored.append(Msg(N_("column {n} (no header)"), {"n": i + 1}).text())  # said in the CLI's language (L11)
            continue
        # the team's own header in `columns:` written whole («Negócio - Título» as the id) wins over the profile's
        # name for what follows the prefix («Título»: the title)
        team = spec.columns.get(hkey(h.strip().lstrip("\ufeff"))) or spec.columns.get(hkey(bare))
        f = team or index.get(hkey(bare))
        if f is not None and team is None and hkey(bare) in {hkey(x) for x in spec.fields[f].secondary}:
            secondary.append((f, i, bare))
        elif f is not None:
            m.by_field.setdefault(f, []).append(i)
            m.header_fields.setdefault(norm(bare), f)
        elif hkey(bare) in fb_index:
            m.by_fallback.setdefault(fb_index[hkey(bare)], []).append(i)
            m.header_fields.setdefault(norm(bare), fb_index[hkey(bare)])
        else:
            m.custom.setdefault(norm(bare), []).append(i)
            m.custom_header.setdefault(norm(bare), bare)
    for f, i, bare in secondary:  # the field's column when the file has no other, else a custom field of its own
        if m.by_field.get(f):
            m.custom.setdefault(norm(bare), []).append(i)
            m.custom_header.setdefault(norm(bare), bare)
        else:
            m.by_field.setdefault(f, []).append(i)
            m.header_fields.setdefault(norm(bare), f)

    def by_rank(idxs: list[int], order: list[str]) -> None:  # several columns: the profile's header order decides
        rank = {hkey(h): k for k, h in enumerate(order)}
        idxs.sort(key=lambda i: rank.get(hkey(spec.strip_prefix(headers[i], own)[0]), len(rank)))

    for name, idxs in m.by_field.items():
        by_rank(idxs, spec.fields[name].headers)
    for name, idxs in m.by_fallback.items():
        by_rank(idxs, spec.fields[name].fallback.headers)
        m.by_field.setdefault(name, [])  # the field is there (from its fallback columns only, when empty)
    return m


def missing_required(profile: Profile | None, spec: EntitySpec, entity: str, name: str, headers: list[str]) -> str:
    """Why a file cannot be read without its required column ``name``, and what to do: include the field in the
    export the way this CRM does it (the profile's hint ``missing-<name>``), or map the team's own header with
    `columns:`."""
    return str(missing_required_msg(profile, spec, entity, name, headers))


def missing_required_msg(profile: Profile | None, spec: EntitySpec, entity: str, name: str, headers: list[str]) -> Msg:
    """:func:`missing_required` as a msgid and its values."""
    header = profile.header_in(entity, name, headers, prefixed=False) if profile is not None else spec.fields[name].headers[0]
    found = _found_columns(headers)
    # an API dump's missing column: the profile's advice for its own export (where to tick the column) does not apply
    api = profile is not None and profile.api_shaped(entity, headers)
    hint = profile.hint(f"missing-{name}-api" if api else f"missing-{name}") if profile is not None else None
    if hint:  # «{header}» in a hint: this file's own column (Salesforce's accounts report lacks «Account ID», not «Opportunity ID»)
        hint = type(hint)({lang: text.replace("{header}", header) for lang, text in hint.items()})
    params = {"header": header, "entity": entity, "record": entity[:-1], "name": name, "found": found}
    if hint:
        return Msg(N_("required column «{header}» ({record} {name}) is missing — {hint}; or, if the file has it under another "
                      "name, map it in crm-audit.yaml (columns: {{{entity}: {{{name}: <header>}}}}); found columns: {found}"),
                   {**params, "hint": hint})
    return Msg(N_("required column «{header}» ({record} {name}) is missing — include it in the export, or, if the file has it "
                  "under another name, map it in crm-audit.yaml (columns: {{{entity}: {{{name}: <header>}}}}); found columns: "
                  "{found}"), params)


def headers_read(profile: Profile, files: list[tuple[str | None, list[str]]]) -> list[str]:
    """The headers the export's interface languages are told by, of (entity detected or None, headers) per file: those
    of the files read as the export's entities (nothing required missing: an unrelated contacts_backup.csv, named like
    the persons but without their columns, has a «Name» that is no German — acceptance M7), of every given file when
    none is."""
    read = [hs for entity, hs in files if entity is not None and unfit_msg(profile, entity, hs) is None]
    return [h for hs in (read or [hs for _e, hs in files]) for h in hs]


def _require_columns(job: MapJob, m: ColumnMatch) -> None:
    for name in job.spec.missing_required(m.by_field):
        msg = missing_required_msg(job.profile, job.spec, job.entity, name, job.headers)
        raise InputError(problems=[Problem(template=msg.template, params=msg.params, file=str(job.path), row=1,
                                           reason="missing-column")])


def _default_in_language(job: MapJob, fs) -> str:
    """A field's value when the file has no column for it, in the file's interface language where the profile names
    one (``defaults``: the headers' language first), else ``default``."""
    if not fs.defaults or job.profile is None or not job.profile.languages:
        return fs.default
    return next((fs.defaults[lang] for lang in job.profile.languages_of(job.headers) if lang in fs.defaults), fs.default)


def project(job: MapJob, m: ColumnMatch, date_order: str, marks: dict[str, str] | None = None) -> Projection:
    """The SQL that maps and parses every matched column (raw text kept as ``<field>__raw`` for parsed fields)."""
    spec, headers = job.spec, job.headers
    cols = lambda idxs: [f"c{i}" for i in idxs]  # noqa: E731  (empty values are blank already: _without_empty_values)
    select = ["_row"]
    fields: dict[str, str] = {}
    notes: dict[str, list[Msg]] = {}
    checks: list[ValueCheck] = []
    derived = _status_expr(job.profile, m.by_field, spec, date_order, m.by_fallback) if job.entity == "deals" else None
    status_derived, status_guessed = derived if derived else (None, None)
    for name, idxs in m.by_field.items():
        fs = spec.fields[name]
        raw = _raw_expr(fs, cols(idxs), cols(m.by_fallback.get(name, [])))
        if name == "status" and status_derived:
            continue
        select.append(f"{_typed_expr(fs, raw, date_order, (marks or {}).get(name, amounts.DEFAULT_MARK))} AS \"{name}\"")
        if fs.type != "text":
            select.append(f"{raw} AS \"{name}__raw\"")
            checks.append(ValueCheck(name, f"{name}__raw", name, fs.type))
        fields[name] = _columns_text(headers, idxs, fs.join)
        if name in m.by_fallback:
            fb_text = _columns_text(headers, m.by_fallback[name], fs.fallback.join)
            if idxs:
                notes.setdefault(name, []).append(Msg(N_("else {columns}"), {"columns": fb_text}))
            else:
                fields[name] = fb_text
    if status_derived:
        select.append(f"{status_derived} AS \"status\"")
        if status_guessed:  # closed in a stage the export does not say is won or lost (see _status_expr)
            select.append(f"{status_guessed} AS \"status__guessed\"")
        by_stage = "stage" in m.by_field and job.profile.derive_status.from_stage is not None  # (derived: a profile's)
        fields["status"] = headers[(m.by_field["status"] or m.by_fallback["status"])[0]] if "status" in m.by_field else (
            fields["stage"] if by_stage else "status")
        if "status" not in m.by_field:
            notes["status"] = [Msg(N_("status from the stage") if by_stage else N_("status from the closed flags"))]
    for name, fs in spec.fields.items():
        if name not in fields and fs.default is not None:
            value = _default_in_language(job, fs)
            select.append(f"{sql_literal(value)} AS \"{name}\"")
            fields[name] = ""  # no column: the note says what every row holds
            notes[name] = [Msg(N_("no column: «{value}»"), {"value": value}) if value else Msg(N_("no column: blank"))]
    custom_cols: dict[str, tuple[str, str]] = {}
    for k, (key, idxs) in enumerate(m.custom.items()):
        select.append(f"{_text_expr(cols(idxs))} AS x{k}")
        custom_cols[key] = (f"x{k}", m.custom_header[key])
    return Projection(select, fields, checks, custom_cols, bool(status_derived), notes, bool(status_guessed))


def _fill_table(con, job: MapJob, m: ColumnMatch, proj: Projection, rw_col: int | None) -> list[DataWarning]:
    """Create the entity's table from the raw table: blank rows, report footer lines and other entities' rows left out."""
    raw_table, headers = job.raw.name, job.headers
    # one regex per row instead of one per cell: a row is empty when all its cells joined are blank; a filled
    # first cell (nearly every row) settles it without building the joined text
    not_empty = (f"CASE WHEN NOT is_blank(c0) THEN TRUE ELSE NOT is_blank(concat({', '.join(f'c{i}' for i in range(len(headers)))})) END"
                 if headers else "FALSE")
    id_cols = [f"c{i}" for i in m.by_field.get("id", [])]
    footer = job.profile.footer if job.profile is not None else []
    warnings: list[DataWarning] = [] if job.shared else fill_down(con, raw_table, headers, footer, id_cols, job.path)
    keep = _footer_filter(con, raw_table, len(headers), footer, id_cols)
    only = "" if rw_col is None else f" AND {rows_where_sql(job.spec, rw_col)}"
    source = _without_empty_values(raw_table, len(headers), job.profile.empty_values if job.profile is not None else None)
    con.execute(f"CREATE OR REPLACE TABLE {job.entity} AS SELECT {', '.join(proj.select)} FROM {source} WHERE ({not_empty}) AND ({keep}){only}")
    if not job.shared:
        dropped = con.execute(f"SELECT count(*) FROM {raw_table} WHERE ({not_empty}) AND NOT ({keep})").fetchone()[0]
        if dropped:
            warnings.append(DataWarning("footer", "", str(job.path), template=N_("{n} report footer line(s) (totals, notes) skipped"), params={"n": dropped}))
        if rw_col is not None:
            warnings += _rows_of_no_entity(con, job.profile, raw_table, headers, rw_col, f"({not_empty}) AND ({keep})", job.path)
        drop_raw(con, raw_table)
    return warnings


def _check_values(con, job: MapJob, proj: Projection, date_order: str) -> list[DataWarning]:
    """Cells that do not parse: warnings (enum / bool values, and every cell with ``on_bad_value: warn``), else an InputError."""
    table, path = job.entity, str(job.path)
    warn = job.on_bad_value == "warn"
    rounded_ids(con, job, proj)
    warnings: list[DataWarning] = []
    problems: list[Problem] = []
    enum_stop = False  # a cell of a field with a set of values stops the run: the hint names `values:`
    for name, rawcol, col, typ in proj.checks:
        unreadable = f'NOT is_blank("{rawcol}") AND "{col}" IS NULL'
        # DISTINCT: a row of several list items (a task on two deals: one row per deal) is one cell (acceptance Z-H)
        bad = con.execute(f'SELECT DISTINCT _row, "{rawcol}" FROM {table} WHERE {unreadable} ORDER BY _row LIMIT {MAX_REPORTED}').fetchall()
        if not bad:
            continue
        total = con.execute(f"SELECT count(DISTINCT _row) FROM {table} WHERE {unreadable}").fetchone()[0]
        header = proj.fields[name]
        if typ in ("enum", "bool"):  # `on_bad_value` governs them like dates and numbers
            known = ", ".join(_known_values(job, name))
            for r, v in bad:
                if warn:
                    warnings.append(DataWarning("unknown-value", "", path, r, header, template=UNKNOWN_VALUE_WARN,
                                                params={"value": v, "known": known}))
                else:
                    problems.append(Problem(template=N_("unknown value «{value}»: expected one of: {known}"),
                                            params={"value": v, "known": known}, file=path, row=r, column=header, reason="bad-value"))
            if total > len(bad):
                if warn:
                    warnings.append(DataWarning("unknown-value", "", path, None, header, template=N_("… and {n} more rows with unknown values in «{column}»"),
                                                params={"n": total - len(bad), "column": header}))
                else:
                    problems.append(Problem(template=N_("… and {n} more rows with unknown values in «{column}»"),
                                            params={"n": total - len(bad), "column": header}, file=path, column=header,
                                            reason="bad-value"))
            if warn:
                warnings.append(_unmapped_values(con, job, name, rawcol, unreadable, header))
            else:
                enum_stop = True
            continue
        expected = Msg(TYPE_EXPECTED.get(typ, typ))
        if typ == "date" and date_order == "mdy":
            expected = Msg(DATE_EXPECTED_MDY)
        if typ == "date":
            for f in job.spec.fields[name].formats:
                expected = Msg(N_("{expected}, or {other}"), {"expected": expected, "other": Msg(FORMAT_EXPECTED[f])})
        for r, v in bad:
            if warn:
                warnings.append(DataWarning("bad-value", "", path, r, header, template=BAD_VALUE_WARN,
                                            params={"value": v, "expected": expected}))
            else:
                problems.append(Problem(template=N_("cannot read «{value}»: expected {expected}"), params={"value": v, "expected": expected},
                                        file=path, row=r, column=header, reason="bad-value"))
        if total > len(bad):
            if warn:
                warnings.append(DataWarning("bad-value", "", path, None, header, template=N_("… and {n} more rows with unreadable values in «{column}»"),
                                            params={"n": total - len(bad), "column": header}))
            else:
                problems.append(Problem(template=N_("… and {n} more rows with unreadable values in «{column}»"),
                                        params={"n": total - len(bad), "column": header}, file=path, column=header, reason="bad-value"))
    if problems:
        raise InputError(problems=problems, hint=VALUES_HINT if enum_stop else BAD_VALUE_HINT)
    return warnings


#: an id cell Excel wrote in scientific notation, its digits rounded away (acceptance P1): it names no record, so the
#: rows would merge into one deal (or link to none) — always an error, whatever `on_bad_value` says
ROUNDED_ID = N_("the ID «{value}» is in scientific notation: Excel rounded it and its digits are lost, so it names no "
                "record")
ROUNDED_ID_MORE = N_("… and {n} more rows with IDs in scientific notation in «{column}»")
ROUNDED_ID_HINT = N_("Export the file from the CRM again and audit it as it comes (CSV, without opening and saving it in "
                     "Excel); or, in Excel, format the ID columns as text (or as a number with 0 decimals) before "
                     "saving.")


def rounded_ids(con, job: MapJob, proj: Projection) -> None:
    """Stop on id cells (the record's own and its links) written in rounded scientific notation («1,83457E+11»):
    :class:`InputError` naming the file, column, rows and values, with what to do (:data:`ROUNDED_ID_HINT`)."""
    problems: list[Problem] = []
    for name, rawcol, _col, typ in proj.checks:
        if typ != "id":
            continue
        where = f'rounded_id("{rawcol}")'
        bad = con.execute(f'SELECT _row, strip("{rawcol}") FROM {job.entity} WHERE {where} ORDER BY _row LIMIT {MAX_REPORTED}').fetchall()
        if not bad:
            continue
        header = proj.fields[name]
        problems += [Problem(template=ROUNDED_ID, params={"value": v}, file=str(job.path), row=r, column=header,
                             reason="rounded-id") for r, v in bad]
        total = con.execute(f"SELECT count(*) FROM {job.entity} WHERE {where}").fetchone()[0]
        if total > len(bad):
            problems.append(Problem(template=ROUNDED_ID_MORE, params={"n": total - len(bad), "column": header},
                                    file=str(job.path), column=header, reason="rounded-id"))
    if problems:
        raise InputError(problems=problems, hint=ROUNDED_ID_HINT)


def _unmapped_values(con, job: MapJob, name: str, rawcol: str, unreadable: str, header: str) -> DataWarning:
    """:data:`UNMAPPED_VALUES` for enum / bool field ``name``: each cell text no value names with its count of rows
    (the most frequent first), and the `values:` line that would map the first."""
    table = job.entity
    rows = con.execute(f'SELECT strip("{rawcol}") AS v, count(*) AS n FROM {table} WHERE {unreadable} GROUP BY 1 '
                       f"ORDER BY n DESC, min(_row)").fetchall()
    shown = ", ".join(f"«{v}» ({n})" for v, n in rows[:UNMAPPED_SHOWN])
    if len(rows) > UNMAPPED_SHOWN:
        shown += f", … (+{len(rows) - UNMAPPED_SHOWN})"
    keys = " | ".join(job.spec.fields[name].values) or "…"
    first = json.dumps(rows[0][0], ensure_ascii=False) if rows and not _plain_key(rows[0][0]) else (rows[0][0] if rows else "…")
    example = f"values: {{{job.entity}: {{{name}: {{{first}: <{keys}>}}}}}}"
    return DataWarning("unmapped-values", "", str(job.path), None, header, template=UNMAPPED_VALUES,
                       params={"column": header, "field": name, "values": shown, "example": example,
                               "texts": [v for v, _n in rows], "counts": [n for _v, n in rows], "entity": job.entity})


def _plain_key(text: str) -> bool:
    """``text`` reads back as itself as a YAML flow mapping's key (no quotes needed)."""
    import yaml

    try:
        return yaml.safe_load(f"{{{text}: x}}") == {text: "x"}
    except yaml.YAMLError:
        return False


def _known_values(job: MapJob, name: str) -> list[str]:
    """The values a cell of enum/bool field ``name`` may hold, as the file writes them: the words of the interface
    language the file's headers are in (Aberto, Ganho, Perdido for a Portuguese export) when the profile knows it,
    else each value's first word in the headers' script (Open, Won for Latin headers; Открыта, Выиграна for Cyrillic)."""
    profile = job.profile
    if profile is not None and profile.languages:
        for code in profile.languages_of(job.headers):
            le = profile.languages[code].entities.get(job.entity)
            own = le.values.get(name) if le is not None else None
            if own:
                return [v for vals in own.values() for v in vals]
    cyrillic = re.compile("[А-Яа-яЁё]")
    named = [h for h in job.headers if h and h.strip()]
    in_cyrillic = sum(1 for h in named if cyrillic.search(h)) * 2 > len(named)
    out = []
    for vals in job.spec.fields[name].values.values():
        same = [v for v in vals if bool(cyrillic.search(v)) == in_cyrillic]
        out.append((same or vals)[0])
    return out


def _lists_items(con, table: str, name: str, fs: FieldSpec) -> bool:
    """Whether a cell of the `many` field ``name`` lists several items (its `split` separator in it): else the table is
    left as it is (the rows once per item would be the same rows, rewritten at a cost on a large export)."""
    raw = f'"{name}__raw"' if fs.type != "text" else f'"{name}"'
    return con.execute(f"SELECT 1 FROM {table} WHERE regexp_matches({raw}, {sql_literal(fs.split)}) LIMIT 1").fetchone() is not None


def _one_row_per_item(con, job: MapJob, proj: Projection, date_order: str, marks: dict[str, str] | None = None) -> None:
    """A `many` field's list cell («18345670001;18345670002»): the row once per item
    (a task associated with several deals counts for each of them); ``_row`` stays the file's row."""
    # several `many` fields of one row (a task's «Associated Deal IDs» and «Associated Deal» names) go item by item
    # together (the k-th id with the k-th name), never as every id with every name
    unnests, cols, excl, keep = [], [], [], []
    listed = [(n, f) for n, f in job.spec.fields.items() if f.many and n in proj.fields and _lists_items(con, job.entity, n, f)]
    for k, (name, fs) in enumerate(listed):
        raw = f'"{name}__raw"' if fs.type != "text" else f'"{name}"'
        items = f"CASE WHEN is_blank({raw}) THEN [{raw}] ELSE string_split_regex({raw}, {sql_literal(fs.split)}) END"
        item = f"nullif(strip(_item{k}), '')"
        unnests.append(f"unnest({items}) AS _item{k}")
        cols.append(f'{_typed_expr(fs, item, date_order, (marks or {}).get(name, amounts.DEFAULT_MARK))} AS "{name}"' + (f', {item} AS "{name}__raw"' if fs.type != "text" else ""))
        excl.append(f'"{name}"' + (f', "{name}__raw"' if fs.type != "text" else "") + f", _item{k}")
        keep.append((raw, f"_item{k}"))
    if not unnests:
        return
    where = " OR ".join(f"NOT is_blank({it})" for _r, it in keep) + " OR (" + " AND ".join(f"is_blank({r})" for r, _i in keep) + ")"
    con.execute(f"CREATE OR REPLACE TABLE {job.entity} AS SELECT * EXCLUDE ({', '.join(excl)}), {', '.join(cols)} "
                f"FROM (SELECT *, {', '.join(unnests)} FROM {job.entity}) WHERE {where}")


def duplicate_headers(job: MapJob, m: ColumnMatch) -> list[DataWarning]:
    """A header that appears more than once: warned by name, with which column is read (the first non-blank of the row)."""
    out: list[DataWarning] = []
    groups = [(name, idxs) for name, idxs in m.by_field.items()] + [(m.custom_header[k], idxs) for k, idxs in m.custom.items()]
    for name, idxs in groups:
        by_key: dict[str, list[int]] = {}
        for i in idxs:
            by_key.setdefault(hkey(job.headers[i]), []).append(i)
        for same in by_key.values():
            if len(same) > 1:
                cols = ", ".join(str(i + 1) for i in sorted(same))
                out.append(DataWarning(
                    "duplicate-header", "", str(job.path), None, job.headers[same[0]],
                    template=N_("the column «{column}» appears {n} times (columns {columns}): "
                                "{field} is read from the first of them that is not blank in each row, column {first} first; "
                                "remove the extra column from the export if it holds other values"),
                    params={"column": job.headers[same[0]], "n": len(same), "columns": cols, "field": name, "first": min(same) + 1}))
    return out


#: the id column's note when the file has none (inspect): what the ids are derived from
KEY_NOTE = N_("no id column: each record's key is derived from {columns}")
#: deals whose derived keys collide (L10): told apart by their rows, nothing carried over for them
KEY_COLLISION = N_("rows {rows} of {file} have the same {columns} and no id to tell them apart: each is audited under a "
                   "key of its own row, so their statuses and comments are not carried over once the rows move in the file")


#: the file has no id column (L10): said once on the terminal, the FAQ and by inspect / validate, init writes it
NO_IDS = N_("the export has no deal ids ({file} has no column «{header}»): deals are identified by the columns "
            "{columns}; no links to the deals are built; if a deal is renamed, its status and comment are not "
            "carried over — export the deals with the id column; or, if the file has it under another name, map it in "
            "crm-audit.yaml (columns: {{deals: {{id: <header>}}}})")
NO_IDS_HINT = N_("the export has no deal ids ({file} has no column «{header}»): deals are identified by the columns "
                 "{columns}; no links to the deals are built; if a deal is renamed, its status and comment are not "
                 "carried over — export the deals with the id column: {hint}; or, if the file has it under another "
                 "name, map it in crm-audit.yaml (columns: {{deals: {{id: <header>}}}})")


def no_ids_warning(job: MapJob, columns: str) -> DataWarning:
    """:data:`NO_IDS` with the id column as this export would name it and the CRM's advice how to export it (the
    profile's hint ``missing-id``, ``missing-id-api`` for an API dump), as :func:`missing_required_msg` gives them."""
    profile = job.profile
    header = profile.header_in(job.entity, "id", job.headers, prefixed=False) if profile is not None else job.spec.fields["id"].headers[0]
    api = profile is not None and profile.api_shaped(job.entity, job.headers)
    hint = profile.hint("missing-id-api" if api else "missing-id") if profile is not None else None
    params = {"file": job.path.name, "header": header, "columns": columns}
    if hint:
        params["hint"] = type(hint)({lang: text.replace("{header}", header) for lang, text in hint.items()})
    return DataWarning("no-deal-ids", "", str(job.path), None, None, template=NO_IDS_HINT if hint else NO_IDS, params=params)


def _row_key_sql(spec: EntitySpec, key_fields: list[str]) -> str:
    """SQL: the derived key of a row from its ``key_fields``' read values (acceptance P7): a date as its ISO date, a
    number as the number, text trimmed and casefolded — so the same record has the same key whether the file is a CSV
    (10/11/2026, 11/10/2026, 2026/11/10) or an .xlsx holding real dates; a cell that does not read, by its text."""
    parts = []
    for f in key_fields:
        typ = spec.fields[f].type
        if typ == "text":
            parts.append(f'coalesce(norm("{f}"), \'\')')
            continue
        value = f'strftime("{f}", \'%Y-%m-%d\')' if typ == "date" else f'CAST("{f}" AS VARCHAR)'
        parts.append(f'coalesce({value}, norm("{f}__raw"), \'\')')
    return f"'k' || left(md5(concat_ws(chr(31), {', '.join(parts)})), 12)"


def _set_row_keys(con, table: str, spec: EntitySpec, key_fields: list[str]) -> list[list[int]]:
    """Set ``table``'s ``id`` to the rows' derived keys; rows whose keys collide keep a key each, suffixed with their
    row number. The colliding rows, by key."""
    con.execute(f"UPDATE {table} SET id = {_row_key_sql(spec, key_fields)}")
    dup = con.execute(f"SELECT list(_row ORDER BY _row) FROM {table} GROUP BY id HAVING count(*) > 1 ORDER BY min(_row)").fetchall()
    if dup:
        con.execute(f"UPDATE {table} SET id = id || '-' || CAST(_row AS VARCHAR) WHERE id IN "
                    f"(SELECT id FROM {table} GROUP BY id HAVING count(*) > 1)")
    return [rows for (rows,) in dup]


def derive_row_keys(con, job: MapJob, proj: Projection, key_fields: list[str]) -> list[DataWarning]:
    """Give a file without an id column (a view export without «Record ID», a list export without «ID») an ``id``
    per row derived from its content: ``k`` and the first 12 hex digits of the md5 of the read ``key_fields``
    (EntitySpec.row_key: title, pipeline, creation date, owner — a date as its ISO date whatever the file's format,
    :func:`_row_key_sql`), so the same record has the same key in the next export while those values do not change.
    Rows whose keys collide keep a key each, suffixed with their row number, and are warned of (their carry-over is
    lost). Sets ``proj.fields['id']``; :func:`_reparse_dates` derives the keys again when the date order changes."""
    t = job.entity
    con.execute(f"ALTER TABLE {t} ADD COLUMN id VARCHAR")
    dup = _set_row_keys(con, t, job.spec, key_fields)
    columns = ", ".join(f"«{proj.fields[f]}»" for f in key_fields)
    proj.fields["id"] = " + ".join(proj.fields[f] for f in key_fields)
    return [no_ids_warning(job, columns)] + [
        DataWarning("deal-key-collision", "", str(job.path), None, None, template=KEY_COLLISION,
                    params={"rows": ", ".join(str(r) for r in rows), "file": job.path.name, "columns": columns})
        for rows in dup[:MAX_REPORTED]]


def map_entity(con, job: MapJob) -> tuple[LoadedEntity, list[DataWarning]]:
    """Run a :class:`MapJob`: the entity's table (named after the entity) and the warnings about its file."""
    spec = job.spec
    m = match_columns(spec, job.headers)
    if not job.provisional:
        _require_columns(job, m)
    warnings: list[DataWarning] = duplicate_headers(job, m)
    date_idx = [i for name, idxs in m.by_field.items() if spec.fields[name].type == "date" for i in idxs + m.by_fallback.get(name, [])]
    date_order, note, evidence = _date_order(con, job.raw.name, [f"c{i}" for i in date_idx],
                                             job.profile.date_order if job.profile is not None else "dmy",
                                             job.profile is not None and job.profile.date_order_fixed, [job.headers[i] for i in date_idx])
    date_note = DataWarning("date-order", "", str(job.path), template=note[0], params=note[1]) if note else None
    if date_note is not None:
        warnings.append(date_note)
    marks, file_mark, notes, column_marks = _decimal_marks(con, job, m)
    warnings += notes
    proj = project(job, m, date_order, marks)
    rw_col = rows_where_column(spec, job.headers)
    warnings += _fill_table(con, job, m, proj, rw_col)
    rows = con.execute(f"SELECT count(*) FROM {job.entity}").fetchone()[0]
    key_fields = [f for f in spec.row_key if f in m.by_field] if spec.keyless(m.by_field) else []
    if key_fields:  # no id column: the ids derived from the row's content (L10)
        warnings += derive_row_keys(con, job, proj, key_fields)
    _one_row_per_item(con, job, proj, date_order, marks)
    warnings += _check_values(con, job, proj, date_order)
    if proj.status_guessed:
        warnings += closed_in_unknown_stages(con, job)
    warnings += status_checks.check(con, job, m, proj.status_derived)  # flags contradicting each other or the stage
    typed = {n for n, fs in spec.fields.items()
             if n in proj.fields and fs.type != "text" and n in m.by_field and not (n == "status" and proj.status_derived)}
    ent = LoadedEntity(job.entity, job.path, job.entity, rows, proj.fields, proj.custom_cols, m.ignored,
                       header_fields=m.header_fields, typed=typed, raw=job.raw.info,
                       from_columns={n for n in m.by_field if not (n == "status" and proj.status_derived)},
                       on_bad_value=job.on_bad_value, decimal_mark=file_mark, notes=proj.notes, column_marks=column_marks,
                       date_order=date_order, date_evidence=evidence, date_note=date_note, row_key=key_fields,
                       own_prefix=m.own_prefix)
    if key_fields:
        ent.note("id", Msg(KEY_NOTE, {"columns": ", ".join(f"«{proj.fields[f]}»" for f in key_fields)}))
    if rw_col is not None:
        ent.rows_where = Msg(N_("rows whose «{column}» is {values}"), {"column": job.headers[rw_col], "values": " / ".join(spec.rows_where.values)})
    return ent, warnings


@dataclass(frozen=True)
class DateDecision:
    """The export's date order as its cells settled it (:func:`settle_date_order`; `crm-audit init --from-export`
    writes it as `date_order:`): the order, the file, column and cell that showed it, and whether only a 12-hour
    clock (am/pm) suggested it (no day above 12 anywhere)."""

    order: str
    file: str
    column: str | None
    example: str | None
    clock_only: bool = False


def _reparse_dates(con, ent: LoadedEntity, spec: EntitySpec, order: str) -> None:
    """Read ``ent``'s date fields again from their raw text (``<field>__raw``) in ``order``."""
    have = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [ent.table]).fetchall()}
    sets = [f'{_typed_expr(fs, chr(34) + name + "__raw" + chr(34), order)} AS "{name}"' for name, fs in spec.fields.items()
            if fs.type == "date" and name in have and f"{name}__raw" in have]
    if sets:
        con.execute(f"CREATE OR REPLACE TABLE {ent.table} AS SELECT * REPLACE ({', '.join(sets)}) FROM {ent.table}")
        if ent.row_key and any(spec.fields[f].type == "date" for f in ent.row_key):  # the keys read the dates (P7)
            _set_row_keys(con, ent.table, spec, ent.row_key)
    ent.date_order = order


def settle_date_order(con, entities: dict[str, LoadedEntity], profile: Profile | None,
                      warnings: list[DataWarning]) -> tuple[DateDecision | None, list[DataWarning]]:
    """The date order of the whole export (acceptance M1: a deals file proving month first and a tasks file whose
    dates fit both orders were read in two orders, so a task due 12/1 was overdue since 12 January).

    The file whose cells prove an order decides — a day above 12 in one position before a 12-hour clock, the
    deals file before the others, then the first file —, and every file whose own cells fit both orders (or only
    a 12-hour clock suggests one) is read so, its note saying which file showed it. A file whose own cells prove
    the other order keeps it, with a warning naming both. Each file was mapped with its own evidence
    (:func:`_date_order`); a file read otherwise here is parsed again from its raw text (its cells read either
    way, so no cell becomes unreadable). Nothing is settled under the settings' `date_order:`. Returns the
    decision (None: no file proves an order) and ``warnings`` with the notes replaced."""
    if profile is None or profile.date_order_fixed:
        return None, warnings
    ents = [e for e in entities.values() if e.date_evidence is not None]
    proving = [e for e in ents if e.date_evidence.proves is not None]
    if not proving:
        return None, warnings
    best = max(proving, key=lambda e: (e.date_evidence.strength, e.entity == "deals"))  # the first of equals: file order
    ev, order = best.date_evidence, best.date_evidence.proves
    source = Path(best.file).name
    decision = DateDecision(order, source, ev.column, ev.example, ev.strength == 1)
    out = list(warnings)
    for e in ents:
        own = e.date_evidence
        if e is best or (own.proves == order and own.strength == 2) or not own.slash:
            continue
        if own.proves is not None and own.strength == 2:  # its own cells prove the other order: kept, said
            out.append(DataWarning("date-order", "", str(e.file), template=CONFLICT_NOTE[own.proves],
                                   params={"example": own.example, "column": own.column, "file": source, "proof": ev.example,
                                           "other_column": ev.column}))
            continue
        if own.proves == order and ev.strength == 1:  # both only guessed from the clock: each file's note stands
            continue
        if e.date_order != order and profile.entities.get(e.entity) is not None:
            _reparse_dates(con, e, profile.entities[e.entity], order)
        note = DataWarning("date-order", "", str(e.file), template=FROM_EXPORT_NOTE[order],
                           params={"example": own.example, "file": source, "proof": ev.example, "column": ev.column})
        out = [note if w is e.date_note else w for w in out] if e.date_note is not None and any(w is e.date_note for w in out) else out + [note]
        e.date_note = note
    return decision, out


#: deals the CRM closed in stages none of whose names says won or lost: audited as lost, named until the settings say
CLOSED_UNKNOWN = N_("{n} deal(s) closed in {stages}, which neither the CRM's won / lost stages nor won_stages: / lost_stages: "
                    "in crm-audit.yaml name: the export does not say whether they are won or lost, so they are audited as "
                    "lost — list a won stage under won_stages: and a lost one under lost_stages:")


def closed_in_unknown_stages(con, job: MapJob) -> list[DataWarning]:
    """One warning naming the stages (and how many deals) whose closed deals were taken for lost without the CRM
    saying so (the ``status__guessed`` rows), at the first such row."""
    rows = con.execute(f'SELECT strip(stage), count(*), min(_row) FROM {job.entity} WHERE "status__guessed" '
                       "GROUP BY 1 ORDER BY 3").fetchall()
    if not rows:
        return []
    stages = ", ".join(f"«{s}» ({n})" for s, n, _r in rows)
    return [DataWarning("closed-stage-unknown", "", str(job.path), rows[0][2], None, template=CLOSED_UNKNOWN,
                        params={"n": sum(n for _s, n, _r in rows), "stages": stages})]


def _rows_of_no_entity(con, profile: Profile | None, raw_table: str, headers: list[str], col: int, rows: str, path: Path) -> list[DataWarning]:
    """Rows whose `rows_where` column holds a value no entity of the profile takes (skipped: say so)."""
    specs = [s for s in (profile.entities.values() if profile is not None else []) if rows_where_column(s, headers) == col]
    known = " OR ".join(rows_where_sql(s, col) for s in specs)
    n, first, value = con.execute(
        f"SELECT count(*), min(_row), arg_min(c{col}, _row) FROM {raw_table} WHERE {rows} AND NOT coalesce({known}, FALSE)").fetchone()
    if not n:
        return []
    values = ", ".join(v for s in specs for v in s.rows_where.values)
    if value:
        template = N_("{n} row(s) skipped: «{column}» is «{value}» (first at row {row}), not one of: {values}")
    else:
        template = N_("{n} row(s) skipped: «{column}» is blank (first at row {row}), not one of: {values}")
    return [DataWarning("rows-skipped", "", str(path), first, headers[col], template=template,
                        params={"n": n, "column": headers[col], "value": value or "", "row": first, "values": values})]


def shared_with(con, profile: Profile, entity: str, raw: RawTable,
                seen: dict[str, Path]) -> tuple[list[str], list[DataWarning]]:
    """The other entities whose rows this file also holds (`rows_where`: amoCRM's
    contacts list has contacts and companies), and a warning for such rows left
    to that entity's own file."""
    headers = raw.headers
    if rows_where_column(profile.entities[entity], headers) is None:
        return [], []
    feeds: list[str] = []
    warns: list[DataWarning] = []
    for other, spec in profile.entities.items():
        col = None if other == entity else rows_where_column(spec, headers)
        if col is None:
            continue
        n = con.execute(f"SELECT count(*) FROM {raw.name} WHERE {rows_where_sql(spec, col)}").fetchone()[0]
        if n and other in seen:
            warns.append(DataWarning("rows-skipped", "", str(raw.path), None, headers[col],
                                     template=N_("{n} row(s) whose «{column}» is {values} skipped: the {entity} are read from {file}"),
                                     params={"n": n, "column": headers[col], "values": " / ".join(spec.rows_where.values),
                                             "entity": other, "file": seen[other].name}))
        elif n:
            feeds.append(other)
    return feeds, warns


def _days_column_by_word(con, ent: LoadedEntity, name: str) -> tuple[str, str] | None:
    """The «days since» column of a date field in a language the profile has no `from_days` name in: the one unmapped
    column named with a word of the field's (value_guess.yaml `words`: «Aşama Süresi», «Vaiheen kesto» of
    «stage_changed») whose every filled cell is a whole number of days (None: none or several)."""
    from crm_audit.engine.value_guess import _said, _spec

    words = ((_spec().get(ent.entity) or {}).get(name) or {}).get("words")
    hits = []
    for col, header in ent.custom.values():
        if not _said(header, words):
            continue
        filled, whole = con.execute(f"SELECT count(*) FILTER (WHERE NOT is_blank({col})), count(*) FILTER (WHERE "
                                    f"regexp_full_match(strip({col}), '[0-9]{{1,6}}')) FROM {ent.table}").fetchone()
        if filled and whole == filled:
            hits.append((col, header))
    return hits[0] if len(hits) == 1 else None


def dates_from_days(con, entities: dict[str, LoadedEntity], profile: Profile, as_of: dt.date, on_bad_value: str) -> list[DataWarning]:
    """A date field the export lacks, from a «days since» column (`from_days`): as-of minus the days."""
    warnings: list[DataWarning] = []
    for entity, ent in entities.items():
        for name, fs in profile.entities[entity].fields.items():
            hit = next((ent.custom[norm(h)] for h in fs.from_days if norm(h) in ent.custom), None)
            if name in ent.fields:
                continue
            hit = hit or (_days_column_by_word(con, ent, name) if fs.from_days else None)
            if hit is None:
                continue
            col, header = hit
            days = f"TRY_CAST(round(parse_num({col})) AS INTEGER)"
            bad = con.execute(f"SELECT _row, {col} FROM {ent.table} WHERE NOT is_blank({col}) AND {days} IS NULL ORDER BY _row LIMIT {MAX_REPORTED}").fetchall()
            if bad and on_bad_value != "warn":
                raise InputError(
                    problems=[Problem(template=N_("cannot read «{value}»: expected a number of days"), params={"value": v}, file=str(ent.file),
                                      row=r, column=header, reason="bad-value") for r, v in bad],
                    hint=BAD_VALUE_HINT,
                )
            for r, v in bad:
                warnings.append(DataWarning("bad-value", "", str(ent.file), r, header, template=BAD_DAYS_WARN,
                                            params={"value": v}))
            con.execute(f"ALTER TABLE {ent.table} ADD COLUMN \"{name}\" DATE")
            con.execute(f"UPDATE {ent.table} SET \"{name}\" = DATE {sql_literal(as_of.isoformat())} - {days}")
            ent.fields[name] = header
            ent.note(name, Msg(N_("days before {date}"), {"date": as_of.isoformat()}))
    return warnings


#: quote marks a per-stage header may be written with (`Date entered "X (P)"`, `Date entered 'X (P)'`, a re-save's
#: typographic quotes): read alike
_QUOTES = str.maketrans({q: '"' for q in "'\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a"})
#: deals whose stage has no per-stage column in the export (a view export with some of them): counted as a blank cell
NO_STAGE_COLUMN = N_("{n} open deal(s) are in stages that have no «{pattern}» column in the export ({stages}): their days in "
                     "stage are counted from the creation date; export all properties (or add those columns) to read them")
STAGE_COLUMNS_NOTE = N_("one column per stage (columns: {n}), each deal's date from its own stage's")


def stage_key(text: str) -> str:
    """A per-stage header as compared (:data:`FieldSpec.per_stage`): :func:`norm` (case, outer spaces, «ё»), inner
    runs of spaces as one, every quote mark as «"»."""
    return " ".join(norm(text).translate(_QUOTES).split())


def per_stage_regex(pattern: str):
    """A regular expression of the headers a `per_stage` pattern writes (any stage, any pipeline), on :func:`stage_key`."""
    key = re.escape(stage_key(pattern))
    for name in ("stage", "pipeline", "stage_id"):
        key = key.replace(re.escape("{" + name + "}"), ".+")
    return re.compile(key)


def dates_from_stage_columns(con, entities: dict[str, LoadedEntity], profile: Profile, on_bad_value: str) -> list[DataWarning]:
    """A date field the export has no column of, from one column per stage (`per_stage`: HubSpot's `Date entered
    "<stage> (<pipeline>)"`): each deal's value is the cell of the column whose stage and pipeline are the deal's own.

    Set-based: the distinct (stage, pipeline) pairs of the deals (a few hundred at most) are matched to the columns
    here, then one UPDATE takes each deal's cell through a CASE on its stage and pipeline (names compared as stage
    names are: :func:`norm`). A deal whose column is blank, or whose stage has no column (warned, with the stages), is
    left blank: the rules read it as a blank cell of the field's own column (days in stage from the creation date)."""
    from crm_audit.sqltext import sql_literal as lit

    warnings: list[DataWarning] = []
    for entity, ent in entities.items():
        for name, fs in profile.entities[entity].fields.items():
            if not fs.per_stage or "stage" not in ent.fields:
                continue
            # the field's own column («Date entered current stage») first; a row whose own cell is blank takes its
            # stage's column (acceptance P8), and only then counts as blank (days in stage from the creation date)
            own = name in ent.fields and name in ent.typed
            if name in ent.fields and not own:
                continue
            blank_own = f'is_blank("{name}__raw")' if own else "TRUE"
            by_key = {stage_key(h): (col, h) for col, h in ent.custom.values()}
            shapes = [(p, per_stage_regex(p)) for p in fs.per_stage]
            used = [(p, [k for k in by_key if rx.fullmatch(k)]) for p, rx in shapes]
            used = [(p, ks) for p, ks in used if ks]
            if not used:
                continue
            pattern = used[0][0]
            pipeline = "norm(pipeline)" if "pipeline" in ent.fields else "''"
            # the stage's id as the file gave it (a stage list renamed it: lookups keep `stage__id`), for «{stage_id}»
            has_id = "stage__id" in [d[0] for d in con.execute(f"SELECT * FROM {ent.table} LIMIT 0").description]
            stage_id = "coalesce(norm(stage__id), '')" if has_id else "norm(stage)"
            # per pair: how many of its deals are open (the deals whose days in stage rules read), its names as written
            is_open = ("status = 'open'" if "status" in ent.fields else "TRUE") + f" AND {blank_own}"
            named = "min(strip(pipeline))" if "pipeline" in ent.fields else "''"
            pairs = con.execute(f"SELECT norm(stage), {pipeline}, count(*) FILTER (WHERE {is_open}), min(strip(stage)), {named}, "
                                f"{stage_id} FROM {ent.table} WHERE NOT is_blank(stage) GROUP BY 1, 2, 6 ORDER BY 1, 2, 6").fetchall()
            whens, heads, lacking = [], [], []
            for stage, pipe, n, stage_as, pipe_as, sid in pairs:
                hit = next((by_key[k] for p, _ks in used for k in [stage_key(p.replace("{stage_id}", sid or "").replace(
                    "{stage}", stage).replace("{pipeline}", pipe or ""))] if k in by_key), None)
                if hit is None:
                    if n:
                        lacking.append((f"{stage_as} ({pipe_as})" if pipe_as else stage_as, n))
                    continue
                whens.append(f"WHEN _ps_stage = {lit(stage)} AND _ps_pipeline = {lit(pipe or '')} AND _ps_stage_id = {lit(sid or '')} "
                             f"THEN {hit[0]}")
                cond = f"norm(stage) = {lit(stage)} AND {pipeline} = {lit(pipe or '')} AND {stage_id} = {lit(sid or '')}"
                heads.append(f"WHEN {cond} THEN {lit(hit[1])}")
            raw = f"CASE {' '.join(whens)} ELSE NULL END" if whens else "CAST(NULL AS VARCHAR)"
            raw_col = f'"{name}__raw"'
            # one pass, the row order kept: each row's stage and pipeline normalised once (a column the CASE compares),
            # its cell taken, then parsed as the field's own column would be (1M deals, 16 stage columns: under 3 s);
            # with the field's own column, only where its cell is blank (`_ps_own`: the row kept its own cell)
            if own:
                con.execute(f"CREATE OR REPLACE TABLE {ent.table} AS SELECT * EXCLUDE (_ps_raw) REPLACE ("
                            f"CASE WHEN _ps_own THEN \"{name}\" ELSE {_typed_expr(fs, '_ps_raw', ent.date_order)} END AS \"{name}\", "
                            f"CASE WHEN _ps_own THEN {raw_col} ELSE _ps_raw END AS {raw_col}) "
                            f"FROM (SELECT * EXCLUDE (_ps_stage, _ps_pipeline, _ps_stage_id), NOT {blank_own} AS _ps_own, {raw} AS _ps_raw "
                            f"FROM (SELECT *, norm(stage) AS _ps_stage, {pipeline} AS _ps_pipeline, {stage_id} AS _ps_stage_id "
                            f"FROM {ent.table}))")
            else:
                con.execute(f"CREATE OR REPLACE TABLE {ent.table} AS SELECT *, {_typed_expr(fs, raw_col, ent.date_order)} AS \"{name}\", "
                            f"FALSE AS _ps_own FROM (SELECT * EXCLUDE (_ps_stage, _ps_pipeline, _ps_stage_id), {raw} AS {raw_col} "
                            f"FROM (SELECT *, norm(stage) AS _ps_stage, {pipeline} AS _ps_pipeline, {stage_id} AS _ps_stage_id "
                            f"FROM {ent.table}))")
            unreadable = f'NOT _ps_own AND NOT is_blank("{name}__raw") AND "{name}" IS NULL'
            header = f"CASE {' '.join(heads)} ELSE NULL END" if heads else "NULL"
            bad = con.execute(f'SELECT _row, "{name}__raw", {header} FROM {ent.table} WHERE {unreadable} ORDER BY _row '
                              f"LIMIT {MAX_REPORTED}").fetchall()
            expected = Msg(DATE_EXPECTED_MDY if ent.date_order == "mdy" else TYPE_EXPECTED["date"])
            for f in fs.formats:
                expected = Msg(N_("{expected}, or {other}"), {"expected": expected, "other": Msg(FORMAT_EXPECTED[f])})
            if bad and on_bad_value != "warn":
                raise InputError(problems=[Problem(template=N_("cannot read «{value}»: expected {expected}"),
                                                   params={"value": v, "expected": expected}, file=str(ent.file), row=r,
                                                   column=h, reason="bad-value") for r, v, h in bad], hint=BAD_VALUE_HINT)
            for r, v, h in bad:
                warnings.append(DataWarning("bad-value", "", str(ent.file), r, h, template=BAD_VALUE_WARN,
                                            params={"value": v, "expected": expected}))
            con.execute(f"ALTER TABLE {ent.table} DROP COLUMN _ps_own")
            shown = pattern.replace("{stage_id}", "<stage id>").replace("{stage}", "<stage>").replace("{pipeline}", "<pipeline>")
            if lacking:
                stages = ", ".join(f"«{s}» ({n})" for s, n in lacking[:10]) + (", …" if len(lacking) > 10 else "")
                warnings.append(DataWarning("no-stage-column", "", str(ent.file), None, None, template=NO_STAGE_COLUMN,
                                            params={"n": sum(n for _s, n in lacking), "pattern": shown, "stages": stages}))
            headers = [by_key[k][1] for _p, ks in used for k in ks]
            if own:
                ent.per_stage_blank[name] = headers
                ent.note(name, Msg(N_("where blank: {columns}"), {"columns": Msg(STAGE_COLUMNS_NOTE, {"n": len(headers)})}))
                continue
            ent.per_stage[name] = headers
            ent.fields[name] = shown
            ent.typed.add(name)
            ent.note(name, Msg(STAGE_COLUMNS_NOTE, {"n": len(ent.per_stage[name])}))
    return warnings
