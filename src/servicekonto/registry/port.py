"""What the service asks the population registry, and what it can hear back.

The port knows nothing of HTTP or databases: an in-process mock over a data set and an HTTP
adapter for a registry gateway both implement it, and settings choose one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from servicekonto.errors import ServicekontoError


@dataclass(frozen=True)
class Address:
    street: str
    house_number: str
    postal_code: str
    city: str


@dataclass(frozen=True)
class ResidentRecord:
    """One resident as the registry holds them."""

    resident_id: str
    academic_title: str | None
    given_names: str
    family_name: str
    birth_name: str | None
    birth_date: date
    birth_place: str
    address: Address
    municipality: str


@dataclass(frozen=True)
class RegistryQuery:
    """What a person typed about themself."""

    given_names: str
    family_name: str
    birth_name: str | None
    birth_date: date
    address: Address


class LookupOutcome(StrEnum):
    MATCH = "match"
    NO_MATCH = "no_match"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class LookupResult:
    outcome: LookupOutcome
    # Only for a match: the one resident; an ambiguous answer names no one.
    resident: ResidentRecord | None = None


class RegistryUnavailableError(ServicekontoError):
    """The registry did not answer usefully (down, timeout, 5xx, malformed answer)."""


class RegistryPort(Protocol):
    def lookup(self, query: RegistryQuery) -> LookupResult:
        """Match a query; raises RegistryUnavailableError when the registry cannot answer."""
        ...

    def resident(self, resident_id: str) -> ResidentRecord | None:
        """The resident as registered now (their current address), or None if gone."""
        ...
