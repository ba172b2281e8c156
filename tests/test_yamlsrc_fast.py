"""yamlsrc parses with libyaml where PyYAML has it (speed) and must say exactly what the pure-Python parser says:
the same data, the same file:line:col of every key and item, the same problems (texts PyYAML's, via a re-parse)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crm_audit import yamlsrc

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "crm_audit").rglob("*.yaml"))  # the bundled profiles, rules, warehouses, word lists


def _slow(text: str, file: str, monkeypatch) -> yamlsrc.YamlDoc:
    with monkeypatch.context() as m:
        m.setattr(yamlsrc, "_FAST_LOADER", None)
        return yamlsrc.loads(text, file)


def _same(text: str, file: str, monkeypatch) -> yamlsrc.YamlDoc:
    fast, slow = yamlsrc.loads(text, file), _slow(text, file, monkeypatch)
    assert fast.data == slow.data
    assert fast.marks == slow.marks
    assert [(p.template, p.params, p.line, p.col) for p in fast.problems] == \
           [(p.template, p.params, p.line, p.col) for p in slow.problems]
    return fast


def test_libyaml_is_used_where_pyyaml_has_it():
    assert yamlsrc._FAST_LOADER is getattr(yaml, "CSafeLoader", None)


def test_every_bundled_yaml_file_reads_the_same(monkeypatch):
    assert len(FILES) >= 10
    for f in FILES:
        _same(f.read_text(encoding="utf-8-sig"), str(f), monkeypatch)


@pytest.mark.parametrize("text,line,col", [
    ("ключ: «ёж»\nсписок:\n  - имя: Иван\n    т: 2\n", 0, 0),  # Cyrillic (valid): columns count characters
    ("a: 1\nb: 2\na: 3\n", 3, 1),  # a duplicate key
    ("a:\n\t- 1\n", 2, 1),  # a tab
    ("x: [1, 2\n", 2, 1),
    ("k: 'ab\n", 2, 1),
    ("a: b: c\n", 1, 5),
    ("x: \"\\q\"\n", 1, 6),
    ("a: *nope\n", 1, 4),
    ("a: 1\n---\nb: 2\n", 2, 1),
    ("a: \x01\n", None, None),  # a control character: a problem without a position (PyYAML's reader gives none)
    ("  - a\n - b\n", 2, 2),
    ("<<: {a: 1}\nb: 2\nd: 2026-11-20\n", 0, 0),  # valid
])
def test_edge_texts_read_the_same(text, line, col, monkeypatch):
    doc = _same(text, "e.yaml", monkeypatch)
    if line == 0:
        assert not doc.problems and doc.data
    else:
        assert (doc.problems[0].line, doc.problems[0].col) == (line, col)
