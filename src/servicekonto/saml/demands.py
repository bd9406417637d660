"""What a verified AuthnRequest needs of the session (SAML core §3.3.2.2.1, RequestedAuthnContext)
and how the answer names the level reached.

Class references are accepted in any of the four vocabularies; the answer uses the vocabulary of
the request. `minimum` asks for at least the lowest listed level; `exact` for one of the listed
levels (we answer with the highest listed one the session reaches); `better` for more than the
highest listed; `maximum` for no more than the highest listed (we never overstate the session).
"""

from __future__ import annotations

from dataclasses import dataclass

from servicekonto.saml.akdb import METHOD_EID, METHOD_PASSWORD, AkdbError
from servicekonto.trust.levels import TrustLevel
from servicekonto.trust.vocabularies import DEFAULT_VOCABULARY, Vocabulary, acr_value, parse_acr

COMPARISONS = frozenset({"exact", "minimum", "better", "maximum"})


@dataclass(frozen=True)
class LevelDemand:
    required: TrustLevel
    comparison: str
    listed: tuple[int, ...]
    vocabulary: Vocabulary


def level_demand(
    class_refs: tuple[str, ...], comparison: str, minimum: int, methods: frozenset[str]
) -> LevelDemand:
    if comparison not in COMPARISONS:
        raise AkdbError("authn-context-unsupported")
    parsed = [found for found in (parse_acr(ref) for ref in class_refs) if found is not None]
    if class_refs and not parsed:
        raise AkdbError("authn-context-unsupported")
    listed = tuple(sorted({int(found.level) for found in parsed}))
    vocabulary = _vocabulary(parsed[0].vocabulary) if parsed else DEFAULT_VOCABULARY
    required = max(_required(listed, comparison), minimum)
    if methods == {METHOD_EID}:
        # Only the card may be used: only a login with the card counts.
        required = int(TrustLevel.HIGH)
    if required > TrustLevel.HIGH or (required == TrustLevel.HIGH and METHOD_EID not in methods):
        raise AkdbError("authn-context-unsupported")
    if comparison == "maximum" and listed and max(listed) < minimum:
        raise AkdbError("authn-context-unsupported")
    if METHOD_PASSWORD not in methods and METHOD_EID not in methods:
        raise AkdbError("authn-methods-unsupported")
    return LevelDemand(TrustLevel(required), comparison, listed, vocabulary)


def reported_level(demand: LevelDemand, session_level: TrustLevel) -> TrustLevel:
    """The level the assertion states: never more than the session reached."""
    if demand.comparison == "exact" and demand.listed:
        reached = [level for level in demand.listed if level <= session_level]
        return TrustLevel(max(reached)) if reached else session_level
    if demand.comparison == "maximum" and demand.listed:
        return TrustLevel(min(int(session_level), max(demand.listed)))
    return session_level


def class_ref(level: TrustLevel, vocabulary: Vocabulary) -> str:
    # eIDAS has no word for level 1; STORK has one for every level.
    return acr_value(level, vocabulary) or acr_value(level, Vocabulary.STORK) or ""


def _required(listed: tuple[int, ...], comparison: str) -> int:
    if not listed:
        return int(TrustLevel.BASIC)
    if comparison == "better":
        return max(listed) + 1
    if comparison == "maximum":
        return int(TrustLevel.BASIC)
    return min(listed)


def _vocabulary(vocabulary: Vocabulary) -> Vocabulary:
    # The per-attribute words are not an AuthnContextClassRef vocabulary; answer in STORK then.
    return DEFAULT_VOCABULARY if vocabulary == Vocabulary.AKDB else vocabulary
