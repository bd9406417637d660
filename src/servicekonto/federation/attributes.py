"""The one table from our person data to released claims (OIDC now; SAML maps the same names).

Data minimisation: each scope releases only its claims; `birth` is separate from `profile` so a
procedure that needs the name need not learn the date of birth.
"""

from __future__ import annotations

from typing import Any, Protocol

CLAIMS_BY_SCOPE: dict[str, tuple[str, ...]] = {
    "profile": ("name", "given_name", "family_name", "title"),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "birth": ("birthdate", "birth_family_name", "place_of_birth"),
    "organisation": ("organisation",),
}


class PersonData(Protocol):
    email: str
    academic_title: str | None
    given_names: str
    family_name: str
    birth_name: str | None
    birth_place: str
    street: str
    house_number: str
    postal_code: str
    city: str

    @property
    def email_verified(self) -> bool: ...

    @property
    def birth_date(self) -> Any: ...


def claims_for(person: PersonData, scopes: set[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    if "profile" in scopes:
        claims.update(
            name=f"{person.given_names} {person.family_name}",
            given_name=person.given_names,
            family_name=person.family_name,
        )
        if person.academic_title:
            claims["title"] = person.academic_title
    if "email" in scopes:
        claims.update(email=person.email, email_verified=person.email_verified)
    if "address" in scopes:
        claims["address"] = {
            "street_address": f"{person.street} {person.house_number}",
            "postal_code": person.postal_code,
            "locality": person.city,
            "country": "DE",
        }
    if "birth" in scopes:
        claims.update(
            birthdate=person.birth_date.isoformat(),
            birth_family_name=person.birth_name or person.family_name,
            place_of_birth={"locality": person.birth_place},
        )
    return claims


def claim_names(scopes: set[str]) -> list[str]:
    return [claim for scope in sorted(scopes) for claim in CLAIMS_BY_SCOPE.get(scope, ())]


# OpenID Connect for Identity Assurance 1.0: how each identity proofing is described.
_EVIDENCE: dict[str, dict[str, Any]] = {
    "registry_letter": {
        "type": "electronic_record",
        "record": {"type": "population_register", "source": {"name": "Melderegister"}},
    },
    "eid": {"type": "electronic_record", "record": {"type": "eid_card"}},
    "in_person": {"type": "document", "method": "pipp"},
}
_ASSURANCE = {"registry_letter": "substantial", "eid": "high", "in_person": "high"}
VERIFIABLE_CLAIMS = (
    "given_name",
    "family_name",
    "birthdate",
    "birth_family_name",
    "place_of_birth",
    "address",
)


class VerifiedPerson(PersonData, Protocol):
    identity_proofing: str

    @property
    def identity_verified_at(self) -> Any: ...


def verified_claims_for(
    person: VerifiedPerson, request: dict[str, Any], scopes: set[str]
) -> dict[str, Any] | None:
    """`verified_claims` for what the procedure asked, if the identity was proven at all.

    Self-declared data are never released as verified; claims that were not asked for are not
    released either (data minimisation), nor claims outside the scopes the person consented to:
    the claims parameter refines a release, it never widens it.
    """
    evidence = _EVIDENCE.get(person.identity_proofing)
    asked = request.get("verified_claims")
    if evidence is None or not isinstance(asked, dict) or person.identity_verified_at is None:
        return None
    requested = asked.get("claims")
    wanted: dict[str, Any] = requested if isinstance(requested, dict) else {}
    available = claims_for(person, scopes & {"profile", "address", "birth"})
    claims = {
        name: available[name] for name in VERIFIABLE_CLAIMS if name in wanted and name in available
    }
    if not claims:
        return None  # IDA 1.0 §5: `claims` must hold at least one verified claim
    return {
        "verification": {
            "trust_framework": "eidas",
            "assurance_level": _ASSURANCE[person.identity_proofing],
            "time": person.identity_verified_at.isoformat(),
            "evidence": [{**evidence, "time": person.identity_verified_at.isoformat()}],
        },
        "claims": claims,
    }
