"""Issue 13 acceptance N3: a Pipedrive export in an interface language the profile does not know — its columns.

A Pipedrive list export writes «<Entity> - <Field>» headers. When (nearly) every header of a file begins with one
«X - » the profile does not know, X is the entity's prefix in that language: it is removed and the rest matched as
any header (profile.EntitySpec.file_prefix). The columns no name tells are told by their values
(crm_audit/engine/value_guess.py): the stage (a few values repeated, beside the pipeline or named so), the owner
(people's names), the title and the company (the title holds the company's name). The fixture is Japanese
(tests/fixtures/pipedrive-ja, headers inferred), read through the profile's `ja` entry; the same export rewritten
under Korean headers the profile has no names for is read by its prefix and its values.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import yaml

from crm_audit.cli import main
from crm_audit.engine.loading import load_export
from crm_audit.engine.mapping import unfit_msg
from crm_audit.engine.profile import load_profile
from profile_variants import without_languages

FIXTURE = Path(__file__).parent / "fixtures" / "pipedrive-ja" / "export"
AS_OF = "2026-11-20"

#: the Japanese headers after the prefix -> a language the profile does not know (Korean; no evidence of Pipedrive's
#: own Korean headers: these only need to be unknown)
KO = {"ID": "ID", "タイトル": "제목", "所有者": "소유자", "金額": "금액", "通貨": "통화", "組織": "조직",
      "パイプライン": "파이프라인", "ステージ": "단계", "ステータス": "상태", "失注理由": "실패 사유", "取引作成日時": "생성 시간",
      "最終ステージ変更日時": "마지막 단계 변경", "次の活動日": "다음 활동 날짜", "情報源": "출처", "都市": "도시", "国": "국가",
      "件名": "제목", "タイプ": "유형", "期日": "마감일", "完了": "완료", "取引ID": "거래 ID", "担当ユーザー": "담당 사용자"}
KO_PREFIX = {"取引": "거래", "活動": "활동"}


@pytest.fixture(autouse=True)
def _korean_unknown(monkeypatch, tmp_path):
    """Korean is the profile's own language now (`languages.ko`, issue 13): the profile is read as it was without it
    (and HubSpot's, whose «파이프라인» names a pipeline too), so the Korean headers here stay unknown."""
    without_languages(monkeypatch, tmp_path, "pipedrive", "ko")
    without_languages(monkeypatch, tmp_path, "hubspot", "ko")
#: Korean names of the fixture's people (family name, a space, given name)
KO_NAMES = {"佐藤 健": "김 민수", "田中 花子": "이 서연"}


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def _korean(dst: Path) -> Path:
    """The fixture with Korean headers (prefix and field) and people's names; the status column's values in English
    (a value the profile does not know is another matter: issue 13 N3, the values' key)."""
    dst.mkdir(parents=True)
    status = {"オープン": "Open", "成立": "Won", "失注": "Lost"}
    for name in ("deals.csv", "activities.csv"):
        rows = _rows(FIXTURE / name)
        head = []
        for h in rows[0]:
            ent, _sep, field = h.partition(" - ")
            head.append(f"{KO_PREFIX[ent]} - {KO[field]}")
        body = [[KO_NAMES.get(v, status.get(v, v)) for v in r] for r in rows[1:]]
        with (dst / name).open("w", encoding="utf-8", newline="") as f:
            csv.writer(f, quoting=csv.QUOTE_ALL).writerows([head, *body])
    return dst


def _columns(work: Path) -> tuple[dict, str]:
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text).get("columns") or {}, text


def test_an_unknown_prefix_is_the_files_entity_prefix(tmp_path):
    """«거래 - ID»: the file's one prefix is removed and «ID» found — init is not stopped for a column the file has
    (acceptance N3a: «нет обязательной колонки «ID»»); a linked entity's columns keep their own prefix."""
    profile = load_profile("pipedrive")
    spec = profile.entities["deals"]
    headers = ["거래 - ID", "거래 - 제목", "거래 - 단계", "거래 - 상태", "조직 - 이름"]
    assert spec.file_prefix(headers) == "거래 - "
    assert spec.strip_prefix("거래 - ID", spec.file_prefix(headers)) == ("ID", True)
    assert spec.file_prefix(["Deal - ID", "Deal - Title", "Deal - Stage"]) is None  # a known prefix
    assert spec.file_prefix(["거래 - ID", "조직 - 이름", "인물 - 이름", "Stage"]) is None  # no dominant one
    assert spec.file_prefix(["Organization - ID", "Organization - Name"]) is None  # another entity's known prefix
    assert unfit_msg(profile, "deals", headers) is None


def test_unknown_language_export_columns_found_by_prefix_and_values(tmp_path):
    """The Korean export: id by its prefix, the stage / pipeline by their names' words, the owner by people's names,
    the title and the company by the title holding the company's name — written by init as inferred, to confirm."""
    export = _korean(tmp_path / "export")
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "pipedrive", "--from-export", str(export)]) == 0
    columns, text = _columns(work)
    deals = columns["deals"]
    assert {k: deals.get(k) for k in ("stage", "pipeline", "owner", "title", "org_name", "value", "currency")} == {
        "stage": "단계", "pipeline": "파이프라인", "owner": "소유자", "title": "제목", "org_name": "조직", "value": "금액",
        "currency": "통화"}
    assert "id" not in deals  # «거래 - ID» read as the id: nothing to map
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("title: 제목"))
    assert "по значениям похоже на title" in line and "проверьте" in line
    yaml_doc = yaml.safe_load(text)
    assert yaml_doc["pipelines"] == {"営業": yaml_doc["pipelines"]["営業"]}
    assert sorted(yaml_doc["pipelines"]["営業"]) == ["交渉中", "提案済み", "見込み"]
    assert "stage" not in str((yaml_doc.get("rules") or {}).get("skip") or {})


def test_ambiguous_words_are_proposed_never_mapped(tmp_path):
    """Without the names' words and with no pipeline beside it, the stage column is one of several columns of repeated
    words: proposed commented, never written as the stage."""
    export = _korean(tmp_path / "export")
    rows = _rows(export / "deals.csv")
    rename = {"거래 - 단계": "거래 - 진행", "거래 - 파이프라인": "거래 - 그룹"}
    rows[0] = [rename.get(h, h) for h in rows[0]]
    # the pipeline column moved away from the stage's
    order = [i for i, h in enumerate(rows[0]) if h != "거래 - 그룹"] + [rows[0].index("거래 - 그룹")]
    rows = [[r[i] for i in order] for r in rows]
    with (export / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "pipedrive", "--from-export", str(export)]) == 0
    columns, text = _columns(work)
    assert "stage" not in columns["deals"] and "pipeline" not in columns["deals"]
    assert "# stage: 진행" in text


def test_japanese_export_audits_on_the_first_try(tmp_path):
    """The Japanese fixture: init maps every column by the profile's `ja` names, and run audits it — deal 401's task
    is overdue (due 19.11, audited 20.11), deal 402 has stayed on its stage."""
    export = tmp_path / "export"
    shutil.copytree(FIXTURE, export)
    work = tmp_path / "work"
    assert main(["init", str(work), "--crm", "pipedrive", "--from-export", str(export)]) == 0
    code = main(["run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", AS_OF,
                 "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"), "--quiet"])
    assert code == 0
    with (work / "v.csv").open(encoding="utf-8") as f:
        found = sorted((r["rule_id"], r["deal_id"], r["owner"]) for r in csv.DictReader(f))
    assert found == [("no-stage-movement", "402", "田中 花子"), ("overdue-tasks", "401", "佐藤 健")]
    loaded = load_export(export, load_profile("pipedrive"))
    try:
        acts = loaded.entities["activities"]
        assert {f: acts.fields[f] for f in ("deal_id", "due_date", "done")} == {
            "deal_id": "活動 - 取引ID", "due_date": "活動 - 期日", "done": "活動 - 完了"}
    finally:
        loaded.close()
        loaded.con.close()
