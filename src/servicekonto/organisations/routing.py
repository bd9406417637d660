"""Which registration office checks an organisation's documents: the one responsible for its seat.

In the Landkreis Cochem-Zell the Verbandsgemeinden (Cochem, Zell (Mosel), Ulmen, Kaisersesch)
keep the trade register, so an organisation seated in one of their municipalities goes to that
association's office; everything else goes to the district administration, which can forward
a case but is never the wrong place to start.

The table `data/municipalities.csv` (postal_code, municipality, authority_slug) lists
municipalities of the district by association. Membership follows the associations' published
lists of member municipalities (as of the 2014 reform); postal codes are those of Deutsche Post.
It is deliberately incomplete: a postal code is listed only where it is known to belong to the
district, and a code that also serves municipalities outside the district is left out, because
a listed code routes on its own when the city does not match (see below). Missing entries cost
nothing but a detour through the district office.

Rules, in order:
1. The postal code and the municipality name match a row: that row's authority.
2. Every row with this postal code names one authority: that authority (the city may be a
   village part, "Cochem-Cond", or misspelt; the postal code still says where the seat is).
3. Otherwise (unknown postal code, or one shared by two associations and a city that matches
   neither): the district.
City names match ignoring case, spacing and the "Mosel" qualifier ("Zell (Mosel)", "Zell/Mosel",
"Zell an der Mosel" and "zell" are one name).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

DISTRICT_SLUG = "kreis-cochem-zell"
PACKAGED_TABLE = "municipalities.csv"

_POSTAL_CODE = re.compile(r"[0-9]{5}")  # not \d: that also matches other scripts' digits
# The river name as qualifier: "(Mosel)", "/Mosel", "a.d. Mosel", "an der Mosel", " Mosel".
_MOSEL_SUFFIX = re.compile(r"\s*(?:\(mosel\)|/\s*mosel|(?:an der|a\.\s*d\.)\s*mosel|\smosel)$")


@dataclass(frozen=True)
class _Table:
    by_code_and_name: dict[tuple[str, str], str] = field(default_factory=dict)
    authorities_by_code: dict[str, set[str]] = field(default_factory=dict)


def responsible_authority(postal_code: str, city: str) -> str:
    """The slug of the authority whose registration office handles an organisation seated here."""
    code = postal_code.strip()
    if not _POSTAL_CODE.fullmatch(code):
        return DISTRICT_SLUG
    table = _table()
    exact = table.by_code_and_name.get((code, normalised_name(city)))
    if exact is not None:
        return exact
    candidates = table.authorities_by_code.get(code, set())
    return next(iter(candidates)) if len(candidates) == 1 else DISTRICT_SLUG


def normalised_name(city: str) -> str:
    """Case-, spacing- and "Mosel"-qualifier-insensitive form of a municipality name."""
    name = " ".join(unicodedata.normalize("NFC", city).casefold().split())
    return _MOSEL_SUFFIX.sub("", name).strip()


@cache
def _table() -> _Table:
    # Read once per process: the table ships with the package and changes only with a release.
    text = resources.files("servicekonto.organisations").joinpath("data", PACKAGED_TABLE)
    return _parse(text.read_text(encoding="utf-8"))


def _parse(text: str) -> _Table:
    by_code_and_name: dict[tuple[str, str], str] = {}
    authorities: defaultdict[str, set[str]] = defaultdict(set)
    for row in csv.DictReader(io.StringIO(text)):
        code, slug = row["postal_code"], row["authority_slug"]
        by_code_and_name[(code, normalised_name(row["municipality"]))] = slug
        authorities[code].add(slug)
    return _Table(by_code_and_name=by_code_and_name, authorities_by_code=dict(authorities))
