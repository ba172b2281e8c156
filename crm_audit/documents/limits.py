"""Rule sheets too large for a spreadsheet: capped, with a note, the full list in the CSV.

An .xlsx sheet holds 1,048,576 rows; a Google spreadsheet holds 10 million
cells over all its sheets. A rule with more violations than fit is shown
with its first rows (the sheet's own order: by manager, then deal) and a note
right of its header that says how many are shown and where the full list is;
the violations CSV and the ledger always have every violation.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

from crm_audit.report import RuleResult

__all__ = ["cap_note", "capped", "row_cap_for_cells"]


def _n(value: int) -> str:
    return f"{value:,}".replace(",", "\u00a0")


def cap_note(shown: int, total: int, where: str) -> str:
    """The note a capped sheet carries (Russian: managers read it)."""
    return (f"Показаны первые {_n(shown)} из {_n(total)} нарушений: больше строк {where}. "
            "Полный список — в CSV-файле нарушений (crm-audit run --violations-csv).")


def capped(result: RuleResult, max_rows: int | None, where: str) -> RuleResult:
    """``result`` with at most ``max_rows`` rows and a note saying so (``result`` itself when it fits)."""
    if max_rows is None or result.rows is None or len(result.rows) <= max_rows:
        return result
    note = cap_note(max_rows, len(result.rows), where)
    return dataclasses.replace(
        result, rows=result.rows.iloc[:max_rows].reset_index(drop=True), note=f"{result.note} {note}" if result.note else note
    )


def row_cap_for_cells(results: Sequence[RuleResult], cells_per_row: Callable[[RuleResult], int], budget: int) -> int | None:
    """The largest row count L such that the rule sheets, each capped at L rows, use at most ``budget`` cells.

    None when everything fits uncapped. Small sheets stay whole; only the
    largest ones are cut, all to the same number of rows.
    """
    sizes = sorted((len(r.rows) if r.rows is not None else 0, cells_per_row(r)) for r in results)
    if sum(n * c for n, c in sizes) <= budget:
        return None
    lo, hi = 0, max(n for n, _ in sizes)
    while lo < hi:  # binary search on L: cells(L) is monotone
        mid = (lo + hi + 1) // 2
        if sum(min(n, mid) * c for n, c in sizes) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo
