#!/usr/bin/env python3
"""crm-audit benchmark (issues 7 and 17): stages, the whole `crm-audit run`, the ledger, and a hand-written DuckDB baseline.

    python benchmarks/bench.py [--shapes generator,high-violation,messy] [--sizes 100000,1000000]
                               [--seed 7] [--workdir /tmp/crm-audit-bench] [--skip-workbook]
                               [--second-audit SHAPE|none] [--second-audit-saved] [--year N|0] [--repeat K] [--json FILE]

For each data shape (benchmarks/shapes.py) and N, an export is generated with
``samplegen`` (as_of 2026-11-20) into WORKDIR/export-{shape}-n{N}-seed{SEED}
and reused by later runs (a ``.complete.json`` marker records shape, N,
seed, as_of and a hash of samplegen.py and shapes.py).

Every measurement runs in a fresh child process (this same script with a
hidden ``--_child`` command), so one size's memory never inflates the next
size's peak:

* ``stages``: the library API, stage by stage, in one process: import,
  settings+rules, load (``load_export``), evaluate all 17 rules
  (``DuckDBBackend.prepare`` + one query per rule), the ledger (carry over +
  record on a fresh ledger, with its bytes per finding), violations CSV,
  workbook, Google Sheets requests (what ``exporters.gsheet.publish``
  prepares, no network). Peak RSS per stage: VmHWM after writing "5" to
  /proc/self/clear_refs (resets the high-water mark to the current RSS).
* ``baseline``: benchmarks/baseline.sql on a fresh DuckDB connection
  (default threads): load the four CSVs, evaluate the 17 rules, COPY
  (rule_id, deal_id) to CSV. It reads either file layout.
* ``cli``: the whole ``crm-audit run`` command — ``crm_audit.cli.entry()`` in
  a fresh process, as the console script runs it, with timers around the
  library functions it calls (where the time goes) — a first audit with a
  fresh ledger (violations CSV; then with ``--out`` the workbook too); wall
  time and the child's max RSS (os.wait4).
* a second audit (``--second-audit``): the same command run twice on one
  ledger with ``--out``: the second run reads the first one's workbook back,
  carries it over, records and writes the new workbook. With
  ``--second-audit-saved`` also the same after the first workbook was
  rewritten with every part recompressed (as a client's save rewrites every
  part): nothing is as the run wrote it, every sheet is parsed.
* a year of biweekly audits (``--year N``): 26 audits of N deals with churn
  recorded in one ledger through the library (edits read back, carry-over,
  hit history, record), then the ledger's size and ``crm-audit review``.
* ``crm-audit --help`` and ``crm-audit validate`` start-up (best of 5).

The violations of the baseline are compared with the product's CSV as a set
of (rule_id, deal_id), per rule. The tracked figure is the whole command:
``crm-audit run --violations-csv`` with a fresh ledger ÷ the baseline process.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
AS_OF = dt.date(2026, 11, 20)
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


def _generator_hash() -> str:
    import samplegen

    h = hashlib.sha256(Path(samplegen.__file__).read_bytes())
    h.update((HERE / "shapes.py").read_bytes())
    return h.hexdigest()[:16]


def export_dir(workdir: Path, shape: str, n: int, seed: int) -> Path:
    return workdir / f"export-{shape}-n{n}-seed{seed}"


def ensure_export(workdir: Path, shape: str, n: int, seed: int) -> tuple[Path, str]:
    """The export directory for (shape, n, seed), generated in a child process unless cached."""
    d = export_dir(workdir, shape, n, seed)
    want = {"shape": shape, "n_deals": n, "seed": seed, "as_of": AS_OF.isoformat(), "generator": _generator_hash()}
    marker = d / ".complete.json"
    if marker.exists():
        try:
            have = json.loads(marker.read_text())
        except ValueError:
            have = {}
        if have == want:
            return d, "cached"
    if d.exists():
        shutil.rmtree(d)
    t0 = time.perf_counter()
    child(["generate", shape, str(n), str(seed), str(d)])
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


def child_generate(shape: str, n: int, seed: int, out: str) -> None:
    import shapes

    shapes.write_shape(shape, n, seed, AS_OF, out)


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
    detail_info: dict[str, int] = {}

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
        ledger_bytes = sum(f.stat().st_size for f in out.glob("stages-ledger*") if f.is_file()) + sum(
            f.stat().st_size for f in out.glob("stages-ledger.findings/*") if f.is_file())
        detail_info["ledger_bytes"] = ledger_bytes
        detail_info["ledger_findings"] = report.total
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
        **detail_info,
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


LAYOUT_MACROS = {
    "clean": (
        "CREATE OR REPLACE MACRO id_of(x) AS trim(x, ws());\n"
        "CREATE OR REPLACE MACRO day_of(x) AS try_cast(left(trim(x, ws()), 10) AS DATE);\n"
        "CREATE OR REPLACE MACRO num_of(x) AS try_cast(trim(x, ws()) AS DOUBLE);"
    ),
    "messy": (  # ids as 123.0, dd.mm.yyyy [HH:MM], 1 500,00
        "CREATE OR REPLACE MACRO id_of(x) AS regexp_replace(trim(x, ws()), '\\.0$', '');\n"
        "CREATE OR REPLACE MACRO day_of(x) AS CAST(try_strptime(left(trim(x, ws()), 10), '%d.%m.%Y') AS DATE);\n"
        "CREATE OR REPLACE MACRO num_of(x) AS try_cast(replace(replace(replace(trim(x, ws()), ' ', ''), chr(160), ''), ',', '.') AS DOUBLE);"
    ),
}


def _read_call(path: Path, entity: str, layout: str) -> str:
    """The baseline's read_csv(...) of one file: the clean layout by its headers, the messy one renamed to them."""
    lit = "'" + str(path).replace("'", "''") + "'"
    if layout == "clean":
        return f"read_csv({lit}, header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"')"
    import samplegen

    columns = {"deals": samplegen.DEAL_COLUMNS, "organizations": samplegen.ORG_COLUMNS,
               "persons": samplegen.PERSON_COLUMNS, "activities": samplegen.ACTIVITY_COLUMNS}[entity]
    names = [samplegen.PREFIXES[entity] + h for _, h, _ in columns]
    if entity == "deals":
        names.append("Deal - Город (2)")  # Excel's duplicated empty «Город» column
    quoted = ", ".join("'" + n.replace("'", "''") + "'" for n in names)
    return (f"read_csv({lit}, header = true, all_varchar = true, delim = ';', quote = '\"', escape = '\"', "
            f"names = [{quoted}])")


def baseline_chunks(export: str, out_csv: str, layout: str = "clean") -> list[tuple[str, str]]:
    """baseline.sql split into (stage, SQL) chunks at ``-- @stage NAME`` lines, placeholders filled."""
    d = Path(export)
    text = BASELINE_SQL.read_text(encoding="utf-8")
    text = text.replace("${layout_macros}", LAYOUT_MACROS[layout])
    for entity in ("deals", "organizations", "persons", "activities"):
        text = text.replace("${" + entity + "}", _read_call(d / f"{entity}.csv", entity, layout))
    values = {"as_of": AS_OF.isoformat(), "out": out_csv}
    for key, value in values.items():  # plain ${name} placeholders (regexes in the SQL use "$")
        text = text.replace("${" + key + "}", value.replace("'", "''"))
    chunks: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("-- @stage "):
            chunks.append((line[len("-- @stage "):].strip(), []))
        elif chunks:
            chunks[-1][1].append(line)
    return [(name, "\n".join(lines)) for name, lines in chunks]


def child_baseline(export: str, settings_path: str, out_csv: str, layout: str = "clean") -> None:
    import duckdb

    cfg = baseline_settings_sql(settings_path)
    chunks = baseline_chunks(export, out_csv, layout)
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


#: (module, attribute, label): the library functions the whole command is timed by (where the time goes)
CLI_TIMERS = [
    ("exporters.xlsx_readback", "WorkbookReader.read_edits", "read back: workbook → rows"),
    ("crm_audit.history.pull", "store_edits", "read back: rows → ledger"),
    ("crm_audit.engine.readers", "read_raw", "load: read files"),
    ("crm_audit.engine.mapping", "map_entity", "load: map entities"),
    ("crm_audit.engine.loading", "load_export", "load"),
    ("crm_audit.engine.backends.duckdb_backend", "DuckDBBackend.prepare", "evaluate: prepare audit_deals"),
    ("crm_audit.engine.backends.duckdb_backend", "DuckDBBackend.run", "evaluate: 17 rule queries → frames"),
    ("crm_audit.engine.audit", "audit_export", "audit (load + evaluate)"),
    ("crm_audit.history.carry", "carry_inputs", "carry-over: read the ledger"),
    ("crm_audit.history.carry", "carry_over", "carry-over"),
    ("crm_audit.history.hits", "hit_history", "hit history"),
    ("exporters.xlsx", "write_workbook", "workbook"),
    ("crm_audit.cycle.written_parts", "record_written", "workbook: its parts recorded"),
    ("exporters.csv", "write_violations_csv", "violations CSV"),
    ("crm_audit.history.record", "findings_table", "ledger: findings table"),
    ("crm_audit.history.ledger", "Ledger.record_audit", "ledger: record_audit"),
]


def child_cli(argv: list[str]) -> None:
    """``crm-audit <argv>`` as the console script runs it (``crm_audit.cli.entry()``), timed by library function."""
    import atexit
    import functools
    import importlib

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}  # user + sys of the whole process (every thread) during each timed function
    import crm_audit.cli as cli

    t_import = time.perf_counter() - t0
    for modname, attr, label in CLI_TIMERS:
        try:
            owner = importlib.import_module(modname)
        except ImportError:
            continue
        *path, name = attr.split(".")
        for part in path:
            owner = getattr(owner, part, None)
        fn = getattr(owner, name, None) if owner is not None else None
        if fn is None:
            continue

        def wrapper(*a, _fn=fn, _label=label, **k):
            t, c = time.perf_counter(), time.process_time()
            try:
                return _fn(*a, **k)
            finally:
                timings[_label] = timings.get(_label, 0.0) + time.perf_counter() - t
                cpu[_label] = cpu.get(_label, 0.0) + time.process_time() - c

        setattr(owner, name, functools.wraps(fn)(wrapper))

    def report():
        _emit({"in_process_s": time.perf_counter() - t0, "import_s": t_import, "cpu_s": time.process_time(),
               "detail": {label: timings[label] for _, _, label in CLI_TIMERS if label in timings},
               "detail_cpu": {label: cpu[label] for _, _, label in CLI_TIMERS if label in cpu}})

    atexit.register(report)
    sys.argv = ["crm-audit", *argv]
    cli.entry()


def child_year(export: str, settings_path: str, workdir: str, audits: int) -> None:
    """A year of biweekly audits recorded in one ledger, as ``crm-audit run`` records them (no documents written).

    The export is audited once; each audit then shows a churned copy of its
    findings (per rule, ~95 % of the findings persist, ~5 % are fixed and about
    as many appear), and before it the previous audit's document is read back
    (every row; ~15 % with a status, a third of those «Не исправлено» with a
    comment) — edits, carry-over, hit history, record.
    """
    import dataclasses

    import numpy as np

    from crm_audit import settings as settings_mod
    from crm_audit.documents.edits import EditedRow
    from crm_audit.engine.audit import audit_export
    from crm_audit.history.carry import carry_inputs, carry_over
    from crm_audit.history.hits import hit_history
    from crm_audit.history.ledger import Ledger
    from crm_audit.history.pull import store_edits
    from crm_audit.history.record import record
    from crm_audit.report import STATUS_FIXED, STATUS_NEW, STATUS_NOT_FIXED

    settings = settings_mod.load(settings_path)
    start = AS_OF - dt.timedelta(days=14 * (audits - 1))
    base = audit_export(settings, export, as_of=start)
    rng = np.random.default_rng(17)
    active = {r.rule_id: rng.random(r.count) < 0.8 for r in base.results}
    path = Path(workdir) / "year-ledger.db"
    for p in Path(workdir).glob("year-ledger*"):
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    per_audit = []
    prev = None
    with Ledger(path) as ledger:
        for k in range(audits):
            t0 = time.perf_counter()
            as_of = start + dt.timedelta(days=14 * k)
            if prev is not None:  # the previous audit's document, read back: every row, some worked on
                edits = []
                for r in prev.results:
                    ids = r.rows["deal_id"].astype(str).tolist()
                    owners = r.rows["owner"].astype(object).where(r.rows["owner"].notna(), None).tolist()
                    draw = rng.random(len(ids))
                    for i, (deal, owner) in enumerate(zip(ids, owners)):
                        if draw[i] < 0.10:
                            status, comment = STATUS_FIXED, None
                        elif draw[i] < 0.15:
                            status, comment = STATUS_NOT_FIXED, "Клиент не отвечает, уточню на следующей неделе"
                        else:
                            status, comment = STATUS_NEW, None
                        edits.append(EditedRow.build(r.rule_id, deal, status_raw=status, comment=comment, owner=owner,
                                                     sheet=r.sheet_title, row=i + 2))
                store_edits(ledger, edits, str(Path(workdir) / "year.xlsx"), prev_id)
            if k:
                for rid, m in active.items():
                    draw = rng.random(len(m))
                    active[rid] = np.where(m, draw >= 0.05, draw < 0.2)
            report = dataclasses.replace(
                base, as_of=as_of, due_date=as_of + dt.timedelta(days=settings.output.due_days),
                results=[dataclasses.replace(r, rows=r.rows[active[r.rule_id]].reset_index(drop=True)) for r in base.results])
            carry = carry_over(report, carry_inputs(ledger, report))
            report.hit_history = hit_history(report, ledger)
            prev_id = record(report, ledger, carry)
            prev = report
            per_audit.append({"s": time.perf_counter() - t0, "findings": report.total})
    files = [f for f in Path(workdir).glob("year-ledger*") if f.is_file()] + [
        f for f in Path(workdir).glob("year-ledger.findings/*") if f.is_file()]
    _emit({"audits": per_audit, "bytes": sum(f.stat().st_size for f in files), "ledger": str(path),
           "last_as_of": (start + dt.timedelta(days=14 * (audits - 1))).isoformat()})


def child_main(argv: list[str]) -> None:
    cmd, *rest = argv
    if cmd == "generate":
        child_generate(rest[0], int(rest[1]), int(rest[2]), rest[3])
    elif cmd == "cli":
        child_cli(rest)
    elif cmd == "year":
        child_year(rest[0], rest[1], rest[2], int(rest[3]))
    elif cmd == "stages":
        child_stages(rest[0], rest[1], rest[2], rest[3] == "1")
    elif cmd == "baseline":
        child_baseline(rest[0], rest[1], rest[2], rest[3])
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


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ledger_files(path: Path) -> list[Path]:
    """The ledger file, its -wal/-shm, and its findings folder's files."""
    out = [p for p in path.parent.glob(path.name + "*") if p.is_file()]
    folder = path.with_suffix(".findings")
    return out + ([p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else [])


def remove_ledger(path: Path) -> None:
    for p in path.parent.glob(path.name + "*"):
        p.unlink()
    folder = path.with_suffix(".findings")
    if folder.is_dir():
        shutil.rmtree(folder)


def run_cli(args: list[str]) -> dict:
    """The whole command in a fresh process (see child_cli): wall, max RSS, where the time went."""
    res, wall, rss = child(["cli", *args], capture_json=True)
    res = res or {}
    res.update(s=wall, mb=rss)
    return res


def recompress(path: Path, level: int = 9) -> None:
    """Rewrite the .xlsx at ``path`` with every part deflated at ``level``: what the parts say is unchanged, their
    stored bytes (and so their digests) are not — as after Excel or LibreOffice saved it (they rewrite every part)."""
    import zipfile

    tmp = path.with_name(path.name + ".recompress")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zout:
        for info in zin.infolist():
            out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            out.compress_type = zipfile.ZIP_DEFLATED
            out.external_attr = info.external_attr
            with zin.open(info) as src, zout.open(out, "w", force_zip64=info.file_size > 0x7FFFFFFF) as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
    os.replace(tmp, path)


def ratio(a, b) -> float | None:
    return a / b if a is not None and b else None


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--_child":
        child_main(sys.argv[2:])
        return
    import shapes as shapes_mod

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shapes", default=",".join(shapes_mod.SHAPES), help="data shapes (default: %(default)s)")
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated deal counts (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", default="/tmp/crm-audit-bench", help="exports (cached) and outputs (default: %(default)s)")
    ap.add_argument("--skip-workbook", action="store_true", help="no workbook: neither the stage nor `run --out`")
    ap.add_argument("--skip-stages", action="store_true", help="do not run the in-process stage breakdown")
    ap.add_argument("--second-audit", default="generator",
                    help="shape(s) whose largest size is audited a second time on the same ledger, or 'none' (default: %(default)s)")
    ap.add_argument("--second-audit-saved", action="store_true",
                    help="also a second audit whose previous workbook was saved by a client (every part rewritten: "
                         "the read-back parses every sheet)")
    ap.add_argument("--year", type=int, default=100_000, help="deals of the simulated year of biweekly audits; 0: skip (default: %(default)s)")
    ap.add_argument("--year-audits", type=int, default=26)
    ap.add_argument("--repeat", type=int, default=0, help="runs per measurement, best kept (default: 3 up to 100,000 deals, else 1)")
    ap.add_argument("--json", help="also write every figure to this JSON file")
    args = ap.parse_args()
    shape_list = [x.strip() for x in args.shapes.split(",") if x.strip()]
    for sh in shape_list:
        if sh not in shapes_mod.SHAPES:
            ap.error(f"unknown shape {sh}; expected some of {', '.join(shapes_mod.SHAPES)}")
    sizes = [int(x.replace("_", "")) for x in args.sizes.split(",") if x.strip()]
    second = [] if args.second_audit == "none" else [x.strip() for x in args.second_audit.split(",") if x.strip() in shape_list]
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    settings = write_settings(workdir)
    cmd = crm_audit_cmd()
    import duckdb

    started = dt.datetime.now()
    print(f"crm-audit benchmark — {started:%Y-%m-%d %H:%M}, {platform.node()}, {os.cpu_count()} CPUs ({cpu_model()}), "
          f"Python {platform.python_version()}, DuckDB {duckdb.__version__}; load average {load_average()}")
    print(f"workdir {workdir}, seed {args.seed}, as_of {AS_OF}, settings {settings}")
    if not reset_peak():
        print("note: /proc/self/clear_refs is not writable; per-stage peaks are the process peak so far")

    startup = {}
    _, startup["--help"], startup["--help MB"] = best_of(5, lambda: run_process([*cmd, "--help"]))
    _, startup["validate"], startup["validate MB"] = best_of(5, lambda: run_process([*cmd, "validate", "--config", str(settings)]))
    print(f"\nstart-up (best of 5): crm-audit --help {startup['--help']:.3f} s, crm-audit validate {startup['validate']:.3f} s")

    results: dict[str, dict[int, dict]] = {}
    for shape in shape_list:
        layout = shapes_mod.LAYOUT[shape]
        for n in sizes:
            rep = args.repeat or (3 if n <= 100_000 else 1)
            d, how = ensure_export(workdir, shape, n, args.seed)
            sizes_mb = sum(p.stat().st_size for p in d.glob("*.csv")) / MB
            print(f"\n=== {shape}, N = {n:,} deals ({how}; {sizes_mb:.0f} MB of CSV; best of {rep}; load average {load_average()}) ===",
                  flush=True)
            outdir = workdir / f"out-{shape}-n{n}"
            outdir.mkdir(exist_ok=True)
            r: dict = {"shape": shape, "n": n, "export_mb": sizes_mb, "load_before": load_average()}

            # 1. library stages, one fresh process per run
            if not args.skip_stages:
                runs = []
                for _ in range(rep):
                    res, wall, rss = child(["stages", str(d), str(settings), str(outdir), "1" if args.skip_workbook else "0"],
                                           capture_json=True)
                    res["process_s"], res["process_mb"] = wall, rss
                    runs.append(res)
                best = min(runs, key=lambda x: sum(x["stages"][k]["s"] for k in ("load", "evaluate", "violations CSV")))
                r["stages"] = best
                for name, v in best["stages"].items():
                    print(f"  stage {name:<16} {v['s']:8.3f} s  peak {fmt_mb(v['mb']):>6} MB")
                print(f"  violations: {best['violations']:,} over {best['deals']:,} audited deals (largest rule: {best['max_rule_rows']:,} rows)")
                if best.get("ledger_bytes"):
                    print(f"  ledger (fresh, first audit): {best['ledger_findings']:,} findings in "
                          f"{best['stages']['ledger']['s']:.2f} s, {best['ledger_bytes'] / MB:.1f} MB = "
                          f"{best['ledger_bytes'] / max(best['ledger_findings'], 1):.1f} bytes per finding")
                print("  where the time goes:")
                for k, v in best["detail"].items():
                    print(f"    {k:<46} {v:8.3f} s")
                if best.get("gsheet"):
                    g = best["gsheet"]
                    print(f"    gsheet: {g['requests']} API requests, {g['cells']:,} cells, {g['shown']:,} of {best['violations']:,} violation rows shown")
                slow = sorted(best["per_rule"].items(), key=lambda kv: -kv[1])[:5]
                print("    slowest rules: " + ", ".join(f"{k} {v:.3f}s" for k, v in slow))

            # 2. baseline, fresh process + fresh connection per run
            base_csv = outdir / "baseline-violations.csv"
            bruns = []
            for _ in range(rep):
                res, wall, rss = child(["baseline", str(d), str(settings), str(base_csv), layout], capture_json=True)
                res["process_s"], res["process_mb"] = wall, rss
                bruns.append(res)
            b = min(bruns, key=lambda x: x["process_s"])
            r["baseline"] = b
            print("  baseline (hand-written DuckDB SQL): " + ", ".join(f"{k} {v['s']:.3f}s" for k, v in b["stages"].items())
                  + f"; total {b['total_s']:.3f} s; process {b['process_s']:.3f} s, peak {b['process_mb']:.0f} MB")

            # 3. the whole command, a first audit (fresh ledger)
            ledger = outdir / "cli-ledger.db"
            base_args = ["run", "--config", str(settings), "--export", str(d), "--as-of", AS_OF.isoformat(), "--quiet",
                         "--ledger", str(ledger)]
            csv_path = outdir / "cli-violations.csv"

            def first_audit(extra: list[str]) -> dict:
                remove_ledger(ledger)
                for p in (outdir / "cli-audit.xlsx",):
                    if p.exists():
                        p.unlink()
                res = run_cli([*base_args, "--violations-csv", str(csv_path), *extra])
                res["ledger_bytes"] = sum(p.stat().st_size for p in ledger_files(ledger))
                return res

            r["cli_csv"] = min((first_audit([]) for _ in range(rep)), key=lambda x: x["s"])
            c = r["cli_csv"]
            r["ratio_cli"] = ratio(c["s"], b["process_s"])
            print(f"  crm-audit run --violations-csv (fresh ledger)  {c['s']:8.3f} s  peak {c['mb']:6.0f} MB   "
                  f"÷ baseline process {b['process_s']:.3f} s = {r['ratio_cli']:.2f}×  (ledger {c['ledger_bytes'] / MB:.1f} MB)")
            print(f"    {'(wall; CPU user+sys of the process)':<46} {c.get('cpu_s', 0):8.3f} CPU-s in all")
            for k, v in c.get("detail", {}).items():
                print(f"    {k:<46} {v:8.3f} s {c.get('detail_cpu', {}).get(k, 0):8.3f} CPU-s")

            # 4. equality of the result sets (the whole command's CSV against the baseline's)
            cmpres, _, _ = child(["compare", str(csv_path), str(base_csv)], capture_json=True)
            r["compare"] = cmpres
            diffs = [row for row in cmpres["rules"] if row[3] or row[4]]
            r["violations"] = sum(row[1] for row in cmpres["rules"])
            r["match"] = not diffs and cmpres["product_duplicates"] == 0
            if r["match"]:
                print(f"  result sets: OK — identical (rule_id, deal_id) sets over {len(cmpres['rules'])} rules, {r['violations']:,} violations")
            else:
                print("  result sets: DIFFERENT")
                for rule_id, np_, nb, op, ob in diffs:
                    smp = cmpres["samples"].get(rule_id, {})
                    print(f"    {rule_id}: product {np_}, baseline {nb}, only in product {op} {smp.get('only_product')}, "
                          f"only in baseline {ob} {smp.get('only_baseline')}")
                if cmpres["product_duplicates"]:
                    print(f"    product CSV has {cmpres['product_duplicates']} duplicate (rule_id, deal_id) rows")

            # 5. with the workbook, and a second audit on the same ledger
            if not args.skip_workbook:
                r["cli_wb"] = min((first_audit(["--out", str(outdir / "cli-audit.xlsx")]) for _ in range(rep)), key=lambda x: x["s"])
                w = r["cli_wb"]
                print(f"  crm-audit run --violations-csv --out (fresh)   {w['s']:8.3f} s  peak {w['mb']:6.0f} MB   "
                      f"÷ baseline {ratio(w['s'], b['process_s']):.2f}×")
                if shape in second and n == max(sizes):
                    # the first run above left its ledger and workbook: the next audit reads that workbook back
                    nxt = (AS_OF + dt.timedelta(days=1)).isoformat()
                    args2 = [*base_args, "--violations-csv", str(csv_path), "--out", str(outdir / "cli-audit.xlsx")]
                    args2[args2.index("--as-of") + 1] = nxt
                    r["second"] = s2 = run_cli(args2)
                    s2["ledger_bytes"] = sum(p.stat().st_size for p in ledger_files(ledger))
                    print(f"  second audit (reads back the {n:,}-deal workbook, carries over, records, writes the new one) "
                          f"{s2['s']:8.3f} s  peak {s2['mb']:6.0f} MB   ÷ baseline {ratio(s2['s'], b['process_s']):.2f}×")
                    print(f"    {'(wall; CPU user+sys of the process)':<46} {s2.get('cpu_s', 0):8.3f} CPU-s in all")
                    for k, v in s2.get("detail", {}).items():
                        print(f"    {k:<46} {v:8.3f} s {s2.get('detail_cpu', {}).get(k, 0):8.3f} CPU-s")
                    if args.second_audit_saved:
                        # the same, but the previous workbook as a client saved it: every part rewritten (here
                        # recompressed: the same content, other stored bytes), so the read-back parses every sheet
                        first_audit(["--out", str(outdir / "cli-audit.xlsx")])
                        recompress(outdir / "cli-audit.xlsx")
                        r["second_saved"] = s3 = run_cli(args2)
                        print(f"  second audit, the workbook saved by a client (every sheet parsed)         "
                              f"{s3['s']:8.3f} s  peak {s3['mb']:6.0f} MB   ÷ baseline {ratio(s3['s'], b['process_s']):.2f}×")
                        print(f"    {'(wall; CPU user+sys of the process)':<46} {s3.get('cpu_s', 0):8.3f} CPU-s in all")
                        for k, v in s3.get("detail", {}).items():
                            print(f"    {k:<46} {v:8.3f} s {s3.get('detail_cpu', {}).get(k, 0):8.3f} CPU-s")
            r["load_after"] = load_average()
            results.setdefault(shape, {})[n] = r

    # ----------------------------------------------------------------- a year of biweekly audits
    year = None
    if args.year:
        d, how = ensure_export(workdir, "generator", args.year, args.seed)
        ydir = workdir / f"year-n{args.year}"
        ydir.mkdir(exist_ok=True)
        print(f"\n=== a year: {args.year_audits} biweekly audits of {args.year:,} deals in one ledger ({how}) ===", flush=True)
        year, wall, rss = child(["year", str(d), str(settings), str(ydir), str(args.year_audits)], capture_json=True)
        year["process_s"], year["process_mb"] = wall, rss
        rev_args = [*cmd, "review", "--config", str(settings), "--ledger", year["ledger"], "--no-pull", "--today", year["last_as_of"]]
        _, year["review_s"], year["review_mb"] = best_of(3, lambda: run_process(rev_args))
        times = [a["s"] for a in year["audits"]]
        print(f"  {len(times)} audits recorded in {sum(times):.1f} s (first {times[0]:.2f} s, last {times[-1]:.2f} s; "
              f"{year['audits'][-1]['findings']:,} findings in the last), peak {rss:.0f} MB")
        print(f"  ledger after a year: {year['bytes'] / MB:.1f} MB; crm-audit review {year['review_s']:.3f} s "
              f"(best of 3), peak {year['review_mb']:.0f} MB")

    # ----------------------------------------------------------------- summary
    print("\n" + "=" * 100)
    print(f"summary — {started:%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, load average at the end {load_average()}")
    w = 40
    for shape, by_n in results.items():
        ns = sorted(by_n)
        print(f"\n{shape}: seconds / peak RSS MB" + "".join(f"{'N=' + format(n, ','):>22}" for n in ns))
        rows: list[tuple[str, list]] = []
        if not args.skip_stages:
            for stname in ["load", "evaluate", "ledger", "violations CSV"] + ([] if args.skip_workbook else ["workbook"]):
                if all(stname in by_n[n]["stages"]["stages"] for n in ns):
                    rows.append((f"  stage: {stname}", [(by_n[n]["stages"]["stages"][stname]["s"], by_n[n]["stages"]["stages"][stname]["mb"]) for n in ns]))
        rows.append(("  baseline process (load→17 rules→CSV)", [(by_n[n]["baseline"]["process_s"], by_n[n]["baseline"]["process_mb"]) for n in ns]))
        rows.append(("  crm-audit run --violations-csv", [(by_n[n]["cli_csv"]["s"], by_n[n]["cli_csv"]["mb"]) for n in ns]))
        if not args.skip_workbook:
            rows.append(("  crm-audit run --violations-csv --out", [(by_n[n]["cli_wb"]["s"], by_n[n]["cli_wb"]["mb"]) for n in ns]))
        if any("second" in by_n[n] for n in ns):
            rows.append(("  second audit (read back + --out)", [(by_n[n]["second"]["s"], by_n[n]["second"]["mb"]) if "second" in by_n[n] else (None, None) for n in ns]))
        if any("second_saved" in by_n[n] for n in ns):
            rows.append(("  second audit, workbook saved by client", [(by_n[n]["second_saved"]["s"], by_n[n]["second_saved"]["mb"]) if "second_saved" in by_n[n] else (None, None) for n in ns]))
        for label, cells in rows:
            print(f"{label:<{w}}" + "".join(f"{fmt_s(s_) + ' s ' + fmt_mb(mb) + ' MB':>22}" for s_, mb in cells))
        print(f"{'  violations':<{w}}" + "".join(f"{by_n[n]['violations']:>22,}" for n in ns))
        print(f"{'  result sets equal':<{w}}" + "".join(f"{'OK' if by_n[n]['match'] else 'DIFFERENT':>22}" for n in ns))
        print(f"{'  whole command ÷ baseline':<{w}}" + "".join(f"{by_n[n]['ratio_cli']:>21.2f}×" for n in ns))
        if any("second" in by_n[n] for n in ns):
            print(f"{'  second audit ÷ baseline':<{w}}" + "".join(
                f"{ratio(by_n[n]['second']['s'], by_n[n]['baseline']['process_s']):>21.2f}×" if "second" in by_n[n] else f"{'—':>22}" for n in ns))
        if any("second_saved" in by_n[n] for n in ns):
            print(f"{'  second audit (saved) ÷ baseline':<{w}}" + "".join(
                f"{ratio(by_n[n]['second_saved']['s'], by_n[n]['baseline']['process_s']):>21.2f}×" if "second_saved" in by_n[n] else f"{'—':>22}" for n in ns))
        pairs = [(a, b_) for a in ns for b_ in ns if b_ == 10 * a]
        for a, b_ in pairs:
            print(f"  linearity {a:,} → {b_:,} (target ≤ 11): crm-audit run {by_n[b_]['cli_csv']['s'] / by_n[a]['cli_csv']['s']:.1f}×, "
                  f"baseline {by_n[b_]['baseline']['process_s'] / by_n[a]['baseline']['process_s']:.1f}×")
    if year:
        print(f"\na year ({args.year_audits} audits of {args.year:,} deals): ledger {year['bytes'] / MB:.1f} MB, "
              f"crm-audit review {year['review_s']:.3f} s")
    print(f"start-up: crm-audit --help {startup['--help']:.3f} s, validate {startup['validate']:.3f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"started": started.isoformat(), "cpus": os.cpu_count(), "startup": startup,
                                               "results": results, "year": year}, indent=1, default=str))


if __name__ == "__main__":
    main()
