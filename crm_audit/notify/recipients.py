"""Who gets what: the CRM owner names of the audit matched to the addresses in ``notify.managers`` — never guessed.

Names match as everywhere else (case, spaces — inner ones too —, «ё»/«е»); an owner
with a to-do and no entry is reported, and nothing is sent for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_audit.settings import NotifyConfig, Recipient
from crm_audit.history.review import name_key


@dataclass
class Addressed:
    owners: dict[str, Recipient] = field(default_factory=dict)  # owner as the review shows it -> where their to-do goes
    unknown: list[str] = field(default_factory=list)  # owners with findings and no entry in notify.managers
    unused: list[str] = field(default_factory=list)  # entries of notify.managers no owner of the audit matches


def address(cfg: NotifyConfig, owners: list[str]) -> Addressed:
    by_key = {name_key(name): r for name, r in cfg.managers.items()}
    out = Addressed()
    seen = set()
    for owner in owners:
        r = by_key.get(name_key(owner))
        if r is None or not (r.email or r.telegram):
            out.unknown.append(owner)
        else:
            out.owners[owner] = r
            seen.add(name_key(owner))
    out.unused = [name for name in cfg.managers if name_key(name) not in seen]
    return out
