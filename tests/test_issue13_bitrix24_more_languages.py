"""Bitrix24's deal list export in the interface languages added last (issue 13): Turkish, Chinese (Simplified),
Japanese, Indonesian and Vietnamese, through `init --from-export` → `run` with no hand edits, audit exactly as the same
team's Russian export does (test_issue13_bitrix24_languages: one team, the deal ids per rule), with «Сделка закрыта»
in the language's yes / no, the default final stages in the language and each locale's usual date format; and the
acceptance tester's exports these languages were written from are read by the profile, nothing left to confirm.

The titles are the profile's `languages.<code>` (crm_audit/profiles/bitrix24.yaml: what is evidenced and what
inferred). Half of the variants run only under `pytest -m slow`.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from slow_variants import every_other
from test_crm_exports_issue13 import findings
from test_issue13_bitrix24_languages import DEALS, russian  # noqa: F401 (the Russian twin, a module fixture)
from test_issue13_owners_and_stages import init, run, table

# id, title, owner, amount, currency, company, contact, pipeline, stage, created, modified, closed, close date
HEADERS = {
    "tr": ["ID", "Anlaşma adı", "Sorumlu kişi", "Gelir", "Para birimi", "Şirket", "Kişi", "Pipeline", "Aşama",
           "Oluşturulma tarihi", "Değiştirilme tarihi", "Kapalı", "Tahmini kapanış tarihi"],
    "zh-CN": ["ID", "交易名称", "负责人", "收入", "货币", "公司", "联系人", "管道", "阶段", "创建日期", "修改日期", "已关闭", "预计结束日期"],
    "ja": ["ID", "取引名", "担当者", "収益", "通貨", "会社", "コンタクト", "パイプライン", "ステージ", "作成日", "更新日", "クローズ済み",
           "完了予定日"],
    "id": ["ID", "Nama transaksi", "Penanggung jawab", "Pendapatan", "Mata uang", "Perusahaan", "Kontak", "Pipeline", "Tahap",
           "Dibuat pada", "Diubah pada", "Ditutup", "Perkiraan tanggal penutupan"],
    "vi": ["ID", "Tên giao dịch", "Người phụ trách", "Doanh thu", "Tiền tệ", "Công ty", "Liên hệ", "Kênh bán hàng", "Giai đoạn",
           "Ngày tạo", "Ngày sửa đổi", "Đã đóng", "Ngày đóng dự kiến"],
}
#: the team's own first stages, then Bitrix24's final WON / LOSE in the language (bitrix24.yaml derive_status)
STAGES = {
    "tr": {"new": "Yeni", "offer": "Müzakere", "won": "Anlaşma kazanıldı", "lost": "Anlaşma kaybedildi"},
    "zh-CN": {"new": "新建", "offer": "谈判", "won": "交易成功", "lost": "交易失败"},
    "ja": {"new": "新規", "offer": "交渉", "won": "取引成立", "lost": "取引失敗"},
    "id": {"new": "Baru", "offer": "Negosiasi", "won": "Transaksi berhasil", "lost": "Transaksi gagal"},
    "vi": {"new": "Mới", "offer": "Đàm phán", "won": "Giao dịch thành công", "lost": "Giao dịch thất bại"},
}
YES_NO = {"tr": ("Evet", "Hayır"), "zh-CN": ("是", "否"), "ja": ("はい", "いいえ"), "id": ("Ya", "Tidak"), "vi": ("Có", "Không")}
PIPELINE = {"tr": "Genel", "zh-CN": "常规", "ja": "一般", "id": "Umum", "vi": "Chung"}
#: each locale's usual date-time format (the tester's exports write these)
DATE_FORMAT = {"tr": "%d.%m.%Y %H:%M:%S", "zh-CN": "%Y-%m-%d %H:%M:%S", "ja": "%Y/%m/%d %H:%M:%S", "id": "%d/%m/%Y %H:%M:%S",
               "vi": "%d/%m/%Y %H:%M:%S"}
LANGS = list(HEADERS)


def write_deals(lang: str, d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    yes, no = YES_NO[lang]

    def line(cells: list[str]) -> str:
        return ";".join(f'"{c}"' for c in cells) + ";"

    def local(cell: str) -> str:  # the Russian twin's «01.10.2026 10:00:00» in the locale's format
        return dt.datetime.strptime(cell, "%d.%m.%Y %H:%M:%S").strftime(DATE_FORMAT[lang])

    rows = [line(HEADERS[lang])]
    for i, title, owner, amount, org, person, stage, created, modified, closed in DEALS:
        stage = "lost" if stage == "apology" else stage  # no default name of APOLOGY is known in these languages
        rows.append(line([i, title, owner, amount, "RUB", org, person, PIPELINE[lang], STAGES[lang][stage], local(created),
                          local(modified), yes if closed else no, ""]))
    (d / "DEAL_20261120.csv").write_text("\n".join(rows) + "\n", encoding="utf-8-sig")


@pytest.mark.parametrize("lang", every_other(LANGS))
def test_bitrix24_deal_list_in_another_language_audits_alike(lang, tmp_path, russian):  # noqa: F811
    export = tmp_path / "export"
    write_deals(lang, export)
    work = tmp_path / "work"
    s = init(work, "bitrix24", export)
    assert not (s.get("columns") or {}).get("deals")  # every column title known to the profile
    st = STAGES[lang]
    assert s["pipelines"][PIPELINE[lang]][-2:] == [st["won"], st["lost"]]  # the final stages last, never an open one
    assert run(work, export) == 0
    assert findings(work) == russian
    got = dict(table(export, "bitrix24", "SELECT id, status FROM deals"))
    assert got == {"11": "open", "12": "open", "13": "won", "14": "lost", "15": "open"}
    created = dict(table(export, "bitrix24", "SELECT id, CAST(created AS VARCHAR) FROM deals"))
    assert created["15"].startswith("2026-09-10")  # the locale's date read day / month right


ACCR = Path(__file__).parent / "fixtures" / "accr"


@pytest.mark.parametrize("case", every_other(["b24_tr_more", "b24_zh_csv", "b24_ja_csv", "b24_id_csv", "b24_vi_csv/export",
                                              "b24_tr_csv", "b24_zh_more", "b24_id_more"]))
def test_the_testers_exports_are_read_by_the_profile(case, tmp_path, capsys, monkeypatch):
    """The acceptance tester's exports: every column title is the profile's (none told by its values for the team to
    check), «Сделка закрыта» in the language is the closed flag, and the audit is the tester's hand-computed one."""
    import yaml

    from cli_helpers import findings_by_code, init_from_export, run_audit
    from test_issue13_unknown_language_b24_kommo import B24

    export = tmp_path / "export"
    shutil.copytree(ACCR / case, export)
    text = init_from_export(capsys, monkeypatch, tmp_path, "bitrix24", export)
    settings = yaml.safe_load(text)
    assert not (settings.get("columns") or {}).get("deals"), settings.get("columns")
    run_audit(capsys, monkeypatch, tmp_path, export, "2026-11-20")
    found = findings_by_code(tmp_path / "v.csv")
    assert found == B24
    assert all("305" not in ids for ids in found.values())  # closed («Evet», «是», «はい» …) in the portal's own stage
