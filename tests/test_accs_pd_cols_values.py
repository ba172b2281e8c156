"""#13 acceptance S5 (case pd_cols): an export whose every header is unknown («Kol P0»…), files named as Pipedrive
names them. init tells the columns by their values: each file's own id (the first column, filled and distinct in every
row, though 1, 2, 3 are another file's ids too) is its `id`, never a link — the persons' «Kol P0» is no company id —
and a link the values leave one column for takes it from the other links (the deal's person ids 1–3 fit the
companies too; its company ids 1–4 fit no person)."""

from __future__ import annotations

from pathlib import Path

import yaml

from cli_helpers import findings_by_code, init_from_export, run_audit

EXPORT = Path(__file__).parent / "fixtures" / "accs" / "pd_cols" / "export"


def test_every_header_unknown_ids_and_links_told_by_values(tmp_path, capsys, monkeypatch):
    work = tmp_path / "w"
    text = init_from_export(capsys, monkeypatch, work, "pipedrive", EXPORT)
    cols = yaml.safe_load(text)["columns"]
    assert cols["persons"]["id"] == "Kol P0" and "org_id" not in cols["persons"]
    assert (cols["activities"]["id"], cols["activities"]["deal_id"]) == ("Kol A0", "Kol A6")
    assert (cols["deals"]["id"], cols["deals"]["org_id"], cols["deals"]["person_id"]) == ("Kol D00", "Kol D06", "Kol D08")
    assert cols["organizations"]["id"] == "Kol O0"
    assert ("    person_id: Kol D08    # проверьте: название не узнано, но по значениям похоже на person_id (deals.csv): "
            "ID из файла, на который ссылается поле") in text
    run_audit(capsys, monkeypatch, work, EXPORT, "2026-11-20")
    found = findings_by_code(work / "v.csv")
    # the rules reading what the values told: as pd_base's hand expectation (the tasks' deal link, the contact link)
    assert {k: found.get(k, set()) for k in ("1.1", "1.2", "1.5", "1.7")} == {
        "1.1": {"2", "10"}, "1.2": {"7"}, "1.5": {"2", "3"}, "1.7": {"3"}}
