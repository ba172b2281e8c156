"""The manager's to-do and the review page (issue 16), on the bundled realistic Pipedrive sample, through the CLI.

The to-do is checked against the violations CSV of the same audit: exactly the manager's rows, grouped by rule in
code order, each deal's evidence as the rule sheet shows it; the pages are self-contained (nothing fetched), print
well and show accepted and invalid statuses; the charts have a readable scale.
"""

from __future__ import annotations

import csv
import re
import shutil
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest

from crm_audit.cli import main
from crm_audit.resources import demo_dir

D1, D2, TODAY = "2026-11-06", "2026-11-20", "2026-11-21"
MANAGER = "Алексей Соколов"  # in the sample he has findings of every rule (1.8, 2.1, 2.3 among them)


def _code_key(code: str) -> tuple:
    return tuple(int(p) for p in code.split("."))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Two audits of the bundled sample export; after the second, one accepted finding and one hand-typed status."""
    d = tmp_path_factory.mktemp("review")
    cfg = d / "crm-audit.yaml"
    shutil.copy(demo_dir() / "crm-audit.yaml", cfg)
    export = demo_dir() / "pipedrive"
    for day in (D1, D2):
        assert main(["run", "-c", str(cfg), "--export", str(export), "--as-of", day, "--out", str(d / "audit.xlsx"),
                     "--violations-csv", str(d / f"violations-{day}.csv"), "--quiet"]) == 0
    rows = list(csv.DictReader((d / f"violations-{D2}.csv").open(encoding="utf-8")))
    mine = [r for r in rows if r["owner"] == MANAGER]
    accepted = next(r for r in mine if r["rule_code"] == "1.8")
    assert main(["accept", "-c", str(cfg), accepted["rule_id"], accepted["deal_id"], "--note", "так и есть"]) == 0
    typed = next(r for r in mine if r["rule_code"] == "2.1" and r["deal_id"] != accepted["deal_id"])
    wb = openpyxl.load_workbook(d / "audit.xlsx")
    ws = next(ws for ws in wb.worksheets if ws.title.startswith("2.1 "))
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if str(row[header.index("ID сделки")].value) == typed["deal_id"]:
            row[header.index("Статус")].value = "исправил"
    wb.save(d / "audit.xlsx")
    # the head of sales' first review reads the document back (the typed status); the tests may run in any order and
    # on any worker, so none of them relies on another's review having pulled it
    assert main(["review", "-c", str(cfg), "--today", TODAY]) == 0
    return {"dir": d, "cfg": cfg, "rows": rows, "mine": mine, "accepted": accepted, "typed": typed}


def review(demo, capsys, *args) -> str:
    capsys.readouterr()
    assert main(["review", "-c", str(demo["cfg"]), "--today", TODAY, *args]) == 0
    return capsys.readouterr().out


def test_the_todo_text_is_the_managers_rows_by_rule_in_code_order(demo, capsys):
    text = review(demo, capsys, "--manager", MANAGER.lower().replace("е", "ё", 1))  # any spelling finds the manager
    lines = text.splitlines()
    expected = [r for r in demo["mine"] if r is not demo["accepted"]]
    assert lines[0].startswith(f"{MANAGER}, по аудиту CRM от 20.11.2026 у вас {len(expected)} нарушени"), lines[0]
    assert lines[1] == "Срок: до 23.11.2026 (осталось 2 дня)."
    # groups in code order, each with as many deals as the CSV has for the manager
    groups = [(m[1], int(m[2])) for ln in lines if (m := re.match(r"^(\d+\.\d+) .* — (\d+)$", ln))]
    by_code = defaultdict(list)
    for r in expected:
        by_code[r["rule_code"]].append(r)
    assert [c for c, _ in groups] == sorted(by_code, key=_code_key)
    assert {c: n for c, n in groups} == {c: len(v) for c, v in by_code.items()}
    # every deal with its link and evidence as the CSV shows it (dates as dd.mm.yyyy, empty as «пусто»)
    for r in expected:
        head = f"  • «{r['title']}» (сделка {r['deal_id']}) {r['deal_url']}"
        assert head in lines, f"{r['rule_code']} deal {r['deal_id']} missing:\n{text}"
    overdue = [r for r in expected if r["rule_code"] == "2.3"]
    assert overdue, "the sample has overdue tasks for this manager"
    for r in overdue:
        ev = dict(part.split(": ", 1) for part in r["evidence"].split("; "))
        due = "{2}.{1}.{0}".format(*ev["Срок задачи"][:10].split("-"))
        start = next(i for i, ln in enumerate(lines) if ln.startswith("2.3 "))  # the same deal may be on other rules too
        block = "\n".join(lines[lines.index(f"  • «{r['title']}» (сделка {r['deal_id']}) {r['deal_url']}", start):][:3])
        assert f"Просроченная задача: {ev['Просроченная задача']}; Срок задачи: {due}" in block, block
    # accepted: off the list, said at the end; the hand-typed status explained
    assert f"(сделка {demo['accepted']['deal_id']}, 1.8" in text.split("Принято руководителем")[1]
    assert "статус «исправил» не из списка" in text
    # only this manager's deals
    others = {r["deal_url"] for r in demo["rows"] if r["owner"] != MANAGER} - {r["deal_url"] for r in demo["mine"]}
    assert not [u for u in others if u + "\n" in text]


def test_the_managers_page_is_their_own_and_self_contained(demo, capsys):
    page_path = demo["dir"] / "ivan.html"
    review(demo, capsys, "--manager", MANAGER, "--html", str(page_path), "--no-pull")
    page = page_path.read_text(encoding="utf-8")
    todo, accepted = page.split("<h2>Принято руководителем")
    expected = [r for r in demo["mine"] if r is not demo["accepted"]]
    assert sorted(re.findall(r'<a href="([^"]+)">', todo)) == sorted(r["deal_url"] for r in expected)
    assert re.findall(r'<a href="([^"]+)">', accepted) == [demo["accepted"]["deal_url"]]
    # no team numbers: no per-manager table, no charts, no other owner listed as an owner
    assert "По менеджерам" not in page and "<svg" not in page and "Динамика" not in page
    assert "<script" not in page and "<link" not in page and " src=" not in page and "@import" not in page and "url(" not in page
    assert "@media print" in page and "thead { display: table-header-group; }" in page
    titles = re.findall(r"<h2>(\d+\.\d+) ", page)
    assert titles == sorted(titles, key=_code_key)


def test_the_review_page_shows_accepted_and_invalid_and_readable_charts(demo, capsys):
    path = demo["dir"] / "review.html"
    review(demo, capsys, "--html", str(path), "--no-pull")
    page = path.read_text(encoding="utf-8")
    assert "С прошлого аудита (06.11.2026)" in page
    accepted = page.split("Принято руководителем (не в списках дел)")[1]
    assert f'<a href="{demo["accepted"]["deal_url"]}">' in accepted.split("</table>")[0]
    invalid = page.split("Статус не из списка (считается необработанным)")[1].split("</table>")[0]
    assert ">исправил</span>" in invalid and f'<a href="{demo["typed"]["deal_url"]}">' in invalid
    # the charts: round y ticks from 0 to at least the peak, the audit dates under the axis, a dot per value
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) == 2
    managers = defaultdict(int)
    for r in demo["rows"]:
        managers[r["owner"]] += 1
    ticks = [int(t) for t in re.findall(r'text-anchor="end" fill="#444">(\d+)</text>', svgs[0])]
    assert ticks[0] == 0 and ticks[-1] >= max(managers.values()) and len(set(b - a for a, b in zip(ticks, ticks[1:]))) == 1
    assert ">06.11.26</text>" in svgs[0] and ">20.11.26</text>" in svgs[0]
    assert svgs[0].count("<circle") == 2 * min(len(managers), 10)
    assert "<script" not in page and "<link" not in page and "@media print" in page


def test_one_audit_still_draws_its_points(tmp_path):
    from crm_audit.history.review import line_chart_svg, nice_ticks

    svg = line_chart_svg([{"name": "Иван", "values": [7], "color": "#000"}], ["20.11.26"], "t")
    assert svg.count("<circle") == 1 and "<polyline" not in svg and ">20.11.26</text>" in svg
    assert nice_ticks(7) == [0, 2, 4, 6, 8] and nice_ticks(143) == [0, 50, 100, 150] and nice_ticks(0) == [0, 1]


def test_findings_files_without_evidence_stay_readable(tmp_path):
    """A findings file written before the evidence column: the review reads it (no evidence) instead of failing."""
    import pyarrow.parquet as pq

    from crm_audit.history.ledger import Ledger
    from ledger_helpers import add_audit

    with Ledger(tmp_path / "crm-audit.db") as led:
        aid = add_audit(led, D1, [{"rule_id": "missing-source", "deal_id": "7", "owner": MANAGER, "title": "Сделка 7"}])
        f = Path(led._file(aid))
        pq.write_table(pq.read_table(f).drop(["evidence"]), f)
        rows = led.audit_findings(aid)
    assert [(r["deal_id"], r["title"], r["evidence"]) for r in rows] == [("7", "Сделка 7", None)]
