"""Every query on signing keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, false, or_, select, text, update
from sqlalchemy.orm import Session

from servicekonto.keys.models import SigningKey

# "Newest" means most recently created; the activation time breaks a tie within one instant.
_NEWEST_FIRST = (
    SigningKey.created_at.desc(),
    SigningKey.activates_at.desc(),
    SigningKey.kid.desc(),
)


class SigningKeyRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, key: SigningKey) -> SigningKey:
        self._session.add(key)
        self._session.flush()
        return key

    def all(self) -> list[SigningKey]:
        query = select(SigningKey).order_by(
            SigningKey.alg, SigningKey.created_at, SigningKey.activates_at, SigningKey.kid
        )
        return list(self._session.scalars(query))

    def published(self, now: datetime, alg: str | None = None) -> list[SigningKey]:
        """Keys in the JWKS at `now` (signing or not), newest first."""
        query = _published(now).order_by(*_NEWEST_FIRST)
        if alg is not None:
            query = query.where(SigningKey.alg == alg)
        return list(self._session.scalars(query))

    def by_kid(self, kid: str) -> SigningKey | None:
        return self._session.scalars(select(SigningKey).where(SigningKey.kid == kid)).first()

    def latest(self, alg: str) -> SigningKey | None:
        """The newest key of an algorithm, whatever its state."""
        query = select(SigningKey).where(SigningKey.alg == alg).order_by(*_NEWEST_FIRST)
        return self._session.scalars(query.limit(1)).first()

    def latest_active(self, alg: str, now: datetime) -> SigningKey | None:
        """The key that signs for an algorithm at `now`: the newest one already activated."""
        query = (
            _published(now)
            .where(SigningKey.alg == alg, SigningKey.activates_at <= now)
            .order_by(*_NEWEST_FIRST)
        )
        return self._session.scalars(query.limit(1)).first()

    def without_expiry(self, alg: str) -> list[SigningKey]:
        query = select(SigningKey).where(SigningKey.alg == alg, SigningKey.expires_at.is_(None))
        return list(self._session.scalars(query))

    def lock_for_writing(self) -> None:
        """Serialise writers of the key table until the transaction ends; readers go on.

        Two processes starting at once both see "no key yet"; without this both would add one.
        PostgreSQL: SHARE ROW EXCLUSIVE conflicts with itself but not with plain SELECTs.
        SQLite: a first statement that writes takes the database's single write lock at once
        (a transaction that read first could not upgrade later and would fail instead of wait).
        """
        if self._session.get_bind().dialect.name == "postgresql":
            table = SigningKey.__tablename__
            self._session.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
            return
        self._session.execute(
            update(SigningKey)
            .where(false())
            .values(kid=SigningKey.kid)
            .execution_options(synchronize_session=False)
        )


def _published(now: datetime) -> Select[SigningKey]:
    return select(SigningKey).where(
        or_(SigningKey.expires_at.is_(None), SigningKey.expires_at > now)
    )
