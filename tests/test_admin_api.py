"""The admin REST API for procedures: its own bearer token, problem details, no secret kept."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select
from starlette.testclient import TestClient

from servicekonto.app import create_app
from servicekonto.authorities.models import AuthorityKind
from servicekonto.authorities.schemas import AuthoritySpec
from servicekonto.authorities.service import AuthorityService
from servicekonto.clients.models import OidcClient
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.store.engine import Database
from tests.web_helpers import RecordingMailSender, cheap_settings

ADMIN_TOKEN = "admin-token-for-tests-0123456789abcdef"
SPEC = {
    "client_id": "vg-test.admin-made",
    "name": "Sperrmüll",
    "authority": "vg-test",
    "redirect_uris": ["https://sperrmuell.example.de/callback"],
    "scopes": ["openid", "profile"],
}


@pytest.fixture
def admin_app(settings: Settings, db: Database, clock: FixedClock) -> FastAPI:
    AuthorityService(db, clock).ensure(
        AuthoritySpec(slug="vg-test", name="VG Test", kind=AuthorityKind.MUNICIPAL_ASSOCIATION),
        actor="test",
    )
    configured = cheap_settings(settings).model_copy(update={"admin_token": SecretStr(ADMIN_TOKEN)})
    return create_app(configured, database=db, clock=clock, mail_sender=RecordingMailSender())


@pytest.fixture
def admin(admin_app: FastAPI) -> TestClient:
    return TestClient(admin_app, headers={"authorization": f"Bearer {ADMIN_TOKEN}"})


def test_add_list_rotate_disable(admin: TestClient, db: Database) -> None:
    added = admin.post("/api/v1/admin/clients", json=SPEC)
    assert added.status_code == 201, added.text
    secret = added.json()["client_secret"]
    assert secret.startswith("sk_cs_")
    with db.session() as session:
        stored = session.scalars(select(OidcClient.secret_digest)).one()
    assert stored != secret
    assert [c["client_id"] for c in admin.get("/api/v1/admin/clients").json()] == [
        SPEC["client_id"]
    ]
    rotated = admin.post(f"/api/v1/admin/clients/{SPEC['client_id']}/rotate-secret").json()
    assert rotated["client_secret"] != secret
    disabled = admin.post(f"/api/v1/admin/clients/{SPEC['client_id']}/disable").json()
    assert disabled["disabled_at"] is not None


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {ADMIN_TOKEN}", "Bearer"])
def test_without_the_admin_token_nothing_happens(admin_app: FastAPI, header: str | None) -> None:
    client = TestClient(admin_app, headers={"authorization": header} if header else {})
    response = client.post("/api/v1/admin/clients", json=SPEC)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/api/v1/admin/clients").status_code == 401


def test_the_admin_api_does_not_exist_without_a_token(
    settings: Settings, db: Database, clock: FixedClock
) -> None:
    app = create_app(
        cheap_settings(settings), database=db, clock=clock, mail_sender=RecordingMailSender()
    )
    response = TestClient(app).get("/api/v1/admin/clients", headers={"authorization": "Bearer x"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"redirect_uris": ["http://evil.example/cb"]}, 422),
        ({"authority": "nowhere"}, 422),
        ({"scopes": ["openid", "everything"]}, 422),
        ({"client_id": "X"}, 422),
    ],
)
def test_bad_specs_are_problems_and_store_nothing(
    admin: TestClient, db: Database, change: dict[str, object], status: int
) -> None:
    response = admin.post("/api/v1/admin/clients", json={**SPEC, **change})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    with db.session() as session:
        assert session.scalars(select(OidcClient)).all() == []


def test_duplicates_and_unknown_clients(admin: TestClient) -> None:
    assert admin.post("/api/v1/admin/clients", json=SPEC).status_code == 201
    again = admin.post("/api/v1/admin/clients", json=SPEC)
    assert again.status_code == 409
    assert admin.post("/api/v1/admin/clients/nope/disable").status_code == 404
    assert admin.post("/api/v1/admin/clients/nope/rotate-secret").status_code == 404
