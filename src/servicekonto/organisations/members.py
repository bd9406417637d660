"""Members of an organisation: invitations by e-mail, acceptance, roles, removal.

An invitation is a one-time link for one address: it is accepted only by a signed-in person
whose account has that address, once, before it expires. Owners and admins invite and remove;
the last owner cannot be removed. Removal takes effect on the procedure's next token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicekonto.accounts.models import Person
from servicekonto.accounts.validation import clean_email
from servicekonto.audit.service import record
from servicekonto.clock import Clock
from servicekonto.organisations.models import Invitation, MemberRole, Membership, Organisation
from servicekonto.organisations.service import OrganisationError, organisation_audit, role_of
from servicekonto.security.secrets import Digester, new_token
from servicekonto.store.engine import Database
from servicekonto.store.results import rows_affected

INVITATION_TOKEN_KIND = "inv"
INVITABLE = {MemberRole.ADMIN, MemberRole.MEMBER}
MANAGERS = {MemberRole.OWNER, MemberRole.ADMIN}


@dataclass(frozen=True)
class NewInvitation:
    token: str
    email: str
    organisation_name: str


@dataclass(frozen=True)
class Member:
    person_id: uuid.UUID
    name: str
    email: str
    role: MemberRole


class Members:
    def __init__(
        self, database: Database, clock: Clock, digester: Digester, valid_for: timedelta
    ) -> None:
        self._database = database
        self._clock = clock
        self._digester = digester
        self._valid_for = valid_for

    def invite(
        self, actor: uuid.UUID, organisation_id: uuid.UUID, email: str, role: str
    ) -> NewInvitation:
        address, problem = clean_email(email)
        if problem:
            raise OrganisationError(problem)
        if role not in {r.value for r in INVITABLE}:
            raise OrganisationError("members.role_invalid")
        token, now = new_token(INVITATION_TOKEN_KIND), self._clock.now()
        with self._database.unit_of_work() as uow:
            organisation = _managed_by(uow.session, organisation_id, actor)
            uow.session.add(
                Invitation(
                    organisation_id=organisation_id,
                    email=address,
                    role=role,
                    token_digest=self._digester.digest(token),
                    invited_by=actor,
                    created_at=now,
                    expires_at=now + self._valid_for,
                )
            )
            details = {"role": role}
            record(
                uow.session,
                self._clock,
                organisation_audit(
                    "organisation.member_invited", f"person:{actor}", organisation, details
                ),
            )
            uow.commit()
            return NewInvitation(token, address, organisation.name)

    def accept(self, token: str, person_id: uuid.UUID) -> uuid.UUID:
        """Join as the invitation says; the organisation's id. Refusals carry a message id."""
        now = self._clock.now()
        with self._database.unit_of_work() as uow:
            invitation = self._usable(uow.session, token)
            person = uow.session.get(Person, person_id)
            if person is None or person.email != invitation.email:
                raise OrganisationError("members.invitation_other_person")
            used = uow.session.execute(
                update(Invitation)
                .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
                .values(accepted_at=now, accepted_by=person_id)
                .execution_options(synchronize_session=False)
            )
            if not rows_affected(used):
                raise OrganisationError("members.invitation_used")
            if role_of(uow.session, invitation.organisation_id, person_id) is None:
                uow.session.add(
                    Membership(
                        organisation_id=invitation.organisation_id,
                        person_id=person_id,
                        role=invitation.role,
                        created_at=now,
                    )
                )
            organisation = uow.session.get(Organisation, invitation.organisation_id)
            if organisation is not None:
                record(
                    uow.session,
                    self._clock,
                    organisation_audit(
                        "organisation.member_joined",
                        f"person:{person_id}",
                        organisation,
                        {"role": invitation.role},
                    ),
                )
            try:
                uow.commit()
            except IntegrityError:
                raise OrganisationError("members.invitation_used") from None
            return invitation.organisation_id

    def _usable(self, session: Session, token: str) -> Invitation:
        if not token or len(token) > 100:
            raise OrganisationError("members.invitation_invalid")
        invitation = session.scalar(
            select(Invitation).filter_by(token_digest=self._digester.digest(token))
        )
        if invitation is None or invitation.expires_at < self._clock.now():
            raise OrganisationError("members.invitation_invalid")
        if invitation.accepted_at is not None:
            raise OrganisationError("members.invitation_used")
        return invitation

    def members(self, actor: uuid.UUID, organisation_id: uuid.UUID) -> list[Member]:
        with self._database.unit_of_work() as uow:
            if role_of(uow.session, organisation_id, actor) is None:
                raise OrganisationError("organisation.not_found")
            rows = uow.session.execute(
                select(
                    Person.id, Person.given_names, Person.family_name, Person.email, Membership.role
                )
                .join(Membership, Membership.person_id == Person.id)
                .where(Membership.organisation_id == organisation_id)
                .order_by(Person.family_name)
            ).all()
            return [
                Member(pid, f"{given} {family}", email, MemberRole(role))
                for pid, given, family, email, role in rows
            ]

    def remove(self, actor: uuid.UUID, organisation_id: uuid.UUID, person_id: uuid.UUID) -> None:
        with self._database.unit_of_work() as uow:
            organisation = _managed_by(uow.session, organisation_id, actor)
            role = role_of(uow.session, organisation_id, person_id)
            if role is None:
                raise OrganisationError("organisation.not_found")
            if role == MemberRole.OWNER and _owners(uow.session, organisation_id) <= 1:
                raise OrganisationError("members.last_owner")
            uow.session.execute(
                delete(Membership).filter_by(organisation_id=organisation_id, person_id=person_id)
            )
            details = {"person_id": str(person_id), "role": role.value}
            record(
                uow.session,
                self._clock,
                organisation_audit(
                    "organisation.member_removed", f"person:{actor}", organisation, details
                ),
            )
            uow.commit()


def _managed_by(session: Session, organisation_id: uuid.UUID, actor: uuid.UUID) -> Organisation:
    role = role_of(session, organisation_id, actor)
    organisation = session.get(Organisation, organisation_id)
    if role is None or organisation is None:
        raise OrganisationError("organisation.not_found")
    if role not in MANAGERS:
        raise OrganisationError("organisation.not_allowed")
    return organisation


def _owners(session: Session, organisation_id: uuid.UUID) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(Membership)
        .filter_by(organisation_id=organisation_id, role=MemberRole.OWNER.value)
    )
    return int(count or 0)
