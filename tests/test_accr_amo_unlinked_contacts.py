"""Acceptance R13 (what was left): an amoCRM leads export with a contacts list that no deal links to — its name column
under a header no profile knows, or its names not the deals' «Полное имя контакта». Rule 1.7 must not silently count
0: the contacts are read from the leads' own columns (the profile's `persons: from_deals:`, as with the leads file
alone), a warning names the contacts file and why it was not used, and inspect says where 1.7 reads them from.

``fixtures/accr/amo_ru_contacts_unnamed`` is ``fixtures/accr/amo_ru_contacts`` (the tester's case) with the contacts'
name header «Наименование» renamed «Person». By hand at 20.11.2026: 3001's owner Иван Петров, its contact Анна
Смирнова's owner (the leads' «Ответственный за контакт») Мария Сидорова: 1.7 {3001}; 3003's are both Иван Петров.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cli_helpers import cli_ru, findings_by_code, init_from_export, run_audit

FIXTURES = Path(__file__).parent / "fixtures" / "accr"
CONTACTS = "amocrm_export_contacts_2026-11-20.csv"
AS_OF = "2026-11-20"


def _audit(tmp_path, capsys, monkeypatch, export: Path, settings: list[str] | None = None
           ) -> tuple[dict[str, set[str]], str, str]:
    """init, run and inspect: (findings by rule code, the run's text, inspect's text); ``settings``: init's lines."""
    work = tmp_path / "work"
    work.mkdir()
    written = init_from_export(capsys, monkeypatch, work, "amocrm", export)
    if settings is not None:
        settings += written.splitlines()
    out, err = run_audit(capsys, monkeypatch, work, export, AS_OF)
    code, text, ierr = cli_ru(capsys, monkeypatch, "inspect", str(export), "--config", str(work / "crm-audit.yaml"))
    assert code == 0, ierr
    return findings_by_code(work / "v.csv"), out + err, text


def _rule_line(text: str, code: str) -> str:
    return next(x for x in text.splitlines() if x.strip().startswith(f"{code} "))


def test_contacts_without_a_name_column_fall_back_to_the_leads_columns(tmp_path, capsys, monkeypatch):
    settings: list[str] = []
    found, out, text = _audit(tmp_path, capsys, monkeypatch, FIXTURES / "amo_ru_contacts_unnamed", settings)
    assert found["1.7"] == {"3001"}
    # init still proposes the contacts' name column by its values, naming the contacts file (commented out)
    proposed = next(x for x in settings if x.startswith("#     name: Person"))
    assert f"по значениям может быть name ({CONTACTS})" in proposed
    warning = next(x for x in out.splitlines() if "не связана с записями «контакты»" in x)
    assert warning.strip().startswith(f"{CONTACTS}:")
    assert "нет столбца, по которому их называют сделки («Полное имя контакта»)" in warning
    assert "columns: {persons: {name: <заголовок>}}" in warning
    assert "прочитаны из собственных столбцов сделок («Ответственный за контакт»)" in warning
    # inspect: the contacts under the leads file, the same warning, and 1.7 says where it reads them from
    assert f"прочитаны из строк сделок, а не из {CONTACTS}" in text
    assert warning.strip() in text
    line = _rule_line(text, "1.7")
    assert "выполнится: читает «контакты» из собственных столбцов сделок, а не из " + CONTACTS in line


def test_contacts_whose_names_no_deal_names_fall_back_too(tmp_path, capsys, monkeypatch):
    """The contacts list names them «Смирнова Анна» / «89161234567 Петр»: the name column is mapped, the link by name
    finds nothing (it found nothing silently before: 1.7 = 0, no warning)."""
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "amo_ru_contacts", export)
    text = (export / CONTACTS).read_text(encoding="utf-8-sig")
    text = text.replace('"Анна Смирнова"', '"Смирнова Анна"').replace('"Петр 89161234567"', '"89161234567 Петр"')
    (export / CONTACTS).write_text(text, encoding="utf-8-sig")
    found, out, inspected = _audit(tmp_path, capsys, monkeypatch, export)
    assert found["1.7"] == {"3001"}
    warning = next(x for x in out.splitlines() if "не связана с записями «контакты»" in x)
    assert "ни одну из них не называет столбец сделок «Полное имя контакта» (в сделках: «Анна Смирнова», «Петр 89161234567»)" in warning
    assert "выполнится: читает «контакты»" in _rule_line(inspected, "1.7")


def test_a_contacts_list_some_deal_links_to_is_used(tmp_path, capsys, monkeypatch):
    """The tester's case as is: the contacts list links (by «Наименование»), so its owners are read, no fallback."""
    found, out, text = _audit(tmp_path, capsys, monkeypatch, FIXTURES / "amo_ru_contacts")
    assert found["1.7"] == {"3001"}
    assert "не связана с записями «контакты»" not in out
    assert f"{CONTACTS} → контакты: 2 строки" in text
    assert _rule_line(text, "1.7").endswith("выполнится")


def test_company_rows_named_in_the_lists_one_name_column(tmp_path, capsys, monkeypatch):
    """A contacts list whose one name column is «Полное имя» (acceptance R13, amo_ru_contacts_fullname): its company rows
    are named by it — «Компания», the contact's company, is blank on them — so the deals link to the companies and
    the list is used, not set aside; 1.7 {3001} as by hand."""
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import load_profile

    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "amo_ru_contacts_fullname" / "export", export)
    ex = load_export(export, load_profile("amocrm"))
    try:
        assert ex.con.execute("SELECT id, name FROM organizations ORDER BY id").fetchall() == [("8001", "ООО Ромашка"),
                                                                                             ("8002", "ООО Бета"), ("8003", "ООО Гамма")]
        assert not [w for w in ex.warnings if w.code == "unlinked-records"]
    finally:
        ex.close()
        ex.con.close()
    found, out, _text = _audit(tmp_path, capsys, monkeypatch, export)
    assert found.get("1.7") == {"3001"}
