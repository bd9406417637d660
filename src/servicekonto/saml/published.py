"""Our metadata document, signed, as procedures fetch it (SAML metadata §2.3.2)."""

from __future__ import annotations

import threading

from cryptography import x509

from servicekonto.saml.attributes import ATTRIBUTES
from servicekonto.saml.credentials import SamlCredentials
from servicekonto.saml.metadata import signed_idp_metadata
from servicekonto.saml.signing import RSA_SHA256


class PublishedMetadata:
    """Signed once per signing key, then served as bytes (procedures poll it)."""

    def __init__(
        self, credentials: SamlCredentials, entity_id: str, sso_url: str, slo_url: str
    ) -> None:
        self._credentials = credentials
        self._entity_id = entity_id
        self._sso_url = sso_url
        self._slo_url = slo_url
        self._lock = threading.Lock()
        self._cached: tuple[x509.Certificate, bytes] | None = None

    def document(self) -> bytes:
        signer = self._credentials.signer(RSA_SHA256)
        with self._lock:
            # SamlCredentials keeps one certificate object per key: the same object, the same key.
            if self._cached is None or self._cached[0] is not signer.certificate:
                document = signed_idp_metadata(
                    self._entity_id,
                    sso_url=self._sso_url,
                    slo_url=self._slo_url,
                    signing_key=signer.key,
                    signing_certificate=signer.certificate,
                    encryption_certificate=signer.certificate,
                    attributes=[(a.oid, a.friendly_name) for a in ATTRIBUTES],
                )
                self._cached = (signer.certificate, document)
            return self._cached[1]
