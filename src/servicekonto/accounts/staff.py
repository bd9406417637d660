"""Staff: persons with their own account who work for an authority in a role.

Granted by an operator (`servicekonto staff add`); every grant is audited, because it changes
what that person may do to other people's accounts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicekonto.accounts.models import Person, StaffMembership, StaffRole
from servicekonto.accounts.validation import clean_email
from servicekonto.audit.service import AuditEntry, record
from servicekonto.clock import Clock
from servicekonto.errors import ServicekontoError
from servicekonto.store.engine import Database


class NoSuchPersonError(ServicekontoError):
    def __init__(self) -> None:
        super().__init__(
            "no confirmed account has that e-mail address; the staff member registers first"
        )


@dataclass(frozen=True)
class StaffGrant:
    person_id: uuid.UUID
    authority_id: uuid.UUID
    role: StaffRole
    created: bool


class StaffService:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock

    def add(self, email: str, authority_id: uuid.UUID, role: StaffRole, actor: str) -> StaffGrant:
        address, _ = clean_email(email)
        with self._database.unit_of_work() as uow:
            person = uow.session.scalar(select(Person).filter_by(email=address))
            if person is None or not person.email_verified:
                raise NoSuchPersonError()
            grant = StaffGrant(person.id, authority_id, role, created=False)
            if self._holds(uow.session, person.id, authority_id, role):
                return grant
            uow.session.add(_membership(person.id, authority_id, role, actor, self._clock))
            record(uow.session, self._clock, _grant_audit(grant, actor))
            try:
                uow.commit()
            except IntegrityError:
                return grant  # granted at the same moment by another operator
        return StaffGrant(person.id, authority_id, role, created=True)

    def holds(self, person_id: uuid.UUID, authority_id: uuid.UUID, role: StaffRole) -> bool:
        with self._database.unit_of_work() as uow:
            return self._holds(uow.session, person_id, authority_id, role)

    def denied(self, person_id: uuid.UUID, authority: str, role: StaffRole) -> None:
        """Someone without the role tried a staff page: seen in the audit, not just refused."""
        with self._database.unit_of_work() as uow:
            entry = AuditEntry(
                action="staff.access_denied",
                actor=f"person:{person_id}",
                details={"authority": authority[:64], "role": role.value},
            )
            record(uow.session, self._clock, entry)
            uow.commit()

    def roles(self, person_id: uuid.UUID) -> list[tuple[uuid.UUID, StaffRole]]:
        with self._database.unit_of_work() as uow:
            rows = uow.session.execute(
                select(StaffMembership.authority_id, StaffMembership.role).filter_by(
                    person_id=person_id
                )
            )
            return [(authority_id, StaffRole(role)) for authority_id, role in rows]

    @staticmethod
    def _holds(session: Session, person_id: uuid.UUID, authority_id: uuid.UUID, role: str) -> bool:
        query = select(StaffMembership.id).filter_by(
            person_id=person_id, authority_id=authority_id, role=role
        )
        return session.scalar(query) is not None


def _membership(
    person_id: uuid.UUID, authority_id: uuid.UUID, role: StaffRole, actor: str, clock: Clock
) -> StaffMembership:
    return StaffMembership(
        person_id=person_id,
        authority_id=authority_id,
        role=role.value,
        granted_at=clock.now(),
        granted_by=actor,
    )


def _grant_audit(grant: StaffGrant, actor: str) -> AuditEntry:
    return AuditEntry(
        action="staff.role_granted",
        actor=actor,
        subject_type="person",
        subject_id=str(grant.person_id),
        authority_id=grant.authority_id,
        details={"role": grant.role.value},
    )
