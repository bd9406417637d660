"""The person's choices: which procedures may use the safe, and which procedures are favourites."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from servicekonto.audit.service import AuditEntry, record
from servicekonto.clock import Clock
from servicekonto.safe.models import Favourite, SafeOptIn
from servicekonto.safe.repository import SafeRepository
from servicekonto.store.engine import Database

MAX_FAVOURITES = 30


class SafePreferences:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock

    def opt_ins(self, person_id: uuid.UUID) -> set[str]:
        with self._database.unit_of_work() as uow:
            return SafeRepository(uow.session).opt_ins(person_id)

    def opt_in(self, person_id: uuid.UUID, client_id: str) -> None:
        """Allow the procedure to deposit; audited, since it changes what the procedure may do."""
        with self._database.unit_of_work() as uow:
            repository = SafeRepository(uow.session)
            if repository.opted_in(person_id, client_id):
                return
            uow.session.add(
                SafeOptIn(person_id=person_id, client_id=client_id, opted_in_at=self._clock.now())
            )
            record(uow.session, self._clock, _choice("safe.opted_in", person_id, client_id))
            try:
                uow.commit()
            except IntegrityError:
                uow.session.rollback()  # a second tab opted in at the same moment: done anyway

    def opt_out(self, person_id: uuid.UUID, client_id: str) -> None:
        """Documents already in the safe stay; the procedure cannot add new ones."""
        with self._database.unit_of_work() as uow:
            if SafeRepository(uow.session).remove_opt_in(person_id, client_id):
                record(uow.session, self._clock, _choice("safe.opted_out", person_id, client_id))
            uow.commit()

    def favourites(self, person_id: uuid.UUID) -> list[str]:
        with self._database.unit_of_work() as uow:
            return SafeRepository(uow.session).favourites(person_id)

    def add_favourite(self, person_id: uuid.UUID, client_id: str) -> bool:
        with self._database.unit_of_work() as uow:
            current = SafeRepository(uow.session).favourites(person_id)
            if client_id in current:
                return True
            if len(current) >= MAX_FAVOURITES:
                return False
            uow.session.add(
                Favourite(person_id=person_id, client_id=client_id, created_at=self._clock.now())
            )
            try:
                uow.commit()
            except IntegrityError:
                uow.session.rollback()
            return True

    def remove_favourite(self, person_id: uuid.UUID, client_id: str) -> None:
        with self._database.unit_of_work() as uow:
            SafeRepository(uow.session).remove_favourite(person_id, client_id)
            uow.commit()


def _choice(action: str, person_id: uuid.UUID, client_id: str) -> AuditEntry:
    return AuditEntry(
        action=action,
        actor=f"person:{person_id}",
        subject_type="person",
        subject_id=str(person_id),
        details={"client_id": client_id},
    )
