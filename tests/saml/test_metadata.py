"""Metadata: ours is accepted by pysaml2, valid by the schema and verified by xmlsec1; an SP's
(made by pysaml2) is read right; broken or hostile files give MetadataError."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import httpx
import pytest
import saml2.data.schemas
import xmlschema
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, BINDING_PAOS
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.sigver import security_context

from servicekonto.saml.certificates import certificate_base64, certificate_for, load_certificate
from servicekonto.saml.metadata import (
    AES256_GCM,
    RSA_OAEP,
    Endpoint,
    MetadataError,
    fetch_metadata,
    idp_metadata,
    parse_sp_metadata,
    signed_idp_metadata,
)
from servicekonto.saml.signing import verify
from servicekonto.saml.xml import DS, MD, SAML, parse
from tests.saml.sp import rsa_key

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
IDP = "https://idp.example.org/saml"
SP = "https://sp.example.org/metadata"
ATTRIBUTES = [("urn:oid:2.5.4.42", "givenName"), ("urn:oid:2.5.4.4", "surname")]


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="module")
def certificate(key: rsa.RSAPrivateKey) -> x509.Certificate:
    return certificate_for(key, "idp.example.org", NOW)


@pytest.fixture(scope="module")
def encryption_certificate() -> x509.Certificate:
    return certificate_for(rsa_key(), "idp.example.org encryption", NOW)


@pytest.fixture(scope="module")
def our_metadata(
    key: rsa.RSAPrivateKey,
    certificate: x509.Certificate,
    encryption_certificate: x509.Certificate,
) -> bytes:
    return signed_idp_metadata(
        IDP,
        sso_url="https://idp.example.org/saml/sso",
        slo_url="https://idp.example.org/saml/slo",
        signing_key=key,
        signing_certificate=certificate,
        encryption_certificate=encryption_certificate,
        attributes=ATTRIBUTES,
    )


def _pem_files(
    tmp_path: Path, key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> dict[str, str]:
    key_file, cert_file = tmp_path / "sp.key", tmp_path / "sp.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return {"key_file": str(key_file), "cert_file": str(cert_file)}


def _xmlsec1() -> str:
    found = shutil.which("xmlsec1")
    # Fail, not skip: xmlsec1 is the independent verifier (CI installs the Debian package).
    assert found, "xmlsec1 must be installed (apt-get install xmlsec1)"
    return found


def _sp_config(tmp_path: Path, idp_metadata_xml: bytes | None = None) -> SPConfig:
    sp_key = rsa_key()
    pem = _pem_files(tmp_path, sp_key, certificate_for(sp_key, "sp.example.org", NOW))
    settings: dict[str, object] = {
        "entityid": SP,
        "xmlsec_binary": _xmlsec1(),
        **pem,
        "encryption_keypairs": [pem],
        "organization": {
            "name": [("Testamt", "de"), ("Test office", "en")],
            "display_name": [("Test office", "en"), ("Testamt Musterstadt", "de")],
            "url": "https://sp.example.org",
        },
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [
                        ("https://sp.example.org/acs", BINDING_HTTP_POST),
                        ("https://sp.example.org/paos", BINDING_PAOS),
                    ],
                    "single_logout_service": [
                        ("https://sp.example.org/slo", BINDING_HTTP_REDIRECT)
                    ],
                },
                "authn_requests_signed": True,
                "want_assertions_signed": True,
            }
        },
    }
    if idp_metadata_xml is not None:
        settings["metadata"] = {"inline": [idp_metadata_xml.decode()]}
    config = SPConfig()
    config.load(settings)
    return config


# --- our IdP metadata -----------------------------------------------------------------------


def test_idp_metadata_content(
    certificate: x509.Certificate, encryption_certificate: x509.Certificate
) -> None:
    root = idp_metadata(
        IDP,
        sso_url="https://idp.example.org/saml/sso",
        slo_url="https://idp.example.org/saml/slo",
        signing_certificate=certificate,
        encryption_certificate=encryption_certificate,
        attributes=ATTRIBUTES,
    )
    ns = {"md": MD, "ds": DS, "saml": SAML}
    descriptor = root.find("md:IDPSSODescriptor", ns)
    assert descriptor is not None

    assert root.get("validUntil") is None
    assert root.get("cacheDuration") is None
    assert root.get("ID", "").startswith("_")
    assert descriptor.get("WantAuthnRequestsSigned") == "true"
    assert descriptor.xpath("md:KeyDescriptor/@use", namespaces=ns) == ["signing", "encryption"]
    assert descriptor.xpath(
        "md:KeyDescriptor[@use='encryption']//ds:X509Certificate/text()", namespaces=ns
    ) == [certificate_base64(encryption_certificate)]
    methods = descriptor.xpath("md:KeyDescriptor/md:EncryptionMethod/@Algorithm", namespaces=ns)
    assert isinstance(methods, list)
    assert AES256_GCM in methods
    assert RSA_OAEP in methods
    assert descriptor.xpath("md:NameIDFormat/text()", namespaces=ns) == [
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    ]
    assert descriptor.xpath("md:SingleSignOnService/@Binding", namespaces=ns) == [
        BINDING_HTTP_REDIRECT,
        BINDING_HTTP_POST,
    ]
    assert descriptor.xpath("saml:Attribute/@FriendlyName", namespaces=ns) == [
        "givenName",
        "surname",
    ]


def test_signed_idp_metadata_is_deterministic(
    our_metadata: bytes,
    key: rsa.RSAPrivateKey,
    encryption_certificate: x509.Certificate,
) -> None:
    """Two instances with the same key and start date publish the same bytes."""
    again = signed_idp_metadata(
        IDP,
        sso_url="https://idp.example.org/saml/sso",
        slo_url="https://idp.example.org/saml/slo",
        signing_key=key,
        signing_certificate=certificate_for(key, "idp.example.org", NOW),
        encryption_certificate=encryption_certificate,
        attributes=ATTRIBUTES,
    )

    assert again == our_metadata
    assert our_metadata.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_our_metadata_is_schema_valid(our_metadata: bytes) -> None:
    schema = _metadata_schema()

    schema.validate(our_metadata.decode())
    # The check bites: NameIDFormat after SingleSignOnService breaks the sequence.
    broken = parse(our_metadata)
    descriptor = broken.find(f"{{{MD}}}IDPSSODescriptor")
    assert descriptor is not None
    name_id_format = descriptor.find(f"{{{MD}}}NameIDFormat")
    assert name_id_format is not None
    descriptor.append(name_id_format)
    assert not schema.is_valid(etree.tostring(broken).decode())


def _metadata_schema() -> xmlschema.XMLSchema:
    """The OASIS schemas pysaml2 ships, resolved locally (no network)."""
    folder = files(saml2.data.schemas)
    locations = {
        "http://www.w3.org/XML/1998/namespace": "xml.xsd",
        "http://www.w3.org/2001/04/xmlenc#": "xenc-schema.xsd",
        "http://www.w3.org/2009/xmlenc11#": "xenc-schema-11.xsd",
        "http://www.w3.org/2000/09/xmldsig#": "xmldsig-core-schema.xsd",
        "urn:oasis:names:tc:SAML:2.0:assertion": "saml-schema-assertion-2.0.xsd",
        "urn:oasis:names:tc:SAML:2.0:metadata": "saml-schema-metadata-2.0.xsd",
    }
    return xmlschema.XMLSchema(
        str(folder / "saml-schema-metadata-2.0.xsd"),
        locations={ns: str(folder / name) for ns, name in locations.items()},
        allow="sandbox",
        use_fallback=False,
    )


def test_xmlsec1_verifies_our_metadata_signature(
    tmp_path: Path, our_metadata: bytes, certificate: x509.Certificate
) -> None:
    cert_file = tmp_path / "idp.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    metadata_file = tmp_path / "idp.xml"
    metadata_file.write_bytes(our_metadata)
    command = [_xmlsec1(), "--verify", "--pubkey-cert-pem", str(cert_file)]
    node = f"{MD}:EntityDescriptor"

    result = subprocess.run(
        [*command, "--id-attr:ID", node, str(metadata_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    metadata_file.write_bytes(our_metadata.replace(b"/saml/sso", b"/evil/sso"))
    tampered = subprocess.run(
        [*command, "--id-attr:ID", node, str(metadata_file)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert tampered.returncode != 0


def test_our_metadata_signature_verifies_with_ours(
    our_metadata: bytes, certificate: x509.Certificate
) -> None:
    assert verify(parse(our_metadata), [certificate]).get("entityID") == IDP


def test_pysaml2_accepts_our_metadata(
    tmp_path: Path, our_metadata: bytes, certificate: x509.Certificate
) -> None:
    config = _sp_config(tmp_path, our_metadata)
    metadata = config.metadata
    idp_cert_file = tmp_path / "idp.pem"
    idp_cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    assert metadata is not None

    sso = metadata.single_sign_on_service(IDP, BINDING_HTTP_REDIRECT)
    slo = metadata.single_logout_service(IDP, BINDING_HTTP_POST, "idpsso")
    signing = metadata.certs(IDP, "idpsso", "signing")
    verified = security_context(config).verify_signature(
        our_metadata.decode(),
        cert_file=str(idp_cert_file),
        cert_type="pem",
        node_name="urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor",
        node_id=parse(our_metadata).get("ID"),
    )

    assert [service["location"] for service in sso] == ["https://idp.example.org/saml/sso"]
    assert [service["location"] for service in slo] == ["https://idp.example.org/saml/slo"]
    assert [load_certificate(value) for _, value in signing] == [certificate]  # pysaml2 rewraps
    assert verified


# --- reading an SP's metadata ---------------------------------------------------------------


def test_parse_pysaml2_sp_metadata(tmp_path: Path) -> None:
    config = _sp_config(tmp_path)
    certificate = x509.load_pem_x509_certificate(Path(config.cert_file).read_bytes())

    parsed = parse_sp_metadata(entity_descriptor(config).to_string())

    assert parsed.entity_id == SP
    assert parsed.name == "Testamt Musterstadt"
    # PAOS is no binding of ours; it is left out.
    assert parsed.assertion_consumer_services == (
        Endpoint(BINDING_HTTP_POST, "https://sp.example.org/acs", 1, False, None),
    )
    assert parsed.single_logout_services == (
        Endpoint(BINDING_HTTP_REDIRECT, "https://sp.example.org/slo", None, False, None),
    )
    assert parsed.signing_certificates == (certificate_base64(certificate),)
    assert parsed.encryption_certificates == (certificate_base64(certificate),)
    assert parsed.authn_requests_signed is True
    assert parsed.want_assertions_signed is True


def _sp(
    descriptor_body: str = "",
    *,
    acs: str = "https://sp.example.org/acs",
    attributes: str = 'entityID="https://sp.example.org"',
    outside: str = "",
) -> bytes:
    return f"""<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}"
        xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" {attributes}>
      <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
        {descriptor_body}
        <md:AssertionConsumerService index="0" isDefault="true"
            Binding="{BINDING_HTTP_POST}" Location="{acs}"/>
      </md:SPSSODescriptor>
      {outside}
    </md:EntityDescriptor>""".encode()


def _key_descriptor(certificate_text: str, use: str | None = None) -> str:
    use_attribute = f'use="{use}"' if use else ""
    return f"""<md:KeyDescriptor {use_attribute}><ds:KeyInfo><ds:X509Data>
        <ds:X509Certificate>{certificate_text}</ds:X509Certificate>
      </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"""


def test_key_descriptor_without_use_counts_for_both(certificate: x509.Certificate) -> None:
    text = certificate_base64(certificate)
    wrapped = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))

    parsed = parse_sp_metadata(_sp(_key_descriptor(wrapped)))

    assert parsed.signing_certificates == (text,)
    assert parsed.encryption_certificates == (text,)
    assert parsed.assertion_consumer_services[0].is_default
    assert parsed.assertion_consumer_services[0].index == 0


def test_entities_descriptor_with_one_sp() -> None:
    wrapped = f"""<md:EntitiesDescriptor xmlns:md="{MD}">
      <md:EntityDescriptor entityID="https://idp.other.org">
        <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>
      </md:EntityDescriptor>
      {_sp().decode()}
    </md:EntitiesDescriptor>""".encode()

    assert parse_sp_metadata(wrapped).entity_id == "https://sp.example.org"


def test_display_name_falls_back_to_mdui() -> None:
    ui = """<md:Extensions><mdui:UIInfo>
        <mdui:DisplayName xml:lang="en">Parking permits</mdui:DisplayName>
        <mdui:DisplayName xml:lang="de">Anwohnerparken</mdui:DisplayName>
      </mdui:UIInfo></md:Extensions>"""

    assert parse_sp_metadata(_sp(ui)).name == "Anwohnerparken"
    assert parse_sp_metadata(_sp()).name is None


@pytest.mark.parametrize(
    "acs", ["http://localhost:8080/acs", "http://127.0.0.1/acs", "https://sp.example.org:8443/a"]
)
def test_local_http_and_https_locations_are_allowed(acs: str) -> None:
    assert parse_sp_metadata(_sp(acs=acs)).assertion_consumer_services[0].location == acs


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE md:EntityDescriptor [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">
  <md:Organization><md:OrganizationDisplayName>&xxe;</md:OrganizationDisplayName></md:Organization>
</md:EntityDescriptor>"""
HTML = b"<!doctype html><html><head><title>Login</title></head><body><p>Hi<br></body></html>"
XHTML = b'<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Metadata moved</p></body></html>'
IDP_ONLY = f"""<md:EntityDescriptor xmlns:md="{MD}" entityID="https://idp.other.org">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>
</md:EntityDescriptor>""".encode()


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (XXE, "document type declaration"),
        (HTML, "not usable SAML metadata"),
        (XHTML, "not SAML metadata"),
        (b"", "not usable SAML metadata"),
        (IDP_ONLY, "no md:SPSSODescriptor"),
        (_sp(attributes=""), "no entityID"),
        (_sp(acs="ftp://sp.example.org/acs"), "not an absolute https URL"),
        (_sp(acs="http://sp.example.org/acs"), "not an absolute https URL"),
        (_sp(acs="/acs"), "not an absolute https URL"),
        (_sp(acs="https://sp.example.org/a&#10;b"), "not an absolute https URL"),
        (_sp(_key_descriptor("!!not base64!!")), "broken certificate"),
        (_sp(_key_descriptor("QUJD")), "broken certificate"),
        (_sp(_key_descriptor("QUJD", use="both")), "unknown use"),
        (_sp(attributes='entityID="x" ID="_1" validUntil="never"', outside=""), None),
    ],
)
def test_bad_metadata_is_refused(document: bytes, reason: str | None) -> None:
    if reason is None:  # unknown attributes outside our concern are ignored
        assert parse_sp_metadata(document).entity_id == "x"
        return
    with pytest.raises(MetadataError, match=reason):
        parse_sp_metadata(document)


def test_missing_post_acs_is_refused() -> None:
    redirect_only = _sp().replace(BINDING_HTTP_POST.encode(), BINDING_PAOS.encode())

    with pytest.raises(MetadataError, match="no AssertionConsumerService with HTTP-POST"):
        parse_sp_metadata(redirect_only)


def test_entities_descriptor_with_two_sps_is_refused() -> None:
    two = f'<md:EntitiesDescriptor xmlns:md="{MD}">{_sp().decode()}{_sp().decode()}'
    two += "</md:EntitiesDescriptor>"

    with pytest.raises(MetadataError, match="exactly one service provider"):
        parse_sp_metadata(two.encode())


def test_mixed_content_in_a_certificate_is_refused(certificate: x509.Certificate) -> None:
    text = certificate_base64(certificate)
    split = f"{text[:20]}<!-- x -->{text[20:]}"

    with pytest.raises(MetadataError, match="text only"):
        parse_sp_metadata(_sp(_key_descriptor(split)))


# --- fetching -------------------------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_fetch_metadata_reads_the_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=_sp())

    assert fetch_metadata("https://sp.example.org/metadata", _client(handler)) == _sp()
    assert seen[0].extensions["timeout"] == {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


def test_fetch_metadata_does_not_follow_redirects() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/metadata":
            return httpx.Response(302, headers={"location": "https://evil.example.org/md"})
        raise AssertionError("the redirect was followed")

    client = httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True)
    with pytest.raises(MetadataError, match="HTTP 302"):
        fetch_metadata("https://sp.example.org/metadata", client)


def test_fetch_metadata_caps_the_size() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        chunks = (b"x" * 65536 for _ in range(100))  # streamed, no Content-Length
        return httpx.Response(200, content=chunks)

    with pytest.raises(MetadataError, match="larger than"):
        fetch_metadata("https://sp.example.org/metadata", _client(handler))


@pytest.mark.parametrize(
    "url", ["http://sp.example.org/metadata", "ftp://sp.example.org/md", "file:///etc/passwd"]
)
def test_fetch_metadata_refuses_other_schemes(url: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be fetched")

    with pytest.raises(MetadataError, match="https"):
        fetch_metadata(url, _client(handler))


def test_fetch_metadata_network_errors_become_metadata_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("too slow", request=request)

    with pytest.raises(MetadataError, match="ConnectTimeout"):
        fetch_metadata("https://sp.example.org/metadata", _client(handler))


def test_fetch_metadata_error_status() -> None:
    with pytest.raises(MetadataError, match="HTTP 404"):
        fetch_metadata("http://localhost:9000/metadata", _client(lambda _: httpx.Response(404)))
