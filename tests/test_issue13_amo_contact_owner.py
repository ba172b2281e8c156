"""Issue 13, acceptance O4: an amoCRM leads export without a contacts file carries each deal's main contact and the
contact's owner as columns («Полное имя контакта», «Ответственный за контакт»): the contacts are read from the deals'
rows (the profile's `persons: from_deals:`), and rule 1.7 «Разные ответственные» flags a deal whose owner differs from
its contact's. Played through the CLI as a user types it: `init --crm amocrm --from-export DIR`, then `run`.

The tester's case (/tmp/accQ/verify/O_amo_fullcols/export) is byte for byte ``tests/fixtures/issue13-o/amo_fullcols``
(the real 76-column layout): read from there, not copied again. Its five deals, by hand (1.7's scope is the open deals):

====  ==================  ===============  ========================  =======================
deal  owner               contact          contact owner             1.7
====  ==================  ===============  ========================  =======================
3001  Иван Петров         Анна Смирнова    Иван Петров               same owner
3002  Иван Петров         Олег 89161234567 Мария Сидорова            **flagged**
3003  Мария Сидорова      Пётр Кузнецов    Мария Сидорова            same owner
3004  Мария Сидорова      Ольга Иванова    Мария Сидорова            won: out of scope
3005  Иван Петров         Сергей Орлов     Иван Петров               lost: out of scope
====  ==================  ===============  ========================  =======================

The other variants are that file changed by the test (a column dropped, a contact renamed, a contacts list added).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import yaml
from cli_helpers import cli_ru, init_from_export, run_audit
from test_crm_exports_issue13 import findings  # the findings of v.csv: rule id -> deal ids

from crm_audit.engine.profile import Profile
from crm_audit.resources import profiles_dir

FIXTURE = Path(__file__).parent / "fixtures" / "issue13-o" / "amo_fullcols"
LEADS = "amocrm_export_leads_2026-11-20.csv"
AS_OF = "2026-11-20"
# what the other rules flag in the fixture (unchanged by the contacts: 1.5 names, 1.8 «Источник» of 3004)
OTHERS = {"invalid-name": {"3002", "3003"}, "missing-source": {"3004"}}


def audit(capsys, monkeypatch, work: Path, export: Path) -> str:
    """init from the export, then run it: the terminal's text."""
    init_from_export(capsys, monkeypatch, work, "amocrm", export)
    out, err = run_audit(capsys, monkeypatch, work, export, AS_OF)
    return out + err


def rows_17(work: Path) -> dict[str, dict[str, str]]:
    """The violations CSV's rows of rule code 1.7, by deal id."""
    with open(work / "v.csv", encoding="utf-8") as f:
        return {r["deal_id"]: r for r in csv.DictReader(f) if r["rule_code"] == "1.7"}


def leads(export: Path, change=None, drop: str | None = None) -> Path:
    """The fixture's leads file written into ``export`` as amoCRM writes it (`;`, UTF-8 BOM, every field quoted), with
    ``change(row, cells, head)`` applied to each deal row (its cells changed in place) and the column ``drop`` left out."""
    export.mkdir(parents=True, exist_ok=True)
    with open(FIXTURE / LEADS, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    head = rows[0]
    for r in rows[1:] if change else []:
        change(dict(zip(head, r)), r, head)
    out = rows
    if drop is not None:
        i = head.index(drop)
        out = [r[:i] + r[i + 1:] for r in out]
    with open(export / LEADS, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f, delimiter=";", quoting=csv.QUOTE_ALL).writerows(out)
    return export


def test_contact_owner_of_the_leads_export_flags_1_7(tmp_path, capsys, monkeypatch):
    """3002's owner Иван Петров, its contact's Мария Сидорова: flagged by 1.7, and only it; the contact's owner is the
    evidence; the organizations' half of 1.7 is said to be unchecked (no company owners in a leads export)."""
    out = audit(capsys, monkeypatch, tmp_path, FIXTURE)
    assert findings(tmp_path) == {**OTHERS, "owner-mismatch": {"3002"}}
    row = rows_17(tmp_path)["3002"]
    assert row["owner"] == "Иван Петров"
    assert "Ответственный за контакт: Мария Сидорова" in row["evidence"]
    assert "1.7 Разные ответственные: Правило пропущено" not in out
    assert "нет компаний и контактов с их ответственными" not in out  # the old reason, false for this export
    line = next(x for x in out.splitlines() if "правило 1.7" in x)
    assert "«организации»" in line and "не проверяется" in line


def test_inspect_shows_the_contacts_read_from_the_deals_rows(tmp_path, capsys, monkeypatch):
    init_from_export(capsys, monkeypatch, tmp_path, "amocrm", FIXTURE)
    code, out, err = cli_ru(capsys, monkeypatch, "inspect", str(FIXTURE), "--config", str(tmp_path / "crm-audit.yaml"))
    assert code == 0, err
    lines = out.splitlines()
    i = lines.index(f"  {LEADS} → контакты: 5 строк")
    assert lines[i + 1].startswith("    прочитаны из строк сделок (своего файла в выгрузке нет)")
    assert "«Полное имя контакта» и «Ответственный за контакт»" in lines[i + 1]
    assert "Полное имя контакта → name; Ответственный за контакт → owner" in lines[i + 2]
    assert "Полное имя контакта (запись из строки самой сделки) → person_id" in out
    assert "(нет файла «контакты»" not in out
    rule = next(x for x in lines if x.strip().startswith("1.7 "))
    assert rule.endswith("выполнится")


def test_without_the_contact_owner_column_1_7_is_skipped_with_a_true_reason(tmp_path, capsys, monkeypatch):
    """The leads exported without «Ответственный за контакт» (fields chosen): no contacts are read, 1.7 is skipped, and
    what it and inspect say is true of this export — companies only by name, no contact owner column."""
    export = leads(tmp_path / "export", drop="Ответственный за контакт")
    work = tmp_path / "work"
    work.mkdir()
    out = audit(capsys, monkeypatch, work, export)
    assert findings(work) == OTHERS
    line = next(x for x in out.splitlines() if "1.7 Разные ответственные:" in x)
    assert "Правило пропущено" in line and "у компаний только названия" in line
    assert "список контактов amoCRM" in line and "«Ответственный»" in line and "contacts.csv" in line
    assert "organizations.csv" not in line and "нет компаний и контактов" not in line
    code, text, err = cli_ru(capsys, monkeypatch, "inspect", str(export), "--config", str(work / "crm-audit.yaml"))
    assert code == 0, err
    assert "→ контакты" not in text
    absent = next(x for x in text.splitlines() if x.startswith("  (нет файла «контакты»"))
    assert "нет колонки «Ответственный за контакт»" in absent and "со всеми полями" in absent


def test_namesakes_keep_their_own_owners(tmp_path, capsys, monkeypatch):
    """3001's contact renamed «Олег 89161234567» (3002's, owner Мария Сидорова) while its row keeps owner Иван Петров:
    two contacts of one name, each deal linked to its own row's — never to the first of that name (3002 would pass)."""
    def rename(row, cells, head):
        if row["ID"] == "3001":
            cells[head.index("Полное имя контакта")] = "Олег 89161234567"

    export = leads(tmp_path / "export", rename)
    work = tmp_path / "work"
    work.mkdir()
    audit(capsys, monkeypatch, work, export)
    assert findings(work)["owner-mismatch"] == {"3002"}


CONTACTS_HEAD = ["ID", "Тип", "Полное имя контакта", "Имя", "Фамилия", "Название компании", "Ответственный",
                 "Дата создания контакта", "Кем создан контакт", "Сделки", "Дата редактирования", "Теги"]


def test_a_contacts_list_in_the_export_wins(tmp_path, capsys, monkeypatch):
    """amoCRM's contacts list next to the leads: its owners are read, the leads' «Ответственный за контакт» is not —
    Анна Смирнова's owner there is Мария Сидорова (3001 flagged), Олег's Иван Петров (3002 passes), Пётр Кузнецов not
    in the list (3003 linked to no contact)."""
    export = tmp_path / "export"
    export.mkdir()
    shutil.copy(FIXTURE / LEADS, export / LEADS)
    when = "01-09-2026 10:00:00"
    rows = [CONTACTS_HEAD,
            ["501", "контакт", "Анна Смирнова", "Анна", "Смирнова", "ООО Ромашка", "Мария Сидорова", when, "Мария Сидорова", "", when, ""],
            ["502", "контакт", "Олег 89161234567", "Олег", "", "ИП Олег", "Иван Петров", when, "Иван Петров", "", when, ""]]
    with open(export / "contacts.csv", "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f, delimiter=";", quoting=csv.QUOTE_ALL).writerows(rows)
    work = tmp_path / "work"
    work.mkdir()
    audit(capsys, monkeypatch, work, export)
    assert findings(work)["owner-mismatch"] == {"3001"}
    assert "Ответственный за контакт: Мария Сидорова" in rows_17(work)["3001"]["evidence"]
    code, text, err = cli_ru(capsys, monkeypatch, "inspect", str(export), "--config", str(work / "crm-audit.yaml"))
    assert code == 0, err
    assert "contacts.csv → контакты: 2 строки" in text and "прочитаны из строк сделок" not in text


def test_from_deals_is_checked_when_the_profile_loads():
    """`from_deals:` is data of any profile, checked like the rest: only organizations / persons, only their fields
    (their id and name come from the deals' link)."""
    data = yaml.safe_load((profiles_dir() / "amocrm.yaml").read_text(encoding="utf-8"))
    assert data["entities"]["persons"]["from_deals"] == {"owner": ["Ответственный за контакт"]}
    Profile.model_validate(data)
    for entity, spec, said in (("deals", {"owner": ["X"]}, "only organizations and persons"),
                               ("persons", {"phone": ["X"]}, "names fields the entity has not"),
                               ("persons", {"name": ["X"]}, "names fields the entity has not")):
        bad = yaml.safe_load((profiles_dir() / "amocrm.yaml").read_text(encoding="utf-8"))
        bad["entities"][entity]["from_deals"] = spec
        with pytest.raises(ValueError, match=said):
            Profile.model_validate(bad)
