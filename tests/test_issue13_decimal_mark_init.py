"""`crm-audit init --from-export` proposes `decimal_mark:` when the export's amounts need it (issue 13, left item 5).

- The cells with decimals settle a mark that is not the interface language's (a Mexican Spanish Pipedrive account
  writing «1,500.00», Spanish writes a comma): init writes `decimal_mark: "."` with a comment to confirm — without
  it a later export whose amounts have no decimals («1,500») would be read the language's way (1.5).
- Only cells that read either way («15.000» in a Portuguese export): the language's mark was a guess, written
  explicitly with a comment saying so and how to change it.
- Cells that agree with the language, or no cell with a separator: `decimal_mark: auto`, no comment.
- Two columns settling different marks: auto, with a comment naming them.
Then `run` audits with no hand edits.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from crm_audit.engine import amounts
from crm_audit.exportdraft import propose_decimal_mark
from test_issue13_owners_and_stages import init, run, table

ES = ["Trato - ID", "Trato - Título", "Trato - Propietario", "Trato - Valor", "Trato - Moneda", "Trato - Embudo",
      "Trato - Etapa", "Trato - Estado", "Trato - Trato creado"]


def write_es(d: Path, values: list[str]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    rows = [[str(i + 1), f"Trato {i + 1}", "Ana", v, "MXN", "Ventas", "Propuesta", "Abierto", "2026-10-01 10:00:00"]
            for i, v in enumerate(values)]
    with open(d / "deals.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([ES, *rows])


def settings_text(work: Path) -> str:
    return (work / "crm-audit.yaml").read_text(encoding="utf-8")


def test_a_mexican_account_writing_a_point_gets_decimal_mark_point(tmp_path):
    export, work = tmp_path / "export", tmp_path / "work"
    write_es(export, ["1,500.00", "25,000.50", "900.00"])
    s = init(work, "pipedrive", export)
    assert s["decimal_mark"] == "."
    text = settings_text(work)
    comment = text[:text.index('decimal_mark: "."')].rsplit("\n\n", 1)[-1]
    assert "проверьте" in comment and "«1,500.00» в «Trato - Valor»" in comment and "десятичной точкой" in comment
    assert "español" in comment and "запятую" in comment
    # a later export whose amounts have no decimals is read with the point: 1,500 = 1500, never 1.5
    write_es(export, ["1,500", "25,000", "900"])
    assert run(work, export) == 0
    from crm_audit import settings as settings_mod

    got = dict(table(export, "pipedrive", "SELECT id, value FROM deals", settings_mod.load(work / "crm-audit.yaml")))
    assert got == {"1": 1500.0, "2": 25000.0, "3": 900.0}


def test_only_amounts_that_read_either_way_write_the_languages_mark_to_confirm(tmp_path):
    export, work = tmp_path / "export", tmp_path / "work"
    write_es(export, ["15.000", "2.500", "900"])
    s = init(work, "pipedrive", export)
    assert s["decimal_mark"] == ","
    text = settings_text(work)
    comment = text[:text.index('decimal_mark: ","')].rsplit("\n\n", 1)[-1]
    assert "ни в одной ячейке «Trato - Valor» нет дробной части («15.000»)" in comment or "«2.500»" in comment
    assert 'поставьте decimal_mark: "."' in comment
    assert run(work, export) == 0


@pytest.mark.parametrize("values", [["1.500,00", "25.000,50"], ["1500", "900"]], ids=["as-the-language", "no-separator"])
def test_amounts_the_language_reads_right_keep_auto(tmp_path, values):
    export, work = tmp_path / "export", tmp_path / "work"
    write_es(export, values)
    s = init(work, "pipedrive", export)
    assert s["decimal_mark"] == "auto"
    text = settings_text(work)
    assert "проверьте: суммы" not in text and "проверьте: ни в одной" not in text
    assert run(work, export) == 0


def _cm(column, mark, lang_mark, how, example):
    return amounts.ColumnMark(column, mark, lang_mark, "es", how, example)


def test_columns_that_disagree_keep_auto_with_a_comment():
    mark, why = propose_decimal_mark([_cm("Valor", ".", ",", "cells", "1,500.00"), _cm("Importe", ",", ",", "cells", "1.500,00")])
    assert mark is None and "по-разному" in " ".join(why) and "«Valor»: «1,500.00»" in " ".join(why)
    mark, why = propose_decimal_mark([_cm("Valor", ".", ",", "mixed", "1,500.00")])
    assert mark is None and why
    # one column settles against the language, another agrees with nothing to say: the point
    mark, why = propose_decimal_mark([_cm("Valor", ".", ",", "cells", "1,500.00"), _cm("Otro", ",", ",", "language", "15.000")])
    assert mark == "."
    assert propose_decimal_mark([]) == (None, [])


def test_the_written_settings_parse(tmp_path):
    export, work = tmp_path / "export", tmp_path / "work"
    write_es(export, ["1,500.00"])
    init(work, "pipedrive", export)
    assert yaml.safe_load(settings_text(work))["decimal_mark"] == "."
