"""YAML loading that remembers where every key and item came from.

Settings and rule files are edited by non-programmers, so every validation
message must point at ``file:line:col``. PyYAML's composed node tree carries
those marks; we construct the plain Python data and, alongside it, a map from
the data path (``("rules", 3, "when")``) to the 1-based line and column.
Duplicate keys — silently overwritten by PyYAML — are reported as problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from crm_audit.errors import Msg, Problem
from crm_audit.i18n import N_, current_language

PathT = tuple[Any, ...]


@dataclass
class YamlDoc:
    file: str
    data: Any
    marks: dict[PathT, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # where a scalar value itself starts (``crm: hubspto`` → the «h»; ``marks`` holds its key's place)
    values: dict[PathT, tuple[int, int]] = field(default_factory=dict)

    def value_where(self, path: Iterable[Any]) -> tuple[int | None, int | None]:
        """Line/column of the scalar value at ``path``, else :meth:`where` (its key, or the closest ancestor)."""
        return self.values.get(tuple(path)) or self.where(path)

    def where(self, path: Iterable[Any]) -> tuple[int | None, int | None]:
        """Line/column of ``path`` or of its closest recorded ancestor."""
        p = tuple(path)
        while True:
            if p in self.marks:
                return self.marks[p]
            if not p:
                return (None, None)
            p = p[:-1]

    def problem(self, path: Iterable[Any], message: str, reason: str = "invalid", params: dict[str, Any] | None = None) -> Problem:
        """A problem at ``path``: ``message`` is the msgid (marked with ``N_``) that ``params`` fill in (a finished
        text when ``params`` is None)."""
        line, col = self.where(path)
        if params is not None:
            return Problem(template=message, params=params, file=self.file, line=line, col=col, reason=reason)
        return Problem(message, file=self.file, line=line, col=col, reason=reason)



#: PyYAML's own problem texts (its scanner's and parser's), said in the CLI's language; the token found is a value.
_YAML_PROBLEMS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(rx), msg) for rx, msg in (
    (r"^found unexpected end of stream", N_("the file ends inside a value (an unclosed quote or bracket?)")),
    (r"^mapping values are not allowed here", N_("a «key: value» where it cannot be (a missing space after «:», "
                                                 "or a value with «: » that needs quotes?)")),
    (r"^could not find expected ':'", N_("a «:» is missing after a key")),
    (r"^found character (?P<token>.+) that cannot start any token", N_("a value cannot start with {token} "
                                                                       "(use spaces, not tabs; quote the value)")),
    (r"^found unexpected ':'", N_("an unexpected «:» (quote the value)")),
    (r"^expected <block end>, but found (?P<token>.+)", N_("the indentation is off: {token} where a block should end")),
    (r"^expected ',' or '[\]}]', but got (?P<token>.+)", N_("a list or mapping in brackets is not closed: found {token}")),
    (r"^did not find expected key", N_("the indentation is off: a key was expected here")),
    (r"^did not find expected '-' indicator", N_("the indentation is off: a list item «- » was expected here")),
    (r"^found undefined alias (?P<token>.+)", N_("an alias {token} that no anchor defines")),
    (r"^found duplicate anchor", N_("an anchor defined twice")),
    (r"^found unknown escape character (?P<token>.+)", N_("an unknown escape {token} in a double-quoted value "
                                                          "(use single quotes for patterns)")),
    (r"^expected a comment or a line break, but found (?P<token>.+)", N_("something after a value on its line: {token}")),
    (r"^expected <document start>, but found (?P<token>.+)", N_("the file is not one YAML document: found {token}")),
    (r"^found a tab character", N_("a tab where YAML needs spaces")),
))


def yaml_problem(text: str) -> Msg:
    """PyYAML's problem ``text`` as a :class:`Msg`; one it does not know: a generic text (PyYAML's English words are
    never shown inside a Russian line)."""
    for rx, msg in _YAML_PROBLEMS:
        m = rx.search(text)
        if m:
            return Msg(msg, {k: v.strip() for k, v in m.groupdict().items()})
    return Msg(N_("the YAML structure is broken here (check indentation, colons and quotes)"))

def _walk(node: yaml.Node, path: PathT, doc: YamlDoc, seen: set[int]) -> None:
    mark = node.start_mark
    doc.marks.setdefault(path, (mark.line + 1, mark.column + 1))
    if isinstance(node, yaml.ScalarNode):
        doc.values[path] = (mark.line + 1, mark.column + 1)
    if id(node) in seen:  # alias to an already walked anchor
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key == "<<":
                _walk(value_node, path, doc, seen)
                continue
            kline = key_node.start_mark.line + 1
            if key in keys:
                doc.problems.append(
                    Problem(
                        template=N_("key «{key}» is given twice (first on line {first}); keep one"),
                        params={"key": key, "first": keys[key]},
                        file=doc.file,
                        line=kline,
                        col=key_node.start_mark.column + 1,
                        reason="duplicate-key",
                    )
                )
            keys[key] = kline
            doc.marks[path + (key,)] = (kline, key_node.start_mark.column + 1)
            _walk(value_node, path + (key,), doc, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), doc, seen)


#: libyaml's parser where PyYAML was built with it: the same nodes, marks and data as the pure-Python one, about ten
#: times faster (every command reads the settings, the rules and a CRM profile of 40 KB: 0.1 s each). Its problem
#: texts differ from PyYAML's, so a text it refuses is parsed again by the pure-Python loader, whose texts
#: :data:`_YAML_PROBLEMS` says in the CLI's language.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def _parse(text: str, loader_cls) -> tuple[yaml.Node | None, Any]:
    loader = loader_cls(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def loads(text: str, file: str = "<string>") -> YamlDoc:
    """Parse ``text``; a syntax error becomes a :class:`Problem` (data None)."""
    doc = YamlDoc(file=file, data=None)
    try:
        try:
            if _FAST_LOADER is None:
                raise yaml.YAMLError("no libyaml")
            node, data = _parse(text, _FAST_LOADER)
        except yaml.YAMLError:
            node, data = _parse(text, yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        what = yaml_problem(exc.problem or str(exc))
        doc.problems.append(Problem(template=N_("not valid YAML: {why}"), params={"why": what}, file=file, line=line, col=col,
                                    reason="yaml-syntax"))
        return doc
    except yaml.YAMLError as exc:
        doc.problems.append(Problem(template=N_("not valid YAML: {why}"), params={"why": yaml_problem(str(exc))}, file=file,
                                    reason="yaml-syntax"))
        return doc
    doc.data = data
    if node is not None:
        _walk(node, (), doc, set())
    return doc


def load(path: str | Path) -> YamlDoc:
    """Read and parse a YAML file; unreadable files become a problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return YamlDoc(str(p), None, problems=[Problem(template=N_("file not found"), file=str(p), reason="not-found")])
    except UnicodeDecodeError:
        return YamlDoc(str(p), None, problems=[Problem(template=N_("not UTF-8 text; save the file as UTF-8"), file=str(p),
                                                       reason="encoding")])
    except OSError as exc:
        return YamlDoc(str(p), None, problems=[Problem(template=N_("cannot read the file: {why}"), params={"why": exc.strerror},
                                                       file=str(p), reason="io")])
    return loads(text, str(p))


def known_keys(model: Any, loc: PathT) -> list[str]:
    """The keys a pydantic ``model`` accepts at ``loc`` (a path of keys and indexes), [] when not a model there."""
    import typing

    from pydantic import BaseModel

    def is_model(tp: Any) -> bool:
        return isinstance(tp, type) and issubclass(tp, BaseModel)

    def step(tp: Any, part: Any) -> list[Any]:
        """The annotations ``part`` leads to from ``tp`` (a model's field, a list item, a dict value, a union's)."""
        if is_model(tp):
            f = tp.model_fields.get(part) if isinstance(part, str) else None
            f = f or next((x for x in tp.model_fields.values() if x.alias == part), None)
            return [f.annotation] if f is not None else []
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin in (list, tuple, set, frozenset) and args:
            return [args[0]]
        if origin is dict and len(args) == 2:
            return [args[1]]
        return [x for arg in args for x in step(arg, part)]  # a union (or Optional)

    def models(tp: Any) -> list[type]:
        return [tp] if is_model(tp) else [m for arg in typing.get_args(tp) for m in models(arg)]

    current: list[Any] = [model]
    for part in loc:
        current = [x for tp in current for x in step(tp, part)]
    return [f.alias or name for tp in current for m in models(tp) for name, f in m.model_fields.items()]


class MsgError(ValueError):
    """A validator's error as a msgid and its values (raised inside a pydantic validator: shown in the CLI's
    language, never as pydantic's English text)."""

    def __init__(self, template: str, **params: Any):
        self.msg = Msg(template, params)
        super().__init__(render_en(template, params))


def render_en(template: str, params: dict[str, Any]) -> str:
    from crm_audit.errors import render

    return render(template, params, "en")


#: pydantic's error type -> what the value must be (a msgid); the value given is shown next to it
EXPECTED_BY_TYPE = {
    "string_type": N_("text"), "string_unicode": N_("text"), "str_type": N_("text"),
    "int_type": N_("a whole number"), "int_parsing": N_("a whole number"), "int_from_float": N_("a whole number"),
    "float_type": N_("a number"), "float_parsing": N_("a number"), "decimal_type": N_("a number"),
    "decimal_parsing": N_("a number"), "bool_type": N_("true or false"), "bool_parsing": N_("true or false"),
    "list_type": N_("a list"), "tuple_type": N_("a list"), "set_type": N_("a list"), "frozen_set_type": N_("a list"),
    "dict_type": N_("a mapping (key: value lines)"), "model_type": N_("a mapping (key: value lines)"),
    "model_attributes_type": N_("a mapping (key: value lines)"), "date_type": N_("a date YYYY-MM-DD"),
    "date_parsing": N_("a date YYYY-MM-DD"), "date_from_datetime_parsing": N_("a date YYYY-MM-DD"),
    "date_from_datetime_inexact": N_("a date YYYY-MM-DD"), "datetime_type": N_("a date and time"),
    "datetime_parsing": N_("a date and time"), "none_required": N_("nothing (leave it empty)"),
}
#: pydantic's bound errors -> the msgid of the bound (its ctx key)
BOUNDS = {
    "greater_than": (N_("a number greater than {limit}"), "gt"),
    "greater_than_equal": (N_("a number not less than {limit}"), "ge"),
    "less_than": (N_("a number less than {limit}"), "lt"),
    "less_than_equal": (N_("a number not greater than {limit}"), "le"),
    "too_short": (N_("at least {limit} item(s)"), "min_length"),
    "too_long": (N_("at most {limit} item(s)"), "max_length"),
    "string_too_short": (N_("a text of at least {limit} character(s)"), "min_length"),
    "string_too_long": (N_("a text of at most {limit} character(s)"), "max_length"),
}


def _shown_value(value: Any) -> str:
    """The value a user wrote, short, as YAML shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10_000).strip()
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _choices(expected: str) -> str:
    """pydantic's «'open', 'won' or 'lost'» as «open, won, lost»."""
    import re

    found = re.findall(r"'([^']*)'", expected)
    return ", ".join(found) if found else expected


def pydantic_problems(doc: YamlDoc, exc: Any, base: PathT = (), model: Any = None) -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into located problems (``model``: the validated class, for «did you mean»).

    Each problem is made from the error's ``type`` (never pydantic's English ``msg``): the key, what it must be and
    the value given, in the CLI's language."""
    out = []
    for err in exc.errors():
        loc = tuple(x for x in err.get("loc", ()) if not (isinstance(x, str) and x.startswith("function-")))
        loc = base + loc
        typ = err.get("type", "")
        name = loc[-1] if loc else ""
        if isinstance(name, int):
            keys = [x for x in loc if not isinstance(x, int)]
            name = f"{keys[-1]}[{name + 1}]" if keys else f"[{name + 1}]"
        ctx = err.get("ctx") or {}
        value = _shown_value(err.get("input"))
        reason = typ or "invalid"
        if typ == "extra_forbidden":
            hint = None
            if model is not None and isinstance(loc[-1], str):
                from crm_audit.rules.ruleset import closest

                hint = closest(str(name), known_keys(model, loc[len(base):-1]))
            if hint is not None:
                out.append(doc.problem(loc, N_("unknown key «{name}» (did you mean «{hint}»?)"), reason,
                                       {"name": name, "hint": hint}))
            else:
                out.append(doc.problem(loc, N_("unknown key «{name}» (a typo?)"), reason, {"name": name}))
            continue
        if typ == "missing":
            out.append(doc.problem(loc[:-1], N_("required key «{name}» is missing"), reason, {"name": name}))
            continue
        if typ in ("literal_error", "enum"):
            choices = _choices(str(ctx.get("expected", "")))
            params = {"name": name, "expected": choices, "value": value}
            hint = None
            if isinstance(err.get("input"), str):  # «warnn» → «warn»
                from crm_audit.rules.ruleset import closest

                hint = closest(err["input"], [c.strip() for c in choices.split(",") if c.strip()])
            if hint is not None:
                out.append(doc.problem(loc, N_("«{name}» must be one of: {expected}; found «{value}» (did you mean «{hint}»?)"),
                                       reason, {**params, "hint": hint}))
            else:
                out.append(doc.problem(loc, N_("«{name}» must be one of: {expected}; found «{value}»"), reason, params))
            continue
        expected: Msg | None = None
        if typ in EXPECTED_BY_TYPE:
            expected = Msg(EXPECTED_BY_TYPE[typ])
        elif typ in BOUNDS and BOUNDS[typ][1] in ctx:
            expected = Msg(BOUNDS[typ][0], {"limit": ctx[BOUNDS[typ][1]]})
        if expected is not None:
            out.append(doc.problem(loc, N_("«{name}» must be {expected}; found «{value}»"), reason,
                                   {"name": name, "expected": expected, "value": value}))
            continue
        error = ctx.get("error")
        if isinstance(error, MsgError):  # one of our validators, with its msgid
            params = dict(error.msg.params)
            if name != "" and not str(error).startswith(str(name)):  # «deal_url must contain …» names its key itself
                out.append(doc.problem(loc, N_("«{name}»: {message}"), reason, {"name": name, "message": error.msg}))
            else:
                out.append(doc.problem(loc, error.msg.template, reason, params))
            continue
        # a check without a msgid (a library's): its own text in English, a plain «not valid» in Russian
        msg = err.get("msg", "invalid value")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        p = doc.problem(loc, N_("«{name}»: the value «{value}» is not valid here"), reason, {"name": name, "value": value})
        if current_language() == "en":
            p.message = f"«{name}»: {msg}" if name != "" else msg
        out.append(p)
    return out
