"""No cell of the workbook is ever a formula, whatever text reaches it (reference §5, README «Outputs»).

Every field that reaches a sheet gets a value starting with ``=``, ``+``, ``-`` or ``@``: the deal's title, owner,
pipeline, stage, lost reason, currency, custom fields (city, source, traffic, partner), the organization's and the
person's names and owners, the overdue task's subject, a company rule's FAQ text, the export folder's name, and —
carried over from the previous workbook — the managers' statuses and comments, the head's «Решение» and
«Комментарий руководителя», the notes of ``warn``/``accept``. After two audits (the second reads the first
document back) no cell anywhere is a formula, and each of those values is shown as the same text.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml

from crm_audit.cli import main
from crm_audit.initfile import render_settings
from pipedrive_fixture import write_export

DEFAULTS = yaml.safe_load((Path(__file__).parent / "rule_cases" / "_defaults.yaml").read_text(encoding="utf-8"))
D1, D2 = "2026-11-06", "2026-11-20"

# a company rule that shows the source and the partner organization (the bundled 1.8 shows the source only when empty)
OUR_RULES = """\
version: 1
criticality: 2
rules:
  - id: formula-like-source
    code: "3.1"
    title: Источник похож на формулу
    scope: {status: [open, won, lost]}
    when: {field: deal.Источник сделки, matches: "^[=+@-]"}
    evidence:
      - {field: deal.Источник сделки, title: Источник сделки}
      - {field: deal.Партнерская организация, title: Партнер}
    faq:
      what: "=Источник начинается со знака формулы"
      why: "+так Excel посчитает его формулой"
      how: "-уберите знак в начале"
"""

# value -> why it must be shown: every one of these reaches a sheet as this exact text
EXPORT_VALUES = {
    '=HYPERLINK("http://evil.example/","x")': "deal 1 title",
    "@Иван Формулов": "deal 1 owner",
    "=Воронка": "deal 1 pipeline (not in the settings: a warning, still audited by 1.8)",
    "+Этап": "deal 1 stage",
    "-Москва": "deal 1 city (2.1: country empty)",
    "=ООО Формула": "organization 300 name (1.5 evidence)",
    "+Петр Орг": "organization 300 owner (1.7 evidence)",
    "@Анна": "person 400 name (1.5: «@» in a person's name)",
    "-Мария Контакт": "person 400 owner (1.7 evidence)",
    "+Сделка плюс": "deal 2 title",
    "-Ольга Минусова": "deal 2 owner",
    "=Дорого": "deal 2 lost reason",
    "@Клиент Альфа": "deal 3 title",
    "=1+2": "deal 3 owner",
    "=RUB": "deal 3 currency (1.3 evidence)",
    "=5000": "deal 3 traffic (1.4 evidence)",
    "=Позвонить(1)": "deal 3 overdue task subject (2.3 evidence)",
    "=Агентство от партнера": "organization 500 name (1.6, 1.12 evidence)",
    "-Нет": "organization 500 «Агентство ли это» (1.12 evidence)",
    "=Реклама": "deal 5 source (company rule 3.1)",
    "+Партнер": "deal 5 partner organization (company rule 3.1)",
    "-минус в начале": "deal 6 title",
    "=Ольга": "deal 6 owner",
}
FAQ_VALUES = ["=Источник начинается со знака формулы", "+так Excel посчитает его формулой", "-уберите знак в начале"]
COMMENT = "=SUM(A1) проверю"
BAD_STATUS = "+готово"
HEAD_NOTE = '=HYPERLINK("http://evil.example/","жми")'
BAD_DECISION = "@принято?"


def _deal(i, **kw):
    return {**DEFAULTS["deal"], "id": str(i), "title": f"Сделка номер {i}", **kw}


def _export(path: Path, title6: str = "-минус в начале") -> Path:
    deals = [
        _deal(1, title='=HYPERLINK("http://evil.example/","x")', owner="@Иван Формулов", pipeline="=Воронка", stage="+Этап",
              **{"Источник сделки": "", "Город": "-Москва", "Страна": ""}, org_id="300", org_name="=ООО Формула",
              person_id="400", person_name="@Анна"),
        _deal(2, title="+Сделка плюс", owner="-Ольга Минусова", status="Lost", lost_reason="=Дорого", **{"Источник сделки": ""}),
        _deal(3, title="@Клиент Альфа", owner="=1+2", stage="Отправлено КП", value="0", currency="=RUB",
              **{"Посещаемость": "=5000", "Бюджет": "", "Ссылка на запись демо": "", "Ссылка на коммерческое предложение": ""}),
        _deal(4, title="Партнерская сделка", pipeline="Партнеры", stage="Знакомство", org_id="500", org_name="=Агентство от партнера"),
        _deal(5, title="Сделка с рекламы", **{"Источник сделки": "=Реклама", "Партнерская организация": "+Партнер"}),
        _deal(6, title=title6, owner="=Ольга", stage="Принял в работу", stage_changed="2026-10-01 10:00:00"),
    ]
    orgs = [*DEFAULTS["organizations"],
            {"id": "300", "name": "=ООО Формула", "owner": "+Петр Орг", "Агентство ли это": "Нет"},
            {"id": "500", "name": "=Агентство от партнера", "owner": "Иван Петров", "Агентство ли это": "-Нет"}]
    persons = [*DEFAULTS["persons"], {"id": "400", "name": "@Анна", "owner": "-Мария Контакт", "org_name": "=ООО Формула"}]
    acts = [{**DEFAULTS["activity"], "id": str(1000 + n), "deal_id": d["id"], "due_date": "2026-12-25"}
            for n, d in enumerate(deals) if d["id"] != "1"]
    acts.append({**DEFAULTS["activity"], "id": "2000", "deal_id": "3", "subject": "=Позвонить(1)", "due_date": "2026-11-01"})
    return write_export(path, deals, orgs, persons, acts)


def _formula_cells(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path)
    found = [f"{ws.title}!{c.coordinate}={c.value!r}" for ws in wb.worksheets for row in ws.iter_rows() for c in row
             if c.data_type == "f"]
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = z.read(name).decode("utf-8")
                if "<f>" in xml or "<f " in xml:
                    found.append(f"{name}: <f> element")
    return found


def _text_cells(path: Path) -> dict[str, list[str]]:
    """Every text value in the workbook -> where it is; only cells stored as text (data type 's')."""
    out: dict[str, list[str]] = {}
    for ws in openpyxl.load_workbook(path).worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.data_type == "s":
                    out.setdefault(c.value, []).append(f"{ws.title}!{c.coordinate}")
    return out


def _edit(path: Path) -> dict[tuple[str, str], dict]:
    """Managers and the head write formula-like text in the document (typed as text, as in a text-formatted column)."""
    wb = openpyxl.load_workbook(path)
    done = {}
    for ws in wb.worksheets:
        header = [c.value for c in ws[1]]
        if "ID сделки" not in header:
            continue
        col = {h: i + 1 for i, h in enumerate(header) if h}
        code = ws.title.split(" ")[0]
        for r in range(2, ws.max_row + 1):
            did = ws.cell(r, col["ID сделки"]).value
            if not did:
                continue
            did = str(did)
            vals = {"Статус": "Не исправлено", "Комментарий": COMMENT}
            if (code, did) == ("1.8", "2"):
                vals = {"Статус": BAD_STATUS, "Комментарий": "-сделаю завтра"}
            if (code, did) == ("2.1", "1"):
                vals.update({"Решение": "Предупреждение", "Комментарий руководителя": HEAD_NOTE})
            if (code, did) == ("1.3", "3"):
                vals.update({"Решение": BAD_DECISION, "Комментарий руководителя": "+подумаю"})
            for h, v in vals.items():
                cell = ws.cell(r, col[h])
                cell.value = v
                cell.data_type = "s"
            done[(code, did)] = vals
    wb.save(path)
    return done


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    d = tmp_path_factory.mktemp("noformula")
    cfg = d / "crm-audit.yaml"
    # «-Нет» in «Агентство ли это» is no yes/no word: with the default `on_bad_value: error` it stops the run
    # (issue 13); `warn` keeps it a value that reaches 1.12's sheet, as this test wants
    cfg.write_text(render_settings("pipedrive").replace("files: []", "files: [our_rules.yaml]")
                   .replace("on_bad_value: error", "on_bad_value: warn"), encoding="utf-8")
    assert "our_rules.yaml" in cfg.read_text(encoding="utf-8")
    (d / "our_rules.yaml").write_text(OUR_RULES, encoding="utf-8")
    out, vcsv = d / "audit.xlsx", d / "violations.csv"

    def run(export, as_of):
        return main(["run", "-c", str(cfg), "--export", str(export), "--as-of", as_of, "--out", str(out),
                     "--violations-csv", str(vcsv), "--quiet"])

    e1 = _export(d / "=выгрузка 1")
    assert run(e1, D1) == 0
    first = {"formulas": _formula_cells(out), "texts": _text_cells(out)}
    edits = _edit(out)
    assert main(["warn", "-c", str(cfg), "1.8", "1", "--note", "=1+1 заполни"]) == 0
    assert main(["accept", "-c", str(cfg), "2.2", "6", "--note", "@ок до смены"]) == 0
    e2 = _export(d / "=выгрузка 2", title6="-минус изменён")  # deal 6 changed: its waiver ends, with a note
    assert run(e2, D2) == 0
    return {"first": first, "out": out, "csv": vcsv, "edits": edits}


def test_first_workbook_has_no_formula(audited):
    assert audited["first"]["formulas"] == []


def test_every_export_value_is_on_a_sheet_as_text(audited):
    want = {**EXPORT_VALUES, **dict.fromkeys(FAQ_VALUES, "company rule FAQ")}
    want2 = {("-минус изменён" if v == "-минус в начале" else v): why for v, why in want.items()}  # deal 6 renamed
    for when, texts, values in (("audit 1", audited["first"]["texts"], want), ("audit 2", _text_cells(audited["out"]), want2)):
        missing = {v: why for v, why in values.items() if v not in texts}
        assert not missing, f"{when}: these values are not on any sheet as the same text: {missing}"


def test_second_workbook_has_no_formula_after_carrying_edits_over(audited):
    assert _formula_cells(audited["out"]) == []


def test_carried_over_comments_statuses_and_decisions_stay_text(audited):
    texts = _text_cells(audited["out"])
    for v in (COMMENT, BAD_STATUS, "-сделаю завтра"):
        assert v in texts, f"{v!r} written by a manager is not in the next document as text"
    wb = openpyxl.load_workbook(audited["out"])
    notes = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(HEAD_NOTE in n for n in notes), "the head's warning note is not shown in the next document"
    assert any("=1+1 заполни" in n for n in notes), "the warn --note is not shown in the next document"


def test_export_folder_name_is_text(audited):
    faq = {r[0]: r[1] for r in openpyxl.load_workbook(audited["out"])["FAQ"].iter_rows(values_only=True) if r and r[0]}
    assert "=выгрузка 2" in str(faq["Выгрузка"])


def test_csv_keeps_the_values_as_exported(audited):
    """README documents the CSV as one row per (rule, deal) with the exported values; it promises no formula
    escaping for the CSV (only the workbook stores formula-like text as text). Pinned: the values are verbatim,
    so a script reading the CSV gets the CRM's text."""
    with open(audited["csv"], encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by = {(r["rule_id"], r["deal_id"]): r for r in rows}
    r1 = by[("missing-source", "1")]
    assert (r1["title"], r1["owner"], r1["pipeline"], r1["stage"]) == (
        '=HYPERLINK("http://evil.example/","x")', "@Иван Формулов", "=Воронка", "+Этап")
    r2 = by[("missing-source", "2")]
    assert (r2["title"], r2["owner"], r2["reason"]) == ("+Сделка плюс", "-Ольга Минусова", "=Дорого")
