"""The SAML attributes of the federal citizen account's attribute profile, their values and
each value's own trust level (DESIGN.md: per-attribute provenance, released as akdb:TrustLevel).

Names are URIs (`urn:oid:…`, NameFormat uri) as the profile has them. A value's level comes
from where the datum came from, not from the session: a name from the registry is as good as
the registry match behind it even in a password session; what the person only typed stays
UNTERGEORDNET. Values are Unicode NFC (one spelling of "Müller", not two).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from servicekonto.federation.attributes import PersonData
from servicekonto.trust.levels import SECOND_FACTORS, AuthMethod, TrustLevel, identity_level

URI_FORMAT = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"


@dataclass(frozen=True)
class SamlAttribute:
    friendly_name: str
    oid: str
    # The consent page's word for it (a `claim.*` message id); None for what describes the
    # login rather than the person (level, method), which needs no consent.
    consent_label: str | None


ATTRIBUTES: tuple[SamlAttribute, ...] = (
    SamlAttribute("givenName", "urn:oid:2.5.4.42", "given_name"),
    SamlAttribute("surname", "urn:oid:2.5.4.4", "family_name"),
    SamlAttribute("mail", "urn:oid:0.9.2342.19200300.100.1.3", "email"),
    SamlAttribute("postalAddress", "urn:oid:2.5.4.16", "address"),
    SamlAttribute("postalCode", "urn:oid:2.5.4.17", "address"),
    SamlAttribute("localityName", "urn:oid:2.5.4.7", "address"),
    SamlAttribute("country", "urn:oid:1.2.40.0.10.2.1.1.225599", "address"),
    SamlAttribute("personalTitle", "urn:oid:0.9.2342.19200300.100.1.40", "title"),
    SamlAttribute("gender", "urn:oid:1.3.6.1.4.1.33592.1.3.5", "gender"),
    SamlAttribute("birthdate", "urn:oid:1.2.40.0.10.2.1.1.55", "birthdate"),
    SamlAttribute("placeOfBirth", "urn:oid:1.3.6.1.5.5.7.9.2", "place_of_birth"),
    SamlAttribute("birthName", "urn:oid:1.2.40.0.10.2.1.1.225566", "birth_family_name"),
    SamlAttribute("nationality", "urn:oid:1.2.40.0.10.2.1.1.225577", "nationality"),
    SamlAttribute("bPK2", "urn:oid:1.3.6.1.4.1.25484.494450.3", "pseudonym"),
    SamlAttribute("EID-CITIZEN-QAA-LEVEL", "urn:oid:1.2.40.0.10.2.1.1.261.94", None),
    SamlAttribute("AssertionProvedBy", "urn:oid:1.3.6.1.4.1.25484.494450.2", None),
    SamlAttribute("mailboxHandle", "urn:oid:2.5.4.18", "mailbox"),
    SamlAttribute("mfa", "urn:oid:1.3.6.1.4.1.25484.494450.7", None),
)
BY_OID = {attribute.oid: attribute for attribute in ATTRIBUTES}
# Attributes we hold no data for: never released, so a procedure that requires one is refused.
NOT_HELD = frozenset({"gender", "nationality"})
# ISO 3166-1 alpha-2: every address we hold is a German registered address.
COUNTRY = "DE"


class SamlPerson(PersonData, Protocol):
    """The person data both protocols release, and how the identity was proven."""

    identity_proofing: str


@dataclass(frozen=True)
class LoginFacts:
    """What the assertion says about the login, beside the person."""

    level: TrustLevel
    level_value: str  # the level in the vocabulary the procedure asked in
    methods: tuple[str, ...]
    pseudonym: str  # bPK2 for this provider
    mailbox: str  # the document safe's address for this person and provider


@dataclass(frozen=True)
class Released:
    attribute: SamlAttribute
    value: str
    trust: TrustLevel


def consent_labels(oids: list[str]) -> list[str]:
    """The distinct consent-page words for the requested attributes, in table order."""
    wanted = set(oids)
    labels = [a.consent_label for a in ATTRIBUTES if a.oid in wanted and a.consent_label]
    return list(dict.fromkeys(label for label in labels if label not in NOT_HELD))


def unavailable(oids: list[str]) -> list[str]:
    """Requested attributes we cannot deliver at all (unknown or not held)."""
    return [oid for oid in oids if oid not in BY_OID or BY_OID[oid].friendly_name in NOT_HELD]


def release(person: SamlPerson, login: LoginFacts, oids: list[str]) -> list[Released]:
    """The requested attributes that have a value for this person, in table order."""
    values = _values(person, login)
    wanted = set(oids)
    return [
        Released(
            attribute,
            unicodedata.normalize("NFC", values[attribute.friendly_name][0]),
            values[attribute.friendly_name][1],
        )
        for attribute in ATTRIBUTES
        if attribute.oid in wanted and values.get(attribute.friendly_name, ("", 0))[0]
    ]


def _values(person: SamlPerson, login: LoginFacts) -> dict[str, tuple[str, TrustLevel]]:
    proven = identity_level(person.identity_proofing)
    # An e-mail address confirmed by a link is more than typed, but proves no identity.
    mail_level = TrustLevel.LOW if person.email_verified else TrustLevel.BASIC
    values: dict[str, tuple[str, TrustLevel]] = {
        "givenName": (person.given_names, proven),
        "surname": (person.family_name, proven),
        "mail": (person.email, mail_level),
        "postalAddress": (f"{person.street} {person.house_number}".strip(), proven),
        "postalCode": (person.postal_code, proven),
        "localityName": (person.city, proven),
        "country": (COUNTRY, proven),
        "birthdate": (person.birth_date.isoformat(), proven),
        "placeOfBirth": (person.birth_place, proven),
        "birthName": (person.birth_name or person.family_name, proven),
        "bPK2": (login.pseudonym, login.level),
        "EID-CITIZEN-QAA-LEVEL": (login.level_value, login.level),
        "AssertionProvedBy": (_proved_by(login.methods), login.level),
        "mailboxHandle": (login.mailbox, login.level),
        "mfa": (_mfa(login.methods), login.level),
    }
    if person.academic_title:
        # The doctoral degree is typed by the person at registration; no source confirms it.
        values["personalTitle"] = (person.academic_title, TrustLevel.BASIC)
    return values


def _proved_by(methods: tuple[str, ...]) -> str:
    # The federal account's words: "eID" for the card, "Benutzername" for name and password.
    return "eID" if AuthMethod.EID.value in methods else "Benutzername"


def _mfa(methods: tuple[str, ...]) -> str:
    # The eID card is two factors in itself (possession of the card, knowledge of the PIN).
    performed = set(methods)
    two = AuthMethod.EID.value in performed or bool(performed & {m.value for m in SECOND_FACTORS})
    return "true" if two else "false"


def pseudonym(secret: bytes, entity_id: str, person_id: str) -> str:
    """bPK2: stable per provider *host*, so one procedure's several entityIDs (test, staging
    paths) see one person, while two procedures cannot link their users."""
    host = urlsplit(entity_id).hostname or entity_id
    digest = hmac.new(secret, f"bpk2\x00{host}\x00{person_id}".encode(), hashlib.sha256)
    return _b64(digest.digest())


def name_id(secret: bytes, entity_id: str, person_id: str) -> str:
    """The persistent NameID (SAML core §8.3.7): opaque, per entityID, stable."""
    digest = hmac.new(secret, f"nameid\x00{entity_id}\x00{person_id}".encode(), hashlib.sha256)
    return _b64(digest.digest())


def mailbox(name_id_value: str) -> str:
    """The document safe's address for this person at this provider: the provider's own NameID
    under our prefix, so it names no one to anybody else."""
    return f"sk-postfach:{name_id_value}"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
