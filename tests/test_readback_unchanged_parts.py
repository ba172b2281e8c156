"""A sheet part whose bytes are what the run wrote is read from the ledger, not parsed (issue 17): the same rows, the
same ledger.

Every test compares the read-back with the shortcut against a parse of every sheet (``written=None``), row for row
(every field of each EditedRow, problems included), and the ledger a run leaves with and without it.
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest

from crm_audit.cli import main
from crm_audit.documents.written import WrittenSheet, rows_as_written, sheets_as_recorded
from crm_audit.history.ledger import MIGRATIONS, Ledger
from exporters.xlsx_package import package_parts
from exporters.xlsx_readback import WorkbookReader
from libreoffice import have_soffice
from test_workflow import D1, D2, build, edit_workbook, env, run, scenario_deals  # noqa: F401  (env: the fixture)

NEW, FIXED, NOT_FIXED = "Не обработано", "Исправлено", "Не исправлено"
D3 = "2026-12-04"


def _ledger(env) -> Ledger:
    return Ledger(env["dir"] / "crm-audit.db")


def _read_both(env, path: Path | None = None) -> tuple[list, list[str]]:
    """The rows read with the shortcut (asserted equal to a full parse) and the sheets it did not parse."""
    path = path or env["out"]
    with _ledger(env) as led:
        written = led.written_document(str(path.resolve()))
        fast = WorkbookReader(path, {}, written)
        rows = fast.read_edits()
    parsed = WorkbookReader(path, {}).read_edits()
    assert rows == parsed
    assert [(r.sheet, r.row, r.status_cell, r.comment_cell, r.decision_cell) for r in rows] == [
        (r.sheet, r.row, r.status_cell, r.comment_cell, r.decision_cell) for r in parsed]
    assert [[str(p) for p in r.problems] for r in rows] == [[str(p) for p in r.problems] for r in parsed]
    return rows, fast.unchanged


def _one_audit(env) -> Path:
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    assert run(env, e1, D1) == 0
    return e1


def _two_audits(env) -> Path:
    """Audit 1, managers' edits (carried into audit 2's document: statuses, comments, a problem), audit 2."""
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    assert run(env, e1, D1) == 0
    edit_workbook(env["out"], {
        ("1.8", "2"): {"Статус": NOT_FIXED, "Комментарий": "Клиент не помнит\tуточню\nзавтра"},
        ("1.8", "4"): {"Статус": NOT_FIXED, "Комментарий": "  Источник неизвестен "},
        ("1.8", "6"): {"Статус": NOT_FIXED},  # without a comment: a problem, carried as written
        ("2.1", "5"): {"Статус": FIXED, "Комментарий": "=SUM(A1) сделал"},
    })
    e2 = build(env["dir"] / "e2", scenario_deals(), no_task={"1"})
    assert run(env, e2, D2) == 0
    return e2


def _dump(db: Path) -> dict:
    """What a run left in the ledger, without the clock (ids, read/decided times)."""
    con = sqlite3.connect(db)
    try:
        return {
            "edits": sorted(con.execute(
                "SELECT audit_id, rule_id, deal_id, status_raw, status, comment, decision_raw, decision, decision_note, owner, "
                "source, sheet, cell, problems, version FROM edits").fetchall(), key=repr),
            "decisions": sorted(con.execute(
                "SELECT rule_id, deal_id, kind, note, owner, audit_id, decided_on, source, expires_on, fingerprint, active, "
                "ended_on, ended_reason FROM decisions").fetchall(), key=repr),
            "audits": con.execute("SELECT as_of, violation_count, document FROM audits ORDER BY id").fetchall(),
        }
    finally:
        con.close()


def _same_ledger_with_and_without(env, monkeypatch, export: Path, as_of: str) -> tuple[dict, list[str]]:
    """Run the audit ``as_of`` twice from the same files, with the shortcut and with every sheet parsed: the ledgers
    are the same. Returns the ledger and the sheets the shortcut did not parse."""
    d = env["dir"]
    keep = d / "keep"
    names = ["crm-audit.db", "crm-audit.findings", env["out"].name]
    shutil.rmtree(keep, ignore_errors=True)
    keep.mkdir()
    for n in names:
        for p in d.glob(n + "*"):
            (shutil.copytree if p.is_dir() else shutil.copy2)(p, keep / p.name)
    skipped: list[str] = []
    real = WorkbookReader.read_edits

    def spy(self):
        out = real(self)
        skipped.extend(self.unchanged)
        return out

    monkeypatch.setattr(WorkbookReader, "read_edits", spy)
    assert run(env, export, as_of) == 0
    fast = _dump(d / "crm-audit.db")
    for n in names:  # back to the same files
        for p in d.glob(n + "*"):
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        for p in keep.glob(n + "*"):
            (shutil.copytree if p.is_dir() else shutil.copy2)(p, d / p.name)
    monkeypatch.setattr(Ledger, "written_document", lambda self, location: None)
    assert run(env, export, as_of) == 0
    assert _dump(d / "crm-audit.db") == fast
    monkeypatch.undo()
    return fast, skipped


# ------------------------------------------------------------------------------------------------ zip-level edits


def _stored(path: Path) -> dict[str, bytes]:
    out = {}
    with open(path, "rb") as f, zipfile.ZipFile(f) as z:
        for info in z.infolist():
            f.seek(info.header_offset)
            head = f.read(30)
            f.seek(info.header_offset + 30 + int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little"))
            out[info.filename] = f.read(info.compress_size)
    return out


def _level_of(data: bytes, stored: bytes) -> int:
    for level in (-1, *range(0, 10)):
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        if c.compress(data) + c.flush() == stored:
            return level
    raise AssertionError("no zlib level gives the stored bytes")


def _edit_one_part(path: Path, part: str, old: str, new: str) -> None:
    """What a program that rewrites one sheet does: that part changes, every other part keeps its bytes."""
    stored = _stored(path)
    tmp = path.with_suffix(".tmp.xlsx")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            level = _level_of(data, stored[info.filename])
            if info.filename == part:
                text = data.decode("utf-8")
                assert old in text
                data = text.replace(old, new, 1).encode("utf-8")
            zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=None if level == -1 else level)
    tmp.replace(path)
    after = _stored(path)
    assert [n for n in stored if stored[n] != after[n]] == [part]


def _part_of(path: Path, prefix: str) -> str:
    with zipfile.ZipFile(path) as z:
        from exporters.xlsx_package import worksheets_of

        return next(p for t, p in worksheets_of(z) if t.startswith(prefix + " "))


# ------------------------------------------------------------------------------------------------ the cases


def test_an_untouched_workbook_is_read_from_the_ledger_with_the_same_rows(env, monkeypatch):
    e2 = _two_audits(env)
    rows, unchanged = _read_both(env)
    # every rule sheet as written, none parsed — the carried «Не исправлено» without a comment keeps its problem
    assert {t.split(" ")[0] for t in unchanged} >= {"1.1", "1.8", "2.1"}
    by_key = {(r.rule_id, r.deal_id): r for r in rows}
    assert by_key[("missing-source", "2")].comment == "Клиент не помнит\tуточню\nзавтра"
    assert by_key[("missing-source", "4")].comment == "  Источник неизвестен "
    assert [p.code for p in by_key[("missing-source", "6")].problems] == ["missing-comment"]
    with _ledger(env) as led:
        assert len(led.written_document(str(env["out"].resolve())).sheets) == len(unchanged)
    # the next audit records exactly what it records when it parses every sheet
    _, skipped = _same_ledger_with_and_without(env, monkeypatch, e2, D3)
    assert skipped


def test_a_sheet_changed_in_the_file_alone_is_parsed_the_others_are_not(env, monkeypatch):
    e2 = _two_audits(env)
    part = _part_of(env["out"], "1.8")
    # a manager's edit as a program that rewrites one sheet leaves it: deal 7's row «Исправлено» with a comment
    _edit_one_part(env["out"], part, f">{NEW}</t>", f">{FIXED}</t>")
    rows, unchanged = _read_both(env)
    assert not any(t.startswith("1.8 ") for t in unchanged)
    assert any(t.startswith("2.1 ") for t in unchanged)
    assert any(r.rule_id == "missing-source" and r.status == FIXED and r.comment is None for r in rows)
    fast, skipped = _same_ledger_with_and_without(env, monkeypatch, e2, D3)
    assert skipped and not any(t.startswith("1.8 ") for t in skipped)
    assert any(e[1] == "missing-source" and e[4] == FIXED for e in fast["edits"])  # the edit reached the ledger


def test_a_part_every_cell_depends_on_changed_parses_everything(env):
    _one_audit(env)
    _edit_one_part(env["out"], "xl/styles.xml", "<numFmts", "<numFmts ")
    _, unchanged = _read_both(env)
    assert unchanged == []


def test_a_workbook_saved_again_is_parsed(env, monkeypatch):
    e2 = _two_audits(env)
    wb = openpyxl.load_workbook(env["out"])
    wb.save(env["out"])  # every part rewritten, as Excel and LibreOffice do
    _, unchanged = _read_both(env)
    assert unchanged == []
    _same_ledger_with_and_without(env, monkeypatch, e2, D3)


@pytest.mark.slow  # the openpyxl save above takes the same path (every part rewritten); LibreOffice takes ~20 s
@pytest.mark.skipif(not have_soffice(), reason="LibreOffice is not installed")
def test_a_workbook_saved_by_libreoffice_is_parsed(env):
    import subprocess

    _two_audits(env)
    out = env["dir"] / "lo"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{env['dir'] / 'lo-profile'}", "--convert-to", "xlsx",
                    "--outdir", str(out), str(env["out"])], check=True, capture_output=True, timeout=180)
    shutil.copy(out / env["out"].name, env["out"])
    _, unchanged = _read_both(env)
    assert unchanged == []


def test_a_ledger_from_before_the_digests_parses_and_records_them_from_now_on(env, monkeypatch):
    e2 = _two_audits(env)
    db = env["dir"] / "crm-audit.db"
    con = sqlite3.connect(db)
    con.execute("DROP TABLE document_parts")
    con.execute("ALTER TABLE audits DROP COLUMN rules_ran")  # schema 8's: a ledger of schema 6 has neither
    con.execute("PRAGMA user_version = 6")
    con.commit()
    con.close()
    with _ledger(env) as led:  # migrated forward: the table is there, nothing recorded for the older document
        assert led.con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert led.written_document(str(env["out"].resolve())) is None
    _, unchanged = _read_both(env)
    assert unchanged == []
    _, skipped = _same_ledger_with_and_without(env, monkeypatch, e2, D3)
    assert skipped == []
    _, unchanged = _read_both(env)  # the document this run wrote is recorded
    assert unchanged


def test_a_missing_findings_file_parses(env):
    _one_audit(env)
    with _ledger(env) as led:
        name = led.con.execute("SELECT DISTINCT findings_file FROM document_parts").fetchone()[0]
        written = led.written_document(str(env["out"].resolve()))
        assert written is not None
        led.store.path(name).rename(led.store.path(name).with_suffix(".gone"))
        assert led.written_document(str(env["out"].resolve())) is None
        assert WorkbookReader(env["out"], {}, written).read_edits() == WorkbookReader(env["out"], {}).read_edits()


def test_a_run_stopped_before_recording_the_digests_never_skips_an_edit(env, monkeypatch):
    """The workbook is in place, the run dies before the ledger records its parts: nothing recorded for the path (the
    old document's parts were forgotten before the write), so an edit made afterwards is read."""
    e2 = _two_audits(env)
    import crm_audit.cycle.written_parts as wp

    def killed(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(wp, "record_written", killed)
    code = main(["run", "-c", str(env["cfg"]), "--export", str(e2), "--as-of", D3, "--out", str(env["out"]), "--quiet"])
    assert code != 0  # aborted
    monkeypatch.undo()
    with _ledger(env) as led:
        assert led.written_document(str(env["out"].resolve())) is None
        assert led.unfinished_writes()
    _edit_one_part(env["out"], _part_of(env["out"], "1.8"), f">{NEW}</t>", f">{FIXED}</t>")
    rows, unchanged = _read_both(env)
    assert unchanged == []
    assert run(env, e2, D3) == 0  # the unfinished run's document is read back: the edit reaches the ledger
    with _ledger(env) as led:
        assert led.con.execute("SELECT count(*) FROM edits WHERE rule_id = 'missing-source' AND status = ?", (FIXED,)).fetchone()[0]


def test_sheets_whose_text_does_not_come_back_as_written_are_not_recorded(env):
    """A comment with a CR (read back as LF), Excel's «_x0041_» escape (decoded by calamine), or a hand-typed status
    carried as written: that sheet is parsed; the rows stay the same either way."""
    e1 = build(env["dir"] / "e1", scenario_deals(), no_task={"1"})
    assert run(env, e1, D1) == 0
    edit_workbook(env["out"], {
        ("1.8", "2"): {"Статус": NOT_FIXED, "Комментарий": "строка\r\nвторая"},
        ("1.8", "4"): {"Статус": NOT_FIXED, "Комментарий": "код _x0041_"},
        ("2.1", "5"): {"Статус": "готово"},
    })
    e2 = build(env["dir"] / "e2", scenario_deals(), no_task={"1"})
    assert run(env, e2, D2) == 0
    rows, unchanged = _read_both(env)
    assert not any(t.startswith(("1.8 ", "2.1 ")) for t in unchanged)
    assert any(t.startswith("1.1 ") for t in unchanged)
    assert next(r for r in rows if r.deal_id == "5" and r.rule_id == "missing-city-or-country").status_raw == "готово"


def test_rows_as_written_are_the_rows_parsed(tmp_path):
    """The row builder against the parser on a sheet made by hand: statuses, comments, owners, numeric ids."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "1.8 Нет источника"
    ws.append(["ID сделки", "Ответственный", "Статус", "Комментарий", "Решение", "Комментарий руководителя", "ID правила"])
    data = [("12", "Иван", None, None), ("0013", None, FIXED, None), ("14", "Мария", NOT_FIXED, None),
            ("15", "Мария", NOT_FIXED, " да "), ("16", None, None, "коммент")]
    for deal, owner, status, comment in data:
        ws.append([deal, owner, status or NEW, comment, None, None, "missing-source"])
    path = tmp_path / "a.xlsx"
    wb.save(path)
    sheet = WrittenSheet("xl/worksheets/sheet1.xml", ws.title, "missing-source", len(data), 2, 3, 4)
    made = rows_as_written(sheet, *(list(c) for c in zip(*data)))
    assert made == WorkbookReader(path, {}).read_edits()


def test_a_capped_or_decided_sheet_is_not_recorded():
    import pandas as pd
    import pyarrow as pa

    from crm_audit.report import RuleResult

    shown = pa.table({"rule_id": ["r"] * 3, "deal_id": ["1", "2", "3"], "owner": ["a", None, "b"],
                      "status": [None, FIXED, None], "comment": [None, "ok", None]})
    rows = pd.DataFrame({"deal_id": ["1", "2", "3"], "owner": ["a", None, "b"], "status": [NEW, FIXED, NEW],
                         "comment": [None, "ok", None]})
    result = RuleResult(rule_id="r", code="1.8", title="Нет источника", criticality=1, sheet_title="1.8 Нет", evidence=[],
                        rows=rows)
    assert set(sheets_as_recorded([result], ["1.8 Нет"], shown)) == {"1.8 Нет"}
    assert sheets_as_recorded([result], ["1.8 Нет"], shown, row_cap=2) == {}
    decided = dataclasses.replace(result, rows=rows.assign(decision=[None, "Принято", None]))
    assert sheets_as_recorded([decided], ["1.8 Нет"], shown) == {}
    fewer = shown.slice(0, 2)
    assert sheets_as_recorded([result], ["1.8 Нет"], fewer) == {}


def test_package_parts_digest_the_stored_bytes(env):
    _one_audit(env)
    pkg = package_parts(env["out"])
    stored = _stored(env["out"])
    import hashlib

    assert {n: d.digest for n, d in pkg.parts.items()} == {n: hashlib.sha256(b).hexdigest() for n, b in stored.items()}
    assert package_parts(env["dir"] / "crm-audit.db") is None


def test_a_decision_cleared_back_to_the_written_bytes_is_withdrawn_as_when_parsed(env, monkeypatch):
    """Why an unchanged part is not nothing: the head types «Принято» in the document, `pull` takes the decision, then
    the cell is cleared again — the sheet's bytes are what the run wrote, and reading it withdraws the decision, with
    the shortcut exactly as with a parse."""
    e2 = _two_audits(env)
    written = env["out"].read_bytes()
    part = _part_of(env["out"], "2.1")
    with _ledger(env) as led:
        sheet = led.written_document(str(env["out"].resolve())).sheets[part]
    from openpyxl.utils import get_column_letter

    rule_letter = get_column_letter(sheet.decision_col + 3)  # «Решение», «Комментарий руководителя», «ID правила»
    decision_letter = get_column_letter(sheet.decision_col + 1)
    _edit_one_part(env["out"], part, f'<c r="{rule_letter}2"',
                   f'<c r="{decision_letter}2" t="inlineStr"><is><t>Принято</t></is></c><c r="{rule_letter}2"')
    rows, unchanged = _read_both(env)
    assert not any(t.startswith("2.1 ") for t in unchanged)
    assert any(r.rule_id == "missing-city-or-country" and r.decision == "Принято" for r in rows)
    assert main(["pull", "-c", str(env["cfg"])]) == 0
    with _ledger(env) as led:
        assert led.con.execute("SELECT count(*) FROM decisions WHERE kind = 'accepted' AND active = 1").fetchone()[0] == 1
    env["out"].write_bytes(written)  # cleared: the file is what the run wrote again
    _, unchanged = _read_both(env)
    assert any(t.startswith("2.1 ") for t in unchanged)
    fast, skipped = _same_ledger_with_and_without(env, monkeypatch, e2, D3)
    assert any(t.startswith("2.1 ") for t in skipped)
    assert [d for d in fast["decisions"] if d[2] == "accepted" and d[10] == 1] == []  # withdrawn
