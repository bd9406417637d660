"""The four trust levels and how a session earns one (DESIGN.md, "Trust levels").

A session's level is the lower of two axes: how the person's identity was proven, and how the
person authenticated in this session. Nothing here reads a database or a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum, StrEnum


class TrustLevel(IntEnum):
    BASIC = 1  # Basisregistrierung: self-declared
    LOW = 2  # niedrig
    SUBSTANTIAL = 3  # substantiell
    HIGH = 4  # hoch


class IdentityProofing(StrEnum):
    """How the person's identity was established."""

    SELF_DECLARED = "self_declared"
    REGISTRY_LETTER = "registry_letter"
    EID = "eid"
    IN_PERSON = "in_person"


class AuthMethod(StrEnum):
    """Authentication methods of a session, as RFC 8176 `amr` values where one exists."""

    PASSWORD = "pwd"
    TOTP = "otp"
    RECOVERY_CODE = "kba"  # knowledge-based: a printed one-time code
    PASSKEY = "hwk"  # proof of possession of a hardware-secured key
    EID = "eid"  # the German eID card's online ID function (no RFC 8176 value exists)


SECOND_FACTORS = frozenset({AuthMethod.TOTP, AuthMethod.RECOVERY_CODE, AuthMethod.PASSKEY})

_IDENTITY_LEVELS = {
    IdentityProofing.SELF_DECLARED: TrustLevel.BASIC,
    IdentityProofing.REGISTRY_LETTER: TrustLevel.SUBSTANTIAL,
    IdentityProofing.EID: TrustLevel.HIGH,
    IdentityProofing.IN_PERSON: TrustLevel.HIGH,
}


def identity_level(proofing: str) -> TrustLevel:
    """The highest level this identity proofing supports (registry + letter supports 3)."""
    return _IDENTITY_LEVELS[IdentityProofing(proofing)]


def authentication_level(methods: Iterable[str]) -> TrustLevel:
    """The level the session's authentication supports: eID 4, password + second factor 3."""
    performed = {AuthMethod(method) for method in methods}
    if AuthMethod.EID in performed:
        return TrustLevel.HIGH
    if AuthMethod.PASSWORD in performed and performed & SECOND_FACTORS:
        return TrustLevel.SUBSTANTIAL
    if AuthMethod.PASSWORD in performed:
        return TrustLevel.LOW
    return TrustLevel.BASIC


def session_level(proofing: str, methods: Iterable[str]) -> TrustLevel:
    """The lower of the two axes. A self-declared identity stays basic whatever the login."""
    return min(identity_level(proofing), authentication_level(methods))
