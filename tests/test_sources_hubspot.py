"""HubSpot straight from its CRM API (issue 14), against a fake that behaves like the real one.

The fake (tests/fake_crm/hubspot.py) serves the sample dataset with the search
API's paging and its 10,000-result cap, v4 association batch reads, archived
records, HubSpot's ten-second window headers and 429s; every body it sends is
checked against a JSON schema written from HubSpot's API reference.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import samplegen
from fake_crm.hubspot import FakeHubSpot
from test_sources_pipedrive import FakeClock  # the sync's clock: waits recorded, never slept

from crm_audit import settings as settings_mod
from crm_audit import sources
from crm_audit.sources import errors as E
from crm_audit.sources.cache import SyncCache

AS_OF = "2026-11-20"
TOKEN_ENV = "HUBSPOT_TOKEN"
CLI = [sys.executable, "-m", "crm_audit"]


def hs_settings() -> dict:
    s = dict(samplegen.DEFAULT_SETTINGS)
    s["crm"] = "hubspot"
    s["deal_url"] = "https://app-eu1.hubspot.com/contacts/146223377/record/0-3/{id}"
    s["pipelines"] = {p: [*st, "Closed Won", "Closed Lost"] for p, st in s["pipelines"].items()}
    return s


@pytest.fixture(scope="module")
def dataset():
    return samplegen.generate(250, seed=29, as_of=dt.date(2026, 11, 20))


@pytest.fixture
def fake(dataset):
    f = FakeHubSpot.from_export(dataset, hs_settings()).start()
    yield f
    f.stop()
    assert f.schema_errors == [], f.schema_errors[:5]


def write_settings(folder: Path, fake, settings: dict | None = None, **api) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = settings or hs_settings()
    data["crm_api"] = {"base_url": fake.url, **api}
    path = folder / "crm-audit.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def do_sync(settings, fake, clock=None, **kw):
    clock = clock or FakeClock()
    return sources.sync(settings, environ={TOKEN_ENV: fake.token}, clock=clock, sleep=clock.sleep, **kw)


def cached(settings, obj):
    with SyncCache(sources.cache_file(settings), read_only=True) as c:
        return dict(c.live(obj))


def searches(fake, obj, since=0):
    return [e for e in fake.log[since:] if e["path"] == f"/crm/v3/objects/{obj}/search"]


def test_full_then_incremental_sync_by_modification_date_with_associations_and_deletions(tmp_path, fake):
    s = settings_mod.load(write_settings(tmp_path, fake, page_size=50))
    r = do_sync(s, fake)
    assert r.mode == "full" and r.snapshot is not None
    assert set(cached(s, "deals")) == set(fake.objects["deals"])
    assert set(cached(s, "tasks")) == set(fake.objects["tasks"])
    assert len(searches(fake, "deals")) == -(-len(fake.objects["deals"]) // 50)
    # associations come from the v4 batch read, one request per page and kind
    deal = next(d for d, links in fake.assoc[("deals", "companies")].items())
    assert cached(s, "deals")[deal]["_assoc"]["companies"] == [[fake.assoc[("deals", "companies")][deal][0][0], True]]
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert fake.token.encode() not in p.read_bytes(), p
    # the CRM moves on: a stage change, an archived (deleted) deal and company, a completed task
    ids = sorted(fake.objects["deals"])
    fake.tick(3600)
    kp = next(st["id"] for p in fake.pipelines.values() for st in p["stages"] if st["label"] == "Отправлено КП")
    pipe = next(p["id"] for p in fake.pipelines.values() if any(st["id"] == kp for st in p["stages"]))
    fake.update("deals", ids[0], dealstage=kp, pipeline=pipe)
    fake.archive("deals", ids[1])
    fake.archive("companies", sorted(fake.objects["companies"])[-1])
    task = sorted(fake.objects["tasks"])[0]
    fake.update("tasks", task, hs_task_status="COMPLETED")
    before = len(fake.log)
    r2 = do_sync(s, fake)
    assert r2.mode == "incremental" and r2.requests < r.requests
    deal_search = searches(fake, "deals", before)
    assert len(deal_search) == 1  # only what changed since the watermark (minus the overlap)
    deals = cached(s, "deals")
    assert ids[1] not in deals and deals[ids[0]]["properties"]["dealstage"] == kp
    assert sorted(fake.archived["companies"])[0] not in cached(s, "companies")
    assert cached(s, "tasks")[task]["properties"]["hs_task_status"] == "COMPLETED"
    src = sources.source_for(s).load_export("error", dt.date(2026, 11, 20))
    row = src.con.execute(f"SELECT stage, pipeline FROM deals WHERE id = '{ids[0]}'").fetchone()
    assert row == ("Отправлено КП", fake.pipelines[pipe]["label"])
    assert src.con.execute(f"SELECT count(*) FROM deals WHERE id = '{ids[1]}'").fetchone()[0] == 0


def test_search_past_its_10000_cap_starts_again_from_the_last_date(tmp_path, fake):
    s = settings_mod.load(write_settings(tmp_path, fake, page_size=40))
    fake.search_cap = 100  # HubSpot: 10,000; the same logic, smaller
    conn = sources.connector_for(s, environ={TOKEN_ENV: fake.token})
    conn.search_cap = 100
    clock = FakeClock()
    conn.core.limiter.clock, conn.core.limiter._sleep = clock, clock.sleep
    r = sources.sync(s, connector=conn)
    assert set(cached(s, "deals")) == set(fake.objects["deals"]) and len(fake.objects["deals"]) > 200
    assert set(cached(s, "companies")) == set(fake.objects["companies"]) and len(fake.objects["companies"]) > 100
    assert [e for e in fake.log if e["status"] == 400] == []  # never asked past the cap
    assert r.counts["deals"] == len(fake.objects["deals"])
    filters = lambda obj: [[(f["propertyName"], f["operator"]) for g in b["filterGroups"] for f in g["filters"]]  # noqa: E731
                           for o, b in fake.search_bodies if o == obj and "after" not in b]
    # deals: started again from the last modification date read
    assert filters("deals")[0] == [] and [("hs_lastmodifieddate", "GTE")] in filters("deals")
    # companies, all imported at one moment: read by id within that date, then after it
    assert [("hs_lastmodifieddate", "EQ"), ("hs_object_id", "GT")] in filters("companies")
    assert [("hs_lastmodifieddate", "GT")] in filters("companies")


def test_429_with_retry_after_and_the_ten_second_window(tmp_path, fake):
    s = settings_mod.load(write_settings(tmp_path, fake))
    fake.inject("429", nth=2, path="/crm/v3/objects/deals/search", retry_after=7)
    fake.inject("drop", nth=1, path="/crm/v4/associations")
    clock = FakeClock()
    r = do_sync(s, fake, clock)
    assert r.retries == 2 and 7 in [round(x) for x in clock.slept]
    assert set(cached(s, "deals")) == set(fake.objects["deals"])
    # the window: HubSpot's headers say how many requests are left in it; the client waits before a 429
    s2 = settings_mod.load(write_settings(tmp_path / "w", fake))
    fake.window = (6, 0.5)
    r = sources.sync(s2, environ={TOKEN_ENV: fake.token})
    assert [e for e in fake.log if e["status"] == 429 and e["path"] != "/crm/v3/objects/deals/search"] == []
    assert r.waited > 0


def test_crm_check_says_what_is_wrong(tmp_path, fake):
    s = settings_mod.load(write_settings(tmp_path, fake))
    r = sources.check(s, environ={TOKEN_ENV: "pat-eu1-revoked-0000"})
    assert isinstance(r.error, E.BadToken) and "Private apps" in r.error.message and "pat-eu1-revoked-0000" not in r.error.message
    fake.forbidden = ("/crm/v3/objects/tasks",)
    r = sources.check(s, environ={TOKEN_ENV: fake.token})
    assert isinstance(r.error, E.MissingScope) and [i.what for i in r.items if not i.ok] == ["tasks"]
    assert "crm.objects.tasks.read" in r.error.message
    fake.forbidden = ()
    with pytest.raises(E.NoCredentials, match=TOKEN_ENV):
        sources.sync(s, environ={})
    cfg = write_settings(tmp_path / "cli", fake)
    env = {**os.environ, TOKEN_ENV: fake.token}
    ok = subprocess.run(CLI + ["crm", "check", "--config", str(cfg)], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr + ok.stdout
    assert "deals (crm.objects.deals.read)" in ok.stdout
    env[TOKEN_ENV] = "pat-eu1-revoked-0000"
    bad = subprocess.run(CLI + ["crm", "check", "--config", str(cfg)], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "refused the access token" in bad.stdout and "pat-eu1-revoked-0000" not in bad.stdout + bad.stderr


def _violations(path):
    with open(path, encoding="utf-8") as f:
        return sorted(csv.DictReader(f), key=lambda r: (r["rule_id"], r["deal_id"]))


def run_both(tmp_path: Path, fake, settings: dict, env: dict) -> tuple[list[dict], list[dict]]:
    """The audit of one dataset twice through the CLI: `run --from-crm` on the fake API, `run --export` on the fake's export."""
    cfg = write_settings(tmp_path / "api", fake, settings)
    api = subprocess.run(CLI + ["run", "--from-crm", "--config", str(cfg), "--as-of", AS_OF, "--violations-csv", str(tmp_path / "api.csv")],
                         env={**os.environ, **env}, capture_output=True, text=True)
    assert api.returncode == 0, api.stderr
    export = tmp_path / "export"
    fake.write_export(export)
    xcfg = tmp_path / "xp" / "crm-audit.yaml"
    xcfg.parent.mkdir()
    xcfg.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    exp = subprocess.run(CLI + ["run", "--export", str(export), "--config", str(xcfg), "--as-of", AS_OF, "--violations-csv",
                                str(tmp_path / "export.csv")], capture_output=True, text=True)
    assert exp.returncode == 0, exp.stderr
    return _violations(tmp_path / "api.csv"), _violations(tmp_path / "export.csv")


def test_parity_the_api_and_the_export_of_one_dataset_give_identical_findings(tmp_path, fake):
    a, b = run_both(tmp_path, fake, hs_settings(), {TOKEN_ENV: fake.token})
    assert len(b) > 100
    assert a == b


def test_init_from_crm_reads_pipelines_in_order_and_deactivated_owners(tmp_path, fake):
    from crm_audit.sources.initcrm import write_settings_from_crm

    path = write_settings_from_crm(tmp_path / "team", "hubspot", base_url=fake.url, environ={TOKEN_ENV: fake.token})
    text = path.read_text(encoding="utf-8")
    assert fake.token not in text
    s = settings_mod.load(path)
    assert s.pipelines["Клиенты"][-2:] == ["Closed Won", "Closed Lost"] and s.pipelines["Клиенты"][0] == "Принял в работу"
    assert "Павел Орлов" in text and "(отключён)" in text and "«Источник сделки»" in text


def test_a_sync_killed_mid_way_loses_nothing_and_the_next_resumes(tmp_path, fake):
    import signal

    from crm_audit.sources.connector import iso_utc

    cfg = write_settings(tmp_path, fake, commit_seconds=0, page_size=50)  # every page committed as it comes
    hold = fake.hold("/crm/v3/objects/deals/search", 3)  # the 3rd page of deals never answers until released
    env = {**os.environ, TOKEN_ENV: fake.token, "PYTHONPATH": str(Path(__file__).parents[1])}
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
    # what was committed is whole: every deal modified up to the watermark is in the cache
    assert wm is not None and 0 < len(got) < len(fake.objects["deals"])
    assert all(iso_utc(d["properties"]["hs_lastmodifieddate"]) > wm for i, d in fake.objects["deals"].items() if i not in got)
    before = len(fake.search_bodies)
    r = do_sync(s, fake)
    first = next(b for o, b in fake.search_bodies[before:] if o == "deals")
    (f,) = first["filterGroups"][0]["filters"]
    assert f["operator"] == "GTE" and int(f["value"]) <= int(dt.datetime.fromisoformat(wm.replace("Z", "+00:00")).timestamp() * 1000)
    assert set(cached(s, "deals")) == set(fake.objects["deals"]) and set(cached(s, "tasks")) == set(fake.objects["tasks"])
    with SyncCache(sources.cache_file(s), read_only=True) as c:
        assert [row[0] for row in c.con.execute("SELECT status FROM syncs ORDER BY id").fetchall()] == ["interrupted", "done"]
    assert r.snapshot is not None
