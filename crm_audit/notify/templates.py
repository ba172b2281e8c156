"""The Jinja environment of the digest and review templates (``templates/*.html.j2``, bundled with the package)."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def environment():
    import jinja2

    from crm_audit.deal_label import deal_label
    from crm_audit.notify.fmt import date_text, plural_form, value_text
    from crm_audit.resources import templates_dir

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["date"] = date_text
    env.filters["value"] = value_text
    env.filters["deal"] = deal_label  # {{ i.title|deal(i.deal_id) }}: «Сделка 25 (без названия)» for a blank title
    env.filters["forms"] = lambda n, one, few, many: plural_form(n, (one, few, many))  # {{ n|forms("день", "дня", "дней") }}
    return env
