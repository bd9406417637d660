"""Every rule of the authorization and token endpoints, one test each, with the exact error.

RFC 6749 §4.1.2.1 (authorization errors, and when they must not be redirected), §5.2 (token
errors), RFC 7636 and RFC 9700 §2.1.1 (PKCE), RFC 6750 §3.1 (bearer token errors), OIDC Core
§3.1.2.6 (login_required, interaction_required, consent_required …), RFC 9207 (`iss` on every
answer). Driven through the ASGI app with redirects not followed, so every hop is asserted; at
the end one code is raced from twenty connections on PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from authlib.common.security import generate_token
from fastapi import FastAPI
from jose import jwk as jose_jwk
from jose import jwt as jose_jwt

from servicekonto.app import create_app
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.keys.service import KeyService
from servicekonto.oidc.server import PlainRequest, ProviderServer
from servicekonto.store.engine import Database
from tests.test_oidc_flow import (
    REDIRECT_URI,
    Procedure,
    add_procedure,
    generate_once,
    query_of,
)
from tests.web_helpers import Browser, RecordingMailSender, cheap_settings

ISSUER = "http://127.0.0.1:8000"  # the settings' default
STATE = "state-Ünïcode+&=/?"
VERIFIER = generate_token(48)
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=")
BSI_NORMAL = "http://bsi.bund.de/eID/LoA/normal"


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _one_key_per_algorithm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("servicekonto.keys.service.generate_key", generate_once)


@pytest.fixture
def web_app(
    settings: Settings, db: Database, clock: FixedClock, mail: RecordingMailSender
) -> FastAPI:
    """The pages' app (used by `browser` and `citizen`), with signing keys in place."""
    KeyService(settings, db, clock).ensure_keys()
    return create_app(cheap_settings(settings), database=db, clock=clock, mail_sender=mail)


@pytest.fixture
def procedure(db: Database, clock: FixedClock) -> Procedure:
    """A confidential procedure that asks no consent (so a signed-in person gets a code)."""
    return add_procedure(db, clock, "vg-test.hund", consent_required=False)


@pytest.fixture
def public(db: Database, clock: FixedClock) -> Procedure:
    return add_procedure(
        db, clock, "vg-test.app", token_endpoint_auth_method="none", consent_required=False
    )


@pytest.fixture
def consenting(db: Database, clock: FixedClock) -> Procedure:
    return add_procedure(db, clock, "vg-test.jagd")


# --- helpers --------------------------------------------------------------------------------


def authorize(client_id: str | None, **params: str | None) -> str:
    """An authorization request; a parameter given as None is left out."""
    query: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": STATE,
        "nonce": "n-0S6_WzA2Mj",
        "code_challenge": CHALLENGE.decode(),
        "code_challenge_method": "S256",
        **params,
    }
    return "/oidc/authorize?" + urlencode({k: v for k, v in query.items() if v is not None})


def assert_error_redirect(response: Any, error: str) -> dict[str, str]:
    """RFC 6749 §4.1.2.1: back to the registered redirect URI with error and the exact state;
    RFC 9207 §2: with iss. Never a code."""
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    answer = query_of(location)
    assert answer["error"] == error, answer
    assert answer["state"] == STATE
    assert answer["iss"] == ISSUER
    assert "code" not in answer
    return answer


def assert_error_page(response: Any, error: str | None = None) -> None:
    """RFC 6749 §4.1.2.1: with no verified redirect URI the person sees the error, and the
    browser is sent nowhere."""
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "location" not in response.headers
    if error is not None:
        assert f"<code>{error}</code>" in response.text


def code_from(response: Any) -> str:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    answer = query_of(location)
    assert answer["state"] == STATE
    assert answer["iss"] == ISSUER
    return answer["code"]


def get_code(browser: Browser, who: Procedure, **params: str | None) -> str:
    return code_from(browser.get(authorize(who.client_id, **params)))


def redeem(browser: Browser, who: Procedure, code: str, **form: str | None) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": VERIFIER,
        **form,
    }
    body = {key: value for key, value in data.items() if value is not None}
    if who.secret is None:
        body["client_id"] = who.client_id
        return browser.client.post("/oidc/token", data=body)
    return browser.client.post("/oidc/token", data=body, auth=(who.client_id, who.secret))


def tokens(browser: Browser, who: Procedure, **params: str | None) -> dict[str, Any]:
    response = redeem(browser, who, get_code(browser, who, **params))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def token_error(response: Any, error: str, status: int = 400) -> None:
    """RFC 6749 §5.2: JSON with the error code, never cached, no tokens."""
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error, body
    assert "access_token" not in body


def active(browser: Browser, who: Procedure, token: str) -> bool:
    assert who.secret is not None
    response = browser.client.post(
        "/oidc/introspect", data={"token": token}, auth=(who.client_id, who.secret)
    )
    assert response.status_code == 200
    return bool(response.json()["active"])


def refresh(browser: Browser, who: Procedure, refresh_token: str) -> Any:
    assert who.secret is not None
    return browser.client.post(
        "/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(who.client_id, who.secret),
    )


def userinfo_with(browser: Browser, token: str) -> Any:
    return browser.client.get("/oidc/userinfo", headers={"authorization": f"Bearer {token}"})


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# --- redirect URI and client: an error page, never a redirect --------------------------------


UNREGISTERED = [
    "https://evil.example/callback",
    REDIRECT_URI + "/",
    REDIRECT_URI + "?next=https://evil.example",
    REDIRECT_URI.replace("https://", "http://"),
    "https://procedure.vg-test.example:8443/callback",
    "https://procedure.vg-test.example.evil.example/callback",
]


def test_an_unregistered_redirect_uri_gets_an_error_page(
    browser: Browser, procedure: Procedure
) -> None:
    """RFC 9700 §2.1: exact comparison; a near miss is as foreign as another host."""
    for redirect_uri in UNREGISTERED:
        response = browser.get(authorize(procedure.client_id, redirect_uri=redirect_uri))
        assert_error_page(response)


def test_a_wrong_redirect_uri_wins_over_every_other_error(
    citizen: Browser, procedure: Procedure
) -> None:
    """Even with errors that are otherwise redirected, nothing goes to the unverified URI."""
    evil = "https://evil.example/callback"
    for extra in ({"scope": "profile"}, {"request": "x"}, {"prompt": "none"}, {"acr_values": "x"}):
        assert_error_page(citizen.get(authorize(procedure.client_id, redirect_uri=evil, **extra)))


def test_an_unknown_client_gets_an_error_page(browser: Browser, procedure: Procedure) -> None:
    for client_id in ("vg-test.unknown", None, "", "x" * 300, procedure.client_id.upper()):
        assert_error_page(browser.get(authorize(client_id)))


# --- PKCE (RFC 7636, RFC 9700 §2.1.1) --------------------------------------------------------


def test_a_public_client_must_use_pkce(browser: Browser, public: Procedure) -> None:
    response = browser.get(
        authorize(public.client_id, code_challenge=None, code_challenge_method=None)
    )
    assert_error_redirect(response, "invalid_request")


@pytest.mark.parametrize("who", ["procedure", "public"])
def test_the_plain_method_is_refused(
    browser: Browser, request: pytest.FixtureRequest, who: str
) -> None:
    client: Procedure = request.getfixturevalue(who)
    response = browser.get(
        authorize(client.client_id, code_challenge=VERIFIER, code_challenge_method="plain")
    )
    assert_error_redirect(response, "invalid_request")


def test_a_wrong_verifier_is_invalid_grant(citizen: Browser, public: Procedure) -> None:
    code = get_code(citizen, public)
    token_error(redeem(citizen, public, code, code_verifier=generate_token(48)), "invalid_grant")


@pytest.mark.parametrize("who", ["procedure", "public"])
def test_a_missing_verifier_is_refused(
    citizen: Browser, request: pytest.FixtureRequest, who: str
) -> None:
    client: Procedure = request.getfixturevalue(who)
    response = redeem(citizen, client, get_code(citizen, client), code_verifier=None)
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_request", "invalid_grant"}
    assert "access_token" not in response.json()


def test_a_verifier_without_a_challenge_is_refused(citizen: Browser, procedure: Procedure) -> None:
    """RFC 9700 §2.1.1: a code_verifier for a code issued without a challenge is a downgrade."""
    code = get_code(citizen, procedure, code_challenge=None, code_challenge_method=None)
    token_error(redeem(citizen, procedure, code), "invalid_request")


# --- the code: single use, short-lived, bound to client and redirect URI ---------------------


def test_a_replayed_code_is_refused_and_revokes_what_it_gave(
    citizen: Browser, procedure: Procedure
) -> None:
    code = get_code(citizen, procedure)
    first = redeem(citizen, procedure, code)
    assert first.status_code == 200
    issued = first.json()
    assert active(citizen, procedure, issued["access_token"])
    token_error(redeem(citizen, procedure, code), "invalid_grant")
    # RFC 6749 §4.1.2, RFC 9700 §4.5: a reused code is an attack; its tokens are revoked.
    assert not active(citizen, procedure, issued["access_token"])
    assert userinfo_with(citizen, issued["access_token"]).status_code == 401
    token_error(refresh(citizen, procedure, issued["refresh_token"]), "invalid_grant")


def test_an_expired_code_is_invalid_grant(
    citizen: Browser, procedure: Procedure, clock: FixedClock
) -> None:
    code = get_code(citizen, procedure)
    clock.advance(timedelta(seconds=61))
    token_error(redeem(citizen, procedure, code), "invalid_grant")


def test_a_code_is_only_good_for_its_client(
    citizen: Browser, procedure: Procedure, db: Database, clock: FixedClock
) -> None:
    other = add_procedure(db, clock, "vg-test.other", consent_required=False)
    code = get_code(citizen, procedure)
    token_error(redeem(citizen, other, code), "invalid_grant")


def test_a_code_is_only_good_with_its_redirect_uri(
    citizen: Browser, procedure: Procedure, db: Database, clock: FixedClock
) -> None:
    code = get_code(citizen, procedure)
    response = redeem(citizen, procedure, code, redirect_uri="https://evil.example/callback")
    token_error(response, "invalid_grant")


def test_a_redirect_uri_sent_when_asking_is_needed_when_redeeming(
    citizen: Browser, procedure: Procedure
) -> None:
    """RFC 6749 §4.1.3: redirect_uri is REQUIRED at the token endpoint if it was sent."""
    code = get_code(citizen, procedure)
    token_error(redeem(citizen, procedure, code, redirect_uri=None), "invalid_grant")


def test_an_openid_request_without_redirect_uri_is_refused(
    citizen: Browser, procedure: Procedure
) -> None:
    response = citizen.get(authorize(procedure.client_id, redirect_uri=None))
    if response.status_code == 302:
        assert query_of(response.headers["location"])["error"] == "invalid_request"
    else:
        assert_error_page(response, "invalid_request")


def test_a_wrong_client_secret_is_invalid_client(citizen: Browser, procedure: Procedure) -> None:
    code = get_code(citizen, procedure)
    wrong = Procedure(procedure.client_id, "sk_cs_not-the-secret")
    response = redeem(citizen, wrong, code)
    token_error(response, "invalid_client", status=401)
    # RFC 6749 §5.2: authentication was tried in the Authorization header, so 401 says how.
    assert response.headers["www-authenticate"].lower().startswith("basic")
    # Failed client authentication does not burn the code of the real procedure.
    assert redeem(citizen, procedure, code).status_code == 200


# --- refresh tokens: rotation with reuse detection (RFC 9700 §4.14.2) ------------------------


def test_a_reused_refresh_token_ends_the_family(
    citizen: Browser, procedure: Procedure, clock: FixedClock
) -> None:
    issued = tokens(citizen, procedure)
    rotated = refresh(citizen, procedure, issued["refresh_token"])
    assert rotated.status_code == 200
    successor = rotated.json()
    token_error(refresh(citizen, procedure, issued["refresh_token"]), "invalid_grant")
    token_error(refresh(citizen, procedure, successor["refresh_token"]), "invalid_grant")
    assert not active(citizen, procedure, successor["access_token"])
    assert not active(citizen, procedure, issued["access_token"])


def test_a_refresh_cannot_widen_the_scope(citizen: Browser, procedure: Procedure) -> None:
    """RFC 6749 §6: the scope of a refresh must not exceed what the person granted."""
    issued = tokens(citizen, procedure, scope="openid email")
    assert procedure.secret is not None
    response = citizen.client.post(
        "/oidc/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": issued["refresh_token"],
            "scope": "openid email birth",
        },
        auth=(procedure.client_id, procedure.secret),
    )
    token_error(response, "invalid_scope")


# --- forged access tokens at the userinfo endpoint (RFC 6750 §3.1) ---------------------------


def test_forged_tokens_are_refused_by_userinfo(citizen: Browser, procedure: Procedure) -> None:
    issued = tokens(citizen, procedure, scope="openid profile")
    real = issued["access_token"]
    assert userinfo_with(citizen, real).status_code == 200
    header, payload, signature = real.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    kid = jose_jwt.get_unverified_header(real)["kid"]
    public_jwk = next(k for k in citizen.get("/oidc/jwks").json()["keys"] if k["kid"] == kid)
    pem = jose_jwk.construct(public_jwk).to_pem()
    hs_header = b64({"alg": "HS256", "kid": kid, "typ": "at+jwt"})
    signing_input = f"{hs_header}.{payload}".encode()
    with_pem = base64.urlsafe_b64encode(hmac.digest(pem, signing_input, "sha256")).rstrip(b"=")
    forged = {
        "alg none": f"{b64({'alg': 'none', 'typ': 'at+jwt'})}.{payload}.",
        "alg none, kept kid": f"{b64({'alg': 'none', 'kid': kid, 'typ': 'at+jwt'})}.{payload}.",
        "HS256, JWK as secret": jose_jwt.encode(
            claims, json.dumps(public_jwk), algorithm="HS256", headers={"kid": kid, "typ": "at+jwt"}
        ),
        "HS256, PEM as secret": f"{hs_header}.{payload}.{with_pem.decode()}",
        "tampered claims": f"{header}.{b64({**claims, 'scope': 'openid birth'})}.{signature}",
        "the ID token": issued["id_token"],
        "no token": "",
    }
    for name, token in forged.items():
        response = userinfo_with(citizen, token)
        assert response.status_code == 401, name
        assert response.json() == {"error": "invalid_token"}, name
        assert 'error="invalid_token"' in response.headers["www-authenticate"], name


def test_expired_and_revoked_tokens_are_refused_by_userinfo(
    citizen: Browser, procedure: Procedure, clock: FixedClock
) -> None:
    assert procedure.secret is not None
    revoked = tokens(citizen, procedure)["access_token"]
    revocation = citizen.client.post(
        "/oidc/revoke", data={"token": revoked}, auth=(procedure.client_id, procedure.secret)
    )
    assert revocation.status_code == 200
    assert userinfo_with(citizen, revoked).status_code == 401
    expiring = tokens(citizen, procedure)["access_token"]
    assert userinfo_with(citizen, expiring).status_code == 200
    clock.advance(timedelta(seconds=601))
    response = userinfo_with(citizen, expiring)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


# --- request checks: redirected errors with state and iss ------------------------------------


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"acr_values": "urn:example:unknown-level"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        (
            {"request_uri": "https://procedure.vg-test.example/request.jwt"},
            "request_uri_not_supported",
        ),
        ({"scope": "profile email"}, "invalid_scope"),
        ({"scope": "openid organisation"}, "invalid_scope"),
        ({"scope": "openid safe.deposit"}, "invalid_scope"),
        ({"claims": "{not json"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
    ],
    ids=[
        "unknown-acr",
        "request",
        "request_uri",
        "no-openid",
        "scope-not-allowed",
        "service-scope",
        "claims-not-json",
        "negative-max-age",
        "none-with-other-prompt",
    ],
)
def test_a_refused_request_goes_back_with_the_error(
    citizen: Browser, procedure: Procedure, params: dict[str, str], error: str
) -> None:
    assert_error_redirect(citizen.get(authorize(procedure.client_id, **params)), error)


def test_an_unsupported_response_type_goes_back_with_the_error(
    citizen: Browser, procedure: Procedure
) -> None:
    response = citizen.get(authorize(procedure.client_id, response_type="token"))
    assert_error_redirect(response, "unsupported_response_type")


def test_a_repeated_parameter_is_invalid_request(citizen: Browser, procedure: Procedure) -> None:
    url = authorize(procedure.client_id) + "&" + urlencode({"scope": "openid profile birth"})
    assert_error_redirect(citizen.get(url), "invalid_request")


# --- prompt=none (OIDC Core §3.1.2.6) ---------------------------------------------------------


def test_prompt_none_without_a_session_is_login_required(
    browser: Browser, procedure: Procedure
) -> None:
    assert_error_redirect(
        browser.get(authorize(procedure.client_id, prompt="none")), "login_required"
    )


def test_prompt_none_with_a_good_session_answers_silently(
    citizen: Browser, procedure: Procedure
) -> None:
    assert get_code(citizen, procedure, prompt="none")


def test_prompt_none_at_too_low_a_level_is_interaction_required(
    citizen: Browser, procedure: Procedure
) -> None:
    response = citizen.get(authorize(procedure.client_id, prompt="none", acr_values=BSI_NORMAL))
    assert_error_redirect(response, "interaction_required")


def test_prompt_none_with_an_essential_acr_is_unmet_authentication_requirements(
    citizen: Browser, procedure: Procedure
) -> None:
    claims = json.dumps({"id_token": {"acr": {"essential": True, "values": [BSI_NORMAL]}}})
    response = citizen.get(authorize(procedure.client_id, prompt="none", claims=claims))
    assert_error_redirect(response, "unmet_authentication_requirements")


def test_prompt_none_without_consent_is_consent_required(
    citizen: Browser, consenting: Procedure
) -> None:
    response = citizen.get(authorize(consenting.client_id, prompt="none"))
    assert_error_redirect(response, "consent_required")


# --- the person says no ----------------------------------------------------------------------


def test_deny_at_the_consent_page_is_access_denied(citizen: Browser, consenting: Procedure) -> None:
    response = citizen.get(authorize(consenting.client_id, scope="openid birth"))
    assert response.status_code == 302
    page = response.headers["location"]
    assert page.startswith("/interaction/consent/")
    assert citizen.get(page).status_code == 200
    denied = citizen.post(page, {"decision": "deny"})
    assert denied.status_code == 303
    assert_error_redirect(citizen.get(citizen.path_of(denied.headers["location"])), "access_denied")


def test_cancelling_the_step_up_is_unmet_authentication_requirements(
    citizen: Browser, procedure: Procedure
) -> None:
    response = citizen.get(authorize(procedure.client_id, acr_values="STORK-QAA-Level-3"))
    assert response.status_code == 302
    page = response.headers["location"]
    assert page.startswith("/interaction/step-up/")
    assert citizen.get(page).status_code == 200
    interaction = page.rsplit("/", 1)[1]
    cancelled = citizen.get(f"/oidc/authorize/deny/{interaction}?reason=level")
    assert_error_redirect(cancelled, "unmet_authentication_requirements")


# --- re-authentication: prompt=login and max_age ---------------------------------------------


def _login_again(citizen: Browser, response: Any, clock: FixedClock) -> Any:
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith("/login?next=/oidc/authorize/resume/"), location
    signed_in = citizen.login(next=query_of(location)["next"])
    assert signed_in.status_code == 303
    # The browser comes back a moment later (with a real clock: microseconds later).
    clock.advance(timedelta(seconds=1))
    return citizen.get(signed_in.headers["location"])


def test_prompt_login_forces_a_fresh_login(
    citizen: Browser, procedure: Procedure, clock: FixedClock
) -> None:
    clock.advance(timedelta(minutes=1))
    response = citizen.get(authorize(procedure.client_id, prompt="login"))
    assert code_from(_login_again(citizen, response, clock))


def test_max_age_0_sends_an_earlier_login_to_the_login_page(
    citizen: Browser, procedure: Procedure, clock: FixedClock
) -> None:
    clock.advance(timedelta(seconds=1))
    response = citizen.get(authorize(procedure.client_id, max_age="0"))
    assert response.status_code == 302
    assert response.headers["location"].startswith("/login?next=/oidc/authorize/resume/")


def test_max_age_0_forces_a_fresh_login(
    citizen: Browser, procedure: Procedure, clock: FixedClock
) -> None:
    clock.advance(timedelta(minutes=1))
    response = citizen.get(authorize(procedure.client_id, max_age="0"))
    assert code_from(_login_again(citizen, response, clock))


def test_max_age_0_forces_a_login_even_in_the_same_second(
    citizen: Browser, procedure: Procedure
) -> None:
    response = citizen.get(authorize(procedure.client_id, max_age="0"))
    assert response.status_code == 302
    assert response.headers["location"].startswith("/login?next=")


def test_max_age_lets_a_recent_login_through(
    citizen: Browser, procedure: Procedure, clock: FixedClock
) -> None:
    clock.advance(timedelta(seconds=30))
    assert get_code(citizen, procedure, max_age="60")
    clock.advance(timedelta(seconds=31))
    response = citizen.get(authorize(procedure.client_id, max_age="60"))
    assert response.headers["location"].startswith("/login?next=")


def test_a_forged_id_token_hint_logs_nobody_out(
    citizen: Browser, db: Database, clock: FixedClock
) -> None:
    """RP-Initiated Logout 1.0 §2: the hint must be our ID token; a forged one is refused
    with an error page, no redirect, and the session stays (tests/test_oidc_extras.py covers
    the valid hint)."""
    after = "https://procedure.vg-test.example/goodbye"
    who = add_procedure(
        db, clock, "vg-test.hund", consent_required=False, post_logout_redirect_uris=[after]
    )
    id_token = tokens(citizen, who)["id_token"]
    header, payload, signature = id_token.split(".")
    claims = jose_jwt.get_unverified_claims(id_token)
    kid = jose_jwt.get_unverified_header(id_token)["kid"]
    public_jwk = next(k for k in citizen.get("/oidc/jwks").json()["keys"] if k["kid"] == kid)
    forged = {
        "tampered": f"{header}.{b64({**claims, 'sub': 'someone-else'})}.{signature}",
        "alg none": f"{b64({'alg': 'none', 'kid': kid})}.{payload}.",
        "HS256, JWK as secret": jose_jwt.encode(
            claims, json.dumps(public_jwk), algorithm="HS256", headers={"kid": kid}
        ),
    }
    for name, hint in forged.items():
        response = citizen.get(
            "/oidc/logout", params={"id_token_hint": hint, "post_logout_redirect_uri": after}
        )
        assert response.status_code == 400, name
        assert "location" not in response.headers, name
        assert citizen.get("/account").status_code == 200, f"{name}: still signed in"


# --- PostgreSQL: one code, twenty redemptions at once ----------------------------------------


@pytest.fixture
def race_app(settings: Settings, race_db: Database, clock: FixedClock) -> Iterator[Browser]:
    """A person signed in to an app on a real pooled PostgreSQL engine."""
    KeyService(settings, race_db, clock).ensure_keys()
    mail = RecordingMailSender()
    app = create_app(cheap_settings(settings), database=race_db, clock=clock, mail_sender=mail)
    browser = Browser(app)
    assert browser.register().status_code == 303
    assert browser.confirm(mail.last_link()).status_code == 200
    assert browser.login().status_code == 303
    yield browser
    browser.client.close()


def all_at_once(contenders: int, attempt: Callable[[], Any]) -> list[Any]:
    """What `attempt` returned in each of `contenders` threads released at the same moment."""
    barrier = threading.Barrier(contenders)
    answers: list[Any] = []
    failures: list[BaseException] = []

    def contend() -> None:
        try:
            barrier.wait(timeout=10)
            answers.append(attempt())
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=contend) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert len(answers) == contenders
    return answers


def _token_request(who: Procedure, code: str) -> PlainRequest:
    assert who.secret is not None
    basic = base64.b64encode(f"{who.client_id}:{who.secret}".encode()).decode()
    return PlainRequest(
        "POST",
        f"{ISSUER}/oidc/token",
        {"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"},
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": VERIFIER,
        },
    )


@pytest.mark.postgres
def test_twenty_redemptions_of_one_code_have_one_winner(
    race_app: Browser, race_db: Database, clock: FixedClock
) -> None:
    browser = race_app
    procedure = add_procedure(race_db, clock, "vg-test.hund", consent_required=False)
    code = get_code(browser, procedure)
    server: ProviderServer = browser.client.app.state.oauth_server
    contenders = 20
    answers = all_at_once(
        contenders, lambda: server.create_token_response(_token_request(procedure, code))
    )
    winners = [answer for answer in answers if answer.status == 200]
    assert len(winners) == 1, [answer.body for answer in answers]
    won = winners[0].body
    assert {"access_token", "refresh_token", "id_token"} <= set(won)
    losers = [answer.body.get("error") for answer in answers if answer.status != 200]
    assert losers == ["invalid_grant"] * (contenders - 1)
    # A reused code is an attack (STYLE habit 4): what it gave is revoked, the winner's tokens
    # included, even when the replays land while the winner is still issuing them.
    assert server.find_token(won["access_token"]) is None
    assert refresh(browser, procedure, won["refresh_token"]).status_code != 200


def test_a_replay_while_the_winner_is_answered_revokes_its_tokens(
    citizen: Browser, procedure: Procedure, web_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    server: ProviderServer = web_app.state.oauth_server
    save_token = server.save_token
    replays: list[Any] = []

    def winner_then_replay(token: dict[str, Any], request: Any) -> None:
        save_token(token, request)
        # The replay comes in right after the winner's tokens committed, while its ID token is
        # still being made (as in the race).
        monkeypatch.setattr(server, "save_token", save_token)
        replays.append(server.create_token_response(request_of(request)))

    monkeypatch.setattr(server, "save_token", winner_then_replay)
    response = redeem(citizen, procedure, get_code(citizen, procedure))
    assert response.status_code == 200
    assert [answer.body.get("error") for answer in replays] == ["invalid_grant"]
    issued = response.json()
    assert not active(citizen, procedure, issued["access_token"])
    token_error(refresh(citizen, procedure, issued["refresh_token"]), "invalid_grant")


def request_of(request: Any) -> PlainRequest:
    """The PlainRequest an authlib request was made from, to send it again."""
    return PlainRequest(request.method, request.uri, dict(request.headers), dict(request.form))


def test_an_altered_id_token_hint_is_refused_and_raises_nothing(
    citizen: Browser, procedure: Procedure
) -> None:
    """OIDC Core §3.1.2.1: only a hint we signed counts, and only its sub: an acr written into
    it never reaches the ID token."""
    id_token = tokens(citizen, procedure)["id_token"]
    header, _, signature = id_token.split(".")
    claims = jose_jwt.get_unverified_claims(id_token)
    forged = f"{header}.{b64({**claims, 'acr': 'STORK-QAA-Level-4'})}.{signature}"
    answer = citizen.get(authorize(procedure.client_id, id_token_hint=forged))
    assert_error_redirect(answer, "invalid_request")
    honest = tokens(citizen, procedure, id_token_hint=id_token)
    assert jose_jwt.get_unverified_claims(honest["id_token"])["acr"] == claims["acr"]
    assert claims["acr"] != "STORK-QAA-Level-4"


def test_a_hint_for_another_client_or_person_is_refused(
    citizen: Browser,
    procedure: Procedure,
    db: Database,
    clock: FixedClock,
    web_app: FastAPI,
    mail: RecordingMailSender,
) -> None:
    other = add_procedure(db, clock, "vg-test.sperrmuell", consent_required=False)
    others_token = tokens(citizen, other)["id_token"]
    assert_error_redirect(
        citizen.get(authorize(procedure.client_id, id_token_hint=others_token)), "invalid_request"
    )
    own = tokens(citizen, procedure)["id_token"]
    stranger = Browser(web_app)
    stranger.register(email="nachbar@example.org")
    stranger.confirm(mail.last_link("nachbar@example.org"))
    stranger.login(email="nachbar@example.org")
    answer = stranger.get(authorize(procedure.client_id, id_token_hint=own, prompt="none"))
    assert_error_redirect(answer, "login_required")
