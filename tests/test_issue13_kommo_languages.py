"""amoCRM / Kommo leads exports in Russian, English, Spanish and Portuguese, through `init --from-export` →
`run` with no hand edits: one team audits alike, the system statuses 142 / 143 read as won / lost in each language
and the «not closed» words of the close-date column as no date.

Russian: amoCRM's own export («Название сделки», «Бюджет», «Этап сделки», «Дата закрытия» = «не закрыта»);
Spanish as an acceptance tester's Kommo export wrote it («Nombre del lead», «Venta», «Etapa del lead», «Logrado con
éxito», «Venta perdida», «no cerrado»); Portuguese from a public report script over a Kommo export («Etapa do lead» =
«Venda ganha», «Criado em»); the rest as crm_audit/profiles/amocrm.yaml records it inferred.
"""

from __future__ import annotations

import csv

import pytest

from slow_variants import every_other
from language_twins import twin_findings
from test_crm_exports_issue13 import findings
from test_issue13_owners_and_stages import init, run, table

HEADERS = {
    "ru": ["ID", "Название сделки", "Бюджет", "Ответственный", "Дата создания", "Воронка", "Этап сделки", "Дата закрытия"],
    "en": ["ID", "Lead name", "Sale", "Responsible user", "Date created", "Pipeline", "Lead status", "Closing date"],
    "es": ["ID", "Nombre del lead", "Venta", "Usuario responsable", "Fecha de creación", "Embudo", "Etapa del lead", "Fecha de cierre"],
    "pt": ["ID", "Nome do lead", "Venda", "Usuário responsável", "Criado em", "Funil", "Etapa do lead", "Data de fechamento"],
    # Kommo's Turkish and Indonesian (amocrm.yaml languages tr / id, from an acceptance tester's exports)
    "tr": ["ID", "Potansiyel müşteri adı", "Satış", "Sorumlu kullanıcı", "Oluşturulma tarihi", "Satış hunisi",
           "Potansiyel müşteri durumu", "Kapanış tarihi"],
    "id": ["ID", "Nama prospek", "Penjualan", "Pengguna penanggung jawab", "Tanggal dibuat", "Pipeline", "Status prospek",
           "Tanggal penutupan"],
}
WORDS = {  # pipeline, the team's first stage, won (142), lost (143), not closed
    "ru": ("Воронка", "Первичный контакт", "Успешно реализовано", "Закрыто и не реализовано", "не закрыта"),
    "en": ("Sales pipeline", "Initial contact", "Closed - won", "Closed - lost", "not closed"),
    "es": ("Embudo de ventas", "Contacto inicial", "Logrado con éxito", "Venta perdida", "no cerrado"),
    "pt": ("Funil de vendas", "Contato inicial", "Venda ganha", "Venda perdida", "não fechado"),
    "tr": ("Satış hunisi", "İlk temas", "Kapalı - kazanıldı", "Kapalı - kaybedildi", "kapatılmadı"),
    "id": ("Pipeline penjualan", "Kontak awal", "Ditutup - berhasil", "Ditutup - gagal", "belum ditutup"),
}
# id, title, amount, owner, created, stage (first / won / lost), closed
DEALS = [("1", "Acme", "0", "Ana", "01.10.2026 10:00:00", "first", None),
         ("2", "Beta", "100", "Ana", "01.10.2026 10:00:00", "won", "18.11.2026 10:00:00"),
         ("3", "Gamma", "100", "Bruno", "01.10.2026 10:00:00", "lost", "18.11.2026 10:00:00"),
         ("4", "test", "50", "Bruno", "10.11.2026 10:00:00", "first", None)]


def write_leads(lang: str, d) -> None:
    d.mkdir(parents=True, exist_ok=True)
    pipe, first, won, lost, open_ = WORDS[lang]
    stage = {"first": first, "won": won, "lost": lost}
    rows = [[i, t, a, o, c, pipe, stage[s], closed or open_] for i, t, a, o, c, s, closed in DEALS]
    with open(d / "kommo_export_leads_2026-11-20.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([HEADERS[lang], *rows])


@pytest.fixture(scope="module")
def russian(tmp_path_factory) -> dict[str, set[str]]:
    return twin_findings(tmp_path_factory, "amocrm", write_leads, "ru", {"4"})


@pytest.mark.parametrize("lang", every_other(["en", "es", "pt", "tr", "id"]))
def test_kommo_leads_export_in_every_language_audits_alike(lang, tmp_path, russian):
    export = tmp_path / "export"
    write_leads(lang, export)
    work = tmp_path / "work"
    s = init(work, "amocrm", export)
    assert not (s.get("columns") or {}).get("deals")
    pipe, first, won, lost, _open = WORDS[lang]
    assert s["pipelines"][pipe][-2:] == [won, lost]  # the system statuses last
    assert run(work, export) == 0
    assert findings(work) == russian
    got = dict(table(export, "amocrm", "SELECT id, status || ' ' || coalesce(CAST(closed AS VARCHAR), '-') FROM deals"))
    assert got == {"1": "open -", "2": "won 2026-11-18", "3": "lost 2026-11-18", "4": "open -"}
