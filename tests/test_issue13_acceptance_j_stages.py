"""Issue 13, acceptance tester J's defects of stage order and stage / pipeline proposals (J2, J9), replayed on the
tester's exports (tests/fixtures/issue13-acceptance-j-stages/<case>, copied from /tmp/work/accB and accJ) the way a
user runs them: `crm-audit init --crm X --from-export DIR`, then `run`.

* J2 — init proposed `stage_names: {Отправлено КП: <the team's proposal stage>}` while the stage order was guessed by
  first appearance, so deals in EARLIER stages counted as «at or after» the proposal: 1.3 flagged pd_fr 502
  «Contact établi» and pd_pl 702 «Kwalifikacja» on the first run. Now the CRM's default pipeline per interface
  language (crm_audit/default_pipelines.yaml) orders the stages it names; a pipeline left partly guessed keeps the
  proposal commented out (1.3 off, saying why), and a rule comparing stages by an unconfirmed order says so on its
  sheet and in the terminal.
* J9 — a Chinese proposal stage «提议/报价» is proposed for «Отправлено КП»; a Salesforce report without a pipeline
  column puts its deals in a pipeline named in the report's language («销售»), not «Продажи».
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import yaml

from crm_audit.cli import main
from crm_audit.stage_defaults import order_by_default

CASES = Path(__file__).parent / "fixtures" / "issue13-acceptance-j-stages"
AS_OF = "2026-11-20"


def init(work: Path, crm: str, export: Path) -> dict:
    assert main(["init", str(work), "--crm", crm, "--from-export", str(export)]) == 0
    return yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))


def run(cfg: Path, export: Path, capsys=None) -> tuple[int, str]:
    if capsys is not None:
        capsys.readouterr()
    code = main(["run", "-c", str(cfg), "--export", str(export), "--as-of", AS_OF, "--out", str(cfg.parent / "audit.xlsx"),
                 "--violations-csv", str(cfg.parent / "v.csv")])
    if capsys is None:
        return code, ""
    got = capsys.readouterr()
    return code, got.out + got.err


def findings(work: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    with (work / "v.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["rule_id"], set()).add(row["deal_id"])
    return out


def sheet_texts(xlsx: Path) -> list[str]:
    import openpyxl

    wb = openpyxl.load_workbook(xlsx)
    return [c for ws in wb for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]


# --------------------------------------------------------------------------- the default pipelines as data


def test_default_pipeline_orders_the_stages_it_knows_and_keeps_the_others_in_place():
    # Pipedrive fr: «Proposition faite» (Proposal Made) came first in the file, «Contact établi» (Contact Made) later
    d = order_by_default("pipedrive", ["Proposition faite", "Contact établi"])
    assert d.stages == ["Contact établi", "Proposition faite"] and d.complete and d.languages == ["fr"]
    # a stage the default pipeline does not name keeps its place; the known ones are sorted into the others' places
    d = order_by_default("pipedrive", ["Offerta inviata", "Negoziazioni iniziate", "Sopralluogo", "Qualificato"])
    assert d.stages == ["Offerta inviata", "Qualificato", "Sopralluogo", "Negoziazioni iniziate"]
    assert d.unplaced == ["Offerta inviata", "Sopralluogo"] and not d.complete
    # case, spaces and accents do not matter; languages may mix in one pipeline
    assert order_by_default("pipedrive", ["NEGOTIATIONS STARTED", "qualificado", "Contacto  realizado"]).stages == [
        "qualificado", "Contacto  realizado", "NEGOTIATIONS STARTED"]
    # Bitrix24 by its SORT (NEW 10 … FINAL_INVOICE 50), Spanish (la) as the lang files name them
    assert order_by_default("bitrix24", ["Factura final", "En progreso", "En desarrollo"]).stages == [
        "En desarrollo", "En progreso", "Factura final"]
    # Polish NEW and EXECUTING are both «W toku»: that name places nothing
    d = order_by_default("bitrix24", ["Faktura końcowa", "W toku", "Utwórz dokumenty"])
    assert d.unplaced == ["W toku"] and d.stages == ["Utwórz dokumenty", "W toku", "Faktura końcowa"]
    # HubSpot's default sales pipeline, amoCRM's and Salesforce's
    assert order_by_default("hubspot", ["Contract sent", "Appointment scheduled"]).stages == ["Appointment scheduled", "Contract sent"]
    assert order_by_default("amocrm", ["Согласование договора", "Первичный контакт"]).stages == ["Первичный контакт", "Согласование договора"]
    assert order_by_default("salesforce", ["提议/报价", "资格审查"]).stages == ["资格审查", "提议/报价"]
    # a CRM without data, or no known stage: nothing to say
    assert order_by_default("pipedrive", ["Sopralluogo"]) is None and order_by_default("nocrm", ["New"]) is None


# --------------------------------------------------------------------------- J2: the first run is right


@pytest.mark.parametrize("case, early, stages", [
    ("pd_fr", "502", ["Contact établi", "Proposition faite"]),
    ("pd_pl", "702", ["Kwalifikacja", "Oferta wysłana"]),
])
def test_default_pipeline_order_makes_the_proposal_rule_right_on_the_first_run(tmp_path, case, early, stages):
    """Every stage is one of Pipedrive's default stages in the export's language: the order is the CRM's, written
    with its source and needing no confirmation; 1.3 runs and the won deal in the EARLIER stage is not flagged."""
    export = CASES / case
    s = init(tmp_path, "pipedrive", export)
    (pipeline, got), = s["pipelines"].items()
    assert got == stages and s["stage_order_confirmed"] is True
    assert s["stage_names"] == {"Отправлено КП": stages[1]}
    text = (tmp_path / "crm-audit.yaml").read_text(encoding="utf-8")
    assert f"# порядок стандартной воронки Pipedrive ({case[3:]}): все этапы — её этапы" in text
    assert "missing-amount-after-proposal" not in (s["rules"]["skip"] or {})
    code, _ = run(tmp_path / "crm-audit.yaml", export)
    assert code == 0
    assert early not in findings(tmp_path).get("missing-amount-after-proposal", set())


def test_a_partly_guessed_order_keeps_the_proposal_commented_out(tmp_path, capsys):
    """«Offerta inviata» (the team's proposal stage) and «Sopralluogo» are no default stages: their place is a guess,
    so init writes the proposed `Отправлено КП: Offerta inviata` commented out and 1.3 off, naming the pipeline and the
    confirm key — the open deal 612 in «Qualificato» with no amount is not flagged on a guess."""
    export = CASES / "pd_it_custom"
    s = init(tmp_path, "pipedrive", export)
    assert s["stage_order_confirmed"] is False
    assert s["stage_names"] == {}
    text = (tmp_path / "crm-audit.yaml").read_text(encoding="utf-8")
    assert "#   Отправлено КП: Offerta inviata" in text
    assert "порядок угадан частично: «Qualificato» — по стандартной воронке Pipedrive (it)" in text
    why = s["rules"]["skip"]["missing-amount-after-proposal"]
    assert "порядок этапов воронки «Vendite» угадан" in why and "(Отправлено КП: Offerta inviata)" in why
    assert "поставьте stage_order_confirmed: true, перенесите «Отправлено КП: Offerta inviata» в stage_names:" in text
    code, out = run(tmp_path / "crm-audit.yaml", export, capsys)
    assert code == 0 and "missing-amount-after-proposal" not in findings(tmp_path)

    # the user moves the line in without checking the order: 1.3 runs, and says on its sheet and in the terminal that
    # it compares by a guessed order
    cfg = tmp_path / "crm-audit.yaml"
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    data["stage_names"] = {"Отправлено КП": "Offerta inviata"}
    del data["rules"]["skip"]["missing-amount-after-proposal"]
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    code, out = run(cfg, export, capsys)
    assert code == 0
    assert ("1.3 missing-amount-after-proposal: compares stages («stage ≥ Offerta inviata») by the order of «Vendite», "
            "which was guessed from the export") in out
    note = ("Внимание: правило сравнивает этапы («этап не раньше «Offerta inviata»») по порядку воронки «Vendite», а "
            "этот порядок угадан по выгрузке")
    texts = sheet_texts(tmp_path / "audit.xlsx")
    assert any(note in t for t in texts)
    # the FAQ says it in Russian (the catalogue's translation)
    assert any("1.3 Нет суммы после КП: сравнивает этапы («этап не раньше Offerta inviata») по порядку воронки «Vendite»" in t
               for t in texts)

    # confirmed: no such note
    data["stage_order_confirmed"] = True
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    code, out = run(cfg, export, capsys)
    assert code == 0 and "by the order of «Vendite»" not in out
    assert not any("порядку воронки «Vendite»" in t for t in sheet_texts(tmp_path / "audit.xlsx"))


# --------------------------------------------------------------------------- J9: Chinese names, the report's pipeline


def test_salesforce_chinese_report_proposal_stage_and_pipeline_in_its_language(tmp_path, capsys):
    """A zh-CN Salesforce report (no record type column): its one pipeline is «销售» in the settings, in the run's
    messages and on the deals; «提议/报价» is proposed for the handbook's «Отправлено КП» (its order is Salesforce's
    default, so the proposal is active)."""
    export = tmp_path / "export"
    shutil.copytree(CASES / "sf_zh", export)
    s = init(tmp_path / "w", "salesforce", export)
    assert list(s["pipelines"]) == ["销售"] and "Продажи" not in (tmp_path / "w" / "crm-audit.yaml").read_text(encoding="utf-8")
    assert s["pipeline_names"] == {"Клиенты": "销售"}
    assert s["stage_names"] == {"Отправлено КП": "提议/报价"}
    assert s["stage_order_confirmed"] is True
    code, out = run(tmp_path / "w" / "crm-audit.yaml", export, capsys)
    assert code == 0 and "Продажи" not in out
    # 1.3: the open pilot «北京科技 试点» in «提议/报价» has CNY 0.00
    assert findings(tmp_path / "w").get("missing-amount-after-proposal") == {"0065g00000ZhA01AAA"}
    rows = list(csv.DictReader((tmp_path / "w" / "v.csv").open(encoding="utf-8")))
    assert {r["pipeline"] for r in rows} == {"销售"}


def test_salesforce_report_language_decides_the_pipeline_name(tmp_path):
    """The same report with French headers: «Ventes»; with English headers (no language of `languages:`) the
    handbook's «Продажи» as before."""
    src = CASES / "sf_zh" / "report1700000000055.csv"
    rows = list(csv.reader(src.open(encoding="utf-8-sig")))
    for lang, header, want in (("fr", ["Propriétaire de l'opportunité", "Nom du compte", "Nom de l'opportunité", "Étape",
                                       "Montant", "Date de clôture", "Date de création", "Fermé", "Gagné",
                                       "ID de l'opportunité", "Origine de la piste"], "Ventes"),
                               ("en", ["Opportunity Owner", "Account Name", "Opportunity Name", "Stage", "Amount",
                                       "Close Date", "Created Date", "Closed", "Won", "Opportunity ID", "Lead Source"], "Продажи")):
        export = tmp_path / lang
        export.mkdir()
        with (export / "report.csv").open("w", encoding="utf-8", newline="") as f:
            csv.writer(f, quoting=csv.QUOTE_ALL).writerows([header, *rows[1:]])
        s = init(tmp_path / f"w_{lang}", "salesforce", export)
        assert list(s["pipelines"]) == [want], lang
