"""#13 acceptance X1: HubSpot's French companies export «hubspot-crm-exports-toutes-les-entreprises-DATE.csv» (headers
«ID de fiche d'informations», «Nom de l'entreprise», «Propriétaire de l'entreprise», «Ville», «Pays/région») was «не
распознан, пропущен»: its view-derived name was not one the profile knew and «ID de fiche d'informations» was no
companies' id; 1.7 was skipped with advice naming a column the file has, and following it changed nothing while validate
said all was fine. Case hs_fr_story's first export (/tmp/accX/hs_fr_story/export-2026-11-03)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cli_helpers import cli_in_process, findings_by_code

EXPORT = Path(__file__).parent / "fixtures" / "accx" / "hs_fr_story" / "export"
COMPANIES = "hubspot-crm-exports-toutes-les-entreprises-2026-11-03.csv"
ENV = {"CRM_AUDIT_LANGUAGE": "ru"}
# the case's expected-A1.json but 1.11 (the team's hand edit pipeline_names: Клиенты, not made here)
EXPECTED = {"1.1": {"201", "204"}, "1.5": {"202"}, "1.7": {"203"}, "1.8": {"202", "205"}, "2.1": {"202", "206"},
            "2.3": {"203", "207", "208"}, "2.4": {"201", "207"}}


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    work = tmp_path_factory.mktemp("hsfr")
    done = cli_in_process("init", str(work), "--from-export", str(EXPORT), env=ENV)
    assert done.returncode == 0, done.stderr
    config = work / "crm-audit.yaml"
    inspect = cli_in_process("inspect", str(EXPORT), "-c", str(config), env=ENV)
    run = cli_in_process("run", "-c", str(config), "--export", str(EXPORT), "--as-of", "2026-11-03",
                         "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"),
                         "--ledger", str(work / "l.db"), env=ENV)
    assert run.returncode == 0, run.stderr
    # the same companies file under a name no profile knows, its id column labelled as no language of HubSpot does
    odd = work / "odd"
    shutil.copytree(EXPORT, odd)
    lines = (odd / COMPANIES).read_text(encoding="utf-8").splitlines(keepends=True)
    (odd / COMPANIES).unlink()
    (odd / "liste.csv").write_text(lines[0].replace("ID de fiche d'informations", "Identifiant") + "".join(lines[1:]),
                                   encoding="utf-8")
    # the same file under an unknown name with HubSpot's own headers
    renamed = work / "renamed"
    shutil.copytree(EXPORT, renamed)
    (renamed / COMPANIES).rename(renamed / "liste.csv")
    return {"work": work, "config": config, "inspect": inspect, "found": findings_by_code(work / "v.csv"),
            "odd": odd, "renamed": renamed}


def test_the_french_companies_file_is_read(story):
    assert story["inspect"].returncode == 0, story["inspect"].stderr
    assert (f"{COMPANIES} → организации: 4 строки" in story["inspect"].stdout), story["inspect"].stdout
    assert "ID de fiche d'informations → id; Nom de l'entreprise → name; Propriétaire de l'entreprise → owner" \
        in story["inspect"].stdout


def test_first_run_flags_203_on_owner_mismatch(story):
    assert story["found"] == EXPECTED


def test_a_file_of_an_unknown_name_is_recognised_by_its_headers(story):
    out = cli_in_process("inspect", str(story["renamed"]), "-c", str(story["config"]), env=ENV)
    assert out.returncode == 0, out.stderr
    assert "liste.csv → организации: 4 строки" in out.stdout


def test_skip_names_the_column_the_file_lacks_never_one_it_has(story):
    out = cli_in_process("inspect", str(story["odd"]), "-c", str(story["config"]), env=ENV)
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if "owner-mismatch" in x)
    assert ("liste.csv есть в папке выгрузки, но не распознан как файл «организации»: ни одна из его колонок не названа "
            "так, как эта CRM называет «ID de fiche d'informations» — сопоставьте его колонки в crm-audit.yaml "
            "(columns: {organizations: {id: <header>}}") in line
    assert "Propriétaire de l'entreprise" not in line


def _with_columns(story, name: str, lines: str) -> Path:
    config = story["work"] / name
    text = story["config"].read_text(encoding="utf-8")
    assert "\ncolumns: {}\n" in text
    config.write_text(text.replace("\ncolumns: {}\n", f"\ncolumns:\n  organizations:\n{lines}"), encoding="utf-8")
    return config


def test_validate_says_a_mapped_file_is_still_not_read(story):
    config = _with_columns(story, "owner.yaml", "    owner: Propriétaire de l'entreprise\n")
    out = cli_in_process("validate", "-c", str(config), "--export", str(story["odd"]), env=ENV)
    assert out.returncode == 0, out.stderr
    assert ("columns: organizations: ни один файл выгрузки не прочитан как файл organizations, поэтому эти строки пока "
            "ничего не меняют: liste.csv по-прежнему не распознан как он — нет обязательной колонки «ID de fiche "
            "d'informations»") in out.stderr
    fixed = _with_columns(story, "id.yaml", "    id: Identifiant\n")
    out = cli_in_process("validate", "-c", str(fixed), "--export", str(story["odd"]), env=ENV)
    assert "ни один файл выгрузки не прочитан" not in out.stderr
