"""A PIN letter and its life in the outbox.

```mermaid
stateDiagram-v2
    [*] --> queued: identity matched
    queued --> exported: batch written for the print shop
    exported --> posted: print shop confirms posting
    queued --> used: PIN entered (demo letterbox)
    exported --> used: PIN entered
    posted --> used: PIN entered
    queued --> expired: 30 days passed or 5 wrong PINs
    exported --> expired
    posted --> expired
    queued --> revoked: person moved / new letter ordered
    exported --> revoked
    posted --> revoked
```

The PIN is stored as an argon2id hash; the address is the registry's, never what the person
typed, and is kept so a letter to an old address cannot bind after a move.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from servicekonto.errors import ServicekontoError
from servicekonto.store.base import Base, uuid_primary_key


class LetterStatus(StrEnum):
    QUEUED = "queued"
    EXPORTED = "exported"
    POSTED = "posted"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


OPEN_STATUSES = frozenset({LetterStatus.QUEUED, LetterStatus.EXPORTED, LetterStatus.POSTED})


class LetterTransitionError(ServicekontoError):
    def __init__(self, status: str, target: str) -> None:
        super().__init__(f"a PIN letter cannot go from {status} to {target}")


class PinLetter(Base):
    __tablename__ = "pin_letters"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    letter_number: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    resident_id: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(300))
    street: Mapped[str] = mapped_column(String(200))
    house_number: Mapped[str] = mapped_column(String(20))
    postal_code: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(200))
    pin_hash: Mapped[str] = mapped_column(String(255))
    # The PIN itself, encrypted, only until the letter is printed (exported); then erased.
    pin_sealed: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), index=True)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    exported_at: Mapped[datetime | None]
    posted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def _close(self, target: LetterStatus, now: datetime) -> None:
        if not self.is_open:
            raise LetterTransitionError(self.status, target)
        self.status = target.value
        self.closed_at = now
        self.pin_sealed = None

    def exported(self, batch_id: uuid.UUID, now: datetime) -> None:
        if self.status != LetterStatus.QUEUED:
            raise LetterTransitionError(self.status, LetterStatus.EXPORTED)
        self.status, self.batch_id, self.exported_at = LetterStatus.EXPORTED.value, batch_id, now
        self.pin_sealed = None  # printed: the only copy now is on paper

    def posted(self, now: datetime) -> None:
        if self.status != LetterStatus.EXPORTED:
            raise LetterTransitionError(self.status, LetterStatus.POSTED)
        self.status, self.posted_at = LetterStatus.POSTED.value, now

    def used(self, now: datetime) -> None:
        self._close(LetterStatus.USED, now)

    def expired(self, now: datetime) -> None:
        self._close(LetterStatus.EXPIRED, now)

    def revoked(self, now: datetime) -> None:
        self._close(LetterStatus.REVOKED, now)

    def runs_out(self, now: datetime, max_attempts: int) -> bool:
        """Past its validity or out of attempts: it can only expire now."""
        return now >= self.expires_at or self.attempts >= max_attempts
