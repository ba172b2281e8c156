"""Issue 13, acceptance pass L on exports not seen before (/tmp/work/accL/DEFECTS.md): L1, L7 — what a Kommo pt-BR
leads export's columns are. Each export is a small copy under tests/fixtures/real/* (a README names its source and
which values the tester wrote), through `init --from-export` → `run` as a user types them, no hand edits.

* L1 «Última modificação» (the lead's last edit: a note, a tag) was proposed as `stage_changed` — it only resembles
  Pipedrive pt «Última alteração de etapa» — so 2.4 audited days in stage from the last edit and the order guess used
  it. A column is proposed for `stage_changed` only when its name speaks of a stage or a move
  (crm_audit/engine/suggest_guards.yaml `needs_words`); Kommo's is `modified`, as amoCRM's «Дата редактирования»;
* L7 the Kommo pt headers are the amoCRM profile's pt aliases (title «Lead título», owner «Lead usuário responsável»,
  pipeline «Funil de vendas», created «Data Criada», closed «Fechada em» / «Data Fechada», lost reason «Motivo de
  insucesso», modified «Última modificação», the lead's company «Empresa lead 's»), detected «уверенно».
"""

from __future__ import annotations

import csv
from pathlib import Path

import yaml

from crm_audit.cli import main
from crm_audit.engine.profile import load_profile
from crm_audit.engine.suggest import candidates, says_field
from real_fixtures import copy_export as _export

REAL = Path(__file__).parent / "fixtures" / "real"
KOMMO = "kommo_ptbr"
KOMMO_AS_OF = "2025-05-20"


def _init(tmp: Path, export: Path, *crm: str) -> tuple[dict, str]:
    args = ["init", str(tmp), "--from-export", str(export)] + (["--crm", crm[0]] if crm else [])
    assert main(args) == 0
    text = (tmp / "crm-audit.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text), text


def _run(tmp: Path, export: Path, as_of: str, capsys) -> str:
    capsys.readouterr()
    assert main(["run", "-c", str(tmp / "crm-audit.yaml"), "--export", str(export), "--as-of", as_of,
                 "--out", str(tmp / "audit.xlsx"), "--violations-csv", str(tmp / "v.csv")]) == 0
    return capsys.readouterr().out


def _rows(tmp: Path) -> list[dict[str, str]]:
    with open(tmp / "v.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_l1_l7_kommo_pt_headers_read_by_the_profile(tmp_path, capsys):
    export = _export(tmp_path, KOMMO)
    capsys.readouterr()
    assert main(["inspect", str(export)]) == 0
    out = capsys.readouterr().out
    # detected for sure now (it was «amocrm 5 … not sure»), every Kommo pt column read by its profile name
    assert "amocrm 25" in out and "not sure" not in out
    for pair in ("Lead título → title", "Funil de vendas → pipeline", "Data Criada → created", "Última modificação → modified",
                 "Empresa lead 's → org_name", "Lead usuário responsável → owner", "Fechada em → closed",
                 "Motivo de insucesso → lost_reason"):
        assert pair in out, pair
    assert "stage_changed" not in out.split("Rules:")[0]  # neither mapped nor suggested

    s, text = _init(tmp_path, export)
    assert s["crm"] == "amocrm"
    # nothing left for the user to map: no «похоже на …» column (stage_changed: Última modificação before)
    assert s["columns"] in ({}, None)
    # 2.2 / 2.4 stay off with amoCRM's own reason, as for the Russian export (2.4 ran on the last edit before)
    skip = s["rules"]["skip"]
    assert skip["no-stage-movement"].startswith("в выгрузке amoCRM нет даты перехода сделки на текущий этап")
    assert skip["stuck-in-accepted"] == skip["no-stage-movement"]
    # the stage order guess no longer reads days from creation to «Última modificação»
    assert "до перехода на этап" not in text
    assert s["pipelines"] == {"Funil de vendas": ["Etapa de leads de entrada", "Contato inicial", "Negociação", "Venda ganha",
                                                  "Venda perdida"]}
    # `--crm kommo` writes the same file
    other = tmp_path / "kommo"
    other.mkdir()
    _s2, text2 = _init(other, export, "kommo")
    assert text2 == text

    out = _run(tmp_path, export, KOMMO_AS_OF, capsys)
    assert "2.4 No stage movement" not in out or "skipped" in out.split("2.4")[1].splitlines()[0]
    rows = _rows(tmp_path)
    assert not [r for r in rows if r["rule_code"] == "2.4"]
    # the lost lead's reason is read (it was blank); its owner is «Lead usuário responsável»
    lost = next(r for r in rows if r["deal_id"] == "18001238")
    assert (lost["state"], lost["reason"], lost["owner"]) == ("Проиграна", "Sem retorno do cliente", "Karla Yonara")
    # 1.11: the two open leads without any company; «Plano anual» / «Consultoria nutricional» have «Empresa lead 's»
    assert sorted(r["deal_id"] for r in rows if r["rule_code"] == "1.11") == ["18001234", "18001236"]


def test_l1_a_change_date_is_proposed_for_stage_changed_only_when_it_speaks_of_a_stage():
    kommo = load_profile("amocrm")
    # Kommo's own name is `modified` now; but as a column no profile names, the last edit is never a stage change
    assert not says_field("deals", "stage_changed", "Última modificação")
    assert not says_field("deals", "stage_changed", "Updated at")
    assert not says_field("deals", "stage_changed", "Дата редактирования")
    assert [c for c in candidates(kommo, "deals", "Última atualização", ["stage_changed"])] == []
    # a stage change in the CRMs' languages still is one (compounds too: «Phasenänderung», «stegändring»)
    for h in ("Última alteração de etapa", "Letzte Phasenänderung", "Dernier changement d'étape", "Ostatnia zmiana etapu",
              "Senaste stegändring", "Poslední změna fáze", "Дата перехода на этап", "Дата изменения стадии", "MOVED_TIME",
              "Date entered current stage"):
        assert says_field("deals", "stage_changed", h), h
    assert candidates(kommo, "deals", "Data da última mudança de etapa", ["stage_changed"])
    # other fields are not held to it
    assert says_field("deals", "modified", "Última modificação")


def _flagged_1_5(tmp: Path, name: str, as_of: str, capsys) -> list[tuple[str, str]]:
    export = _export(tmp, name)
    _init(tmp, export)
    _run(tmp, export, as_of, capsys)
    return [(r["deal_id"], r["title"]) for r in _rows(tmp) if r["rule_code"] == "1.5"]


def test_l8_crm_auto_names_are_placeholder_titles(tmp_path, capsys):
    """amoCRM «Сделка #ID», Kommo «Lead #ID», Pipedrive de «Neuer Deal»: 1.5 flags the open deal (0 in all three before);
    a lost «teste» / «тест» stays out of 1.5's scope (open deals)."""
    amo, kommo, pd = (tmp_path / n for n in ("amo", "kommo", "pd"))
    for d in (amo, kommo, pd):
        d.mkdir()
    assert _flagged_1_5(amo, "amo_ru_jevelina_names", "2021-03-25", capsys) == [("21034567", "Сделка #21034567")]
    assert _flagged_1_5(kommo, KOMMO, KOMMO_AS_OF, capsys) == [("18001234", "Lead #18001234")]
    assert _flagged_1_5(pd, "pd_de_mongo_names", "2025-11-20", capsys) == [("102", "Neuer Deal")]


def _inspect(export: Path, capsys, *, russian: bool) -> str:
    """`crm-audit inspect` as a user runs it (Russian: the CLI's default language), its language reset afterwards."""
    from crm_audit.i18n import use_language

    capsys.readouterr()
    try:
        if russian:
            use_language("ru")
        assert main(["inspect", str(export)]) == 0
    finally:
        use_language(None)
    return capsys.readouterr().out


def test_l11_a_column_without_header_is_named_in_the_clis_language(tmp_path, capsys, monkeypatch):
    export = _export(tmp_path, "sf_oklein_noheader")
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "ru")
    out = _inspect(export, capsys, russian=True)
    assert "пропущены: столбец 1 (без заголовка)" in out
    assert "no header" not in out
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "en")
    assert "ignored: column 1 (no header)" in _inspect(export, capsys, russian=False)


def test_l12_inspect_names_the_duplicate_headers_as_run_does(tmp_path, capsys):
    export = _export(tmp_path, "amo_ru_jevelina_names")
    out = _inspect(export, capsys, russian=False)
    problems = out.split("First parse problems:")[1]
    # «Источник» (read as the rule field «Источник сделки» by init's fields:), «Товар», cid, uid, tid, roistat: each
    # twice, each named with its columns and which one is read — as `run` warns
    assert "the column «Источник» appears 2 times (columns 32, 75)" in problems
    for name, cols in (("Товар", "34, 70"), ("cid", "42, 72"), ("uid", "43, 73"), ("tid", "44, 74"), ("roistat", "53, 65")):
        assert f"the column «{name}» appears 2 times (columns {cols})" in problems, name
    assert "more" not in problems  # all six said, none cut off
    _init(tmp_path, export)
    run_out = _run(tmp_path, export, "2021-03-25", capsys)
    assert "the column «Источник» appears 2 times (columns 32, 75)" in run_out


