"""The authorization code and refresh token grants, and the ID token, over our storage.

Codes and refresh tokens are consumed with a guarded UPDATE inside `GrantStore`, in the same
transaction that records the tokens issued from them (`TokenWrites`, written when authlib
saves the token), so `delete_authorization_code` has nothing left to do.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import grants
from authlib.oidc.core import AuthorizationCodeMixin
from authlib.oidc.core.grants import OpenIDCode

from servicekonto.federation.attributes import verified_claims_for
from servicekonto.security.secrets import new_token
from servicekonto.tokens.codes import CODE_KIND, Grant, NewRefresh, Redeemable
from servicekonto.tokens.service import IssuedAccessToken

if TYPE_CHECKING:
    from servicekonto.oidc.adapters import RegisteredClient
    from servicekonto.oidc.server import PlainOAuth2Request, ProviderServer

ID_TOKEN_SECONDS = 300
CLAIMS_MEMBERS = ("userinfo", "id_token")
ACTING_FOR_KEY = "organisation"


@dataclass
class EndUser:
    """The person a code or token is for, with how and when they authenticated."""

    person_id: uuid.UUID
    session_id: uuid.UUID | None
    acr: str
    amr: list[str]
    auth_time: datetime
    family_id: uuid.UUID
    # `sub` as this client knows the person (public or pairwise).
    subject: str = ""
    claims_request: dict[str, Any] | None = None
    # Set by the refresh grant: the rotated token to hand out.
    next_refresh: NewRefresh | None = None
    # Whom the person acts for, when the procedure asked for scope `organisation`.
    organisation_id: uuid.UUID | None = None

    def get_user_id(self) -> str:
        return str(self.person_id)


@dataclass
class CodeRecord(AuthorizationCodeMixin):  # type: ignore[misc]
    grant: Grant

    def get_redirect_uri(self) -> str | None:
        return self.grant.redirect_uri

    def get_scope(self) -> str:
        return self.grant.scope

    def get_nonce(self) -> str | None:
        return self.grant.nonce

    def get_auth_time(self) -> int:
        return int(self.grant.auth_time.timestamp())

    def get_acr(self) -> str:
        return self.grant.acr

    def get_amr(self) -> list[str]:
        return list(self.grant.amr)

    @property
    def code_challenge(self) -> str | None:
        return self.grant.code_challenge

    @property
    def code_challenge_method(self) -> str | None:
        return self.grant.code_challenge_method


def subject_for(client: RegisteredClient, person_id: uuid.UUID, pairwise_key: bytes) -> str:
    """`sub` for a client: the person's id, or a per-authority pseudonym (OIDC Core §8.1)."""
    if client.client.subject_type != "pairwise":
        return str(person_id)
    sector = str(client.client.authority_id).encode()
    return hmac.new(pairwise_key, sector + b"|" + person_id.bytes, hashlib.sha256).hexdigest()


def claims_request_members(claims: str | None) -> dict[str, Any] | None:
    """The `userinfo` and `id_token` members of the claims parameter (already checked JSON).

    Kept with the grant so the userinfo endpoint and every ID token issued from it (also after
    a refresh) answer the same request (OIDC Core §5.5).
    """
    if not claims:
        return None
    try:
        parsed = json.loads(claims)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    members = {name: parsed[name] for name in CLAIMS_MEMBERS if isinstance(parsed.get(name), dict)}
    return members or None


def with_acting_for(
    claims_request: dict[str, Any] | None, organisation_id: uuid.UUID | None
) -> dict[str, Any] | None:
    """The grant's release, with whom the person acts for (kept with it through refreshes)."""
    if organisation_id is None:
        return claims_request
    return {**(claims_request or {}), ACTING_FOR_KEY: str(organisation_id)}


def acting_for(claims_request: dict[str, Any] | None) -> uuid.UUID | None:
    value = (claims_request or {}).get(ACTING_FOR_KEY)
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def requested_for(claims_request: dict[str, Any] | None, member: str) -> dict[str, Any]:
    """What one member (`userinfo` or `id_token`) of a stored claims request asks for."""
    wanted = (claims_request or {}).get(member)
    return wanted if isinstance(wanted, dict) else {}


@dataclass
class TokenWrites:
    """What a token request writes: one transaction when authlib saves the token.

    The grant finds its code or refresh token without consuming it and the tokens are made
    and signed with no connection held; `ProviderServer.save_token` then consumes, records
    and commits in one unit of work, before the answer leaves (STYLE habit 8).
    """

    consume: Redeemable | None = None
    access_tokens: list[IssuedAccessToken] = field(default_factory=list)
    refresh_tokens: list[NewRefresh] = field(default_factory=list)

    @property
    def nothing_to_write(self) -> bool:
        return self.consume is None and not self.access_tokens and not self.refresh_tokens


class TokensForThisRequest:
    """A grant whose tokens are collected in its request's TokenWrites.

    authlib's grants ask `server.generate_token`, which has no request; this hands it over.
    """

    server: ProviderServer
    request: PlainOAuth2Request

    def generate_token(
        self,
        user: EndUser | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        return self.server.issue_tokens(self.request, user, scope or "", include_refresh_token)


class CodeGrant(TokensForThisRequest, grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = (
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    )

    def generate_authorization_code(self) -> str:
        return new_token(CODE_KIND)

    def save_authorization_code(self, code: str, request: Any) -> None:
        server: ProviderServer = self.server
        user: EndUser = request.user
        payload = request.payload.data
        grant = Grant(
            client_id=request.client.get_client_id(),
            person_id=user.person_id,
            scope=request.payload.scope or "",
            acr=user.acr,
            amr=user.amr,
            auth_time=user.auth_time,
            family_id=user.family_id,
            nonce=payload.get("nonce"),
            redirect_uri=request.payload.redirect_uri,
            code_challenge=payload.get("code_challenge"),
            code_challenge_method=payload.get("code_challenge_method"),
            claims_request=with_acting_for(
                claims_request_members(payload.get("claims")), user.organisation_id
            ),
        )
        server.store_code(code, grant, user.session_id)

    def query_authorization_code(self, code: str, client: RegisteredClient) -> CodeRecord | None:
        server: ProviderServer = self.server
        found = server.grants.find_code(code, client.get_client_id(), server.clock.now())
        if found is None:
            return None
        self.request.writes.consume = found
        return CodeRecord(found.grant)

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        """Consumed by `ProviderServer.save_token`, with the tokens issued from it."""

    def authenticate_user(self, authorization_code: CodeRecord) -> EndUser:
        server: ProviderServer = self.server
        grant = authorization_code.grant
        return EndUser(
            person_id=grant.person_id,
            session_id=None,
            acr=grant.acr,
            amr=grant.amr,
            auth_time=grant.auth_time,
            family_id=grant.family_id,
            subject=server.subject(self.request.client, grant.person_id),
            claims_request=grant.claims_request,
        )


class RotatingRefreshGrant(TokensForThisRequest, grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = (
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    )
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshRecord | None:
        server: ProviderServer = self.server
        client_id = self.request.client.get_client_id() if self.request.client else ""
        now = server.clock.now()
        found = server.grants.find_refresh(refresh_token, client_id, now)
        if found is None:
            return None
        grant = found.grant
        organisation_id = acting_for(grant.claims_request)
        if organisation_id is not None and (
            server.organisation_claim(grant.person_id, organisation_id) is None
        ):
            return None  # removed from the organisation: no token that acts for it any more
        self.request.writes.consume = found
        return RefreshRecord(grant, server.grants.new_refresh(grant, now))

    def authenticate_user(self, refresh_token: RefreshRecord) -> EndUser:
        server: ProviderServer = self.server
        grant = refresh_token.grant
        return EndUser(
            person_id=grant.person_id,
            session_id=None,
            acr=grant.acr,
            amr=grant.amr,
            auth_time=grant.auth_time,
            family_id=grant.family_id,
            subject=server.subject(self.request.client, grant.person_id),
            claims_request=grant.claims_request,
            next_refresh=refresh_token.fresh,
        )

    def revoke_old_credential(self, refresh_token: RefreshRecord) -> None:
        """Consumed by `ProviderServer.save_token`, with the rotated token written."""


@dataclass
class RefreshRecord:
    grant: Grant
    fresh: NewRefresh

    def get_scope(self) -> str:
        return self.grant.scope

    def check_client(self, client: RegisteredClient) -> bool:
        return self.grant.client_id == client.get_client_id()

    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return False


class IdToken(OpenIDCode):  # type: ignore[misc]
    """The ID token: signed by the key ring, `sub` per the client's subject type."""

    def __init__(self, server: ProviderServer) -> None:
        super().__init__(require_nonce=False)
        self.server = server

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False

    def get_client_algorithm(self, client: RegisteredClient) -> str:
        return client.client.id_token_signed_response_alg

    def resolve_client_private_key(self, client: RegisteredClient) -> Any:
        return self.server.keys.signing_key(self.get_client_algorithm(client)).key

    def get_encode_header(self, client: RegisteredClient) -> dict[str, str]:
        signing = self.server.keys.signing_key(self.get_client_algorithm(client))
        return {"alg": signing.alg, "kid": signing.kid, "typ": "JWT"}

    def get_client_claims(self, client: RegisteredClient) -> dict[str, Any]:
        now = int(self.server.clock.now().timestamp())
        return {
            "iss": self.server.issuer,
            "aud": [client.get_client_id()],
            "iat": now,
            "exp": now + ID_TOKEN_SECONDS,
        }

    def generate_user_info(self, user: EndUser, scope: str) -> dict[str, Any]:
        # The ID token says who and how; the attributes come from the userinfo endpoint, but
        # verified claims asked for in the `id_token` member travel in the token itself.
        claims: dict[str, Any] = {"sub": user.subject}
        organisation = organisation_claim_for(self.server, user.person_id, user.claims_request)
        if organisation is not None:
            claims["organisation"] = organisation
        asked = requested_for(user.claims_request, "id_token")
        if "verified_claims" not in asked:
            return claims
        person = self.server.people(user.person_id)
        verified = verified_claims_for(person, asked, set(scope.split())) if person else None
        if verified is not None:
            claims["verified_claims"] = verified
        return claims


def organisation_claim_for(
    server: ProviderServer, person_id: uuid.UUID, claims_request: dict[str, Any] | None
) -> dict[str, Any] | None:
    organisation_id = acting_for(claims_request)
    if organisation_id is None:
        return None
    return server.organisation_claim(person_id, organisation_id)
