"""HTTP endpoints of the SAML IdP. The only module of `saml` that touches Starlette."""

from __future__ import annotations

import uuid
from html import escape
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from servicekonto.accounts.login import CurrentSession, LoginService
from servicekonto.saml.issue import PostToProvider
from servicekonto.saml.logout import LogoutFlow
from servicekonto.saml.requests import IncomingMessage
from servicekonto.saml.sso import ErrorPage, Outcome, Redirect, SsoFlow
from servicekonto.saml.xml import BINDING_POST, BINDING_REDIRECT
from servicekonto.security.form_post import auto_post_page

router = APIRouter(tags=["saml"])
METADATA_PATH = "/saml/metadata"
SSO_PATH = "/saml/sso"
SLO_PATH = "/saml/slo"
# The media type registered for SAML metadata (SAML metadata §4.1.1, IANA).
METADATA_TYPE = "application/samlmetadata+xml"
MAX_FORM_FIELDS = 10
MAX_FIELD_BYTES = 512 * 1024
NO_STORE = {"cache-control": "no-store"}


def entity_id(issuer: str) -> str:
    """The issuer URL without a port: the entityID procedures configure (the issue's contract)."""
    parts = urlsplit(issuer)
    return urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))


@router.get(METADATA_PATH, summary="SAML 2.0 IdP metadata (signed)", response_class=Response)
def metadata(request: Request) -> Response:
    document: bytes = request.app.state.saml_metadata.document()
    return Response(document, media_type=METADATA_TYPE)


def redirected_message(request: Request) -> IncomingMessage:
    """The HTTP-Redirect binding's parameters (SAML bindings §3.4.4), with the raw query."""
    query = request.query_params
    parameter = "SAMLResponse" if "SAMLResponse" in query else "SAMLRequest"
    return IncomingMessage(
        binding=BINDING_REDIRECT,
        saml_request=query.get(parameter, ""),
        relay_state=query.get("RelayState"),
        raw_query=request.scope.get("query_string", b"").decode("latin-1"),
        signed_redirect="Signature" in query or "SigAlg" in query,
        parameter=parameter,
    )


RedirectedDep = Annotated[IncomingMessage, Depends(redirected_message)]


@router.get(SSO_PATH, summary="SAML SSO, HTTP-Redirect binding", include_in_schema=False)
def sso_redirect(request: Request, message: RedirectedDep) -> Response:
    return _answer(_sso(request).start(message, _session(request)))


async def posted_message(request: Request) -> IncomingMessage:
    """The HTTP-POST binding's fields (SAML bindings §3.5.4), read once, size-capped."""
    form = await request.form(
        max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES
    )
    parameter = "SAMLResponse" if "SAMLResponse" in form else "SAMLRequest"
    encoded, relay_state = form.get(parameter), form.get("RelayState")
    return IncomingMessage(
        binding=BINDING_POST,
        saml_request=encoded if isinstance(encoded, str) else "",
        relay_state=relay_state if isinstance(relay_state, str) else None,
        parameter=parameter,
    )


PostedDep = Annotated[IncomingMessage, Depends(posted_message)]


@router.post(SSO_PATH, summary="SAML SSO, HTTP-POST binding", include_in_schema=False)
def sso_post(request: Request, message: PostedDep) -> Response:
    return _answer(_sso(request).start(message, _session(request)))


@router.get(f"{SSO_PATH}/resume/{{interaction_id}}", include_in_schema=False)
def sso_resume(request: Request, interaction_id: uuid.UUID) -> Response:
    return _answer(_sso(request).resume(interaction_id, _session(request)))


@router.get(f"{SSO_PATH}/deny/{{interaction_id}}", include_in_schema=False)
def sso_deny(request: Request, interaction_id: uuid.UUID, reason: str = "consent") -> Response:
    return _answer(_sso(request).deny(interaction_id, reason))


@router.get(SLO_PATH, summary="SAML single logout, HTTP-Redirect binding", include_in_schema=False)
def slo_redirect(request: Request, message: RedirectedDep) -> Response:
    return _logout(request, message)


@router.post(SLO_PATH, summary="SAML single logout, HTTP-POST binding", include_in_schema=False)
def slo_post(request: Request, message: PostedDep) -> Response:
    return _logout(request, message)


@router.get("/saml/logout/{chain_id}", include_in_schema=False)
def idp_logout(request: Request, chain_id: uuid.UUID) -> Response:
    """IdP-initiated single logout, started by the hosted logout page."""
    return _answer(_logout_flow(request).step(chain_id))


def _logout(request: Request, message: IncomingMessage) -> Response:
    flow = _logout_flow(request)
    if message.parameter == "SAMLResponse":
        return _answer(flow.provider_response(message))
    outcome = flow.provider_request(message)
    response = _answer(outcome)
    if isinstance(outcome, ErrorPage):
        return response  # refused: nothing was ended, the browser keeps its session
    settings = request.app.state.settings
    # The provider logged the person out: this browser's session is over here too.
    response.delete_cookie(
        settings.session.cookie_name, path="/", secure=settings.https, httponly=True, samesite="lax"
    )
    return response


def _logout_flow(request: Request) -> LogoutFlow:
    flow: LogoutFlow = request.app.state.saml_logout
    return flow


def _session(request: Request) -> CurrentSession | None:
    login: LoginService = request.app.state.login_service
    return login.current(request.cookies.get(request.app.state.settings.session.cookie_name))


def _sso(request: Request) -> SsoFlow:
    flow: SsoFlow = request.app.state.saml_sso
    return flow


def _answer(outcome: Outcome) -> Response:
    if isinstance(outcome, Redirect):
        return RedirectResponse(outcome.url, status_code=302, headers=NO_STORE)
    if isinstance(outcome, PostToProvider):
        body, headers = auto_post_page(outcome.action, outcome.fields)
        return HTMLResponse(body, headers=headers)
    return error_page(outcome)


def error_page(error: ErrorPage) -> HTMLResponse:
    # Never sent to the provider: its request named no endpoint we could verify.
    body = (
        '<!doctype html><html lang="de"><head><meta charset="utf-8">'
        '<title>Anmeldung nicht möglich</title><link rel="stylesheet" href="/static/site.css">'
        '</head><body><main class="container"><h1>Anmeldung nicht möglich</h1>'
        "<p>Die Anfrage des Verfahrens ist ungültig. Bitte kehren Sie zum Verfahren zurück "
        'und versuchen Sie es erneut.</p><p lang="en">The procedure\'s SAML request is invalid.</p>'
        f"<p><code>{escape(error.reason)}</code></p></main></body></html>"
    )
    return HTMLResponse(body, status_code=400, headers=NO_STORE)
