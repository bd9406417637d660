"""Every query on persons, login sessions, e-mail tokens and throttles. Repositories only flush.

One-time secrets are consumed with a guarded UPDATE whose row count says who won, so two
requests racing with the same link or session token cannot both succeed (STYLE habit 5).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicekonto.accounts.models import (
    EmailToken,
    LoginSession,
    LoginThrottle,
    Person,
    RecoveryCode,
    TotpFactor,
    WebAuthnCredential,
)
from servicekonto.store.results import rows_affected


class PersonRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def by_email(self, email: str) -> Person | None:
        return self._session.scalars(select(Person).where(Person.email == email)).one_or_none()

    def by_id(self, person_id: uuid.UUID) -> Person | None:
        return self._session.get(Person, person_id)

    def add(self, person: Person) -> Person:
        self._session.add(person)
        self._session.flush()
        return person

    def has_second_factor(self, person_id: uuid.UUID) -> bool:
        """A confirmed authenticator app or a passkey, asked in one round trip."""
        totp = select(TotpFactor.id).where(
            TotpFactor.person_id == person_id, TotpFactor.confirmed_at.is_not(None)
        )
        passkey = select(WebAuthnCredential.id).where(WebAuthnCredential.person_id == person_id)
        return bool(self._session.scalar(select(exists(totp) | exists(passkey))))


class LoginSessionRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, login_session: LoginSession) -> LoginSession:
        self._session.add(login_session)
        self._session.flush()
        return login_session

    def by_digest(self, token_digest: str) -> LoginSession | None:
        query = select(LoginSession).where(LoginSession.token_digest == token_digest)
        return self._session.scalars(query).one_or_none()

    def rotate(self, login_session: LoginSession, old_digest: str, new_digest: str) -> bool:
        """Give the session a new token; False when another request rotated or revoked it first."""
        result = self._session.execute(
            update(LoginSession)
            .where(
                LoginSession.id == login_session.id,
                LoginSession.token_digest == old_digest,
                LoginSession.revoked_at.is_(None),
            )
            .values(token_digest=new_digest)
            .execution_options(synchronize_session=False)
        )
        if rows_affected(result) != 1:
            return False
        self._session.refresh(login_session)
        return True

    def revoke(self, session_id: uuid.UUID, now: datetime) -> None:
        self._session.execute(
            update(LoginSession)
            .where(LoginSession.id == session_id, LoginSession.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )

    def open_ids_for(self, person_id: uuid.UUID, keep: uuid.UUID | None = None) -> list[uuid.UUID]:
        query = select(LoginSession.id).where(
            LoginSession.person_id == person_id, LoginSession.revoked_at.is_(None)
        )
        if keep is not None:
            query = query.where(LoginSession.id != keep)
        return list(self._session.scalars(query))

    def revoke_all_for(
        self, person_id: uuid.UUID, now: datetime, keep: uuid.UUID | None = None
    ) -> int:
        query = update(LoginSession).where(
            LoginSession.person_id == person_id, LoginSession.revoked_at.is_(None)
        )
        if keep is not None:
            query = query.where(LoginSession.id != keep)
        result = self._session.execute(
            query.values(revoked_at=now).execution_options(synchronize_session=False)
        )
        return rows_affected(result)

    def active_for(self, person_id: uuid.UUID, now: datetime) -> list[LoginSession]:
        query = (
            select(LoginSession)
            .where(
                LoginSession.person_id == person_id,
                LoginSession.revoked_at.is_(None),
                LoginSession.idle_expires_at > now,
                LoginSession.absolute_expires_at > now,
                LoginSession.second_factor_pending.is_(False),
            )
            .order_by(LoginSession.authenticated_at.desc())
        )
        return list(self._session.scalars(query))


class EmailTokenRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, token: EmailToken) -> EmailToken:
        self._session.add(token)
        self._session.flush()
        return token

    def usable(self, purpose: str, token_digest: str, now: datetime) -> EmailToken | None:
        query = select(EmailToken).where(
            EmailToken.purpose == purpose,
            EmailToken.token_digest == token_digest,
            EmailToken.used_at.is_(None),
            EmailToken.expires_at > now,
        )
        return self._session.scalars(query).one_or_none()

    def consume(self, token: EmailToken, now: datetime) -> bool:
        result = self._session.execute(
            update(EmailToken)
            .where(EmailToken.id == token.id, EmailToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return rows_affected(result) == 1

    def newest(self, person_id: uuid.UUID, purpose: str) -> datetime | None:
        return self._session.scalar(
            select(func.max(EmailToken.created_at)).where(
                EmailToken.person_id == person_id, EmailToken.purpose == purpose
            )
        )

    def void_open(self, person_id: uuid.UUID, purpose: str, now: datetime) -> None:
        """A new link of a purpose makes the older ones of that purpose useless."""
        self._session.execute(
            update(EmailToken)
            .where(
                EmailToken.person_id == person_id,
                EmailToken.purpose == purpose,
                EmailToken.used_at.is_(None),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )


class ThrottleRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, key_digest: str) -> LoginThrottle | None:
        return self._session.get(LoginThrottle, key_digest)

    def get_many(self, key_digests: list[str]) -> dict[str, LoginThrottle]:
        query = select(LoginThrottle).where(LoginThrottle.key_digest.in_(key_digests))
        return {row.key_digest: row for row in self._session.scalars(query)}

    def add_failure(self, key_digest: str, now: datetime) -> LoginThrottle:
        """Count one failure atomically (UPDATE … failures + 1), creating the row on first use."""
        result = self._session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key_digest == key_digest)
            .values(failures=LoginThrottle.failures + 1, last_failure_at=now)
            .execution_options(synchronize_session=False)
        )
        if rows_affected(result) == 0 and not self._insert_first(key_digest, now):
            return self.add_failure(key_digest, now)
        throttle = self._session.get(LoginThrottle, key_digest, populate_existing=True)
        if throttle is None:  # deleted between our UPDATE and SELECT by a successful login
            return self.add_failure(key_digest, now)
        return throttle

    def _insert_first(self, key_digest: str, now: datetime) -> bool:
        savepoint = self._session.begin_nested()
        try:
            self._session.add(LoginThrottle(key_digest=key_digest, failures=1, last_failure_at=now))
            self._session.flush()
        except IntegrityError:  # a concurrent request created it first
            savepoint.rollback()
            return False
        savepoint.commit()
        return True

    def lock(self, key_digest: str, until: datetime) -> None:
        self._session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key_digest == key_digest)
            .values(locked_until=until)
            .execution_options(synchronize_session=False)
        )

    def clear(self, key_digest: str) -> None:
        self._session.execute(delete(LoginThrottle).where(LoginThrottle.key_digest == key_digest))


def delete_recovery_codes(session: Session, person_id: uuid.UUID) -> None:
    session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person_id))
