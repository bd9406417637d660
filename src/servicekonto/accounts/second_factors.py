"""Managing second factors from the account page: authenticator app, recovery codes, passkeys.

Adding a factor and removing one are decisions about how the account may be entered, so each is
audited; removing one, and printing new recovery codes, needs the password again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from servicekonto.accounts import recovery_codes
from servicekonto.accounts.context import AccountContext
from servicekonto.accounts.models import LoginSession, Person
from servicekonto.accounts.passkeys import PasskeyError
from servicekonto.accounts.repository import PersonRepository, delete_recovery_codes
from servicekonto.accounts.totp import TotpAlreadyEnrolledError, TotpEnrolment
from servicekonto.audit.service import AuditEntry, record


@dataclass(frozen=True)
class PasskeyView:
    id: uuid.UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class SecurityStatus:
    totp: bool
    recovery_codes_left: int
    passkeys: list[PasskeyView]


class SecondFactorService:
    def __init__(self, context: AccountContext) -> None:
        self._c = context

    def status(self, person_id: uuid.UUID) -> SecurityStatus:
        with self._c.database.unit_of_work() as uow:
            credentials = self._c.passkeys.list_credentials(uow.session, person_id)
            return SecurityStatus(
                totp=self._c.totp.is_enrolled(uow.session, person_id),
                recovery_codes_left=recovery_codes.remaining(uow.session, person_id),
                passkeys=[
                    PasskeyView(c.id, c.name, c.created_at, c.last_used_at) for c in credentials
                ],
            )

    # --- authenticator app ------------------------------------------------------------------

    def begin_totp(self, person_id: uuid.UUID, qr_label: str) -> TotpEnrolment | None:
        """A new seed to scan; None when an authenticator is already set up."""
        with self._c.database.unit_of_work() as uow:
            person = self._person(uow.session, person_id)
            try:
                enrolment = self._c.totp.begin_enrolment(
                    uow.session, person, self._c.clock.now(), qr_label=qr_label
                )
            except TotpAlreadyEnrolledError:
                return None
            uow.commit()
        return enrolment

    def confirm_totp(self, person_id: uuid.UUID, code: str) -> list[str] | None:
        """Activate the app; returns fresh recovery codes, or None for a wrong code."""
        with self._c.database.unit_of_work() as uow:
            now = self._c.clock.now()
            if not self._c.totp.confirm_enrolment(uow.session, person_id, code, now):
                return None
            codes = recovery_codes.generate(uow.session, person_id, self._c.recovery_digester, now)
            self._audit(uow.session, "second_factor.totp_added", person_id)
            uow.commit()
        return codes

    def remove_totp(self, person_id: uuid.UUID, password: str) -> bool:
        with self._c.database.unit_of_work() as uow:
            if not self._password_ok(uow.session, person_id, password):
                return False
            self._c.totp.remove(uow.session, person_id)
            if not self._c.passkeys.list_credentials(uow.session, person_id):
                # Without any second factor, recovery codes recover nothing.
                delete_recovery_codes(uow.session, person_id)
            self._audit(uow.session, "second_factor.totp_removed", person_id)
            uow.commit()
        return True

    def new_recovery_codes(self, person_id: uuid.UUID, password: str) -> list[str] | None:
        with self._c.database.unit_of_work() as uow:
            if not self._password_ok(uow.session, person_id, password):
                return None
            now = self._c.clock.now()
            codes = recovery_codes.generate(uow.session, person_id, self._c.recovery_digester, now)
            self._audit(uow.session, "second_factor.recovery_codes_renewed", person_id)
            uow.commit()
        return codes

    # --- passkeys ---------------------------------------------------------------------------

    def passkey_options(self, person_id: uuid.UUID, session_id: uuid.UUID) -> str:
        with self._c.database.unit_of_work() as uow:
            person = self._person(uow.session, person_id)
            login_session = self._login_session(uow.session, session_id)
            options = self._c.passkeys.registration_options(
                uow.session, person, login_session, self._c.clock.now()
            )
            uow.commit()
        return options

    def add_passkey(
        self, person_id: uuid.UUID, session_id: uuid.UUID, credential_json: str, name: str
    ) -> str | None:
        """Register the browser's new credential; returns an error message id or None."""
        with self._c.database.unit_of_work() as uow:
            person = self._person(uow.session, person_id)
            login_session = self._login_session(uow.session, session_id)
            now = self._c.clock.now()
            try:
                self._c.passkeys.register(
                    uow.session, person, login_session, credential_json, name=name, now=now
                )
            except PasskeyError as error:
                uow.commit()  # the challenge is used up either way
                return error.message_id
            if recovery_codes.remaining(uow.session, person_id) == 0:
                recovery_codes.generate(uow.session, person_id, self._c.recovery_digester, now)
            self._audit(uow.session, "second_factor.passkey_added", person_id)
            uow.commit()
        return None

    def remove_passkey(self, person_id: uuid.UUID, credential_id: uuid.UUID, password: str) -> bool:
        with self._c.database.unit_of_work() as uow:
            if not self._password_ok(uow.session, person_id, password):
                return False
            if not self._c.passkeys.remove(uow.session, person_id, credential_id):
                return False
            self._audit(uow.session, "second_factor.passkey_removed", person_id)
            uow.commit()
        return True

    # --- helpers ------------------------------------------------------------------------------

    def _person(self, session: Session, person_id: uuid.UUID) -> Person:
        person = PersonRepository(session).by_id(person_id)
        if person is None:
            raise LookupError("the signed-in person no longer exists")
        return person

    def _login_session(self, session: Session, session_id: uuid.UUID) -> LoginSession:
        login_session = session.get(LoginSession, session_id)
        if login_session is None:
            raise LookupError("the login session no longer exists")
        return login_session

    def _password_ok(self, session: Session, person_id: uuid.UUID, password: str) -> bool:
        person = PersonRepository(session).by_id(person_id)
        return person is not None and self._c.hasher.verify(person.password_hash, password)

    def _audit(self, session: Session, action: str, person_id: uuid.UUID) -> None:
        record(
            session,
            self._c.clock,
            AuditEntry(
                action=action,
                actor=f"person:{person_id}",
                subject_type="person",
                subject_id=str(person_id),
            ),
        )
