"""Pages are committed in batches with the watermark they reach (issue 14): fewer transactions, nothing committed lost.

A connector stub (no HTTP) yields pages in update-time order; the sync commits
them every ``commit_records`` records (or ``commit_seconds``), and a sync cut off
anywhere leaves a cache where every record up to the watermark is committed.
"""

from __future__ import annotations

import datetime as dt

import pytest

from crm_audit.sources.cache import Record, SyncCache
from crm_audit.sources.connector import Connector, ObjectSpec
from crm_audit.sources.http import HttpCore, Limits
from crm_audit.sources.incremental import run_sync

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def _t(k: int) -> str:
    return (T0 + dt.timedelta(minutes=k)).isoformat().replace("+00:00", "Z")


class Stub(Connector):
    crm, title = "stub", "Stub"
    objects = [ObjectSpec("deals", "incremental", "none")]

    def __init__(self, records: list[Record], page: int = 2, fail_after: int | None = None):
        super().__init__(HttpCore("http://127.0.0.1:9", {}, Limits()), "stub://acme")
        self.records, self.page, self.fail_after = records, page, fail_after
        self.asked: list[str | None] = []

    def fetch(self, obj, since):
        self.asked.append(since)
        rows = sorted((r for r in self.records if since is None or r.updated >= since), key=lambda r: (r.updated, r.id))
        for k in range(0, len(rows), self.page):
            if self.fail_after is not None and k // self.page == self.fail_after:
                raise KeyboardInterrupt  # the process is killed while the next page is read
            yield rows[k:k + self.page]


@pytest.fixture
def records():
    return [Record(str(i), _t(i), {"id": i, "title": f"deal {i}"}) for i in range(1, 22)]


def _commits(monkeypatch) -> list[int]:
    sizes: list[int] = []
    real = SyncCache.commit_page

    def spy(self, obj, recs, sid, watermark=None, full_done=None):
        if recs:
            sizes.append(len(recs))
        return real(self, obj, recs, sid, watermark=watermark, full_done=full_done)

    monkeypatch.setattr(SyncCache, "commit_page", spy)
    return sizes


def test_pages_are_committed_together_every_commit_records(tmp_path, records, monkeypatch):
    sizes = _commits(monkeypatch)
    with SyncCache(tmp_path / "c.sync.duckdb") as cache:
        run_sync(Stub(records), cache, commit_records=6, commit_seconds=3600)
        assert sizes == [6, 6, 6, 3]  # 11 pages of 2 in 4 transactions
        assert len(dict(cache.live("deals"))) == 21 and cache.state("deals").watermark == _t(21)
    sizes.clear()
    with SyncCache(tmp_path / "d.sync.duckdb") as cache:
        run_sync(Stub(records), cache, commit_seconds=0)
        assert sizes == [2] * 10 + [1]  # 0 s: every page its own transaction


def test_a_sync_cut_off_keeps_every_record_up_to_its_watermark_and_the_next_resumes(tmp_path, records, monkeypatch):
    _commits(monkeypatch)
    with SyncCache(tmp_path / "c.sync.duckdb") as cache:
        with pytest.raises(KeyboardInterrupt):
            run_sync(Stub(records, fail_after=7), cache, commit_records=6, commit_seconds=3600)
        got = dict(cache.live("deals"))
        wm = cache.state("deals").watermark
        assert sorted(got, key=int) == [str(i) for i in range(1, 13)] and wm == _t(12)  # two batches; the 7th page's batch is lost
        assert all(r.id in got for r in records if r.updated <= wm)
        stub = Stub(records)
        run_sync(stub, cache, commit_records=6, commit_seconds=3600, overlap=dt.timedelta(minutes=2))
        assert stub.asked == [_t(10)]  # from the committed watermark minus the overlap
        assert len(dict(cache.live("deals"))) == 21
        assert [r[0] for r in cache.con.execute("SELECT status FROM syncs ORDER BY id").fetchall()] == ["interrupted", "done"]
