#!/usr/bin/env python3
"""Rule time per engine (issue 15): the 17 bundled rules over one loaded export, on DuckDB and on the other engines.

    python benchmarks/engines.py EXPORT_DIR [--config FILE] [--engines duckdb,postgres,clickhouse,spark] [--digest FILE]
                                 [--spark-memory 4g]

The export is loaded once (``load_export``, DuckDB); then, per engine, the
prepared audit is evaluated: DuckDB runs ``DuckDBBackend.prepare`` + one query
per rule (what ``crm-audit run`` does); PostgreSQL (pgserver), ClickHouse
(chdb) and Spark (pyspark in local mode, ``local[*]``, a JDK 17+ on PATH) get
the loaded tables copied in (not timed; Spark: written as Parquet tables of the
session's catalog, as a Databricks table is stored) and run each rule's one
read-only query (CTEs) compiled for their dialect, the fingerprints and the
order finished locally. Reported: wall and CPU seconds (this process, all
threads; a server's own CPU — PostgreSQL's, Spark's JVM — is not in it), rows
per rule, and whether every engine's rows equal DuckDB's. ``--digest FILE``
writes a sha256 of every rule's rows (ids, evidence, fingerprints) to compare
two versions of the code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # engine_targets: PostgreSQL / ClickHouse started here

AS_OF = dt.date(2026, 11, 20)


def frame_digest(df) -> str:
    h = hashlib.sha256()
    h.update(",".join(map(str, df.columns)).encode())
    for row in df.itertuples(index=False):
        h.update(repr(tuple(row)).encode())
    return h.hexdigest()[:16]


class SparkTables:
    """Spark in local mode with the export's tables as Parquet tables of its catalog (in a temporary warehouse folder)."""

    def __init__(self, memory: str):
        import tempfile

        from pyspark.sql import SparkSession

        self._dir = tempfile.TemporaryDirectory(prefix="crm-audit-spark-")
        self.session = (SparkSession.builder.master("local[*]").appName("crm-audit-bench")
                        .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
                        .config("spark.driver.memory", memory).config("spark.ui.showConsoleProgress", "false")
                        .config("spark.sql.warehouse.dir", str(Path(self._dir.name) / "warehouse")).getOrCreate())
        self.session.sparkContext.setLogLevel("ERROR")

    def load(self, export):
        import engine_targets

        from crm_audit.engine.backends.sql_backend import SparkTarget

        for name, table in engine_targets.export_tables(export).items():
            self.session.createDataFrame(table).write.mode("overwrite").format("parquet").saveAsTable(name)
        return SparkTarget(self.session)

    def close(self) -> None:
        self.session.stop()
        self._dir.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("export")
    ap.add_argument("--config", default=str(Path(__file__).resolve().parent.parent / "crm_audit" / "demo_data" / "crm-audit.yaml"))
    ap.add_argument("--engines", default="duckdb")
    ap.add_argument("--digest")
    ap.add_argument("--spark-memory", default="4g", help="Spark's driver memory (local mode: the whole engine)")
    args = ap.parse_args()

    from crm_audit import settings as settings_mod
    from crm_audit.engine import loading
    from crm_audit.engine import plan as planmod
    from crm_audit.engine.backends.duckdb_backend import DuckDBBackend
    from crm_audit.engine.profile import load_profile
    from crm_audit.rules import ruleset

    settings = settings_mod.load(args.config)
    rules = ruleset.load(settings)
    plans = planmod.build_all(rules, settings)
    t0 = time.perf_counter()
    export = loading.load_export(args.export, load_profile(settings.crm), settings.on_bad_value, as_of=AS_OF)
    print(f"load: {time.perf_counter() - t0:.1f} s; load average {os.getloadavg()[0]:.1f}")
    out: dict = {"uptime_load": os.getloadavg()[0], "engines": {}}
    versions = {"duckdb": "duckdb", "postgres": "pgserver", "clickhouse": "chdb", "spark": "pyspark"}
    reference = None
    for engine in args.engines.split(","):
        c0, w0 = time.process_time(), time.perf_counter()
        if engine == "duckdb":
            backend = DuckDBBackend(export, settings, AS_OF)
            backend.prepare(plans)
            frames = {p.rule.id: backend.run(p) for p in plans}
        else:
            import engine_targets

            server = {"postgres": engine_targets.Postgres, "clickhouse": engine_targets.ClickHouse,
                      "spark": lambda: SparkTables(args.spark_memory)}[engine]()
            try:
                t = time.perf_counter()
                target = server.load(export)
                print(f"{engine}: tables copied in {time.perf_counter() - t:.1f} s (not counted)")
                c0, w0 = time.process_time(), time.perf_counter()
                frames = engine_targets.engine_frames(target, export, settings, plans, AS_OF)
            finally:
                server.close()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        digests = {rid: frame_digest(df) for rid, df in frames.items()}
        rows = sum(len(df) for df in frames.values())
        same = None if reference is None else digests == reference
        reference = reference or digests
        load = os.getloadavg()
        from importlib.metadata import version

        print(f"{engine} ({versions[engine]} {version(versions[engine])}): rules {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"(this process), {rows:,} rows; same as duckdb: {same}; load average {load[0]:.1f} / {load[1]:.1f}")
        out["engines"][engine] = {"wall": wall, "cpu": cpu, "rows": rows, "digests": digests, "same_as_duckdb": same,
                                  "load": load[:2]}
    if args.digest:
        Path(args.digest).write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
