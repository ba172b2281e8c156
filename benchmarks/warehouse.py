#!/usr/bin/env python3
"""The audit where a connector put the CRM (issue 15 point 3): ``crm-audit run --engine URL`` against an export run.

    python benchmarks/warehouse.py EXPORT_DIR [--config FILE] [--engines duckdb,postgres]

The export is loaded once and laid out as Fivetran's Pipedrive connector lays it out
(``tests/engine_targets.fivetran_pipedrive_tables``), written to a DuckDB database file and, with ``postgres``,
into a PostgreSQL the script starts (pgserver) — none of that timed. Then timed, each the whole audit of
:func:`~crm_audit.engine.audit.audit_export` / :func:`~crm_audit.warehouse.audit.audit_warehouse` (what
``crm-audit run`` computes before writing): the export run (read the files, load, the 17 rules) and the
warehouse run per engine (connect, probe the tables, the entity queries as CTEs in front of each of the 17
rule queries, the small queries for counts and owners, fingerprints and order added locally). Reported: wall
and CPU seconds of this process (a server's own CPU is not in it) and whether every rule's rows (ids,
evidence, fingerprints, order) equal the export run's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

AS_OF = dt.date(2026, 11, 20)


def digest(report) -> dict[str, str]:
    """rule id -> sha256 of its rows (a blank cell as None, as the sheet shows it)."""
    out = {}
    for r in report.results:
        h = hashlib.sha256()
        rows = r.rows.astype(object).where(r.rows.notna(), None).replace({"": None})
        for row in rows.itertuples(index=False):
            h.update(repr(tuple(row)).encode())
        out[r.rule_id] = h.hexdigest()[:16]
    return out


def timed(label: str, fn):
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{label:<28} wall {wall:7.1f} s   cpu {cpu:7.1f} s   findings {result.total:,}", flush=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("export")
    ap.add_argument("--config", default=str(Path(__file__).resolve().parent.parent / "crm_audit" / "demo_data" / "crm-audit.yaml"))
    ap.add_argument("--engines", default="duckdb")
    args = ap.parse_args()

    from crm_audit import settings as settings_mod
    from crm_audit.engine.audit import audit_export
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import profile_for
    from crm_audit.warehouse.audit import audit_warehouse, resolve
    from engine_targets import duckdb_warehouse, fivetran_pipedrive_tables

    settings = settings_mod.load(args.config)
    print(f"load {os.getloadavg()[0]:.1f} at the start", flush=True)
    export = load_export(args.export, profile_for(settings), settings.on_bad_value, as_of=AS_OF)
    try:
        tables = fivetran_pipedrive_tables(export)
    finally:
        export.close()
        export.con.close()
    print("connector tables: " + ", ".join(f"{n} {t.num_rows:,}" for n, t in tables.items()), flush=True)
    want = timed("export run", lambda: audit_export(settings, args.export, as_of=AS_OF))
    expected = digest(want)
    with tempfile.TemporaryDirectory(prefix="crm-audit-wh-bench-") as tmp:
        urls = {}
        if "duckdb" in args.engines:
            urls["duckdb"] = f"duckdb:///{duckdb_warehouse(tables, Path(tmp) / 'warehouse.duckdb')}?schema=pipedrive"
        pg = None
        if "postgres" in args.engines:
            from urllib.parse import parse_qs, urlsplit

            from engine_targets import Postgres

            pg = Postgres()
            pg.load_tables(tables, "fivetran_pipedrive")
            pg.conn.execute("ANALYZE")
            host = parse_qs(urlsplit(pg.server.get_uri()).query)["host"][0]
            urls["postgres"] = f"postgresql://postgres@/postgres?host={host}&schema=fivetran_pipedrive"
        try:
            for engine, url in urls.items():
                got = timed(f"warehouse run: {engine}", lambda url=url: audit_warehouse(settings, resolve(settings, url), as_of=AS_OF))
                same = digest(got) == expected
                print(f"  every rule's rows equal the export run's: {same}", flush=True)
                if not same:
                    print("  differ: " + ", ".join(k for k, v in digest(got).items() if expected.get(k) != v))
        finally:
            if pg is not None:
                pg.close()
    print(f"load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
