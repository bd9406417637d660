"""Account use cases: register, confirm, reset and change the password, change the e-mail address.

Each use case owns its transaction and sends its mail only after the commit. Registration and
the reset request answer the same way whether or not the address has an account, so neither
can be used to find out who has one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from servicekonto.accounts.context import AccountContext
from servicekonto.accounts.models import EmailTokenPurpose, Person
from servicekonto.accounts.password_policy import check_password
from servicekonto.accounts.repository import LoginSessionRepository, PersonRepository
from servicekonto.accounts.validation import (
    FieldErrors,
    PersonalData,
    clean_email,
    validate_personal_data,
)
from servicekonto.audit.service import AuditEntry, record


@dataclass(frozen=True)
class Outcome:
    """Field errors (message ids by field name), or success when there are none."""

    errors: FieldErrors = field(default_factory=dict)
    # A registration that created an account names it (never shown: it would tell whether the
    # address was taken); None when the address already had one.
    created: uuid.UUID | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def password_errors(
    password: str, confirmation: str, context: list[str], field_name: str = "password"
) -> FieldErrors:
    problems = check_password(password, context)
    if problems:
        return {field_name: problems[0].value}
    if password != confirmation:
        return {f"{field_name}_confirm": "password.mismatch"}
    return {}


def _personal_context(email: str, data: PersonalData | None) -> list[str]:
    words = [email.partition("@")[0]]
    if data is not None:
        words += [*data.given_names.split(), data.family_name, str(data.birth_date.year)]
    return words


class AccountService:
    def __init__(self, context: AccountContext) -> None:
        self._c = context

    # --- registration ---------------------------------------------------------------------

    def register(self, form: Mapping[str, str], locale: str) -> Outcome:
        email, email_problem = clean_email(form.get("email", ""))
        data, errors = validate_personal_data(form, self._c.clock.now().date())
        if email_problem:
            errors["email"] = email_problem
        password = form.get("password", "")
        errors.update(
            password_errors(
                password, form.get("password_confirm", ""), _personal_context(email, data)
            )
        )
        if errors or data is None:
            return Outcome(errors)
        # Hash before looking the address up: both answers then cost the same.
        password_hash = self._c.hasher.hash(password)
        with self._c.database.unit_of_work() as uow:
            if PersonRepository(uow.session).by_email(email) is not None:
                created = None
            else:
                token, created = self._create_person(
                    uow.session, email, password_hash, data, locale
                )
                uow.commit()
        if created is None:
            self._c.notifier.already_registered(email, locale)
        else:
            self._c.notifier.confirm_email(
                email, locale, token, self._c.settings.tokens.email_confirmation_hours
            )
        return Outcome(created=created)

    def _create_person(
        self, session: Session, email: str, password_hash: str, data: PersonalData, locale: str
    ) -> tuple[str, uuid.UUID]:
        now = self._c.clock.now()
        person = PersonRepository(session).add(
            Person(
                email=email,
                password_hash=password_hash,
                preferred_locale=locale,
                created_at=now,
                updated_at=now,
                **data.__dict__,
            )
        )
        _audit(session, self._c, "account.registered", person.id)
        hours = self._c.settings.tokens.email_confirmation_hours
        token = self._c.email_tokens.issue(
            session, person, EmailTokenPurpose.CONFIRM_EMAIL, timedelta(hours=hours), now=now
        )
        return token, person.id

    def ensure_confirmed_person(
        self, email: str, password: str, data: PersonalData, locale: str
    ) -> tuple[uuid.UUID, bool]:
        """Create a person whose address counts as confirmed, or reset the known one's password.

        For seeded accounts (the demo citizen): running it again restores the documented
        password, so the printed credentials always work.
        """
        password_hash = self._c.hasher.hash(password)
        now = self._c.clock.now()
        with self._c.database.unit_of_work() as uow:
            people = PersonRepository(uow.session)
            person = people.by_email(email)
            created = person is None
            if person is None:
                person = people.add(
                    Person(
                        email=email,
                        password_hash=password_hash,
                        preferred_locale=locale,
                        email_verified_at=now,
                        created_at=now,
                        updated_at=now,
                        **data.__dict__,
                    )
                )
                _audit(uow.session, self._c, "account.registered", person.id, {"seeded": True})
            else:
                person.password_hash = password_hash
            person_id = person.id
            uow.commit()
        return person_id, created

    def email_token_usable(self, purpose: EmailTokenPurpose, token: str) -> bool:
        with self._c.database.unit_of_work() as uow:
            return (
                self._c.email_tokens.peek(uow.session, purpose, token, self._c.clock.now())
                is not None
            )

    def confirm_email(self, token: str) -> uuid.UUID | None:
        """Confirm the address; the person's id, or None for an unusable link."""
        with self._c.database.unit_of_work() as uow:
            now = self._c.clock.now()
            redeemed = self._c.email_tokens.redeem(
                uow.session, EmailTokenPurpose.CONFIRM_EMAIL, token, now
            )
            person = (
                PersonRepository(uow.session).by_id(redeemed.person_id)
                if redeemed is not None
                else None
            )
            if person is None:
                return None
            if person.email_verified_at is None:
                person.email_verified_at = now
                person.updated_at = now
            _audit(uow.session, self._c, "account.email_confirmed", person.id)
            person_id = person.id
            uow.commit()
        return person_id

    # --- password reset ---------------------------------------------------------------------

    def request_password_reset(self, email: str, locale: str) -> None:
        address, problem = clean_email(email)
        if problem:
            return
        minutes = self._c.settings.tokens.password_reset_minutes
        with self._c.database.unit_of_work() as uow:
            person = PersonRepository(uow.session).by_email(address)
            if person is None:
                return  # no mail to addresses without an account: that would be spam
            token = self._c.email_tokens.issue(
                uow.session,
                person,
                EmailTokenPurpose.RESET_PASSWORD,
                timedelta(minutes=minutes),
                now=self._c.clock.now(),
            )
            to, person_locale = person.email, person.preferred_locale
            uow.commit()
        self._c.notifier.reset_password(to, person_locale or locale, token, minutes)

    def reset_password(self, token: str, password: str, confirmation: str) -> Outcome | None:
        """None when the link is no longer valid; else the outcome of the new password."""
        with self._c.database.unit_of_work() as uow:
            now = self._c.clock.now()
            usable = self._c.email_tokens.peek(
                uow.session, EmailTokenPurpose.RESET_PASSWORD, token, now
            )
            person = (
                PersonRepository(uow.session).by_id(usable.person_id)
                if usable is not None
                else None
            )
            if person is None:
                return None
            errors = password_errors(
                password,
                confirmation,
                [person.email.partition("@")[0], person.given_names, person.family_name],
            )
            if errors:
                return Outcome(errors)
            if (
                self._c.email_tokens.redeem(
                    uow.session, EmailTokenPurpose.RESET_PASSWORD, token, now
                )
                is None
            ):
                return None
            ended = self._set_password(uow.session, person, password, keep_session=None)
            # Following the link proves control of the mailbox, as a confirmation link does.
            person.email_verified_at = person.email_verified_at or now
            to, locale, person_id = person.email, person.preferred_locale, person.id
            uow.commit()
        self._c.sessions_ended(ended, person_id)
        self._c.notifier.password_changed(to, locale)
        return Outcome()

    # --- signed-in changes -------------------------------------------------------------------

    def change_password(
        self, person_id: uuid.UUID, session_id: uuid.UUID, form: Mapping[str, str]
    ) -> Outcome:
        with self._c.database.unit_of_work() as uow:
            person = PersonRepository(uow.session).by_id(person_id)
            if person is None:
                return Outcome({"current_password": "password.wrong"})
            if not self._c.hasher.verify(person.password_hash, form.get("current_password", "")):
                return Outcome({"current_password": "password.wrong"})
            new = form.get("new_password", "")
            context = [person.email.partition("@")[0], person.given_names, person.family_name]
            errors = password_errors(
                new, form.get("new_password_confirm", ""), context, "new_password"
            )
            if errors:
                return Outcome(errors)
            ended = self._set_password(uow.session, person, new, keep_session=session_id)
            to, locale = person.email, person.preferred_locale
            uow.commit()
        self._c.sessions_ended(ended, person_id)
        self._c.notifier.password_changed(to, locale)
        return Outcome()

    def _set_password(
        self, session: Session, person: Person, password: str, keep_session: uuid.UUID | None
    ) -> list[uuid.UUID]:
        """Set the password; the ids of the sessions it ended (to tell the procedures)."""
        now = self._c.clock.now()
        person.password_hash = self._c.hasher.hash(password)
        person.updated_at = now
        # Whoever knew the old password must not stay signed in with it.
        repository = LoginSessionRepository(session)
        ended = repository.open_ids_for(person.id, keep=keep_session)
        repository.revoke_all_for(person.id, now, keep=keep_session)
        _audit(session, self._c, "account.password_changed", person.id)
        return ended

    def request_email_change(
        self, person_id: uuid.UUID, form: Mapping[str, str], locale: str
    ) -> Outcome:
        new_email, problem = clean_email(form.get("new_email", ""))
        if problem:
            return Outcome({"new_email": problem})
        hours = self._c.settings.tokens.email_change_hours
        with self._c.database.unit_of_work() as uow:
            person = PersonRepository(uow.session).by_id(person_id)
            if person is None or not self._c.hasher.verify(
                person.password_hash, form.get("password", "")
            ):
                return Outcome({"password": "password.wrong"})
            if new_email == person.email:
                return Outcome({"new_email": "email.unchanged"})
            taken = PersonRepository(uow.session).by_email(new_email) is not None
            token = self._c.email_tokens.issue(
                uow.session,
                person,
                EmailTokenPurpose.CHANGE_EMAIL,
                timedelta(hours=hours),
                now=self._c.clock.now(),
                new_email=new_email,
            )
            uow.commit()
        if taken:
            # The other account's owner learns of the attempt; this person learns nothing.
            self._c.notifier.already_registered(new_email, locale)
        else:
            self._c.notifier.change_email(new_email, locale, token, hours)
        return Outcome()

    def confirm_email_change(self, token: str) -> bool:
        with self._c.database.unit_of_work() as uow:
            now = self._c.clock.now()
            redeemed = self._c.email_tokens.redeem(
                uow.session, EmailTokenPurpose.CHANGE_EMAIL, token, now
            )
            people = PersonRepository(uow.session)
            person = people.by_id(redeemed.person_id) if redeemed is not None else None
            if redeemed is None or person is None or redeemed.new_email is None:
                return False
            if people.by_email(redeemed.new_email) is not None:
                return False
            old_email, new_email, locale = person.email, redeemed.new_email, person.preferred_locale
            person.email, person.email_verified_at, person.updated_at = new_email, now, now
            # The login name changed: every session signed in under the old one ends with it.
            sessions = LoginSessionRepository(uow.session)
            ended = sessions.open_ids_for(person.id)
            sessions.revoke_all_for(person.id, now)
            _audit(uow.session, self._c, "account.email_changed", person.id)
            uow.commit()
        self._c.sessions_ended(ended, person.id)
        self._c.notifier.email_changed(old_email, locale, new_email)
        return True

    def update_personal_data(self, person_id: uuid.UUID, form: Mapping[str, str]) -> Outcome:
        """Correct self-declared data; once the registry confirmed them, they are not ours."""
        data, errors = validate_personal_data(form, self._c.clock.now().date())
        if errors or data is None:
            return Outcome(errors)
        with self._c.database.unit_of_work() as uow:
            person = PersonRepository(uow.session).by_id(person_id)
            if person is None or person.identity_proofing != "self_declared":
                return Outcome({"form": "data.verified"})
            for name, value in data.__dict__.items():
                setattr(person, name, value)
            person.updated_at = self._c.clock.now()
            _audit(uow.session, self._c, "account.personal_data_corrected", person.id)
            uow.commit()
        return Outcome()

    def logout_everywhere(self, person_id: uuid.UUID) -> int:
        with self._c.database.unit_of_work() as uow:
            repository = LoginSessionRepository(uow.session)
            ended = repository.open_ids_for(person_id)
            count = repository.revoke_all_for(person_id, self._c.clock.now())
            _audit(uow.session, self._c, "sessions.revoked_all", person_id, {"count": count})
            uow.commit()
        self._c.sessions_ended(ended, person_id)
        return count

    def profile(self, person_id: uuid.UUID) -> Person | None:
        # One read, no transaction (every userinfo answer asks for it); detached on close.
        with self._c.database.reader() as session:
            return PersonRepository(session).by_id(person_id)

    def set_locale(self, person_id: uuid.UUID, locale: str) -> None:
        with self._c.database.unit_of_work() as uow:
            person = PersonRepository(uow.session).by_id(person_id)
            if person is not None and person.preferred_locale != locale:
                person.preferred_locale = locale
                uow.commit()


def _audit(
    session: Session,
    context: AccountContext,
    action: str,
    person_id: uuid.UUID,
    details: dict[str, object] | None = None,
) -> None:
    record(
        session,
        context.clock,
        AuditEntry(
            action=action,
            actor=f"person:{person_id}",
            subject_type="person",
            subject_id=str(person_id),
            details=dict(details or {}),
        ),
    )
