"""Acceptance Y-B: Kommo's Spanish / Portuguese contacts list (contacts and companies in one file, «Tipo» =
contacto / compañía, contato / empresa) is split like the Russian / English one — the companies' owners reach rule
1.7 and their «Agencia» / «Agência» rule 1.12 — and a contacts list that cannot be split says what is wrong with it,
never "export the contacts list" (fixtures: tests/fixtures/accy/README.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cli_helpers import cli_ru, findings_by_code, init_from_export, run_audit

FIX = Path(__file__).parent / "fixtures" / "accy"


@pytest.mark.parametrize("case", ["kommo_es", "kommo_pt"])
def test_contacts_list_split_by_tipo(tmp_path, capsys, monkeypatch, case):
    init_from_export(capsys, monkeypatch, tmp_path, "kommo", FIX / case)
    out, _err = run_audit(capsys, monkeypatch, tmp_path, FIX / case, "2026-11-20")
    found = findings_by_code(tmp_path / "v.csv")
    assert found.get("1.7") == {"115", "116"}  # 115: the company's owner differs; 116: the contact's
    assert found.get("1.12") == {"112"}  # the partner pipeline's company is no agency
    assert "выгрузите в ту же папку список контактов" not in out


def _contacts_variant(tmp_path, keep_type: bool) -> Path:
    """The kommo_es export whose contacts list has «Tipo» values of no language (keep_type) or no «Tipo» column."""
    export = tmp_path / "export"
    export.mkdir()
    for f in (FIX / "kommo_es").glob("*.csv"):
        shutil.copy(f, export)
    contacts = next(export.glob("*contacts*"))
    lines = contacts.read_text(encoding="utf-8-sig").splitlines()
    if keep_type:
        lines = [ln.replace('"compañía"', '"firma"').replace('"contacto"', '"persona"') for ln in lines]
    else:
        lines = [";".join(c for i, c in enumerate(ln.split(";")) if i != 1) for ln in lines]
    contacts.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return export


@pytest.mark.parametrize("keep_type, why", [
    (True, "нет ни одной строки, где «Tipo» — компания / company / compañía / compania / empresa / şirket / sirket / "
           "perusahaan (в колонке: «firma», «persona»)"),
    (False, "kommo_export_contacts_2026-11-20.csv прочитан целиком как «контакты»: в нём нет колонки «Тип / Type / Tipo / "
            "Tür / Tipe»"),
])
def test_unsplit_contacts_list_says_what_is_wrong(tmp_path, capsys, monkeypatch, keep_type, why):
    export = _contacts_variant(tmp_path, keep_type)
    work = tmp_path / "work"
    work.mkdir()
    init_from_export(capsys, monkeypatch, work, "kommo", export)
    code, out, _err = cli_ru(capsys, monkeypatch, "inspect", str(export), "--config", str(work / "crm-audit.yaml"))
    assert code == 0
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("1.12"))
    assert why in line
    assert "выгрузите в ту же папку список контактов" not in out  # the list IS there: never "export it"
    out, _err = run_audit(capsys, monkeypatch, work, export, "2026-11-20")
    assert why in out and "выгрузите в ту же папку список контактов" not in out


def test_empty_list_reason_names_the_exports_header(tmp_path, capsys, monkeypatch):
    """Acceptance Y O4: the 1.2 skip of an English Kommo export names its «Loss reason», not the Russian header."""
    settings = init_from_export(capsys, monkeypatch, tmp_path, "kommo", FIX / "kommo_en")
    line = next(ln for ln in settings.splitlines() if ln.strip().startswith("frozen-deal-without-tasks:"))
    assert "«Loss reason»" in line and "Причина отказа" not in line
    assert "Off season, Too expensive" in line
