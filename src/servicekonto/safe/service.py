"""The safe's use cases: procedures deposit and report, the person reads, deletes, opts in.

Every write owns its transaction. A deposit writes the encrypted blob first and the row second;
if the row is not stored (refused, or a concurrent retry with the same Idempotency-Key won),
the blob is deleted again, so no orphan is left either way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from servicekonto.accounts.repository import PersonRepository
from servicekonto.audit.service import AuditEntry, record
from servicekonto.clock import Clock
from servicekonto.config import SafeSettings
from servicekonto.safe.errors import (
    CaseExistsError,
    IdempotencyKeyReusedError,
    NotOptedInError,
    QuotaExceededError,
    UnknownCaseError,
)
from servicekonto.safe.models import (
    CaseStatus,
    Category,
    IdempotentRequest,
    SafeCase,
    SafeCaseEvent,
    SafeDocument,
)
from servicekonto.safe.repository import SafeRepository
from servicekonto.store.blobs import BlobStore, StoredBlob
from servicekonto.store.engine import Database
from servicekonto.store.uow import UnitOfWork

MB = 1024 * 1024
IDEMPOTENCY_WINDOW = timedelta(hours=24)

# Called after a deposit is stored: (e-mail address, locale, procedure name).
NewDocumentNotice = Callable[[str, str, str], None]


@dataclass(frozen=True)
class Procedure:
    """The procedure calling the API, from its access token."""

    client_id: str
    name: str
    authority_id: uuid.UUID


@dataclass(frozen=True)
class IdempotencyKey:
    client_id: str
    key: str
    digest: str  # of the whole request: the same key with another request is refused


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


@dataclass(frozen=True)
class Deposit:
    title: str
    category: Category
    case_reference: str | None
    reply_by: date | None


@dataclass(frozen=True)
class CaseReport:
    reference: str
    title: str
    status: CaseStatus
    message: str


class SafeService:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        blobs: BlobStore,
        settings: SafeSettings,
        notice: NewDocumentNotice | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self.blobs = blobs
        self.settings = settings
        self._notice = notice

    @property
    def document_max_bytes(self) -> int:
        return self.settings.document_max_mb * MB

    # --- idempotency -------------------------------------------------------------------------

    def answered(self, idempotency: IdempotencyKey) -> ApiAnswer | None:
        """The stored answer to an earlier request with this key, or None if there is none."""
        with self._database.unit_of_work() as uow:
            return _stored_answer(SafeRepository(uow.session), idempotency)

    def _once(
        self, idempotency: IdempotencyKey, act: Callable[[UnitOfWork], ApiAnswer]
    ) -> tuple[ApiAnswer, bool]:
        """Run `act` and store its answer under the key, in one transaction.

        Returns the answer and whether this call stored it (False: a concurrent request with
        the same key won the race, and its answer is returned instead).
        """
        try:
            with self._database.unit_of_work() as uow:
                answer = act(uow)
                SafeRepository(uow.session).add(_idempotent_row(idempotency, answer, self._now()))
                uow.commit()
                return answer, True
        except IntegrityError:
            won = self.answered(idempotency)
            if won is None:
                raise
            return won, False

    def _now(self) -> Any:
        return self._clock.now()

    # --- deposits ----------------------------------------------------------------------------

    def check_may_deposit(self, procedure: Procedure, person_id: uuid.UUID) -> None:
        """Refuse early, before the upload is stored, when the person has not opted in."""
        with self._database.unit_of_work() as uow:
            if not SafeRepository(uow.session).opted_in(person_id, procedure.client_id):
                raise NotOptedInError()

    def deposit(
        self,
        procedure: Procedure,
        person_id: uuid.UUID,
        deposit: Deposit,
        content: Iterable[bytes],
        idempotency: IdempotencyKey,
    ) -> ApiAnswer:
        blob = self.blobs.write(content, max_bytes=self.document_max_bytes)
        recipient: list[tuple[str, str]] = []

        def act(uow: UnitOfWork) -> ApiAnswer:
            row = self._store_document(uow, procedure, person_id, deposit, blob)
            person = PersonRepository(uow.session).by_id(person_id)
            if person is not None:
                recipient.append((person.email, person.preferred_locale))
            return ApiAnswer(201, document_body(row))

        try:
            answer, stored = self._once(idempotency, act)
        except BaseException:
            self.blobs.delete(blob.blob_id)
            raise
        if not stored:
            self.blobs.delete(blob.blob_id)
        elif self._notice is not None and recipient:
            self._notice(*recipient[0], procedure.name)
        return answer

    def _store_document(
        self,
        uow: UnitOfWork,
        procedure: Procedure,
        person_id: uuid.UUID,
        deposit: Deposit,
        blob: StoredBlob,
    ) -> SafeDocument:
        repository = SafeRepository(uow.session)
        if not repository.opted_in(person_id, procedure.client_id):
            raise NotOptedInError()
        quota = self.settings.quota_mb * MB
        if repository.used_bytes(person_id) + blob.size > quota:
            raise QuotaExceededError(quota)
        row = SafeDocument(
            person_id=person_id,
            client_id=procedure.client_id,
            client_name=procedure.name,
            authority_id=procedure.authority_id,
            title=deposit.title,
            category=deposit.category.value,
            case_reference=deposit.case_reference,
            reply_by=deposit.reply_by,
            blob_id=blob.blob_id,
            size=blob.size,
            sha256=blob.sha256,
            created_at=self._now(),
        )
        repository.add(row)
        record(uow.session, self._clock, _deposit_audit(procedure, person_id, row))
        return row

    # --- cases -------------------------------------------------------------------------------

    def open_case(
        self,
        procedure: Procedure,
        person_id: uuid.UUID,
        report: CaseReport,
        idempotency: IdempotencyKey,
    ) -> ApiAnswer:
        def act(uow: UnitOfWork) -> ApiAnswer:
            repository = SafeRepository(uow.session)
            if not repository.opted_in(person_id, procedure.client_id):
                raise NotOptedInError()
            existing = repository.case_by_reference(
                procedure.client_id, person_id, report.reference
            )
            if existing is not None:
                raise CaseExistsError(str(existing.id))
            now = self._now()
            case = SafeCase(
                person_id=person_id,
                client_id=procedure.client_id,
                client_name=procedure.name,
                reference=report.reference,
                title=report.title,
                status=report.status.value,
                created_at=now,
                updated_at=now,
            )
            repository.add(case)
            repository.add(_event(case, report.status, report.message, now))
            return ApiAnswer(201, case_body(case))

        return self._once(idempotency, act)[0]

    def report_status(
        self,
        procedure: Procedure,
        case_id: uuid.UUID,
        status: CaseStatus,
        message: str,
        idempotency: IdempotencyKey,
    ) -> ApiAnswer:
        def act(uow: UnitOfWork) -> ApiAnswer:
            repository = SafeRepository(uow.session)
            case = repository.case_of(procedure.client_id, case_id)
            if case is None:
                raise UnknownCaseError()
            if not repository.opted_in(case.person_id, procedure.client_id):
                raise NotOptedInError()
            now = self._now()
            case.status = status.value
            case.updated_at = now
            repository.add(_event(case, status, message, now))
            return ApiAnswer(200, case_body(case))

        return self._once(idempotency, act)[0]

    # --- the person's side -------------------------------------------------------------------

    def documents(
        self,
        person_id: uuid.UUID,
        *,
        category: str | None = None,
        client_id: str | None = None,
        unread_only: bool = False,
    ) -> list[SafeDocument]:
        with self._database.unit_of_work() as uow:
            found = SafeRepository(uow.session).documents(
                person_id, category=category, client_id=client_id, unread_only=unread_only
            )
            uow.session.expunge_all()
            return found

    def open_document(
        self, person_id: uuid.UUID, document_id: uuid.UUID
    ) -> tuple[SafeDocument, Iterator[bytes]] | None:
        """The document and its content, marked read; None if it is not this person's."""
        with self._database.unit_of_work() as uow:
            row = SafeRepository(uow.session).document(person_id, document_id)
            if row is None:
                return None
            if row.read_at is None:
                row.read_at = self._now()
            uow.commit()
            uow.session.expunge(row)
        return row, self.blobs.read(row.blob_id)

    def delete_document(self, person_id: uuid.UUID, document_id: uuid.UUID) -> bool:
        """Deleting is the person's right; the audit keeps that it happened, not the content."""
        with self._database.unit_of_work() as uow:
            repository = SafeRepository(uow.session)
            row = repository.document(person_id, document_id)
            if row is None:
                return False
            blob_id = row.blob_id
            repository.remove(row)
            record(uow.session, self._clock, _deletion_audit(person_id, row, "person"))
            uow.commit()
        self.blobs.delete(blob_id)
        return True

    def cases(self, person_id: uuid.UUID) -> list[tuple[SafeCase, list[SafeCaseEvent]]]:
        with self._database.unit_of_work() as uow:
            repository = SafeRepository(uow.session)
            cases = repository.cases(person_id)
            events = repository.events([case.id for case in cases])
            uow.session.expunge_all()
        by_case: dict[uuid.UUID, list[SafeCaseEvent]] = {case.id: [] for case in cases}
        for event in events:
            by_case[event.case_id].append(event)
        return [(case, by_case[case.id]) for case in cases]


def _stored_answer(repository: SafeRepository, idempotency: IdempotencyKey) -> ApiAnswer | None:
    stored = repository.idempotent(idempotency.client_id, idempotency.key)
    if stored is None:
        return None
    if stored.request_digest != idempotency.digest:
        raise IdempotencyKeyReusedError()
    return ApiAnswer(stored.status, dict(stored.response), replayed=True)


def _idempotent_row(idempotency: IdempotencyKey, answer: ApiAnswer, now: Any) -> IdempotentRequest:
    return IdempotentRequest(
        client_id=idempotency.client_id,
        key=idempotency.key,
        request_digest=idempotency.digest,
        status=answer.status,
        response=answer.body,
        created_at=now,
    )


def _event(case: SafeCase, status: CaseStatus, message: str, now: Any) -> SafeCaseEvent:
    return SafeCaseEvent(case_id=case.id, status=status.value, message=message, occurred_at=now)


def document_body(row: SafeDocument) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "title": row.title,
        "category": row.category,
        "case_reference": row.case_reference,
        "reply_by": row.reply_by.isoformat() if row.reply_by else None,
        "size": row.size,
        "sha256": row.sha256,
        "created_at": row.created_at.isoformat(),
    }


def case_body(case: SafeCase) -> dict[str, Any]:
    return {
        "id": str(case.id),
        "reference": case.reference,
        "title": case.title,
        "status": case.status,
        "updated_at": case.updated_at.isoformat(),
    }


def _deposit_audit(procedure: Procedure, person_id: uuid.UUID, row: SafeDocument) -> AuditEntry:
    return AuditEntry(
        action="safe.document_deposited",
        actor=f"client:{procedure.client_id}",
        subject_type="person",
        subject_id=str(person_id),
        authority_id=procedure.authority_id,
        details={"document_id": str(row.id), "category": row.category, "size": row.size},
    )


def _deletion_audit(person_id: uuid.UUID, row: SafeDocument, by: str) -> AuditEntry:
    return AuditEntry(
        action="safe.document_deleted",
        actor=f"person:{person_id}" if by == "person" else by,
        subject_type="person",
        subject_id=str(person_id),
        authority_id=row.authority_id,
        details={"document_id": str(row.id), "client_id": row.client_id, "by": by},
    )
