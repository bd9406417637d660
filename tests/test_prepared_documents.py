"""The discovery documents and the key set answered ahead of the router (oidc/prepared.py).

The layer must answer what the routes answer, keep the headers every response gets,
and step aside whenever its bytes might be stale or the request is not a plain GET.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.keys.service import KeyService
from servicekonto.oidc import endpoints
from servicekonto.oidc.metadata import JWKS_PATH, authorization_server_metadata
from servicekonto.oidc.prepared import AUTHORIZATION_SERVER_PATH, DISCOVERY_PATH
from servicekonto.store.engine import Database
from tests.web_helpers import provider_with_keys

METADATA_PATHS = [DISCOVERY_PATH, AUTHORIZATION_SERVER_PATH]
# What every response gets from the middleware around the layer.
SHARED_HEADERS = ["x-request-id", "content-security-policy", "x-content-type-options"]


@pytest.fixture
def provider(settings: Settings, db: Database, clock: FixedClock) -> FastAPI:
    return provider_with_keys(settings, db, clock)


@pytest.fixture
def http(provider: FastAPI) -> TestClient:
    return TestClient(provider, follow_redirects=False)


def _fresh(provider: FastAPI) -> bool:
    fresh: bool = provider.state.key_ring.is_fresh()
    return fresh


@pytest.mark.parametrize("path", METADATA_PATHS)
def test_the_metadata_is_the_documents_json_with_the_shared_headers(
    http: TestClient, settings: Settings, path: str
) -> None:
    response = http.get(path)
    assert response.status_code == 200
    assert response.json() == authorization_server_metadata(settings.issuer)
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    for name in SHARED_HEADERS:
        assert name in response.headers, name


def test_the_key_set_is_answered_while_the_keys_are_fresh(
    http: TestClient, provider: FastAPI
) -> None:
    first = http.get(JWKS_PATH)
    assert _fresh(provider)
    second = http.get(JWKS_PATH)
    assert second.content == first.content
    assert second.headers["cache-control"] == "public, max-age=300"
    keys = json.loads(second.content)["keys"]
    assert {key["alg"] for key in keys} == {"ES256", "RS256"}
    assert all("d" not in key for key in keys), "never a private member"
    for name in SHARED_HEADERS:
        assert name in second.headers, name


def test_keys_due_for_a_reload_are_read_by_the_route(
    http: TestClient, provider: FastAPI, settings: Settings, db: Database, clock: FixedClock
) -> None:
    before = {key["kid"] for key in http.get(JWKS_PATH).json()["keys"]}
    KeyService(settings, db, clock).rotate("ES256")
    clock.advance(timedelta(minutes=11))  # past the publish lead and the key ring's cache
    assert not _fresh(provider), "the layer must not answer from the old set"
    after = {key["kid"] for key in http.get(JWKS_PATH).json()["keys"]}
    assert _fresh(provider), "the route read the keys again"
    assert before < after, "the new key is published beside the old one"


@pytest.mark.parametrize("method", ["POST", "HEAD", "PUT"])
@pytest.mark.parametrize("path", [*METADATA_PATHS, JWKS_PATH])
def test_other_methods_get_the_routers_answer(
    http: TestClient, provider: FastAPI, path: str, method: str
) -> None:
    http.get(JWKS_PATH)
    assert _fresh(provider), "the layer would answer a GET of every path here"
    response = http.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


def test_behind_a_root_path_the_route_answers_the_same_bytes(
    http: TestClient, provider: FastAPI
) -> None:
    mounted = TestClient(provider, root_path="/konto", follow_redirects=False)
    routed = mounted.get(f"/konto{DISCOVERY_PATH}")
    answered = http.get(DISCOVERY_PATH)
    assert routed.status_code == answered.status_code == 200
    assert routed.content == answered.content
    assert routed.headers["content-type"] == answered.headers["content-type"]


def test_a_plain_get_never_reaches_the_routes(
    http: TestClient, provider: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    http.get(JWKS_PATH)

    def unreachable(*_args: object) -> bytes:
        raise AssertionError("the route was asked")

    monkeypatch.setattr(endpoints, "_metadata_bytes", unreachable)
    for path in METADATA_PATHS:
        assert http.get(path).status_code == 200
    # The same document through the route: the broken stand-in shows it was asked.
    routed = TestClient(provider, root_path="/konto").get(f"/konto{DISCOVERY_PATH}")
    assert routed.status_code == 500
