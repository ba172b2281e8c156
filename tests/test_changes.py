"""«Since the last audit»: new, resolved, still open, fixed but failing, accepted, warned — per manager and for the team."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from crm_audit.history.changes import compute_changes
from crm_audit.summary import change_lines


def _keys(rows):
    return pd.DataFrame(rows, columns=["rule_id", "deal_id", "owner", "repeat"][: len(rows[0])] if rows else ["rule_id", "deal_id", "owner"])


def test_each_kind_of_change_is_counted_per_manager_and_for_the_team():
    prev = _keys([("r1", "1", "Иван Петров"), ("r1", "2", "Иван Петров"), ("r2", "3", "Мария"), ("r2", "4", "Мария"),
                  ("r2", "5", "Мария")])
    cur = _keys([("r1", "1", "иван петров", 0), ("r2", "3", "Мария", 1), ("r2", "6", "Мария", 0), ("r1", "7", None, 0)])
    ch = compute_changes(prev, cur, accepted={("r2", "4")}, warned_owners=["Мария", "МАРИЯ "], since=dt.date(2026, 11, 6),
                         as_of=dt.date(2026, 11, 20))
    by = {k: (c.new, c.resolved, c.still_open, c.fixed_failing, c.accepted, c.warned) for k, c in ch.by_manager.items()}
    assert by == {"Иван Петров": (0, 1, 1, 0, 0, 0), "Мария": (1, 1, 1, 1, 1, 2), "(без ответственного)": (1, 0, 0, 0, 0, 0)}
    t = ch.team
    assert (t.new, t.resolved, t.still_open, t.fixed_failing, t.accepted, t.warned) == (2, 2, 2, 1, 1, 2)
    assert change_lines(ch)[0] == ("Since the audit of 06.11.2026: 2 new, 2 resolved, 2 still open, "
                                   "1 marked «Исправлено» but still failing, 1 accepted, 2 warned.")


def test_the_first_audit_has_no_changes_to_show():
    cur = _keys([("r1", "1", "Иван", 0)])
    ch = compute_changes(None, cur, accepted=set(), warned_owners=[], since=None, as_of=dt.date(2026, 11, 6))
    assert ch.team.new == 1 and change_lines(ch) == []


def test_an_audit_without_findings_after_one_with_findings():
    prev = _keys([("r1", "1", "Иван")])
    empty = pd.DataFrame({"rule_id": [], "deal_id": [], "owner": [], "repeat": []})
    ch = compute_changes(prev, empty, accepted=set(), warned_owners=[], since=dt.date(2026, 11, 6), as_of=dt.date(2026, 11, 20))
    assert (ch.team.resolved, ch.team.new) == (1, 0)
    ch = compute_changes(empty, empty, accepted=set(), warned_owners=[], since=dt.date(2026, 11, 6), as_of=dt.date(2026, 11, 20))
    assert ch.by_manager == {}


def test_deals_that_change_owner_are_handed_over_and_taken_over_so_each_manager_reconciles():
    # Светлана leaves: two of her deals go to Иван, one of her findings is fixed; Иван keeps one, gets one accepted, one new
    prev = _keys([("r1", "10", "Светлана Ковалёва"), ("r2", "11", "Светлана Ковалёва"), ("r1", "12", "Светлана Ковалёва"),
                  ("r1", "20", "Иван Петров"), ("r2", "21", "Иван Петров")])
    cur = _keys([("r1", "10", "Иван Петров", 0), ("r2", "11", "иван петров", 1), ("r1", "20", "Иван Петров", 0),
                 ("r1", "30", "Иван Петров", 0)])
    ch = compute_changes(prev, cur, accepted={("r2", "21")}, warned_owners=["Светлана Ковалева"], since=dt.date(2026, 11, 20),
                         as_of=dt.date(2026, 12, 4))
    by = {k: (c.new, c.resolved, c.still_open, c.fixed_failing, c.accepted, c.warned, c.handed_over, c.taken_over)
          for k, c in ch.by_manager.items()}
    assert by == {"Иван Петров": (1, 0, 1, 1, 1, 0, 0, 2), "Светлана Ковалёва": (0, 1, 0, 0, 0, 1, 2, 0)}
    assert list(ch.by_manager) == ["Иван Петров", "Светлана Ковалёва"]  # this audit's findings, most first
    ivan, sveta = ch.by_manager["Иван Петров"], ch.by_manager["Светлана Ковалёва"]
    # previous − resolved − accepted − handed over = still open; now = new + still open + taken over
    assert (ivan.previous, ivan.current, sveta.previous, sveta.current) == (2, 4, 3, 0)
    t = ch.team
    assert (t.new, t.resolved, t.still_open, t.accepted, t.handed_over, t.taken_over) == (1, 1, 3, 1, 2, 2)
    assert 5 - t.resolved - t.accepted == t.still_open
    lines = change_lines(ch)
    assert lines[1] == "  Of those still open, 2 findings are on deals that changed owner (handed over below)."
    assert lines[2].endswith("handed over 0 taken over 2") and lines[2].startswith("  Иван Петров")
    assert lines[3].startswith("  Светлана Ковалёва") and lines[3].endswith("handed over 2 taken over 0")


def test_a_finding_of_a_rule_that_did_not_run_in_one_audit_is_left_out_of_the_comparison():
    """r2 ran only before (switched off now), r3 only now (skipped before): neither resolved nor new; r1 ran in both."""
    prev = _keys([("r1", "1", "Иван"), ("r2", "2", "Иван"), ("r2", "3", "Мария")])
    cur = _keys([("r1", "1", "Иван", 0), ("r3", "4", "Мария", 0)])
    ch = compute_changes(prev, cur, accepted=set(), warned_owners=[], since=dt.date(2026, 11, 6), as_of=dt.date(2026, 11, 20),
                         ran_before={"r1", "r2"}, ran_now={"r1", "r3"}, labels={"r2": "1.8"})
    assert (ch.team.new, ch.team.resolved, ch.team.still_open) == (0, 0, 1)
    assert {k: (c.new, c.resolved, c.still_open) for k, c in ch.by_manager.items()} == {"Иван": (0, 0, 1)}
    assert ch.not_compared == {"1.8": 2, "r3": 1}
    assert change_lines(ch)[1] == ("  Left out: 3 findings of rules not checked in one of the two audits (1.8: 2, r3: 1) — neither "
                                   "new nor resolved.")
    # not known which rules the previous audit ran (a ledger from before it kept them): every rule counts as run
    ch = compute_changes(prev, cur, accepted=set(), warned_owners=[], since=dt.date(2026, 11, 6), as_of=dt.date(2026, 11, 20),
                         ran_now={"r1", "r3"})
    assert (ch.team.new, ch.team.resolved, ch.not_compared) == (1, 0, {"r2": 2})
