"""The rows' fingerprints and order trim a value only where an end is blank (issue 17): the same text as the plain
regex replace on every value, so a fingerprint — and the waivers keyed on it — does not change across versions."""

from __future__ import annotations

import random

import duckdb

from crm_audit.engine.dialects.finish import _TRIM, _trimmed

WS = [" ", "\t", "\n", "\r", "\f", "\u00a0", "\u2007", "\u202f", "\ufeff"]
OTHER = ["a", "я", "ё", "é", "e\u0301", "😀", "x y", "\u3000", "\u2028", "\v", "\u200b", "1", "."]


def test_the_guarded_trim_gives_the_plain_replace_text():
    rng = random.Random(17)
    values = ["", None, " ", "a", " a ", "\u00a0Иван\u202f", "a\u00a0b"]
    values += ["".join(rng.choice(WS + OTHER) for _ in range(rng.randint(0, 7))) for _ in range(5000)]
    con = duckdb.connect()
    con.execute("CREATE TABLE t(x VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[v] for v in values])
    plain = f"regexp_replace(x, {_TRIM}, '', 'g')"
    differ = con.execute(f"SELECT count(*) FROM t WHERE ({_trimmed('x')}) IS DISTINCT FROM ({plain})").fetchone()[0]
    assert differ == 0
    assert con.execute(f"SELECT {_trimmed('x')} FROM t WHERE x = ' a '").fetchone()[0] == "a"
