"""private_key_jwt client authentication (OIDC Core §9, RFC 7523 §2.2) with the client's JWKS.

The assertion must be signed by a key of the client's registered JWKS (asymmetric algorithms
only), name this server as audience, and carry a jti never seen before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc.jwk import KeySet, KeySetSerialization

from servicekonto.tokens.codes import first_use_of_assertion

if TYPE_CHECKING:
    from servicekonto.oidc.adapters import RegisteredClient
    from servicekonto.oidc.server import ProviderServer

MAX_ASSERTION_LIFETIME = timedelta(minutes=10)


class PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server: ProviderServer, audiences: list[str]) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self._server = server
        self._audiences = audiences

    def get_audiences(self) -> list[str]:
        return self._audiences

    def resolve_client_public_key(self, client: RegisteredClient) -> Any:
        if not client.client.jwks:
            # A jwks_uri would be fetched here; until then, such clients cannot authenticate.
            raise InvalidClientError(description="The client has no registered keys.")
        return KeySet.import_key_set(cast("KeySetSerialization", client.client.jwks))

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        now = self._server.clock.now()
        expires = datetime.fromtimestamp(int(claims.get("exp", 0)), tz=UTC)
        if expires - now > MAX_ASSERTION_LIFETIME:
            return False  # a long-lived assertion is a reusable password: refuse it
        return first_use_of_assertion(
            self._server.grants.database, str(claims.get("sub", "")), jti, expires, now
        )
