"""Every query on SAML service providers, seen request IDs and participations."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicekonto.saml.models import SamlParticipation, SeenRequest, ServiceProvider


class ProviderRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def by_entity_id(self, entity_id: str) -> ServiceProvider | None:
        query = select(ServiceProvider).where(ServiceProvider.entity_id == entity_id)
        return self._session.scalars(query).one_or_none()

    def all(self) -> list[ServiceProvider]:
        return list(self._session.scalars(select(ServiceProvider).order_by(ServiceProvider.name)))

    def add(self, provider: ServiceProvider) -> ServiceProvider:
        self._session.add(provider)
        self._session.flush()
        return provider

    def first_use(self, entity_id: str, request_id: str, expires_at: datetime) -> bool:
        """Record a request ID; False when it was recorded before (a replay).

        The unique constraint decides, so two instances receiving the same request at once
        cannot both accept it; the savepoint keeps the caller's transaction usable.
        """
        try:
            with self._session.begin_nested():
                self._session.add(
                    SeenRequest(entity_id=entity_id, request_id=request_id, expires_at=expires_at)
                )
        except IntegrityError:
            return False
        return True

    def forget_requests_before(self, now: datetime) -> None:
        self._session.execute(delete(SeenRequest).where(SeenRequest.expires_at < now))

    def add_participation(self, participation: SamlParticipation) -> None:
        self._session.add(participation)

    def participations(self, login_session_id: uuid.UUID) -> list[SamlParticipation]:
        query = (
            select(SamlParticipation)
            .where(
                SamlParticipation.login_session_id == login_session_id,
                SamlParticipation.ended_at.is_(None),
            )
            .order_by(SamlParticipation.created_at)
        )
        return list(self._session.scalars(query))

    def participation(
        self, entity_id: str, name_id: str, session_index: str | None
    ) -> list[SamlParticipation]:
        query = select(SamlParticipation).where(
            SamlParticipation.entity_id == entity_id,
            SamlParticipation.name_id == name_id,
            SamlParticipation.ended_at.is_(None),
        )
        if session_index:
            query = query.where(SamlParticipation.session_index == session_index)
        return list(self._session.scalars(query))

    def end_participations(self, login_session_id: uuid.UUID, now: datetime) -> None:
        self._session.execute(
            update(SamlParticipation)
            .where(
                SamlParticipation.login_session_id == login_session_id,
                SamlParticipation.ended_at.is_(None),
            )
            .values(ended_at=now)
            .execution_options(synchronize_session=False)
        )
