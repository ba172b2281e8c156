"""The analyst's run with --gsheet: read back from the Sheet first, publish, carry over."""

from __future__ import annotations

import datetime as dt

import pytest

from crm_audit.cycle.request import AuditRequest
from crm_audit.cycle.run import run_cycle
from crm_audit.errors import OutputError
from crm_audit.initfile import render_settings
from crm_audit.history.ledger import Ledger
from fake_sheets.server import FakeSheets
from test_workflow import D1, D2, build, scenario_deals

KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd"
QUICK = None  # the default retry policy; tests that inject faults pass a quick one


@pytest.fixture
def fake():
    with FakeSheets() as server:
        server.create(KEY)
        yield server
        assert server.errors == [], server.errors[:3]


def _cfg(tmp_path):
    cfg = tmp_path / "crm-audit.yaml"
    cfg.write_text(render_settings("pipedrive").replace("  xlsx: audit.xlsx\n", "  xlsx: null\n").replace(
        "  violations_csv: violations.csv\n", "  violations_csv: null\n"), encoding="utf-8")
    return cfg


def _rows(fake, prefix):
    book = fake.book(KEY)
    title = next(t for t in book.titles() if t.startswith(prefix + " "))
    grid = book.sheet(title).grid()
    header = grid[0]
    return {str(r[header.index("ID сделки")]): dict(zip(header, r)) for r in grid[1:] if r and r[header.index("ID сделки")] not in ("", None)}, header, book.sheet(title)


def run_audit(config, export, as_of, out, violations_csv, quiet=True, **kw):
    """The library's audit cycle (what `crm-audit run` calls)."""
    return run_cycle(AuditRequest(config, export, as_of, out, violations_csv, **kw))


def test_publish_read_back_and_carry_over(tmp_path, fake):
    cfg = _cfg(tmp_path)
    e1 = build(tmp_path / "e1", scenario_deals(), no_task={"1"})
    run_audit(str(cfg), str(e1), dt.date.fromisoformat(D1), None, None, quiet=True,
              gsheet=KEY, gsheet_client=fake.client(), gsheet_retry=QUICK)
    rows, header, sheet = _rows(fake, "1.8")
    assert set(rows) == {"2", "4", "6", "7", "9"} and rows["4"]["Статус"] == "Не обработано"

    # a manager edits the Sheet (rows are found by header, not position)
    grid = sheet.grid()
    r = next(i for i, row in enumerate(grid) if str(row[header.index("ID сделки")]) == "4")
    from openpyxl.utils import get_column_letter

    sheet.set(f"{get_column_letter(header.index('Статус') + 1)}{r + 1}", "Не исправлено")
    sheet.set(f"{get_column_letter(header.index('Комментарий') + 1)}{r + 1}", "Источник неизвестен")

    # a dry run reads and diffs but writes nothing
    before = fake.request_count
    run_audit(str(cfg), str(e1), dt.date.fromisoformat(D2), None, None, quiet=True,
              gsheet=KEY, gsheet_client=fake.client(), dry_run=True, gsheet_retry=QUICK)
    writes = [e for e in fake.log[before:] if e["method"] != "GET" and not e["path"].endswith(":batchGet")]
    assert writes == [], writes
    rows, _, _ = _rows(fake, "1.8")
    assert rows["4"]["Аудитов подряд"] in (1, "1")

    run_audit(str(cfg), str(e1), dt.date.fromisoformat(D2), None, None, quiet=True,
              gsheet=KEY, gsheet_client=fake.client(), gsheet_retry=QUICK)
    rows, _, _ = _rows(fake, "1.8")
    assert rows["4"]["Статус"] == "Не исправлено" and rows["4"]["Комментарий"] == "Источник неизвестен"
    assert rows["4"]["Аудитов подряд"] in (2, "2")
    with Ledger(tmp_path / "crm-audit.db") as led:
        assert [a["as_of"] for a in led.audits()] == [D1, D2]


def test_failed_read_back_writes_nothing(tmp_path, fake):
    cfg = _cfg(tmp_path)
    e1 = build(tmp_path / "e1", scenario_deals(), no_task={"1"})
    for i in range(1, 40):  # every request fails: the read-back cannot complete
        fake.inject(i, kind="status", status=500)
    from exporters.gsheet import RetryPolicy

    quick = RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0, sleep=lambda s: None)
    with pytest.raises(OutputError):
        run_audit(str(cfg), str(e1), dt.date.fromisoformat(D1), str(tmp_path / "a.xlsx"), None,
                  quiet=True, gsheet=KEY, gsheet_client=fake.client(), gsheet_retry=quick)
    assert not (tmp_path / "a.xlsx").exists()
    with Ledger(tmp_path / "crm-audit.db") as led:
        assert led.audits() == []


def test_switching_from_xlsx_to_a_google_sheet_and_back_loses_nothing(tmp_path, fake, monkeypatch):
    """Audit 1 in a workbook, audit 2 published to a Google Sheet, audit 3 in a workbook again (from another folder)."""
    from openpyxl.utils import get_column_letter

    from test_workflow import edit_workbook, sheet_rows

    cfg = _cfg(tmp_path)
    e1 = build(tmp_path / "e1", scenario_deals(), no_task={"1"})
    first = tmp_path / "audit-1.xlsx"
    run_audit(cfg, e1, dt.date.fromisoformat(D1), first, None)
    edit_workbook(first, {("1.8", "4"): {"Статус": "Не исправлено", "Комментарий": "Источник неизвестен"}})
    res = run_audit(cfg, e1, dt.date.fromisoformat(D2), None, None, gsheet=KEY, gsheet_client=fake.client())
    assert [(rb.name.rsplit("/", 1)[-1], rb.role) for rb in res.read_back] == [(KEY, "gsheet"), ("audit-1.xlsx", "previous")]
    rows, header, sheet = _rows(fake, "1.8")
    assert rows["4"]["Статус"] == "Не исправлено" and rows["4"]["Комментарий"] == "Источник неизвестен"
    # a manager answers in the Sheet
    r = next(i for i, row in enumerate(sheet.grid()) if str(row[header.index("ID сделки")]) == "6")
    sheet.set(f"{get_column_letter(header.index('Статус') + 1)}{r + 1}", "Не исправлено")
    sheet.set(f"{get_column_letter(header.index('Комментарий') + 1)}{r + 1}", "клиент в отпуске")
    # the next audit in a workbook, started from another folder: the Sheet is the previous audit's document
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    res = run_audit(cfg, e1, dt.date(2026, 12, 4), tmp_path / "audit-3.xlsx", None, gsheet_client=fake.client())
    assert [(rb.kind, rb.role) for rb in res.read_back] == [("gsheet", "previous")]
    r18 = sheet_rows(tmp_path / "audit-3.xlsx", "1.8")
    assert r18["6"]["Комментарий"] == "клиент в отпуске" and r18["4"]["Комментарий"] == "Источник неизвестен"
