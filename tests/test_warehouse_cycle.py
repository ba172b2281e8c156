"""The whole cycle on a warehouse (issue 15 point 3): Google Sheet, read-back, carry-over, waivers, review.

Two biweekly audits of the demo's data laid out as Fivetran's Pipedrive connector lays it out
(``engine_targets.fivetran_pipedrive_tables``, a DuckDB file), published to a (fake) Google Sheet; between them
a manager writes a status and a comment in the Sheet and the head of sales accepts a finding. The second
audit reads the Sheet back first, carries the status and the comment over, leaves the accepted finding out,
and the review shows the audits — as an export run does.
"""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from openpyxl.utils import get_column_letter

from crm_audit.cycle.request import AuditRequest
from crm_audit.cycle.run import run_cycle
from engine_targets import duckdb_warehouse, fivetran_pipedrive_tables
from fake_sheets.server import FakeSheets
from test_warehouse_run import DEMO, crm_audit

KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-wh01"
D1, D2 = dt.date(2026, 11, 20), dt.date(2026, 12, 4)


@pytest.fixture
def fake():
    with FakeSheets() as server:
        server.create(KEY)
        yield server
        assert server.errors == [], server.errors[:3]


@pytest.fixture
def team(tmp_path):
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import load_profile

    export = load_export(DEMO / "pipedrive", load_profile("pipedrive"))
    try:
        db = duckdb_warehouse(fivetran_pipedrive_tables(export), tmp_path / "warehouse.duckdb")
    finally:
        export.close()
        export.con.close()
    shutil.copy(DEMO / "crm-audit.yaml", tmp_path / "crm-audit.yaml")
    with (tmp_path / "crm-audit.yaml").open("a", encoding="utf-8") as f:
        f.write(f"\nengine:\n  url: duckdb:///{db}\n  profile: fivetran_pipedrive\n  schema: pipedrive\n")
    return tmp_path


def sheet_rows(fake, prefix):
    """The rule sheet's rows by deal id, with their row index; its header and the sheet."""
    sheet = next(fake.book(KEY).sheet(t) for t in fake.book(KEY).titles() if t.startswith(prefix + " "))
    header, *body = sheet.grid()
    col = header.index("ID сделки")
    return {str(r[col]): (i, dict(zip(header, r))) for i, r in enumerate(body, 1) if r and r[col]}, header, sheet


def test_two_warehouse_audits_carry_the_managers_work_over(team, fake):
    cfg = str(team / "crm-audit.yaml")
    first = run_cycle(AuditRequest(cfg, "", D1, team / "audit-1.xlsx", None, gsheet=KEY, gsheet_client=fake.client()))
    assert first.recorded and first.report.total == 329
    rows, header, sheet = sheet_rows(fake, "1.8")
    assert len(rows) == 20
    kept, accepted = sorted(rows)[:2]
    i, _row = rows[kept]
    sheet.set(f"{get_column_letter(header.index('Статус') + 1)}{i + 1}", "Не исправлено")
    sheet.set(f"{get_column_letter(header.index('Комментарий') + 1)}{i + 1}", "Клиент не назвал источник")
    res = crm_audit("accept", "1.8", accepted, "--note", "партнёрская сделка", cwd=team)
    assert res.returncode == 0, res.stderr

    second = run_cycle(AuditRequest(cfg, "", D2, team / "audit-2.xlsx", None, gsheet=KEY, gsheet_client=fake.client()))
    assert second.recorded
    assert any(rb.kind == "gsheet" for rb in second.read_back)
    rows, _header, _sheet = sheet_rows(fake, "1.8")
    assert accepted not in rows and len(rows) == 19
    assert rows[kept][1]["Статус"] == "Не исправлено" and rows[kept][1]["Комментарий"] == "Клиент не назвал источник"
    assert rows[kept][1]["Аудитов подряд"] in (2, "2")
    review = crm_audit("review", "--no-pull", "--today", "2026-12-05", cwd=team)
    assert review.returncode == 0, review.stderr
    assert "04.12.2026" in review.stdout
