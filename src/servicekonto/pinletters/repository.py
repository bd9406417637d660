"""Every query on PIN letters. The attempt counter moves with one guarded UPDATE."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from servicekonto.pinletters.models import OPEN_STATUSES, LetterStatus, PinLetter
from servicekonto.store.results import rows_affected


class LetterRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, letter: PinLetter) -> PinLetter:
        self._session.add(letter)
        self._session.flush()
        return letter

    def open_for(self, person_id: uuid.UUID) -> PinLetter | None:
        query = (
            select(PinLetter)
            .where(PinLetter.person_id == person_id, PinLetter.status.in_(_open()))
            .order_by(PinLetter.created_at.desc())
        )
        return self._session.scalars(query).first()

    def latest_for(self, person_id: uuid.UUID) -> PinLetter | None:
        query = (
            select(PinLetter)
            .where(PinLetter.person_id == person_id)
            .order_by(PinLetter.created_at.desc())
        )
        return self._session.scalars(query).first()

    def all_for(self, person_id: uuid.UUID) -> list[PinLetter]:
        query = (
            select(PinLetter)
            .where(PinLetter.person_id == person_id)
            .order_by(PinLetter.created_at.desc())
        )
        return list(self._session.scalars(query))

    def issued_since(self, person_id: uuid.UUID, since: datetime) -> int:
        query = select(func.count()).where(
            PinLetter.person_id == person_id, PinLetter.created_at >= since
        )
        return self._session.scalar(query) or 0

    def count_attempt(self, letter_id: uuid.UUID, max_attempts: int) -> int | None:
        """Count one attempt; the new count, or None if none was left (or the letter closed).

        One UPDATE with the limit in its WHERE clause: two browsers trying at the same moment
        can never both use the last attempt, and no increment is ever lost.
        """
        result = self._session.execute(
            update(PinLetter)
            .where(
                PinLetter.id == letter_id,
                PinLetter.attempts < max_attempts,
                PinLetter.status.in_(_open()),
            )
            .values(attempts=PinLetter.attempts + 1)
            .returning(PinLetter.attempts)
            .execution_options(synchronize_session=False)
        )
        row = result.first()
        return int(row[0]) if row is not None else None

    def queued(self, chunk: int = 500) -> Iterator[PinLetter]:
        query = (
            select(PinLetter)
            .where(PinLetter.status == LetterStatus.QUEUED.value)
            .order_by(PinLetter.created_at, PinLetter.id)
            .execution_options(yield_per=chunk)
        )
        yield from self._session.scalars(query)

    def in_batch(self, batch_id: uuid.UUID) -> list[PinLetter]:
        return list(self._session.scalars(select(PinLetter).where(PinLetter.batch_id == batch_id)))

    def listed(self, status: str | None) -> list[PinLetter]:
        query = select(PinLetter).order_by(PinLetter.created_at, PinLetter.id)
        if status is not None:
            query = query.where(PinLetter.status == status)
        return list(self._session.scalars(query))

    def expire_due(self, now: datetime) -> int:
        result = self._session.execute(
            update(PinLetter)
            .where(PinLetter.status.in_(_open()), PinLetter.expires_at <= now)
            .values(status=LetterStatus.EXPIRED.value, closed_at=now, pin_sealed=None)
            .execution_options(synchronize_session=False)
        )
        return rows_affected(result)


def _open() -> list[str]:
    return [status.value for status in OPEN_STATUSES]
