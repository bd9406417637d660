"""What the service asks an eID-Server, and what it can hear back.

The online ID function of the German ID card (BSI TR-03127, protocols of TR-03110) is run by an
eID-Server on our behalf (BSI TR-03130): we open a session naming the data we want, send the
person's browser to their eID client, and fetch the result once the browser comes back. The port
knows nothing of HTTP: the HTTP adapter speaks to an eID-Server, tests may stand in for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from servicekonto.errors import ServicekontoError


@dataclass(frozen=True)
class EidAddress:
    """PlaceOfResidence as read from the card (TR-03130 StructuredPlace)."""

    street: str
    house_number: str
    postal_code: str
    city: str
    country: str  # as on the card: "D" for Germany


@dataclass(frozen=True)
class EidAttributes:
    """The data read from one card, for one sector."""

    given_names: str
    family_name: str
    birth_name: str | None  # only on the card when it differs from the family name
    birth_date: date
    birth_place: str
    address: EidAddress
    # "ID" Personalausweis, "UB" eID card for EU citizens, "AR"/"AS"/"AF" residence permits
    document_type: str
    # Restricted identification (TR-03110 part 2, RI): stable per card and sector, hex. Another
    # sector sees another value, so two services cannot link a person by it.
    pseudonym: str


@dataclass(frozen=True)
class EidSession:
    session_id: (
        str  # the eID-Server's session id: kept in our server-side state, never trusted back
    )
    client_url: str  # where to send the person's browser (their eID client)


class EidFailure(StrEnum):
    CANCELLED = "cancelled"  # the person stopped in the eID client
    CARD_EXPIRED = "card_expired"
    CARD_REVOKED = "card_revoked"  # on the revocation list (lost or stolen)
    PIN_BLOCKED = "pin_blocked"
    UNKNOWN_SESSION = "unknown_session"
    RESULT_REPLAYED = "result_replayed"
    RESULT_EXPIRED = "result_expired"
    SESSION_MISMATCH = "session_mismatch"  # the result belongs to another person's session
    SERVER_UNAVAILABLE = "server_unavailable"
    BAD_ANSWER = "bad_answer"


class EidError(ServicekontoError):
    """The eID process did not identify the person; the message never carries personal data."""

    def __init__(self, failure: EidFailure, message: str) -> None:
        self.failure = failure
        super().__init__(message)


class EidPort(Protocol):
    def start(self, return_url: str) -> EidSession:
        """Open a session for the fixed set of attributes; `return_url` is the refresh address.

        Raises EidError (SERVER_UNAVAILABLE, BAD_ANSWER) when the eID-Server cannot start one.
        """
        ...

    def result(self, session_id: str, result_ref: str) -> EidAttributes:
        """The data of the session we started, fetched once with the browser's `result_ref`.

        Raises EidError with the failure the eID-Server reported, or SERVER_UNAVAILABLE /
        BAD_ANSWER when it did not answer usefully.
        """
        ...
