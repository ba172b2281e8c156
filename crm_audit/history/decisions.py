"""The head of sales' decisions from the command line: accept (a waiver) or warn."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crm_audit.errors import UsageError
from crm_audit.i18n import _
from crm_audit.history.ledger import Ledger


@dataclass
class Decision:
    rule_id: str
    deal_id: str
    kind: str  # accepted | warning
    owner: str | None
    audited: bool  # False: no audit flagged it yet (recorded with --force)
    until: dt.date | None = None


def decide(ledger: Ledger, rules, rule_id: str, deal_id: str, kind: str, note: str | None, *,
           until: dt.date | None = None, force: bool = False) -> Decision:
    """Record a decision on a finding; RULE_ID may be the rule's id or its sheet code (1.8)."""
    rule_id = {r.code: r.id for r in rules}.get(rule_id, rule_id)
    if rule_id not in {r.id for r in rules}:
        raise UsageError(_("unknown rule «{rule}»; see `crm-audit rules`").format(rule=rule_id))
    deal_id = str(deal_id)
    f = ledger.finding(rule_id, deal_id)
    latest = ledger.latest_audit()
    if f is None and not force:
        raise UsageError(_("no finding of rule {rule} for deal {deal} in the audit history; check the ids (or pass --force to "
                           "record the decision for a finding not audited yet)").format(rule=rule_id, deal=deal_id))
    if until is not None and latest is not None and until < dt.date.fromisoformat(latest["as_of"]):
        raise UsageError(_("--until {until} is before the latest audit ({latest}): the waiver would already have expired")
                         .format(until=until.isoformat(), latest=latest["as_of"]))
    fa = ledger.finding_in(latest["id"], rule_id, deal_id) if latest is not None else None
    owner = f["owner"] if f is not None else None
    ledger.decide(rule_id, deal_id, kind, note, owner=owner, audit_id=latest["id"] if latest is not None else None,
                  source="cli", expires_on=until, fingerprint=fa["fingerprint"] if fa is not None else None)
    return Decision(rule_id, deal_id, kind, owner, f is not None, until)


@dataclass
class Revoked:
    rule_id: str
    deal_id: str
    kind: str
    count: int  # decisions taken back


def revoke(ledger: Ledger, rules, rule_id: str, deal_id: str, kind: str) -> Revoked:
    """Take back the acceptance (its waiver ends) or the warnings of a finding; RULE_ID may be the sheet code."""
    rule_id = {r.code: r.id for r in rules}.get(rule_id, rule_id)
    if rule_id not in {r.id for r in rules}:
        raise UsageError(_("unknown rule «{rule}»; see `crm-audit rules`").format(rule=rule_id))
    return Revoked(rule_id, str(deal_id), kind, ledger.withdraw(rule_id, str(deal_id), kind, dt.date.today()))
