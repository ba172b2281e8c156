"""Acceptance T1 / T2: HubSpot exports in German and Japanese give the English twin's findings.

T1 (German): «Ist abgeschlossen und gewonnen» (is closed WON) resembles the closed flag «Ist abgeschlossen» but names
a won deal — never proposed as the closed flag (suggest_guards.yaml never_words), and the profile reads it as the won
flag with «Ist der Deal abgeschlossen?» the closed one: the closed-lost deals 106 / 112 stay off the open-deal rules.
T2 (Japanese): headers written with full-width parentheses «関連付けられた会社（プライマリー）» are the profile's
«… (プライマリー)» (header keys unify compatibility forms, NFKC): the primary company, not the list's first, so 1.7 is
{104} only. The hand expectation is the English twin's (tester's hs_en)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_helpers import findings_by_code, init_from_export, run_audit

from crm_audit.engine.profile import hkey

FIXTURES = Path(__file__).parent / "fixtures" / "acct"
ENGLISH = {"1.1": {"102", "104"}, "1.5": {"102"}, "1.7": {"104"}, "1.11": {"103"}, "2.3": {"103", "107"},
           "2.4": {"101", "103", "107"}}


@pytest.mark.parametrize("case", ["hs_de", "hs_ja"])
def test_hubspot_german_and_japanese_give_the_english_findings(case, tmp_path, capsys, monkeypatch):
    export, work = tmp_path / "export", tmp_path / "work"
    shutil.copytree(FIXTURES / case / "export", export)
    work.mkdir()
    settings = init_from_export(capsys, monkeypatch, work, "hubspot", export)
    run_audit(capsys, monkeypatch, work, export, "2026-11-20")
    assert findings_by_code(work / "v.csv") == ENGLISH
    if case == "hs_de":
        assert "is_closed: Ist abgeschlossen und gewonnen" not in settings


def test_header_keys_unify_full_width_brackets_and_spaces_around_them():
    assert hkey("関連付けられた会社（プライマリー）") == hkey("関連付けられた会社 (プライマリー)")
    assert hkey("Probability (%)") == hkey("Probability(%)")
    assert hkey("Ｄｅａｌ　Ｎａｍｅ") == hkey("Deal Name")
