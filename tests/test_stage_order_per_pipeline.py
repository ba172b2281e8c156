"""`stage_order_confirmed:` per pipeline (issue 13): true / false (every pipeline / none, as before) or the pipelines the
team checked, by name. A stage new in one pipeline (init --force) marks that pipeline alone to confirm again; validate
and run warn of it by name, and the rules comparing stages name only its deals as compared by a guessed order."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from cli_helpers import cli_in_process
from crm_audit import settings as settings_mod
from crm_audit.engine.plan import build_all
from crm_audit.engine.stage_guess import guessed_comparisons, order_unconfirmed, unconfirmed_pipelines
from crm_audit.rules import ruleset

CASE = Path(__file__).parent / "fixtures" / "accs" / "pd_team_reinit"
LATER = CASE / "export-2026-12-04"
RU = {"CRM_AUDIT_LANGUAGE": "ru"}
PIPES = {"Sales": ["Accepted", "Qualified", "Demo done", "Proposal sent"],
         "Partners": ["Accepted", "Intro", "Demo done", "Proposal sent"]}


@pytest.fixture(scope="module")
def reinit(tmp_path_factory) -> dict:
    """The team's confirmed settings, init --force over the later export (a new stage in «Sales»), validate, run."""
    work = tmp_path_factory.mktemp("order")
    shutil.copy(CASE / "team.yaml", work / "crm-audit.yaml")
    done = cli_in_process("init", str(work), "--crm", "pipedrive", "--from-export", str(LATER), "--force", env=RU)
    assert done.returncode == 0, done.stderr
    cfg = work / "crm-audit.yaml"
    v = cli_in_process("validate", "--config", str(cfg), "--export", str(LATER), env=RU)
    r = cli_in_process("run", "-c", str(cfg), "--export", str(LATER), "--as-of", "2026-12-04", "--out", str(work / "a.xlsx"),
                       "--violations-csv", str(work / "v.csv"), "--ledger", str(work / "l.db"), env=RU)
    assert v.returncode == 0 and r.returncode == 0, v.stdout + v.stderr + r.stderr
    return {"text": cfg.read_text(encoding="utf-8"), "validate": v.stdout + v.stderr, "run": r.stdout + r.stderr}


def test_init_force_keeps_the_untouched_pipelines_confirmed(reinit):
    assert yaml.safe_load(reinit["text"])["stage_order_confirmed"] == ["Partners", "Upsell"]
    assert "# ПОРЯДОК ЭТАПОВ УГАДАН в воронках «Sales» (см. комментарии у воронок)" in reinit["text"]


def test_validate_and_run_name_the_pipeline_to_confirm(reinit):
    said = ("порядок этапов воронок «Sales» в `pipelines:` угадан по выгрузке: проверьте его и добавьте эти воронки в "
            "`stage_order_confirmed:`")
    assert said in reinit["validate"] and said in reinit["run"]
    guessed = [ln for ln in reinit["run"].splitlines() if "сравнивает этапы" in ln]
    assert guessed and all("по порядку воронки «Sales», а он угадан" in ln for ln in guessed), guessed


def _settings(confirmed) -> settings_mod.Settings:
    return settings_mod.from_dict({"crm": "pipedrive", "pipelines": PIPES, "stage_order_confirmed": confirmed,
                                   "stage_names": {"Отправлено КП": "Proposal sent", "Проведено демо": "Demo done",
                                                   "Принял в работу": "Accepted"}})


@pytest.mark.parametrize("confirmed, guessed", [(True, []), (False, ["Sales", "Partners"]), (["partners "], ["Sales"]),
                                                (["Sales", "Partners"], [])])
def test_the_old_boolean_and_the_list_read_alike(confirmed, guessed):
    s = _settings(confirmed)
    assert unconfirmed_pipelines(s) == guessed and order_unconfirmed(s) is bool(guessed)
    rules, _problems = ruleset.collect(s)
    found = {g.rule_id: g.pipelines for g in guessed_comparisons(build_all(rules, s), s)}
    assert found.get("missing-amount-after-proposal") == (guessed or None)


def test_validate_names_a_confirmed_pipeline_pipelines_lacks():
    problems = settings_mod.validate_problems(_settings(["Partnrs"]))
    texts = [p.message for p in problems if p.reason == "unknown-pipeline"]
    assert texts == ["stage_order_confirmed: «Partnrs» is no pipeline of `pipelines:` (did you mean «Partners»?): it "
                     "confirms nothing"]
    order = [p.message for p in problems if p.reason == "stage-order-guessed"]  # no pipeline confirmed: as with false
    assert order == ["the order of the stages in `pipelines:` was guessed from the export: check it, then set "
                     "`stage_order_confirmed: true` (until then rules that compare stages may flag or miss deals)"]
    order = [p.message for p in settings_mod.validate_problems(_settings(["Partners"])) if p.reason == "stage-order-guessed"]
    assert order == ["the order of the stages of «Sales» in `pipelines:` was guessed from the export: check it, then add "
                     "them to `stage_order_confirmed:` (or set it to true once every order is checked); until then rules "
                     "that compare stages may flag or miss those pipelines' deals"]
