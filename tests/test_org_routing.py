"""Which registration office gets an organisation's application: the one for its seat."""

from __future__ import annotations

import csv
import io
import re
from importlib import resources

import pytest

from servicekonto.demo import DEMO_AUTHORITIES, DISTRICT_SLUG
from servicekonto.organisations import routing
from servicekonto.organisations.routing import normalised_name, responsible_authority
from servicekonto.registry.csv_format import load_packaged_residents

ASSOCIATIONS = {"vg-cochem", "vg-zell", "vg-ulmen", "vg-kaisersesch"}


def _shipped_rows() -> list[dict[str, str]]:
    table = resources.files("servicekonto.organisations").joinpath("data", "municipalities.csv")
    return list(csv.DictReader(io.StringIO(table.read_text(encoding="utf-8"))))


@pytest.mark.parametrize(
    ("postal_code", "city", "slug"),
    [
        ("56812", "Cochem", "vg-cochem"),
        ("56856", "Zell (Mosel)", "vg-zell"),
        ("56766", "Ulmen", "vg-ulmen"),
        ("56759", "Kaisersesch", "vg-kaisersesch"),
        ("56253", "Treis-Karden", "vg-cochem"),
        ("56859", "Bullay", "vg-zell"),
        ("56818", "Klotten", "vg-cochem"),
        ("56864", "Bad Bertrich", "vg-ulmen"),
    ],
)
def test_a_municipality_goes_to_its_association(postal_code: str, city: str, slug: str) -> None:
    assert responsible_authority(postal_code, city) == slug


@pytest.mark.parametrize(
    "city", ["Zell (Mosel)", "Zell", "zell", "ZELL/MOSEL", "Zell an der Mosel", " Zell  Mosel "]
)
def test_city_names_match_ignoring_case_spacing_and_the_mosel_qualifier(city: str) -> None:
    assert responsible_authority("56856", city) == "vg-zell"


def test_a_shared_postal_code_is_decided_by_the_municipality() -> None:
    # 56814 serves Moselle villages of the VG Cochem and Eifel villages of the VG Kaisersesch.
    assert responsible_authority("56814", "Ediger-Eller") == "vg-cochem"
    assert responsible_authority("56814", "Landkern") == "vg-kaisersesch"
    assert responsible_authority("56814", "illerich") == "vg-kaisersesch"


def test_a_shared_postal_code_with_an_unknown_municipality_goes_to_the_district() -> None:
    assert responsible_authority("56814", "Irgendwo") == DISTRICT_SLUG


def test_a_postal_code_of_one_association_decides_even_for_a_village_part() -> None:
    # "Cond" is part of the town of Cochem, not a municipality of its own.
    assert responsible_authority("56812", "Cochem-Cond") == "vg-cochem"
    assert responsible_authority(" 56812 ", "") == "vg-cochem"


@pytest.mark.parametrize(
    ("postal_code", "city"),
    [
        ("10115", "Berlin"),  # outside the district
        ("56068", "Koblenz"),  # a neighbour, still outside
        ("99999", "Cochem"),  # the city alone does not route
        ("5681", "Cochem"),
        ("568122", "Cochem"),
        ("", "Cochem"),
        ("\uff15\uff16\uff18\uff11\uff12", "Cochem"),  # full-width digits: not a postal code
        ("56812; DROP", "Cochem"),
    ],
)
def test_anything_else_goes_to_the_district(postal_code: str, city: str) -> None:
    assert responsible_authority(postal_code, city) == DISTRICT_SLUG


def test_every_demo_registry_resident_is_routed_to_their_own_association() -> None:
    # The shipped synthetic residents carry their association; demo companies at those
    # addresses must reach the same office.
    residents = load_packaged_residents()
    seats = {
        (resident.address.postal_code, resident.address.city, resident.municipality)
        for resident in residents
    }

    misrouted = {seat for seat in seats if responsible_authority(seat[0], seat[1]) != seat[2]}

    assert len(seats) >= 18
    assert misrouted == set()


def test_the_shipped_table_only_names_demo_authorities() -> None:
    known = {spec.slug for spec in DEMO_AUTHORITIES}
    rows = _shipped_rows()

    assert {row["authority_slug"] for row in rows} == ASSOCIATIONS
    assert known > ASSOCIATIONS
    assert all(re.fullmatch(r"[0-9]{5}", row["postal_code"]) for row in rows)
    assert all(row["postal_code"].startswith("56") for row in rows)


def test_the_shipped_table_has_no_contradicting_rows() -> None:
    seen: dict[tuple[str, str], str] = {}
    for row in _shipped_rows():
        key = (row["postal_code"], normalised_name(row["municipality"]))
        assert seen.setdefault(key, row["authority_slug"]) == row["authority_slug"], key


def test_the_table_is_read_once() -> None:
    routing._table.cache_clear()
    responsible_authority("56812", "Cochem")
    responsible_authority("56856", "Zell")

    assert routing._table.cache_info().misses == 1
