"""Recording audit events inside the caller's unit of work.

The event is written in the same transaction as the decision it records: either both are
stored or neither is. The request id ties the event to the log lines of the same request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from servicekonto.audit.models import AuditEvent
from servicekonto.audit.repository import AuditRepository
from servicekonto.clock import Clock
from servicekonto.observability import current_request_id


@dataclass(frozen=True)
class AuditEntry:
    action: str
    actor: str
    subject_type: str | None = None
    subject_id: str | None = None
    authority_id: uuid.UUID | None = None
    details: dict[str, Any] = field(default_factory=dict)


def record(session: Session, clock: Clock, entry: AuditEntry) -> AuditEvent:
    event = AuditEvent(
        occurred_at=clock.now(),
        action=entry.action,
        actor=entry.actor,
        subject_type=entry.subject_type,
        subject_id=entry.subject_id,
        authority_id=entry.authority_id,
        request_id=current_request_id(),
        details=dict(entry.details),
    )
    return AuditRepository(session).append(event)
