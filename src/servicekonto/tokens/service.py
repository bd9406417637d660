"""Issuing, checking and revoking JWT access tokens (RFC 9068).

Header `typ: at+jwt` (RFC 9068 §2.1) keeps an access token from being mistaken for an ID token;
`aud` names the client; `client_id`, `scope`, `jti`, `iat`, `exp` as §2.2 requires. A token is
valid only if its signature checks against one of our published keys and it has not expired, and
then:

- a person's token only if its `jti` is recorded, not revoked, and the code its family came
  from was not replayed: the record carries what the token may release (scope, claims request);
- a procedure's own token (client_credentials) is self-contained: its `jti` starts with
  `SELF_CONTAINED_PREFIX`, nothing is written when it is issued, and it is valid unless a record
  of its `jti` exists, which only a revocation writes. Issuing one is the hottest write path of
  the service and carries nothing a record would add; the prefix is inside the signature, and
  no person's `jti` can carry it (they are URL-safe base64, without dots).
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jws import extract_compact

from servicekonto.clock import Clock
from servicekonto.keys.service import KeyRing
from servicekonto.store.engine import Database, Executor
from servicekonto.tokens.repository import TokenRepository, add_token, token_row

ACCESS_TOKEN_TYPE = "at+jwt"
MAX_TOKEN_LENGTH = 8192
SELF_CONTAINED_PREFIX = "c."
# Verified signatures kept per process (see VerifiedTokens): a resource server introspects the
# same token for every call it serves, a procedure asks userinfo with it more than once.
VERIFIED_TOKENS_KEPT = 512
VERIFIED_TOKENS_SECONDS = 60.0


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


class VerifiedTokens:
    """Claims of tokens whose signature was verified in the last minute, by the token itself.

    An ES256 verification is most of a token check's CPU. Kept for a minute at most, and a
    token is only served from here while the key that signed it is still published, so a
    withdrawn key stops its tokens at once. Expiry and revocation are checked at every call,
    as for a token verified anew. Bounded: the oldest entry makes room for a new one.
    """

    def __init__(self, kept: int = VERIFIED_TOKENS_KEPT, seconds: float = VERIFIED_TOKENS_SECONDS):
        self._kept = kept
        self._seconds = seconds
        self._entries: dict[str, tuple[float, str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> tuple[str, dict[str, Any]] | None:
        """(kid, claims) of a token verified recently, or None."""
        entry = self._entries.get(token)
        if entry is None or time.monotonic() - entry[0] > self._seconds:
            return None
        return entry[1], entry[2]

    def put(self, token: str, kid: str, claims: dict[str, Any]) -> None:
        with self._lock:
            while len(self._entries) >= self._kept:
                del self._entries[next(iter(self._entries))]
            self._entries[token] = (time.monotonic(), kid, claims)


class TokenService:
    def __init__(
        self, database: Database, clock: Clock, keys: KeyRing, issuer: str, lifetime: timedelta
    ) -> None:
        self._database = database
        self._clock = clock
        self._keys = keys
        self._issuer = issuer
        self._lifetime = lifetime
        self._verified = VerifiedTokens()

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
        """A signed access token.

        A person's token is valid once `record` has written its row; a procedure's own (no
        person) is self-contained and has no row to write (`record` is empty).
        """
        now = self._clock.now()
        self_contained = person_id is None
        jti = (SELF_CONTAINED_PREFIX if self_contained else "") + secrets.token_urlsafe(24)
        expires_at = now + self._lifetime
        record = (
            {}
            if self_contained
            else {
                "jti": jti,
                "client_id": client_id,
                "person_id": person_id,
                "scope": scope,
                "family_id": family_id,
                "claims_request": claims_request,
                "created_at": now,
                "expires_at": expires_at,
            }
        )
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
    def record(executor: Executor, issued: IssuedAccessToken) -> None:
        """Record an issued token in the caller's transaction (the token request's one)."""
        add_token(executor, issued.record)

    def check(self, token: str) -> TokenClaims | None:
        """The claims of a valid access token of ours, or None (bad signature, expired, revoked)."""
        claims = self._verified_claims(token)
        if claims is None:
            return None
        jti = str(claims.get("jti", ""))
        with self._database.reading() as connection:
            row = token_row(connection, jti)
        if jti.startswith(SELF_CONTAINED_PREFIX):
            # Only a revocation records a self-contained token.
            return None if row is not None else _self_contained_claims(claims)
        if row is None or row.replayed or row.revoked_at is not None:
            return None
        if self._clock.now() >= row.expires_at:
            return None
        return TokenClaims(
            person_id=row.person_id,
            jti=row.jti,
            client_id=row.client_id,
            subject=str(claims.get("sub", "")),
            scope=row.scope,
            expires_at=row.expires_at,
            issued_at=row.created_at,
            claims_request=row.claims_request,
        )

    def revoke(self, token: str, client_id: str) -> None:
        """Revoke a token the client holds; RFC 7009 §2.2: unknown tokens are not an error."""
        claims = self._verified_claims(token, check_expiry=False)
        if claims is None or claims.get("client_id") != client_id:
            return
        jti = str(claims.get("jti", ""))
        now = self._clock.now()
        with self._database.unit_of_work() as uow:
            repository = TokenRepository(uow.session)
            if jti.startswith(SELF_CONTAINED_PREFIX):
                repository.add_if_absent(_revocation_record(_self_contained_claims(claims), now))
            else:
                repository.revoke(jti, now)
            uow.commit()

    def _verified_claims(self, token: str, check_expiry: bool = True) -> dict[str, Any] | None:
        if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            return None
        claims = self._signed_claims(token)
        if claims is None or claims.get("iss") != self._issuer:
            return None
        if check_expiry and int(claims.get("exp", 0)) <= int(self._clock.now().timestamp()):
            return None
        return claims

    def _signed_claims(self, token: str) -> dict[str, Any] | None:
        """The claims of a token whose signature checks against a published key of ours."""
        known = self._verified.get(token)
        if known is not None:
            kid, claims = known
            return claims if self._keys.key_for_kid(kid) is not None else None
        try:
            decoded = self._decode(token)
        except (JoseError, ValueError):
            return None
        if decoded is None:
            return None
        kid, token_claims = decoded
        self._verified.put(token, kid, token_claims)
        return token_claims

    def _decode(self, token: str) -> tuple[str, dict[str, Any]] | None:
        header = extract_compact(token.encode()).protected
        if header.get("typ") != ACCESS_TOKEN_TYPE or header.get("alg") not in {"ES256", "RS256"}:
            # Refuses `alg: none` and HMAC tricks with our public key as the secret.
            return None
        kid = str(header.get("kid", ""))
        key = self._keys.key_for_kid(kid)
        if key is None:
            return None
        return kid, dict(jwt.decode(token, key, algorithms=[str(header["alg"])]).claims)


def _moment(claims: dict[str, Any], name: str) -> datetime:
    return datetime.fromtimestamp(int(claims.get(name, 0)), UTC)


def _self_contained_claims(claims: dict[str, Any]) -> TokenClaims:
    """A procedure's own token answers from its signed claims alone."""
    return TokenClaims(
        person_id=None,
        jti=str(claims["jti"]),
        client_id=str(claims.get("client_id", "")),
        subject=str(claims.get("sub", "")),
        scope=str(claims.get("scope", "")),
        expires_at=_moment(claims, "exp"),
        issued_at=_moment(claims, "iat"),
    )


def _revocation_record(token: TokenClaims, now: datetime) -> dict[str, Any]:
    """The record a revoked self-contained token gets: kept until the token would expire."""
    return {
        "jti": token.jti,
        "client_id": token.client_id,
        "person_id": None,
        "scope": token.scope,
        "family_id": None,
        "claims_request": None,
        "created_at": token.issued_at,
        "expires_at": token.expires_at,
        "revoked_at": now,
    }
