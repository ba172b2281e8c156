"""Pipedrive pt-BR «Moeda de MRR» is the currency of the MRR field, never the deal's (issue 13): with «Moeda de Valor»
in the export it is that; without it init never proposes «Moeda de MRR» (suggest_guards.yaml `never_words`), nor an
MRR or weighted figure as the value, nor «Total de atividades» (a count) for the alias «Total»; without «Moeda de
Valor» no other figure's currency («Moeda de Valor ponderado», «… Incremental», «… total»), without «Valor» not
«Valor Incremental». The real pt-BR export
of tests/fixtures/real/pd_ptbr_jota, columns cut as another team's export would lack them; init → run, no hand edit."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from crm_audit.cli import main
from crm_audit.engine.suggest import says_field

JOTA = Path(__file__).parent / "fixtures" / "real" / "pd_ptbr_jota" / "deals.csv"


def _cut(tmp_path, drop) -> Path:
    with JOTA.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    keep = [i for i, h in enumerate(rows[0]) if not drop(h)]
    export = tmp_path / "export"
    export.mkdir()
    with (export / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([[r[i] for i in keep] for r in rows])
    return export


def _init(tmp_path, export, capsys) -> dict:
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "pipedrive", "--from-export", str(export)]) == 0
    capsys.readouterr()
    return yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))


def test_the_value_s_currency_when_the_export_has_it(tmp_path, capsys):
    data = _init(tmp_path, _cut(tmp_path, lambda h: False), capsys)
    assert (data.get("columns") or {}).get("deals", {}).get("currency") in (None, "Moeda de Valor")


def test_without_moeda_de_valor_the_mrr_currency_is_never_proposed(tmp_path, capsys):
    data = _init(tmp_path, _cut(tmp_path, lambda h: h == "Negócio - Moeda de Valor"), capsys)
    cols = (data.get("columns") or {}).get("deals") or {}
    # no other figure's currency either: «Moeda de Valor ponderado» (the weighted value's), «Moeda de Valor Incremental»,
    # «Moeda de Valor total», «Moeda de Valor Novo (Minuta)» … — the deal's currency stays unmapped
    assert "currency" not in cols, cols
    assert not any("MRR" in v for v in cols.values())


def test_without_valor_the_incremental_value_is_never_proposed(tmp_path, capsys):
    export = _cut(tmp_path, lambda h: h == "Negócio - Valor")
    data = _init(tmp_path, export, capsys)
    cols = (data.get("columns") or {}).get("deals") or {}
    # «Valor Incremental» (and «Valor de produtos», «Valor Novo (Minuta)») are other figures; the team's «Valor
    # total» may be its deal value and is proposed, for the user to confirm
    assert cols.get("value") == "Valor total"
    assert cols.get("currency") in (None, "Moeda de Valor")
    assert main(["run", "-c", str(tmp_path / "work" / "crm-audit.yaml"), "--export", str(export), "--as-of",
                 "2025-01-10", "--quiet", "--violations-csv", str(tmp_path / "v.csv")]) == 0


def test_without_moeda_de_valor_the_audit_runs(tmp_path, capsys):
    export = _cut(tmp_path, lambda h: h == "Negócio - Moeda de Valor")
    _init(tmp_path, export, capsys)
    assert main(["run", "-c", str(tmp_path / "work" / "crm-audit.yaml"), "--export", str(export), "--as-of",
                 "2025-01-10", "--quiet", "--violations-csv", str(tmp_path / "v.csv")]) == 0


def test_with_only_the_mrr_columns_left_no_currency_nor_value_is_proposed_and_the_audit_runs(tmp_path, capsys):
    export = _cut(tmp_path, lambda h: (h.startswith("Negócio - Moeda de") and "MRR" not in h) or h.startswith("Negócio - Valor"))
    data = _init(tmp_path, export, capsys)
    cols = (data.get("columns") or {}).get("deals") or {}
    assert "currency" not in cols and "value" not in cols, cols
    assert data["rules"]["skip"]["missing-amount-after-proposal"].startswith("в выгрузке нет поля «Negócio - Valor»")
    assert main(["run", "-c", str(tmp_path / "work" / "crm-audit.yaml"), "--export", str(export), "--as-of",
                 "2025-01-10", "--quiet", "--violations-csv", str(tmp_path / "v.csv")]) == 0


@pytest.mark.parametrize(("field", "header", "ok"), [
    ("currency", "Moeda de MRR", False), ("currency", "Moeda de ARR", False), ("currency", "Currency of MRR", False),
    ("currency", "Moeda de Valor", True), ("currency", "Moeda", True), ("currency", "Currency of Value", True),
    ("value", "MRR", False), ("value", "Valor ponderado", False), ("value", "Weighted value", False),
    ("value", "Total de atividades", False), ("value", "Valor", True), ("value", "Deal value", True),
    ("currency", "Moeda de Valor ponderado", False), ("currency", "Moeda de Valor Incremental", False),
    ("currency", "Moeda de Valor total", False), ("currency", "Moeda de Valor Novo (Minuta)", False),
    ("value", "Valor Incremental", False), ("value", "Valor de produtos", False), ("value", "Valor Novo (Minuta)", False),
    ("value", "Valor total", True),
])
def test_a_name_naming_another_figure_is_never_that_field(field, header, ok):
    assert says_field("deals", field, header) is ok
