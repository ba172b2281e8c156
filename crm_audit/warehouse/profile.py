"""Warehouse profiles: where a connector puts one CRM's tables (``crm_audit/warehouses/*.yaml``; data, not code).

The format is described in ``crm_audit/warehouses/README.md``. Loading checks the YAML's shape (file:line
for every problem) and that every SQL fragment parses; :mod:`crm_audit.warehouse.entities` builds the
queries.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crm_audit import yamlsrc
from crm_audit.errors import Problem, SettingsError
from crm_audit.i18n import _

ENTITIES = ("deals", "organizations", "persons", "activities")


def warehouses_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "warehouses"


def available() -> list[str]:
    return sorted(p.stem for p in warehouses_dir().glob("*.yaml"))


def profile_name(settings) -> str:
    """The settings' warehouse profile: a bundled name, or a file of the team's (relative to the settings);
    default ``fivetran_<crm>``."""
    conf = getattr(settings, "engine", None)
    if conf is None or not conf.profile:
        return f"fivetran_{settings.crm}"
    path = Path(conf.profile).expanduser()
    if not path.is_absolute() and settings.base_dir is not None and (settings.base_dir / path).exists():
        return str(settings.base_dir / path)
    return conf.profile


class Join(BaseModel):
    model_config = ConfigDict(extra="forbid")
    table: str  # a table of the schema, or a parenthesised SELECT over its tables
    alias: str
    on: str

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data):
        """YAML 1.1 reads the key ``on`` as the boolean true: take it back as ``on``."""
        if isinstance(data, dict) and True in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data


class Options(BaseModel):
    """Where an enum custom field's option labels are, when the data holds option ids."""

    model_config = ConfigDict(extra="forbid")
    json_: str | None = Field(None, alias="json")  # a column of the metadata row: [{"id": …, "label": …}, …]
    table: str | None = None  # or a table of options, one row per option
    link: str | None = None  # its column naming the metadata row …
    field_id: str | None = None  # … by this column of the metadata table
    value: str = "value"  # the option's id as the data holds it
    label: str = "label"


class CustomFields(BaseModel):
    """The connector's field-metadata table: display name -> the key naming the data column."""

    model_config = ConfigDict(extra="forbid")
    table: str
    name: str  # the column of display names
    key: str  # the column of keys
    # rows that are live fields (deleted / inactive metadata rows out), over the metadata table's own columns;
    # a list is ANDed
    where: str | list[str] | None = None
    # the newest of two live rows with one display name (an SQL expression over the metadata columns, larger is
    # newer: Pipedrive's field id); without it the first by key
    newest: str | None = None
    column: str = "{key}"  # the data column of the entity's table ({key} replaced), or an SQL expression
    options: Options | None = None

    @property
    def filters(self) -> list[str]:
        return [] if not self.where else [self.where] if isinstance(self.where, str) else list(self.where)


class EntityQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_: str = Field(alias="from")
    alias: str | None = None
    joins: list[Join] = Field(default_factory=list)
    where: list[str] = Field(default_factory=list)
    order: str | None = None
    # canonical field -> SQL expression, or a list of them: the first whose columns the warehouse has
    # (connector versions name a column differently)
    fields: dict[str, str | list[str]]
    custom_fields: CustomFields | None = None

    @property
    def table_alias(self) -> str:
        return self.alias or self.from_

    def alternatives(self, name: str) -> list[str]:
        v = self.fields[name]
        return [v] if isinstance(v, str) else list(v)


#: ``stages:`` (what ``init --engine`` reads the pipelines from): its required and optional fields
STAGE_FIELDS = ("pipeline", "stage", "stage_order")
STAGE_FIELDS_OPTIONAL = ("pipeline_order", "closed")


class WarehouseProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    title: str = ""
    crm: str
    sql: str = "postgres"  # the sqlglot dialect the fragments are written in
    evidence: str | None = None
    entities: dict[str, EntityQuery]
    # every pipeline's stages in the CRM's own order (the connector's stage / pipeline tables), for `init --engine`:
    # fields pipeline, stage, stage_order (and pipeline_order, closed); one row per stage
    stages: EntityQuery | None = None
    file: str | None = Field(default=None, exclude=True)


def _canonical_fields(crm: str) -> dict[str, set[str]]:
    """entity -> the canonical fields of the CRM's export profile (and a deal's status, derived in some)."""
    from crm_audit.engine.profile import load_profile

    out = {ent: set(spec.fields) for ent, spec in load_profile(crm).entities.items()}
    out.setdefault("deals", set()).add("status")
    return out


def load(name: str) -> WarehouseProfile:
    """A bundled warehouse profile by name (``fivetran_pipedrive``), or a profile YAML file by path."""
    path = Path(name).expanduser()
    if not (path.suffix in (".yaml", ".yml") and path.exists()):
        path = warehouses_dir() / f"{name}.yaml"
        if not path.exists():
            raise SettingsError(_("unknown warehouse profile «{name}»; available: {names} (or give the path of a "
                                  "warehouse profile .yaml file; the format: crm_audit/warehouses/README.md)")
                                .format(name=name, names=", ".join(available())))
    doc = yamlsrc.load(path)
    if doc.problems:
        raise SettingsError(problems=doc.problems)
    try:
        prof = WarehouseProfile.model_validate(doc.data)
    except ValidationError as exc:
        raise SettingsError(problems=yamlsrc.pydantic_problems(doc, exc)) from None
    prof.file = str(path)
    problems = []
    for ent, q in prof.entities.items():
        if ent not in ENTITIES:
            problems.append(Problem(_("{file}: entities: «{entity}» is not an entity of the audit; one of: {known}")
                                    .format(file=path, entity=ent, known=", ".join(ENTITIES)), file=str(path), reason="warehouse-profile"))
        if "id" not in q.fields:
            problems.append(Problem(_("{file}: entities: {entity}: fields: has no «id»; every entity needs its id")
                                    .format(file=path, entity=ent), file=str(path), reason="warehouse-profile"))
    known = _canonical_fields(prof.crm)
    for ent, q in prof.entities.items():
        from crm_audit.rules.ruleset import did_you_mean

        for name in q.fields:
            if ent in known and name not in known[ent]:
                problems.append(Problem(_("{file}: entities: {entity}: fields: «{name}» is not a field of {entity}{hint}; "
                                          "fields: {known}").format(file=path, entity=ent, name=name,
                                                                   hint=did_you_mean(name, sorted(known[ent])),
                                                                   known=", ".join(sorted(known[ent]))),
                                        file=str(path), reason="warehouse-profile"))
    if prof.stages is not None:
        allowed = STAGE_FIELDS + STAGE_FIELDS_OPTIONAL
        for name in prof.stages.fields:
            if name not in allowed:
                problems.append(Problem(_("{file}: stages: fields: «{name}» is not a field of stages; fields: {known}")
                                        .format(file=path, name=name, known=", ".join(allowed)), file=str(path),
                                        reason="warehouse-profile"))
        lacking = [n for n in STAGE_FIELDS if n not in prof.stages.fields]
        if lacking:
            problems.append(Problem(_("{file}: stages: fields: needs {names}").format(file=path, names=", ".join(lacking)),
                                    file=str(path), reason="warehouse-profile"))
    if "deals" not in prof.entities:
        problems.append(Problem(_("{file}: the profile has no deals entity").format(file=path), file=str(path),
                                reason="warehouse-profile"))
    if problems:
        raise SettingsError(problems=problems)
    from crm_audit.warehouse.entities import parse_fragments  # every fragment parses (file and key named)

    parse_fragments(prof)
    return prof
