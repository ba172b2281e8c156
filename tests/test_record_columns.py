"""The ledger's findings table from report rows as a large DuckDB result gives them (issue 17).

A rule query of a million rows comes back from DuckDB as several Arrow
chunks, so the report's text columns are pandas columns over a *chunked*
Arrow array; carry-over adds its status, comment and note as plain Python
values. Both must reach the findings table value for value.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa

from crm_audit.history.carry import CarryResult
from crm_audit.history.ledger import Ledger
from crm_audit.history.record import findings_table, record
from crm_audit.report import STATUS_FIXED, STATUS_NEW, AuditReport, Column, RuleResult


def _chunked_rows() -> pd.DataFrame:
    table = pa.Table.from_batches([
        pa.record_batch({"deal_id": ["1", "2"], "owner": ["Иван Петров", None], "title": ["Сайт", "Тест"],
                         "ev0": ["Нет", None], "_fingerprint": ["a" * 16, "b" * 16]}),
        pa.record_batch({"deal_id": ["3"], "owner": ["Мария Кузнецова"], "title": ["=1+2"],
                         "ev0": ["Да"], "_fingerprint": ["c" * 16]}),
    ])
    rows = table.to_pandas()
    assert pa.array(rows["deal_id"], from_pandas=True).__class__ is pa.ChunkedArray  # the case under test
    # what carry-over adds: Python values, one per row
    rows["status"] = [STATUS_NEW, STATUS_FIXED, None]
    rows["comment"] = [None, "звонил, перезвонит", None]
    rows["carry_note"] = [None, None, "Отмечено «Исправлено» в аудите от 06.11.2026, но нарушение осталось"]
    rows["streak"] = [1, 2, 3]
    rows["first_seen"] = [dt.date(2026, 11, 20), dt.date(2026, 11, 6), dt.date(2026, 10, 23)]
    return rows


def _report(rows: pd.DataFrame) -> AuditReport:
    result = RuleResult(rule_id="missing-source", code="1.8", title="Нет источника", criticality=1,
                        sheet_title="1.8 Нет источника", evidence=[Column("ev0", "Источник сделки")], rows=rows)
    return AuditReport(as_of=dt.date(2026, 11, 20), generated_at=dt.datetime(2026, 11, 20, 9), due_date=dt.date(2026, 11, 27),
                       results=[result], deal_count=3, source="export")


def test_findings_table_from_chunked_columns_and_python_values():
    table = findings_table(_report(_chunked_rows()), CarryResult(repeats=[("missing-source", "3")]))
    assert table.column("deal_id").to_pylist() == ["1", "2", "3"]
    assert table.column("owner").to_pylist() == ["Иван Петров", None, "Мария Кузнецова"]
    assert table.column("title").to_pylist() == ["Сайт", "Тест", "=1+2"]
    assert table.column("status").to_pylist() == [None, STATUS_FIXED, None]  # «Не обработано» is stored as NULL
    assert table.column("comment").to_pylist() == [None, "звонил, перезвонит", None]
    assert table.column("note").to_pylist()[2].startswith("Отмечено «Исправлено»")
    assert table.column("streak").to_pylist() == [1, 2, 3]
    assert table.column("first_seen").to_pylist() == [dt.date(2026, 11, 20), dt.date(2026, 11, 6), dt.date(2026, 10, 23)]
    assert table.column("repeat").to_pylist() == [None, None, 1]
    assert table.column("evidence").to_pylist() == [["Источник сделки", "Нет"], ["Источник сделки", None],
                                                    ["Источник сделки", "Да"]]


def test_non_text_values_in_a_text_column_are_stored_as_text():
    rows = _chunked_rows()
    rows["comment"] = pd.Series([None, 42, "ок"], dtype=object)  # a hand-typed number carried over from a document
    table = findings_table(_report(rows), CarryResult())
    assert table.column("comment").to_pylist() == [None, "42", "ок"]


def test_recorded_and_read_back(tmp_path):
    report = _report(_chunked_rows())
    with Ledger(tmp_path / "crm-audit.db") as ledger:
        audit_id = record(report, ledger, CarryResult())
        streaks = ledger.streaks_in(audit_id)
        shown = ledger.shown_in(audit_id)
    assert sorted(streaks["missing-source"].index) == ["1", "2", "3"]
    assert streaks["missing-source"].loc["3", "streak"] == 3
    assert shown[("missing-source", "2")] == (STATUS_FIXED, "звонил, перезвонит")
    assert shown[("missing-source", "1")] == (None, None)
