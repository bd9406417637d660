"""authlib's AuthorizationServer wired to our storage, framework-free.

Requests come in as `PlainRequest` (method, URL, headers, form) and responses go out as
`PlainResponse`; only `endpoints.py` converts from and to Starlette (STYLE habit 11).

A token request writes in one unit of work: the code or refresh token it consumes and the
tokens it issues, committed once when authlib saves the token (`TokenWrites`), before the
answer leaves (STYLE habit 8). No connection is held while tokens are signed or while the ID
token's claims are read, so a request never waits for a second connection while holding one.
The client is read from a short per-process cache (`ClientService.lookup`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    InvalidGrantError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from servicekonto.clients.service import ClientService
from servicekonto.clock import Clock
from servicekonto.federation.attributes import VerifiedPerson
from servicekonto.keys.service import KeyRing
from servicekonto.oidc.adapters import AccessTokenRecord, RegisteredClient
from servicekonto.oidc.client_auth import PrivateKeyJwt
from servicekonto.oidc.grants import (
    CodeGrant,
    EndUser,
    IdToken,
    RotatingRefreshGrant,
    TokensForThisRequest,
    TokenWrites,
    subject_for,
)
from servicekonto.oidc.metadata import PAR_PATH, TOKEN_PATH
from servicekonto.oidc.remote_jwks import RemoteJwks
from servicekonto.tokens.codes import Grant, GrantStore
from servicekonto.tokens.service import TokenService

# (person, organisation) -> the `organisation` claim, None unless the person is a member.
OrganisationClaim = Callable[[uuid.UUID, uuid.UUID], dict[str, Any] | None]
SECRET_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
# Scopes a procedure may ask for in its own name (no person behind the token).
SERVICE_SCOPES = frozenset({"safe.deposit"})


@dataclass(frozen=True)
class PlainRequest:
    method: str
    url: str
    headers: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    # Names that came more than once (query or form): RFC 6749 §3.1 forbids that.
    repeated: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PlainResponse:
    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]]


class Headers(dict[str, str]):
    """Header lookup ignoring case, as HTTP says (authlib asks for "Authorization")."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__({name.lower(): value for name, value in headers.items()})

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())


class PlainOAuth2Request(OAuth2Request):  # type: ignore[misc]
    """authlib's request over our PlainRequest: query arguments and form kept apart."""

    def __init__(self, request: PlainRequest) -> None:
        super().__init__(request.method, request.url, None, Headers(request.headers))
        self._args = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
        self._form = dict(request.form)
        self.payload = BasicOAuth2Payload({**self._args, **self._form})
        self.writes = TokenWrites()

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class ServiceCredentials(TokensForThisRequest, ClientCredentialsGrant):  # type: ignore[misc]
    """RFC 6749 §4.4 for procedure-to-service calls, secret-authenticated clients only."""

    TOKEN_ENDPOINT_AUTH_METHODS = SECRET_METHODS


class TokenIntrospection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = SECRET_METHODS

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> AccessTokenRecord | None:
        server: ProviderServer = self.server
        return server.find_token(token_string)

    def check_permission(
        self, token: AccessTokenRecord, client: RegisteredClient, request: Any
    ) -> bool:
        # A procedure may ask about the tokens issued to it, not about anyone else's.
        return token.check_client(client)

    def introspect_token(self, token: AccessTokenRecord) -> dict[str, Any]:
        claims = token.claims
        return {
            "active": True,
            "client_id": claims.client_id,
            "scope": claims.scope,
            "sub": claims.subject,
            "aud": claims.client_id,
            "iss": self.server.issuer,
            "exp": int(claims.expires_at.timestamp()),
            "iat": int(claims.issued_at.timestamp()),
            "jti": claims.jti,
            "token_type": "Bearer",
        }


class TokenRevocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = SECRET_METHODS

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> AccessTokenRecord | None:
        server: ProviderServer = self.server
        return server.find_token(token_string)

    def revoke_token(self, token: AccessTokenRecord, request: Any) -> None:
        self.server.tokens.revoke(token.raw, token.claims.client_id)


class ProviderServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(
        self,
        issuer: str,
        clients: ClientService,
        tokens: TokenService,
        clock: Clock,
        *,
        keys: KeyRing,
        grant_store: GrantStore,
        pairwise_key: bytes,
        people: Callable[[uuid.UUID], VerifiedPerson | None],
        remote_keys: RemoteJwks | None = None,
        organisation_claim: OrganisationClaim | None = None,
    ) -> None:
        super().__init__(scopes_supported=None)
        self.issuer = issuer
        self.clients = clients
        self.tokens = tokens
        self.clock = clock
        self.keys = keys
        self.grants = grant_store
        self._pairwise_key = pairwise_key
        self.people = people
        self.remote_keys = remote_keys or RemoteJwks(clock)
        self.organisation_claim: OrganisationClaim = organisation_claim or (lambda _p, _o: None)
        self.register_grant(ServiceCredentials)
        # PKCE is required of public clients; S256 only (RFC 9700 §2.1.1: no "plain").
        challenge = CodeChallenge(required=True)
        challenge.SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
        self.register_grant(CodeGrant, [challenge, IdToken(self)])
        self.register_grant(RotatingRefreshGrant)
        self.register_endpoint(TokenIntrospection)
        self.register_endpoint(TokenRevocation)
        audiences = [issuer, issuer + TOKEN_PATH, issuer + PAR_PATH]
        self.register_client_auth_method("private_key_jwt", PrivateKeyJwt(self, audiences))

    def subject(self, client: RegisteredClient, person_id: uuid.UUID) -> str:
        return subject_for(client, person_id, self._pairwise_key)

    def store_code(self, code: str, grant: Grant, session_id: uuid.UUID | None) -> None:
        self.grants.issue_code_with(code, grant, session_id, self.clock.now())

    # --- what authlib asks of us -------------------------------------------------------------

    def query_client(self, client_id: str) -> RegisteredClient | None:
        record = self.clients.lookup(client_id) if client_id and len(client_id) <= 100 else None
        if record is None or record.client.disabled:
            return None
        return RegisteredClient(
            record.client, lambda _client_id, secret: self.clients.secret_matches(record, secret)
        )

    def save_token(self, token: dict[str, Any], request: PlainOAuth2Request) -> None:
        """Consume the code or refresh token and record the new tokens: one transaction."""
        writes = request.writes
        if writes.nothing_to_write:
            return  # a procedure's own token is self-contained (TokenService.issue)
        now = self.clock.now()
        with self.grants.database.transaction() as connection:
            consumed = writes.consume is None or self.grants.consume(
                connection, writes.consume, now
            )
            # Not consumed: another request used it first. The replay is recorded and its
            # family revoked (committed with this transaction), nothing is issued.
            if consumed:
                for issued in writes.access_tokens:
                    self.tokens.record(connection, issued)
                for refresh in writes.refresh_tokens:
                    self.grants.add_refresh(connection, refresh)
        if not consumed:
            raise InvalidGrantError()

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No listeners: audit and logging happen in the services."""

    def create_oauth2_request(self, request: PlainRequest) -> PlainOAuth2Request:
        return PlainOAuth2Request(request)

    def create_json_request(self, request: PlainRequest) -> Any:
        raise NotImplementedError("no JSON requests yet")

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> PlainResponse:
        payload = body if isinstance(body, dict) else json.loads(body or "{}")
        return PlainResponse(status, payload, list(headers))

    # --- tokens ---------------------------------------------------------------------------------

    def issue_tokens(
        self, request: PlainOAuth2Request, user: EndUser | None, scope: str, with_refresh: bool
    ) -> dict[str, Any]:
        """The token response; what it issued is written by `save_token`."""
        client: RegisteredClient = request.client
        if isinstance(user, EndUser):
            return self._person_token(request.writes, client, user, scope, with_refresh)
        return self._service_token(client, scope)

    def _service_token(self, client: RegisteredClient, scope: str) -> dict[str, Any]:
        requested = set(scope.split())
        allowed = set(client.client.scopes) & SERVICE_SCOPES
        if not requested or not requested <= allowed:
            # RFC 6749 §5.2: a scope the client may not have is refused, not silently trimmed.
            raise InvalidScopeError()
        granted = " ".join(sorted(requested))
        issued = self.tokens.issue(client.get_client_id(), granted)
        return {
            "token_type": "Bearer",
            "access_token": issued.token,
            "expires_in": issued.expires_in,
            "scope": granted,
        }

    def _person_token(
        self,
        writes: TokenWrites,
        client: RegisteredClient,
        user: EndUser,
        scope: str,
        with_refresh: bool,
    ) -> dict[str, Any]:
        issued = self.tokens.issue(
            client.get_client_id(),
            scope,
            person_id=user.person_id,
            family_id=user.family_id,
            subject=user.subject,
            claims_request=user.claims_request,
        )
        writes.access_tokens.append(issued)
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": issued.token,
            "expires_in": issued.expires_in,
            "scope": scope,
        }
        refresh = user.next_refresh
        if refresh is None and with_refresh:
            refresh = self.grants.new_refresh(self._grant_of(client, user, scope), self.clock.now())
        if refresh is not None:
            writes.refresh_tokens.append(refresh)
            token["refresh_token"] = refresh.token
        return token

    def _grant_of(self, client: RegisteredClient, user: EndUser, scope: str) -> Grant:
        return Grant(
            client_id=client.get_client_id(),
            person_id=user.person_id,
            scope=scope,
            acr=user.acr,
            amr=user.amr,
            auth_time=user.auth_time,
            family_id=user.family_id,
            claims_request=user.claims_request,
        )

    def authenticate_pushing_client(self, plain: PlainRequest) -> RegisteredClient | None:
        """Client authentication at the PAR endpoint, as at the token endpoint (RFC 9126 §2.1)."""
        request = self.create_oauth2_request(plain)
        methods = [*SECRET_METHODS, "none"]
        try:
            client: RegisteredClient = self.authenticate_client(request, methods, endpoint="par")
        except OAuth2Error:
            return None
        return client

    def validate_pushed(
        self, params: dict[str, str], client: RegisteredClient
    ) -> dict[str, str] | None:
        """The pushed request is checked now (RFC 9126 §2.1), so errors reach the client at once."""
        if params.get("client_id") not in {None, client.get_client_id()}:
            return {"error": "invalid_request", "error_description": "client_id does not match."}
        if params.get("redirect_uri") not in client.client.redirect_uris:
            return {"error": "invalid_request", "error_description": "Unregistered redirect_uri."}
        if params.get("response_type") != "code":
            return {"error": "unsupported_response_type"}
        return None

    def find_token(self, token_string: str) -> AccessTokenRecord | None:
        claims = self.tokens.check(token_string)
        if claims is None:
            return None
        return AccessTokenRecord(token_string, claims, self.clock.now())
