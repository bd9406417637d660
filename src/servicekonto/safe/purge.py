"""Retention: documents older than their category's period are deleted, blob and row.

Run by `servicekonto safe purge` (daily, from cron or a systemd timer). Deleting is idempotent,
so a purge that stops half-way is simply run again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from servicekonto.audit.service import AuditEntry, record
from servicekonto.clock import Clock
from servicekonto.config import SafeSettings
from servicekonto.safe.models import Category
from servicekonto.safe.repository import SafeRepository
from servicekonto.safe.service import IDEMPOTENCY_WINDOW
from servicekonto.store.blobs import BlobStore
from servicekonto.store.engine import Database

PURGE_ACTOR = "retention"


@dataclass
class PurgeReport:
    documents: dict[str, int] = field(default_factory=dict)
    idempotency_records: int = 0

    def as_json(self) -> dict[str, object]:
        return {"documents": self.documents, "idempotency_records": self.idempotency_records}


def purge(
    database: Database, clock: Clock, blobs: BlobStore, settings: SafeSettings
) -> PurgeReport:
    report = PurgeReport()
    now = clock.now()
    for category in Category:
        cutoff = now - timedelta(days=settings.retention_days(category.value))
        report.documents[category.value] = _purge_category(database, clock, blobs, category, cutoff)
    with database.unit_of_work() as uow:
        forgotten = SafeRepository(uow.session).forget_idempotent_before(now - IDEMPOTENCY_WINDOW)
        report.idempotency_records = forgotten
        uow.commit()
    return report


def _purge_category(
    database: Database, clock: Clock, blobs: BlobStore, category: Category, cutoff: datetime
) -> int:
    with database.unit_of_work() as uow:
        repository = SafeRepository(uow.session)
        expired = repository.expired_documents(category.value, cutoff)
        blob_ids = [row.blob_id for row in expired]
        for row in expired:
            repository.remove(row)
            record(uow.session, clock, _purge_audit(row.person_id, row.id, category))
        uow.commit()
    # Rows first, blobs after the commit: a crash in between leaves unreferenced files, never
    # a row whose content is gone.
    for blob_id in blob_ids:
        blobs.delete(blob_id)
    return len(blob_ids)


def _purge_audit(person_id: uuid.UUID, document_id: uuid.UUID, category: Category) -> AuditEntry:
    return AuditEntry(
        action="safe.document_purged",
        actor=PURGE_ACTOR,
        subject_type="person",
        subject_id=str(person_id),
        details={"document_id": str(document_id), "category": category.value},
    )
