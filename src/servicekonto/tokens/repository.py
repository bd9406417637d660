"""Every query on issued tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from servicekonto.tokens.codes import family_replayed
from servicekonto.tokens.models import IssuedToken

# Built once: the token endpoints insert one per request (see codes._CONSUME_CODE).
_INSERT = insert(IssuedToken.metadata.tables[IssuedToken.__tablename__])


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, values: dict[str, Any]) -> None:
        """Insert one record; a plain INSERT, without the ORM's flush bookkeeping."""
        self._session.execute(_INSERT, values)

    def by_jti(self, jti: str) -> IssuedToken | None:
        """The record of this jti, unless the code its family came from was replayed."""
        return self._session.scalars(
            select(IssuedToken).where(
                IssuedToken.jti == jti, ~family_replayed(IssuedToken.family_id)
            )
        ).one_or_none()

    def revoke(self, jti: str, now: datetime) -> None:
        self._session.execute(
            update(IssuedToken)
            .where(IssuedToken.jti == jti, IssuedToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
