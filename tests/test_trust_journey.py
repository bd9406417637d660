"""One person from an empty account to level 4 through the hosted pages, with the ID token's
acr and amr checked at every step by python-jose against the published JWKS.

1 register (self-declared) · 2 PIN letter from the registry · 3 authenticator app · 4 eID card.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
from jose import jwt as jose_jwt
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
from tests.safe_helpers import (
    CALLBACK,
    Procedure,
    add_procedure,
    authorization_request,
    redeem_code,
)
from tests.test_eid_login import LENA, eid_world
from tests.web_helpers import Browser


def id_token_claims(browser: Browser, procedure: Procedure, acr: str) -> dict[str, Any]:
    """Authorize at `acr` without any interaction, redeem the code and verify the ID token."""
    request, verifier = authorization_request(procedure, "openid", acr_values=acr)
    callback = browser.get(request).headers["location"]
    assert callback.startswith(CALLBACK), callback
    return verified(browser, procedure, redeem_code(browser, procedure, callback, verifier))


def verified(browser: Browser, procedure: Procedure, token: dict[str, Any]) -> dict[str, Any]:
    claims: dict[str, Any] = jose_jwt.decode(
        token["id_token"],
        browser.get("/oidc/jwks").json(),
        audience=procedure.client_id,
        # The test clock is fixed in the past; the signature, audience and acr are the point.
        options={"verify_at_hash": False, "verify_exp": False, "verify_iat": False},
    )
    return claims


def test_from_an_empty_account_to_high(settings: Settings, db: Database, clock: FixedClock) -> None:
    import_residents(db, [r for r in load_packaged_residents() if r.resident_id == "R000001"])
    world = eid_world(settings, db, clock)
    procedure = add_procedure(db, clock, "vg-test.waffenschein", "vg-test")

    # 1 — registered, e-mail confirmed, password: basic.
    lena = world.person(**LENA)
    step1 = id_token_claims(lena, procedure, "STORK-QAA-Level-1")
    assert (step1["acr"], step1["amr"]) == ("STORK-QAA-Level-1", ["pwd"])

    # 2 — the registry matched her, the PIN letter binds the person: low.
    with db.session() as session:
        letter = session.scalars(select(PinLetter)).one()
        pin = unseal_pin(letter, SecretBox(TEST_SECRET_KEY, SEAL_PURPOSE))
    assert pin is not None
    assert lena.post("/account/pin", {"pin": pin}).status_code == 303
    step2 = id_token_claims(lena, procedure, "http://bsi.bund.de/eID/LoA/normal")
    assert (step2["acr"], step2["amr"]) == ("http://bsi.bund.de/eID/LoA/normal", ["pwd"])

    # 3 — an authenticator app, and a login with it: substantial.
    seed, _ = lena.enrol_totp(clock.now())
    lena.logout()
    clock.advance(timedelta(seconds=30))
    lena.login(email=LENA["email"])
    code = pyotp.TOTP(seed).at(clock.now())
    assert lena.post("/login/second-factor", {"method": "totp", "code": code}).status_code == 303
    step3 = id_token_claims(lena, procedure, "http://eidas.europa.eu/LoA/substantial")
    assert step3["acr"] == "http://eidas.europa.eu/LoA/substantial"
    assert set(step3["amr"]) == {"pwd", "otp"}

    # 4 — a procedure asks for high: the step-up leads to the card, then back: high.
    request, verifier = authorization_request(procedure, "openid", acr_values="STORK-QAA-Level-4")
    step_up = lena.get(request).headers["location"]
    assert step_up.startswith("/interaction/step-up/")
    resume = "/oidc/authorize/resume/" + step_up.rsplit("/", 1)[1]
    assert world.run_eid(lena, "bind", "lena", next=resume).headers["location"] == resume
    callback = lena.get(resume).headers["location"]
    step4 = verified(lena, procedure, redeem_code(lena, procedure, callback, verifier))
    assert step4["acr"] == "STORK-QAA-Level-4"
    assert "eid" in step4["amr"]
    assert step1["sub"] == step2["sub"] == step3["sub"] == step4["sub"]
