"""Sanity tests of the sample export generator and of the test oracle."""

from __future__ import annotations

import csv
import filecmp
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

import samplegen
from samplegen import (
    DEFAULT_SETTINGS,
    Export,
    generate,
    generate_export,
    write_pipedrive,
)

try:
    from tests.oracle import RULE_IDS, counts_by_rule, expected_violations, name_is_invalid
except ImportError:  # tests/ is not a package: pytest puts it on sys.path
    from oracle import RULE_IDS, counts_by_rule, expected_violations, name_is_invalid

AS_OF = date(2026, 11, 20)
FILES = ("deals", "organizations", "persons", "activities")
DEMO_DIR = Path(samplegen.__file__).parent / "demo_data"


@pytest.fixture(scope="module")
def sample() -> Export:
    return generate(300, seed=7, as_of=AS_OF)


# -- generation ---------------------------------------------------------------

def test_generation_is_deterministic(sample):
    assert generate(300, seed=7, as_of=AS_OF) == sample
    other = generate(300, seed=8, as_of=AS_OF)
    assert other != sample
    assert len(other.deals) == 300


def test_canonical_record_shapes(sample):
    deal_keys = {"id", "title", "owner", "value", "currency", "status", "pipeline", "stage",
                 "lost_reason", "org_id", "org_name", "person_id", "person_name", "created",
                 "stage_changed", "next_activity_date", "activities_to_do",
                 *samplegen.DEAL_CUSTOM_FIELDS}
    for d in sample.deals:
        assert set(d) == deal_keys
        assert d["status"] in {"open", "won", "lost", "deleted"}
        assert d["value"] is None or isinstance(d["value"], float)
        assert isinstance(d["created"], datetime)
        assert d["stage_changed"] is None or isinstance(d["stage_changed"], datetime)
    for a in sample.activities:
        assert set(a) == {"id", "deal_id", "type", "subject", "due_date", "due_time", "done",
                          "owner"}
        assert isinstance(a["done"], bool)
        assert a["due_date"] is None or type(a["due_date"]) is date
    for o in sample.organizations:
        assert set(o) == {"id", "name", "owner", samplegen.AGENCY_FIELD}
    for p in sample.persons:
        assert set(p) == {"id", "name", "owner", "org_name"}
    # ids are unique and deals' activity summaries agree with the activities
    assert len({d["id"] for d in sample.deals}) == len(sample.deals)
    assert len({a["id"] for a in sample.activities}) == len(sample.activities)
    todo: dict[str, list] = {}
    for a in sample.activities:
        if not a["done"] and a["deal_id"]:
            todo.setdefault(a["deal_id"], []).append(a["due_date"])
    for d in sample.deals:
        dues = todo.get(d["id"], [])
        assert d["activities_to_do"] == str(len(dues))
        assert d["next_activity_date"] == min((x for x in dues if x), default=None)


def test_status_mix_and_volume():
    big = generate(5000, seed=3, as_of=AS_OF)
    n = len(big.deals)
    share = {s: sum(d["status"] == s for d in big.deals) / n
             for s in ("open", "won", "lost", "deleted")}
    assert 0.50 <= share["open"] <= 0.62
    assert 0.16 <= share["won"] <= 0.24
    assert 0.18 <= share["lost"] <= 0.26
    assert 0.015 <= share["deleted"] <= 0.05
    assert 2.6 <= len(big.activities) / n <= 3.5


def test_edge_cases_are_present(sample):
    deals = sample.deals
    stages = {d["stage"] for d in deals}
    assert "Выставлен счёт" in stages  # «ё» in the CRM, «е» in the settings
    assert any(s != s.strip() or (s != s.lower() and s.upper() == s) for s in stages)
    known = {s for st in DEFAULT_SETTINGS["pipelines"].values() for s in st}
    assert any(d["stage"] not in known and d["stage"].strip().lower().replace("ё", "е")
               not in {k.lower() for k in known} for d in deals)
    assert any(d["title"] and d["title"][0] in "=+-@" for d in deals)
    assert any("\n" in (a["subject"] or "") for a in sample.activities)
    days = {(AS_OF - (d["stage_changed"] or d["created"]).date()).days
            for d in deals if d["status"] == "open"}
    assert {7, 8, 14, 15} <= days
    dues = {a["due_date"] for a in sample.activities if not a["done"]}
    assert {AS_OF, date(2026, 11, 19), None} <= dues
    org_ids = {o["id"] for o in sample.organizations}
    assert any(d["org_id"] and d["org_id"] not in org_ids for d in deals)
    assert any(d["owner"] == "Ольга Партнерова" for d in deals)
    assert any(o[samplegen.AGENCY_FIELD] == "Да" for o in sample.organizations)


def test_every_rule_is_hit_in_the_default_sample(sample):
    counts = counts_by_rule(expected_violations(sample, DEFAULT_SETTINGS, AS_OF))
    assert set(counts) == set(RULE_IDS)
    missing = [rule for rule, n in counts.items() if n == 0]
    assert not missing, counts
    n_open = sum(d["status"] == "open" for d in sample.deals)
    for rule, n in counts.items():  # realistic: no rule flags most deals
        assert n <= 0.4 * n_open, (rule, n)


def test_deleted_deals_are_never_expected(sample):
    deleted = {d["id"] for d in sample.deals if d["status"] == "deleted"}
    assert deleted
    assert not {deal for _, deal in expected_violations(sample, DEFAULT_SETTINGS, AS_OF)} & deleted


# -- writing ------------------------------------------------------------------

def _read(path: Path, messy: bool) -> list[list[str]]:
    with open(path, encoding="utf-8-sig" if messy else "utf-8", newline="") as f:
        return list(csv.reader(f, delimiter=";" if messy else ","))


@pytest.mark.parametrize("style", ["clean", "messy"])
def test_all_four_files_are_written(tmp_path, sample, style):
    paths = write_pipedrive(sample, tmp_path / style, style=style)
    assert set(paths) == set(FILES)
    for name in FILES:
        assert paths[name] == tmp_path / style / f"{name}.csv"
        rows = _read(paths[name], style == "messy")
        records = getattr(sample, name)
        body = [r for r in rows[1:] if any(c for c in r)]
        assert len(body) == len(records)
        assert all(len(r) == len(rows[0]) for r in rows)


def test_clean_layout(tmp_path, sample):
    paths = write_pipedrive(sample, tmp_path, style="clean")
    raw = paths["deals"].read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    header = _read(paths["deals"], False)[0]
    assert header[:3] == ["Deal - ID", "Deal - Title", "Deal - Owner"]
    assert "Deal - Источник сделки" in header
    assert raw.startswith(b'"Deal - ID","Deal - Title"')  # every field quoted
    assert _read(paths["activities"], False)[0][-3:] == [
        "Activity - Done", "Activity - Deal ID", "Activity - Assigned to user"]


def test_messy_layout(tmp_path, sample):
    paths = write_pipedrive(sample, tmp_path, style="messy")
    raw = paths["deals"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    first_line = raw[3:].split(b"\r\n", 1)[0].decode()
    assert first_line.startswith("ID;Title;Owner;Value;")
    rows = _read(paths["deals"], True)
    header = rows[0]
    assert header.count("Город") == 2  # the same header twice
    assert rows[-3:] == [[""] * len(header)] * 3  # empty trailing rows
    assert raw.endswith((";" * (len(header) - 1) + "\r\n").encode())
    body = rows[1:-3]
    assert all(r[0].endswith(".0") for r in body)
    assert all(r[-1] == "" for r in body)  # the duplicated column is empty
    values = [r[header.index("Value")] for r in body if r[header.index("Value")]]
    assert any("," in v and " " in v for v in values)  # 1 500,00
    created = body[0][header.index("Deal created")]
    assert datetime.strptime(created, "%d.%m.%Y %H:%M")


def _parse_number(text: str, messy: bool):
    if not text:
        return None
    return float(text.replace(" ", "").replace(",", ".")) if messy else float(text)


def _parse_datetime(text: str, messy: bool):
    if not text:
        return None
    return datetime.strptime(text, "%d.%m.%Y %H:%M") if messy else datetime.fromisoformat(text)


def _parse_date(text: str, messy: bool):
    if not text:
        return None
    return datetime.strptime(text, "%d.%m.%Y").date() if messy else date.fromisoformat(text)


@pytest.mark.parametrize("style", ["clean", "messy"])
def test_round_trip(tmp_path, sample, style):
    """Reading the files back gives the canonical records (minute precision when messy)."""
    messy = style == "messy"
    paths = write_pipedrive(sample, tmp_path, style=style)

    def ident(v):
        if not v:
            return None
        if messy:
            assert v.endswith(".0")
            return v[:-2]
        return v

    def text(v):
        return v if v else None

    def records(name):
        rows = _read(paths[name], messy)
        header = rows[0]
        prefix = "" if messy else samplegen.PREFIXES[name]
        keys = [h[len(prefix):] for h in header]
        out = []
        for r in rows[1:]:
            if not any(r):
                continue
            rec = {}
            for k, v in zip(keys, r):
                rec.setdefault(k, v)  # first of duplicated headers
            out.append(rec)
        return out

    def minute(dt):
        return dt.replace(second=0) if messy and dt is not None else dt

    for got, d in zip(records("deals"), sample.deals, strict=True):
        assert ident(got["ID"]) == d["id"]
        for key, col in (("title", "Title"), ("owner", "Owner"), ("currency", "Currency"),
                         ("org_name", "Organization"), ("person_name", "Contact person"),
                         ("pipeline", "Pipeline"), ("stage", "Stage"),
                         ("lost_reason", "Lost reason"), ("activities_to_do", "Activities to do"),
                         *((f, f) for f in samplegen.DEAL_CUSTOM_FIELDS)):
            assert text(got[col]) == (d[key] or None), (d["id"], key)
        assert ident(got["Organization ID"]) == d["org_id"]
        assert ident(got["Contact person ID"]) == d["person_id"]
        assert _parse_number(got["Value"], messy) == d["value"]
        assert got["Status"].lower() == d["status"]
        assert _parse_datetime(got["Deal created"], messy) == minute(d["created"])
        assert _parse_datetime(got["Last stage change"], messy) == minute(d["stage_changed"])
        assert _parse_date(got["Next activity date"], messy) == d["next_activity_date"]
    for got, a in zip(records("activities"), sample.activities, strict=True):
        assert ident(got["ID"]) == a["id"]
        assert ident(got["Deal ID"]) == a["deal_id"]
        assert text(got["Subject"]) == a["subject"]
        assert got["Done"] == ("Done" if a["done"] else "To do")
        assert _parse_date(got["Due date"], messy) == a["due_date"]
        assert text(got["Due time"]) == a["due_time"]
        assert text(got["Assigned to user"]) == a["owner"]
    for got, o in zip(records("organizations"), sample.organizations, strict=True):
        assert (ident(got["ID"]), text(got["Name"]), text(got["Owner"]),
                text(got[samplegen.AGENCY_FIELD])) == (o["id"], o["name"] or None, o["owner"],
                                                        o[samplegen.AGENCY_FIELD])
    for got, p in zip(records("persons"), sample.persons, strict=True):
        assert (ident(got["ID"]), text(got["Name"]), text(got["Owner"]),
                text(got["Organization"])) == (p["id"], p["name"] or None, p["owner"],
                                               p["org_name"])


def test_generate_export_and_empty_export(tmp_path):
    ex = generate_export(tmp_path / "a", n_deals=40, seed=1, as_of=AS_OF, style="messy")
    assert len(ex.deals) == 40
    assert all((tmp_path / "a" / f"{n}.csv").exists() for n in FILES)
    write_pipedrive(generate(0), tmp_path / "empty")
    assert _read(tmp_path / "empty" / "deals.csv", False)[1:] == []
    with pytest.raises(ValueError):
        write_pipedrive(ex, tmp_path / "x", style="fancy")


def test_bundled_demo_is_the_generated_sample(tmp_path):
    demo = DEMO_DIR / "pipedrive"
    if not demo.exists():
        pytest.skip("demo export not generated")
    generate_export(tmp_path, n_deals=300, seed=7, as_of=AS_OF, style="clean")
    for name in FILES:
        assert filecmp.cmp(demo / f"{name}.csv", tmp_path / f"{name}.csv", shallow=False), name
    assert sum((demo / f"{n}.csv").stat().st_size for n in FILES) < 320_000
    settings = yaml.safe_load((DEMO_DIR / "crm-audit.yaml").read_text(encoding="utf-8"))
    assert settings == DEFAULT_SETTINGS


# -- the oracle itself ----------------------------------------------------------

def _deal(**kw):
    d = {"id": "1", "title": "Поставка оборудования", "owner": "Иван Петров", "value": 15000.0,
         "currency": "RUB", "status": "open", "pipeline": "Клиенты", "stage": "Квалификация",
         "lost_reason": None, "org_id": "100", "org_name": "ООО Ромашка", "person_id": "200",
         "person_name": "Анна Смирнова", "created": datetime(2026, 11, 10, 10),
         "stage_changed": datetime(2026, 11, 18, 12), "next_activity_date": None,
         "activities_to_do": "1", "Источник сделки": "Сайт", "Город": "Москва",
         "Страна": "Россия", "Посещаемость": "5000", "Бюджет": "100000",
         "Ссылка на запись демо": "https://x/demo", "Ссылка на коммерческое предложение":
         "https://x/kp", "Партнерская организация": None}
    d.update(kw)
    return d


def _export(deals, activities=None, orgs=None, persons=None):
    if activities is None:
        activities = [{"id": f"a{d['id']}", "deal_id": d["id"], "type": "Звонок",
                       "subject": "Позвонить", "due_date": date(2026, 11, 25), "due_time": None,
                       "done": False, "owner": "Иван Петров"} for d in deals]
    if orgs is None:
        orgs = [{"id": "100", "name": "ООО Ромашка", "owner": "Иван Петров",
                 "Агентство ли это": "Нет"}]
    if persons is None:
        persons = [{"id": "200", "name": "Анна Смирнова", "owner": "Иван Петров",
                    "org_name": "ООО Ромашка"}]
    return Export(deals=deals, organizations=orgs, persons=persons, activities=activities)


def _flagged(export, rule):
    return {d for r, d in expected_violations(export, DEFAULT_SETTINGS, AS_OF) if r == rule}


def test_oracle_clean_deal_breaks_nothing():
    assert expected_violations(_export([_deal()]), DEFAULT_SETTINGS, AS_OF) == set()


def test_oracle_days_in_stage_boundaries():
    deals = [
        _deal(id="7", stage="Принял в работу", stage_changed=datetime(2026, 11, 13, 23, 59, 59)),
        _deal(id="8", stage="Принял в работу", stage_changed=datetime(2026, 11, 12, 0, 0, 1)),
        _deal(id="14", stage_changed=datetime(2026, 11, 6, 23, 59)),
        _deal(id="15", stage="принял в работу ", stage_changed=datetime(2026, 11, 5, 8)),
        _deal(id="c10", stage="Принял в работу", stage_changed=None,
              created=datetime(2026, 11, 10, 9)),
        _deal(id="trial", stage="Тестовый период", stage_changed=datetime(2026, 9, 1)),
        _deal(id="future", stage_changed=datetime(2026, 11, 25)),
    ]
    ex = _export(deals)
    assert _flagged(ex, "stuck-in-accepted") == {"8", "15", "c10"}
    assert _flagged(ex, "no-stage-movement") == {"15"}


def test_oracle_tasks_and_overdue():
    deals = [_deal(id=str(k)) for k in range(1, 6)] + [
        _deal(id="6", status="lost", lost_reason=" несезон"),
        _deal(id="7", status="lost", lost_reason="Несезон — вернуться весной"),
    ]
    acts = [
        {"id": "1", "deal_id": "1", "done": False, "due_date": AS_OF},
        {"id": "2", "deal_id": "2", "done": False, "due_date": date(2026, 11, 19)},
        {"id": "3", "deal_id": "3", "done": False, "due_date": None},
        {"id": "4", "deal_id": "4", "done": True, "due_date": date(2026, 11, 1)},
        {"id": "5", "deal_id": None, "done": False, "due_date": date(2026, 11, 1)},
    ]
    ex = _export(deals, activities=acts)
    assert _flagged(ex, "open-deal-without-tasks") == {"4", "5"}
    assert _flagged(ex, "overdue-tasks") == {"2"}
    assert _flagged(ex, "frozen-deal-without-tasks") == {"6"}


def test_oracle_stages():
    deals = [
        _deal(id="yo", stage="ВЫСТАВЛЕН СЧЁТ", value=None),
        _deal(id="kp", stage=" отправлено кп", value=0.0),
        _deal(id="early", stage="Квалификация", value=None),
        _deal(id="unknown", stage="Переговоры", value=None),
        _deal(id="pipe", pipeline="Архив", stage="Отправлено КП", value=None),
        _deal(id="lost", status="lost", stage="Отправлено КП", value=None),
        _deal(id="rep", pipeline="повторные продажи", stage="Выставлен счёт",
              **{"Ссылка на запись демо": None}),
    ]
    ex = _export(deals)
    assert _flagged(ex, "missing-amount-after-proposal") == {"yo", "kp"}
    # «Повторные продажи» has no «Проведено демо»: never stage ≥ it
    assert _flagged(ex, "missing-demo-recording") == set()


@pytest.mark.parametrize("name, person, invalid", [
    ("тест", False, True), ("Тест 2", False, True), ("новая сделка3", False, True),
    ("New deal", False, True), ("Сделка", False, True), ("без названия", False, True),
    ("???", False, True), ("---", False, True), ("аб", False, True), ("12345", False, True),
    ("", False, True), (None, False, True), (" Аудит", False, True), ("Аудит ", False, True),
    ("Внедрение  CRM", False, True), ("Тестостерон Лабс", False, False),
    ("Сделка с ООО «Вектор»", False, False), ("Аудит сайта\nвторой этап", False, False),
    ("=СУММ(1;2)", False, False), ("Иван +7 916", True, True), ("a@b.ru", True, True),
    ("Иван 2", False, False), ("Иван 2", True, True), ("Контакт", True, True),
    ("Анна Смирнова", True, False),
])
def test_oracle_names(name, person, invalid):
    assert name_is_invalid(name, person=person) is invalid


def test_oracle_organizations_and_owners():
    orgs = [
        {"id": "100", "name": "ООО Ромашка", "owner": "Иван Петров", "Агентство ли это": "Нет"},
        {"id": "101", "name": "Агентство «Пиксель»", "owner": "юлия федорова",
         "Агентство ли это": " да"},
        {"id": "102", "name": "ООО «Север» (от партнёра)", "owner": None,
         "Агентство ли это": None},
    ]
    deals = [
        _deal(id="p-ok", pipeline="Партнеры", org_id="101", org_name="Агентство «Пиксель»",
              owner="Юлия Фёдорова", person_id=None, person_name=None),
        _deal(id="p-bad", pipeline="Партнеры"),
        _deal(id="p-ghost", pipeline="Партнеры", org_id="999", org_name="ООО Призрак"),
        _deal(id="p-none", pipeline="Партнеры", org_id=None, org_name=None),
        _deal(id="partner", org_id="102", org_name="ООО «Север» (от партнёра)"),
        _deal(id="pm", owner="Ольга Партнерова", stage="Проведено демо"),
        _deal(id="pm-ok", owner="Ольга Партнерова", stage="Проведено демо",
              **{"Партнерская организация": "Агентство «Пиксель»"}),
    ]
    ex = _export(deals, orgs=orgs)
    assert _flagged(ex, "partner-pipeline-org-not-agency") == {"p-bad", "p-ghost"}
    assert _flagged(ex, "open-deal-without-organization") == {"p-none"}
    assert _flagged(ex, "partner-org-not-set") == {"partner"}
    assert _flagged(ex, "partner-manager-deal-without-partner") == {"pm"}
    # «pm»/«pm-ok»: the org and person belong to Иван Петров
    assert _flagged(ex, "owner-mismatch") == {"pm", "pm-ok"}
