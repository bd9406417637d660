"""Who calls the safe API: a procedure with its own access token (client_credentials).

RFC 6750 §3.1: a missing or bad token is 401 `invalid_token`, a token without the scope is 403
`insufficient_scope`, both with a WWW-Authenticate header; the body is problem+json.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from fastapi import Request

from servicekonto.api.problems import (
    IDEMPOTENCY_KEY_MISSING,
    INSUFFICIENT_SCOPE,
    INVALID_TOKEN,
    ProblemResponse,
    ProblemType,
    problem_response,
)
from servicekonto.clients.service import ClientService
from servicekonto.safe.service import IdempotencyKey, Procedure
from servicekonto.tokens.service import TokenService

DEPOSIT_SCOPE = "safe.deposit"
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")


def problem(request: Request, kind: ProblemType, status: int, **extra: Any) -> ProblemResponse:
    issuer = request.app.state.settings.issuer
    return problem_response(status, kind.title, kind.uri(issuer), detail=kind.description, **extra)


def calling_procedure(request: Request) -> Procedure | ProblemResponse:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    tokens: TokenService = request.app.state.tokens
    claims = tokens.check(token.strip()) if scheme.lower() == "bearer" and token else None
    if claims is not None and DEPOSIT_SCOPE not in claims.scope.split():
        challenge = f'Bearer error="insufficient_scope", scope="{DEPOSIT_SCOPE}"'
        return problem(request, INSUFFICIENT_SCOPE, 403, headers={"www-authenticate": challenge})
    client = None
    # A person's token is not a procedure's credential, even if it names the same client.
    if claims is not None and claims.person_id is None:
        clients: ClientService = request.app.state.oauth_server.clients
        client = clients.get(claims.client_id)
    if client is None or client.disabled:
        challenge = 'Bearer error="invalid_token"'
        return problem(request, INVALID_TOKEN, 401, headers={"www-authenticate": challenge})
    return Procedure(client.client_id, client.name, client.authority_id)


def idempotency_key(
    request: Request, procedure: Procedure, described: dict[str, Any]
) -> IdempotencyKey | ProblemResponse:
    """The key and a digest of everything that makes up the request (method, path, content)."""
    key = request.headers.get("idempotency-key", "")
    if not IDEMPOTENCY_KEY.fullmatch(key):
        return problem(request, IDEMPOTENCY_KEY_MISSING, 400)
    what = {"method": request.method, "path": request.url.path, **described}
    canonical = json.dumps(what, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return IdempotencyKey(procedure.client_id, key, digest)
