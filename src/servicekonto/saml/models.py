"""Service providers registered from their metadata, the request IDs they have used, and which
login sessions reached which provider (for single logout)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servicekonto.store.base import Base, uuid_primary_key


class ServiceProvider(Base):
    """A procedure that speaks SAML, owned by an authority like an OIDC client.

    The metadata is kept as imported and parsed when used, so what the operator imported is
    what is enforced (endpoints, certificates), with nothing copied into columns that could drift.
    """

    __tablename__ = "saml_service_providers"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    entity_id: Mapped[str] = mapped_column(String(500), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    authority_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("authorities.id", ondelete="RESTRICT"), index=True
    )
    metadata_xml: Mapped[str] = mapped_column(Text)
    metadata_url: Mapped[str | None] = mapped_column(String(500))
    # Unsigned AuthnRequests are refused unless the operator says otherwise for this provider.
    require_signed_requests: Mapped[bool] = mapped_column(Boolean, default=True)
    # RSA-SHA256 or RSASSA-PSS (some federal procedures ask for PSS).
    signature_algorithm: Mapped[str] = mapped_column(String(100))
    minimum_trust_level: Mapped[int] = mapped_column(Integer, default=1)
    # False: the owning authority approved the release for its procedure, no consent page.
    consent_required: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class SeenRequest(Base):
    """An AuthnRequest ID already answered: a replayed request is refused (SAML profiles §4.1.4.5
    asks the IdP to detect replays; the row lives as long as the request could be fresh)."""

    __tablename__ = "saml_seen_requests"
    __table_args__ = (UniqueConstraint("entity_id", "request_id"),)

    id: Mapped[uuid.UUID] = uuid_primary_key()
    entity_id: Mapped[str] = mapped_column(String(500))
    request_id: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SamlParticipation(Base):
    """A login session sent an assertion to a provider: single logout must reach it."""

    __tablename__ = "saml_participations"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    login_session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("login_sessions.id", ondelete="CASCADE"), index=True
    )
    entity_id: Mapped[str] = mapped_column(String(500))
    name_id: Mapped[str] = mapped_column(String(200))
    session_index: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
