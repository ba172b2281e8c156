"""Acceptance T4: an accepted finding stays out of every output of every later audit; the CSV, the workbook and the
terminal always agree.

tests/fixtures/acct/amo_min: an amoCRM Russian leads export audited 20.11, 04.12, 18.12.2026 and 01.01.2027 (the
settings as the team left them: the stage «Квалификация» renamed «Квалификация лида» from 04.12). Deal 3003 never
changes and is flagged by 1.3, 1.4, 1.5 and 1.10. After the first audit the head of sales accepts 1.5/3003 and warns
2.1/3005; after the second, accepts 1.8/3004 until 31.12.2026. The violations CSV used to be written in a second
thread from the audit's rows while the carry-over removed the accepted ones: whichever came first decided whether
1.5/3003 was in it (v3.csv had 11 rows, the terminal said «10 нарушений», the workbook left it out). The accepted
findings now leave the report before any output starts. The story runs with the CSV written at its start, at its end
and meanwhile (the real thread): the CSV is the same each time.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from cli_helpers import cli_ru, findings_by_code, run_audit

STORY = Path(__file__).parent / "fixtures" / "acct" / "amo_min"

#: the violations CSV of each audit: rule code -> deal ids
EXPECTED = {
    "2026-11-20": {"1.3": {"3003"}, "1.4": {"3003"}, "1.5": {"3002", "3003"}, "1.7": {"3001"}, "1.8": {"3002", "3004"},
                   "1.10": {"3003"}, "1.11": {"3002"}, "2.1": {"3002", "3005"}},
    # 1.5/3003 accepted: out, though 3003 is still on 1.3, 1.4 and 1.10
    "2026-12-04": {"1.3": {"3003"}, "1.4": {"3003"}, "1.5": {"3002", "3006"}, "1.7": {"3001"}, "1.8": {"3004", "3006"},
                   "1.10": {"3003"}, "1.11": {"3002", "3006"}, "2.1": {"3002", "3005", "3006"}},
    # 3003 unchanged: 1.5/3003 still out (it came back here, in the CSV only); 1.8/3004 accepted until 31.12.2026
    "2026-12-18": {"1.3": {"3003"}, "1.4": {"3003"}, "1.5": {"3002", "3006"}, "1.8": {"3006"}, "1.10": {"3003"},
                   "1.11": {"3002", "3006"}, "2.1": {"3006"}},
    # 3002's title fixed; 1.8/3004's waiver expired: back
    "2027-01-01": {"1.3": {"3003"}, "1.4": {"3003"}, "1.5": {"3006"}, "1.8": {"3004", "3006"}, "1.10": {"3003"},
                   "1.11": {"3002", "3006"}, "2.1": {"3006"}},
}
RULE_CODE = re.compile(r"^\d+\.\d+$")


def _workbook(book: Path) -> tuple[dict[str, set[str]], int, int, dict[str, dict]]:
    """The workbook's rule sheets (code -> deal ids), «Итого» of this audit's hits, the history's last audit column's
    sum, and every row by (code, deal) (header -> value)."""
    wb = openpyxl.load_workbook(book)
    found: dict[str, set[str]] = {}
    rows: dict[str, dict] = {}
    for name in wb.sheetnames:
        code = name.split(" ")[0]
        if not RULE_CODE.match(code):
            continue
        ws = wb[name]
        header = [c.value for c in ws[1]]
        for r in ws.iter_rows(min_row=2, values_only=True):
            if r and r[header.index("ID сделки")] not in (None, ""):
                deal = str(r[header.index("ID сделки")])
                found.setdefault(code, set()).add(deal)
                rows[(code, deal)] = dict(zip(header, r))
    hits = [list(r) for r in wb["Учет попаданий"].iter_rows(values_only=True)]
    total = next(r[-1] for r in hits if r and r[0] == "Итого")
    start = next(i for i, r in enumerate(hits) if r and r[0] == "История: попадания по аудитам") + 1
    last = hits[start].index("Всего") - 1  # this audit's column, before «Всего»
    history = 0
    for r in hits[start + 1:]:
        if not r or r[0] in (None, ""):
            break
        history += r[last]
    return found, total, history, rows


def _terminal(out: str) -> tuple[int, dict[str, int]]:
    """The run's «N нарушений» and its per-rule counts (rules that ran)."""
    total = int(re.search(r"проверено \d+ сдел\w*, (\d+) нарушени", out).group(1))
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^  (\d+\.\d+) .*?\s(\d+)$", out, re.M)}
    return total, counts


def _csv_rows(csv_path: Path) -> int:
    with open(csv_path, encoding="utf-8") as f:
        return sum(1 for _ in f) - 1


def _audit(capsys, monkeypatch, work: Path, tmp: Path, day: str) -> dict[str, dict]:
    """One audit of the story; asserts its CSV, workbook, hits and terminal agree. The workbook's rows by (code, deal)."""
    out, _err = run_audit(capsys, monkeypatch, work, tmp / f"export-{day}", day)
    csv_found = {code: deals for code, deals in findings_by_code(work / "v.csv").items()}
    book_found, hits_total, history, rows = _workbook(work / "audit.xlsx")
    total, per_rule = _terminal(out)
    csv_rows = _csv_rows(work / "v.csv")
    assert csv_found == book_found, day
    assert csv_rows == sum(len(d) for d in csv_found.values()) == total == hits_total == history, (day, csv_rows, total)
    assert {c: n for c, n in per_rule.items() if n} == {c: len(d) for c, d in csv_found.items()}, day
    return rows


class _AtStart:
    """The CSV written as soon as it is started (before the carry-over): the earliest a second thread could."""

    def __init__(self, fn, *args, name):
        self._value, self._error = None, None
        try:
            self._value = fn(*args)
        except BaseException as exc:  # raised by result(), as the thread's error is
            self._error = exc

    def join(self):
        pass

    def result(self):
        if self._error is not None:
            raise self._error
        return self._value


class _AtEnd:
    """The CSV written only when the run waits for it (after the carry-over): the latest a second thread could."""

    def __init__(self, fn, *args, name):
        self._call, self._done = (fn, args), None

    def join(self):
        try:
            self.result()
        except BaseException:
            pass

    def result(self):
        if self._done is None:
            fn, args = self._call
            try:
                self._done = (fn(*args), None)
            except BaseException as exc:
                self._done = (None, exc)
        if self._done[1] is not None:
            raise self._done[1]
        return self._done[0]


@pytest.mark.parametrize("csv_written", ["thread", "at-start", pytest.param("at-end", marks=pytest.mark.slow)])
def test_an_accepted_finding_stays_out_of_every_output_of_every_later_audit(tmp_path, capsys, monkeypatch, csv_written):
    if csv_written != "thread":
        import crm_audit.threads

        monkeypatch.setattr(crm_audit.threads, "InThread", _AtStart if csv_written == "at-start" else _AtEnd)
    for d in STORY.iterdir():
        if d.is_dir():
            shutil.copytree(d, tmp_path / d.name)
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(STORY / "crm-audit.yaml", work / "crm-audit.yaml")
    settings = ("-c", str(work / "crm-audit.yaml"), "--ledger", str(work / "l.db"))

    days = list(EXPECTED)
    _audit(capsys, monkeypatch, work, tmp_path, days[0])
    assert findings_by_code(work / "v.csv") == EXPECTED[days[0]]
    code, out, err = cli_ru(capsys, monkeypatch, "accept", *settings, "1.5", "3003", "--note", "ok")
    assert (code, out.strip()) == (0, "Принято: 1.5 / сделка 3003 (Иван Петров)."), err
    code, out, err = cli_ru(capsys, monkeypatch, "warn", *settings, "2.1", "3005", "--note", "заполнить страну")
    assert code == 0 and "2.1 / сделка 3005" in out, err

    rows = _audit(capsys, monkeypatch, work, tmp_path, days[1])
    assert findings_by_code(work / "v.csv") == EXPECTED[days[1]]
    assert rows[("2.1", "3005")]["Примечание"].startswith("Предупреждение руководителя от ")  # warned: stays, noted
    code, out, err = cli_ru(capsys, monkeypatch, "accept", *settings, "1.8", "3004", "--until", "2026-12-31")
    assert (code, out.strip()) == (0, "Принято: 1.8 / сделка 3004 (Мария Сидорова) до 31.12.2026."), err

    for day in days[2:]:
        rows = _audit(capsys, monkeypatch, work, tmp_path, day)
        assert findings_by_code(work / "v.csv") == EXPECTED[day], day
    assert "срок истёк" in rows[("1.8", "3004")]["Примечание"]

    # 3003's contact changes (still a phone in the name): the acceptance ends, 1.5/3003 is back, in every output
    changed = tmp_path / "export-2027-01-15"
    changed.mkdir()
    text = (tmp_path / "export-2027-01-01" / "amocrm_export_leads_2027-01-01.csv").read_text(encoding="utf-8-sig")
    assert text.count("Петр 89161234567") == 1
    (changed / "amocrm_export_leads_2027-01-15.csv").write_text(text.replace("Петр 89161234567", "Петр 89169999999"),
                                                               encoding="utf-8-sig")
    rows = _audit(capsys, monkeypatch, work, tmp_path, "2027-01-15")
    assert findings_by_code(work / "v.csv")["1.5"] == {"3003", "3006"}
    assert "поля сделки изменились" in rows[("1.5", "3003")]["Примечание"]


def test_a_csv_started_on_other_rows_than_the_reports_is_written_again(tmp_path):
    """The CSV written early holds the rows the report had when it started; if the report's rows changed since (a
    finding dropped after it started), write_outputs writes the report's own rows: the CSV is never the stale one."""
    import datetime as dt

    import pandas as pd

    from crm_audit.cycle.outputs import EarlyCsv, write_outputs
    from crm_audit.report import AuditReport, RuleResult

    rows = pd.DataFrame({"deal_id": ["3002", "3003"], "owner": ["Мария Сидорова", "Иван Петров"]})
    rule = RuleResult("invalid-name", "1.5", "Некорректные названия", 1, "1.5 Некорректные названия", [], rows)
    day = dt.date(2026, 12, 18)
    report = AuditReport(as_of=day, generated_at=dt.datetime(2026, 12, 18, 9), due_date=day, results=[rule])
    target = tmp_path / "v.csv"
    early = EarlyCsv(report, target)
    rule.rows = rows[rows["deal_id"] != "3003"].reset_index(drop=True)  # accepted after the CSV started
    try:
        assert not early.holds(report)
        write_outputs(report, None, target, lambda _msg: None, early_csv=early)
    finally:
        early.discard()
    assert findings_by_code(target) == {"1.5": {"3002"}}
    assert _csv_rows(target) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
