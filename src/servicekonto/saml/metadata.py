"""SAML metadata (SAML metadata spec, "saml-metadata-2.0-os"): ours as IdP, and reading an SP's.

Our metadata is deterministic for the same settings — a stable ID, a deterministic certificate and
an RSA PKCS#1 v1.5 signature — so several server instances publish byte-identical files. It has
no validUntil and no cacheDuration: SPs take it over once, by hand, as in the BundID onboarding.

An SP's metadata is read with the hardened parser and only what we use is kept; every endpoint we
may send a browser to must be https (plain http only on the local machine, for tests and demo).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from servicekonto.saml.certificates import certificate_base64, load_certificate
from servicekonto.saml.signing import RSA_SHA256, SHA256, sign
from servicekonto.saml.xml import (
    BINDING_POST,
    BINDING_REDIRECT,
    DS,
    MAX_DOCUMENT_BYTES,
    MD,
    SAML,
    XENC11,
    XMLRejected,
    find,
    find_all,
    parse,
    qname,
    text_of,
)

SAML2_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
MDUI = "urn:oasis:names:tc:SAML:metadata:ui"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEID_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
ATTRNAME_FORMAT_URI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
AES256_GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
RSA_OAEP = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
RSA_OAEP_MGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
MGF1_SHA256 = "http://www.w3.org/2009/xmlenc11#mgf1sha256"
# What an SP may encrypt to us with (the metadata spec §2.4.1.1 EncryptionMethod), in our order
# of preference: AES-GCM for the data, RSA-OAEP with SHA-256 for the key.
ENCRYPTION_METHODS = (AES256_GCM, RSA_OAEP, RSA_OAEP_MGF1P)
FETCH_TIMEOUT_SECONDS = 5.0
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})
_SP_BINDINGS = frozenset({BINDING_POST, BINDING_REDIRECT})
_NSMAP = {"md": MD, "ds": DS, "saml": SAML}


class MetadataError(ValueError):
    """The metadata cannot be used; the message says why, in words an operator understands."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    binding: str
    location: str
    index: int | None
    is_default: bool
    response_location: str | None


@dataclass(frozen=True, slots=True)
class SpMetadata:
    entity_id: str
    name: str | None
    assertion_consumer_services: tuple[Endpoint, ...]
    single_logout_services: tuple[Endpoint, ...]
    signing_certificates: tuple[str, ...]  # base64 DER, one line each
    encryption_certificates: tuple[str, ...]
    authn_requests_signed: bool
    want_assertions_signed: bool


# --- our IdP metadata -----------------------------------------------------------------------


def idp_metadata(
    entity_id: str,
    *,
    sso_url: str,
    slo_url: str,
    signing_certificate: x509.Certificate,
    encryption_certificate: x509.Certificate,
    attributes: list[tuple[str, str]],
) -> etree._Element:
    """An unsigned md:EntityDescriptor for our IdP; `attributes` are (URI name, friendly name).

    Keyword arguments, because two URLs and two certificates of one type are easily swapped.
    """
    root = etree.Element(_md("EntityDescriptor"), {"entityID": entity_id}, nsmap=_NSMAP)
    descriptor = etree.SubElement(
        root,
        _md("IDPSSODescriptor"),
        {"protocolSupportEnumeration": SAML2_PROTOCOL, "WantAuthnRequestsSigned": "true"},
    )
    descriptor.append(_key_descriptor("signing", signing_certificate))
    encryption = _key_descriptor("encryption", encryption_certificate)
    encryption.extend(_encryption_method(algorithm) for algorithm in ENCRYPTION_METHODS)
    descriptor.append(encryption)
    _add_services(descriptor, "SingleLogoutService", slo_url)
    for name_format in (NAMEID_PERSISTENT, NAMEID_TRANSIENT):
        etree.SubElement(descriptor, _md("NameIDFormat")).text = name_format
    _add_services(descriptor, "SingleSignOnService", sso_url)
    descriptor.extend(_attribute(name, friendly) for name, friendly in attributes)
    # Stable across instances, as the rest; the ID only has to be unique within the document.
    root.set("ID", "_" + hashlib.sha256(etree.tostring(root, method="c14n")).hexdigest())
    return root


def signed_idp_metadata(
    entity_id: str,
    *,
    sso_url: str,
    slo_url: str,
    signing_key: rsa.RSAPrivateKey,
    signing_certificate: x509.Certificate,
    encryption_certificate: x509.Certificate,
    attributes: list[tuple[str, str]],
) -> bytes:
    """Our metadata, signed with RSA-SHA256 (deterministic) and serialised as UTF-8 XML."""
    root = idp_metadata(
        entity_id,
        sso_url=sso_url,
        slo_url=slo_url,
        signing_certificate=signing_certificate,
        encryption_certificate=encryption_certificate,
        attributes=attributes,
    )
    etree.indent(root)  # before signing: whitespace is part of what is signed
    signed = sign(root, signing_key, signing_certificate, RSA_SHA256)
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def _md(local: str) -> str:
    return qname(MD, local)


def _key_descriptor(use: str, certificate: x509.Certificate) -> etree._Element:
    descriptor = etree.Element(_md("KeyDescriptor"), {"use": use})
    key_info = etree.SubElement(descriptor, qname(DS, "KeyInfo"))
    x509_data = etree.SubElement(key_info, qname(DS, "X509Data"))
    etree.SubElement(x509_data, qname(DS, "X509Certificate")).text = certificate_base64(certificate)
    return descriptor


def _encryption_method(algorithm: str) -> etree._Element:
    method = etree.Element(_md("EncryptionMethod"), {"Algorithm": algorithm})
    if algorithm in (RSA_OAEP, RSA_OAEP_MGF1P):
        # XML Encryption 1.1 §5.5.2: without DigestMethod OAEP would mean SHA-1.
        etree.SubElement(method, qname(DS, "DigestMethod"), {"Algorithm": SHA256})
    if algorithm == RSA_OAEP:
        etree.SubElement(method, qname(XENC11, "MGF"), {"Algorithm": MGF1_SHA256})
    return method


def _add_services(descriptor: etree._Element, local: str, location: str) -> None:
    for binding in (BINDING_REDIRECT, BINDING_POST):
        etree.SubElement(descriptor, _md(local), {"Binding": binding, "Location": location})


def _attribute(name: str, friendly_name: str) -> etree._Element:
    attributes = {"NameFormat": ATTRNAME_FORMAT_URI, "Name": name, "FriendlyName": friendly_name}
    return etree.Element(qname(SAML, "Attribute"), attributes)


# --- reading an SP's metadata ---------------------------------------------------------------


def parse_sp_metadata(data: bytes) -> SpMetadata:
    """The parts of an SP's metadata we use; MetadataError when it cannot be used."""
    try:
        entity = _sp_entity(parse(data))
        return _sp_metadata(entity, _sp_descriptor(entity))
    except XMLRejected as error:
        raise MetadataError(f"not usable SAML metadata: {error}") from None


def _sp_entity(root: etree._Element) -> etree._Element:
    if root.tag == _md("EntityDescriptor"):
        return root
    if root.tag != _md("EntitiesDescriptor"):
        raise MetadataError("not SAML metadata: expected md:EntityDescriptor")
    service_providers = [
        entity
        for entity in root.iter(_md("EntityDescriptor"))
        if find(entity, "md:SPSSODescriptor") is not None
    ]
    if len(service_providers) != 1:
        raise MetadataError("the md:EntitiesDescriptor must hold exactly one service provider")
    return service_providers[0]


def _sp_descriptor(entity: etree._Element) -> etree._Element:
    for descriptor in find_all(entity, "md:SPSSODescriptor"):
        if SAML2_PROTOCOL in descriptor.get("protocolSupportEnumeration", "").split():
            return descriptor
    raise MetadataError("the metadata has no md:SPSSODescriptor for SAML 2.0")


def _sp_metadata(entity: etree._Element, descriptor: etree._Element) -> SpMetadata:
    entity_id = (entity.get("entityID") or "").strip()
    if not entity_id:
        raise MetadataError("the md:EntityDescriptor has no entityID")
    if len(entity_id) > 1024:  # SAML core §8.3.6
        raise MetadataError("the entityID is longer than 1024 characters")
    signing, encryption = _certificates(descriptor)
    return SpMetadata(
        entity_id=entity_id,
        name=_display_name(entity, descriptor),
        assertion_consumer_services=_assertion_consumer_services(descriptor),
        single_logout_services=_endpoints(descriptor, "SingleLogoutService"),
        signing_certificates=signing,
        encryption_certificates=encryption,
        authn_requests_signed=_flag(descriptor, "AuthnRequestsSigned"),
        want_assertions_signed=_flag(descriptor, "WantAssertionsSigned"),
    )


def _assertion_consumer_services(descriptor: etree._Element) -> tuple[Endpoint, ...]:
    services = _endpoints(descriptor, "AssertionConsumerService")
    if not any(service.binding == BINDING_POST for service in services):
        # Our responses always go by POST (Web Browser SSO profile §4.1.2 forbids Redirect).
        raise MetadataError("the metadata has no AssertionConsumerService with HTTP-POST")
    return services


def _endpoints(descriptor: etree._Element, local: str) -> tuple[Endpoint, ...]:
    return tuple(
        _endpoint(element, local)
        for element in find_all(descriptor, f"md:{local}")
        if element.get("Binding") in _SP_BINDINGS
    )


def _endpoint(element: etree._Element, local: str) -> Endpoint:
    response_location = element.get("ResponseLocation")
    if response_location is not None:
        _check_url(response_location, local)
    return Endpoint(
        binding=element.get("Binding", ""),
        location=_check_url(element.get("Location", ""), local),
        index=_index(element, local),
        is_default=_flag(element, "isDefault"),
        response_location=response_location,
    )


def _index(element: etree._Element, local: str) -> int | None:
    value = element.get("index")
    if value is None:
        return None
    if not value.isdigit() or len(value) > 5:  # xs:unsignedShort
        raise MetadataError(f"{local} has an invalid index {value!r}")
    return int(value)


def _flag(element: etree._Element, attribute: str) -> bool:
    value = element.get(attribute, "false").strip()
    if value not in ("true", "1", "false", "0"):  # xs:boolean
        raise MetadataError(f"{attribute} must be true or false, not {value!r}")
    return value in ("true", "1")


def _check_url(url: str, where: str) -> str:
    if not url:
        raise MetadataError(f"{where} has no Location")
    if not is_allowed_url(url):
        raise MetadataError(f"{where} location {url!r} is not an absolute https URL")
    return url


def is_allowed_url(url: str) -> bool:
    """An absolute https URL; plain http only to this machine (tests, demo)."""
    if any(character.isspace() or ord(character) < 32 for character in url):
        return False  # urlsplit drops tabs and newlines silently; a browser may not
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # a malformed port raises only when asked for
    except ValueError:
        return False
    if parts.scheme == "https":
        return bool(host)
    return parts.scheme == "http" and host in _LOCAL_HOSTS


def _certificates(descriptor: etree._Element) -> tuple[tuple[str, ...], tuple[str, ...]]:
    signing: list[str] = []
    encryption: list[str] = []
    for key_descriptor in find_all(descriptor, "md:KeyDescriptor"):
        use = key_descriptor.get("use")
        if use not in (None, "signing", "encryption"):
            raise MetadataError(f"a KeyDescriptor has the unknown use {use!r}")
        for certificate in _key_descriptor_certificates(key_descriptor):
            # Without `use` the key serves both purposes (metadata spec §2.4.1.1).
            if use != "encryption" and certificate not in signing:
                signing.append(certificate)
            if use != "signing" and certificate not in encryption:
                encryption.append(certificate)
    return tuple(signing), tuple(encryption)


def _key_descriptor_certificates(key_descriptor: etree._Element) -> list[str]:
    texts = find_all(key_descriptor, "ds:KeyInfo/ds:X509Data/ds:X509Certificate")
    certificates = []
    for element in texts:
        try:
            certificate = load_certificate(text_of(element) or "")
        except ValueError as error:
            raise MetadataError(f"a KeyDescriptor holds a broken certificate: {error}") from None
        certificates.append(certificate_base64(certificate))
    return certificates


def _display_name(entity: etree._Element, descriptor: etree._Element) -> str | None:
    candidates = (
        find_all(descriptor, "md:Organization/md:OrganizationDisplayName")
        + find_all(entity, "md:Organization/md:OrganizationDisplayName")
        + descriptor.findall(f"{_md('Extensions')}/{{{MDUI}}}UIInfo/{{{MDUI}}}DisplayName")
    )
    names = [(element.get(XML_LANG), text_of(element)) for element in candidates]
    names = [(lang, text) for lang, text in names if text]
    german = [text for lang, text in names if lang == "de"]
    return (german or [text for _, text in names] or [None])[0]


# --- fetching -------------------------------------------------------------------------------


def fetch_metadata(url: str, client: httpx.Client) -> bytes:
    """GET metadata: https only, no redirects, 5 s, at most 1 MiB; MetadataError otherwise."""
    if not is_allowed_url(url):
        raise MetadataError("the metadata URL must be an absolute https URL")
    try:
        with client.stream(
            "GET", url, follow_redirects=False, timeout=FETCH_TIMEOUT_SECONDS
        ) as response:
            if response.status_code != httpx.codes.OK:
                raise MetadataError(f"the metadata URL answered HTTP {response.status_code}")
            return _read_capped(response)
    except httpx.HTTPError as error:
        raise MetadataError(f"the metadata could not be fetched ({type(error).__name__})") from None


def _read_capped(response: httpx.Response) -> bytes:
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > MAX_DOCUMENT_BYTES:
            # Checked while streaming, so a huge or endless answer costs at most the cap.
            raise MetadataError(f"the metadata is larger than {MAX_DOCUMENT_BYTES} bytes")
    return bytes(body)
