"""The audit runs in a second thread while the documents are read back (crm_audit.cycle.background, issue 17):
its value and errors reach the caller, its progress lines wait for the read-back's, and a failed read-back stops it."""

from __future__ import annotations

import threading
import time

import pytest

from crm_audit.cycle.background import BackgroundCall, Cancelled
from crm_audit.errors import InputError, Problem


def test_value_and_error_reach_the_caller():
    assert BackgroundCall(lambda say, wait: 42, lambda text: None).result() == 42

    def fails(say, wait):
        raise InputError(problems=[Problem("bad export", reason="x")])

    with pytest.raises(InputError, match="bad export"):
        BackgroundCall(fails, lambda text: None).result()


def test_progress_lines_wait_until_released_then_pass_through():
    shown = []
    step = threading.Event()
    go_on = threading.Event()

    def audit(say, wait):
        say("loading")
        say("rule 1/17")
        step.set()
        go_on.wait(5)
        say("rule 2/17")
        return "report"

    job = BackgroundCall(audit, shown.append)
    assert step.wait(5)
    shown.append("reading back audit.xlsx")  # the caller's own line while the audit runs
    assert shown == ["reading back audit.xlsx"]  # nothing of the audit's shown yet
    job.release()
    assert shown == ["reading back audit.xlsx", "loading", "rule 1/17"]  # the held lines, in order
    go_on.set()
    assert job.result() == "report"
    assert shown == ["reading back audit.xlsx", "loading", "rule 1/17", "rule 2/17"]


def test_a_failed_read_back_stops_the_audit_at_its_next_line():
    seen = []

    def audit(say, wait):
        try:
            for i in range(1000):
                say(f"step {i}")
                time.sleep(0.01)
        except Cancelled:
            seen.append("cancelled")
            raise
        seen.append("finished")

    with pytest.raises(RuntimeError, match="unreadable"):
        with BackgroundCall(audit, lambda text: None):
            time.sleep(0.05)
            raise RuntimeError("the document is unreadable")
    assert seen == ["cancelled"]  # stopped and joined before the caller's error left the block


def test_the_call_waits_for_the_callers_work_where_it_asks_to():
    order = []
    loaded = threading.Event()

    def audit(say, wait):
        order.append("loaded")
        loaded.set()
        wait()  # the rules run once the read-back ended
        order.append("rules")
        return "report"

    job = BackgroundCall(audit, lambda text: None)
    assert loaded.wait(5)
    time.sleep(0.05)
    order.append("read back")
    assert job.result() == "report"
    assert order == ["loaded", "read back", "rules"]

    def waits(say, wait):
        wait()
        order.append("ran anyway")

    with pytest.raises(RuntimeError):
        with BackgroundCall(waits, lambda text: None):
            raise RuntimeError("read-back failed")
    assert order[-1] == "rules"  # a cancelled call does not go on past wait()


def test_the_thread_sees_the_callers_context_variables():
    import contextvars

    var = contextvars.ContextVar("lang", default="en")
    var.set("ru")
    assert BackgroundCall(lambda say, wait: var.get(), lambda text: None).result() == "ru"


def test_run_cycle_reports_the_read_back_error_and_stops_the_audit(tmp_path, monkeypatch):
    """A previous document that cannot be read stops the run with that error; the audit started meanwhile is
    stopped (it only reads the export), and nothing is written."""
    from crm_audit.cycle import run as run_mod
    from crm_audit.cycle.request import AuditRequest
    from crm_audit.engine import audit as audit_mod
    from crm_audit.resources import demo_dir

    import shutil

    demo = demo_dir()
    shutil.copytree(demo, tmp_path / "demo")
    cfg = tmp_path / "demo" / "crm-audit.yaml"
    export = next(p for p in (tmp_path / "demo").iterdir() if p.is_dir())
    out = tmp_path / "audit.xlsx"
    ledger = tmp_path / "ledger.db"
    run_mod.run_cycle(AuditRequest(config=cfg, export=export, out=out, ledger=ledger, as_of=None))
    before = out.read_bytes()

    states = []
    real = audit_mod.audit_export

    def slow_audit(*a, progress=None, before_rules=None, **kw):
        try:
            for _ in range(500):
                progress("loading")
                time.sleep(0.01)
        except Cancelled:
            states.append("cancelled")
            raise
        return real(*a, progress=progress, before_rules=before_rules, **kw)

    def broken(*a, **kw):
        raise InputError(problems=[Problem("cannot read the previous audit document", reason="document-unreadable")])

    monkeypatch.setattr(audit_mod, "audit_export", slow_audit)
    monkeypatch.setattr(run_mod, "reader_for", lambda *a, **kw: type("R", (), {"read_edits": broken})())
    with pytest.raises(InputError, match="cannot read the previous audit document"):
        run_mod.run_cycle(AuditRequest(config=cfg, export=export, out=out, ledger=ledger, as_of=None))
    assert states == ["cancelled"]
    assert out.read_bytes() == before


def test_ctrl_c_does_not_wait_for_the_call():
    """Ctrl-C during the read-back: the run ends now; the call (a daemon thread) is told to stop at its next line."""
    release = threading.Event()
    stopped = []

    def audit(say, wait):
        release.wait(10)  # a long stage without a progress line (DuckDB reading a large file)
        try:
            say("next line")
        except Cancelled:
            stopped.append(True)
            raise

    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with BackgroundCall(audit, lambda text: None):
            raise KeyboardInterrupt
    assert time.monotonic() - t0 < 5  # did not wait for the stage
    release.set()
    for _ in range(100):
        if stopped:
            break
        time.sleep(0.02)
    assert stopped == [True]
