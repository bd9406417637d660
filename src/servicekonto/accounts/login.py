"""Logging in: password, then the second factor if the person has one; logging out.

An unknown address and a wrong password get the same answer after the same work (a dummy
argon2 verification), and both count against the address's throttle, so neither the answer,
its timing nor the lock reveals which addresses have an account.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from servicekonto.accounts import recovery_codes
from servicekonto.accounts.context import AccountContext
from servicekonto.accounts.models import EmailTokenPurpose, LoginSession, Person
from servicekonto.accounts.passkeys import PasskeyError
from servicekonto.accounts.repository import EmailTokenRepository, PersonRepository
from servicekonto.accounts.validation import clean_email
from servicekonto.audit.service import AuditEntry, record
from servicekonto.observability import get_logger
from servicekonto.trust.levels import AuthMethod, TrustLevel

log = get_logger(__name__)
# A new confirmation mail on an unconfirmed login at most this often.
CONFIRMATION_RESEND_INTERVAL = timedelta(minutes=5)


class LoginStatus(StrEnum):
    OK = "ok"
    SECOND_FACTOR = "second_factor"
    UNCONFIRMED = "unconfirmed"
    FAILED = "failed"
    THROTTLED = "throttled"
    EXPIRED = "expired"


@dataclass(frozen=True)
class LoginResult:
    status: LoginStatus
    token: str | None = None
    retry_after: int = 0


@dataclass(frozen=True)
class CurrentSession:
    """A signed-in browser: who, how, and at which level."""

    session_id: uuid.UUID
    person_id: uuid.UUID
    email: str
    display_name: str
    locale: str
    methods: tuple[str, ...]
    level: TrustLevel
    second_factor_pending: bool
    authenticated_at: datetime


class LoginService:
    def __init__(self, context: AccountContext) -> None:
        self._c = context

    def password_login(self, email: str, password: str, client_address: str | None) -> LoginResult:
        address, _ = clean_email(email)
        with self._c.database.unit_of_work() as uow:
            keys = self._c.throttle.keys(address, client_address)
            check = self._c.throttle.check(uow.session, keys, self._c.clock.now())
            if check.wait:
                return LoginResult(LoginStatus.THROTTLED, retry_after=check.wait)
            person = self._verified_person(uow.session, address, password)
            if person is None:
                self._c.throttle.failed(uow.session, keys, self._c.clock.now())
                uow.commit()
                return LoginResult(LoginStatus.FAILED)
            self._c.throttle.succeeded(uow.session, keys, check)
            result = self._after_password(uow.session, person, password)
            uow.commit()
        if result.status == LoginStatus.UNCONFIRMED:
            self._resend_confirmation(person.id)
        return result

    def _verified_person(self, session: Session, address: str, password: str) -> Person | None:
        person = PersonRepository(session).by_email(address)
        started = time.perf_counter()
        if person is None:
            self._c.hasher.dummy_verify(password)
            verified = None
        else:
            verified = person if self._c.hasher.verify(person.password_hash, password) else None
        # bench/login_overhead.py subtracts this from the request's duration.
        log.debug("password checked", argon2_ms=round((time.perf_counter() - started) * 1000, 2))
        return verified

    def _after_password(self, session: Session, person: Person, password: str) -> LoginResult:
        if self._c.hasher.needs_rehash(person.password_hash):
            person.password_hash = self._c.hasher.hash(password)
        if not person.email_verified:
            return LoginResult(LoginStatus.UNCONFIRMED)
        pending = self._has_second_factor(session, person)
        now = self._c.clock.now()
        token, login_session = self._c.sessions.start(
            session, person, [AuthMethod.PASSWORD.value], now, pending=pending
        )
        if not pending:
            _audit_login(session, self._c, person, login_session)
        return LoginResult(LoginStatus.SECOND_FACTOR if pending else LoginStatus.OK, token=token)

    def _has_second_factor(self, session: Session, person: Person) -> bool:
        return PersonRepository(session).has_second_factor(person.id)

    def second_factor_options(self, token: str | None) -> dict[str, bool] | None:
        """Which second factors the pending login can use, or None if there is no such login."""
        with self._c.database.unit_of_work() as uow:
            pending = self._pending(uow.session, token)
            if pending is None:
                return None
            person_id = pending.person_id
            return {
                "totp": self._c.totp.is_enrolled(uow.session, person_id),
                "passkey": bool(self._c.passkeys.list_credentials(uow.session, person_id)),
                "recovery": recovery_codes.remaining(uow.session, person_id) > 0,
            }

    def totp_login(self, token: str | None, code: str, client_address: str | None) -> LoginResult:
        def check(session: Session, person: Person) -> bool:
            return self._c.totp.verify(session, person.id, code, self._c.clock.now())

        return self._second_factor(token, client_address, AuthMethod.TOTP, check)

    def recovery_login(
        self, token: str | None, code: str, client_address: str | None
    ) -> LoginResult:
        def check(session: Session, person: Person) -> bool:
            digester, now = self._c.recovery_digester, self._c.clock.now()
            return recovery_codes.redeem(session, person.id, code, digester, now)

        return self._second_factor(token, client_address, AuthMethod.RECOVERY_CODE, check)

    def passkey_options(self, token: str | None) -> str | None:
        with self._c.database.unit_of_work() as uow:
            pending = self._pending(uow.session, token)
            if pending is None:
                return None
            options = self._c.passkeys.authentication_options(
                uow.session, pending.person_id, pending, self._c.clock.now()
            )
            uow.commit()
        return options

    def passkey_login(
        self, token: str | None, credential_json: str, client_address: str | None
    ) -> LoginResult:
        def check(session: Session, person: Person) -> bool:
            pending = self._pending(session, token)
            if pending is None:
                return False
            try:
                self._c.passkeys.authenticate(
                    session, person.id, pending, credential_json, self._c.clock.now()
                )
            except PasskeyError:
                return False
            return True

        return self._second_factor(token, client_address, AuthMethod.PASSKEY, check)

    def _second_factor(
        self,
        token: str | None,
        client_address: str | None,
        method: AuthMethod,
        verify_factor: Callable[[Session, Person], bool],
    ) -> LoginResult:
        with self._c.database.unit_of_work() as uow:
            pending = self._pending(uow.session, token)
            person = (
                PersonRepository(uow.session).by_id(pending.person_id)
                if pending is not None
                else None
            )
            if pending is None or person is None or token is None:
                return LoginResult(LoginStatus.EXPIRED)
            keys = self._c.throttle.keys(person.email, client_address)
            now = self._c.clock.now()
            check = self._c.throttle.check(uow.session, keys, now)
            if check.wait:
                return LoginResult(LoginStatus.THROTTLED, retry_after=check.wait)
            if not verify_factor(uow.session, person):
                self._c.throttle.failed(uow.session, keys, now)
                uow.commit()
                return LoginResult(LoginStatus.FAILED)
            new_token = self._c.sessions.step_up(
                uow.session, pending, person, method, now=now, old_token=token
            )
            if new_token is None:
                return LoginResult(LoginStatus.EXPIRED)
            self._c.throttle.succeeded(uow.session, keys, check)
            _audit_login(uow.session, self._c, person, pending)
            uow.commit()
        return LoginResult(LoginStatus.OK, token=new_token)

    def eid_login(self, person_id: uuid.UUID) -> str | None:
        """A new session for the person whose bound card was just read (no password)."""
        with self._c.database.unit_of_work() as uow:
            person = PersonRepository(uow.session).by_id(person_id)
            if person is None or not person.email_verified:
                return None
            token, login_session = self._c.sessions.start(
                uow.session, person, [AuthMethod.EID.value], self._c.clock.now(), pending=False
            )
            _audit_login(uow.session, self._c, person, login_session)
            uow.commit()
        return token

    def add_eid(self, token: str | None, person_id: uuid.UUID) -> str | None:
        """The signed-in person also showed their card: the session gains `eid` (a new token)."""
        with self._c.database.unit_of_work() as uow:
            now = self._c.clock.now()
            login_session = self._c.sessions.find(uow.session, token, now)
            person = PersonRepository(uow.session).by_id(person_id)
            if login_session is None or person is None or login_session.person_id != person_id:
                return None
            new_token = self._c.sessions.step_up(
                uow.session,
                login_session,
                person,
                AuthMethod.EID.value,
                now=now,
                old_token=token or "",
            )
            if new_token is not None:
                _audit_login(uow.session, self._c, person, login_session)
                uow.commit()
        return new_token

    def _pending(self, session: Session, token: str | None) -> LoginSession | None:
        login_session = self._c.sessions.find(session, token, self._c.clock.now())
        if login_session is None or not login_session.second_factor_pending:
            return None
        return login_session

    def current(self, token: str | None) -> CurrentSession | None:
        """The signed-in session a cookie names (extending its idle time), or None."""
        if not token:
            return None
        with self._c.database.unit_of_work() as uow:
            now = self._c.clock.now()
            login_session = self._c.sessions.find(uow.session, token, now)
            person = (
                PersonRepository(uow.session).by_id(login_session.person_id)
                if login_session is not None
                else None
            )
            if login_session is None or person is None:
                return None
            self._c.sessions.touch(login_session, person, now)
            current = _describe(
                login_session, person, self._c.sessions.level(login_session, person)
            )
            uow.commit()
        return current

    def logout(self, token: str | None) -> None:
        with self._c.database.unit_of_work() as uow:
            login_session = self._c.sessions.find(uow.session, token, self._c.clock.now())
            if login_session is None:
                return
            ended, person_id = login_session.id, login_session.person_id
            self._c.sessions.end(uow.session, login_session, self._c.clock.now())
            uow.commit()
        self._c.sessions_ended([ended], person_id)

    def end_session(self, session_id: uuid.UUID) -> None:
        """End one session by id (single logout from a procedure); its listeners are told."""
        with self._c.database.unit_of_work() as uow:
            login_session = uow.session.get(LoginSession, session_id)
            if login_session is None or login_session.revoked_at is not None:
                return
            person_id = login_session.person_id
            self._c.sessions.end(uow.session, login_session, self._c.clock.now())
            uow.commit()
        self._c.sessions_ended([session_id], person_id)

    def _resend_confirmation(self, person_id: uuid.UUID) -> None:
        with self._c.database.unit_of_work() as uow:
            person = PersonRepository(uow.session).by_id(person_id)
            now = self._c.clock.now()
            if person is None or not _may_resend(uow.session, person_id, now):
                return
            hours = self._c.settings.tokens.email_confirmation_hours
            token = self._c.email_tokens.issue(
                uow.session,
                person,
                EmailTokenPurpose.CONFIRM_EMAIL,
                timedelta(hours=hours),
                now=now,
            )
            email, locale = person.email, person.preferred_locale
            uow.commit()
        self._c.notifier.confirm_email(email, locale, token, hours)


def _may_resend(session: Session, person_id: uuid.UUID, now: datetime) -> bool:
    newest = EmailTokenRepository(session).newest(person_id, EmailTokenPurpose.CONFIRM_EMAIL.value)
    return newest is None or now - newest >= CONFIRMATION_RESEND_INTERVAL


def _describe(login_session: LoginSession, person: Person, level: TrustLevel) -> CurrentSession:
    title = f"{person.academic_title} " if person.academic_title else ""
    return CurrentSession(
        session_id=login_session.id,
        person_id=person.id,
        email=person.email,
        display_name=f"{title}{person.given_names} {person.family_name}",
        locale=person.preferred_locale,
        methods=tuple(login_session.methods),
        level=level,
        second_factor_pending=login_session.second_factor_pending,
        authenticated_at=login_session.authenticated_at,
    )


def _audit_login(
    session: Session, context: AccountContext, person: Person, login_session: LoginSession
) -> None:
    record(
        session,
        context.clock,
        AuditEntry(
            action="session.started",
            actor=f"person:{person.id}",
            subject_type="login_session",
            subject_id=str(login_session.id),
            details={"methods": list(login_session.methods)},
        ),
    )
