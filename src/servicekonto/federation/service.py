"""Interactions (a request waiting for the person) and consents (what may go to whom)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicekonto.audit.service import AuditEntry, record
from servicekonto.clock import Clock
from servicekonto.federation.models import (
    AttributeRelease,
    Consent,
    Interaction,
    ProcedureSubject,
)
from servicekonto.store.engine import Database
from servicekonto.store.results import rows_affected

INTERACTION_LIFETIME = timedelta(minutes=30)


class FederationService:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock

    def begin(self, protocol: str, client_id: str, params: dict[str, Any]) -> uuid.UUID:
        now = self._clock.now()
        with self._database.unit_of_work() as uow:
            interaction = Interaction(
                protocol=protocol,
                client_id=client_id,
                params=params,
                created_at=now,
                expires_at=now + INTERACTION_LIFETIME,
            )
            uow.session.add(interaction)
            uow.session.flush()
            interaction_id = interaction.id
            uow.commit()
        return interaction_id

    def waiting(self, interaction_id: uuid.UUID) -> Interaction | None:
        with self._database.unit_of_work() as uow:
            interaction = uow.session.get(Interaction, interaction_id)
            if interaction is None or interaction.finished_at is not None:
                return None
            if self._clock.now() >= interaction.expires_at:
                return None
            uow.session.expunge(interaction)
            return interaction

    def remember(self, interaction_id: uuid.UUID, name: str, value: Any) -> bool:
        """Keep the person's answer to a question of the interaction (e.g. whom they act for)."""
        with self._database.unit_of_work() as uow:
            interaction = uow.session.get(Interaction, interaction_id)
            if interaction is None or interaction.finished_at is not None:
                return False
            # A new dict: the JSON column notices a replaced value, not an edited one.
            interaction.params = {**interaction.params, name: value}
            uow.commit()
            return True

    def finish(self, interaction_id: uuid.UUID) -> bool:
        """Mark answered; False if it was answered already (a double submit or a replay)."""
        with self._database.unit_of_work() as uow:
            result = uow.session.execute(
                update(Interaction)
                .where(Interaction.id == interaction_id, Interaction.finished_at.is_(None))
                .values(finished_at=self._clock.now())
                .execution_options(synchronize_session=False)
            )
            uow.commit()
        return rows_affected(result) == 1

    def consented(self, person_id: uuid.UUID, client_id: str, scopes: list[str]) -> bool:
        with self._database.unit_of_work() as uow:
            consent = uow.session.scalars(
                select(Consent).where(
                    Consent.person_id == person_id,
                    Consent.client_id == client_id,
                    Consent.revoked_at.is_(None),
                )
            ).first()
            return consent is not None and set(scopes) <= set(consent.scopes)

    def grant_consent(self, person_id: uuid.UUID, client_id: str, scopes: list[str]) -> None:
        now = self._clock.now()
        with self._database.unit_of_work() as uow:
            uow.session.execute(
                update(Consent)
                .where(Consent.person_id == person_id, Consent.client_id == client_id)
                .values(revoked_at=now)
                .execution_options(synchronize_session=False)
            )
            uow.session.add(
                Consent(
                    person_id=person_id, client_id=client_id, scopes=sorted(scopes), granted_at=now
                )
            )
            record(
                uow.session,
                self._clock,
                AuditEntry(
                    action="consent.granted",
                    actor=f"person:{person_id}",
                    subject_type="oidc_client",
                    subject_id=client_id,
                    details={"scopes": sorted(scopes)},
                ),
            )
            uow.commit()

    def record_release(
        self,
        person_id: uuid.UUID,
        client: tuple[str, str, uuid.UUID],
        attributes: list[str],
        level: int,
        subject: str,
    ) -> None:
        """Transparency: the person can see what went to whom (names only, no values)."""
        client_id, client_name, authority_id = client
        now = self._clock.now()
        with self._database.unit_of_work() as uow:
            uow.session.add(
                AttributeRelease(
                    person_id=person_id,
                    client_id=client_id,
                    client_name=client_name,
                    authority_id=authority_id,
                    attributes=attributes,
                    level=level,
                    released_at=now,
                )
            )
            _remember_subject(uow.session, client_id, subject, person_id, now)
            uow.commit()

    def remember_subject(self, client_id: str, subject: str, person_id: uuid.UUID) -> None:
        """Record a subject handed to a procedure outside a login (demo data, imports)."""
        with self._database.unit_of_work() as uow:
            _remember_subject(uow.session, client_id, subject, person_id, self._clock.now())
            uow.commit()

    def person_for_subject(self, client_id: str, subject: str) -> uuid.UUID | None:
        """The person behind a subject this procedure received in a login, if any."""
        with self._database.unit_of_work() as uow:
            found: uuid.UUID | None = uow.session.scalar(
                select(ProcedureSubject.person_id).filter_by(client_id=client_id, subject=subject)
            )
            return found

    def procedures_used(self, person_id: uuid.UUID) -> list[str]:
        """Client ids of the procedures the person has logged in to, first use first."""
        with self._database.unit_of_work() as uow:
            query = (
                select(ProcedureSubject.client_id)
                .filter_by(person_id=person_id)
                .order_by(ProcedureSubject.first_seen_at)
            )
            return list(dict.fromkeys(uow.session.scalars(query)))

    def releases(self, person_id: uuid.UUID, limit: int = 50) -> list[AttributeRelease]:
        with self._database.unit_of_work() as uow:
            found = list(
                uow.session.scalars(
                    select(AttributeRelease)
                    .where(AttributeRelease.person_id == person_id)
                    .order_by(AttributeRelease.released_at.desc())
                    .limit(limit)
                )
            )
            for item in found:
                uow.session.expunge(item)
            return found

    def consents(self, person_id: uuid.UUID) -> list[Consent]:
        with self._database.unit_of_work() as uow:
            found = list(
                uow.session.scalars(
                    select(Consent)
                    .where(Consent.person_id == person_id, Consent.revoked_at.is_(None))
                    .order_by(Consent.granted_at.desc())
                )
            )
            for item in found:
                uow.session.expunge(item)
            return found

    def revoke_consent(self, person_id: uuid.UUID, consent_id: uuid.UUID) -> bool:
        with self._database.unit_of_work() as uow:
            result = uow.session.execute(
                update(Consent)
                .where(
                    Consent.id == consent_id,
                    Consent.person_id == person_id,
                    Consent.revoked_at.is_(None),
                )
                .values(revoked_at=self._clock.now())
                .execution_options(synchronize_session=False)
            )
            done = rows_affected(result) == 1
            if done:
                record(
                    uow.session,
                    self._clock,
                    AuditEntry(
                        action="consent.revoked",
                        actor=f"person:{person_id}",
                        subject_type="consent",
                        subject_id=str(consent_id),
                    ),
                )
            uow.commit()
        return done

    def now(self) -> datetime:
        return self._clock.now()


def _remember_subject(
    session: Session, client_id: str, subject: str, person_id: uuid.UUID, now: datetime
) -> None:
    known = select(ProcedureSubject.id).filter_by(client_id=client_id, subject=subject)
    if session.scalar(known) is not None:
        return
    try:
        # A savepoint: two first logins at once must not lose the release with the race.
        with session.begin_nested():
            session.add(
                ProcedureSubject(
                    client_id=client_id, subject=subject, person_id=person_id, first_seen_at=now
                )
            )
    except IntegrityError:
        pass  # the other login recorded the same subject
