"""Issue 13, acceptance L2–L5 on the tester's exports (tests/fixtures/real/<name>/, each README names its source and
what the tester wrote), each through the CLI as a user runs it — `init --from-export` → `run`, no hand edits:

* L2 a deal's probability is the deal's: the stage order from the open deals' values only, and only where they
  agree per stage — else guessed, with the warning (Pipedrive de: a lost deal at 0 % put «Angebot gesendet» first);
* L3 a Salesforce dump whose IsWon / IsClosed contradict each other and the stage: warned by file, column and rows;
  «no open deal» said; the order not said to come from CRM data that the export does not carry;
* L4 a deals file without a pipeline column: its deals are in the one pipeline init writes, the pipeline rules run;
* L5 the handbook's «Клиенты» proposed for a team's only pipeline whatever the CRM names it (amoCRM «Воронка»).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import yaml

from cli_helpers import cli_ru

REAL = Path(__file__).parent / "fixtures" / "real"


def init_and_run(tmp_path, capsys, monkeypatch, export: Path, as_of: str) -> tuple[dict, str, str, list[dict]]:
    """`init --from-export` then `run` in a fresh folder: (settings written, the settings' text, run's stdout, CSV rows)."""
    work = tmp_path / "w"
    code, out, err = cli_ru(capsys, monkeypatch, "init", str(work), "--from-export", str(export))
    assert code == 0, err
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    code, out, err = cli_ru(capsys, monkeypatch, "run", "--config", str(work / "crm-audit.yaml"), "--export", str(export),
                            "--as-of", as_of, "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"))
    assert code == 0, err
    with (work / "v.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return yaml.safe_load(text), text, out + err, rows


# --------------------------------------------------------------------------- L2


def test_l2_stage_order_from_the_open_deals_probability_only(tmp_path, capsys, monkeypatch):
    """Open deals at 10 / 20 / 50 %: «Qualifiziert», «Kontakt hergestellt», «Angebot gesendet»; «Verhandlung» holds only
    the won deal (100 %) — no open deal's value, so it is placed last and the order is a (partial) guess: false, with
    the warning, and 1.3 (compares stages) is off until the user confirms. Before: «Angebot gesendet» first (the lost
    deal's 0 %), confirmed, and 1.3 flagged deal 102 two stages before the proposal."""
    s, text, out, rows = init_and_run(tmp_path, capsys, monkeypatch, REAL / "pd_de_mongo", "2025-11-20")
    assert s["pipelines"] == {"Vertrieb": ["Qualifiziert", "Kontakt hergestellt", "Angebot gesendet", "Verhandlung"]}
    assert s["stage_order_confirmed"] is False
    assert ("# порядок угадан частично: порядок из данных CRM (вероятность / порядок этапа), по открытым сделкам; у этапов "
            "«Verhandlung» значения нет") in text
    assert "missing-amount-after-proposal" in s["rules"]["skip"]
    assert not [r for r in rows if r["rule_code"] == "1.3"]
    assert "порядок этапов в `pipelines:` угадан" in out or "угадан" in out
    assert "1.3 Нет суммы после КП       пропущено" in out
    # inspect (no settings yet) says what init writes: 1.3 off, with init's reason (acceptance L5)
    code, out, _err = cli_ru(capsys, monkeypatch, "inspect", str(REAL / "pd_de_mongo"))
    line = [ln for ln in out.splitlines() if "missing-amount-after-proposal" in ln][0]
    assert line.endswith("будет пропущено: `init --from-export` выключит его: порядок этапов воронки «Vertrieb» угадан, а "
                         "правило сравнивает этапы («этап не раньше «Отправлено КП»»): предложенное stage_names: "
                         "(Отправлено КП: Angebot gesendet) записано закомментированным"), line


def test_l2_a_closed_deals_probability_does_not_move_the_order(tmp_path, capsys, monkeypatch):
    """The tester's variant: lost deal 104 at 50 % instead of 0 % — the same order as above (before, one closed deal's
    value decided it: «Qualifiziert, Kontakt hergestellt, Angebot gesendet» vs «Angebot gesendet» first)."""
    s, _text, _out, _rows = init_and_run(tmp_path, capsys, monkeypatch, REAL / "pd_de_mongo_prob50", "2025-11-20")
    assert s["pipelines"] == {"Vertrieb": ["Qualifiziert", "Kontakt hergestellt", "Angebot gesendet", "Verhandlung"]}
    assert s["stage_order_confirmed"] is False


def test_l2_open_deals_disagreeing_on_a_stage_leave_it_to_the_guess(tmp_path, capsys, monkeypatch):
    """Two open deals of «Qualifiziert» at 10 % and 60 % (a manager edited one): the stage has no one value — placed
    after the valued stages, named with both values, the order a guess."""
    export = tmp_path / "ex"
    shutil.copytree(REAL / "pd_de_mongo", export)
    path = export / "deals.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    extra = lines[2].replace("Neuer Deal", "Zweiter Deal").replace(",102,", ",106,").replace(",10,1,", ",60,1,")
    assert extra != lines[2] and ",60,1," in extra
    path.write_text("\n".join([*lines, extra]) + "\n", encoding="utf-8")
    s, text, _out, _rows = init_and_run(tmp_path, capsys, monkeypatch, export, "2025-11-20")
    assert s["pipelines"] == {"Vertrieb": ["Kontakt hergestellt", "Angebot gesendet", "Qualifiziert", "Verhandlung"]}
    assert s["stage_order_confirmed"] is False
    assert "у открытых сделок этапа «Qualifiziert» разные значения (10, 60)" in text


# --------------------------------------------------------------------------- L3


FLAGS_WON = ("Opportunity.csv строка 3 «IsWon»: сделок: 4, у которых «IsWon» говорит «выиграна», а «IsClosed» — «не "
             "закрыта» (строки 3, 4, 6, 7): в CRM так не бывает")
OPEN_STAGE = ("Opportunity.csv строка 2 «StageName»: сделок: 4 на этапе, названном открытым, «Open» (столбец «StageName»), "
              "которые «IsClosed», «IsWon» называют закрытыми (строки 2, 5, 8, 9)")
NO_OPEN = "Opportunity.csv: ни одна из сделок (8) не открыта (выиграно: 4, проиграно: 4): правилам открытых сделок нечего проверять"


def test_l3_contradictory_salesforce_flags_and_no_open_deal_are_said(tmp_path, capsys, monkeypatch):
    """Oklein1's generated Opportunity.csv: IsWon=1 with IsClosed=0 («Closed Won», 4 rows), IsClosed=1 in a stage
    «Open» (4 rows). The settings no longer say the order came from CRM data (no probability / sort column), the
    pipeline says no stage is open; inspect and run name the rows; run says no deal is open — never a silent pass."""
    s, text, out, rows = init_and_run(tmp_path, capsys, monkeypatch, REAL / "sf_oklein_api", "2024-11-10")
    assert s["pipelines"] == {"Продажи": ["Closed Won", "Closed Lost", "Open"]}
    assert "Порядок этапов взят из данных CRM" not in text
    assert "# открытых этапов нет: ни одна сделка этой воронки в выгрузке не открыта" in text
    assert "# Порядок этапов не угадан, но и не взят из данных CRM" in text
    for said in (FLAGS_WON, OPEN_STAGE, NO_OPEN):
        assert said in out, out
    assert rows == []
    code, out, _err = cli_ru(capsys, monkeypatch, "inspect", str(REAL / "sf_oklein_api"))
    assert code == 0
    for said in (FLAGS_WON, OPEN_STAGE, NO_OPEN):
        assert said in out, out


def test_l3_the_open_deal_without_an_account_is_not_silently_passed(tmp_path, capsys, monkeypatch):
    """AccountId blanked on the first «Open» deal (IsClosed=1): the flags close it, so 1.11 cannot flag it — and the
    run says why (the «Open» stage closed by the flags, at row 2, and no open deal at all)."""
    _s, _text, out, rows = init_and_run(tmp_path, capsys, monkeypatch, REAL / "sf_oklein_api_noacct", "2024-11-10")
    assert rows == []
    assert OPEN_STAGE in out and NO_OPEN in out and FLAGS_WON in out


# --------------------------------------------------------------------------- L4


def test_l4_deals_without_a_pipeline_column_are_in_the_one_pipeline(tmp_path, capsys, monkeypatch):
    """French Pipedrive list export without «Affaire - Pipeline»: init writes «Основная воронка» and `Клиенты:` for it;
    no rule is off for the missing pipeline column; the deals carry the pipeline, 1.11 runs and flags deal 1 once its
    organisation is blank (a copy of the export), with the pipeline in the CSV."""
    export = tmp_path / "ex"
    shutil.copytree(REAL / "pd_fr_argentic_id", export)
    path = export / "deals.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(";Boulangeries Durand;", ";;"), encoding="utf-8")
    s, text, out, rows = init_and_run(tmp_path, capsys, monkeypatch, export, "2026-11-20")
    assert list(s["pipelines"]) == ["Основная воронка"]
    assert s["pipeline_names"] == {"Клиенты": "Основная воронка"}
    assert "Affaire - Pipeline" not in text
    assert "open-deal-without-organization" not in s["rules"]["skip"]
    hits = [(r["rule_code"], r["deal_id"], r["pipeline"], r["stage"]) for r in rows if r["rule_code"] == "1.11"]
    assert hits == [("1.11", "1", "Основная воронка", "Proposition")]
    assert "1.11 Нет организации               1" in out
    code, out, _err = cli_ru(capsys, monkeypatch, "inspect", str(export), "--config", str(tmp_path / "w" / "crm-audit.yaml"))
    assert "(колонки нет: «Основная воронка») → pipeline" in out
    assert [ln for ln in out.splitlines() if "open-deal-without-organization" in ln][0].endswith("выполнится")


# --------------------------------------------------------------------------- L5


def test_l5_the_only_pipeline_is_proposed_for_the_handbooks_clients_pipeline(tmp_path, capsys, monkeypatch):
    """amoCRM's single pipeline «Воронка» (no synonym of «Клиенты»): proposed as `Клиенты: Воронка` as Pipedrive's
    «Vertrieb» is, so 1.11 runs as inspect says it will, and flags the two open leads without any company."""
    code, out, _err = cli_ru(capsys, monkeypatch, "inspect", str(REAL / "amo_ru_jevelina_l5"))
    assert [ln for ln in out.splitlines() if "open-deal-without-organization" in ln][0].endswith("выполнится")
    # 1.13 is off either way: no organisations file (inspect), no stage «Проведено демо» (init)
    assert "partner-manager-deal-without-partner  будет пропущено" in out
    s, text, out, rows = init_and_run(tmp_path, capsys, monkeypatch, REAL / "amo_ru_jevelina_l5", "2021-03-25")
    assert s["pipeline_names"] == {"Клиенты": "Воронка"}
    assert "Клиенты: Воронка    # воронка руководства «Клиенты» — у вас одна воронка, «Воронка»" in text
    assert "open-deal-without-organization" not in s["rules"]["skip"]
    hits = sorted((r["deal_id"], r["pipeline"]) for r in rows if r["rule_code"] == "1.11")
    assert hits == [("21034568", "Воронка"), ("21034571", "Воронка")]
