"""Pipedrive's won / lost dates (issue 13): a deals file without a «Status» column takes the status from «Won time» /
«Lost time» — with both columns, a deal neither date closes is open, as in the CRM (acceptance N1); a file with the
column reads the column first, the dates only where its cell is blank, and a blank cell neither date closes stays
without a status (warned); a deal both dates close is warned as contradictory; the dates are known in the interface
languages (Polish «Oferta - Data wygranej», acceptance N2)."""

from __future__ import annotations

import csv
from pathlib import Path

from crm_audit.engine import loading
from crm_audit.engine.profile import load_profile

HEAD = ["Deal - ID", "Deal - Title", "Deal - Owner", "Deal - Pipeline", "Deal - Stage"]


def _export(tmp_path: Path, headers: list[str], rows: list[list[str]]) -> Path:
    d = tmp_path / "export"
    d.mkdir()
    with open(d / "deals.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL)
        w.writerow(headers)
        w.writerows(rows)
    return d


def _statuses(export: Path) -> tuple[dict[str, str | None], list[str]]:
    ex = loading.load_export(export, load_profile("pipedrive"), "warn")
    try:
        rows = dict(ex.con.execute("SELECT id, status FROM deals ORDER BY _row").fetchall())
        return rows, [w.code for w in ex.warnings]
    finally:
        ex.close()
        ex.con.close()


def test_without_a_status_column_the_won_and_lost_dates_decide(tmp_path):
    rows = [["1", "A", "Anna", "Sales", "Won stage", "2026-10-01", ""],
            ["2", "B", "Anna", "Sales", "Lead", "", "2026-10-02"],
            ["3", "C", "Anna", "Sales", "Lead", "", ""],
            ["4", "D", "Anna", "Sales", "Lead", "2026-10-01", "2026-10-02"]]
    status, codes = _statuses(_export(tmp_path, HEAD + ["Deal - Won time", "Deal - Lost time"], rows))
    assert status == {"1": "won", "2": "lost", "3": "open", "4": "won"}
    assert "status-flags-contradict" in codes  # deal 4: won and lost dates both filled


def test_with_one_date_column_only_a_deal_it_does_not_close_has_no_status(tmp_path):
    rows = [["1", "A", "Anna", "Sales", "Won stage", "2026-10-01"], ["2", "B", "Anna", "Sales", "Lead", ""]]
    status, _codes = _statuses(_export(tmp_path, HEAD + ["Deal - Won time"], rows))
    assert status == {"1": "won", "2": None}  # unknown: the audit warns it by row, never guesses it open


def test_a_polish_export_without_status_reads_its_dates(tmp_path):
    head = ["Oferta - ID", "Oferta - Tytuł", "Oferta - Właściciel", "Oferta - Lejek", "Oferta - Etap",
            "Oferta - Data wygranej", "Oferta - Data przegranej"]
    rows = [["1", "A", "Anna", "Sprzedaż", "Nowy", "2026-10-01", ""], ["2", "B", "Anna", "Sprzedaż", "Nowy", "", ""],
            ["3", "C", "Anna", "Sprzedaż", "Nowy", "", "2026-10-03"]]
    status, _codes = _statuses(_export(tmp_path, head, rows))
    assert status == {"1": "won", "2": "open", "3": "lost"}


def test_a_status_column_is_read_first_and_the_dates_only_fill_its_blanks(tmp_path):
    rows = [["1", "A", "Anna", "Sales", "Lead", "Open", "2026-10-01", ""],
            ["2", "B", "Anna", "Sales", "Lead", "", "2026-10-01", ""],
            ["3", "C", "Anna", "Sales", "Lead", "Lost", "", "2026-10-02"],
            ["4", "D", "Anna", "Sales", "Lead", "Won", "", ""],
            ["5", "E", "Anna", "Sales", "Lead", "", "", ""]]
    status, _codes = _statuses(_export(tmp_path, HEAD + ["Deal - Status", "Deal - Won time", "Deal - Lost time"], rows))
    assert status == {"1": "open", "2": "won", "3": "lost", "4": "won", "5": None}


def test_an_export_without_the_dates_reads_its_status_column_as_before(tmp_path):
    rows = [["1", "A", "Anna", "Sales", "Lead", "Open"], ["2", "B", "Anna", "Sales", "Lead", "Lost"]]
    status, _codes = _statuses(_export(tmp_path, HEAD + ["Deal - Status"], rows))
    assert status == {"1": "open", "2": "lost"}
