"""One language throughout: the CLI's messages, errors and summaries in Russian or English (gettext).

What a manager or the head of sales receives (the workbook, to-dos, digests,
the review page) is Russian whatever the language; this module translates
what the analyst running the tool reads. The language is, in this order:

1. ``CRM_AUDIT_LANGUAGE`` in the environment (``ru`` / ``en``: one run, one person);
2. ``language:`` in the settings (``ru`` / ``en``: the team's choice);
3. the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``): a Russian locale gives Russian, another named
   language (``en_US``, ``de_DE``) English;
4. Russian: no locale, or ``C`` / ``POSIX`` (a server, cron) — the product is made for Russian teams.

Catalogues: ``locale/<lang>/LC_MESSAGES/crm_audit.po`` (msgids are the English texts) and the ``.mo`` compiled
from it, both package data. ``python -m crm_audit.i18n.catalogue`` extracts the messages from the code, updates
both .po files and compiles the .mo files with Babel (``tests/test_i18n.py`` fails while a .mo is not the
compiled .po). At run time the .mo is read by the standard library (about a millisecond); without one, the .po is
compiled in memory with Babel.

Code marks a text for showing with ``_("Wrote {what}: {path}").format(...)`` and counts with
``ngettext("{n} rule", "{n} rules", n).format(n=n)``; never builds a shown text from another module's text.
"""

from __future__ import annotations

import gettext
import os
from functools import lru_cache
from pathlib import Path
from typing import Mapping

DOMAIN = "crm_audit"
LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
ENV_VAR = "CRM_AUDIT_LANGUAGE"
LOCALE_DIR = Path(__file__).parent / "locale"

_chosen: str | None = None  # set by use_language(); None: from the environment on first use


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


def compile_po(lang: str) -> bytes:
    """The .mo of ``lang``'s .po (Babel; fuzzy entries left out)."""
    from io import BytesIO

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buf = BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def normalize(value: str | None) -> str | None:
    """``ru``, ``RU``, ``ru_RU.UTF-8``, ``russian`` → ``ru``; ``en``/``en_GB``/``english`` → ``en``; else None."""
    if not value:
        return None
    base = value.strip().split(".")[0].split("@")[0].replace("-", "_").lower()
    if base.startswith("ru"):
        return "ru"
    if base.startswith("en"):
        return "en"
    return None


def locale_language(env: Mapping[str, str] | None = None) -> str:
    """The language the locale asks for: the first of LC_ALL, LC_MESSAGES, LANG that is set decides."""
    env = os.environ if env is None else env
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = (env.get(var) or "").strip()
        if not value:
            continue
        base = value.split(".")[0].split("@")[0].lower()
        if base in ("c", "posix"):
            return DEFAULT_LANGUAGE  # no language named: the product's audience
        return "ru" if base.startswith("ru") else "en"
    return DEFAULT_LANGUAGE


def choose_language(setting: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The language of this run (see the module's docstring for the order)."""
    env = os.environ if env is None else env
    return normalize(env.get(ENV_VAR)) or normalize(setting) or locale_language(env)


def use_language(lang: str | None) -> str:
    """Use ``lang`` (``ru`` / ``en``; None: from the environment) for every message from now on."""
    global _chosen
    _chosen = normalize(lang) if lang else None
    return current_language()


def current_language() -> str:
    return _chosen or choose_language()


@lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang``: its compiled .mo, else its .po compiled in memory."""
    from io import BytesIO

    mo = mo_path(lang)
    if mo.exists():
        with mo.open("rb") as f:
            return gettext.GNUTranslations(f)
    if not po_path(lang).exists():
        return gettext.NullTranslations()
    return gettext.GNUTranslations(BytesIO(compile_po(lang)))


def _(message: str) -> str:
    """The text of ``message`` (its English msgid) in the current language."""
    return translations(current_language()).gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogues without translating it here: a typed result keeps the msgid and its
    values, and the text is made where it is shown (:class:`crm_audit.report.DataWarning`)."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a counted text for ``n`` in the current language (Russian has three)."""
    return translations(current_language()).ngettext(singular, plural, n)


def is_russian() -> bool:
    return current_language() == "ru"


def settings_language(argv: list[str], default_config: str) -> str | None:
    """The ``language:`` of the settings file a command line names (``--config FILE``, else ``default_config``), read
    before the command runs so that even its first message is in that language; None when there is none to read
    (a broken file is reported by the command itself)."""
    path = default_config
    for i, arg in enumerate(argv):
        if arg in ("--config", "-c") and i + 1 < len(argv):
            path = argv[i + 1]
        elif arg.startswith("--config="):
            path = arg.partition("=")[2]
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if "language" not in text:
        return None
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    value = data.get("language") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None
