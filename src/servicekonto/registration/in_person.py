"""The in-person identity check at the citizens' office: staff compare the ID document in front
of them with the account and record what they saw — the document type and only the last four
characters of its number (data minimisation: enough to find the check again, not the document).

A confirmed check makes the account's identity proofing `in_person` (level `high`); a refused
one changes nothing but is recorded and audited just the same.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from servicekonto.accounts.models import Person
from servicekonto.accounts.validation import clean_email
from servicekonto.audit.service import AuditEntry, record
from servicekonto.clock import Clock
from servicekonto.store.base import Base, uuid_primary_key
from servicekonto.store.engine import Database
from servicekonto.trust.levels import IdentityProofing, identity_level

# Personalausweis and passport numbers use digits and the consonants of ICAO Doc 9303 here;
# residence permits too. Four of them, upper case.
LAST_FOUR = re.compile(r"^[0-9A-Z]{4}$")


class DocumentType(StrEnum):
    ID_CARD = "id_card"  # Personalausweis
    PASSPORT = "passport"  # Reisepass
    RESIDENCE_PERMIT = "residence_permit"  # elektronischer Aufenthaltstitel
    EU_ID = "eu_id"  # ID card of another EU/EEA state


class Decision(StrEnum):
    CONFIRMED = "confirmed"
    REFUSED = "refused"


class InPersonCheck(Base):
    __tablename__ = "in_person_checks"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    authority_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("authorities.id"))
    staff_person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    document_type: Mapped[str] = mapped_column(String(30))
    document_number_last4: Mapped[str] = mapped_column(String(4))
    decision: Mapped[str] = mapped_column(String(10))
    checked_at: Mapped[datetime]


@dataclass(frozen=True)
class CheckEntry:
    document_type: DocumentType
    last4: str
    decision: Decision


def parse_check(values: dict[str, str]) -> CheckEntry | dict[str, str]:
    """The form's values as an entry, or the problems by field (message ids)."""
    problems: dict[str, str] = {}
    last4 = values.get("last4", "").strip().upper()
    if values.get("document_type") not in {kind.value for kind in DocumentType}:
        problems["document_type"] = "in_person.document_type_missing"
    if not LAST_FOUR.fullmatch(last4):
        problems["last4"] = "in_person.last4_invalid"
    if values.get("decision") not in {decision.value for decision in Decision}:
        problems["decision"] = "in_person.decision_missing"
    if problems:
        return problems
    return CheckEntry(DocumentType(values["document_type"]), last4, Decision(values["decision"]))


@dataclass(frozen=True)
class StaffActor:
    person_id: uuid.UUID
    authority_id: uuid.UUID


class InPersonChecks:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock

    def find(self, email: str) -> Person | None:
        """The account to check, looked up by its exact login address."""
        address, problem = clean_email(email)
        if problem:
            return None
        with self._database.unit_of_work() as uow:
            person = uow.session.scalar(select(Person).filter_by(email=address))
            if person is not None:
                uow.session.expunge(person)
            return person

    def record(self, staff: StaffActor, person_id: uuid.UUID, entry: CheckEntry) -> bool:
        """Store the check; False if there is no such account. Never lowers a proofing."""
        now = self._clock.now()
        with self._database.unit_of_work() as uow:
            person = uow.session.get(Person, person_id)
            if person is None:
                return False
            uow.session.add(_row(staff, person_id, entry, now))
            if entry.decision == Decision.CONFIRMED and _raises(person.identity_proofing):
                person.identity_proofing = IdentityProofing.IN_PERSON.value
                person.identity_verified_at = now
                person.updated_at = now
            record(uow.session, self._clock, _audit(staff, person_id, entry))
            uow.commit()
        return True


def _raises(proofing: str) -> bool:
    return identity_level(proofing) < identity_level(IdentityProofing.IN_PERSON)


def _row(
    staff: StaffActor, person_id: uuid.UUID, entry: CheckEntry, now: datetime
) -> InPersonCheck:
    return InPersonCheck(
        person_id=person_id,
        authority_id=staff.authority_id,
        staff_person_id=staff.person_id,
        document_type=entry.document_type.value,
        document_number_last4=entry.last4,
        decision=entry.decision.value,
        checked_at=now,
    )


def _audit(staff: StaffActor, person_id: uuid.UUID, entry: CheckEntry) -> AuditEntry:
    return AuditEntry(
        action=f"identity.in_person_{entry.decision.value}",
        actor=f"staff:{staff.person_id}",
        subject_type="person",
        subject_id=str(person_id),
        authority_id=staff.authority_id,
        details={"document_type": entry.document_type.value},
    )
