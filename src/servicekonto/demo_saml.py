"""The demo's SAML service provider: its own key pair and metadata under `var/saml-demo-sp/`,
registered for VG Cochem, so the SAML side can be tried with any SP tool that loads a key.

The key stays on this machine (var/ is never committed); a second `servicekonto demo` keeps
the files and the registration it finds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from servicekonto.authorities.repository import AuthorityRepository
from servicekonto.clock import Clock
from servicekonto.config import Settings
from servicekonto.saml.certificates import certificate_base64
from servicekonto.saml.service import ProviderOptions, ProviderService
from servicekonto.saml.xml import BINDING_POST, BINDING_REDIRECT, DS, MD
from servicekonto.store.engine import Database

DEMO_SP_BASE = "http://127.0.0.1:8766"
DEMO_SP_ENTITY = f"{DEMO_SP_BASE}/saml/metadata"
DEMO_SP_DIRECTORY = "saml-demo-sp"
DEMO_ACTOR = "demo"


def seed_demo_sp(settings: Settings, database: Database, clock: Clock) -> dict[str, str]:
    directory = settings.var_dir / DEMO_SP_DIRECTORY
    certificate = _key_pair(directory, clock.now())
    metadata_path = directory / "metadata.xml"
    metadata_path.write_bytes(sp_metadata(certificate))
    providers = ProviderService(database, clock)
    if providers.get(DEMO_SP_ENTITY) is None:
        with database.session() as session:
            authority = AuthorityRepository(session).by_slug("vg-cochem")
        if authority is not None:
            options = ProviderOptions(authority_id=authority.id, name="Hundeanmeldung (SAML)")
            providers.add(metadata_path.read_bytes(), options, DEMO_ACTOR)
    return {
        "entity_id": DEMO_SP_ENTITY,
        "metadata": str(metadata_path),
        "key": str(directory / "sp.key"),
        "certificate": str(directory / "sp.crt"),
        "idp_metadata": f"{settings.issuer}/saml/metadata",
    }


def _key_pair(directory: Path, now: datetime) -> x509.Certificate:
    key_path, cert_path = directory / "sp.key", directory / "sp.crt"
    if key_path.exists() and cert_path.exists():
        return x509.load_pem_x509_certificate(cert_path.read_bytes())
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "servicekonto demo SP")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now.astimezone(UTC) - timedelta(days=1))
        .not_valid_after(now.astimezone(UTC) + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_path.touch(mode=0o600)
    key_path.write_bytes(pem)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return certificate


def sp_metadata(certificate: x509.Certificate) -> bytes:
    """SAML metadata §2.4.4: an SPSSODescriptor with one POST ACS and a redirect SLO."""
    root = etree.Element(f"{{{MD}}}EntityDescriptor", nsmap={"md": MD, "ds": DS})
    root.set("entityID", DEMO_SP_ENTITY)
    descriptor = etree.SubElement(root, f"{{{MD}}}SPSSODescriptor")
    descriptor.set("protocolSupportEnumeration", "urn:oasis:names:tc:SAML:2.0:protocol")
    descriptor.set("AuthnRequestsSigned", "true")
    descriptor.set("WantAssertionsSigned", "true")
    for use in ("signing", "encryption"):
        key_descriptor = etree.SubElement(descriptor, f"{{{MD}}}KeyDescriptor", use=use)
        data = etree.SubElement(
            etree.SubElement(key_descriptor, f"{{{DS}}}KeyInfo"), f"{{{DS}}}X509Data"
        )
        etree.SubElement(data, f"{{{DS}}}X509Certificate").text = certificate_base64(certificate)
    slo = etree.SubElement(descriptor, f"{{{MD}}}SingleLogoutService")
    slo.set("Binding", BINDING_REDIRECT)
    slo.set("Location", f"{DEMO_SP_BASE}/saml/slo")
    acs = etree.SubElement(descriptor, f"{{{MD}}}AssertionConsumerService")
    acs.set("Binding", BINDING_POST)
    acs.set("Location", f"{DEMO_SP_BASE}/saml/acs")
    acs.set("index", "0")
    acs.set("isDefault", "true")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
