"""The application factory: settings in, a FastAPI app out. Nothing is built at import time."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import create_engine

from servicekonto.api import health, problem_types
from servicekonto.api.middleware import RequestContextMiddleware
from servicekonto.api.problems import install_problem_handlers
from servicekonto.clock import Clock, SystemClock
from servicekonto.config import Settings, load_settings, with_secret_key
from servicekonto.metadata import SERVICE_NAME, __version__
from servicekonto.observability import configure_logging
from servicekonto.store.engine import Database

API_DESCRIPTION = (
    "Federated identity provider for a German district and its municipalities. "
    "Errors are RFC 9457 problem details (`application/problem+json`)."
)


def create_app(
    settings: Settings, database: Database | None = None, clock: Clock | None = None
) -> FastAPI:
    """Build the app.

    A database handed in stays the caller's to close; one built here is closed on shutdown.
    """
    owns_database = database is None
    database = database or Database.from_url(settings.database_url, settings.database)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_database:
            database.dispose()

    app = FastAPI(
        title=SERVICE_NAME,
        version=__version__,
        description=API_DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock or SystemClock()
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(problem_types.router)
    app.add_middleware(RequestContextMiddleware, issuer=settings.issuer)
    return app


def create_app_from_env() -> FastAPI:
    """The factory uvicorn calls in each worker process: settings from the environment."""
    settings = with_secret_key(load_settings())
    configure_logging(settings.log.level, settings.log_format)
    return create_app(settings)


def render_openapi() -> str:
    """The OpenAPI description, as committed under openapi/ (a test keeps the two equal)."""
    offline = Database(create_engine("sqlite://"))
    # Built without reading the environment: the description must not depend on who renders it.
    spec = create_app(Settings.model_construct(), database=offline).openapi()
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
