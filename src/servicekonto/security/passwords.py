"""Password hashing with argon2id (RFC 9106).

NIST SP 800-63B §5.1.1.2 wants memorised secrets salted and hashed with a key derivation
function that is costly to attack offline, preferably a memory-hard one; argon2id is that.

Passwords are normalised to Unicode NFKC before hashing and before verifying, so the same
password typed on another keyboard or input method (full-width letters, ligatures) still
matches — NIST SP 800-63B §5.1.1.2 suggests exactly this normalisation.

Construct one `PasswordHasher` per application: it makes one dummy hash when created so that
`dummy_verify` costs as much as a real verification from the first call on.
"""

from __future__ import annotations

import secrets
import unicodedata

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from servicekonto.config import Argon2Settings

# Everything a stored hash or a typed password can make argon2-cffi raise during verification:
# a mismatch, a malformed or truncated hash, and text that does not encode (a non-ASCII hash,
# a lone surrogate in the password). None of these may surface as a server error at login.
_VERIFY_FAILURES = (VerificationError, InvalidHashError, UnicodeEncodeError)


def normalise_password(password: str) -> str:
    """The NFKC form of a password (NIST SP 800-63B §5.1.1.2), as hashed and compared."""
    return unicodedata.normalize("NFKC", password)


class PasswordHasher:
    """argon2id hashes of passwords with the configured cost parameters."""

    def __init__(self, settings: Argon2Settings) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=settings.time_cost,
            memory_cost=settings.memory_cost_kib,
            parallelism=settings.parallelism,
            type=argon2.Type.ID,
        )
        # A hash of a random secret nobody knows: verifying against it costs what verifying a
        # real account's hash costs, and can never succeed.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(32))

    def hash(self, password: str) -> str:
        """An encoded argon2id hash (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) with a fresh salt."""
        return self._hasher.hash(normalise_password(password))

    def verify(self, stored_hash: str, password: str) -> bool:
        """Whether the password matches; False for a wrong password or an unusable hash."""
        try:
            return self._hasher.verify(stored_hash, normalise_password(password))
        except _VERIFY_FAILURES:
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether the hash was made with other parameters (or is unreadable) and should be
        replaced with a fresh one at the next successful login."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    def dummy_verify(self, password: str) -> None:
        """Spend the time of one verification without an account to check against.

        Called for unknown login names, so the response time does not tell an attacker whether
        an account exists for an e-mail address (account enumeration).
        """
        self.verify(self._dummy_hash, password)
