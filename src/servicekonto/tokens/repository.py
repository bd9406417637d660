"""Every query on issued tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from servicekonto.store.engine import Executor, Reader
from servicekonto.tokens.codes import family_replayed
from servicekonto.tokens.models import IssuedToken

_tokens = IssuedToken.metadata.tables[IssuedToken.__tablename__]
# Built once: the token endpoints insert one per request (see codes._CONSUME_CODE).
_INSERT = insert(_tokens)
# What a token check needs, and whether the code its family came from was replayed: one
# statement, read with Core (every userinfo and introspection call runs it).
_BY_JTI = select(
    _tokens.c.jti,
    _tokens.c.client_id,
    _tokens.c.person_id,
    _tokens.c.scope,
    _tokens.c.claims_request,
    _tokens.c.created_at,
    _tokens.c.expires_at,
    _tokens.c.revoked_at,
    family_replayed(_tokens.c.family_id).label("replayed"),
).where(_tokens.c.jti == bindparam("jti"))
_INSERT_IF_ABSENT = {
    "postgresql": postgresql.insert(_tokens).on_conflict_do_nothing(index_elements=["jti"]),
    "sqlite": sqlite.insert(_tokens).on_conflict_do_nothing(index_elements=["jti"]),
}


def token_row(connection: Reader, jti: str) -> Row[Any] | None:
    """The record of this jti (see `_BY_JTI` for its columns), or None."""
    return connection.execute(_BY_JTI, {"jti": jti}).first()


def add_token(executor: Executor, values: dict[str, Any]) -> None:
    """Insert one record in the caller's transaction; a plain INSERT, no ORM bookkeeping."""
    executor.execute(_INSERT, values)


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add_if_absent(self, values: dict[str, Any]) -> None:
        """Insert one record unless its jti is recorded already (a concurrent revocation)."""
        dialect = self._session.get_bind().dialect.name
        self._session.execute(_INSERT_IF_ABSENT[dialect], values)

    def revoke(self, jti: str, now: datetime) -> None:
        self._session.execute(
            update(IssuedToken)
            .where(IssuedToken.jti == jti, IssuedToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
