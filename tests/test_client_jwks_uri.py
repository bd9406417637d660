"""private_key_jwt with keys a procedure publishes at its jwks_uri, fetched over real HTTPS.

The assertions are made with python-jose; the keys are served by a TLS server on 127.0.0.1
whose throw-away CA only the fetcher of these tests trusts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from jose import jwk as jose_jwk
from jose import jwt as jose_jwt
from starlette.testclient import TestClient

from servicekonto.app import create_app
from servicekonto.authorities.models import AuthorityKind
from servicekonto.authorities.schemas import AuthoritySpec
from servicekonto.authorities.service import AuthorityService
from servicekonto.clients.schemas import ClientSpec
from servicekonto.clients.service import ClientService, digester_for
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.keys.service import KeyService
from servicekonto.oidc.remote_jwks import (
    MAX_BYTES,
    REFETCH_COOLDOWN,
    RemoteJwks,
    RemoteJwksError,
    UnknownClientKeyError,
    fetch_jwks,
)
from servicekonto.store.engine import Database
from tests.conftest import TEST_SECRET_KEY
from tests.https_helpers import Answer, HttpsServer, https_server
from tests.web_helpers import RecordingMailSender, cheap_settings

SCOPE = "safe.deposit"
CLIENT_ID = "vg-test.published-keys"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def key_pair(kid: str) -> tuple[str, dict[str, Any]]:
    """A PEM private key for python-jose and the public JWK the procedure publishes."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public = jose_jwk.construct(public_pem.decode(), algorithm="ES256").to_dict()
    public.update(kid=kid, use="sig")
    return pem, public


def publish(server: HttpsServer, *keys: dict[str, Any], path: str = "/jwks") -> None:
    server.answers[path] = Answer(json.dumps({"keys": list(keys)}).encode())


@pytest.fixture
def tls() -> Iterator[HttpsServer]:
    with https_server() as server:
        yield server


@pytest.fixture
def trusting_http(tls: HttpsServer) -> Iterator[httpx.Client]:
    with httpx.Client(verify=tls.trusting_context(), timeout=2.0) as client:
        yield client


# --- fetching --------------------------------------------------------------------------------


def test_a_published_jwks_is_fetched_and_checked(
    tls: HttpsServer, trusting_http: httpx.Client
) -> None:
    _, public = key_pair("k1")
    publish(tls, public)
    assert fetch_jwks(f"{tls.base_url}/jwks", trusting_http) == {"keys": [public]}


FETCH_PROBLEMS = [
    ("not-found", Answer(b"gone", 404), "HTTP 404"),
    ("redirect", Answer(b"", 302, {"location": "https://elsewhere.example/jwks"}), "HTTP 302"),
    ("not-json", Answer(b"<html>maintenance</html>"), "did not answer JSON"),
    ("json-array", Answer(b"[]"), "not answer a JSON object"),
    ("empty-set", Answer(b'{"keys": []}'), "not usable"),
    ("too-large", Answer(b" " * (MAX_BYTES + 1)), "larger than"),
]


@pytest.mark.parametrize(
    ("answer", "message"),
    [case[1:] for case in FETCH_PROBLEMS],
    ids=[case[0] for case in FETCH_PROBLEMS],
)
def test_unusable_answers_are_refused_with_a_reason(
    tls: HttpsServer, trusting_http: httpx.Client, answer: Answer, message: str
) -> None:
    tls.answers["/jwks"] = answer
    with pytest.raises(RemoteJwksError, match=message):
        fetch_jwks(f"{tls.base_url}/jwks", trusting_http)


def test_a_jwks_with_a_private_key_is_refused(
    tls: HttpsServer, trusting_http: httpx.Client
) -> None:
    _, public = key_pair("k1")
    publish(tls, {**public, "d": "c2VjcmV0"})
    with pytest.raises(RemoteJwksError, match="private key material"):
        fetch_jwks(f"{tls.base_url}/jwks", trusting_http)


def test_an_untrusted_certificate_and_a_slow_server_are_refused(tls: HttpsServer) -> None:
    _, public = key_pair("k1")
    publish(tls, public)
    with httpx.Client() as default_trust, pytest.raises(RemoteJwksError, match="ConnectError"):
        fetch_jwks(f"{tls.base_url}/jwks", default_trust)
    tls.answers["/jwks"].delay_seconds = 1.0
    with (
        httpx.Client(verify=tls.trusting_context(), timeout=0.2) as impatient,
        pytest.raises(RemoteJwksError, match="Timeout"),
    ):
        fetch_jwks(f"{tls.base_url}/jwks", impatient)


# --- caching ---------------------------------------------------------------------------------


class CountingFetch:
    def __init__(self, *documents: dict[str, Any] | Exception) -> None:
        self.documents = list(documents)
        self.calls = 0

    def __call__(self, uri: str) -> dict[str, Any]:
        self.calls += 1
        document = self.documents[min(self.calls, len(self.documents)) - 1]
        if isinstance(document, Exception):
            raise document
        return document


def test_keys_are_cached_and_an_unknown_kid_refetches_at_most_once_a_minute() -> None:
    clock = FixedClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    _, first = key_pair("k1")
    _, second = key_pair("k2")
    fetch = CountingFetch({"keys": [first]}, {"keys": [first, second]})
    remote = RemoteJwks(clock, fetch)
    assert remote.key_for("https://p.example/jwks", "k1").kid == "k1"
    assert remote.key_for("https://p.example/jwks", "k1").kid == "k1"
    assert fetch.calls == 1, "cached"
    clock.advance(REFETCH_COOLDOWN + timedelta(seconds=1))
    assert remote.key_for("https://p.example/jwks", "k2").kid == "k2", "a rotation is picked up"
    assert fetch.calls == 2
    for _ in range(3):
        with pytest.raises(UnknownClientKeyError):
            remote.key_for("https://p.example/jwks", "forged")
    assert fetch.calls == 2, "an unknown kid within the cooldown fetches nothing"


def test_last_good_keys_survive_a_failed_refresh_for_a_day() -> None:
    clock = FixedClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    _, key = key_pair("k1")
    fetch = CountingFetch({"keys": [key]}, RemoteJwksError("the JWKS URI answered HTTP 503"))
    remote = RemoteJwks(clock, fetch)
    remote.key_for("https://p.example/jwks", "k1")
    clock.advance(timedelta(hours=2))
    assert remote.key_for("https://p.example/jwks", "k1").kid == "k1"
    clock.advance(timedelta(days=1))
    with pytest.raises(RemoteJwksError):
        remote.key_for("https://p.example/jwks", "k1")


def test_without_a_kid_only_a_single_published_key_is_used() -> None:
    clock = FixedClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    _, one = key_pair("k1")
    _, two = key_pair("k2")
    assert RemoteJwks(clock, CountingFetch({"keys": [one]})).key_for("https://a/j", None)
    with pytest.raises(UnknownClientKeyError):
        RemoteJwks(clock, CountingFetch({"keys": [one, two]})).key_for("https://a/j", None)


# --- the token endpoint ----------------------------------------------------------------------


@pytest.fixture
def http(
    settings: Settings,
    db: Database,
    clock: FixedClock,
    tls: HttpsServer,
    trusting_http: httpx.Client,
) -> TestClient:
    # authlib checks the assertion's exp against the real clock: run the server's clock on it too.
    clock.advance(datetime.now(UTC) - clock.now())
    KeyService(settings, db, clock).ensure_keys()
    app: FastAPI = create_app(
        cheap_settings(settings), database=db, clock=clock, mail_sender=RecordingMailSender()
    )
    app.state.oauth_server.remote_keys = RemoteJwks(
        clock, lambda uri: fetch_jwks(uri, trusting_http)
    )
    authority = AuthorityService(db, clock).ensure(
        AuthoritySpec(slug="vg-test", name="VG Test", kind=AuthorityKind.MUNICIPAL_ASSOCIATION),
        actor="test",
    )
    spec = ClientSpec.model_validate(
        {
            "client_id": CLIENT_ID,
            "name": "Published keys",
            "authority": "vg-test",
            "redirect_uris": ["https://procedure.example.de/callback"],
            "grant_types": ["client_credentials"],
            "scopes": [SCOPE],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": f"{tls.base_url}/jwks",
        }
    )
    ClientService(db, clock, digester_for(TEST_SECRET_KEY)).add(spec, authority.authority.id, "t")
    return TestClient(app)


def token_with(http: TestClient, settings: Settings, pem: str, kid: str) -> httpx.Response:
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": f"{settings.issuer}/oidc/token",
        "jti": f"{kid}-{now}-{id(pem)}",
        "iat": now,
        "exp": now + 60,
    }
    assertion = jose_jwt.encode(claims, pem, algorithm="ES256", headers={"kid": kid})
    form = {
        "grant_type": "client_credentials",
        "scope": SCOPE,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    return http.post("/oidc/token", data=form)


def test_a_procedure_authenticates_with_its_published_key_and_rotates_it(
    http: TestClient, settings: Settings, tls: HttpsServer, clock: FixedClock
) -> None:
    old_pem, old = key_pair("2026-11")
    publish(tls, old)
    first = token_with(http, settings, old_pem, "2026-11")
    assert first.status_code == 200, first.text
    assert first.json()["scope"] == SCOPE

    new_pem, new = key_pair("2026-12")
    publish(tls, old, new)
    clock.advance(REFETCH_COOLDOWN + timedelta(seconds=1))
    rotated = token_with(http, settings, new_pem, "2026-12")
    assert rotated.status_code == 200, rotated.text
    assert tls.hits == ["/jwks", "/jwks"], "fetched once, and once more for the new kid"


def test_a_key_the_procedure_never_published_is_refused(
    http: TestClient, settings: Settings, tls: HttpsServer
) -> None:
    _, published = key_pair("k1")
    publish(tls, published)
    stranger_pem, _ = key_pair("k1")  # same kid, different key: the signature cannot verify
    answer = token_with(http, settings, stranger_pem, "k1")
    assert answer.status_code == 400, "RFC 6749 §5.2: 401 only for the Authorization header"
    assert answer.json()["error"] == "invalid_client"
    unknown = token_with(http, settings, stranger_pem, "made-up")
    assert unknown.json() == {
        "error": "invalid_client",
        "error_description": "No registered key matches.",
    }


def test_an_unreachable_jwks_uri_is_invalid_client_not_a_server_error(
    http: TestClient, settings: Settings, tls: HttpsServer
) -> None:
    tls.answers["/jwks"] = Answer(b"down for maintenance", 503)
    pem, _ = key_pair("k1")
    answer = token_with(http, settings, pem, "k1")
    assert answer.status_code == 400, "RFC 6749 §5.2: 401 only for the Authorization header"
    assert answer.json() == {
        "error": "invalid_client",
        "error_description": "The client's keys could not be read.",
    }
