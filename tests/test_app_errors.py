"""Errors are RFC 9457 problem details, never tracebacks; every response carries a request id."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import FastAPI, Query
from starlette.testclient import TestClient

from servicekonto.config import Settings

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def routes(app: FastAPI) -> FastAPI:
    """Test-only routes that fail in the ways real routes can."""

    @app.get("/test/explode")
    def explode() -> None:
        raise RuntimeError("secret detail: password=hunter2")

    @app.get("/test/count")
    def count(limit: int = Query(ge=1, le=10)) -> dict[str, int]:
        return {"limit": limit}

    return app


@pytest.fixture
def test_client(routes: FastAPI) -> TestClient:
    return TestClient(routes, follow_redirects=False, raise_server_exceptions=False)


def test_unknown_path_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"
    assert body["status"] == 404
    assert body["instance"] == "/no/such/page"
    assert body["request_id"] == response.headers["x-request-id"]


def test_wrong_method_is_a_405_problem_with_allow(client: TestClient) -> None:
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json()["title"] == "Method Not Allowed"


def test_invalid_parameter_is_a_422_problem_without_the_input(
    test_client: TestClient, settings: Settings
) -> None:
    response = test_client.get("/test/count", params={"limit": "Max-Mustermann-1980"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == f"{settings.issuer}/problems/validation-error"
    assert body["errors"][0]["loc"] == ["query", "limit"]
    assert "Max-Mustermann" not in response.text


def test_unexpected_exception_is_a_500_problem_without_traceback(
    test_client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = test_client.get("/test/explode")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == f"{settings.issuer}/problems/server-error"
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text and "hunter2" not in response.text
    assert "unhandled error" in caplog.text, "the detail belongs in the log"


def test_a_well_formed_incoming_request_id_is_kept(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "lb-2f9c1a7e-0001"})
    assert response.headers["x-request-id"] == "lb-2f9c1a7e-0001"


@pytest.mark.parametrize(
    "incoming", ["short", "x" * 65, "evil\nlog line", "<script>", "a b c d e f g h"]
)
def test_a_malformed_incoming_request_id_is_replaced(client: TestClient, incoming: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": incoming.replace("\n", " ")})
    assert response.headers["x-request-id"] != incoming.replace("\n", " ")
    assert len(response.headers["x-request-id"]) == 24


def test_openapi_is_served_and_declares_problem_responses(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert "/readyz" in spec["paths"]
    assert "application/problem+json" in json.dumps(spec["paths"]["/readyz"])
