"""Use cases of the identity check: ask the registry, issue the letter, redeem the PIN.

The person is told only what happened ("a letter is on its way", "no match", "try later"),
never what the registry holds. An ambiguous answer never binds anyone. A registry that is down
loses nothing: the check stays pending and is asked again later.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from servicekonto.accounts.models import Person
from servicekonto.accounts.repository import PersonRepository
from servicekonto.accounts.throttle import Throttle
from servicekonto.audit.service import AuditEntry, record
from servicekonto.clock import Clock
from servicekonto.config import Settings
from servicekonto.pinletters.issuing import LetterTools, issue_letter, same_address
from servicekonto.pinletters.models import PinLetter
from servicekonto.pinletters.pins import normalise
from servicekonto.pinletters.repository import LetterRepository
from servicekonto.registration.models import CheckState, IdentityCheck
from servicekonto.registration.repository import CheckRepository
from servicekonto.registry.port import (
    Address,
    LookupOutcome,
    RegistryPort,
    RegistryQuery,
    RegistryUnavailableError,
    ResidentRecord,
)
from servicekonto.store.engine import Database
from servicekonto.trust.levels import IdentityProofing

YEAR = timedelta(days=365)
_CORRECTABLE = frozenset({CheckState.NO_MATCH, CheckState.AMBIGUOUS})


class PinStatus(StrEnum):
    BOUND = "bound"
    WRONG = "wrong"
    USED_UP = "used_up"
    EXPIRED = "expired"
    NO_LETTER = "no_letter"
    MOVED = "moved"
    INVALID = "invalid"
    REGISTRY_UNAVAILABLE = "registry_unavailable"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class PinOutcome:
    status: PinStatus
    attempts_left: int = 0
    retry_after: int = 0


@dataclass(frozen=True)
class LetterView:
    id: uuid.UUID
    letter_number: str
    status: str
    created_at: datetime
    expires_at: datetime
    attempts_left: int


@dataclass(frozen=True)
class CheckView:
    state: str | None
    waiting_for_registry: bool
    letter: LetterView | None
    may_order_letter: bool


def query_from(person: Person) -> RegistryQuery:
    return RegistryQuery(
        given_names=person.given_names,
        family_name=person.family_name,
        birth_name=person.birth_name,
        birth_date=person.birth_date,
        address=Address(person.street, person.house_number, person.postal_code, person.city),
    )


def _query_snapshot(person: Person) -> dict[str, str | None]:
    return {
        "given_names": person.given_names,
        "family_name": person.family_name,
        "birth_name": person.birth_name,
        "birth_date": person.birth_date.isoformat(),
        "street": person.street,
        "house_number": person.house_number,
        "postal_code": person.postal_code,
        "city": person.city,
    }


class IdentityCheckService:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        clock: Clock,
        registry: RegistryPort,
        tools: LetterTools,
        throttle: Throttle,
    ) -> None:
        self._settings = settings
        self._database = database
        self._clock = clock
        self._registry = registry
        self._tools = tools
        self._throttle = throttle

    # --- starting and re-running the check --------------------------------------------------

    def start(self, person_id: uuid.UUID) -> CheckView:
        """Begin the check for a confirmed person (idempotent), asking the registry at once."""
        with self._database.unit_of_work() as uow:
            person = PersonRepository(uow.session).by_id(person_id)
            checks = CheckRepository(uow.session)
            if person is None or person.identity_proofing != IdentityProofing.SELF_DECLARED:
                return self._view(uow.session, person_id)
            if checks.for_person(person_id) is None:
                now = self._clock.now()
                checks.add(
                    IdentityCheck(
                        person_id=person_id,
                        state=CheckState.PENDING.value,
                        query=_query_snapshot(person),
                        created_at=now,
                        updated_at=now,
                        next_attempt_at=now,
                    )
                )
                uow.commit()
        return self.run_if_due(person_id)

    def run_if_due(self, person_id: uuid.UUID) -> CheckView:
        with self._database.unit_of_work() as uow:
            check = CheckRepository(uow.session).for_person(person_id, lock=True)
            now = self._clock.now()
            if check is not None and _due(check, now):
                self._ask_registry(uow.session, check, now)
                uow.commit()
            return self._view(uow.session, person_id)

    def run_all_due(self) -> int:
        """Re-ask the registry for every check that waits for it (`servicekonto registry retry`)."""
        with self._database.unit_of_work() as uow:
            due = CheckRepository(uow.session).due(self._clock.now())
        for person_id in due:
            self.run_if_due(person_id)
        return len(due)

    def _ask_registry(self, session: Session, check: IdentityCheck, now: datetime) -> None:
        person = PersonRepository(session).by_id(check.person_id)
        if person is None:
            return
        try:
            result = self._registry.lookup(query_from(person))
        except RegistryUnavailableError:
            check.registry_unavailable(
                now, timedelta(minutes=self._settings.registry.retry_minutes)
            )
            return
        if result.outcome == LookupOutcome.MATCH and result.resident is not None:
            check.matched(result.resident.resident_id, now)
            issue_letter(session, person.id, result.resident, self._tools, now)
            _audit(session, self._clock, "identity.registry_matched", person.id)
        elif result.outcome == LookupOutcome.AMBIGUOUS:
            check.ambiguous(now)
            _audit(session, self._clock, "identity.registry_ambiguous", person.id)
        else:
            check.not_matched(now)

    def recheck_after_correction(self, person_id: uuid.UUID) -> CheckView:
        """Corrected data after no match (or an ambiguous one): ask the registry again."""
        with self._database.unit_of_work() as uow:
            check = CheckRepository(uow.session).for_person(person_id, lock=True)
            person = PersonRepository(uow.session).by_id(person_id)
            if check is not None and person is not None and check.state in _CORRECTABLE:
                check.restart(_query_snapshot(person), self._clock.now())
                uow.commit()
        return self.run_if_due(person_id)

    # --- the PIN ------------------------------------------------------------------------------

    def enter_pin(self, person_id: uuid.UUID, typed: str, client_address: str | None) -> PinOutcome:
        with self._database.unit_of_work() as uow:
            keys = self._throttle.keys(f"pin:{person_id}", client_address)
            now = self._clock.now()
            check = self._throttle.check(uow.session, keys, now)
            if check.wait:
                return PinOutcome(PinStatus.THROTTLED, retry_after=check.wait)
            outcome = self._try_pin(uow.session, person_id, typed, now)
            if outcome.status in {PinStatus.WRONG, PinStatus.USED_UP, PinStatus.INVALID}:
                self._throttle.failed(uow.session, keys, now)
            if outcome.status != PinStatus.REGISTRY_UNAVAILABLE:
                uow.commit()
        return outcome

    def _try_pin(
        self, session: Session, person_id: uuid.UUID, typed: str, now: datetime
    ) -> PinOutcome:
        letters = LetterRepository(session)
        letter = letters.open_for(person_id)
        limit = self._tools.settings.max_attempts
        if letter is None:
            return PinOutcome(PinStatus.NO_LETTER)
        if now >= letter.expires_at:
            letter.expired(now)
            return PinOutcome(PinStatus.EXPIRED)
        pin = normalise(typed)
        if pin is None:
            return PinOutcome(PinStatus.INVALID, attempts_left=limit - letter.attempts)
        attempts = letters.count_attempt(letter.id, limit)
        if attempts is None:
            return PinOutcome(PinStatus.USED_UP)
        if not self._tools.hasher.verify(letter.pin_hash, pin):
            return self._wrong(session, letter, attempts, limit, now)
        return self._bind(session, letter, now)

    def _wrong(
        self, session: Session, letter: PinLetter, attempts: int, limit: int, now: datetime
    ) -> PinOutcome:
        if attempts >= limit:
            session.refresh(letter)
            letter.expired(now)
            _audit(session, self._clock, "identity.letter_used_up", letter.person_id)
            return PinOutcome(PinStatus.USED_UP)
        return PinOutcome(PinStatus.WRONG, attempts_left=limit - attempts)

    def _bind(self, session: Session, letter: PinLetter, now: datetime) -> PinOutcome:
        try:
            resident = self._registry.resident(letter.resident_id)
        except RegistryUnavailableError:
            return PinOutcome(PinStatus.REGISTRY_UNAVAILABLE)
        session.refresh(letter)
        check = CheckRepository(session).for_person(letter.person_id)
        person = PersonRepository(session).by_id(letter.person_id)
        if (
            resident is None
            or not same_address(letter, resident)
            or check is None
            or person is None
        ):
            letter.revoked(now)
            if check is not None:
                check.restart(check.query, now)
            _audit(session, self._clock, "identity.letter_revoked_moved", letter.person_id)
            return PinOutcome(PinStatus.MOVED)
        letter.used(now)
        check.bound(now)
        _adopt_registry_data(person, resident, now)
        _audit(session, self._clock, "identity.bound_by_letter", person.id)
        return PinOutcome(PinStatus.BOUND)

    # --- a new letter ---------------------------------------------------------------------------

    def order_letter(self, person_id: uuid.UUID) -> bool:
        """A new letter after the old one ran out: one open letter at most, three a year."""
        with self._database.unit_of_work() as uow:
            if not self._may_order(uow.session, person_id, self._clock.now()):
                return False
            check = CheckRepository(uow.session).for_person(person_id, lock=True)
            if check is None or check.state != CheckState.MATCHED:
                return False
            check.restart(check.query, self._clock.now())
            uow.commit()
        self.run_if_due(person_id)
        return True

    def _may_order(self, session: Session, person_id: uuid.UUID, now: datetime) -> bool:
        letters = LetterRepository(session)
        if letters.open_for(person_id) is not None:
            return False
        return letters.issued_since(person_id, now - YEAR) < self._tools.settings.per_year

    # --- what the account page shows -------------------------------------------------------------

    def view(self, person_id: uuid.UUID) -> CheckView:
        with self._database.unit_of_work() as uow:
            return self._view(uow.session, person_id)

    def _view(self, session: Session, person_id: uuid.UUID) -> CheckView:
        check = CheckRepository(session).for_person(person_id)
        letters = LetterRepository(session)
        latest = letters.latest_for(person_id)
        limit = self._tools.settings.max_attempts
        letter = None
        if latest is not None:
            letter = LetterView(
                latest.id,
                latest.letter_number,
                latest.status,
                latest.created_at,
                latest.expires_at,
                max(0, limit - latest.attempts),
            )
        state = check.state if check is not None else None
        waiting = check is not None and check.registry_attempts > 0 and state == CheckState.PENDING
        may_order = state == CheckState.MATCHED and (latest is None or not latest.is_open)
        may_order = may_order and self._may_order(session, person_id, self._clock.now())
        return CheckView(state, waiting, letter, may_order)

    def letters(self, person_id: uuid.UUID) -> list[PinLetter]:
        with self._database.unit_of_work() as uow:
            found = LetterRepository(uow.session).all_for(person_id)
            for letter in found:
                uow.session.expunge(letter)
            return found


def _due(check: IdentityCheck, now: datetime) -> bool:
    return (
        check.state == CheckState.PENDING
        and check.next_attempt_at is not None
        and check.next_attempt_at <= now
    )


def _adopt_registry_data(person: Person, resident: ResidentRecord, now: datetime) -> None:
    """The registry's data become the account's verified attributes (what was typed is kept
    in the check's request only)."""
    person.academic_title = resident.academic_title
    person.given_names = resident.given_names
    person.family_name = resident.family_name
    person.birth_name = resident.birth_name
    person.birth_date = resident.birth_date
    person.birth_place = resident.birth_place
    person.street = resident.address.street
    person.house_number = resident.address.house_number
    person.postal_code = resident.address.postal_code
    person.city = resident.address.city
    person.identity_proofing = IdentityProofing.REGISTRY_LETTER.value
    person.identity_verified_at = now
    person.updated_at = now


def _audit(session: Session, clock: Clock, action: str, person_id: uuid.UUID) -> None:
    record(
        session,
        clock,
        AuditEntry(
            action=action,
            actor=f"person:{person_id}",
            subject_type="person",
            subject_id=str(person_id),
        ),
    )
