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


def _format_column(values: list[Any], kind: str) -> list[str]:
    """A whole column as CSV text; the common str/None cells skip the generic path."""
    out = []
    for v in values:
        if v is None:
            out.append("")
        elif type(v) is str:
            out.append(v if "\x00" not in v else strip_nul(v))
        else:
            out.append(format_value(v, kind))
    return out


def write_violations_csv(report: AuditReport, path: str | os.PathLike[str]) -> Path:
    """Write every violation of ``report`` to ``path`` atomically; return the path.

    Column-wise: each column is formatted once as a list, rows are zipped
    and written with ``writerows`` (1M violations in seconds).
    """
    target = Path(path)
    as_of = report.as_of.isoformat()
    with atomic_write(target) as tmp:
        with open(tmp, "w", encoding="utf-8", errors="replace", newline="") as fh:
            writer = csv.writer(fh, quoting=csv.QUOTE_MINIMAL)
            writer.writerow(CSV_COLUMNS)
            for result in report.results:
                if result.rows is None or not len(result.rows):
                    continue
                rows = result.rows
                n = len(rows)

                def col(key: str, kind: str = "text") -> list[str]:
                    if key not in rows.columns:
                        return [""] * n
                    return _format_column(rows[key].astype(object).where(rows[key].notna(), None).tolist(), kind)

                base = {k: col(k) for k in _BASE_KEYS}
                titles = [strip_nul(c.title) for c in result.evidence]
                ev_cols = [col(c.key, c.kind) for c in result.evidence]
                evidence = ["; ".join(f"{t}: {v}" for t, v in zip(titles, vals)) for vals in zip(*ev_cols)] if ev_cols else [""] * n
                rid, code, crit = strip_nul(str(result.rule_id)), strip_nul(str(result.code)), str(result.criticality)
                writer.writerows(
                    (rid, code, crit, d, u, t, o, st, r, p, sg, e, as_of)
                    for d, u, t, o, st, r, p, sg, e in zip(
                        base["deal_id"], base["deal_url"], base["title"], base["owner"], base["state"],
                        base["reason"], base["pipeline"], base["stage"], evidence,
                    )
                )
    return target
