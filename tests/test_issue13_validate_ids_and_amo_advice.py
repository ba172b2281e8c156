"""Issue 13 leftovers: `validate --export` names deal rows without an id and one id on several rows as `run` and
`inspect` do (crm_audit/engine/deal_ids.py, warnings: exit 0); amoCRM's rule 1.7 run without a companies file
advises amoCRM's own contacts list (the profile's `unsupported: organizations:`), never Pipedrive's organizations."""

from __future__ import annotations

import shutil
from pathlib import Path

from cli_helpers import cli_ru, init_from_export, run_audit

FIXTURES = Path(__file__).parent / "fixtures"
DUP = ("ID сделок встречаются больше чем в одной строке (ID: строки): 102: 3, 14 (всего 1); проверяется только первая "
       "строка каждого ID, остальные строки — нет")
NO_ID = "строк сделок без ID, не проверяются: 1 (первая — строка 15)"


def test_validate_export_names_duplicate_ids_and_rows_without_an_id(tmp_path, capsys, monkeypatch):
    """Deal 102 again on row 14, a row without an id on row 15: validate warns of both (exit 0, as run)."""
    shutil.copytree(FIXTURES / "pipedrive" / "export", tmp_path / "export")
    shutil.copy(FIXTURES / "pipedrive" / "crm-audit.yaml", tmp_path / "crm-audit.yaml")
    deals = tmp_path / "export" / "deals.csv"
    lines = deals.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 13 and lines[2].startswith('"102",')
    no_id = '""' + lines[3][lines[3].index(","):]
    deals.write_text("\n".join([*lines, lines[2], no_id]) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = cli_ru(capsys, monkeypatch, "validate", "--export", "export")
    assert code == 0, err
    warned = [x for x in err.splitlines() if x.startswith("предупреждение: ")]
    assert ("предупреждение: export/deals.csv (строка 15, столбец «Deal - ID»): " + NO_ID) in warned
    assert any(x.startswith("предупреждение: export/deals.csv (строка 14, столбец «Deal - ID»): " + DUP) for x in warned)
    assert "2 предупреждения" in out
    code, out, err = cli_ru(capsys, monkeypatch, "run", "--export", "export", "--as-of", "2026-11-20", "--out", "a.xlsx")
    assert code == 0, err
    assert NO_ID in out + err and DUP in out + err  # the same texts as the run's


def test_amocrm_partial_1_7_advises_amocrms_contacts_list(tmp_path, capsys, monkeypatch):
    """The leads export with «Ответственный за контакт», no contacts list: 1.7 runs on the contacts' half; its note says
    what amoCRM exports the companies in (its contacts list), never «export the organizations» (Pipedrive's file)."""
    export = FIXTURES / "issue13-o" / "amo_fullcols"
    init_from_export(capsys, monkeypatch, tmp_path, "amocrm", export)
    out, err = run_audit(capsys, monkeypatch, tmp_path, export, "2026-11-20")
    notes = [x for x in (out + err).splitlines() if "1.7" in x and "не проверяется" in x]
    assert len(notes) == 1, out + err
    assert ("правило 1.7 owner-mismatch работает без файла «организации» («Ответственный»): часть правила, которая их "
            "читает, не проверяется — в выгрузке сделок amoCRM у компаний только названия") in notes[0]
    assert "список контактов amoCRM («Контакты» → «…» → «Экспорт»" in notes[0] and "contacts.csv" in notes[0]
    assert "выгрузите «организации»" not in out + err and "organizations.csv" not in out + err
    code, text, err = cli_ru(capsys, monkeypatch, "inspect", str(export), "--config", str(tmp_path / "crm-audit.yaml"))
    assert code == 0, err
    assert "выгрузите «организации»" not in text and "organizations.csv" not in text
    assert next(x for x in text.splitlines() if x.strip().startswith("1.7 ")).endswith("выполнится")


def test_pipedrive_partial_note_still_asks_for_its_organizations_file(tmp_path, capsys, monkeypatch):
    """A profile without `unsupported: organizations:` (Pipedrive) keeps the note «export the organizations»."""
    shutil.copytree(FIXTURES / "pipedrive" / "export", tmp_path / "export")
    (tmp_path / "export" / "organizations.csv").unlink()
    monkeypatch.chdir(tmp_path)
    init_from_export(capsys, monkeypatch, tmp_path, "pipedrive", tmp_path / "export")
    out, err = run_audit(capsys, monkeypatch, tmp_path, tmp_path / "export", "2026-11-20")
    note = next(x for x in (out + err).splitlines() if "правило 1.7" in x)
    assert "(выгрузите «организации» в ту же папку, чтобы проверить её)" in note
