"""Large files: the parallel DuckDB reader gives exactly what the careful serial reader gives.

``STREAM_ABOVE`` is lowered so that small files take the large-file path;
each export is loaded with the parallel reader (``_read_large_csv_fast``)
and with it switched off (the serial large-file path), and the tables (row
numbers included), warnings, fingerprints and read info must be identical —
or the same error must be raised.
"""

from __future__ import annotations

import pytest

from crm_audit.engine import readers as loading
from crm_audit.errors import InputError
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile

PROFILE = load_profile("pipedrive")
HEAD = '"Deal - ID","Deal - Title","Deal - Value","Deal - Status","Deal - Deal created","Deal - Last stage change"\n'


def _body(n: int) -> str:
    return "".join(f'"{i}","Сделка {i}","{i * 10},50","open","2026-11-0{1 + i % 9}","{1 + i % 28:02d}/11/2026"\n' for i in range(1, n + 1))


def _load(directory, parallel: bool, monkeypatch):
    monkeypatch.setattr(loading, "STREAM_ABOVE", 100)
    if not parallel:
        monkeypatch.setattr(loading, "_read_large_csv_fast", lambda *a: None)
    try:
        ex = load_export(directory, PROFILE, "warn")
    except InputError as exc:
        return ("error", [p.message for p in exc.problems])
    try:
        table = ex.con.execute("SELECT * FROM deals ORDER BY _row").fetchall()
        return (table, [repr(w) for w in ex.warnings], ex.fingerprints, ex.entities["deals"].raw)
    finally:
        ex.close()
        ex.con.close()


def _same_both_ways(directory, monkeypatch):
    fast = _load(directory, True, monkeypatch)
    careful = _load(directory, False, monkeypatch)
    assert fast == careful
    return fast


@pytest.mark.parametrize(
    "name, text",
    [
        ("clean", HEAD + _body(300)),
        ("preamble above the header", "Отчёт по сделкам\n\n" + HEAD + _body(300)),
        ("multi-line values", HEAD + _body(100) + '"900","две\nстроки","1","open","2026-11-01",""\n' + _body(100)),
        ("short rows (null padding, serial reader)", HEAD + _body(100) + '"901","короткая"\n' + _body(100)),
        ("bad values reported by row", HEAD + _body(100) + '"902","x","много","open","вчера",""\n' + _body(100)),
        ("a BOM", "\ufeff" + HEAD + _body(200)),
    ],
)
def test_parallel_reader_matches_serial(tmp_path, monkeypatch, name, text):
    (tmp_path / "deals.csv").write_text(text, encoding="utf-8")
    got = _same_both_ways(tmp_path, monkeypatch)
    assert got[0] != "error"


def test_not_utf8_after_the_head_falls_back(tmp_path, monkeypatch):
    data = (HEAD + _body(20000)).encode("utf-8") + '"99999","Сделка","1","open","2026-11-01",""\n'.encode("cp1251")
    (tmp_path / "deals.csv").write_bytes(data)
    got = _same_both_ways(tmp_path, monkeypatch)
    assert got[0] == "error" and "UTF-8" in got[1][0]


def test_nul_byte_falls_back(tmp_path, monkeypatch):
    (tmp_path / "deals.csv").write_text(HEAD + _body(100) + '"903","a\x00b","1","open","",""\n', encoding="utf-8")
    got = _same_both_ways(tmp_path, monkeypatch)
    assert got[0] == "error"


def test_clean_large_file_takes_the_parallel_reader(tmp_path, monkeypatch):
    (tmp_path / "deals.csv").write_text(HEAD + _body(300), encoding="utf-8")
    used = []
    fast = loading._read_large_csv_fast
    monkeypatch.setattr(loading, "_read_large_csv_fast", lambda *a: used.append(fast(*a)) or used[-1])
    got = _load(tmp_path, True, monkeypatch)
    assert used and used[0] is not None
    assert [r[0] for r in got[0]] == list(range(2, 302))  # row numbers as a spreadsheet shows them


def test_nul_byte_after_the_head_falls_back_and_the_fingerprint_is_the_files(tmp_path, monkeypatch):
    """The fingerprint and the NUL check are taken in a second thread while DuckDB reads the file (issue 17): a NUL
    past the decoded head still stops the file as not text, and a clean file's fingerprint is its bytes' sha256."""
    from crm_audit.engine.encoding import HEAD_BYTES, file_fingerprint

    body = _body(20000)
    assert len(body.encode()) > HEAD_BYTES
    (tmp_path / "deals.csv").write_text(HEAD + body + '"903","a\x00b","1","open","",""\n', encoding="utf-8")
    got = _same_both_ways(tmp_path, monkeypatch)
    assert got[0] == "error" and "not text" in got[1][0]
    (tmp_path / "deals.csv").write_text(HEAD + body, encoding="utf-8")
    got = _same_both_ways(tmp_path, monkeypatch)
    assert got[2] == {"deals.csv": file_fingerprint(tmp_path / "deals.csv")}
