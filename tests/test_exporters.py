"""The writers in ``exporters/``: workbook layout, cell safety, CSV, atomic writes."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import exporters.csv as csv_writer
import exporters.xlsx as xlsx_writer
from crm_audit.report import BASE_COLUMNS, STATUSES, AuditReport, Column, RuleResult
from exporters.csv import CSV_COLUMNS, write_violations_csv
from exporters.safe import (
    XLSX_MAX_CELL_CHARS,
    atomic_write,
    clean_text,
    looks_like_formula,
    plain_value,
    strip_nul,
    xlsx_text,
)
from exporters.xlsx import rule_sheet_headers, write_workbook

AS_OF = dt.date(2026, 11, 20)
DUE = dt.date(2026, 11, 23)
URL = "https://example.pipedrive.com/deal/{}"

EVIDENCE = [
    Column("days_in_stage", "Дней на этапе", "int"),
    Column("last_stage_change", "Последняя смена этапа", "date"),
    Column("amount", "Сумма", "number"),
    Column("phone", "Телефон", "text"),
]
BASE_KEYS = [c.key for c in BASE_COLUMNS]


def _base(deal_id, title, owner, *, reason=None, url=None):
    return {
        "deal_url": url or URL.format(deal_id),
        "deal_id": str(deal_id),
        "title": title,
        "owner": owner,
        "state": "Открыта",
        "reason": reason,
        "pipeline": "Клиенты",
        "stage": "Квалификация",
    }


def make_report() -> AuditReport:
    rows = pd.DataFrame(
        [
            {
                **_base(101, "=SUM(A1)", "Анна"),
                "days_in_stage": 20,
                "last_stage_change": dt.date(2026, 10, 31),
                "amount": 1500.0,
                "phone": "+7 999 123-45-67",
            },
            {
                **_base(102, "@user", "Борис"),
                "days_in_stage": np.int64(15),
                "last_stage_change": pd.Timestamp("2026-11-05 13:45:00"),
                "amount": np.nan,
                "phone": "-5",
            },
            {
                **_base(103, "Бел\x07ка\x00", "Анна", reason="Сайт в разработке"),
                "days_in_stage": 30,
                "last_stage_change": pd.NaT,
                "amount": 2500.5,
                "phone": "строка 1\nстрока 2",
            },
            {
                **_base(104, "  Пробелы  ", "Борис", url="https://example.pipedrive.com/deal/104?a=1&b=<2>"),
                "days_in_stage": 16,
                "last_stage_change": dt.date(2026, 11, 4),
                "amount": 0,
                "phone": "#N/A",
            },
        ],
        columns=[*BASE_KEYS, *(c.key for c in EVIDENCE)],
    )
    moving = RuleResult(
        rule_id="no-stage-movement",
        code="2.4",
        title="Нет движения по этапам",
        criticality=2,
        sheet_title="2.4 Нет движения",
        evidence=EVIDENCE,
        rows=rows,
        what="Сделка больше 14 дней на одном этапе.",
        why="Зависшие сделки искажают прогноз.",
        how="- откройте сделку\n= передвиньте этап или закройте",
        scope_text="открытые сделки вне тестового периода",
    )
    no_tasks = RuleResult(
        rule_id="open-deal-without-tasks",
        code="1.1",
        title="Открытые сделки без задач",
        criticality=1,
        sheet_title="1.1 Нет задач",
        evidence=[],
        rows=pd.DataFrame(columns=BASE_KEYS),
        what="У открытой сделки нет задачи.",
        why="Без задачи сделку забывают.",
        how="Поставьте задачу.",
    )
    budget_rows = pd.DataFrame(
        [{**_base(105, "Сделка с бюджетом", "Борис"), "traffic": "10000", "budget": None}],
        columns=[*BASE_KEYS, "traffic", "budget"],
    )
    budget = RuleResult(
        rule_id="missing-traffic-or-budget",
        code="1.4",
        title="Нет посещаемости или бюджета",
        criticality=1,
        sheet_title="1.4 Нет посещаемости",
        evidence=[Column("traffic", "Посещаемость"), Column("budget", "Бюджет")],
        rows=budget_rows,
        what="Пусто поле «Посещаемость» или «Бюджет».",
        why="Без них не посчитать потенциал.",
        how="Заполните поля.",
        note="Поле «Бюджет» есть не во всех выгрузках.",
    )
    return AuditReport(
        as_of=AS_OF,
        generated_at=dt.datetime(2026, 11, 20, 9, 30),
        due_date=DUE,
        results=[moving, no_tasks, budget],
        deal_count=42,
        source="export/",
        crm="pipedrive",
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    report = make_report()
    xlsx = write_workbook(report, out / "audit.xlsx")
    csv_path = write_violations_csv(report, out / "violations.csv")
    return report, xlsx, csv_path


@pytest.fixture(scope="module")
def wb(written):
    return openpyxl.load_workbook(written[1])


def _values(ws, row):
    return [c.value for c in ws[row]]


def _status_col(report_result):
    return len(BASE_COLUMNS) + len(report_result.evidence) + 1


# -------------------------------------------------------------------- layout


def test_sheet_titles_and_order(wb, written):
    report = written[0]
    assert wb.sheetnames == ["FAQ", "2.4 Нет движения", "1.1 Нет задач", "1.4 Нет посещаемости", "Учет попаданий"]
    assert len(wb.sheetnames) == 1 + len(report.results) + 1


def test_rule_sheet_header_and_rows(wb, written):
    report = written[0]
    ws = wb["2.4 Нет движения"]
    header = _values(ws, 1)
    assert header == [
        "Ссылка на сделку",
        "ID сделки",
        "Название сделки",
        "Ответственный",
        "Состояние",
        "Причина проигрыша / выигрыша",
        "Воронка",
        "Этап",
        "Дней на этапе",
        "Последняя смена этапа",
        "Сумма",
        "Телефон",
        "Статус",
        "Комментарий",
        "Срок исправления",
        "Впервые в аудите",
        "Аудитов подряд",
        "Примечание",
        "Решение",
        "Комментарий руководителя",
        "ID правила",
    ]
    assert header == rule_sheet_headers(report.results[0])
    assert ws.max_row == 1 + 4
    assert all(c.font.b and c.font.name == "Calibri" for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:U5"

    row = dict(zip(header, _values(ws, 2)))
    assert row["ID сделки"] == "101"
    assert row["Название сделки"] == "=SUM(A1)"
    assert row["Ответственный"] == "Анна"
    assert row["Причина проигрыша / выигрыша"] is None
    assert row["Дней на этапе"] == 20
    assert row["Последняя смена этапа"] == dt.datetime(2026, 10, 31)
    assert row["Сумма"] == 1500
    assert row["Телефон"] == "+7 999 123-45-67"
    assert row["Статус"] == "Не обработано"
    assert row["Комментарий"] is None
    assert row["Срок исправления"] == dt.datetime(2026, 11, 23)
    assert row["ID правила"] == "no-stage-movement"

    assert ws["J2"].number_format == "DD.MM.YYYY"
    assert ws["O2"].number_format == "DD.MM.YYYY"
    assert ws["I2"].data_type == "n" and ws["K2"].data_type == "n"
    # a datetime evidence value keeps its date only; NaT and NaN are empty
    assert ws["J3"].value == dt.datetime(2026, 11, 5)
    assert ws["J4"].value is None and ws["K3"].value is None
    assert ws["K4"].value == 2500.5
    # text that looks like a formula, a number or an error stays text
    assert ws["C3"].value == "@user" and ws["C3"].data_type == "s"
    assert ws["L3"].value == "-5" and ws["L3"].data_type == "s"
    assert ws["L5"].value == "#N/A" and ws["L5"].data_type == "s"
    assert ws["C2"].data_type == "s" and ws["C2"].quotePrefix
    # XML-illegal control characters are stripped, line breaks and spaces kept
    assert ws["C4"].value == "Белка"
    assert ws["L4"].value == "строка 1\nстрока 2"
    assert ws["L4"].alignment.wrap_text and ws.row_dimensions[4].height == 30
    assert ws["C5"].value == "  Пробелы  "
    assert [ws.cell(r, 13).value for r in range(2, 6)] == ["Не обработано"] * 4
    assert [ws.cell(r, 21).value for r in range(2, 6)] == ["no-stage-movement"] * 4
    assert [ws.cell(r, 17).value for r in range(2, 6)] == [1] * 4  # audits in a row
    assert ws.cell(2, 16).value == dt.datetime(2026, 11, 20)  # first seen: this audit


def test_deal_links_are_hyperlinks_not_formulas(wb, written):
    ws = wb["2.4 Нет движения"]
    for r, deal in zip(range(2, 5), (101, 102, 103)):
        cell = ws.cell(r, 1)
        assert cell.value == URL.format(deal)
        assert cell.hyperlink is not None and cell.hyperlink.target == URL.format(deal)
        assert cell.font.u == "single"
    odd = "https://example.pipedrive.com/deal/104?a=1&b=<2>"
    assert ws["A5"].value == odd and ws["A5"].hyperlink.target == odd


def test_status_drop_down_with_error_alert(wb, written):
    report = written[0]
    for result in report.results:
        ws = wb[result.sheet_title]
        col = openpyxl.utils.get_column_letter(_status_col(result))
        assert ws.cell(1, _status_col(result)).value == "Статус"
        dv, ddv = [v for v in ws.data_validations.dataValidation if v.type == "list"]
        assert "Принято" in ddv.formula1 and "Предупреждение" in ddv.formula1 and ddv.showErrorMessage
        assert dv.type == "list"
        assert dv.showErrorMessage is True and dv.errorStyle == "stop" and dv.error
        for status in STATUSES:
            assert status in dv.formula1
        ranges = [str(r) for r in dv.sqref.ranges]
        assert ranges == [f"{col}2:{col}{result.count + 1 + 1000}"]


def test_not_fixed_without_comment_is_highlighted(wb, written):
    ws = wb["2.4 Нет движения"]
    formulas = [f for cf in ws.conditional_formatting for rule in cf.rules for f in rule.formula]
    assert any("Не исправлено" in f and "$M2" in f and "$N2" in f for f in formulas)


def test_rule_without_violations_says_so(wb):
    ws = wb["1.1 Нет задач"]
    header = _values(ws, 1)
    assert header[:2] == ["Ссылка на сделку", "ID сделки"]
    # the note sits right of the header, one empty column away; no data rows
    assert header[-1] == "Нарушений не найдено." and header[-2] is None
    assert ws.max_row == 1


def test_rule_note_is_right_of_the_header(wb):
    ws = wb["1.4 Нет посещаемости"]
    assert ws["B2"].value == "105"
    assert ws["I2"].value == 10000 and ws["J2"].value is None  # a number the export holds as text: a number (issue 16)
    assert ws.max_row == 2  # one violation, nothing below it
    assert _values(ws, 1)[-1] == "Поле «Бюджет» есть не во всех выгрузках."
    assert ws.auto_filter.ref == "A1:S2"


def test_no_formula_anywhere(wb, written):
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    with zipfile.ZipFile(written[1]) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        assert len(sheets) == 5
        for name in sheets:
            xml = zf.read(name).decode("utf-8")
            sheet_data = xml[xml.index("<sheetData") : xml.index("</sheetData>")]
            assert not re.search(r"<f[\s>/]", sheet_data), name
            assert not re.search(r"<f[\s>/]", xml), name  # <formula> of conditional formats is fine
            assert "HYPERLINK(" not in xml


def test_faq(wb, written):
    report = written[0]
    ws = wb["FAQ"]
    assert ws["A1"].value == "Аудит CRM на 20.11.2026"
    texts = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    everything = "\n".join(texts)
    for needle in ("Не обработано", "Исправлено", "Не исправлено", "обязателен", "23.11.2026", "3 дня"):
        assert needle in everything
    links = {c.value: c.hyperlink for row in ws.iter_rows() for c in row if c.hyperlink is not None}
    assert set(links) == {f"{r.code} {r.title}" for r in report.results}
    for result in report.results:
        link = links[f"{result.code} {result.title}"]
        assert link.location == f"'{result.sheet_title}'!A1"
        assert not link.target
    for result in report.results:
        for text in (result.what, result.why, result.how):
            assert text in texts
    assert "1 — критично" in texts and "2 — менее критично" in texts
    how = next(c for row in ws.iter_rows() for c in row if c.value == report.results[0].how)
    assert how.data_type == "s"
    assert "Поле «Бюджет» есть не во всех выгрузках." in texts


def test_hit_tracking(wb):
    ws = wb["Учет попаданий"]
    rows = [_values(ws, r) for r in range(1, 5)]
    assert rows == [
        ["Менеджер", "2.4 Нет движения по этапам", "1.1 Открытые сделки без задач", "1.4 Нет посещаемости или бюджета", "Всего"],
        ["Борис", 2, 0, 1, 3],
        ["Анна", 2, 0, 0, 2],
        ["Итого", 4, 0, 1, 5],
    ]
    assert all(isinstance(v, int) for v in rows[3][1:])
    notes = [c.value for row in ws.iter_rows(min_row=5) for c in row if c.value]
    assert len(notes) == 1 and "20.11.2026" in notes[0]


def test_deal_id_header_and_sheet_title_cleanup(tmp_path):
    report = make_report()
    report.results[1].sheet_title = "1.1 Нет/задач?*"
    report.results[2].sheet_title = "1.1 Нет/задач?*"
    path = write_workbook(report, tmp_path / "a.xlsx", deal_id_header="ID сделки в Pipedrive")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[2:4] == ["1.1 Нет_задач__", "1.1 Нет_задач__ (2)"]
    assert wb.worksheets[1]["B1"].value == "ID сделки в Pipedrive"
    faq_links = [c.hyperlink.location for row in wb["FAQ"].iter_rows() for c in row if c.hyperlink]
    assert "'1.1 Нет_задач__ (2)'!A1" in faq_links


def test_carried_over_status_and_comment_stay_text(tmp_path):
    report = make_report()
    rows = report.results[0].rows.copy()
    rows["status"] = ["не  исправлено", None, "Исправлено", "что-то своё"]
    rows["comment"] = ["=SUM(A1) проверю", np.nan, "", "ок"]
    report.results[0].rows = rows
    wb = openpyxl.load_workbook(write_workbook(report, tmp_path / "a.xlsx"))
    ws = wb["2.4 Нет движения"]
    statuses = [ws.cell(r, 13).value for r in range(2, 6)]
    assert statuses == ["Не исправлено", "Не обработано", "Исправлено", "что-то своё"]
    assert ws["N2"].value == "=SUM(A1) проверю" and ws["N2"].data_type == "s" and ws["N2"].quotePrefix
    assert ws["N3"].value is None and ws["N4"].value is None and ws["N5"].value == "ок"


def test_hyperlinks_beyond_excel_limit_stay_text(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_writer, "MAX_HYPERLINKS_PER_SHEET", 2)
    wb = openpyxl.load_workbook(write_workbook(make_report(), tmp_path / "a.xlsx"))
    ws = wb["2.4 Нет движения"]
    assert [ws.cell(r, 1).hyperlink is not None for r in range(2, 6)] == [True, True, False, False]
    assert ws["A4"].value == URL.format(103)


def test_many_rows(tmp_path):
    n = 3000
    rows = pd.DataFrame(
        {
            **{k: [f"{k} {i}" for i in range(n)] for k in BASE_KEYS},
            "deal_url": [URL.format(i) for i in range(n)],
            "deal_id": [str(i) for i in range(n)],
            "days": np.arange(n),
        }
    )
    result = RuleResult("r", "9.9", "Много", 2, "9.9 Много", [Column("days", "Дней", "int")], rows)
    report = AuditReport(AS_OF, dt.datetime(2026, 11, 20), DUE, [result])
    wb = openpyxl.load_workbook(write_workbook(report, tmp_path / "a.xlsx"), read_only=True)
    ws = wb["9.9 Много"]
    data = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(data) == n
    assert data[-1][1] == str(n - 1) and data[-1][8] == n - 1
    wb.close()


# ----------------------------------------------------------------------- CSV


def test_csv(written):
    report, _, path = written
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        rows = list(reader)
    assert len(rows) == report.total == 5
    assert [(r["rule_id"], r["deal_id"]) for r in rows] == [
        ("no-stage-movement", "101"),
        ("no-stage-movement", "102"),
        ("no-stage-movement", "103"),
        ("no-stage-movement", "104"),
        ("missing-traffic-or-budget", "105"),
    ]
    first = rows[0]
    assert first["rule_code"] == "2.4" and first["criticality"] == "2"
    assert first["title"] == "=SUM(A1)"  # CSV is data: left as is
    assert first["deal_url"] == URL.format(101)
    assert first["as_of"] == "2026-11-20"
    assert first["evidence"] == (
        "Дней на этапе: 20; Последняя смена этапа: 2026-10-31; Сумма: 1500; Телефон: +7 999 123-45-67"
    )
    assert rows[1]["title"] == "@user"
    assert rows[1]["evidence"] == "Дней на этапе: 15; Последняя смена этапа: 2026-11-05; Сумма: ; Телефон: -5"
    assert rows[2]["title"] == "Бел\x07ка"  # only NUL is removed
    assert rows[2]["reason"] == "Сайт в разработке"
    assert rows[2]["evidence"].endswith("Сумма: 2500.5; Телефон: строка 1\nстрока 2")
    assert rows[4]["evidence"] == "Посещаемость: 10000; Бюджет: "


# ------------------------------------------------------------------ atomicity


def test_failed_workbook_write_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "audit.xlsx"
    path.write_bytes(b"previous audit")

    def boom(self, filename):
        raise RuntimeError("disk full")

    monkeypatch.setattr(openpyxl.Workbook, "save", boom)
    with pytest.raises(RuntimeError):
        write_workbook(make_report(), path)
    assert path.read_bytes() == b"previous audit"
    assert os.listdir(tmp_path) == ["audit.xlsx"]


def test_failed_workbook_assembly_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "audit.xlsx"
    path.write_bytes(b"previous audit")

    def half_written(skeleton, target, raws):
        Path(target).write_bytes(b"PK half")
        raise OSError("disk full")

    monkeypatch.setattr(xlsx_writer, "_assemble", half_written)
    with pytest.raises(OSError):
        write_workbook(make_report(), path)
    assert path.read_bytes() == b"previous audit"
    assert os.listdir(tmp_path) == ["audit.xlsx"]


@pytest.mark.parametrize("writer", ["_write_with_duckdb", "_write_with_csv_module"])
def test_failed_csv_write_keeps_old_file(tmp_path, monkeypatch, writer):
    path = tmp_path / "violations.csv"
    path.write_text("rule_id,deal_id\nold,1\n", encoding="utf-8")

    def half_written(report, tmp):
        Path(tmp).write_text("rule_id,deal_id\nnew,", encoding="utf-8")  # part of the file is already written
        raise ValueError("boom")

    if writer == "_write_with_csv_module":
        monkeypatch.setattr(csv_writer, "_write_with_duckdb", lambda report, tmp: False)
    else:  # a report this small is written by the csv module: make it big enough for DuckDB
        monkeypatch.setattr(csv_writer, "CSV_MODULE_ROWS", 0)
    monkeypatch.setattr(csv_writer, writer, half_written)
    with pytest.raises(ValueError):
        write_violations_csv(make_report(), path)
    assert path.read_text(encoding="utf-8") == "rule_id,deal_id\nold,1\n"
    assert os.listdir(tmp_path) == ["violations.csv"]


def test_atomic_write_replaces_and_keeps_mode(tmp_path):
    path = tmp_path / "f.txt"
    with atomic_write(path) as tmp:
        assert tmp.parent == tmp_path and tmp != path
        tmp.write_text("one")
    assert path.read_text() == "one"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(path, 0o640)
    with atomic_write(path) as tmp:
        tmp.write_text("two")
    assert path.read_text() == "two"
    assert path.stat().st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["f.txt"]


# --------------------------------------------------------------------- safe


def test_safe_helpers():
    assert clean_text("a\x00b\x07c\x1fd\te\nf\rg") == "abcd\te\nf\rg"
    assert clean_text("x\ud800y\uffffz") == "xyz"
    assert xlsx_text("ok") == "ok"
    long = xlsx_text("я" * 40_000)
    assert len(long) == XLSX_MAX_CELL_CHARS and long.endswith("…")
    emoji = xlsx_text("😀" * 20_000)  # 2 UTF-16 units each
    assert len(emoji.encode("utf-16-le")) // 2 <= XLSX_MAX_CELL_CHARS
    for text in ("=1+1", "+7 999", "-5", "@user"):
        assert looks_like_formula(text)
    for value in ("", " =1", "Сделка", "1", 5, None):
        assert not looks_like_formula(value)
    assert strip_nul("a\x00b\x07") == "ab\x07"
    assert plain_value(np.nan) is None and plain_value(pd.NaT) is None and plain_value(pd.NA) is None
    assert plain_value(np.int64(3)) == 3 and type(plain_value(np.int64(3))) is int
    assert plain_value(pd.Timestamp("2026-01-02")) == dt.datetime(2026, 1, 2)


# ------------------------------------------------ a real manager's client


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_round_trip(written, tmp_path):
    """LibreOffice opens the workbook and saves it back with values and links intact."""
    src = tmp_path / "in.xlsx"
    shutil.copy(written[1], src)
    out = tmp_path / "out"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    wb = openpyxl.load_workbook(out / "in.xlsx")
    assert wb.sheetnames == ["FAQ", "2.4 Нет движения", "1.1 Нет задач", "1.4 Нет посещаемости", "Учет попаданий"]
    ws = wb["2.4 Нет движения"]
    assert ws["C2"].value == "=SUM(A1)" and ws["C2"].data_type == "s"
    assert ws["A2"].hyperlink.target == URL.format(101)
    assert ws["J2"].value == dt.datetime(2026, 10, 31)
    assert ws["M2"].value == "Не обработано"
    # the status drop-down (LibreOffice may list the ID columns' warning-only validation first)
    dv = next(v for v in ws.data_validations.dataValidation if v.type == "list")
    assert dv.showErrorMessage and all(s in dv.formula1 for s in STATUSES)
    faq_links = [c.hyperlink for row in wb["FAQ"].iter_rows() for c in row if c.hyperlink]
    assert faq_links and all(link.location for link in faq_links)
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f"


def _parsed(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_csv_duckdb_and_csv_module_write_the_same_text(tmp_path):
    """The fast (DuckDB over Arrow) writer and the csv-module writer agree field by field."""
    report = make_report()
    extra = pd.DataFrame({
        "deal_url": ["u1", None, "u3", "u4"], "deal_id": [1, 2, 3, 4], "title": ['a,"b"', "x\r\ny", "", None],
        "owner": ["Ира", "Ира", None, "Олег"], "state": ["Открыта"] * 4, "reason": [None] * 4,
        "pipeline": ["P"] * 4, "stage": ["S"] * 4,
        "n": [1.0, 2.5, float("nan"), 1e20], "d": [dt.date(2026, 1, 2), None, dt.date(2025, 12, 31), None],
        "t": pd.to_datetime(["2026-01-02 00:00", "2026-01-02 13:45", None, "2026-03-04 00:00"]),
        "b": [True, False, True, False], "i": [3, 4, 5, 6],
    })
    cols = [Column("n", "Число", "number"), Column("d", "Дата", "date"),
            Column("t", "Время", "text"), Column("b", "Флаг"), Column("i", "Целое", "int")]
    report.results.append(RuleResult("extra", "9.9", "Доп.", 1, "9.9 Доп.", cols, extra))
    fast, slow = tmp_path / "fast.csv", tmp_path / "slow.csv"
    assert csv_writer._write_with_duckdb(report, fast)
    csv_writer._write_with_csv_module(report, slow)
    assert _parsed(fast) == _parsed(slow)
    assert fast.read_bytes() == slow.read_bytes()  # which one wrote a run's file never shows (write_violations_csv)
    tail = _parsed(fast)[-4:]
    assert tail[0][3] == "1" and tail[0][11] == "Число: 1; Дата: 2026-01-02; Время: 2026-01-02; Флаг: true; Целое: 3"
    assert tail[1][5] == "x\r\ny" and tail[1][11] == "Число: 2.5; Дата: ; Время: 2026-01-02 13:45:00; Флаг: false; Целое: 4"
    assert tail[3][11].startswith("Число: 100000000000000000000; ")


def test_csv_with_mixed_python_values_falls_back_to_the_csv_module(tmp_path):
    report = make_report()
    report.results[0].rows = report.results[0].rows.assign(title=["a", 1, 2.5, None][: len(report.results[0].rows)] + ["b"] * max(0, len(report.results[0].rows) - 4))
    path = write_violations_csv(report, tmp_path / "v.csv")
    rows = _parsed(path)
    assert rows[1][5] == "a" and rows[2][5] == "1" and rows[3][5] == "2.5"


def test_rule_with_more_rows_than_a_sheet_holds_is_capped_with_a_note(tmp_path, monkeypatch):
    report = make_report()
    big = next(r for r in report.results if r.count == 4)
    monkeypatch.setattr(xlsx_writer, "MAX_SHEET_ROWS", 3)  # header + 2 rows
    write_workbook(report, tmp_path / "audit.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "audit.xlsx")
    ws = wb[big.sheet_title]
    assert ws.max_row == 3
    assert [ws.cell(r, 2).value for r in (2, 3)] == big.rows["deal_id"].astype(str).tolist()[:2]
    note = " ".join(str(c.value) for c in ws[1] if c.value)
    assert "Показаны первые 2 из 4 нарушений: больше строк не помещается на лист Excel" in note
    assert "--violations-csv" in note
    assert big.count == 4  # the report itself is untouched: the CSV gets every row
    hits = wb["Учет попаданий"]
    assert any(report.total in row for row in hits.iter_rows(values_only=True))


def test_row_cap_for_cells_cuts_only_the_largest_sheets():
    from crm_audit.documents.limits import row_cap_for_cells

    def res(n):
        return RuleResult("r", "1.1", "t", 1, "1.1 t", [], pd.DataFrame({"deal_id": range(n)}))

    results = [res(10), res(100), res(1000)]
    assert row_cap_for_cells(results, lambda r: 1, 1110) is None
    assert row_cap_for_cells(results, lambda r: 1, 1109) == 999
    assert row_cap_for_cells(results, lambda r: 1, 210) == 100
    assert row_cap_for_cells(results, lambda r: 1, 209) == 99
    assert row_cap_for_cells(results, lambda r: 2, 20) == 3  # 3 sheets x 3 rows x 2 cells


def test_hits_count_one_manager_however_the_name_is_spelled():
    """Reference §2: owner names compare case-, space- and ё-insensitively — «Учет попаданий» too."""
    from crm_audit.textnorm import display_names

    report = make_report()
    rows = report.results[0].rows.copy()
    rows["owner"] = ["Иван Петров", "иван пётров ", "ИВАН ПЕТРОВ", "Анна"][: len(rows)]
    report.results[0].rows = rows
    table = report.hits_by_owner()
    owners = table["owner"].tolist()
    assert sum(o.lower().replace("ё", "е").strip() == "иван петров" for o in owners) == 1
    assert int(table.loc[table["owner"] == "Иван Петров", "total"].iloc[0]) == 3
    assert display_names({"иван пётров": 2, "Иван Петров": 1}) == {"иван пётров": "иван пётров", "Иван Петров": "иван пётров"}


def test_hit_history_merges_spellings_across_audits(tmp_path):
    from crm_audit.history.ledger import Ledger
    from crm_audit.history.hits import hit_history

    report = make_report()
    rows = report.results[0].rows.copy()
    rows["owner"] = ["Иван Петров"] * len(rows)
    report.results[0].rows = rows
    with Ledger(tmp_path / "l.db") as led:
        from ledger_helpers import add_audit

        add_audit(led, "2026-11-06", [{"rule_id": "r", "deal_id": "1", "owner": "иван пётров"}])
        led.decide("r", "1", "warning", "нет", owner="ИВАН ПЕТРОВ ")
        hist = hit_history(report, led)
    ivan = [o for o in hist.by_owner if o.lower().replace("ё", "е") == "иван петров"]
    assert len(ivan) == 1
    assert hist.by_owner[ivan[0]][0] == 1 and hist.warnings == {ivan[0]: 1}
