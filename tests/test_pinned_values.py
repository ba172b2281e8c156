"""Values pinned literally, never taken from the code under test (issue "The house": the tests stay honest).

- the due date is ``as_of + due_days`` computed by a real audit, shown on the FAQ sheet and in every rule row;
- the violations CSV header is the one README.md documents, not ``exporters.csv.CSV_COLUMNS``;
- a formula-like owner (``=1+2``) on «Учет попаданий» stays text.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml

from crm_audit.cli import main
from crm_audit.initfile import render_settings
from pipedrive_fixture import write_export

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = yaml.safe_load((Path(__file__).parent / "rule_cases" / "_defaults.yaml").read_text(encoding="utf-8"))

# README.md, «Outputs» → «Violations CSV», copied here by hand (the order matters: scripts read columns by position)
README_CSV_HEADER = ["rule_id", "rule_code", "criticality", "deal_id", "deal_url", "title", "owner", "state", "reason",
                     "pipeline", "stage", "evidence", "as_of"]


def _deal(i, **kw):
    return {**DEFAULTS["deal"], "id": str(i), "title": f"Сделка номер {i}", **kw}


def _export(tmp: Path, deals: list[dict]) -> Path:
    acts = [{**DEFAULTS["activity"], "id": str(1000 + n), "deal_id": d["id"], "due_date": "2026-12-25"} for n, d in enumerate(deals)]
    return write_export(tmp, deals, DEFAULTS["organizations"], DEFAULTS["persons"], acts)


def _audit(tmp: Path, deals: list[dict], as_of: str, due_days: int | None = None) -> dict:
    cfg = tmp / "crm-audit.yaml"
    text = render_settings("pipedrive")
    if due_days is not None:
        assert "due_days: 3" in text
        text = text.replace("due_days: 3", f"due_days: {due_days}")
    cfg.write_text(text, encoding="utf-8")
    export = _export(tmp / "export", deals)
    out, vcsv = tmp / "audit.xlsx", tmp / "violations.csv"
    code = main(["run", "-c", str(cfg), "--export", str(export), "--as-of", as_of, "--out", str(out),
                 "--violations-csv", str(vcsv), "--ledger", str(tmp / "l.db"), "--quiet"])
    assert code == 0, f"run exited {code}"
    return {"out": out, "csv": vcsv}


def _rule_rows(path: Path, code: str) -> list[dict]:
    ws = next(ws for ws in openpyxl.load_workbook(path).worksheets if ws.title.startswith(code + " "))
    header = [c.value for c in ws[1]]
    return [dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True) if r[1]]


def _faq(path: Path) -> dict:
    return {r[0]: r[1] for r in openpyxl.load_workbook(path)["FAQ"].iter_rows(values_only=True) if r and r[0]}


# ----------------------------------------------------------------------------- the due date


@pytest.mark.parametrize("as_of, due_days, due, faq_days", [
    ("2026-11-20", None, "23.11.2026", "3 дня"),   # the settings' default, due_days: 3
    ("2026-11-25", 10, "05.12.2026", "10 дней"),   # across a month end
    ("2026-12-30", 3, "02.01.2027", "3 дня"),      # across a year end
])
def test_due_date_is_as_of_plus_due_days(tmp_path, as_of, due_days, due, faq_days):
    r = _audit(tmp_path, [_deal(1, **{"Источник сделки": ""}), _deal(2, Город="")], as_of, due_days)
    want = dt.datetime.strptime(due, "%d.%m.%Y")
    for code in ("1.8", "2.1"):
        rows = _rule_rows(r["out"], code)
        assert rows, f"{code}: no rows"
        assert [row["Срок исправления"] for row in rows] == [want] * len(rows), \
            f"{code}: «Срок исправления» is not as-of {as_of} + {due_days or 3} days = {due}"
    ws = next(ws for ws in openpyxl.load_workbook(r["out"]).worksheets if ws.title.startswith("1.8 "))
    col = [c.value for c in ws[1]].index("Срок исправления") + 1
    assert ws.cell(2, col).number_format.upper() == "DD.MM.YYYY", "the due date is shown as dd.mm.yyyy"
    faq = _faq(r["out"])
    assert faq["Срок"].startswith(faq_days + ":") and f"до {due}" in faq["Срок"], f"FAQ «Срок»: {faq['Срок']!r}"
    # the CSV has no due-date column (README's header): nothing to pin there but its absence
    with open(r["csv"], encoding="utf-8", newline="") as fh:
        assert next(csv.reader(fh)) == README_CSV_HEADER


# ----------------------------------------------------------------------------- the CSV header


def test_readme_still_documents_this_csv_header():
    """The literal above is README's: if README changes, this test's copy must change with it (by hand)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("**Violations CSV**", 1)[1].split("- On a terminal", 1)[0]
    span = next(m for m in re.findall(r"`([^`]*)`", " ".join(section.split())) if m.startswith("rule_id"))
    assert [c.strip() for c in span.split(",")] == README_CSV_HEADER


def test_csv_header_and_row_are_the_documented_ones(tmp_path):
    deal = _deal(7, owner="Иван Петров", **{"Источник сделки": ""}, status="Lost", lost_reason="Дорого")
    r = _audit(tmp_path, [deal], "2026-11-20")
    with open(r["csv"], encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == README_CSV_HEADER, "the CSV header is not README's, in README's order"
    by_col = [dict(zip(README_CSV_HEADER, row)) for row in rows[1:]]
    assert [(x["rule_id"], x["deal_id"]) for x in by_col] == [("missing-source", "7")]
    got = by_col[0]
    assert (got["rule_code"], got["criticality"], got["deal_url"], got["title"], got["owner"], got["reason"],
            got["pipeline"], got["stage"], got["as_of"]) == (
        "1.8", "1", "https://example.pipedrive.com/deal/7", "Сделка номер 7", "Иван Петров", "Дорого",
        "Клиенты", "Квалификация", "2026-11-20"), "a CSV value sits under the wrong column"
    assert got["state"] and got["state"] != got["reason"]


# ----------------------------------------------------------------------------- «Учет попаданий»


def test_formula_like_owner_on_hit_tracking_stays_text(tmp_path):
    r = _audit(tmp_path, [_deal(1, owner="=1+2", **{"Источник сделки": ""}), _deal(2, owner="Иван Петров", Город="")], "2026-11-20")
    wb = openpyxl.load_workbook(r["out"])
    ws = wb["Учет попаданий"]
    cells = [c for row in ws.iter_rows() for c in row if c.value == "=1+2"]
    assert len(cells) >= 2, "«=1+2» is listed in the current table and in the history"  # the hit table and the history
    assert all(c.data_type == "s" for c in cells), [(c.coordinate, c.data_type) for c in cells]
    assert not [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    with zipfile.ZipFile(r["out"]) as z:
        idx = wb.sheetnames.index("Учет попаданий") + 1
        xml = z.read(f"xl/worksheets/sheet{idx}.xml").decode("utf-8")
    assert "<f>" not in xml and "<f " not in xml, "a formula element in «Учет попаданий»"
    # and on the rule sheet, the owner is the same text
    assert [row["Ответственный"] for row in _rule_rows(r["out"], "1.8")] == ["=1+2"]
