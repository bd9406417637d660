"""Authenticated encryption of small secrets at rest, such as TOTP seeds.

A TOTP seed cannot be stored as a digest: the server needs it back to compute codes. So it is
sealed with AES-256-GCM under a key derived for its purpose; a database dump alone yields
nothing usable, and any change to a sealed value is detected instead of decrypting to garbage.

Sealed values look like `v1.<base64url(nonce || ciphertext || tag)>`. The version prefix lets a
later format (another cipher, a rotated key) be introduced without guessing what a value is.
Associated data binds a value to its context (for a seed: the person id), so a sealed value
copied to another row fails to decrypt instead of silently working there.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from servicekonto.errors import ServicekontoError
from servicekonto.security.secrets import derive_key

FORMAT_VERSION = "v1"
# NIST SP 800-38D §8.2.2: random 96-bit nonces; one key seals far fewer than 2^32 values here.
NONCE_BYTES = 12
TAG_BYTES = 16
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class DecryptionError(ServicekontoError):
    """A sealed value was altered, belongs elsewhere, or is in a format we do not know."""


class SecretBox:
    """Seals and opens byte strings with AES-256-GCM under a key for one purpose."""

    def __init__(self, root_secret: str, purpose: str) -> None:
        self._aead = AESGCM(derive_key(root_secret, f"encrypt:{purpose}"))

    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, associated_data)
        return f"{FORMAT_VERSION}.{_encode(nonce + sealed)}"

    def decrypt(self, token: str, associated_data: bytes = b"") -> bytes:
        raw = _decode(_body(token))
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("sealed value too short")
        try:
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated_data)
        except InvalidTag:
            raise DecryptionError("sealed value altered or sealed for another context") from None


def _body(token: str) -> str:
    version, separator, body = token.partition(".")
    if version != FORMAT_VERSION or not separator:
        raise DecryptionError("unknown sealed-value format")
    return body


def _encode(data: bytes) -> str:
    # RFC 4648 §5 without padding, as JOSE does: URL- and form-safe, no '=' to escape.
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(body: str) -> bytes:
    # The permissive decoder would skip foreign characters; a sealed value has none.
    if not _BASE64URL.fullmatch(body):
        raise DecryptionError("sealed value is not base64url")
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionError("sealed value is not base64url") from None
