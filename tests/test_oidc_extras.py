"""RP-initiated logout, the form post response mode, consent revocation and the release log."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi import FastAPI
from jose import jwt as jose_jwt
from sqlalchemy import select

from servicekonto.accounts.models import Person
from servicekonto.authorities.models import AuthorityKind
from servicekonto.authorities.schemas import AuthoritySpec
from servicekonto.authorities.service import AuthorityService
from servicekonto.clients.models import OidcClient
from servicekonto.clients.schemas import ClientSpec
from servicekonto.clients.service import ClientService, cache_for, digester_for
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.i18n.catalog import Translator
from servicekonto.store.engine import Database
from tests.conftest import TEST_SECRET_KEY
from tests.web_helpers import Browser, RecordingMailSender, provider_with_keys

GERMAN = Translator("de")
CALLBACK = "https://procedure.example.de/callback"
AFTER_LOGOUT = "https://procedure.example.de/goodbye"


@dataclass
class SignedIn:
    browser: Browser
    client_id: str
    secret: str
    id_token: str


@pytest.fixture
def app(settings: Settings, db: Database, clock: FixedClock) -> FastAPI:
    return provider_with_keys(settings, db, clock)


@pytest.fixture
def mail_app(app: FastAPI) -> FastAPI:
    return app


def _procedure(db: Database, clock: FixedClock) -> tuple[str, str]:
    authority = AuthorityService(db, clock).ensure(
        AuthoritySpec(slug="vg-test", name="VG Test", kind=AuthorityKind.MUNICIPAL_ASSOCIATION),
        actor="test",
    )
    spec = ClientSpec(
        client_id="vg-test.procedure",
        name="Testverfahren",
        authority="vg-test",
        redirect_uris=[CALLBACK],
        post_logout_redirect_uris=[AFTER_LOGOUT],
        grant_types=["authorization_code"],
        scopes=["openid", "profile", "email", "birth"],
        default_trust_level=1,
    )
    added = ClientService(db, clock, digester_for(TEST_SECRET_KEY)).add(
        spec, authority.authority.id, "test"
    )
    assert added.client_secret is not None
    return spec.client_id, added.client_secret


@pytest.fixture
def signed_in(app: FastAPI, db: Database, clock: FixedClock) -> SignedIn:
    client_id, secret = _procedure(db, clock)
    browser = Browser(app)
    mail: RecordingMailSender = app.state.accounts.notifier._sender
    browser.register()
    browser.confirm(mail.last_link())
    browser.login()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid profile email",
            "state": "s1",
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        }
    )
    consent = browser.get(f"/oidc/authorize?{query}").headers["location"]
    assert consent.startswith("/interaction/consent/")
    resume = browser.post(consent, {"decision": "allow"}).headers["location"]
    callback = browser.get(resume).headers["location"]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    token = browser.client.post(
        "/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=(client_id, secret),
    ).json()
    return SignedIn(browser, client_id, secret, token["id_token"])


def test_logout_with_a_valid_hint_ends_the_session_and_returns(signed_in: SignedIn) -> None:
    browser = signed_in.browser
    assert browser.get("/account").status_code == 200
    response = browser.get(
        "/oidc/logout",
        params={
            "id_token_hint": signed_in.id_token,
            "post_logout_redirect_uri": AFTER_LOGOUT,
            "state": "bye",
        },
    )
    assert response.status_code == 302
    assert response.headers["location"] == f"{AFTER_LOGOUT}?state=bye"
    assert browser.get("/account").status_code == 303


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("kind", ["tampered", "alg-none", "garbage", "unregistered-uri"])
def test_logout_with_a_bad_hint_or_target_is_refused_without_redirect(
    signed_in: SignedIn, kind: str
) -> None:
    header, payload, signature = signed_in.id_token.split(".")
    claims = jose_jwt.get_unverified_claims(signed_in.id_token)
    hint = {
        "tampered": f"{header}.{_b64({**claims, 'sub': 'someone-else'})}.{signature}",
        "alg-none": f"{_b64({'alg': 'none'})}.{payload}.",
        "garbage": "not-a-token",
        "unregistered-uri": signed_in.id_token,
    }[kind]
    target = "https://evil.example/" if kind == "unregistered-uri" else AFTER_LOGOUT
    response = signed_in.browser.get(
        "/oidc/logout", params={"id_token_hint": hint, "post_logout_redirect_uri": target}
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert signed_in.browser.get("/account").status_code == 200, "still signed in"


def test_the_account_page_lists_releases_and_revokes_consent(signed_in: SignedIn) -> None:
    browser = signed_in.browser
    page = browser.get("/account")
    assert "Testverfahren" in page.text
    assert GERMAN("claim.email") in page.text
    consent_id = page.text.split("/account/consents/")[1].split("/")[0]
    revoked = browser.post(f"/account/consents/{consent_id}/revoke", {})
    assert revoked.headers["location"] == "/account?updated=consent_revoked#procedures"
    query = urlencode(
        {
            "response_type": "code",
            "client_id": signed_in.client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid profile email",
            "prompt": "none",
        }
    )
    again = browser.get(f"/oidc/authorize?{query}").headers["location"]
    assert parse_qs(urlsplit(again).query)["error"] == ["consent_required"]


def test_form_post_response_mode_posts_code_state_and_iss(
    signed_in: SignedIn, settings: Settings
) -> None:
    query = urlencode(
        {
            "response_type": "code",
            "response_mode": "form_post",
            "client_id": signed_in.client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid profile email",
            "state": "fp",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
    )
    page = signed_in.browser.get(f"/oidc/authorize?{query}")
    assert page.status_code == 200
    assert f'action="{CALLBACK}"' in page.text
    assert 'name="code" value="sk_ac_' in page.text
    assert 'name="state" value="fp"' in page.text
    assert f'name="iss" value="{settings.issuer}"' in page.text
    assert "form-action https://procedure.example.de" in page.headers["content-security-policy"]
    assert '<script src="/static/formpost.js">' in page.text


def test_unknown_response_mode_is_an_error(signed_in: SignedIn) -> None:
    query = urlencode(
        {
            "response_type": "code",
            "response_mode": "fragment",
            "client_id": signed_in.client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid",
        }
    )
    location = signed_in.browser.get(f"/oidc/authorize?{query}").headers["location"]
    assert parse_qs(urlsplit(location).query)["error"] == ["invalid_request"]


def test_logging_out_tells_the_procedure_over_the_back_channel(
    app: FastAPI, db: Database, clock: FixedClock, settings: Settings
) -> None:
    sent: list[tuple[str, str]] = []
    back_channel = app.state.back_channel_logout
    back_channel._sender = lambda uri, token: sent.append((uri, token))
    back_channel._pool = None  # deliver at once, in this thread
    signed = _signed_in_with_backchannel(app, db, clock)
    signed.browser.logout()
    assert len(sent) == 1
    uri, token = sent[0]
    assert uri == "https://procedure.example.de/backchannel"
    header = jose_jwt.get_unverified_header(token)
    assert header["typ"] == "logout+jwt"
    jwks = signed.browser.get("/oidc/jwks").json()
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jose_jwt.decode(
        token,
        key,
        algorithms=[key["alg"]],
        audience=signed.client_id,
        issuer=settings.issuer,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
    assert claims["sub"] == jose_jwt.get_unverified_claims(signed.id_token)["sub"]
    assert "nonce" not in claims


def _signed_in_with_backchannel(app: FastAPI, db: Database, clock: FixedClock) -> SignedIn:
    authority = AuthorityService(db, clock).ensure(
        AuthoritySpec(slug="vg-bc", name="VG BC", kind=AuthorityKind.MUNICIPAL_ASSOCIATION),
        actor="test",
    )
    spec = ClientSpec(
        client_id="vg-bc.procedure",
        name="Rückkanal",
        authority="vg-bc",
        redirect_uris=[CALLBACK],
        grant_types=["authorization_code"],
        scopes=["openid"],
        default_trust_level=1,
        consent_required=False,
        backchannel_logout_uri="https://procedure.example.de/backchannel",
    )
    added = ClientService(db, clock, digester_for(TEST_SECRET_KEY)).add(
        spec, authority.authority.id, "test"
    )
    assert added.client_secret is not None
    browser = Browser(app)
    mail: RecordingMailSender = app.state.accounts.notifier._sender
    browser.register()
    browser.confirm(mail.last_link())
    browser.login()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": spec.client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid",
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        }
    )
    callback = browser.get(f"/oidc/authorize?{query}").headers["location"]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    token = browser.client.post(
        "/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=(spec.client_id, added.client_secret),
    ).json()
    return SignedIn(browser, spec.client_id, added.client_secret, token["id_token"])


def test_pushed_authorization_request_is_used_once(signed_in: SignedIn) -> None:
    client = signed_in.browser.client
    pushed = client.post(
        "/oidc/par",
        data={
            "response_type": "code",
            "redirect_uri": CALLBACK,
            "scope": "openid profile",
            "state": "par",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        },
        auth=(signed_in.client_id, signed_in.secret),
    )
    assert pushed.status_code == 201
    body = pushed.json()
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert body["expires_in"] == 60
    query = urlencode({"client_id": signed_in.client_id, "request_uri": body["request_uri"]})
    callback = signed_in.browser.get(f"/oidc/authorize?{query}").headers["location"]
    answer = parse_qs(urlsplit(callback).query)
    assert answer["state"] == ["par"]
    assert answer["code"][0].startswith("sk_ac_")
    again = signed_in.browser.get(f"/oidc/authorize?{query}")
    assert again.status_code == 400, "a request_uri is used once"


@pytest.mark.parametrize(
    ("auth", "form", "status"),
    [
        (("vg-test.procedure", "sk_cs_wrong"), {"redirect_uri": CALLBACK}, 401),
        (None, {"redirect_uri": "https://evil.example/cb"}, 400),
        (None, {"redirect_uri": CALLBACK, "request_uri": "urn:x"}, 400),
    ],
)
def test_bad_pushed_requests_are_refused(
    signed_in: SignedIn, auth: tuple[str, str] | None, form: dict[str, str], status: int
) -> None:
    data = {"response_type": "code", "scope": "openid", **form}
    response = signed_in.browser.client.post(
        "/oidc/par", data=data, auth=auth or (signed_in.client_id, signed_in.secret)
    )
    assert response.status_code == status
    assert "request_uri" not in response.json()


def test_an_unknown_request_uri_is_an_error_page(signed_in: SignedIn) -> None:
    query = urlencode(
        {
            "client_id": signed_in.client_id,
            "request_uri": "urn:ietf:params:oauth:request_uri:00000000-0000-4000-8000-000000000000",
        }
    )
    response = signed_in.browser.get(f"/oidc/authorize?{query}")
    assert response.status_code == 400
    assert "location" not in response.headers


def test_ui_locales_and_login_hint_shape_the_login_page(
    app: FastAPI, db: Database, clock: FixedClock
) -> None:
    client_id, _ = _procedure(db, clock)
    browser = Browser(app)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid",
            "ui_locales": "en-GB de",
            "login_hint": "anna@example.org",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
    )
    language = browser.get(f"/oidc/authorize?{query}").headers["location"]
    assert language.startswith("/language/en?next=")
    login = browser.get(language).headers["location"]
    assert login.startswith("/login?next=/oidc/authorize/resume/")
    page = browser.get(login)
    assert '<html lang="en">' in page.text
    assert 'value="anna@example.org"' in page.text


VERIFIED_REQUEST = json.dumps(
    {
        "userinfo": {
            "verified_claims": {
                "verification": {"trust_framework": None},
                "claims": {"given_name": None, "birthdate": None},
            }
        }
    }
)


def _tokens_with_claims(
    signed_in: SignedIn, claims: str = VERIFIED_REQUEST, scope: str = "openid profile birth"
) -> dict[str, Any]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": signed_in.client_id,
            "redirect_uri": CALLBACK,
            "scope": scope,
            "claims": claims,
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        }
    )
    callback = signed_in.browser.get(f"/oidc/authorize?{query}").headers["location"]
    if callback.startswith("/interaction/consent/"):
        resume = signed_in.browser.post(callback, {"decision": "allow"}).headers["location"]
        callback = signed_in.browser.get(resume).headers["location"]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    token: dict[str, Any] = signed_in.browser.client.post(
        "/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=(signed_in.client_id, signed_in.secret),
    ).json()
    return token


def _userinfo_with_claims(
    signed_in: SignedIn, claims: str = VERIFIED_REQUEST, scope: str = "openid profile birth"
) -> dict[str, Any]:
    token = _tokens_with_claims(signed_in, claims, scope)
    headers = {"authorization": f"Bearer {token['access_token']}"}
    body: dict[str, Any] = signed_in.browser.client.get("/oidc/userinfo", headers=headers).json()
    return body


def _prove_identity(db: Database, clock: FixedClock) -> None:
    with db.unit_of_work() as uow:
        person = uow.session.scalars(select(Person)).one()
        person.identity_proofing = "registry_letter"
        person.identity_verified_at = clock.now()
        uow.commit()


def test_self_declared_data_are_never_verified_claims(signed_in: SignedIn) -> None:
    assert "verified_claims" not in _userinfo_with_claims(signed_in)


def test_registry_proven_data_come_as_verified_claims_when_asked(
    signed_in: SignedIn, db: Database, clock: FixedClock
) -> None:
    _prove_identity(db, clock)
    body = _userinfo_with_claims(signed_in)
    verified = body["verified_claims"]
    assert isinstance(verified, dict)
    assert verified["verification"]["trust_framework"] == "eidas"
    assert verified["verification"]["evidence"][0]["record"]["type"] == "population_register"
    assert set(verified["claims"]) == {"given_name", "birthdate"}, "only what was asked for"
    assert verified["claims"]["birthdate"] == "1980-05-17"


def test_verified_claims_never_widen_the_consented_scopes(
    signed_in: SignedIn, db: Database, clock: FixedClock
) -> None:
    _prove_identity(db, clock)
    body = _userinfo_with_claims(signed_in, scope="openid profile")
    assert set(body["verified_claims"]["claims"]) == {"given_name"}, "no birth scope, no birthdate"
    nothing = _userinfo_with_claims(signed_in, scope="openid email")
    assert "verified_claims" not in nothing, "an empty claims object is not released (IDA §5)"


ID_TOKEN_REQUEST = json.dumps(
    {"id_token": {"verified_claims": {"verification": {}, "claims": {"family_name": None}}}}
)


def test_verified_claims_asked_for_the_id_token_travel_in_it(
    signed_in: SignedIn, db: Database, clock: FixedClock
) -> None:
    _prove_identity(db, clock)
    token = _tokens_with_claims(signed_in, ID_TOKEN_REQUEST)
    jwks = signed_in.browser.client.get("/oidc/jwks").json()
    claims = jose_jwt.decode(
        token["id_token"],
        jwks,
        audience=signed_in.client_id,
        # The fixed test clock lies in the past; signature and audience are what count here.
        options={"verify_at_hash": False, "verify_exp": False, "verify_iat": False},
    )
    verified = claims["verified_claims"]
    assert verified["claims"] == {"family_name": "Schmitz-Müller"}
    assert verified["verification"]["assurance_level"] == "substantial"
    headers = {"authorization": f"Bearer {token['access_token']}"}
    userinfo = signed_in.browser.client.get("/oidc/userinfo", headers=headers).json()
    assert "verified_claims" not in userinfo, "asked for the ID token only"


def test_self_declared_identity_puts_no_verified_claims_in_the_id_token(
    signed_in: SignedIn,
) -> None:
    token = _tokens_with_claims(signed_in, ID_TOKEN_REQUEST)
    assert "verified_claims" not in jose_jwt.get_unverified_claims(token["id_token"])


def _sign_userinfo_with(db: Database, client_id: str, alg: str | None) -> None:
    with db.unit_of_work() as uow:
        client = uow.session.scalars(select(OidcClient).filter_by(client_id=client_id)).one()
        client.userinfo_signed_response_alg = alg
        uow.commit()
    # Written past ClientService, so its short cache of client rows is told here.
    cache_for(db).forget(client_id)


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_userinfo_is_a_signed_jwt_when_the_client_registered_an_algorithm(
    signed_in: SignedIn, db: Database, settings: Settings, alg: str
) -> None:
    _sign_userinfo_with(db, signed_in.client_id, alg)
    token = _tokens_with_claims(signed_in, "{}", scope="openid profile")
    headers = {"authorization": f"Bearer {token['access_token']}"}
    answer = signed_in.browser.client.post("/oidc/userinfo", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/jwt"
    header = jose_jwt.get_unverified_header(answer.text)
    assert header["alg"] == alg
    jwks = signed_in.browser.client.get("/oidc/jwks").json()
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jose_jwt.decode(
        answer.text,
        key,
        algorithms=[alg],
        audience=signed_in.client_id,
        issuer=settings.issuer,
        options={"verify_iat": False},
    )
    assert claims["sub"] == jose_jwt.get_unverified_claims(signed_in.id_token)["sub"]
    assert claims["family_name"] == "Schmitz-Müller"
    assert "email" not in claims, "only the scopes of this token"


def test_discovery_lists_the_userinfo_signing_algorithms(signed_in: SignedIn) -> None:
    metadata = signed_in.browser.client.get("/.well-known/openid-configuration").json()
    assert metadata["userinfo_signing_alg_values_supported"] == ["ES256", "RS256"]


def test_a_disabled_procedure_gets_no_userinfo_with_a_token_it_still_holds(
    signed_in: SignedIn, db: Database, clock: FixedClock
) -> None:
    token = _tokens_with_claims(signed_in, "{}", scope="openid profile")
    ClientService(db, clock, digester_for(TEST_SECRET_KEY)).disable(signed_in.client_id, "test")
    headers = {"authorization": f"Bearer {token['access_token']}"}
    answer = signed_in.browser.client.get("/oidc/userinfo", headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid_token"}
