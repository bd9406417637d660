"""Attacks on the SSO endpoint that must fail: signature wrapping, altered content, DTD tricks,
comments inside names. Each mutates a request pysaml2 really signed."""

from __future__ import annotations

import base64
import copy
import zlib
from urllib.parse import quote

import pytest
from lxml import etree
from saml2 import BINDING_HTTP_POST

from tests.saml.sp import ServiceProvider, akdb_extension, post_target, refusal
from tests.web_helpers import Browser

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
DENIED = (
    "urn:oasis:names:tc:SAML:2.0:status:Requester",
    "urn:oasis:names:tc:SAML:2.0:status:RequestDenied",
)
BPK2 = "urn:oid:1.3.6.1.4.1.25484.494450.3"


def signed_request(sp: ServiceProvider) -> tuple[etree._Element, dict[str, str]]:
    sent = sp.request(BINDING_HTTP_POST)
    assert sent.form is not None
    return etree.fromstring(base64.b64decode(sent.form["SAMLRequest"])), sent.form


def post(browser: Browser, root: etree._Element | bytes, form: dict[str, str]) -> str:
    data = root if isinstance(root, bytes) else etree.tostring(root)
    answer = browser.client.post(
        "/saml/sso", data={**form, "SAMLRequest": base64.b64encode(data).decode()}
    )
    assert answer.status_code in {200, 400}, answer.text
    assert "<saml:Assertion" not in answer.text
    return str(answer.text)


def wrapped_in_extensions(original: etree._Element) -> etree._Element:
    """XSW: an unsigned evil request that carries the signed one inside its Extensions."""
    evil = copy.deepcopy(original)
    evil.set("ID", "_evil")
    evil.remove(evil.find(f"{{{DS}}}Signature"))
    evil.find(f"{{{SAMLP}}}Extensions").append(copy.deepcopy(original))
    return evil


def evil_with_same_id(original: etree._Element) -> etree._Element:
    """XSW: the evil request takes the signed one's ID; the signed one hides in ds:Object."""
    evil = copy.deepcopy(original)
    signature = evil.find(f"{{{DS}}}Signature")
    holder = etree.SubElement(signature, f"{{{DS}}}Object")
    holder.append(copy.deepcopy(original))
    evil.set("ForceAuthn", "false")
    evil.set("AssertionConsumerServiceIndex", "0")
    return evil


def altered_after_signing(original: etree._Element) -> etree._Element:
    evil = copy.deepcopy(original)
    attribute = evil.find(f".//{{{'https://www.akdb.de/request/2018/09'}}}RequestedAttribute")
    attribute.set("Name", BPK2)
    return evil


def signature_moved_to_extensions(original: etree._Element) -> etree._Element:
    evil = copy.deepcopy(original)
    signature = evil.find(f"{{{DS}}}Signature")
    evil.remove(signature)
    evil.find(f"{{{SAMLP}}}Extensions").append(signature)
    return evil


@pytest.mark.parametrize(
    "attack",
    [
        wrapped_in_extensions,
        evil_with_same_id,
        altered_after_signing,
        signature_moved_to_extensions,
    ],
)
def test_signature_wrapping_fails(citizen: Browser, sp: ServiceProvider, attack: object) -> None:
    original, form = signed_request(sp)
    page = post(citizen, attack(original), form)  # type: ignore[operator]
    top, second, code = refusal(sp, page)
    assert (top, second) == DENIED
    assert code == "saml-request-signature-invalid"


def test_the_untouched_request_is_accepted(citizen: Browser, sp: ServiceProvider) -> None:
    original, form = signed_request(sp)
    assert sp.consume(post(citizen, original, form)).assertion is not None


def test_comment_inside_the_issuer_is_refused(citizen: Browser, sp: ServiceProvider) -> None:
    original, form = signed_request(sp)
    issuer = original.find(f"{{{SAML}}}Issuer")
    text = issuer.text
    issuer.text = text[:8]
    issuer.append(etree.Comment("x"))
    issuer[-1].tail = text[8:]
    page = post(citizen, original, form)
    assert "SAMLResponse" not in page


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_a" '
        b'Version="2.0" IssueInstant="2026-01-01T00:00:00Z">&x;</samlp:AuthnRequest>',
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
        b'<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>'
        b'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&e;&e;&e;'
        b"</samlp:AuthnRequest>",
        b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/dtd"><r/>',
    ],
    ids=["xxe", "billion-laughs", "external-dtd"],
)
def test_dtd_tricks_get_an_error_page(browser: Browser, document: bytes) -> None:
    answer = browser.client.post(
        "/saml/sso", data={"SAMLRequest": base64.b64encode(document).decode()}
    )
    assert answer.status_code == 400
    assert "root:" not in answer.text and "aaaaaaaaaa" not in answer.text


def test_deflate_bomb_is_refused(browser: Browser) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    bomb = compressor.compress(b"<a>" + b" " * 50_000_000) + compressor.flush()
    answer = browser.get("/saml/sso?SAMLRequest=" + quote(base64.b64encode(bomb).decode()))
    assert answer.status_code == 400


def test_post_target_is_only_the_registered_acs(citizen: Browser, sp: ServiceProvider) -> None:
    sent = sp.request(extensions=akdb_extension())
    assert post_target(citizen.get(sent.path).text).startswith("https://fachverfahren.example.de/")
