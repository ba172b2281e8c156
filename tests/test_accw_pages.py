"""Acceptance W4 (cases api_b24_pages, api_hs_json): an API listing's pages saved as files of their own
(deals_page1.json + deals_page2.json, deals.json + deals_page2.json, deals-p1.csv + deals-p2.csv) are one entity's rows
when their names differ only by a page marker, their headers are the same set (JSON: the same id key) and their ids do
not overlap — said in a note; a twin whose ids overlap (a re-download) still stops the load with «два файла deals»."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli_helpers import cli_in_process, findings_by_code, run_in_process
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
    done = run_in_process(work, export, "2026-11-20", env=RU)
    assert done.returncode == 0, done.stderr
    return done, findings_by_code(work / "v.csv")


def test_pages_are_one_list_with_the_one_file_findings(paged):
    done, found = paged
    assert found == EXPECTED
    assert "deals_page1.json: прочитан вместе с deals_page2.json как страницы одного списка (всего строк: 9)" in done.stdout


def test_a_page_fetched_twice_names_its_ids_and_files(tmp_path):
    """X3: pages by name whose ids repeat are said as such (was: «два файла … оставьте один», which lost pages)."""
    done = _init(tmp_path / "w", _paged(tmp_path, same_ids=True))
    assert done.returncode == 2
    assert ("deals_page2.json (строка 2, столбец «ID»): страница списка deals повторяет страницы перед ней: все её ID "
            "(всего 5: 201, 202, 203, 204, 205) есть и в deals_page1.json; удалите этот файл из папки выгрузки") in done.stderr
    assert "два файла" not in done.stderr


def test_a_page_overlapping_the_pages_before_names_them(tmp_path):
    """X3 (case b24_pages_overlap, a partly overlapping offset): which ids, which files, and to fetch the pages again."""
    export = _paged(tmp_path)
    first, second = (json.loads((export / n).read_text(encoding="utf-8")) for n in ("deals_page1.json", "deals_page2.json"))
    third = {**second, "result": [first["result"][4], second["result"][0], {**second["result"][1], "ID": "210"}]}
    (export / "deals_page3.json").write_text(json.dumps(third, ensure_ascii=False), encoding="utf-8")
    done = _init(tmp_path / "w", export)
    assert done.returncode == 2
    assert ("deals_page3.json (строка 2, столбец «ID»): страница списка deals пересекается со страницами перед ней: 2 из "
            "её 3 ID (205, 206) есть и в deals_page1.json, deals_page2.json; выгрузите страницы списка заново так, чтобы "
            "ID не повторялись от страницы к странице (если оставить один из файлов, строки других страниц пропадут)"
            ) in done.stderr
    assert "два файла" not in done.stderr


def test_a_re_download_not_named_as_a_page_is_still_two_files(tmp_path):
    export = _paged(tmp_path, second="deals (1).json", same_ids=True, first_name="deals.json")
    done = _init(tmp_path / "w", export)
    assert done.returncode == 2
    assert "два файла deals: deals (1).json и deals.json; оставьте в папке выгрузки один из них" in done.stderr


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


def test_a_bad_cell_on_a_later_page_is_said_at_its_page_and_row(tmp_path):
    """A cell that does not read on page 2 names deals_page2.json and its row there (the joined table numbers rows on
    from page to page: it had named deals_page1.json and the row counted across pages)."""
    export, work = _paged(tmp_path), tmp_path / "w"
    assert _init(work, export).returncode == 0
    page2 = json.loads((export / "deals_page2.json").read_text(encoding="utf-8"))
    page2["result"][1]["DATE_CREATE"] = "вчера"
    (export / "deals_page2.json").write_text(json.dumps(page2, ensure_ascii=False), encoding="utf-8")
    done = run_in_process(work, export, "2026-11-20", env=RU)
    assert done.returncode == 2
    assert "deals_page2.json (строка 3, столбец «DATE_CREATE»)" in done.stderr, done.stderr
    assert "deals_page1.json (строка" not in done.stderr


def test_a_stage_the_settings_lack_on_a_later_page_is_said_at_its_page_and_row(tmp_path):
    """Acceptance Z-M: the checks on the loaded deals (a stage the settings lack: validate's and run's) say page 2's
    file and its own row, as a bad cell does — they had named the first page and the row counted across pages."""
    export, work = _paged(tmp_path), tmp_path / "w"
    assert _init(work, export).returncode == 0
    page2 = json.loads((export / "deals_page2.json").read_text(encoding="utf-8"))
    page2["result"][1]["STAGE_ID"] = "UC_X7K2QF"
    deal = page2["result"][1]["ID"]
    (export / "deals_page2.json").write_text(json.dumps(page2, ensure_ascii=False), encoding="utf-8")
    done = run_in_process(work, export, "2026-11-20", env=RU)
    assert done.returncode == 0, done.stderr
    assert f"deals_page2.json строка 3 «STAGE_ID»: сделка {deal}: этапа «UC_X7K2QF» нет в воронке" in done.stdout, done.stdout
    checked = cli_in_process("validate", "-c", str(work / "crm-audit.yaml"), "--export", str(export), env=RU)
    assert "deals_page2.json (строка 3, столбец «STAGE_ID»): этапа «UC_X7K2QF» нет в воронке" in checked.stdout + checked.stderr
