"""Bitrix24 straight from its REST API through an incoming webhook (issue 14), against a fake that behaves like the real one.

Bitrix24's list export has no activities and no stage-change date, so the task
and stage rules are skipped on it; read through REST (crm.activity.list,
MOVED_TIME) they run. On every other rule the API and the export of one
dataset give identical findings.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

import samplegen
from fake_crm.bitrix24 import LOSE, WON, FakeBitrix24
from test_sources_hubspot import run_both, write_settings as hs_write_settings
from test_sources_pipedrive import FakeClock  # the sync's clock: waits recorded, never slept

from crm_audit import settings as settings_mod
from crm_audit import sources
from crm_audit.sources import errors as E
from crm_audit.sources.cache import SyncCache
from crm_audit.sources.connector import iso_utc

AS_OF = "2026-11-20"
HOOK_ENV = "BITRIX24_WEBHOOK"
CLI = [sys.executable, "-m", "crm_audit"]
TASK_AND_STAGE_RULES = {"open-deal-without-tasks", "frozen-deal-without-tasks", "overdue-tasks", "stuck-in-accepted", "no-stage-movement"}


def b24_settings() -> dict:
    s = dict(samplegen.DEFAULT_SETTINGS)
    s["crm"] = "bitrix24"
    s["deal_url"] = "https://acme.bitrix24.ru/crm/deal/details/{id}/"
    s["pipelines"] = {p: [*st, WON, LOSE] for p, st in s["pipelines"].items()}
    return s


@pytest.fixture(scope="module")
def dataset():
    return samplegen.generate(200, seed=31, as_of=dt.date(2026, 11, 20))


@pytest.fixture
def fake(dataset):
    f = FakeBitrix24.from_export(dataset, b24_settings()).start()
    yield f
    f.stop()
    assert f.schema_errors == [], f.schema_errors[:5]


def write_settings(folder: Path, fake, **api) -> Path:
    return hs_write_settings(folder, fake, b24_settings(), **api)


def do_sync(settings, fake, clock=None, **kw):
    clock = clock or FakeClock()
    return sources.sync(settings, environ={HOOK_ENV: fake.webhook()}, clock=clock, sleep=clock.sleep, **kw)


def cached(settings, obj):
    with SyncCache(sources.cache_file(settings), read_only=True) as c:
        return dict(c.live(obj))


def test_full_and_incremental_sync_50_a_page_with_deletions_by_id_check(tmp_path, fake):
    s = settings_mod.load(write_settings(tmp_path, fake))
    r = do_sync(s, fake)
    assert r.mode == "full"
    assert set(cached(s, "deals")) == set(fake.deals) and set(cached(s, "activities")) == set(fake.activities)
    # the first page alone (it says how many there are), the other pages in one `batch` call
    pages = [e for e in fake.log if e["path"].endswith("/crm.deal.list.json")]
    assert [e["query"].get("start") for e in pages] == ["0"]
    deal_batches = [b for b in fake.batch_cmds if b[0].startswith("crm.deal.list?") and "select%5B0%5D=%2A" in b[0]]
    assert len(deal_batches) == 1 and [c.rsplit("start=", 1)[1] for c in deal_batches[0]] == ["50", "100", "150"]
    assert len(fake.deals) == 195
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert fake.code.encode() not in p.read_bytes(), p
    ids = sorted(fake.deals, key=int)
    fake.tick(3600)
    kp = next(st["STATUS_ID"] for st in fake.statuses if st["NAME"] == "Отправлено КП" and st["CATEGORY_ID"] == fake.deals[ids[0]]["CATEGORY_ID"])
    fake.update("deals", ids[0], STAGE_ID=kp)
    fake.delete("deals", ids[1])
    act = sorted(fake.activities, key=int)[0]
    fake.update("activities", act, COMPLETED="Y")
    before = len(fake.log)
    r2 = do_sync(s, fake, check_deleted=True)
    assert r2.mode == "incremental"
    inc = [e for e in fake.log[before:] if e["path"].endswith("/crm.deal.list.json") and "filter[>=DATE_MODIFY]" in e["query"]]
    assert len(inc) == 1 and inc[0]["query"]["filter[>=DATE_MODIFY]"] <= fake.deals[ids[0]]["DATE_MODIFY"].replace("+03:00", "Z")
    assert ids[1] not in cached(s, "deals") and cached(s, "activities")[act]["COMPLETED"] == "Y"
    src = sources.source_for(s).load_export("error", dt.date(2026, 11, 20))
    row = src.con.execute(f"SELECT stage FROM deals WHERE id = '{ids[0]}'").fetchone()
    assert row == ("Отправлено КП",)


def test_query_limit_exceeded_and_429_with_retry_after_lose_nothing(tmp_path, fake):
    s = settings_mod.load(write_settings(tmp_path, fake))
    fake.inject("429", nth=2, path="/rest/1/", retry_after=5)
    fake.inject("503", nth=3, path="/rest/1/", retry_after=None)
    clock = FakeClock()
    r = do_sync(s, fake, clock)
    assert r.retries == 2 and 5 in [round(x) for x in clock.slept]
    assert set(cached(s, "deals")) == set(fake.deals)
    fake.rps_limit = 2  # the leaky bucket, on real time: the client keeps to 2/s itself
    s2 = settings_mod.load(write_settings(tmp_path / "b", fake))
    conn = sources.connector_for(s2, environ={HOOK_ENV: fake.webhook()})
    conn.objects = conn.objects[:3]  # users, categories, stages: a few requests are enough to see the pace
    before = len(fake.log)
    r = sources.sync(s2, connector=conn)
    assert r.waited > 0  # paced by the client
    assert len([e for e in fake.log[before:] if e["status"] == 503]) <= 1  # a rare refusal at the window's edge is retried
    assert len(cached(s2, "stages")) == len(fake.statuses)


def test_crm_check_says_what_is_wrong(tmp_path, fake):
    s = settings_mod.load(write_settings(tmp_path, fake))
    bad = fake.webhook().replace(fake.code, "wrongcode123")
    r = sources.check(s, environ={HOOK_ENV: bad})
    assert isinstance(r.error, E.BadToken) and "Входящий вебхук" in r.error.message and "wrongcode123" not in r.error.message
    fake.forbidden = ("crm.activity.list",)
    r = sources.check(s, environ={HOOK_ENV: fake.webhook()})
    assert isinstance(r.error, E.MissingScope) and [i.what for i in r.items if not i.ok] == ["activities (crm.activity.list)"]
    fake.forbidden = ()
    assert sources.check(s, environ={HOOK_ENV: fake.webhook()}).ok
    with pytest.raises(Exception, match="rest/<user>/<code>"):
        sources.connector_for(s, environ={HOOK_ENV: "k7x2m9q4w1z8r5t3"})
    cfg = write_settings(tmp_path / "cli", fake)
    out = subprocess.run(CLI + ["crm", "check", "--config", str(cfg)], env={**os.environ, HOOK_ENV: bad}, capture_output=True, text=True)
    assert out.returncode == 2 and "refused the webhook" in out.stdout and "wrongcode123" not in out.stdout + out.stderr


def test_parity_with_the_export_and_the_task_rules_run(tmp_path, fake):
    a, b = run_both(tmp_path, fake, b24_settings(), {HOOK_ENV: fake.webhook()})
    assert {r["rule_id"] for r in b} & TASK_AND_STAGE_RULES == set()  # the export cannot feed them
    assert {r["rule_id"] for r in a} >= TASK_AND_STAGE_RULES  # the API can
    assert [r for r in a if r["rule_id"] not in TASK_AND_STAGE_RULES] == b
    assert len(b) > 80


def test_batch_calls_carry_up_to_the_batch_size_and_an_error_inside_one_is_typed(tmp_path, fake):
    s = settings_mod.load(write_settings(tmp_path, fake))
    conn = sources.connector_for(s, environ={HOOK_ENV: fake.webhook()})
    conn.batch = 2  # Bitrix24 takes 50 commands; 2 here makes several batch calls of the 195 deals
    clock = FakeClock()
    conn.core.limiter.clock, conn.core.limiter._sleep = clock, clock.sleep
    r = sources.sync(s, connector=conn)
    deal_batches = [[c.rsplit("start=", 1)[1] for c in b] for b in fake.batch_cmds if b[0].startswith("crm.deal.list?") and "UF_" in b[0]]
    assert deal_batches == [["50", "100"], ["150"]]
    assert set(cached(s, "deals")) == set(fake.deals) and set(cached(s, "activities")) == set(fake.activities)
    assert r.requests == len(fake.log)  # a batch call is one request
    # a command refused inside a batch: the error is the command's, typed
    fake.forbidden = ("crm.activity.list",)
    first = sources.connector_for(s, environ={HOOK_ENV: fake.webhook()})
    fake.forbidden = ()
    fake.activities.update({str(900000 + k): dict(next(iter(fake.activities.values())), ID=str(900000 + k)) for k in range(60)})
    pages = first._list("crm.activity.list", {"order[ID]": "ASC"})
    assert len(next(pages)) == 50
    fake.forbidden = ("crm.activity.list",)
    with pytest.raises(E.MissingScope, match="crm.activity.list"):
        next(pages)


def test_stage_dates_come_from_crm_stagehistory_list_read_incrementally(tmp_path, fake):
    s = settings_mod.load(write_settings(tmp_path, fake))
    do_sync(s, fake)
    assert len(cached(s, "stage_history")) == len(fake.stagehistory)
    ids = sorted(fake.deals, key=int)
    deal = next(i for i in ids if not fake.deals[i]["STAGE_ID"].endswith(("WON", "LOSE")))
    stale = fake.deals[deal]["MOVED_TIME"]
    fake.tick(7200)
    kp = next(st["STATUS_ID"] for st in fake.statuses if st["NAME"] == "Отправлено КП" and st["CATEGORY_ID"] == fake.deals[deal]["CATEGORY_ID"]
              and st["STATUS_ID"] != fake.deals[deal]["STAGE_ID"])
    fake.update("deals", deal, STAGE_ID=kp, MOVED_TIME=stale)  # MOVED_TIME lags (a robot moved it); the history has the move
    moved = fake.stagehistory[str(len(fake.stagehistory))]["CREATED_TIME"]
    before = len(fake.log)
    do_sync(s, fake)
    hist = [e for e in fake.log[before:] if e["path"].endswith("/crm.stagehistory.list.json")]
    assert len(hist) == 1 and hist[0]["query"]["filter[>=CREATED_TIME]"] <= moved.replace("+03:00", "Z")
    src = sources.source_for(s).load_export("error", dt.date(2026, 11, 20))
    got = src.con.execute(f"SELECT strftime(stage_changed, '%Y-%m-%d') FROM deals WHERE id = '{deal}'").fetchone()[0]
    assert got == moved[:10] != stale[:10]


def test_a_sync_killed_mid_way_loses_nothing_and_the_next_resumes(tmp_path, fake):
    import signal

    cfg = write_settings(tmp_path, fake, commit_seconds=0)  # every page committed as it comes
    hold = fake.hold(f"/rest/1/{fake.code}/batch.json", 1)  # deals: the first page is in; the batch with the rest never answers
    env = {**os.environ, HOOK_ENV: fake.webhook(), "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.Popen(CLI + ["sync", "--config", str(cfg), "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert hold.reached.wait(60), proc.communicate(timeout=5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        hold.release.set()
    s = settings_mod.load(cfg)
    with SyncCache(sources.cache_file(s), read_only=True) as c:
        assert c.latest_sync() is None  # no finished sync
        wm = c.state("deals").watermark
        got = dict(c.live("deals"))
    # what was committed is whole: the watermark never passes a record that is not in the cache
    assert wm is not None and 0 < len(got) < len(fake.deals)
    assert all(iso_utc(d["DATE_MODIFY"]) > wm for i, d in fake.deals.items() if i not in got)
    before = len(fake.log)
    r = do_sync(s, fake)
    first = next(e for e in fake.log[before:] if e["path"].endswith("/crm.deal.list.json"))
    assert first["query"]["filter[>=DATE_MODIFY]"] <= wm  # resumed from the committed watermark (minus the overlap)
    assert set(cached(s, "deals")) == set(fake.deals) and set(cached(s, "activities")) == set(fake.activities)
    with SyncCache(sources.cache_file(s), read_only=True) as c:
        assert [row[0] for row in c.con.execute("SELECT status FROM syncs ORDER BY id").fetchall()] == ["interrupted", "done"]
    assert r.snapshot is not None


def test_the_webhook_code_never_appears_in_counters_messages_or_logs(tmp_path, fake, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    s = settings_mod.load(write_settings(tmp_path, fake))
    shown: list[str] = []
    clock = FakeClock()
    fake.inject("drop", nth=2, path="/rest/1/")
    r = sources.sync(s, environ={HOOK_ENV: fake.webhook()}, clock=clock, sleep=clock.sleep, progress=shown.append)
    assert r.by_path and all(fake.code not in p for p in r.by_path) and any("/rest/1/***/" in p for p in r.by_path)
    from crm_audit.sources.cli import sync_summary

    shown += sync_summary(r)
    # refusals and failures, each with the webhook's URL in hand
    fake.inject("500", nth=1, path="/rest/1/")
    conn = sources.connector_for(s, environ={HOOK_ENV: fake.webhook()})
    conn.core.limits.retries = 0
    errors = []
    for call in (lambda: conn.core.get("crm.deal.list.json"), lambda: conn.core.get("crm.nothing.here.json"),
                 lambda: conn.core.get("crm.activity.list.json")):
        fake.forbidden = ("crm.activity.list",)
        try:
            call()
        except E.SourceError as exc:
            errors.append(exc)
    fake.forbidden = ()
    assert [type(e) for e in errors] == [E.ApiResponseError, E.WrongDomain, E.MissingScope]
    shown += [e.message for e in errors] + [str(e.url) for e in errors] + [str(e) for e in errors]
    closed = settings_mod.load(write_settings(tmp_path / "closed", fake, base_url="http://127.0.0.1:9"))
    with pytest.raises(E.NoNetwork) as exc:
        conn2 = sources.connector_for(closed, environ={HOOK_ENV: fake.webhook()})
        conn2.core.limits.retries = 0
        conn2.core.get("user.get.json")
    shown += [exc.value.message, str(exc.value.url)]
    assert "HTTP Request" in caplog.text and "/rest/1/***/" in caplog.text  # httpx did log its requests (with the URL) ...
    for text in shown + [caplog.text]:
        assert fake.code not in text, text  # ... never with the code
