"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), framework-free.

The procedure proves which login it means with the ID token it received (`id_token_hint`), and
may only send the person back to a post-logout URI registered for it. A hint that does not
verify against our keys is refused without redirecting anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.common.urls import add_params_to_uri
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jws import extract_compact

from servicekonto.clients.service import ClientService
from servicekonto.keys.service import KeyRing

MAX_HINT_LENGTH = 8192


@dataclass(frozen=True)
class LogoutDecision:
    valid: bool
    redirect: str | None = None


def verified_hint(hint: str, keys: KeyRing, issuer: str) -> dict[str, Any] | None:
    """The claims of an ID token we issued (expired ones count: it is only a hint)."""
    if not hint or len(hint) > MAX_HINT_LENGTH or hint.count(".") != 2:
        return None
    try:
        header = extract_compact(hint.encode()).protected
        if header.get("alg") not in {"ES256", "RS256"}:
            return None  # refuses alg none and HMAC over a public key
        key = keys.key_for_kid(str(header.get("kid", "")))
        if key is None:
            return None
        claims = dict(jwt.decode(hint, key, algorithms=[str(header["alg"])]).claims)
    except (JoseError, ValueError):
        return None
    return claims if claims.get("iss") == issuer else None


def decide_logout(
    params: dict[str, str], keys: KeyRing, clients: ClientService, issuer: str
) -> LogoutDecision:
    claims = verified_hint(params.get("id_token_hint", ""), keys, issuer)
    if claims is None:
        return LogoutDecision(valid=False)
    audience = claims.get("aud")
    client_ids = audience if isinstance(audience, list) else [audience]
    requested = params.get("client_id")
    if requested and requested not in client_ids:
        return LogoutDecision(valid=False)
    client = clients.get(str(client_ids[0])) if client_ids else None
    target = params.get("post_logout_redirect_uri")
    if not target:
        return LogoutDecision(valid=True)
    if client is None or target not in client.post_logout_redirect_uris:
        return LogoutDecision(valid=False)
    state = params.get("state")
    return LogoutDecision(
        valid=True, redirect=add_params_to_uri(target, {"state": state}) if state else target
    )
