"""Our SAML keys: the key ring's RSA keys, each with a self-signed certificate.

SAML trusts certificates from metadata, not a PKI, so the certificate only carries the key. It
is made the same way from the same key on every instance (see `certificates.certificate_for`),
so all instances publish one metadata document. Signing and encryption use the same key, as
many IdPs publish it (one KeyDescriptor each); the key is rotated with `servicekonto keys
rotate --alg RS256`, and the next key is in the metadata before it signs.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from servicekonto.keys.service import ActiveKey, KeyRing
from servicekonto.saml.certificates import certificate_for
from servicekonto.saml.responses import Signer

ALGORITHM = "RS256"
# Keys made before creation times were recorded start their certificate here.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class SamlCredentials:
    def __init__(self, keys: KeyRing, issuer: str) -> None:
        self._keys = keys
        self._common_name = urlsplit(issuer).hostname or "servicekonto"
        self._lock = threading.Lock()
        self._certificates: dict[str, x509.Certificate] = {}

    def signer(self, algorithm: str) -> Signer:
        active = self._keys.signing_key(ALGORITHM)
        return Signer(_private(active), self._certificate(active), algorithm)

    def decryption_keys(self) -> list[rsa.RSAPrivateKey]:
        return [_private(key) for key in self._keys.published_keys(ALGORITHM)]

    def _certificate(self, active: ActiveKey) -> x509.Certificate:
        with self._lock:
            found = self._certificates.get(active.kid)
            if found is None:
                found = certificate_for(
                    _private(active), self._common_name, active.created_at or EPOCH
                )
                self._certificates[active.kid] = found
            return found


def _private(active: ActiveKey) -> rsa.RSAPrivateKey:
    key = active.key.private_key
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("the SAML key must be an RSA private key")
    return key
