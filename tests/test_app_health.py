"""Liveness and readiness, on both backends, and the 503s that keep traffic away."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from servicekonto.app import create_app
from servicekonto.config import Settings
from servicekonto.store.engine import Database
from servicekonto.store.schema import head_revision

PROBLEM_JSON = "application/problem+json"


def test_healthz_answers_without_the_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_the_schema_revision(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "schema_revision": head_revision()}


def test_readyz_is_503_before_migration(settings: Settings, empty_database_url: str) -> None:
    database = Database.from_url(empty_database_url)
    with TestClient(create_app(settings, database=database)) as client:
        response = client.get("/readyz")
    database.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["status"] == 503
    assert body["type"] == f"{settings.issuer}/problems/not-ready"
    assert "schema at revision none" in body["detail"]
    assert "servicekonto db upgrade" in body["detail"]


def test_readyz_is_503_when_the_database_is_unreachable(settings: Settings, tmp_path: Path) -> None:
    # Port 1 on loopback refuses at once: a database that is down.
    database = Database.from_url("postgresql+psycopg://sk:topsecret@127.0.0.1:1/servicekonto")
    with TestClient(create_app(settings, database=database)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"] == "database unreachable"
    assert "topsecret" not in response.text and ":1/" not in response.text


def test_problem_types_are_documented_at_their_uri(client: TestClient) -> None:
    response = client.get("/problems/not-ready")
    assert response.status_code == 200
    assert response.json()["title"] == "Service not ready"
    missing = client.get("/problems/no-such-type")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM_JSON
