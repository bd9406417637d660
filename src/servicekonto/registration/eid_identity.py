"""Identity by the eID card: which account a card belongs to, and binding a card to an account.

A card is known by its restricted identification (a pseudonym per card and sector); we keep
only an HMAC of it. Binding needs the card's data to agree with the account's — name, given
names, birth name and birth date, by the registry matching rules — so nobody binds their card to
someone else's account; a card bound elsewhere, or an account bound to another card, is refused.

An eID run is tied to the browser that started it (`EidAttempt`): the return from the eID
client must come back with that browser's cookie and the eID-Server session we opened, once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from servicekonto.accounts.models import Person
from servicekonto.audit.service import AuditEntry, record
from servicekonto.clock import Clock
from servicekonto.registry.matching import given_names_agree, names_agree
from servicekonto.security.secrets import Digester, new_token
from servicekonto.store.base import Base, uuid_primary_key
from servicekonto.store.engine import Database
from servicekonto.store.results import rows_affected
from servicekonto.trust.levels import IdentityProofing

ATTEMPT_LIFETIME = timedelta(minutes=15)
BROWSER_TOKEN_KIND = "eid"


class EidPurpose(StrEnum):
    LOGIN = "login"  # who is this card? log them in
    BIND = "bind"  # the signed-in person shows their card: bind it, or prove it is theirs
    REGISTER = "register"  # a new account from the card's data: no letter needed


class EidAttempt(Base):
    __tablename__ = "eid_attempts"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    eid_session_id: Mapped[str] = mapped_column(String(200), unique=True)
    browser_digest: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(10))
    person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE")
    )
    next_path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # Registration only: the card's data (the pseudonym as its digest) until the form is sent.
    card: Mapped[dict[str, str] | None] = mapped_column(JSON)
    consumed_at: Mapped[datetime | None]


class EidBinding(Base):
    __tablename__ = "eid_bindings"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), unique=True
    )
    pseudonym_digest: Mapped[str] = mapped_column(String(64), unique=True)
    document_type: Mapped[str] = mapped_column(String(5))
    bound_at: Mapped[datetime]


@dataclass(frozen=True)
class CardIdentity:
    """What the card said, as plain data (the web layer converts from the eID port)."""

    given_names: str
    family_name: str
    birth_name: str | None
    birth_date: date
    document_type: str
    pseudonym: str
    # Read for a registration; binding compares only the fields above.
    birth_place: str = ""
    street: str = ""
    house_number: str = ""
    postal_code: str = ""
    city: str = ""


class BindOutcome(StrEnum):
    BOUND = "bound"  # first use: the card is now this account's
    CONFIRMED = "confirmed"  # the card was already this account's
    DATA_DISAGREE = "data_disagree"
    CARD_ELSEWHERE = "card_elsewhere"
    OTHER_CARD = "other_card"


@dataclass(frozen=True)
class Attempt:
    eid_session_id: str
    purpose: EidPurpose
    person_id: uuid.UUID | None
    next_path: str
    attempt_id: uuid.UUID | None = None


@dataclass(frozen=True)
class KeptCard:
    """A card read for a registration, waiting for the e-mail address and password."""

    attempt_id: uuid.UUID
    data: dict[str, str]  # the personal data fields of the registration form
    pseudonym_digest: str
    document_type: str


class EidIdentity:
    def __init__(self, database: Database, clock: Clock, digester: Digester) -> None:
        self._database = database
        self._clock = clock
        self._digester = digester

    # --- the run in the browser ------------------------------------------------------------

    def begin(self, attempt: Attempt) -> str:
        """Remember the run; the returned token goes into the browser's cookie."""
        token = new_token(BROWSER_TOKEN_KIND)
        with self._database.unit_of_work() as uow:
            uow.session.add(
                EidAttempt(
                    eid_session_id=attempt.eid_session_id,
                    browser_digest=self._digester.digest(token),
                    purpose=attempt.purpose.value,
                    person_id=attempt.person_id,
                    next_path=attempt.next_path,
                    created_at=self._clock.now(),
                )
            )
            uow.commit()
        return token

    def take(self, browser_token: str | None, eid_session_id: str) -> Attempt | None:
        """The run this browser started for that eID session, once and in time; else None."""
        if not browser_token or len(browser_token) > 100 or len(eid_session_id) > 200:
            return None
        now = self._clock.now()
        with self._database.unit_of_work() as uow:
            row = uow.session.scalar(
                select(EidAttempt).filter_by(
                    browser_digest=self._digester.digest(browser_token),
                    eid_session_id=eid_session_id,
                )
            )
            if row is None or now - row.created_at > ATTEMPT_LIFETIME:
                return None
            if not _finish(uow.session, row.id, now):
                return None  # the return was replayed
            uow.commit()
            return Attempt(
                row.eid_session_id, EidPurpose(row.purpose), row.person_id, row.next_path, row.id
            )

    # --- registering with the card ---------------------------------------------------------

    def keep_card(self, attempt_id: uuid.UUID, card: CardIdentity) -> None:
        with self._database.unit_of_work() as uow:
            row = uow.session.get(EidAttempt, attempt_id)
            if row is not None:
                row.card = {
                    **registration_fields(card),
                    "pseudonym_digest": self._digester.digest(card.pseudonym),
                    "document_type": card.document_type,
                }
                uow.commit()

    def kept_card(self, browser_token: str | None) -> KeptCard | None:
        """The card this browser read for a registration, unused and in time."""
        if not browser_token or len(browser_token) > 100:
            return None
        with self._database.unit_of_work() as uow:
            row = uow.session.scalar(
                select(EidAttempt)
                .filter_by(browser_digest=self._digester.digest(browser_token))
                .where(EidAttempt.card.is_not(None), EidAttempt.consumed_at.is_(None))
                .order_by(EidAttempt.created_at.desc())
            )
            if row is None or row.card is None:
                return None
            if self._clock.now() - row.created_at > 2 * ATTEMPT_LIFETIME:
                return None
            card = dict(row.card)
            digest, kind = card.pop("pseudonym_digest"), card.pop("document_type")
            return KeptCard(row.id, card, digest, kind)

    def bind_registered(self, person_id: uuid.UUID, kept: KeptCard) -> bool:
        """Bind the card to the account just made from its data; False if it was used already."""
        now = self._clock.now()
        with self._database.unit_of_work() as uow:
            consumed = uow.session.execute(
                update(EidAttempt)
                .where(EidAttempt.id == kept.attempt_id, EidAttempt.consumed_at.is_(None))
                .values(consumed_at=now)
                .execution_options(synchronize_session=False)
            )
            taken = uow.session.scalar(
                select(EidBinding.id).filter_by(pseudonym_digest=kept.pseudonym_digest)
            )
            person = uow.session.get(Person, person_id)
            if not rows_affected(consumed) or taken is not None or person is None:
                return False
            uow.session.add(
                EidBinding(
                    person_id=person_id,
                    pseudonym_digest=kept.pseudonym_digest,
                    document_type=kept.document_type[:5],
                    bound_at=now,
                )
            )
            _prove(person, now)
            record(
                uow.session, self._clock, _audit(person_id, BindOutcome.BOUND, kept.document_type)
            )
            uow.commit()
        return True

    def forget_card(self, attempt_id: uuid.UUID) -> None:
        with self._database.unit_of_work() as uow:
            uow.session.execute(
                update(EidAttempt)
                .where(EidAttempt.id == attempt_id)
                .values(consumed_at=self._clock.now(), card=None)
                .execution_options(synchronize_session=False)
            )
            uow.commit()

    def refused(self, person_id: uuid.UUID | None, reason: str) -> None:
        """A failed or refused eID run is audited: it never changes a level, but it is seen."""
        with self._database.unit_of_work() as uow:
            record(uow.session, self._clock, _failure_audit(person_id, reason))
            uow.commit()

    # --- cards and accounts ----------------------------------------------------------------

    def person_with(self, card: CardIdentity) -> uuid.UUID | None:
        with self._database.unit_of_work() as uow:
            found: uuid.UUID | None = uow.session.scalar(
                select(EidBinding.person_id).filter_by(
                    pseudonym_digest=self._digester.digest(card.pseudonym)
                )
            )
            return found

    def bind(self, person_id: uuid.UUID, card: CardIdentity) -> BindOutcome:
        digest = self._digester.digest(card.pseudonym)
        with self._database.unit_of_work() as uow:
            person = uow.session.get(Person, person_id)
            if person is None:
                return BindOutcome.DATA_DISAGREE
            outcome = _binding_problem(uow.session, person, card, digest)
            if outcome is None:
                uow.session.add(_binding(person_id, card, digest, self._clock.now()))
                _prove(person, self._clock.now())
                outcome = BindOutcome.BOUND
            record(uow.session, self._clock, _audit(person_id, outcome, card.document_type))
            uow.commit()
        return outcome


def _failure_audit(person_id: uuid.UUID | None, reason: str) -> AuditEntry:
    return AuditEntry(
        action="identity.eid_failed",
        actor=f"person:{person_id}" if person_id else "anonymous",
        subject_type="person" if person_id else None,
        subject_id=str(person_id) if person_id else None,
        details={"reason": reason},
    )


def _finish(session: Session, attempt_id: uuid.UUID, now: datetime) -> bool:
    result = session.execute(
        update(EidAttempt)
        .where(EidAttempt.id == attempt_id, EidAttempt.finished_at.is_(None))
        .values(finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(rows_affected(result))


def _binding_problem(
    session: Session, person: Person, card: CardIdentity, digest: str
) -> BindOutcome | None:
    bound = session.scalar(select(EidBinding).filter_by(person_id=person.id))
    if bound is not None:
        return BindOutcome.CONFIRMED if bound.pseudonym_digest == digest else BindOutcome.OTHER_CARD
    if session.scalar(select(EidBinding.id).filter_by(pseudonym_digest=digest)) is not None:
        return BindOutcome.CARD_ELSEWHERE
    return None if card_matches(person, card) else BindOutcome.DATA_DISAGREE


def registration_fields(card: CardIdentity) -> dict[str, str]:
    """The registration form's personal data, as the card states them."""
    return {
        "academic_title": "",
        "given_names": card.given_names,
        "family_name": card.family_name,
        "birth_name": card.birth_name or "",
        "birth_date": card.birth_date.isoformat(),
        "birth_place": card.birth_place,
        "street": card.street,
        "house_number": card.house_number,
        "postal_code": card.postal_code,
        "city": card.city,
    }


def card_matches(person: Person, card: CardIdentity) -> bool:
    """The registry's matching rules, with the card as the authoritative side."""
    account_birth_name = person.birth_name or person.family_name
    card_birth_name = card.birth_name or card.family_name
    return (
        person.birth_date == card.birth_date
        and names_agree(person.family_name, card.family_name)
        and given_names_agree(person.given_names, card.given_names)
        and names_agree(account_birth_name, card_birth_name)
    )


def _prove(person: Person, now: datetime) -> None:
    # eID and in-person checks are both level 4; a newer proof is recorded as the newer source.
    person.identity_proofing = IdentityProofing.EID.value
    person.identity_verified_at = now
    person.updated_at = now


def _binding(person_id: uuid.UUID, card: CardIdentity, digest: str, now: datetime) -> EidBinding:
    return EidBinding(
        person_id=person_id,
        pseudonym_digest=digest,
        document_type=card.document_type[:5],
        bound_at=now,
    )


def _audit(person_id: uuid.UUID, outcome: BindOutcome, document_type: str) -> AuditEntry:
    refused = outcome not in {BindOutcome.BOUND, BindOutcome.CONFIRMED}
    return AuditEntry(
        action="identity.eid_refused" if refused else f"identity.eid_{outcome.value}",
        actor=f"person:{person_id}",
        subject_type="person",
        subject_id=str(person_id),
        details={"outcome": outcome.value, "document_type": document_type},
    )
