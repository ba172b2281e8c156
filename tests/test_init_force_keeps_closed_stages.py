"""#13 acceptance V1 (case b24_force_check): `init --from-export DIR --force` keeps the team's won / lost split of the
closed stages and its `closed_stages_confirmed: true` (was: the stage moved to won_stages: went back to lost_stages:
and the confirmation back to false, so the next run audited the won deals as lost). A closed stage new in the export
is added where init puts it, and only then is the confirmation narrowed to the stages the team had confirmed
(`closed_stages_confirmed: [Rejected by client]`: the new one is not) — said in the file and the terminal; the run
after it shows only the new stage's deals «исход не подтверждён».

V4: the team's own trailing comments on the lines init keeps stay (`closed_stages_confirmed: true  # checked by …`),
before init's comment on that line; a line init changes loses it.

Bitrix24 English CSV with a custom closed stage «Rejected by client» (Closed = Yes, deal 405, no source): while it is
won, rule 1.8 (missing source: open and won deals) flags 405; while it is lost, not."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import yaml

from cli_helpers import cli_in_process, findings_by_code

CASE = Path(__file__).parent / "fixtures" / "accv" / "b24_force_check"
RU = {"CRM_AUDIT_LANGUAGE": "ru"}


def _cli(*args: str):
    return cli_in_process(*args, env=RU)


def _init(work: Path, export: Path, *more: str):
    done = _cli("init", str(work), "--crm", "bitrix24", "--from-export", str(export), *more)
    assert done.returncode == 0, done.stderr
    return done


def _run(work: Path, export: Path, as_of: str) -> dict:
    done = _cli("run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", as_of,
                "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"), "--ledger", str(work / "l.db"))
    assert done.returncode == 0, done.stderr
    with open(work / "v.csv", encoding="utf-8-sig", newline="") as f:
        states = {r["deal_id"]: r["state"] for r in csv.DictReader(f)}
    return {**findings_by_code(work / "v.csv"), "state": states, "err": done.stdout + done.stderr}


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """init → the team moves «Rejected by client» to won and confirms → init --force on the same export → run →
    init --force on the next export (a new closed stage «Cancelled by us») → run."""
    work = tmp_path_factory.mktemp("b24") / "w"
    export, later = CASE / "export", CASE / "export-2026-12-04"
    _init(work, export)
    path = work / "crm-audit.yaml"
    first = path.read_text(encoding="utf-8")
    edited = first
    for old, new in (("won_stages: []\nlost_stages: [Rejected by client]\nclosed_stages_confirmed: false",
                      "won_stages: [Rejected by client]   # the client's own rejection is our win\nlost_stages: []\n"
                      "closed_stages_confirmed: true   # checked by Lucía 2026-11-20"),
                     ("partner_managers: []", "partner_managers: [Jürgen Müller]  # «our» partner #1"),
                     ('deal_url: "https://example.bitrix24.ru/crm/deal/details/{id}/"',
                      'deal_url: "https://acme.bitrix24.de/crm/deal/details/{id}/#tab"  # our portal')):
        assert old in edited
        edited = edited.replace(old, new)
    path.write_text(edited, encoding="utf-8")
    same = _init(work, export, "--force")
    out = {"same": path.read_text(encoding="utf-8"), "same_err": same.stderr, "same_run": _run(work, export, "2026-11-20")}
    shutil.copy(path, work / "same.yaml")
    new = _init(work, later, "--force")
    out.update(new=path.read_text(encoding="utf-8"), new_err=new.stderr, new_run=_run(work, later, "2026-12-04"))
    out["new_run_err"] = out["new_run"].pop("err")
    return out


def test_same_export_keeps_the_won_stage_and_the_confirmation(story):
    s = yaml.safe_load(story["same"])
    assert (s["won_stages"], s["lost_stages"], s["closed_stages_confirmed"]) == (["Rejected by client"], [], True)
    assert ("# Закрытые этапы: won_stages: / lost_stages: — из вашего crm-audit.yaml (вы их подтвердили).\n"
            "won_stages: [Rejected by client]    # the client's own rejection is our win\nlost_stages: []\n"
            "closed_stages_confirmed: true    # checked by Lucía 2026-11-20\n") in story["same"]
    assert "новые закрытые этапы" not in story["same_err"]


def test_the_run_after_it_audits_the_won_deal_as_won(story):
    # 405 (won, no source) is flagged by 1.8 with 404; as lost it would not be
    assert story["same_run"]["1.8"] == {"402", "404", "405"}
    assert story["same_run"]["state"]["405"] == story["same_run"]["state"]["404"] == "Выиграна"


def test_a_new_closed_stage_is_added_and_only_it_is_unconfirmed(story):
    s = yaml.safe_load(story["new"])
    assert (s["won_stages"], s["lost_stages"], s["closed_stages_confirmed"]) == (
        ["Rejected by client"], ["Cancelled by us"], ["Rejected by client"])
    assert ("# Закрытые этапы: won_stages: / lost_stages: — из вашего crm-audit.yaml (вы их подтвердили); НОВЫЕ\n"
            "# закрытые этапы выгрузки «Cancelled by us» добавлены туда, куда их ставит init: выигрышный перенесите\n"
            "# в won_stages:, проигрышный оставьте в lost_stages:, затем добавьте его в closed_stages_confirmed:\n"
            "# (или поставьте true).\n") in story["new"]
    assert ("в выгрузке новые закрытые этапы «Cancelled by us»; они добавлены в ваши won_stages: / lost_stages: туда, "
            "куда их ставит init (ваше разделение остальных закрытых этапов сохранено), а в closed_stages_confirmed: "
            "теперь только подтверждённые вами («Rejected by client»): проверьте новые в crm-audit.yaml, затем добавьте "
            "их туда") in story["new_err"]


def test_the_run_after_the_new_export_names_only_the_new_closed_stage_unconfirmed(story):
    # the team's confirmed «Rejected by client» stays won (405); the new «Cancelled by us» (406) reads «не подтверждён»
    assert story["new_run"]["1.8"] == {"402", "404", "405", "406"}
    states = story["new_run"]["state"]
    assert (states["404"], states["405"], states["406"]) == ("Выиграна", "Выиграна", "Закрыта (исход не подтверждён)")
    assert "закрытые этапы «Cancelled by us» не подтверждены (их нет в `closed_stages_confirmed:`)" in story["new_run_err"]


def test_confirming_the_new_stage_by_name_ends_the_warning(story, tmp_path):
    from crm_audit.settings import load as load_settings

    path = tmp_path / "crm-audit.yaml"
    path.write_text(story["new"].replace("closed_stages_confirmed: [Rejected by client]",
                                         "closed_stages_confirmed: [Rejected by client, Cancelled by us]"), encoding="utf-8")
    assert load_settings(path).closed_unconfirmed() == []
    path.write_text(story["new"].replace("closed_stages_confirmed: [Rejected by client]",
                                         "closed_stages_confirmed: [Rejected by client, Canceled by us]"), encoding="utf-8")
    done = _cli("validate", "-c", str(path))
    assert "closed_stages_confirmed: «Canceled by us» — такого этапа нет ни в won_stages:, ни в lost_stages:" in done.stdout + done.stderr
    assert "(может быть, «Cancelled by us»?)" in done.stdout + done.stderr


def test_the_teams_own_comments_on_the_kept_lines_stay(story):
    text = story["same"]
    assert "won_stages: [Rejected by client]    # the client's own rejection is our win\n" in text
    assert "closed_stages_confirmed: true    # checked by Lucía 2026-11-20\n" in text
    assert "partner_managers: [Jürgen Müller]    # «our» partner #1\n" in text
    assert 'deal_url: "https://acme.bitrix24.de/crm/deal/details/{id}/#tab"    # our portal\n' in text
    s = yaml.safe_load(text)
    assert s["partner_managers"] == ["Jürgen Müller"] and s["deal_url"] == "https://acme.bitrix24.de/crm/deal/details/{id}/#tab"


def test_a_line_init_changed_loses_the_teams_comment(story):
    text = story["new"]  # closed_stages_confirmed narrowed: «checked by …» no longer true of it
    assert "closed_stages_confirmed: [Rejected by client]\n" in text and "checked by Lucía" not in text
    assert "won_stages: [Rejected by client]    # the client's own rejection is our win\n" in text


def test_trailing_comment_reads_past_quotes_and_hashes_in_values():
    from crm_audit.team_settings import trailing_comment

    assert trailing_comment('deal_url: "https://x/#/deal/{id}"  # ours # really') == "ours # really"
    assert trailing_comment("fields: {a: b#c}") == ""
    assert trailing_comment("lists: ['x # y']   # z") == "z"
