"""The Pipedrive loader on clean and messy real-export quirks."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from crm_audit.errors import InputError
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile

PROFILE = load_profile("pipedrive")


def rows(export, table, cols):
    return export.con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY _row").fetchall()


def test_messy_excel_roundtrip_csv(tmp_path):
    text = (
        "\ufeffID;Title;Title;Value;Status;Deal created;Last stage change;Organization ID;Город\n"
        "123.0;\" Двойной  пробел \";;1 500,00;Open;05.11.2026;20.11.2026 10:15;77.0;Москва\n"
        "124,0;\"Многострочное\nназвание\";дубль;1,500.00;open;2026-11-01 09:00:00;;;\n"
        "125;Ок;;0;Won;45976;;;\n"
        ";;;;;;;;\n"
        ";;;;;;;;\n"
    )
    (tmp_path / "deals.csv").write_text(text, encoding="utf-8")
    ex = load_export(tmp_path, PROFILE)
    deals = ex.entities["deals"]
    assert deals.rows == 3
    got = rows(ex, "deals", ["id", "title", "value", "status", "created", "stage_changed", "org_id", "x0", "_row"])
    assert got[0] == ("123", " Двойной  пробел ", 1500.0, "open", dt.date(2026, 11, 5), dt.date(2026, 11, 20), "77", "Москва", 2)
    # 124,0 is not an id Excel makes; kept as text. duplicate header: first non-blank wins
    assert got[1][1] == "Многострочное\nназвание" and got[1][2] == 1500.0 and got[1][5] is None
    assert got[2][4] == dt.date(1899, 12, 30) + dt.timedelta(days=45976)  # Excel serial date
    assert got[2][2] == 0.0
    assert deals.custom["город"][1] == "Город"


def test_bad_date_names_file_row_column_and_value(tmp_path):
    (tmp_path / "deals.csv").write_text(
        '"Deal - ID","Deal - Status","Deal - Deal created"\n"1","Open","2026-11-01"\n"2","Open","32.13.2026"\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as exc:
        load_export(tmp_path, PROFILE)
    p = exc.value.problems[0]
    assert (p.file, p.row, p.column, p.reason) == (str(tmp_path / "deals.csv"), 3, "Deal - Deal created", "bad-value")
    assert "«32.13.2026»" in p.message
    ex = load_export(tmp_path, PROFILE, on_bad_value="warn")
    assert any(w.row == 3 and w.code == "bad-value" for w in ex.warnings)


def test_bad_values_of_every_file_at_once(tmp_path):
    """`on_bad_value: error` names every cell that does not read in every file at once (issue 13 item 9), not only the
    first file's: a bad creation date of the deals and a bad done flag and due date of the activities, in one error."""
    (tmp_path / "deals.csv").write_text(
        '"Deal - ID","Deal - Status","Deal - Deal created"\n"1","Open","2026-11-01"\n"2","Open","32.13.2026"\n',
        encoding="utf-8")
    (tmp_path / "activities.csv").write_text(
        '"Activity - ID","Activity - Deal ID","Activity - Done","Activity - Due date"\n'
        '"10","1","Maybe","2026-11-03"\n"11","2","Done","2026-02-30"\n', encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_export(tmp_path, PROFILE)
    got = sorted((p.file.rsplit("/", 1)[-1], p.row, p.column) for p in exc.value.problems)
    assert got == [("activities.csv", 2, "Activity - Done"), ("activities.csv", 3, "Activity - Due date"),
                   ("deals.csv", 3, "Deal - Deal created")]
    assert all(p.reason == "bad-value" for p in exc.value.problems) and exc.value.hint


def test_missing_id_column(tmp_path):
    """Without an id column the deals are read with keys derived from their title (and pipeline, creation date, owner:
    the profile's `row_key`, issue 13 L10) and a warning; without the title too, the file cannot be read."""
    (tmp_path / "deals.csv").write_text('"Deal - Stage","Deal - Status"\n"x","Open"\n', encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_export(tmp_path, PROFILE)
    assert "required column «ID»" in str(exc.value) and "deals.csv" in str(exc.value)
    (tmp_path / "deals.csv").write_text('"Deal - Title","Deal - Status"\n"x","Open"\n', encoding="utf-8")
    ex = load_export(tmp_path, PROFILE)
    [(key,)] = rows(ex, "deals", ["id"])
    assert key.startswith("k") and len(key) == 13 and [w.code for w in ex.warnings if w.code == "no-deal-ids"] == ["no-deal-ids"]


def test_cp1251_and_header_detection(tmp_path):
    text = "Сделка - ID;Сделка - Название;Сделка - Статус;Сделка - Этап;Сделка - Воронка\n1;Поставка;Открыта;Квалификация;Клиенты\n"
    (tmp_path / "export_2026.csv").write_bytes(text.encode("cp1251"))
    ex = load_export(tmp_path, PROFILE)
    assert "deals" in ex.entities
    assert rows(ex, "deals", ["id", "title", "status"]) == [("1", "Поставка", "open")]


def test_xlsx_export(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Deal - ID", "Deal - Title", "Deal - Status", "Deal - Value", "Deal - Deal created"])
    ws.append([101.0, "Сделка из Excel", "Lost", 2500.5, dt.datetime(2026, 10, 1, 12, 0)])
    ws.append([None, None, None, None, None])
    wb.save(tmp_path / "deals.xlsx")
    ex = load_export(tmp_path, PROFILE)
    assert rows(ex, "deals", ["id", "title", "status", "value", "created"]) == [("101", "Сделка из Excel", "lost", 2500.5, dt.date(2026, 10, 1))]


def test_malformed_csv_is_input_error(tmp_path):
    (tmp_path / "deals.csv").write_text('"Deal - ID","Deal - Status"\n"1","Open","extra","more"\n', encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_export(tmp_path, PROFILE)
    assert "deals.csv" in str(exc.value)


def test_no_files(tmp_path):
    with pytest.raises(InputError, match="no export files"):
        load_export(tmp_path, PROFILE)


def test_readers_return_typed_results_and_keep_no_state(tmp_path):
    """read_raw says how it read the file (no module globals: peek_headers before a load changes nothing)."""
    import duckdb

    from crm_audit.engine import readers
    from crm_audit.engine.encoding import file_fingerprint

    f = tmp_path / "deals.csv"
    f.write_text("Отчёт по сделкам\nID;Title;Status\n1;A;open\n", encoding="cp1251")
    assert readers.peek_headers(f) == ["ID", "Title", "Status"]
    con = duckdb.connect()
    try:
        raw = readers.read_raw(con, f, "raw_x", tmp_path)
        assert (raw.name, raw.path, raw.headers) == ("raw_x", f, ["ID", "Title", "Status"])
        assert (raw.info.kind, raw.info.encoding, raw.info.delimiter, raw.info.header_row) == ("csv", "cp1251", ";", 2)
        assert raw.fingerprint == file_fingerprint(f)
        assert con.execute("SELECT _row, c0, c1 FROM raw_x").fetchall() == [(3, "1", "A")]
    finally:
        con.close()
    ex = load_export(tmp_path, PROFILE)
    try:
        assert ex.entities["deals"].raw == raw.info and ex.fingerprints == {"deals.csv": raw.fingerprint}
    finally:
        ex.close()
        ex.con.close()
