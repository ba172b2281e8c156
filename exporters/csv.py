"""Every violation as CSV: one row per (rule, deal).

UTF-8 without BOM, a header row, ``csv`` module quoting (QUOTE_MINIMAL), so
multi-line values round-trip. Columns: :data:`CSV_COLUMNS`. ``evidence`` is
``"<title>: <value>; <title>: <value>"`` over the rule's evidence columns
(dates ISO, integral numbers without ``.0``, missing values empty).

CSV is data: text starting with ``= + - @`` is written as is; only NUL
characters are removed.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path
from typing import Any

from crm_audit.report import BASE_COLUMNS, AuditReport, Column
from exporters.safe import atomic_write, plain_value, strip_nul

__all__ = ["CSV_COLUMNS", "format_value", "write_violations_csv"]

CSV_COLUMNS = (
    "rule_id",
    "rule_code",
    "criticality",
    "deal_id",
    "deal_url",
    "title",
    "owner",
    "state",
    "reason",
    "pipeline",
    "stage",
    "evidence",
    "as_of",
)

_BASE_KEYS = tuple(c.key for c in BASE_COLUMNS)


def format_value(value: Any, kind: str = "text") -> str:
    """``value`` as CSV text: "" when missing, ISO dates, ``12`` not ``12.0``."""
    value = plain_value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if kind == "date" or value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return strip_nul(str(value))


def _evidence(values: tuple[Any, ...], columns: list[Column]) -> str:
    return "; ".join(f"{strip_nul(c.title)}: {format_value(v, c.kind)}" for v, c in zip(values, columns))


def write_violations_csv(report: AuditReport, path: str | os.PathLike[str]) -> Path:
    """Write every violation of ``report`` to ``path`` atomically; return the path."""
    target = Path(path)
    as_of = report.as_of.isoformat()
    with atomic_write(target) as tmp:
        with open(tmp, "w", encoding="utf-8", errors="replace", newline="") as fh:
            writer = csv.writer(fh, quoting=csv.QUOTE_MINIMAL)
            writer.writerow(CSV_COLUMNS)
            for result in report.results:
                if result.rows is None or not len(result.rows):
                    continue
                evidence = list(result.evidence)
                keys = [*_BASE_KEYS, *(c.key for c in evidence)]
                frame = result.rows.reindex(columns=keys)
                head = (strip_nul(str(result.rule_id)), strip_nul(str(result.code)), str(result.criticality))
                nbase = len(_BASE_KEYS)
                for values in frame.itertuples(index=False, name=None):
                    base = {k: format_value(v) for k, v in zip(_BASE_KEYS, values[:nbase])}
                    writer.writerow(
                        (
                            *head,
                            base["deal_id"],
                            base["deal_url"],
                            base["title"],
                            base["owner"],
                            base["state"],
                            base["reason"],
                            base["pipeline"],
                            base["stage"],
                            _evidence(values[nbase:], evidence),
                            as_of,
                        )
                    )
    return target
