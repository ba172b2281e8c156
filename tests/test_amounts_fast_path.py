"""The decimal-mark evidence takes the mark of plain cells («1 500,00», «1500.25») without the full parse (issue 17):
pinned against the full parse on random cells, so the decision of every column stays the same."""

from __future__ import annotations

import random

import duckdb
import pyarrow as pa

from crm_audit.engine import amounts, sqlfuncs


def test_the_fast_cells_have_the_mark_the_full_parse_gives_and_never_read_either_way():
    rng = random.Random(17)
    alpha = list("0123456789") * 3 + [",", ".", " ", "\u00a0", "-", "'", "(", ")", "R$", "€", "руб."]
    values = ["".join(rng.choice(alpha) for _ in range(rng.randint(1, 10))) for _ in range(60000)]
    values += ["".join(rng.choice("0123456789") for _ in range(rng.randint(1, 7))) + rng.choice(",.") +
               "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 3))) for _ in range(20000)]
    values += ["1 500,00", "0,00", "-12,5", "1500.25", "12 345 678,9", "1,500", "15.000", "-0.5", "00,12", "1 50,00",
               "1\u00a0500,00"]
    con = duckdb.connect()
    sqlfuncs.install(con)
    con.register("cells", pa.table({"x": values}))
    fast = con.execute(f"""SELECT count(*) FILTER (WHERE regexp_full_match(x, '{amounts.FAST_COMMA}')),
                                  count(*) FILTER (WHERE regexp_full_match(x, '{amounts.FAST_DOT}')) FROM cells""").fetchone()
    assert min(fast) > 1000  # both fast paths are exercised
    differ = con.execute(f"""SELECT x, num_mark(x), num_ambiguous(x) FROM cells WHERE
        (regexp_full_match(x, '{amounts.FAST_COMMA}') AND (num_mark(x) IS DISTINCT FROM ',' OR num_ambiguous(x)))
        OR (regexp_full_match(x, '{amounts.FAST_DOT}') AND (num_mark(x) IS DISTINCT FROM '.' OR num_ambiguous(x)))""").fetchall()
    assert differ == []


def test_gather_counts_fast_and_full_cells_alike():
    con = duckdb.connect()
    sqlfuncs.install(con)
    con.register("raw", pa.table({"c0": ["1 500,00", "0,50", "R$ 1.234,56", "15.000", "(1,234.00)", None, "abc"]}))
    ev = amounts.gather(con, "raw", ["c0"])
    assert (ev.comma, ev.dot, ev.ambiguous) == (3, 1, 1)
    assert (ev.comma_example, ev.dot_example, ev.ambiguous_example) == ("0,50", "(1,234.00)", "15.000")
