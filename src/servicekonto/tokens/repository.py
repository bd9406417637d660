"""Every query on issued tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from servicekonto.tokens.models import IssuedToken


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, token: IssuedToken) -> IssuedToken:
        self._session.add(token)
        self._session.flush()
        return token

    def by_jti(self, jti: str) -> IssuedToken | None:
        return self._session.scalars(
            select(IssuedToken).where(IssuedToken.jti == jti)
        ).one_or_none()

    def revoke(self, jti: str, now: datetime) -> None:
        self._session.execute(
            update(IssuedToken)
            .where(IssuedToken.jti == jti, IssuedToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
