"""The design's trust-level table, every combination: identity proofing by session methods."""

from __future__ import annotations

from itertools import combinations

import pytest

from servicekonto.trust.levels import (
    AuthMethod,
    IdentityProofing,
    TrustLevel,
    authentication_level,
    identity_level,
    session_level,
)
from servicekonto.trust.vocabularies import Vocabulary, acr_value, parse_acr

METHODS = list(AuthMethod)
EVERY_METHOD_SET = [set(c) for n in range(len(METHODS) + 1) for c in combinations(METHODS, n)]
SECOND = {AuthMethod.TOTP, AuthMethod.RECOVERY_CODE, AuthMethod.PASSKEY}


def expected_authentication(methods: set[AuthMethod]) -> TrustLevel:
    """The design's right-hand column, written out independently of the implementation."""
    if AuthMethod.EID in methods:
        return TrustLevel.HIGH
    if AuthMethod.PASSWORD not in methods:
        return TrustLevel.BASIC  # a second factor alone authenticates nobody
    return TrustLevel.SUBSTANTIAL if methods & SECOND else TrustLevel.LOW


EXPECTED_IDENTITY = {
    IdentityProofing.SELF_DECLARED: TrustLevel.BASIC,
    IdentityProofing.REGISTRY_LETTER: TrustLevel.SUBSTANTIAL,
    IdentityProofing.EID: TrustLevel.HIGH,
    IdentityProofing.IN_PERSON: TrustLevel.HIGH,
}


@pytest.mark.parametrize("proofing", list(IdentityProofing))
@pytest.mark.parametrize("methods", EVERY_METHOD_SET, ids=lambda m: "+".join(sorted(m)) or "none")
def test_every_combination_earns_the_lower_of_the_two_axes(
    proofing: IdentityProofing, methods: set[AuthMethod]
) -> None:
    expected = min(EXPECTED_IDENTITY[proofing], expected_authentication(methods))
    assert session_level(proofing, methods) == expected
    assert authentication_level(methods) == expected_authentication(methods)
    assert identity_level(proofing) == EXPECTED_IDENTITY[proofing]


@pytest.mark.parametrize(
    ("proofing", "methods", "level"),
    [
        # The design's table, row by row.
        ("self_declared", {"pwd"}, 1),
        ("registry_letter", {"pwd"}, 2),
        ("registry_letter", {"pwd", "otp"}, 3),
        ("registry_letter", {"pwd", "hwk"}, 3),
        ("eid", {"eid"}, 4),
        ("in_person", {"eid"}, 4),
        # Never more than earned: a strong login does not lift a weak identity, nor the reverse.
        ("self_declared", {"eid"}, 1),
        ("self_declared", {"pwd", "otp"}, 1),
        ("registry_letter", {"eid"}, 3),
        ("in_person", {"pwd"}, 2),
        ("in_person", {"pwd", "otp"}, 3),
        ("eid", {"pwd", "otp"}, 3),
    ],
)
def test_the_rows_of_the_design(proofing: str, methods: set[str], level: int) -> None:
    assert int(session_level(proofing, methods)) == level


@pytest.mark.parametrize("level", list(TrustLevel))
@pytest.mark.parametrize("vocabulary", list(Vocabulary))
def test_each_level_reads_back_from_its_acr_in_every_vocabulary(
    level: TrustLevel, vocabulary: Vocabulary
) -> None:
    value = acr_value(level, vocabulary)
    if value is None:
        assert level == TrustLevel.BASIC, "only level 1 lacks an eIDAS name"
        return
    parsed = parse_acr(value)
    assert parsed is not None
    assert parsed.level == level


def test_unknown_methods_and_proofings_are_errors_not_level_one() -> None:
    with pytest.raises(ValueError, match="sms"):
        session_level("self_declared", {"sms"})
    with pytest.raises(ValueError, match="astrology"):
        identity_level("astrology")
