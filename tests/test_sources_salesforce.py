"""Salesforce straight from its REST API (issue 14), against a fake that behaves like the real one.

The fake (tests/fake_crm/salesforce.py) signs in with the JWT bearer flow (the
assertion's signature checked with the connected app's key), answers a SOQL
subset through query / queryAll with nextRecordsUrl paging, describes objects,
reports the daily allocation in Sforce-Limit-Info, and validates every body
against a JSON schema written from Salesforce's REST API Developer Guide.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

import samplegen
from fake_crm.salesforce import DATA, LOST, WON, FakeSalesforce
from test_sources_hubspot import run_both, write_settings as hs_write_settings
from test_sources_pipedrive import FakeClock  # the sync's clock: waits recorded, never slept

from crm_audit import settings as settings_mod
from crm_audit import sources
from crm_audit.sources import errors as E
from crm_audit.sources.cache import SyncCache

KEY_ENV = "SALESFORCE_PRIVATE_KEY"
CLI = [sys.executable, "-m", "crm_audit"]
TASK_AND_STAGE_RULES = {"open-deal-without-tasks", "frozen-deal-without-tasks", "overdue-tasks", "stuck-in-accepted", "no-stage-movement"}


def pipelines_settings() -> dict:
    """The sample team's three pipelines, each an opportunity record type with its own sales process in the org."""
    s = dict(samplegen.DEFAULT_SETTINGS)
    s["crm"] = "salesforce"
    s["deal_url"] = "https://acme.lightning.force.com/lightning/r/Opportunity/{id}/view"
    s["pipelines"] = {name: [*stages, WON, LOST] for name, stages in s["pipelines"].items()}
    return s


def sf_settings() -> dict:
    """An org without opportunity record types: one pipeline with every stage."""
    s = pipelines_settings()
    stages: list[str] = []
    for names in s["pipelines"].values():
        stages += [x for x in names if x not in stages and x not in (WON, LOST)]
    s["pipelines"] = {"Продажи": [*stages, WON, LOST]}
    return s


@pytest.fixture(scope="module")
def dataset():
    return samplegen.generate(300, seed=37, as_of=dt.date(2026, 11, 20))


@pytest.fixture
def fake(dataset):
    f = FakeSalesforce.from_export(dataset, sf_settings()).start()
    yield f
    f.stop()
    assert f.schema_errors == [], f.schema_errors[:5]


def write_settings(folder: Path, fake, settings: dict | None = None, **api) -> Path:
    return hs_write_settings(folder, fake, settings or sf_settings(), client_id=fake.client_id, username=fake.username, **api)


def env(fake) -> dict:
    return {KEY_ENV: fake.private_key_pem()}


def do_sync(settings, fake, clock=None, **kw):
    clock = clock or FakeClock()
    return sources.sync(settings, environ=env(fake), clock=clock, sleep=clock.sleep, **kw)


def cached(settings, obj, deleted=False):
    with SyncCache(sources.cache_file(settings), read_only=True) as c:
        if deleted:
            return {i for (i,) in c.con.execute("SELECT id FROM records WHERE object = ? AND deleted", [obj]).fetchall()}
        return dict(c.live(obj))


def queries(fake, since=0):
    return [e for e in fake.log[since:] if e["path"].startswith(f"{DATA}/query")]


def live(fake, obj):
    return {i for i, r in fake.store[obj].items() if not r.get("IsDeleted")}


def test_full_then_incremental_sync_by_systemmodstamp_with_next_records_url_and_deletions(tmp_path, fake):
    s = settings_mod.load(write_settings(tmp_path, fake, page_size=200))
    r = do_sync(s, fake)
    assert r.mode == "full" and r.snapshot is not None and fake.logins == 1
    assert set(cached(s, "opportunities")) == live(fake, "Opportunity") and len(live(fake, "Opportunity")) > 200
    assert set(cached(s, "tasks")) == live(fake, "Task") and set(cached(s, "history")) == live(fake, "OpportunityHistory")
    # queryAll from the beginning, then the batches by nextRecordsUrl (200 a batch)
    first = next(e for e in queries(fake) if "FROM Opportunity " in e["query"].get("q", ""))
    assert first["path"] == f"{DATA}/queryAll" and first["query"]["q"].endswith("ORDER BY SystemModstamp ASC, Id ASC")
    assert "Istochnik_sdelki__c" in first["query"]["q"]  # custom fields from describe
    pages = [e for e in queries(fake) if e["path"].startswith(f"{DATA}/query/")]
    assert len(pages) >= 2 and all(e["query"] == {} for e in pages)
    # deleted (recycle bin) opportunities of the dataset came back from queryAll and are kept as deleted
    gone = {i for i, r in fake.store["Opportunity"].items() if r["IsDeleted"]}
    assert gone and gone <= cached(s, "opportunities", deleted=True)
    assert r.daily is not None and r.daily[1] == 15_000 and r.daily[0] == fake.daily_used
    for p in tmp_path.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            assert b"PRIVATE KEY" not in data and not any(t.encode() in data for t in fake.tokens), p
    # the CRM moves on
    ids = sorted(live(fake, "Opportunity"))
    opp = next(i for i in ids if fake.store["Opportunity"][i]["StageName"] == "Квалификация")
    fake.tick(3600)
    fake.update("Opportunity", opp, StageName="Отправлено КП")
    fake.delete("Opportunity", ids[1])
    task = sorted(live(fake, "Task"))[0]
    fake.update("Task", task, Status="Completed", IsClosed=True)
    before = len(fake.log)
    r2 = do_sync(s, fake)
    assert r2.mode == "incremental" and r2.requests < r.requests
    inc = [e for e in queries(fake, before) if "FROM Opportunity " in e["query"].get("q", "")]
    assert len(inc) == 1 and "WHERE SystemModstamp >= " in inc[0]["query"]["q"]
    assert ids[1] not in cached(s, "opportunities") and cached(s, "tasks")[task]["IsClosed"] is True
    src = sources.source_for(s).load_export("error", dt.date(2026, 11, 20))
    stage, changed, pipeline = src.con.execute(f"SELECT stage, stage_changed, pipeline FROM deals WHERE id = '{opp}'").fetchone()
    assert (stage, pipeline) == ("Отправлено КП", "Продажи")  # no record types: one pipeline
    assert {c for (c,) in src.con.execute("SELECT DISTINCT currency FROM deals").fetchall()} == {"RUB"}  # the org's default currency
    assert str(changed)[:10] == fake.now.astimezone(fake.tz).date().isoformat()  # entered now, by OpportunityHistory
    assert src.con.execute(f"SELECT count(*) FROM deals WHERE id = '{ids[1]}'").fetchone()[0] == 0
    # a record purged from the recycle bin is found by the id check
    fake.purge("Account", sorted(live(fake, "Account"))[-1])
    r3 = do_sync(s, fake, check_deleted=True)
    assert next(o for o in r3.objects if o.name == "accounts").deleted == 1


def test_stage_change_date_is_the_latest_entry_into_the_current_stage(tmp_path, fake):
    s = settings_mod.load(write_settings(tmp_path, fake))
    do_sync(s, fake)
    src = sources.source_for(s).load_export("error", dt.date(2026, 11, 20))
    got = dict(src.con.execute("SELECT id, strftime(stage_changed, '%Y-%m-%d') FROM deals").fetchall())
    # history rows that are not stage changes (an amount change later in the stage) do not move the date
    want = {i: dt.datetime.fromisoformat(fake.stage_entered(i).replace("+0000", "+00:00")).astimezone(fake.tz).date().isoformat()
            for i in live(fake, "Opportunity")}
    assert got == want


def test_an_expired_session_signs_in_again_once_and_a_dropped_page_is_asked_again(tmp_path, fake):
    s = settings_mod.load(write_settings(tmp_path, fake, page_size=200))
    conn = sources.connector_for(s, environ=env(fake))
    clock = FakeClock()
    conn.core.limiter.clock, conn.core.limiter._sleep = clock, clock.sleep
    real_get = conn.core.get
    calls = {"n": 0}

    def get(path, params=None, cost=1):
        calls["n"] += 1
        if calls["n"] == 12:
            fake.expire_sessions()  # the session times out mid-sync
        return real_get(path, params, cost)

    conn.core.get = get
    fake.inject("drop", nth=1, path=f"{DATA}/query/")
    fake.inject("503", nth=4, path=f"{DATA}/query", retry_after=3)
    r = sources.sync(s, connector=conn)
    assert fake.logins == 2 and r.retries == 2 and 3 in [round(x) for x in clock.slept]
    assert set(cached(s, "opportunities")) == live(fake, "Opportunity")
    # a key that does not match the app's certificate: a bad token, said plainly, the key never shown
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with pytest.raises(E.BadToken, match="certificate") as exc:
        sources.sync(s, environ={KEY_ENV: other})
    assert "PRIVATE KEY" not in str(exc.value)


def test_the_daily_allocation_is_respected_and_shown(tmp_path, fake):
    s = settings_mod.load(write_settings(tmp_path, fake, page_size=200))
    fake.daily_used = 13_495  # another integration used most of today's 15,000
    with pytest.raises(E.RateLimited, match="13,500 of its 15,000") as exc:
        do_sync(s, fake)
    assert "resumes" in exc.value.message and fake.daily_used == 13_500  # stopped before the last 10%
    with SyncCache(sources.cache_file(s), read_only=True) as c:
        assert c.latest_sync(with_snapshot=False).status == "failed"
    fake.daily_used = 100  # a day later: the sync resumes
    r = do_sync(s, fake)
    assert set(cached(s, "opportunities")) == live(fake, "Opportunity") and r.daily == (fake.daily_used, 15_000)
    from crm_audit.sources.cli import sync_summary

    assert any(f"{fake.daily_used:,} of 15,000 requests used" in line for line in sync_summary(r))
    fake.daily_used = 15_000  # the org's allocation is used up by others: REQUEST_LIMIT_EXCEEDED
    s2 = settings_mod.load(write_settings(tmp_path / "b", fake, daily_reserve=0))
    with pytest.raises(E.RateLimited, match="used up"):
        do_sync(s2, fake)


def test_crm_check_says_what_is_wrong(tmp_path, fake):
    s = settings_mod.load(write_settings(tmp_path, fake))
    assert sources.check(s, environ=env(fake)).ok
    fake.forbidden = ("Task",)
    r = sources.check(s, environ=env(fake))
    assert isinstance(r.error, E.MissingScope) and [i.what for i in r.items if not i.ok] == ["tasks (Task)"]
    fake.forbidden = ()
    wrong_app = settings_mod.load(write_settings(tmp_path / "app", fake, settings=None) )
    wrong_app.crm_api = wrong_app.crm_api.model_copy(update={"client_id": "3MVG9unknownConsumerKey"})
    r = sources.check(wrong_app, environ=env(fake))
    assert isinstance(r.error, E.BadToken) and "Consumer Key" in r.error.message
    wrong_user = s.crm_api.model_copy(update={"username": "nobody@acme-crm.ru"})
    s.crm_api = wrong_user
    r = sources.check(s, environ=env(fake))
    assert isinstance(r.error, E.MissingScope) and "pre-authorized" in r.error.message
    r = sources.check(s, environ={})
    assert isinstance(r.error, E.NoCredentials) and KEY_ENV in r.error.message
    # through the CLI, the key in a file outside the project
    key = tmp_path / "secrets" / "salesforce.key"
    key.parent.mkdir()
    key.write_text(fake.private_key_pem(), encoding="utf-8")
    cfg = write_settings(tmp_path / "cli", fake, private_key_file=str(key))
    ok = subprocess.run(CLI + ["crm", "check", "--config", str(cfg)], env={k: v for k, v in os.environ.items() if k != KEY_ENV},
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "opportunities (Opportunity)" in ok.stdout and "PRIVATE KEY" not in ok.stdout + ok.stderr


def test_parity_the_api_and_the_report_exports_of_one_dataset_give_identical_findings(tmp_path, fake):
    # the consumer key and username from the environment (SALESFORCE_CLIENT_ID / SALESFORCE_USERNAME), as on a CI runner
    a, b = run_both(tmp_path, fake, sf_settings(), {**env(fake), "SALESFORCE_CLIENT_ID": fake.client_id, "SALESFORCE_USERNAME": fake.username})
    assert len(b) > 100
    assert a == b


def test_init_from_crm_reads_the_stage_order_users_and_custom_fields(tmp_path, fake):
    from crm_audit.sources.initcrm import write_settings_from_crm

    path = write_settings_from_crm(tmp_path / "team", "salesforce", base_url=fake.url, environ=env(fake),
                                   api_options={"client_id": fake.client_id, "username": fake.username})
    text = path.read_text(encoding="utf-8")
    assert "PRIVATE KEY" not in text and fake.client_id in text
    s = settings_mod.load(path)
    stages = s.pipelines["Продажи"]
    assert stages[:3] == ["Принял в работу", "Квалификация", "Проведено демо"] and stages[-2:] == [WON, LOST]
    assert "Старая стадия" not in stages  # an inactive stage
    assert "Павел Орлов" in text and "(отключён)" in text and "«Источник сделки»" in text


def test_record_types_are_pipelines_judged_per_pipeline_and_each_opportunity_keeps_its_currency(tmp_path, dataset):
    from collections import Counter

    from crm_audit.sources.initcrm import write_settings_from_crm
    from fake_crm.hubspot import _norm

    fake = FakeSalesforce.from_export(dataset, pipelines_settings(), record_types=True, multi_currency=True).start()
    try:
        sf_env = {**env(fake), "SALESFORCE_CLIENT_ID": fake.client_id, "SALESFORCE_USERNAME": fake.username}
        a, b = run_both(tmp_path, fake, pipelines_settings(), sf_env)  # sync + run --from-crm, and the report export with «Opportunity Record Type»
        assert len(b) > 100 and a == b
        assert {v["pipeline"] for v in a} >= {"Клиенты", "Партнеры"}  # findings judged in each record type's pipeline
        s = settings_mod.load(tmp_path / "api" / "crm-audit.yaml")  # the cache run --from-crm filled
        s.crm_api = s.crm_api.model_copy(update={"client_id": fake.client_id, "username": fake.username})
        src = sources.source_for(s).load_export("error", dt.date(2026, 11, 20))
        got = Counter(p for (p,) in src.con.execute("SELECT pipeline FROM deals").fetchall())
        rts = {i: r["Name"] for i, r in fake.store["RecordType"].items()}
        want = Counter(rts.get(r["RecordTypeId"] or "", "Продажи") for r in fake.store["Opportunity"].values() if not r["IsDeleted"])
        by_dataset = Counter(_norm(d.get("pipeline")) for d in dataset.deals if (d.get("status") or "open") != "deleted")
        assert got == want and {_norm(p): n for p, n in got.items()} == by_dataset
        assert set(got) == {"Клиенты", "Партнеры", "Повторные продажи", "Архив 2024"}
        usd = {i for i, r in fake.store["Opportunity"].items() if r.get("CurrencyIsoCode") == "USD" and not r["IsDeleted"]}
        cur = dict(src.con.execute("SELECT id, currency FROM deals").fetchall())
        assert usd and {i for i, c in cur.items() if c == "USD"} == usd and set(cur.values()) == {"USD", "RUB"}
        # the pipeline is named after the record type's sales process
        proc = next(p for p in fake.store["BusinessProcess"].values() if p["Name"] == "Партнеры")
        proc["Name"], proc["SystemModstamp"] = "Партнерский процесс", fake.tick()
        do_sync(s, fake)
        src = sources.source_for(s).load_export("error", dt.date(2026, 11, 20))
        names = {p for (p,) in src.con.execute("SELECT DISTINCT pipeline FROM deals").fetchall()}
        assert "Партнерский процесс" in names and "Партнеры" not in names
        proc["Name"] = "Партнеры"
        # init writes every pipeline with its process's stages, in OpportunityStage.SortOrder order, won and lost last
        path = write_settings_from_crm(tmp_path / "team", "salesforce", base_url=fake.url, environ=env(fake),
                                       api_options={"client_id": fake.client_id, "username": fake.username})
        team = settings_mod.load(path)
        assert set(team.pipelines) == {"Клиенты", "Партнеры", "Повторные продажи", "Архив 2024"}
        assert team.pipelines["Партнеры"] == ["Принял в работу", "Проведено демо", "Отправлено КП", "Знакомство", "Подписание договора", WON, LOST]
        assert team.pipelines["Повторные продажи"] == ["Принял в работу", "Отправлено КП", "Выставлен счет", WON, LOST]
        assert team.pipelines["Клиенты"][:2] == ["Принял в работу", "Квалификация"] and "Знакомство" not in team.pipelines["Клиенты"]
        assert "RecordTypeId" not in path.read_text(encoding="utf-8") and "CurrencyIsoCode" not in path.read_text(encoding="utf-8")
        # a user who may not read sales processes: pipelines under the record types' names; a deal without a record type
        # (created before the org had them: the master's) is in the one pipeline «Продажи», which init then writes too
        proc["Name"] = "Партнерский процесс"
        fake.forbidden = ("BusinessProcess",)
        legacy = sorted(i for i, r in fake.store["Opportunity"].items() if not r["IsDeleted"])[0]
        fake.update("Opportunity", legacy, RecordTypeId=None)
        do_sync(s, fake)
        src = sources.source_for(s).load_export("error", dt.date(2026, 11, 20))
        names = {p for (p,) in src.con.execute("SELECT DISTINCT pipeline FROM deals").fetchall()}
        assert names == {"Клиенты", "Партнеры", "Повторные продажи", "Архив 2024", "Продажи"}
        assert src.con.execute(f"SELECT pipeline FROM deals WHERE id = '{legacy}'").fetchone()[0] == "Продажи"
        path = write_settings_from_crm(tmp_path / "team2", "salesforce", base_url=fake.url, environ=env(fake),
                                       api_options={"client_id": fake.client_id, "username": fake.username})
        team = settings_mod.load(path)
        assert set(team.pipelines) == {"Клиенты", "Партнеры", "Повторные продажи", "Архив 2024", "Продажи"}
        assert team.pipelines["Продажи"][:3] == ["Принял в работу", "Квалификация", "Проведено демо"]
    finally:
        fake.stop()
    assert fake.schema_errors == [], fake.schema_errors[:5]
