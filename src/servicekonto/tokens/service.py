"""Issuing, checking and revoking JWT access tokens (RFC 9068).

Header `typ: at+jwt` (RFC 9068 §2.1) keeps an access token from being mistaken for an ID token;
`aud` names the client; `client_id`, `scope`, `jti`, `iat`, `exp` as §2.2 requires. A token is
valid only if its signature checks against one of our published keys, it has not expired, and its
`jti` is recorded and not revoked.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jws import extract_compact
from sqlalchemy.orm import Session

from servicekonto.clock import Clock
from servicekonto.keys.service import KeyRing
from servicekonto.store.engine import Database
from servicekonto.tokens.repository import TokenRepository

ACCESS_TOKEN_TYPE = "at+jwt"
MAX_TOKEN_LENGTH = 8192


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    expires_in: int
    jti: str
    # The row that records it, written by `TokenService.record` in the token request's
    # transaction; a token whose row is never written is not valid here.
    record: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class TokenClaims:
    person_id: uuid.UUID | None
    jti: str
    client_id: str
    subject: str
    scope: str
    expires_at: datetime
    issued_at: datetime
    claims_request: dict[str, Any] | None = None


class TokenService:
    def __init__(
        self, database: Database, clock: Clock, keys: KeyRing, issuer: str, lifetime: timedelta
    ) -> None:
        self._database = database
        self._clock = clock
        self._keys = keys
        self._issuer = issuer
        self._lifetime = lifetime

    def issue(
        self,
        client_id: str,
        scope: str,
        person_id: uuid.UUID | None = None,
        *,
        family_id: uuid.UUID | None = None,
        subject: str | None = None,
        claims_request: dict[str, Any] | None = None,
    ) -> IssuedAccessToken:
        """A signed access token; valid once `record` has written its row."""
        now = self._clock.now()
        jti = secrets.token_urlsafe(24)
        expires_at = now + self._lifetime
        record = {
            "jti": jti,
            "client_id": client_id,
            "person_id": person_id,
            "scope": scope,
            "family_id": family_id,
            "claims_request": claims_request,
            "created_at": now,
            "expires_at": expires_at,
        }
        claims = {
            "iss": self._issuer,
            "sub": subject or client_id,
            "aud": client_id,
            "client_id": client_id,
            "scope": scope,
            "jti": jti,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        signing = self._keys.signing_key()
        header = {"alg": signing.alg, "kid": signing.kid, "typ": ACCESS_TOKEN_TYPE}
        token = jwt.encode(header, claims, signing.key, algorithms=[signing.alg])
        return IssuedAccessToken(token, int(self._lifetime.total_seconds()), jti, record)

    @staticmethod
    def record(session: Session, issued: IssuedAccessToken) -> None:
        """Record an issued token in the caller's transaction (the token request's one)."""
        TokenRepository(session).add(issued.record)

    def check(self, token: str) -> TokenClaims | None:
        """The claims of a valid access token of ours, or None (bad signature, expired, revoked)."""
        claims = self._verified_claims(token)
        if claims is None:
            return None
        with self._database.reader() as session:
            record = TokenRepository(session).by_jti(str(claims.get("jti", "")))
            if record is None or not record.is_valid(self._clock.now()):
                return None
            return TokenClaims(
                person_id=record.person_id,
                jti=record.jti,
                client_id=record.client_id,
                subject=str(claims.get("sub", "")),
                scope=record.scope,
                expires_at=record.expires_at,
                issued_at=record.created_at,
                claims_request=record.claims_request,
            )

    def revoke(self, token: str, client_id: str) -> None:
        """Revoke a token the client holds; RFC 7009 §2.2: unknown tokens are not an error."""
        claims = self._verified_claims(token, check_expiry=False)
        if claims is None or claims.get("client_id") != client_id:
            return
        with self._database.unit_of_work() as uow:
            TokenRepository(uow.session).revoke(str(claims.get("jti", "")), self._clock.now())
            uow.commit()

    def _verified_claims(self, token: str, check_expiry: bool = True) -> dict[str, Any] | None:
        if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            return None
        try:
            decoded = self._decode(token)
        except (JoseError, ValueError):
            return None
        if decoded is None:
            return None
        claims = dict(decoded.claims)
        if claims.get("iss") != self._issuer:
            return None
        if check_expiry and int(claims.get("exp", 0)) <= int(self._clock.now().timestamp()):
            return None
        return claims

    def _decode(self, token: str) -> jwt.Token | None:
        header = extract_compact(token.encode()).protected
        if header.get("typ") != ACCESS_TOKEN_TYPE or header.get("alg") not in {"ES256", "RS256"}:
            # Refuses `alg: none` and HMAC tricks with our public key as the secret.
            return None
        key = self._keys.key_for_kid(str(header.get("kid", "")))
        if key is None:
            return None
        return jwt.decode(token, key, algorithms=[str(header["alg"])])
