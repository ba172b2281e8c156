"""Issue 13 acceptance P1, P7, P8: ids Excel rounded into scientific notation stop the audit (never one merged deal);
duplicate deal ids are named with their rows; a derived deal key reads the values (the same deal, the same key from
CSV, .xlsx, d/m/y or m/d/y dates); HubSpot's blank «Date entered current stage» takes the deal's own stage column."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from cli_helpers import cli_ru
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile

FIX = Path(__file__).parent / "fixtures" / "issue13-p1-p7-p8"


def _copy(tmp_path: Path, name: str) -> Path:
    dst = tmp_path / "export"
    shutil.copytree(FIX / name, dst)
    return dst


def _config(tmp_path: Path, capsys, monkeypatch, name: str = "hs_multipipe", crm: str = "hubspot") -> Path:
    """crm-audit.yaml written by init from a clean export of the same CRM."""
    src = tmp_path / "clean"
    shutil.copytree(FIX / name, src)
    monkeypatch.chdir(tmp_path)
    code, _out, err = cli_ru(capsys, monkeypatch, "init", "--crm", crm, "--from-export", str(src), "--force")
    assert code == 0, err
    return tmp_path / "crm-audit.yaml"


ROUNDED = "ID «1,83457E+11» записан в экспоненциальном виде: Excel округлил его, его цифры потеряны"
WHAT_TO_DO = "Выгрузите файл из CRM заново"


@pytest.mark.parametrize("command", ["init", "validate", "inspect", "run"])
def test_p1_rounded_record_ids_stop_every_command(tmp_path, capsys, monkeypatch, command):
    cfg = _config(tmp_path, capsys, monkeypatch) if command in ("validate", "run") else None
    export = _copy(tmp_path, "hs_frexcel")
    monkeypatch.chdir(tmp_path)
    args = {
        "init": ["init", "--crm", "hubspot", "--from-export", str(export), "--force"],
        "validate": ["validate", "--config", str(cfg), "--export", str(export)],
        "inspect": ["inspect", str(export)],
        "run": ["run", "--config", str(cfg), "--export", str(export), "--as-of", "2026-11-20", "--out",
                str(tmp_path / "audit.xlsx"), "--no-previous"],
    }[command]
    code, out, err = cli_ru(capsys, monkeypatch, *args)
    text = out + err
    assert code == 2, text
    assert "deals.csv (строка 2, столбец «Record ID»)" in text and "deals.csv (строка 6, столбец «Record ID»)" in text
    assert ROUNDED in text and WHAT_TO_DO in text
    assert "Traceback" not in text
    assert not (tmp_path / "audit.xlsx").exists()


def test_p1_rounded_task_deal_ids_stop_the_audit(tmp_path, capsys, monkeypatch):
    """The deals' ids are whole; a task's «Associated Deal IDs» rounded by Excel links the task to no deal: error."""
    cfg = _config(tmp_path, capsys, monkeypatch)
    export = _copy(tmp_path, "hs_multipipe")
    tasks = export / "tasks.csv"
    tasks.write_text(tasks.read_text(encoding="utf-8").replace(",18345670001\n", ",1.83457E+10\n", 1), encoding="utf-8")
    assert "1.83457E+10" in tasks.read_text(encoding="utf-8")
    code, out, err = cli_ru(capsys, monkeypatch, "run", "--config", str(cfg), "--export", str(export), "--as-of",
                            "2026-11-20", "--out", str(tmp_path / "audit.xlsx"), "--no-previous")
    assert code == 2, out + err
    assert "tasks.csv (строка 2, столбец «Associated Deal IDs»)" in err
    assert "ID «1.83457E+10» записан в экспоненциальном виде" in err


def test_p1_full_scientific_ids_still_read(tmp_path):
    """An id in scientific notation with every digit written is the id (not an error)."""
    export = _copy(tmp_path, "hs_multipipe")
    deals = export / "deals.csv"
    deals.write_text(deals.read_text(encoding="utf-8").replace("\n18345670001,", "\n1.8345670001E+10,", 1), encoding="utf-8")
    ex = load_export(export, load_profile("hubspot"))
    ids = [r[0] for r in ex.con.execute("SELECT id FROM deals ORDER BY _row").fetchall()]
    assert ids[0] == "18345670001"


def test_p1_duplicate_deal_ids_named_with_their_rows(tmp_path, capsys, monkeypatch):
    cfg = _config(tmp_path, capsys, monkeypatch)
    export = _copy(tmp_path, "hs_multipipe")
    deals = export / "deals.csv"
    rows = list(csv.reader(deals.open(encoding="utf-8", newline="")))
    rows[3][0] = rows[1][0]  # the third deal gets the first one's id
    with deals.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    code, out, err = cli_ru(capsys, monkeypatch, "run", "--config", str(cfg), "--export", str(export), "--as-of",
                            "2026-11-20", "--out", str(tmp_path / "audit.xlsx"), "--no-previous")
    assert code == 0, err
    assert ("ID сделок встречаются больше чем в одной строке (ID: строки): 18345670001: 2, 4 (всего 1); проверяется "
            "только первая строка каждого ID, остальные строки — нет") in out + err
    assert "проверено 4 сделки" in out + err


def _sf_keys(export: Path) -> dict[str, str]:
    ex = load_export(export, load_profile("salesforce"))
    return dict(ex.con.execute("SELECT title, id FROM deals").fetchall())


def _rewrite_dates(path: Path, fmt) -> None:
    import re

    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'"(\d\d)/(\d\d)/(\d{4})"', lambda m: f'"{fmt(m.group(1), m.group(2), m.group(3))}"', text),
                    encoding="utf-8")


def test_p7_derived_keys_equal_from_csv_xlsx_and_date_formats(tmp_path):
    csv_keys = _sf_keys(FIX / "sf_csv")
    assert _sf_keys(FIX / "sf_xlsx") == csv_keys
    # the key of «test» (created 2026-11-10) is the one an ISO-dated export (and the .xlsx) gave before P7
    assert csv_keys["test"] == "k4cdb8f15e6f2"
    assert len(set(csv_keys.values())) == 5
    for name, fmt in (("mdy", lambda d, m, y: f"{m}/{d}/{y}"), ("ymd", lambda d, m, y: f"{y}/{m}/{d}")):
        dst = tmp_path / name
        shutil.copytree(FIX / "sf_csv", dst)
        _rewrite_dates(next(dst.glob("*.csv")), fmt)
        assert _sf_keys(dst) == csv_keys, name


def test_p7_carry_over_from_csv_to_xlsx(tmp_path, capsys, monkeypatch):
    shutil.copytree(FIX / "sf_csv", tmp_path / "export_csv")
    shutil.copytree(FIX / "sf_xlsx", tmp_path / "export_xlsx")
    monkeypatch.chdir(tmp_path)
    assert cli_ru(capsys, monkeypatch, "init", "--crm", "salesforce", "--from-export", "export_csv")[0] == 0
    code, _o, err = cli_ru(capsys, monkeypatch, "run", "--export", "export_csv", "--as-of", "2026-11-20", "--out", "audit.xlsx")
    assert code == 0, err
    code, out, err = cli_ru(capsys, monkeypatch, "run", "--export", "export_xlsx", "--as-of", "2026-11-21", "--out", "audit.xlsx")
    assert code == 0, err
    assert "С аудита от 20.11.2026: новых 0, исправлено 0, осталось 7" in out + err


def test_p8_blank_current_stage_date_takes_the_stage_column(tmp_path, capsys, monkeypatch):
    cfg = _config(tmp_path, capsys, monkeypatch, "hs_current_blank")
    ex = load_export(FIX / "hs_current_blank", load_profile("hubspot"))
    got = dict(ex.con.execute("SELECT id, strftime(stage_changed, '%Y-%m-%d') FROM deals").fetchall())
    assert got["18345670003"] == "2026-11-10"  # blank «Date entered current stage», its own stage column
    code, out, err = cli_ru(capsys, monkeypatch, "run", "--config", str(cfg), "--export", str(FIX / "hs_current_blank"),
                            "--as-of", "2026-11-20", "--out", str(tmp_path / "audit.xlsx"),
                            "--violations-csv", str(tmp_path / "v.csv"), "--no-previous")
    assert code == 0, err
    rows = list(csv.reader((tmp_path / "v.csv").open(encoding="utf-8")))
    assert sorted(r[3] for r in rows[1:] if r[0] == "no-stage-movement") == ["18345670002"]
