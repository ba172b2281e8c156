"""Issue 13, acceptance L10: an export whose deals file has NO deal id column (a HubSpot view export without «Record
ID», a Pipedrive list export without «ID») runs on the first try — `init --from-export` → `run`, no hand edits:

* each deal's id is derived from its content (the profile's `row_key`: title, pipeline, creation date, owner — those the
  file has), so the same deal has the same key in the next export and a manager's status / comment carries over;
* two deals whose keys collide are both audited (a key of their own row) and warned by file and rows;
* the link column is empty (no deal_url with a key), and the terminal, the FAQ, `inspect`, `validate` and the
  settings init writes say once that the export has no deal ids;
* tasks that name their deals by id only cannot be linked: the rules about tasks are skipped with that reason.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl

from test_workflow import sheet_rows
import cli_helpers

REAL = Path(__file__).parent / "fixtures" / "real"
NO_IDS = "в выгрузке нет ID сделок"


def cli_ru(capsys, monkeypatch, *args: str) -> tuple[int, str]:
    """The CLI in Russian: (exit code, stdout + stderr)."""
    code, out, err = cli_helpers.cli_ru(capsys, monkeypatch, *args)
    return code, out + err


def init(capsys, monkeypatch, work: Path, export: Path, crm: str) -> str:
    code, out = cli_ru(capsys, monkeypatch, "init", str(work), "--crm", crm, "--from-export", str(export))
    assert code == 0, out
    assert "Traceback" not in out
    return (work / "crm-audit.yaml").read_text(encoding="utf-8")


def run(capsys, monkeypatch, work: Path, export: Path, as_of: str, out_name: str = "audit.xlsx") -> str:
    code, out = cli_ru(capsys, monkeypatch, "run", "--config", str(work / "crm-audit.yaml"), "--export", str(export),
                       "--as-of", as_of, "--out", str(work / out_name))
    assert code == 0, out
    assert "Traceback" not in out
    return out


def faq_text(path: Path) -> str:
    wb = openpyxl.load_workbook(path)
    return "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value)


def test_hubspot_view_export_without_record_id_runs_and_warns_the_collision(tmp_path, capsys, monkeypatch):
    export = tmp_path / "ex"
    shutil.copytree(REAL / "hs_sabari_view", export)
    (export / "README.md").unlink()
    work = tmp_path / "w"
    text = init(capsys, monkeypatch, work, export, "hubspot")
    assert "ВНИМАНИЕ: в выгрузке нет ID сделок" in text  # the settings say it, next to deal_url:
    out = run(capsys, monkeypatch, work, export, "2024-12-01")
    assert "проверено 13 сделок" in out
    assert out.count(NO_IDS) == 1
    assert "«Record ID»" in out and "«Deal Name»" in out
    # «Johnson Ltd Deal» twice: both audited, warned by file and rows
    assert "строки 13, 14 файла hubspot_deals.csv совпадают по «Deal Name»" in out
    assert NO_IDS in faq_text(work / "audit.xlsx")
    code, said = cli_ru(capsys, monkeypatch, "inspect", str(export), "--config", str(work / "crm-audit.yaml"))
    assert code == 0 and NO_IDS in said and "строки 13, 14" in said, said
    code, said = cli_ru(capsys, monkeypatch, "validate", "--config", str(work / "crm-audit.yaml"), "--export", str(export))
    assert code == 0 and NO_IDS in said, said


def test_pipedrive_list_export_without_id_runs(tmp_path, capsys, monkeypatch):
    export = tmp_path / "ex"
    shutil.copytree(REAL / "pd_fr_argentic", export)
    (export / "README.md").unlink()
    work = tmp_path / "w"
    text = init(capsys, monkeypatch, work, export, "pipedrive")
    assert "ВНИМАНИЕ: в выгрузке нет ID сделок" in text and "записан не до конца" not in text
    out = run(capsys, monkeypatch, work, export, "2026-11-20")
    # the last line «;100;;;;;;» (an amount alone, after the deals: a total a user typed under the column) is no deal
    # since the footer lines of any language are told by their shape (one filled cell after the last row of several)
    assert "проверено 2 сделки" in out and out.count(NO_IDS) == 1 and "«Affaire - Titre»" in out
    assert "пропущено строк-итогов отчёта (итоги, примечания): 1" in out


def _edit(path: Path, code: str, deal: str, cells: dict[str, str]) -> None:
    """A manager types into rule sheet ``code``'s row of ``deal`` (tests/test_workflow.py's edit_workbook reads ids as
    numbers, which a derived key is not)."""
    wb = openpyxl.load_workbook(path)
    ws = next(ws for ws in wb.worksheets if ws.title.startswith(code + " "))
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[header.index("ID сделки")].value == deal)
    for h, v in cells.items():
        row[header.index(h)].value = v
    wb.save(path)


def _hs_view(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    path.mkdir(parents=True)
    lines = ["Deal Name,Deal Stage,Amount,Close Date,Deal owner"] + [",".join(r) for r in rows]
    (path / "hubspot_deals.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_keys_are_stable_so_a_managers_status_and_comment_carry_over(tmp_path, capsys, monkeypatch):
    """The second export lists the deals in another order, with other amounts, dates and stages: the same title and
    owner give the same key, so the status and comment typed into the first workbook are read back into the second."""
    e1 = _hs_view(tmp_path / "e1", [
        ("Acme Deal", "Appointment Scheduled", "100", "2026-12-01", "Anna Smith"),
        ("тест", "Appointment Scheduled", "200", "2026-12-05", "Anna Smith"),
        ("Globex Deal", "Qualified to Buy", "300", "2026-12-10", "Bob Stone"),
    ])
    e2 = _hs_view(tmp_path / "e2", [
        ("Globex Deal", "Qualified to Buy", "310", "2026-12-11", "Bob Stone"),
        ("Initech Deal", "Appointment Scheduled", "50", "2026-12-20", "Bob Stone"),
        ("тест", "Qualified to Buy", "250", "2026-12-07", "Anna Smith"),
        ("Acme Deal", "Appointment Scheduled", "100", "2026-12-01", "Anna Smith"),
    ])
    work = tmp_path / "w"
    init(capsys, monkeypatch, work, e1, "hubspot")
    run(capsys, monkeypatch, work, e1, "2026-11-20")
    rows = sheet_rows(work / "audit.xlsx", "1.5")
    assert len(rows) == 1
    key, row = next(iter(rows.items()))
    assert key.startswith("k") and len(key) == 13 and "тест" in row.values()
    assert not row.get("Ссылка на сделку")  # no link built from a derived key
    wb = openpyxl.load_workbook(work / "audit.xlsx")
    ws = next(ws for ws in wb.worksheets if ws.title.startswith("1.5 "))
    assert not any(c.hyperlink for r in ws.iter_rows() for c in r)  # no broken hyperlink
    _edit(work / "audit.xlsx", "1.5", key, {"Статус": "Не исправлено", "Комментарий": "переименую завтра"})
    run(capsys, monkeypatch, work, e2, "2026-11-27")
    again = sheet_rows(work / "audit.xlsx", "1.5")
    assert list(again) == [key]
    assert again[key]["Статус"] == "Не исправлено" and again[key]["Комментарий"] == "переименую завтра"


def test_tasks_linked_by_deal_id_only_are_skipped_with_the_reason(tmp_path, capsys, monkeypatch):
    """A Pipedrive export without deal ids whose activities name their deal by id: no task can be linked, so the rules
    about tasks are skipped saying why — never «no task» for every deal."""
    export = tmp_path / "ex"
    export.mkdir()
    (export / "deals.csv").write_text(
        "Deal - Title,Deal - Owner,Deal - Pipeline,Deal - Stage,Deal - Status,Deal - Deal created\n"
        "Acme deal,Anna Smith,Sales,Qualified,Open,2026-10-01\n"
        "Globex deal,Bob Stone,Sales,Proposal,Open,2026-10-05\n", encoding="utf-8")
    (export / "activities.csv").write_text(
        "Activity - Subject,Activity - Deal ID,Activity - Done,Activity - Due date\n"
        "Call,17,To do,2026-11-01\n", encoding="utf-8")
    work = tmp_path / "w"
    init(capsys, monkeypatch, work, export, "pipedrive")
    out = run(capsys, monkeypatch, work, export, "2026-11-20")
    reason = "в выгрузке нет ID сделок, поэтому задачи из activities.csv не связать с их сделками"
    for rule in ("1.1 Открытые без задач: Правило пропущено", "2.3 Просроченные задачи: Правило пропущено"):
        assert any(line.strip().startswith(rule) and reason in line for line in out.splitlines()), out
    assert sheet_rows(work / "audit.xlsx", "1.1") == {}  # not «no task» for every deal


def test_hubspot_tasks_naming_their_deal_are_linked_by_name(tmp_path, capsys, monkeypatch):
    """HubSpot links tasks by their deal's name (`link_by_name: [deal]`): without deal ids the tasks' «Associated Deal
    IDs» cannot name a derived key, so they are linked by «Associated Deal» instead — 1.1 and 2.3 judge them."""
    export = tmp_path / "ex"
    export.mkdir()
    (export / "hubspot_deals.csv").write_text(
        "Deal Name,Deal Stage,Amount,Create Date,Deal owner\n"
        "Acme Deal,Appointment Scheduled,100,2026-10-01,Anna Smith\n"
        "Globex Deal,Qualified to Buy,300,2026-10-02,Bob Stone\n", encoding="utf-8")
    (export / "tasks.csv").write_text(
        "Task Title,Task Status,Due Date,Associated Deal IDs,Associated Deal\n"
        "Call,Not started,2026-11-01,111,Acme Deal\n", encoding="utf-8")
    work = tmp_path / "w"
    init(capsys, monkeypatch, work, export, "hubspot")
    out = run(capsys, monkeypatch, work, export, "2026-11-20")
    assert "«Deal Name», «Create Date», «Deal owner»" in out
    no_task = sheet_rows(work / "audit.xlsx", "1.1")
    overdue = sheet_rows(work / "audit.xlsx", "2.3")
    assert [r["Название сделки"] if "Название сделки" in r else r for r in no_task.values()] == ["Globex Deal"]
    assert len(overdue) == 1 and "Acme Deal" in next(iter(overdue.values())).values()


def test_the_review_gives_a_derived_key_no_link(tmp_path, capsys, monkeypatch):
    """The review (and the reminders built from it) reads the deals from the ledger later: a derived key gets no link
    to the CRM — it would open no deal — while a CRM's own id keeps its link."""
    from crm_audit.history.ledger import Ledger
    from crm_audit.history.review import build_review
    from crm_audit.report import is_derived_key

    assert is_derived_key("k0123456789ab") and is_derived_key("k0123456789ab-14")
    assert not any(is_derived_key(x) for x in ("123", "0065g00000AbCdEAAV", "k0123456789", "K0123456789AB", None))
    e1 = _hs_view(tmp_path / "e1", [("тест", "Appointment Scheduled", "200", "2026-12-05", "Anna Smith")])
    work = tmp_path / "w"
    init(capsys, monkeypatch, work, e1, "hubspot")
    run(capsys, monkeypatch, work, e1, "2026-11-20")
    with Ledger(work / "crm-audit.db") as ledger:
        review = build_review(ledger, deal_url="https://acme.example/deal/{id}", today=dt.date(2026, 11, 20))
    items = [i for m in review.managers for i in m.open]
    assert items and all(is_derived_key(i.deal_id) and i.url == "" for i in items)
