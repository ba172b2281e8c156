"""A rule in plain Russian (``crm-audit rules explain ID``)."""

from __future__ import annotations

from crm_audit.rules.lang import All, AnyOf, Cond, Leaf, Linked, Not, Rule, SettingRef, StageCmp, split_field

FIELD_TITLES = {
    "deal.id": "ID сделки", "deal.title": "название сделки", "deal.owner": "ответственный за сделку",
    "deal.value": "сумма сделки", "deal.currency": "валюта сделки", "deal.status": "состояние сделки",
    "deal.pipeline": "воронка", "deal.stage": "этап", "deal.lost_reason": "причина проигрыша",
    "deal.won_reason": "причина выигрыша", "deal.reason": "причина проигрыша / выигрыша",
    "deal.org_name": "организация (в сделке)", "deal.person_name": "контактное лицо (в сделке)",
    "deal.created": "дата создания сделки", "deal.stage_changed": "дата последней смены этапа",
    "deal.days_in_stage": "дней на текущем этапе", "deal.stage_since": "дата начала этапа",
    "org.name": "название организации", "org.owner": "ответственный за организацию",
    "person.name": "имя контактного лица", "person.owner": "ответственный за контактное лицо",
    "tasks.open_count": "число открытых задач", "tasks.overdue_count": "число просроченных задач",
    "tasks.total_count": "число дел всего", "tasks.first_overdue_due": "срок самой старой просроченной задачи",
    "tasks.first_overdue_subject": "тема самой старой просроченной задачи",
    "tasks.next_due": "срок ближайшей задачи", "tasks.next_subject": "тема ближайшей задачи",
}
OWNER = {"deal": "сделки", "org": "организации", "person": "контактного лица", "tasks": "задач"}
STATUS_RU = {"open": "открытые", "won": "выигранные", "lost": "проигранные"}


def field_title(ref: str) -> str:
    if ref in FIELD_TITLES:
        return FIELD_TITLES[ref]
    ent, name = split_field(ref)
    return f"поле «{name}» {OWNER.get(ent, ent)}"


def _val(v) -> str:
    if isinstance(v, SettingRef):
        return f"список «{v.name}» из настроек"
    if isinstance(v, list):
        return ", ".join(f"«{x}»" for x in v)
    return f"«{v}»"


def cond_text(c: Cond | None, defines: dict | None = None) -> str:
    if c is None:
        return "всегда"
    if c.label and defines is not None:
        name, _, ref = c.label.partition(":")
        defines.setdefault(name, c)
        return f"{field_title(ref)} — «{name}» (см. ниже)"
    if isinstance(c, All):
        return " и ".join(_wrap(x, defines) for x in c.items) or "всегда"
    if isinstance(c, AnyOf):
        return " или ".join(_wrap(x, defines) for x in c.items)
    if isinstance(c, Not):
        return f"неверно, что ({cond_text(c.item, defines)})"
    if isinstance(c, StageCmp):
        word = "не раньше" if c.op == "at_least" else "не позже"
        return f"этап {word} «{c.stage}» в порядке этапов своей воронки"
    if isinstance(c, Linked):
        return "у сделки есть " + ("организация" if c.entity == "org" else "контактное лицо")
    if isinstance(c, Leaf):
        f = field_title(c.field)
        v = c.value
        texts = {
            "empty": f"{f} пусто" if v else f"{f} заполнено",
            "empty_or_zero": f"{f} пусто или равно 0" if v else f"{f} заполнено и не 0",
            "is_yes": f"{f} = «Да»" if v else f"{f} не «Да» (пусто или «Нет»)",
            "equals": f"{f} = {_val(v)}",
            "not_equals": f"{f} ≠ {_val(v)}",
            "in": f"{f} — одно из: {_val(v)}",
            "not_in": f"{f} — не из: {_val(v)}",
            "contains": f"{f} содержит {_val(v)}",
            "not_contains": f"{f} не содержит {_val(v)}",
            "starts_with": f"{f} начинается с {_val(v)}",
            "ends_with": f"{f} заканчивается на {_val(v)}",
            "matches": f"{f} соответствует шаблону /{v}/",
            "placeholder": f"{f} — заглушка ({_val(v)}, возможно с цифрами в конце)",
            "length_lt": f"{f} короче {v} символов (без пробелов по краям)",
            "length_gt": f"{f} длиннее {v} символов",
            "gt": f"{f} > {v}", "gte": f"{f} ≥ {v}", "lt": f"{f} < {v}", "lte": f"{f} ≤ {v}",
            "same_as": f"{f} совпадает с: {field_title(str(v))}",
            "differs_from": f"{f} отличается от: {field_title(str(v))}",
        }
        return texts.get(c.op, f"{f} {c.op} {v}")
    return str(c)


def _wrap(c: Cond, defines: dict | None = None) -> str:
    t = cond_text(c, defines)
    return f"({t})" if isinstance(c, (All, AnyOf)) and len(c.items) > 1 else t


def explain_rule(rule: Rule) -> str:
    scope = ", ".join(STATUS_RU[s] for s in rule.statuses) + " сделки"
    if rule.pipelines:
        scope += " в воронке " + " или ".join(f"«{p}»" for p in rule.pipelines)
    defines: dict = {}
    if rule.where is not None:
        scope += ", у которых " + cond_text(rule.where, defines)
    lines = [
        f"Правило {rule.code} «{rule.title}» ({rule.id}), критичность {rule.criticality}",
        f"Файл: {rule.file}:{rule.line}",
        "",
        f"Проверяются: {scope}. Удалённые сделки не проверяются никогда.",
        f"Сделка попадает на лист «{rule.sheet_title}», если: {cond_text(rule.when, defines)}.",
    ]
    for name, c in defines.items():
        ref = c.label.partition(":")[2]
        lines.append(f"«{name}» значит: " + cond_text(c.__class__(**{**c.__dict__, "label": ""})).replace(field_title(ref), "значение") + ".")
    if rule.evidence:
        lines.append("Колонки-доказательства: " + ", ".join(f"«{e.title}» ({field_title(e.field)})" for e in rule.evidence) + ".")
    for label, text in (("Что не так", rule.what), ("Почему это важно", rule.why), ("Как исправить", rule.how)):
        if text:
            lines.append(f"{label}: {text}")
    lines += ["", "YAML:", rule.source]
    return "\n".join(lines)
