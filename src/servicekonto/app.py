"""The application factory: settings in, a FastAPI app out. Nothing is built at import time."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from pydantic import SecretStr
from sqlalchemy import create_engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from servicekonto.accounts.context import build_account_context
from servicekonto.accounts.login import LoginService
from servicekonto.accounts.notifications import Notifier
from servicekonto.accounts.released import releasable_person
from servicekonto.accounts.second_factors import SecondFactorService
from servicekonto.accounts.service import AccountService
from servicekonto.accounts.staff import StaffService
from servicekonto.api import admin, health, identity, problem_types, safe
from servicekonto.api.middleware import RequestContextMiddleware
from servicekonto.api.problems import http_exception_problem, validation_problem
from servicekonto.authorities.service import AuthorityService
from servicekonto.clients.service import ClientService
from servicekonto.clients.service import digester_for as client_digester
from servicekonto.clock import Clock, SystemClock
from servicekonto.config import Settings, load_settings, with_secret_key
from servicekonto.eid.http_adapter import HttpEidServer
from servicekonto.eid.port import EidPort
from servicekonto.federation.service import FederationService
from servicekonto.keys.service import KeyRing
from servicekonto.mail.senders import MailSender, build_mail_sender
from servicekonto.metadata import SERVICE_NAME, __version__
from servicekonto.observability import configure_logging
from servicekonto.oidc import endpoints as oauth_endpoints
from servicekonto.oidc.authorize import AuthorizationFlow
from servicekonto.oidc.backchannel import BackChannelLogout
from servicekonto.oidc.prepared import PreparedDocuments, metadata_bytes
from servicekonto.oidc.server import ProviderServer
from servicekonto.organisations.claims import OrganisationClaims
from servicekonto.organisations.members import Members
from servicekonto.organisations.routing import responsible_authority
from servicekonto.organisations.service import OrganisationService
from servicekonto.organisations.verification import RegistrationOffice
from servicekonto.registration.context import build_identity_context
from servicekonto.registration.eid_identity import EidIdentity
from servicekonto.registration.in_person import InPersonChecks
from servicekonto.safe.preferences import SafePreferences
from servicekonto.safe.service import SafeService
from servicekonto.saml import endpoints as saml_endpoints
from servicekonto.saml.wiring import build_saml
from servicekonto.security.headers import LOCAL_EID_CLIENT
from servicekonto.security.secrets import Digester, derive_key
from servicekonto.store.blob_settings import blob_store_from_settings
from servicekonto.store.engine import Database
from servicekonto.tokens.codes import GrantStore
from servicekonto.tokens.service import TokenService
from servicekonto.web.csrf import CsrfProtection
from servicekonto.web.errors import error_page, install_page_handlers, wants_html
from servicekonto.web.router import page_router
from servicekonto.web.security_headers import SecurityHeadersMiddleware

API_DESCRIPTION = (
    "Federated identity provider for a German district and its municipalities. "
    "Errors are RFC 9457 problem details (`application/problem+json`)."
)


def create_app(
    settings: Settings,
    database: Database | None = None,
    clock: Clock | None = None,
    mail_sender: MailSender | None = None,
    *,
    statements_on_loop: bool | None = None,
) -> FastAPI:
    """Build the app.

    A database handed in stays the caller's to close; one built here is closed on shutdown.
    `statements_on_loop` (default: only for a database built here) lets the token endpoints
    run their PostgreSQL statements on the event loop (store/loop.py).
    """
    if settings.secret_key is None:
        raise ValueError("create_app needs settings with a secret key (see with_secret_key)")
    owns_database = database is None
    loop_statements = owns_database if statements_on_loop is None else statements_on_loop
    database = database or Database.from_url(settings.database_url, settings.database)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The service's own PostgreSQL pool gets a second, asynchronous one on this loop: the
        # token endpoints' statements wait there instead of in a pool thread (store/loop.py).
        # A database handed in (the tests' connection in a transaction) is used as it is.
        if loop_statements:
            database.start_loop_statements(settings.database)
        yield
        await database.close_loop_statements()
        if owns_database:
            database.dispose()

    app = FastAPI(
        title=SERVICE_NAME,
        version=__version__,
        description=API_DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    clock = clock or SystemClock()
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock
    app.state.metadata_bytes = metadata_bytes(settings.issuer)
    _install_services(app, settings, database, clock, mail_sender or build_mail_sender(settings))
    install_error_handlers(app)
    # Routes are tried in order: the token endpoints, which every procedure calls for every
    # login, first (each router passed on the way costs a request its path match).
    app.include_router(oauth_endpoints.router)
    app.include_router(health.router)
    app.include_router(problem_types.router)
    app.include_router(identity.router)
    app.include_router(admin.router)
    app.include_router(safe.router)
    app.include_router(saml_endpoints.router)
    app.include_router(page_router())
    app.mount("/static", StaticFiles(packages=[("servicekonto.web", "static")]), name="static")
    # Innermost: the documents it answers still get the security headers and the access line.
    app.add_middleware(
        PreparedDocuments, metadata=app.state.metadata_bytes, keys=app.state.key_ring
    )
    app.add_middleware(
        SecurityHeadersMiddleware, https=settings.https, form_targets=eid_form_targets(settings)
    )
    app.add_middleware(RequestContextMiddleware, issuer=settings.issuer)
    return app


def _install_services(
    app: FastAPI, settings: Settings, database: Database, clock: Clock, mail_sender: MailSender
) -> None:
    secret = settings.secret
    context = build_account_context(settings, database, clock, mail_sender)
    app.state.accounts = context
    app.state.identity = build_identity_context(context)
    app.state.csrf = CsrfProtection(Digester(secret, "csrf"), settings.issuer)
    app.state.login_service = LoginService(context)
    app.state.account_service = AccountService(context)
    app.state.second_factor_service = SecondFactorService(context)
    key_ring = KeyRing(settings, database, clock)
    app.state.key_ring = key_ring
    tokens = TokenService(
        database,
        clock,
        key_ring,
        settings.issuer,
        timedelta(seconds=settings.oauth.access_token_seconds),
    )
    app.state.tokens = tokens
    clients = ClientService(database, clock, client_digester(secret))
    grant_store = GrantStore(
        database, Digester(secret, "grant"), timedelta(days=settings.oauth.refresh_token_days)
    )
    app.state.oauth_server = ProviderServer(
        settings.issuer,
        clients,
        tokens,
        clock,
        keys=key_ring,
        grant_store=grant_store,
        pairwise_key=derive_key(secret, "pairwise-subject"),
        people=partial(releasable_person, database),
        organisation_claim=OrganisationClaims(database).claim,
    )
    back_channel = BackChannelLogout(
        database,
        clients,
        key_ring,
        clock,
        issuer=settings.issuer,
        pairwise_key=derive_key(secret, "pairwise-subject"),
    )
    app.state.back_channel_logout = back_channel
    context.session_end_listeners.append(back_channel.sessions_ended)
    federation = FederationService(database, clock)
    app.state.federation = federation
    app.state.authorization_flow = AuthorizationFlow(app.state.oauth_server, federation)
    saml = build_saml(
        settings,
        database,
        clock,
        key_ring,
        federation,
        app.state.account_service,
        app.state.login_service,
    )
    app.state.saml_providers = saml.providers
    app.state.saml_metadata = saml.metadata
    app.state.saml_sso = saml.sso
    app.state.saml_logout = saml.logout
    _install_safe(app, settings, database, clock, context.notifier)
    _install_staff_and_eid(app, settings, database, clock)
    _install_organisations(app, settings, database, clock, context.notifier)


def _install_safe(
    app: FastAPI, settings: Settings, database: Database, clock: Clock, notifier: Notifier
) -> None:
    blobs = blob_store_from_settings(settings)
    app.state.blobs = blobs
    app.state.safe = SafeService(database, clock, blobs, settings.safe, notifier.new_document)
    app.state.safe_preferences = SafePreferences(database, clock)


def _install_staff_and_eid(
    app: FastAPI, settings: Settings, database: Database, clock: Clock
) -> None:
    app.state.authorities = AuthorityService(database, clock)
    app.state.staff = StaffService(database, clock)
    app.state.in_person_checks = InPersonChecks(database, clock)
    secret = settings.secret
    app.state.eid_identity = EidIdentity(database, clock, Digester(secret, "eid-pseudonym"))
    app.state.eid_port = eid_port_from_settings(settings)


def _install_organisations(
    app: FastAPI, settings: Settings, database: Database, clock: Clock, notifier: Notifier
) -> None:
    secret = settings.secret
    app.state.organisations = OrganisationService(database, clock, responsible_authority)
    app.state.registration_office = RegistrationOffice(
        database,
        clock,
        app.state.blobs,
        four_eyes=settings.organisations.four_eyes,
        notice=notifier.organisation_decided,
    )
    app.state.members = Members(
        database,
        clock,
        Digester(secret, "organisation-invitation"),
        timedelta(days=settings.organisations.invitation_days),
    )


def eid_form_targets(settings: Settings) -> list[str]:
    """Where an eID run may send the browser: the eID-Server's pages, the local eID client."""
    if settings.eid.url is None:
        return []
    parts = urlsplit(settings.eid.url)
    return [f"{parts.scheme}://{parts.netloc}", LOCAL_EID_CLIENT]


def eid_port_from_settings(settings: Settings) -> EidPort | None:
    if settings.eid.url is None:
        return None
    http = httpx.Client(timeout=settings.eid.timeout_seconds, follow_redirects=False)
    return HttpEidServer(settings.eid.url, http, settings.eid.sector)


def create_app_from_env() -> FastAPI:
    """The factory uvicorn calls in each worker process: settings from the environment."""
    settings = with_secret_key(load_settings())
    configure_logging(settings.log.level, settings.log_format)
    return create_app(settings)


def render_openapi() -> str:
    """The OpenAPI description, as committed under openapi/ (a test keeps the two equal)."""
    offline = Database(create_engine("sqlite://"))
    # Built without reading the environment: the description must not depend on who renders it.
    settings = Settings.model_construct(secret_key=SecretStr("openapi-rendering-" + "x" * 32))
    spec = create_app(settings, database=offline).openapi()
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def install_error_handlers(app: FastAPI) -> None:
    """Browsers get an error page in their language; everything else RFC 9457 problem details."""

    def http_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, StarletteHTTPException) and wants_html(request):
            return error_page(request, exc.status_code)
        return http_exception_problem(request, exc)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_problem)
    install_page_handlers(app)
    app.add_exception_handler(admin.AdminDenied, admin.answer_denied)
