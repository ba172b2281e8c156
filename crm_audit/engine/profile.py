"""CRM export profiles: YAML files mapping export columns to canonical fields.

A profile is data (``crm_audit/profiles/<name>.yaml``), so supporting the next
CRM is a new file, not a code branch. See ``profiles/pipedrive.yaml`` for the
annotated format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crm_audit import resources, yamlsrc
from crm_audit.errors import SettingsError
from crm_audit.textnorm import norm

def _check_regex(pattern: str) -> str:
    import re

    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return pattern


def hkey(header: str) -> str:
    """Header key: norm() with inner runs of spaces/newlines collapsed."""
    return " ".join(norm(header).split())


FieldType = Literal["id", "text", "number", "date", "enum", "bool"]


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


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    headers: list[str]
    type: FieldType = "text"
    required: bool = False
    values: dict[str, list[str]] = Field(default_factory=dict)
    # cell texts that mean "no value" for this field (amoCRM «не закрыта»)
    null_values: list[str] = Field(default_factory=list)
    # a list cell ("123;456"): keep its first item
    split: str | None = None
    # several columns feed the field (First name + Last name): join them
    join: str | None = None
    # the value when the export has no such column at all (one pipeline)
    default: str | None = None
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

    @field_validator("remove")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        return _check_regex(v) if v is not None else v

    @model_validator(mode="after")
    def _from_days_on_dates(self) -> "FieldSpec":
        if self.from_days and self.type != "date":
            raise ValueError("`from_days` is for fields of type date")
        if self.fallback and {hkey(h) for h in self.headers} & {hkey(h) for h in self.fallback.headers}:
            raise ValueError("`fallback` headers must differ from the field's own `headers`")
        return self


class EntitySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: list[str] = Field(default_factory=list)
    prefixes: list[str] = Field(default_factory=list)
    signature: list[str] = Field(default_factory=list)
    # one file holding two entities (amoCRM's contacts list: contacts and
    # companies, told apart by «Тип»): this entity is only the rows whose
    # column holds one of the values; the file also feeds every other entity
    # with `rows_where` on a column it has (unless that entity has a file of its
    # own). A file without the column is read whole.
    rows_where: RowsWhere | None = None
    fields: dict[str, FieldSpec]

    def header_index(self) -> dict[str, str]:
        """hkey(header) -> canonical field name."""
        out: dict[str, str] = {}
        for name, spec in self.fields.items():
            for h in spec.headers:
                out.setdefault(hkey(h), name)
        return out

    def strip_prefix(self, header: str) -> tuple[str, bool]:
        """Remove an entity prefix such as ``Deal - ``; returns (rest, had_prefix)."""
        h = header.strip().lstrip("\ufeff").strip()
        low = norm(h)
        for p in self.prefixes:
            for variant in (p, p.replace(" - ", "-"), p.replace(" - ", " – ")):
                pl = norm(variant)
                if low.startswith(pl) and len(h) > len(pl):
                    return h[len(pl):].strip(), True
        return h, False


ENTITIES = ("deals", "organizations", "persons", "activities")


class StatusFromStage(BaseModel):
    """Won/lost encoded as stage names (amoCRM, Bitrix24, HubSpot)."""

    model_config = ConfigDict(extra="forbid")
    won: list[str] = Field(default_factory=list)
    lost: list[str] = Field(default_factory=list)
    deleted: list[str] = Field(default_factory=list)
    # status of a deal in any other (non-blank) stage
    otherwise: Literal["open"] | None = "open"


class StatusFromFlags(BaseModel):
    """Won/lost as two yes/no columns (Salesforce «Closed» and «Won»)."""

    model_config = ConfigDict(extra="forbid")
    closed: str  # canonical bool field of deals
    won: str


class DeriveStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_flags: StatusFromFlags | None = None
    from_stage: StatusFromStage | None = None


# which `unsupported:` keys a rule field falls under (entity of the rule language)
_REF_ENTITY = {"deal": "deals", "org": "organizations", "person": "persons", "tasks": "activities"}
_REF_PREFIX = {"deal": "deal", "org": "org", "person": "person", "tasks": "activities"}


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    title: str = ""
    # example link to a deal, for `crm-audit init`
    deal_url: str = ""
    # how to read d/m/y vs m/d/y dates written with slashes (10/11/2026)
    date_order: Literal["dmy", "mdy"] = "dmy"
    # headers that identify this CRM's export (auto-detection by `inspect`)
    detect: list[str] = Field(default_factory=list)
    # what this CRM's export simply does not have: entity names
    # (activities, persons, organizations) or fields (deal.stage_changed,
    # org.owner ...) -> why, in Russian, for the manager. A rule that needs one
    # of them is skipped (not failed) when the export indeed lacks it.
    unsupported: dict[str, str] = Field(default_factory=dict)
    # regular expressions (whole first non-blank cell, case-insensitive) of
    # footer lines to drop: report totals, confidentiality notes
    footer: list[str] = Field(default_factory=list)
    # link deals to organizations / persons by name when the export has no ids
    # (deals.org_name / person_name -> the entity's name); `deal`: link
    # activities to deals by the deal's title (activities.deal_name -> title)
    link_by_name: list[Literal["org", "person", "deal"]] = Field(default_factory=list)
    derive_status: DeriveStatus | None = None
    # data warning code -> a sentence added to that warning for this CRM
    # (why it happens in this CRM's export and what to do)
    hints: dict[str, str] = Field(default_factory=dict)
    entities: dict[Literal["deals", "organizations", "persons", "activities"], EntitySpec]

    @field_validator("footer")
    @classmethod
    def _footer_regexes(cls, v: list[str]) -> list[str]:
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


def load_profile(name: str) -> Profile:
    """Load a bundled profile by name, or a profile YAML file by path."""
    path = Path(name)
    if not (path.suffix in (".yaml", ".yml") and path.exists()):
        path = resources.profiles_dir() / f"{name}.yaml"
        if not path.exists():
            raise SettingsError(
                f"unknown CRM profile «{name}»; available: {', '.join(available())} "
                "(or give the path of a profile .yaml file)"
            )
    doc = yamlsrc.load(path)
    if doc.problems:
        raise SettingsError(problems=doc.problems)
    try:
        return Profile.model_validate(doc.data)
    except ValidationError as exc:
        raise SettingsError(problems=yamlsrc.pydantic_problems(doc, exc)) from None
