"""Property tests of the export loader: whatever the bytes, encodings, cells
and headers, it loads or raises InputError naming the file — nothing else."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_audit.errors import InputError
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile

PROFILES = {n: load_profile(n) for n in ("pipedrive", "amocrm", "bitrix24", "hubspot", "salesforce")}
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

HEADERS = ["Deal - ID", "Deal - Title", "Deal - Value", "Deal - Status", "Deal - Deal created", "Deal - Stage", "Deal - Pipeline",
           "ID", "Название сделки", "Бюджет ", "Статус", "Стадия сделки", "Record ID", "Deal Stage", "Create Date",
           "Opportunity ID", "Opportunity Name", "Closed", "Won", "", "Город", "Deal - ID"]
CELLS = st.one_of(
    st.sampled_from(["", " ", "1", "123.0", "1.23E+05", "1 500,00", "1,500.00", "USD 1,500.00", "\u00a0150\u00a0000", "Open", "Won",
                     "Lost", "Deleted", "не закрыта", "20.11.2026 10:15:00", "11/20/2026", "25/11/2026", "45976", "2026-11-20",
                     "32.13.2026", "=SUM(A1)", "Grand Totals (3 records)", "строка\nвторая", 'кавычка "внутри"', "Успешно реализовано"]),
    st.text(max_size=12),
)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "cp1251", "utf-16", "utf-16-le", "utf-16-be", "latin-1"])


def check(tmp_path, name, data: bytes, profile="pipedrive"):
    path = tmp_path / name
    path.write_bytes(data)
    try:
        ex = load_export(tmp_path, PROFILES[profile])
    except InputError as exc:
        assert str(path) in str(exc) or str(tmp_path) in str(exc), str(exc)
        return None
    finally:
        path.unlink()
    ex.close()
    ex.con.close()
    return ex


@FAST
@given(data=st.binary(max_size=600), name=st.sampled_from(["deals.csv", "deals.xlsx", "deals.xls", "export.txt"]))
def test_arbitrary_bytes(tmp_path_factory, data, name):
    check(tmp_path_factory.mktemp("b"), name, data)


@FAST
@given(
    headers=st.lists(st.one_of(st.sampled_from(HEADERS), st.text(max_size=10)), min_size=1, max_size=7),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=8), max_size=6),
    delim=st.sampled_from([",", ";", "\t", "|"]),
    enc=ENCODINGS,
    profile=st.sampled_from(sorted(PROFILES)),
)
def test_arbitrary_cells_headers_and_encodings(tmp_path_factory, headers, rows, delim, enc, profile):
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delim, lineterminator="\r\n")
    w.writerow(headers)
    w.writerows(rows)
    try:
        data = buf.getvalue().encode(enc)
    except UnicodeEncodeError:
        data = buf.getvalue().encode("utf-8")
    check(tmp_path_factory.mktemp("c"), "deals.csv", data, profile)


@FAST
@given(rows=st.lists(st.lists(CELLS, min_size=1, max_size=5), min_size=1, max_size=5), enc=st.sampled_from(["utf-8", "cp1251"]))
def test_arbitrary_html_tables(tmp_path_factory, rows, enc):
    import html

    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    text = f"<html><body><table><tr><th>ID</th><th>Название сделки</th><th>Стадия сделки</th></tr>{body}</table></body></html>"
    check(tmp_path_factory.mktemp("h"), "deals.xls", text.encode(enc, errors="replace"), "bitrix24")


def test_valid_export_in_every_encoding_loads_the_same(tmp_path):
    text = "Deal - ID;Deal - Title;Deal - Status;Deal - Value\r\n1;Поставка «Ромашка»;Open;1 500,00\r\n2.0;Вторая;Lost;\r\n"
    seen = []
    for enc in ["utf-8", "utf-8-sig", "cp1251", "utf-16", "utf-16-le", "utf-16-be"]:
        d = tmp_path / enc
        d.mkdir()
        (d / "deals.csv").write_bytes(text.replace(";", "\t" if enc.startswith("utf-16") else ";").encode(enc))
        ex = load_export(d, PROFILES["pipedrive"])
        seen.append(ex.con.execute("SELECT id, title, status, value FROM deals ORDER BY _row").fetchall())
        ex.close()
    assert all(s == seen[0] for s in seen)
    assert seen[0] == [("1", "Поставка «Ромашка»", "open", 1500.0), ("2", "Вторая", "lost", None)]


@pytest.mark.parametrize("data", [b"", b"\n\n\n", b"\xff\xfe", b"PK\x03\x04garbage", b"\xd0\xcf\x11\xe0junk", b"<html><table></table></html>"])
def test_degenerate_files(tmp_path, data):
    with pytest.raises(InputError) as exc:
        (tmp_path / "deals.csv").write_bytes(data)
        load_export(tmp_path, PROFILES["pipedrive"])
    assert "deals.csv" in str(exc.value)
