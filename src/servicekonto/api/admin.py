"""The admin REST API for procedures (OIDC clients), behind its own bearer token.

Without `SERVICEKONTO_ADMIN_TOKEN` the API does not exist (404). The token is compared as an
HMAC digest in constant time, so response timing says nothing about how close a guess was.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from servicekonto.api.problems import ProblemResponse, problem_response
from servicekonto.authorities.repository import AuthorityRepository
from servicekonto.clients.errors import (
    ClientExistsError,
    ClientNotConfidentialError,
    UnknownAuthorityError,
    UnknownClientError,
)
from servicekonto.clients.schemas import ClientOut, ClientSpec, ClientWithSecret
from servicekonto.clients.service import ClientService
from servicekonto.config import Settings
from servicekonto.store.engine import Database

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])
ACTOR = "admin-api"
_PROBLEM: dict[int | str, dict[str, Any]] = {
    status: {"content": {"application/problem+json": {}}} for status in (401, 404, 409, 422)
}


class AdminDenied(Exception):  # noqa: N818 - a signal answered with a problem response
    def __init__(self, status: int) -> None:
        super().__init__("admin access denied")
        self.status = status


def _digest(value: str) -> bytes:
    return hmac.new(b"servicekonto admin token", value.encode(), hashlib.sha256).digest()


def admin_clients(request: Request) -> ClientService:
    settings: Settings = request.app.state.settings
    if settings.admin_token is None:
        raise AdminDenied(404)
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    expected = _digest(settings.admin_token.get_secret_value())
    if scheme.lower() != "bearer" or not hmac.compare_digest(_digest(presented.strip()), expected):
        raise AdminDenied(401)
    service: ClientService = request.app.state.oauth_server.clients
    return service


AdminDep = Annotated[ClientService, Depends(admin_clients)]


def answer_denied(request: Request, exc: Exception) -> ProblemResponse:
    status = exc.status if isinstance(exc, AdminDenied) else 401
    if status == 404:
        return problem_response(404, "Not Found")
    headers = {"WWW-Authenticate": 'Bearer realm="servicekonto-admin"'}
    return problem_response(
        401, "Unauthorized", detail="A valid admin token is required.", headers=headers
    )


@router.get("/clients", response_model=list[ClientOut], responses=_PROBLEM)
def list_clients(clients: AdminDep) -> list[ClientOut]:
    return clients.list()


@router.post("/clients", status_code=201, response_model=ClientWithSecret, responses=_PROBLEM)
def add_client(
    spec: ClientSpec, clients: AdminDep, request: Request
) -> ClientWithSecret | ProblemResponse:
    database: Database = request.app.state.database
    with database.session() as session:
        authority = AuthorityRepository(session).by_slug(spec.authority)
    if authority is None:
        return problem_response(422, "Unprocessable Content", detail="Unknown authority.")
    try:
        return clients.add(spec, authority.id, ACTOR)
    except ClientExistsError:
        return problem_response(409, "Conflict", detail="A client with this client_id exists.")
    except UnknownAuthorityError:
        return problem_response(422, "Unprocessable Content", detail="Unknown authority.")


@router.post(
    "/clients/{client_id}/rotate-secret", response_model=ClientWithSecret, responses=_PROBLEM
)
def rotate_secret(client_id: str, clients: AdminDep) -> ClientWithSecret | ProblemResponse:
    try:
        return clients.rotate_secret(client_id, ACTOR)
    except UnknownClientError:
        return problem_response(404, "Not Found", detail="No such client.")
    except ClientNotConfidentialError:
        return problem_response(409, "Conflict", detail="This client has no secret.")


@router.post("/clients/{client_id}/disable", response_model=ClientOut, responses=_PROBLEM)
def disable(client_id: str, clients: AdminDep) -> ClientOut | ProblemResponse:
    try:
        return clients.disable(client_id, ACTOR)
    except UnknownClientError:
        return problem_response(404, "Not Found", detail="No such client.")
