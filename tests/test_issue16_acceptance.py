"""Issue 16 acceptance defects (review, digests, terminal), replayed through the CLI as a Russian team works.

The bundled realistic Pipedrive sample is audited twice; between the audits Светлана Ковалёва leaves (every deal of
hers goes to Иван Петров), a manager answers «Не исправлено» with a comment, the head accepts a finding. The numbers
are checked against the two violations CSVs by hand (sets of (rule, deal) keys), not against the code that makes them:

- since the last audit per manager reconciles: previous − resolved − accepted − handed over = still open, and this
  audit's findings = new + still open + taken over; Светлана keeps a row (D19), the same numbers in the terminal, the
  review, the review page and the head's digest (text part and Telegram with accepted too, D5);
- an accepted finding is listed with its deal title (D6); rules are shown by code and title, not the English id (D8);
- `--quiet` keeps the summary and the notes (D11); Russian plural forms on the review page (D13);
- «did you mean» for a first name only, inner double spaces matched, a notify.managers name that matches no owner
  (D7); «Прочитано … N правок» counts only people's edits (D14); dates as dd.mm.yyyy (D18); `notify --dry-run` reads
  the document as the send does (D21).
"""

from __future__ import annotations

import csv
import email
import hashlib
import re
import shutil
from email import policy
from pathlib import Path

import pytest
import yaml

from crm_audit import i18n
from crm_audit.cli import main
from crm_audit.resources import demo_dir
from test_workflow import edit_workbook

D1, D2, D3 = "2026-11-06", "2026-11-20", "2026-11-21"
LEAVER, HEIR = "Светлана Ковалёва", "Иван Петров"
ANSWERED = "Мария Кузнецова"  # answers «Не исправлено» with a comment on one finding
ACCEPTING = "Сергей Новиков"  # one of his findings is accepted by the head on the command line


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _reassigned_export(src: Path, dst: Path) -> Path:
    """The sample export with every deal of the leaver given to the heir (as the CRM does when a manager leaves)."""
    shutil.copytree(src, dst)
    with (src / "deals.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    owner = rows[0].index("Deal - Owner")
    for r in rows[1:]:
        if r[owner] == LEAVER:
            r[owner] = HEIR
    with (dst / "deals.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    return dst


def rule_title(story, code: str) -> str:
    """A rule's title as the run summary lists it («  1.7 Разные ответственные   26»)."""
    return next(m[1] for m in re.finditer(rf"^  {re.escape(code)} (.+?)\s{{2,}}\d+$", story["run2"], re.M))


def _cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:  # pragma: no cover - main returns its code
        code = exc.code
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    d = tmp_path_factory.mktemp("issue16")
    mp = pytest.MonkeyPatch()
    mp.setenv("CRM_AUDIT_LANGUAGE", "ru")
    cfg = d / "crm-audit.yaml"
    settings = yaml.safe_load((demo_dir() / "crm-audit.yaml").read_text(encoding="utf-8"))
    settings["notify"] = {
        "smtp": {"host": "127.0.0.1", "port": 9, "security": "none", "sender": "CRM-аудит <audit@example.com>"},
        "head": {"email": "rop@example.com", "telegram": -1009},
        "managers": {"иван  петров": "ivan@example.com", ACCEPTING: "sergey@example.com", "Юлия Федорoва": "yulia@example.com"},
    }
    cfg.write_text(yaml.safe_dump(settings, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = d / "audit.xlsx"
    assert main(["run", "-c", str(cfg), "--export", str(demo_dir() / "pipedrive"), "--as-of", D1, "--out", str(out),
                 "--violations-csv", str(d / "v1.csv"), "--quiet"]) == 0
    v1 = _rows(d / "v1.csv")
    answered = next(r for r in v1 if r["owner"] == ANSWERED and r["rule_code"] == "1.8")
    edit_workbook(out, {(answered["rule_code"], answered["deal_id"]): {"Статус": "Не исправлено",
                                                                       "Комментарий": "клиент не помнит, откуда пришёл"}})
    accepted = next(r for r in v1 if r["owner"] == ACCEPTING and r["title"] and r["rule_code"] == "1.7")
    assert main(["accept", "-c", str(cfg), accepted["rule_code"], accepted["deal_id"], "--note", "так договорились"]) == 0
    e2 = _reassigned_export(demo_dir() / "pipedrive", d / "export2")
    import io
    import contextlib

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["run", "-c", str(cfg), "--export", str(e2), "--as-of", D2, "--out", str(out),
                     "--violations-csv", str(d / "v2.csv")]) == 0
    yield {"dir": d, "cfg": cfg, "out": out, "e2": e2, "v1": v1, "v2": _rows(d / "v2.csv"), "accepted": accepted,
           "answered": answered, "run2": buf.getvalue()}
    mp.undo()
    i18n.use_language(None)


@pytest.fixture(autouse=True)
def _russian(monkeypatch):
    monkeypatch.setenv("CRM_AUDIT_LANGUAGE", "ru")
    yield
    i18n.use_language(None)


def expected_changes(story) -> dict[str, tuple[int, ...]]:
    """By hand from the two CSVs: manager -> (new, resolved, still open, accepted, handed over, taken over)."""
    prev = {(r["rule_id"], r["deal_id"]): r["owner"] for r in story["v1"]}
    cur = {(r["rule_id"], r["deal_id"]): r["owner"] for r in story["v2"]}
    acc = (story["accepted"]["rule_id"], story["accepted"]["deal_id"])
    out: dict[str, list[int]] = {}
    for k, o in cur.items():
        c = out.setdefault(o, [0] * 6)
        if k not in prev:
            c[0] += 1
        elif prev[k] == o:
            c[2] += 1
        else:
            c[5] += 1
    for k, o in prev.items():
        c = out.setdefault(o, [0] * 6)
        if k not in cur:
            c[3 if k == acc else 1] += 1
        elif cur[k] != o:
            c[4] += 1
    return {o: tuple(c) for o, c in out.items()}


def test_the_scenario_moves_findings_from_the_leaver_to_the_heir(story):
    ex = expected_changes(story)
    leaver = sum(1 for r in story["v1"] if r["owner"] == LEAVER)
    assert leaver > 5 and not any(r["owner"] == LEAVER for r in story["v2"])
    assert ex[LEAVER][4] > 0 and ex[LEAVER][4] == ex[HEIR][5]  # what she handed over, he took over
    assert ex[ACCEPTING][3] == 1


def _terminal_changes(text: str) -> dict[str, tuple[int, ...]]:
    pat = re.compile(r"^  (\S.*?)\s+\+(\d+)\s+-(\d+)\s+=(\d+)\s+«Исправлено», но осталось (\d+)\s+принято (\d+)\s+"
                     r"предупреждений (\d+)(?:\s+передано (\d+) получено (\d+))?$")
    out = {}
    for line in text.splitlines():
        if m := pat.match(line):
            g = m.groups()
            out[g[0]] = (int(g[1]), int(g[2]), int(g[3]), int(g[5]), int(g[7] or 0), int(g[8] or 0))
    return out


def test_since_last_reconciles_per_manager_in_the_terminal(story):
    ex = expected_changes(story)
    shown = _terminal_changes(story["run2"])
    assert shown == {o: c for o, c in ex.items() if any(c)}, story["run2"]
    assert LEAVER in shown and shown[LEAVER][2] == 0  # she left: still a row, all handed over or resolved
    v1, v2 = story["v1"], story["v2"]
    for o, (new, resolved, still, accepted, handed, taken) in shown.items():
        assert sum(1 for r in v1 if r["owner"] == o) - resolved - accepted - handed == still, o
        assert sum(1 for r in v2 if r["owner"] == o) == new + still + taken, o
    moved = ex[LEAVER][4]
    team = re.search(r"С аудита от 06\.11\.2026: новых (\d+), исправлено (\d+), осталось (\d+),", story["run2"])
    assert team and int(team[3]) == sum(c[2] + c[5] for c in ex.values())  # the team's still open includes the moved
    assert f"Из оставшихся {moved} нарушени" in story["run2"]


def test_the_run_summary_shows_rules_by_code_and_title(story):
    by_rule = story["run2"].split("По правилам:")[1].split("\n\n")[0]
    assert "  1.7 Разные ответственные" in by_rule
    assert "owner-mismatch" not in by_rule and "(" not in by_rule


def test_review_has_the_same_numbers_titles_not_ids_and_first_name_suggestions(story, capsys):
    cfg = str(story["cfg"])
    code, out, _err = _cli(capsys, "review", "-c", cfg, "--today", D3)
    assert code == 0
    assert _terminal_changes(out) == _terminal_changes(story["run2"])
    # the answered finding waits for a decision: shown by code and title (the code is what `accept` takes)
    a = story["answered"]
    waiting = out.split("ждут вашего решения")[1].split("\n\n")[0]
    assert f"  {ANSWERED}: {a['rule_code']} {rule_title(story, a['rule_code'])} сделка {a['deal_id']} «{a['title']}» — клиент не помнит" in waiting
    assert a["rule_id"] not in waiting
    # the manager's to-do: the accepted finding by its deal title, not its id (D6); inner spaces / first name (D7)
    code, todo, _err = _cli(capsys, "review", "-c", cfg, "--today", D3, "--manager", "сергей  новиков")
    acc = story["accepted"]
    assert code == 0 and f"  • «{acc['title']}» (сделка {acc['deal_id']}, {acc['rule_code']} {rule_title(story, acc['rule_code'])})" in todo
    code, _out, err = _cli(capsys, "review", "-c", cfg, "--today", D3, "--manager", "Юлия")
    assert code == 2 and "(может быть, «Юлия Фёдорова»?)" in err


def test_review_page_numbers_titles_and_plural_forms(story, capsys, tmp_path):
    page = tmp_path / "review.html"
    code, _out, _err = _cli(capsys, "review", "-c", str(story["cfg"]), "--today", D3, "--html", str(page))
    assert code == 0
    html = page.read_text(encoding="utf-8")
    ex = expected_changes(story)
    for o in (LEAVER, HEIR):
        new, resolved, still, accepted, handed, taken = ex[o]
        assert re.search(rf"<td>{o}</td><td class=\"n\">{new}</td><td class=\"n\">{resolved}</td><td class=\"n\">{still}</td>"
                         rf"<td class=\"n\">\d+</td><td class=\"n\">{accepted}</td><td class=\"n\">\d+</td>"
                         rf"<td class=\"n\">{handed}</td><td class=\"n\">{taken}</td>", html), o
    n_open = len(story["v2"])  # nothing fixed in the document: every finding is open
    word = {1: "открытое нарушение"}.get(n_open % 10 if n_open % 100 not in (11, 12, 13, 14) else 0,
                                          "открытых нарушения" if n_open % 10 in (2, 3, 4) and n_open % 100 not in (12, 13, 14)
                                          else "открытых нарушений")
    assert f"<b>{n_open}</b>{word}</div>" in html
    acc = story["accepted"]
    assert f">{acc['title']}</a>" in html.split("Принято руководителем (не в списках дел)")[1]


def test_the_heads_digest_has_the_per_manager_changes_in_every_part(story, capsys, tmp_path):
    preview = tmp_path / "preview"
    ledger = story["dir"] / "crm-audit.db"
    before = hashlib.sha1(ledger.read_bytes()).hexdigest()
    code, out, err = _cli(capsys, "notify", "-c", str(story["cfg"]), "--today", D3, "--dry-run", "--preview-dir", str(preview))
    assert code == 0, out + err
    assert hashlib.sha1(ledger.read_bytes()).hexdigest() == before  # the dry run read the document into a copy
    assert f"нет адреса для «{HEIR}»" not in out  # «иван  петров» in notify.managers is him
    assert "«Юлия Федорoва» из notify.managers не совпадает" in out and "(может быть, «Юлия Фёдорова»?)" in out
    ex = expected_changes(story)
    head = next(p for p in preview.iterdir() if "rop@example.com" in p.name)
    msg = email.message_from_bytes(head.read_bytes(), policy=policy.default)
    text = msg.get_body(preferencelist=("plain",)).get_content()
    new, resolved, still, accepted, handed, taken = ex[ACCEPTING]
    assert f"  {ACCEPTING}: +{new} новых, −{resolved} исправлено, {still} осталось" in text
    assert re.search(rf"  {ACCEPTING}: .*принято {accepted}", text)
    leaver = ex[LEAVER]
    assert f"  {LEAVER}: +0 новых, −{leaver[1]} исправлено, 0 осталось, передано другим (сделки сменили ответственного) {leaver[4]}" in text
    assert f"получено от других {ex[HEIR][5]}" in text
    tg = next(p for p in preview.iterdir() if p.name.endswith("telegram--1009.html.txt")).read_text(encoding="utf-8")
    assert "<b>С прошлого аудита по менеджерам</b>:" in tg and f"• {LEAVER}: +0 новых" in tg


def test_read_back_counts_people_edits_quiet_keeps_the_summary_and_dry_run_warns_like_the_send(story, capsys, tmp_path):
    d = tmp_path / "copy"
    shutil.copytree(story["dir"], d)
    cfg, out = d / "crm-audit.yaml", d / "audit.xlsx"
    # nobody touched the second document: the «Не исправлено» the tool carried into it is nobody's edit (D14)
    code, text, err = _cli(capsys, "run", "-c", str(cfg), "--export", str(d / "export2"), "--as-of", D3, "--out", str(out))
    assert code == 0, err
    assert f"Прочитано из {out}: 0 правок, 0 решений" in text
    # --quiet: no read-back chatter, but the summary, the changes and the far-date note are there (D11)
    code, text, err = _cli(capsys, "run", "-c", str(cfg), "--export", str(d / "export2"), "--as-of", "2027-06-01",
                           "--out", str(out), "--quiet")
    assert code == 0 and "Прочитано из" not in text
    assert "Аудит на 01.06.2027:" in text and "С аудита от 21.11.2026:" in text
    assert re.search(r"примечание: дата аудита 01\.06\.2027 на \d+ (?:день|дня|дней) позже самой новой даты в выгрузке", text + err)
    # waivers: code, title and id; dates as dd.mm.yyyy (D18)
    code, text, err = _cli(capsys, "waivers", "-c", str(cfg))
    acc = story["accepted"]
    assert code == 0 and text.startswith(f"{acc['rule_code']} {rule_title(story, acc['rule_code'])} ({acc['rule_id']})")
    assert re.search(r"принято \d\d\.\d\d\.\d{4} ", text) and not re.search(r"\d{4}-\d\d-\d\d", text)
    # the document moved away: the preview warns exactly as the send does (D21)
    out.rename(d / "moved.xlsx")
    code, text, err = _cli(capsys, "notify", "-c", str(cfg), "--dry-run", "--preview-dir", str(d / "p"))
    assert code == 0
    warning = [ln for ln in err.splitlines() if ln.startswith("предупреждение:")]
    assert warning and str(out) in warning[0] and "(или укажите --no-pull)" in warning[0], err


def test_a_misspelt_custom_field_in_a_rule_names_the_closest_column(story, capsys, tmp_path):
    """A team rule reads «Источник сделкы»: the run stops naming the export's «Источник сделки» (D10)."""
    rule = tmp_path / "team-rules.yaml"
    rule.write_text("rules:\n  - id: my-source\n    code: \"3.1\"\n    title: Моё правило\n    criticality: 2\n"
                    "    scope: {status: [open]}\n    when: {field: deal.Источник сделкы, empty: true}\n    evidence: []\n"
                    "    faq: {what: a, why: b, how: c}\n", encoding="utf-8")
    settings = yaml.safe_load(story["cfg"].read_text(encoding="utf-8"))
    settings["rules"] = {"bundled": True, "files": [str(rule)]}
    cfg = tmp_path / "crm-audit.yaml"
    cfg.write_text(yaml.safe_dump(settings, allow_unicode=True, sort_keys=False), encoding="utf-8")
    code, out, err = _cli(capsys, "validate", "-c", str(cfg))
    assert code == 0 and "(1 предупреждение)" in out
    assert (f"предупреждение: {rule}:7:5: правило 3.1 my-source читает «deal.Источник сделкы», а такого столбца не называет "
            "ни другое правило, ни fields: (может быть, «Источник сделки»?)") in err
    code, _out, err = _cli(capsys, "run", "-c", str(cfg), "--export", str(story["e2"]), "--as-of", D2,
                           "--out", str(tmp_path / "a.xlsx"))
    assert code == 2
    assert "нет обязательной колонки «Источник сделкы» (может быть, «Источник сделки»?); она нужна правилам: 3.1" in err
    assert "Traceback" not in err


def test_click_and_os_errors_are_said_in_russian_for_a_russian_team(story, capsys, tmp_path):
    """No English sentence of click or of the OS inside a Russian line (D9)."""
    cfg = str(story["cfg"])
    code, _out, err = _cli(capsys, "run", "-c", cfg, "--export")
    assert code == 2 and err.startswith("ошибка: после параметра --export нужно значение"), err
    code, _out, err = _cli(capsys, "review", "-c", cfg, "--html", str(tmp_path))
    assert code == 2 and f"«{tmp_path}» — это папка, а нужно имя файла" in err and "is a directory" not in err
    code, _out, err = _cli(capsys, "run", "-c", cfg, "--export", str(story["e2"]), "--as-of", D2, "--rule", "no-such-rule",
                           "--out", str(tmp_path / "y.xlsx"))
    assert code == 2 and "ошибка: неизвестные правила: no-such-rule; список — `crm-audit rules`" in err
    import smtplib

    from crm_audit.notify.smtp import connect_error
    from crm_audit.settings import SmtpConfig

    smtp = SmtpConfig(host="127.0.0.1", port=2526, security="none", sender="a@example.com")
    i18n.use_language("ru")
    assert connect_error(smtp, smtplib.SMTPServerDisconnected("please run connect() first")) == (
        "почтовый сервер 127.0.0.1:2526 разорвал соединение; отправлено ли письмо, неизвестно")
    assert connect_error(smtp, ConnectionRefusedError(111, "Connection refused")) == (
        "не удаётся связаться с почтовым сервером 127.0.0.1:2526 (в соединении отказано: на этом порту никто не отвечает)")


def test_a_refused_login_is_tried_once_for_the_whole_run(story, capsys, tmp_path, monkeypatch):
    """535 once: the other recipients are reported not sent for the same reason, without logging in again (D20)."""
    pytest.importorskip("aiosmtpd")
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from test_notify import Inbox, free_port

    attempts = []

    def refuse(server, session, envelope, mechanism, auth_data):
        attempts.append(mechanism)
        return AuthResult(success=False, handled=False)

    d = tmp_path / "copy"
    shutil.copytree(story["dir"], d)
    settings = yaml.safe_load((d / "crm-audit.yaml").read_text(encoding="utf-8"))
    port = free_port()
    settings["notify"]["smtp"].update(port=port, username="audit@example.com")
    (d / "crm-audit.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("CRM_AUDIT_SMTP_PASSWORD", "неверный")
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port, authenticator=refuse, auth_require_tls=False)
    controller.start()
    try:
        code, out, err = _cli(capsys, "notify", "-c", str(d / "crm-audit.yaml"), "--channel", "email", "--today", D3)
    finally:
        controller.stop()
    failed = [ln for ln in out.splitlines() if ln.startswith("ОШИБКА")]
    assert code == 2 and len(failed) == 3  # Иван, Сергей, the head: every one reported
    assert all("не принял логин «audit@example.com» (535)" in ln for ln in failed)
    assert len(attempts) == 1 and "неверный" not in out + err
