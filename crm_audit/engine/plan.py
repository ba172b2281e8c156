"""From parsed rules + settings to backend-neutral plans.

A :class:`RulePlan` is what a backend needs to evaluate one rule over the
whole export in one set-based query: the scope (statuses, normalised
pipelines), a condition tree whose setting references are replaced by the
settings' values and whose stage comparisons carry the stage positions per
pipeline, the evidence columns, and the list of fields the rule reads (so
missing export columns can be reported before anything runs).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from crm_audit.rules.lang import FIELDS, All, AnyOf, Cond, Leaf, Linked, Not, Rule, SettingRef, StageCmp, rule_fields, split_field
from crm_audit.settings import Settings
from crm_audit.textnorm import norm


@dataclass(frozen=True)
class FieldRef:
    entity: str  # deal | org | person | tasks
    name: str  # canonical name, or the custom field's export name
    type: str  # text | number | date | status
    custom: bool

    @property
    def ref(self) -> str:
        return f"{self.entity}.{self.name}"


@dataclass
class StagePlan(Cond):
    op: str = "at_least"
    stage: str = ""
    positions: dict[str, int] = field(default_factory=dict)  # norm(pipeline) -> position


@dataclass
class RulePlan:
    rule: Rule
    statuses: list[str]
    pipelines: list[str]  # normalised names; empty = any pipeline
    condition: Cond  # scope.where AND when, resolved
    evidence: list[tuple[FieldRef, str]]
    fields: set[FieldRef]
    #: (settings list, the field compared with it) of each empty list that leaves the rule nothing to flag («lost reason
    #: in frozen_lost_reasons» with `frozen_lost_reasons: []`): the rule cannot judge a deal, it is skipped saying so
    empty_lists: tuple[tuple[str, str], ...] = ()


#: fields whose value changes with the audit date alone: not "audited fields"
#: of the deal when deciding whether it changed since a waiver (see workflow.fingerprints)
VOLATILE_FIELDS = frozenset({"days_in_stage"})


def is_volatile(ref: FieldRef) -> bool:
    return ref.entity == "deal" and ref.name in VOLATILE_FIELDS


def field_ref(ref: str) -> FieldRef:
    ent, name = split_field(ref)
    canon = FIELDS.get(ent, {})
    if name in canon:
        return FieldRef(ent, name, canon[name], False)
    return FieldRef(ent, name, "text", True)


def _resolve(c: Cond | None, settings: Settings, used: dict) -> Cond | None:
    if c is None:
        return None
    if isinstance(c, All):
        return All(c.path, [_resolve(x, settings, used) for x in c.items])
    if isinstance(c, AnyOf):
        return AnyOf(c.path, [_resolve(x, settings, used) for x in c.items])
    if isinstance(c, Not):
        return Not(c.path, _resolve(c.item, settings, used))
    if isinstance(c, StageCmp):
        used["stage"] = True
        return StagePlan(c.path, c.op, c.stage, settings.stage_positions(c.stage))
    if isinstance(c, Leaf) and isinstance(c.value, SettingRef):
        values = settings.setting_list(c.value.name) or []
        value = values if c.op in ("in", "not_in", "placeholder") else (values[0] if values else "")
        return dataclasses.replace(c, value=value)
    return c


#: ops whose list from the settings, when empty, holds no value (never true); ``not_in`` an empty list is always true
_EMPTY_FALSE = ("in", "placeholder")


def _constant(c: Cond | None, settings: Settings) -> tuple[bool | None, tuple[tuple[str, str], ...]]:
    """Whether ``c`` (unresolved: setting references in place) is always false (False) or always true (True) because a
    list from the settings it compares with is empty, else None; with the (list, field) pairs that decide it."""
    if isinstance(c, Leaf) and isinstance(c.value, SettingRef) and c.op in (*_EMPTY_FALSE, "not_in"):
        values = settings.setting_list(c.value.name)
        if values is not None and not values:
            return c.op == "not_in", ((c.value.name, c.field),)
        return None, ()
    if isinstance(c, Not):
        value, why = _constant(c.item, settings)
        return (None if value is None else not value), why
    if isinstance(c, (All, AnyOf)):
        found = [_constant(x, settings) for x in c.items if x is not None]
        decisive = not isinstance(c, All)  # one false item decides an `all:`, one true item an `any:`
        hits = [why for value, why in found if value is decisive]
        if hits:
            return decisive, tuple(dict.fromkeys(w for why in hits for w in why))
        if found and all(value is not None for value, _why in found):
            return not decisive, tuple(dict.fromkeys(w for _v, why in found for w in why))
    return None, ()


def empty_lists(rule: Rule, settings: Settings) -> tuple[tuple[str, str], ...]:
    """The (settings list, field) pairs whose emptiness leaves ``rule`` nothing to flag, or () when it can flag a deal."""
    value, why = _constant(All(rule.when.path, [x for x in (rule.where, rule.when) if x is not None]), settings)
    return why if value is False else ()


def build(rule: Rule, settings: Settings) -> RulePlan:
    used: dict = {}
    where = _resolve(rule.where, settings, used)
    when = _resolve(rule.when, settings, used)
    cond = All(rule.when.path, [x for x in (where, when) if x is not None])
    refs = {field_ref(r) for r in rule_fields(rule)}
    refs.add(field_ref("deal.status"))
    if rule.pipelines or used.get("stage"):
        refs.add(field_ref("deal.pipeline"))
    if used.get("stage"):
        refs.add(field_ref("deal.stage"))
    return RulePlan(
        rule=rule,
        statuses=list(rule.statuses),
        pipelines=[norm(p) for p in rule.pipelines],
        condition=cond,
        evidence=[(field_ref(e.field), e.title) for e in rule.evidence],
        fields=refs,
        empty_lists=empty_lists(rule, settings),
    )


def build_all(rules: list[Rule], settings: Settings) -> list[RulePlan]:
    return [build(r, settings) for r in rules]


__all__ = ["FieldRef", "RulePlan", "StagePlan", "build", "build_all", "field_ref", "Linked"]
