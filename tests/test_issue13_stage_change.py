"""Issue 13 (points 4 and 7, left item J13): days in stage behave alike in every CRM, decided by the export's data.

* The deals file has **no column** of the last stage change (not mapped, not under `columns:`): rules 2.2 and 2.4 are
  off, never counted from the creation date for every deal (that flags each deal created long ago). `init
  --from-export` writes them under `rules: skip:` with a comment naming the missing column and how to map one;
  `run` (terminal, FAQ, the rule's sheet) and `inspect` say it. amoCRM's and Bitrix24's profiles add their own words
  (`unsupported: deal.stage_changed`); they no longer decide a different behaviour.
* The column is there and **a cell is blank**: that deal's days are counted from its creation date (reference §2).
* **Both blank**: the deal is not judged, and the rule says how many it could not judge.

One export per CRM, as a user has it: the bundled fixtures (Bitrix24: its CSV deal list), the stage-change column
dropped or added (amoCRM's and Bitrix24's list exports carry none; a team adding one names it as the profile does).
Salesforce carries the stage age as «Stage Duration» (days, the profile's `from_days`): its blank cell is the same.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
import yaml

from crm_audit.cli import main
from crm_audit.engine.loading import load_export
from crm_audit.engine.profile import load_profile

FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = dt.date(2026, 11, 20)
RULES = ("stuck-in-accepted", "no-stage-movement")

# crm -> (fixture, deals file, id header, creation header, stage-change header the profile reads, how that column
# holds the stage age: "date" or "days", the header `init` names when the column is missing)
CRMS = {
    "pipedrive": ("pipedrive", "deals.csv", "Deal - ID", "Deal - Deal created", "Deal - Last stage change", "date",
                  "Deal - Last stage change"),
    "hubspot": ("hubspot", "hubspot-crm-exports-all-deals-2026-11-20.csv", "Record ID", "Create Date",
                "Date entered current stage", "date", "Date entered current stage"),
    "salesforce": ("salesforce", "opportunities.csv", "Opportunity ID", "Created Date", "Stage Duration", "days",
                   "Last Stage Change Date / Stage Duration"),
    "amocrm": ("amocrm", "amocrm_export_leads_2026-11-20.csv", "ID", "Дата создания сделки", "Дата перехода на этап",
               "date", "Дата перехода на этап"),
    "bitrix24": ("bitrix24-list-closed", "deal_list.csv", "ID", "Дата создания", "Дата изменения стадии", "date",
                 "Дата изменения стадии"),
}
#: the CRM's own explanation (its profile's `unsupported: deal.stage_changed`), where it has one
OWN_WORDS = {"amocrm": "в выгрузке amoCRM нет даты перехода", "bitrix24": "в выгрузке сделок Битрикс24 нет даты перехода"}


@pytest.fixture(autouse=True)
def russian(monkeypatch):
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "ru")  # as the Russian-speaking analyst reads it


def _read(path: Path) -> tuple[list[list[str]], str, bool]:
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    first = text.split("\n", 1)[0]
    delim = ";" if first.count(";") > first.count(",") else ","
    return list(csv.reader(text.splitlines(), delimiter=delim)), delim, raw.startswith(b"\xef\xbb\xbf")


def _date_format(sample: str) -> str:
    for pattern, fmt in ((r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}", "%d.%m.%Y %H:%M:%S"),
                         (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "%Y-%m-%d %H:%M:%S"),
                         (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "%Y-%m-%d %H:%M"), (r"\d{2}/\d{2}/\d{4}", "%m/%d/%Y")):
        if re.fullmatch(pattern, sample):
            return fmt
    raise AssertionError(f"unexpected date {sample!r}")


def make_export(tmp_path: Path, crm: str, shape: str, deal: str | None = None) -> Path:
    """The CRM's export: ``missing`` — no stage-change column; ``present`` — every deal changed stage the day before
    the audit; ``blank`` — so, but ``deal``'s stage-change cell is blank and it was created on 1 September;
    ``both`` — ``deal``'s stage-change and creation cells are blank."""
    fixture, name, id_h, created_h, stage_h, kind, _named = CRMS[crm]
    export = tmp_path / f"{crm}-{shape}"
    shutil.copytree(FIXTURES / fixture / "export", export)
    path = export / name
    rows, delim, bom = _read(path)
    head = rows[0]
    if stage_h in head and shape == "missing":
        i = head.index(stage_h)
        rows = [r[:i] + r[i + 1:] for r in rows]
    if shape == "missing":  # HubSpot's one `Date entered "<stage> (<pipeline>)"` column per stage gives the date too
        keep = [k for k, h in enumerate(rows[0]) if not h.startswith('Date entered "')]
        rows = [[r[k] for k in keep if k < len(r)] for r in rows]
    elif shape != "missing":
        if stage_h not in head:  # the team added the column to its export: next to the creation date
            i = head.index(created_h) + 1
            rows = [r[:i] + [stage_h if n == 0 else ""] + r[i:] for n, r in enumerate(rows)]
            head = rows[0]
        s, c, key = head.index(stage_h), head.index(created_h), head.index(id_h)
        fmt = _date_format(next(r[c] for r in rows[1:] if r[c]))
        for r in rows[1:]:
            r += [""] * (len(head) - len(r))
            r[s] = "1" if kind == "days" else dt.datetime(2026, 11, 19, 10, 0).strftime(fmt)
            if r[key] == deal and shape in ("blank", "both"):
                r[s] = ""
                r[c] = "" if shape == "both" else dt.datetime(2026, 9, 1, 10, 0).strftime(fmt)
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        csv.writer(f, delimiter=delim).writerows(rows)
    return export


def crms_by_default(*kept: str) -> list:
    """Every CRM, the ``kept`` two in the default run and the others marked slow (`pytest -m slow`): each test reads the
    same profile keys for every CRM, and the three tests keep different pairs, so each CRM is in the default run."""
    return [c if c in kept else pytest.param(c, marks=pytest.mark.slow) for c in CRMS]


def open_deal(crm: str, export: Path) -> str:
    """An open deal outside «Тестовый период» (2.4's scope in every settings below)."""
    ex = load_export(export, load_profile(crm), as_of=None)
    try:
        rows = ex.con.execute("SELECT id, stage FROM deals WHERE status = 'open' ORDER BY id").fetchall()
    finally:
        ex.close()
        ex.con.close()
    return next(i for i, stage in rows if stage not in ("Тестовый период", "Принял в работу"))


def init(work: Path, crm: str, export: Path) -> dict:
    assert main(["init", str(work), "--crm", crm, "--from-export", str(export)]) == 0
    return yaml.safe_load((work / "crm-audit.yaml").read_text(encoding="utf-8"))


def run(work: Path, export: Path, capsys) -> tuple[int, str, dict[str, dict[str, str]]]:
    capsys.readouterr()
    code = main(["run", "-c", str(work / "crm-audit.yaml"), "--export", str(export), "--as-of", AS_OF.isoformat(),
                 "--out", str(work / "audit.xlsx"), "--violations-csv", str(work / "v.csv"), "--ledger", str(work / "l.db")])
    out = capsys.readouterr().out
    found: dict[str, dict[str, str]] = {}
    if (work / "v.csv").exists():
        with open(work / "v.csv", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                found.setdefault(row["rule_id"], {})[row["deal_id"]] = row["evidence"]
    return code, out, found


def faq(work: Path) -> str:
    wb = openpyxl.load_workbook(work / "audit.xlsx", read_only=True)
    return "\n".join(str(v) for row in wb["FAQ"].iter_rows(values_only=True) for v in row if v is not None)


def inspect(work: Path, export: Path, capsys) -> str:
    capsys.readouterr()
    assert main(["inspect", "-c", str(work / "crm-audit.yaml"), str(export)]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("crm", crms_by_default("hubspot", "amocrm"))
def test_no_stage_change_column_switches_2_2_and_2_4_off_with_the_reason(crm, tmp_path, capsys):
    export = make_export(tmp_path, crm, "missing")
    named = CRMS[crm][6]
    work = tmp_path / "work"
    s = init(work, crm, export)
    skip = s["rules"]["skip"]
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    for rid in RULES:  # written off, with the CRM's words or the column, and how to switch it back on
        assert OWN_WORDS.get(crm, f"в выгрузке нет столбца «{named}» с датой последней смены этапа") in skip[rid]
    comments = [ln for ln in text.splitlines() if ln.strip().startswith(("# 2.2:", "# 2.4:"))]
    # a CRM whose profile reads the date from a «days in stage» column (Salesforce) names that key too
    days = "; или столбец дней на этапе: deals: stage_changed_days: <заголовок>" if crm == "salesforce" else ""
    assert len(comments) == 2 and all(f"columns: (deals: stage_changed: <заголовок>{days}; ожидался «{named}»)" in c
                                      for c in comments)

    code, out, found = run(work, export, capsys)
    assert code == 0 and not found.keys() & set(RULES) and found  # the rest of the audit runs
    sheet = faq(work)
    for title, rid in (("2.2 Долго в Принял в работу: Правило пропущено: ", RULES[0]),
                       ("2.4 Нет движения по этапам: Правило пропущено: ", RULES[1])):
        assert f"{title}правило выключено в настройках (rules: skip:): {skip[rid]}" in out
        assert any(ln.startswith(title) and ln.endswith(skip[rid]) for ln in sheet.splitlines()), sheet

    # settings that do not switch them off (the bundled ones, a hand-written file): skipped all the same, saying why
    # and how to map the column — never counted from the creation date
    plain = {**s, "rules": {**s["rules"], "skip": {k: v for k, v in skip.items() if k not in RULES}}}
    (work / "crm-audit.yaml").write_text(yaml.safe_dump(plain, allow_unicode=True), encoding="utf-8")
    code, out, found = run(work, export, capsys)
    why = (f"{OWN_WORDS[crm]}" if crm in OWN_WORDS else f"в файле сделок нет столбца «{named}» (дата последней смены этапа), "
           "поэтому дни на этапе посчитать нельзя (по дате создания правило отметило бы каждую давно созданную сделку)")
    how = "укажите её в crm-audit.yaml (columns: {deals: {stage_changed: <заголовок>}})"
    assert code == 0 and not found.keys() & set(RULES)
    lines = [ln for ln in out.splitlines() if ln.strip().startswith(("2.2 Долго в Принял в работу: ", "2.4 Нет движения по этапам: "))]
    assert len(lines) == 2 and all("Правило пропущено: " + why in ln and how in ln for ln in lines), lines
    assert sum(1 for ln in out.splitlines() if "Правило пропущено: " + why in ln) == 2
    assert sum(1 for ln in faq(work).splitlines() if "Правило пропущено: " + why in ln and how in ln) >= 2
    said = inspect(work, export, capsys)
    rows = [ln for ln in said.splitlines() if re.match(r"\s+2\.[24]\s", ln)]
    assert len(rows) == 2 and all("будет пропущено: " + why in ln and how in ln for ln in rows), rows


@pytest.mark.parametrize("crm", crms_by_default("pipedrive", "salesforce"))
def test_a_blank_stage_change_cell_counts_from_the_creation_date(crm, tmp_path, capsys):
    present = make_export(tmp_path, crm, "present")
    deal = open_deal(crm, present)
    work = tmp_path / "work"
    s = init(work, crm, present)
    assert not set(s["rules"]["skip"]) & set(RULES)
    code, _out, found = run(work, present, capsys)
    assert code == 0 and "no-stage-movement" not in found  # every deal changed stage the day before

    export = make_export(tmp_path, crm, "blank", deal)
    code, out, found = run(work, export, capsys)
    # 1 September -> 20 November: 80 days in stage, counted from the creation date (reference §2)
    assert code == 0 and set(found["no-stage-movement"]) == {deal}
    assert "80" in found["no-stage-movement"][deal] and "2026-09-01" in found["no-stage-movement"][deal]
    assert "не проверен" not in out


@pytest.mark.parametrize("crm", crms_by_default("bitrix24", "hubspot"))
def test_no_stage_change_and_no_creation_date_is_counted_not_judged(crm, tmp_path, capsys):
    present = make_export(tmp_path, crm, "present")
    deal = open_deal(crm, present)
    work = tmp_path / "work"
    init(work, crm, present)
    export = make_export(tmp_path, crm, "both", deal)
    code, out, found = run(work, export, capsys)
    assert code == 0 and "no-stage-movement" not in found
    column = f"{CRMS[crm][4]} / {CRMS[crm][3]}"
    line = f"2.4 Нет движения по этапам: 1 сделка в области правила не проверена: у неё не заполнено «{column}»"
    assert line in out and line in faq(work)
    said = inspect(work, export, capsys)
    rows = [ln for ln in said.splitlines() if re.match(r"\s+2\.4\s", ln)]
    assert len(rows) == 1 and rows[0].endswith(
        f"выполнится (не для всех сделок): 1 сделку в области правила проверить нельзя: у неё не заполнено «{column}» "
        "(правилу нужна эта дата)"), rows
