"""YAML loading that remembers where every key and item came from.

Settings and rule files are edited by non-programmers, so every validation
message must point at ``file:line:col``. PyYAML's composed node tree carries
those marks; we construct the plain Python data and, alongside it, a map from
the data path (``("rules", 3, "when")``) to the 1-based line and column.
Duplicate keys — silently overwritten by PyYAML — are reported as problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from crm_audit.errors import Problem

PathT = tuple[Any, ...]


@dataclass
class YamlDoc:
    file: str
    data: Any
    marks: dict[PathT, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def where(self, path: Iterable[Any]) -> tuple[int | None, int | None]:
        """Line/column of ``path`` or of its closest recorded ancestor."""
        p = tuple(path)
        while True:
            if p in self.marks:
                return self.marks[p]
            if not p:
                return (None, None)
            p = p[:-1]

    def problem(self, path: Iterable[Any], message: str, reason: str = "invalid") -> Problem:
        line, col = self.where(path)
        return Problem(message, file=self.file, line=line, col=col, reason=reason)


def _walk(node: yaml.Node, path: PathT, doc: YamlDoc, seen: set[int]) -> None:
    mark = node.start_mark
    doc.marks.setdefault(path, (mark.line + 1, mark.column + 1))
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
                        f"key «{key}» is given twice (first on line {keys[key]}); keep one",
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


def loads(text: str, file: str = "<string>") -> YamlDoc:
    """Parse ``text``; a syntax error becomes a :class:`Problem` (data None)."""
    doc = YamlDoc(file=file, data=None)
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        what = exc.problem or str(exc)
        doc.problems.append(
            Problem(f"not valid YAML: {what}", file=file, line=line, col=col, reason="yaml-syntax")
        )
        return doc
    except yaml.YAMLError as exc:
        doc.problems.append(Problem(f"not valid YAML: {exc}", file=file, reason="yaml-syntax"))
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
        return YamlDoc(str(p), None, problems=[Problem("file not found", file=str(p), reason="not-found")])
    except UnicodeDecodeError:
        return YamlDoc(str(p), None, problems=[Problem("not UTF-8 text; save the file as UTF-8", file=str(p), reason="encoding")])
    except OSError as exc:
        return YamlDoc(str(p), None, problems=[Problem(f"cannot read the file: {exc.strerror}", file=str(p), reason="io")])
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


def pydantic_problems(doc: YamlDoc, exc: Any, base: PathT = (), model: Any = None) -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into located problems (``model``: the validated class, for «did you mean»)."""
    out = []
    for err in exc.errors():
        loc = tuple(x for x in err.get("loc", ()) if not (isinstance(x, str) and x.startswith("function-")))
        loc = base + loc
        typ = err.get("type", "")
        name = loc[-1] if loc else ""
        if typ == "extra_forbidden":
            hint = ""
            if model is not None and isinstance(name, str):
                from crm_audit.rules.ruleset import did_you_mean

                hint = did_you_mean(name, known_keys(model, loc[len(base):-1]))
            msg = f"unknown key «{name}»{hint or ' (a typo?)'}"
        elif typ == "missing":
            msg = f"required key «{name}» is missing"
            loc = loc[:-1]
        else:
            msg = err.get("msg", "invalid value")
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            if name != "" and not isinstance(name, int):
                msg = f"«{name}»: {msg}"
        out.append(doc.problem(loc, msg, reason=typ or "invalid"))
    return out
