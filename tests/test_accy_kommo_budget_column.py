"""Acceptance Y-A (cases kommo_es / kommo_pt / kommo_en): a Kommo team's own marketing budget column («Presupuesto»,
«Orçamento», «Budget» — the handbook's «Бюджет», rule 1.4) beside the export's amount («Venta», «Venda», «Sale») is the
team's field, never a second amount. It had been read as the amount too: a blank «Venta» filled from «Presupuesto»
(1.3 missed a won deal with no amount), an English «Budget» read instead of «Sale» (1.3 found nothing), and a
`fields: deal.Бюджет: <that column>` line read the amount. Alone, such a column is still the amount (older amoCRM
English exports name it «Budget»)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cli_helpers import init_from_export
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile

#: language -> (lead name, owner, amount, the team's budget, pipeline, stage, created) headers
HEADERS = {
    "es": ("Nombre del lead", "Usuario responsable", "Venta", "Presupuesto", "Embudo", "Etapa del lead", "Fecha de creación"),
    "pt": ("Lead título", "Lead usuário responsável", "Venda", "Orçamento", "Funil de vendas", "Etapa do lead", "Data Criada"),
    "en": ("Lead name", "Responsible user", "Sale", "Budget", "Pipeline", "Lead status", "Date created"),
}
ROWS = [("101", "Online store", "Ana", "1500", "700", "Ventas", "Contactado", "13.11.2026 10:15:00"),
        ("106", "Bakery", "Ana", "", "500", "Ventas", "Logrado con éxito", "02.11.2026 09:00:00")]


def _export(tmp: Path, lang: str, drop: str | None = None) -> Path:
    """The leads export in ``lang``, without the column ``drop``."""
    export = tmp / f"export-{lang}"
    export.mkdir()
    heads = ["ID", *HEADERS[lang]]
    keep = [i for i, h in enumerate(heads) if h != drop]
    lines = [";".join(f'"{heads[i]}"' for i in keep)] + [";".join(f'"{r[i]}"' for i in keep) for r in ROWS]
    (export / "kommo_export_leads_2026-11-20.csv").write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return export


def _values(export: Path) -> dict[str, float | None]:
    ex = load_export(export, load_profile("amocrm"))
    try:
        return dict(ex.con.execute("SELECT id, value FROM deals ORDER BY id").fetchall())
    finally:
        ex.close()
        ex.con.close()


@pytest.mark.parametrize("lang", sorted(HEADERS))
def test_the_budget_beside_the_amount_is_no_amount(lang, tmp_path):
    assert _values(_export(tmp_path, lang)) == {"101": 1500.0, "106": None}  # 106's blank amount stays blank


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_budget_alone_is_the_amount(lang, tmp_path):
    assert _values(_export(tmp_path, lang, drop=HEADERS[lang][2])) == {"101": 700.0, "106": 500.0}


def test_init_proposes_the_budget_as_the_teams_field(capsys, monkeypatch, tmp_path):
    text = init_from_export(capsys, monkeypatch, tmp_path / "w", "kommo", _export(tmp_path, "es"))
    assert "  deal.Бюджет: Presupuesto    # так это поле называют: «Presupuesto»" in text
    assert yaml.safe_load(text)["fields"]["deal.Бюджет"] == "Presupuesto"
    assert "нет поля «Бюджет»" not in text
