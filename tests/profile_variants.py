"""A bundled profile with some interface languages taken out, for the tests of an export in a language no profile
has: when a language those tests were written with becomes the profile's own (`languages:`), the tests keep their
point by reading the export with the profile as it was without it."""

from __future__ import annotations

from pathlib import Path

import yaml

from crm_audit import resources
from crm_audit.engine import profile as profile_mod


def without_languages(monkeypatch, tmp_path: Path, crm: str, *codes: str) -> Path:
    """Make `crm` (by name or alias, in this test) load a copy of its bundled profile without `languages.<code>` for
    each of ``codes`` (and without their default closed-stage names); the copy's path."""
    src = resources.profiles_dir() / f"{crm}.yaml"
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    for code in codes:
        data["languages"].pop(code, None)
        names = ((data.get("derive_status") or {}).get("from_stage") or {}).get("default_names") or {}
        names.pop(code, None)
    dst = tmp_path.parent / f"{tmp_path.name}-profile" / f"{crm}.yaml"  # beside the test's folder, never in its export
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    original = profile_mod.profile_path
    monkeypatch.setattr(profile_mod, "profile_path", lambda name: dst if original(name) == src else original(name))
    _fresh_caches(monkeypatch)
    return dst


def _fresh_caches(monkeypatch) -> None:
    """The engine's memoised look-ups across profiles (suggest._other_aliases: every other profile's names) start
    empty for this test, so they read the profiles as changed here; the originals, filled by other tests, come back
    afterwards."""
    import functools

    from crm_audit.engine import suggest, value_guess

    for module in (suggest, value_guess):
        for name, fn in list(vars(module).items()):
            if callable(fn) and hasattr(fn, "cache_clear") and hasattr(fn, "__wrapped__"):
                monkeypatch.setattr(module, name, functools.lru_cache(maxsize=None)(fn.__wrapped__))


#: the interface languages added to the profiles from the acceptance testers' exports of languages no profile had
#: (issue 13): tests written for «a language no profile has» read the profiles without them (:func:`as_before`)
ADDED = {"hubspot": ("pl", "sv", "da", "nb", "fi", "ko", "zh-CN"),
         "pipedrive": ("tr", "da", "fi", "id", "ko", "zh-CN", "zh-TW", "uk"),
         "bitrix24": ("tr", "zh-CN", "ja", "id", "vi"),
         "amocrm": ("tr", "id")}


def as_before(monkeypatch, tmp_path: Path, *crms: str) -> None:
    """Every profile of ``crms`` (all of :data:`ADDED` when none) without the languages :data:`ADDED` names."""
    for crm in crms or tuple(ADDED):
        without_languages(monkeypatch, tmp_path, crm, *ADDED[crm])
