"""Web-browser SSO end to end, checked by pysaml2 + xmlsec1 as the procedure."""

from __future__ import annotations

import base64
import unicodedata
from pathlib import Path

from lxml import etree
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from sqlalchemy import select, update

from servicekonto.accounts.models import Person
from servicekonto.audit.models import AuditEvent
from servicekonto.clock import FixedClock
from servicekonto.federation.models import AttributeRelease
from servicekonto.saml.attributes import ATTRIBUTES, NOT_HELD
from servicekonto.store.engine import Database
from tests.saml.sp import (
    GIVEN_NAME,
    SP_HOST,
    ServiceProvider,
    akdb_extension,
    posted_fields,
    register,
    sp_config,
    sp_metadata,
    unique_entity,
)
from tests.web_helpers import Browser

REGISTERED_GIVEN_NAMES = "Anna Maria"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


def given_name(response: object) -> list[str]:
    statements = response.assertion.attribute_statement  # type: ignore[attr-defined]
    return [
        value.text
        for statement in statements
        for attribute in statement.attribute
        if attribute.name == GIVEN_NAME
        for value in attribute.attribute_value
    ]


def test_redirect_binding_round_trip_with_encrypted_assertion(
    citizen: Browser, sp: ServiceProvider
) -> None:
    sent = sp.request(BINDING_HTTP_REDIRECT, relay_state="zurück-zum-antrag")
    answer = citizen.get(sent.path)
    assert answer.status_code == 200, answer.text
    fields = posted_fields(answer.text)
    assert fields["RelayState"] == "zurück-zum-antrag"
    raw = etree.fromstring(base64.b64decode(fields["SAMLResponse"]))
    assert raw.find(f"{{{SAML}}}EncryptedAssertion") is not None
    assert raw.find(f"{{{SAML}}}Assertion") is None, "no clear assertion beside the encrypted one"
    assert REGISTERED_GIVEN_NAMES.encode() not in base64.b64decode(fields["SAMLResponse"])
    response = sp.consume(answer.text)
    assert given_name(response) == [REGISTERED_GIVEN_NAMES]
    assert response.in_response_to == sent.request_id
    assert response.assertion.conditions.audience_restriction[0].audience[0].text == sp.entity


def test_post_binding_round_trip(citizen: Browser, sp: ServiceProvider) -> None:
    sent = sp.request(BINDING_HTTP_POST)
    assert sent.form is not None
    answer = citizen.client.post(sent.path, data=sent.form)
    assert answer.status_code == 200, answer.text
    assert given_name(sp.consume(answer.text)) == [REGISTERED_GIVEN_NAMES]


def test_release_is_recorded_and_audited_without_values(
    citizen: Browser, sp: ServiceProvider, db: Database
) -> None:
    sp.consume(citizen.get(sp.request().path).text)
    with db.session() as session:
        release = session.scalars(select(AttributeRelease)).one()
        actions = list(session.scalars(select(AuditEvent.action)))
    assert release.client_id == sp.entity
    assert release.attributes == ["givenName"]
    assert "saml_provider.added" in actions
    assert REGISTERED_GIVEN_NAMES not in str(release.attributes)


def test_values_are_nfc(citizen: Browser, sp: ServiceProvider, db: Database) -> None:
    """A name stored decomposed (an import, an old client) still leaves us composed."""
    decomposed = unicodedata.normalize("NFD", "Jürgen")
    assert decomposed != "Jürgen"
    with db.session() as session:
        session.execute(update(Person).values(given_names=decomposed))
        session.commit()
    names = given_name(sp.consume(citizen.get(sp.request().path).text))
    assert names == ["Jürgen"] and unicodedata.is_normalized("NFC", names[0])


def test_consent_page_shows_the_display_information(
    citizen: Browser, idp_metadata: bytes, tmp_path: Path, db: Database, clock: FixedClock
) -> None:
    entity = unique_entity()
    config = sp_config(tmp_path, idp_metadata, entity=entity)
    register(db, clock, sp_metadata(config), consent_required=True)
    sp = ServiceProvider(config)
    display = {
        "OrganizationDisplayName": "Verbandsgemeinde Cochem",
        "OnlineServiceId": "VG-COC-4711",
        "BackURL": f"{SP_HOST}/antrag",
    }
    answer = citizen.get(sp.request(extensions=akdb_extension(display=display)).path)
    consent = answer.headers["location"]
    assert consent.startswith("/interaction/consent/")
    page = citizen.get(consent).text
    assert "Verbandsgemeinde Cochem" in page and "VG-COC-4711" in page
    assert f'href="{SP_HOST}/antrag"' in page
    assert "Vorname" in page
    allowed = citizen.post(consent, {"decision": "allow"})
    resume = allowed.headers["location"]
    assert resume.startswith("/saml/sso/resume/")
    assert given_name(sp.consume(citizen.get(resume).text)) == [REGISTERED_GIVEN_NAMES]
    # Consent is remembered: the next request goes straight through.
    assert (
        citizen.get(sp.request(extensions=akdb_extension(display=display)).path).status_code == 200
    )


def test_every_consent_label_has_words(browser: Browser) -> None:
    page = browser.get("/login")
    assert page.status_code == 200
    catalogs = [
        Path(__file__).parents[2]
        / "src/servicekonto/i18n/locales"
        / language
        / "LC_MESSAGES/messages.po"
        for language in ("de", "en")
    ]
    for attribute in ATTRIBUTES:
        if attribute.consent_label and attribute.consent_label not in NOT_HELD:
            for catalog in catalogs:
                assert f'msgid "claim.{attribute.consent_label}"' in catalog.read_text()
