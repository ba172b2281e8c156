"""What ``crm-audit notify`` says about a :class:`~crm_audit.notify.send.NotifyResult`: one line per message, in the
CLI's language (the messages themselves are always Russian)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from crm_audit.i18n import _, ngettext


def _who(owner: str | None, kind: str) -> str:
    what = _("to-do") if kind == "manager" else _("team summary")
    head = _("head of sales")
    return f"{owner or head}: {what}"


def _when(iso: str) -> str:
    """When the ledger recorded a message (ISO text) as the CLI shows times: 06.12.2026 17:08."""
    try:
        return f"{dt.datetime.fromisoformat(iso):%d.%m.%Y %H:%M}"
    except (TypeError, ValueError):
        return str(iso).replace("T", " ")


def channel_name(channel: str) -> str:
    """«e-mail» / «Telegram» as words of the CLI's language (not the settings' keys)."""
    return {"email": _("e-mail"), "telegram": _("Telegram")}.get(channel, channel)


def _row(label: str, channel: str, recipient: str, rest: str) -> str:
    return f"{label:<8} {channel_name(channel):<8} {recipient:<32} {rest}"


def notify_lines(res, *, settings_file: str | None, preview_dir: Path | None) -> list[str]:
    lines = []
    if preview_dir is not None:
        label = _("preview")
        for o, p in zip(res.messages, res.previews):
            findings = ngettext("{n} finding", "{n} findings", o.findings).format(n=o.findings)
            lines.append(_row(label, o.channel, o.recipient, f"{_who(o.owner, o.kind)}, {findings} -> {p}"))
    sent, failed = _("sent"), _("FAILED")
    for d in res.deliveries:
        if d.ok and d.earlier_parts:
            rest = ngettext("the rest: {n} of {parts} part was delivered earlier", "the rest: {n} of {parts} parts were delivered earlier",
                            d.earlier_parts).format(n=d.earlier_parts, parts=d.parts)
            lines.append(_row(sent, d.channel, d.recipient, f"{_who(d.owner, d.kind)} ({rest})"))
        elif d.ok:
            lines.append(_row(sent, d.channel, d.recipient, _who(d.owner, d.kind)))
        else:
            before = getattr(res, "resent", {}).get((d.channel, d.recipient))
            if before:  # re-sent: the ledger still has it as sent, so a plain `notify` would skip it
                why = (_("{error}; not sent again (it was delivered {when}): run `crm-audit notify --resend` again")
                       .format(error=d.error, when=_when(before)))
            else:
                why = _("{error}; not recorded: the next `crm-audit notify` sends it").format(error=d.error)
            lines.append(_row(failed, d.channel, d.recipient, f"{_who(d.owner, d.kind)} — {why}"))
    skipped = _("skipped")
    for s in res.skipped:
        lines.append(_row(skipped, s.channel, s.recipient,
                          _("already sent {when} (--resend to send again)").format(when=_when(s.sent_at))))
    for owner in res.unknown_owners:
        lines.append(_("warning: no address for «{owner}»: their to-do was not sent; add them under notify.managers in {file}")
                     .format(owner=owner, file=settings_file or _("the settings")))
    for name in res.unmatched:
        hit = getattr(res, "closest", {}).get(name)
        lines.append(_("note: notify.managers «{name}» matches no owner of this audit (a typo, or nothing flagged for them)")
                     .format(name=name) + (" " + _("(did you mean {names}?)").format(names=f"«{hit}»") if hit else ""))
    if res.nothing_to_do:
        lines.append(_("Nothing to send (no open findings): {names}.").format(names=", ".join(res.nothing_to_do)))
    if preview_dir is not None:
        lines.append(ngettext("Dry run: {n} message written to {folder}; nothing was sent or recorded.",
                              "Dry run: {n} messages written to {folder}; nothing was sent or recorded.", len(res.previews))
                     .format(n=len(res.previews), folder=preview_dir))
    elif not res.deliveries and not res.skipped:
        lines.append(_("No message to send."))
    return lines
