"""Building our answers: a Response with a signed Assertion (encrypted when the provider's
metadata has an encryption key), or a Response with an error status, itself signed.

Built as lxml trees and signed with signxml (STYLE: no string templates), in the element order
the SAML schema prescribes, so any conformant SP reads them (SAML core §2, §3.2.2).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from servicekonto.saml.attributes import URI_FORMAT, Released
from servicekonto.saml.encryption import encrypt_assertion
from servicekonto.saml.signing import sign
from servicekonto.saml.xml import AKDB, SAML, SAMLP, XS, XSI, qname
from servicekonto.trust.vocabularies import Vocabulary, acr_value

# SAML core §3.2.2.2: the status codes.
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester"
RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
AUTHN_FAILED = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
REQUEST_DENIED = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
NO_PASSIVE = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
NO_AUTHN_CONTEXT = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"
INVALID_NAME_ID_POLICY = "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"
REQUEST_UNSUPPORTED = "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
# How long the provider may accept the assertion (SAML profiles §4.1.4.2: short-lived bearer).
ASSERTION_LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True)
class Signer:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    algorithm: str


@dataclass(frozen=True)
class Recipient:
    """Whom the answer is for: the provider, its verified ACS, the request it answers."""

    entity_id: str
    acs_url: str
    in_response_to: str | None


@dataclass(frozen=True)
class Subject:
    name_id: str
    name_id_format: str
    session_index: str
    authn_instant: datetime
    class_ref: str


@dataclass(frozen=True)
class Status:
    code: str  # REQUESTER or RESPONDER
    second: str | None
    message: str
    detail_code: str | None = None  # the AKDB error code, when EnableStatusDetail asked


def new_id() -> str:
    # xs:ID must be an NCName (a letter or underscore first); 128 bits of randomness.
    return "_" + secrets.token_hex(16)


def success(
    issuer: str,
    recipient: Recipient,
    subject: Subject,
    attributes: list[Released],
    *,
    now: datetime,
    signer: Signer,
    encryption_certificate: x509.Certificate | None,
) -> bytes:
    response = _response(issuer, recipient, now)
    add_status(response, Status(SUCCESS, None, ""))
    assertion = _assertion(issuer, recipient, subject, attributes, now)
    signed = sign(assertion, signer.key, signer.certificate, signer.algorithm)
    if encryption_certificate is not None:
        signed = encrypt_assertion(signed, encryption_certificate)
    response.append(signed)
    return _signed_bytes(response, signer)


def failure(
    issuer: str, recipient: Recipient, status: Status, now: datetime, signer: Signer
) -> bytes:
    response = _response(issuer, recipient, now)
    add_status(response, status)
    return _signed_bytes(response, signer)


def _signed_bytes(response: etree._Element, signer: Signer) -> bytes:
    signed = sign(response, signer.key, signer.certificate, signer.algorithm)
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def _response(issuer: str, recipient: Recipient, now: datetime) -> etree._Element:
    return protocol_message(
        "Response",
        recipient.acs_url,
        issuer,
        now,
        in_response_to=recipient.in_response_to,
    )


def protocol_message(
    name: str,
    destination: str,
    issuer: str,
    now: datetime,
    message_id: str | None = None,
    *,
    in_response_to: str | None = None,
) -> etree._Element:
    """A samlp message with the attributes and Issuer every one has (SAML core §3.2.1, §3.2.2)."""
    message = etree.Element(qname(SAMLP, name), nsmap={"samlp": SAMLP, "saml": SAML})
    message.set("ID", message_id or new_id())
    message.set("Version", "2.0")
    message.set("IssueInstant", _time(now))
    message.set("Destination", destination)
    if in_response_to:
        message.set("InResponseTo", in_response_to)
    _issuer(message, issuer)
    return message


def _issuer(parent: etree._Element, issuer: str) -> None:
    element = etree.SubElement(parent, qname(SAML, "Issuer"))
    element.set("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:entity")
    element.text = issuer


def add_status(response: etree._Element, status: Status) -> None:
    element = etree.SubElement(response, qname(SAMLP, "Status"))
    code = etree.SubElement(element, qname(SAMLP, "StatusCode"), Value=status.code)
    if status.second:
        etree.SubElement(code, qname(SAMLP, "StatusCode"), Value=status.second)
    if status.message:
        etree.SubElement(element, qname(SAMLP, "StatusMessage")).text = status.message
    if status.detail_code:
        detail = etree.SubElement(element, qname(SAMLP, "StatusDetail"))
        error = etree.SubElement(detail, qname(AKDB, "ErrorCode"), nsmap={"akdb": AKDB})
        error.text = status.detail_code


def _assertion(
    issuer: str,
    recipient: Recipient,
    subject: Subject,
    attributes: list[Released],
    now: datetime,
) -> etree._Element:
    assertion = etree.Element(
        qname(SAML, "Assertion"), nsmap={"saml": SAML, "xs": XS, "xsi": XSI, "akdb": AKDB}
    )
    assertion.set("ID", new_id())
    assertion.set("Version", "2.0")
    assertion.set("IssueInstant", _time(now))
    _issuer(assertion, issuer)
    _subject(assertion, issuer, recipient, subject, now)
    _conditions(assertion, recipient, now)
    _authn_statement(assertion, subject)
    if attributes:
        _attribute_statement(assertion, attributes)
    return assertion


def _subject(
    assertion: etree._Element, issuer: str, recipient: Recipient, subject: Subject, now: datetime
) -> None:
    element = etree.SubElement(assertion, qname(SAML, "Subject"))
    name_id = etree.SubElement(element, qname(SAML, "NameID"))
    name_id.set("Format", subject.name_id_format)
    name_id.set("NameQualifier", issuer)
    name_id.set("SPNameQualifier", recipient.entity_id)
    name_id.text = subject.name_id
    confirmation = etree.SubElement(element, qname(SAML, "SubjectConfirmation"), Method=BEARER)
    data = etree.SubElement(confirmation, qname(SAML, "SubjectConfirmationData"))
    data.set("NotOnOrAfter", _time(now + ASSERTION_LIFETIME))
    data.set("Recipient", recipient.acs_url)
    if recipient.in_response_to:
        data.set("InResponseTo", recipient.in_response_to)


def _conditions(assertion: etree._Element, recipient: Recipient, now: datetime) -> None:
    conditions = etree.SubElement(assertion, qname(SAML, "Conditions"))
    conditions.set("NotBefore", _time(now))
    conditions.set("NotOnOrAfter", _time(now + ASSERTION_LIFETIME))
    restriction = etree.SubElement(conditions, qname(SAML, "AudienceRestriction"))
    etree.SubElement(restriction, qname(SAML, "Audience")).text = recipient.entity_id


def _authn_statement(assertion: etree._Element, subject: Subject) -> None:
    statement = etree.SubElement(assertion, qname(SAML, "AuthnStatement"))
    statement.set("AuthnInstant", _time(subject.authn_instant))
    statement.set("SessionIndex", subject.session_index)
    context = etree.SubElement(statement, qname(SAML, "AuthnContext"))
    etree.SubElement(context, qname(SAML, "AuthnContextClassRef")).text = subject.class_ref


def _attribute_statement(assertion: etree._Element, attributes: list[Released]) -> None:
    statement = etree.SubElement(assertion, qname(SAML, "AttributeStatement"))
    for released in attributes:
        attribute = etree.SubElement(statement, qname(SAML, "Attribute"))
        attribute.set("Name", released.attribute.oid)
        attribute.set("NameFormat", URI_FORMAT)
        attribute.set("FriendlyName", released.attribute.friendly_name)
        # Each value's own level (DESIGN.md), as the federal profile carries it.
        trust = acr_value(released.trust, Vocabulary.AKDB) or "UNTERGEORDNET"
        attribute.set(qname(AKDB, "TrustLevel"), trust)
        value = etree.SubElement(attribute, qname(SAML, "AttributeValue"))
        value.set(qname(XSI, "type"), "xs:string")
        value.text = released.value


def _time(moment: datetime) -> str:
    # SAML core §1.3.3: xs:dateTime in UTC with a Z; whole seconds are what SPs expect.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
