"""private_key_jwt client authentication (OIDC Core §9, RFC 7523 §2.2) with the client's keys.

The assertion must be signed by one of the client's keys (asymmetric algorithms only): the JWKS
registered with the client, or the one it publishes at its `jwks_uri`. It must name this server
as audience and carry a jti never seen before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc.jwk import Key, KeySet, KeySetSerialization

from servicekonto.oidc.remote_jwks import RemoteJwksError, UnknownClientKeyError
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
        if client.client.jwks:
            return KeySet.import_key_set(cast("KeySetSerialization", client.client.jwks))
        uri = client.client.jwks_uri
        if not uri:
            raise InvalidClientError(description="The client has no registered keys.")
        # joserfc calls this with the parsed assertion, so the header's kid picks the key.
        return lambda token: self._published_key(uri, token.headers().get("kid"))

    def _published_key(self, uri: str, kid: Any) -> Key:
        try:
            return self._server.remote_keys.key_for(uri, kid if isinstance(kid, str) else None)
        except RemoteJwksError:
            raise InvalidClientError(description="The client's keys could not be read.") from None
        except UnknownClientKeyError:
            raise InvalidClientError(description="No registered key matches.") from None

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        now = self._server.clock.now()
        expires = datetime.fromtimestamp(int(claims.get("exp", 0)), tz=UTC)
        if expires - now > MAX_ASSERTION_LIFETIME:
            return False  # a long-lived assertion is a reusable password: refuse it
        return first_use_of_assertion(
            self._server.grants.database, str(claims.get("sub", "")), jti, expires, now
        )
