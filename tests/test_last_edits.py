"""The latest edit per finding (issue 17: picked by SQL, not a window over all edits), the latest audit's edits that
``review`` shows, and a run keeping only the worked-on rows of a document it read back."""

from __future__ import annotations

from crm_audit.documents.edits import EditedRow
from crm_audit.history.ledger import Ledger
from crm_audit.history.pull import PullResult, store_edits
from ledger_helpers import add_audit

NEW, FIXED, NOT_FIXED = "Не обработано", "Исправлено", "Не исправлено"
RULE = "missing-source"


def _row(deal, status=NEW, comment=None, decision=None):
    return EditedRow.build(RULE, deal, status_raw=status, comment=comment, decision_raw=decision, owner="Иван",
                           sheet="1.8 Нет источника", row=2, status_cell="J2", comment_cell="K2")


def _window(led: Ledger) -> dict:
    """The previous implementation: a window over every edit, the newest audit's first, then the last read."""
    rows = led.con.execute(
        "SELECT * FROM (SELECT e.*, row_number() OVER (PARTITION BY e.rule_id, e.deal_id "
        "ORDER BY coalesce(a.as_of, '') DESC, e.id DESC) AS rn FROM edits e LEFT JOIN audits a ON a.id = e.audit_id) WHERE rn = 1"
    ).fetchall()
    return {(r["rule_id"], r["deal_id"]): r["id"] for r in rows}


def test_latest_edit_per_finding_newest_audit_first(tmp_path):
    keys = [(RULE, str(i)) for i in range(1, 6)]
    with Ledger(tmp_path / "l.db") as led:
        a1 = add_audit(led, "2026-11-06", [{"rule_id": r, "deal_id": d} for r, d in keys])
        a2 = add_audit(led, "2026-11-20", [{"rule_id": r, "deal_id": d} for r, d in keys])
        led.record_edits([_row("1", FIXED), _row("2", NOT_FIXED, "жду"), _row("3", FIXED)], a1, "old.xlsx")
        led.record_edits([_row("1", NOT_FIXED, "новое"), _row("4", FIXED)], a2, "new.xlsx")
        led.record_edits([_row("4", NOT_FIXED, "ещё новее")], a2, "new.xlsx")
        # a stale copy of the older audit's document read last: it never overrides the newer audit's words
        led.record_edits([_row("1", FIXED), _row("5", FIXED)], a1, "stale.xlsx")
        led.record_edits([_row("9", FIXED)], None, "no-audit.xlsx")  # an edit of no audit sorts before every audit's

        last = led.last_edits()
        assert {k: r["id"] for k, r in last.items()} == _window(led)
        assert last[(RULE, "1")]["comment"] == "новое" and last[(RULE, "1")]["audit_id"] == a2
        assert last[(RULE, "4")]["comment"] == "ещё новее"
        assert last[(RULE, "5")]["status"] == FIXED and last[(RULE, "5")]["audit_id"] == a1
        assert last[(RULE, "9")]["audit_id"] is None

        # what review shows as the latest audit's words: only its own edits, the last read of each
        latest = led.last_edits(a2)
        assert set(latest) == {(RULE, "1"), (RULE, "4")}
        assert latest[(RULE, "4")]["comment"] == "ещё новее"
        # an older audit's: only the findings whose latest edit is that audit's (a newer audit's words win)
        older = led.last_edits(a1)
        assert set(older) == {(RULE, "2"), (RULE, "3"), (RULE, "5")}
        assert older == {k: r for k, r in last.items() if r["audit_id"] == a1}


def test_a_run_keeps_only_the_worked_rows_of_a_document(tmp_path):
    keys = [(RULE, str(i)) for i in range(1, 7)]
    with Ledger(tmp_path / "l.db") as led:
        a1 = add_audit(led, "2026-11-06", [{"rule_id": r, "deal_id": d} for r, d in keys])
        rows = [_row("1"), _row("2", FIXED), _row("3", NOT_FIXED), _row("4", NEW, "позвоню"), _row("5", "мусор"), _row("6")]
        res = store_edits(led, rows, "audit.xlsx", a1)
        before = (res.worked, [e.deal_id for e in res.problems], [w.message for w in res.warnings()], res.stored)
        assert res.compact() is res
        assert (res.worked, [e.deal_id for e in res.problems], [w.message for w in res.warnings()], res.stored) == before
        assert res.worked == 4 and [e.deal_id for e in res.problems] == ["3", "5"]  # no comment; an unknown status
        assert [e.deal_id for e in res.edits] == ["2", "3", "4", "5"] and res.rows_read == 6
        assert PullResult("x").compact().rows_read == 0
