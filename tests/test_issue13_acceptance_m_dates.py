"""Issue 13, acceptance pass M (/tmp/accM/REPORT.md): M1, M4, M7 — one date order per export, a CSV with mixed line
endings, the header languages of an English Bitrix24 export.

Each export is a copy of the tester's case under tests/fixtures/real/* (its README names the source and what the
tester wrote), through `init --from-export` → `inspect` / `run` as a user types them, no hand edits.

* M1: a Pipedrive export re-saved by US Excel: deals.csv has days above 12 in the second position (10/28/2026), so it
  is month first; activities.csv has only dates that fit both orders (12/1/2026). The export's evidence decides for
  the ambiguous file (no false overdue task due «2026-01-12»), the notes quote cells that are in the files, a file
  whose own cells prove the other order keeps it with a warning, and `init` writes `date_order: mdy` with the file,
  column and cell it was decided from;
* M4: a Salesforce report whose rows end in CRLF and whose appended footer ends in LF is read (never DuckDB's
  «new_line = \\r\\n (Auto-Detected) …»); a CSV that truly cannot be read is named by file and line in the CLI's
  language, never with the engine's text;
* M7: a pure English Bitrix24 export (and an unrelated contacts_backup.csv whose «Name» is German for a deal's title)
  is «en», not «en, de».
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from crm_audit.cli import main
from crm_audit.engine.inspect import inspect_export
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile
from crm_audit.errors import InputError
from real_fixtures import copy_export as _export

REAL = Path(__file__).parent / "fixtures" / "real"
AS_OF = "2026-11-20"
M1 = "pd_en_usexcel_m1"


def _init(tmp: Path, export: Path, crm: str) -> str:
    assert main(["init", str(tmp), "--from-export", str(export), "--crm", crm]) == 0
    return (tmp / "crm-audit.yaml").read_text(encoding="utf-8")


def _run(tmp: Path, export: Path, capsys) -> str:
    capsys.readouterr()
    assert main(["run", "-c", str(tmp / "crm-audit.yaml"), "--export", str(export), "--as-of", AS_OF,
                 "--out", str(tmp / "audit.xlsx"), "--violations-csv", str(tmp / "v.csv")]) == 0
    out = capsys.readouterr()
    return out.out + out.err


def _rows(tmp: Path, rule: str) -> dict[str, str]:
    with open(tmp / "v.csv", encoding="utf-8") as f:
        return {r["deal_id"]: r["evidence"] for r in csv.DictReader(f) if r["rule_id"] == rule}


def _due(export: Path, crm: str = "pipedrive", **profile_update) -> tuple[dict[str, str], list]:
    profile = load_profile(crm)
    if profile_update:
        profile = profile.model_copy(update=profile_update)
    ex = load_export(export, profile, on_bad_value="warn")
    try:
        due = {i: str(d) for i, d in ex.con.execute("SELECT id, due_date FROM activities ORDER BY id").fetchall()}
        return due, [w for w in ex.warnings if w.code == "date-order"], ex.date_order
    finally:
        ex.close()
        ex.con.close()


# --------------------------------------------------------------------------- M1: one date order per export


def test_m1_the_ambiguous_file_reads_in_the_order_another_file_proves(tmp_path):
    due, notes, decision = _due(_export(tmp_path, M1))
    # 12/1/2026 is 1 December (as deals.csv's 10/28/2026 shows), not 12 January
    assert due == {"1": "2026-12-01", "2": "2026-11-03", "3": "2026-10-02"}
    by_file = {Path(w.file).name: w.text("en") for w in notes}
    assert set(by_file) == {"deals.csv", "activities.csv"}
    # the quoted cells are in the files (the tester saw a fixed «11/25/2026» that is not)
    assert "«10/28/2026 9:15» in «Deal - Deal created»" in by_file["deals.csv"]
    assert "11/25/2026" not in by_file["deals.csv"]
    assert "«12/1/2026»" in by_file["activities.csv"] and "month/day/year" in by_file["activities.csv"]
    assert "as deals.csv writes them («10/28/2026 9:15» in «Deal - Deal created»)" in by_file["activities.csv"]
    assert (decision.order, decision.file, decision.column, decision.example, decision.clock_only) == (
        "mdy", "deals.csv", "Deal - Deal created", "10/28/2026 9:15", False)
    for name in ("deals.csv", "activities.csv"):  # the example is a cell of its file, as written
        assert by_file[name].split("«")[1].split("»")[0] in (REAL / M1 / name).read_text(encoding="cp1252")


def test_m1_init_writes_the_order_and_run_flags_only_the_overdue_task(tmp_path, capsys):
    export = _export(tmp_path, M1)
    work = tmp_path / "work"
    text = _init(work, export, "pipedrive")
    assert yaml.safe_load(text)["date_order"] == "mdy"
    comment = text[:text.index("date_order: mdy")].rsplit("decimal_mark", 1)[1]
    assert "deals.csv, «Deal - Deal created»: «10/28/2026 9:15»" in comment and "28 может быть только днём" in comment
    assert main(["validate", "-c", str(work / "crm-audit.yaml")]) == 0
    out = _run(work, export, capsys)
    # deal 101's task is due 1 December (not overdue on 20 November); deal 103's 3 November is
    assert _rows(work, "overdue-tasks") == {"103": "Просроченная задача: Send contract; Срок задачи: 2026-11-03; Просроченных задач: 1"}
    assert "fit both day/month and month/day" not in out  # the settings say the order: no guess to report


def test_m1_a_file_proving_the_other_order_keeps_it_and_is_warned(tmp_path):
    export = _export(tmp_path, M1)
    acts = export / "activities.csv"
    acts.write_text(acts.read_text(encoding="cp1252").replace("12/1/2026", "25/11/2026"), encoding="cp1252")
    due, notes, decision = _due(export)
    assert due["1"] == "2026-11-25" and due["2"] == "2026-03-11"  # its own cells say day first: read so
    assert decision.order == "mdy" and decision.file == "deals.csv"  # the deals file decides the export
    conflict = [w.text("en") for w in notes if Path(w.file).name == "activities.csv"]
    assert len(conflict) == 1
    assert "day first here (such as «25/11/2026» in «Activity - Due date»)" in conflict[0]
    assert "month first in deals.csv («10/28/2026 9:15» in «Deal - Deal created»)" in conflict[0]


def test_m1_deals_decide_before_the_other_files(tmp_path):
    export = _export(tmp_path, M1)
    acts = export / "activities.csv"  # the tasks prove day first, the deals month first
    acts.write_text(acts.read_text(encoding="cp1252").replace("12/1/2026", "25/11/2026"), encoding="cp1252")
    deals = export / "deals.csv"  # and a persons-like file is irrelevant: the deals' order is the export's
    assert _due(export)[2].file == "deals.csv"
    # deals whose dates all fit both orders: the tasks' proof decides for them
    text = deals.read_text(encoding="cp1252")
    for a, b in (("10/28/2026", "10/8/2026"), ("10/15/2026", "10/5/2026"), ("9/30/2026", "9/3/2026"),
                 ("11/10/2026", "11/1/2026")):
        text = text.replace(a, b)
    deals.write_text(text, encoding="cp1252")
    due, notes, decision = _due(export)
    assert (decision.order, decision.file, decision.example) == ("dmy", "activities.csv", "25/11/2026")
    ex = load_export(export, load_profile("pipedrive"), on_bad_value="warn")
    try:  # «10/8/2026 9:15» is 10 August, as the tasks are written
        assert str(ex.con.execute("SELECT created FROM deals WHERE id = '101'").fetchone()[0]) == "2026-08-10"
    finally:
        ex.close()
        ex.con.close()


def test_m1_the_settings_order_is_not_overridden(tmp_path):
    due, notes, decision = _due(_export(tmp_path, M1), date_order="dmy", date_order_fixed=True)
    assert due["1"] == "2026-01-12" and decision is None and notes == []


def test_m1_nothing_proves_an_order_init_writes_none(tmp_path):
    export = _export(tmp_path, M1)
    deals = export / "deals.csv"
    text = deals.read_text(encoding="cp1252")
    for a, b in (("10/28/2026", "10/8/2026"), ("10/15/2026", "10/5/2026"), ("9/30/2026", "9/3/2026")):
        text = text.replace(a, b)
    deals.write_text(text, encoding="cp1252")
    due, notes, decision = _due(export)
    assert decision is None and due["1"] == "2026-01-12"  # Pipedrive's usual order, said by a note per file
    assert {Path(w.file).name for w in notes} == {"deals.csv", "activities.csv"}
    assert all("this CRM's usual order" in w.text("en") for w in notes)
    assert "date_order" not in yaml.safe_load(_init(tmp_path / "work", export, "pipedrive"))


def test_m1_a_twelve_hour_clock_is_written_to_be_checked(tmp_path):
    export = REAL.parent / "issue13-acceptance" / "bitrix24-us-dates"
    text = _init(tmp_path / "work", export, "bitrix24")
    assert yaml.safe_load(text)["date_order"] == "mdy"
    assert "проверьте: порядок дат взят из выгрузки" in text and "am/pm" in text


# --------------------------------------------------------------------------- M4: mixed line endings


def test_m4_mixed_line_endings_are_read(tmp_path, capsys):
    export = _export(tmp_path, "sf_de_mixed_eol_m4")
    assert b"\r\n" in (export / "report_opportunities.csv").read_bytes()
    work = tmp_path / "work"
    _init(work, export, "salesforce")
    ex = load_export(export, load_profile("salesforce"), on_bad_value="warn")
    try:
        assert ex.con.execute("SELECT id, title, owner FROM deals").fetchall() == [("0065g00000AbCdE1", "Erneuerung 2027", "Max Mustermann")]
        assert any(w.code == "footer" for w in ex.warnings)  # «Vertrauliche Informationen …» is the report's footer
    finally:
        ex.close()
        ex.con.close()
    out = _run(work, export, capsys)
    assert "new_line" not in out and "Auto-Detected" not in out


@pytest.mark.parametrize("body, row, words", [
    ('"ID","Title","Stage"\n"1","A","Lead In"\n"2","B","Lead In","x","y"\n', 3, "more values than the header's 3 columns"),
    ('"ID","Title","Stage"\r\n"1","A"x,"Lead In"\r\n', 2, "a quoted value on the line is not closed"),
])
def test_m4_an_unreadable_csv_is_named_by_file_and_line_without_the_engine_text(tmp_path, body, row, words):
    export = tmp_path / "export"
    export.mkdir()
    (export / "deals.csv").write_bytes(body.encode("utf-8"))
    with pytest.raises(InputError) as err:
        load_export(export, load_profile("pipedrive"))
    problem = err.value.problems[0]
    assert (Path(problem.file).name, problem.row) == ("deals.csv", row)
    text = problem.text()
    assert words in text
    for engine in ("Possible fixes", "strict_mode", "new_line", "CSV Error", "Original Line", "RFC 4180"):
        assert engine not in text
    from crm_audit.i18n import use_language

    use_language("ru")
    try:  # the user's language, never the engine's English
        ru = problem.text()
        assert "не читается" in ru and "столбц" in ru if row == 3 else "кавычк" in ru
    finally:
        use_language(None)


# --------------------------------------------------------------------------- M7: header languages


def test_m7_an_english_bitrix24_export_is_english(tmp_path):
    export = _export(tmp_path, "bx_en_m7")
    assert inspect_export(export).languages == ["en"]
    # the «de» came from the unrelated contacts_backup.csv: its «Name» is the German header of a deal's title; a file
    # that is none of the export's entities says nothing of the export's language
    headers = next(csv.reader(open(export / "deals.csv", encoding="utf-8-sig"), delimiter=";"))
    assert load_profile("bitrix24").interface_languages([*headers, "Name", "Phone"]) == ["en", "de"]
    (export / "contacts_backup.csv").unlink()
    assert inspect_export(export).languages == ["en"]


def test_m7_init_and_inspect_agree_on_the_languages(tmp_path):
    export = _export(tmp_path, "bx_en_m7")
    text = _init(tmp_path / "work", export, "bitrix24")
    assert "в части колонок также" not in text  # init's languages (recognised files only) are «en» as well
