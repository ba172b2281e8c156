"""Publishing to Google Sheets, against a local fake of the Sheets v4 API.

No test touches the internet: gspread talks to ``tests/fake_sheets/server.py``
on 127.0.0.1 through a transport adapter that refuses every other host, and
every request body is checked against the Sheets v4 discovery document.
"""

from __future__ import annotations

import dataclasses

from crm_audit.report import HitHistory
import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.datetime import to_excel

from crm_audit import settings
from crm_audit.engine.audit import audit_export
from crm_audit.documents.edits import DECISIONS, normalise_choice, HEADER_COMMENT, HEADER_DEAL_ID, HEADER_RULE_ID, HEADER_STATUS, normalise_id
from crm_audit.errors import OutputError
from crm_audit.report import STATUS_NOT_FIXED, STATUSES
from exporters import gsheet
from exporters.xlsx import write_workbook
from fake_sheets.server import FakeSheets, Formula, validate

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "crm_audit" / "demo_data"
EDITABLE = set(gsheet.EDITABLE_HEADERS)


# --------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def report():
    s = settings.load(str(DEMO / "crm-audit.yaml"))
    return audit_export(s, str(DEMO / "pipedrive"), as_of=dt.date(2026, 11, 20))


@pytest.fixture(scope="module")
def workbook(report, tmp_path_factory):
    path = tmp_path_factory.mktemp("wb") / "audit.xlsx"
    write_workbook(report, path)
    return openpyxl.load_workbook(path)


@pytest.fixture
def fake():
    with FakeSheets() as server:
        yield server
        # no request of any test was malformed (schema, ranges, ids, titles)
        assert server.errors == [], server.errors[:3]


@pytest.fixture(autouse=True)
def no_wall_clock_pacing(monkeypatch):
    """Calls without ``retry=`` use the process-wide policy: here it paces nothing and never sleeps."""
    from exporters.gsheet import access

    monkeypatch.setattr(access, "_DEFAULT_POLICY", gsheet.RetryPolicy(writes_per_minute=10**9, reads_per_minute=10**9,
                                                                       sleep=Sleeps()))


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def policy(attempts: int = 4, timeout=(2.0, 5.0)) -> gsheet.RetryPolicy:
    return gsheet.RetryPolicy(attempts=attempts, base_delay=0.01, max_delay=0.05, timeout=timeout, sleep=Sleeps())


def open_sheet(fake: FakeSheets, key: str, retry: gsheet.RetryPolicy | None = None):
    if key not in fake.books:
        fake.create(key)
    return gsheet.open_spreadsheet(key, client=fake.client(), retry=retry or policy())


def carried(report, edits):
    """``report`` with the edits' statuses and comments (what the ledger's carry-over does)."""
    by_key = {(e.rule_id, e.deal_id): e for e in edits}
    results = []
    for r in report.results:
        rows = r.rows.copy()
        found = [by_key.get((r.rule_id, normalise_id(d))) for d in rows["deal_id"]]
        rows["status"] = [e.status_raw if e else None for e in found]
        rows["comment"] = [e.comment if e else None for e in found]
        results.append(dataclasses.replace(r, rows=rows))
    return dataclasses.replace(report, results=results)


def shown(status: str) -> str:
    """A status as the next document shows it (a recognisable hand-typed status is tidied)."""
    return normalise_choice(status, STATUSES) or status


def column(sheet, name: str) -> int:
    return sheet.grid()[0].index(name)


def data_rows(sheet) -> list[list]:
    deal = column(sheet, HEADER_DEAL_ID)
    return [row for row in sheet.grid()[1:] if len(row) > deal and row[deal] not in (None, "")]


def row_of(sheet, deal_id: str) -> int:
    deal = column(sheet, HEADER_DEAL_ID)
    for r, row in enumerate(sheet.grid()):
        if r and len(row) > deal and str(row[deal]) == deal_id:
            return r
    raise KeyError(deal_id)


def values_of(fake: FakeSheets, key: str) -> dict[str, list[list]]:
    return {s.title: s.grid() for s in fake.book(key).sheets}


# --------------------------------------------------------------------------
# the published document is the workbook


def _xlsx_value(cell):
    v = cell.value
    if isinstance(v, (dt.datetime, dt.date)):
        serial = to_excel(v)
        return int(serial) if float(serial).is_integer() else serial
    return v


def _xlsx_grid(ws) -> list[list]:
    rows = [[_xlsx_value(c) for c in row] for row in ws.iter_rows()]
    for row in rows:
        while row and row[-1] is None:
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows


def test_published_cells_equal_the_workbook(fake, report, workbook):
    sh = open_sheet(fake, "EQUAL_0123456789")
    result = gsheet.publish(report, sh)
    book = fake.book("EQUAL_0123456789")

    assert book.titles() == workbook.sheetnames  # same sheets, same order (the blank «Лист1» is gone)
    assert len(book.sheets) == 2 + len(report.results)
    ids = {s.title: s.sheet_id for s in book.sheets}
    for ws in workbook.worksheets:
        sheet = book.sheet(ws.title)
        assert sheet.grid() == _xlsx_grid(ws), ws.title
        for row in ws.iter_rows():
            for cell in row:
                r, c = cell.row - 1, cell.column - 1
                if cell.is_date and cell.value is not None:
                    fmt = sheet.formats.get((r, c), {}).get("numberFormat", {})
                    assert fmt == {"type": "DATE", "pattern": "dd.mm.yyyy"}, (ws.title, cell.coordinate)
                if cell.hyperlink is not None:
                    if cell.hyperlink.location:  # FAQ -> rule sheet
                        target = cell.hyperlink.location.rsplit("!", 1)[0].strip("'").replace("''", "'")
                        assert sheet.link(r, c) == f"#gid={ids[target]}"
                    else:
                        assert sheet.link(r, c) == cell.hyperlink.target, (ws.title, cell.coordinate)
                        # a value, not a formula: the URL itself, or the deal title carrying its row's deal link
                        assert cell.hyperlink.target in (sheet.values[(r, c)], sheet.values.get((r, 0)))
        # frozen header, filter, widths
        if ws.freeze_panes:
            assert (sheet.frozen_rows, sheet.frozen_cols) == (
                ws[ws.freeze_panes].row - 1,
                ws[ws.freeze_panes].column - 1,
            )
        if ws.auto_filter.ref:
            flt = sheet.basic_filter["range"]
            last = ws[ws.auto_filter.ref.split(":")[1]]
            assert (flt["endRowIndex"], flt["endColumnIndex"]) == (last.row, last.column)
        assert sheet.col_px, ws.title

    for result_, ws_title in zip(report.results, workbook.sheetnames[1:-1]):
        sheet = book.sheet(ws_title)
        header = sheet.grid()[0]
        assert len(data_rows(sheet)) == result_.count
        status = header.index(HEADER_STATUS)
        rule = sheet.validation[(1, status)]
        assert rule["condition"]["type"] == "ONE_OF_LIST"
        assert [v["userEnteredValue"] for v in rule["condition"]["values"]] == list(STATUSES)
        assert rule["strict"] is True and rule["showCustomUi"] is True
        if "Решение" in header:
            rule = sheet.validation[(1, header.index("Решение"))]
            assert [v["userEnteredValue"] for v in rule["condition"]["values"]] == list(DECISIONS)
            assert rule["strict"] is True
        formulas = [c["booleanRule"]["condition"]["values"][0]["userEnteredValue"] for c in sheet.cond]
        s_col = chr(65 + status)
        k_col = chr(65 + header.index(HEADER_COMMENT))
        assert f'=AND(${s_col}2="{STATUS_NOT_FIXED}",LEN(TRIM(${k_col}2))=0)' in formulas
        # every column but the editable ones is protected (with a warning only)
        protected = set()
        for pr in sheet.protected:
            assert pr["warningOnly"] is True
            protected.update(range(pr["range"]["startColumnIndex"], pr["range"]["endColumnIndex"]))
        table = {i for i, h in enumerate(header) if i < sheet.basic_filter["range"]["endColumnIndex"]}
        # and the head's columns too (a manager is warned before writing a decision)
        assert protected == {i for i in table if header[i] not in EDITABLE or header[i] in ("Решение", "Комментарий руководителя")}
        assert header.index(HEADER_STATUS) not in protected and header.index(HEADER_COMMENT) not in protected
    for title in (workbook.sheetnames[0], workbook.sheetnames[-1]):
        assert [p["warningOnly"] for p in book.sheet(title).protected] == [True]

    # values were sent RAW, nothing is a formula, links are formatting
    writes = [e for e in fake.log if e["path"].endswith("values:batchUpdate")]
    assert writes and all(e["body"]["valueInputOption"] == "RAW" for e in writes)
    assert not any(isinstance(v, Formula) for s in book.sheets for v in s.values.values())
    assert "HYPERLINK" not in json.dumps([e["body"] for e in fake.log], ensure_ascii=False)
    assert result.requests <= 4


def test_request_count_of_a_full_publish(fake, report):
    assert len(report.results) == 17
    before = fake.request_count
    sh = open_sheet(fake, "COUNT_0123456789")
    first = gsheet.publish(report, sh)
    total = fake.request_count - before
    second_start = fake.request_count
    gsheet.publish(report, sh)
    second = fake.request_count - second_start
    methods = [f'{e["method"]} {e["path"].split("/", 4)[-1]}' for e in fake.log[before:]]
    print(f"\nfull 17-rule publish: {total} HTTP requests (open 1 + publish {first.requests}); re-publish: {second}")
    print("  " + "\n  ".join(methods))
    assert total <= 6
    assert second <= 5  # + the re-read of the managers' columns just before the values are written
    sizes = [e["size"] for e in fake.log]
    assert max(sizes) <= gsheet.MAX_BODY_BYTES


def test_large_bodies_are_split(fake, report, monkeypatch):
    monkeypatch.setattr(gsheet.render, "MAX_BODY_BYTES", 100_000)
    sh = open_sheet(fake, "SPLIT_0123456789")
    gsheet.publish(report, sh)
    posts = [e for e in fake.log if e["method"] == "POST"]
    assert len(posts) > 2
    assert all(e["size"] <= 100_000 for e in posts)
    other = FakeSheets().start()
    try:
        sh2 = open_sheet(other, "SPLIT_0123456789")
        monkeypatch.undo()
        gsheet.publish(report, sh2)
        assert values_of(other, "SPLIT_0123456789") == values_of(fake, "SPLIT_0123456789")
    finally:
        other.stop()


def test_formula_like_values_arrive_as_plain_strings(fake, report):
    risky = ["=1+2", "+7 999 123-45-67", "-5", "@менеджер", "=HYPERLINK(\"http://x\")", "'quoted", "01.02.2026", "1e3"]
    first = report.results[0]
    rows = first.rows.copy()
    rows.loc[rows.index[: len(risky)], "title"] = risky
    rep = dataclasses.replace(report, results=[dataclasses.replace(first, rows=rows), *report.results[1:]])
    sh = open_sheet(fake, "FORMULA_0123456789")
    gsheet.publish(rep, sh)
    sheet = fake.book("FORMULA_0123456789").sheet(first.sheet_title)
    col = column(sheet, "Название сделки")
    titles = [row[col] for row in sheet.grid()[1 : 1 + len(risky)]]
    assert titles == risky
    assert all(type(t) is str for t in titles)


# --------------------------------------------------------------------------
# managers' edits


def _manager_edits(fake: FakeSheets, key: str, report) -> dict[tuple[str, str], tuple[str, str | None]]:
    """Set statuses/comments in the fake, reorder and delete rows like managers do; return what was set."""
    book = fake.book(key)
    wanted = {}
    r1, r2 = report.results[0], report.results[-1]
    s1, s2 = book.sheet(r1.sheet_title), book.sheet(r2.sheet_title)
    for sheet, result, status, comment, i in (
        (s1, r1, STATUS_NOT_FIXED, "Клиент в отпуске до декабря", 0),
        (s1, r1, "Исправлено", None, 3),
        (s1, r1, "  не  исправлено ", "=ручной ввод", 5),  # typed by hand
        (s2, r2, "готово", None, 1),  # not one of the three
    ):
        deal = str(result.rows["deal_id"].iloc[i])
        r = row_of(sheet, deal)
        sheet.values[(r, column(sheet, HEADER_STATUS))] = status
        if comment:
            sheet.values[(r, column(sheet, HEADER_COMMENT))] = comment
        wanted[(result.rule_id, deal)] = (status, comment)
    # a manager sorts the sheet: reverse the data rows
    n = len(data_rows(s1))
    width = max(c for _, c in s1.values) + 1
    old = {(r, c): s1.values.get((r, c)) for r in range(1, n + 1) for c in range(width)}
    for r in range(1, n + 1):
        for c in range(width):
            v = old[(n + 1 - r, c)]
            if v is None:
                s1.values.pop((r, c), None)
            else:
                s1.values[(r, c)] = v
    # and deletes a row (shift the rows below up) on another sheet
    s3 = book.sheet(report.results[4].sheet_title)
    gone = 2
    last = len(data_rows(s3))
    for r in range(gone, last + 1):
        for c in range(width + 5):
            v = s3.values.get((r + 1, c))
            if v is None:
                s3.values.pop((r, c), None)
            else:
                s3.values[(r, c)] = v
    return wanted


def test_edits_are_read_back_by_rule_and_deal_and_kept(fake, report):
    key = "EDITS_0123456789"
    sh = open_sheet(fake, key)
    gsheet.publish(report, sh)
    wanted = _manager_edits(fake, key, report)

    edits = gsheet.read_edits(sh)
    by_key = {(e.rule_id, e.deal_id): e for e in edits}
    assert len(edits) == report.total - 1  # one row deleted
    for k, (status, comment) in wanted.items():
        e = by_key[k]
        assert e.status_raw == status and e.comment == comment
    e = by_key[(report.results[0].rule_id, str(report.results[0].rows["deal_id"].iloc[5]))]
    assert e.status == STATUS_NOT_FIXED and e.problems == []
    bad = by_key[(report.results[-1].rule_id, str(report.results[-1].rows["deal_id"].iloc[1]))]
    assert bad.status is None and bad.problems and bad.status_cell.startswith(chr(65 + column(fake.book(key).sheet(report.results[-1].sheet_title), HEADER_STATUS)))
    assert all(e.sheet and e.row and e.owner for e in edits)

    # dry run: reports the differences, writes nothing
    n_before = fake.request_count
    rep2 = carried(report, edits)
    dry = gsheet.publish(rep2, sh, dry_run=True)
    assert all(e["method"] == "GET" for e in fake.log[n_before:])
    changes = {c.title: c for c in dry.sheets}
    assert changes[report.results[4].sheet_title].added == 1  # the deleted row comes back
    assert "Dry run" in dry.summary()

    # second publish: the edits are in the rows of their (rule, deal), in the workbook's order again
    gsheet.publish(rep2, sh)
    book = fake.book(key)
    for (rule_id, deal), (status, comment) in wanted.items():
        result = next(r for r in report.results if r.rule_id == rule_id)
        sheet = book.sheet(result.sheet_title)
        r = row_of(sheet, deal)
        assert r == 1 + list(result.rows["deal_id"].astype(str)).index(deal)
        assert sheet.values.get((r, column(sheet, HEADER_STATUS))) == shown(status)
        assert sheet.values.get((r, column(sheet, HEADER_COMMENT))) == comment
        assert sheet.values.get((r, column(sheet, HEADER_RULE_ID))) == rule_id
    for result in report.results:
        assert len(data_rows(book.sheet(result.sheet_title))) == result.count
    again = {(e.rule_id, e.deal_id): (e.status_raw, e.comment) for e in gsheet.read_edits(sh)}
    for k, (status, comment) in wanted.items():
        assert again[k] == (shown(status), comment)


def test_republish_is_idempotent(fake, report):
    key = "IDEM_0123456789"
    sh = open_sheet(fake, key)
    gsheet.publish(report, sh)

    def shape():
        return {
            s.title: (
                len(s.cond),
                sorted(json.dumps(p["range"], sort_keys=True) for p in s.protected),
                len(s.validation),
                s.basic_filter,
                s.frozen_rows,
                dict(s.col_px),
                s.rows,
                s.cols,
            )
            for s in fake.book(key).sheets
        }

    first, first_values = shape(), values_of(fake, key)
    gsheet.publish(report, sh)
    gsheet.publish(report, sh)
    assert shape() == first
    assert values_of(fake, key) == first_values
    for result in report.results:
        sheet = fake.book(key).sheet(result.sheet_title)
        # «Не исправлено» without a comment, «Исправлено», past due and «Не обработано», an unknown status, an unknown decision
        assert len(sheet.cond) == 5
        assert len({json.dumps(p["range"], sort_keys=True) for p in sheet.protected}) == len(sheet.protected)


def test_stale_rows_and_sheets_are_removed_and_foreign_sheets_kept(fake, report):
    key = "STALE_0123456789"
    fake.create(key, sheets=("Лист1", "Заметки"))
    fake.book(key).sheet("Заметки").set("A1", "наши заметки")
    sh = open_sheet(fake, key)
    gsheet.publish(report, sh)
    assert fake.book(key).titles()[-1] == "Заметки"

    first = report.results[0]
    smaller = dataclasses.replace(first, rows=first.rows.iloc[:3].copy())
    rep2 = dataclasses.replace(report, results=[smaller, *report.results[2:]])  # rule 1.2 is gone
    dry = gsheet.publish(rep2, sh, dry_run=True)
    changes = {c.title: c for c in dry.sheets}
    assert changes[first.sheet_title].removed == first.count - 3
    assert changes[report.results[1].sheet_title].action == "delete"
    gsheet.publish(rep2, sh)
    book = fake.book(key)
    assert report.results[1].sheet_title not in book.titles()
    assert book.titles()[-1] == "Заметки" and book.sheet("Заметки").get("A1") == "наши заметки"
    sheet = book.sheet(first.sheet_title)
    assert len(sheet.grid()) == 4  # header + 3 rows, nothing left of the previous audit
    assert not any(book.sheet(first.sheet_title).link(r, 0) for r in range(4, 40))
    hits = book.sheet("Учет попаданий").grid()
    assert len(hits[0]) == len(rep2.results) + 2


def test_hit_history_and_its_chart(fake, report, workbook, tmp_path):
    owners = sorted({str(o) for r in report.results for o in r.rows["owner"].dropna()})
    dates = [dt.date(2026, 11, 6), dt.date(2026, 11, 20)]
    hist = HitHistory(dates, {o: [i + 1, i + 2] for i, o in enumerate(owners)}, {owners[0]: 1}, ["Новый Менеджер"])
    rep = dataclasses.replace(report, hit_history=hist)
    path = tmp_path / "history.xlsx"
    write_workbook(rep, path)
    ws = openpyxl.load_workbook(path)["Учет попаданий"]
    sh = open_sheet(fake, "HIST_0123456789")
    gsheet.publish(rep, sh)
    gsheet.publish(rep, sh)  # charts are replaced, not stacked
    sheet = fake.book("HIST_0123456789").sheet("Учет попаданий")
    assert sheet.grid() == _xlsx_grid(ws)
    assert len(sheet.charts) == 1
    basic = sheet.charts[0]["spec"]["basicChart"]
    assert basic["chartType"] == "LINE" and len(basic["series"]) == min(10, len(owners))
    src = basic["series"][0]["series"]["sourceRange"]["sources"][0]
    row = sheet.grid()[src["startRowIndex"]]
    assert row[src["startColumnIndex"]] == owners[0] or row[src["startColumnIndex"]] in owners


def test_empty_rule_sheet(fake, report):
    first = report.results[0]
    empty = dataclasses.replace(first, rows=first.rows.iloc[:0].copy())
    rep = dataclasses.replace(report, results=[empty, *report.results[1:]])
    sh = open_sheet(fake, "EMPTY_0123456789")
    gsheet.publish(rep, sh)
    grid = fake.book("EMPTY_0123456789").sheet(first.sheet_title).grid()
    assert len(grid) == 1 and any("Нарушений не найдено" in str(v) for v in grid[0])
    edits = gsheet.read_edits(sh)
    # the demo's other 16 rule sheets hold 304 findings, all untouched; «1.1 Открытые без задач» has none
    assert len(edits) == 304 and len({e.sheet for e in edits}) == 16
    assert "1.1 Открытые без задач" not in {e.sheet for e in edits}
    assert "open-deal-without-tasks" not in {e.rule_id for e in edits}
    assert {e.status_raw for e in edits} == {"Не обработано"} and {e.comment for e in edits} == {None}


# --------------------------------------------------------------------------
# faults


def _pull_and_publish(sh, report, retry):
    edits = gsheet.read_edits(sh, retry=retry)  # read back first: if it fails nothing is written
    return gsheet.publish(carried(report, edits), sh, retry=retry)


@pytest.fixture
def edited(fake, report, monkeypatch):
    # fewer drop-down rows below the data: the fake answers faster, the requests are the same
    from exporters.gsheet import render

    monkeypatch.setattr(render, "EXTRA_ROWS", 10)
    key = "FAULT_0123456789"
    sh = open_sheet(fake, key)
    gsheet.publish(report, sh)
    wanted = _manager_edits(fake, key, report)
    snapshot = fake.snapshot()
    start = fake.request_count
    _pull_and_publish(sh, report, policy())
    steps = fake.request_count - start
    expected = values_of(fake, key)
    fake.restore(snapshot)
    return key, sh, wanted, snapshot, steps, expected


def _check_edits(fake, key, report, wanted):
    book = fake.book(key)
    for (rule_id, deal), (status, comment) in wanted.items():
        sheet = book.sheet(next(r.sheet_title for r in report.results if r.rule_id == rule_id))
        r = row_of(sheet, deal)
        assert sheet.values.get((r, column(sheet, HEADER_STATUS))) in (status, shown(status))
        assert sheet.values.get((r, column(sheet, HEADER_COMMENT))) == comment


FAULTS = [
    ("429", dict(kind="status", status=429, retry_after=3)),
    ("500", dict(kind="status", status=500)),
    ("drop", dict(kind="drop")),
    ("drop-after-apply", dict(kind="drop_after")),
]


def test_a_fault_at_every_request_is_retried(fake, report, edited):
    key, sh, wanted, snapshot, steps, expected = edited
    assert steps <= 7  # read-back 2, publish: metadata, values, layout, re-read of the managers' columns, values
    for name, fault in FAULTS:
        for i in range(1, steps + 1):
            fake.restore(snapshot)
            fake.clear_faults()
            fake.inject(fake.request_count + i, **fault)
            retry = policy()
            result = _pull_and_publish(sh, report, retry)
            assert values_of(fake, key) == expected, (name, i)
            _check_edits(fake, key, report, wanted)
            assert result.attempts <= 2
            if name == "429":
                assert 3 in retry.sleep, (i, retry.sleep)  # Retry-After honoured
            else:
                assert len(retry.sleep) == 1 and 0 < retry.sleep[0] <= 0.05


def test_retries_run_out_then_a_rerun_completes(fake, report, edited):
    key, sh, wanted, snapshot, steps, expected = edited
    # 429 and a drop before the request was applied fail like 500 here (nothing applied);
    # a drop after it was applied is the ambiguous case
    for name, fault in (FAULTS[1], FAULTS[3]):
        for i in range(1, steps + 1):
            fake.restore(snapshot)
            fake.clear_faults()
            fake.inject(fake.request_count + i, **fault)
            try:
                _pull_and_publish(sh, report, policy(attempts=1))
            except OutputError as exc:
                assert key in exc.message and "run the same command again" in exc.message
                assert "Bearer" not in exc.message and "token" not in exc.message.lower()
            _check_edits(fake, key, report, wanted)  # nothing lost, whatever step failed
            fake.clear_faults()
            _pull_and_publish(sh, report, policy())
            assert values_of(fake, key) == expected, (name, i)


def test_persistent_quota_errors_give_a_clear_message(fake, report):
    sh = open_sheet(fake, "QUOTA_0123456789")
    start = fake.request_count
    for n in range(start + 1, start + 20):
        fake.inject(n, status=429, retry_after=1)
    retry = policy(attempts=3)
    with pytest.raises(OutputError) as info:
        gsheet.publish(report, sh, retry=retry)
    assert "QUOTA_0123456789" in info.value.message and "after 3 attempt" in info.value.message
    assert "429" in info.value.message
    assert retry.sleep == [1, 1]
    assert all(e["method"] == "GET" for e in fake.log[start:])


def test_slow_responses(fake, report, monkeypatch):
    """A request slower than the per-request timeout is sent again (the fake times it out: nobody waits). The timeout
    is generous: on a loaded machine a real answer of the fake once took longer than 0.7 s and was sent a fifth time."""
    from exporters.gsheet import render

    monkeypatch.setattr(render, "EXTRA_ROWS", 10)
    sh = open_sheet(fake, "SLOW_0123456789")
    retry = policy(timeout=(6.0, 5.0))
    for i in (1, 3, 4):  # the metadata read, the layout write, the re-read (each answer "lost" to the timeout)
        fake.inject(fake.request_count + i, kind="timeout")
    result = gsheet.publish(report, sh, retry=retry)
    assert result.attempts == 4 and len(retry.sleep) == 3
    timed_out = [e for e in fake.log if e["status"] == "timed out"]
    assert len(timed_out) == 3 and all(e["timeout"] == (6.0, 5.0) for e in timed_out)  # the policy's timeout is used
    assert sh.client.timeout == (6.0, 5.0)


def test_backoff_is_exponential_with_jitter():
    p = gsheet.RetryPolicy(base_delay=1, max_delay=10, jitter=lambda: 1.0)
    assert [p.delay(a, None) for a in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 10]
    p = gsheet.RetryPolicy(base_delay=1, max_delay=10, jitter=lambda: 0.0)
    assert p.delay(3, None) == 2
    assert p.delay(1, 7) == 7 and p.delay(1, 1000) == p.max_retry_after


# --------------------------------------------------------------------------
# limits, schema, access


def test_google_limits_are_checked_before_writing(fake, report, monkeypatch):
    sh = open_sheet(fake, "LIMIT_0123456789")
    start = fake.request_count
    monkeypatch.setattr(gsheet.render, "MAX_CELLS", 10_000)
    with pytest.raises(OutputError, match="cells"):
        gsheet.publish(report, sh)
    assert all(e["method"] == "GET" for e in fake.log[start:])

    sheet = gsheet.render.RenderedSheet
    with pytest.raises(OutputError, match="titled"):
        gsheet.render.check_titles([sheet("FAQ", "faq", []), sheet("faq", "rule", [])], "ID")
    with pytest.raises(OutputError, match="longer"):
        gsheet.render.check_titles([sheet("x" * 101, "rule", [])], "ID")


def test_a_text_longer_than_a_google_cell_is_cut_with_an_ellipsis(fake, report):
    """Google holds 50,000 characters a cell (Excel 32,767): each renderer cuts the model's text to its own limit."""
    first = report.results[0]
    rows = first.rows.copy()
    rows.loc[rows.index[0], "title"] = "я" * 60_000
    rows.loc[rows.index[1], "title"] = "ж" * 40_000
    rep = dataclasses.replace(report, results=[dataclasses.replace(first, rows=rows), *report.results[1:]])
    sh = open_sheet(fake, "LONG_0123456789")
    gsheet.publish(rep, sh)
    sheet = fake.book("LONG_0123456789").sheet(first.sheet_title)
    col = column(sheet, "Название сделки")
    assert sheet.grid()[1][col] == "я" * 49_999 + "…"
    assert sheet.grid()[2][col] == "ж" * 40_000


def test_the_fake_refuses_malformed_requests(fake):
    from gspread.exceptions import APIError

    sh = open_sheet(fake, "SCHEMA_0123456789")
    bad = [
        {"requests": [{"repeatCell": {"range": {"sheetId": 0}, "cell": {}, "fields": "userEnteredFormat", "colour": 1}}]},
        {"requests": [{"addSheet": {"properties": {"title": "A", "gridProperties": {"rowCount": "many"}}}}]},
        {"requests": [{"addSheet": {}, "deleteSheet": {"sheetId": 0}}]},
        {"requests": [{"setDataValidation": {"range": {"sheetId": 0}, "rule": {"condition": {"type": "ONE_OF_SOMETHING"}}}}]},
        {"requests": [{"updateCells": {"rows": [], "fields": "userEnteredFormat", "start": {"sheetId": 99}}}]},
    ]
    for body in bad:
        with pytest.raises(APIError) as info:
            sh.batch_update(body)
        assert info.value.response.status_code == 400
    with pytest.raises(APIError):
        sh.values_batch_update({"data": [{"range": "A1", "values": [["x"]]}]})  # no valueInputOption
    assert len(fake.errors) == len(bad) + 1
    fake.errors.clear()
    assert validate({"valueInputOption": "RAW", "data": []}, {"$ref": "BatchUpdateValuesRequest"}) == []


def test_check_access(fake, tmp_path):
    key_file = tmp_path / "key.json"
    secret = "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n"
    key_file.write_text(json.dumps({"type": "service_account", "client_email": "audit@proj.iam.gserviceaccount.com", "private_key": secret}))
    gc = fake.client()
    fast = policy()

    missing = gsheet.check_access("https://docs.google.com/spreadsheets/d/MISSING_0123456789/edit#gid=0", key_file, client=gc, retry=fast)
    assert not missing.ok
    assert "audit@proj.iam.gserviceaccount.com" in missing.message and "Editor" in missing.message
    assert "SECRET" not in missing.message

    fake.create("READONLY_0123456789").can_edit = False
    ro = gsheet.check_access("READONLY_0123456789", key_file, client=gc, retry=fast)
    assert not ro.ok and "cannot edit" in ro.message and "audit@proj.iam.gserviceaccount.com" in ro.message

    fake.create("GOOD_0123456789")
    good = gsheet.check_access("GOOD_0123456789", key_file, client=gc, retry=fast)
    assert good.ok and "can read and edit" in good.message

    with pytest.raises(OutputError) as info:
        gsheet.open_spreadsheet("MISSING_0123456789", key_file, client=gc, retry=fast)
    assert "MISSING_0123456789" in info.value.message and "SECRET" not in info.value.message
    with pytest.raises(OutputError):
        gsheet.spreadsheet_key("not a url")
    assert gsheet.spreadsheet_key("https://docs.google.com/spreadsheets/d/abc_DEF-123456/edit#gid=5") == "abc_DEF-123456"


def test_the_fake_blocks_the_internet(fake):
    import requests

    gc = fake.client()
    with pytest.raises(requests.exceptions.ConnectionError, match="blocked"):
        gc.http_client.session.get("https://www.googleapis.com/drive/v3/files")


def test_too_many_cells_caps_the_largest_rule_sheets_with_a_note(fake, report, monkeypatch):
    """Over Google's cell limit the largest rule sheets are cut (same row count each) and say so."""
    from exporters.xlsx import rule_sheet_headers

    sizes = {r.sheet_title: r.count for r in report.results}
    cap = sorted(sizes.values())[-3] - 1  # the three largest sheets must be cut
    cells_at = lambda L: sum((min(r.count, L) + 1 + 1000) * (len(rule_sheet_headers(r)) + 2) for r in report.results)  # noqa: E731
    monkeypatch.setattr(gsheet.render, "_RESERVED_CELLS", 0)
    monkeypatch.setattr(gsheet.render, "MAX_CELLS", cells_at(cap))
    sh = open_sheet(fake, "CAPPED_0123456789")
    result = gsheet.publish(report, sh)
    assert result.row_cap == cap and f"first {cap} rows" in result.summary()
    book = fake.book("CAPPED_0123456789")
    for r in report.results:
        grid = book.sheet(r.sheet_title).grid()
        rows = [row for row in grid[1:] if any(v not in (None, "") for v in row)]
        header_text = " ".join(str(v) for v in grid[0] if v)
        if r.count > cap:
            assert len(rows) == cap, r.sheet_title
            assert f"Показаны первые {cap} из {r.count} нарушений" in header_text.replace("\u00a0", "")
            assert "--violations-csv" in header_text
        else:
            assert len(rows) == r.count and "Показаны первые" not in header_text
    hits = book.sheet("Учет попаданий").grid()
    assert any(report.total in row for row in hits)  # «Учет попаданий» counts every violation


def test_tricky_cells_reach_the_sheet_exactly_as_in_the_workbook(fake, tmp_path):
    """Formula-like text, markup characters, multi-line and padded text, numbers, dates, links."""
    from test_exporters import make_report

    rep = make_report()
    rows = rep.results[0].rows.copy()
    rows.loc[0, "title"] = "  <b>A & B</b> \"кавычки\" "
    rows.loc[1, "title"] = "строка 1\nстрока 2\n"
    rep.results[0].rows = rows
    path = tmp_path / "tricky.xlsx"
    write_workbook(rep, path)
    wb = openpyxl.load_workbook(path)
    sh = open_sheet(fake, "TRICKY_0123456789")
    gsheet.publish(rep, sh)
    book = fake.book("TRICKY_0123456789")
    for r in rep.results:
        assert book.sheet(r.sheet_title).grid() == _xlsx_grid(wb[r.sheet_title]), r.sheet_title
    grid = book.sheet(rep.results[0].sheet_title).grid()
    titles = [row[2] for row in grid[1:]]
    assert "  <b>A & B</b> \"кавычки\" " in titles
    assert any(str(t).startswith("строка 1\nстрока 2") for t in titles)
