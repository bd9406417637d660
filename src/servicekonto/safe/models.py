"""Documents, cases, opt-ins, favourites and the idempotency record of the procedures' API.

A procedure refers to a person only by the subject it knows; everything here is already keyed
by the person, because the API resolved the subject before calling the safe.

```mermaid
stateDiagram-v2
    [*] --> received: the procedure opens the case
    received --> in_progress
    in_progress --> waiting_for_applicant
    waiting_for_applicant --> in_progress
    in_progress --> decided
    decided --> closed
    closed --> [*]
```
A procedure may report any status at any time (its own process decides); the safe keeps every
report as history instead of enforcing the diagram, which only shows the usual order.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servicekonto.store.base import Base, uuid_primary_key


class Category(StrEnum):
    RECEIPT = "receipt"
    INTERIM_MESSAGE = "interim_message"
    NOTICE = "notice"
    OTHER = "other"


class CaseStatus(StrEnum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_APPLICANT = "waiting_for_applicant"
    DECIDED = "decided"
    CLOSED = "closed"


class SafeDocument(Base):
    __tablename__ = "safe_documents"

    # uuid4: 122 random bits, so an id cannot be guessed from another (the download URL holds it).
    id: Mapped[uuid.UUID] = uuid_primary_key()
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(100))
    client_name: Mapped[str] = mapped_column(String(200))
    authority_id: Mapped[uuid.UUID]
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
    case_reference: Mapped[str | None] = mapped_column(String(100))
    reply_by: Mapped[date | None]
    blob_id: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)
    read_at: Mapped[datetime | None]

    @property
    def unread(self) -> bool:
        return self.read_at is None


class SafeCase(Base):
    __tablename__ = "safe_cases"
    __table_args__ = (UniqueConstraint("client_id", "person_id", "reference"),)

    id: Mapped[uuid.UUID] = uuid_primary_key()
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(100))
    client_name: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SafeCaseEvent(Base):
    __tablename__ = "safe_case_events"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("safe_cases.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(String(500))
    occurred_at: Mapped[datetime]


class SafeOptIn(Base):
    """The person lets this procedure leave documents and case updates in the safe."""

    __tablename__ = "safe_opt_ins"
    __table_args__ = (UniqueConstraint("person_id", "client_id"),)

    id: Mapped[uuid.UUID] = uuid_primary_key()
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(100))
    opted_in_at: Mapped[datetime]


class Favourite(Base):
    __tablename__ = "favourites"
    __table_args__ = (UniqueConstraint("person_id", "client_id"),)

    id: Mapped[uuid.UUID] = uuid_primary_key()
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class IdempotentRequest(Base):
    """A POST of a procedure with its Idempotency-Key: a retry gets the first answer again."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("client_id", "key"),)

    id: Mapped[uuid.UUID] = uuid_primary_key()
    client_id: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100))
    # SHA-256 over the method, path and body: the same key with another body is refused.
    request_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(index=True)
