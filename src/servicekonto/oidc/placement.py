"""Where a back-channel request is answered: on the event loop, or in the thread pool.

A trip to a pool thread and back cost a token request more CPU than its own work (issue 10's
profiles: the thread and the event loop take the GIL from each other). A request is answered
on the loop when everything it waits for is known to be there already, or to be one of the
loop's own statements (store/loop.py):

- the client is in the per-process cache and authenticates with its secret (a client
  assertion may make us fetch the procedure's key set over HTTPS);
- the signing keys were read recently (no reload);
- its statements go through `Database.reading()` and `transaction()` on the loop, which needs
  the service's own PostgreSQL pool (`Database.runs_statements_on_loop`); a client_credentials
  request runs none at all.

Anything else goes to the thread pool, where a wait holds up nobody else. Both places run the
same code and give the same answers.
"""

from __future__ import annotations

import base64
import binascii
from enum import Enum
from urllib.parse import unquote

from servicekonto.oidc.server import PlainRequest, ProviderServer

NEEDS_NO_STATEMENTS = frozenset({"client_credentials"})
STATEMENTS_ON_LOOP = frozenset({"authorization_code", "refresh_token"})


class Place(Enum):
    INLINE = "inline"  # on the loop, with no statement at all
    LOOP = "loop"  # on the loop, its statements awaited there
    THREAD = "thread"


def place_of_token_request(server: ProviderServer, request: PlainRequest) -> Place:
    if not _client_ready(server, request):
        return Place.THREAD
    grant_type = request.form.get("grant_type", "")
    if grant_type in NEEDS_NO_STATEMENTS:
        return Place.INLINE
    if grant_type in STATEMENTS_ON_LOOP:
        return _with_statements(server)
    return Place.THREAD


def place_of_introspection(server: ProviderServer, request: PlainRequest) -> Place:
    return _with_statements(server) if _client_ready(server, request) else Place.THREAD


def place_of_userinfo(server: ProviderServer) -> Place:
    return _with_statements(server) if server.keys.is_fresh() else Place.THREAD


def _with_statements(server: ProviderServer) -> Place:
    return Place.LOOP if server.grants.database.runs_statements_on_loop else Place.THREAD


def _client_ready(server: ProviderServer, request: PlainRequest) -> bool:
    if "client_assertion" in request.form or not server.keys.is_fresh():
        return False
    client_id = client_id_of(request)
    return client_id is not None and server.clients.is_cached(client_id)


def client_id_of(request: PlainRequest) -> str | None:
    """The client a request names: in HTTP Basic (RFC 6749 §2.3.1, form-encoded) or the form."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return request.form.get("client_id")
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, separator, _secret = decoded.partition(":")
    return unquote(client_id) if separator else None
