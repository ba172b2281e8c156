"""Google Sheets: edits saved during a publish, the per-minute write quota, a publish killed half-way,
and the cause of every failure to reach the spreadsheet — all against the fake, on a fake clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from crm_audit import settings
from crm_audit.documents.edits import HEADER_COMMENT, HEADER_DEAL_ID, HEADER_STATUS
from crm_audit.engine.audit import audit_export
from crm_audit.errors import OutputError
from exporters import gsheet
from exporters.gsheet import access, render
from exporters.gsheet.access import Cause
from fake_sheets.server import FakeSheets
from test_gsheet import carried, column, row_of, values_of

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "crm_audit" / "demo_data"
EMAIL = "audit@proj.iam.gserviceaccount.com"


class Clock:
    """A fake clock: ``sleep`` moves it on, nobody waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def paced(clock: Clock, per_minute: int = 60, attempts: int = 6) -> gsheet.RetryPolicy:
    return gsheet.RetryPolicy(attempts=attempts, base_delay=1.0, max_delay=8.0, jitter=lambda: 1.0, clock=clock,
                              sleep=clock.sleep, writes_per_minute=per_minute, reads_per_minute=10**6)


@pytest.fixture(scope="module")
def report():
    s = settings.load(str(DEMO / "crm-audit.yaml"))
    return audit_export(s, str(DEMO / "pipedrive"), as_of=dt.date(2026, 11, 20))


@pytest.fixture
def fake(monkeypatch):
    from exporters.gsheet import render

    monkeypatch.setattr(render, "EXTRA_ROWS", 10)  # fewer drop-down rows: a faster fake, the same requests
    with FakeSheets() as server:
        yield server
        assert server.errors == [], server.errors[:3]


def open_sheet(fake, key, retry=None):
    if key not in fake.books:
        fake.create(key)
    return gsheet.open_spreadsheet(key, client=fake.client(), retry=retry or paced(Clock(), 10**6))


def edit(fake, key, title, deal, status=None, comment=None):
    sheet = fake.book(key).sheet(title)
    r = row_of(sheet, deal)
    if status is not None:
        sheet.set(f"{get_column_letter(column(sheet, HEADER_STATUS) + 1)}{r + 1}", status)
    if comment is not None:
        sheet.set(f"{get_column_letter(column(sheet, HEADER_COMMENT) + 1)}{r + 1}", comment)


def cell(fake, key, title, deal, header):
    sheet = fake.book(key).sheet(title)
    return sheet.values.get((row_of(sheet, deal), column(sheet, header)))


def deals(report, i):
    return [str(d) for d in report.results[i].rows["deal_id"]]


# --------------------------------------------------------------------------
# an edit saved while the run publishes


def test_an_edit_saved_during_the_publish_survives_and_is_returned(fake, report):
    key = "LATE_0123456789"
    sh = open_sheet(fake, key)
    gsheet.publish(report, sh)
    title = report.results[7].sheet_title  # «1.8 Нет источника»
    first, second = deals(report, 7)[:2]
    edit(fake, key, title, first, "Исправлено", "до аудита")
    seen = gsheet.read_edits(sh)  # the cycle's read-back

    def manager_saves(entry):  # after the read-back, before the values are written
        if entry["path"].endswith(":batchUpdate") and entry["method"] == "POST" and "/values" not in entry["path"]:
            edit(fake, key, title, second, "Не исправлено", "клиент не отвечает")
            edit(fake, key, title, first, comment="до аудита; позвонил ещё раз")
            fake.before_request = None

    fake.before_request = manager_saves
    result = gsheet.publish(carried(report, seen), sh, seen=seen)
    assert cell(fake, key, title, second, HEADER_STATUS) == "Не исправлено"
    assert cell(fake, key, title, second, HEADER_COMMENT) == "клиент не отвечает"
    assert cell(fake, key, title, first, HEADER_STATUS) == "Исправлено"
    assert cell(fake, key, title, first, HEADER_COMMENT) == "до аудита; позвонил ещё раз"
    late = sorted((e.rule_id, e.deal_id, e.status_raw, e.comment) for e in result.late_edits)
    assert late == sorted([
        ("missing-source", first, "Исправлено", "до аудита; позвонил ещё раз"),
        ("missing-source", second, "Не исправлено", "клиент не отвечает"),
    ])
    assert "2 row(s) edited in the sheet while the audit ran were kept" in result.summary()
    # nothing else changed hands: a publish without edits in between reports none
    again = gsheet.publish(carried(report, gsheet.read_edits(sh)), sh, seen=gsheet.read_edits(sh))
    assert again.late_edits == []


# --------------------------------------------------------------------------
# the per-minute write quota


@pytest.fixture
def many_requests(monkeypatch):
    """Small request bodies: the demo's publish needs a few dozen write requests (a large export's shape)."""
    monkeypatch.setattr(render, "MAX_BODY_BYTES", 6_000)


def test_a_publish_needing_several_quota_windows_completes_paced(fake, report, many_requests):
    clock = Clock()
    fake.clock, fake.write_quota = clock, 10
    key = "PACED_0123456789"
    sh = open_sheet(fake, key, paced(clock, 10))
    lines: list[str] = []
    result = gsheet.publish(report, sh, retry=paced(clock, 10), progress=lines.append)
    assert result.writes > 30 and fake.quota_refusals == 0  # paced: Google never had to refuse
    windows = (result.writes - 1) // 10
    assert lines[0] == (f"Google Sheets: {result.writes} write request(s); Google allows 10 per minute, "
                        f"this takes ~{windows} min.")
    assert result.estimate == 60.0 * windows and clock.now - 1000.0 >= 60.0 * windows
    assert any(line.endswith("~1 min left") for line in lines)
    assert any("waiting" in line and "min left" in line for line in lines)
    assert JOURNAL_GONE(fake, key)
    # the same document as an unthrottled publish
    fake.write_quota = None
    plain = FakeSheets().start()
    try:
        plain.create(key)
        gsheet.publish(report, gsheet.open_spreadsheet(key, client=plain.client(), retry=paced(Clock(), 10**6)))
        assert values_of(fake, key) == values_of(plain, key)
    finally:
        plain.stop()


def JOURNAL_GONE(fake, key) -> bool:  # noqa: N802
    return render.JOURNAL_TITLE not in fake.book(key).titles()


@pytest.mark.parametrize("retry_after", [True, False])
def test_quota_refusals_are_waited_out_and_the_publish_resumes(fake, report, many_requests, retry_after):
    """Google's quota is lower than the client thinks (another tool shares it): 429s, Retry-After or a full window."""
    clock = Clock()
    fake.clock, fake.write_quota, fake.quota_retry_after = clock, 10, retry_after
    fake.quota_window = 30.0  # Google's window here is shorter than the client's own: Retry-After says 30 s
    key = "REFUSED_0123456789"
    sh = open_sheet(fake, key)
    start = fake.request_count
    result = gsheet.publish(report, sh, retry=paced(clock, 60))
    assert fake.quota_refusals > 0 and JOURNAL_GONE(fake, key)
    writes = [e for e in fake.log[start:] if e["method"] != "GET"]
    accepted = [e for e in writes if e["status"] == 200]
    assert len(accepted) == result.writes  # every step sent once more after a refusal, never the whole publish
    assert len(writes) == len(accepted) + fake.quota_refusals
    waits = [s for s in clock.sleeps if s >= 1]
    if retry_after:
        assert waits == [30.0] * fake.quota_refusals  # Retry-After honoured
    else:
        assert waits == [60.0] * fake.quota_refusals  # no Retry-After: a full quota window


# --------------------------------------------------------------------------
# a publish killed half-way


class Killed(BaseException):
    """The process dies (not an error any code handles)."""


def test_a_publish_killed_half_way_loses_nothing_and_the_next_run_completes_it(fake, report, many_requests, monkeypatch):
    key = "KILLED_0123456789"
    sh = open_sheet(fake, key)
    gsheet.publish(report, sh)
    big = max(range(len(report.results)), key=lambda i: report.results[i].count)
    title = report.results[big].sheet_title
    ids = deals(report, big)
    wanted = {d: ("Не исправлено", f"комментарий {d}") for d in ids}
    for d, (status, comment) in wanted.items():
        edit(fake, key, title, d, status, comment)
    # the next audit finds a new deal on top: every row of the sheet moves down by one
    result = report.results[big]
    new_row = result.rows.iloc[:1].copy()
    new_row["deal_id"] = 999_999
    moved = dataclasses.replace(result, rows=pd.concat([new_row, result.rows], ignore_index=True))
    report2 = dataclasses.replace(report, results=[moved if r is result else r for r in report.results])

    seen = gsheet.read_edits(sh)
    writes = {"n": 0}
    real = sh.values_batch_update

    def dies_half_way(body, *args, **kwargs):  # the process is killed once part of the big sheet is written
        if any(vr["range"].startswith(f"'{title}'!") for vr in body["data"]):
            writes["n"] += 1
            if writes["n"] == 2:
                raise Killed()
        return real(body, *args, **kwargs)

    monkeypatch.setattr(sh, "values_batch_update", dies_half_way)
    with pytest.raises(Killed):
        gsheet.publish(carried(report2, seen), sh, seen=seen)
    monkeypatch.undo()

    # the half-written rule sheet alone has lost rows; the journal keeps them
    from exporters.gsheet.readback import sheet_edits

    on_sheet = {e.deal_id for e in sheet_edits(title, fake.book(key).sheet(title).grid(), HEADER_DEAL_ID, {})}
    assert set(wanted) - on_sheet, "the kill did not cut through the moved rows (the test proves nothing)"
    assert not JOURNAL_GONE(fake, key)

    # the next run: read back (journal included), publish again
    seen2 = gsheet.read_edits(sh)
    got = {e.deal_id: (e.status_raw, e.comment) for e in seen2 if e.rule_id == result.rule_id and e.deal_id in wanted}
    assert got == wanted
    gsheet.publish(carried(report2, seen2), sh, seen=seen2)
    for d, (status, comment) in wanted.items():
        assert cell(fake, key, title, d, HEADER_STATUS) == status
        assert cell(fake, key, title, d, HEADER_COMMENT) == comment
    assert JOURNAL_GONE(fake, key)
    grid = fake.book(key).sheet(title).grid()
    assert str(grid[1][column(fake.book(key).sheet(title), HEADER_DEAL_ID)]) == "999999"


# --------------------------------------------------------------------------
# why the spreadsheet cannot be reached, and what to do


@pytest.fixture
def key_file(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": "proj", "private_key_id": "abc", "private_key": pem,
            "client_email": EMAIL, "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}
    path = tmp_path / "key.json"
    path.write_text(json.dumps(info))
    return path, info


def _service_client(fake, info):
    from google.oauth2.service_account import Credentials

    return fake.client(Credentials.from_service_account_info(info, scopes=["https://www.googleapis.com/auth/spreadsheets"]))


def _no_secret(text: str, info: dict) -> None:
    assert "PRIVATE KEY" not in text and info["private_key"][40:80] not in text
    assert "fake-access-token" not in text and "Bearer" not in text


def test_each_cause_is_named_with_what_to_do(fake, key_file):
    path, info = key_file
    clock = Clock()
    fake.create("GOOD_0123456789")
    fake.create("HIDDEN_0123456789").can_read = False
    fake.create("VIEWER_0123456789").can_edit = False

    def check(key):
        return gsheet.check_access(key, path, client=_service_client(fake, info), retry=paced(clock))

    good = check("GOOD_0123456789")
    assert good.ok and good.cause == Cause.OK and EMAIL in good.message

    for key in ("HIDDEN_0123456789", "MISSING_0123456789"):
        res = check(key)
        assert not res.ok and res.cause == Cause.NOT_SHARED
        assert EMAIL in res.message and "«Share»" in res.message and "«Editor»" in res.message
        assert f"https://docs.google.com/spreadsheets/d/{key}" in res.message

    ro = check("VIEWER_0123456789")
    assert not ro.ok and ro.cause == Cause.READ_ONLY
    assert "Viewer or Commenter" in ro.message and "«Editor»" in ro.message and EMAIL in ro.message

    fake.api_disabled = True  # gspread turns this 403 into a bare PermissionError on opening
    off = check("GOOD_0123456789")
    assert not off.ok and off.cause == Cause.API_DISABLED
    assert "https://console.cloud.google.com/apis/library/sheets.googleapis.com?project=123456789012" in off.message
    assert "Share" not in off.message
    fake.api_disabled = False

    fake.token_refused = True  # the key was deleted or revoked: Google's token endpoint says invalid_grant
    refused = check("GOOD_0123456789")
    assert not refused.ok and refused.cause == Cause.CREDENTIALS
    assert "refused the credentials" in refused.message and "Add key" in refused.message and "Share" not in refused.message
    fake.token_refused = False

    fake.credentials_revoked = True  # a token Google no longer accepts: 401
    revoked = check("GOOD_0123456789")
    assert revoked.cause == Cause.CREDENTIALS and "Share" not in revoked.message
    fake.credentials_revoked = False

    fake.offline = True
    before = clock.now
    gone = check("GOOD_0123456789")
    assert gone.cause == Cause.UNREACHABLE and "cannot reach Google" in gone.message and "Share" not in gone.message
    assert clock.now - before <= 2.0  # one quick retry, not half a minute of backoff
    fake.offline = False

    for res in (good, ro, off, refused, revoked, gone):
        _no_secret(res.message, info)


def test_opening_for_a_run_raises_the_same_causes(fake, key_file):
    path, info = key_file
    fake.create("GOOD_0123456789")
    fake.create("VIEWER_0123456789").can_edit = False
    cases = [("api_disabled", Cause.API_DISABLED), ("token_refused", Cause.CREDENTIALS),
             ("credentials_revoked", Cause.CREDENTIALS), ("offline", Cause.UNREACHABLE)]
    for flag, cause in cases:
        setattr(fake, flag, True)
        with pytest.raises(OutputError) as info_:
            gsheet.open_spreadsheet("GOOD_0123456789", path, client=_service_client(fake, info), retry=paced(Clock()))
        setattr(fake, flag, False)
        assert info_.value.cause == cause, flag
        _no_secret(info_.value.message, info)
    with pytest.raises(OutputError) as missing:
        gsheet.open_spreadsheet("MISSING_0123456789", path, client=_service_client(fake, info), retry=paced(Clock()))
    assert missing.value.cause == Cause.NOT_SHARED and EMAIL in missing.value.message
    # a read-only sheet opens; the publish stops at the first write and says why
    sh = gsheet.open_spreadsheet("VIEWER_0123456789", path, client=_service_client(fake, info), retry=paced(Clock()))
    s = settings.load(str(DEMO / "crm-audit.yaml"))
    rep = audit_export(s, str(DEMO / "pipedrive"), as_of=dt.date(2026, 11, 20))
    with pytest.raises(OutputError) as ro:
        gsheet.publish(rep, sh, retry=paced(Clock()))
    assert ro.value.cause == Cause.READ_ONLY and "Viewer or Commenter" in ro.value.message
    assert access.GoogleSheetsError.__mro__[1] is OutputError  # exit 2 through the CLI
