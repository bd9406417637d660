"""HTTP endpoints of the token service.

With `prepared.py` (the documents answered ahead of the router) the only modules of `oidc`
that touch Starlette.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from html import escape
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from servicekonto.accounts.login import CurrentSession, LoginService
from servicekonto.keys.service import KeyRing
from servicekonto.oidc.authorize import AuthorizationFlow, ErrorPage, FormPost, Outcome, Redirect
from servicekonto.oidc.logout import decide_logout
from servicekonto.oidc.metadata import (
    AUTHORIZE_PATH,
    INTROSPECTION_PATH,
    JWKS_PATH,
    LOGOUT_PATH,
    PAR_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
)
from servicekonto.oidc.placement import (
    Place,
    place_of_introspection,
    place_of_token_request,
    place_of_userinfo,
)
from servicekonto.oidc.prepared import (
    AUTHORIZATION_SERVER_PATH,
    DISCOVERY_PATH,
    JWKS_CACHE_CONTROL,
)
from servicekonto.oidc.server import PlainRequest, PlainResponse, ProviderServer
from servicekonto.oidc.userinfo import JWT_TYPE, answer_userinfo
from servicekonto.security.form_post import auto_post_page

router = APIRouter(tags=["oauth"])
MAX_FORM_FIELDS = 20
MAX_FIELD_BYTES = 16 * 1024
NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
URLENCODED = "application/x-www-form-urlencoded"
Answer = TypeVar("Answer")


async def plain_request(request: Request) -> PlainRequest:
    """The form and headers, read once, handed to the framework-free server."""
    fields = await _form_fields(request)
    values = dict(fields)
    names = [key for key, _ in fields] + [key for key, _ in request.query_params.multi_items()]
    # The URL as clients address us (the issuer), not as the proxy forwarded it: behind a
    # TLS-terminating proxy the hop to us is plain http, the request itself was not.
    repeated = frozenset(name for name in names if names.count(name) > 1)
    return PlainRequest(
        request.method, _issuer_url(request), dict(request.headers), values, repeated
    )


async def _form_fields(request: Request) -> list[tuple[str, str]]:
    """The form's fields in order, repeated ones included.

    The OAuth endpoints take `application/x-www-form-urlencoded` (RFC 6749 §3.2), parsed here
    directly: a third of the cost of the general form parser on every token request.
    """
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != URLENCODED:
        form = await request.form(
            max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES
        )
        return [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    body = await request.body()
    try:
        fields = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "The form is not valid UTF-8 or has too many fields.") from None
    if any(len(value) > MAX_FIELD_BYTES for _, value in fields):
        raise HTTPException(400, "A form field is too long.")
    return fields


def _server(request: Request) -> ProviderServer:
    server: ProviderServer = request.app.state.oauth_server
    return server


PlainDep = Annotated[PlainRequest, Depends(plain_request)]


def _respond(response: PlainResponse) -> JSONResponse:
    headers = {name.lower(): value for name, value in response.headers}
    headers.update(NO_STORE)
    return JSONResponse(response.body, status_code=response.status, headers=headers)


# The back-channel endpoints every procedure calls for every login read their form here and
# answer on the event loop when they can (oidc/placement.py), else hand the framework-free
# server to the thread pool themselves: FastAPI's dependency solving and a second pass through
# the pool cost them a fifth of their time (issue 10).


async def _answered(
    server: ProviderServer, place: Place, work: Callable[..., Answer], *args: Any
) -> Answer:
    """`work(*args)` where `place` says: the same code runs in each place.

    On the loop through the server's own database, the one `placement` asked.
    """
    if place is Place.INLINE:
        return work(*args)
    if place is Place.LOOP:
        return await server.grants.database.on_loop(work, *args)
    return await run_in_threadpool(work, *args)


@router.post(TOKEN_PATH, summary="Token endpoint (RFC 6749 §3.2; client_credentials)")
async def token(request: Request) -> JSONResponse:
    plain = await plain_request(request)
    if plain.repeated:
        # RFC 6749 §3.2: request parameters must not be included more than once.
        error = {"error": "invalid_request", "error_description": "A parameter was repeated."}
        return JSONResponse(error, status_code=400, headers=NO_STORE)
    server = _server(request)
    place = place_of_token_request(server, plain)
    return _respond(await _answered(server, place, server.create_token_response, plain))


@router.post(INTROSPECTION_PATH, summary="Token introspection (RFC 7662)")
async def introspect(request: Request) -> JSONResponse:
    plain = await plain_request(request)
    server = _server(request)
    place = place_of_introspection(server, plain)
    answer = server.create_endpoint_response
    return _respond(await _answered(server, place, answer, "introspection", plain))


@router.post(REVOCATION_PATH, summary="Token revocation (RFC 7009)")
async def revoke(request: Request) -> JSONResponse:
    plain = await plain_request(request)
    answer = _server(request).create_endpoint_response
    return _respond(await run_in_threadpool(answer, "revocation", plain))


JSON_DOCUMENT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}}
}


# The key set and the metadata are prepared bytes, answered on the event loop: a trip to a pool
# thread would cost more than the answer itself. A plain GET is answered ahead of the router
# (prepared.py); these routes answer what it passes on — a request behind a proxy's root path,
# the key set when the keys are due for a reload (read in the thread pool) — and describe the
# documents in the OpenAPI file.


@router.get(JWKS_PATH, summary="Public signing keys (RFC 7517)", responses=JSON_DOCUMENT)
async def jwks(request: Request) -> Response:
    keys: KeyRing = request.app.state.key_ring
    body = keys.jwks_bytes() if keys.is_fresh() else await run_in_threadpool(keys.jwks_bytes)
    headers = {"cache-control": JWKS_CACHE_CONTROL}
    return Response(body, media_type="application/json", headers=headers)


def _metadata_bytes(request: Request) -> bytes:
    prepared: bytes = request.app.state.metadata_bytes  # serialised once, in create_app
    return prepared


@router.get(
    AUTHORIZATION_SERVER_PATH,
    summary="Authorization server metadata (RFC 8414)",
    responses=JSON_DOCUMENT,
)
async def metadata(request: Request) -> Response:
    return Response(_metadata_bytes(request), media_type="application/json")


@router.get(DISCOVERY_PATH, summary="OpenID Connect Discovery 1.0", responses=JSON_DOCUMENT)
async def discovery(request: Request) -> Response:
    return Response(_metadata_bytes(request), media_type="application/json")


def _session(request: Request) -> CurrentSession | None:
    login: LoginService = request.app.state.login_service
    return login.current(request.cookies.get(request.app.state.settings.session.cookie_name))


def _flow(request: Request) -> AuthorizationFlow:
    flow: AuthorizationFlow = request.app.state.authorization_flow
    return flow


def _answer(outcome: Outcome) -> Response:
    if isinstance(outcome, Redirect):
        return RedirectResponse(outcome.url, status_code=302, headers={"cache-control": "no-store"})
    if isinstance(outcome, FormPost):
        return _form_post(outcome)
    return _error_page(outcome)


def _form_post(post: FormPost) -> HTMLResponse:
    body, headers = auto_post_page(post.action, post.fields)
    return HTMLResponse(body, headers=headers)


def _error_page(error: ErrorPage) -> HTMLResponse:
    # Never redirected: the request named no verified redirect URI (STYLE habit 3).
    body = (
        '<!doctype html><html lang="de"><head><meta charset="utf-8">'
        '<title>Anmeldung nicht möglich</title><link rel="stylesheet" href="/static/site.css">'
        '</head><body><main class="container"><h1>Anmeldung nicht möglich</h1>'
        "<p>Die Anfrage des Verfahrens ist ungültig. Bitte kehren Sie zum Verfahren zurück "
        'und versuchen Sie es erneut.</p><p lang="en">The procedure\'s request is invalid.</p>'
        f"<p><code>{escape(error.error)}</code></p></main></body></html>"
    )
    return HTMLResponse(body, status_code=400, headers={"cache-control": "no-store"})


@router.get(AUTHORIZE_PATH, summary="Authorization endpoint (OIDC Core §3.1.2)")
def authorize_get(request: Request) -> Response:
    names = [key for key, _ in request.query_params.multi_items()]
    repeated = frozenset(name for name in names if names.count(name) > 1)
    plain = PlainRequest("GET", _issuer_url(request), dict(request.headers), {}, repeated)
    return _answer(_flow(request).start(plain, _session(request)))


@router.post(AUTHORIZE_PATH, summary="Authorization endpoint, form-encoded (OIDC Core §3.1.2.1)")
def authorize_post(request: Request, plain: PlainDep) -> Response:
    return _answer(_flow(request).start(plain, _session(request)))


@router.get(f"{AUTHORIZE_PATH}/resume/{{interaction_id}}", include_in_schema=False)
def authorize_resume(request: Request, interaction_id: uuid.UUID) -> Response:
    return _answer(_flow(request).resume(interaction_id, _session(request)))


@router.get(f"{AUTHORIZE_PATH}/deny/{{interaction_id}}", include_in_schema=False)
def authorize_deny(request: Request, interaction_id: uuid.UUID, reason: str = "") -> Response:
    error = "unmet_authentication_requirements" if reason == "level" else "access_denied"
    return _answer(_flow(request).deny(interaction_id, error))


USERINFO_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The released claims: JSON, or a signed JWT (OIDC Core §5.3.2) when the "
        "procedure registered userinfo_signed_response_alg.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            JWT_TYPE: {"schema": {"type": "string"}},
        },
    },
    401: {"description": "Missing, invalid, expired or revoked token (RFC 6750 §3.1)."},
}


@router.get(USERINFO_PATH, summary="UserInfo (OIDC Core §5.3)", responses=USERINFO_RESPONSES)
async def userinfo_get(request: Request) -> Response:
    return await userinfo(request)


@router.post(
    USERINFO_PATH, summary="UserInfo by POST (OIDC Core §5.3.1)", responses=USERINFO_RESPONSES
)
async def userinfo_post(request: Request) -> Response:
    return await userinfo(request)


async def userinfo(request: Request) -> Response:
    server = _server(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" else ""
    place = place_of_userinfo(server)
    answer = await _answered(server, place, answer_userinfo, server, bearer)
    if answer.signed is not None:
        return Response(answer.signed, media_type=JWT_TYPE, headers=NO_STORE)
    if answer.claims is not None:
        return JSONResponse(answer.claims, headers=NO_STORE)
    # RFC 6750 §3.1: the token is missing, invalid, expired or revoked.
    headers = {"www-authenticate": 'Bearer error="invalid_token"', **NO_STORE}
    return JSONResponse({"error": "invalid_token"}, status_code=401, headers=headers)


def _issuer_url(request: Request) -> str:
    url: str = request.app.state.settings.issuer + request.url.path
    return url + ("?" + request.url.query if request.url.query else "")


@router.get(LOGOUT_PATH, summary="RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)")
def logout_get(request: Request) -> Response:
    return _logout(request, dict(request.query_params))


@router.post(LOGOUT_PATH, summary="RP-initiated logout, form-encoded")
def logout_post(request: Request, plain: PlainDep) -> Response:
    return _logout(request, plain.form)


def _logout(request: Request, params: dict[str, str]) -> Response:
    server: ProviderServer = request.app.state.oauth_server
    decision = decide_logout(params, server.keys, server.clients, server.issuer)
    if not decision.valid:
        return _error_page(
            ErrorPage("invalid_request", "The logout request could not be verified.")
        )
    login: LoginService = request.app.state.login_service
    settings = request.app.state.settings
    login.logout(request.cookies.get(settings.session.cookie_name))
    response = RedirectResponse(decision.redirect or "/?signed_out=1", status_code=302)
    response.delete_cookie(
        settings.session.cookie_name, path="/", secure=settings.https, httponly=True, samesite="lax"
    )
    return response


@router.post(PAR_PATH, status_code=201, summary="Pushed authorization requests (RFC 9126)")
def pushed_authorization_request(request: Request, plain: PlainDep) -> JSONResponse:
    server: ProviderServer = request.app.state.oauth_server
    client = server.authenticate_pushing_client(plain)
    if client is None:
        return JSONResponse({"error": "invalid_client"}, status_code=401, headers=NO_STORE)
    params = {key: value for key, value in plain.form.items() if key != "client_secret"}
    if "request_uri" in params or "request" in params:
        error = {"error": "invalid_request", "error_description": "No nested request objects."}
        return JSONResponse(error, status_code=400, headers=NO_STORE)
    problem = server.validate_pushed(params, client)
    if problem is not None:
        return JSONResponse(problem, status_code=400, headers=NO_STORE)
    request_uri, expires_in = _flow(request).push(client, params)
    body = {"request_uri": request_uri, "expires_in": expires_in}
    return JSONResponse(body, status_code=201, headers=NO_STORE)
