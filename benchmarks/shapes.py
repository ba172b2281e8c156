"""The data shapes the benchmark runs on (issue 17): the same generator, three kinds of export.

* ``generator`` — ``samplegen.generate`` written as Pipedrive's clean list
  export (UTF-8, ``,``, every field quoted, ``Deal - …`` headers); organizations
  and persons are shared between deals (~0.25 per deal); ~0.83 violations per deal.
* ``high-violation`` — the same deals with an organization and a contact person
  of their own (~1 of each per deal: many organizations and persons, as a team
  that never merges duplicates has them), owners of organizations and persons
  that often differ from the deal's, and fields a team rarely fills left empty
  (source, city, budget): ~1.5 violations per deal. Clean CSV layout.
* ``messy`` — the generator's deals as they come back from Russian-locale Excel
  (``samplegen`` style ``messy``: UTF-8 BOM, ``;``, minimal quoting, headers
  without the ``Deal - `` prefix, a duplicated empty «Город» column,
  ``dd.mm.yyyy HH:MM`` dates, ``1 500,00`` amounts, ids as ``123.0``, three
  empty trailing rows).

Deterministic: (shape, n, seed) always gives the same files.
"""

from __future__ import annotations

import random
from datetime import date

SHAPES = ("generator", "high-violation", "messy")
#: the file layout of each shape (the baseline SQL reads either)
LAYOUT = {"generator": "clean", "high-violation": "clean", "messy": "messy"}


def _high_violation(export, seed: int) -> None:
    """Give every deal its own organization and person; empty more fields, change more owners (in place)."""
    import samplegen

    rng = random.Random(seed * 7919 + 17)
    rnd = rng.random
    managers = samplegen.MANAGER_NAMES
    orgs_by_id = {o["id"]: o for o in export.organizations}
    persons_by_id = {p["id"]: p for p in export.persons}
    orgs: list[dict] = []
    persons: list[dict] = []
    next_org = max((int(o["id"]) for o in export.organizations), default=0) + 1_000_000
    next_person = max((int(p["id"]) for p in export.persons), default=0) + 1_000_000
    for d in export.deals:
        org = orgs_by_id.get(d["org_id"]) if d["org_id"] else None
        if org is not None:
            org = dict(org, id=str(next_org))
            next_org += 1
            if rnd() < 0.12:
                org["owner"] = managers[int(rnd() * len(managers))]
            orgs.append(org)
            d["org_id"] = org["id"]
        person = persons_by_id.get(d["person_id"]) if d["person_id"] else None
        if person is not None:
            person = dict(person, id=str(next_person), org_name=d["org_name"])
            next_person += 1
            if rnd() < 0.12:
                person["owner"] = managers[int(rnd() * len(managers))]
            persons.append(person)
            d["person_id"] = person["id"]
        if rnd() < 0.36:
            d[samplegen.F_SOURCE] = None
        if rnd() < 0.24:
            d[samplegen.F_CITY] = None
        if rnd() < 0.10:
            d[samplegen.F_BUDGET] = None
    export.organizations[:] = orgs
    export.persons[:] = persons


def write_shape(shape: str, n: int, seed: int, as_of: date, out_dir: str) -> None:
    """Generate the export of ``shape`` with ``n`` deals into ``out_dir``."""
    import samplegen

    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    export = samplegen.generate(n, seed, as_of)
    if shape == "high-violation":
        _high_violation(export, seed)
    samplegen.write_pipedrive(export, out_dir, LAYOUT[shape])
