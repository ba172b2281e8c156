"""Pipedrive in the interface languages added last (issue 13): Turkish, Danish, Finnish, Indonesian, Korean, Chinese
(Simplified and Traditional) and Ukrainian — deal, organization, person and activity headers under each language's entity prefixes,
the status and done values, and each locale's usual date format, through `init --from-export` → `run` with no hand
edits: the same findings (deal ids per rule) as the team's English export (test_languages_pipedrive's EXPECTED).

The words are the profile's `languages.<code>` (crm_audit/profiles/pipedrive.yaml, which records what is evidenced and
what inferred: the acceptance tester's exports tests/fixtures/accq/pd_*, Pipedrive's help centre in each language).
The team's custom fields carry its own names in the language. Half of the languages run only under `pytest -m slow`.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest

from slow_variants import every_other
from test_languages_pipedrive import EXPECTED, LANG, init_and_run, write_export

MORE = {
    "tr": {
        "deal": "Anlaşma - ", "org": "Organizasyon - ", "person": "Kişi - ", "act": "Aktivite - ",
        "d": {"id": "ID", "title": "Başlık", "owner": "Sahip", "currency": "Para birimi", "value": "Değer", "org": "Organizasyon",
              "org_id": "Organizasyon kimliği", "person": "İrtibat kişisi", "person_id": "İrtibat kişisi kimliği",
              "pipeline": "Satış hunisi", "stage": "Aşama", "status": "Durum", "lost": "Kaybetme nedeni",
              "created": "Anlaşma oluşturuldu", "changed": "Son aşama değişikliği", "source": "Kaynak", "city": "Şehir", "country": "Ülke"},
        "o": {"id": "ID", "name": "Ad", "owner": "Sahip"},
        "p": {"id": "ID", "name": "Ad", "owner": "Sahip", "org": "Organizasyon"},
        "a": {"id": "ID", "subject": "Konu", "type": "Tür", "due": "Bitiş tarihi", "done": "Tamamlandı", "deal_id": "Anlaşma kimliği"},
        "status": {"open": "Açık", "won": "Kazanıldı", "lost": "Kaybedildi"}, "done": {True: "Tamamlandı", False: "Yapılacak"},
    },
    "da": {
        "deal": "Handel - ", "org": "Organisation - ", "person": "Person - ", "act": "Aktivitet - ",
        "d": {"id": "ID", "title": "Titel", "owner": "Ejer", "currency": "Valuta", "value": "Værdi", "org": "Organisation",
              "org_id": "Organisations-ID", "person": "Kontaktperson", "person_id": "Kontaktperson-ID", "pipeline": "Pipeline",
              "stage": "Fase", "status": "Status", "lost": "Årsag til tab", "created": "Handel oprettet",
              "changed": "Seneste faseændring", "source": "Kilde", "city": "By", "country": "Land"},
        "o": {"id": "ID", "name": "Navn", "owner": "Ejer"},
        "p": {"id": "ID", "name": "Navn", "owner": "Ejer", "org": "Organisation"},
        "a": {"id": "ID", "subject": "Emne", "type": "Type", "due": "Forfaldsdato", "done": "Udført", "deal_id": "Handels-ID"},
        "status": {"open": "Åben", "won": "Vundet", "lost": "Tabt"}, "done": {True: "Udført", False: "Skal gøres"},
    },
    "fi": {
        "deal": "Kauppa - ", "org": "Organisaatio - ", "person": "Henkilö - ", "act": "Aktiviteetti - ",
        "d": {"id": "ID", "title": "Otsikko", "owner": "Omistaja", "currency": "Valuutta", "value": "Arvo", "org": "Organisaatio",
              "org_id": "Organisaation ID", "person": "Yhteyshenkilö", "person_id": "Yhteyshenkilön ID", "pipeline": "Myyntiputki",
              "stage": "Vaihe", "status": "Tila", "lost": "Häviön syy", "created": "Kauppa luotu",
              "changed": "Viimeisin vaiheen muutos", "source": "Lähde", "city": "Kaupunki", "country": "Maa"},
        "o": {"id": "ID", "name": "Nimi", "owner": "Omistaja"},
        "p": {"id": "ID", "name": "Nimi", "owner": "Omistaja", "org": "Organisaatio"},
        "a": {"id": "ID", "subject": "Aihe", "type": "Tyyppi", "due": "Eräpäivä", "done": "Valmis", "deal_id": "Kaupan ID"},
        "status": {"open": "Avoin", "won": "Voitettu", "lost": "Hävitty"}, "done": {True: "Valmis", False: "Tekemättä"},
    },
    "id": {
        "deal": "Kesepakatan - ", "org": "Organisasi - ", "person": "Orang - ", "act": "Aktivitas - ",
        "d": {"id": "ID", "title": "Judul", "owner": "Pemilik", "currency": "Mata uang", "value": "Nilai", "org": "Organisasi",
              "org_id": "ID organisasi", "person": "Orang kontak", "person_id": "ID orang kontak", "pipeline": "Pipeline",
              "stage": "Tahap", "status": "Status", "lost": "Alasan kalah", "created": "Kesepakatan dibuat",
              "changed": "Perubahan tahap terakhir", "source": "Sumber", "city": "Kota", "country": "Negara"},
        "o": {"id": "ID", "name": "Nama", "owner": "Pemilik"},
        "p": {"id": "ID", "name": "Nama", "owner": "Pemilik", "org": "Organisasi"},
        "a": {"id": "ID", "subject": "Subjek", "type": "Tipe", "due": "Tanggal jatuh tempo", "done": "Selesai",
              "deal_id": "ID kesepakatan"},
        "status": {"open": "Terbuka", "won": "Menang", "lost": "Kalah"}, "done": {True: "Selesai", False: "Harus dikerjakan"},
    },
    "ko": {
        "deal": "거래 - ", "org": "조직 - ", "person": "사람 - ", "act": "활동 - ",
        "d": {"id": "ID", "title": "제목", "owner": "소유자", "currency": "통화", "value": "값", "org": "조직", "org_id": "조직 ID",
              "person": "담당자", "person_id": "담당자 ID", "pipeline": "파이프라인", "stage": "단계", "status": "상태",
              "lost": "실패 이유", "created": "거래 생성일", "changed": "마지막 단계 변경", "source": "출처", "city": "도시",
              "country": "국가"},
        "o": {"id": "ID", "name": "이름", "owner": "소유자"},
        "p": {"id": "ID", "name": "이름", "owner": "소유자", "org": "조직"},
        "a": {"id": "ID", "subject": "제목", "type": "유형", "due": "마감일", "done": "완료", "deal_id": "거래 ID"},
        "status": {"open": "진행 중", "won": "성사", "lost": "실패"}, "done": {True: "완료", False: "할 일"},
    },
    "zh-CN": {
        "deal": "交易 - ", "org": "组织 - ", "person": "联系人 - ", "act": "活动 - ",
        "d": {"id": "ID", "title": "标题", "owner": "所有者", "currency": "货币", "value": "价值", "org": "组织", "org_id": "组织 ID",
              "person": "联系人", "person_id": "联系人 ID", "pipeline": "销售渠道", "stage": "阶段", "status": "状态",
              "lost": "丢失原因", "created": "交易创建时间", "changed": "上次阶段变更", "source": "来源", "city": "城市",
              "country": "国家"},
        "o": {"id": "ID", "name": "名称", "owner": "所有者"},
        "p": {"id": "ID", "name": "姓名", "owner": "所有者", "org": "组织"},
        "a": {"id": "ID", "subject": "主题", "type": "类型", "due": "截止日期", "done": "完成", "deal_id": "交易 ID"},
        "status": {"open": "进行中", "won": "赢单", "lost": "丢单"}, "done": {True: "已完成", False: "待办"},
    },
    "zh-TW": {
        "deal": "交易 - ", "org": "組織 - ", "person": "聯絡人 - ", "act": "活動 - ",
        "d": {"id": "ID", "title": "標題", "owner": "所有者", "currency": "貨幣", "value": "價值", "org": "組織", "org_id": "組織 ID",
              "person": "聯絡人", "person_id": "聯絡人 ID", "pipeline": "銷售管道", "stage": "階段", "status": "狀態",
              "lost": "失敗原因", "created": "交易建立時間", "changed": "上次階段變更", "source": "來源", "city": "城市",
              "country": "國家"},
        "o": {"id": "ID", "name": "名稱", "owner": "所有者"},
        "p": {"id": "ID", "name": "姓名", "owner": "所有者", "org": "組織"},
        "a": {"id": "ID", "subject": "主題", "type": "類型", "due": "截止日期", "done": "完成", "deal_id": "交易 ID"},
        "status": {"open": "進行中", "won": "獲勝", "lost": "失敗"}, "done": {True: "已完成", False: "待辦"},
    },
    "uk": {
        "deal": "Угода - ", "org": "Організація - ", "person": "Особа - ", "act": "Активність - ",
        "d": {"id": "ID", "title": "Назва", "owner": "Власник", "currency": "Валюта", "value": "Вартість", "org": "Організація",
              "org_id": "ID організації", "person": "Контактна особа", "person_id": "ID контактної особи", "pipeline": "Воронка",
              "stage": "Етап", "status": "Статус", "lost": "Причина втрати", "created": "Угоду створено",
              "changed": "Остання зміна етапу", "source": "Джерело", "city": "Місто", "country": "Країна"},
        "o": {"id": "ID", "name": "Назва", "owner": "Власник"},
        "p": {"id": "ID", "name": "Ім'я", "owner": "Власник", "org": "Організація"},
        "a": {"id": "ID", "subject": "Тема", "type": "Тип", "due": "Термін", "done": "Виконано", "deal_id": "ID угоди"},
        "status": {"open": "Відкрита", "won": "Виграна", "lost": "Втрачена"}, "done": {True: "Виконано", False: "Не виконано"},
    },
}
#: each locale's usual date (and date-time) format: the export's ISO cells are rewritten in it
DATE_FORMAT = {"tr": "%d.%m.%Y", "da": "%d.%m.%Y", "fi": "%d.%m.%Y", "id": "%d/%m/%Y", "ko": "%Y.%m.%d",
               "zh-CN": "%Y/%m/%d", "zh-TW": "%Y/%m/%d", "uk": "%d.%m.%Y"}
_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})(?: (\d{2}:\d{2}):\d{2})?")


def localize_dates(export: Path, lang: str) -> None:
    """Every ISO date (and date-time) cell of the export written in the locale's format («2026-11-01 10:00:00» →
    «01.11.2026 10:00» in Turkish, «01/11/2026 10:00» in Indonesian, «2026/11/01 10:00» in Chinese)."""
    def local(cell: str) -> str:
        m = _ISO.fullmatch(cell)
        if not m:
            return cell
        day = dt.date.fromisoformat(m.group(1)).strftime(DATE_FORMAT[lang])
        return f"{day} {m.group(2)}" if m.group(2) else day

    for path in export.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        with path.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f, quoting=csv.QUOTE_ALL).writerows([rows[0], *([local(c) for c in r] for r in rows[1:])])


@pytest.mark.parametrize("lang", every_other(list(MORE)))
def test_pipedrive_export_in_another_interface_language_audits_on_the_first_try(lang, tmp_path, monkeypatch):
    monkeypatch.setitem(LANG, lang, MORE[lang])
    export = write_export(lang, tmp_path / "export")
    localize_dates(export, lang)
    settings, found, out = init_and_run(export, tmp_path / "work")
    assert found == EXPECTED
    assert not (settings.get("columns") or {})  # every header known to the profile: nothing to confirm
    assert not (settings.get("values") or {})  # every status and done value known too
    d = MORE[lang]["d"]
    assert settings["fields"] == {"deal.Источник сделки": d["source"], "deal.Город": d["city"], "deal.Страна": d["country"]}
    said = [ln for ln in out.lower().splitlines() if "unknown" in ln or "неизвестн" in ln]
    assert all("unknown pipeline «партнеры»" in ln for ln in said), said


ACCQ = Path(__file__).parent / "fixtures" / "accq"


@pytest.mark.parametrize("case", every_other(["pd_da", "pd_tr", "pd_zh", "pd_fi", "pd_id", "pd_ko"]))
def test_the_testers_exports_are_read_by_the_profile(case, tmp_path, capsys, monkeypatch):
    """The acceptance tester's exports these languages were written from: every header and value is the profile's
    (nothing told by values for the team to confirm), and the audit is the tester's hand-computed one."""
    import shutil

    import yaml

    from cli_helpers import cli_ru, findings_by_code
    from test_issue13_unknown_language_exports import EXPECTED as HAND_COMPUTED

    shutil.copytree(ACCQ / case / "export", tmp_path / "export")
    monkeypatch.chdir(tmp_path)
    assert cli_ru(capsys, monkeypatch, "init", "--crm", "pipedrive", "--from-export", "export")[0] == 0
    settings = yaml.safe_load((tmp_path / "crm-audit.yaml").read_text(encoding="utf-8"))
    assert not (settings.get("columns") or {}), settings.get("columns")
    assert not (settings.get("values") or {}), settings.get("values")
    r = cli_ru(capsys, monkeypatch, "run", "--export", "export", "--as-of", "2026-11-20", "--out", "audit.xlsx",
               "--violations-csv", "v.csv")
    assert r[0] == 0, r
    assert findings_by_code(tmp_path / "v.csv") == HAND_COMPUTED
