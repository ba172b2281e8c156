"""Acceptance W4 (cases api_b24_pages, api_hs_json): an API listing's pages saved as files of their own
(deals_page1.json + deals_page2.json, deals.json + deals_page2.json, deals-p1.csv + deals-p2.csv) are one entity's rows
when their names differ only by a page marker, their headers are the same set (JSON: the same id key) and their ids do
not overlap — said in a note; a twin whose ids overlap (a re-download) still stops the load with «два файла deals»."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli_helpers import cli_in_process, findings_by_code
from crm_audit.engine.pages import page_groups

CASE = Path(__file__).parent / "fixtures" / "accw" / "api_b24_arr"
RU = {"CRM_AUDIT_LANGUAGE": "ru"}
EXPECTED = {"1.1": {"202", "208"}, "1.3": {"203", "208"}, "1.5": {"202", "203"}, "1.7": {"203", "208"},
            "1.11": {"202"}, "2.2": {"201"}, "2.3": {"203"}, "2.4": {"201", "204"}}  # the one-file twin's findings


def _paged(tmp: Path, second: str = "deals_page2.json", same_ids: bool = False, first_name: str = "deals_page1.json") -> Path:
    """The case's export with its deals.json (an array of two crm.deal.list answers) saved a page a file."""
    export = tmp / "export"
    shutil.copytree(CASE, export)
    first, page2 = json.loads((export / "deals.json").read_text(encoding="utf-8"))
    (export / "deals.json").unlink()
    (export / first_name).write_text(json.dumps(first, ensure_ascii=False), encoding="utf-8")
    (export / second).write_text(json.dumps(first if same_ids else page2, ensure_ascii=False), encoding="utf-8")
    return export


def _init(work: Path, export: Path):
    return cli_in_process("init", str(work), "--crm", "bitrix24", "--from-export", str(export), env=RU)


@pytest.fixture(scope="module")
def paged(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pages")
    export, work = _paged(tmp), tmp / "w"
    done = _init(work, export)
    assert done.returncode == 0, done.stderr
    done = cli_in_process("run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", "2026-11-20",
                          "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"),
                          "--ledger", str(work / "l.db"), env=RU)
    assert done.returncode == 0, done.stderr
    return done, findings_by_code(work / "v.csv")


def test_pages_are_one_list_with_the_one_file_findings(paged):
    done, found = paged
    assert found == EXPECTED
    assert "deals_page1.json: прочитан вместе с deals_page2.json как страницы одного списка (всего строк: 9)" in done.stdout


def test_a_twin_with_the_same_ids_is_still_two_files(tmp_path):
    done = _init(tmp_path / "w", _paged(tmp_path, same_ids=True))
    assert done.returncode == 2
    assert ("deals_page2.json: два файла deals: deals_page1.json и deals_page2.json; оставьте в папке выгрузки один из них"
            in done.stderr)


def test_which_names_are_pages_of_one_list():
    def groups(*names: str) -> dict[str, list[str]]:
        return {k.name: [p.name for p in v] for k, v in page_groups([Path(n) for n in names]).items()}

    assert groups("deals.json", "deals_page2.json", "stages.json") == {"deals.json": ["deals_page2.json"]}
    assert groups("deals_2.csv", "deals_1.csv") == {"deals_1.csv": ["deals_2.csv"]}
    assert groups("deals-p1.csv", "deals-p2.csv", "deals-p1.json") == {"deals-p1.csv": ["deals-p2.csv"]}
    assert groups("Deals (1).csv", "Deals.csv") == {}  # a re-download: two files (the loader's error)
    assert groups("deals_2026-11-20.xlsx", "deals_2026-11-27.xlsx") == {}  # two exports by date, no pages
    # X2: a date in the name is part of it, the first page unmarked beside the marked ones of the same dated name
    assert groups("deals-2026-11-01_page2.json", "deals-2026-11-01.json") == {
        "deals-2026-11-01.json": ["deals-2026-11-01_page2.json"]}
    assert groups("deals-2026-11-01_page1.json", "deals-2026-11-01_page2.json", "deals-2026-11-08_page1.json") == {
        "deals-2026-11-01_page1.json": ["deals-2026-11-01_page2.json"]}
    assert groups("deals 2026-11-01 p3.csv", "deals 2026-11-01 p2.csv", "deals 2026-11-01.csv") == {
        "deals 2026-11-01.csv": ["deals 2026-11-01 p2.csv", "deals 2026-11-01 p3.csv"]}
    assert groups("deals-2026-11-01.json", "deals-2026-11-02.json") == {}


def test_dated_pages_init_and_read_as_one_list(tmp_path):
    """X2 (cases b24_pages_dated, hs_pages_dated): deals-2026-11-01.json + deals-2026-11-01_page2.json."""
    export = _paged(tmp_path, second="deals-2026-11-01_page2.json", first_name="deals-2026-11-01.json")
    done = _init(tmp_path / "w", export)
    assert done.returncode == 0, done.stderr
    assert "два файла" not in done.stdout + done.stderr
    assert (tmp_path / "w" / "crm-audit.yaml").is_file()
