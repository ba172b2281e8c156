"""Where the bundled rules, templates, profiles and demo data live.

In a wheel, ``rules/`` and ``templates/`` are installed inside the package as
``crm_audit/_bundled/``; in a source checkout they are the top-level folders.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

_PKG = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    installed = _PKG / "_bundled" / name
    if installed.is_dir():
        return installed
    return _PKG.parent / name


def rules_dir() -> Path:
    return _bundled("rules")


def templates_dir() -> Path:
    return _bundled("templates")


def profiles_dir() -> Path:
    return _PKG / "profiles"


def demo_dir() -> Path:
    return _PKG / "demo_data"


@functools.lru_cache(maxsize=None)
def data_file(path: Path) -> Any:
    """A bundled YAML data file (word lists, synonyms, file shapes), parsed once per process with libyaml where
    installed (about ten times faster than the pure-Python loader; init reads a dozen of these). The result is shared:
    never modify it."""
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
