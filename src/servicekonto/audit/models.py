"""The audit event: one row per decision that changes what someone may do.

Rows are append-only; the migration installs triggers that refuse UPDATE and DELETE on both
PostgreSQL and SQLite, so not even a bug in our own code can rewrite history.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from servicekonto.store.base import Base, uuid_primary_key

# JSONB on PostgreSQL for indexable details; plain JSON text on SQLite.
DetailsType = JSON().with_variant(JSONB(), "postgresql")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)

    id: Mapped[uuid.UUID] = uuid_primary_key()
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(100), index=True)
    # Who acted, as a reference: "system", "cli", "person:<uuid>", "staff:<uuid>", "client:<id>".
    actor: Mapped[str] = mapped_column(String(200))
    subject_type: Mapped[str | None] = mapped_column(String(50))
    subject_id: Mapped[str | None] = mapped_column(String(200))
    authority_id: Mapped[uuid.UUID | None]
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(DetailsType, default=dict)
