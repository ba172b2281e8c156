"""#13 acceptance W2 / W3 (case api_pd_json): a Pipedrive API v1 dump with GET /dealFields saved as dealFields.json, which
lists the standard fields too (`stage_id` «Stage», `title` «Title»). The header list names only the keys the profile
reads no field from (the custom fields' 40-hex keys): `stage_id` stays the column stages.json names, so every stage is
its name, not its id (W2). An enum / set custom field's value is its option's id; the labels are the field's `options`
in organizationFields.json / dealFields.json (W3): «2» is «Нет», a set's «1,3» «Да, Может быть»."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from cli_helpers import cli_in_process, findings_by_code, run_in_process
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile

CASE = Path(__file__).parent / "fixtures" / "accw" / "api_pd_json"
EXPORT = CASE / "export"


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """init --crm pipedrive on the dump, then the audit of 2026-11-20 with the settings init wrote."""
    work = tmp_path_factory.mktemp("pdjson")
    env = {"CRM_AUDIT_LANGUAGE": "ru"}
    done = cli_in_process("init", str(work), "--crm", "pipedrive", "--from-export", str(EXPORT), env=env)
    assert done.returncode == 0, done.stderr
    settings = yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))
    run = run_in_process(work, EXPORT, "2026-11-20", env=env)
    return {"settings": settings, "run": run, "found": findings_by_code(work / "v.csv") if run.returncode == 0 else {}}


def _load(export: Path, on_bad_value: str = "error"):
    ex = load_export(export, load_profile("pipedrive"), on_bad_value)
    try:
        deals = {"stage": dict(ex.con.execute("SELECT id, stage FROM deals").fetchall())}
        org = ex.entities["organizations"]
        col, _header = org.custom["агентство ли это"]
        agency = dict(ex.con.execute(f"SELECT id, {col} FROM organizations").fetchall())
        return {"deals": deals, "agency": agency, "fields": ex.entities["deals"].fields,
                "warnings": [w for w in ex.warnings if w.code == "header-names"],
                "custom": {h: c for c, h in ex.entities["deals"].custom.values()}, "con": ex.con, "ex": ex}
    except BaseException:
        ex.close()
        ex.con.close()
        raise


def _close(loaded) -> None:
    loaded["ex"].close()
    loaded["con"].close()


def test_init_orders_the_stages_by_the_stages_list(story):
    s = story["settings"]
    assert s["pipelines"] == {"Клиенты": ["Принял в работу", "Квалификация", "Проведено демо", "Отправлено КП",
                                          "Тестовый период", "Согласование договора", "Выставлен счет"],
                              "Партнеры": ["Принял в работу", "Знакомство", "Проведено демо", "Отправлено КП",
                                           "Подписание договора"],
                              "Повторные продажи": ["Принял в работу", "Отправлено КП", "Выставлен счет"]}
    assert s["stage_order_confirmed"] is True


def test_the_first_run_finds_the_hand_expectation(story):
    assert story["run"].returncode == 0, story["run"].stderr
    expected = json.loads((CASE / "expected.json").read_text(encoding="utf-8"))
    assert story["found"] == {code: {str(d) for d in deals} for code, deals in expected.items()}


@pytest.fixture(scope="module")
def loaded():
    out = _load(EXPORT)
    yield out
    _close(out)


def test_standard_keys_keep_their_header_and_stage_ids_are_named(loaded):
    assert loaded["fields"]["stage"] == "stage_id" and loaded["fields"]["title"] == "title"
    assert loaded["deals"]["stage"]["1"] == "Принял в работу" and loaded["deals"]["stage"]["5"] == "Знакомство"
    (warning,) = [w for w in loaded["warnings"] if w.file.endswith("deals.json")]
    # only the custom fields are renamed: 8 of them, none of the standard keys
    assert warning.params["n"] == 8
    assert warning.params["example"] == "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678 → Источник сделки"


def test_an_enum_option_id_is_read_as_its_label(loaded):
    # organizations.json: 2, null, 2, null; organizationFields.json: options 1 «Да», 2 «Нет»
    assert loaded["agency"] == {"1": "Нет", "2": "", "3": "Нет", "4": ""}


def test_a_set_fields_ids_are_read_as_its_labels_joined(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(EXPORT, export)
    key = "f" * 40
    fields = json.loads((export / "dealFields.json").read_text(encoding="utf-8"))
    fields["data"].append({"id": 120, "key": key, "name": "Каналы", "field_type": "set",
                           "options": [{"id": 1, "label": "Да"}, {"id": 2, "label": "Нет"}, {"id": 3, "label": "Может быть"}]})
    (export / "dealFields.json").write_text(json.dumps(fields, ensure_ascii=False), encoding="utf-8")
    deals = json.loads((export / "deals.json").read_text(encoding="utf-8"))
    for deal, value in zip(deals["data"], ["1,3", "2", "7", None]):
        deal[key] = value
    (export / "deals.json").write_text(json.dumps(deals, ensure_ascii=False), encoding="utf-8")
    loaded = _load(export, "warn")
    try:
        col = loaded["custom"]["Каналы"]
        got = dict(loaded["con"].execute(f"SELECT id, {col} FROM deals WHERE id IN ('1', '2', '3', '4')").fetchall())
        # an id the options lack is a bad value of the field (acceptance Z-L): with `warn` read as blank and said
        assert got == {"1": "Да, Может быть", "2": "Нет", "3": "", "4": ""}
        said = [w for w in loaded["ex"].warnings if w.code == "bad-value"]
        assert [(Path(w.file).name, w.row, w.column, w.params["value"], w.params["source"]) for w in said] == [
            ("deals.json", 4, "Каналы", "7", "dealFields.json")]
    finally:
        _close(loaded)
