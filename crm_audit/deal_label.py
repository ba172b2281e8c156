"""What a deal's link says: its title, or — for a blank title (what rule 1.5 flags) — «Сделка 25 (без названия)», so
there is always something to click (the e-mail, the review pages, Telegram, the workbook's title cell)."""

from __future__ import annotations


def blank_title(title: object) -> bool:
    """True for a title with nothing to read (None, "", only spaces)."""
    return title is None or not str(title).strip()


def deal_label(title: object, deal_id: object) -> str:
    """The deal's title as written, or «Сделка 25 (без названия)» when it is blank (Russian: what a manager sees)."""
    return f"Сделка {deal_id} (без названия)" if blank_title(title) else str(title)


def deal_label_cli(title: object, deal_id: object) -> str:
    """:func:`deal_label` in the CLI's language ("Deal 25 (no title)" in English)."""
    from crm_audit.i18n import _

    return _("Deal {deal} (no title)").format(deal=deal_id) if blank_title(title) else str(title)
