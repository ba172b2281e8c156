"""Keep the catalogues in step with the code (a developer's tool; Babel does the work).

``python -m crm_audit.i18n.catalogue`` extracts every ``_()`` / ``ngettext()`` text from ``crm_audit/`` and
``exporters/``, adds the new ones to ``locale/ru`` (untranslated: the tool lists them, fill in ``msgstr`` and run
it again) and ``locale/en`` (the English text is the msgid itself), drops the ones the code no longer has,
compiles both .mo files, and exits 1 while a Russian text is missing. ``tests/test_i18n.py`` runs the same extraction, so a text left out fails the suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

from crm_audit.i18n import DOMAIN, LANGUAGES, compile_po, mo_path, po_path

ROOT = Path(__file__).resolve().parents[2]  # the source tree: crm_audit/ and exporters/
SOURCES = ("crm_audit", "exporters")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extract(root: Path = ROOT):
    """Every message the code marks for translation, as a Babel catalogue (locations: file, no line numbers)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    template = Catalog(domain=DOMAIN, project="crm-audit")
    for src in SOURCES:
        for filename, _lineno, message, _comments, _context in extract_from_dir(
                root / src, method_map=[("**.py", "python")], keywords=KEYWORDS, strip_comment_tags=True):
            if filename.startswith("i18n/"):
                continue  # the module's own docstring examples
            template.add(message, locations=[(f"{src}/{filename}", None)])
    return template


def read(lang: str):
    from babel.messages.pofile import read_po

    path = po_path(lang)
    if not path.exists():
        from babel.messages.catalog import Catalog

        return Catalog(locale=lang, domain=DOMAIN, project="crm-audit")
    with path.open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def missing(catalog) -> list[str]:
    """msgids of ``catalog`` without a text (or with an empty plural form)."""
    out = []
    for m in catalog:
        if not m.id:
            continue
        strings = m.string if isinstance(m.string, (tuple, list)) else (m.string,)
        if not all(s and s.strip() for s in strings):
            out.append(m.id if isinstance(m.id, str) else m.id[0])
    return out


def update(root: Path = ROOT) -> dict[str, list[str]]:
    """Bring both catalogues in step with the code; {lang: msgids still without a text}."""
    from babel.messages.pofile import write_po

    template = extract(root)
    result = {}
    for lang in LANGUAGES:
        catalog = read(lang)
        created = catalog.creation_date  # unchanged by a run that changes nothing (no churn in the diff)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.creation_date = created
        if lang == "en":
            for m in catalog:
                if m.id and not any(m.string if isinstance(m.string, (tuple, list)) else (m.string,)):
                    m.string = tuple(m.id) if isinstance(m.id, (tuple, list)) else m.id
        catalog.fuzzy = False
        catalog.version = ""
        path = po_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write_po(f, catalog, width=120, sort_output=True, include_lineno=False, omit_header=False)
        mo_path(lang).write_bytes(compile_po(lang))
        result[lang] = missing(catalog)
    return result


def main() -> int:
    result = update()
    for lang, ids in result.items():
        for msgid in ids:
            print(f"{po_path(lang).relative_to(ROOT)}: no text for {msgid!r}")
    return 1 if any(result.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
