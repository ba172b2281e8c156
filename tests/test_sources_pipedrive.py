"""Pipedrive straight from its API (issue 14), against a fake that behaves like the real one.

The fake (tests/fake_crm/pipedrive.py) serves a realistic dataset
(tests/samplegen.py: every bundled rule hit, odd names, unknown stages) with
real cursor paging, inclusive ``updated_since``, deleted and archived deals,
nulls, 429 + Retry-After, dropped connections; every body it sends is checked
against Pipedrive's published OpenAPI specification.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import samplegen
from fake_crm.pipedrive import FakePipedrive

from crm_audit import settings as settings_mod
from crm_audit import sources
from crm_audit.sources import errors as E
from crm_audit.sources.cache import SyncCache

AS_OF = "2026-11-20"
TOKEN_ENV = "PIPEDRIVE_API_TOKEN"
CLI = [sys.executable, "-m", "crm_audit"]


class FakeClock:
    """The sync's clock: waits are recorded, never slept."""

    def __init__(self):
        self.t = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


@pytest.fixture(scope="module")
def dataset():
    return samplegen.generate(300, seed=11, as_of=dt.date(2026, 11, 20))


@pytest.fixture
def fake(dataset):
    f = FakePipedrive.from_export(dataset, samplegen.DEFAULT_SETTINGS).start()
    yield f
    f.stop()
    assert f.schema_errors == [], f.schema_errors[:5]


def write_settings(folder: Path, fake: FakePipedrive, **api) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = dict(samplegen.DEFAULT_SETTINGS)
    data["crm_api"] = {"base_url": fake.url, "page_size": 100, **api}
    path = folder / "crm-audit.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def load(path: Path):
    return settings_mod.load(path)


def do_sync(settings, fake, clock=None, **kw):
    clock = clock or FakeClock()
    return sources.sync(settings, environ={TOKEN_ENV: fake.token}, clock=clock, sleep=clock.sleep, **kw)


def cached(settings, obj: str) -> dict[str, dict]:
    with SyncCache(sources.cache_file(settings), read_only=True) as c:
        return dict(c.live(obj))


# --------------------------------------------------------------------------- paging, incremental, deletions


def test_full_sync_pages_every_object_and_writes_a_snapshot(tmp_path, fake):
    s = load(write_settings(tmp_path, fake))
    r = do_sync(s, fake)
    assert r.mode == "full" and r.snapshot is not None and r.snapshot.is_dir()
    assert len(cached(s, "deals")) == sum(1 for d in fake.deals.values() if not d["is_deleted"])
    assert set(cached(s, "activities")) == {str(i) for i in fake.activities}
    assert set(cached(s, "persons")) == {str(i) for i in fake.persons}
    # cursor paging: 100 a page, sorted by update time, each page asked once
    deal_pages = [e for e in fake.log if e["path"] == "/api/v2/deals" and e["query"].get("status") is None]
    assert len(deal_pages) == -(-sum(1 for d in fake.deals.values() if not d["is_deleted"]) // 100)
    assert all(e["query"]["sort_by"] == "update_time" and e["query"]["limit"] == "100" for e in deal_pages)
    assert [bool(e["query"].get("cursor")) for e in deal_pages] == [False] + [True] * (len(deal_pages) - 1)
    assert "updated_since" not in deal_pages[0]["query"]
    # the client counts what the CRM counts: requests and Pipedrive's token cost
    assert r.requests == len(fake.log) and r.cost == fake.tokens
    assert r.counts["deals"] == sum(1 for d in fake.deals.values() if not d["is_deleted"] and not d["is_archived"])
    # the token is nowhere on disk
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert fake.token.encode() not in p.read_bytes(), p


def test_incremental_sync_reads_from_the_watermark_and_sees_changes_and_deletions(tmp_path, fake):
    s = load(write_settings(tmp_path, fake))
    do_sync(s, fake)
    before = len(fake.log)
    ids = sorted(fake.deals)
    fake.tick(3600)
    fake.update("deals", ids[0], title="Переименованная сделка")
    fake.update("deals", ids[1], stage_id=next(st["id"] for st in fake.stages.values() if st["name"] == "Отправлено КП"))
    fake.delete("deals", ids[2])
    fake.archive(ids[3])
    gone_activity = sorted(fake.activities)[0]
    fake.delete("activities", gone_activity)
    new = fake.add("deals", {**fake.deals[ids[4]], "id": 10_000, "title": "Новая из API"})
    r = do_sync(s, fake)
    assert str(gone_activity) in cached(s, "activities")  # no deleted filter for activities; the id check is not due yet
    r = do_sync(s, fake, check_deleted=True)  # `crm-audit sync --check-deleted` (else every crm_api: id_check_days)
    assert r.mode == "incremental"
    deal_reqs = [e for e in fake.log[before:] if e["path"] == "/api/v2/deals" and e["query"].get("status") is None
                 and "updated_since" in e["query"]]
    assert len(deal_reqs) == 2 and deal_reqs[0]["query"]["updated_since"] <= fake.deals[ids[0]]["update_time"]
    deals = cached(s, "deals")
    assert deals[str(ids[0])]["title"] == "Переименованная сделка"
    assert str(new["id"]) in deals and str(ids[2]) not in deals and str(ids[3]) not in deals
    assert str(gone_activity) not in cached(s, "activities")  # found by the id check
    by_obj = {o.name: o for o in r.objects}
    assert by_obj["deals"].deleted == 2 and by_obj["activities"].deleted == 1
    # re-reading the overlap changes nothing: a third sync with no change in the CRM reads a few records again
    r3 = do_sync(s, fake)
    assert cached(s, "deals") == deals and r3.requests <= r.requests


def test_updated_since_is_inclusive_and_the_overlap_rereads_the_boundary(tmp_path, fake):
    s = load(write_settings(tmp_path, fake, overlap_minutes=0))
    do_sync(s, fake)
    with SyncCache(sources.cache_file(s), read_only=True) as c:
        wm = c.state("deals").watermark
    # a change stamped exactly at the watermark (same second as the last record read) is still seen
    fake.deals[sorted(fake.deals)[5]].update(title="В ту же секунду", update_time=wm)
    do_sync(s, fake)
    assert cached(s, "deals")[str(sorted(fake.deals)[5])]["title"] == "В ту же секунду"


def test_429_with_retry_after_and_a_connection_dropped_mid_page_lose_nothing(tmp_path, fake):
    s = load(write_settings(tmp_path, fake))
    fake.inject("429", nth=2, path="/api/v2/deals", retry_after=7)
    fake.inject("drop", nth=3, path="/api/v2/deals")
    fake.inject("503", nth=1, path="/api/v2/activities", retry_after=None)
    clock = FakeClock()
    r = do_sync(s, fake, clock)
    assert r.retries == 3
    assert 7 in [round(x) for x in clock.slept]  # Retry-After obeyed, on the sync's clock
    assert set(cached(s, "deals")) == {str(i) for i, d in fake.deals.items() if not d["is_deleted"]}
    assert set(cached(s, "activities")) == {str(i) for i in fake.activities}


def test_the_burst_window_is_obeyed_before_the_crm_refuses(tmp_path, fake):
    s = load(write_settings(tmp_path, fake))
    fake.burst = (4, 0.5)  # 4 requests per 0.5 s, the fake answers 429 past it
    r = sources.sync(s, environ={TOKEN_ENV: fake.token})
    assert [e for e in fake.log if e["status"] == 429] == []
    assert r.waited > 0 and r.retries == 0


def test_a_daily_budget_longer_than_a_sync_waits_stops_with_a_clear_error(tmp_path, fake):
    s = load(write_settings(tmp_path, fake))
    do_sync(s, fake)
    fake.inject("429", nth=1, path="/api/v2/deals", retry_after=6 * 3600)
    with pytest.raises(E.RateLimited, match="resumes where it stopped"):
        do_sync(s, fake)


def test_a_sync_killed_mid_way_loses_nothing_and_the_next_resumes(tmp_path, fake):
    cfg = write_settings(tmp_path, fake, commit_seconds=0, page_size=25)  # every page committed as it comes
    hold = fake.hold("/api/v2/deals", 5)  # the 5th page of deals never answers until released
    env = {**os.environ, TOKEN_ENV: fake.token, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.Popen(CLI + ["sync", "--config", str(cfg), "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert hold.reached.wait(60), proc.communicate(timeout=5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        hold.release.set()
    s = load(cfg)
    with SyncCache(sources.cache_file(s), read_only=True) as c:
        assert c.latest_sync() is None  # no finished sync
        wm = c.state("deals").watermark
        got = len(dict(c.live("deals")))
    assert got == 4 * 25 and wm is not None  # the 4 committed pages and their watermark survived the kill
    before = len(fake.log)
    r = do_sync(s, fake)
    first = next(e for e in fake.log[before:] if e["path"] == "/api/v2/deals")
    assert first["query"]["updated_since"] <= wm  # resumed from the committed watermark (minus the overlap)
    assert set(cached(s, "deals")) == {str(i) for i, d in fake.deals.items() if not d["is_deleted"]}
    with SyncCache(sources.cache_file(s), read_only=True) as c:
        assert [row[0] for row in c.con.execute("SELECT status FROM syncs ORDER BY id").fetchall()] == ["interrupted", "done"]
        assert c.con.execute("SELECT count(*), count(DISTINCT id) FROM records WHERE object = 'deals'").fetchone()[0] == \
            c.con.execute("SELECT count(DISTINCT id) FROM records WHERE object = 'deals'").fetchone()[0]
    assert r.snapshot is not None


# --------------------------------------------------------------------------- what is wrong, exactly


def test_typed_errors_say_what_is_wrong_and_never_show_the_token(tmp_path, fake):
    s = load(write_settings(tmp_path, fake))
    with pytest.raises(E.BadToken, match="Personal preferences › API") as bad:
        do_sync(s, type("F", (), {"token": "wrong-token-123456"})())
    assert "wrong-token-123456" not in bad.value.message
    with pytest.raises(E.NoCredentials, match=TOKEN_ENV):
        sources.sync(s, environ={})
    fake.no_scope = ("/api/v2/activities",)
    r = sources.check(s, environ={TOKEN_ENV: fake.token})
    assert not r.ok and [i.what for i in r.items if not i.ok] == ["activities (activities:read)"]
    assert isinstance(r.error, E.MissingScope)
    fake.no_scope = ()
    fake.api_disabled = True
    r = sources.check(s, environ={TOKEN_ENV: fake.token})
    assert isinstance(r.error, E.ApiDisabled) and "«Use API»" in r.error.message
    fake.api_disabled = False
    assert sources.check(s, environ={TOKEN_ENV: fake.token}).ok


def test_wrong_domain_and_no_network_are_told_apart(tmp_path, fake):
    import socket

    s = load(write_settings(tmp_path, fake, base_url="http://no-such-company.invalid"))
    conn = sources.connector_for(s, environ={TOKEN_ENV: fake.token})
    conn.core.probe_host = "localhost"  # the CRM's own host answers: the account address is what is wrong
    r = conn.check()
    assert isinstance(r.error, E.WrongDomain) and "no-such-company.invalid" in r.error.message
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there
    s = load(write_settings(tmp_path, fake, base_url=f"http://127.0.0.1:{port}"))
    conn = sources.connector_for(s, environ={TOKEN_ENV: fake.token})
    conn.core.limits.retries = 1
    conn.core.limits.backoff = 0.01
    assert isinstance(conn.check().error, E.NoNetwork)


def test_crm_check_through_the_cli(tmp_path, fake):
    cfg = write_settings(tmp_path, fake)
    env = {**os.environ, TOKEN_ENV: fake.token}
    ok = subprocess.run(CLI + ["crm", "check", "--config", str(cfg)], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "ok   deals (deals:read)" in ok.stdout and "the audit can read everything it needs" in ok.stdout
    env[TOKEN_ENV] = "revoked-token-98765"
    bad = subprocess.run(CLI + ["crm", "check", "--config", str(cfg)], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "refused the API token" in bad.stdout and "revoked-token-98765" not in bad.stdout + bad.stderr


# --------------------------------------------------------------------------- the audit: same findings as the export


def _violations(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return sorted(csv.DictReader(f), key=lambda r: (r["rule_id"], r["deal_id"]))


def test_parity_the_api_and_the_export_of_one_dataset_give_identical_findings(tmp_path, fake):
    """One dataset: served by the fake API, and written as Pipedrive's export from the same state."""
    cfg = write_settings(tmp_path / "api", fake)
    env = {**os.environ, TOKEN_ENV: fake.token}
    api = subprocess.run(CLI + ["run", "--from-crm", "--config", str(cfg), "--as-of", AS_OF, "--violations-csv",
                                str(tmp_path / "api.csv"), "--out", str(tmp_path / "api.xlsx")], env=env, capture_output=True, text=True)
    assert api.returncode == 0, api.stderr
    assert "Sync 1 (full) of pipedrive" in api.stdout
    export = tmp_path / "export"
    samplegen.write_pipedrive(fake.to_export(), export)
    xcfg = tmp_path / "xp" / "crm-audit.yaml"
    xcfg.parent.mkdir()
    xcfg.write_text(yaml.safe_dump(dict(samplegen.DEFAULT_SETTINGS), allow_unicode=True), encoding="utf-8")
    exp = subprocess.run(CLI + ["run", "--export", str(export), "--config", str(xcfg), "--as-of", AS_OF, "--violations-csv",
                                str(tmp_path / "export.csv")], capture_output=True, text=True)
    assert exp.returncode == 0, exp.stderr
    a, b = _violations(tmp_path / "api.csv"), _violations(tmp_path / "export.csv")
    assert len(a) > 200 and len({r["rule_id"] for r in a}) == 17  # every bundled rule hit
    assert a == b
    # the ledger says which sync the audit read; the snapshot reproduces it
    from crm_audit.history.ledger import Ledger

    with Ledger(tmp_path / "api" / "crm-audit.db") as ledger:
        audit = ledger.latest_audit()
        sync = ledger.sync_of(audit["id"])
    assert sync["sync_id"] == 1 and sync["crm"] == "pipedrive" and Path(sync["snapshot"]).is_dir()
    assert "pipedrive API #1 (" in audit["export_dir"]
    fake.tick(3600)
    fake.update("deals", sorted(fake.deals)[0], title="тест")  # the CRM moves on
    again = subprocess.run(CLI + ["run", "--snapshot", sync["snapshot"], "--config", str(cfg), "--as-of", AS_OF, "--violations-csv",
                                  str(tmp_path / "again.csv"), "--ledger", str(tmp_path / "scratch.db")], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert _violations(tmp_path / "again.csv") == a


def test_init_from_crm_writes_settings_that_run(tmp_path, fake):
    """`init --crm pipedrive --from-crm`: pipelines in the CRM's order, users, custom fields; then `run --from-crm` audits."""
    env = {**os.environ, TOKEN_ENV: fake.token}
    # the CRM's order differs from the handbook's: a team that put «Квалификация» first
    pipe = next(p["id"] for p in fake.pipelines.values() if p["name"] == "Клиенты")
    st = sorted((s for s in fake.stages.values() if s["pipeline_id"] == pipe), key=lambda s: s["order_nr"])
    st[0]["order_nr"], st[1]["order_nr"] = st[1]["order_nr"], st[0]["order_nr"]
    folder = tmp_path / "team"
    from crm_audit.sources.initcrm import write_settings_from_crm

    path = write_settings_from_crm(folder, "pipedrive", base_url=fake.url, environ={TOKEN_ENV: fake.token})
    text = path.read_text(encoding="utf-8")
    assert fake.token not in text and "token_env: \"PIPEDRIVE_API_TOKEN\"" in text
    s = settings_mod.load(path)
    assert s.pipelines["Клиенты"][:2] == ["Квалификация", "Принял в работу"]
    assert s.crm_api.base_url == fake.url
    assert "Павел Орлов   (отключён)" in text and "«Источник сделки» (enum)" in text
    run = subprocess.run(CLI + ["run", "--from-crm", "--config", str(path), "--as-of", AS_OF, "--violations-csv", str(tmp_path / "v.csv")],
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "(incremental)" in run.stdout  # init's full sync made the first audit incremental
    assert len(_violations(tmp_path / "v.csv")) > 100
