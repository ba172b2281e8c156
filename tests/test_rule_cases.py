"""Run every rule's YAML test cases (tests/rule_cases/<rule id>.yaml).

One generic test, in the spirit of sqlfluff's ``yaml_test_cases_test.py``:
each case becomes a tiny Pipedrive export that goes through the real loader
and engine, with only the rule under test loaded.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from pathlib import Path

import pytest
import yaml

from crm_audit import settings as settings_mod
from crm_audit.rules import ruleset
from crm_audit.engine.audit import audit_export
from pipedrive_fixture import write_export

CASES_DIR = Path(__file__).parent / "rule_cases"
DEFAULTS = yaml.safe_load((CASES_DIR / "_defaults.yaml").read_text(encoding="utf-8"))


@functools.cache
def _case_files() -> tuple[dict, ...]:
    """The parsed case files, read once per process (test_engines_parity parametrizes three tests with them too).
    libyaml's loader where PyYAML has it: the same data, a tenth of the time — each xdist worker collects them."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(yaml.load(f.read_text(encoding="utf-8"), Loader=loader)
                 for f in sorted(CASES_DIR.glob("*.yaml")) if not f.name.startswith("_"))


def _cases():
    for data in _case_files():
        for i, case in enumerate(copy.deepcopy(data["cases"])):
            yield pytest.param(data["rule"], case, id=f"{data['rule']}:{i}:{case.get('name', '')[:60]}")


def _build(case: dict, tmp: Path):
    deals = [{**DEFAULTS["deal"], **d} for d in case["deals"]]
    orgs = case.get("organizations", DEFAULTS["organizations"])
    persons = case.get("persons", DEFAULTS["persons"])
    if "activities" in case:
        acts = [{**DEFAULTS["activity"], **a} for a in case["activities"]]
    else:
        acts = [{**DEFAULTS["activity"], "deal_id": d["id"]} for d in deals]
    for i, a in enumerate(acts):
        a.setdefault("id", str(1000 + i))
    return write_export(tmp, deals, orgs, persons, acts)


def _settings(case: dict):
    data = copy.deepcopy(DEFAULTS["settings"])
    data.update(case.get("settings") or {})
    return settings_mod.from_dict(data)


@pytest.fixture(scope="module")
def all_rules():
    s = settings_mod.from_dict(copy.deepcopy(DEFAULTS["settings"]))
    return {r.id: r for r in ruleset.load(s)}


def test_every_rule_has_cases(all_rules):
    files = {f.stem for f in CASES_DIR.glob("*.yaml") if not f.name.startswith("_")}
    assert set(all_rules) <= files, f"rules without test cases: {sorted(set(all_rules) - files)}"


@pytest.mark.parametrize("rule_id, case", list(_cases()))
def test_rule_case(rule_id, case, tmp_path, all_rules):
    export = _build(case, tmp_path / "export")
    settings = _settings(case)
    as_of = case.get("as_of", DEFAULTS["as_of"])
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    rules = [r for r in ruleset.load(settings) if r.id == rule_id]
    assert rules, f"unknown rule {rule_id}"
    report = audit_export(settings, export, as_of=as_of, rules=rules)
    flagged = list(report.results[0].rows["deal_id"])
    assert len(flagged) == len(set(flagged)), "a deal is listed twice"
    assert sorted(flagged) == sorted(str(x) for x in case["flagged"])
