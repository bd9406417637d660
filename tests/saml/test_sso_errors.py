"""Requests we refuse, and how: a signed SAML error the provider can read once its ACS is
verified, an error page before that; never a 500, never an assertion."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.saml import AuthnContextClassRef
from saml2.samlp import Extensions, RequestedAuthnContext
from sqlalchemy import func, select

from servicekonto.clock import FixedClock
from servicekonto.federation.models import AttributeRelease
from servicekonto.store.engine import Database
from tests.saml.sp import (
    ACS,
    GENDER,
    GIVEN_NAME,
    IDP_SSO,
    ServiceProvider,
    akdb_extension,
    post_target,
    refusal,
    sp_config,
)
from tests.web_helpers import Browser

REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester"
RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
DENIED = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
UNSUPPORTED = "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported"


def releases(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(AttributeRelease)) or 0


def context(ref: str, comparison: str = "minimum") -> RequestedAuthnContext:
    return RequestedAuthnContext(
        authn_context_class_ref=[AuthnContextClassRef(text=ref)], comparison=comparison
    )


@pytest.mark.parametrize(
    ("extensions", "expected"),
    [
        (None, (REQUESTER, UNSUPPORTED, "akdb-extension-missing")),
        (
            akdb_extension(version="1"),
            (REQUESTER, UNSUPPORTED, "akdb-extension-version-unsupported"),
        ),
        (akdb_extension([]), (REQUESTER, UNSUPPORTED, "requested-attributes-empty")),
        (
            akdb_extension([("givenName", True)]),
            (REQUESTER, UNSUPPORTED, "requested-attribute-invalid"),
        ),
        (akdb_extension([(GENDER, True)]), (RESPONDER, DENIED, "required-attribute-unavailable")),
        (
            akdb_extension(methods={"Elster": True, "Benutzername": False, "eID": False}),
            (REQUESTER, UNSUPPORTED, "authn-methods-unsupported"),
        ),
        (
            akdb_extension(display={"BackURL": "javascript:alert(1)"}),
            (REQUESTER, UNSUPPORTED, "display-information-invalid"),
        ),
    ],
    ids=["missing", "version", "empty", "not-an-oid", "gender", "methods", "back-url"],
)
def test_unusable_extension(
    citizen: Browser, sp: ServiceProvider, db: Database, extensions: Any, expected: Any
) -> None:
    sent = sp.request(extensions=extensions if extensions is not None else Extensions())
    answer = citizen.get(sent.path)
    assert answer.status_code == 200
    assert post_target(answer.text) == ACS
    assert refusal(sp, answer.text) == expected
    assert releases(db) == 0


def test_an_optional_attribute_we_do_not_hold_is_left_out(
    citizen: Browser, sp: ServiceProvider
) -> None:
    sent = sp.request(extensions=akdb_extension([(GIVEN_NAME, True), (GENDER, False)]))
    response = sp.consume(citizen.get(sent.path).text)
    names = {a.name for s in response.assertion.attribute_statement for a in s.attribute}
    assert names == {GIVEN_NAME}


def test_unsigned_request_is_refused_when_signing_is_required(
    citizen: Browser, sp: ServiceProvider
) -> None:
    sent = sp.request(sign=False)
    answer = citizen.get(sent.path)
    assert refusal(sp, answer.text) == (REQUESTER, DENIED, "saml-request-not-signed")


def test_request_signed_by_another_key_is_refused(
    citizen: Browser, sp: ServiceProvider, idp_metadata: bytes, tmp_path: Path
) -> None:
    """Someone with the provider's entityID but not its key (the key we trust is in metadata)."""
    directory = tmp_path / "intruder"
    directory.mkdir()
    intruder = ServiceProvider(sp_config(directory, idp_metadata))
    for binding in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
        sent = intruder.request(binding)
        answer = (
            citizen.get(sent.path)
            if sent.form is None
            else citizen.client.post(sent.path, data=sent.form)
        )
        assert refusal(sp, answer.text) == (REQUESTER, DENIED, "saml-request-signature-invalid")


def test_replayed_request_id_is_refused(citizen: Browser, sp: ServiceProvider) -> None:
    sent = sp.request(BINDING_HTTP_POST)
    assert sent.form is not None
    first = citizen.client.post(sent.path, data=sent.form)
    assert sp.consume(first.text).assertion is not None
    again = citizen.client.post(sent.path, data=sent.form)
    assert refusal(sp, again.text) == (REQUESTER, DENIED, "saml-request-replayed")


def test_stale_request_is_refused(citizen: Browser, sp: ServiceProvider, clock: FixedClock) -> None:
    sent = sp.request()
    clock.advance(timedelta(minutes=10))
    assert refusal(sp, citizen.get(sent.path).text) == (REQUESTER, DENIED, "saml-request-expired")


def test_acs_not_in_metadata_gets_an_error_page(citizen: Browser, sp: ServiceProvider) -> None:
    sent = sp.request(assertion_consumer_service_url="https://evil.example/acs")
    answer = citizen.get(sent.path)
    assert answer.status_code == 400
    assert "evil.example" not in answer.text and "SAMLResponse" not in answer.text


def test_unknown_level_is_no_authn_context(citizen: Browser, sp: ServiceProvider) -> None:
    sent = sp.request(requested_authn_context=context("urn:example:loa:gold"))
    assert refusal(sp, citizen.get(sent.path).text) == (
        RESPONDER,
        "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext",
        "authn-context-unsupported",
    )


def test_passive_request_without_a_session_is_no_passive(
    browser: Browser, sp: ServiceProvider
) -> None:
    sent = sp.request(is_passive="true")
    assert refusal(sp, browser.get(sent.path).text) == (
        RESPONDER,
        "urn:oasis:names:tc:SAML:2.0:status:NoPassive",
        "passive-not-possible",
    )


def test_without_a_session_the_person_logs_in_first(browser: Browser, sp: ServiceProvider) -> None:
    answer = browser.get(sp.request().path)
    assert answer.status_code == 302
    assert answer.headers["location"].startswith("/login?next=/saml/sso/resume/")


def test_force_authn_asks_for_a_new_login(
    citizen: Browser, sp: ServiceProvider, clock: FixedClock
) -> None:
    clock.advance(timedelta(seconds=5))  # the session is older than the request
    answer = citizen.get(sp.request(force_authn="true").path)
    assert answer.headers["location"].startswith("/login?next=/saml/sso/resume/")
    resume = answer.headers["location"].removeprefix("/login?next=")
    assert citizen.login(next=resume).headers["location"] == resume
    assert sp.consume(citizen.get(resume).text).assertion is not None


def test_cancelled_step_up_is_authn_failed(citizen: Browser, sp: ServiceProvider) -> None:
    answer = citizen.get(sp.request(requested_authn_context=context("STORK-QAA-Level-3")).path)
    step_up = answer.headers["location"]
    assert step_up.startswith("/interaction/step-up/")
    page = citizen.get(step_up).text
    deny = f"/saml/sso/deny/{step_up.rsplit('/', 1)[1]}?reason=level"
    assert deny in page
    assert refusal(sp, citizen.get(deny).text) == (
        RESPONDER,
        "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed",
        "authentication-cancelled",
    )


def test_garbage_gets_an_error_page_not_a_500(browser: Browser) -> None:
    for query in ("SAMLRequest=%%%", "SAMLRequest=" + base64.b64encode(b"x" * 50).decode(), ""):
        assert browser.get(f"/saml/sso?{query}").status_code == 400
    assert browser.client.post("/saml/sso", data={"SAMLRequest": "bm90IHhtbA=="}).status_code == 400
    assert IDP_SSO.endswith("/saml/sso")
