"""A header peek of a Bitrix24 «Excel» file (an HTML table) reads its first rows, not all of them: init and inspect
look at every file's headers before loading it, and parsing a 100,000-deal table twice made `init` take 50 s
(acceptance T, speed). The whole load still reads every row."""

from __future__ import annotations

import duckdb

from crm_audit.engine import readers


def _table(rows: int) -> str:
    body = "".join(f"<tr><td>{i}</td><td>Deal {i}</td><td>New</td></tr>" for i in range(rows))
    return ('<html><head><meta charset="utf-8"></head><body><table border="1"><tr><th>ID</th><th>Deal Name</th>'
            f"<th>Stage</th></tr>{body}</table></body></html>")


def test_the_parser_stops_after_the_rows_asked_for():
    text = _table(5000)
    head = readers._TableParser().feed(text, limit=10)
    assert head[0] == ["ID", "Deal Name", "Stage"] and len(head) == 10
    assert len(readers._TableParser().feed(text)) == 5001
    assert len(readers._TableParser().feed(_table(3), limit=10)) == 4  # a short table: all of it


def test_peek_and_load_of_an_html_xls(tmp_path):
    path = tmp_path / "DEAL_20261120.xls"
    path.write_text(_table(20000), encoding="utf-8")  # above STREAM_ABOVE? no: both read paths are covered below
    assert readers.peek_headers(path) == ["ID", "Deal Name", "Stage"]
    con = duckdb.connect()
    raw = readers.read_raw(con, path, "raw_0", tmp_path)
    assert con.execute(f"SELECT count(*), max(_row) FROM {raw.name}").fetchone() == (20000, 20001)
    big = tmp_path / "big.xls"  # a file above STREAM_ABOVE takes the streaming path: the peek is a head there too
    big.write_text(_table(readers.STREAM_ABOVE // 40), encoding="utf-8")
    assert big.stat().st_size > readers.STREAM_ABOVE
    assert readers.peek_headers(big) == ["ID", "Deal Name", "Stage"]


def test_a_cell_keeps_its_spaces_as_exported_and_layout_is_not_a_value():
    """Acceptance Y (O1): Bitrix24's «Excel» writes a value as it is, «<td> Webshop  Relaunch</td>» — the leading and
    the double space are the title's (rule 1.5 judges them); a cell laid out over lines of the source has its
    indentation dropped, a line per line (as before); «<br>» is a line break of the value."""
    text = ("<table><tr><th>ID</th><th>Title</th></tr><tr><td>1</td><td> Webshop  Relaunch</td></tr>"
            "<tr><td>2</td><td>\n        Bakery\n        Hamburg\n      </td></tr><tr><td>3</td><td>a<br>b</td></tr></table>")
    rows = readers._TableParser().feed(text)
    assert rows[1:] == [["1", " Webshop  Relaunch"], ["2", "Bakery\nHamburg"], ["3", "a\nb"]]
