"""Relying parties: the specialist procedures registered with the OpenID provider."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from servicekonto.store.base import Base, uuid_primary_key


class TokenEndpointAuthMethod(StrEnum):
    CLIENT_SECRET_BASIC = "client_secret_basic"
    CLIENT_SECRET_POST = "client_secret_post"
    PRIVATE_KEY_JWT = "private_key_jwt"
    NONE = "none"  # public clients; PKCE is then mandatory


class SubjectType(StrEnum):
    PUBLIC = "public"
    PAIRWISE = "pairwise"


class OidcClient(Base):
    __tablename__ = "oidc_clients"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    client_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    authority_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("authorities.id", ondelete="RESTRICT"), index=True
    )
    # HMAC digest of the secret (shown once at creation or rotation); None for public clients.
    secret_digest: Mapped[str | None] = mapped_column(String(64))
    secret_rotated_at: Mapped[datetime | None]
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(40))
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(String(500))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    default_trust_level: Mapped[int] = mapped_column(Integer, default=2)
    minimum_trust_level: Mapped[int] = mapped_column(Integer, default=1)
    subject_type: Mapped[str] = mapped_column(String(10), default=SubjectType.PUBLIC.value)
    # False: the owning authority approved the release for its procedure, no consent page.
    consent_required: Mapped[bool] = mapped_column(Boolean, default=True)
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(10), default="ES256")
    # None: userinfo answers application/json; an algorithm: a signed application/jwt.
    userinfo_signed_response_alg: Mapped[str | None] = mapped_column(String(10))
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(500))
    # RFC 7591 §2: the procedure's home page, linked from favourites and the procedure list.
    client_uri: Mapped[str | None] = mapped_column(String(500))
    # Acting for an organisation with this procedure needs a verified one.
    require_verified_organisation: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == TokenEndpointAuthMethod.NONE
