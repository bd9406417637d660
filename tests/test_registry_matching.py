"""The registry match: a table of tricky pairs, then each normaliser on its own.

A false match binds the wrong person, so the table holds as many deliberate non-matches as
matches: every rule that forgives a spelling has a neighbour that must not be forgiven.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from servicekonto.registry.matching import (
    addresses_agree,
    birth_names_agree,
    city_key,
    fold,
    given_name_words,
    given_names_agree,
    house_number_key,
    is_match,
    is_subsequence,
    name_key,
    names_agree,
    postal_codes_agree,
    street_key,
    strip_academic_titles,
    words,
)
from servicekonto.registry.port import Address, RegistryQuery, ResidentRecord

ADDRESS = Address("Hauptstraße", "12a", "56856", "Zell (Mosel)")
RESIDENT = ResidentRecord(
    resident_id="R000100",
    academic_title="Dr.",
    given_names="Anna Maria Luise",
    family_name="Müller-Lüdenscheidt",
    birth_name=None,
    birth_date=date(1980, 5, 17),
    birth_place="Koblenz",
    address=ADDRESS,
    municipality="vg-zell",
)
ADDRESS_FIELDS = {"street", "house_number", "postal_code", "city"}


def _split(changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Flat test changes into (record fields, address fields)."""
    address = {key: value for key, value in changes.items() if key in ADDRESS_FIELDS}
    return {key: value for key, value in changes.items() if key not in ADDRESS_FIELDS}, address


def resident(**changes: Any) -> ResidentRecord:
    fields, address = _split(changes)
    return replace(RESIDENT, address=replace(ADDRESS, **address), **fields)


def query_for(record: ResidentRecord, **changes: Any) -> RegistryQuery:
    """What the person of `record` would type, with `changes` typed differently."""
    fields, address = _split(changes)
    typed = RegistryQuery(
        given_names=record.given_names,
        family_name=record.family_name,
        birth_name=None,
        birth_date=record.birth_date,
        address=record.address,
    )
    return replace(typed, address=replace(typed.address, **address), **fields)


R = dict[str, Any]
# (name, changes to the registered resident, what is typed differently, expected match)
TABLE: list[tuple[str, R, R, bool]] = [
    ("identical", {}, {}, True),
    # family names: case, umlaut transcription, hyphen or space
    ("family upper case", {}, {"family_name": "MÜLLER-LÜDENSCHEIDT"}, True),
    ("family ue for ü", {}, {"family_name": "Mueller-Luedenscheidt"}, True),
    ("family space for hyphen", {}, {"family_name": "Müller Lüdenscheidt"}, True),
    ("family spaced hyphen", {}, {"family_name": "müller - lüdenscheidt"}, True),
    ("family decomposed", {}, {"family_name": "Mu\u0308ller-Lu\u0308denscheidt"}, True),
    ("family u for ü", {}, {"family_name": "Muller-Ludenscheidt"}, False),
    ("family half a double name", {}, {"family_name": "Müller"}, False),
    ("family double name swapped", {}, {"family_name": "Lüdenscheidt-Müller"}, False),
    ("family empty", {}, {"family_name": " "}, False),
    # ß and other diacritics
    ("ss for ß", {"family_name": "Strauß"}, {"family_name": "Strauss"}, True),
    ("ß upper case", {"family_name": "Strauß"}, {"family_name": "STRAUSS"}, True),
    ("single s for ß", {"family_name": "Strauß"}, {"family_name": "Straus"}, False),
    ("accent dropped", {"given_names": "Hélène"}, {"given_names": "Helene"}, True),
    ("diaeresis on e dropped", {"given_names": "Zoë"}, {"given_names": "Zoe"}, True),
    ("dotless i", {"family_name": "Y\u0131lmaz"}, {"family_name": "Yilmaz"}, True),
    ("apostrophe kinds", {"family_name": "D'Angelo"}, {"family_name": "D\u2019Angelo"}, True),
    ("apostrophe left out", {"family_name": "D'Angelo"}, {"family_name": "DAngelo"}, True),
    # nobility particles stay part of the name, spacing and case do not count
    ("particle case", {"family_name": "von der Heydt"}, {"family_name": "Von Der Heydt"}, True),
    ("particle spacing", {"family_name": "von der Heydt"}, {"family_name": "vonder  Heydt"}, True),
    ("particle left out", {"family_name": "von der Heydt"}, {"family_name": "Heydt"}, False),
    ("particle shortened", {"family_name": "von der Heydt"}, {"family_name": "von Heydt"}, False),
    ("particle zu", {"family_name": "zu Falkenried"}, {"family_name": "Zu Falkenried"}, True),
    # academic titles typed into a name field are ignored
    ("title in given names", {}, {"given_names": "Dr. Anna"}, True),
    ("titles in given names", {}, {"given_names": "Prof. Dr. Anna Maria"}, True),
    ("faculty title", {}, {"given_names": "Dr. med. Anna"}, True),
    ("title in family name", {}, {"family_name": "Dr. Müller-Lüdenscheidt"}, True),
    ("title without a name", {}, {"given_names": "Dr."}, False),
    ("name starting with dr", {"given_names": "Drago"}, {"given_names": "Dr. Drago"}, True),
    ("dr not cut off a name", {"given_names": "Drago"}, {"given_names": "Ago"}, False),
    # given names: first agrees, order-preserving subset either way
    ("first given name only", {}, {"given_names": "Anna"}, True),
    ("first two given names", {}, {"given_names": "Anna Maria"}, True),
    ("middle name left out", {}, {"given_names": "Anna Luise"}, True),
    ("hyphenated given names", {}, {"given_names": "Anna-Maria"}, True),
    ("more typed than registered", {"given_names": "Anna"}, {"given_names": "Anna Maria"}, True),
    ("second given name only", {}, {"given_names": "Maria"}, False),
    ("given names swapped", {}, {"given_names": "Maria Anna"}, False),
    ("given names out of order", {}, {"given_names": "Anna Luise Maria"}, False),
    ("unknown middle name", {}, {"given_names": "Anna Sophie"}, False),
    ("given names empty", {}, {"given_names": ""}, False),
    # birth name: only if typed; against the family name when none is registered
    ("birth name typed", {"birth_name": "Schmitz"}, {"birth_name": "SCHMITZ"}, True),
    ("birth name not typed", {"birth_name": "Schmitz"}, {}, True),
    ("birth name blank", {"birth_name": "Schmitz"}, {"birth_name": "  "}, True),
    ("birth name wrong", {"birth_name": "Schmitz"}, {"birth_name": "Schmidt"}, False),
    (
        "birth name is family name",
        {"birth_name": "Schmitz"},
        {"birth_name": "Müller-Lüdenscheidt"},
        False,
    ),
    ("no birth name registered", {}, {"birth_name": "Mueller-Luedenscheidt"}, True),
    ("birth name not on record", {}, {"birth_name": "Schmitz"}, False),
    # birth date and postal code exactly
    ("birth date a day later", {}, {"birth_date": date(1980, 5, 18)}, False),
    (
        "birth date day and month swapped",
        {"birth_date": date(1980, 5, 7)},
        {"birth_date": date(1980, 7, 5)},
        False,
    ),
    ("postal code with spaces around", {}, {"postal_code": " 56856 "}, True),
    ("postal code neighbour", {}, {"postal_code": "56859"}, False),
    ("postal code short", {}, {"postal_code": "5685"}, False),
    ("postal code empty both", {"postal_code": ""}, {"postal_code": ""}, False),
    # streets: one Straße suffix in every spelling
    ("street abbreviated", {}, {"street": "Hauptstr. "}, True),
    ("street hyphen Straße", {}, {"street": "Haupt-Straße"}, True),
    ("street separate Strasse", {}, {"street": "Haupt Strasse"}, True),
    ("street upper case", {}, {"street": "HAUPTSTRASSE"}, True),
    ("street abbreviation without dot", {}, {"street": "hauptstr"}, True),
    ("street other kind", {}, {"street": "Hauptweg"}, False),
    ("street other name", {}, {"street": "Nebenstraße"}, False),
    ("street Sankt", {"street": "Sankt-Martin-Straße"}, {"street": "St.-Martin-Str."}, True),
    ("street words", {"street": "Am Weinberg"}, {"street": "am weinberg"}, True),
    ("street empty", {}, {"street": ""}, False),
    # house numbers: spaces and case do not count, a letter does
    ("house number spaced", {}, {"house_number": "12 a"}, True),
    ("house number upper case", {}, {"house_number": "12 A"}, True),
    ("house number without letter", {}, {"house_number": "12"}, False),
    ("house number other letter", {}, {"house_number": "12b"}, False),
    ("letter registered, not typed", {"house_number": "12"}, {"house_number": "12a"}, False),
    ("range spaced", {"house_number": "12-14"}, {"house_number": "12 - 14"}, True),
    ("range en dash", {"house_number": "12-14"}, {"house_number": "12\u201314"}, True),
    ("range first number only", {"house_number": "12-14"}, {"house_number": "12"}, False),
    # cities: the words in order
    ("city slash", {}, {"city": "Zell/Mosel"}, True),
    ("city space", {}, {"city": "Zell Mosel"}, True),
    ("city upper case", {}, {"city": "ZELL (MOSEL)"}, True),
    ("city without qualifier", {}, {"city": "Zell"}, False),
    ("city other qualifier", {}, {"city": "Zell (Hunsrück)"}, False),
    ("city St.", {"city": "Sankt Aldegund"}, {"city": "St. Aldegund"}, True),
    ("city umlaut", {"city": "Pünderich"}, {"city": "Puenderich"}, True),
]


@pytest.mark.parametrize(
    ("registered", "typed", "expected"),
    [
        pytest.param(registered, typed, expected, id=name)
        for name, registered, typed, expected in TABLE
    ],
)
def test_tricky_pairs(registered: R, typed: R, expected: bool) -> None:
    record = resident(**registered)
    assert is_match(query_for(record, **typed), record) is expected


def test_table_is_large_and_balanced() -> None:
    assert len(TABLE) >= 40
    assert sum(1 for *_, expected in TABLE if not expected) >= 25


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("MÜLLER", "mueller"),
        ("Straße", "strasse"),
        ("GROẞ", "gross"),
        ("Hélène", "helene"),
        ("Mu\u0308ller", "mueller"),
        ("Øster Łódź", "oster lodz"),
        ("Ægir", "aegir"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("folded", "stripped"),
    [
        ("dr. anna", "anna"),
        ("prof. dr. anna", "anna"),
        ("dr.-ing. hans", "hans"),
        ("dr. rer. nat. max", "max"),
        ("dr. h. c. mult. otto", "otto"),
        ("dr nat", "nat"),  # a qualifier needs its dot; "Nat" is a given name
        ("drago", "drago"),
        ("profittlich", "profittlich"),
        ("anna dr.", "anna dr."),  # only leading titles
    ],
)
def test_strip_academic_titles(folded: str, stripped: str) -> None:
    assert strip_academic_titles(folded) == stripped


def test_words_split_on_any_separator_and_join_apostrophes() -> None:
    assert words("anna-maria  luise/o'neill (x)") == ("anna", "maria", "luise", "oneill", "x")
    assert words(" - ") == ()


def test_name_key() -> None:
    assert name_key("Dr. von der Heydt") == name_key("Von-der-Heydt") == "vonderheydt"
    assert name_key("Müller-Lüdenscheidt") == "muellerluedenscheidt"


def test_given_name_words() -> None:
    assert given_name_words("Prof. Dr. Hans-Peter  Josef") == ("hans", "peter", "josef")


@pytest.mark.parametrize(
    ("short", "long", "expected"),
    [
        (("a",), ("a", "b"), True),
        (("a", "c"), ("a", "b", "c"), True),
        (("c", "a"), ("a", "b", "c"), False),
        ((), ("a",), True),
        (("a", "a"), ("a",), False),
    ],
)
def test_is_subsequence(short: tuple[str, ...], long: tuple[str, ...], expected: bool) -> None:
    assert is_subsequence(short, long) is expected


def test_given_names_agree() -> None:
    assert given_names_agree("Anna", "Anna Maria")
    assert given_names_agree("Anna Maria", "Anna Maria Luise")
    assert not given_names_agree("Maria", "Anna Maria")
    assert not given_names_agree("", "Anna")


def test_names_agree_never_on_empty() -> None:
    assert names_agree("Strauss", "Strauß")
    assert not names_agree("", "")
    assert not names_agree("Dr.", "Dr.")


def test_birth_names_agree() -> None:
    married = resident(birth_name="Schmitz")
    assert birth_names_agree(None, married)
    assert birth_names_agree("schmitz", married)
    assert not birth_names_agree("Müller-Lüdenscheidt", married)
    assert birth_names_agree("Müller Lüdenscheidt", RESIDENT)


@pytest.mark.parametrize(
    "street", ["Hauptstr. ", "Hauptstraße", "Haupt-Straße", "Haupt Strasse", "HAUPTSTR"]
)
def test_street_key(street: str) -> None:
    assert street_key(street) == "hauptstrasse"


def test_street_key_keeps_other_words() -> None:
    assert street_key("St.-Martin-Str.") == street_key("Sankt Martin Straße")
    assert street_key("Straßenbahnweg") == "strassenbahnweg"
    assert street_key("Am Weinberg") != street_key("Am Weinberg 2")


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("12a", "12a"),
        ("12 a", "12a"),
        ("12 A", "12a"),
        ("12 - 14", "12-14"),
        ("12\u201414", "12-14"),
    ],
)
def test_house_number_key(typed: str, key: str) -> None:
    assert house_number_key(typed) == key


@pytest.mark.parametrize("city", ["Zell (Mosel)", "Zell/Mosel", "Zell Mosel", "zell-MOSEL"])
def test_city_key(city: str) -> None:
    assert city_key(city) == "zell mosel"


def test_postal_codes_agree() -> None:
    assert postal_codes_agree("56856", "56856")
    assert postal_codes_agree(" 56856", "56856 ")
    assert not postal_codes_agree("56 856", "56856")
    assert not postal_codes_agree("5685", "5685")
    assert not postal_codes_agree("56859", "56856")


def test_addresses_agree_needs_every_part() -> None:
    assert addresses_agree(Address("Hauptstr.", "12 A", "56856", "Zell/Mosel"), ADDRESS)
    assert not addresses_agree(Address("Hauptstr.", "12 A", "56856", ""), ADDRESS)
    assert not addresses_agree(
        replace(ADDRESS, house_number=" "), replace(ADDRESS, house_number="")
    )


def test_twins_both_match_the_same_query() -> None:
    twin = replace(RESIDENT, resident_id="R000101")
    query = query_for(RESIDENT)
    assert is_match(query, RESIDENT)
    assert is_match(query, twin)


def test_academic_title_field_is_never_compared() -> None:
    assert is_match(query_for(RESIDENT), replace(RESIDENT, academic_title=None))
    assert is_match(query_for(RESIDENT), replace(RESIDENT, academic_title="Prof. Dr."))
