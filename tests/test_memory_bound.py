"""The audit's DuckDB connection is bounded in memory and spills into the run's temporary folder (issue 17: 1M deals
in ≤ 2 GB peak RSS); the bound can be raised through the environment, a malformed value never fails an audit, and it is
never below twice the largest export file (DuckDB reads a CSV into one block as large as the file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile

DEMO = Path(__file__).resolve().parent.parent / "crm_audit" / "demo_data" / "pipedrive"


def _limit_mib(ex) -> float:
    text = ex.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # e.g. '953.6 MiB'
    value, unit = text.split()
    return float(value) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[unit]


@pytest.mark.parametrize("env, mib", [(None, 953.6), ("4GB", 3814.6), ("много", 953.6), ("12", 953.6), ("1MB", 256)])
def test_duckdb_memory_is_bounded(monkeypatch, env, mib):
    if env is None:
        monkeypatch.delenv("CRM_AUDIT_DUCKDB_MEMORY", raising=False)
    else:
        monkeypatch.setenv("CRM_AUDIT_DUCKDB_MEMORY", env)
    ex = load_export(DEMO, load_profile("pipedrive"))
    try:
        assert _limit_mib(ex) == pytest.approx(mib, rel=0.02)  # DuckDB reports 4GB as «3.7 GiB»
        spill = ex.con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
        assert Path(spill).name.startswith("crm-audit-")  # the run's own temporary folder, removed with it
        assert ex.con.execute("SELECT count(*) FROM deals").fetchone()[0] == 300
    finally:
        ex.close()


def test_the_bound_leaves_room_for_the_largest_file(tmp_path, monkeypatch):
    from crm_audit.engine import loading

    big = tmp_path / "deals.csv"
    big.write_bytes(b"x" * 1000)
    monkeypatch.setattr(loading, "_FLOOR", 0)
    monkeypatch.setenv("CRM_AUDIT_DUCKDB_MEMORY", "1KB")
    assert loading.memory_limit([big]) == 2000
    monkeypatch.setenv("CRM_AUDIT_DUCKDB_MEMORY", "3KiB")
    assert loading.memory_limit([big]) == 3072
