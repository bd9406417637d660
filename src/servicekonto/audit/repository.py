"""Every query on audit events. There is deliberately no update and no delete."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekonto.audit.models import AuditEvent


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def append(self, event: AuditEvent) -> AuditEvent:
        self._session.add(event)
        self._session.flush()
        return event

    def for_subject(self, subject_type: str, subject_id: str) -> list[AuditEvent]:
        query = (
            select(AuditEvent)
            .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        )
        return list(self._session.scalars(query))

    def by_action(self, action: str) -> list[AuditEvent]:
        query = (
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.occurred_at)
        )
        return list(self._session.scalars(query))
