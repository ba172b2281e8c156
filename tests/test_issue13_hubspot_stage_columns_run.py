"""Issue 13 (left item): a HubSpot export whose days in stage come from its one `Date entered "<stage> (<pipeline>)"`
column per stage — `inspect` and `init` said so; now `run` says it too: the terminal (in the CLI's language), the
workbook's FAQ («Проблемы в данных», as it notes the export's other data facts) and the sheets of rules 2.2 and 2.4.
Not said where «Date entered current stage» is read. Fixture: tests/fixtures/hubspot-stage-columns (see
tests/test_issue13_hubspot_stage_columns.py); init --from-export → run, no hand edit."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from test_issue13_hubspot_stage_columns import EXPORT, _edit, _init, _run

PATTERN = 'Date entered "<stage> (<pipeline>)"'
SHEET_NOTE = (f"Дни на этапе взяты из колонок выгрузки «{PATTERN}» (по колонке на этап, колонок: 11): у каждой сделки — "
              "дата из колонки её этапа и воронки, при пустой ячейке — дата создания сделки.")


@pytest.fixture(autouse=True)
def russian(monkeypatch):
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "ru")  # as the Russian-speaking analyst reads it


def _texts(book: Path) -> dict[str, str]:
    wb = openpyxl.load_workbook(book)
    return {ws.title: "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
            for ws in wb.worksheets}


def test_run_says_where_days_in_stage_come_from(tmp_path, capsys):
    work = tmp_path / "work"
    _init(work, EXPORT)
    code, out, _found = _run(work, EXPORT, capsys)
    assert code == 0
    for rule in ("2.2 Долго в Принял в работу", "2.4 Нет движения по этапам"):
        assert (f"hubspot-crm-exports-all-deals-2026-11-20.csv: {rule}: дни на этапе взяты из колонок выгрузки по одной "
                f"на этап ({PATTERN}, колонок: 11): у каждой сделки — дата из колонки её этапа и воронки, при пустой "
                "ячейке — дата создания сделки") in out
    assert out.count("дни на этапе взяты из колонок выгрузки") == 2  # rules on days in stage only
    sheets = _texts(work / "audit.xlsx")
    faq = sheets["FAQ"]
    assert "Дни на этапе по колонкам этапов" in faq  # the FAQ's label of the fact
    assert f"2.2 Долго в Принял в работу: дни на этапе взяты из колонок выгрузки по одной на этап ({PATTERN}" in faq
    assert f"2.4 Нет движения по этапам: дни на этапе взяты из колонок выгрузки по одной на этап ({PATTERN}" in faq
    on_sheets = {t for t, text in sheets.items() if SHEET_NOTE in text}
    # the rules' sheets, and the FAQ's notes of those two rules
    assert {t.split(" ")[0] for t in on_sheets} == {"2.2", "2.4", "FAQ"}
    assert faq.count(SHEET_NOTE) == 2


def test_in_english_on_the_terminal(tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    _init(work, EXPORT)
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "en")
    code, out, _found = _run(work, EXPORT, capsys)
    assert code == 0
    assert (f"2.4 no-stage-movement: days in stage are read from the export's one column per stage ({PATTERN}, "
            "columns: 11): each deal's date is the cell of its own stage's and pipeline's column, a blank cell counts "
            "from the creation date") in out
    # the workbook stays Russian
    assert "2.4 Нет движения по этапам: дни на этапе взяты из колонок выгрузки" in _texts(work / "audit.xlsx")["FAQ"]


def test_not_said_when_date_entered_current_stage_is_read(tmp_path, capsys):
    def add(head, rows):
        head.insert(7, "Date entered current stage")
        for r in rows:
            r.insert(7, "2026-11-19 10:00")

    export = _edit(tmp_path, add)
    work = tmp_path / "work"
    _init(work, export)
    code, out, _found = _run(work, export, capsys)
    assert code == 0
    assert "дни на этапе взяты из колонок" not in out
    assert not any("Дни на этапе взяты из колонок" in t or "дни на этапе взяты из колонок" in t
                   for t in _texts(work / "audit.xlsx").values())
