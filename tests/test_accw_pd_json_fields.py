"""#13 acceptance W2 (case api_pd_json): a Pipedrive API v1 dump with GET /dealFields saved as dealFields.json, which
lists the standard fields too (`stage_id` «Stage», `title` «Title»). The header list names only the keys the profile
reads no field from (the custom fields' 40-hex keys): `stage_id` stays the column stages.json names, so every stage is
its name, not its id (W2)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cli_helpers import cli_in_process
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile

CASE = Path(__file__).parent / "fixtures" / "accw" / "api_pd_json"
EXPORT = CASE / "export"


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """init --crm pipedrive on the dump."""
    work = tmp_path_factory.mktemp("pdjson")
    env = {"CRM_AUDIT_LANGUAGE": "ru"}
    done = cli_in_process("init", str(work), "--crm", "pipedrive", "--from-export", str(EXPORT), env=env)
    assert done.returncode == 0, done.stderr
    settings = yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))
    return {"settings": settings}


def _load(export: Path):
    ex = load_export(export, load_profile("pipedrive"))
    try:
        deals = {"stage": dict(ex.con.execute("SELECT id, stage FROM deals").fetchall())}
        return {"deals": deals, "fields": ex.entities["deals"].fields,
                "warnings": [w for w in ex.warnings if w.code == "header-names"],
                "con": ex.con, "ex": ex}
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
