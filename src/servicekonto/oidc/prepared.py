"""The discovery documents and the key set, answered from prepared bytes ahead of the router.

Every procedure and every token-verifying library fetches these documents, and answering one
is copying bytes that change only with a key rotation. Through FastAPI the copy was the
smaller part: the router tries each route ahead of the match and then solves the handler's
dependencies, which cost discovery a third more than the bare endpoint first in the table
(issue 10: 113 µs against 83 µs in process). This layer sits inside the request-context and
security-header middleware, so the answer still carries the request id, the security headers
and its access line, and it answers only a plain GET whose bytes are ready: the key set only
while the keys were read recently. Anything else goes on to the router as before: a GET behind
a proxy's root path or for keys due for a reload reaches the routes in `endpoints.py`, which
answer the same bytes; HEAD and other methods get the router's 405.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekonto.keys.service import KeyRing
from servicekonto.oidc.metadata import JWKS_PATH, authorization_server_metadata

DISCOVERY_PATH = "/.well-known/openid-configuration"
AUTHORIZATION_SERVER_PATH = "/.well-known/oauth-authorization-server"
JSON_TYPE = b"application/json"
# Short caching: a rotation publishes new keys ahead of use (keys/service.py), so minutes are safe.
JWKS_CACHE_CONTROL = "public, max-age=300"
_JWKS_HEADERS = [(b"cache-control", JWKS_CACHE_CONTROL.encode())]


def metadata_bytes(issuer: str) -> bytes:
    """RFC 8414 / OIDC Discovery metadata, serialised once: it never changes while we run."""
    document = authorization_server_metadata(issuer)
    return json.dumps(document, separators=(",", ":")).encode()


class PreparedDocuments:
    """ASGI middleware answering GET for the metadata documents and the JWK Set."""

    def __init__(self, app: ASGIApp, metadata: bytes, keys: KeyRing) -> None:
        """`metadata`: the bytes of `metadata_bytes`, which the routes answer as well."""
        self.app = app
        self._metadata = metadata
        self._keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        prepared = self._prepared(scope) if scope["type"] == "http" else None
        if prepared is None:
            await self.app(scope, receive, send)
            return
        body, extra_headers = prepared
        # New messages each time: the middleware outside adds its headers to them.
        await send(_start(body, extra_headers))
        await send({"type": "http.response.body", "body": body})

    def _prepared(self, scope: Scope) -> tuple[bytes, list[tuple[bytes, bytes]]] | None:
        if scope["method"] != "GET" or scope.get("root_path"):
            return None
        path = scope["path"]
        if path in (DISCOVERY_PATH, AUTHORIZATION_SERVER_PATH):
            return self._metadata, []
        if path == JWKS_PATH and self._keys.is_fresh():
            return self._keys.jwks_bytes(), _JWKS_HEADERS
        return None


def _start(body: bytes, extra_headers: list[tuple[bytes, bytes]]) -> Message:
    headers = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", JSON_TYPE),
        *extra_headers,
    ]
    return {"type": "http.response.start", "status": 200, "headers": headers}
