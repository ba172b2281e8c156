"""The rule language: parse and validate rule YAML files into a small AST.

A rule file::

    criticality: 1                 # default for the file's rules
    define:                        # named value checks, used as {field: F, is: NAME}
      bad_name: {any: [{length_lt: 3}, {placeholder: [тест, test]}]}
    rules:
      - id: open-deal-without-tasks
        code: "1.1"
        title: Открытые сделки без задач
        scope: {status: [open], pipeline: [Клиенты], where: <condition>}
        when: {field: tasks.open_count, equals: 0}
        evidence: [{field: deal.next_activity_date, title: Следующее дело}]
        faq: {what: …, why: …, how: …}

A condition is one of::

    {all: [c, …]}  {any: [c, …]}  {not: c}
    {stage_at_least: STAGE}  {stage_at_most: STAGE}     # in the deal's own pipeline
    {linked: org | person}                              # the deal has one
    {field: ENTITY.NAME, OP: VALUE [, trimmed: true]}  # see OPS
    {field: ENTITY.NAME, is: DEFINE_NAME}

ENTITY is ``deal``, ``org``, ``person`` or ``tasks``; NAME is a canonical
field (see :data:`FIELDS`) or a custom field by its export name.
This module knows nothing about SQL: :mod:`crm_audit.engine.plan` resolves the AST
against the settings and a backend runs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crm_audit import yamlsrc
from crm_audit.errors import Msg, Problem
from crm_audit.filecache import per_file
from crm_audit.i18n import N_
from crm_audit.yamlsrc import PathT, YamlDoc

# canonical fields per entity and their type
FIELDS: dict[str, dict[str, str]] = {
    "deal": {
        "id": "text", "title": "text", "owner": "text", "value": "number", "currency": "text",
        "status": "status", "pipeline": "text", "stage": "text", "lost_reason": "text",
        "won_reason": "text", "reason": "text", "org_id": "text", "org_name": "text",
        "person_id": "text", "person_name": "text", "created": "date", "stage_changed": "date",
        "next_activity_date": "date", "activities_to_do": "number",
        "days_in_stage": "number", "stage_since": "date",
    },
    "org": {"id": "text", "name": "text", "owner": "text"},
    "person": {"id": "text", "name": "text", "owner": "text", "org_name": "text"},
    "tasks": {
        "open_count": "number", "overdue_count": "number", "total_count": "number",
        "first_overdue_due": "date", "first_overdue_subject": "text", "next_due": "date",
        "next_subject": "text",
    },
}
ENTITY_TITLES = {"deal": "сделка", "org": "организация", "person": "контакт", "tasks": "задачи"}
STATUSES = ("open", "won", "lost")

# op -> kind of value it takes
OPS: dict[str, str] = {
    "empty": "bool", "empty_or_zero": "bool", "is_yes": "bool",
    "equals": "scalar", "not_equals": "scalar",
    "in": "list", "not_in": "list",
    "contains": "str", "not_contains": "str", "starts_with": "str", "ends_with": "str",
    "matches": "regex", "placeholder": "strlist",
    "length_lt": "int", "length_gt": "int",
    "gt": "ordered", "gte": "ordered", "lt": "ordered", "lte": "ordered",
    "same_as": "field", "differs_from": "field",
}
#: what an operator's value kind is, for messages
KIND_TEXTS = {
    "bool": N_("true or false"), "scalar": N_("a single value"), "list": N_("a list"), "strlist": N_("a list"),
    "str": N_("text"), "regex": N_("a regular expression"), "int": N_("a whole number"),
    "ordered": N_("a number or a date"), "field": N_("a field ENTITY.NAME"),
}
LEAF_OPTIONS = {"trimmed"}
RULE_KEYS = {"id", "code", "title", "criticality", "scope", "when", "evidence", "faq", "define", "enabled"}
SCOPE_KEYS = {"status", "pipeline", "where"}
FAQ_KEYS = {"what", "why", "how"}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
CODE_RE = re.compile(r"^[0-9A-Za-z]+(\.[0-9A-Za-z]+)*$")
SHEET_FORBIDDEN = set("[]:*?/\\")


# --------------------------------------------------------------------------- AST


@dataclass
class Cond:
    path: PathT = field(default=(), repr=False, compare=False)
    label: str = field(default="", repr=False, compare=False, kw_only=True)  # define name when built by `is:`


@dataclass
class All(Cond):
    items: list[Cond] = field(default_factory=list)


@dataclass
class AnyOf(Cond):
    items: list[Cond] = field(default_factory=list)


@dataclass
class Not(Cond):
    item: Cond | None = None


@dataclass
class StageCmp(Cond):
    op: str = "at_least"  # or at_most
    stage: str = ""


@dataclass
class Linked(Cond):
    entity: str = "org"


@dataclass
class Leaf(Cond):
    field: str = ""  # "deal.title"
    op: str = "equals"
    value: Any = None
    on: str = "raw"


@dataclass
class SettingRef:
    name: str


@dataclass
class Evidence:
    field: str
    title: str


@dataclass
class Rule:
    id: str
    code: str
    title: str
    criticality: int
    statuses: list[str]
    pipelines: list[str]
    where: Cond | None
    when: Cond
    evidence: list[Evidence]
    what: str = ""
    why: str = ""
    how: str = ""
    file: str = ""
    line: int | None = None
    source: str = ""  # the rule's YAML text, for `rules explain`
    enabled: bool = True
    off: str = ""  # the settings switch it off with this reason (rules: skip:): reported as skipped
    marks: dict = field(default_factory=dict, repr=False, compare=False)

    def problem(self, path: PathT, message: str, reason: str = "invalid", params: dict[str, Any] | None = None) -> Problem:
        """A problem located at ``path`` of this rule's file: ``message`` is the msgid (marked with ``N_``) that
        ``params`` fill in (a finished text when ``params`` is None)."""
        p = tuple(path)
        while p and p not in self.marks:
            p = p[:-1]
        line, col = self.marks.get(p, (self.line, None))
        if params is not None:
            return Problem(template=message, params=params, file=self.file, line=line, col=col, reason=reason)
        return Problem(message, file=self.file, line=line, col=col, reason=reason)

    @property
    def sheet_title(self) -> str:
        return f"{self.code} {self.title}"


def split_field(ref: str) -> tuple[str, str]:
    ent, _, name = ref.partition(".")
    return ent.strip(), name.strip()


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, doc: YamlDoc, defines: dict[str, tuple[Any, PathT]]):
        self.doc = doc
        self.problems: list[Problem] = []
        self.defines = defines

    def err(self, path: PathT, msg: str, reason: str = "invalid", **params: Any) -> None:
        """A problem at ``path``: ``msg`` is the msgid (marked with ``N_``) that ``params`` fill in."""
        self.problems.append(self.doc.problem(path, msg, reason, params))

    def field_ref(self, ref: Any, path: PathT) -> str | None:
        if not isinstance(ref, str) or "." not in ref:
            self.err(path, N_("field must look like ENTITY.NAME (deal.title, org.owner, tasks.open_count), got «{ref}»"), ref=ref)
            return None
        ent, name = split_field(ref)
        if ent not in FIELDS:
            self.err(path, N_("unknown entity «{entity}» in «{ref}»; use one of: {known}"), entity=ent, ref=ref, known=", ".join(FIELDS))
            return None
        if not name:
            self.err(path, N_("«{ref}» has no field name after the dot"), ref=ref)
            return None
        if ent == "tasks" and name not in FIELDS["tasks"]:
            self.err(path, N_("unknown task aggregate «{name}»; use one of: {known}"), name=name, known=", ".join(FIELDS["tasks"]))
            return None
        return f"{ent}.{name}"

    def cond(self, data: Any, path: PathT, implicit: str | None = None, depth: int = 0) -> Cond | None:
        if depth > 30:
            self.err(path, N_("condition nested too deeply (a define using itself?)"))
            return None
        if isinstance(data, list):
            items = [self.cond(x, path + (i,), implicit, depth + 1) for i, x in enumerate(data)]
            return All(path, [c for c in items if c is not None])
        if not isinstance(data, dict) or not data:
            self.err(path, N_("a condition must be a mapping such as {{field: deal.title, empty: true}}"))
            return None
        keys = set(data)
        for combo in ("all", "any"):
            if combo in keys:
                if keys != {combo}:
                    self.err(path, N_("«{op}» must stand alone in its mapping; other keys: {keys}"), op=combo, keys=", ".join(sorted(map(str, keys - {combo}))))
                    return None
                items = data[combo]
                if not isinstance(items, list) or not items:
                    self.err(path + (combo,), N_("«{op}» takes a non-empty list of conditions"), op=combo)
                    return None
                parsed = [self.cond(x, path + (combo, i), implicit, depth + 1) for i, x in enumerate(items)]
                parsed = [c for c in parsed if c is not None]
                return All(path, parsed) if combo == "all" else AnyOf(path, parsed)
        if "not" in keys:
            if keys != {"not"}:
                self.err(path, N_("«{op}» must stand alone in its mapping"), op="not")
                return None
            inner = self.cond(data["not"], path + ("not",), implicit, depth + 1)
            return Not(path, inner) if inner is not None else None
        for op in ("stage_at_least", "stage_at_most"):
            if op in keys:
                if keys != {op}:
                    self.err(path, N_("«{op}» must stand alone in its mapping"), op=op)
                    return None
                if not isinstance(data[op], str) or not data[op].strip():
                    self.err(path + (op,), N_("«{op}» takes a stage name"), op=op)
                    return None
                return StageCmp(path + (op,), op[len("stage_"):], data[op])
        if "linked" in keys:
            if keys != {"linked"} or data["linked"] not in ("org", "person"):
                self.err(path, N_("use {{linked: org}} or {{linked: person}}"))
                return None
            return Linked(path, data["linked"])
        # a leaf
        ref = data.get("field", implicit)
        if "field" in data:
            ref = self.field_ref(data["field"], path + ("field",))
            if ref is None:
                return None
        elif implicit is None:
            self.err(path, N_("unknown condition {keys}; use all/any/not, stage_at_least/stage_at_most, linked, or field + one of: {ops}"),
                     keys=str(sorted(map(str, keys))), ops=", ".join(OPS))
            return None
        if "is" in data:
            name = data["is"]
            extra = keys - {"field", "is"}
            if extra:
                self.err(path, N_("«is» takes no other keys; found {keys}"), keys=", ".join(sorted(map(str, extra))))
            if name not in self.defines:
                if self.defines:
                    self.err(path + ("is",), N_("unknown define «{name}»; defined: {known}"), name=name, known=", ".join(self.defines))
                else:
                    self.err(path + ("is",), N_("unknown define «{name}»; the file defines none"), name=name)
                return None
            raw, dpath = self.defines[name]
            built = self.cond(raw, dpath, ref, depth + 1)
            if built is not None:
                built.label = f"{name}:{ref}"
            return built
        ops = [k for k in keys if k in OPS]
        unknown = keys - set(OPS) - LEAF_OPTIONS - {"field"}
        if unknown:
            key = sorted(map(str, unknown))[0]
            hint = did_you_mean_op(key)
            self.err(path + (key,), N_("unknown key «{key}»{hint}; a field condition takes one of: {ops} (and optionally trimmed: true)"),
                     key=key, hint=hint, ops=", ".join(OPS))
            return None
        if len(ops) != 1:
            self.err(path, N_("a field condition takes exactly one operator ({ops}); found {n}"), ops=", ".join(OPS), n=len(ops))
            return None
        op = ops[0]
        value = self.value(op, data[op], path + (op,), ref)
        trimmed = data.get("trimmed", False)
        if not isinstance(trimmed, bool):
            self.err(path + ("trimmed",), N_("«trimmed» is true or false"))
        return Leaf(path, ref, op, value, "trimmed" if trimmed is True else "raw")

    def value(self, op: str, value: Any, path: PathT, ref: str) -> Any:
        kind = OPS[op]
        ent, name = split_field(ref)
        ftype = FIELDS.get(ent, {}).get(name, "text")
        if isinstance(value, dict):
            if set(value) == {"setting"} and isinstance(value["setting"], str) and kind in ("list", "scalar", "strlist"):
                return SettingRef(value["setting"])
            self.err(path, N_("«{op}» takes {kind} (or {{setting: NAME}} for a list from the settings)"), op=op,
                     kind=Msg(KIND_TEXTS.get(kind, N_("a single value"))))
            return None
        if kind == "bool":
            if not isinstance(value, bool):
                self.err(path, N_("«{op}» takes true or false"), op=op)
            return value
        if kind in ("list", "strlist"):
            if not isinstance(value, list) or not value:
                self.err(path, N_("«{op}» takes a non-empty list"), op=op)
                return []
            return [str(v) for v in value]
        if kind == "int":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                self.err(path, N_("«{op}» takes a whole number ≥ 0"), op=op)
            return value
        if kind in ("str", "regex"):
            if not isinstance(value, (str, int, float)) or isinstance(value, bool) or str(value) == "":
                self.err(path, N_("«{op}» takes a non-empty text"), op=op)
                return ""
            if kind == "regex":
                probe = re.sub(r"\\[pP](\{\w+\}|\w)", "a", str(value)).replace("\\x{", "\\u{")
                try:
                    re.compile(re.sub(r"\\u\{[0-9A-Fa-f]+\}", "a", probe))
                except re.error as exc:
                    self.err(path, N_("invalid regular expression: {why}"), why=str(exc))
            return str(value)
        if kind == "field":
            return self.field_ref(value, path)
        if kind == "ordered":
            if ftype == "date":
                import datetime as dt

                if value == "as_of" or isinstance(value, dt.date):
                    return value
                if isinstance(value, str):
                    try:
                        return dt.date.fromisoformat(value)
                    except ValueError:
                        pass
                self.err(path, N_("«{op}» on a date field takes a date YYYY-MM-DD or as_of"), op=op)
                return None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.err(path, N_("«{op}» takes a number"), op=op)
                return None
            return value
        if kind == "scalar":
            if isinstance(value, (list, dict)) or value is None:
                self.err(path, N_("«{op}» takes a single value (use in: [..] for a list)"), op=op)
                return None
            return str(value) if not isinstance(value, bool) else value
        return value


def did_you_mean_op(key: str):
    """« (did you mean «gte»?)» for a typo'd operator, else ''."""
    from crm_audit.rules.ruleset import did_you_mean

    return did_you_mean(key, [*OPS, *LEAF_OPTIONS, "field", "is"])


def _text_of(s: Any) -> str:
    return s.strip() if isinstance(s, str) else ""


def parse_rule_file(path: str | Path, text: str | None = None) -> tuple[list[Rule], list[Problem]]:
    """Parse one rule file; returns the rules that parsed and every problem."""
    rules, _broken, problems = parse_rule_file_all(path, text)
    return rules, problems


def parse_rule_file_all(path: str | Path, text: str | None = None) -> tuple[list[Rule], list[Rule], list[Problem]]:
    """Parse one rule file: (the rules that parsed, the rules with problems as far as they parsed, every problem).

    A rule with a problem (a typo'd operator) is never run, but what of it did parse (its
    pipelines, stages, fields) is still checked against the settings, so one `validate`
    names every problem of the file. A file is parsed once per process while it is unchanged (its size and
    modification time): validate, inspect and run each read the rules."""
    if text is None:
        rules, broken, problems = _parse_file(path)
        return list(rules), list(broken), list(problems)
    return _parse_rule_file_all(path, text)


@per_file(maxsize=64)
def _parse_file(path: Path) -> tuple[tuple[Rule, ...], tuple[Rule, ...], tuple[Problem, ...]]:
    rules, broken, problems = _parse_rule_file_all(path, None)
    return tuple(rules), tuple(broken), tuple(problems)


def _parse_rule_file_all(path: str | Path, text: str | None) -> tuple[list[Rule], list[Rule], list[Problem]]:
    doc = yamlsrc.loads(text, str(path)) if text is not None else yamlsrc.load(path)
    problems = list(doc.problems)
    if doc.data is None:
        if not problems:
            problems.append(Problem(template=N_("the rule file is empty"), file=str(path), reason="empty"))
        return [], [], problems
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        problems.append(doc.problem((), N_("a rule file is a mapping with a «rules:» list"), "structure", {}))
        return [], [], problems
    extra = set(data) - {"rules", "criticality", "define", "version", "description"}
    for k in sorted(map(str, extra)):
        problems.append(doc.problem((k,), N_("unknown key «{key}» at the top of a rule file (a typo?)"), "unknown-key", {"key": k}))
    file_defines = data.get("define") or {}
    if not isinstance(file_defines, dict):
        problems.append(doc.problem(("define",), N_("«define» is a mapping NAME: condition"), "structure", {}))
        file_defines = {}
    default_crit = data.get("criticality")
    lines = (text if text is not None else Path(path).read_text(encoding="utf-8-sig")).splitlines()
    item_lines = [doc.where(("rules", i))[0] for i in range(len(data["rules"]))]
    rules: list[Rule] = []
    broken: list[Rule] = []
    for i, rd in enumerate(data["rules"]):
        base: PathT = ("rules", i)
        defines = {k: (v, ("define", k)) for k, v in file_defines.items()}
        p = _Parser(doc, defines)
        if not isinstance(rd, dict):
            problems.append(doc.problem(base, N_("each rule is a mapping with id, code, title, scope, when, …"), "structure", {}))
            continue
        for k in sorted(map(str, set(rd) - RULE_KEYS)):
            p.err(base + (k,), N_("unknown key «{key}» in a rule; allowed: {known}"), "unknown-key", key=k, known=", ".join(sorted(RULE_KEYS)))
        for k in ("id", "code", "title", "when"):
            if k not in rd:
                p.err(base, N_("rule is missing «{key}»"), "missing", key=k)
        rid = rd.get("id")
        if rid is not None and (not isinstance(rid, str) or not ID_RE.match(rid)):
            p.err(base + ("id",), N_("id must be lower-case latin letters, digits and dashes, e.g. open-deal-without-tasks"))
        code = str(rd.get("code", "")).strip()
        if "code" in rd and not CODE_RE.match(code):
            p.err(base + ("code",), N_("code must look like 1.1 or 2.4 (write it in quotes)"))
        title = _text_of(rd.get("title"))
        sheet = f"{code} {title}"
        if title and len(sheet) > 31:
            p.err(base + ("title",), N_("the sheet title «{sheet}» is {n} characters; spreadsheets allow 31 — shorten the title"),
                  sheet=sheet, n=len(sheet))
        if title and set(sheet) & SHEET_FORBIDDEN:
            p.err(base + ("title",), N_("a sheet title cannot contain any of {chars}"), chars=" ".join(sorted(SHEET_FORBIDDEN)))
        crit = rd.get("criticality", default_crit)
        if crit not in (1, 2, 3):
            p.err(base + ("criticality",), N_("criticality is 1 (critical), 2 or 3"))
        if "define" in rd:
            if isinstance(rd["define"], dict):
                for k, v in rd["define"].items():
                    p.defines[k] = (v, base + ("define", k))
            else:
                p.err(base + ("define",), N_("«define» is a mapping NAME: condition"))
        scope = rd.get("scope") or {}
        statuses: list[str] = list(STATUSES)
        pipelines: list[str] = []
        where = None
        if not isinstance(scope, dict):
            p.err(base + ("scope",), N_("scope is a mapping with status, pipeline, where"))
            scope = {}
        for k in sorted(map(str, set(scope) - SCOPE_KEYS)):
            p.err(base + ("scope", k), N_("unknown key «{key}» in scope; allowed: status, pipeline, where"), "unknown-key", key=k)
        if "status" in scope:
            st = scope["status"]
            st = [st] if isinstance(st, str) else st
            if not isinstance(st, list) or not st or any(s not in STATUSES for s in st):
                p.err(base + ("scope", "status"), N_("status is a list of open, won, lost (deleted deals are never audited)"))
            else:
                statuses = list(st)
        if "pipeline" in scope:
            pl = scope["pipeline"]
            pl = [pl] if isinstance(pl, str) else pl
            if not isinstance(pl, list) or not all(isinstance(x, str) for x in pl):
                p.err(base + ("scope", "pipeline"), N_("pipeline is a list of pipeline names"))
            else:
                pipelines = list(pl)
        if "where" in scope:
            where = p.cond(scope["where"], base + ("scope", "where"))
        when = p.cond(rd["when"], base + ("when",)) if "when" in rd else None
        evidence: list[Evidence] = []
        ev = rd.get("evidence") or []
        if not isinstance(ev, list):
            p.err(base + ("evidence",), N_("evidence is a list of {{field: …, title: …}}"))
            ev = []
        for j, e in enumerate(ev):
            epath = base + ("evidence", j)
            if isinstance(e, str):
                e = {"field": e}
            if not isinstance(e, dict) or "field" not in e or set(e) - {"field", "title"}:
                p.err(epath, N_("an evidence column is {{field: ENTITY.NAME, title: <heading>}}"))
                continue
            ref = p.field_ref(e["field"], epath + ("field",))
            if ref:
                evidence.append(Evidence(ref, str(e.get("title") or split_field(ref)[1])))
        faq = rd.get("faq") or {}
        if not isinstance(faq, dict):
            p.err(base + ("faq",), N_("faq is a mapping with what, why, how"))
            faq = {}
        for k in sorted(map(str, set(faq) - FAQ_KEYS)):
            p.err(base + ("faq", k), N_("unknown key «{key}» in faq; allowed: what, why, how"), "unknown-key", key=k)
        problems.extend(p.problems)
        start = (item_lines[i] or 1) - 1
        end = (item_lines[i + 1] - 1) if i + 1 < len(item_lines) and item_lines[i + 1] else len(lines)
        source = "\n".join(lines[start:end]).rstrip()
        ok = not p.problems and when is not None
        rule = Rule(
            id=rid if isinstance(rid, str) else "", code=code, title=title, criticality=int(crit) if crit in (1, 2, 3) else 1,
            statuses=statuses, pipelines=pipelines, where=where, when=when if when is not None else All(base + ("when",)),
            evidence=evidence, what=_text_of(faq.get("what")), why=_text_of(faq.get("why")), how=_text_of(faq.get("how")),
            file=str(path), line=item_lines[i], source=source, enabled=rd.get("enabled", True) is not False,
            marks=doc.marks,
        )
        (rules if ok else broken).append(rule)
    return rules, broken, problems


def iter_conds(c: Cond | None):
    """Every node of a condition tree, depth first."""
    if c is None:
        return
    yield c
    if isinstance(c, (All, AnyOf)):
        for x in c.items:
            yield from iter_conds(x)
    elif isinstance(c, Not):
        yield from iter_conds(c.item)


def rule_fields(rule: Rule) -> set[str]:
    """Every field reference a rule reads (conditions and evidence)."""
    out = {e.field for e in rule.evidence}
    for root in (rule.where, rule.when):
        for c in iter_conds(root):
            if isinstance(c, Leaf):
                out.add(c.field)
                if c.op in ("same_as", "differs_from") and c.value:
                    out.add(c.value)
    return out
