#!/usr/bin/env python3
"""crm-audit benchmark (issue 7): stages, the whole CLI run, start-up, and a hand-written DuckDB baseline.

    python benchmarks/bench.py [--sizes 10000,100000,1000000] [--seed 7]
                               [--workdir /tmp/crm-audit-bench] [--skip-workbook]

For each N a clean-style Pipedrive export is generated with
``samplegen`` (as_of 2026-11-20) into WORKDIR/export-n{N}-seed{SEED}
and reused by later runs (a ``.complete.json`` marker records N, seed, as_of,
style and a hash of samplegen.py).

Every measurement runs in a fresh child process (this same script with a
hidden ``--_child`` command), so one size's memory never inflates the next
size's peak:

* ``stages``: the library API, stage by stage, in one process: import,
  settings+rules, load (``load_export``), evaluate all 17 rules
  (``DuckDBBackend.prepare`` + one query per rule), the ledger (carry over +
  record), violations CSV, workbook, Google Sheets requests (what
  ``exporters.gsheet.publish`` prepares, no network).
  Peak RSS per stage: VmHWM after writing "5" to /proc/self/clear_refs
  (resets the high-water mark to the current RSS) before the stage.
* ``baseline``: benchmarks/baseline.sql on a fresh DuckDB connection
  (default threads): load the four CSVs, evaluate the 17 rules, COPY
  (rule_id, deal_id) to CSV.
* ``crm-audit run`` as a subprocess (violations CSV only, then with
  ``--out`` workbook too); wall time and the child's max RSS (os.wait4).
* ``crm-audit --help`` and ``crm-audit validate`` start-up (best of 5).

The violations of the baseline are compared with the product's CSV as a set
of (rule_id, deal_id), per rule. The tracked figure is
product ÷ baseline for "load → 17 rules → violations CSV" (in-process,
imports excluded on both sides).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

# the sample generator lives with the tests (it is not part of the installed package)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
AS_OF = dt.date(2026, 11, 20)
STYLE = "clean"
BASELINE_SQL = HERE / "baseline.sql"
MB = 1024 * 1024


# --------------------------------------------------------------------------- memory helpers


def reset_peak() -> bool:
    """Reset this process's RSS high-water mark (Linux ≥ 4.0); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_mb() -> float | None:
    kb = _status_kb("VmHWM")
    if kb is None:  # not Linux: ru_maxrss is the peak of the whole process
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.platform == "darwin":
            kb //= 1024
    return kb / 1024 if kb is not None else None


class Stages:
    """Time and peak RSS of consecutive stages of one process."""

    def __init__(self) -> None:
        self.results: dict[str, dict] = {}
        self.can_reset = True

    def run(self, name: str, fn, *args, **kw):
        import gc

        gc.collect()
        self.can_reset = reset_peak() and self.can_reset
        t0 = time.perf_counter()
        out = fn(*args, **kw)
        wall = time.perf_counter() - t0
        self.results[name] = {"s": wall, "mb": peak_rss_mb(), "peak_reset": self.can_reset}
        return out


# --------------------------------------------------------------------------- export cache


def _samplegen_hash() -> str:
    import samplegen

    return hashlib.sha256(Path(samplegen.__file__).read_bytes()).hexdigest()[:16]


def export_dir(workdir: Path, n: int, seed: int) -> Path:
    return workdir / f"export-n{n}-seed{seed}"


def ensure_export(workdir: Path, n: int, seed: int) -> tuple[Path, str]:
    """The export directory for (n, seed), generated in a child process unless cached."""
    d = export_dir(workdir, n, seed)
    want = {"n_deals": n, "seed": seed, "as_of": AS_OF.isoformat(), "style": STYLE, "samplegen": _samplegen_hash()}
    marker = d / ".complete.json"
    if marker.exists():
        try:
            have = json.loads(marker.read_text())
        except ValueError:
            have = {}
        # markers without the generator hash (written by hand) are accepted
        if all(have.get(k) == v for k, v in want.items() if k != "samplegen") and have.get("samplegen", want["samplegen"]) == want["samplegen"]:
            return d, "cached"
    if d.exists():
        shutil.rmtree(d)
    t0 = time.perf_counter()
    child(["generate", str(n), str(seed), str(d)])
    marker.write_text(json.dumps(want))
    return d, f"generated in {time.perf_counter() - t0:.1f} s"


def write_settings(workdir: Path) -> Path:
    """The demo settings (crm_audit/demo_data/crm-audit.yaml, with its deal_url)."""
    from crm_audit.resources import demo_dir

    src = Path(demo_dir()) / "crm-audit.yaml"
    text = src.read_text(encoding="utf-8")
    if "deal_url" not in text:
        text += '\ndeal_url: "https://demo.pipedrive.com/deal/{id}"\n'
    path = workdir / "crm-audit.yaml"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- child processes


def child(args: list[str], capture_json: bool = False) -> tuple[dict | None, float, float]:
    """Run this script as a child; returns (its JSON result, wall seconds, child max RSS MB)."""
    return run_process([sys.executable, str(Path(__file__).resolve()), "--_child", *args], capture_json=capture_json)


def run_process(cmd: list[str], capture_json: bool = False, cwd: str | None = None, check: bool = True) -> tuple[dict | None, float, float]:
    """Run ``cmd``; wall time and max RSS of that very child (os.wait4)."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd)
        try:
            _, status, ru = os.wait4(p.pid, 0)
        except AttributeError:  # no wait4 (not POSIX): fall back to RUSAGE_CHILDREN
            import resource

            p.wait()
            status, ru = None, resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status) if status is not None else p.returncode
        maxrss = ru.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if check and p.returncode != 0:
        raise SystemExit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{stdout[-2000:]}\n{stderr[-4000:]}")
    result = None
    if capture_json:
        line = [ln for ln in stdout.splitlines() if ln.startswith("@@JSON ")]
        result = json.loads(line[-1][7:]) if line else None
    return result, wall, maxrss


def _emit(obj: dict) -> None:
    print("@@JSON " + json.dumps(obj), flush=True)


def child_generate(n: int, seed: int, out: str) -> None:
    import samplegen

    export = samplegen.generate(n, seed, AS_OF)
    samplegen.write_pipedrive(export, out, STYLE)


def child_stages(export: str, settings_path: str, outdir: str, skip_workbook: bool) -> None:
    """The library API stage by stage (mirrors crm_audit.engine.audit.audit_export)."""
    st = Stages()

    def do_import():
        import duckdb  # noqa: F401
        import pandas  # noqa: F401

        import crm_audit.engine.audit  # noqa: F401
        import crm_audit.engine.backends.duckdb_backend  # noqa: F401
        import crm_audit.engine.loading  # noqa: F401
        import exporters.csv  # noqa: F401

        if not skip_workbook:
            import exporters.xlsx  # noqa: F401

    st.run("import", do_import)


    from crm_audit.engine import encoding, loading, mapping, readers
    from crm_audit.rules import ruleset
    from crm_audit.engine import plan as planmod
    from crm_audit import settings as settings_mod
    from crm_audit.engine.audit import _kind, scope_text
    from crm_audit.engine.backends.duckdb_backend import DuckDBBackend, fetch_frame
    from crm_audit.engine.profile import load_profile
    from crm_audit.report import AuditReport, Column, DataWarning, RuleResult
    from exporters.csv import write_violations_csv

    detail: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                detail[name] = detail.get(name, 0.0) + time.perf_counter() - t0

        return wrapper

    # sub-stage timings of the loader (module-level functions it calls by name)
    readers.read_raw = timed("load: read_raw (CSV → raw text table)", readers.read_raw)
    mapping.map_entity = timed("load: map_entity (map + parse + checks)", mapping.map_entity)
    encoding.file_fingerprint = timed("load: file_fingerprint (sha256 of files not hashed while read)", encoding.file_fingerprint)

    def do_settings():
        settings = settings_mod.load(settings_path)
        rules, rule_warnings = ruleset.load_with_warnings(settings)
        plans = planmod.build_all(rules, settings)
        return settings, rules, rule_warnings, plans, load_profile(settings.crm)

    settings, rules, rule_warnings, plans, profile = st.run("settings+rules", do_settings)
    export_obj = st.run("load", loading.load_export, export, profile, settings.on_bad_value)
    as_of = AS_OF
    per_rule: dict[str, float] = {}

    def do_evaluate():
        backend = DuckDBBackend(export_obj, settings, as_of)
        t0 = time.perf_counter()
        backend.prepare(plans)
        detail["evaluate: prepare (audit_deals + task_agg)"] = time.perf_counter() - t0
        results = []
        t_rules = 0.0
        for p in plans:
            t0 = time.perf_counter()
            df = fetch_frame(backend.con, backend.rule_sql(p))  # what DuckDBBackend.run does
            t1 = time.perf_counter()
            per_rule[f"{p.rule.code} {p.rule.id}"] = t1 - t0
            t_rules += t1 - t0
            r = p.rule
            results.append(
                RuleResult(
                    rule_id=r.id, code=r.code, title=r.title, criticality=r.criticality, sheet_title=r.sheet_title,
                    evidence=[Column(f"ev{i}", title, _kind(ref), planmod.is_volatile(ref)) for i, (ref, title) in enumerate(p.evidence)],
                    rows=df, what=r.what, why=r.why, how=r.how, scope_text=scope_text(r),
                )
            )
        detail["evaluate: 17 rule queries (run + fetch via Arrow)"] = t_rules
        warnings = [DataWarning(w.reason, w.message, w.file) for w in rule_warnings]
        warnings += export_obj.warnings + backend.warnings
        return AuditReport(
            as_of=as_of, generated_at=dt.datetime.now().replace(microsecond=0),
            due_date=as_of + dt.timedelta(days=settings.output.due_days), results=results,
            deal_count=backend.deal_count, warnings=warnings, source=str(export), crm=settings.crm,
            input_fingerprints=dict(export_obj.fingerprints),
            entity_rows={k: v.rows for k, v in export_obj.entities.items()},
        )

    report = st.run("evaluate", do_evaluate)
    export_obj.close()
    export_obj.con.close()
    out = Path(outdir)
    ledger_stage = False
    try:
        import exporters.gsheet  # noqa: F401  (the Sheets publisher, when the product has one)
        gsheet_stage = True
    except ImportError:
        gsheet_stage = False
    try:  # the audit history (ledger) that `crm-audit run` keeps, when the product has one
        from crm_audit.history.ledger import Ledger
        from crm_audit.history.carry import carry_inputs, carry_over
        from crm_audit.history.record import record
    except ImportError:
        pass
    else:
        ledger_stage = True
        ledger_file = out / "stages-ledger.db"
        for p in out.glob("stages-ledger.db*"):
            p.unlink()

        def do_ledger():  # a first audit: empty ledger, no previous document (as `crm-audit run` does it)
            with Ledger(ledger_file) as ledger:
                t0 = time.perf_counter()
                carry = carry_over(report, carry_inputs(ledger, report))
                detail["ledger: carry_over"] = time.perf_counter() - t0
                t0 = time.perf_counter()
                record(report, ledger, carry)
                detail["ledger: record"] = time.perf_counter() - t0

        st.run("ledger", do_ledger)
    st.run("violations CSV", write_violations_csv, report, out / "violations.csv")
    if not skip_workbook:
        from exporters.xlsx import write_workbook

        st.run("workbook", write_workbook, report, out / "audit.xlsx")

        gs_info: dict = {}

        def do_gsheet():  # the requests a publish to a fresh, empty spreadsheet sends (no network)
            from crm_audit.gcutil import gc_paused
            from crm_audit.documents.edits import HEADER_DEAL_ID
            import importlib

            from exporters.gsheet import render

            gsheet = importlib.import_module("exporters.gsheet.publish")  # the package's `publish` attribute is the function

            t0 = time.perf_counter()
            with gc_paused():  # as publish() does
                sheets = render.build_sheets(report)
            render.check_titles(sheets, "bench")
            detail["gsheet: sheets as values + formats"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            with gc_paused():
                plan = gsheet._plan(sheets, [], "bench", HEADER_DEAL_ID)
            batches = gsheet._pack(plan.requests) + gsheet._pack(plan.value_ranges)
            detail["gsheet: requests (plan + pack)"] = time.perf_counter() - t0
            gs_info.update(requests=len(batches), cells=plan.cells,
                           shown=sum(s.data_rows for s in sheets if s.kind == "rule"))

        if gsheet_stage:
            st.run("gsheet requests", do_gsheet)
    _emit({
        "gsheet": gs_info if not skip_workbook and gsheet_stage else {},
        "stages": st.results,
        "detail": detail,
        "per_rule": per_rule,
        "violations": report.total,
        "deals": report.deal_count,
        "rows_by_rule": {r.rule_id: r.count for r in report.results},
        "max_rule_rows": max((r.count for r in report.results), default=0),
        "ledger_stage": ledger_stage,
    })


def baseline_settings_sql(settings_path: str) -> list[tuple[str, list]]:
    """Statements creating cfg_stages / cfg_lists from the settings file (raw names; the SQL normalises)."""
    import yaml

    s = yaml.safe_load(Path(settings_path).read_text(encoding="utf-8"))
    stmts: list[tuple[str, list]] = [
        ("CREATE OR REPLACE TABLE cfg_stages (pipeline VARCHAR, stage VARCHAR, pos INTEGER)", []),
        ("CREATE OR REPLACE TABLE cfg_lists (list VARCHAR, value VARCHAR)", []),
    ]
    for p, stages in (s.get("pipelines") or {}).items():
        for i, stage in enumerate(stages or []):
            stmts.append(("INSERT INTO cfg_stages VALUES (?, ?, ?)", [str(p), str(stage), i]))
    for key in ("frozen_lost_reasons", "partner_managers", "trial_stages"):
        for v in s.get(key) or []:
            stmts.append(("INSERT INTO cfg_lists VALUES (?, ?)", [key, str(v)]))
    return stmts


def baseline_chunks(export: str, out_csv: str) -> list[tuple[str, str]]:
    """baseline.sql split into (stage, SQL) chunks at ``-- @stage NAME`` lines, placeholders filled."""
    d = Path(export)
    text = BASELINE_SQL.read_text(encoding="utf-8")
    values = {
        "deals": str(d / "deals.csv"), "organizations": str(d / "organizations.csv"), "persons": str(d / "persons.csv"),
        "activities": str(d / "activities.csv"), "as_of": AS_OF.isoformat(), "out": out_csv,
    }
    for key, value in values.items():  # plain ${name} placeholders (regexes in the SQL use "$")
        text = text.replace("${" + key + "}", value.replace("'", "''"))
    chunks: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("-- @stage "):
            chunks.append((line[len("-- @stage "):].strip(), []))
        elif chunks:
            chunks[-1][1].append(line)
    return [(name, "\n".join(lines)) for name, lines in chunks]


def child_baseline(export: str, settings_path: str, out_csv: str) -> None:
    import duckdb

    cfg = baseline_settings_sql(settings_path)
    chunks = baseline_chunks(export, out_csv)
    st = Stages()
    con = duckdb.connect()  # fresh, in-memory, default threads
    t_all = time.perf_counter()
    reset_peak()
    for sql, params in cfg:  # settings: a handful of rows (part of "load")
        con.execute(sql, params)
    for name, sql in chunks:
        st.run(name, con.execute, sql)
    total = time.perf_counter() - t_all
    con.close()
    _emit({"stages": st.results, "total_s": total, "peak_mb": peak_rss_mb()})


def child_compare(product_csv: str, baseline_csv: str) -> None:
    import duckdb

    con = duckdb.connect()
    for name, path in (("p", product_csv), ("b", baseline_csv)):
        con.execute(
            f"CREATE TABLE {name} AS SELECT DISTINCT rule_id, deal_id FROM read_csv(?, header=true, all_varchar=true)",
            [path],
        )
    rows = con.execute(
        """
        WITH ids AS (SELECT rule_id FROM p UNION SELECT rule_id FROM b)
        SELECT ids.rule_id,
               (SELECT count(*) FROM p WHERE p.rule_id = ids.rule_id) AS product,
               (SELECT count(*) FROM b WHERE b.rule_id = ids.rule_id) AS baseline,
               (SELECT count(*) FROM (SELECT * FROM p WHERE p.rule_id = ids.rule_id EXCEPT SELECT * FROM b)) AS only_product,
               (SELECT count(*) FROM (SELECT * FROM b WHERE b.rule_id = ids.rule_id EXCEPT SELECT * FROM p)) AS only_baseline
        FROM ids ORDER BY ids.rule_id
        """
    ).fetchall()
    samples = {}
    for rule_id, _, _, op, ob in rows:
        if op or ob:
            samples[rule_id] = {
                "only_product": [r[0] for r in con.execute("SELECT deal_id FROM p WHERE rule_id = ? EXCEPT SELECT deal_id FROM b WHERE rule_id = ? ORDER BY 1 LIMIT 5", [rule_id, rule_id]).fetchall()],
                "only_baseline": [r[0] for r in con.execute("SELECT deal_id FROM b WHERE rule_id = ? EXCEPT SELECT deal_id FROM p WHERE rule_id = ? ORDER BY 1 LIMIT 5", [rule_id, rule_id]).fetchall()],
            }
    dup = con.execute("SELECT (SELECT count(*) FROM read_csv(?, header=true, all_varchar=true)) - (SELECT count(*) FROM p)", [product_csv]).fetchone()[0]
    _emit({"rules": [list(r) for r in rows], "samples": samples, "product_duplicates": dup})


def child_main(argv: list[str]) -> None:
    cmd, *rest = argv
    if cmd == "generate":
        child_generate(int(rest[0]), int(rest[1]), rest[2])
    elif cmd == "stages":
        child_stages(rest[0], rest[1], rest[2], rest[3] == "1")
    elif cmd == "baseline":
        child_baseline(rest[0], rest[1], rest[2])
    elif cmd == "compare":
        child_compare(rest[0], rest[1])
    else:
        raise SystemExit(f"unknown child command {cmd}")


# --------------------------------------------------------------------------- the benchmark


def crm_audit_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("crm-audit")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "crm_audit"]


def best_of(k: int, fn):
    runs = [fn() for _ in range(k)]
    return min(runs, key=lambda r: r[1])


def fmt_s(x) -> str:
    return "—" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def fmt_mb(x) -> str:
    return "—" if x is None else f"{x:.0f}"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--_child":
        child_main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated deal counts (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", default="/tmp/crm-audit-bench", help="exports (cached) and outputs (default: %(default)s)")
    ap.add_argument("--skip-workbook", action="store_true", help="do not write or time the workbook")
    ap.add_argument("--repeat", type=int, default=0, help="runs per measurement, best kept (default: 3 up to 100,000 deals, else 1)")
    ap.add_argument("--json", help="also write every figure to this JSON file")
    args = ap.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    settings = write_settings(workdir)
    cmd = crm_audit_cmd()
    import duckdb

    print(f"crm-audit benchmark — {dt.datetime.now():%Y-%m-%d %H:%M}, {platform.node()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, DuckDB {duckdb.__version__}")
    print(f"workdir {workdir}, seed {args.seed}, as_of {AS_OF}, settings {settings}")
    if not reset_peak():
        print("note: /proc/self/clear_refs is not writable; per-stage peaks are the process peak so far")

    help_run = subprocess.run([*cmd, "run", "--help"], capture_output=True, text=True)
    has_ledger = "--ledger" in help_run.stdout
    # start-up
    startup = {}
    _, startup["--help"], startup["--help MB"] = best_of(5, lambda: run_process([*cmd, "--help"]))
    _, startup["validate"], startup["validate MB"] = best_of(5, lambda: run_process([*cmd, "validate", "--config", str(settings)]))
    print(f"\nstart-up (best of 5): crm-audit --help {startup['--help']:.3f} s, "
          f"crm-audit validate {startup['validate']:.3f} s")

    results: dict[int, dict] = {}
    for n in sizes:
        rep = args.repeat or (3 if n <= 100_000 else 1)
        d, how = ensure_export(workdir, n, args.seed)
        sizes_mb = sum(p.stat().st_size for p in d.glob("*.csv")) / MB
        print(f"\n=== N = {n:,} deals ({how}; {sizes_mb:.0f} MB of CSV; best of {rep}) ===", flush=True)
        outdir = workdir / f"out-n{n}"
        outdir.mkdir(exist_ok=True)
        r: dict = {"n": n, "export_mb": sizes_mb}

        # 1. library stages, one fresh process per run
        runs = []
        for _ in range(rep):
            res, wall, rss = child(["stages", str(d), str(settings), str(outdir), "1" if args.skip_workbook else "0"], capture_json=True)
            res["process_s"], res["process_mb"] = wall, rss
            runs.append(res)
        best = min(runs, key=lambda x: sum(x["stages"][k]["s"] for k in ("load", "evaluate", "violations CSV")))
        r["stages"] = best
        for name, v in best["stages"].items():
            print(f"  stage {name:<16} {v['s']:8.3f} s  peak {fmt_mb(v['mb']):>6} MB")
        print(f"  violations: {best['violations']:,} over {best['deals']:,} audited deals (largest rule: {best['max_rule_rows']:,} rows)")
        print("  where the time goes:")
        for k, v in best["detail"].items():
            print(f"    {k:<46} {v:8.3f} s")
        if best.get("gsheet"):
            g = best["gsheet"]
            capped = "" if g["shown"] >= best["violations"] else "; the rest capped by Google's cell limit"
            print(f"    gsheet: {g['requests']} API requests, {g['cells']:,} cells, {g['shown']:,} of {best['violations']:,} "
                  f"violation rows shown{capped}")
        slow = sorted(best["per_rule"].items(), key=lambda kv: -kv[1])[:5]
        print("    slowest rules: " + ", ".join(f"{k} {v:.3f}s" for k, v in slow))

        # 2. baseline, fresh process + fresh connection per run
        base_csv = outdir / "baseline-violations.csv"
        bruns = []
        for _ in range(rep):
            res, wall, rss = child(["baseline", str(d), str(settings), str(base_csv)], capture_json=True)
            res["process_s"], res["process_mb"] = wall, rss
            bruns.append(res)
        b = min(bruns, key=lambda x: x["total_s"])
        r["baseline"] = b
        print("  baseline (hand-written DuckDB SQL): " + ", ".join(f"{k} {v['s']:.3f}s" for k, v in b["stages"].items())
              + f"; total {b['total_s']:.3f} s, process peak {b['process_mb']:.0f} MB")

        # 3. equality of the result sets
        cmpres, _, _ = child(["compare", str(outdir / "violations.csv"), str(base_csv)], capture_json=True)
        r["compare"] = cmpres
        diffs = [row for row in cmpres["rules"] if row[3] or row[4]]
        if not diffs and cmpres["product_duplicates"] == 0:
            print(f"  result sets: OK — identical (rule_id, deal_id) sets over {len(cmpres['rules'])} rules")
        else:
            print("  result sets: DIFFERENT")
            for rule_id, np_, nb, op, ob in diffs:
                s = cmpres["samples"].get(rule_id, {})
                print(f"    {rule_id}: product {np_}, baseline {nb}, only in product {op} {s.get('only_product')}, "
                      f"only in baseline {ob} {s.get('only_baseline')}")
            if cmpres["product_duplicates"]:
                print(f"    product CSV has {cmpres['product_duplicates']} duplicate (rule_id, deal_id) rows")
        r["match"] = not diffs and cmpres["product_duplicates"] == 0

        # 4. the CLI as a subprocess
        base_args = [*cmd, "run", "--config", str(settings), "--export", str(d), "--as-of", AS_OF.isoformat(), "--quiet"]
        ledger_file = outdir / "cli-ledger.db"
        if has_ledger:
            base_args += ["--ledger", str(ledger_file)]

        def cli_run(extra: list[str]):
            # every run is a first audit: no audit history, no previous workbook to read back
            for p in [*outdir.glob("cli-ledger.db*"), outdir / "cli-audit.xlsx", settings.parent / "crm-audit.db"]:
                if p.exists():
                    p.unlink()
            return run_process([*base_args, *extra])

        _, r["cli_csv_s"], r["cli_csv_mb"] = best_of(rep, lambda: cli_run(["--violations-csv", str(outdir / "cli-violations.csv")]))
        print(f"  crm-audit run (→ violations CSV)         {r['cli_csv_s']:8.3f} s  peak {r['cli_csv_mb']:6.0f} MB")
        if not args.skip_workbook:
            _, r["cli_wb_s"], r["cli_wb_mb"] = best_of(rep, lambda: cli_run(["--violations-csv", str(outdir / "cli-violations.csv"), "--out", str(outdir / "cli-audit.xlsx")]))
            print(f"  crm-audit run (→ CSV + workbook)         {r['cli_wb_s']:8.3f} s  peak {r['cli_wb_mb']:6.0f} MB")
        st = best["stages"]
        r["product_core_s"] = sum(st[k]["s"] for k in ("load", "evaluate", "violations CSV"))
        r["ratio"] = r["product_core_s"] / b["total_s"]
        r["ratio_cli"] = r["cli_csv_s"] / b["process_s"]
        print(f"  load → 17 rules → violations CSV: product {r['product_core_s']:.3f} s, baseline {b['total_s']:.3f} s, "
              f"ratio {r['ratio']:.2f}× (whole processes: crm-audit run {r['cli_csv_s']:.3f} s ÷ baseline process "
              f"{b['process_s']:.3f} s = {r['ratio_cli']:.2f}×)", flush=True)
        results[n] = r

    # ----------------------------------------------------------------- summary table
    ns = sorted(results)
    rows: list[tuple[str, list]] = []
    stage_names = ["import", "settings+rules", "load", "evaluate", "ledger", "violations CSV"] + ([] if args.skip_workbook else ["workbook", "gsheet requests"])
    for s in stage_names:
        if not all(s in results[n]["stages"]["stages"] for n in ns):
            continue
        rows.append((f"stage: {s}", [(results[n]["stages"]["stages"][s]["s"], results[n]["stages"]["stages"][s]["mb"]) for n in ns]))
    rows.append(("product: load→rules→CSV", [(results[n]["product_core_s"], max(results[n]["stages"]["stages"][k]["mb"] or 0 for k in ("load", "evaluate", "violations CSV"))) for n in ns]))
    for k in results[ns[0]]["baseline"]["stages"]:
        rows.append((f"baseline: {k}", [(results[n]["baseline"]["stages"][k]["s"], results[n]["baseline"]["stages"][k]["mb"]) for n in ns]))
    rows.append(("baseline: total", [(results[n]["baseline"]["total_s"], results[n]["baseline"]["process_mb"]) for n in ns]))
    rows.append(("crm-audit run → CSV", [(results[n]["cli_csv_s"], results[n]["cli_csv_mb"]) for n in ns]))
    if not args.skip_workbook:
        rows.append(("crm-audit run → CSV+xlsx", [(results[n]["cli_wb_s"], results[n]["cli_wb_mb"]) for n in ns]))
    rows.append(("crm-audit --help", [(startup["--help"], startup["--help MB"]) for _ in ns]))
    rows.append(("crm-audit validate", [(startup["validate"], startup["validate MB"]) for _ in ns]))

    w = 26
    print("\n" + "=" * (w + 20 * len(ns)))
    print(f"{'seconds / peak RSS MB':<{w}}" + "".join(f"{'N=' + format(n, ','):>20}" for n in ns))
    print("-" * (w + 20 * len(ns)))
    for label, cells in rows:
        print(f"{label:<{w}}" + "".join(f"{fmt_s(s) + ' s ' + fmt_mb(mb) + ' MB':>20}" for s, mb in cells))
    print("-" * (w + 20 * len(ns)))
    print(f"{'violations (rows)':<{w}}" + "".join(f"{results[n]['stages']['violations']:>20,}" for n in ns))
    print(f"{'result sets equal':<{w}}" + "".join(f"{'OK' if results[n]['match'] else 'DIFFERENT':>20}" for n in ns))
    print(f"{'product ÷ baseline':<{w}}" + "".join(f"{results[n]['ratio']:>19.2f}×" for n in ns))
    print(f"{'  (whole processes)':<{w}}" + "".join(f"{results[n]['ratio_cli']:>19.2f}×" for n in ns))
    print("=" * (w + 20 * len(ns)))
    # linearity: time(10N)/time(N) for consecutive sizes that differ by 10×
    pairs = [(a, b) for a in ns for b in ns if b == 10 * a]
    if pairs:
        print("linearity time(10N)/time(N) (target ≤ 11):")
        for a, b in pairs:
            ra, rb = results[a], results[b]
            items = [
                ("product load→rules→CSV", ra["product_core_s"], rb["product_core_s"]),
                ("  load", ra["stages"]["stages"]["load"]["s"], rb["stages"]["stages"]["load"]["s"]),
                ("  evaluate", ra["stages"]["stages"]["evaluate"]["s"], rb["stages"]["stages"]["evaluate"]["s"]),
                ("  violations CSV", ra["stages"]["stages"]["violations CSV"]["s"], rb["stages"]["stages"]["violations CSV"]["s"]),
                ("crm-audit run → CSV", ra["cli_csv_s"], rb["cli_csv_s"]),
                ("baseline total", ra["baseline"]["total_s"], rb["baseline"]["total_s"]),
            ]
            if not args.skip_workbook:
                items.insert(4, ("  workbook", ra["stages"]["stages"]["workbook"]["s"], rb["stages"]["stages"]["workbook"]["s"]))
            print(f"  {a:,} → {b:,}: " + ", ".join(f"{k.strip()} {y / x:.1f}×" for k, x, y in items))
    if args.json:
        Path(args.json).write_text(json.dumps({"startup": startup, "results": {str(k): v for k, v in results.items()}}, indent=1, default=str))


if __name__ == "__main__":
    main()
