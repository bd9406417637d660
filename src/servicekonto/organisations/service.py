"""The applicant's side: register an organisation, upload documents, submit, see the case."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicekonto.audit.service import AuditEntry, record
from servicekonto.authorities.repository import AuthorityRepository
from servicekonto.clock import Clock
from servicekonto.errors import ServicekontoError
from servicekonto.organisations.models import (
    MemberRole,
    Membership,
    Organisation,
    OrganisationDocument,
    VerificationEvent,
    VerificationState,
)
from servicekonto.organisations.schemas import OrganisationData
from servicekonto.store.engine import Database

EDITABLE = {VerificationState.UNVERIFIED.value, VerificationState.NEEDS_INFO.value}
DISTRICT_FALLBACK = "kreis-cochem-zell"
# Seat (postal code, city) -> the slug of the authority whose registration office decides.
Router = Callable[[str, str], str]


class OrganisationError(ServicekontoError):
    """A refusal the pages explain; `reason` is a message id."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MyOrganisation:
    organisation: Organisation
    role: MemberRole


@dataclass(frozen=True)
class CaseFile:
    organisation: Organisation
    role: MemberRole | None
    documents: list[OrganisationDocument]
    events: list[VerificationEvent]


class OrganisationService:
    def __init__(self, database: Database, clock: Clock, route: Router) -> None:
        self._database = database
        self._clock = clock
        self._route = route

    def create(self, person_id: uuid.UUID, data: OrganisationData) -> uuid.UUID:
        now = self._clock.now()
        with self._database.unit_of_work() as uow:
            authority_id = self._responsible(uow.session, data)
            organisation = Organisation(
                **data.__dict__,
                authority_id=authority_id,
                state=VerificationState.UNVERIFIED.value,
                created_at=now,
                updated_at=now,
            )
            organisation.kind = data.kind.value
            uow.session.add(organisation)
            uow.session.flush()
            uow.session.add(_membership(organisation.id, person_id, MemberRole.OWNER, now))
            record(
                uow.session,
                self._clock,
                organisation_audit("organisation.created", f"person:{person_id}", organisation),
            )
            uow.commit()
            return organisation.id

    def _responsible(self, session: Session, data: OrganisationData) -> uuid.UUID:
        authorities = AuthorityRepository(session)
        found = authorities.by_slug(self._route(data.postal_code, data.city))
        found = found or authorities.by_slug(DISTRICT_FALLBACK)
        if found is None:
            raise OrganisationError("organisation.no_registration_office")
        return found.id

    def mine(self, person_id: uuid.UUID) -> list[MyOrganisation]:
        with self._database.unit_of_work() as uow:
            rows = uow.session.execute(
                select(Organisation, Membership.role)
                .join(Membership, Membership.organisation_id == Organisation.id)
                .where(Membership.person_id == person_id)
                .order_by(Organisation.name)
            ).all()
            uow.session.expunge_all()
            return [MyOrganisation(org, MemberRole(role)) for org, role in rows]

    def case_file(self, person_id: uuid.UUID, organisation_id: uuid.UUID) -> CaseFile | None:
        """The organisation as its members see it; None for anyone else (not found)."""
        with self._database.unit_of_work() as uow:
            role = role_of(uow.session, organisation_id, person_id)
            if role is None:
                return None
            found = load_case(uow.session, organisation_id, role)
            uow.session.expunge_all()
            return found

    def add_document(
        self, person_id: uuid.UUID, organisation_id: uuid.UUID, document: OrganisationDocument
    ) -> None:
        """Record a stored upload; the caller deletes its blob if this refuses."""
        with self._database.unit_of_work() as uow:
            organisation = self._editable_by(uow.session, person_id, organisation_id)
            document.organisation_id = organisation.id
            document.uploaded_by = person_id
            document.uploaded_at = self._clock.now()
            uow.session.add(document)
            details = {"document_id": str(document.id), "size": document.size}
            record(
                uow.session,
                self._clock,
                organisation_audit(
                    "organisation.document_added", f"person:{person_id}", organisation, details
                ),
            )
            uow.commit()

    def stored_bytes(self, organisation_id: uuid.UUID) -> int:
        with self._database.unit_of_work() as uow:
            total = uow.session.scalar(
                select(func.coalesce(func.sum(OrganisationDocument.size), 0)).filter_by(
                    organisation_id=organisation_id
                )
            )
            return int(total or 0)

    def check_editable(self, person_id: uuid.UUID, organisation_id: uuid.UUID) -> None:
        with self._database.unit_of_work() as uow:
            self._editable_by(uow.session, person_id, organisation_id)

    def submit(self, person_id: uuid.UUID, organisation_id: uuid.UUID) -> None:
        now = self._clock.now()
        with self._database.unit_of_work() as uow:
            organisation = self._editable_by(uow.session, person_id, organisation_id)
            if not _has_documents(uow.session, organisation_id):
                raise OrganisationError("organisation.documents_missing")
            organisation.move(VerificationState.PENDING, now)
            uow.session.add(_event(organisation, f"person:{person_id}", None, now))
            record(
                uow.session,
                self._clock,
                organisation_audit("organisation.submitted", f"person:{person_id}", organisation),
            )
            uow.commit()

    def _editable_by(
        self, session: Session, person_id: uuid.UUID, organisation_id: uuid.UUID
    ) -> Organisation:
        role = role_of(session, organisation_id, person_id)
        organisation = session.get(Organisation, organisation_id)
        if role is None or organisation is None:
            raise OrganisationError("organisation.not_found")
        if role == MemberRole.MEMBER:
            raise OrganisationError("organisation.not_allowed")
        if organisation.state not in EDITABLE:
            raise OrganisationError("organisation.not_editable")
        return organisation


def role_of(
    session: Session, organisation_id: uuid.UUID, person_id: uuid.UUID
) -> MemberRole | None:
    role = session.scalar(
        select(Membership.role).filter_by(organisation_id=organisation_id, person_id=person_id)
    )
    return MemberRole(role) if role else None


def load_case(
    session: Session, organisation_id: uuid.UUID, role: MemberRole | None
) -> CaseFile | None:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        return None
    documents = session.scalars(
        select(OrganisationDocument)
        .filter_by(organisation_id=organisation_id)
        .order_by(OrganisationDocument.uploaded_at)
    ).all()
    events = session.scalars(
        select(VerificationEvent)
        .filter_by(organisation_id=organisation_id)
        .order_by(VerificationEvent.occurred_at)
    ).all()
    return CaseFile(organisation, role, list(documents), list(events))


def _has_documents(session: Session, organisation_id: uuid.UUID) -> bool:
    query = select(OrganisationDocument.id).filter_by(organisation_id=organisation_id).limit(1)
    return session.scalar(query) is not None


def _membership(
    organisation_id: uuid.UUID, person_id: uuid.UUID, role: MemberRole, now: object
) -> Membership:
    return Membership(
        organisation_id=organisation_id, person_id=person_id, role=role.value, created_at=now
    )


def _event(
    organisation: Organisation, actor: str, message: str | None, now: object
) -> VerificationEvent:
    return VerificationEvent(
        organisation_id=organisation.id,
        state=organisation.state,
        actor=actor,
        message=message,
        occurred_at=now,
    )


def organisation_audit(
    action: str,
    actor: str,
    organisation: Organisation,
    details: Mapping[str, object] | None = None,
) -> AuditEntry:
    """An audit entry about an organisation, filed under its registration office's authority."""
    return AuditEntry(
        action=action,
        actor=actor,
        subject_type="organisation",
        subject_id=str(organisation.id),
        authority_id=organisation.authority_id,
        details=dict(details or {}),
    )
