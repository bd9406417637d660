"""The identity check of one person against the registry, as a state machine.

```mermaid
stateDiagram-v2
    [*] --> pending: e-mail confirmed
    pending --> matched: registry finds exactly one resident (a letter is issued)
    pending --> no_match: registry finds no one
    pending --> ambiguous: registry finds several (nobody is bound)
    pending --> pending: registry unavailable (re-checked later)
    matched --> bound: the PIN from the letter is entered
    matched --> pending: the letter expired, was revoked or the person moved (new check)
    no_match --> pending: the person corrected their data
    ambiguous --> pending: the person corrected their data
    bound --> [*]
```

Transitions are pure: they take `now`, check that they are allowed from the current state, and
change only this row. The service persists them and does the talking to the registry.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from servicekonto.errors import ServicekontoError
from servicekonto.store.base import Base, uuid_primary_key


class CheckState(StrEnum):
    PENDING = "pending"
    MATCHED = "matched"
    NO_MATCH = "no_match"
    AMBIGUOUS = "ambiguous"
    BOUND = "bound"


class TransitionError(ServicekontoError):
    def __init__(self, state: str, target: str) -> None:
        super().__init__(f"an identity check cannot go from {state} to {target}")


_ALLOWED = {
    CheckState.PENDING: {CheckState.MATCHED, CheckState.NO_MATCH, CheckState.AMBIGUOUS},
    CheckState.MATCHED: {CheckState.BOUND, CheckState.PENDING},
    CheckState.NO_MATCH: {CheckState.PENDING},
    CheckState.AMBIGUOUS: {CheckState.PENDING},
    CheckState.BOUND: set(),
}


class IdentityCheck(Base):
    __tablename__ = "identity_checks"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[str] = mapped_column(String(20), index=True)
    # What the person typed: kept as their request, never shown as registry data.
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    resident_id: Mapped[str | None] = mapped_column(String(20))
    registry_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # While the registry is unavailable: when to ask again.
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    def _move(self, target: CheckState, now: datetime) -> None:
        if target not in _ALLOWED[CheckState(self.state)]:
            raise TransitionError(self.state, target)
        self.state = target.value
        self.updated_at = now

    def registry_unavailable(self, now: datetime, retry_in: timedelta) -> None:
        if self.state != CheckState.PENDING:
            raise TransitionError(self.state, "pending (retry)")
        self.registry_attempts += 1
        self.next_attempt_at = now + retry_in
        self.updated_at = now

    def matched(self, resident_id: str, now: datetime) -> None:
        self._move(CheckState.MATCHED, now)
        self.resident_id = resident_id
        self.next_attempt_at = None

    def not_matched(self, now: datetime) -> None:
        self._move(CheckState.NO_MATCH, now)
        self.next_attempt_at = None

    def ambiguous(self, now: datetime) -> None:
        self._move(CheckState.AMBIGUOUS, now)
        self.next_attempt_at = None

    def bound(self, now: datetime) -> None:
        self._move(CheckState.BOUND, now)

    def restart(self, query: dict[str, Any], now: datetime) -> None:
        """A new attempt: corrected data, or a new letter after the old one ran out."""
        self._move(CheckState.PENDING, now)
        self.query = query
        self.resident_id = None
        self.next_attempt_at = now
