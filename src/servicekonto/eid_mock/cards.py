"""The test cards of the mock eID-Server: invented people, some of them demo registry residents.

Every card has the PIN `TEST_PIN`. Holders marked with a resident id are copied exactly from the
packaged demo registry (`registry/data/residents.csv`), so identifying with their card can be
matched against the registry; a test keeps the two in step.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

from servicekonto.eid.port import EidAddress, EidAttributes

TEST_PIN = "123456"  # eID PINs have six digits (the five-digit one is the transport PIN)
PIN_ATTEMPTS = 3  # after the third wrong PIN the card is blocked until the PUK is entered
_VALID_UNTIL = date(2034, 12, 31)


@dataclass(frozen=True)
class Holder:
    given_names: str
    family_name: str
    birth_name: str | None
    birth_date: date
    birth_place: str
    address: EidAddress


@dataclass(frozen=True)
class TestCard:
    """One card. `serial` is its secret: the chip's restricted-identification key stands in."""

    __test__ = False  # not a pytest test class, despite the name

    card_id: str
    holder: Holder
    document_type: str
    serial: str
    note: str  # what is special, in German, as the stand-in page shows it
    pin: str = TEST_PIN
    valid_until: date = _VALID_UNTIL
    revoked: bool = False
    pin_blocked: bool = False
    registry_resident_id: str | None = None

    def is_expired(self, today: date) -> bool:
        return today > self.valid_until

    def attributes(self, sector: str) -> EidAttributes:
        holder = self.holder
        return EidAttributes(
            given_names=holder.given_names,
            family_name=holder.family_name,
            birth_name=holder.birth_name,
            birth_date=holder.birth_date,
            birth_place=holder.birth_place,
            address=holder.address,
            document_type=self.document_type,
            pseudonym=pseudonym(self.serial, sector),
        )


def pseudonym(serial: str, sector: str) -> str:
    """Restricted identification (TR-03110 part 2, RI), simulated: one value per card and
    sector, and no way to get from one sector's value to another's without the card's secret."""
    return hmac.new(serial.encode(), sector.encode(), hashlib.sha256).hexdigest()


def _address(street: str, house_number: str, postal_code: str, city: str) -> EidAddress:
    return EidAddress(street, house_number, postal_code, city, country="D")


TEST_CARDS: tuple[TestCard, ...] = (
    TestCard(
        card_id="erika",
        # DEMO_CITIZEN of servicekonto.demo, copied (a layer above ours); a test keeps it equal.
        holder=Holder(
            "Erika",
            "Mustermann",
            "Gabler",
            date(1964, 8, 12),
            "Berlin",
            _address("Musterstraße", "1", "56812", "Cochem"),
        ),
        document_type="ID",
        serial="T22000129-erika",
        note="Demo-Bürgerin (Konto der Demo-Daten)",
    ),
    TestCard(
        card_id="lena",
        holder=Holder(
            "Lena",
            "Becker",
            None,
            date(1988, 4, 12),
            "Koblenz",
            _address("Moselstraße", "14", "56812", "Cochem"),
        ),
        document_type="ID",
        serial="T22000131-lena",
        note="im Melderegister (Cochem)",
        registry_resident_id="R000001",
    ),
    TestCard(
        card_id="jonas",
        holder=Holder(
            "Jonas",
            "Hoffmann",
            None,
            date(1975, 9, 30),
            "Trier",
            _address("Bahnhofstraße", "7", "56859", "Bullay"),
        ),
        document_type="ID",
        serial="T22000133-jonas",
        note="im Melderegister (Bullay)",
        registry_resident_id="R000002",
    ),
    TestCard(
        card_id="tobias",
        holder=Holder(
            "Tobias Finn",
            "Rübsamen",
            "Schneider",
            date(1974, 12, 27),
            "Koblenz",
            _address("Moselstraße", "7", "56253", "Treis-Karden"),
        ),
        document_type="ID",
        serial="T22000135-tobias",
        note="im Melderegister, mit Geburtsname",
        registry_resident_id="R000007",
    ),
    TestCard(
        card_id="oleksandr",
        holder=Holder(
            "Oleksandr",
            "Schewtschenko",
            "Bondarenko",
            date(1985, 5, 1),
            "Charkiw",
            _address("Kirchgasse", "19", "56818", "Klotten"),
        ),
        document_type="AR",
        serial="T22000137-oleksandr",
        note="elektronischer Aufenthaltstitel, im Melderegister",
        registry_resident_id="R000012",
    ),
    TestCard(
        card_id="kai",
        holder=Holder(
            "Kai",
            "Nowak",
            None,
            date(1995, 2, 14),
            "Hamburg",
            _address("Elbchaussee", "5", "22763", "Hamburg"),
        ),
        document_type="ID",
        serial="T22000139-kai",
        note="nicht im Melderegister des Kreises (wohnt in Hamburg)",
    ),
    TestCard(
        card_id="sophie",
        holder=Holder(
            "Sophie",
            "Wagner",
            None,
            date(1992, 1, 23),
            "Mayen",
            _address("Schulstraße", "8", "56766", "Ulmen"),
        ),
        document_type="ID",
        serial="T22000141-sophie",
        note="abgelaufen",
        valid_until=date(2024, 1, 22),
        registry_resident_id="R000003",
    ),
    TestCard(
        card_id="markus",
        holder=Holder(
            "Markus",
            "Klein",
            None,
            date(1969, 11, 5),
            "Andernach",
            _address("Kirchgasse", "2", "56759", "Kaisersesch"),
        ),
        document_type="ID",
        serial="T22000143-markus",
        note="gesperrt (als gestohlen gemeldet)",
        revoked=True,
        registry_resident_id="R000004",
    ),
    TestCard(
        card_id="julia",
        holder=Holder(
            "Julia",
            "Schneider",
            None,
            date(2001, 6, 17),
            "Koblenz",
            _address("Am Weinberg", "21", "56253", "Treis-Karden"),
        ),
        document_type="ID",
        serial="T22000145-julia",
        note="PIN gesperrt (dreimal falsch eingegeben)",
        pin_blocked=True,
        registry_resident_id="R000005",
    ),
)
