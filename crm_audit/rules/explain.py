"""A rule in plain words (``crm-audit rules explain ID``), in the CLI's language."""

from __future__ import annotations

from functools import reduce

from crm_audit.i18n import N_, _
from crm_audit.rules.lang import All, AnyOf, Cond, Leaf, Linked, Not, Rule, SettingRef, StageCmp, split_field

FIELD_TITLES = {
    "deal.id": N_("deal ID"), "deal.title": N_("deal title"), "deal.owner": N_("deal owner"),
    "deal.value": N_("deal value"), "deal.currency": N_("deal currency"), "deal.status": N_("deal status"),
    "deal.pipeline": N_("pipeline"), "deal.stage": N_("stage"), "deal.lost_reason": N_("lost reason"),
    "deal.won_reason": N_("won reason"), "deal.reason": N_("lost / won reason"),
    "deal.org_name": N_("organization (on the deal)"), "deal.person_name": N_("contact person (on the deal)"),
    "deal.created": N_("deal creation date"), "deal.stage_changed": N_("date of the last stage change"),
    "deal.days_in_stage": N_("days in the current stage"), "deal.stage_since": N_("date the stage began"),
    "org.name": N_("organization name"), "org.owner": N_("organization owner"),
    "person.name": N_("contact person's name"), "person.owner": N_("contact person's owner"),
    "tasks.open_count": N_("number of open tasks"), "tasks.overdue_count": N_("number of overdue tasks"),
    "tasks.total_count": N_("number of activities in all"), "tasks.first_overdue_due": N_("due date of the oldest overdue task"),
    "tasks.first_overdue_subject": N_("subject of the oldest overdue task"),
    "tasks.next_due": N_("due date of the next task"), "tasks.next_subject": N_("subject of the next task"),
}
#: a custom field of an entity
CUSTOM_FIELD = {"deal": N_("field «{name}» of the deal"), "org": N_("field «{name}» of the organization"),
                "person": N_("field «{name}» of the contact person"), "tasks": N_("field «{name}» of the tasks")}
STATUS_DEALS = {"open": N_("open deals"), "won": N_("won deals"), "lost": N_("lost deals")}
#: operator -> its sentence (``{f}``: the field, ``{v}``: the value); the symbols (=, ≠, >, ≥, <, ≤) need no words
OP_TEXTS = {
    "in": N_("{f} is one of: {v}"), "not_in": N_("{f} is none of: {v}"),
    "contains": N_("{f} contains {v}"), "not_contains": N_("{f} does not contain {v}"),
    "starts_with": N_("{f} starts with {v}"), "ends_with": N_("{f} ends with {v}"),
    "matches": N_("{f} matches the pattern /{v}/"),
    "placeholder": N_("{f} is a placeholder ({v}, possibly with digits at the end)"),
    "length_lt": N_("{f} is shorter than {v} characters (spaces at the edges aside)"),
    "length_gt": N_("{f} is longer than {v} characters"),
    "same_as": N_("{f} is the same as: {v}"), "differs_from": N_("{f} differs from: {v}"),
}
SYMBOLS = {"equals": "=", "not_equals": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}
#: the yes/no operators: (when true, when false)
FLAG_TEXTS = {
    "empty": (N_("{f} is empty"), N_("{f} is filled in")),
    "empty_or_zero": (N_("{f} is empty or 0"), N_("{f} is filled in and not 0")),
    "is_yes": (N_("{f} is «Yes»"), N_("{f} is not «Yes» (empty or «No»)")),
}


def field_title(ref: str) -> str:
    if ref in FIELD_TITLES:
        return _(FIELD_TITLES[ref])
    ent, name = split_field(ref)
    return _(CUSTOM_FIELD[ent]).format(name=name) if ent in CUSTOM_FIELD else f"{ent}.{name}"


def _val(v) -> str:
    if isinstance(v, SettingRef):
        return _("the settings list «{name}»").format(name=v.name)
    if isinstance(v, list):
        return ", ".join(f"«{x}»" for x in v)
    return f"«{v}»"


def _joined(items: list[str], template: str) -> str:
    return reduce(lambda a, b: _(template).format(a=a, b=b), items) if items else ""


def cond_text(c: Cond | None, defines: dict | None = None) -> str:
    if c is None:
        return _("always")
    if c.label and defines is not None:
        name, _sep, ref = c.label.partition(":")
        defines.setdefault(name, c)
        return _("{field} is «{name}» (see below)").format(field=field_title(ref), name=name)
    if isinstance(c, All):
        return _joined([_wrap(x, defines) for x in c.items], N_("{a} and {b}")) or _("always")
    if isinstance(c, AnyOf):
        return _joined([_wrap(x, defines) for x in c.items], N_("{a} or {b}"))
    if isinstance(c, Not):
        return _("it is not true that ({condition})").format(condition=cond_text(c.item, defines))
    if isinstance(c, StageCmp):
        if c.op == "at_least":
            return _("the stage is «{stage}» or later in its pipeline's order").format(stage=c.stage)
        return _("the stage is «{stage}» or earlier in its pipeline's order").format(stage=c.stage)
    if isinstance(c, Linked):
        return _("the deal has an organization") if c.entity == "org" else _("the deal has a contact person")
    if isinstance(c, Leaf):
        f = field_title(c.field)
        v = c.value
        if c.op in FLAG_TEXTS:
            return _(FLAG_TEXTS[c.op][0 if v else 1]).format(f=f)
        if c.op in SYMBOLS:
            return f"{f} {SYMBOLS[c.op]} {_val(v) if c.op in ('equals', 'not_equals') else v}"
        if c.op in ("same_as", "differs_from"):
            return _(OP_TEXTS[c.op]).format(f=f, v=field_title(str(v)))
        if c.op in ("matches", "length_lt", "length_gt"):
            return _(OP_TEXTS[c.op]).format(f=f, v=v)
        if c.op in OP_TEXTS:
            return _(OP_TEXTS[c.op]).format(f=f, v=_val(v))
        return f"{f} {c.op} {v}"
    return str(c)


def _wrap(c: Cond, defines: dict | None = None) -> str:
    t = cond_text(c, defines)
    return f"({t})" if isinstance(c, (All, AnyOf)) and len(c.items) > 1 else t


def explain_rule(rule: Rule) -> str:
    scope = ", ".join(_(STATUS_DEALS[s]) for s in rule.statuses)
    if rule.pipelines:
        scope = _("{deals} in the pipeline {pipelines}").format(
            deals=scope, pipelines=_joined([f"«{p}»" for p in rule.pipelines], N_("{a} or {b}")))
    defines: dict = {}
    if rule.where is not None:
        scope = _("{deals} where {condition}").format(deals=scope, condition=cond_text(rule.where, defines))
    lines = [
        _("Rule {code} «{title}» ({id}), criticality {criticality}").format(code=rule.code, title=rule.title, id=rule.id,
                                                                            criticality=rule.criticality),
        _("File: {where}").format(where=f"{rule.file}:{rule.line}"),
        "",
        _("Checked: {scope}. Deleted deals are never checked.").format(scope=scope),
        _("A deal goes on the sheet «{sheet}» when: {condition}.").format(sheet=rule.sheet_title,
                                                                           condition=cond_text(rule.when, defines)),
    ]
    for name, c in defines.items():
        ref = c.label.partition(":")[2]
        meaning = cond_text(c.__class__(**{**c.__dict__, "label": ""})).replace(field_title(ref), _("the value"))
        lines.append(_("«{name}» means: {meaning}.").format(name=name, meaning=meaning))
    if rule.evidence:
        lines.append(_("Evidence columns: {columns}.").format(
            columns=", ".join(f"«{e.title}» ({field_title(e.field)})" for e in rule.evidence)))
    for label, text in ((N_("What is wrong: {text}"), rule.what), (N_("Why it matters: {text}"), rule.why),
                        (N_("How to fix it: {text}"), rule.how)):
        if text:
            lines.append(_(label).format(text=text))
    lines += ["", "YAML:", rule.source]
    return "\n".join(lines)
