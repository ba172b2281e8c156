"""Text normalisation shared by Python code and the SQL backend.

The reference says every comparison of a text with a name from the settings
or a rule ignores case and surrounding spaces and treats «ё» as «е». The SQL
backend implements the same function as the ``norm`` macro (see
``backends/duckdb_backend.py``); both must agree.
"""

from __future__ import annotations

#: Whitespace as a CRM user sees it (incl. non-breaking and narrow spaces).
WS_CLASS = r"[\s\x{00A0}\x{2007}\x{202F}\x{FEFF}]"  # RE2 syntax (DuckDB)
_PY_WS = "\u00a0\u2007\u202f\ufeff"


def strip(value: str) -> str:
    return value.strip().strip(_PY_WS).strip()


#: The characters :data:`WS_CLASS` matches (RE2's ``\s`` is ``[\t\n\f\r ]``): what the SQL ``norm`` strips.
_SQL_WS = "\t\n\f\r " + _PY_WS
#: Python's ``lower`` follows Unicode's special casing where the engines map one
#: character to one: «İ» becomes «i» + a combining dot, a final «Σ» becomes «ς».
_SIMPLE_CASE = str.maketrans({"\u0130": "i", "\u03a3": "\u03c3"})


def norm(value: object) -> str:
    """Case-, space- and ё-insensitive key of a text value ('' for missing).

    The same key the engines' ``norm`` gives (:mod:`crm_audit.engine.dialects`),
    character for character: names from the settings (normalised here) are
    compared with values normalised in SQL."""
    if value is None:
        return ""
    return str(value).strip(_SQL_WS).translate(_SIMPLE_CASE).lower().replace("ё", "е")


def display_names(counts: dict[str, int]) -> dict[str, str]:
    """Each spelling of a name -> the one spelling shown for all of its :func:`norm` variants.

    «Иван Петров», «иван пётров » and «ИВАН ПЕТРОВ» are one manager (the
    reference compares owner names case-, space- and ё-insensitively); the
    most frequent spelling is shown; on a tie, one without stray spaces and
    not all in one case («Иван Петров» over «ИВАН ПЕТРОВ»), then sort order.
    """

    def rank(name: str, n: int) -> tuple:
        return (-n, name != strip(name) or "  " in name, name.isupper() or name.islower(), name)

    best: dict[str, tuple] = {}
    for name, n in counts.items():
        key = norm(name)
        if key not in best or rank(name, n) < best[key]:
            best[key] = rank(name, n)
    return {name: best[norm(name)][-1] for name in counts}


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN
        return True
    return strip(str(value)) == ""


YES_VALUES = ("да", "yes", "true", "1", "y", "д")
