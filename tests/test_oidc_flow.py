"""The authorization code flow as a procedure sees it, driven by an independent client.

The relying party is Authlib's OAuth 2.0 client (PKCE S256, nonce, code exchange, refresh)
talking over real HTTP to a uvicorn server; the person is an httpx client with its own cookie
jar that walks every hop our server redirects it through (login, second factor, step-up,
consent). Every ID token and access token is checked with python-jose against the published
JWKS, never with the code that made it (DESIGN.md, "Architecture"). The test clock starts at
the real time, so python-jose checks `exp` as a procedure would.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
import uvicorn
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from fastapi import FastAPI
from jose import jwt as jose_jwt
from jose.exceptions import JWTClaimsError
from sqlalchemy import select, update

from servicekonto.accounts.models import Person
from servicekonto.app import create_app
from servicekonto.authorities.models import AuthorityKind
from servicekonto.authorities.schemas import AuthoritySpec
from servicekonto.authorities.service import AuthorityService
from servicekonto.clients.schemas import ClientSpec
from servicekonto.clients.service import ClientService, digester_for
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.keys.service import KeyService, generate_key
from servicekonto.store.engine import Database
from servicekonto.trust.levels import IdentityProofing
from tests.cli_helpers import free_port
from tests.conftest import TEST_SECRET_KEY
from tests.web_helpers import EMAIL, Browser, RecordingMailSender, cheap_settings

REDIRECT_URI = "https://procedure.vg-test.example/callback"
ALL_SCOPES = ["openid", "profile", "email", "address", "birth"]
BSI_NORMAL = "http://bsi.bund.de/eID/LoA/normal"
EIDAS_SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
# The claims of tests.web_helpers.REGISTRATION, scope by scope (OIDC Core §5.4 and our map).
EXPECTED_CLAIMS: dict[str, dict[str, Any]] = {
    "profile": {
        "name": "Anna Maria Schmitz-Müller",
        "given_name": "Anna Maria",
        "family_name": "Schmitz-Müller",
    },
    "email": {"email": EMAIL, "email_verified": True},
    "address": {
        "address": {
            "street_address": "Moselstraße 12a",
            "postal_code": "56812",
            "locality": "Cochem",
            "country": "DE",
        }
    },
    "birth": {
        "birthdate": "1980-05-17",
        "birth_family_name": "Schmitz-Müller",
        "place_of_birth": {"locality": "Cochem"},
    },
}


# --- helpers shared with test_oidc_negative -------------------------------------------------


@dataclass
class Procedure:
    client_id: str
    secret: str | None


def add_procedure(
    db: Database, clock: FixedClock, client_id: str, authority: str = "vg-test", **spec: Any
) -> Procedure:
    """Register a procedure of the authority (created on first use) for the code flow."""
    fields: dict[str, Any] = {
        "client_id": client_id,
        "name": f"Verfahren {client_id}",
        "authority": authority,
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": ALL_SCOPES,
        "default_trust_level": 1,
        **spec,
    }
    found = AuthorityService(db, clock).ensure(
        AuthoritySpec(
            slug=authority, name=authority.upper(), kind=AuthorityKind.MUNICIPAL_ASSOCIATION
        ),
        actor="test",
    )
    added = ClientService(db, clock, digester_for(TEST_SECRET_KEY)).add(
        ClientSpec.model_validate(fields), found.authority.id, "test"
    )
    return Procedure(client_id, added.client_secret)


def prove_identity(db: Database, email: str = EMAIL) -> None:
    """What redeeming a PIN letter does: registry match + letter (identity good up to level 3)."""
    with db.unit_of_work() as uow:
        uow.session.execute(
            update(Person)
            .where(Person.email == email)
            .values(identity_proofing=IdentityProofing.REGISTRY_LETTER.value)
        )
        uow.commit()


def person_id(db: Database, email: str = EMAIL) -> uuid.UUID:
    with db.session() as session:
        found = session.scalar(select(Person.id).where(Person.email == email))
    assert found is not None
    return found


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def walk(
    browser: Browser,
    url: str,
    clock: FixedClock,
    *,
    totp_seed: str | None = None,
    decision: str = "allow",
) -> tuple[str, list[str]]:
    """Follow our redirects as a person would, answering each page, until one leaves for the
    procedure. Returns that address and the paths of the pages on the way."""
    pages: list[str] = []
    response = browser.get(url)
    for _ in range(12):
        assert response.status_code in {302, 303}, response.text
        location = response.headers["location"]
        if location.startswith(REDIRECT_URI):
            return location, pages
        path = browser.path_of(location)
        page = urlsplit(path).path
        pages.append(page)
        target = query_of(path).get("next", "")
        if page == "/login":
            response = browser.login(next=target)
        elif page == "/login/second-factor":
            assert totp_seed, "a second factor was asked for"
            code = pyotp.TOTP(totp_seed).at(clock.now())
            response = browser.post(page, {"code": code, "next": target})
        elif page.startswith("/interaction/"):
            assert browser.get(path).status_code == 200
            response = browser.post(path, {"decision": decision} if "consent" in page else {})
        else:
            response = browser.get(path)
    raise AssertionError(f"too many hops: {pages}")


# --- independent checks of what the procedure receives --------------------------------------


def public_key(jwks: dict[str, Any], token: str) -> dict[str, Any]:
    header = jose_jwt.get_unverified_header(token)
    key: dict[str, Any] = next(key for key in jwks["keys"] if key["kid"] == header["kid"])
    assert header["alg"] == key["alg"]
    return key


def check_id_token(
    id_token: str, jwks: dict[str, Any], *, client_id: str, issuer: str, nonce: str, access: str
) -> dict[str, Any]:
    """OIDC Core §3.1.3.7 by python-jose: signature, iss, aud, exp; at_hash (§3.1.3.8)
    against the access token that came with it; then nonce and auth_time."""
    key = public_key(jwks, id_token)
    claims: dict[str, Any] = jose_jwt.decode(
        id_token,
        key,
        algorithms=[key["alg"]],
        audience=client_id,
        issuer=issuer,
        access_token=access,
    )
    assert "at_hash" in claims, "at_hash is what binds the access token to the ID token"
    assert claims["nonce"] == nonce
    assert isinstance(claims["auth_time"], int)
    assert claims["auth_time"] <= claims["iat"] < claims["exp"]
    return claims


def check_access_token(
    token: str, jwks: dict[str, Any], *, client_id: str, issuer: str
) -> dict[str, Any]:
    """RFC 9068: a JWT with typ at+jwt, for this client, from us."""
    key = public_key(jwks, token)
    assert jose_jwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims: dict[str, Any] = jose_jwt.decode(
        token, key, algorithms=[key["alg"]], audience=client_id, issuer=issuer
    )
    assert claims["client_id"] == client_id
    return claims


def expected_claims(scopes: list[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    for scope in scopes:
        claims.update(EXPECTED_CLAIMS.get(scope, {}))
    return claims


# --- fixtures -------------------------------------------------------------------------------

_KEYS: dict[str, Any] = {}


def generate_once(alg: str) -> Any:
    """A real key per algorithm, made once per run: RSA generation dominated the runtime."""
    if alg not in _KEYS:
        _KEYS[alg] = generate_key(alg)
    return _KEYS[alg]


@pytest.fixture(autouse=True)
def _one_key_per_algorithm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("servicekonto.keys.service.generate_key", generate_once)


class LiveBrowser(Browser):
    """The hosted pages over real HTTP; the httpx client's cookie jar is the browser's."""

    def __init__(self, base_url: str) -> None:
        # Not Browser.__init__: the same page helpers, over an httpx client instead of ASGI.
        self.client = httpx.Client(base_url=base_url, follow_redirects=False)


@dataclass
class Provider:
    issuer: str
    app: FastAPI
    mail: RecordingMailSender
    metadata: dict[str, Any]
    parties: list[OAuth2Client] = field(default_factory=list)

    def jwks(self) -> dict[str, Any]:
        keys: dict[str, Any] = httpx.get(self.metadata["jwks_uri"]).json()
        return keys


@pytest.fixture
def clock() -> FixedClock:
    # At the real time, so that python-jose can check `exp` as a procedure's library would.
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def provider(settings: Settings, db: Database, clock: FixedClock) -> Iterator[Provider]:
    yield from serve_provider(settings, db, clock)


def serve_provider(
    settings: Settings, db: Database, clock: FixedClock, **app_options: Any
) -> Iterator[Provider]:
    """The app served by uvicorn on a free port, as procedures and browsers reach it."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    mail = RecordingMailSender()
    KeyService(settings, db, clock).ensure_keys()
    app = create_app(
        cheap_settings(settings, issuer=issuer),
        database=db,
        clock=clock,
        mail_sender=mail,
        **app_options,
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    metadata = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
    found = Provider(issuer, app, mail, metadata)
    yield found
    for party in found.parties:
        party.close()
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def person(provider: Provider) -> Iterator[LiveBrowser]:
    yield from registered_person(provider)


def registered_person(provider: Provider) -> Iterator[LiveBrowser]:
    """A registered person with a confirmed address, not signed in."""
    browser = LiveBrowser(provider.issuer)
    assert browser.register().status_code == 303
    assert browser.confirm(provider.mail.last_link()).status_code == 200
    yield browser
    browser.client.close()


def relying_party(provider: Provider, who: Procedure, scopes: list[str]) -> OAuth2Client:
    method = "client_secret_basic" if who.secret else "none"
    party = OAuth2Client(
        who.client_id,
        who.secret,
        scope=" ".join(scopes),
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method=method,
    )
    provider.parties.append(party)
    return party


@dataclass
class Login:
    token: dict[str, Any]
    id_claims: dict[str, Any]
    pages: list[str]


def log_in_with(
    provider: Provider,
    browser: LiveBrowser,
    rp: OAuth2Client,
    clock: FixedClock,
    totp_seed: str | None = None,
    **params: str,
) -> Login:
    """One authorization code flow: authorize, walk the pages, redeem the code, check it all."""
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = rp.create_authorization_url(
        provider.metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **params
    )
    location, pages = walk(browser, url, clock, totp_seed=totp_seed)
    answer = query_of(location)
    # RFC 9207: the response names its issuer; the state comes back unchanged.
    assert answer["iss"] == provider.issuer
    assert answer["state"] == state
    assert "error" not in answer
    token = rp.fetch_token(
        provider.metadata["token_endpoint"],
        authorization_response=location,
        code_verifier=verifier,
    )
    assert token["token_type"] == "Bearer"
    jwks = provider.jwks()
    id_claims = check_id_token(
        token["id_token"],
        jwks,
        client_id=rp.client_id,
        issuer=provider.issuer,
        nonce=nonce,
        access=token["access_token"],
    )
    access = check_access_token(
        token["access_token"], jwks, client_id=rp.client_id, issuer=provider.issuer
    )
    assert access["sub"] == id_claims["sub"]
    assert set(access["scope"].split()) == set(str(rp.scope).split())
    return Login(dict(token), id_claims, pages)


def userinfo(provider: Provider, rp: OAuth2Client, method: str = "GET") -> dict[str, Any]:
    response = rp.request(method, provider.metadata["userinfo_endpoint"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


# --- the flows ------------------------------------------------------------------------------


def test_discovery_names_the_live_endpoints(provider: Provider) -> None:
    metadata = provider.metadata
    assert metadata["issuer"] == provider.issuer
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert metadata[name].startswith(provider.issuer + "/")
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert BSI_NORMAL in metadata["acr_values_supported"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    keys = provider.jwks()["keys"]
    assert keys
    assert all("d" not in key for key in keys)


def test_code_flow_with_every_scope_at_level_2_in_bsi_words(
    provider: Provider, person: LiveBrowser, db: Database, clock: FixedClock
) -> None:
    prove_identity(db)
    rp = relying_party(provider, add_procedure(db, clock, "vg-test.hund"), ALL_SCOPES)
    first = log_in_with(provider, person, rp, clock, acr_values=BSI_NORMAL)
    assert first.pages[0] == "/login"
    assert any(page.startswith("/interaction/consent/") for page in first.pages)
    claims = first.id_claims
    # Answered in the vocabulary the procedure asked in, at the level the session reached.
    assert claims["acr"] == BSI_NORMAL
    assert claims["amr"] == ["pwd"]
    assert claims["auth_time"] == int(clock.now().timestamp())
    assert claims["sub"] == str(person_id(db))

    expected = {"sub": claims["sub"], **expected_claims(ALL_SCOPES)}
    assert userinfo(provider, rp, "GET") == expected
    assert userinfo(provider, rp, "POST") == expected

    # Single sign-on: the same session and the consent given answer at once.
    clock.advance(timedelta(minutes=2))
    again = log_in_with(provider, person, rp, clock, acr_values=BSI_NORMAL)
    assert again.pages == []
    assert again.id_claims["sub"] == claims["sub"]
    assert again.id_claims["auth_time"] == claims["auth_time"]
    assert again.token["access_token"] != first.token["access_token"]


def test_at_hash_is_really_checked(
    provider: Provider, person: LiveBrowser, db: Database, clock: FixedClock
) -> None:
    """The independent check would catch an ID token paired with another access token."""
    rp = relying_party(provider, add_procedure(db, clock, "vg-test.hund"), ["openid"])
    one = log_in_with(provider, person, rp, clock)
    two = log_in_with(provider, person, rp, clock)
    key = public_key(provider.jwks(), one.token["id_token"])
    with pytest.raises(JWTClaimsError, match="at_hash"):
        jose_jwt.decode(
            one.token["id_token"],
            key,
            algorithms=[key["alg"]],
            audience=rp.client_id,
            issuer=provider.issuer,
            access_token=two.token["access_token"],
        )


def test_refresh_rotates_and_the_new_tokens_work(
    provider: Provider, person: LiveBrowser, db: Database, clock: FixedClock
) -> None:
    scopes = ["openid", "email"]
    rp = relying_party(provider, add_procedure(db, clock, "vg-test.hund"), scopes)
    login = log_in_with(provider, person, rp, clock)
    first_refresh = login.token["refresh_token"]
    clock.advance(timedelta(minutes=1))
    renewed = rp.refresh_token(provider.metadata["token_endpoint"], refresh_token=first_refresh)
    assert renewed["refresh_token"] != first_refresh
    assert renewed["access_token"] != login.token["access_token"]
    jwks = provider.jwks()
    access = check_access_token(
        renewed["access_token"], jwks, client_id=rp.client_id, issuer=provider.issuer
    )
    assert access["sub"] == login.id_claims["sub"]
    if "id_token" in renewed:  # OIDC Core §12.2 allows one; then it must check out as well
        check_id_token(
            renewed["id_token"],
            jwks,
            client_id=rp.client_id,
            issuer=provider.issuer,
            nonce=login.id_claims["nonce"],
            access=renewed["access_token"],
        )
    assert userinfo(provider, rp) == {"sub": login.id_claims["sub"], **expected_claims(scopes)}
    # The successor rotates in its turn.
    third = rp.refresh_token(provider.metadata["token_endpoint"])
    assert third["refresh_token"] not in {first_refresh, renewed["refresh_token"]}


def test_public_client_with_pkce_gets_only_its_scopes(
    provider: Provider, person: LiveBrowser, db: Database, clock: FixedClock
) -> None:
    who = add_procedure(db, clock, "vg-test.sperrmuell", token_endpoint_auth_method="none")
    assert who.secret is None
    scopes = ["openid", "address"]
    rp = relying_party(provider, who, scopes)
    login = log_in_with(provider, person, rp, clock)
    assert login.id_claims["acr"] == "STORK-QAA-Level-1"  # no acr_values: the default words
    body = userinfo(provider, rp, "POST")
    assert body == {"sub": login.id_claims["sub"], **expected_claims(scopes)}
    assert "email" not in body
    assert "birthdate" not in body


def test_step_up_to_a_second_factor(
    provider: Provider, person: LiveBrowser, db: Database, clock: FixedClock
) -> None:
    prove_identity(db)
    assert person.login().status_code == 303
    seed, _ = person.enrol_totp(clock.now())
    clock.advance(timedelta(seconds=30))  # a fresh TOTP step: the enrolment's code is spent
    rp = relying_party(
        provider, add_procedure(db, clock, "vg-test.jagd"), ["openid", "profile", "birth"]
    )
    login = log_in_with(provider, person, rp, clock, totp_seed=seed, acr_values=EIDAS_SUBSTANTIAL)
    # Signed in with the password only (level 2): stepped up, logged in again with both.
    assert login.pages[0].startswith("/interaction/step-up/")
    assert login.pages[1:3] == ["/login", "/login/second-factor"]
    assert login.id_claims["acr"] == EIDAS_SUBSTANTIAL
    assert {"pwd", "otp"} <= set(login.id_claims["amr"])
    assert login.id_claims["auth_time"] == int(clock.now().timestamp())


def test_totp_login_reaches_level_3_directly(
    provider: Provider, person: LiveBrowser, db: Database, clock: FixedClock
) -> None:
    prove_identity(db)
    assert person.login().status_code == 303
    seed, _ = person.enrol_totp(clock.now())
    assert person.logout().status_code == 303
    clock.advance(timedelta(seconds=30))
    rp = relying_party(provider, add_procedure(db, clock, "vg-test.gewerbe"), ["openid"])
    login = log_in_with(provider, person, rp, clock, totp_seed=seed, acr_values="STORK-QAA-Level-3")
    assert login.pages[:2] == ["/login", "/login/second-factor"]
    assert login.id_claims["acr"] == "STORK-QAA-Level-3"
    assert {"pwd", "otp"} <= set(login.id_claims["amr"])


def test_pairwise_subjects_are_per_authority_and_stable(
    provider: Provider, person: LiveBrowser, db: Database, clock: FixedClock
) -> None:
    def procedure(client_id: str, authority: str, subject_type: str = "pairwise") -> OAuth2Client:
        who = add_procedure(
            db,
            clock,
            client_id,
            authority=authority,
            subject_type=subject_type,
            consent_required=False,
            scopes=["openid", "email"],
        )
        return relying_party(provider, who, ["openid", "email"])

    cochem_dog = procedure("vg-cochem.hund", "vg-cochem")
    cochem_waste = procedure("vg-cochem.sperrmuell", "vg-cochem")
    zell_dog = procedure("vg-zell.hund", "vg-zell")
    zell_public = procedure("vg-zell.gewerbe", "vg-zell", subject_type="public")

    def subject(rp: OAuth2Client) -> str:
        login = log_in_with(provider, person, rp, clock)
        assert userinfo(provider, rp)["sub"] == login.id_claims["sub"]
        assert login.id_claims["sub"] != ""
        return str(login.id_claims["sub"])

    first = {rp.client_id: subject(rp) for rp in (cochem_dog, cochem_waste, zell_dog, zell_public)}
    assert first["vg-cochem.hund"] == first["vg-cochem.sperrmuell"]
    assert first["vg-zell.hund"] != first["vg-cochem.hund"]
    assert first["vg-zell.gewerbe"] == str(person_id(db))
    assert str(person_id(db)) not in {first["vg-cochem.hund"], first["vg-zell.hund"]}
    # Stable: a new session next week sees the same pseudonyms.
    assert person.logout().status_code == 303
    clock.advance(timedelta(days=7))
    assert subject(cochem_waste) == first["vg-cochem.hund"]
    assert subject(zell_dog) == first["vg-zell.hund"]
