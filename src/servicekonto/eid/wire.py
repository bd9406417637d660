"""The JSON profile of BSI TR-03130 spoken between the HTTP adapter and an eID-Server.

TR-03130 part 1 defines the eID-Server's interface as SOAP (`useID`, `getResult`). We speak the
same two steps as JSON, with snake_case names for the TR's elements (`GivenNames` →
`given_names`, `PlaceOfResidence` → `place_of_residence`, `RestrictedID` → `restricted_id` …).
Both sides use these models: the mock eID-Server to answer, the adapter to check the answers.
Answers are parsed strictly: a value of the wrong type is a broken server, not data to coerce.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from servicekonto.eid.port import EidAddress, EidAttributes, EidFailure


class Attribute(StrEnum):
    """The data a session may ask for (TR-03130 part 1, `UseOperations`)."""

    GIVEN_NAMES = "given_names"
    FAMILY_NAMES = "family_names"
    BIRTH_NAME = "birth_name"
    DATE_OF_BIRTH = "date_of_birth"
    PLACE_OF_BIRTH = "place_of_birth"
    PLACE_OF_RESIDENCE = "place_of_residence"
    DOCUMENT_TYPE = "document_type"
    RESTRICTED_ID = "restricted_id"


def _absolute_http_url(value: str) -> str:
    # A browser is sent there: a relative or javascript: URL would be an open door.
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    return value


HttpUrl = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_absolute_http_url)]
_Value = TypeVar("_Value")
Text = Annotated[str, Field(min_length=1, max_length=200)]
# The same set of values the session-problem answers may carry; the last two are ours alone.
ReportedFailure = Literal[
    EidFailure.CANCELLED,
    EidFailure.CARD_EXPIRED,
    EidFailure.CARD_REVOKED,
    EidFailure.PIN_BLOCKED,
    EidFailure.UNKNOWN_SESSION,
    EidFailure.RESULT_REPLAYED,
    EidFailure.RESULT_EXPIRED,
    EidFailure.SESSION_MISMATCH,
]


class StartRequest(BaseModel):
    """`useID`: open a session for these attributes on behalf of one sector."""

    model_config = ConfigDict(extra="forbid")

    return_url: HttpUrl = Field(description="Refresh address the browser is sent back to.")
    sector: Text = Field(description="The service provider's sector (restricted identification).")
    attributes: list[Attribute] = Field(
        default_factory=lambda: list(Attribute), min_length=1, description="Data to read."
    )


class StartResponse(BaseModel):
    """The session and the eID client's address for it (TR-03130 `useIDResponse`)."""

    model_config = ConfigDict(strict=True)

    session_id: Text
    client_url: HttpUrl


class PlaceOut(BaseModel):
    """TR-03130 `StructuredPlace`; the house number is split off the street."""

    model_config = ConfigDict(strict=True)

    street: Text
    house_number: Annotated[str, Field(min_length=1, max_length=20)]
    zip_code: Annotated[str, Field(min_length=1, max_length=10)]
    city: Text
    country: Annotated[str, Field(pattern=r"^[A-Z]{1,3}$")]


class ResultOut(BaseModel):
    """`getResultResponse`: the attributes asked for; an absent one was not asked for or, for
    the birth name, is not on the card."""

    model_config = ConfigDict(strict=True)

    session_id: Text
    given_names: Text | None = None
    family_names: Text | None = None
    birth_name: Text | None = None
    date_of_birth: date | None = None
    place_of_birth: Text | None = None
    place_of_residence: PlaceOut | None = None
    document_type: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    restricted_id: Annotated[str, Field(pattern=r"^(?:[0-9a-f]{2}){16,64}$")] | None = None


class FailureOut(BaseModel):
    """Why a session gave no attributes (TR-03130 `ResultMajor#error` with its minor code)."""

    model_config = ConfigDict(strict=True)

    failure: ReportedFailure
    detail: str = ""


class IncompleteResultError(ValueError):
    """A result lacks attributes we asked for; names the missing ones, never a value."""


def attributes_to_wire(
    session_id: str, attributes: EidAttributes, requested: Collection[Attribute]
) -> ResultOut:
    address = attributes.address
    place = PlaceOut(
        street=address.street,
        house_number=address.house_number,
        zip_code=address.postal_code,
        city=address.city,
        country=address.country,
    )
    values: dict[Attribute, object] = {
        Attribute.GIVEN_NAMES: attributes.given_names,
        Attribute.FAMILY_NAMES: attributes.family_name,
        Attribute.BIRTH_NAME: attributes.birth_name,
        Attribute.DATE_OF_BIRTH: attributes.birth_date,
        Attribute.PLACE_OF_BIRTH: attributes.birth_place,
        Attribute.PLACE_OF_RESIDENCE: place,
        Attribute.DOCUMENT_TYPE: attributes.document_type,
        Attribute.RESTRICTED_ID: attributes.pseudonym,
    }
    chosen = {name.value: value for name, value in values.items() if name in requested}
    return ResultOut.model_validate({"session_id": session_id, **chosen})


def attributes_from_wire(result: ResultOut) -> EidAttributes:
    """Our attributes from a result; raises IncompleteResultError when one we need is absent."""
    place = _present(result.place_of_residence, Attribute.PLACE_OF_RESIDENCE)
    return EidAttributes(
        given_names=_present(result.given_names, Attribute.GIVEN_NAMES),
        family_name=_present(result.family_names, Attribute.FAMILY_NAMES),
        birth_name=result.birth_name,
        birth_date=_present(result.date_of_birth, Attribute.DATE_OF_BIRTH),
        birth_place=_present(result.place_of_birth, Attribute.PLACE_OF_BIRTH),
        address=EidAddress(
            street=place.street,
            house_number=place.house_number,
            postal_code=place.zip_code,
            city=place.city,
            country=place.country,
        ),
        document_type=_present(result.document_type, Attribute.DOCUMENT_TYPE),
        pseudonym=_present(result.restricted_id, Attribute.RESTRICTED_ID),
    )


def _present(value: _Value | None, attribute: Attribute) -> _Value:
    if value is None:
        raise IncompleteResultError(f"missing {attribute.value}")
    return value
