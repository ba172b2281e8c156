"""Cell-value safety of the file writers and atomic writes.

The format-neutral cell helpers (:func:`clean_text`, :func:`fit_cell`,
:func:`looks_like_formula`, :func:`plain_value`) live in the document layer,
:mod:`crm_audit.documents.cells`; they are re-exported here for the writers.
What is the writers' own:

* :func:`xlsx_text`: text cleaned and cut to Excel's cell limit
  (:data:`XLSX_MAX_CELL_CHARS`);
* :func:`strip_nul`: text without NUL characters (CSV);
* :func:`atomic_write` writes a file next to its destination and renames it
  into place, so a failed export never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from crm_audit.documents.cells import FORMULA_PREFIXES, clean_text, looks_like_formula, plain_value
from crm_audit.documents.cells import fit_cell as _fit_cell

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


def fit_cell(value: str, limit: int = XLSX_MAX_CELL_CHARS) -> str:
    """``value`` cut to at most ``limit`` characters as Excel counts them (UTF-16 units; ends with «…»)."""
    return _fit_cell(value, limit)


def xlsx_text(value: str, limit: int = XLSX_MAX_CELL_CHARS) -> str:
    """Text safe to put in an xlsx cell: cleaned, at most ``limit`` characters (see :func:`fit_cell`)."""
    return _fit_cell(clean_text(value), limit)


def strip_nul(value: str) -> str:
    """``value`` without NUL characters (for CSV output)."""
    return value.replace("\x00", "")


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
