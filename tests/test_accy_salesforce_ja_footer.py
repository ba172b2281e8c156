"""Acceptance Y-D (Salesforce): the Japanese Stage Duration «フェーズ滞在期間» is read like «Stage Duration» (days in
the current stage: rules 2.2 / 2.4 run; fixtures: tests/fixtures/accy/README.md)."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import findings_by_code, init_from_export, run_audit

FIX = Path(__file__).parent / "fixtures" / "accy"


def test_japanese_stage_duration_read_as_days(tmp_path, capsys, monkeypatch):
    settings = init_from_export(capsys, monkeypatch, tmp_path, "salesforce", FIX / "sf_ja")
    assert "stuck-in-accepted" not in settings and "no-stage-movement" not in settings  # neither written off
    run_audit(capsys, monkeypatch, tmp_path, FIX / "sf_ja", "2026-11-20")
    found = findings_by_code(tmp_path / "v.csv")
    assert found.get("2.2") == {"006102", "006103"}
    assert found.get("2.4") == {"006103", "006121", "006127"}
