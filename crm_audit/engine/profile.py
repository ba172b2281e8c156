"""CRM export profiles: YAML files mapping export columns to canonical fields.

A profile is data (``crm_audit/profiles/<name>.yaml``), so supporting the next
CRM is a new file, not a code branch. See ``profiles/pipedrive.yaml`` for the
annotated format.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from crm_audit import resources, yamlsrc
from crm_audit.errors import ByLanguage, Problem, SettingsError
from crm_audit.filecache import per_file
from crm_audit.i18n import N_
from crm_audit.textnorm import norm

def _check_regex(pattern: str) -> str:
    import re

    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return pattern


def fold_accents(text: str) -> str:
    """Latin letters without their accents («Negócio» -> «Negocio»); Cyrillic
    untouched (NFD would turn «й» into «и» + a breve)."""
    import unicodedata

    if text.isascii():
        return text
    out = []
    for ch in text:
        if "\u00c0" <= ch <= "\u024f":  # Latin-1 Supplement .. Latin Extended-B
            base = unicodedata.normalize("NFD", ch)[0]
            out.append(base if base.isascii() else ch)
        else:
            out.append(ch)
    return "".join(out)


#: spaces around a parenthesis, which a header key leaves out: «会社（プライマリー）» (no space, Japanese) is «会社 (プライマリー)»
_BRACKET_SPACE = re.compile(r"\s*([()])\s*")


@functools.lru_cache(maxsize=1 << 16)
def hkey(header: str) -> str:
    """Header key: norm() with inner runs of spaces/newlines collapsed, Latin accents folded (an export re-saved
    without them still matches) and compatibility forms unified (NFKC: the full-width «（プライマリー）» a Japanese
    export writes is «(プライマリー)», acceptance T2)."""
    import unicodedata

    text = header if header.isascii() else unicodedata.normalize("NFKC", header)
    return _BRACKET_SPACE.sub(r"\1", " ".join(fold_accents(norm(text)).split()))


def spelled_key(header: str) -> str:
    """:func:`hkey` with the accents kept: how a header is spelled, which tells languages whose names differ only by
    an accent (Spanish «Negocio», Portuguese «Negócio») apart."""
    import unicodedata

    return " ".join(unicodedata.normalize("NFKC", norm(header)).split())


FieldType = Literal["id", "text", "number", "date", "enum", "bool"]
#: extra ways a date field's cells may be written: `unix` — seconds since 1970-01-01 UTC as a whole
#: number (amoCRM's API v4 `created_at`), `unix_ms` — milliseconds (HubSpot's API timestamps)
DateFormat = Literal["unix", "unix_ms"]


def _nonblank_list(v: list[str], what: str) -> list[str]:
    if not v or not all(norm(x) for x in v):
        raise ValueError(f"`{what}` needs at least one non-empty item")
    return v


class FallbackSpec(BaseModel):
    """Columns that feed a field in a row where its own `headers` are blank or absent."""

    model_config = ConfigDict(extra="forbid")
    headers: list[str]
    join: str | None = None

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: list[str]) -> list[str]:
        return _nonblank_list(v, "headers")


class RowsWhere(BaseModel):
    """Only the rows whose column (the first of `headers` in the file) holds one of `values`."""

    model_config = ConfigDict(extra="forbid")
    headers: list[str]
    values: list[str]

    @field_validator("headers", "values")
    @classmethod
    def _items(cls, v: list[str], info) -> list[str]:
        return _nonblank_list(v, info.field_name)


class RowsLike(BaseModel):
    """Only the rows whose column (the first of `headers` in the file) fits `pattern` (a lookup list's rows)."""

    model_config = ConfigDict(extra="forbid")
    headers: list[str]
    pattern: str

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: list[str]) -> list[str]:
        return _nonblank_list(v, "headers")

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        return _check_regex(v)


class LookupStatus(BaseModel):
    """A stage list's column of the stage's outcome (`columns`: its possible headers) and the values per status."""

    model_config = ConfigDict(extra="forbid")
    columns: list[str]
    values: dict[Literal["open", "won", "lost"], list[str]]
    # a second column the status holds on only where it holds one of `values` (Salesforce's OpportunityStage IsClosed
    # true: IsWon false on an open stage is no loss); a blank cell, or a list without the column, says no status
    closed: RowsWhere | None = None


class Lookup(BaseModel):
    """A file that is no entity but names the ids of a deal field (an API dump's
    stage list: «C2:NEW» -> «Новая заявка»; its users list: «9001» -> «Анна Петрова»). Found by its file name (`files`) or
    by having the `key` and `value` headers; the deals' ids of `field` are
    replaced by the names (ids it lacks are kept as they are, with a warning; an `owner`
    lookup names the owners of every entity whose owner column is one of `columns`);
    `order` (a sort column) numbers the stages for `crm-audit init`. `known`
    names ids without a file (Bitrix24's pipeline «0» is «Общее»)."""

    model_config = ConfigDict(extra="forbid")
    field: Literal["stage", "pipeline", "owner"]
    # the deal columns that hold such ids (STAGE_ID): a deals file whose field
    # comes from another column (a list export's «Стадия сделки») is left alone
    columns: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    key: list[str] = Field(default_factory=list)
    value: list[str] = Field(default_factory=list)
    order: list[str] = Field(default_factory=list)
    # more columns of the name, added after `value` with a space where the file has them (a users list's
    # LAST_NAME after NAME)
    more: list[str] = Field(default_factory=list)
    known: dict[str, str] = Field(default_factory=dict)
    # a regular expression of a prefix the CRM puts before `known` ids in its other pipelines (Bitrix24's
    # «C2:» in «C2:WON»): a prefixed id is named like the bare one
    known_prefix: str | None = None
    # true: `known` lists the ids in the CRM's own stage order (numbers the stages for `crm-audit init` when no file does)
    known_sorted: bool = False
    # a stage list's column of each stage's outcome and its values (Bitrix24's SEMANTICS: S won, F lost): a deal in such a
    # stage is won / lost whatever its id says (a custom failure stage «C2:UC_…»), where its status is not a column of its own
    status: LookupStatus | None = None
    # a stage list's column naming each stage's pipeline by its id (Bitrix24's CATEGORY_ID), named through the
    # pipeline lookup: the list's stages no deal is in are then written into that pipeline by `crm-audit init`
    pipeline: list[str] = Field(default_factory=list)
    # a regular expression (whole value, case-insensitive) an id of `columns` fits: a value that does not, and that no
    # list names, is a name the export already gives (HubSpot's UI export writes the pipeline's label «Sales Pipeline»
    # under «Pipeline», its API the id «default» or a number under «pipeline»): kept, never warned as an unnamed id
    id_like: str = ".+"
    # a JSON dump nesting this list's records in each record's list of that key (HubSpot's pipelines.json:
    # each pipeline's `stages`): read one row per nested record, its parent's fields first, prefixed
    # `json_parent` (pipeline_id, pipeline_label: the columns of the same list dumped as stages.csv)
    json_items: str | None = None
    json_parent: str = ""
    # only the list's rows whose column (the first of `headers` in the file) fits `pattern` (a regular expression, whole
    # value, case-insensitive; a blank cell is kept): Bitrix24's crm.status.list answers every status list at once
    # (ENTITY_ID DEAL_STAGE, DEAL_STAGE_2 …, but also STATUS — the lead statuses, with their own NEW — and SOURCE);
    # a file without the column is read whole
    rows_like: RowsLike | None = None
    # the list's rows the CRM no longer offers (Salesforce's OpportunityStage IsActive false): `crm-audit init` leaves
    # them out of the stages it writes unless a deal is in one (their names and order still read); a blank cell is active
    inactive: RowsWhere | None = None
    # the ids of `known` that the settings named (`stage_ids:` / `pipeline_ids:`): they win over a file
    settings: set[str] = Field(default_factory=set, exclude=True)

    @field_validator("known_prefix")
    @classmethod
    def _prefix(cls, v: str | None) -> str | None:
        return _check_regex(v) if v is not None else v

    @field_validator("id_like")
    @classmethod
    def _id_like(cls, v: str) -> str:
        return _check_regex(v)


class HeaderOptions(BaseModel):
    """The options of a field of a header list (:class:`HeaderList`): the field's key holding the list of options, and
    each option's id and label keys."""

    model_config = ConfigDict(extra="forbid")
    items: list[str]
    key: list[str]
    value: list[str]


class HeaderList(BaseModel):
    """A file that names the export's columns (an API dump whose custom fields are headed by their API keys, Pipedrive's
    GET /dealFields saved as dealFields.csv: key «6629101f…» -> name «Источник сделки»): found by its file name
    (`files`), its `key` and `value` columns; a column of any file headed by a key is read as headed by its name."""

    model_config = ConfigDict(extra="forbid")
    files: list[str]
    key: list[str]
    # the column's name: the first of these the field's record has non-blank (Bitrix24's crm.deal.fields: listLabel,
    # else formLabel, else title; a label given per language, {"ru": …, "en": …}, is the profile's language's)
    value: list[str]
    # a regular expression a key must match for the list to name its column (Bitrix24's user fields UF_…: the standard
    # fields' captions are never column names); None: every key the profile reads no field from
    key_like: str | None = None
    # a field's flag saying it holds several values (Bitrix24's isMultiple): its `false` cell is blank (an empty
    # multiple field in a REST dump)
    multiple: list[str] = Field(default_factory=list)
    # where a field of the list keeps its options, when the export gives an option's id for its value (Pipedrive's
    # enum / set custom field: `options: [{id, label}]` in GET /dealFields; a set's value «1,3»): read from a JSON list
    options: HeaderOptions | None = None


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    headers: list[str]
    type: FieldType = "text"
    required: bool = False
    values: dict[str, list[str]] = Field(default_factory=dict)
    # cell texts that mean "no value" for this field (amoCRM «не закрыта»)
    null_values: list[str] = Field(default_factory=list)
    # a list cell ("123;456"): keep its first item; `split` is the regular expression of the separator (";", or
    # ';|,\s+' for «2;5» and «2, 5» alike, never the comma of «1,234»)
    split: str | None = None
    # with `split`: the row counts once for EVERY item (a task associated with
    # several deals counts for each of them)
    many: bool = False
    # several columns feed the field (First name + Last name): join them
    join: str | None = None
    # headers read as this field only when the file has no other column for it: a name a team's own field may have
    # too (Kommo's amount is «Sale» / «Venta» / «Venda»; a «Budget» / «Presupuesto» / «Orçamento» beside it is the team's
    # marketing budget, a field a rule reads, never a second amount — acceptance Y-A). Beside another column of the
    # field such a column is a custom field of its own (`fields:` maps it, inspect lists it)
    secondary: list[str] = Field(default_factory=list)
    # the value when the export has no such column at all (one pipeline)
    default: str | None = None
    # `default` in the export's interface language (the language its headers are in: Salesforce's one pipeline is
    # «Ventes» for a French report, «销售» for a Chinese one), language code -> value; another language: `default`
    defaults: dict[str, str] = Field(default_factory=dict)
    # a regular expression: text matching it is removed from the cell
    # (HubSpot's «Name (e-mail)» contact cells -> «Name»)
    remove: str | None = None
    # date fields: headers of a column holding the NUMBER OF DAYS since the
    # date (Salesforce «Stage Duration»); used when none of `headers` is in the
    # export: the date is the audit date minus that many days
    from_days: list[str] = Field(default_factory=list)
    # other columns, for a row where none of `headers` has a value (or the
    # export has none of them): Bitrix24's «Контакт», else «Контакт: Имя» +
    # «Контакт: Фамилия»
    fallback: FallbackSpec | None = None
    # date fields: headers of ONE COLUMN PER STAGE holding the date a deal entered that stage, «{stage}» and
    # «{pipeline}» standing for the stage's and the pipeline's names (HubSpot's `Date entered "Appointment Scheduled
    # (Sales Pipeline)"`), «{stage_id}» for the stage's id as the deals file gives it before a stage list names it
    # (HubSpot's API property `hs_date_entered_appointmentscheduled`); used when none of `headers` is in the export, or where its cell is blank: a deal's date is the column of its own stage
    # and pipeline (names compared as stage names are: case, spaces and «ё» ignored; any quote marks alike), a blank
    # cell counts as a blank `headers` cell would (see crm_audit/engine/mapping.py `dates_from_stage_columns`)
    per_stage: list[str] = Field(default_factory=list)
    # date fields: other ways its cells are written besides the dates every field reads (see DateFormat);
    # a cell that is a whole number of the right size is read that way, any other cell as a date
    formats: list[DateFormat] = Field(default_factory=list)
    # a column of this field blank in every row may be the truth, not an export that lost its values (no warning):
    # `true` — an optional column (a next activity date, a contact); `{status: [lost]}` — unless some row has one of
    # these values of that field (a lost reason is blank when no deal is lost)
    may_be_blank: bool | dict[str, list[str]] = False

    @field_validator("remove", "split")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        return _check_regex(v) if v is not None else v

    @model_validator(mode="after")
    def _from_days_on_dates(self) -> "FieldSpec":
        if self.many and not self.split:
            raise ValueError("`many` needs `split` (the separator of the items)")
        if self.from_days and self.type != "date":
            raise ValueError("`from_days` is for fields of type date")
        if self.formats and self.type != "date":
            raise ValueError("`formats` is for fields of type date")
        if self.per_stage and self.type != "date":
            raise ValueError("`per_stage` is for fields of type date")
        if any("{stage}" not in p and "{stage_id}" not in p for p in self.per_stage):
            raise ValueError("each `per_stage` header needs «{stage}» (where the stage's name is written) or «{stage_id}» "
                             "(its id)")
        if self.fallback and {hkey(h) for h in self.headers} & {hkey(h) for h in self.fallback.headers}:
            raise ValueError("`fallback` headers must differ from the field's own `headers`")
        return self


#: a `columns:` key «<date field>_days» names the column of that date as days before the audit date (EntitySpec.days_field)
DAYS_SUFFIX = "_days"


class EntitySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: list[str] = Field(default_factory=list)
    prefixes: list[str] = Field(default_factory=list)
    # the fields a file's columns must feed to be this entity's file whatever its name: each item a field, or a list of
    # fields any one of which will do (a task report linked by the deal's name: `[done, [deal_id, deal_name]]`)
    signature: list[str | list[str]] = Field(default_factory=list)
    # one file holding two entities (amoCRM's contacts list: contacts and
    # companies, told apart by «Тип»): this entity is only the rows whose
    # column holds one of the values; the file also feeds every other entity
    # with `rows_where` on a column it has (unless that entity has a file of its
    # own). A file without the column is read whole.
    rows_where: RowsWhere | None = None
    fields: dict[str, FieldSpec]
    # headers of the CRM's per-stage columns the audit does not read, «{stage}» / «{pipeline}» as in FieldSpec.per_stage
    # (HubSpot's `Date exited "<stage> (<pipeline>)"`, `Latest time in …`, `Cumulative time in …`): still custom fields
    # a rule may name, but `inspect` names each family once with its count, never every column
    stage_columns: list[str] = Field(default_factory=list)
    # hkey(header) -> field: the settings' `columns:` (see Profile.with_columns); wins over `fields`
    columns: dict[str, str] = Field(default_factory=dict)
    # a file without the (required) `id` column is still read when it has the first of these fields: each record's id
    # is then derived from their normalised values — the same record, the same key in the next export (a view export
    # without «Record ID», a list export without «ID»; issue 13 L10, crm_audit/engine/mapping.py `derive_row_keys`)
    row_key: list[str] = Field(default_factory=list)
    # organizations / persons only: an export without this entity's file whose deals file carries, on each deal's row,
    # the linked record's fields (amoCRM's leads export: the main contact's «Полное имя контакта» and «Ответственный за
    # контакт»): field -> headers of the deals file's own columns (ones no deal field reads). The records are read from
    # the deals' rows that name one (the deals' `org_name` / `person_name` is the record's name), one per distinct name
    # and values, and each deal is linked to the record of its own row (crm_audit/engine/derived.py). Only when the
    # deals file has a column for every field listed; a file of the entity's own always wins
    from_deals: dict[str, list[str]] = Field(default_factory=dict)

    # every entity's prefixes of the profile (set when the profile loads): a file's own unknown prefix is none of them
    _all_prefixes: list[str] = PrivateAttr(default_factory=list)

    def days_field(self, key: str) -> str | None:
        """The date field whose «days since» column the `columns:` key ``key`` names: «<field>_days» of a date field
        the profile can read from days (`from_days`: Salesforce's «Stage Duration» of `stage_changed`); else None."""
        base = key[: -len(DAYS_SUFFIX)] if key.endswith(DAYS_SUFFIX) else None
        fs = self.fields.get(base) if base else None
        return base if fs is not None and fs.from_days else None

    def column_keys(self) -> list[str]:
        """What a `columns:` line of this entity may name: its fields, and «<field>_days» of each date it reads from days."""
        return [*self.fields, *(f"{n}{DAYS_SUFFIX}" for n, fs in self.fields.items() if fs.from_days)]

    @model_validator(mode="after")
    def _row_key_fields(self) -> "EntitySpec":
        unknown = [f for f in self.row_key if f not in self.fields]
        if unknown:
            raise ValueError(f"`row_key` names fields the entity has not: {', '.join(unknown)}")
        unknown = [f for f in self.from_deals if f not in self.fields or f in ("id", "name")]
        if unknown:
            raise ValueError(f"`from_deals` names fields the entity has not (or its id / name, which come from the deals' "
                             f"link): {', '.join(unknown)}")
        unknown = [f for f in self.signature_fields() if f not in self.fields]
        if unknown:
            raise ValueError(f"`signature` names fields the entity has not: {', '.join(unknown)}")
        return self

    def signature_fields(self) -> list[str]:
        """Every field the signature names (each alternative too), in order."""
        return [f for item in self.signature for f in ([item] if isinstance(item, str) else item)]

    def signature_lacking(self, have) -> list[str]:
        """The signature items ``have`` (the fields a file's columns feed) has no field of — each by its first field."""
        items = [[item] if isinstance(item, str) else item for item in self.signature]
        return [alts[0] for alts in items if alts and not any(f in have for f in alts)]

    def signed_by(self, have) -> bool:
        """``have`` has the whole signature (of an item of alternatives, any one); False for an entity without one."""
        return bool(self.signature) and not self.signature_lacking(have)

    def keyless(self, have) -> bool:
        """The file lacks the required id column yet has the first `row_key` field: its ids are derived (L10)."""
        fs = self.fields.get("id")
        return bool(self.row_key and fs is not None and fs.required and "id" not in have and self.row_key[0] in have)

    def missing_required(self, have) -> list[str]:
        """The required fields ``have`` (the fields the file's columns feed) lacks — the id not when it is derived."""
        return [n for n, fs in self.fields.items() if fs.required and n not in have and not (n == "id" and self.keyless(have))]

    def header_index(self) -> dict[str, str]:
        """hkey(header) -> canonical field name."""
        out: dict[str, str] = dict(self.columns)
        for name, spec in self.fields.items():
            for h in spec.headers:
                out.setdefault(hkey(h), name)
        return out

    def strip_prefix(self, header: str, own: str | None = None) -> tuple[str, bool]:
        """Remove an entity prefix such as ``Deal - ``; returns (rest, had_prefix). ``own``: the file's own prefix in an
        interface language the profile does not know (:meth:`file_prefix`), removed too."""
        h = header.strip().lstrip("\ufeff").strip()
        low = fold_accents(norm(h))
        for p in [*self.prefixes, *([own] if own else [])]:
            for variant in (p, p.replace(" - ", "-"), p.replace(" - ", " – ")):
                pl = fold_accents(norm(variant))
                if low.startswith(pl) and len(h) > len(pl):
                    return h[len(pl):].strip(), True
        return h, False

    def prefix_tail(self) -> str | None:
        """What ends every prefix of the entity (« - » of Pipedrive's «Deal - », «取引 - »): the CRM writes its list
        export's headers as «<Entity><tail><Field>»; None when the entity has no prefixes or they end differently."""
        tails = {m.group(0) for m in (re.search(r"[^\w]+$", p) for p in self.prefixes) if m and m.group(0).strip()}
        return tails.pop() if len(tails) == 1 else None

    def file_prefix(self, headers: list[str]) -> str | None:
        """The entity prefix of a file in an interface language the profile does not know: the one «X<tail>» that
        (nearly) every header of the file begins with (:data:`OWN_PREFIX_SHARE`), where X is no prefix of the profile
        («取引 - ID», «取引 - タイトル» …: «取引 - »). None when the headers carry a known prefix, none, or several.
        The linked entities' columns a deals file embeds («組織 - 名前») stay under their own prefix: only the file's
        dominant one is taken, never one per header (issue 13 acceptance N3)."""
        tail = self.prefix_tail()
        named = [h.strip().lstrip("\ufeff").strip() for h in headers if h and h.strip()]
        if tail is None or len(named) < 2:
            return None
        seps = {tail, tail.replace(" - ", " – ")}
        heads: dict[str, int] = {}
        for h in named:
            cut = min((h.find(sep) for sep in seps if h.find(sep) > 0), default=-1)
            if cut > 0:
                head = h[:cut].strip()
                heads[head] = heads.get(head, 0) + 1
        if not heads:
            return None
        head, n = max(heads.items(), key=lambda kv: kv[1])
        prefix = head + tail
        known = {fold_accents(norm(p)).strip() for p in self._all_prefixes or self.prefixes}
        if (n < 2 or n < OWN_PREFIX_SHARE * len(named) or fold_accents(norm(prefix)).strip() in known
                or len(head) > 40 or len(head.split()) > 3 or any(ch.isdigit() for ch in head)):
            return None
        return prefix


#: the share of a file's headers that must begin with one unknown «X - » for X to be taken as the file's entity prefix
OWN_PREFIX_SHARE = 0.8

ENTITIES = ("deals", "organizations", "persons", "activities")
#: a file of at least this many headers one of which alone names a language is not taken to be in it
LONE_NAME_FILE = 5


class StatusFromStage(BaseModel):
    """Won/lost encoded as stage names (amoCRM, Bitrix24, HubSpot)."""

    model_config = ConfigDict(extra="forbid")
    won: list[str] = Field(default_factory=list)
    lost: list[str] = Field(default_factory=list)
    deleted: list[str] = Field(default_factory=list)
    # status of a deal in any other (non-blank) stage
    otherwise: Literal["open"] | None = "open"
    # which pipelines `crm-audit init` gives the CRM's default won / lost stages (the first of `won` / `lost`)
    # that no deal of the export is in: `every_pipeline` (Bitrix24, amoCRM: every pipeline has them), or
    # `when_none_closed` — only a pipeline whose deals show no closed stage of its own (HubSpot: a custom
    # pipeline has its own closed stages, «Signed», «Went dark», and no «Closed Won»)
    defaults: Literal["every_pipeline", "when_none_closed"] = "every_pipeline"
    # regular expressions (whole value, case-insensitive) for stage ids that
    # carry a pipeline prefix (Bitrix24's REST «C2:WON», «C2:LOSE»)
    won_pattern: str | None = None
    lost_pattern: str | None = None
    # a regular expression (whole value, case-sensitive) of stage values in which a closed deal that is not in a won
    # stage is lost for certain — the CRM's own stage ids (Bitrix24 REST: WON is a pipeline's only success id, every
    # other final id — LOSE, APOLOGY, UC_… — a failure): no warning for them
    closed_lost_pattern: str | None = None
    # the CRM's default won / lost stage names per interface language (code -> [won, lost]; the profile's own
    # `language` too): `crm-audit init` adds a pipeline's missing final stages in the export's language only
    default_names: dict[str, list[str]] = Field(default_factory=dict)
    # the stages the settings list as open (their `pipelines:` less the won / lost stages): a close date alone
    # (amoCRM's «Дата закрытия») does not close a deal in one of them; set from the settings, never in a profile
    open: list[str] = Field(default_factory=list)
    # stage names that say the deal is open («Open»): never read as a status, but a deal the CRM's closed flags close in
    # such a stage is warned by file, column and rows (swapped or inverted flag columns; crm_audit/engine/status_checks.py)
    open_names: list[str] = Field(default_factory=list)
    # the CRM's order value (the deals' `stage_order`: Salesforce's probability) of a won / lost stage: where the
    # export has no readable closed flags, `crm-audit init` takes a stage whose every deal carries it for closed —
    # under won_stages: / lost_stages: with closed_stages_confirmed: false (crm_audit/engine/closed_guess.py)
    # (a list: every value the CRM writes it as — HubSpot's «Deal probability» 1 or 100)
    closed_by_order: dict[Literal["won", "lost"], float | list[float]] = Field(default_factory=dict)

    @field_validator("won_pattern", "lost_pattern", "closed_lost_pattern")
    @classmethod
    def _patterns(cls, v: str | None) -> str | None:
        return _check_regex(v) if v is not None else v


class StatusFromFlags(BaseModel):
    """Won/lost from the CRM's yes/no columns (canonical bool fields of deals).

    Whichever of them the export has: ``won`` true -> won; ``lost`` true ->
    lost; ``closed`` true -> lost when the export has ``won`` (Salesforce
    «Closed» + «Won»), else won when the stage is a won stage of
    `from_stage` (or the settings' `won_stages:`), lost when it is a lost one
    (or in `lost_stages:`), and otherwise lost *with a warning naming the
    stage* (Bitrix24 «Сделка закрыта» in a custom final stage such as «Отказ
    клиента», or a renamed won stage «Оплачено»: the export cannot tell);
    ``closed`` false, or ``won`` and ``lost`` both false -> open. A row none
    of them decides falls back to `from_stage`.

    ``closed`` may be a date field (amoCRM's «Дата закрытия»): filled, it
    closes a deal whose stage is not one the settings list as open.
    """

    model_config = ConfigDict(extra="forbid")
    closed: str | None = None
    won: str | None = None
    lost: str | None = None
    # a yes/no field that, true, makes the deal deleted whatever the others say (HubSpot's API `archived`: an archived
    # deal is a deleted one, never audited; acceptance W6)
    deleted: str | None = None

    @model_validator(mode="after")
    def _some(self) -> "StatusFromFlags":
        if not (self.closed or self.won or self.lost):
            raise ValueError("`from_flags` needs at least one of closed, won, lost")
        return self


class DeriveStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_flags: StatusFromFlags | None = None
    from_stage: StatusFromStage | None = None


class YesNo(BaseModel):
    """The words a yes/no value is written with (a custom field such as «Агентство ли это»,
    which a rule reads with `is_yes`): any case, surrounding spaces and «ё» ignored."""

    model_config = ConfigDict(extra="forbid")
    yes: list[str] = Field(default_factory=list)
    no: list[str] = Field(default_factory=list)

    def merged(self, other: "YesNo") -> "YesNo":
        return YesNo(yes=_add_words(self.yes, other.yes), no=_add_words(self.no, other.no))

    def meaning(self, cell: str) -> bool | None:
        """True for a yes word, False for a no word, None for anything else."""
        n = norm(cell)
        if n in {norm(w) for w in self.yes}:
            return True
        if n in {norm(w) for w in self.no}:
            return False
        return None


def _add_words(words: list[str], more: list[str]) -> list[str]:
    seen = {norm(w) for w in words}
    return [*words, *(w for w in more if norm(w) not in seen and not seen.add(norm(w)))]


@functools.cache
def _spreadsheet_bools() -> YesNo:
    """Excel's TRUE / FALSE in each interface language (``bool_words.yaml``: «VRAI» / «FAUX» of a French re-save)."""
    data = resources.data_file(Path(__file__).parent / "bool_words.yaml") or {}
    return YesNo(yes=[str(w) for w in data.get("yes", [])], no=[str(w) for w in data.get("no", [])])


#: yes/no words every profile reads (the reference's «Да» / Yes / True / 1, and a spreadsheet's TRUE / FALSE in
#: every language — after the profile's own words, so a message naming the first words names the CRM's)
REFERENCE_YES_NO = YesNo(yes=["Да", "Yes", "True", "1"], no=["Нет", "No", "False", "0"])
BASE_YES_NO = REFERENCE_YES_NO.merged(_spreadsheet_bools())


def _add_bool_words(profile: "Profile", words: YesNo) -> None:
    """Every bool field whose values are "true" / "false" (Salesforce's Closed / Won, HubSpot's Is Closed Won) also
    reads the profile's yes/no words of every language: a report in one language re-saved by a spreadsheet in
    another writes the spreadsheet's TRUE / FALSE («VRAI» / «FAUX»). A word a field already reads otherwise keeps
    its meaning (a task status «Open» stays "false")."""
    for spec in profile.entities.values():
        for fs in spec.fields.values():
            if fs.type != "bool" or not {"true", "false"} <= set(fs.values):
                continue
            known = {norm(v) for vals in fs.values.values() for v in vals}
            for key, more in (("true", words.yes), ("false", words.no)):
                for w in more:
                    if norm(w) not in known:
                        fs.values[key].append(w)
                        known.add(norm(w))


class LanguageEntity(BaseModel):
    """One entity's names in one interface language: prefixes, header aliases per field, values per enum."""

    model_config = ConfigDict(extra="forbid")
    prefixes: list[str] = Field(default_factory=list)
    fields: dict[str, list[str]] = Field(default_factory=dict)  # canonical field -> headers
    values: dict[str, dict[str, list[str]]] = Field(default_factory=dict)  # enum/bool field -> key -> cell texts
    # date field -> its per-stage headers in this language (see FieldSpec.per_stage)
    per_stage: dict[str, list[str]] = Field(default_factory=dict)
    # field -> the deals file's headers of it in this language (see EntitySpec.from_deals: Kommo's contact owner)
    from_deals: dict[str, list[str]] = Field(default_factory=dict)


class LanguageSpec(BaseModel):
    """The export's names in one interface language of the CRM (merged into the
    entities when the profile loads, so one file may mix languages)."""

    model_config = ConfigDict(extra="forbid")
    title: str = ""
    # where the names were seen (an export, a help page, an importer's mapping)
    evidence: str = ""
    # names not seen in any export or document: written by analogy (field keys
    # such as deals.currency, or whole headers)
    inferred: list[str] = Field(default_factory=list)
    entities: dict[Literal["deals", "organizations", "persons", "activities"], LanguageEntity] = Field(default_factory=dict)
    # how a yes/no value is written in this language (Sim / Não): accepted in every yes/no field
    yes_no: YesNo | None = None


def _merge_language(profile: "Profile", code: str, lang: LanguageSpec) -> None:
    """Add one language's prefixes, header aliases and values to the profile's entities.

    A header that would name two different fields of an entity, or a cell text
    that would mean two different values of a field, is a profile error.
    """
    for ent_name, le in lang.entities.items():
        spec = profile.entities.get(ent_name)
        if spec is None:
            raise ValueError(f"languages.{code}: entity «{ent_name}» is not in this profile's entities")
        for p in le.prefixes:
            if hkey(p) not in {hkey(x) for x in spec.prefixes}:
                spec.prefixes.append(p)
        index = spec.header_index()
        for fname, headers in le.fields.items():
            fs = spec.fields.get(fname)
            if fs is None:
                raise ValueError(f"languages.{code}.entities.{ent_name}: unknown field «{fname}» (fields: {', '.join(spec.fields)})")
            for h in headers:
                other = index.get(hkey(h))
                if other is not None and other != fname:
                    raise ValueError(f"languages.{code}.entities.{ent_name}: header «{h}» of field {fname} already names field {other}")
                if other is None:
                    fs.headers.append(h)
                    index[hkey(h)] = fname
        for fname, patterns in le.per_stage.items():
            fs = spec.fields.get(fname)
            if fs is None or fs.type != "date":
                raise ValueError(f"languages.{code}.entities.{ent_name}.per_stage: «{fname}» is not a date field")
            if any("{stage}" not in p and "{stage_id}" not in p for p in patterns):
                raise ValueError(f"languages.{code}.entities.{ent_name}.per_stage.{fname}: each header needs «{{stage}}» "
                                 "or «{stage_id}»")
            fs.per_stage += [p for p in patterns if p not in fs.per_stage]
        for fname, headers in le.from_deals.items():
            if fname not in spec.from_deals:
                raise ValueError(f"languages.{code}.entities.{ent_name}.from_deals: «{fname}» is no field of the entity's "
                                 f"from_deals: ({', '.join(spec.from_deals) or 'none'})")
            spec.from_deals[fname] += [h for h in headers if norm(h) not in {norm(x) for x in spec.from_deals[fname]}]
        for fname, keys in le.values.items():
            fs = spec.fields.get(fname)
            if fs is None or fs.type not in ("enum", "bool"):
                raise ValueError(f"languages.{code}.entities.{ent_name}.values: «{fname}» is not an enum or bool field")
            known = {norm(v): k for k, vals in fs.values.items() for v in vals}
            for key, vals in keys.items():
                if key not in fs.values:
                    raise ValueError(f"languages.{code}.entities.{ent_name}.values.{fname}: unknown value key «{key}» (keys: {', '.join(fs.values)})")
                for v in vals:
                    if known.get(norm(v), key) != key:
                        raise ValueError(f"languages.{code}.entities.{ent_name}.values.{fname}: «{v}» already means {known[norm(v)]}")
                    if norm(v) not in known:
                        fs.values[key].append(v)
                        known[norm(v)] = key


def _neutral_name(name: str) -> bool:
    """A name written alike in every interface language: «ID», an API field code (TITLE, STAGE_ID, hs_object_id,
    LeadSource — no space, capitals or underscores inside)."""
    import re

    n = name.strip()
    return bool(re.fullmatch(r"[A-Z0-9_]+|[a-z0-9]+(_[a-z0-9]+)+|[A-Za-z][a-z0-9]+([A-Z][a-z0-9]*)+", n))


def _text_script(text: str) -> str | None:
    """The script a name is written in: Cyrl, Latn, CJK (Han, kana, hangul), None (digits, signs)."""
    for ch in text:
        o = ord(ch)
        if 0x0400 <= o <= 0x052F:
            return "Cyrl"
        if 0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF:
            return "CJK"
    return "Latn" if any(ch.isalpha() for ch in text) else None


def _language_script(code: str) -> str | None:
    """The script a language code (pt-BR, ru, ja, ua) is written in, from CLDR's likely subtags (Babel)."""
    from babel.core import get_global

    subtags = get_global("likely_subtags")
    base = code.replace("-", "_")
    tag = subtags.get(base) or subtags.get(base.split("_")[0]) or subtags.get({"ua": "uk"}.get(base, ""))
    if not tag:
        return None
    script = tag.split("_")[1] if len(tag.split("_")) > 2 else None
    return "CJK" if script in ("Jpan", "Hans", "Hant", "Hani", "Kore") else script


def _script_fits(name: str, code: str) -> bool:
    have, want = _text_script(name), _language_script(code)
    return have is None or want is None or have == want


# which `unsupported:` keys a rule field falls under (entity of the rule language)
_REF_ENTITY = {"deal": "deals", "org": "organizations", "person": "persons", "tasks": "activities"}
_REF_PREFIX = {"deal": "deal", "org": "org", "person": "person", "tasks": "activities"}


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    title: str = ""
    # other names a team writes for this CRM in `crm: …` / `init --crm …` (its product names, old and new, in Latin
    # and Cyrillic letters): read as this profile; any case, spaces, hyphens ignored (see :func:`canonical_name`)
    aliases: list[str] = Field(default_factory=list)
    # example link to a deal, for `crm-audit init`
    deal_url: str = ""
    # the part of `deal_url` that stands for the team's account («example» in example.pipedrive.com, HubSpot's
    # «PORTAL_ID»): a `deal_url:` still holding it links every row to no real deal — init, validate and run say so;
    # `init --from-export DIR --domain ACCOUNT` puts the account there (a whole host such as acme.kommo.com replaces
    # the link's host)
    deal_url_account: str = "example"
    # cell texts that mean "no value" in ANY column of this CRM's export, in each interface language the CRM writes
    # them in (HubSpot «(No value)», «(Nenhum valor)»): read as a blank cell, never as a value (an owner, a source, an
    # amount that does not read)
    empty_values: list[str] = Field(default_factory=list)
    # how to read d/m/y vs m/d/y dates written with slashes (10/11/2026) when the values do not tell
    # (a day above 12 does; so does a 12-hour clock «10:00:00 am», the US style)
    date_order: Literal["dmy", "mdy"] = "dmy"
    # true: `date_order` as given, never taken from the values (the settings' `date_order: dmy|mdy`)
    date_order_fixed: bool = False
    # the interface language of the profile's own names (those not under `languages:`): when no cell of a number
    # column has decimals (15.000, 1,500), its decimal mark (CLDR) reads them — unless the headers are in a language
    # of `languages:` (see crm_audit/engine/amounts.py)
    language: str = "en"
    # the settings' `decimal_mark: "," | "."`: every number column read with it, never taken from the values
    decimal_mark: Literal[",", "."] | None = None
    # headers that identify this CRM's export (auto-detection by `inspect`)
    detect: list[str] = Field(default_factory=list)
    # what this CRM's export simply does not have: entity names
    # (activities, persons, organizations) or fields (deal.stage_changed,
    # org.owner ...) -> why, in Russian, for the manager. A rule that needs one
    # of them is skipped (not failed) when the export indeed lacks it.
    # deal.stage_changed: only the words — without that column 2.2 / 2.4 are
    # skipped in every CRM alike (crm_audit/engine/requirements.py)
    unsupported: dict[str, str] = Field(default_factory=dict)
    # how to export a file this CRM's export may lack (entity -> Russian words, «выгрузите из HubSpot компании
    # («Companies» → «Export»)»): a rule reading it is skipped with the CRM's own export named, never another CRM's
    # file name (issue 13 acceptance Q5)
    export_files: dict[str, str] = Field(default_factory=dict)
    # file names (without extension, compared as names are) of this CRM's objects the audit reads none of (Salesforce's
    # Lead, Case, Campaign dumped beside the opportunities): such a file is ignored with a warning whatever its headers
    # resemble — never a second «organizations» file (issue 13 acceptance R3)
    other_files: list[str] = Field(default_factory=list)
    # regular expressions (whole first non-blank cell, case-insensitive) of
    # footer lines to drop: report totals, confidentiality notes
    footer: list[str] = Field(default_factory=list)
    # link deals to organizations / persons by name when the export has no ids
    # (deals.org_name / person_name -> the entity's name); `deal`: link
    # activities to deals by the deal's title (activities.deal_name -> title)
    link_by_name: list[Literal["org", "person", "deal"]] = Field(default_factory=list)
    # where the name does not link, another key of the linked record the deal's `<kind>_name` may hold: kind -> fields
    # of that entity, compared as web domains (case, a scheme, «www.» and a path ignored). HubSpot's deals name their
    # company by its domain («Associated Company Domain»): linked to the company whose «Company Domain Name» /
    # «Website URL» it is (crm_audit/engine/linking.py)
    link_keys: dict[Literal["org", "person"], list[str]] = Field(default_factory=dict)
    derive_status: DeriveStatus | None = None
    # files that translate ids into names (an API dump's stage ids): see Lookup
    lookups: list[Lookup] = Field(default_factory=list)
    # files that name columns headed by API keys (Pipedrive's dealFields.csv): see HeaderList
    header_lists: list[HeaderList] = Field(default_factory=list)
    # data warning code -> a sentence added to that warning for this CRM
    # (why it happens in this CRM's export and what to do)
    # (a sentence, or one per language: {en: …, ru: …}, shown in the CLI's language)
    hints: dict[str, str | dict[Literal["en", "ru"], str]] = Field(default_factory=dict)
    entities: dict[Literal["deals", "organizations", "persons", "activities"], EntitySpec]
    # the CRM's interface languages: code (en, pt-BR, ...) -> names in that
    # language, merged into `entities` on load (see pipedrive.yaml)
    languages: dict[str, LanguageSpec] = Field(default_factory=dict)
    # the headers (among the entities' `headers:`) that are the CRM API's field codes, as a script dumping the API
    # writes them (Bitrix24 TITLE / STAGE_ID, HubSpot dealname / hs_object_id, Pipedrive id / stage_id): a file whose
    # known headers are mostly these is API-shaped, and a column it lacks is named by its code (:meth:`header_in`)
    api_headers: list[str] = Field(default_factory=list)
    # the yes/no words of a custom yes/no field (a rule's `is_yes`), beyond BASE_YES_NO;
    # each language's `yes_no` is added on load
    yes_no: YesNo = Field(default_factory=YesNo)

    # hkey(name) -> the interface languages whose names (headers, prefixes) it is; the profile's own names (not under
    # `languages:`) count as `language` (kept before the languages are merged: see interface_languages)
    _name_langs: dict[str, set[str]] = PrivateAttr(default_factory=dict)
    _prefix_langs: dict[str, set[str]] = PrivateAttr(default_factory=dict)
    _spelled_langs: dict[str, set[str]] = PrivateAttr(default_factory=dict)  # names by spelled_key
    _spelled_prefixes: dict[str, set[str]] = PrivateAttr(default_factory=dict)  # prefixes by spelled_key
    # hkey(name) -> (language, entity, field) it names; language -> the (entity, field) pairs it has a name for
    _name_fields: dict[str, set[tuple[str, str, str]]] = PrivateAttr(default_factory=dict)
    _lang_fields: dict[str, set[tuple[str, str]]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _from_deals_entities(self) -> "Profile":
        """`from_deals:` only on an entity the deals link to by a name field of theirs (organizations / persons)."""
        for ent, spec in self.entities.items():
            if spec.from_deals and ent not in ("organizations", "persons"):
                raise ValueError(f"`from_deals` on {ent}: only organizations and persons can be read from the deals' rows")
        return self

    @model_validator(mode="after")
    def _merge_languages(self) -> "Profile":
        self._index_language_names()
        words = REFERENCE_YES_NO.merged(self.yes_no)
        for code, lang in self.languages.items():
            _merge_language(self, code, lang)
            if lang.yes_no is not None:
                words = words.merged(lang.yes_no)
        words = words.merged(_spreadsheet_bools())
        clash = {norm(w) for w in words.yes} & {norm(w) for w in words.no}
        if clash:
            raise ValueError(f"yes_no: «{sorted(clash)[0]}» is both a yes and a no word")
        self.yes_no = words
        _add_bool_words(self, words)
        every = [p for spec in self.entities.values() for p in spec.prefixes]
        for spec in self.entities.values():
            spec._all_prefixes = every
        return self

    def hint(self, code: str) -> ByLanguage | None:
        """The profile's sentence for warning / problem ``code`` (``hints:``), made in the language it is shown in."""
        text = self.hints.get(code)
        if text is None:
            return None
        return ByLanguage(text) if isinstance(text, dict) else ByLanguage({"en": text})

    def with_ids(self, field: str, names: dict[str, str]) -> "Profile":
        """A copy whose lookups of ``field`` (stage / pipeline / owner) name these ids (the settings'
        `stage_ids:` / `pipeline_ids:` / `owner_ids:`; they win over the profile's `known` and a dumped list)."""
        if not names or not any(lk.field == field for lk in self.lookups):
            return self
        out = self.model_copy(deep=True)
        for lk in out.lookups:
            if lk.field == field:
                lk.known = {**lk.known, **{str(k): v for k, v in names.items()}}
                lk.settings = {str(k) for k in names}
        return out

    def _index_language_names(self) -> None:
        """Which language each header / prefix name is (before `languages:` are merged into the entities). A name is
        no evidence of a language written in another script (a Bitrix24 profile's own names are Russian and English:
        «Deal Name» is not Russian), and an API field code or «ID» (TITLE, STAGE_ID, LeadSource) of none."""
        names: dict[str, set[str]] = {}
        prefixes: dict[str, set[str]] = {}
        fields: dict[str, set[tuple[str, str, str]]] = {}
        lang_fields: dict[str, set[tuple[str, str]]] = {}

        spelled: dict[int, dict[str, set[str]]] = {id(names): {}, id(prefixes): {}}

        def add(index: dict[str, set[str]], name: str, code: str, field: tuple[str, str] | None = None) -> None:
            if not _neutral_name(name) and _script_fits(name, code):
                index.setdefault(hkey(name), set()).add(code)
                spelled[id(index)].setdefault(spelled_key(name), set()).add(code)
                if field is not None:
                    fields.setdefault(hkey(name), set()).add((code, *field))
                    lang_fields.setdefault(code, set()).add(field)

        own = self.language if self.language not in self.languages else None
        if own is not None:
            for ent, spec in self.entities.items():
                for p in spec.prefixes:
                    add(prefixes, p, own)
                for fname, fs in spec.fields.items():
                    for h in fs.headers:
                        add(names, h, own, (ent, fname))
                        for p in spec.prefixes:
                            add(names, f"{p}{h}", own, (ent, fname))
        for code, lang in self.languages.items():
            for ent, le in lang.entities.items():
                for p in le.prefixes:
                    add(prefixes, p, code)
                for fname, hs in le.fields.items():
                    for h in hs:
                        add(names, h, code, (ent, fname))
                        for p in le.prefixes:
                            add(names, f"{p}{h}", code, (ent, fname))
        self._name_langs, self._prefix_langs = names, prefixes
        self._spelled_langs, self._spelled_prefixes = spelled[id(names)], spelled[id(prefixes)]
        self._name_fields, self._lang_fields = fields, lang_fields

    def name_languages(self, name: str) -> set[str]:
        """The interface languages ``name`` is a header (or prefix) of in this profile (none: a neutral name, an API
        code, a name in another script, or no name of this profile)."""
        k = hkey(name)
        return set(self._name_langs.get(k, set())) | set(self._prefix_langs.get(k, set()))

    def deal_url_example(self, url: str) -> str | None:
        """The part of ``url`` that is an example, not the team's account (the profile's `deal_url_account`, or a host
        «example.…»): a link there opens no real deal; None when ``url`` is blank or names an account."""
        from urllib.parse import urlsplit

        if not url:
            return None
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host.split(".")[0] in ("example", self.deal_url_account):  # example.pipedrive.com (crm.example is a host)
            return host
        acc = self.deal_url_account
        return acc if acc and acc in parts.path.split("/") else None  # HubSpot's …/contacts/PORTAL_ID/…

    def deal_url_for(self, account: str) -> str:
        """The profile's `deal_url` for the team's account (`init --domain`): a host («acme.kommo.com») replaces the
        link's host, a name or id («acme», «12345678») the profile's `deal_url_account`."""
        from urllib.parse import urlsplit, urlunsplit

        acc = account.strip().split("://", 1)[-1].strip("/")
        url = self.deal_url
        if not acc or not url:
            return url
        if "." in acc and "/" not in acc:
            parts = urlsplit(url)
            return urlunsplit(parts._replace(netloc=acc))
        return url.replace(self.deal_url_account, acc) if self.deal_url_account else url

    def interface_languages(self, headers: list[str]) -> list[str]:
        """The interface languages the headers are in, best first: each distinct header counts for the one language
        whose name it is (a name two languages share — «ID», «Pipeline», «Status» — is no evidence), as does a
        custom field behind a prefix only one language writes («Negócio - Origem»). Every language with evidence is
        kept (a file may mix languages), most first; the profile's own language (`language:`) is among them.

        A header adds a second language only where the first one names the same field otherwise: a Polish Bitrix24
        export's «Kontakt» (the profile knows it as German, not the Polish name of the field) may be Polish as well,
        so the file is «pl», not «pl, de» (acceptance J12); «Deal - Title» in a Portuguese Pipedrive file is English."""
        scores: dict[str, int] = {}
        evidence: dict[str, list[str]] = {}
        for k, sk in {hkey(h): spelled_key(h) for h in headers if h and h.strip() and not _neutral_name(h)}.items():
            langs = self._name_langs.get(k)
            spelled = self._spelled_langs.get(sk, set())
            if langs is None:  # a custom field: the prefix tells
                langs = set().union(*[ls for p, ls in self._prefix_langs.items() if k.startswith(p) and len(k) > len(p)] or [set()])
                spelled = set().union(*[ls for p, ls in self._spelled_prefixes.items() if sk.startswith(p) and len(sk) > len(p)]
                                      or [set()])
            if len(langs) > 1 and langs & spelled:  # one name but for its accents: the language spelling it so
                langs = langs & spelled
            if len(langs) == 1:
                code = next(iter(langs))
                scores[code] = scores.get(code, 0) + 1
                evidence.setdefault(code, []).append(k)
        if not scores:
            return []
        first = sorted(scores, key=lambda c: -scores[c])[0]
        if scores[first] == 1 and len(headers) >= LONE_NAME_FILE:  # «Record-ID» among a Danish file's headers the
            return []  # profile does not know: one name of a language is no evidence the file is in it (acceptance R8)
        named = self._lang_fields.get(first, set())
        for code, keys in evidence.items():
            if code == first:
                continue
            # a custom field behind the language's prefix stays evidence (no field); a field's name only where the
            # first language has its own name for that field
            scores[code] = sum(1 for k in keys if k not in self._name_fields
                               or {(e, f) for c, e, f in self._name_fields[k] if c == code} & named)
        return sorted((c for c in scores if scores[c]), key=lambda c: -scores[c])

    def api_shaped(self, entity: str, headers: list[str]) -> bool:
        """Whether a file of ``entity`` with these headers is an API dump (`api_headers:`): more of its headers are the
        API's field codes than the interface's names (a name both write — «ID», «Pipeline» — counts for neither). The
        interface's names of every entity count: the headers may be another file's (a message naming a column of a file
        the export lacks — a German deals export's «Pipeline» and «Status» never make the absent companies file an API
        dump, issue 13 acceptance N7)."""
        spec = self.entities.get(entity)
        if spec is None or not self.api_headers:
            return False
        api = {hkey(h) for h in self.api_headers}
        ui = {hkey(h) for es in self.entities.values() for fs in es.fields.values()
              for h in (*fs.headers, *(fs.fallback.headers if fs.fallback else []))}
        ui |= {hkey(h) for le in self.languages.values() for le_ent in le.entities.values() for hs in le_ent.fields.values()
               for h in hs}
        keys = {hkey(h) for h in headers if h and h.strip()}
        n_api = len(keys & api)
        n_ui = len(keys & (ui - api))
        return n_api >= 2 and n_api > n_ui

    def header_in(self, entity: str, name: str, headers: list[str], prefixed: bool = True) -> str:
        """The header field ``name`` of ``entity`` would have in a file with these headers (a message naming a column
        the file lacks): in an API dump (:meth:`api_shaped`) the field's API code («hs_object_id», «STAGE_ID»);
        else the field's name in the file's interface language, behind the prefix the file uses (none when
        its headers have none), else the profile's first name («Negócio - ID da organização» in a pt-BR export, never
        «Deal - Organization ID»)."""
        spec = self.entities.get(entity)
        if spec is None or name not in spec.fields:
            return name
        if self.api_shaped(entity, headers):  # spelled as the API writes it: Pipedrive «id», Salesforce «Id»
            api = {hkey(h): h for h in self.api_headers}
            code = next((api[hkey(h)] for h in spec.fields[name].headers if hkey(h) in api), None)
            if code is not None:
                return code
        langs = self.languages_of(headers)
        own = [self.languages[c].entities.get(entity) for c in langs]
        alias = next((le.fields[name][0] for le in own if le is not None and le.fields.get(name)), spec.fields[name].headers[0])
        if not prefixed:
            return alias
        keys = [fold_accents(norm(h)) for h in headers if h]
        order = [p for le in own if le is not None for p in le.prefixes] + spec.prefixes
        used = next((p for p in order if any(k.startswith(fold_accents(norm(p))) for k in keys)), None)
        if used is None:  # another entity's file (an absent one's columns): its prefix if the export writes prefixes
            anyone = [fold_accents(norm(p)) for s in self.entities.values() for p in s.prefixes]
            writes = not keys or any(k.startswith(p) for k in keys for p in anyone)
            used = next((p for p in order), "") if writes else ""
        return f"{used}{alias}"

    def languages_of(self, headers: list[str]) -> list[str]:
        """The languages of `languages:` the headers are in (:meth:`interface_languages`), best first; none when the
        profile's own names are the best (its defaults apply)."""
        found = self.interface_languages(headers)
        if found and found[0] not in self.languages:
            return []
        return [c for c in found if c in self.languages]

    def with_columns(self, columns: dict[str, dict[str, str]]) -> "Profile":
        """A copy in which ``columns[entity][field]`` is the first header of that field
        (the settings' `columns:`: a header this profile does not know)."""
        if not columns:
            return self
        out = self.model_copy(deep=True)
        for ent_name, fields in columns.items():
            spec = out.entities.get(ent_name)
            if spec is None:
                continue
            for fname, header in fields.items():
                days_of = spec.days_field(fname)
                if days_of is not None and header:  # `stage_changed_days:` — the date's «days since» column
                    spec.fields[days_of].from_days.insert(0, header)
                    continue
                if fname not in spec.fields or not header:
                    continue
                spec.columns[hkey(header)] = fname
                spec.fields[fname].headers.insert(0, header)
        return out

    @field_validator("footer")
    @classmethod
    def _footer_regexes(cls, v: list[str]) -> list[str]:
        for p in v:  # the loader matches them in DuckDB (RE2), whose «\b» is an ASCII word boundary
            if "\\b" in p:
                raise ValueError(f"footer «{p}»: «\\b» is an ASCII word boundary in the engine's regular expressions "
                                 "(RE2) and never follows a Cyrillic or accented word («итого\\b» never matches «Итого»): "
                                 "end the word with ([\\s:(].*)? instead")
        return [_check_regex(p) for p in v]

    def terminal_stages(self) -> list[str]:
        """Stage names that encode won / lost (listed last in each pipeline)."""
        fs = self.derive_status.from_stage if self.derive_status else None
        return [*fs.won, *fs.lost] if fs else []

    def unsupported_keys(self, entity: str, name: str) -> list[str]:
        """The `unsupported:` keys that cover rule field ``entity.name``."""
        keys = [_REF_ENTITY.get(entity, entity)]
        if entity == "deal" and name in ("days_in_stage", "stage_since"):
            return ["deal.stage_changed"]
        if entity == "tasks":
            return keys + ["activities.deal_id", "activities.due_date", "activities.done"]
        return keys + [f"{_REF_PREFIX.get(entity, entity)}.{name}"]

    def unsupported_reason(self, key: str) -> str | None:
        from crm_audit.textnorm import norm as _n

        for k, why in self.unsupported.items():
            if _n(k) == _n(key):
                return why or "в выгрузке этой CRM нет таких данных"
        return None


def available() -> list[str]:
    return sorted(p.stem for p in resources.profiles_dir().glob("*.yaml"))


def _name_key(name: str) -> str:
    """«Bitrix 24», «bitrix-24», «BITRIX24» → «bitrix24» (letters and digits, lower case, accents kept)."""
    return "".join(ch for ch in norm(str(name)) if ch.isalnum())


@functools.lru_cache(maxsize=1)
def _profile_names() -> dict[str, str]:
    """Every bundled profile's name and `aliases:` (by :func:`_name_key`) → the profile's name."""
    out: dict[str, str] = {}
    for stem in available():
        data = resources.data_file(resources.profiles_dir() / f"{stem}.yaml") or {}
        for n in (stem, data.get("name") or stem, *(data.get("aliases") or [])):
            out.setdefault(_name_key(n), stem)
    return out


def canonical_name(name: str) -> str:
    """The bundled profile a `crm:` value names — its name or one of its `aliases:` («HubSpot», «Kommo», «Битрикс24»)
    — else ``name`` as written (a path to a profile file, or an unknown name that :func:`load_profile` reports)."""
    if not isinstance(name, str) or not name.strip():
        return name
    if Path(name).suffix in (".yaml", ".yml") or (resources.profiles_dir() / f"{name}.yaml").exists():
        return name
    return _profile_names().get(_name_key(name), name)


def unknown_profile(name: str) -> Problem:
    """«unknown CRM profile «hubspto» (did you mean «hubspot»?); available: …»: the closest of the profiles' names and
    aliases («Bitriks» → bitrix24) named by the profile it reads."""
    from crm_audit.errors import Msg

    hit = close_profiles(name)
    hint = Msg(N_(" (did you mean «{name}»?)"), {"name": hit[0]}) if hit else ""
    return Problem(template=N_("unknown CRM profile «{name}»{hint}; available: {known} (or give the path of a profile .yaml file)"),
                   params={"name": name, "hint": hint, "known": ", ".join(available())}, reason="unknown-profile")


def close_profiles(name: str) -> list[str]:
    """The bundled profiles whose name or one of its `aliases:` is close to ``name`` (a typo «pipedrve»), closest
    first, each once."""
    import difflib

    names = _profile_names()
    hits = difflib.get_close_matches(_name_key(name), list(names), n=len(names), cutoff=0.6)
    return list(dict.fromkeys(names[h] for h in hits))


def profile_path(name: str) -> Path | None:
    """The profile file a `crm:` value names (a bundled profile's name or alias, or a profile YAML file's path);
    None when it names none (:func:`unknown_profile` says so). Nothing is read: the settings check it as they load."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    path = resources.profiles_dir() / f"{canonical_name(name)}.yaml"
    return path if path.exists() else None


def load_profile(name: str) -> Profile:
    """Load a bundled profile by name or alias, or a profile YAML file by path. A file is read once per process while
    it is unchanged (its size and modification time): a command loads its profile several times. The profile is
    shared: never change it in place (its `with_*` methods return changed copies)."""
    path = profile_path(name)
    if path is None:
        raise SettingsError(problems=[unknown_profile(name)])
    return _load_profile(path)


@per_file(maxsize=32)
def _load_profile(path: Path) -> Profile:
    doc = yamlsrc.load(path)
    if doc.problems:
        raise SettingsError(problems=doc.problems)
    try:
        return Profile.model_validate(doc.data)
    except ValidationError as exc:
        raise SettingsError(problems=yamlsrc.pydantic_problems(doc, exc)) from None


def profile_for(settings) -> Profile:
    """The settings' CRM profile with the settings' `columns:`, `values:`, `stage_ids:`, `pipeline_ids:` and
    `owner_ids:` applied."""
    profile = load_profile(settings.crm).with_columns(getattr(settings, "columns", None) or {})
    profile = profile.with_ids("stage", getattr(settings, "stage_ids", None) or {})
    profile = profile.with_ids("pipeline", getattr(settings, "pipeline_ids", None) or {})
    profile = profile.with_ids("owner", getattr(settings, "owner_ids", None) or {})
    order = getattr(settings, "date_order", None)
    if order in ("dmy", "mdy"):  # the team said how its dates read: never guessed from the values
        profile = profile.model_copy(update={"date_order": order, "date_order_fixed": True})
    profile = with_values(profile, settings)
    return with_one_pipeline(with_closed_stages(with_decimal_mark(profile, settings), settings), getattr(settings, "pipelines", None))


def with_values(profile: Profile, settings, strict: bool = True) -> Profile:
    """The profile reading the settings' `values:` — this export's own cell texts for the values of an enum / yes-no
    field ({deals: {status: {진행 중: open}}}) and the words of a yes/no field a rule reads (yes_no:) — besides its
    own; a text the profile gives another value means what the settings say. A problem with them (an unknown field or
    value) stops with :class:`SettingsError` at its line (``strict``), else that line is left out (an API profile
    whose fields differ)."""
    raw = getattr(settings, "values", None)
    if not raw:
        return profile
    from crm_audit.settings import read_values

    got = read_values(settings, profile)
    errors = [p for p in got.problems if p.severity == "error"]
    if errors and strict:
        raise SettingsError(problems=errors)
    return apply_values(profile, got.fields, got.yes_no)


def apply_values(profile: Profile, fields: dict[tuple[str, str], dict[str, str]], yes_no: dict[str, str] | None = None) -> Profile:
    """A copy of ``profile`` reading each (entity, field)'s cell texts of ``fields`` as the value given
    ({("deals", "status"): {"진행 중": "open"}}) and ``yes_no``'s words ({"예": "yes"}) as yes / no — winning over
    the profile's own meaning of the same text; a field without a set of values, or a value it lacks, is left out."""
    if not any(fields.values()) and not yes_no:
        return profile
    out = profile.model_copy(deep=True)
    for (ent, fname), pairs in fields.items():
        spec = out.entities.get(ent)
        fs = spec.fields.get(fname) if spec is not None else None
        if fs is None or fs.type not in ("enum", "bool"):
            continue
        for text, key in pairs.items():
            if key not in fs.values:
                continue
            n = norm(text)
            for k in fs.values:  # the settings win: the text means one value, theirs
                fs.values[k] = [v for v in fs.values[k] if norm(v) != n]
            fs.values[key].append(text)
    if yes_no:
        said = {norm(w) for w in yes_no}
        yes = [w for w, m in yes_no.items() if m == "yes"]
        no = [w for w, m in yes_no.items() if m == "no"]
        out.yes_no = YesNo(yes=_add_words(yes, [w for w in out.yes_no.yes if norm(w) not in said]),
                           no=_add_words(no, [w for w in out.yes_no.no if norm(w) not in said]))
    return out


def with_one_pipeline(profile: Profile, pipelines) -> Profile:
    """The profile reading a deals file without a pipeline column as the settings' only pipeline (``pipelines``: the
    settings' `pipelines:`): its deals belong to it, as `init` wrote it, and the rules scoped to a pipeline run (issue
    13 acceptance L4). A CRM's own default (Salesforce «Продажи») gives way to it; with two pipelines or more, or a
    pipeline column, nothing changes."""
    names = list(pipelines or {})
    spec = profile.entities.get("deals")
    fs = spec.fields.get("pipeline") if spec is not None else None
    if len(names) != 1 or fs is None or (fs.default == names[0] and not fs.defaults):
        return profile
    out = profile.model_copy(deep=True)
    f = out.entities["deals"].fields["pipeline"]
    f.default, f.defaults = str(names[0]), {}
    return out


def with_closed_stages(profile: Profile, settings) -> Profile:
    """The profile reading the settings' `won_stages:` / `lost_stages:` as won / lost stages, and their `pipelines:`
    (less every won / lost stage) as the open stages a close date alone does not close."""
    fs = profile.derive_status.from_stage if profile.derive_status is not None else None
    won, lost = list(getattr(settings, "won_stages", None) or []), list(getattr(settings, "lost_stages", None) or [])
    pipelines = getattr(settings, "pipelines", None) or {}
    if fs is None and not (won or lost):
        return profile
    out = profile.model_copy(deep=True)
    if out.derive_status is None:
        out.derive_status = DeriveStatus()
    fs = out.derive_status.from_stage
    if fs is None:
        fs = out.derive_status.from_stage = StatusFromStage(otherwise=None)
    fs.won = _add_words(won, fs.won)  # the settings' first: a name both lists hold is what the team said
    fs.lost = _add_words(lost, [n for n in fs.lost if norm(n) not in {norm(w) for w in won}])
    closed = {norm(n) for n in (*fs.won, *fs.lost)}
    fs.open = [st for stages in pipelines.values() for st in stages if norm(st) not in closed]
    return out


def with_decimal_mark(profile: Profile, settings) -> Profile:
    """The profile reading every number with the settings' `decimal_mark:` ("," or "."; "auto": from the values)."""
    mark = getattr(settings, "decimal_mark", None)
    return profile.model_copy(update={"decimal_mark": mark}) if mark in (",", ".") else profile
