"""Cell values every spreadsheet takes: text cleaning, plain values, formula detection, length limits.

Format-neutral helpers of the document layer (the model builder and every
renderer use them; none knows a file format):

* :func:`clean_text` removes characters that XML 1.0 (hence .xlsx) and the
  Sheets API cannot hold: C0 controls except tab, LF and CR (openpyxl's
  ``ILLEGAL_CHARACTERS_RE``), lone surrogates and U+FFFE/U+FFFF, which would
  otherwise crash a serializer.
* :func:`fit_cell` cuts a text to a spreadsheet's cell limit (each renderer
  passes its own: Excel 32,767, Google 50,000), counting as they count.
* :func:`looks_like_formula` tells whether a text starts with ``= + - @``;
  such text must be stored as text, never as a formula.
* :func:`plain_value` turns pandas/numpy scalars into Python ones (None if missing).
"""

from __future__ import annotations

import decimal
import math
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FORMULA_PREFIXES", "TRUNCATION_MARK", "clean_text", "fit_cell", "looks_like_formula", "plain_value"]

#: Text starting with one of these is interpreted as a formula by spreadsheets.
FORMULA_PREFIXES = ("=", "+", "-", "@")
#: What a text cut to a cell's limit ends with.
TRUNCATION_MARK = "…"

# C0 controls but tab, LF, CR (what XML 1.0 forbids; openpyxl's ILLEGAL_CHARACTERS_RE), lone
# surrogates (e.g. from errors="surrogateescape" decoding) and the non-characters U+FFFE/U+FFFF.
_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]|[\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str) -> str:
    """``value`` without the characters no spreadsheet accepts (tab, LF and CR are kept)."""
    return _ILLEGAL_RE.sub("", value)


def _utf16_len(value: str) -> int:
    return len(value.encode("utf-16-le")) // 2


def fit_cell(value: str, limit: int) -> str:
    """``value`` cut to at most ``limit`` characters as spreadsheets count them.

    They count UTF-16 code units, so characters outside the BMP (emoji)
    count twice. A truncated text ends with «…».
    """
    if len(value) <= limit // 2 or _utf16_len(value) <= limit:
        return value
    budget = limit - len(TRUNCATION_MARK)
    out: list[str] = []
    used = 0
    for ch in value:
        size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > budget:
            break
        out.append(ch)
        used += size
    return "".join(out) + TRUNCATION_MARK


def looks_like_formula(value: object) -> bool:
    """True when ``value`` is a str a spreadsheet would read as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def plain_value(value: Any) -> Any:
    """A plain Python scalar for a pandas/numpy cell value; None when missing.

    None, NaN, NaT and pd.NA are missing; numpy scalars become Python ones,
    Timestamps become ``datetime.datetime``, Decimals become floats.
    """
    if type(value) is str or type(value) is int:  # the common case, fast
        return value
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
        if value is pd.NaT:
            return None
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
