"""Benchmark: a full sync of N deals from the fake Pipedrive, then an incremental sync with 1% changed.

    python benchmarks/bench_sync.py [--deals 100000] [--changed 0.01] [--commit-seconds 2]

Where the time goes: each sync's seconds are split into committing pages to the
cache (``SyncCache.commit_page``), flattening the cache into the snapshot
(``connector.tables`` + Parquet) and the rest (HTTP to the fake, which runs in this
process's threads, JSON decoding, bookkeeping). ``--commit-seconds 0`` commits
every page in its own transaction (the behaviour before commits were batched).

Counts requests and Pipedrive's token cost (x-token-cost of each endpoint),
times each sync and the audit on the snapshot. The fake answers instantly and
imposes no rate limit (limits are tested in tests/test_sources_*.py); at
Pipedrive's real burst limits the request counts say how long a sync takes
(e.g. 80 requests per 2 s on the Professional plan). Response validation is
off here (the tests validate every body).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

import samplegen  # noqa: E402
from fake_crm.pipedrive import FakePipedrive  # noqa: E402

from crm_audit import settings as settings_mod  # noqa: E402
from crm_audit import sources  # noqa: E402
from crm_audit.sources.config import CrmApiSettings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deals", type=int, default=100_000)
    ap.add_argument("--changed", type=float, default=0.01)
    ap.add_argument("--commit-seconds", type=float, default=2.0)
    args = ap.parse_args()
    from crm_audit.sources import cache as cache_mod, snapshot as snapshot_mod

    spent = {"commit": 0.0, "flatten": 0.0, "commits": 0}

    def timed(fn, key):
        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[key] += time.perf_counter() - t0
                if key == "commit":
                    spent["commits"] += 1
        return wrapper

    cache_mod.SyncCache.commit_page = timed(cache_mod.SyncCache.commit_page, "commit")
    snapshot_mod.write_snapshot = timed(snapshot_mod.write_snapshot, "flatten")
    t = time.perf_counter()
    data = samplegen.generate(args.deals, seed=3, as_of=dt.date(2026, 11, 20))
    fake = FakePipedrive.from_export(data, samplegen.DEFAULT_SETTINGS)
    fake.validate_bodies = False
    fake.start()
    print(f"dataset: {len(fake.deals):,} deals, {len(fake.activities):,} activities, {len(fake.persons):,} persons, "
          f"{len(fake.organizations):,} organizations ({time.perf_counter() - t:.1f} s to build)")
    with tempfile.TemporaryDirectory() as d:
        s = settings_mod.from_dict(dict(samplegen.DEFAULT_SETTINGS), base_dir=Path(d))
        batching = {"commit_seconds": args.commit_seconds} if "commit_seconds" in CrmApiSettings.model_fields else {}  # older trees: per page
        s.crm_api = CrmApiSettings(base_url=fake.url, token_env="T", **batching)
        env = {"T": fake.token}

        def one(label: str, **kw):
            before, tokens = len(fake.log), fake.tokens
            spent.update(commit=0.0, flatten=0.0, commits=0)
            t0 = time.perf_counter()
            r = sources.sync(s, environ=env, **kw)
            took = time.perf_counter() - t0
            print(f"{label}: {took:.1f} s, {len(fake.log) - before:,} requests, {fake.tokens - tokens:,} Pipedrive tokens, "
                  f"{sum(o.read for o in r.objects):,} records read; snapshot {r.counts}")
            print(f"  where the time went: {spent['commits']:,} commits {spent['commit']:.1f} s, snapshot (flatten + Parquet) "
                  f"{spent['flatten']:.1f} s, reading (HTTP, JSON, the fake) {took - spent['commit'] - spent['flatten']:.1f} s")
            return r

        one("full sync")
        rnd = random.Random(1)
        fake.tick(3600)
        ids = rnd.sample(sorted(fake.deals), int(len(fake.deals) * args.changed))
        for i in ids:
            fake.update("deals", i, title=fake.deals[i]["title"] + " (изм.)")
        for i in rnd.sample(sorted(fake.activities), int(len(fake.activities) * args.changed)):
            fake.update("activities", i, done=True)
        print(f"changed {len(ids):,} deals and {int(len(fake.activities) * args.changed):,} activities")
        one("incremental sync")
        one("incremental sync with the deletion id check", check_deleted=True)
        t0 = time.perf_counter()
        from crm_audit.engine.audit import audit_export

        report = audit_export(s, sources.source_for(s), as_of=dt.date(2026, 11, 20))
        print(f"audit on the snapshot: {time.perf_counter() - t0:.1f} s, {report.total:,} violations, {report.deal_count:,} deals")
    fake.stop()


if __name__ == "__main__":
    main()
