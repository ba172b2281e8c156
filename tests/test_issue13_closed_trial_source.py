"""Issue 13 acceptance P4, P5, P6, played through the CLI as a user types it (`init --from-export` then `run`).

The exports under ``tests/fixtures/issue13-p4-p5-p6`` are the acceptance tester's cases (/tmp/accP):
``sf_fr_noflags`` a French Salesforce report without the «Fermé» / «Gagné» columns, its closed stages spelled
«Fermée/Gagnée» (probability 100) / «Fermée/Perdue» (0); ``sf_fr_flags_VRAI`` the same with the columns written
«VRAI» / «FAUX» by a French Excel; ``sf_en_customclosed_noflags`` an English report of an org that renamed its closed
stages «Won - Signed» / «Lost - No Budget», no Closed / Won columns; ``pd_en_teamfields`` / ``pd_en_defields`` English
Pipedrive exports whose stages are the team's own names («Trial», «Testphase»); ``pd_en_sourceorigin`` an English
Pipedrive export with only Pipedrive's built-in «Source origin» / «Source channel» / «Source channel ID».
"""

from __future__ import annotations

import csv
from pathlib import Path

import yaml
from cli_helpers import cli_ru, init_from_export, run_audit

from crm_audit.engine.profile import load_profile

FIXTURES = Path(__file__).parent / "fixtures" / "issue13-p4-p5-p6"
AS_OF = "2026-11-20"


def _init(capsys, monkeypatch, work: Path, crm: str, case: str) -> str:
    return init_from_export(capsys, monkeypatch, work, crm, FIXTURES / case)


def _run(capsys, monkeypatch, work: Path, case: str) -> tuple[str, str]:
    return run_audit(capsys, monkeypatch, work, FIXTURES / case, AS_OF)


def _rows(work: Path) -> dict[str, set[tuple[str, str, str]]]:
    """rule id -> (title, state, stage) of each finding."""
    out: dict[str, set[tuple[str, str, str]]] = {}
    with open(work / "v.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["rule_id"], set()).add((row["title"], row["state"], row["stage"]))
    return out


# ----------------------------------------------------------------------------------------------------- P4


def test_excel_localized_booleans_read_in_every_bool_field():
    """«VRAI» / «FAUX» (French Excel), «WAHR», «ИСТИНА» … are true / false in Salesforce's Closed / Won fields."""
    fields = load_profile("salesforce").entities["deals"].fields
    for word in ("VRAI", "WAHR", "VERDADERO", "VERO", "VERDADEIRO", "ИСТИНА", "WAAR", "PRAWDA"):
        assert word.casefold() in {v.casefold() for v in fields["is_closed"].values["true"]}
    for word in ("FAUX", "FALSCH", "FALSO", "ЛОЖЬ", "ONWAAR", "FAŁSZ"):
        assert word.casefold() in {v.casefold() for v in fields["is_won"].values["false"]}
    # a task status keeps its own meaning
    assert "open" in {v.casefold() for v in load_profile("salesforce").entities["activities"].fields["done"].values["false"]}


def test_vrai_faux_flags_close_the_deals(tmp_path, capsys, monkeypatch):
    work = tmp_path / "w"
    text = _init(capsys, monkeypatch, work, "salesforce", "sf_fr_flags_VRAI")
    s = yaml.safe_load(text)
    assert s["pipelines"]["Ventes"][:3] == ["Prospection", "Qualification", "Proposition/Devis"]
    assert s["on_bad_value"] == "error"  # every cell reads: nothing to «fix in the CRM»
    out, err = _run(capsys, monkeypatch, work, "sf_fr_flags_VRAI")
    assert "FAUX" not in out + err
    assert _rows(work)["no-stage-movement"] == {("Acme renewal", "Открыта", "Prospection"),
                                                ("Initech upsell", "Открыта", "Proposition/Devis")}


def test_no_flags_closed_stages_from_probability(tmp_path, capsys, monkeypatch):
    """Without Closed / Won: probability 100 / 0 makes «Fermée/Gagnée» won and «Fermée/Perdue» lost — guessed, said so,
    out of the open order; the run audits them closed and warns until the team confirms."""
    work = tmp_path / "w"
    text = _init(capsys, monkeypatch, work, "salesforce", "sf_fr_noflags")
    s = yaml.safe_load(text)
    assert s["won_stages"] == ["Fermée/Gagnée"]
    assert s["lost_stages"] == ["Fermée/Perdue"]
    assert s["closed_stages_confirmed"] is False
    assert s["pipelines"]["Ventes"][:3] == ["Prospection", "Qualification", "Proposition/Devis"]
    assert "#   «Fermée/Gagnée» — выигрышный: у всех его сделок «Probabilité (%)» 100" in text
    assert "#   «Fermée/Perdue» — проигрышный: у всех его сделок «Probabilité (%)» 0" in text
    assert "# Порядок этапов взят из данных CRM.\n" not in text
    out, err = _run(capsys, monkeypatch, work, "sf_fr_noflags")
    assert "закрытые этапы «Fermée/Gagnée», «Fermée/Perdue» не подтверждены (`closed_stages_confirmed: false`)" in out + err
    assert _rows(work)["no-stage-movement"] == {("Acme renewal", "Открыта", "Prospection"),
                                                ("Initech upsell", "Открыта", "Proposition/Devis")}


def test_no_flags_renamed_english_closed_stages(tmp_path, capsys, monkeypatch):
    work = tmp_path / "w"
    s = yaml.safe_load(_init(capsys, monkeypatch, work, "salesforce", "sf_en_customclosed_noflags"))
    assert (s["won_stages"], s["lost_stages"]) == (["Won - Signed"], ["Lost - No Budget"])
    assert s["pipelines"]["Продажи"][0] == "Prospecting"
    _run(capsys, monkeypatch, work, "sf_en_customclosed_noflags")
    stuck = {t for t, _state, _stage in _rows(work)["no-stage-movement"]}
    assert stuck == {"Acme renewal", "Initech upsell"}


def test_closed_words_without_probability():
    from crm_audit.engine.closed_guess import name_outcome

    assert name_outcome("Fermée/Gagnée", ["fr"]) == ("won", "gagnée")
    assert name_outcome("Lost - No Budget", ["en"]) == ("lost", "lost")
    assert name_outcome("Geschlossen", ["de"]) == ("closed", "geschlossen")
    assert name_outcome("Proposition/Devis", ["fr", "en"]) is None


# ----------------------------------------------------------------------------------------------------- P5


def test_trial_stage_proposed_from_the_teams_names(tmp_path, capsys, monkeypatch):
    for case, stage in (("pd_en_teamfields", "Trial"), ("pd_en_defields", "Testphase")):
        work = tmp_path / case
        text = _init(capsys, monkeypatch, work, "pipedrive", case)
        assert yaml.safe_load(text)["trial_stages"] == [stage]
        assert f"#   «{stage}» — похоже на «Тестовый период» руководства" in text
        _run(capsys, monkeypatch, work, case)
        assert "Тета Тест период" not in {t for t, _s, _st in _rows(work).get("no-stage-movement", set())}


def test_no_trial_stage_is_said(tmp_path, capsys, monkeypatch):
    text = _init(capsys, monkeypatch, tmp_path / "w", "salesforce", "sf_fr_noflags")
    assert "# В выгрузке не найден этап тестового периода" in text
    assert yaml.safe_load(text)["trial_stages"] == []


# ----------------------------------------------------------------------------------------------------- P6


def test_source_origin_is_never_the_deal_source(tmp_path, capsys, monkeypatch):
    work = tmp_path / "w"
    text = _init(capsys, monkeypatch, work, "pipedrive", "pd_en_sourceorigin")
    s = yaml.safe_load(text)
    assert "deal.Источник сделки" not in (s.get("fields") or {})
    assert "Source d'origine" not in text
    assert "#   deal.Источник сделки: Source channel    # «Source channel»: встроенное поле CRM" in text
    assert "в выгрузке нет поля «Источник сделки»" in s["rules"]["skip"]["missing-source"]
    out, err = _run(capsys, monkeypatch, work, "pd_en_sourceorigin")
    assert "1.8 Нет источника: Правило пропущено" in out + err


def test_field_comment_quotes_the_exports_header(tmp_path, capsys, monkeypatch):
    text = _init(capsys, monkeypatch, tmp_path / "w", "pipedrive", "pd_en_teamfields")
    assert "deal.Источник сделки: Lead source    # так это поле называют: «Lead source» — проверьте" in text


def test_inspect_names_the_trial_stage_or_its_absence(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no crm-audit.yaml of the team's: inspect says what init would propose
    code, out, _err = cli_ru(capsys, monkeypatch, "inspect", str(FIXTURES / "pd_en_teamfields"))
    assert code == 0
    line = next(x for x in out.splitlines() if "no-stage-movement" in x)
    assert line.endswith("выполнится: `init --from-export` предложит trial_stages: «Trial» (по названиям этапов) — проверьте")
    code, out, _err = cli_ru(capsys, monkeypatch, "inspect", str(FIXTURES / "sf_fr_noflags"))
    line = next(x for x in out.splitlines() if "no-stage-movement" in x)
    assert "этап тестового периода среди этапов выгрузки не найден" in line


def test_deal_in_a_stage_the_settings_do_not_list_is_warned(tmp_path, capsys, monkeypatch):
    """No closed flags: a deal in a stage neither the pipelines nor won_stages: / lost_stages: list is named by row."""
    import shutil

    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "sf_fr_noflags", export)
    work = tmp_path / "w"
    code, _out, err = cli_ru(capsys, monkeypatch, "init", str(work), "--crm", "salesforce", "--from-export", str(export))
    assert code == 0, err
    report = next(export.glob("*.csv"))
    lines = report.read_text(encoding="utf-8").split("\n")
    lines.insert(6, '"Jane Doe","Zeta","Zeta deal","Signée","100","100","31/12/2026","01/06/2026","Web","40"')
    report.write_text("\n".join(lines), encoding="utf-8")
    code, out, err = cli_ru(capsys, monkeypatch, "run", "-c", str(work / "crm-audit.yaml"), "--export", str(export),
                            "--as-of", AS_OF, "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"),
                            "--ledger", str(work / "l.db"))
    assert code == 0, err
    assert "строка 7 «Étape»: сделка" in out + err and "этапа «Signée» нет в воронке «Ventes» настроек" in out + err
