"""The team's own names: `columns:` for headers the profile does not know, `fields:` for the
rules' custom fields, and the stage order `init --from-export` guesses on the bundled fixture."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from crm_audit import settings as settings_mod
from crm_audit.cli_profiles import write_settings_from_export
from crm_audit.engine.audit import audit_export

FIXTURE = Path(__file__).parent / "fixtures" / "pipedrive"
AS_OF = dt.date(2026, 11, 20)


def _flagged(report) -> set[tuple[str, str]]:
    return {(r.rule_id, str(d)) for r in report.results for d in r.rows["deal_id"]}


def _reference() -> set[tuple[str, str]]:
    s = settings_mod.load(FIXTURE / "crm-audit.yaml")
    return _flagged(audit_export(s, FIXTURE / "export", as_of=AS_OF))


REFERENCE = _reference()

# canonical deal field -> the fixture's header (without «Deal - »)
CANONICAL = {"id": "ID", "title": "Title", "owner": "Owner", "value": "Value", "stage": "Stage", "pipeline": "Pipeline",
             "status": "Status", "created": "Deal created", "stage_changed": "Last stage change", "org_id": "Organization ID"}
CUSTOM = {"deal.Источник сделки": "Источник сделки", "deal.Город": "Город", "deal.Посещаемость": "Посещаемость"}

# a header no profile knows: letters of several scripts, never empty, never one of the fixture's own headers
NAME = st.text(alphabet=st.sampled_from("abcxyzÁéçñöабвгдё _"), min_size=3, max_size=12).map(
    lambda s: "Col " + " ".join(s.split())).filter(lambda s: len(s) > 5)


def _rename(src: Path, dst: Path, renames: dict[str, str]) -> None:
    """Copy the fixture export with deal headers renamed (``Deal - Stage`` -> ``Deal - <new>``)."""
    shutil.copytree(src, dst)
    rows = list(csv.reader((dst / "deals.csv").open(encoding="utf-8")))
    rows[0] = ["Deal - " + renames.get(h[len("Deal - "):], h[len("Deal - "):]) for h in rows[0]]
    with (dst / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)


@hsettings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_renamed_headers_mapped_back_give_the_same_audit(tmp_path_factory, data):
    """Rename any deal headers to names no profile knows; `columns:` (canonical) and `fields:` (custom) map them back:
    the audit flags exactly the same deals."""
    canon = data.draw(st.lists(st.sampled_from(sorted(CANONICAL)), min_size=1, max_size=4, unique=True))
    custom = data.draw(st.lists(st.sampled_from(sorted(CUSTOM)), max_size=2, unique=True))
    names = data.draw(st.lists(NAME, min_size=len(canon) + len(custom), max_size=len(canon) + len(custom), unique_by=str.casefold))
    renames = {CANONICAL[f]: n for f, n in zip(canon, names)}
    renames.update({CUSTOM[f]: n for f, n in zip(custom, names[len(canon):])})
    tmp = tmp_path_factory.mktemp("renamed")
    _rename(FIXTURE / "export", tmp / "export", renames)
    doc = yaml.safe_load((FIXTURE / "crm-audit.yaml").read_text(encoding="utf-8"))
    doc["columns"] = {"deals": {f: renames[CANONICAL[f]] for f in canon}}
    doc["fields"] = {f: renames[CUSTOM[f]] for f in custom}
    s = settings_mod.from_dict(doc, file=str(tmp / "crm-audit.yaml"), base_dir=tmp)
    assert _flagged(audit_export(s, tmp / "export", as_of=AS_OF)) == REFERENCE


def test_a_renamed_custom_field_without_fields_mapping_is_never_read_as_empty(tmp_path):
    """«Источник сделки» exported as «UTM» and not mapped: init skips 1.8 naming the field; mapped, 1.8 flags what it did."""
    _rename(FIXTURE / "export", tmp_path / "export", {"Источник сделки": "UTM"})
    path = write_settings_from_export(tmp_path / "w", "pipedrive", tmp_path / "export")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert doc["rules"]["skip"] == {"missing-source": "в выгрузке нет поля «Источник сделки» (deals.csv)"}
    report = audit_export(settings_mod.load(path), tmp_path / "export", as_of=AS_OF)
    r18 = next(r for r in report.results if r.rule_id == "missing-source")
    assert r18.skipped and len(r18.rows) == 0 and "«Источник сделки»" in r18.note
    doc["fields"] = {"deal.Источник сделки": "UTM"}
    del doc["rules"]["skip"]["missing-source"]
    s = settings_mod.from_dict(doc)
    assert {d for rid, d in _flagged(audit_export(s, tmp_path / "export", as_of=AS_OF)) if rid == "missing-source"} == {"102", "110"}


def test_init_maps_a_header_close_to_the_profiles_and_a_synonym(tmp_path):
    """«Deal - Stages» is close to «Stage»; «Deal - Lead source» is how other teams call «Источник сделки»."""
    _rename(FIXTURE / "export", tmp_path / "export", {"Stage": "Stages", "Источник сделки": "Lead source"})
    path = write_settings_from_export(tmp_path / "w", "pipedrive", tmp_path / "export")
    text = path.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    assert doc["columns"] == {"deals": {"stage": "Stages"}}
    assert doc["fields"] == {"deal.Источник сделки": "Lead source"}
    assert "stage: Stages    # похоже на «Stage» (deals.csv)" in text
    assert "так это поле называют: «Lead source» — проверьте, что это то же поле" in text
    assert _flagged(audit_export(settings_mod.load(path), tmp_path / "export", as_of=AS_OF)) == REFERENCE


def test_guessed_stage_order_on_the_bundled_fixture(tmp_path):
    """First appearance would put «Отправлено КП» before «Принял в работу» (deal «тест» flagged on 1.3/1.4) and drop
    «Проведено демо» from «Клиенты» (1.13 missed); the guess keeps every stage that occurs, is marked as a guess,
    and audits like the reference settings."""
    path = write_settings_from_export(tmp_path, "pipedrive", FIXTURE / "export")
    text = path.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    ref = yaml.safe_load((FIXTURE / "crm-audit.yaml").read_text(encoding="utf-8"))
    assert doc["pipelines"] == ref["pipelines"]
    assert doc["stage_order_confirmed"] is False
    assert "# порядок угадан: этапы совпали с воронкой из руководства" in text
    report = audit_export(settings_mod.load(path), FIXTURE / "export", as_of=AS_OF)
    flagged = _flagged(report)
    assert ("missing-amount-after-proposal", "102") not in flagged and ("missing-traffic-or-budget", "102") not in flagged
    assert ("partner-manager-deal-without-partner", "108") in flagged
    assert flagged == REFERENCE
    # the fixture's «Партнерская организация» is blank in all 12 rows: said (issue 13 acceptance K13)
    # … and init's example deal_url (acceptance L9)
    assert [w.code for w in report.warnings if w.code != "rule-stage-order-guessed"] == ["blank-column", "stage-order-guessed",
                                                                                        "deal-url-example"]
    assert "«Партнерская организация»" in next(w.message for w in report.warnings if w.code == "blank-column")
    # each rule comparing stages by the guessed order says so (issue 13 acceptance J, J2)
    assert "1.3" in {w.params["code"] for w in report.warnings if w.code == "rule-stage-order-guessed"}


def test_guessed_order_of_a_team_pipeline_by_days_to_reach(tmp_path):
    """A pipeline that is not the handbook's: stages in the order deals reach them (days from creation to the
    stage), every stage that occurs (won and lost deals' too), never silently."""
    shutil.copytree(FIXTURE / "export", tmp_path / "export")
    rows = list(csv.reader((tmp_path / "export" / "deals.csv").open(encoding="utf-8")))
    h = rows[0]
    rename = {"Принял в работу": "Lead in", "Квалификация": "Qualified", "Отправлено КП": "Proposal made",
              "Выставлен счет": "Invoice", "Тестовый период": "Trial", "Проведено демо": "Demo", "Знакомство": "Intro"}
    for r in rows[1:]:
        r[h.index("Deal - Stage")] = rename[r[h.index("Deal - Stage")]]
        r[h.index("Deal - Pipeline")] = "Sales"
    with (tmp_path / "export" / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    path = write_settings_from_export(tmp_path / "w", "pipedrive", tmp_path / "export")
    text = path.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    # median days from creation to the last stage change: Lead in 1, Qualified 15, Trial 26, Proposal made 37.5,
    # Demo 31 (partners' deal 103), Intro 82 (107: 13, 111: 92 -> 52.5) ... as computed from the fixture's dates
    assert set(doc["pipelines"]["Sales"]) == set(rename.values()) - {"Demo"} | {"Demo"}
    assert doc["pipelines"]["Sales"][0] == "Lead in"
    assert doc["pipelines"]["Sales"].index("Qualified") < doc["pipelines"]["Sales"].index("Proposal made") < doc["pipelines"]["Sales"].index("Invoice")
    # «Lead in», «Qualified», «Proposal made» are Pipedrive's default stages (their order is its default pipeline's);
    # the others keep their place by the days to reach them: a guess, said so (issue 13 acceptance J, J2)
    assert ("# порядок угадан частично: «Lead in», «Qualified», «Proposal made» — по стандартной воронке Pipedrive (en); "
            "«Trial», ") in text
    assert "— по тому, сколько дней от создания сделки до перехода на этап — проверьте" in text
    assert doc["stage_order_confirmed"] is False


def test_duplicate_header_is_warned_by_name_and_a_totals_line_is_no_deal(tmp_path):
    """Two «Deal - Stage» columns: warned by name with the column read; a «Total» line under the list is no deal."""
    shutil.copytree(FIXTURE / "export", tmp_path / "export")
    rows = list(csv.reader((tmp_path / "export" / "deals.csv").open(encoding="utf-8")))
    rows[0].append("Deal - Stage")
    for r in rows[1:]:
        r.append("")
    rows.append(["Total"] + [""] * (len(rows[0]) - 1))
    with (tmp_path / "export" / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    s = settings_mod.load(FIXTURE / "crm-audit.yaml")
    report = audit_export(s, tmp_path / "export", as_of=AS_OF)
    dup = [w.message for w in report.warnings if w.code == "duplicate-header"]
    n = len(rows[0])
    assert dup == [f"the column «Deal - Stage» appears 2 times (columns 11, {n}): stage is read from the first of them that is "
                   "not blank in each row, column 11 first; remove the extra column from the export if it holds other values"]
    assert report.deal_count == 12 and _flagged(report) == REFERENCE
