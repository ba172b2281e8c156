"""One SQL string literal helper, for every module that writes SQL text (engine, ledger, CSV writer)."""

from __future__ import annotations


def sql_literal(value: object) -> str:
    """``value`` as a single-quoted SQL string literal (quotes doubled): ``O'Neil`` -> ``'O''Neil'``."""
    return "'" + str(value).replace("'", "''") + "'"
