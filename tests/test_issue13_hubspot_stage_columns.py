"""Issue 13 (left item): a HubSpot export with one `Date entered "<stage> (<pipeline>)"` column per stage and no «Date
entered current stage» gives rules 2.2 and 2.4 their stage-change date — each deal's cell of the column of its own
stage and pipeline (the profile's `per_stage:` headers, crm_audit/engine/mapping.py `dates_from_stage_columns`).

The fixture (tests/fixtures/hubspot-stage-columns) is written from a real portal's deal property list
(`Date entered "Closed Won (Sales Pipeline)"`, the same labels with single quotes, a stage name with parentheses
«Unit 3 (Final) In Production», `Date exited` / `Latest time in` / `Cumulative time in` beside them; see
crm_audit/profiles/hubspot.yaml): two pipelines sharing the stage «Принял в работу» (its columns differ per pipeline),
the Партнеры pipeline's labels in single quotes, a stage «Пилот (бесплатный)» with parentheses, and the 7-vs-8-day
(2.2) and 14-vs-15-day (2.4) boundaries on 2026-11-20. Pinned: a blank cell counts from the creation date (as a blank
«Date entered current stage» cell does); «Date entered current stage» wins where the export has it; a cell that does
not read stops `run` with the file, row and column.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import yaml

from crm_audit.cli import main

EXPORT = Path(__file__).parent / "fixtures" / "hubspot-stage-columns" / "export"
DEALS = "hubspot-crm-exports-all-deals-2026-11-20.csv"
RULES = ("stuck-in-accepted", "no-stage-movement")


@pytest.fixture(autouse=True)
def russian(monkeypatch):
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "ru")  # as the Russian-speaking analyst reads it


def _init(work: Path, export: Path) -> dict:
    assert main(["init", str(work), "--crm", "hubspot", "--from-export", str(export)]) == 0
    return yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))


def _run(work: Path, export: Path, capsys) -> tuple[int, str, dict[str, dict[str, str]]]:
    capsys.readouterr()
    code = main(["run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", "2026-11-20",
                 "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"), "--ledger", str(work / "l.db")])
    captured = capsys.readouterr()
    found: dict[str, dict[str, str]] = {}
    if code == 0:
        with open(work / "v.csv", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                found.setdefault(row["rule_id"], {})[row["deal_id"]] = row["evidence"]
    return code, captured.out + captured.err, found


def _edit(tmp_path: Path, change) -> Path:
    """A copy of the fixture with the deals file changed by ``change(header, rows)``."""
    export = tmp_path / "export"
    shutil.copytree(EXPORT, export)
    with open(export / DEALS, encoding="utf-8") as f:
        rows = list(csv.reader(f))
    change(rows[0], rows[1:])
    with open(export / DEALS, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return export


def test_init_and_run_take_days_in_stage_from_the_deals_own_stage_column(tmp_path, capsys):
    work = tmp_path / "work"
    settings = _init(work, EXPORT)
    assert not set(settings["rules"]["skip"]) & set(RULES)  # not switched off: the export has the dates
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert ("# Дни на этапе (правила 2.2 и 2.4): колонки «Date entered current stage» в выгрузке нет, дата смены\n"
            "# этапа берётся из колонок «Date entered \"<stage> (<pipeline>)\"» (по колонке на этап, их 11):\n"
            "# у каждой сделки — из колонки её этапа и воронки; пустая ячейка — от даты создания сделки.\n") in text
    assert text.count("# Дни на этапе (правила 2.2 и 2.4)") == 1
    code, out, found = _run(work, EXPORT, capsys)
    assert code == 0
    # 2.2 (> 7 days in «Принял в работу»): 7 days no, 8 yes; the Партнеры deal from ITS pipeline's column (10 days, not
    # the 1 day of the Клиенты «Принял в работу» column it also has a date in)
    assert found["stuck-in-accepted"] == {"18345670102": "Дней на этапе: 8; На этапе с: 2026-11-12",
                                          "18345670107": "Дней на этапе: 10; На этапе с: 2026-11-10"}
    # 2.4 (> 14 days): 14 no, 15 yes; the blank cell counts from the creation date (80 days); the stage with parentheses
    # «Пилот (бесплатный)» reads its own column (1 day, not its «Отправлено КП» date in August)
    assert found["no-stage-movement"] == {"18345670104": "Дней на этапе: 15; На этапе с: 2026-11-05",
                                          "18345670106": "Дней на этапе: 80; На этапе с: 2026-09-01"}
    assert "Правило пропущено" not in "\n".join(ln for ln in out.splitlines() if ln.strip().startswith(("2.2", "2.4")))

    capsys.readouterr()
    assert main(["inspect", "-c", str(work / "crm-audit.yaml"), str(EXPORT)]) == 0
    said = capsys.readouterr().out
    assert ('Date entered "<stage> (<pipeline>)" (по колонке на этап (колонок: 11), у каждой сделки — дата из колонки её этапа) '
            "→ stage_changed") in said
    # neither the columns read nor HubSpot's other per-stage families are listed column by column as custom fields
    assert "    оставлены как пользовательские поля: Город\n" in said
    assert ('    по колонке на этап, не читаются: «Date exited "<stage> (<pipeline>)"» (11), «Latest time in "<stage> '
            '(<pipeline>)"» (11), «Cumulative time in "<stage> (<pipeline>)"» (11)\n') in said
    rows = [ln for ln in said.splitlines() if ln.strip().startswith(("2.2 ", "2.4 "))]
    assert len(rows) == 2 and all(ln.rstrip().endswith("выполнится") for ln in rows), rows


def test_a_stage_without_its_column_is_warned_by_name(tmp_path, capsys):
    def drop(head, rows):  # a view export with some of the per-stage columns: «Отправлено КП (Клиенты)» left out
        i = head.index('Date entered "Отправлено КП (Клиенты)"')
        for r in [head, *rows]:
            del r[i]

    export = _edit(tmp_path, drop)
    work = tmp_path / "work"
    _init(work, export)
    code, out, found = _run(work, export, capsys)
    assert code == 0
    assert ("открытых сделок на этапах, у которых в выгрузке нет колонки «Date entered \"<stage> (<pipeline>)\"»: 2 "
            "(«Отправлено КП (Клиенты)» (2)); их дни на этапе считаются от даты создания") in out
    # their creation dates (1 September: 80 days) stand in, as for a blank cell
    assert {d: e for d, e in found["no-stage-movement"].items() if d in ("18345670103", "18345670104")} == {
        "18345670103": "Дней на этапе: 80; На этапе с: 2026-09-01", "18345670104": "Дней на этапе: 80; На этапе с: 2026-09-01"}


def test_date_entered_current_stage_wins(tmp_path, capsys):
    def add(head, rows):  # every deal entered its current stage the day before the audit
        head.insert(7, "Date entered current stage")
        for r in rows:
            r.insert(7, "2026-11-19 10:00")

    export = _edit(tmp_path, add)
    work = tmp_path / "work"
    _init(work, export)
    assert "Дни на этапе (правила 2.2 и 2.4)" not in (work / "crm-audit.yaml").read_text(encoding="utf-8")
    code, _out, found = _run(work, export, capsys)
    assert code == 0 and not found.keys() & set(RULES)
    capsys.readouterr()
    assert main(["inspect", "-c", str(work / "crm-audit.yaml"), str(export)]) == 0
    said = capsys.readouterr().out
    # its blank cells would take the deal's own stage column (acceptance P8): those columns are read, not listed unread
    assert ("Date entered current stage (где пусто: по колонке на этап (колонок: 11), у каждой сделки — дата из колонки "
            "её этапа) → stage_changed") in said and "(<pipeline>)\" (" not in said
    assert '    по колонке на этап, не читаются: «Date exited ' in said and '«Date entered "<stage>' not in said


def test_a_cell_that_does_not_read_stops_run_naming_file_row_and_column(tmp_path, capsys):
    work = tmp_path / "work"
    _init(work, EXPORT)

    def spoil(head, rows):
        rows[1][head.index('Date entered "Принял в работу (Клиенты)"')] = "скоро"

    export = _edit(tmp_path, spoil)
    code, out, _found = _run(work, export, capsys)
    assert code == 2 and "Traceback" not in out
    assert DEALS in out and "строка 3" in out and 'Date entered "Принял в работу (Клиенты)"' in out and "«скоро»" in out, out


def test_a_german_export_reads_its_per_stage_columns(tmp_path, capsys):
    """The profile's German names (languages.de: «Datensatz-ID», «Deal-Phase» … and the per-stage
    «Datum des Eintritts in "<Phase> (<Pipeline>)"», inferred from «Datum des Eintritts in die aktuelle Phase»)."""
    names = {"Record ID": "Datensatz-ID", "Deal Name": "Dealname", "Deal Stage": "Deal-Phase", "Amount": "Betrag",
             "Create Date": "Erstelldatum", "Deal owner": "Dealinhaber", "Is Deal Closed?": "Ist abgeschlossen",
             "Is Closed Won": "Ist gewonnen", "Close Date": "Abschlussdatum"}

    def german(head, rows):
        for k, h in enumerate(head):
            head[k] = names.get(h) or h.replace("Date entered ", "Datum des Eintritts in ")

    export = _edit(tmp_path, german)
    work = tmp_path / "work"
    settings = _init(work, export)
    assert not set(settings["rules"]["skip"]) & set(RULES)
    code, _out, found = _run(work, export, capsys)
    assert code == 0
    assert set(found["stuck-in-accepted"]) == {"18345670102", "18345670107"}
    assert set(found["no-stage-movement"]) == {"18345670104", "18345670106"}
