"""Organisations, their documents, their verification case, members and invitations.

The verification case of an organisation, as a state machine:

```mermaid
stateDiagram-v2
    [*] --> unverified: the owner registers the organisation
    unverified --> pending: the owner submits with documents
    pending --> verified: registration office approves (four eyes: a second one confirms)
    pending --> rejected: registration office refuses, with a reason
    pending --> needs_info: registration office asks for more
    needs_info --> pending: the owner uploads more and submits again
    verified --> [*]
    rejected --> [*]
```

Transitions are pure: they take `now` and who acts, check they are allowed from the current state
and change only this row; the services persist them, audit them and send the e-mails.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servicekonto.errors import ServicekontoError
from servicekonto.store.base import Base, uuid_primary_key


class OrganisationKind(StrEnum):
    COMPANY = "company"
    SOLE_TRADER = "sole_trader"  # Einzelunternehmen, Freiberufler
    ASSOCIATION = "association"  # eingetragener Verein
    OTHER = "other"


class VerificationState(StrEnum):
    UNVERIFIED = "unverified"
    PENDING = "pending"
    NEEDS_INFO = "needs_info"
    VERIFIED = "verified"
    REJECTED = "rejected"


class MemberRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class VerificationTransitionError(ServicekontoError):
    def __init__(self, state: str, target: str) -> None:
        super().__init__(f"an organisation cannot go from {state} to {target}")


_ALLOWED = {
    VerificationState.UNVERIFIED: {VerificationState.PENDING},
    VerificationState.PENDING: {
        VerificationState.VERIFIED,
        VerificationState.REJECTED,
        VerificationState.NEEDS_INFO,
    },
    VerificationState.NEEDS_INFO: {VerificationState.PENDING},
    VerificationState.VERIFIED: set(),
    VerificationState.REJECTED: set(),
}


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    legal_form: Mapped[str] = mapped_column(String(100))
    street: Mapped[str] = mapped_column(String(200))
    house_number: Mapped[str] = mapped_column(String(20))
    postal_code: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(200))
    register_court: Mapped[str | None] = mapped_column(String(100))
    register_type: Mapped[str | None] = mapped_column(String(5))
    register_number: Mapped[str | None] = mapped_column(String(20))
    trade_registration: Mapped[str | None] = mapped_column(String(100))
    tax_number: Mapped[str | None] = mapped_column(String(30))
    # The registration office responsible for the seat decides the case.
    authority_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("authorities.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    # Four eyes: the staff member who approved first, waiting for a second to confirm.
    approved_by: Mapped[uuid.UUID | None]
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def register_entry(self) -> str | None:
        if self.register_type is None or self.register_number is None:
            return None
        return f"{self.register_type} {self.register_number}"

    def move(self, target: VerificationState, now: datetime) -> None:
        current = VerificationState(self.state)
        if target not in _ALLOWED[current]:
            raise VerificationTransitionError(current, target)
        self.state = target.value
        self.updated_at = now
        if target == VerificationState.PENDING:
            self.submitted_at = now
            self.approved_by = None
        elif target in {VerificationState.VERIFIED, VerificationState.REJECTED}:
            self.decided_at = now


class OrganisationDocument(Base):
    __tablename__ = "organisation_documents"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    blob_id: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[uuid.UUID]
    uploaded_at: Mapped[datetime]


class VerificationEvent(Base):
    """The case history: each submission and decision, with the message the applicant sees."""

    __tablename__ = "verification_events"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    message: Mapped[str | None] = mapped_column(String(1000))
    occurred_at: Mapped[datetime]


class Membership(Base):
    __tablename__ = "organisation_members"
    __table_args__ = (UniqueConstraint("organisation_id", "person_id"),)

    id: Mapped[uuid.UUID] = uuid_primary_key()
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]


class Invitation(Base):
    __tablename__ = "organisation_invitations"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(10))
    # One-time link: only an HMAC digest is kept (STYLE habit 5).
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[uuid.UUID | None]
