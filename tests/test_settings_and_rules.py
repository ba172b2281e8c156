"""Settings and rule files: every problem at once, located as file:line:col."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from crm_audit.rules import lang
from crm_audit.rules import ruleset
from crm_audit import settings as settings_mod
from crm_audit.errors import RuleError, SettingsError
from crm_audit.initfile import render_settings


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return p


def test_init_template_is_valid_settings(tmp_path):
    p = tmp_path / "crm-audit.yaml"
    p.write_text(render_settings("pipedrive"), encoding="utf-8")
    s = settings_mod.load(p)
    assert list(s.pipelines) == ["Клиенты", "Партнеры", "Повторные продажи"]
    assert s.pipelines["Клиенты"][3] == "Отправлено КП"
    assert s.trial_stages == ["Тестовый период"]
    assert s.output.due_days == 3
    assert len(ruleset.load(s)) == 17


def test_settings_typo_wrong_type_and_syntax_are_located(tmp_path):
    p = write(tmp_path, "crm-audit.yaml", """
        crm: pipedrive
        deal_url: "https://x.pipedrive.com/deal/{id}"
        pipelines:
          Клиенты: [Принял в работу, Отправлено КП]
        frozen_lost_reason: [Несезон]
        output:
          due_days: three
    """)
    s, problems = settings_mod.collect(p)
    msgs = {(pr.line, pr.message) for pr in problems}
    assert (5, "unknown key «frozen_lost_reason» (did you mean «frozen_lost_reasons»?)") in msgs
    assert any(line == 7 and "due_days" in m for line, m in msgs)
    assert all(pr.file == str(p) for pr in problems)
    with pytest.raises(SettingsError) as exc:
        settings_mod.load(p)
    assert f"{p}:5:1: unknown key «frozen_lost_reason»" in str(exc.value)


def test_settings_yaml_syntax_error_has_line(tmp_path):
    p = write(tmp_path, "crm-audit.yaml", "pipelines:\n  Клиенты: [a, b\nfoo: 1\n")
    _, problems = settings_mod.collect(p)
    assert problems and problems[0].line is not None and "not valid YAML" in problems[0].message


def test_unknown_trial_stage_and_deal_url(tmp_path):
    p = write(tmp_path, "crm-audit.yaml", """
        deal_url: "https://x/deal"
        pipelines:
          Клиенты: [Принял в работу, Отправлено КП]
        trial_stages: [Тест]
    """)
    _, problems = settings_mod.collect(p)
    assert any("deal_url must contain {id}" in pr.message and pr.line == 1 for pr in problems)


def test_unknown_trial_stage(tmp_path):
    p = write(tmp_path, "crm-audit.yaml", """
        pipelines:
          Клиенты: [Принял в работу, Отправлено КП]
        trial_stages: [Тест]
    """)
    _, problems = settings_mod.collect(p)
    assert [(pr.line, pr.reason) for pr in problems] == [(3, "unknown-stage")]


BAD_RULES = """
rules:
  - id: ok-rule
    code: "9.1"
    title: Хорошее правило
    criticality: 2
    scope: {status: [open], pipeline: [Клиенты]}
    when: {field: deal.Город, empty: true}
  - id: Bad_Id
    code: "9.2"
    title: Очень длинное название листа для правила
    criticality: 5
    scope: {status: [open, closed], pipeline: [Нет такой воронки]}
    when: {field: deal.title, equalz: x}
  - id: bad-stage
    code: "9.3"
    title: Этап
    criticality: 1
    scope: {status: [open]}
    when: {stage_at_least: Несуществующий этап}
"""


def test_rule_file_reports_every_problem_with_location(tmp_path):
    rules_file = write(tmp_path, "our_rules.yaml", BAD_RULES)
    p = write(tmp_path, "crm-audit.yaml", """
        pipelines:
          Клиенты: [Принял в работу, Отправлено КП]
        rules:
          bundled: false
          files: [our_rules.yaml]
    """)
    s = settings_mod.load(p)
    rules, problems = ruleset.collect(s)
    assert [r.id for r in rules] == ["ok-rule", "bad-stage"]  # parsed; bad-stage fails the settings check
    text = "\n".join(str(pr) for pr in problems)
    assert f"{rules_file}:8:5: id must be lower-case" in text
    assert "sheet title «9.2 Очень длинное название листа для правила» is 44 characters" in text
    assert f"{rules_file}:11:5: criticality is 1" in text
    assert "status is a list of open, won, lost" in text
    assert f"{rules_file}:13:31: unknown key «equalz»" in text
    # rule 9.2 did not parse (bad id, title, criticality, operator), and its unknown pipeline is reported too (issue 13)
    assert f"{rules_file}:12:48: unknown pipeline «Нет такой воронки»" in text
    assert f"{rules_file}:19:12: unknown stage «Несуществующий этап»" in text
    with pytest.raises(RuleError):
        ruleset.load(s)


def test_unknown_pipeline_in_rule_is_error(tmp_path):
    write(tmp_path, "r.yaml", """
        rules:
          - id: x
            code: "9.1"
            title: X
            criticality: 1
            scope: {status: [open], pipeline: [Партнеры]}
            when: {field: deal.Город, empty: true}
    """)
    p = write(tmp_path, "crm-audit.yaml", """
        pipelines:
          Клиенты: [Принял в работу]
        rules: {bundled: false, files: [r.yaml]}
    """)
    _, problems = ruleset.collect(settings_mod.load(p))
    assert [(pr.line, pr.reason) for pr in problems] == [(6, "unknown-pipeline")]
    assert "unknown pipeline «Партнеры»" in problems[0].message


def test_bundled_rules_are_17_with_codes_and_sheet_titles():
    from crm_audit.initfile import EXAMPLE

    s = settings_mod.from_dict(dict(EXAMPLE))
    rules = ruleset.load(s)
    assert [r.code for r in rules] == [f"1.{i}" for i in range(1, 14)] + [f"2.{i}" for i in range(1, 5)]
    assert [r.criticality for r in rules] == [1] * 13 + [2] * 4
    for r in rules:
        assert r.sheet_title.startswith(r.code + " ") and len(r.sheet_title) <= 31
        assert r.what and r.why and r.how


def test_duplicate_yaml_key_is_reported(tmp_path):
    f = write(tmp_path, "r.yaml", """
        rules:
          - id: x
            id: y
            code: "9.1"
            title: X
            when: {field: deal.Город, empty: true}
    """)
    _, problems = lang.parse_rule_file(f)
    assert any(pr.reason == "duplicate-key" and pr.line == 3 for pr in problems)


def test_bundled_rule_naming_a_pipeline_the_company_lacks_is_a_warning(tmp_path):
    p = write(tmp_path, "crm-audit.yaml", """
        pipelines:
          Клиенты: [Принял в работу, Квалификация, Проведено демо, Отправлено КП, Тестовый период]
        trial_stages: [Тестовый период]
    """)
    rules, warnings = ruleset.load_with_warnings(settings_mod.load(p))
    assert len(rules) == 17
    assert {w.reason for w in warnings} == {"unknown-pipeline"}
    assert all(w.severity == "warning" and "Партнеры" in w.message for w in warnings)


def test_audit_export_takes_the_parsed_rules_and_their_warnings(tmp_path, monkeypatch):
    """A caller that parsed the rule files passes the RuleSet: the audit does not parse them again and still reports the warnings."""
    import datetime as dt

    from crm_audit.engine.audit import audit_export
    from crm_audit.resources import demo_dir

    p = write(tmp_path, "crm-audit.yaml", """
        pipelines:
          Клиенты: [Принял в работу, Квалификация, Проведено демо, Отправлено КП, Тестовый период, Согласование договора, Выставлен счет]
        trial_stages: [Тестовый период]
    """)
    settings = settings_mod.load(p)
    parsed = ruleset.load_with_warnings(settings)
    monkeypatch.setattr(ruleset, "collect", lambda *_a: pytest.fail("the rule files were parsed a second time"))
    report = audit_export(settings, demo_dir() / "pipedrive", as_of=dt.date(2026, 11, 20), rules=parsed)
    assert len(report.results) == 17
    assert [w.code for w in report.warnings if w.code == "unknown-pipeline"] == ["unknown-pipeline"] * len(parsed.warnings) != []
