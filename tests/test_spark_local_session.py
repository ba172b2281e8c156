"""``spark-local:`` uses the process's SparkSession from any thread (issue 15; the audit runs in a second thread since
issue 17): SparkSession.getActiveSession() is thread-local, so from the audit's thread a PySpark job's session looked
absent, crm-audit took the default one as its own and stopped it after the run — the job's session (and its tables)
gone. Opt-in marker ``spark``."""

from __future__ import annotations

import shutil
import threading

import pytest

pytestmark = pytest.mark.spark


def test_a_jobs_session_is_used_from_another_thread_and_left_running(tmp_path):
    pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'crm-audit[spark]' (and a JDK 17+)")
    if not shutil.which("java"):
        pytest.skip("Spark needs a JDK (java) on PATH")
    from pyspark.sql import SparkSession

    from crm_audit.warehouse.connect import connect
    from crm_audit.warehouse.url import parse

    job = (SparkSession.builder.master("local[1]").appName("a-job").config("spark.ui.enabled", "false")
           .config("spark.sql.warehouse.dir", str(tmp_path / "wh")).getOrCreate())
    try:
        job.sql("CREATE DATABASE crm")
        job.sql("CREATE TABLE crm.deal (id BIGINT) USING parquet")
        seen = {}

        def audit():  # as crm_audit.cycle.background runs it
            with connect(parse("spark-local:")) as conn:
                seen["same"] = conn.raw.session is job
                seen["own"] = conn.raw.own
                seen["columns"] = conn.target.run("SELECT * FROM crm.deal WHERE FALSE").column_names

        t = threading.Thread(target=audit)
        t.start()
        t.join()
        assert seen == {"same": True, "own": False, "columns": ["id"]}
        assert job.sql("SELECT COUNT(*) AS n FROM crm.deal").collect()[0]["n"] == 0  # still running, tables still there
    finally:
        job.stop()
