"""The violations CSV is written one rule at a time, each rule's rows in their own order (issue 17).

The DuckDB writer streams each rule's Arrow rows to a part file (no sort, a bounded connection) and appends it
after the header; these tests pin the order of many rows, the rules' order, rules without rows, and the copy's
user-space fallback, against the ``csv`` module writer's fields.
"""

from __future__ import annotations

import csv
import datetime as dt
import os

import numpy as np
import pandas as pd

import exporters.csv as csv_writer
from crm_audit.report import AuditReport, Column, RuleResult
from exporters.csv import CSV_COLUMNS, write_violations_csv


def _rule(rule_id: str, code: str, ids: np.ndarray, seed: int) -> RuleResult:
    rng = np.random.default_rng(seed)
    n = len(ids)
    owners = np.array(["Анна Петрова", "Борис", 'ООО "Ромашка", отдел', "строка 1\nстрока 2", ""])
    rows = pd.DataFrame({
        "deal_url": [f"https://demo.pipedrive.com/deal/{i}" for i in ids],
        "deal_id": ids.astype(str),
        "title": [f"Сделка {i}" for i in ids],
        "owner": owners[rng.integers(0, len(owners), n)],
        "state": "Открыта", "reason": None, "pipeline": "Клиенты", "stage": "Квалификация",
        "ev0": rng.integers(0, 400, n),
        "ev1": [dt.date(2026, 1, 1) + dt.timedelta(days=int(d)) if d % 7 else None for d in rng.integers(0, 300, n)],
    })
    evidence = [Column("ev0", "Дней на этапе", "int"), Column("ev1", "Последнее изменение", "date")]
    return RuleResult(rule_id, code, f"Правило {code}", 2, f"{code} Правило", evidence, rows)


def _report(results: list[RuleResult]) -> AuditReport:
    return AuditReport(as_of=dt.date(2026, 11, 20), generated_at=dt.datetime(2026, 11, 20, 9, 0),
                       due_date=dt.date(2026, 11, 27), results=results)


def _read(path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_many_rows_keep_their_order_rule_by_rule(tmp_path):
    """300,000 rows (several slices and DuckDB row groups, both threads) come out in the frame's order, rule by rule."""
    rng = np.random.default_rng(17)
    big = _rule("big-rule", "2.4", rng.permutation(300_000) + 1, 1)
    empty = _rule("empty-rule", "1.2", np.array([], dtype=int), 2)
    small = _rule("small-rule", "1.1", np.array([5, 3, 9]), 3)
    report = _report([big, empty, small])
    path = write_violations_csv(report, tmp_path / "v.csv")
    rows = _read(path)
    assert rows[0] == list(CSV_COLUMNS)
    assert [r[0] for r in rows[1:]] == ["big-rule"] * 300_000 + ["small-rule"] * 3
    assert [r[3] for r in rows[1:]] == big.rows["deal_id"].tolist() + ["5", "3", "9"]
    first = big.rows.iloc[0]
    assert rows[1][6] == first["owner"]
    day = first["ev1"].isoformat() if first["ev1"] else ""
    assert rows[1][11] == f"Дней на этапе: {first['ev0']}; Последнее изменение: {day}"
    assert sorted(os.listdir(tmp_path)) == ["v.csv"]  # no part file left behind


def test_slices_of_a_rule_join_up_in_order(tmp_path, monkeypatch):
    """A rule copied in slices (here 7 rows each) gives the bytes of one copy per rule."""
    report = _report([_rule("a", "1.1", np.arange(100, 0, -1), 8), _rule("b", "2.1", np.arange(1, 14), 9)])
    whole = write_violations_csv(report, tmp_path / "whole.csv").read_bytes()
    monkeypatch.setattr(csv_writer, "CSV_CHUNK_ROWS", 7)
    assert write_violations_csv(report, tmp_path / "sliced.csv").read_bytes() == whole
    assert [r[3] for r in _read(tmp_path / "sliced.csv")[1:]] == [str(i) for i in range(100, 0, -1)] + [str(i) for i in range(1, 14)]


def test_streamed_fields_equal_the_csv_module_writer(tmp_path):
    report = _report([_rule("a", "1.1", np.arange(1, 2001), 4), _rule("b", "2.1", np.arange(5000, 3000, -1), 5)])
    fast, slow = tmp_path / "fast.csv", tmp_path / "slow.csv"
    assert csv_writer._write_with_duckdb(report, fast)
    csv_writer._write_with_csv_module(report, slow)
    assert _read(fast) == _read(slow)
    assert fast.read_bytes().startswith((",".join(CSV_COLUMNS) + "\n").encode())


def test_user_space_copy_gives_the_same_bytes(tmp_path, monkeypatch):
    """Where the kernel cannot copy between files (copy_file_range fails), the parts are copied by Python."""
    report = _report([_rule("a", "1.1", np.arange(1, 30_001), 6), _rule("b", "2.1", np.arange(9, 0, -1), 7)])
    kernel = write_violations_csv(report, tmp_path / "kernel.csv").read_bytes()

    def unsupported(*args, **kwargs):
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "copy_file_range", unsupported, raising=False)
    assert write_violations_csv(report, tmp_path / "user.csv").read_bytes() == kernel


def test_a_frame_without_any_csv_column_keeps_its_row_count(tmp_path):
    rule = RuleResult("odd", "9.9", "Странное", 1, "9.9 Странное", [], pd.DataFrame({"other": [1, 2, 3]}))
    rows = _read(write_violations_csv(_report([rule]), tmp_path / "v.csv"))
    # no owner column: the deal is nobody's, «(без ответственного)» as on the hit sheet (acceptance L14)
    assert len(rows) == 4 and rows[1][:3] == ["odd", "9.9", "1"] and rows[1][3:12] == ["", "", "", "(без ответственного)"] + [""] * 5
