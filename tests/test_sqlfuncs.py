"""The parse macros' fast paths agree with their general path.

Each parser first tries an anchored pattern on the raw cell (the common clean
value); a cell with a leading space never takes it, and the general path
strips spaces first — so ``parse(x) == parse(' ' || x)`` checks the fast path
against the general one for every value.
"""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_audit.engine import sqlfuncs

PARSERS = ("parse_id", "parse_num", "parse_date", "parse_date_mdy")


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    sqlfuncs.install(c)
    yield c
    c.close()


def _both(con, fn: str, x: str):
    return con.execute(f"SELECT {fn}(?), {fn}(' ' || ?)", [x, x]).fetchone()


SHAPED = st.one_of(
    st.text(alphabet="0123456789 \u00a0,.-:", max_size=22),
    st.builds(lambda d, m, y, t: f"{d:02d}.{m:02d}.{y}{t}", st.integers(0, 35), st.integers(0, 14), st.integers(1990, 2040),
              st.sampled_from(["", " 13:07", " 09:05:59", " 25:99", "T10:00"])),
    st.builds(lambda a, b, c: f"{a} {b:03d},{c}", st.integers(-999, 999), st.integers(0, 999), st.sampled_from(["", "0", "00", "000", "5"])),
    st.sampled_from(["1.0", "007.0", "123", "1 500,00", "1\u00a0500,00", "500,000", "1,500", "0,00", "08.10.2026 13:07",
                     "31.02.2026", "2026-11-20", "1.23E+05", "-1 500,5", "12 345 678,90"]),
)


@settings(max_examples=400, deadline=None)
@given(x=SHAPED)
def test_fast_paths_agree_with_the_general_path(con, x):
    for fn in PARSERS:
        fast, general = _both(con, fn, x)
        assert fast == general, (fn, x, fast, general)


@pytest.mark.parametrize("fn, x, want", [
    ("parse_id", "123.0", "123"), ("parse_num", "1 500,00", 1500.0), ("parse_num", "1\u00a0500,00", 1500.0),
    ("parse_num", "0,00", 0.0), ("parse_num", "500,000", 500000.0), ("parse_num", "-1 500,5", -1500.5),
])
def test_russian_excel_values(con, fn, x, want):
    assert con.execute(f"SELECT {fn}(?)", [x]).fetchone()[0] == want


def test_day_first_dates_with_and_without_time(con):
    import datetime as dt

    assert con.execute("SELECT parse_date('08.10.2026 13:07'), parse_date_mdy('08.10.2026'), parse_date('31.02.2026')").fetchone() == (
        dt.date(2026, 10, 8), dt.date(2026, 10, 8), None)
