"""The deals file of an export in an interface language the profile has no names for (issue 13: «a header the profile
does not know never blocks», «never a blocked first run»).

``init --crm X`` on a Salesforce report in Turkish («Fırsat Adı», «Aşama» …), a Bitrix24 deal list in Vietnamese
(«DEAL_20261120.csv»: «ID», «Giai đoạn» …) or a Kommo leads export in Turkish finds no deals file by the headers
alone. The file is still the deals when no other entity of the profile claims it and either its name is one of the
profile's deals file names (``files:``, a token of the name too: «kommo_export_leads_…») or it is the one such file
of the export. It is then read as the deals with every column unmapped (:func:`load_export`'s ``deals_file``), and
its columns are proposed by their values (:mod:`crm_audit.engine.value_guess`), each for the user to check; a file
whose proposed columns still do not make it the deals file (no stage, no title: a contacts list) is not taken — init
says no deals file is found, as before (:func:`crm_audit.exportdraft.draft_from_export`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crm_audit.engine.profile import Profile

#: the fewest columns a deals file has (an id, a title, a stage …)
MIN_COLUMNS = 3


def _candidates(export_dir: Path, profile: "Profile") -> tuple[bool, list[tuple[Path, bool]]]:
    """(a file is read as the deals already, [(a file no other entity claims, named like the deals)])."""
    from crm_audit.engine.mapping import files_with_entity, unfit_msg

    out = []
    for path, headers, entity in files_with_entity(export_dir, profile):
        if entity == "deals" and unfit_msg(profile, "deals", headers) is None:
            return True, []
        if entity in (None, "deals") and len([h for h in headers if h.strip()]) >= MIN_COLUMNS:
            out.append((path, entity == "deals"))
    return False, out


def unrecognised_deals_file(export_dir: str | Path, profile: "Profile") -> Path | None:
    """The file to read as the deals when none is recognised by its headers (see the module's docstring); None when
    one is, or when no file (or more than one) could be them."""
    read, found = _candidates(Path(export_dir), profile)
    if read:
        return None
    named = [p for p, by_name in found if by_name]
    if len(named) == 1:
        return named[0]
    return found[0][0] if not named and len(found) == 1 else None


__all__ = ["unrecognised_deals_file"]
