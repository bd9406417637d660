"""Every query of the safe."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from servicekonto.safe.models import (
    Favourite,
    IdempotentRequest,
    SafeCase,
    SafeCaseEvent,
    SafeDocument,
    SafeOptIn,
)
from servicekonto.store.results import rows_affected


class SafeRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    # --- documents ---------------------------------------------------------------------------

    def add(self, row: SafeDocument | SafeCase | SafeCaseEvent | IdempotentRequest) -> None:
        self._session.add(row)
        self._session.flush()

    def used_bytes(self, person_id: uuid.UUID) -> int:
        total = self._session.scalar(
            select(func.coalesce(func.sum(SafeDocument.size), 0)).filter_by(person_id=person_id)
        )
        return int(total or 0)

    def documents(
        self,
        person_id: uuid.UUID,
        *,
        category: str | None = None,
        client_id: str | None = None,
        unread_only: bool = False,
    ) -> list[SafeDocument]:
        query = select(SafeDocument).filter_by(person_id=person_id)
        if category:
            query = query.filter_by(category=category)
        if client_id:
            query = query.filter_by(client_id=client_id)
        if unread_only:
            query = query.where(SafeDocument.read_at.is_(None))
        return list(self._session.scalars(query.order_by(SafeDocument.created_at.desc())))

    def document(self, person_id: uuid.UUID, document_id: uuid.UUID) -> SafeDocument | None:
        # The person is part of the key: another person's id is simply not found.
        return self._session.scalar(
            select(SafeDocument).filter_by(id=document_id, person_id=person_id)
        )

    def expired_documents(self, category: str, created_before: datetime) -> list[SafeDocument]:
        query = select(SafeDocument).where(
            SafeDocument.category == category, SafeDocument.created_at < created_before
        )
        return list(self._session.scalars(query))

    def remove(self, row: SafeDocument) -> None:
        self._session.delete(row)
        self._session.flush()

    # --- cases -------------------------------------------------------------------------------

    def case_of(self, client_id: str, case_id: uuid.UUID) -> SafeCase | None:
        return self._session.scalar(select(SafeCase).filter_by(id=case_id, client_id=client_id))

    def case_by_reference(
        self, client_id: str, person_id: uuid.UUID, reference: str
    ) -> SafeCase | None:
        return self._session.scalar(
            select(SafeCase).filter_by(
                client_id=client_id, person_id=person_id, reference=reference
            )
        )

    def cases(self, person_id: uuid.UUID) -> list[SafeCase]:
        query = select(SafeCase).filter_by(person_id=person_id)
        return list(self._session.scalars(query.order_by(SafeCase.updated_at.desc())))

    def events(self, case_ids: list[uuid.UUID]) -> list[SafeCaseEvent]:
        if not case_ids:
            return []
        query = select(SafeCaseEvent).where(SafeCaseEvent.case_id.in_(case_ids))
        return list(self._session.scalars(query.order_by(SafeCaseEvent.occurred_at)))

    # --- opt-ins and favourites --------------------------------------------------------------

    def opted_in(self, person_id: uuid.UUID, client_id: str) -> bool:
        query = select(SafeOptIn.id).filter_by(person_id=person_id, client_id=client_id)
        return self._session.scalar(query) is not None

    def opt_ins(self, person_id: uuid.UUID) -> set[str]:
        query = select(SafeOptIn.client_id).filter_by(person_id=person_id)
        return set(self._session.scalars(query))

    def remove_opt_in(self, person_id: uuid.UUID, client_id: str) -> int:
        result = self._session.execute(
            delete(SafeOptIn).filter_by(person_id=person_id, client_id=client_id)
        )
        return rows_affected(result)

    def favourites(self, person_id: uuid.UUID) -> list[str]:
        query = select(Favourite.client_id).filter_by(person_id=person_id)
        return list(self._session.scalars(query.order_by(Favourite.created_at)))

    def remove_favourite(self, person_id: uuid.UUID, client_id: str) -> None:
        self._session.execute(delete(Favourite).filter_by(person_id=person_id, client_id=client_id))

    # --- idempotency -------------------------------------------------------------------------

    def idempotent(self, client_id: str, key: str) -> IdempotentRequest | None:
        return self._session.scalar(
            select(IdempotentRequest).filter_by(client_id=client_id, key=key)
        )

    def forget_idempotent_before(self, cutoff: datetime) -> int:
        result = self._session.execute(
            delete(IdempotentRequest).where(IdempotentRequest.created_at < cutoff)
        )
        return rows_affected(result)
