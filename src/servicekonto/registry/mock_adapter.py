"""The in-process mock registry: the residents loaded into our own database.

It answers like a registry gateway would: exactly one matching resident is a match, several are
ambiguous (and named to no one), none is no match.
"""

from __future__ import annotations

from servicekonto.registry.matching import is_match
from servicekonto.registry.port import LookupOutcome, LookupResult, RegistryQuery, ResidentRecord
from servicekonto.registry.repository import ResidentRepository
from servicekonto.store.engine import Database


class MockRegistry:
    def __init__(self, database: Database) -> None:
        self._database = database

    def lookup(self, query: RegistryQuery) -> LookupResult:
        with self._database.session() as session:
            candidates = ResidentRepository(session).born_on(query.birth_date)
        return decide(query, candidates)

    def resident(self, resident_id: str) -> ResidentRecord | None:
        with self._database.session() as session:
            return ResidentRepository(session).by_id(resident_id)


def decide(query: RegistryQuery, candidates: list[ResidentRecord]) -> LookupResult:
    """The registry's answer from the residents that could be meant."""
    matches = [resident for resident in candidates if is_match(query, resident)]
    if not matches:
        return LookupResult(LookupOutcome.NO_MATCH)
    if len(matches) > 1:
        return LookupResult(LookupOutcome.AMBIGUOUS)
    return LookupResult(LookupOutcome.MATCH, matches[0])
