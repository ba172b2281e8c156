"""CRM export profiles: YAML files mapping export columns to canonical fields.

A profile is data (``crm_audit/profiles/<name>.yaml``), so supporting the next
CRM is a new file, not a code branch. See ``profiles/pipedrive.yaml`` for the
annotated format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import resources, yamlsrc
from .errors import SettingsError
from .textnorm import norm

FieldType = Literal["id", "text", "number", "date", "enum", "bool"]


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    headers: list[str]
    type: FieldType = "text"
    required: bool = False
    values: dict[str, list[str]] = Field(default_factory=dict)


class EntitySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: list[str] = Field(default_factory=list)
    prefixes: list[str] = Field(default_factory=list)
    signature: list[str] = Field(default_factory=list)
    fields: dict[str, FieldSpec]

    def header_index(self) -> dict[str, str]:
        """norm(header) -> canonical field name."""
        out: dict[str, str] = {}
        for name, spec in self.fields.items():
            for h in spec.headers:
                out.setdefault(norm(h), name)
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


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    title: str = ""
    entities: dict[Literal["deals", "organizations", "persons", "activities"], EntitySpec]


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
