"""Every trust level over SAML, with encrypted and with plain assertions, checked by pysaml2.

One person goes from a fresh account to the eID card, as in tests/test_trust_journey.py; after
each step a procedure asks for that level and the independent SP verifies what it receives:
the AuthnContextClassRef in the vocabulary asked, and each attribute's own akdb:TrustLevel.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from lxml import etree
from saml2.saml import AuthnContextClassRef
from saml2.samlp import RequestedAuthnContext
from sqlalchemy import select

from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.pinletters.issuing import SEAL_PURPOSE, unseal_pin
from servicekonto.pinletters.models import PinLetter
from servicekonto.registry.csv_format import load_packaged_residents
from servicekonto.registry.importer import import_residents
from servicekonto.security.encryption import SecretBox
from servicekonto.store.engine import Database
from tests.conftest import TEST_SECRET_KEY
from tests.saml.sp import (
    BIRTHDATE,
    BPK2,
    GIVEN_NAME,
    LEVEL,
    ServiceProvider,
    akdb_extension,
    register,
    sp_config,
    sp_metadata,
)
from tests.test_eid_login import LENA, eid_world
from tests.web_helpers import Browser

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
AKDB = "https://www.akdb.de/request/2018/09"
ATTRIBUTES = [(GIVEN_NAME, True), (BIRTHDATE, False), (BPK2, True), (LEVEL, True)]


def ask(browser: Browser, sp: ServiceProvider, class_ref: str) -> Any:
    """A request at `class_ref` (Comparison minimum); pysaml2's verified response."""
    context = RequestedAuthnContext(
        authn_context_class_ref=[AuthnContextClassRef(text=class_ref)], comparison="minimum"
    )
    sent = sp.request(extensions=akdb_extension(ATTRIBUTES), requested_authn_context=context)
    answer = browser.get(sent.path)
    assert answer.status_code == 200, answer.headers.get("location", answer.text)
    return sp.consume(answer.text)


def values(response: Any) -> dict[str, list[str]]:
    """Attribute values by OID, from the assertion pysaml2 verified (and decrypted)."""
    return {
        attribute.name: [value.text for value in attribute.attribute_value]
        for statement in response.assertion.attribute_statement
        for attribute in statement.attribute
    }


def achieved(response: Any) -> tuple[str, dict[str, str]]:
    """The class reference and each attribute's TrustLevel, read from the verified assertion."""
    assertion = etree.fromstring(str(response.assertion).encode())
    ref = assertion.findtext(f".//{{{SAML}}}AuthnContextClassRef")
    levels = {
        attribute.get("FriendlyName"): attribute.get(f"{{{AKDB}}}TrustLevel")
        for attribute in assertion.iter(f"{{{SAML}}}Attribute")
    }
    return str(ref), levels


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
def test_every_level(
    settings: Settings, db: Database, clock: FixedClock, tmp_path: Path, encrypted: bool
) -> None:
    import_residents(db, [r for r in load_packaged_residents() if r.resident_id == "R000001"])
    world = eid_world(settings, db, clock)
    config = sp_config(
        tmp_path, Browser(world.app).get("/saml/metadata").content, encrypted=encrypted
    )
    register(db, clock, sp_metadata(config, encrypted=encrypted))
    sp = ServiceProvider(config)

    # 1 — registered, password: basic; the name is only typed, so UNTERGEORDNET.
    lena = world.person(**LENA)
    first = ask(lena, sp, "STORK-QAA-Level-1")
    assert values(first)[GIVEN_NAME] == ["Lena"]
    assert achieved(first) == (
        "STORK-QAA-Level-1",
        {
            "givenName": "UNTERGEORDNET",
            "birthdate": "UNTERGEORDNET",
            "bPK2": "UNTERGEORDNET",
            "EID-CITIZEN-QAA-LEVEL": "UNTERGEORDNET",
        },
    )
    assert values(first)[LEVEL] == ["STORK-QAA-Level-1"]
    assert BIRTHDATE in values(first)

    # 2 — registry match and PIN letter: the name is the registry's; asked in BSI words.
    with db.session() as session:
        letter = session.scalars(select(PinLetter)).one()
        pin = unseal_pin(letter, SecretBox(TEST_SECRET_KEY, SEAL_PURPOSE))
    assert pin is not None
    assert lena.post("/account/pin", {"pin": pin}).status_code == 303
    second = ask(lena, sp, "http://bsi.bund.de/eID/LoA/normal")
    ref, levels = achieved(second)
    assert ref == "http://bsi.bund.de/eID/LoA/normal"
    assert levels["givenName"] == "SUBSTANTIELL" and levels["bPK2"] == "NORMAL"

    # 3 — an authenticator app and a login with it: substantial, in eIDAS words.
    seed, _codes = lena.enrol_totp(clock.now())
    lena.logout()
    clock.advance(timedelta(seconds=30))
    lena.login(email=LENA["email"])
    code = pyotp.TOTP(seed).at(clock.now())
    assert lena.post("/login/second-factor", {"method": "totp", "code": code}).status_code == 303
    third = ask(lena, sp, "http://eidas.europa.eu/LoA/substantial")
    assert achieved(third)[0] == "http://eidas.europa.eu/LoA/substantial"

    # 4 — level 4 steps up to the card and comes back to the SAML request.
    context = RequestedAuthnContext(
        authn_context_class_ref=[AuthnContextClassRef(text="STORK-QAA-Level-4")]
    )
    sent = sp.request(extensions=akdb_extension(ATTRIBUTES), requested_authn_context=context)
    step_up = lena.get(sent.path).headers["location"]
    assert step_up.startswith("/interaction/step-up/")
    resume = "/saml/sso/resume/" + step_up.rsplit("/", 1)[1]
    assert resume in lena.get(step_up).text, "the step-up page leads back to the SAML request"
    assert world.run_eid(lena, "bind", "lena", next=resume).headers["location"] == resume
    fourth = sp.consume(lena.get(resume).text)
    ref, levels = achieved(fourth)
    assert ref == "STORK-QAA-Level-4"
    assert set(levels.values()) == {"HOCH"}
    assert values(fourth)[BPK2] == values(first)[BPK2], "the pseudonym is stable for the provider"
    assert fourth.name_id.text == first.name_id.text
