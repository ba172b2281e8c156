"""A rule limited to a pipeline (`scope: pipeline:`) comparing stages with one that pipeline lacks — though another
pipeline has it — never compares a deal there: `validate` says so at the rule's line (an error in the team's own rule
file, a warning for a bundled rule), and `init` writes the bundled rule off with the reason (HubSpot's «Клиенты» read
from its «Date entered "…"» columns without «Проведено демо»: 1.13 counted 0 without a word — the init side is in
tests/test_issue13_hubspot_unknown_language.py)."""

from __future__ import annotations

import re
from pathlib import Path

from cli_helpers import cli_ru

DEMO_CONFIG = Path(__file__).parents[1] / "crm_audit" / "demo_data" / "crm-audit.yaml"

RULE = """version: 1
criticality: 2
rules:
  - id: past-demo
    code: "9.1"
    title: После демо
    scope:
      status: [open]
      pipeline: [Клиенты]
      where: {stage_at_least: Проведено демо}
    when: {field: deal.title, empty: true}
"""


def _team(tmp_path: Path, clients: list[str], bundled: bool = False) -> Path:
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    # the demo's «Клиенты» pipeline, its stages replaced (the block up to the next pipeline)
    text = re.sub(r"(\n  Клиенты:\n)(    - .*\n)+", "\\1" + "".join(f"    - {s}\n" for s in clients), text, count=1)
    cfg = tmp_path / "crm-audit.yaml"
    cfg.write_text(text + f"\nrules: {{bundled: {str(bundled).lower()}, files: [our_rules.yaml]}}\n", encoding="utf-8")
    (tmp_path / "our_rules.yaml").write_text(RULE, encoding="utf-8")
    return cfg


def test_the_teams_own_rule_is_an_error_at_its_line(tmp_path, capsys, monkeypatch):
    cfg = _team(tmp_path, ["Принял в работу", "Отправлено КП", "Тестовый период"])
    code, _out, err = cli_ru(capsys, monkeypatch, "validate", "--config", str(cfg))
    assert code == 2, err
    assert ("our_rules.yaml:10:15: этапа «Проведено демо» нет в воронке «Клиенты», которую проверяет правило: её сделки с "
            "ним не сравниваются") in err


def test_the_stage_in_the_rules_pipeline_or_in_none(tmp_path, capsys, monkeypatch):
    cfg = _team(tmp_path, ["Принял в работу", "Проведено демо", "Отправлено КП", "Тестовый период"])
    code, _out, err = cli_ru(capsys, monkeypatch, "validate", "--config", str(cfg))
    assert code == 0 and "Проведено демо" not in err, err
    cfg = _team(tmp_path, ["Принял в работу", "Отправлено КП", "Тестовый период"])
    text = cfg.read_text(encoding="utf-8").replace("Проведено демо", "Демо")  # in no pipeline: «unknown stage», as before
    cfg.write_text(text, encoding="utf-8")
    code, _out, err = cli_ru(capsys, monkeypatch, "validate", "--config", str(cfg))
    assert code == 2 and "неизвестный этап «Проведено демо»: его нет ни в одной воронке настроек" in err, err


def test_a_bundled_rule_is_a_warning(tmp_path, capsys, monkeypatch):
    cfg = _team(tmp_path, ["Принял в работу", "Отправлено КП", "Тестовый период"], bundled=True)
    (tmp_path / "our_rules.yaml").write_text(RULE.replace("Проведено демо", "Отправлено КП"), encoding="utf-8")
    code, _out, err = cli_ru(capsys, monkeypatch, "validate", "--config", str(cfg))
    assert code == 0, err
    assert ("critical_1.yaml:243:14: этапа «Проведено демо» нет в воронке «Клиенты», которую проверяет правило" in err
            and "встроенное правило 1.13 здесь ничего не проверяет" in err), err
