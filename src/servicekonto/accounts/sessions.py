"""Server-side login sessions: create, find, extend, step up, end.

The browser holds only a random token (`sk_ses_…`); the database holds its HMAC digest, so a
leaked database cannot be replayed as cookies. A session's idle and absolute lifetimes follow
its trust level (DESIGN.md: level 4 30 min / 5 min idle, level 3 2 h / 30 min, levels 1-2
12 h / 60 min). The token is replaced at every login and step-up, so a token planted before the
login (session fixation) is worthless after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from servicekonto.accounts.models import LoginSession, Person
from servicekonto.accounts.repository import LoginSessionRepository
from servicekonto.config import SessionSettings
from servicekonto.security.secrets import Digester, new_token, token_kind
from servicekonto.trust.levels import TrustLevel, session_level

SESSION_TOKEN_KIND = "ses"
# A password-checked session waiting for its second factor lives only this long.
PENDING_LIFETIME = timedelta(minutes=10)
# Extending the idle deadline is a write; skip it when the last one is this recent.
TOUCH_INTERVAL = timedelta(seconds=30)


@dataclass(frozen=True)
class Lifetime:
    idle: timedelta
    absolute: timedelta


def lifetime_for(level: TrustLevel, settings: SessionSettings) -> Lifetime:
    if level >= TrustLevel.HIGH:
        return Lifetime(
            timedelta(minutes=settings.high_idle_minutes),
            timedelta(minutes=settings.high_absolute_minutes),
        )
    if level == TrustLevel.SUBSTANTIAL:
        return Lifetime(
            timedelta(minutes=settings.substantial_idle_minutes),
            timedelta(minutes=settings.substantial_absolute_minutes),
        )
    return Lifetime(
        timedelta(minutes=settings.basic_idle_minutes),
        timedelta(minutes=settings.basic_absolute_minutes),
    )


class SessionManager:
    """Session rules inside the caller's unit of work (it commits)."""

    def __init__(self, digester: Digester, settings: SessionSettings) -> None:
        self._digester = digester
        self._settings = settings

    def start(
        self, session: Session, person: Person, methods: list[str], now: datetime, pending: bool
    ) -> tuple[str, LoginSession]:
        token = new_token(SESSION_TOKEN_KIND)
        login_session = LoginSession(
            token_digest=self._digester.digest(token),
            person_id=person.id,
            created_at=now,
            authenticated_at=now,
            last_seen_at=now,
            methods=list(methods),
            second_factor_pending=pending,
        )
        self._set_deadlines(login_session, person, now, fresh=True)
        LoginSessionRepository(session).add(login_session)
        return token, login_session

    def find(self, session: Session, token: str | None, now: datetime) -> LoginSession | None:
        """The active session a cookie names, or None (forged, expired, revoked, malformed)."""
        if not token or len(token) > 100 or token_kind(token) != SESSION_TOKEN_KIND:
            return None
        login_session = LoginSessionRepository(session).by_digest(self._digester.digest(token))
        if login_session is None or not login_session.is_active(now):
            return None
        return login_session

    def touch(self, login_session: LoginSession, person: Person, now: datetime) -> None:
        """Extend the idle deadline on activity, never past the absolute one."""
        if now - login_session.last_seen_at < TOUCH_INTERVAL:
            return
        login_session.last_seen_at = now
        self._set_deadlines(login_session, person, now, fresh=False)

    def step_up(
        self,
        session: Session,
        login_session: LoginSession,
        person: Person,
        method: str,
        *,
        now: datetime,
        old_token: str,
    ) -> str | None:
        """Record a further method and issue a new token; None if the session changed meanwhile."""
        token = new_token(SESSION_TOKEN_KIND)
        repository = LoginSessionRepository(session)
        if not repository.rotate(
            login_session, self._digester.digest(old_token), self._digester.digest(token)
        ):
            return None
        login_session.methods = [*login_session.methods, method]
        login_session.second_factor_pending = False
        login_session.authenticated_at = now
        login_session.last_seen_at = now
        self._set_deadlines(login_session, person, now, fresh=True)
        session.flush()
        return token

    def end(self, session: Session, login_session: LoginSession, now: datetime) -> None:
        LoginSessionRepository(session).revoke(login_session.id, now)

    def level(self, login_session: LoginSession, person: Person) -> TrustLevel:
        if login_session.second_factor_pending:
            return TrustLevel.BASIC
        return session_level(person.identity_proofing, login_session.methods)

    def _set_deadlines(
        self, login_session: LoginSession, person: Person, now: datetime, fresh: bool
    ) -> None:
        if login_session.second_factor_pending:
            login_session.idle_expires_at = now + PENDING_LIFETIME
            login_session.absolute_expires_at = now + PENDING_LIFETIME
            return
        lifetime = lifetime_for(self.level(login_session, person), self._settings)
        if fresh:
            login_session.absolute_expires_at = now + lifetime.absolute
        login_session.idle_expires_at = min(now + lifetime.idle, login_session.absolute_expires_at)
