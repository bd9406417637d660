"""The X.509 certificates that carry our SAML keys, and reading those of others.

In SAML metadata a certificate is only a container for a public key: trust comes from the metadata
exchange, not from a CA (SAML V2.0 Metadata Interoperability Profile). So our certificates are
self-signed, and they are derived from the key alone — same key, same name, same start date gives
the same bytes — so that every server instance publishes byte-identical metadata.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

VALIDITY_YEARS = 10
_WHITESPACE = re.compile(r"\s+")


def certificate_for(
    key: rsa.RSAPrivateKey, common_name: str, not_before: datetime
) -> x509.Certificate:
    """A self-signed certificate for `key`, the same for the same inputs (no randomness)."""
    if not_before.tzinfo is None:
        raise ValueError("not_before must carry a time zone")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = not_before.replace(microsecond=0)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial_number(key.public_key()))
        .not_valid_before(start)
        .not_valid_after(_years_later(start, VALIDITY_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(), critical=True)
    )
    # RSA PKCS#1 v1.5 signatures are deterministic; PSS would salt each one differently.
    return builder.sign(key, hashes.SHA256())


def _serial_number(public_key: rsa.RSAPublicKey) -> int:
    """From the key's SHA-256: positive and below 2^159 (RFC 5280 §4.1.2.2 allows 20 octets)."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    value = int.from_bytes(hashlib.sha256(der).digest()[:20], "big") >> 1
    return value or 1


def _years_later(start: datetime, years: int) -> datetime:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February into a year that has none
        return start.replace(year=start.year + years, day=28)


def _key_usage() -> x509.KeyUsage:
    # One certificate type for both roles: signing keys sign, encryption keys receive key transport.
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def certificate_base64(certificate: x509.Certificate) -> str:
    """DER in base64 on one line, as ds:X509Certificate carries it."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return base64.b64encode(der).decode("ascii")


def load_certificate(base64_der: str) -> x509.Certificate:
    """The certificate in a ds:X509Certificate text; metadata often wraps it over many lines."""
    compact = _WHITESPACE.sub("", base64_der)
    if not compact:
        raise ValueError("the certificate is empty")
    try:
        der = base64.b64decode(compact, validate=True)
    except binascii.Error:
        raise ValueError("the certificate is not valid base64") from None
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise ValueError("the certificate is not a DER-encoded X.509 certificate") from None
