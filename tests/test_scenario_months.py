"""Two months of audits as a team lives them (issue 11, «Tests»), driven only through the CLI.

Four audits over eight weeks (as-of 2026-10-09, 10-23, 11-06, 11-20), each on a new export folder where some deals
got fixed and new violations appeared. Between audits managers edit the workbook with openpyxl (sorting and deleting
rows, «Исправлено» / «Не исправлено» with comments, a hand-typed «исправил», a formula-like comment
``=SUM(A1) проверю``) and the head of sales decides in it («Решение»: «Принято» / «Предупреждение») and with
``crm-audit accept`` / ``warn`` / ``pull`` / ``review``. The scenario runs for two ways of keeping the document:

- ``inplace``: one document updated in place (``--out audit.xlsx`` every time);
- ``dated``: a new file per audit (``--out audit-2026-10-09.xlsx``, …): the previous audit's document is the one
  the ledger recorded (reference §7).

The scenario runs once per layout (a module fixture that records what every step showed, and stops at the first
step that cannot go on); each test then checks one thing. The other tests each set up their own small project:
(c) another working directory, (d) ``--dry-run`` and ``--rule`` change no byte, (e) a re-run is idempotent,
(f) a test re-run into ``check.xlsx`` loses no comment, (g) a moved document, (h) the CSV and the workbook on the
same path, (i) temp files of a killed run, (j) a read-only output folder. Review counts (k) are checked in the
scenario. Expected values are literal: what the managers and the head wrote must come back, never dropped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import io
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import yaml

from crm_audit.cli import main
from crm_audit.initfile import render_settings
from pipedrive_fixture import write_export

DEFAULTS = yaml.safe_load((Path(__file__).parent / "rule_cases" / "_defaults.yaml").read_text(encoding="utf-8"))
IVAN, MARIA, OLEG = "Иван Петров", "Мария Кузнецова", "Олег Сидоров"
NEW, FIXED, NOT_FIXED = "Не обработано", "Исправлено", "Не исправлено"
DATES = ["2026-10-09", "2026-10-23", "2026-11-06", "2026-11-20"]
URL = "https://example.pipedrive.com/deal/{}"
WALL_CLOCK = {"ran_at", "read_at", "decided_at"}  # and any other «…_at» column: the ledger's ISO timestamps (dates are «…_on»)
#: the state of a document file when last read (its bytes: a re-run rewrites the workbook, whose FAQ shows the wall clock)
FILE_STATE = {("document_reads", "size"), ("document_reads", "mtime_ns"), ("document_reads", "digest"),
              ("document_parts", "crc"), ("document_parts", "size"), ("document_parts", "digest")}  # and each part as written


# ============================================================================ the CLI, as a user runs it


@dataclasses.dataclass
class Result:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


@contextlib.contextmanager
def cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def crm(*args: str, at: Path) -> Result:
    """``crm-audit ARGS`` started in folder ``at`` (in process: crm_audit.cli.main)."""
    out, err = io.StringIO(), io.StringIO()
    with cwd(at), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # click's own exits, should main ever let one through
            code = e.code if isinstance(e.code, int) else 2
    return Result(code, out.getvalue(), err.getvalue())


# ============================================================================ exports


def deal(i: int, owner: str, **kw) -> dict:
    return {**DEFAULTS["deal"], "id": str(i), "title": f"Сделка {i}", "owner": owner, "stage": "Тестовый период",
            "created": "2026-09-15 10:00:00", "stage_changed": "2026-10-01 10:00:00", **kw}


NO_SOURCE = {"Источник сделки": ""}
NO_CITY = {"Город": ""}


def write(folder: Path, deals: list[dict], no_task: set[str] = frozenset()) -> Path:
    acts = [{**DEFAULTS["activity"], "id": str(1000 + n), "deal_id": d["id"], "due_date": "2027-01-15"}
            for n, d in enumerate(deals) if d["id"] not in no_task]
    return write_export(folder, deals, DEFAULTS["organizations"], DEFAULTS["persons"], acts)


def scenario_export(folder: Path, n: int) -> Path:
    """Export number ``n`` (1..4) of the scenario: which deal breaks which rule when (see the table in the fixture)."""
    ds = [
        deal(1, IVAN, **(NO_SOURCE if n == 1 else {})),                      # 1.8, fixed for export 2
        deal(2, MARIA, **NO_SOURCE, **({"title": "Сделка 2 (новое название)"} if n == 4 else {})),  # 1.8, accepted; renamed in 4
        deal(3, IVAN, **(NO_CITY if n <= 2 else {})),                        # 2.1, «Исправлено» too early; fixed for 3
        deal(4, MARIA, **(NO_CITY if n <= 2 else {})),                       # 2.1, «исправил»; fixed for 3
        deal(5, IVAN, **(NO_SOURCE if n <= 3 else {})),                      # 1.8, formula-like comment; fixed for 4
        deal(6, MARIA),                                                      # 1.1 in export 1 (no task)
        deal(7, IVAN, **NO_SOURCE),                                          # 1.8 throughout: row deleted, then «Исправлено» unfixed
        deal(8, OLEG, **NO_CITY),                                            # 2.1 throughout: warned, then accepted from the CLI
        deal(9, IVAN, **NO_SOURCE),                                          # 1.8 throughout: accepted --until 2026-10-30
    ]
    if n >= 2:
        ds.append(deal(10, MARIA, **NO_SOURCE))                              # new in 2, accepted in the document
    if n >= 3:
        ds.append(deal(11, OLEG, **(NO_CITY if n == 3 else {})))             # new in 3, fixed for 4
    return write(folder, ds, no_task={"6"} if n == 1 else set())


def small_export(folder: Path, changed: dict | None = None) -> Path:
    """Four deals: 1.8 for deals 2 (Мария), 4 (Мария) and 6 (Иван), 2.1 for deal 3 (Иван)."""
    ds = [deal(1, IVAN), deal(2, MARIA, **NO_SOURCE), deal(3, IVAN, **NO_CITY), deal(4, MARIA, **NO_SOURCE),
          deal(6, IVAN, **NO_SOURCE)]
    for d in ds:
        d.update((changed or {}).get(d["id"], {}))
    return write(folder, ds)


USED_RULES = {"open-deal-without-tasks", "missing-source", "missing-city-or-country"}  # 1.1, 1.8, 2.1
OTHER_RULES = ["frozen-deal-without-tasks", "missing-amount-after-proposal", "missing-traffic-or-budget", "invalid-name",
               "partner-org-not-set", "owner-mismatch", "missing-demo-recording", "missing-proposal-link",
               "open-deal-without-organization", "partner-pipeline-org-not-agency", "partner-manager-deal-without-partner",
               "stuck-in-accepted", "overdue-tasks", "no-stage-movement"]


def project(root: Path) -> Path:
    """A team's folder: settings with the rules the tests use (the other 14 disabled, so that each run is fast)."""
    root.mkdir(parents=True, exist_ok=True)
    text = render_settings("pipedrive")
    assert "disable: []" in text
    (root / "crm-audit.yaml").write_text(text.replace("disable: []", f"disable: [{', '.join(OTHER_RULES)}]"), encoding="utf-8")
    return root


# ============================================================================ the document, as managers edit it


def _rows_of(ws) -> dict[str, dict]:
    header = [c.value for c in ws[1]]
    rows = {}
    for r in ws.iter_rows(min_row=2, values_only=True):
        rec = dict(zip(header, r))
        if rec.get("ID сделки") not in (None, ""):
            rows[str(rec["ID сделки"]).removesuffix(".0")] = rec
    return rows


def sheet_rows(path: Path, code: str) -> dict[str, dict]:
    """Rows of rule sheet ``code`` by deal id (as text)."""
    wb = openpyxl.load_workbook(path)
    return _rows_of(next(ws for ws in wb.worksheets if ws.title.startswith(code + " ")))


def all_rows(path: Path) -> dict[str, dict[str, dict]]:
    """{rule code: rows by deal id} for every rule sheet."""
    wb = openpyxl.load_workbook(path)
    return {ws.title.split(" ")[0]: _rows_of(ws) for ws in wb.worksheets[1:-1]}


def formula_cells(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path)
    return [f"{ws.title}!{c.coordinate}" for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]


def edit(path: Path, code: str, edits: dict[str, dict] | None = None, *, delete: set[str] = frozenset(),
         sort=None, ids_as_numbers: bool = False) -> None:
    """A manager edits rule sheet ``code``: set cells by deal id and header, delete rows, sort the rows."""
    wb = openpyxl.load_workbook(path)
    ws = next(ws for ws in wb.worksheets if ws.title.startswith(code + " "))
    header = [c.value for c in ws[1]]
    col = {h: i for i, h in enumerate(header) if h}
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    rows = [r for r in rows if r[col["ID сделки"]] not in (None, "")]
    found = {str(r[col["ID сделки"]]) for r in rows}
    missing = (set(edits or {}) | set(delete)) - found
    assert not missing, f"{path.name} {code}: no row for deal(s) {sorted(missing)} to edit (rows: {sorted(found)})"
    kept = []
    for r in rows:
        did = str(r[col["ID сделки"]])
        if did in delete:
            continue
        for h, v in (edits or {}).get(did, {}).items():
            r[col[h]] = v
        if ids_as_numbers:
            r[col["ID сделки"]] = float(did)  # what Excel does to an id typed again
        kept.append(r)
    if sort:
        kept.sort(key=lambda r: sort(dict(zip(header, r))))
    ws.delete_rows(2, ws.max_row)
    for i, r in enumerate(kept, start=2):
        for j, v in enumerate(r, start=1):
            cell = ws.cell(i, j, v)
            if isinstance(v, str) and v.startswith("="):
                cell.data_type = "s"  # typed into the text-formatted column: text, as Excel keeps it
    wb.save(path)


# ============================================================================ the ledger and the review, as a user reads them


def ledger_dump(db: Path) -> dict[str, list[tuple]]:
    """Every table of the ledger, rows sorted, without the wall-clock columns."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out = {}
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")') if r[1] not in WALL_CLOCK and not r[1].endswith("_at")
                    and (table, r[1]) not in FILE_STATE]
            rows = con.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM "{table}"').fetchall()
            out[table] = [tuple(cols)] + sorted(rows, key=repr)
    finally:
        con.close()
    out["findings (files)"] = sorted(map(repr, _findings(db)))
    return out


def _findings(db: Path) -> list[tuple]:
    """Every audit's findings (kept in Parquet files next to the ledger) as rows of values."""
    import duckdb

    files = sorted(str(p) for p in db.with_name(db.stem + ".findings").glob("*.parquet"))
    if not files:
        return []
    return duckdb.connect().execute("SELECT * FROM read_parquet(?, filename = true)", [files]).fetchall()


def ledger_texts(db: Path) -> set[str]:
    """Every text value stored anywhere in the ledger."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        found = set()
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            for row in con.execute(f'SELECT * FROM "{table}"'):
                found.update(v for v in row if isinstance(v, str))
    finally:
        con.close()
    for row in _findings(db):
        found.update(v for v in row if isinstance(v, str))
    return found


def audits_in_ledger(db: Path) -> list[str]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [r[0] for r in con.execute("SELECT as_of FROM audits ORDER BY as_of")]
    finally:
        con.close()


COLUMN_WORDS = {
    "open": ("open", "открыт"),
    "overdue": ("overdue", "просроч"),
    "waiting": ("waiting", "ждут", "ожида"),
    "no comment": ("no comment", "без коммент"),
    "accepted": ("accepted", "принят"),
    "invalid": ("invalid", "unknown status", "bad status", "неверн", "неизвест"),
    "fixed but failing": ("fixed but", "fixed, but", "still fail", "fixed, still", "исправлено, но", "осталось"),
    "repeats": ("repeat", "earlier", "повтор"),
}


def review_table(text: str) -> dict[str, dict[str, int]]:
    """The per-manager table of ``crm-audit review``: {manager: {column name: number}}.

    Columns are right-aligned under their header: a number's column is the header text that ends where it ends."""
    lines = text.splitlines()
    try:
        hi = next(i for i, ln in enumerate(lines) if ln.split() and ln.split()[0].lower() in ("manager", "менеджер"))
    except StopIteration:
        raise AssertionError(f"no per-manager table in the review:\n{text}") from None
    header = lines[hi]
    label_end = len(header.split()[0]) + (len(header) - len(header.lstrip()))
    table = {}
    for ln in lines[hi + 1:]:
        if not ln.strip():
            break
        nums = list(re.finditer(r"(?<!\S)\d+(?!\S)", ln))
        if not nums:
            continue
        cols, prev_end = {}, label_end
        for m in nums:
            cols[header[prev_end:m.end()].strip()] = int(m.group())
            prev_end = m.end()
        table[ln[:nums[0].start()].strip()] = cols
    return table


def count(table: dict[str, dict[str, int]], manager: str, column: str) -> int:
    assert manager in table, f"review: no row for {manager}; rows: {sorted(table)}"
    words = COLUMN_WORDS[column]
    names = [n for n in table[manager] if any(w in n.lower() for w in words)]
    assert names, f"review has no column for «{column}» (looked for {words}); columns: {list(table[manager])}"
    return table[manager][names[0]]


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``. SQLite's side files of a WAL-mode ledger are not data: ``-shm`` is a
    shared-memory index any reader may touch, and an empty ``-wal`` holds nothing (a ``-wal`` with frames does
    hold changes, so it counts)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith("-shm") and not (p.name.endswith("-wal") and p.stat().st_size == 0)}


# ============================================================================ the scenario


class Stopped(Exception):
    pass


class Scenario:
    """Runs the steps in order, keeps what each showed; after a step fails, the later ones are not run."""

    def __init__(self, layout: str, root: Path):
        self.layout, self.root = layout, root
        self.obs: dict[str, object] = {}
        self.stopped: str | None = None

    def out(self, n: int) -> str:
        return "audit.xlsx" if self.layout == "inplace" else f"audit-{DATES[n - 1]}.xlsx"

    def doc(self, n: int) -> Path:
        return self.root / self.out(n)

    def step(self, name: str, fn) -> None:
        if self.stopped:
            return
        try:
            self.obs[name] = fn()
        except Exception as e:  # noqa: BLE001 - recorded, reported by the tests that need this step
            self.stopped = f"«{name}»: {type(e).__name__}: {e}"

    def cli(self, name: str, *args: str) -> Result:
        res = crm(*args, at=self.root)
        self.obs[name + ".result"] = res
        if res.code != 0:
            raise Stopped(f"crm-audit {' '.join(args)}\n{res}")
        return res

    def __getitem__(self, name: str):
        if name not in self.obs:
            pytest.fail(f"[{self.layout}] the scenario did not get to «{name}»; it stopped at {self.stopped}", pytrace=False)
        return self.obs[name]

    def result(self, name: str) -> Result:
        if name + ".result" not in self.obs:
            pytest.fail(f"[{self.layout}] the scenario did not get to «{name}»; it stopped at {self.stopped}", pytrace=False)
        return self.obs[name + ".result"]


def run_scenario(layout: str, root: Path) -> Scenario:
    """What happens, deal by deal (1.8 no source, 2.1 no city, 1.1 no task):

    ====  =======  ===========================================================================================
    deal  manager  story
    ====  =======  ===========================================================================================
    1     Иван     1.8; «Исправлено», really fixed for export 2
    2     Мария    1.8; «Не исправлено» + comment, head «Принято» in document 1; renamed in export 4: back
    3     Иван     2.1; «Исправлено» in document 1 but still failing in export 2; «Исправлено» again, fixed for 3
    4     Мария    2.1; hand-typed «исправил» + comment in document 1; «Исправлено» in document 2; fixed for 3
    5     Иван     1.8; «Не исправлено» + «=SUM(A1) проверю», head «Предупреждение» in document 1; fixed for 4
    6     Мария    1.1 (no task) in export 1; «Не исправлено» without a comment; a task in export 2
    7     Иван     1.8 throughout; row deleted in document 1; «Исправлено» in document 2, never fixed
    8     Олег     2.1 throughout; ``warn`` after audit 1; «Не исправлено» + comment, ``accept`` after audit 2
    9     Иван     1.8 throughout; ``accept --until 2026-10-30`` after audit 1; back in audit 3, warned in document 3
    10    Мария    1.8 from export 2; «Не исправлено» + comment, head «Принято» in document 2
    11    Олег     2.1 in export 3 only; «Исправлено», really fixed for export 4
    ====  =======  ===========================================================================================
    """
    s = Scenario(layout, project(root))
    for n in range(1, 5):
        scenario_export(root / f"export-{DATES[n - 1]}", n)

    def audit(n: int):
        def go():
            s.cli(f"audit {n}", "run", "--export", f"export-{DATES[n - 1]}", "--as-of", DATES[n - 1], "--out", s.out(n),
                  "--violations-csv", "violations.csv")
            return all_rows(s.doc(n))
        return go

    def review(today: str, *extra: str):
        def go():
            return s.cli(f"review {today} {' '.join(extra)}".strip(), "review", "--today", today, *extra)
        return go

    # ---- audit 1, 2026-10-09
    s.step("audit 1", audit(1))

    def edits_1():
        doc = s.doc(1)
        edit(doc, "1.8", {
            "1": {"Статус": FIXED},
            "2": {"Статус": NOT_FIXED, "Комментарий": "Клиент не помнит источник", "Решение": "Принято",
                  "Комментарий руководителя": "ок, исключение"},
            "5": {"Статус": NOT_FIXED, "Комментарий": "=SUM(A1) проверю", "Решение": "Предупреждение",
                  "Комментарий руководителя": "заполни источник"},
        }, delete={"7"}, sort=lambda r: str(r["Название сделки"]), ids_as_numbers=True)
        edit(doc, "2.1", {"3": {"Статус": FIXED}, "4": {"Статус": "исправил", "Комментарий": "сделал"}},
             sort=lambda r: -int(str(r["ID сделки"])))
        edit(doc, "1.1", {"6": {"Статус": NOT_FIXED}})
    s.step("edits 1", edits_1)
    s.step("pull 1", lambda: s.cli("pull 1", "pull"))
    s.step("accept 9", lambda: s.cli("accept 9", "accept", "missing-source", "9", "--until", "2026-10-30", "--note", "до конца месяца"))
    s.step("warn 8", lambda: s.cli("warn 8", "warn", "2.1", "8", "--note", "заполни город"))
    s.step("review 1", review("2026-10-14", "--html", "review-1.html"))
    s.step("todo 1 Иван", review("2026-10-14", "--no-pull", "--manager", IVAN))
    s.step("todo 1 Мария", review("2026-10-14", "--no-pull", "--manager", "мария кузнецова"))

    # ---- audit 2, 2026-10-23
    s.step("audit 2", audit(2))
    s.step("review 2", review("2026-10-27"))

    def edits_2():
        doc = s.doc(2)
        edit(doc, "2.1", {"3": {"Статус": FIXED, "Комментарий": "теперь точно"}, "4": {"Статус": FIXED},
                          "8": {"Статус": NOT_FIXED, "Комментарий": "город уточняю у клиента"}},
             sort=lambda r: str(r["Ответственный"]), ids_as_numbers=True)
        edit(doc, "1.8", {"7": {"Статус": FIXED},
                          "10": {"Статус": NOT_FIXED, "Комментарий": "жду ответа", "Решение": "Принято",
                                 "Комментарий руководителя": "согласен"}},
             sort=lambda r: -int(str(r["ID сделки"])))
    s.step("edits 2", edits_2)
    s.step("pull 2", lambda: s.cli("pull 2", "pull"))
    s.step("accept 8", lambda: s.cli("accept 8", "accept", "2.1", "8", "--note", "клиент за рубежом"))

    # ---- audit 3, 2026-11-06
    s.step("audit 3", audit(3))

    def edits_3():
        doc = s.doc(3)
        edit(doc, "1.8", {"9": {"Статус": NOT_FIXED, "Комментарий": "продлите, пожалуйста", "Решение": "Предупреждение",
                                "Комментарий руководителя": "нет, заполняй"},
                          "5": {"Статус": FIXED, "Комментарий": "заполнил"}},
             sort=lambda r: str(r["Ответственный"]))
        edit(doc, "2.1", {"11": {"Статус": FIXED}})
    s.step("edits 3", edits_3)

    # ---- audit 4, 2026-11-20 (no pull before it: run reads the document back itself)
    s.step("audit 4", audit(4))
    s.step("review 4", review("2026-11-25"))
    s.step("waivers", lambda: s.cli("waivers", "waivers", "--all"))
    return s


@pytest.fixture(scope="module", params=["inplace", "dated"])
def months(request, tmp_path_factory) -> Scenario:
    return run_scenario(request.param, tmp_path_factory.mktemp(f"months-{request.param}"))


# ---------------------------------------------------------------------------- audit 1


def test_audit_1_flags_what_the_export_breaks(months):
    a1 = months["audit 1"]
    assert set(a1["1.8"]) == {"1", "2", "5", "7", "9"}, a1["1.8"].keys()
    assert set(a1["2.1"]) == {"3", "4", "8"} and set(a1["1.1"]) == {"6"}
    rows = [r for sheet in a1.values() for r in sheet.values()]
    assert {r["Статус"] for r in rows} == {NEW} and {r["Аудитов подряд"] for r in rows} == {1}
    assert {r["Впервые в аудите"] for r in rows} == {dt.datetime(2026, 10, 9)}


def test_pull_reports_the_hand_typed_status_and_the_missing_comment(months):
    out = months["pull 1"].out
    assert "исправил" in out, f"pull does not report the hand-typed status «исправил»:\n{out}"
    assert "without a comment" in out and MARIA in out, out  # deal 6, «Не исправлено» without a comment


# ---------------------------------------------------------------------------- (k) the review after audit 1


def test_review_1_counts_per_manager(months):
    """2026-10-14, due 2026-10-12. Иван: 1 and 3 «Исправлено» (not open), 5 «Не исправлено» + warned (open, decided),
    7 deleted row = still «Не обработано» (open, overdue), 9 accepted from the CLI (not open: accepted).
    Мария: 2 accepted in the document (not open: accepted), 4 «исправил» (invalid: not handled = open, overdue),
    6 «Не исправлено» without comment. Олег: 8 untouched (open, overdue), warned from the CLI."""
    t = review_table(months["review 1"].out)
    got = {m: {c: count(t, m, c) for c in ("open", "overdue", "waiting", "no comment")} for m in (IVAN, MARIA, OLEG)}
    assert got == {
        IVAN: {"open": 2, "overdue": 1, "waiting": 0, "no comment": 0},
        MARIA: {"open": 2, "overdue": 1, "waiting": 0, "no comment": 1},
        OLEG: {"open": 1, "overdue": 1, "waiting": 0, "no comment": 0},
    }, f"review 1 counts:\n{months['review 1'].out}"


def test_review_1_shows_accepted_findings_as_accepted(months):
    t = review_table(months["review 1"].out)
    assert (count(t, IVAN, "accepted"), count(t, MARIA, "accepted")) == (1, 1), months["review 1"].out


def test_review_1_counts_and_lists_the_invalid_status_per_manager(months):
    text = months["review 1"].out
    t = review_table(text)
    assert (count(t, IVAN, "invalid"), count(t, MARIA, "invalid"), count(t, OLEG, "invalid")) == (0, 1, 0), text
    assert any(MARIA in ln and "исправил" in ln for ln in text.splitlines()), \
        f"review does not list Мария's «исправил» (deal 4, 2.1):\n{text}"
    page = (months.root / "review-1.html").read_text(encoding="utf-8")
    assert "исправил" in page and MARIA in page, "the HTML review does not list the invalid status"


def test_todo_lists_leave_out_accepted_findings_and_keep_the_invalid_status(months):
    ivan, maria = months["todo 1 Иван"].out, months["todo 1 Мария"].out
    assert URL.format(7) in ivan and URL.format(5) in ivan, ivan
    assert URL.format(9) not in ivan, f"deal 9 was accepted (crm-audit accept) but is on Иван's to-do list:\n{ivan}"
    assert URL.format(4) in maria and "исправил" in maria, f"deal 4 («исправил», not handled) is not on Мария's list:\n{maria}"
    assert URL.format(2) not in maria, f"deal 2 was accepted («Принято») but is on Мария's to-do list:\n{maria}"


# ---------------------------------------------------------------------------- audit 2: carried over


def test_audit_2_reads_the_previous_document(months):
    res = months.result("audit 2")
    assert res.code == 0, str(res)
    if months.layout == "dated":
        assert "audit-2026-10-09.xlsx" in res.out, f"run does not say it read the previous audit's document:\n{res.out}"


def test_audit_2_rows(months):
    a2 = months["audit 2"]
    assert set(a2["1.8"]) == {"5", "7", "10"}, "1 fixed, 2 accepted in the document, 9 accepted until 30.10"
    assert set(a2["2.1"]) == {"3", "4", "8"} and a2["1.1"] == {}


def test_audit_2_keeps_the_formula_like_comment_and_the_warning(months):
    r = months["audit 2"]["1.8"]["5"]
    assert (r["Статус"], r["Комментарий"], r["Аудитов подряд"]) == (NOT_FIXED, "=SUM(A1) проверю", 2)
    assert r["Решение"] is None, "the new audit's decision is still to be taken"
    assert "Предупреждение руководителя от" in (r["Примечание"] or "") and "заполни источник" in r["Примечание"], r["Примечание"]
    assert formula_cells(months.doc(2)) == []


def test_audit_2_brings_back_the_deleted_row(months):
    r = months["audit 2"]["1.8"]["7"]
    assert (r["Статус"], r["Аудитов подряд"], r["Впервые в аудите"]) == (NEW, 2, dt.datetime(2026, 10, 9))


def test_audit_2_fixed_but_still_failing_comes_back_with_a_note(months):
    r = months["audit 2"]["2.1"]["3"]
    assert r["Статус"] == NEW and "Исправлено" in (r["Примечание"] or "") and "09.10.2026" in r["Примечание"], r


def test_audit_2_keeps_the_hand_typed_status_as_written(months):
    r = months["audit 2"]["2.1"]["4"]
    assert (r["Статус"], r["Комментарий"]) == ("исправил", "сделал")


def test_audit_2_shows_the_cli_warning(months):
    r = months["audit 2"]["2.1"]["8"]
    assert r["Статус"] == NEW and "заполни город" in (r["Примечание"] or ""), r


def test_audit_2_new_violation(months):
    r = months["audit 2"]["1.8"]["10"]
    assert (r["Статус"], r["Аудитов подряд"], r["Впервые в аудите"]) == (NEW, 1, dt.datetime(2026, 10, 23))


# ---------------------------------------------------------------------------- (k) the review after audit 2


def test_review_2_counts_per_manager(months):
    """2026-10-27, due 2026-10-26, before anyone touched document 2. Иван: 3 (back from «Исправлено»), 5 («Не
    исправлено» + comment, no decision on this audit yet), 7; Мария: 4 («исправил»), 10 (new); Олег: 8."""
    t = review_table(months["review 2"].out)
    got = {m: {c: count(t, m, c) for c in ("open", "overdue", "waiting", "no comment")} for m in (IVAN, MARIA, OLEG)}
    assert got == {
        IVAN: {"open": 3, "overdue": 2, "waiting": 1, "no comment": 0},
        MARIA: {"open": 2, "overdue": 2, "waiting": 0, "no comment": 0},
        OLEG: {"open": 1, "overdue": 1, "waiting": 0, "no comment": 0},
    }, f"review 2 counts:\n{months['review 2'].out}"


def test_review_2_fixed_but_failing_is_its_own_number(months):
    """«Исправлено, но нарушение осталось»: deal 3 only (Иван); «also in earlier audits» counts 3, 5, 7 / 4 / 8."""
    text = months["review 2"].out
    t = review_table(text)
    assert [count(t, m, "fixed but failing") for m in (IVAN, MARIA, OLEG)] == [1, 0, 0], text
    assert [count(t, m, "repeats") for m in (IVAN, MARIA, OLEG)] == [3, 1, 1], text
    assert count(t, MARIA, "invalid") == 1, text


# ---------------------------------------------------------------------------- audit 3


def test_audit_3_rows(months):
    a3 = months["audit 3"]
    assert set(a3["1.8"]) == {"5", "7", "9"}, "2, 10 accepted in the documents; 9's waiver ended on 30.10"
    assert set(a3["2.1"]) == {"11"}, "3, 4 fixed; 8 accepted from the CLI"


def test_audit_3_comment_survives_three_audits(months):
    r = months["audit 3"]["1.8"]["5"]
    assert (r["Статус"], r["Комментарий"], r["Аудитов подряд"], r["Впервые в аудите"]) == (
        NOT_FIXED, "=SUM(A1) проверю", 3, dt.datetime(2026, 10, 9))


def test_audit_3_fixed_but_still_failing(months):
    r = months["audit 3"]["1.8"]["7"]
    assert r["Статус"] == NEW and r["Аудитов подряд"] == 3
    assert "Исправлено" in (r["Примечание"] or "") and "23.10.2026" in r["Примечание"], r["Примечание"]


def test_audit_3_expired_waiver_is_said(months):
    r = months["audit 3"]["1.8"]["9"]
    assert r["Статус"] == NEW and "30.10.2026" in (r["Примечание"] or "") and "срок истёк" in r["Примечание"], r


# ---------------------------------------------------------------------------- audit 4 and the end state


def test_audit_4_rows(months):
    a4 = months["audit 4"]
    assert set(a4["1.8"]) == {"2", "7", "9"}, "5 fixed; 2 renamed: its acceptance ended"
    assert a4["2.1"] == {}, "11 fixed; 8 accepted"


def test_audit_4_changed_accepted_deal_comes_back_with_its_comment(months):
    r = months["audit 4"]["1.8"]["2"]
    assert "изменились" in (r["Примечание"] or ""), r
    shown = f"{r['Комментарий'] or ''} {r['Примечание'] or ''}"
    assert "Клиент не помнит источник" in shown, f"Мария's comment on deal 2 is lost: {r}"


def test_audit_4_keeps_comments_and_shows_the_document_warning(months):
    r9, r7 = months["audit 4"]["1.8"]["9"], months["audit 4"]["1.8"]["7"]
    assert (r9["Статус"], r9["Комментарий"], r9["Аудитов подряд"]) == (NOT_FIXED, "продлите, пожалуйста", 2)
    assert "Предупреждение руководителя от" in (r9["Примечание"] or "") and "нет, заполняй" in r9["Примечание"], r9
    assert (r7["Статус"], r7["Аудитов подряд"]) == (NEW, 4)


def test_hit_history_has_the_four_audits(months):
    months["audit 4"]
    values = list(openpyxl.load_workbook(months.doc(4))["Учет попаданий"].iter_rows(values_only=True))
    hi = next(i for i, r in enumerate(values) if r[0] == "История: попадания по аудитам")
    assert values[hi + 1][:5] == ("Менеджер", "09.10.2026", "23.10.2026", "06.11.2026", "20.11.2026")
    last = {r[0]: r[4] for r in values[hi + 2:] if r[0] in (IVAN, MARIA)}
    assert last == {IVAN: 2, MARIA: 1}, "audit 4: Иван 7 and 9, Мария 2"


def test_every_text_anyone_wrote_is_in_the_ledger(months):
    months["waivers"]
    texts = " | ".join(ledger_texts(months.root / "crm-audit.db"))
    written = ["Клиент не помнит источник", "ок, исключение", "=SUM(A1) проверю", "заполни источник", "исправил", "сделал",
               "до конца месяца", "заполни город", "теперь точно", "город уточняю у клиента", "жду ответа", "согласен",
               "клиент за рубежом", "продлите, пожалуйста", "нет, заполняй", "заполнил"]
    lost = [w for w in written if w not in texts]
    assert not lost, f"the ledger has lost what people wrote: {lost}"


def test_waivers_at_the_end(months):
    out = months["waivers"].out
    lines = out.splitlines()

    def line_of(rule, deal_id):
        return next((ln for ln in lines if rule in ln and re.search(rf"(?<![\d.-]){deal_id}(?![\d.-])", ln)), None)

    assert line_of("missing-city-or-country", 8) and "ENDED" not in line_of("missing-city-or-country", 8), out
    assert line_of("missing-source", 10) and "ENDED" not in line_of("missing-source", 10), out
    assert "expired" in (line_of("missing-source", 9) or ""), out
    assert "ENDED" in (line_of("missing-source", 2) or ""), out


def test_review_4_counts(months):
    """2026-11-25, due 2026-11-23. Иван: 7 (untouched), 9 («Не исправлено» + comment, warned on audit 3)."""
    t = review_table(months["review 4"].out)
    assert {c: count(t, IVAN, c) for c in ("open", "overdue", "waiting", "no comment")} == {
        "open": 2, "overdue": 1, "waiting": 1, "no comment": 0}, months["review 4"].out


def test_no_formula_in_any_document(months):
    months["audit 4"]
    for n in range(1, 5):
        if months.doc(n).exists():
            assert formula_cells(months.doc(n)) == [], months.doc(n).name


# ============================================================================ (c) another working directory


def test_c_commands_from_another_folder_use_the_documents_recorded_from_the_first(tmp_path):
    p, elsewhere = project(tmp_path / "sales"), tmp_path / "cron"
    elsewhere.mkdir()
    small_export(p / "e1")
    small_export(p / "e2")
    cfg, db = p / "crm-audit.yaml", p / "crm-audit.db"
    res = crm("run", "--export", "e1", "--as-of", "2026-11-06", "--out", "audit.xlsx", at=p)  # relative paths, from p
    assert res.code == 0, str(res)
    edit(p / "audit.xlsx", "1.8", {"4": {"Статус": NOT_FIXED, "Комментарий": "Источник неизвестен"}})

    res = crm("pull", "--config", cfg, "--ledger", db, at=elsewhere)
    assert res.code == 0, f"pull from another folder:\n{res}"
    res = crm("review", "--config", cfg, "--ledger", db, "--today", "2026-11-10", at=elsewhere)
    assert res.code == 0 and "Источник неизвестен" in res.out, f"review from another folder lost the comment:\n{res}"
    res = crm("accept", "--config", cfg, "--ledger", db, "1.8", "6", "--note", "ок", at=elsewhere)
    assert res.code == 0, str(res)

    # cron: a run from elsewhere, absolute paths, the document written from the first folder is read back
    res = crm("run", "--config", cfg, "--ledger", db, "--export", p / "e2", "--as-of", "2026-11-20", "--out", p / "audit.xlsx", at=elsewhere)
    assert res.code == 0, str(res)
    rows = sheet_rows(p / "audit.xlsx", "1.8")
    assert (rows["4"]["Статус"], rows["4"]["Комментарий"]) == (NOT_FIXED, "Источник неизвестен")
    assert "6" not in rows, "deal 6 was accepted from the other folder"
    assert not list(elsewhere.iterdir()), f"files written in the folder the commands ran from: {list(elsewhere.iterdir())}"


def test_c_a_run_from_another_folder_with_a_new_out_reads_the_recorded_document(tmp_path):
    p, elsewhere = project(tmp_path / "sales"), tmp_path / "home"
    elsewhere.mkdir()
    small_export(p / "e1")
    small_export(p / "e2")
    assert crm("run", "--export", "e1", "--as-of", "2026-11-06", "--out", "audit.xlsx", at=p).code == 0
    edit(p / "audit.xlsx", "2.1", {"3": {"Статус": NOT_FIXED, "Комментарий": "город уточняю"}})
    res = crm("run", "--config", p / "crm-audit.yaml", "--export", p / "e2", "--as-of", "2026-11-20",
              "--out", "audit-2026-11-20.xlsx", at=elsewhere)
    assert res.code == 0, str(res)
    r = sheet_rows(elsewhere / "audit-2026-11-20.xlsx", "2.1")["3"]
    assert (r["Статус"], r["Комментарий"]) == (NOT_FIXED, "город уточняю"), "sales/audit.xlsx (recorded relative to sales/) was not read"


# ============================================================================ (d) dry runs change no byte


def _dry_run_project(tmp_path: Path) -> Path:
    """Audit of 2026-11-06 (the settings' outputs: audit.xlsx, violations.csv) with a manager's comment, then
    ``accept 1.8 6 --until 2026-11-25`` and an edit not pulled yet."""
    p = project(tmp_path / "p")
    small_export(p / "e1")
    small_export(p / "e2", {"3": {"title": "Сделка 3 (новое название)"}})
    assert crm("run", "--export", "e1", "--as-of", "2026-11-06", at=p).code == 0
    assert (p / "audit.xlsx").exists() and (p / "violations.csv").exists(), "precondition: the settings' outputs"
    edit(p / "audit.xlsx", "1.8", {"4": {"Статус": NOT_FIXED, "Комментарий": "Источник неизвестен"}})
    assert crm("accept", "1.8", "6", "--until", "2026-11-25", "--note", "до 25-го", at=p).code == 0
    edit(p / "audit.xlsx", "2.1", {"3": {"Статус": FIXED}})  # an edit the dry run must not pull into the ledger
    return p


@pytest.mark.parametrize("extra", [
    ["--dry-run"],
    ["--rule", "missing-source", "--dry-run"],
], ids=["dry-run", "rule-dry-run"])
def test_d_dry_run_changes_no_byte_even_when_a_waiver_has_expired(tmp_path, extra):
    p = _dry_run_project(tmp_path)
    before = file_hashes(p)
    res = crm("run", "--export", "e2", "--as-of", "2026-12-10", *extra, at=p)
    assert res.code == 0, str(res)
    after = file_hashes(p)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"run {' '.join(extra)} changed or created: {changed}"
    res = crm("waivers", at=p)
    assert "missing-source" in res.out and "6" in res.out, f"the waiver ended by a dry run:\n{res}"


def test_d_partial_run_to_a_new_file_changes_nothing_else(tmp_path):
    p = _dry_run_project(tmp_path)
    before = file_hashes(p)
    res = crm("run", "--export", "e2", "--as-of", "2026-12-10", "--out", "partial.xlsx", "--rule", "missing-source", at=p)
    assert res.code == 0, str(res)
    after = file_hashes(p)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k) and k != "partial.xlsx")
    assert not changed, f"a partial --rule run (to partial.xlsx) changed the team's files: {changed}"
    assert [ws.title.split(" ")[0] for ws in openpyxl.load_workbook(p / "partial.xlsx").worksheets][1] == "1.8"


# ============================================================================ (e) re-running an audit is idempotent


def _document_values(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
        if ws.title == "FAQ":  # «Сформирован DD.MM.YYYY HH:MM» is the wall clock
            rows = [r for r in rows if not (r and r[0] == "Сводка")]
        out[ws.title] = rows
    return out


def test_e_rerun_is_idempotent_including_notes_of_ended_waivers(tmp_path):
    p = project(tmp_path / "p")
    small_export(p / "e1")
    small_export(p / "e2", {"2": {"title": "Сделка 2 (новое название)"}})
    assert crm("run", "--export", "e1", "--as-of", "2026-11-06", "--out", "audit.xlsx", "--violations-csv", "v.csv", at=p).code == 0
    edit(p / "audit.xlsx", "1.8", {"4": {"Статус": NOT_FIXED, "Комментарий": "Источник неизвестен"}})
    edit(p / "audit.xlsx", "2.1", {"3": {"Статус": FIXED, "Комментарий": "поправил"}})
    assert crm("accept", "1.8", "6", "--until", "2026-11-10", "--note", "до 10-го", at=p).code == 0  # expires
    assert crm("accept", "1.8", "2", "--note", "ок", at=p).code == 0  # deal 2 is renamed in e2: ends
    args = ("run", "--export", "e2", "--as-of", "2026-11-20", "--out", "audit.xlsx", "--violations-csv", "v.csv")
    assert crm(*args, at=p).code == 0
    first_doc, first_db = _document_values(p / "audit.xlsx"), ledger_dump(p / "crm-audit.db")
    first_csv = (p / "v.csv").read_bytes()
    rows = sheet_rows(p / "audit.xlsx", "1.8")
    assert "срок истёк" in (rows["6"]["Примечание"] or "") and "изменились" in (rows["2"]["Примечание"] or ""), \
        "precondition: the notes of the ended waivers are shown"

    res = crm(*args, at=p)
    assert res.code == 0, str(res)
    rows = sheet_rows(p / "audit.xlsx", "1.8")
    assert "срок истёк" in (rows["6"]["Примечание"] or ""), f"the re-run dropped deal 6's note: {rows['6']}"
    assert "изменились" in (rows["2"]["Примечание"] or ""), f"the re-run dropped deal 2's note: {rows['2']}"
    second_doc, second_db = _document_values(p / "audit.xlsx"), ledger_dump(p / "crm-audit.db")
    diff = {s: (first_doc.get(s), second_doc.get(s)) for s in set(first_doc) | set(second_doc) if first_doc.get(s) != second_doc.get(s)}
    assert not diff, f"the document changed on a re-run: {diff}"
    diff = {t: (first_db.get(t), second_db.get(t)) for t in set(first_db) | set(second_db) if first_db.get(t) != second_db.get(t)}
    assert not diff, f"the ledger changed on a re-run: {diff}"
    assert (p / "v.csv").read_bytes() == first_csv


# ============================================================================ (f) a test re-run into another file


def test_f_a_check_run_on_an_audited_date_keeps_the_teams_comments(tmp_path):
    p = project(tmp_path / "p")
    small_export(p / "e1")
    small_export(p / "e2")
    assert crm("run", "--export", "e1", "--as-of", "2026-11-06", "--out", "audit.xlsx", at=p).code == 0
    assert crm("run", "--export", "e2", "--as-of", "2026-11-20", "--out", "audit.xlsx", at=p).code == 0
    edit(p / "audit.xlsx", "1.8", {"2": {"Статус": NOT_FIXED, "Комментарий": "клиент не отвечает"},
                                   "4": {"Статус": NOT_FIXED, "Комментарий": "Источник неизвестен"},
                                   "6": {"Статус": NOT_FIXED, "Комментарий": "жду маркетинг"}})
    team_doc = (p / "audit.xlsx").read_bytes()
    res = crm("run", "--export", "e2", "--as-of", "2026-11-20", "--out", "check.xlsx", at=p)
    assert res.code == 0, str(res)
    assert (p / "audit.xlsx").read_bytes() == team_doc, "the team's document was changed by a check run"
    check = sheet_rows(p / "check.xlsx", "1.8")
    assert [check[d]["Комментарий"] for d in ("2", "4", "6")] == ["клиент не отвечает", "Источник неизвестен", "жду маркетинг"]
    res = crm("review", "--today", "2026-11-25", at=p)
    assert res.code == 0, str(res)
    lost = [c for c in ("клиент не отвечает", "Источник неизвестен", "жду маркетинг") if c not in res.out]
    assert not lost, f"review after a check run lost: {lost}\n{res.out}"


# ============================================================================ (g) the previous document was moved


def _moved(tmp_path: Path) -> Path:
    p = project(tmp_path / "p")
    small_export(p / "e1")
    small_export(p / "e2")
    assert crm("run", "--export", "e1", "--as-of", "2026-11-06", "--out", "audit.xlsx", at=p).code == 0
    edit(p / "audit.xlsx", "1.8", {"4": {"Статус": NOT_FIXED, "Комментарий": "Источник неизвестен"}})
    (p / "archive").mkdir()
    shutil.move(p / "audit.xlsx", p / "archive" / "old-audit.xlsx")
    return p


def test_g_a_moved_document_stops_the_run_naming_it_and_previous_reads_it(tmp_path):
    p = _moved(tmp_path)
    before = file_hashes(p)
    res = crm("run", "--export", "e2", "--as-of", "2026-11-20", "--out", "audit-2026-11-20.xlsx", at=p)
    assert res.code == 2, f"a missing previous document must stop the run:\n{res}"
    assert "audit.xlsx" in res.err and "--previous" in res.err and "--no-previous" in res.err, res.err
    assert "Traceback" not in res.err
    assert file_hashes(p) == before, "a stopped run wrote something"

    res = crm("run", "--export", "e2", "--as-of", "2026-11-20", "--out", "audit.xlsx", "--previous", "archive/old-audit.xlsx", at=p)
    assert res.code == 0, str(res)
    r = sheet_rows(p / "audit.xlsx", "1.8")["4"]
    assert (r["Статус"], r["Комментарий"]) == (NOT_FIXED, "Источник неизвестен"), "--previous: the comment was not read"


def test_g_no_previous_proceeds_knowingly(tmp_path):
    p = _moved(tmp_path)
    res = crm("run", "--export", "e2", "--as-of", "2026-11-20", "--out", "audit.xlsx", "--no-previous", at=p)
    assert res.code == 0, str(res)
    assert set(sheet_rows(p / "audit.xlsx", "1.8")) == {"2", "4", "6"}
    assert audits_in_ledger(p / "crm-audit.db") == ["2026-11-06", "2026-11-20"]


# ============================================================================ (h) outputs on the same path


def test_h_csv_onto_the_workbook_is_refused_and_nothing_is_written(tmp_path):
    p = project(tmp_path / "p")
    small_export(p / "e1")
    assert crm("run", "--export", "e1", "--as-of", "2026-11-06", "--out", "audit.xlsx", at=p).code == 0
    edit(p / "audit.xlsx", "1.8", {"4": {"Статус": NOT_FIXED, "Комментарий": "Источник неизвестен"}})
    before = file_hashes(p)
    res = crm("run", "--export", "e1", "--as-of", "2026-11-20", "--out", "audit.xlsx", "--violations-csv", "audit.xlsx", at=p)
    assert res.code == 2, f"--violations-csv and --out on the same file must be refused:\n{res}"
    assert "audit.xlsx" in res.err and "Wrote" not in res.out
    assert file_hashes(p) == before, "something was written"


def test_h_csv_with_an_xlsx_name_is_refused(tmp_path):
    p = project(tmp_path / "p")
    small_export(p / "e1")
    before = file_hashes(p)
    res = crm("run", "--export", "e1", "--as-of", "2026-11-06", "--violations-csv", "x.xlsx", at=p)
    assert res.code == 2, f"--violations-csv x.xlsx must be refused:\n{res}"
    assert "x.xlsx" in res.err and ".csv" in res.err, res.err
    assert file_hashes(p) == before, f"written: {sorted(set(file_hashes(p)) - set(before))}"


# ============================================================================ (i) temp files of a killed run


def test_i_the_next_run_removes_temp_files_of_a_killed_run(tmp_path):
    p = project(tmp_path / "p")
    small_export(p / "e1")
    assert crm("run", "--export", "e1", "--as-of", "2026-11-06", "--out", "audit.xlsx", "--violations-csv", "v.csv", at=p).code == 0
    (p / "notes.tmp").write_text("mine", encoding="utf-8")  # not crm-audit's: stays
    code = f"""
import os, sys, time
real = os.replace
def slow_replace(src, dst):
    if str(dst).endswith('audit.xlsx'):
        print('WRITING', flush=True)
        time.sleep(60)
    return real(src, dst)
os.replace = slow_replace
from crm_audit.cli import main
main(['run', '--export', 'e1', '--as-of', '2026-11-20', '--out', 'audit.xlsx', '--violations-csv', 'v.csv', '--quiet'])
"""
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=p, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "WRITING" in line, proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    leftovers = sorted(f.name for f in p.iterdir() if f.name.endswith(".tmp") and f.name.startswith("."))
    assert leftovers, "precondition: the killed run left a temp file"
    res = crm("run", "--export", "e1", "--as-of", "2026-11-20", "--out", "audit.xlsx", "--violations-csv", "v.csv", at=p)
    assert res.code == 0, str(res)
    left = sorted(f.name for f in p.iterdir() if f.name.endswith(".tmp") and f.name.startswith("."))
    assert left == [], f"temp files of the killed run are still there: {left}"
    assert (p / "notes.tmp").read_text(encoding="utf-8") == "mine"


# ============================================================================ (j) a read-only output folder


@contextlib.contextmanager
def read_only(folder: Path, how: str):
    """Make ``folder`` unwritable: a read-only bind mount (EROFS, root only), or no write permission (EACCES;
    for root, which ignores permissions, the immutable flag: EPERM)."""
    if how == "read-only file system":
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("a read-only mount needs root")
        r = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
        if r.returncode:
            pytest.skip(f"cannot bind-mount here: {r.stderr.decode(errors='replace').strip()}")
        try:
            r = subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], capture_output=True)
            if r.returncode:
                pytest.skip(f"cannot remount read-only here: {r.stderr.decode(errors='replace').strip()}")
            yield
        finally:
            subprocess.run(["umount", str(folder)], capture_output=True)
    elif os.geteuid() != 0:
        os.chmod(folder, 0o555)
        try:
            yield
        finally:
            os.chmod(folder, 0o755)
    else:
        r = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
        if r.returncode:
            pytest.skip(f"root ignores permissions and chattr +i failed: {r.stderr.decode(errors='replace').strip()}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], capture_output=True)


@pytest.mark.parametrize("how", ["read-only file system", "no write permission"])
def test_j_out_into_a_read_only_folder_is_a_plain_error_and_keeps_the_outputs(tmp_path, how):
    p = project(tmp_path / "p")
    small_export(p / "e1")
    (p / "out").mkdir()
    args = ("--out", "out/audit.xlsx", "--violations-csv", "out/v.csv")
    assert crm("run", "--export", "e1", "--as-of", "2026-11-06", *args, at=p).code == 0
    edit(p / "out" / "audit.xlsx", "1.8", {"4": {"Статус": NOT_FIXED, "Комментарий": "Источник неизвестен"}})
    before = file_hashes(p / "out")
    with read_only(p / "out", how):
        res = crm("run", "--export", "e1", "--as-of", "2026-11-20", *args, at=p)
        assert file_hashes(p / "out") == before, "the previous outputs changed"
    assert res.code == 2, f"--out into a folder with {how}:\n{res}"
    assert "out/audit.xlsx" in res.err or "out/v.csv" in res.err, f"the message does not name the output:\n{res.err}"
    assert "bug" not in res.err and "Traceback" not in res.err and "unexpected" not in res.err, res.err
    assert audits_in_ledger(p / "crm-audit.db") == ["2026-11-06"], "an audit was recorded though nothing could be written"
    # once the folder is writable again the same command completes, and the comment is still there
    res = crm("run", "--export", "e1", "--as-of", "2026-11-20", *args, at=p)
    assert res.code == 0, str(res)
    r = sheet_rows(p / "out" / "audit.xlsx", "1.8")["4"]
    assert (r["Статус"], r["Комментарий"]) == (NOT_FIXED, "Источник неизвестен")
