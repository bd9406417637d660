"""Keyed digests and prefixed tokens for one-time secrets (codes, PINs, refresh tokens, links).

A one-time secret is stored only as an HMAC digest under a key derived for its purpose, so a
database dump yields nothing usable and digests of one purpose cannot be replayed as another.
Handed-out tokens carry a type prefix (`sk_rt_…`) so a leaked one is recognisable in a scanner
and a token of the wrong kind is refused before any lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOKEN_NAMESPACE = "sk"
TOKEN_BYTES = 32
_KDF_SALT = b"servicekonto key derivation v1"


def derive_key(root_secret: str, purpose: str, length: int = 32) -> bytes:
    """A key for one purpose, derived from the root secret with HKDF-SHA256 (RFC 5869)."""
    if not purpose:
        raise ValueError("a derived key needs a purpose")
    kdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=_KDF_SALT, info=purpose.encode())
    return kdf.derive(root_secret.encode())


class Digester:
    """HMAC-SHA256 digests of secrets for one purpose, compared in constant time."""

    def __init__(self, root_secret: str, purpose: str) -> None:
        self._key = derive_key(root_secret, f"digest:{purpose}")

    def digest(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()

    def matches(self, value: str, expected_digest: str) -> bool:
        return hmac.compare_digest(self.digest(value), expected_digest)


def new_token(kind: str, nbytes: int = TOKEN_BYTES) -> str:
    """A random token such as `sk_rt_…`; `kind` is a short lowercase tag."""
    if not kind.isalnum() or not kind.islower():
        raise ValueError("token kind must be short, lowercase and alphanumeric")
    return f"{TOKEN_NAMESPACE}_{kind}_{secrets.token_urlsafe(nbytes)}"


def token_kind(token: str) -> str | None:
    """The kind tag of one of our tokens, or None for anything else."""
    namespace, _, rest = token.partition("_")
    kind, separator, body = rest.partition("_")
    if namespace != TOKEN_NAMESPACE or not separator or not kind or not body:
        return None
    return kind
