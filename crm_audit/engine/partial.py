"""A rule runs on what the export has: which of the fields a rule reads it cannot run without.

The rule language gives every field reference a role, read off the rule's shape
rather than written per rule:

* an **evidence** field (``evidence:``) is only shown next to a flagged deal: a
  column the export lacks leaves that evidence blank; the rule runs (1.3 shows
  «Валюта», and runs on an export without a currency column);
* a field of a linked record (``org.*``, ``person.*``) read in one branch of an
  ``any:`` is needed by that branch only: where the export does not carry that
  record (no persons file, no person column), the deal is "not linked" to it, so
  the branch is not true for any deal (a missing field is never read as empty)
  and the other branches are checked (1.5 checks the title and the
  organization's name of an export without a persons file; 1.7 the
  organization's owner); the rule cannot run only when no branch is left;
* every other field (the scope, ``all:``, ``not:``, the deal's own fields in
  any branch: 1.4 is «Посещаемость» OR «Бюджет» empty, and checking one of them
  would pass deals the other fails) is needed: without it the rule cannot run,
  as before.

:func:`narrow` applies this to a :class:`~crm_audit.engine.plan.RulePlan`;
:func:`crm_audit.engine.requirements.decide` decides on the narrowed plan.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from crm_audit.engine.plan import FieldRef, RulePlan, StagePlan, field_ref
from crm_audit.rules.lang import All, AnyOf, Cond, Leaf, Linked, Not, StageCmp, iter_conds


def cond_refs(c: Cond | None) -> set[FieldRef]:
    """The fields a condition reads (a stage comparison reads the deal's pipeline and stage)."""
    out: set[FieldRef] = set()
    for x in iter_conds(c):
        if isinstance(x, Leaf):
            out.add(field_ref(x.field))
            if x.op in ("same_as", "differs_from") and x.value:
                out.add(field_ref(str(x.value)))
        elif isinstance(x, (StagePlan, StageCmp)):
            out |= {field_ref("deal.stage"), field_ref("deal.pipeline")}
        elif isinstance(x, Linked):  # the deal's link column (its id, or its name where the export has only that)
            out.add(field_ref(f"deal.{x.entity}_id"))
    return out


def prune(c: Cond | None, unavailable: set[FieldRef]) -> Cond | None:
    """``c`` without the ``any:`` branches that read an unavailable field; None when ``c`` itself needs one."""
    if c is None:
        return None
    if isinstance(c, AnyOf):
        items = [p for p in (prune(x, unavailable) for x in c.items) if p is not None]
        if not items:
            return None
        return c if len(items) == len(c.items) else AnyOf(c.path, items)
    if isinstance(c, All):
        items = [prune(x, unavailable) for x in c.items]
        if any(x is None for x in items):
            return None
        return c if all(a is b for a, b in zip(items, c.items)) else All(c.path, items)
    if isinstance(c, Not):  # «not» of a field the export lacks cannot be told
        return c if not (cond_refs(c) & unavailable) else None
    return None if cond_refs(c) & unavailable else c


def needed_refs(plan: RulePlan) -> set[FieldRef]:
    """The fields ``plan`` cannot run without: its condition's, its status, its pipeline scope's (not evidence-only fields)."""
    out = cond_refs(plan.condition) | {field_ref("deal.status")}
    if plan.pipelines:
        out.add(field_ref("deal.pipeline"))
    return out


@dataclass
class Narrowed:
    """A plan as it runs on the export, and what of it is left out."""

    plan: RulePlan
    needed: set[FieldRef]  # the fields it cannot run without (decide checks these)
    unchecked: list[FieldRef] = field(default_factory=list)  # fields of `any:` branches left out (the export lacks them)
    blank_evidence: list[FieldRef] = field(default_factory=list)  # evidence columns the export lacks (shown blank)


#: the rule language's entities a deal is linked to (a record the export may not carry)
LINKED = ("org", "person")
#: the deal's link fields: a `linked:` condition reads one of them (the deal's own field, yet missing means "not linked")
LINK_FIELDS = ("org_id", "person_id")


def blocking(plan: RulePlan, unavailable: set[FieldRef]) -> set[FieldRef]:
    """Of the ``unavailable`` fields, those ``plan`` cannot run without on their own: a field of the deal itself (or of
    its tasks), or a linked record's field whose absence alone leaves no branch (1.6's «org.name» in an ``all:``) —
    not a linked record's field of one ``any:`` branch (1.5's «org.name» beside the deal's title). When the linked
    fields together leave no branch, every unavailable field is a cause (an absent file then skips the rule)."""
    linked = {r for r in unavailable if r.entity in LINKED or (r.entity == "deal" and r.name in LINK_FIELDS)}
    if linked and prune(plan.condition, linked) is None:  # the linked records' fields leave no branch: a cause too
        return set(unavailable)  # (1.7 without the organizations and contacts files is skipped for them, not stopped)
    return {r for r in unavailable if r not in linked or prune(plan.condition, {r}) is None}


def narrow(plan: RulePlan, unavailable: set[FieldRef]) -> Narrowed:
    """``plan`` without the ``any:`` branches reading an ``unavailable`` field of a linked record (when a branch is left)."""
    evidence = {ref for ref, _t in plan.evidence}
    in_cond = cond_refs(plan.condition)
    linked = {r for r in unavailable if r.entity in LINKED or (r.entity == "deal" and r.name in LINK_FIELDS)}
    if unavailable & in_cond - linked:  # a field of the deal itself (or tasks): the rule needs it
        cond = None
    else:
        cond = prune(plan.condition, linked) if linked & in_cond else plan.condition
    if cond is None:  # it needs them: decided on the whole condition, evidence-only fields aside
        return Narrowed(plan, needed_refs(plan), blank_evidence=sorted(unavailable & (evidence - in_cond), key=lambda r: r.ref))
    narrowed = plan if cond is plan.condition else dataclasses.replace(plan, condition=cond)
    left = cond_refs(cond)
    unchecked = sorted((in_cond - left) & unavailable, key=lambda r: r.ref)
    blank = sorted(unavailable & evidence - left, key=lambda r: r.ref)
    return Narrowed(narrowed, needed_refs(narrowed), unchecked, [r for r in blank if r not in unchecked])
