"""The JSON a registry gateway speaks, and its conversion to and from the port's dataclasses.

The models are strict (no silent coercion of numbers into names) and refuse unknown fields, so a
gateway that changes its contract is noticed at once instead of half-understood. The same models
validate what the HTTP adapter receives and what the standalone mock service accepts.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from servicekonto.registry.port import (
    Address,
    LookupOutcome,
    LookupResult,
    RegistryQuery,
    ResidentRecord,
)

# Bounds from the registry_residents columns: longer values cannot be on record anyway.
TEXT_MAX_LENGTH = 200
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    """Accept exactly `YYYY-MM-DD` for a date.

    Strict mode refuses every string outside JSON parsing, and FastAPI validates request bodies
    from parsed Python objects; lax mode would also take Unix timestamps. This keeps one rule
    for both paths: a calendar date in ISO 8601 form or a `date` object, nothing else.
    """
    if not isinstance(value, str):
        return value
    if _ISO_DATE.fullmatch(value) is None:
        raise ValueError("expected a date as YYYY-MM-DD")
    return date.fromisoformat(value)


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Text = Annotated[str, Field(min_length=1, max_length=TEXT_MAX_LENGTH)]
OptionalText = Annotated[str | None, Field(default=None, max_length=TEXT_MAX_LENGTH)]
HouseNumber = Annotated[str, Field(min_length=1, max_length=20)]
PostalCode = Annotated[str, Field(min_length=1, max_length=10)]


class _WireModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class LookupRequest(_WireModel):
    """What a person typed about themself, with the address flattened."""

    given_names: Text
    family_name: Text
    birth_name: OptionalText
    birth_date: IsoDate
    street: Text
    house_number: HouseNumber
    postal_code: PostalCode
    city: Text


class ResidentOut(_WireModel):
    """One resident as the registry holds them, with the address flattened."""

    resident_id: Annotated[str, Field(min_length=1, max_length=20)]
    academic_title: OptionalText
    given_names: Text
    family_name: Text
    birth_name: OptionalText
    birth_date: IsoDate
    birth_place: Text
    street: Text
    house_number: HouseNumber
    postal_code: PostalCode
    city: Text
    municipality: Annotated[str, Field(min_length=1, max_length=64)]


OutcomeName = Literal["match", "no_match", "ambiguous"]
_OUTCOME_NAMES: dict[LookupOutcome, OutcomeName] = {
    LookupOutcome.MATCH: "match",
    LookupOutcome.NO_MATCH: "no_match",
    LookupOutcome.AMBIGUOUS: "ambiguous",
}


class LookupResponse(_WireModel):
    """The answer to a lookup: the resident only for a match, never for an ambiguous one."""

    outcome: OutcomeName
    resident: ResidentOut | None = Field(
        default=None, description="Present for `match` only; absent otherwise."
    )

    @model_validator(mode="after")
    def _resident_only_for_a_match(self) -> Self:
        # An ambiguous answer that named someone would disclose registry contents.
        if (self.outcome == "match") != (self.resident is not None):
            raise ValueError("resident is required for a match and forbidden otherwise")
        return self


def request_from_query(query: RegistryQuery) -> LookupRequest:
    address = query.address
    return LookupRequest(
        given_names=query.given_names,
        family_name=query.family_name,
        birth_name=query.birth_name,
        birth_date=query.birth_date,
        street=address.street,
        house_number=address.house_number,
        postal_code=address.postal_code,
        city=address.city,
    )


def query_from_request(request: LookupRequest) -> RegistryQuery:
    return RegistryQuery(
        given_names=request.given_names,
        family_name=request.family_name,
        birth_name=request.birth_name,
        birth_date=request.birth_date,
        address=Address(request.street, request.house_number, request.postal_code, request.city),
    )


def resident_to_wire(record: ResidentRecord) -> ResidentOut:
    address = record.address
    return ResidentOut(
        resident_id=record.resident_id,
        academic_title=record.academic_title,
        given_names=record.given_names,
        family_name=record.family_name,
        birth_name=record.birth_name,
        birth_date=record.birth_date,
        birth_place=record.birth_place,
        street=address.street,
        house_number=address.house_number,
        postal_code=address.postal_code,
        city=address.city,
        municipality=record.municipality,
    )


def resident_from_wire(resident: ResidentOut) -> ResidentRecord:
    return ResidentRecord(
        resident_id=resident.resident_id,
        academic_title=resident.academic_title,
        given_names=resident.given_names,
        family_name=resident.family_name,
        birth_name=resident.birth_name,
        birth_date=resident.birth_date,
        birth_place=resident.birth_place,
        address=Address(
            resident.street, resident.house_number, resident.postal_code, resident.city
        ),
        municipality=resident.municipality,
    )


def response_from_result(result: LookupResult) -> LookupResponse:
    resident = None if result.resident is None else resident_to_wire(result.resident)
    return LookupResponse(outcome=_OUTCOME_NAMES[result.outcome], resident=resident)


def result_from_response(response: LookupResponse) -> LookupResult:
    resident = None if response.resident is None else resident_from_wire(response.resident)
    return LookupResult(LookupOutcome(response.outcome), resident)
