"""Parametrized variants split between the default run and `pytest -m slow` (CI keeps to its 15 minutes)."""

from __future__ import annotations

import pytest


def every_other(values) -> list:
    """``values`` with every second one marked slow: the default run keeps half the variants (the first, third …),
    each of which takes the same code path with other data (another language's words); `pytest -m slow` runs the rest."""
    return [v if i % 2 == 0 else pytest.param(*(v if isinstance(v, tuple) else (v,)), marks=pytest.mark.slow)
            for i, v in enumerate(values)]
