"""An independent service provider for the tests: pysaml2, verifying and decrypting with
Debian's xmlsec1. It sends real AuthnRequests and consumes our responses as a procedure would."""

from __future__ import annotations

import base64
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, ExtensionElement
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.samlp import Extensions

from servicekonto.authorities.models import AuthorityKind
from servicekonto.authorities.schemas import AuthoritySpec
from servicekonto.authorities.service import AuthorityService
from servicekonto.clock import Clock
from servicekonto.saml.service import ProviderOptions, ProviderService
from servicekonto.saml.xml import AKDB, AKDB_CLASSIC_UI
from servicekonto.store.engine import Database

SP_HOST = "https://fachverfahren.example.de"
SP_ENTITY = f"{SP_HOST}/saml/metadata"
ACS = f"{SP_HOST}/saml/acs"
SLO = f"{SP_HOST}/saml/slo"
IDP_SSO = "http://127.0.0.1:8000/saml/sso"
GIVEN_NAME = "urn:oid:2.5.4.42"
SURNAME = "urn:oid:2.5.4.4"
BIRTHDATE = "urn:oid:1.2.40.0.10.2.1.1.55"
BPK2 = "urn:oid:1.3.6.1.4.1.25484.494450.3"
LEVEL = "urn:oid:1.2.40.0.10.2.1.1.261.94"
MAIL = "urn:oid:0.9.2342.19200300.100.1.3"
GENDER = "urn:oid:1.3.6.1.4.1.33592.1.3.5"
_FIELD = re.compile(r'name="(SAMLResponse|RelayState)" value="([^"]*)"')


def rsa_key() -> rsa.RSAPrivateKey:
    """A fresh 2048-bit RSA key, as SPs and IdPs in the tests use."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_pair(directory: Path, name: str) -> tuple[Path, Path, rsa.RSAPrivateKey]:
    key = rsa_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path, key


def sp_config(
    directory: Path, idp_metadata: bytes, *, encrypted: bool = True, entity: str = SP_ENTITY
) -> SPConfig:
    key, cert, _ = key_pair(directory, "sp-sign")
    enc_key, enc_cert, _ = key_pair(directory, "sp-enc")
    idp_file = directory / "idp.xml"
    idp_file.write_bytes(idp_metadata)
    xmlsec = shutil.which("xmlsec1")
    assert xmlsec, "Debian's xmlsec1 must be installed (make .venv/.installed-dev does it)"
    settings: dict[str, Any] = {
        "entityid": entity,
        "xmlsec_binary": xmlsec,
        "key_file": str(key),
        "cert_file": str(cert),
        "metadata": {"local": [str(idp_file)]},
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(ACS, BINDING_HTTP_POST)],
                    "single_logout_service": [(SLO, BINDING_HTTP_REDIRECT)],
                },
                "authn_requests_signed": True,
                "want_assertions_signed": True,
                "want_response_signed": True,
                "allow_unsolicited": False,
                "name_id_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            }
        },
        "organization": {
            "display_name": [("Hundesteuer Cochem", "de")],
            "name": "VG Cochem",
            "url": SP_HOST,
        },
    }
    if encrypted:
        settings["encryption_keypairs"] = [{"key_file": str(enc_key), "cert_file": str(enc_cert)}]
    else:
        settings["encryption_keypairs"] = []
    config = SPConfig()
    config.load(settings)
    return config


def sp_metadata(config: SPConfig, *, encrypted: bool = True) -> bytes:
    text = create_metadata_string(None, config=config, valid=None, sign=False)
    if not encrypted:
        assert b'use="encryption"' not in text
    return text if isinstance(text, bytes) else text.encode()


def register(db: Database, clock: Clock, metadata: bytes, **options: Any) -> None:
    ensured = AuthorityService(db, clock).ensure(
        AuthoritySpec(slug="vg-cochem", name="VG Cochem", kind=AuthorityKind.MUNICIPAL_ASSOCIATION),
        actor="test",
    )
    ProviderService(db, clock).add(
        metadata,
        ProviderOptions(
            authority_id=ensured.authority.id, **{"consent_required": False, **options}
        ),
        actor="test",
    )


def akdb_extension(
    attributes: list[tuple[str, bool]] | None = None,
    *,
    display: dict[str, str] | None = None,
    methods: dict[str, bool] | None = None,
    status_detail: bool = True,
    version: str = "2",
) -> Extensions:
    children = []
    if methods is not None:
        children.append(
            ExtensionElement(
                "AuthnMethods",
                namespace=AKDB,
                children=[
                    ExtensionElement(
                        name,
                        namespace=AKDB,
                        children=[
                            ExtensionElement(
                                "Enabled", namespace=AKDB, text="true" if on else "false"
                            )
                        ],
                    )
                    for name, on in methods.items()
                ],
            )
        )
    requested = [
        ExtensionElement(
            "RequestedAttribute",
            namespace=AKDB,
            attributes={"Name": name, "RequiredAttribute": "true" if required else "false"},
        )
        for name, required in (attributes if attributes is not None else [(GIVEN_NAME, True)])
    ]
    children.append(ExtensionElement("RequestedAttributes", namespace=AKDB, children=requested))
    if display:
        version_element = ExtensionElement(
            "Version",
            namespace=AKDB_CLASSIC_UI,
            children=[
                ExtensionElement(name, namespace=AKDB_CLASSIC_UI, text=value)
                for name, value in display.items()
            ],
        )
        children.append(
            ExtensionElement("DisplayInformation", namespace=AKDB, children=[version_element])
        )
    if status_detail:
        children.append(ExtensionElement("EnableStatusDetail", namespace=AKDB, text="true"))
    request = ExtensionElement(
        "AuthenticationRequest", namespace=AKDB, attributes={"Version": version}, children=children
    )
    return Extensions(extension_elements=[request])


@dataclass
class Sent:
    request_id: str
    path: str  # for the redirect binding
    form: dict[str, str] | None  # for the POST binding


class ServiceProvider:
    """pysaml2's client, speaking to our app through the test browser."""

    def __init__(self, config: SPConfig) -> None:
        self.client = Saml2Client(config)
        self.entity: str = config.entityid
        self.outstanding: dict[str, str] = {}

    def request(
        self,
        binding: str = BINDING_HTTP_REDIRECT,
        *,
        extensions: Extensions | None = None,
        sign: bool = True,
        relay_state: str = "state-4711",
        **kwargs: Any,
    ) -> Sent:
        request_id, request = self.client.create_authn_request(
            IDP_SSO,
            binding=BINDING_HTTP_POST,
            extensions=extensions if extensions is not None else akdb_extension(),
            sign=sign and binding == BINDING_HTTP_POST,
            sign_alg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            digest_alg="http://www.w3.org/2001/04/xmlenc#sha256",
            **kwargs,
        )
        self.outstanding[request_id] = "/"
        return self.send(request_id, str(request), binding, sign=sign, relay_state=relay_state)

    def send(
        self, request_id: str, xml: str, binding: str, *, sign: bool, relay_state: str
    ) -> Sent:
        if binding == BINDING_HTTP_REDIRECT:
            info = self.client.apply_binding(
                BINDING_HTTP_REDIRECT,
                xml,
                IDP_SSO,
                relay_state=relay_state,
                sign=sign,
                sigalg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            )
            location = dict(info["headers"])["Location"]
            parts = urlsplit(location)
            return Sent(request_id, f"{parts.path}?{parts.query}", None)
        encoded = base64.b64encode(xml.encode()).decode()
        return Sent(request_id, "/saml/sso", {"SAMLRequest": encoded, "RelayState": relay_state})

    def consume(self, page: str) -> Any:
        """Read the auto-post page and let pysaml2 verify (and decrypt) the response."""
        fields = posted_fields(page)
        assert "SAMLResponse" in fields, page
        return self.client.parse_authn_request_response(
            fields["SAMLResponse"], BINDING_HTTP_POST, outstanding=self.outstanding
        )


def posted_fields(page: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in _FIELD.findall(page)}


def unique_entity() -> str:
    return f"{SP_HOST}/{uuid.uuid4().hex}/metadata"


def post_target(page: str) -> str:
    found = re.search(r'action="([^"]+)"', page)
    assert found
    return unescape(found.group(1))


def refusal(sp: ServiceProvider, page: str) -> tuple[str, str | None, str | None]:
    """The status of an error response, after pysaml2 checked our signature on it."""
    document = base64.b64decode(posted_fields(page)["SAMLResponse"])
    assert sp.client.sec.correctly_signed_response(document), "the error response is signed"
    root = etree.fromstring(document)
    protocol = "urn:oasis:names:tc:SAML:2.0:protocol"
    top = root.find(f"{{{protocol}}}Status/{{{protocol}}}StatusCode")
    assert top is not None
    second = top.find(f"{{{protocol}}}StatusCode")
    # The code is in StatusDetail when EnableStatusDetail asked, and opens the StatusMessage.
    detail = root.findtext(f".//{{{AKDB}}}ErrorCode")
    message = root.findtext(f"{{{protocol}}}Status/{{{protocol}}}StatusMessage") or ""
    code = message.split(":", 1)[0]
    assert detail in {None, code}
    return top.get("Value", ""), second.get("Value") if second is not None else None, code
