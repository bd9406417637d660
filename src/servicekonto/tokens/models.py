"""An issued access token, recorded by its `jti`.

The token itself is a signed JWT a resource server can check offline; the row exists so that
revocation (RFC 7009) and introspection (RFC 7662) can answer for it. A procedure's own token
(client_credentials) is self-contained and gets a row only when it is revoked
(`tokens.service`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servicekonto.store.base import Base, uuid_primary_key


class IssuedToken(Base):
    __tablename__ = "issued_tokens"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    # None for procedure-to-service tokens (client_credentials): the client is the subject.
    person_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    scope: Mapped[str] = mapped_column(String(500))
    family_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # The userinfo and id_token members of the OIDC `claims` parameter, if any.
    claims_request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]

    def is_valid(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


class AuthorizationCode(Base):
    """A single-use code (RFC 6749 §4.1.2), stored as a digest, valid for a minute."""

    __tablename__ = "authorization_codes"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[uuid.UUID]
    session_id: Mapped[uuid.UUID | None]
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(500))
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    acr: Mapped[str] = mapped_column(String(100))
    amr: Mapped[list[str]] = mapped_column(JSON)
    auth_time: Mapped[datetime]
    # Every token issued from this code shares the family: a replayed code revokes them all.
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    claims_request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # Set when the code is presented a second time: every token of its family is void, also
    # one the first redemption is still issuing while the replay arrives.
    replayed_at: Mapped[datetime | None]


class RefreshToken(Base):
    """A refresh token, rotated at every use; a reused one revokes its whole family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    client_id: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[uuid.UUID]
    scope: Mapped[str] = mapped_column(String(500))
    acr: Mapped[str] = mapped_column(String(100))
    amr: Mapped[list[str]] = mapped_column(JSON)
    auth_time: Mapped[datetime]
    claims_request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class UsedAssertion(Base):
    """A client assertion's `jti`, kept until it expires: RFC 7523 §3 item 7, no replays."""

    __tablename__ = "used_client_assertions"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    client_id: Mapped[str] = mapped_column(String(100))
    jti: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (UniqueConstraint("client_id", "jti"),)
