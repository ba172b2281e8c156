"""#13 acceptance S (minor observation, case pd_team_reinit): `init --from-export DIR --force` over a team's
crm-audit.yaml keeps the team's work — its `fields:`, `stage_names:`, `pipeline_names:`, a confirmed stage order (a
stage no deal is in stays; a stage new in the export is added and the order marked to confirm again), the lists it
filled, `lists:`, `rules: disable:` and the `rules: skip:` lines it wrote by hand — not only `columns:` / `values:`."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import yaml

from cli_helpers import cli_ru, findings_by_code, init_from_export, run_audit

CASE = Path(__file__).parent / "fixtures" / "accs" / "pd_team_reinit"
#: the hand expectation of the later export at 2026-12-04 with the team's settings (the case's README)
EXPECTED = {"1.1": {"2", "10", "12"}, "1.2": {"7"}, "1.3": {"3"}, "1.4": {"3"}, "1.5": {"2", "3"}, "1.6": {"4"},
            "1.7": {"3"}, "1.8": {"2", "6"}, "1.9": {"4"}, "1.10": {"3"}, "1.11": {"2"}, "1.12": {"5"}, "1.13": {"4"},
            "2.1": {"2", "7"}, "2.2": {"1"}, "2.3": {"1", "3", "4", "9", "11"}, "2.4": {"1", "2", "3", "4", "5", "10"}}


def _team_file(work: Path) -> None:
    """The team's hand edits over init's file: the acceptance's edited settings, a rule disabled, one skipped by
    hand with its reason, a lost reason and a list of its own added."""
    text = (CASE / "team.yaml").read_text(encoding="utf-8")
    for old, new in (("disable: []", "disable: [missing-city-or-country]"),
                     ("  skip: {}", "  skip:\n    missing-source: источник у нас не ведётся"),
                     ("frozen_lost_reasons: [Несезон]", "frozen_lost_reasons: [Несезон, Бюджет урезан]"),
                     ("lists: {}", "lists:\n  vip: [Альфа Маркет, Бета Строй]")):
        assert old in text
        text = text.replace(old, new)
    (work / "crm-audit.yaml").write_text(text, encoding="utf-8")


def test_init_force_keeps_the_teams_lines_and_adds_the_new_stage(tmp_path, capsys, monkeypatch):
    work = tmp_path / "w"
    init_from_export(capsys, monkeypatch, work, "pipedrive", CASE / "export")
    _team_file(work)
    export = CASE / "export-2026-12-04"
    code, _out, err = cli_ru(capsys, monkeypatch, "init", str(work), "--crm", "pipedrive", "--from-export", str(export),
                             "--force")
    assert code == 0, err
    assert ("воронка «Sales»: в выгрузке новые этапы «Negotiation»; они добавлены в ваш подтверждённый порядок туда, где "
            "их ставит выгрузка, и порядок этой воронки снова отмечен неподтверждённым в stage_order_confirmed: (порядок "
            "других воронок остаётся подтверждённым): проверьте их место в crm-audit.yaml и подтвердите его") in err
    text = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    s = yaml.safe_load(text)
    # the confirmed order stands, «Contract» (no deal in it now) with it; «Negotiation» put where the export puts it
    assert s["pipelines"] == {"Sales": ["Accepted", "Negotiation", "Qualified", "Demo done", "Proposal sent", "Trial",
                                        "Contract", "Invoice"],
                              "Partners": ["Accepted", "Intro", "Demo done", "Proposal sent", "Signing"],
                              "Upsell": ["Accepted", "Proposal sent", "Invoice"]}
    # only «Sales» got a new stage: the team's confirmation of «Partners» and «Upsell» stands (was: false for all three)
    assert s["stage_order_confirmed"] == ["Partners", "Upsell"]
    assert ("# порядок — из вашего crm-audit.yaml (вы его подтвердили); «Contract» — ни одной сделки в этой выгрузке, "
            "оставлено; НОВЫЕ этапы выгрузки вставлены по выгрузке («Negotiation» — после «Accepted»): проверьте их место "
            "и поставьте stage_order_confirmed: true") in text
    assert s["fields"] == {"deal.Страна": "Land", "deal.Источник сделки": "Origin channel", "deal.Город": "Town",
                           "deal.Посещаемость": "Monthly visits", "deal.Бюджет": "Ad spend",
                           "deal.Ссылка на запись демо": "Demo video", "deal.Ссылка на коммерческое предложение": "Offer URL",
                           "deal.Партнерская организация": "Referral partner", "org.Агентство ли это": "Reseller"}
    assert "  deal.Город: Town    # из вашего crm-audit.yaml" in text
    assert s["stage_names"] == {"Принял в работу": "Accepted", "Проведено демо": "Demo done", "Отправлено КП": "Proposal sent"}
    assert s["pipeline_names"] == {"Партнеры": "Partners", "Клиенты": "Sales"}
    assert s["frozen_lost_reasons"] == ["Несезон", "Бюджет урезан"]
    assert s["partner_managers"] == ["Ольга Партнерова"] and s["trial_stages"] == ["Trial"]
    assert s["lists"] == {"vip": ["Альфа Маркет", "Бета Строй"]}
    assert s["rules"]["disable"] == ["missing-city-or-country"]
    assert s["rules"]["skip"] == {"missing-source": "источник у нас не ведётся"}
    assert "    # из вашего crm-audit.yaml\n    missing-source: источник у нас не ведётся" in text
    code, out, err = cli_ru(capsys, monkeypatch, "validate", "--config", str(work / "crm-audit.yaml"), "--export", str(export))
    assert code == 0, out + err
    run_audit(capsys, monkeypatch, work, export, "2026-12-04")
    want = {k: v for k, v in EXPECTED.items() if k not in ("1.8", "2.1")}  # skipped and disabled by the team
    assert findings_by_code(work / "v.csv") == want


def test_init_force_comments_out_the_teams_lines_the_export_no_longer_fits(tmp_path, capsys, monkeypatch):
    """A `fields:` column gone from the file and a `stage_names:` stage gone from the re-guessed (unconfirmed) order are
    written commented with why and said; init's own `rules: skip:` lines of the old file are not taken for the team's."""
    work, export = tmp_path / "w", tmp_path / "export"
    shutil.copytree(CASE / "export-2026-12-04", export)
    deals = export / "deals.csv"
    with open(deals, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    town = rows[0].index("Deal - Town")
    with open(deals, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([r[:town] + r[town + 1:] for r in rows])
    text = init_from_export(capsys, monkeypatch, work, "pipedrive", CASE / "export")
    assert "    # 1.8: чтобы включить — " in text and "    missing-source: " in text  # init's own skip line
    text = text.replace("fields:\n", "fields:\n  deal.Город: Town\n", 1)
    text = text.replace("stage_names:\n", "stage_names:\n  Проведено демо: Contract\n", 1)
    (work / "crm-audit.yaml").write_text(text, encoding="utf-8")
    code, _out, err = cli_ru(capsys, monkeypatch, "init", str(work), "--crm", "pipedrive", "--from-export", str(export),
                             "--force")
    assert code == 0, err
    assert ("предупреждение: fields: deal.Город: колонки «Town» из вашего crm-audit.yaml в deals.csv больше нет: строка "
            "закомментирована; уберите «#», когда колонка вернётся в выгрузку") in err
    assert ("предупреждение: stage_names: Проведено демо: этапа «Contract» из вашего crm-audit.yaml больше нет в pipelines: "
            "(ни одна сделка выгрузки на нём не стоит): строка закомментирована") in err
    new = (work / "crm-audit.yaml").read_text(encoding="utf-8")
    assert ("#   deal.Город: Town    # из вашего crm-audit.yaml: в deals.csv больше нет колонки «Town» — строка не "
            "действует; уберите «#», когда колонка вернётся в выгрузку") in new
    assert ("#   Проведено демо: Contract    # из вашего crm-audit.yaml: этапа «Contract» больше нет в pipelines: — строка "
            "не действует; уберите «#», когда он вернётся в выгрузку") in new
    s = yaml.safe_load(new)
    assert "deal.Город" not in (s["fields"] or {})
    assert (s["stage_names"] or {}).get("Проведено демо") != "Contract"
    assert "из вашего crm-audit.yaml\n" not in new.split("skip:", 1)[1]  # no line of init's taken for the team's
