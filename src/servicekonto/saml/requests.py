"""Reading an AuthnRequest: decode the binding, check the signature against the provider's
metadata, then read only what the signature covered.

Order matters (SAML profiles §4.1.4.1, bindings §3.4.4.1 and §3.5.4): the Issuer is read
from the untrusted message only to find the provider's certificates; once the signature is
verified, every value is read again from the element the verifier returned, so a wrapped or
duplicated element (XML signature wrapping) can never be the one we act on.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from lxml import etree

from servicekonto.saml.akdb import AkdbError
from servicekonto.saml.certificates import load_certificate
from servicekonto.saml.metadata import Endpoint
from servicekonto.saml.service import RegisteredProvider
from servicekonto.saml.signing import SignatureInvalid, decode_redirect, verify, verify_redirect
from servicekonto.saml.xml import (
    BINDING_POST,
    DS,
    SAMLP,
    XMLRejected,
    find,
    find_all,
    parse,
    qname,
    text_of,
    xs_boolean,
)

MAX_INFLATED_BYTES = 256 * 1024
# How old an AuthnRequest may be, and how far clocks may disagree (SAML profiles §4.1.4.1
# leaves both to the IdP; five minutes is what SPs' defaults expect).
MAX_REQUEST_AGE = timedelta(minutes=5)
CLOCK_SKEW = timedelta(seconds=90)
NAME_ID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAME_ID_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
NAME_ID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
NAME_ID_FORMATS = frozenset({NAME_ID_PERSISTENT, NAME_ID_TRANSIENT, NAME_ID_UNSPECIFIED})


class Unreadable(Exception):  # noqa: N818 - a verdict on the message, shown on an error page
    """Nothing can be answered to the provider: unknown, undecodable or no verified ACS."""


@dataclass(frozen=True)
class IncomingMessage:
    binding: str  # BINDING_REDIRECT or BINDING_POST
    saml_request: str  # the encoded message (SAMLRequest, or SAMLResponse at the logout endpoint)
    relay_state: str | None
    raw_query: str = ""  # the redirect binding's signature covers the query as sent
    signed_redirect: bool = False
    parameter: str = "SAMLRequest"


@dataclass(frozen=True)
class AuthnRequest:
    """A verified request, with the endpoint the answer may go to."""

    request_id: str
    issuer: str
    issue_instant: datetime
    destination: str | None
    acs: Endpoint
    force_authn: bool
    is_passive: bool
    name_id_format: str | None
    class_refs: tuple[str, ...]
    comparison: str
    extensions: etree._Element | None
    signed: bool


@dataclass(frozen=True)
class Received:
    """The first reading: which provider, and where its answers may go."""

    root: etree._Element
    issuer: str
    acs: Endpoint


def decode(message: IncomingMessage, expected: str = "AuthnRequest") -> etree._Element:
    try:
        if message.binding == BINDING_POST:
            raw = base64.b64decode(message.saml_request, validate=False)
        else:
            raw = decode_redirect(message.saml_request, MAX_INFLATED_BYTES)
    except (ValueError, binascii.Error):
        raise Unreadable("The SAML request could not be decoded.") from None
    try:
        root = parse(raw)
    except XMLRejected as rejected:
        raise Unreadable(f"The SAML request is not acceptable XML ({rejected}).") from None
    if any(isinstance(node, etree._Comment) for node in root.iter()):
        # A comment splits a name into two text nodes that parsers join or cut differently
        # (the NameID-comment attack); a protocol message has no need of one.
        raise Unreadable("Comments are not allowed inside a SAML message.")
    if root.tag != qname(SAMLP, expected) or root.get("Version") != "2.0":
        raise Unreadable(f"The message is not a SAML 2.0 {expected}.")
    return root


def claimed_issuer(root: etree._Element) -> str:
    try:
        issuer = text_of(find(root, "saml:Issuer"))
    except XMLRejected:
        issuer = None
    if not issuer:
        raise Unreadable("The message names no Issuer.")
    return issuer


def consumer_service(root: etree._Element, provider: RegisteredProvider) -> Endpoint:
    """The ACS from the request only when the metadata lists it; else the default.

    An answer carries an assertion, so it goes nowhere the provider did not register
    (SAML profiles §4.1.4.1: the IdP MUST verify the ACS against metadata).
    """
    services = [
        e for e in provider.metadata.assertion_consumer_services if e.binding == BINDING_POST
    ]
    url, index = root.get("AssertionConsumerServiceURL"), root.get("AssertionConsumerServiceIndex")
    binding = root.get("ProtocolBinding")
    if binding is not None and binding != BINDING_POST:
        raise Unreadable("Only the HTTP-POST binding is supported for the response.")
    if url is not None:
        found = next((e for e in services if e.location == url), None)
    elif index is not None:
        found = next((e for e in services if str(e.index) == index.strip()), None)
    else:
        found = next((e for e in services if e.is_default), services[0] if services else None)
    if found is None:
        raise Unreadable("The AssertionConsumerService is not in the provider's metadata.")
    return found


def verified_root(
    message: IncomingMessage, root: etree._Element, provider: RegisteredProvider
) -> tuple[etree._Element, bool]:
    """The element to read from and whether it was signed; AkdbError when it must be signed."""
    certificates = _certificates(provider)
    try:
        if message.signed_redirect:
            verify_redirect(message.raw_query, certificates)
            return root, True
        if message.binding == BINDING_POST and find(root, "ds:Signature") is not None:
            return verify(root, certificates), True
    except SignatureInvalid:
        raise AkdbError("saml-request-signature-invalid") from None
    if any(True for _ in root.iter(qname(DS, "Signature"))):
        # A signature somewhere else than on the request itself covers something else.
        raise AkdbError("saml-request-signature-invalid")
    if provider.require_signed_requests:
        raise AkdbError("saml-request-not-signed")
    return root, False


def _certificates(provider: RegisteredProvider) -> list[x509.Certificate]:
    return [load_certificate(value) for value in provider.metadata.signing_certificates]


def read(root: etree._Element, acs: Endpoint, signed: bool) -> AuthnRequest:
    """The request's values, from the verified element only."""
    context = find(root, "samlp:RequestedAuthnContext")
    refs = (
        tuple(text_of(e) or "" for e in find_all(context, "saml:AuthnContextClassRef"))
        if (context is not None)
        else ()
    )
    policy = find(root, "samlp:NameIDPolicy")
    return AuthnRequest(
        request_id=_required(root, "ID"),
        issuer=claimed_issuer(root),
        issue_instant=_instant(_required(root, "IssueInstant")),
        destination=root.get("Destination"),
        acs=acs,
        force_authn=xs_boolean(root.get("ForceAuthn")),
        is_passive=xs_boolean(root.get("IsPassive")),
        name_id_format=policy.get("Format") if policy is not None else None,
        class_refs=refs,
        comparison=(context.get("Comparison") if context is not None else None) or "exact",
        extensions=find(root, "samlp:Extensions"),
        signed=signed,
    )


def check_fresh(request: AuthnRequest, now: datetime) -> None:
    if request.issue_instant > now + CLOCK_SKEW:
        raise AkdbError("saml-request-expired")
    if request.issue_instant < now - MAX_REQUEST_AGE - CLOCK_SKEW:
        raise AkdbError("saml-request-expired")


def fresh_until(request: AuthnRequest) -> datetime:
    """How long the ID must be remembered: as long as the request would count as fresh."""
    return request.issue_instant + MAX_REQUEST_AGE + 2 * CLOCK_SKEW


def check_destination(request: AuthnRequest, endpoint: str) -> None:
    # SAML bindings §3.4.5.2 / §3.5.5.2: a signed request MUST carry Destination, and it
    # must be where it arrived, so a request signed for another IdP cannot be replayed here.
    if request.destination is None and not request.signed:
        return
    if request.destination != endpoint:
        raise AkdbError("saml-request-destination-invalid")


def check_name_id_policy(request: AuthnRequest) -> None:
    if request.name_id_format is not None and request.name_id_format not in NAME_ID_FORMATS:
        raise AkdbError("name-id-policy-unsupported")


def _required(root: etree._Element, name: str) -> str:
    value = root.get(name)
    if not value or len(value) > 200:
        raise Unreadable(f"The AuthnRequest has no usable {name}.")
    return value


def _instant(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Unreadable("The AuthnRequest's IssueInstant is not a date and time.") from None
    if parsed.tzinfo is None:
        raise Unreadable("The AuthnRequest's IssueInstant has no time zone (SAML core §1.3.3).")
    return parsed
