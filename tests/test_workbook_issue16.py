"""Issue 16, acceptance defects of the workbook: the deal title carries the link (D2), numbers are numbers and the
ID columns raise no "number stored as text" marker (D3), «Учет попаданий» says what changed since the last audit
(D1), a printed rule sheet is readable (D15). Real runs of the CLI on the bundled sample export."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from crm_audit.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "crm_audit" / "demo_data"


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """A first audit of the sample export: its folder and workbook path."""
    d = tmp_path_factory.mktemp("issue16")
    shutil.copy(DEMO / "crm-audit.yaml", d / "crm-audit.yaml")
    code = main(["run", "-c", str(d / "crm-audit.yaml"), "-e", str(DEMO / "pipedrive"), "--as-of", "20.11.2026",
                 "-o", str(d / "audit.xlsx"), "--ledger", str(d / "crm-audit.db"), "-q"])
    assert code == 0
    return d, d / "audit.xlsx"


def _rule_sheets(wb):
    return [ws for ws in wb.worksheets if ws.title not in ("FAQ", "Учет попаданий")]


def _column(ws, header: str) -> int:
    return next(c.column for c in ws[1] if c.value == header)


def test_the_deal_title_carries_the_deal_link(first):
    wb = openpyxl.load_workbook(first[1])
    checked = 0
    for ws in _rule_sheets(wb):
        url_c, title_c = _column(ws, "Ссылка на сделку"), _column(ws, "Название сделки")
        for row in ws.iter_rows(min_row=2):
            url, title = row[url_c - 1], row[title_c - 1]
            if url.value is None or title.value is None or not str(url.value).startswith("http"):
                continue
            assert url.hyperlink is not None and url.hyperlink.target == url.value  # the column the reference requires
            assert title.hyperlink is not None, (ws.title, title.coordinate)
            assert title.hyperlink.target == url.value
            assert title.font.u == "single"  # looks like a link
            assert title.data_type == "s"  # text, never a formula
            checked += 1
    assert checked > 100
    ws = wb["1.1 Открытые без задач"]
    assert ws["C2"].value == "Аудит сайта" and ws["C2"].hyperlink.target == "https://demo.pipedrive.com/deal/83"


def test_numbers_are_numbers_right_aligned_and_ids_raise_no_marker(first):
    import zipfile

    wb = openpyxl.load_workbook(first[1])
    ws = wb["1.4 Нет трафика или бюджета"]
    budget, traffic, deal = _column(ws, "Бюджет"), _column(ws, "Посещаемость"), _column(ws, "ID сделки")
    for c in (budget, traffic):
        assert ws.cell(1, c).alignment.horizontal == "right"  # a right-aligned header over numbers
    # (a field of only spaces stays as exported: that is what the rule flagged)
    numbers = [ws.cell(r, c) for r in range(2, ws.max_row + 1) for c in (budget, traffic) if str(ws.cell(r, c).value or "").strip()]
    assert numbers and all(cell.data_type == "n" and isinstance(cell.value, (int, float)) for cell in numbers)
    assert all(cell.alignment.horizontal == "right" for cell in numbers)
    assert 210000 in {cell.value for cell in numbers} and 8500 in {cell.value for cell in numbers}
    assert all(ws.cell(r, deal).data_type == "s" for r in range(2, ws.max_row + 1))  # ids stay text
    # no green "number stored as text" triangle on the id columns
    with zipfile.ZipFile(first[1]) as z:
        names = {s.title: f"xl/worksheets/sheet{i + 1}.xml" for i, s in enumerate(wb.worksheets)}
        xml = z.read(names[ws.title]).decode("utf-8")
    extent = int(xml.split('numberStoredAsText="1"')[0].rsplit(":B", 1)[1].split(" ")[0])
    assert f'<ignoredErrors><ignoredError sqref="B2:B{extent} S2:S{extent}" numberStoredAsText="1" /></ignoredErrors>' in xml
    assert extent == ws.max_row + 1000  # rows a manager adds too
    assert xml.index("<pageSetup") < xml.index("<ignoredErrors") < xml.index("</worksheet>")


def test_numeric_cells_and_ignored_errors_read_back_the_same_rows(first, tmp_path):
    """write -> read back -> the same rows, by both readers, and after LibreOffice saved the workbook again."""
    import subprocess

    from exporters.xlsx_readback import WorkbookReader

    reader = WorkbookReader(first[1])
    rows = reader.read_edits()
    assert rows and rows == reader._read_openpyxl()
    wb = openpyxl.load_workbook(first[1])
    expected = sum(1 for ws in _rule_sheets(wb) for r in ws.iter_rows(min_row=2, max_col=2, values_only=True) if r[1])
    assert len(rows) == expected
    assert {(e.rule_id, e.deal_id) for e in rows if e.sheet.startswith("1.4")} >= {("missing-traffic-or-budget", "296")}
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed")
    out = tmp_path / "lo"
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--convert-to", "xlsx",
                    "--outdir", str(out), str(first[1])], check=True, capture_output=True, timeout=300)
    again = WorkbookReader(out / "audit.xlsx").read_edits()
    key = lambda e: (e.rule_id, e.deal_id, e.status, e.comment)  # noqa: E731
    assert sorted(map(key, again)) == sorted(map(key, rows))


def _since_last_block(ws) -> dict[str, list]:
    """«Учет попаданий»'s «С прошлого аудита» table: {manager: [numbers]} with the header under ``"Менеджер"``."""
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if isinstance(r[0], str) and r[0].startswith("С прошлого аудита"))
    out = {}
    for r in rows[start + 1 :]:
        if r[0] is None:
            break
        out[r[0]] = [v for v in r[1:] if v is not None]
    return out


def test_hits_sheet_says_what_changed_since_the_last_audit(tmp_path, capsys):
    """Two audits: a row marked «Исправлено» that still fails, one accepted, one warned, a deal fixed in the CRM; the
    block on «Учет попаданий» has the numbers the terminal summary prints, per manager and for the team."""
    import csv

    shutil.copy(DEMO / "crm-audit.yaml", tmp_path / "crm-audit.yaml")
    cfg, led = str(tmp_path / "crm-audit.yaml"), str(tmp_path / "crm-audit.db")
    assert main(["run", "-c", cfg, "-e", str(DEMO / "pipedrive"), "--as-of", "20.11.2026", "-o", str(tmp_path / "a1.xlsx"),
                 "--ledger", led, "-q"]) == 0
    wb = openpyxl.load_workbook(tmp_path / "a1.xlsx")
    ws = wb["1.1 Открытые без задач"]
    h = {c.value: c.column for c in ws[1] if c.value}
    owner = lambda r: ws.cell(r, h["Ответственный"]).value  # noqa: E731
    ws.cell(2, h["Статус"]).value = "Исправлено"  # still failing in the next export
    ws.cell(3, h["Статус"]).value = "Не исправлено"
    ws.cell(3, h["Комментарий"]).value = "Клиент в отпуске до декабря"
    ws.cell(3, h["Решение"]).value = "Принято"
    ws.cell(4, h["Статус"]).value = "Не исправлено"
    ws.cell(4, h["Комментарий"]).value = "Некогда"
    ws.cell(4, h["Решение"]).value = "Предупреждение"
    fixed_deal = str(ws.cell(5, h["ID сделки"]).value)
    fixed_owner, accepted_owner, warned_owner, failing_owner = owner(5), owner(3), owner(4), owner(2)
    wb.save(tmp_path / "a1.xlsx")
    export = tmp_path / "export2"
    shutil.copytree(DEMO / "pipedrive", export)
    with open(export / "deals.csv", encoding="utf-8", newline="") as fh:
        deals = list(csv.reader(fh))
    with open(export / "deals.csv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows([r for r in deals if r[0] != fixed_deal])  # deleted: gone
    capsys.readouterr()
    assert main(["run", "-c", cfg, "-e", str(export), "--as-of", "04.12.2026", "-o", str(tmp_path / "a2.xlsx"),
                 "--ledger", led]) == 0
    printed = capsys.readouterr().out
    block = _since_last_block(openpyxl.load_workbook(tmp_path / "a2.xlsx")["Учет попаданий"])
    assert block.pop("Менеджер")[:6] == ["Новых", "Исправлено", "Осталось", "«Исправлено», но осталось", "Принято",
                                         "Предупреждений"]
    team = block.pop("Вся команда")
    new, resolved, still_open, fixed_failing, accepted, warned = team[:6]
    assert (fixed_failing, accepted, warned) == (1, 1, 1)
    assert resolved >= 1 and still_open > 300
    for i in range(6):  # per manager adds up to the team (no deal changed owner)
        assert sum(v[i] for v in block.values()) == team[i]
    assert block[failing_owner][3] >= 1 and block[accepted_owner][4] >= 1 and block[warned_owner][5] >= 1
    assert block[fixed_owner][1] >= 1
    # the same numbers as the terminal summary
    line = next(x for x in printed.splitlines() if "20.11.2026" in x and str(new) in x)
    for n in (new, resolved, still_open, accepted, warned):
        assert str(n) in line
    for name, v in block.items():
        row = next(x for x in printed.splitlines() if x.strip().startswith(name) and "+" in x)
        assert f"+{v[0]}" in row and f"-{v[1]}" in row and f"={v[2]}" in row


def _pdf_font_sizes(pdf: bytes) -> list[float]:
    """The font size of every ``Tf`` operator in the PDF's (deflated) content streams."""
    import re
    import zlib

    sizes = []
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            text = zlib.decompress(m.group(1))
        except zlib.error:
            continue
        sizes += [float(f) for f in re.findall(rb"/F\d+ ([\d.]+) Tf", text)]
    return sizes


def test_a_printed_rule_sheet_is_readable(first, tmp_path):
    """LibreOffice prints the widest rule sheet (20 columns) at >= 7 pt (fit to a single page's width: ~2.4 pt)."""
    import subprocess

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed")
    wb = openpyxl.load_workbook(first[1])
    ws = wb["2.3 Просроченные задачи"]
    assert ws.print_area == "'2.3 Просроченные задачи'!$B$1:$S$" + str(ws.max_row)  # no URL, no «ID правила»
    assert ws.cell(1, 20).value == "ID правила" and ws.column_dimensions["T"].width <= 10  # the read-back key: last, narrow
    assert ws["T2"].value == "overdue-tasks" and ws["T2"].font.color.rgb.endswith("595959")  # and grey
    for other in [w for w in wb.worksheets if w.title != ws.title]:
        wb.remove(other)
    wb.save(tmp_path / "one.xlsx")
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(tmp_path / "one.xlsx")], check=True, capture_output=True, timeout=300)
    sizes = _pdf_font_sizes((tmp_path / "one.pdf").read_bytes())
    assert sizes and min(sizes) >= 7.0, sorted(set(sizes))
