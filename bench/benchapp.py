"""The service's own app plus one bare JSON endpoint, the ceiling the HTTP suite measures against.

`create` builds exactly what `servicekonto serve` builds (settings from the environment, the
same logging, the same middleware) and adds `GET /bench/bare`, which does no work of its own
(and `GET /bench/bare-in-thread`, the same through the thread pool):
whatever it costs is uvicorn, the ASGI stack and our middleware, so an endpoint's ratio to it is
the share of the request the endpoint itself takes. Run as a script it serves that app with the
same uvicorn options as `servicekonto serve`:

    PYTHONPATH=bench .venv/bin/python bench/benchapp.py --port 8000 --workers 1
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from servicekonto.app import create_app
from servicekonto.config import load_settings, with_secret_key
from servicekonto.observability import configure_logging

BARE_PATH = "/bench/bare"
BARE_IN_THREAD_PATH = "/bench/bare-in-thread"


def create() -> FastAPI:
    """The factory uvicorn calls in each worker, like servicekonto.app:create_app_from_env."""
    settings = with_secret_key(load_settings())
    configure_logging(settings.log.level, settings.log_format)
    app = create_app(settings)

    @app.get(BARE_PATH, include_in_schema=False)
    async def bare() -> JSONResponse:
        # `async def`, answered on the event loop: the token endpoints answer there too
        # (oidc/placement.py), so a ceiling that paid a trip to a pool thread would not be one.
        # A response object, not a dict: FastAPI then skips serialising a return value, the
        # cheapest way out of a handler (the JWKS endpoint answers the same way).
        return JSONResponse({"status": "ok"})

    @app.get(BARE_IN_THREAD_PATH, include_in_schema=False)
    def bare_in_thread() -> JSONResponse:
        # The same through the thread pool, as every `def` handler of the service: the ceiling
        # of the earlier rounds, kept to show what the trip costs.
        return JSONResponse({"status": "ok"})

    # First in the routing table: routes are tried in order, and the ceiling should not pay for
    # passing the service's routers on the way to it.
    app.router.routes.insert(0, app.router.routes.pop())
    app.router.routes.insert(0, app.router.routes.pop())
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    # The options of `servicekonto serve` (src/servicekonto/cli/__init__.py).
    uvicorn.run(
        "benchapp:create",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
