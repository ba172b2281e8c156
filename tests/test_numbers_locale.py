"""Amounts in every locale and currency (issue 13, points 1 and 9).

The export loader's ``parse_num`` macro and the rule-side parse (dialects/numbers.py) strip any ISO 4217 code
and the common currency signs before or after a number; a number column's decimal mark is taken from its cells
(``1.234,56`` / ``15.25`` decide), else from the export's interface language (``15.000`` in a pt-BR export is
15000, in an English one 15), with a note; ``decimal_mark:`` in the settings fixes it; an unreadable amount is a
bad value governed by ``on_bad_value``.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import yaml
from sqlglot import exp

from crm_audit.cli import main
from crm_audit.engine import amounts, dialects, sqlfuncs
from crm_audit.engine.dialects import numbers
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import available, load_profile, profile_for
from crm_audit import settings as settings_mod

FIXTURES = Path(__file__).parent / "fixtures"
PT = FIXTURES / "issue13-acceptance" / "pipedrive-pt"
EN = FIXTURES / "pipedrive"
AS_OF = "2026-11-20"

#: the issue's examples, each with its number (None: a bad value)
EXAMPLES = [
    ("R$ 15.000,00", 15000.0), ("BRL 15.000,00", 15000.0), ("15.000,00 BRL", 15000.0), ("¥1,500,000", 1500000.0),
    ("JPY 1,500,000", 1500000.0), ("1 500,00 zł", 1500.0), ("CHF 1'500.00", 1500.0), ("CHF 1’500.00", 1500.0),
    ("€1.234,56", 1234.56), ("US$ 1,200.00", 1200.0), ("kr 12 000", 12000.0), ("₩1,000,000", 1000000.0),
    ("₹1,00,000", 100000.0), ("USD 150,000.00", 150000.0), ("(1,234.00)", -1234.0), ("-R$ 15,00", -15.0),
    ("R$ -15,00", -15.0), ("1500 руб.", 1500.0), ("1\u00a0500,00 ₽", 1500.0), ("15000 KZT", 15000.0), ("£0.99", 0.99),
    ("EUR 0,5", 0.5), ("S/ 1,250.00", 1250.0), ("1 234 567,89 Kč", 1234567.89), ("R$ 2.500,50", 2500.5),
    # a word for thousand / million is no currency: never 15 or 1.5
    ("15 mil", None), ("1,5 mln", None), ("15 Tsd", None), ("R$ abc", None), ("12-15", None), ("(-5)", None),
]


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    sqlfuncs.install(c)
    yield c
    c.close()


@pytest.mark.parametrize("cell, want", EXAMPLES)
def test_every_currency_and_locale_reads_as_its_number(con, cell, want):
    assert con.execute("SELECT parse_num(?)", [cell]).fetchone()[0] == want


@pytest.mark.parametrize("cell, point, comma", [
    ("15.000", 15.0, 15000.0), ("1,500", 1500.0, 1.5), ("R$ 15.000", 15.0, 15000.0), ("12.000 kr", 12.0, 12000.0),
    ("-1.500", -1.5, -1500.0), ("(1,500)", -1500.0, -1.5), ("999,999", 999999.0, 999.999),
    # they tell their mark themselves: the column's does not matter
    ("1.234,56", 1234.56, 1234.56), ("1,234.56", 1234.56, 1234.56), ("15,5", 15.5, 15.5), ("15.25", 15.25, 15.25),
    ("1.500.000", 1500000.0, 1500000.0), ("1,500,000", 1500000.0, 1500000.0), ("0,500", 0.5, 0.5), ("0.500", 0.5, 0.5),
    ("1500.000", 1500.0, 1500.0), ("15000", 15000.0, 15000.0), ("1 500", 1500.0, 1500.0),
])
def test_a_cell_that_reads_either_way_follows_the_columns_mark(con, cell, point, comma):
    assert con.execute("SELECT parse_num_m(?, '.'), parse_num_m(?, ',')", [cell, cell]).fetchone() == (point, comma)


@pytest.mark.parametrize("cell, mark, ambiguous", [
    ("1.234,56", ",", False), ("15,5", ",", False), ("1,234.56", ".", False), ("15.25", ".", False),
    ("1.500.000", ",", False), ("₹1,00,000", ".", False), ("R$ 2.500,50", ",", False),
    ("15.000", None, True), ("1,500", None, True), ("R$ 15.000", None, True), ("15000", None, False), ("abc", None, False),
])
def test_what_a_cell_says_about_its_decimal_mark(con, cell, mark, ambiguous):
    assert con.execute("SELECT num_mark(?), num_ambiguous(?)", [cell, cell]).fetchone() == (mark, ambiguous)


def _rule_side(values: list, mark: str) -> list:
    """dialects/numbers.py rendered for DuckDB over ``values``."""
    c = duckdb.connect()
    c.register("input", pa.table({"i": list(range(len(values))), "x": values}))
    x = exp.column("x", quoted=True)
    q = exp.select(numbers.parse_num(dialects.get("duckdb"), x, mark).as_("n")).from_("input").order_by("i").sql("duckdb")
    return [r[0] for r in c.execute(q).fetchall()]


#: accounting negatives with the currency inside or outside the brackets, a comma or a point decimal mark (issue 13)
NEGATIVES = [
    ("R$ (1.234,00)", -1234.0), ("(R$ 1.234,00)", -1234.0), ("R$(1.234,00)", -1234.0), ("(1.234,00) R$", -1234.0),
    ("(1.234,00 R$)", -1234.0), ("BRL (1.234,00)", -1234.0), ("(1.234,00) BRL", -1234.0), ("€ (1.234,56)", -1234.56),
    ("(1.234,56 €)", -1234.56), ("USD (1,234.00)", -1234.0), ("(1,234.00) USD", -1234.0), ("$(1,234.00)", -1234.0),
    ("($1,234.00)", -1234.0), ("(1 234,00 zł)", -1234.0), ("- R$ 15,00", -15.0), ("R$ (0,99)", -0.99),
    ("R$\u00a0(1.234,00)", -1234.0),
    # no negative: digits outside the brackets, a minus and brackets both, a minus after the number
    ("12 (15)", None), ("abc (12)", None), ("-(5)", None), ("R$ (-5,00)", None), ("R$ (1.234,00)-", None),
    ("(1.234,00) (5)", None),
]


@pytest.mark.parametrize("cell, want", NEGATIVES)
def test_an_accounting_negative_with_the_currency_inside_or_outside_the_brackets(con, cell, want):
    assert con.execute("SELECT parse_num(?)", [cell]).fetchone()[0] == want
    if want is not None:  # its decimal mark tells itself: the column's does not matter
        assert con.execute("SELECT parse_num_m(?, '.'), parse_num_m(?, ',')", [cell, cell]).fetchone() == (want, want)


@pytest.mark.parametrize("cell, point, comma", [("R$ (15.000)", -15.0, -15000.0), ("(15.000) R$", -15.0, -15000.0),
                                                ("USD (1,500)", -1500.0, -1.5)])
def test_a_bracketed_amount_that_reads_either_way_follows_the_columns_mark(con, cell, point, comma):
    assert con.execute("SELECT parse_num_m(?, '.'), parse_num_m(?, ',')", [cell, cell]).fetchone() == (point, comma)
    assert con.execute("SELECT num_ambiguous(?)", [cell]).fetchone()[0] is True


CELLS = [c for c, _ in EXAMPLES] + [c for c, _ in NEGATIVES] + [
    "15.000", "1,500", " -1.500", "+1,500", "-", "--5", "", None, "0,00", "500,000", "R$ (15.000)"]


@pytest.mark.parametrize("mark", [".", ","])
def test_the_rule_side_parse_is_the_loaders(con, mark):
    want = [con.execute("SELECT parse_num_m(?, ?)", [c, mark]).fetchone()[0] for c in CELLS]
    assert _rule_side(CELLS, mark) == want


@pytest.fixture(scope="module")
def pg():
    pytest.importorskip("pgserver")
    from engine_targets import Postgres

    server = Postgres()
    yield server
    server.close()


@pytest.mark.parametrize("mark", [".", ","])
def test_the_rule_side_parse_on_postgresql(pg, con, mark):
    cur = pg.conn.cursor()
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS amounts_in (i int, x text)")
    cur.execute("TRUNCATE amounts_in")
    with cur.copy("COPY amounts_in (i, x) FROM STDIN") as cp:
        for i, v in enumerate(CELLS):
            cp.write_row((i, v))
    x = exp.column("x", quoted=True)
    cur.execute(exp.select(numbers.parse_num(dialects.get("postgres"), x, mark).as_("n")).from_("amounts_in").order_by("i").sql("postgres"))
    got = [r[0] for r in cur.fetchall()]
    want = [con.execute("SELECT parse_num_m(?, ?)", [c, mark]).fetchone()[0] for c in CELLS]
    assert got == want


@pytest.mark.parametrize("engine", ["postgres", "bigquery", "snowflake", "spark", "clickhouse"])
def test_the_currency_pattern_is_portable(engine):
    # Snowflake has no \p{..}: the pattern is literals only; every engine's SQL parses back
    x = exp.column("x", quoted=True)
    d = dialects.get(engine)
    sql = exp.select(numbers.parse_num(d, x, ",")).from_("t").sql(d.sqlglot)
    assert "\\p" not in amounts.CURRENCY and "\\p" not in sql
    import sqlglot

    sqlglot.parse_one(sql, read=d.sqlglot)


# ---------------------------------------------------------------------------- the data


def test_currency_codes_are_iso_4217():
    from babel.numbers import list_currencies

    assert set(amounts.ISO_CODES) <= set(list_currencies())
    assert {"BRL", "JPY", "PLN", "CHF", "EUR", "USD", "KRW", "INR", "SEK", "RUB", "KZT", "CZK"} <= set(amounts.ISO_CODES)
    # a word for thousand / million is no code
    assert not {"MIL", "MLN", "TYS", "MIO", "MRD", "TSD", "BLN"} & set(amounts.ISO_CODES)


def test_every_profile_language_has_a_decimal_mark():
    codes = {p.language for p in map(load_profile, available())}
    codes |= {c for p in map(load_profile, available()) for c in p.languages}
    assert {c: amounts.language_mark(c) for c in codes if amounts.language_mark(c) is None} == {}
    assert [amounts.language_mark(c) for c in ("pt-BR", "de", "es", "it", "ru", "pl", "fr", "ua")] == [","] * 8
    assert [amounts.language_mark(c) for c in ("en", "ja", "zh-CN", "zh-TW")] == ["."] * 4
    assert load_profile("amocrm").language == "ru" and load_profile("hubspot").language == "en"


@pytest.mark.parametrize("ev, language, mark, note", [
    (amounts.Evidence(comma=3, ambiguous=2, comma_example="2.500,50", ambiguous_example="15.000"), "en", ",", None),
    (amounts.Evidence(dot=1, ambiguous=2, dot_example="15.25", ambiguous_example="15.000"), "pt-BR", ".", None),
    (amounts.Evidence(ambiguous=2, ambiguous_example="15.000"), "pt-BR", ",", "decimal-mark"),
    (amounts.Evidence(ambiguous=2, ambiguous_example="1,500"), "en", ".", "decimal-mark"),
    (amounts.Evidence(), "pt-BR", ",", None),
    (amounts.Evidence(comma=1, dot=3, comma_example="1,5", dot_example="1.25", ambiguous_example="15.000"), "pt-BR", ".",
     "decimal-mark-mixed"),
])
def test_the_column_decides(ev, language, mark, note):
    d = amounts.decide(ev, "Negócio - Valor", language, None)
    assert d.mark == mark
    assert (d.code if d.note else None) == note


def test_the_notes_say_what_was_read_and_how_to_change_it():
    from crm_audit.errors import Msg

    d = amounts.decide(amounts.Evidence(ambiguous=2, ambiguous_example="R$ 15.000"), "Negócio - Valor", "pt-BR", None)
    text = Msg(*d.note).text("en")
    assert "«R$ 15.000»" in text and "R$ 15.000 = 15000" in text and "decimal comma" in text
    assert "português (Brasil)" in text and 'decimal_mark: "."' in text
    ru = Msg(*d.note).text("ru")
    assert "«Negócio - Valor»" in ru and "15000" in ru and re.search("[а-я]", ru)
    mixed = amounts.decide(amounts.Evidence(comma=1, dot=3, comma_example="1,5", dot_example="1.25"), "Valor", "en", None)
    text = Msg(*mixed.note).text("en")
    assert "«Valor»" in text and "«1,5»" in text and "«1.25»" in text
    assert amounts.decide(amounts.Evidence(ambiguous=5), "Valor", "pt-BR", None, fixed=".") == amounts.MarkDecision(".")


# ---------------------------------------------------------------------------- through the CLI


def _init(work: Path, export: Path) -> None:
    assert main(["init", str(work), "--crm", "pipedrive", "--from-export", str(export)]) == 0


def _run(work: Path, export: Path, *extra: str) -> int:
    return main(["run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", AS_OF,
                 "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"), *extra])


def _edit(path: Path, *pairs: tuple[str, str]) -> None:
    text = path.read_text(encoding="utf-8")
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def _pt_export(tmp_path: Path, values: dict[str, str]) -> Path:
    """The Portuguese (Brazil) Pipedrive export with these «Negócio - Valor» cells (deal id -> cell)."""
    export = tmp_path / "export"
    shutil.copytree(PT, export)
    rows = list(csv.reader((export / "deals.csv").open(encoding="utf-8")))
    col = rows[0].index("Negócio - Valor")
    for r in rows[1:]:
        r[col] = values.get(r[0], r[col])
    with (export / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    return export


def _pt_settings(work: Path, export: Path, *extra: str) -> Path:
    """init, then rule 1.3 (no amount after the proposal) enabled on this team's «Proposta enviada»."""
    _init(work, export)
    cfg = work / "crm-audit.yaml"
    text = cfg.read_text(encoding="utf-8")
    text = text.replace("stage_names: {}", "stage_names: {Отправлено КП: Proposta enviada}")
    text = re.sub(r"\n *# 1\.3:[^\n]*\n *missing-amount-after-proposal:[^\n]*", "", text)
    for e in extra:  # a setting init wrote (decimal_mark: auto) is replaced, another added
        key = e.split(":")[0]
        text = re.sub(rf"(?m)^{key}:.*$", e, text) if re.search(rf"(?m)^{key}:", text) else f"{text}\n{e}\n"
    cfg.write_text(text, encoding="utf-8")
    return cfg


def _flagged(work: Path, rule: str = "missing-amount-after-proposal") -> set[str]:
    with open(work / "v.csv", encoding="utf-8") as f:
        return {r["deal_id"] for r in csv.DictReader(f) if r["rule_id"] == rule}


def _values(work: Path, export: Path) -> dict[str, float | None]:
    s = settings_mod.load(work / "crm-audit.yaml")
    ex = load_export(export, profile_for(s), on_bad_value=s.on_bad_value)
    return dict(ex.con.execute("SELECT CAST(id AS VARCHAR), value FROM deals").fetchall())


def test_a_brazilian_pipedrive_export_audits_with_the_right_amounts(tmp_path, capsys):
    # «15.000» is fifteen thousand reais; «R$ 2.500,50» tells the column's decimal comma; «R$ 0,00» is no amount
    export = _pt_export(tmp_path, {"2": "15.000", "3": "R$ 0,00", "4": "R$ 2.500,50"})
    work = tmp_path / "work"
    _pt_settings(work, export)
    assert _run(work, export) == 0
    assert _values(work, export) == {"1": 0.0, "2": 15000.0, "3": 0.0, "4": 2500.5, "5": 300.0}
    # 1.3: deal 3 (won, R$ 0,00) has no amount; 2 and 4 (at «Proposta enviada») have theirs
    assert _flagged(work) == {"3"}
    assert "decimal" not in capsys.readouterr().out  # the cells said it: no note


def test_only_cells_that_read_either_way_follow_the_exports_language_with_a_note(tmp_path, capsys):
    export = _pt_export(tmp_path, {"2": "15.000", "3": "0", "4": "1.500"})
    work = tmp_path / "work"
    # init writes the language's mark for the user to confirm (tests/test_issue13_decimal_mark_init.py); with auto, the
    # run says how it read such amounts
    _pt_settings(work, export, "decimal_mark: auto")
    capsys.readouterr()
    assert _run(work, export) == 0
    out = capsys.readouterr().out
    assert _values(work, export) == {"1": 0.0, "2": 15000.0, "3": 0.0, "4": 1500.0, "5": 300.0}
    assert _flagged(work) == {"3"}
    line = next(x for x in out.splitlines() if "deals.csv" in x and "«Negócio - Valor»" in x)
    assert "1.500 = 1500" in line and "decimal_mark" in line and "português (Brasil)" in line
    # inspect says it too
    assert main(["inspect", str(export), "-c", str(work / "crm-audit.yaml")]) in (0, 1)
    assert "decimal_mark" in capsys.readouterr().out


def test_the_decimal_mark_setting_overrides_the_language(tmp_path):
    export = _pt_export(tmp_path, {"2": "15.000", "3": "0", "4": "1.500"})
    work = tmp_path / "work"
    _pt_settings(work, export, 'decimal_mark: "."')
    assert _run(work, export, "--quiet") == 0
    assert _values(work, export) == {"1": 0.0, "2": 15.0, "3": 0.0, "4": 1.5, "5": 300.0}


def _en_export(tmp_path: Path, values: dict[str, str]) -> Path:
    export = tmp_path / "export"
    shutil.copytree(EN / "export", export)
    rows = list(csv.reader((export / "deals.csv").open(encoding="utf-8")))
    col = rows[0].index("Deal - Value")
    for r in rows[1:]:
        r[col] = values.get(r[0], r[col])
    with (export / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    return export


@pytest.mark.parametrize("setting, v101, v103", [(None, 1500.0, 15.0), ('decimal_mark: "."', 1500.0, 15.0),
                                                  ('decimal_mark: ","', 1.5, 15000.0)])
def test_an_english_export_reads_the_point(tmp_path, setting, v101, v103):
    export = _en_export(tmp_path, {"101": "1,500", "103": "15.000"})
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(EN / "crm-audit.yaml", work / "crm-audit.yaml")
    if setting:
        (work / "crm-audit.yaml").write_text((work / "crm-audit.yaml").read_text(encoding="utf-8") + f"\n{setting}\n", encoding="utf-8")
    assert _run(work, export, "--quiet") == 0
    values = _values(work, export)
    assert (values["101"], values["103"]) == (v101, v103)


def test_an_unreadable_amount_is_a_bad_value_with_file_row_column(tmp_path, capsys):
    export = _pt_export(tmp_path, {"2": "R$ 15 mil", "4": "R$ 2.500,50"})
    work = tmp_path / "work"
    _pt_settings(work, export)
    cfg = work / "crm-audit.yaml"
    # init saw the cell and wrote `on_bad_value: warn` (a first run is never blocked); `error` stops on it
    assert yaml.safe_load(cfg.read_text(encoding="utf-8"))["on_bad_value"] == "warn"
    cfg.write_text(re.sub(r"(?m)^on_bad_value: *\w+", "on_bad_value: error", cfg.read_text(encoding="utf-8")), encoding="utf-8")
    capsys.readouterr()
    assert _run(work, export, "--quiet") == 2
    err = capsys.readouterr().err
    assert "deals.csv" in err and "Negócio - Valor" in err and "«R$ 15 mil»" in err and "3" in err
    # on_bad_value: warn — a warning naming the cell, the amount treated as empty (1.3 flags deal 2)
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(re.sub(r"(?m)^on_bad_value: *\w+", "on_bad_value: warn", text) if re.search(r"(?m)^on_bad_value:", text)
                   else text + "\non_bad_value: warn\n", encoding="utf-8")
    assert _run(work, export) == 0
    out = capsys.readouterr().out
    assert "«R$ 15 mil»" in out
    assert _flagged(work) == {"2", "3"}
    assert yaml.safe_load(cfg.read_text(encoding="utf-8"))["on_bad_value"] == "warn"


BIG_BUDGET = """rules:
  - id: big-budget
    code: "9.1"
    title: Большой бюджет
    criticality: 2
    scope:
      status: [open, won, lost]
    when: {field: deal.Orçamento, gt: 10000}
    evidence:
      - {field: deal.Orçamento, title: Бюджет}
    faq: {what: budget, why: test, how: test}
"""


@pytest.mark.parametrize("setting, flagged", [(None, {"1", "2"}), ('decimal_mark: "."', {"1"})])
def test_a_rule_reads_a_custom_text_field_like_the_loader(tmp_path, setting, flagged):
    # «Negócio - Orçamento» is no field of the profile: a rule compares its text as a number — in a pt-BR export
    # «15.000» is fifteen thousand, as the amounts are (unless the settings say the point)
    export = _pt_export(tmp_path, {"2": "R$ 2.500,50"})
    rows = list(csv.reader((export / "deals.csv").open(encoding="utf-8")))
    budget = {"1": "R$ 20.000,00", "2": "15.000", "3": "9.999", "4": "", "5": "abc"}
    rows = [rows[0] + ["Negócio - Orçamento"]] + [r + [budget[r[0]]] for r in rows[1:]]
    with (export / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    work = tmp_path / "work"
    _pt_settings(work, export, *([setting] if setting else []))
    (work / "big.yaml").write_text(BIG_BUDGET, encoding="utf-8")
    _edit(work / "crm-audit.yaml", ("\n  files: []", "\n  files: [big.yaml]"))
    assert _run(work, export, "--quiet") == 0
    assert _flagged(work, "big-budget") == flagged


def test_a_column_with_both_decimal_marks_is_warned_by_name(tmp_path, capsys):
    export = _pt_export(tmp_path, {"2": "R$ 2.500,50", "3": "15.000", "4": "US$ 1,234.56", "5": "R$ 300,00"})
    work = tmp_path / "work"
    _pt_settings(work, export)
    capsys.readouterr()
    assert _run(work, export) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "deals.csv" in x and "US$ 1,234.56" in x)
    assert "«Negócio - Valor»" in line and "«R$ 2.500,50»" in line and "decimal_mark" in line
    # each cell as written; «15.000» with the majority's comma
    assert _values(work, export) == {"1": 0.0, "2": 2500.5, "3": 15000.0, "4": 1234.56, "5": 300.0}
