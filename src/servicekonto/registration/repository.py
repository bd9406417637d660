"""Every query on identity checks."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekonto.registration.models import CheckState, IdentityCheck


class CheckRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, check: IdentityCheck) -> IdentityCheck:
        self._session.add(check)
        self._session.flush()
        return check

    def for_person(self, person_id: uuid.UUID, lock: bool = False) -> IdentityCheck | None:
        """The person's check; with `lock`, held until commit so two requests cannot both
        ask the registry and issue two letters."""
        query = select(IdentityCheck).where(IdentityCheck.person_id == person_id)
        if lock:
            query = query.with_for_update()
        return self._session.scalars(query).one_or_none()

    def due(self, now: datetime) -> list[uuid.UUID]:
        query = select(IdentityCheck.person_id).where(
            IdentityCheck.state == CheckState.PENDING.value,
            IdentityCheck.next_attempt_at <= now,
        )
        return list(self._session.scalars(query))
