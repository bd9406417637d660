"""Our clients and tokens in the shape authlib's server core asks for (ClientMixin, TokenMixin)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin

from servicekonto.clients.schemas import ClientOut
from servicekonto.tokens.service import TokenClaims


@dataclass
class RegisteredClient(ClientMixin):  # type: ignore[misc]
    client: ClientOut
    # Checks a presented secret in constant time (and does the same work for wrong ones).
    secret_matches: Callable[[str, str], bool]

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.client.redirect_uris[0] if self.client.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        requested = (scope or "").split()
        return " ".join(item for item in requested if item in self.client.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # RFC 9700 §2.1: exact string comparison, no patterns.
        return redirect_uri in self.client.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return self.secret_matches(self.client.client_id, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return bool(method == self.client.token_endpoint_auth_method)

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.client.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.client.grant_types


@dataclass
class AccessTokenRecord(TokenMixin):  # type: ignore[misc]
    raw: str
    claims: TokenClaims
    now: datetime

    def check_client(self, client: RegisteredClient) -> bool:
        return self.claims.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.claims.scope

    def get_expires_in(self) -> int:
        return int((self.claims.expires_at - self.claims.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.now >= self.claims.expires_at

    def is_revoked(self) -> bool:
        return False  # TokenService.check already refused revoked tokens
