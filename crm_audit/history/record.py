"""Record an audit in the ledger: the report's rows as one table of findings (column-wise)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_audit.history.carry import CarryResult
from crm_audit.history.changes import rules_ran
from crm_audit.history.findings_store import SCHEMA, empty_table
from crm_audit.history.ledger import Ledger
from crm_audit.report import FINGERPRINT_COLUMN, STATUS_NEW, AuditReport, Column

_FROM_ROWS = {"deal_id": "deal_id", "owner": "owner", "title": "title", "fingerprint": FINGERPRINT_COLUMN,
              "status": "status", "comment": "comment", "note": "carry_note"}


def _one_array(arr) -> pa.Array:
    """``pa.array`` of a pandas column backed by several Arrow chunks (a large DuckDB result) is a ChunkedArray: one Array."""
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _text(rows: pd.DataFrame, key: str) -> pa.Array:
    if key not in rows.columns:
        return pa.nulls(len(rows), pa.string())
    col = rows[key]
    if not isinstance(col.dtype, pd.StringDtype):
        values = col.to_numpy(dtype=object)
        try:  # text and missing values (carry-over's status, comment, note): converted by Arrow in one call
            return pa.array(values, type=pa.string(), from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid):  # other values: str() one by one
            col = col.astype(object).where(col.notna(), None).map(lambda v: v if v is None or type(v) is str else str(v))
    return _one_array(pa.array(col, type=pa.string(), from_pandas=True))


def _evidence_text(rows: pd.DataFrame, column: Column) -> pa.Array:
    """One evidence column as text, column-wise: dates ISO, numbers without a trailing ``.0``, missing values NULL."""
    if column.key not in rows.columns:
        return pa.nulls(len(rows), pa.string())
    try:
        arr = _one_array(pa.array(rows[column.key], from_pandas=True))
        if pa.types.is_timestamp(arr.type):
            arr = pc.cast(arr, pa.date32()) if column.kind == "date" else pc.strftime(arr, "%Y-%m-%d %H:%M")
        return pc.cast(arr, pa.string())
    except (pa.ArrowException, TypeError, ValueError):  # mixed values: one by one
        return _text(rows, column.key)


def _evidence(rows: pd.DataFrame, evidence: list[Column]) -> pa.Array:
    """Per row ``[title, value, title, value, …]`` over the rule's evidence columns (built column-wise with one take)."""
    n, k = len(rows), len(evidence)
    if not k:
        return pa.nulls(n, pa.list_(pa.string()))
    pool = pa.concat_arrays([pa.array([c.title for c in evidence], type=pa.string())]
                           + [_evidence_text(rows, c).cast(pa.string()) for c in evidence])
    idx = np.empty((n, 2 * k), dtype=np.int64)
    for j in range(k):
        idx[:, 2 * j] = j
        idx[:, 2 * j + 1] = k + j * n + np.arange(n)
    values = pc.take(pool, pa.array(idx.ravel()))
    return pa.ListArray.from_arrays(pa.array(np.arange(0, n * 2 * k + 1, 2 * k, dtype=np.int32)), values)


def findings_table(report: AuditReport, carry: CarryResult) -> pa.Table:
    """Every finding of the report as the ledger stores it (see :data:`crm_audit.history.findings_store.SCHEMA`)."""
    repeats = set(carry.repeats)
    parts = []
    for result in sorted(report.results, key=lambda r: r.rule_id):
        rows = result.rows
        if rows is None or not len(rows):
            continue
        n = len(rows)
        cols = {name: _text(rows, key) for name, key in _FROM_ROWS.items()}
        # «Не обработано» is the default: stored as NULL
        status = cols["status"]
        cols["status"] = pc.if_else(pc.equal(status, STATUS_NEW), pa.scalar(None, pa.string()), status)
        streak = rows["streak"].fillna(1).astype("int32") if "streak" in rows.columns else pd.Series(np.ones(n, dtype="int32"))
        first = pd.to_datetime(rows["first_seen"]).dt.date if "first_seen" in rows.columns else pd.Series([report.as_of] * n)
        rule_repeats = {d for r, d in repeats if r == result.rule_id}
        repeat = (pd.Series(cols["deal_id"].to_pandas(), dtype=object).isin(rule_repeats).astype("int8").where(lambda s: s > 0, None)
                  if rule_repeats else pa.nulls(n, pa.int8()))
        parts.append(pa.table({
            "rule_id": pa.array([result.rule_id] * n, type=pa.string()), "deal_id": cols["deal_id"], "owner": cols["owner"],
            "title": cols["title"], "streak": pa.array(streak, type=pa.int32()), "first_seen": pa.array(first, type=pa.date32()),
            "fingerprint": cols["fingerprint"], "status": cols["status"], "comment": cols["comment"], "note": cols["note"],
            "repeat": repeat if isinstance(repeat, pa.Array) else pa.array(repeat, type=pa.int8(), from_pandas=True),
            "evidence": _evidence(rows, result.evidence),
        }, schema=SCHEMA))
    return pa.concat_tables(parts) if parts else empty_table()


def record(report: AuditReport, ledger: Ledger, carry: CarryResult, documents: list[tuple[str, str]] = (),
           write_id: int | None = None, findings_file: str | None = None) -> int:
    """Store the audit, its findings and the waivers that ended; returns the audit id.

    ``documents``: (location, kind) of what this run wrote, the team's document
    first; ``findings_file``: the findings already written (:meth:`Ledger.prepare_findings`). Idempotent per as-of:
    re-running an audit replaces its findings.
    """
    return ledger.record_audit(
        as_of=report.as_of, source=report.source, input_fingerprints=report.input_fingerprints, deal_count=report.deal_count,
        violation_count=report.total, documents=list(documents), findings=findings_file or findings_table(report, carry),
        ended_waivers=carry.ended_waivers, write_id=write_id, rules_ran=rules_ran(report))
