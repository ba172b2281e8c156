"""Acceptance Z-J: a file whose headers prove no code page follows the one the export's other files proved.

tests/fixtures/accz/sf_zhtw_big5 (README.md there): a Salesforce export in Big5 whose accounts.csv has headers no
profile lists («客戶 ID, 客戶名 …»); it was read as Western mojibake («È¤á ID»), silently, while the other files
read as Big5 — the run linked no company and 1.5 missed 006124 (its company is named «??»).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cli_helpers import findings_by_code, init_from_export, run_audit
from crm_audit.engine.encoding import detect_encoding, export_codepage

FIXTURE = Path(__file__).parent / "fixtures" / "accz" / "sf_zhtw_big5" / "export"


def _copy(tmp_path: Path, name: str, encoding: str | None = None) -> Path:
    out = tmp_path / name
    out.mkdir()
    for f in FIXTURE.iterdir():
        if encoding is None:
            shutil.copy(f, out / f.name)
        else:
            (out / f.name).write_text(f.read_bytes().decode("big5"), encoding=encoding, newline="")
    return out


def test_unknown_headers_follow_the_exports_code_page(tmp_path):
    export = _copy(tmp_path, "export")
    accounts = export / "accounts.csv"
    assert export_codepage(accounts) == "big5"  # opportunities / tasks / contacts prove it by their headers
    assert detect_encoding(accounts, accounts.read_bytes()) == "big5"
    # alone, the file proves nothing: it is not read as Big5 by guess
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(accounts, alone / "accounts.csv")
    assert export_codepage(alone / "accounts.csv") is None


def test_big5_export_audits_as_its_utf8_twin(tmp_path, capsys, monkeypatch):
    got = {}
    for name, enc in (("big5", None), ("utf8", "utf-8")):
        export = _copy(tmp_path, name, enc)
        work = tmp_path / f"w_{name}"
        text = init_from_export(capsys, monkeypatch, work, "salesforce", export)
        assert "È" not in text  # no mojibake header mapped
        run_audit(capsys, monkeypatch, work, export, "2026-11-20")
        got[name] = findings_by_code(work / "v.csv")
    assert "006124" in got["big5"]["1.5"]  # its company «??», linked through accounts.csv
    assert got["big5"] == got["utf8"]


def test_a_western_export_is_no_hint(tmp_path):
    d = tmp_path / "x"
    d.mkdir()
    (d / "deals.csv").write_bytes("Negócio,Título\n1,Ação\n".encode("cp1252"))
    (d / "other.csv").write_bytes("Größe,Straße\n1,Köln\n".encode("cp1252"))
    assert export_codepage(d / "other.csv") is None
