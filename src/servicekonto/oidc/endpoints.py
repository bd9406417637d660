"""HTTP endpoints of the token service. The only module of `oidc` that touches Starlette."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from servicekonto.keys.service import KeyRing
from servicekonto.oidc.metadata import (
    INTROSPECTION_PATH,
    JWKS_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    authorization_server_metadata,
)
from servicekonto.oidc.server import PlainRequest, PlainResponse, ProviderServer

router = APIRouter(tags=["oauth"])
MAX_FORM_FIELDS = 20
MAX_FIELD_BYTES = 16 * 1024
NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


async def plain_request(request: Request) -> PlainRequest:
    """The form and headers, read once, handed to the framework-free server."""
    form = await request.form(
        max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES
    )
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    # The URL as clients address us (the issuer), not as the proxy forwarded it: behind a
    # TLS-terminating proxy the hop to us is plain http, the request itself was not.
    url = request.app.state.settings.issuer + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    return PlainRequest(request.method, url, dict(request.headers), values)


def _server(request: Request) -> ProviderServer:
    server: ProviderServer = request.app.state.oauth_server
    return server


PlainDep = Annotated[PlainRequest, Depends(plain_request)]
ServerDep = Annotated[ProviderServer, Depends(_server)]


def _respond(response: PlainResponse) -> JSONResponse:
    headers = {name.lower(): value for name, value in response.headers}
    headers.update(NO_STORE)
    return JSONResponse(response.body, status_code=response.status, headers=headers)


@router.post(TOKEN_PATH, summary="Token endpoint (RFC 6749 §3.2; client_credentials)")
def token(plain: PlainDep, server: ServerDep) -> JSONResponse:
    return _respond(server.create_token_response(plain))


@router.post(INTROSPECTION_PATH, summary="Token introspection (RFC 7662)")
def introspect(plain: PlainDep, server: ServerDep) -> JSONResponse:
    return _respond(server.create_endpoint_response("introspection", plain))


@router.post(REVOCATION_PATH, summary="Token revocation (RFC 7009)")
def revoke(plain: PlainDep, server: ServerDep) -> JSONResponse:
    return _respond(server.create_endpoint_response("revocation", plain))


@router.get(JWKS_PATH, summary="Public signing keys (RFC 7517)")
def jwks(request: Request) -> JSONResponse:
    keys: KeyRing = request.app.state.key_ring
    # Short caching: a rotation publishes new keys ahead of use, so minutes are safe.
    return JSONResponse(keys.jwks(), headers={"cache-control": "public, max-age=300"})


@router.get(
    "/.well-known/oauth-authorization-server", summary="Authorization server metadata (RFC 8414)"
)
def metadata(request: Request) -> dict[str, Any]:
    return authorization_server_metadata(request.app.state.settings.issuer)
