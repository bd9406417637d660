"""The registration office's side: the queue, the case, the documents, the decision.

Every query is scoped to the staff member's authority: another authority's case is simply not
found (404), so a staff member cannot even learn that it exists. Every view of a document and
every decision is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekonto.accounts.models import Person
from servicekonto.audit.service import record
from servicekonto.clock import Clock
from servicekonto.organisations.models import (
    MemberRole,
    Membership,
    Organisation,
    OrganisationDocument,
    VerificationEvent,
    VerificationState,
)
from servicekonto.organisations.service import (
    CaseFile,
    OrganisationError,
    load_case,
    organisation_audit,
)
from servicekonto.store.blobs import BlobStore
from servicekonto.store.engine import Database

MESSAGE_LIMIT = 1000
# (owner's e-mail, locale, organisation name, decision, message) after a decision is stored.
DecisionNotice = Callable[[str, str, str, str, str | None], None]


class Decision(StrEnum):
    VERIFIED = "verified"
    REJECTED = "rejected"
    NEEDS_INFO = "needs_info"


@dataclass(frozen=True)
class StaffMember:
    person_id: uuid.UUID
    authority_id: uuid.UUID


@dataclass(frozen=True)
class QueueEntry:
    organisation: Organisation
    waiting_since: datetime | None


class RegistrationOffice:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        blobs: BlobStore,
        *,
        four_eyes: bool,
        notice: DecisionNotice | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._blobs = blobs
        self._four_eyes = four_eyes
        self._notice = notice

    def queue(self, staff: StaffMember, state: str | None = None) -> list[QueueEntry]:
        """The authority's cases, oldest waiting first; by default those waiting for a decision."""
        states = [state] if state else [VerificationState.PENDING.value]
        with self._database.unit_of_work() as uow:
            rows = uow.session.scalars(
                select(Organisation)
                .where(
                    Organisation.authority_id == staff.authority_id,
                    Organisation.state.in_(states),
                )
                .order_by(Organisation.submitted_at.asc().nulls_last(), Organisation.created_at)
            ).all()
            uow.session.expunge_all()
            return [QueueEntry(row, row.submitted_at) for row in rows]

    def case(self, staff: StaffMember, organisation_id: uuid.UUID) -> CaseFile | None:
        with self._database.unit_of_work() as uow:
            if _scoped(uow.session, staff, organisation_id) is None:
                return None
            found = load_case(uow.session, organisation_id, None)
            uow.session.expunge_all()
            return found

    def open_document(
        self, staff: StaffMember, organisation_id: uuid.UUID, document_id: uuid.UUID
    ) -> tuple[OrganisationDocument, Iterator[bytes]] | None:
        with self._database.unit_of_work() as uow:
            organisation = _scoped(uow.session, staff, organisation_id)
            document = uow.session.get(OrganisationDocument, document_id)
            if (
                organisation is None
                or document is None
                or document.organisation_id != organisation.id
            ):
                return None
            details = {"document_id": str(document_id)}
            record(
                uow.session,
                self._clock,
                organisation_audit(
                    "organisation.document_viewed",
                    f"staff:{staff.person_id}",
                    organisation,
                    details,
                ),
            )
            uow.commit()
            uow.session.expunge(document)
        return document, self._blobs.read(document.blob_id)

    def decide(
        self,
        staff: StaffMember,
        organisation_id: uuid.UUID,
        decision: Decision,
        message: str,
    ) -> VerificationState:
        """Store the decision; the state the case is in afterwards."""
        text = message.strip()[:MESSAGE_LIMIT]
        if decision != Decision.VERIFIED and not text:
            raise OrganisationError("verification.message_required")
        now = self._clock.now()
        with self._database.unit_of_work() as uow:
            organisation = _scoped(uow.session, staff, organisation_id)
            if organisation is None:
                raise OrganisationError("organisation.not_found")
            if organisation.state != VerificationState.PENDING:
                raise OrganisationError("verification.not_pending")
            outcome = self._apply(organisation, staff, decision, now)
            state = VerificationState(organisation.state)
            uow.session.add(
                VerificationEvent(
                    organisation_id=organisation.id,
                    state=state.value,
                    actor=f"staff:{staff.person_id}",
                    message=text or None,
                    occurred_at=now,
                )
            )
            details = {"decision": decision.value, "state": outcome}
            record(
                uow.session,
                self._clock,
                organisation_audit(
                    "organisation.decided", f"staff:{staff.person_id}", organisation, details
                ),
            )
            recipients = _owners(uow.session, organisation.id)
            name = organisation.name
            uow.commit()
        self._tell(recipients, name, outcome, text or None)
        return state

    def _apply(
        self, organisation: Organisation, staff: StaffMember, decision: Decision, now: datetime
    ) -> str:
        if decision == Decision.VERIFIED and self._four_eyes:
            if organisation.approved_by is None:
                organisation.approved_by = staff.person_id  # waits for a second pair of eyes
                organisation.updated_at = now
                return "approved_once"
            if organisation.approved_by == staff.person_id:
                raise OrganisationError("verification.four_eyes_same_person")
        organisation.move(VerificationState(decision.value), now)
        return organisation.state

    def _tell(
        self, recipients: list[tuple[str, str]], name: str, outcome: str, message: str | None
    ) -> None:
        if self._notice is None or outcome == "approved_once":
            return
        for email, locale in recipients:
            self._notice(email, locale, name, outcome, message)


def _scoped(
    session: Session, staff: StaffMember, organisation_id: uuid.UUID
) -> Organisation | None:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or organisation.authority_id != staff.authority_id:
        return None
    return organisation


def _owners(session: Session, organisation_id: uuid.UUID) -> list[tuple[str, str]]:
    rows = session.execute(
        select(Person.email, Person.preferred_locale)
        .join(Membership, Membership.person_id == Person.id)
        .where(
            Membership.organisation_id == organisation_id,
            Membership.role.in_([MemberRole.OWNER.value, MemberRole.ADMIN.value]),
        )
    ).all()
    return [(email, locale) for email, locale in rows]
