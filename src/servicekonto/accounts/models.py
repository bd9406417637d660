"""Person accounts and everything that authenticates them.

A person's e-mail address is their login name. Secrets are never stored as given: passwords as
argon2id hashes, one-time tokens and recovery codes as HMAC digests, TOTP seeds encrypted.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from servicekonto.store.base import Base, uuid_primary_key
from servicekonto.trust.levels import SECOND_FACTORS, IdentityProofing

EMAIL_MAX_LENGTH = 254  # RFC 5321 §4.5.3.1.3: a path is at most 256 octets including <>
DIGEST_LENGTH = 64  # hex HMAC-SHA256


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    email_verified_at: Mapped[datetime | None]
    password_hash: Mapped[str] = mapped_column(String(255))
    academic_title: Mapped[str | None] = mapped_column(String(50))
    given_names: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    birth_name: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    birth_place: Mapped[str] = mapped_column(String(200))
    street: Mapped[str] = mapped_column(String(200))
    house_number: Mapped[str] = mapped_column(String(20))
    postal_code: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(200))
    preferred_locale: Mapped[str] = mapped_column(String(5), default="de")
    identity_proofing: Mapped[str] = mapped_column(
        String(30), default=IdentityProofing.SELF_DECLARED.value
    )
    # When the personal data were last confirmed by a source better than the person's word.
    identity_verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class LoginSession(Base):
    """A browser's server-side session; the cookie holds only a random token whose digest is here.

    A session whose password step passed but whose second factor is still outstanding has
    `second_factor_pending` set and grants nothing but the second-factor page.
    """

    __tablename__ = "login_sessions"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    token_digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    authenticated_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    idle_expires_at: Mapped[datetime]
    absolute_expires_at: Mapped[datetime]
    # RFC 8176 values, in the order they were performed.
    methods: Mapped[list[str]] = mapped_column(JSON, default=list)
    second_factor_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None]
    # A WebAuthn challenge waiting for the browser's answer, with its purpose and expiry.
    webauthn_challenge: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def is_active(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return now < self.idle_expires_at and now < self.absolute_expires_at

    @property
    def two_factor(self) -> bool:
        return not self.second_factor_pending and any(m in SECOND_FACTORS for m in self.methods)


class EmailTokenPurpose(StrEnum):
    CONFIRM_EMAIL = "confirm_email"
    RESET_PASSWORD = "reset_password"
    CHANGE_EMAIL = "change_email"


class EmailToken(Base):
    """A single-use link sent by e-mail; only the digest of its token is stored."""

    __tablename__ = "email_tokens"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    purpose: Mapped[str] = mapped_column(String(30))
    token_digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    new_email: Mapped[str | None] = mapped_column(String(EMAIL_MAX_LENGTH))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class TotpFactor(Base):
    """A person's TOTP authenticator (RFC 6238); the seed is encrypted at rest."""

    __tablename__ = "totp_factors"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), unique=True
    )
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    # The last accepted time step: a code of this step or an earlier one is a replay.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    code_digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), unique=True)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class WebAuthnCredential(Base):
    """A passkey or security key registered by a person (W3C WebAuthn Level 2)."""

    __tablename__ = "webauthn_credentials"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1024), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(2048))
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


class LoginThrottle(Base):
    """Failed attempts per account or per client address, keyed by a digest of either."""

    __tablename__ = "login_throttles"

    key_digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class StaffRole(StrEnum):
    CITIZENS_OFFICE = "citizens_office"  # Bürgerbüro: in-person identity checks
    REGISTRATION_OFFICE = "registration_office"  # Registrierungsstelle: organisations


class StaffMembership(Base):
    """A person works for an authority in a role; staff pages act in that authority's name."""

    __tablename__ = "staff_memberships"
    __table_args__ = (UniqueConstraint("person_id", "authority_id", "role"),)

    id: Mapped[uuid.UUID] = uuid_primary_key()
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    authority_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("authorities.id", ondelete="RESTRICT"), index=True
    )
    role: Mapped[str] = mapped_column(String(30))
    granted_at: Mapped[datetime]
    granted_by: Mapped[str] = mapped_column(String(100))
