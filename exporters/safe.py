"""Cell-value safety and atomic writes, shared by every writer.

* :func:`clean_text` removes characters that XML 1.0 (hence .xlsx) cannot
  hold: openpyxl's ``ILLEGAL_CHARACTERS_RE`` (C0 controls except tab, LF, CR)
  plus lone surrogates and U+FFFE/U+FFFF, which would otherwise crash the
  XML serializer.
* :func:`xlsx_text` additionally truncates to Excel's cell limit
  (:func:`fit_cell`: the truncation alone, for text already cleaned).
* :func:`looks_like_formula` tells whether a text starts with ``= + - @``;
  such text must be stored as a string (never as a formula) in a workbook.
* :func:`plain_value` turns pandas/numpy scalars into Python ones (None if missing).
* :func:`atomic_write` writes a file next to its destination and renames it
  into place, so a failed export never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import decimal
import math
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

__all__ = [
    "FORMULA_PREFIXES",
    "XLSX_MAX_CELL_CHARS",
    "atomic_write",
    "clean_text",
    "fit_cell",
    "looks_like_formula",
    "plain_value",
    "strip_nul",
    "xlsx_text",
]

#: Excel's limit on the length of a cell's text.
XLSX_MAX_CELL_CHARS = 32_767
#: Text starting with one of these is interpreted as a formula by spreadsheets.
FORMULA_PREFIXES = ("=", "+", "-", "@")

_TRUNCATION_MARK = "…"
# openpyxl's set plus what else XML 1.0 forbids: lone surrogates (e.g. from
# errors="surrogateescape" decoding) and the non-characters U+FFFE/U+FFFF.
_ILLEGAL_RE = re.compile(ILLEGAL_CHARACTERS_RE.pattern + "|[\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str) -> str:
    """``value`` without XML-illegal characters (tab, LF and CR are kept)."""
    return _ILLEGAL_RE.sub("", value)


def _utf16_len(value: str) -> int:
    return len(value.encode("utf-16-le")) // 2


def xlsx_text(value: str, limit: int = XLSX_MAX_CELL_CHARS) -> str:
    """Text safe to put in an xlsx cell: cleaned, at most ``limit`` characters (see :func:`fit_cell`)."""
    return fit_cell(clean_text(value), limit)


def fit_cell(value: str, limit: int = XLSX_MAX_CELL_CHARS) -> str:
    """``value`` cut to at most ``limit`` characters as Excel counts them.

    Excel counts UTF-16 code units, so characters outside the BMP (emoji)
    count twice. A truncated text ends with «…».
    """
    if len(value) <= limit // 2 or _utf16_len(value) <= limit:
        return value
    budget = limit - len(_TRUNCATION_MARK)
    out: list[str] = []
    used = 0
    for ch in value:
        size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > budget:
            break
        out.append(ch)
        used += size
    return "".join(out) + _TRUNCATION_MARK


def looks_like_formula(value: object) -> bool:
    """True when ``value`` is a str a spreadsheet would read as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def strip_nul(value: str) -> str:
    """``value`` without NUL characters (for CSV output)."""
    return value.replace("\x00", "")


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


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s directory; on success rename it to ``path``.

    Usage::

        with atomic_write(out) as tmp:
            workbook.save(tmp)

    The temporary file is created empty (permissions as for a new file, or
    copied from the file being replaced). If the body raises, the temporary
    file is removed and an existing file at ``path`` is left untouched.
    """
    target = Path(path)
    directory = target.parent
    tmp: Path | None = None
    for _ in range(100):
        candidate = directory / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        tmp = candidate
        break
    if tmp is None:  # pragma: no cover - 100 collisions of 32 random bits
        raise FileExistsError(f"cannot create a temporary file next to {target}")
    try:
        yield tmp
        _fsync(tmp)
        try:
            os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        except OSError:
            pass
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
