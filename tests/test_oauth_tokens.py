"""Procedure-to-service tokens: client_credentials, introspection, revocation, JWKS, metadata.

Access tokens are checked with python-jose against the published JWKS, and one test drives the
token endpoint with Authlib's own OAuth 2.0 client over a real HTTP server.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import uvicorn
from authlib.integrations.httpx_client import OAuth2Client
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from jose import jwk as jose_jwk
from jose import jwt as jose_jwt
from sqlalchemy import select
from starlette.testclient import TestClient

from servicekonto.authorities.models import AuthorityKind
from servicekonto.authorities.schemas import AuthoritySpec
from servicekonto.authorities.service import AuthorityService
from servicekonto.clients.schemas import ClientSpec
from servicekonto.clients.service import ClientService, digester_for
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.keys.service import KeyService
from servicekonto.store.engine import Database
from servicekonto.tokens import service as token_service
from servicekonto.tokens.models import IssuedToken
from servicekonto.tokens.service import SELF_CONTAINED_PREFIX, VerifiedTokens
from tests.cli_helpers import free_port
from tests.conftest import TEST_SECRET_KEY
from tests.web_helpers import provider_with_keys

SCOPE = "safe.deposit"


@dataclass
class Procedure:
    client_id: str
    secret: str


def _client(db: Database, clock: FixedClock, client_id: str, **overrides: object) -> Procedure:
    spec = {
        "client_id": client_id,
        "name": "Hundeanmeldung",
        "authority": "vg-test",
        "redirect_uris": ["https://procedure.example.de/callback"],
        "grant_types": ["client_credentials"],
        "scopes": [SCOPE],
        **overrides,
    }
    authority = AuthorityService(db, clock).ensure(
        AuthoritySpec(slug="vg-test", name="VG Test", kind=AuthorityKind.MUNICIPAL_ASSOCIATION),
        actor="test",
    )
    added = ClientService(db, clock, digester_for(TEST_SECRET_KEY)).add(
        ClientSpec.model_validate(spec), authority.authority.id, "test"
    )
    assert added.client_secret is not None
    return Procedure(client_id, added.client_secret)


@pytest.fixture
def oauth_app(settings: Settings, db: Database, clock: FixedClock) -> FastAPI:
    return provider_with_keys(settings, db, clock)


@pytest.fixture
def http(oauth_app: FastAPI) -> TestClient:
    return TestClient(oauth_app, follow_redirects=False)


@pytest.fixture
def procedure(db: Database, clock: FixedClock) -> Procedure:
    return _client(db, clock, "vg-test.hundeanmeldung")


def _token(http: TestClient, who: Procedure, scope: str = SCOPE) -> dict[str, object]:
    response = http.post(
        "/oidc/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(who.client_id, who.secret),
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, object] = response.json()
    return body


def _verify(http: TestClient, token: str, audience: str, settings: Settings) -> dict[str, object]:
    jwks = http.get("/oidc/jwks").json()
    header = jose_jwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    # Signature, audience and issuer by python-jose; the times against the test clock below
    # (python-jose reads the real clock, the server runs on the fixed one).
    claims: dict[str, object] = jose_jwt.decode(
        token,
        key,
        algorithms=[key["alg"]],
        audience=audience,
        issuer=settings.issuer,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    return claims


def test_client_credentials_token_is_a_verifiable_jwt(
    http: TestClient, procedure: Procedure, settings: Settings, clock: FixedClock
) -> None:
    body = _token(http, procedure)
    assert body["token_type"] == "Bearer"
    assert body["scope"] == SCOPE
    assert body["expires_in"] == 600
    token = str(body["access_token"])
    assert jose_jwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims = _verify(http, token, procedure.client_id, settings)
    assert claims["iat"] == int(clock.now().timestamp())
    assert claims["exp"] == int(clock.now().timestamp()) + 600
    assert claims["client_id"] == procedure.client_id
    assert claims["sub"] == procedure.client_id
    assert claims["scope"] == SCOPE
    assert {"jti", "iat", "exp"} <= set(claims)


def test_secret_in_the_body_works_too(http: TestClient, db: Database, clock: FixedClock) -> None:
    poster = _client(db, clock, "vg-test.poster", token_endpoint_auth_method="client_secret_post")
    response = http.post(
        "/oidc/token",
        data={
            "grant_type": "client_credentials",
            "scope": SCOPE,
            "client_id": poster.client_id,
            "client_secret": poster.secret,
        },
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("auth", "error", "status"),
    [
        (("vg-test.hundeanmeldung", "sk_cs_wrong"), "invalid_client", 401),
        (("nobody", "sk_cs_wrong"), "invalid_client", 401),
        (None, "invalid_client", 401),
    ],
)
def test_bad_client_authentication_is_refused(
    http: TestClient, procedure: Procedure, auth: tuple[str, str] | None, error: str, status: int
) -> None:
    response = http.post(
        "/oidc/token", data={"grant_type": "client_credentials", "scope": SCOPE}, auth=auth
    )
    assert response.status_code == status
    assert response.json()["error"] == error
    assert "access_token" not in response.json()


def test_a_disabled_client_gets_nothing(
    http: TestClient, procedure: Procedure, db: Database, clock: FixedClock
) -> None:
    ClientService(db, clock, digester_for(TEST_SECRET_KEY)).disable(procedure.client_id, "test")
    response = http.post(
        "/oidc/token",
        data={"grant_type": "client_credentials", "scope": SCOPE},
        auth=(procedure.client_id, procedure.secret),
    )
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("scope", ["openid", "", "safe.deposit profile", "x" * 300])
def test_scopes_beyond_the_clients_are_refused(
    http: TestClient, procedure: Procedure, scope: str
) -> None:
    response = http.post(
        "/oidc/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(procedure.client_id, procedure.secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


@pytest.mark.parametrize("grant", ["password", "authorization_code", "", "urn:x"])
def test_other_grants_are_refused(http: TestClient, procedure: Procedure, grant: str) -> None:
    response = http.post(
        "/oidc/token", data={"grant_type": grant}, auth=(procedure.client_id, procedure.secret)
    )
    assert response.status_code in {400, 401}
    assert response.json()["error"] in {
        "unsupported_grant_type",
        "unauthorized_client",
        "invalid_request",
        "invalid_grant",
    }


def test_introspection_answers_only_for_own_live_tokens(
    http: TestClient, procedure: Procedure, db: Database, clock: FixedClock
) -> None:
    other = _client(db, clock, "vg-test.other")
    token = str(_token(http, procedure)["access_token"])

    def introspect(who: Procedure, value: str) -> dict[str, object]:
        response = http.post(
            "/oidc/introspect", data={"token": value}, auth=(who.client_id, who.secret)
        )
        assert response.status_code == 200
        body: dict[str, object] = response.json()
        return body

    own = introspect(procedure, token)
    assert own["active"] is True
    assert own["scope"] == SCOPE
    assert own["client_id"] == procedure.client_id
    assert introspect(other, token) == {"active": False}
    assert introspect(procedure, "not-a-token") == {"active": False}
    clock.advance(timedelta(seconds=601))
    assert introspect(procedure, token) == {"active": False}


def test_revocation_by_the_owner_ends_the_token(
    http: TestClient, procedure: Procedure, db: Database, clock: FixedClock
) -> None:
    other = _client(db, clock, "vg-test.other")
    token = str(_token(http, procedure)["access_token"])
    refused = http.post("/oidc/revoke", data={"token": token}, auth=(other.client_id, other.secret))
    assert refused.status_code == 400
    still = http.post(
        "/oidc/introspect", data={"token": token}, auth=(procedure.client_id, procedure.secret)
    )
    assert still.json()["active"] is True
    done = http.post(
        "/oidc/revoke", data={"token": token}, auth=(procedure.client_id, procedure.secret)
    )
    assert done.status_code == 200
    gone = http.post(
        "/oidc/introspect", data={"token": token}, auth=(procedure.client_id, procedure.secret)
    )
    assert gone.json() == {"active": False}
    # RFC 7009 §2.2: an unknown token is not an error.
    unknown = http.post(
        "/oidc/revoke", data={"token": "whatever"}, auth=(procedure.client_id, procedure.secret)
    )
    assert unknown.status_code == 200


def _records(db: Database) -> list[tuple[str, object]]:
    with db.session() as session:
        rows = session.execute(select(IssuedToken.jti, IssuedToken.revoked_at))
        return [(row.jti, row.revoked_at) for row in rows]


def _introspected(http: TestClient, who: Procedure, token: str) -> dict[str, object]:
    response = http.post(
        "/oidc/introspect", data={"token": token}, auth=(who.client_id, who.secret)
    )
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def test_a_procedures_own_token_is_recorded_only_when_revoked(
    http: TestClient, procedure: Procedure, db: Database, clock: FixedClock
) -> None:
    token = str(_token(http, procedure)["access_token"])
    claims = jose_jwt.get_unverified_claims(token)
    assert str(claims["jti"]).startswith(SELF_CONTAINED_PREFIX)
    assert _records(db) == [], "issuing a self-contained token writes nothing"
    live = _introspected(http, procedure, token)
    assert live["active"] is True
    assert (live["sub"], live["exp"], live["iat"]) == (
        procedure.client_id,
        claims["exp"],
        claims["iat"],
    )
    bearer = {"authorization": f"Bearer {token}"}
    accepted = http.post("/api/v1/safe/documents", headers=bearer)
    assert accepted.status_code != 401, "the safe API takes the token (and wants a document)"
    auth = (procedure.client_id, procedure.secret)
    for _ in range(2):  # revoking twice changes nothing the second time
        assert http.post("/oidc/revoke", data={"token": token}, auth=auth).status_code == 200
    assert _records(db) == [(claims["jti"], clock.now())]
    assert _introspected(http, procedure, token) == {"active": False}
    refused = http.post("/api/v1/safe/documents", headers=bearer)
    assert refused.status_code == 401, "the safe API refuses it too"


def test_a_token_verified_before_is_refused_once_its_key_is_withdrawn(
    http: TestClient, procedure: Procedure, oauth_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = str(_token(http, procedure)["access_token"])
    assert _introspected(http, procedure, token)["active"] is True  # verified and kept
    keys = oauth_app.state.key_ring
    monkeypatch.setattr(keys, "key_for_kid", lambda _kid: None)
    assert _introspected(http, procedure, token) == {"active": False}


def test_verified_tokens_are_kept_for_a_bounded_time_and_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(token_service.time, "monotonic", lambda: now[0])
    kept = VerifiedTokens(kept=2, seconds=60)
    for name in ("a", "b", "c"):
        kept.put(name, "kid", {"jti": name})
    assert kept.get("a") is None, "the oldest made room"
    assert kept.get("c") == ("kid", {"jti": "c"})
    now[0] += 61
    assert kept.get("c") is None, "a minute later it is verified anew"


FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("grant_type=client_credentials&" + "&".join(f"x{n}=1" for n in range(20)), "fields"),
        ("grant_type=client_credentials&scope=" + "a" * (16 * 1024 + 1), "long field"),
        (b"grant_type=client_credentials&scope=\xff\xfe", "not UTF-8"),
    ],
)
def test_an_unreadable_token_form_is_a_problem_400(
    http: TestClient, procedure: Procedure, body: str | bytes, why: str
) -> None:
    response = http.post(
        "/oidc/token", content=body, headers=FORM, auth=(procedure.client_id, procedure.secret)
    )
    assert response.status_code == 400, why
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 400


def test_a_repeated_token_parameter_is_invalid_request(
    http: TestClient, procedure: Procedure
) -> None:
    body = f"grant_type=client_credentials&scope={SCOPE}&scope={SCOPE}"
    response = http.post(
        "/oidc/token", content=body, headers=FORM, auth=(procedure.client_id, procedure.secret)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_forged_tokens_are_not_active(http: TestClient, procedure: Procedure) -> None:
    token = str(_token(http, procedure)["access_token"])
    header, payload, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    unsigned = f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{payload}."
    kid = jose_jwt.get_unverified_header(token)["kid"]
    public = next(k for k in http.get("/oidc/jwks").json()["keys"] if k["kid"] == kid)
    # The classic confusion: HS256 with the public key as the shared secret.
    hmac_forged = jose_jwt.encode(
        claims, json.dumps(public), algorithm="HS256", headers={"kid": kid, "typ": "at+jwt"}
    )
    tampered = f"{header}.{_b64({**claims, 'scope': 'everything'})}.{token.split('.')[2]}"
    for forged in (unsigned, hmac_forged, tampered):
        response = http.post(
            "/oidc/introspect", data={"token": forged}, auth=(procedure.client_id, procedure.secret)
        )
        assert response.json() == {"active": False}


def test_metadata_and_jwks(http: TestClient, settings: Settings) -> None:
    metadata = http.get("/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == settings.issuer
    assert metadata["token_endpoint"] == f"{settings.issuer}/oidc/token"
    assert "client_credentials" in metadata["grant_types_supported"]
    keys = http.get("/oidc/jwks").json()["keys"]
    assert {key["alg"] for key in keys} == {"ES256", "RS256"}
    assert all("d" not in key for key in keys), "never a private member"


def test_tokens_survive_a_key_rotation(
    http: TestClient, procedure: Procedure, settings: Settings, db: Database, clock: FixedClock
) -> None:
    before = str(_token(http, procedure)["access_token"])
    KeyService(settings, db, clock).rotate("ES256")
    clock.advance(timedelta(minutes=11))  # past the publish lead and the key ring's cache
    after = str(_token(http, procedure)["access_token"])
    assert (
        jose_jwt.get_unverified_header(before)["kid"]
        != jose_jwt.get_unverified_header(after)["kid"]
    )
    kids = {key["kid"] for key in http.get("/oidc/jwks").json()["keys"]}
    assert jose_jwt.get_unverified_header(before)["kid"] in kids, "the old key stays published"


@pytest.fixture
def live_server(oauth_app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(oauth_app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_client_gets_a_token_over_http(
    live_server: str, db: Database, clock: FixedClock, method: str
) -> None:
    who = _client(
        db, clock, f"vg-test.{method.replace('_', '-')}", token_endpoint_auth_method=method
    )
    with OAuth2Client(
        who.client_id, who.secret, scope=SCOPE, token_endpoint_auth_method=method
    ) as client:
        token = client.fetch_token(f"{live_server}/oidc/token", grant_type="client_credentials")
    assert token["token_type"] == "Bearer"
    assert token["scope"] == SCOPE


def _assertion(private_pem: str, client_id: str, audience: str, jti: str, now: int) -> str:
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": jti,
        "iat": now,
        "exp": now + 60,
    }
    return str(jose_jwt.encode(claims, private_pem, algorithm="ES256", headers={"kid": "k1"}))


@pytest.fixture
def key_client(db: Database, clock: FixedClock) -> tuple[str, str]:
    """A procedure authenticating with private_key_jwt; the assertions are made with python-jose."""
    # authlib checks the assertion's exp against the real clock: run the server's clock on it too.
    clock.advance(datetime.now(UTC) - clock.now())
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = jose_jwk.construct(
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        algorithm="ES256",
    ).to_dict()
    public.update(kid="k1", use="sig")
    authority = AuthorityService(db, clock).ensure(
        AuthoritySpec(slug="vg-test", name="VG Test", kind=AuthorityKind.MUNICIPAL_ASSOCIATION),
        actor="test",
    )
    ClientService(db, clock, digester_for(TEST_SECRET_KEY)).add(
        ClientSpec.model_validate(
            {
                "client_id": "vg-test.keyed",
                "name": "Keyed",
                "authority": "vg-test",
                "redirect_uris": ["https://procedure.example.de/callback"],
                "grant_types": ["client_credentials"],
                "scopes": [SCOPE],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [public]},
            }
        ),
        authority.authority.id,
        "test",
    )
    return "vg-test.keyed", pem


def test_private_key_jwt_authenticates_once_per_assertion(
    http: TestClient, key_client: tuple[str, str], settings: Settings, clock: FixedClock
) -> None:
    client_id, pem = key_client
    now = int(clock.now().timestamp())
    assertion = _assertion(pem, client_id, f"{settings.issuer}/oidc/token", "jti-1", now)
    form = {
        "grant_type": "client_credentials",
        "scope": SCOPE,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    first = http.post("/oidc/token", data=form)
    assert first.status_code == 200, first.text
    replay = http.post("/oidc/token", data=form)
    assert replay.status_code in {400, 401}
    assert replay.json()["error"] == "invalid_client"


@pytest.mark.parametrize("problem", ["audience", "signature", "lifetime"])
def test_bad_client_assertions_are_refused(
    http: TestClient,
    key_client: tuple[str, str],
    settings: Settings,
    clock: FixedClock,
    problem: str,
) -> None:
    client_id, pem = key_client
    now = int(clock.now().timestamp())
    audience = (
        "https://elsewhere.example" if problem == "audience" else f"{settings.issuer}/oidc/token"
    )
    assertion = _assertion(pem, client_id, audience, f"jti-{problem}", now)
    if problem == "signature":
        head, body, signature = assertion.split(".")
        assertion = f"{head}.{body}.{signature[::-1]}"
    if problem == "lifetime":
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "jti": "long",
            "iat": now,
            "exp": now + 86400,
        }
        assertion = str(jose_jwt.encode(claims, pem, algorithm="ES256", headers={"kid": "k1"}))
    response = http.post(
        "/oidc/token",
        data={
            "grant_type": "client_credentials",
            "scope": SCOPE,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )
    assert response.status_code in {400, 401}
    assert response.json()["error"] == "invalid_client"
