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
