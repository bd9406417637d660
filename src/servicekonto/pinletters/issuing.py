"""Issuing a letter to the registry's address, inside the caller's unit of work."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from servicekonto.config import LetterSettings
from servicekonto.pinletters.models import LetterStatus, PinLetter
from servicekonto.pinletters.pins import new_pin
from servicekonto.pinletters.repository import LetterRepository
from servicekonto.registry.port import ResidentRecord
from servicekonto.security.encryption import SecretBox
from servicekonto.security.passwords import PasswordHasher

SEAL_PURPOSE = "pin-letter"
_NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class LetterTools:
    hasher: PasswordHasher
    box: SecretBox
    settings: LetterSettings


def recipient_name(resident: ResidentRecord) -> str:
    title = f"{resident.academic_title} " if resident.academic_title else ""
    return f"{title}{resident.given_names} {resident.family_name}"


def letter_number(now: datetime) -> str:
    tail = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(8))
    return f"SK-{now.year}-{tail}"


def issue_letter(
    session: Session,
    person_id: uuid.UUID,
    resident: ResidentRecord,
    tools: LetterTools,
    now: datetime,
) -> PinLetter:
    """A queued letter with a fresh PIN to the address the registry holds (never the typed one)."""
    pin = new_pin()
    letter_id = uuid.uuid4()
    address = resident.address
    return LetterRepository(session).add(
        PinLetter(
            id=letter_id,
            letter_number=letter_number(now),
            person_id=person_id,
            resident_id=resident.resident_id,
            recipient=recipient_name(resident),
            street=address.street,
            house_number=address.house_number,
            postal_code=address.postal_code,
            city=address.city,
            pin_hash=tools.hasher.hash(pin),
            # Bound to the letter: a sealed PIN copied to another row does not open.
            pin_sealed=tools.box.encrypt(pin.encode(), letter_id.bytes),
            attempts=0,
            status=LetterStatus.QUEUED.value,
            created_at=now,
            expires_at=now + timedelta(days=tools.settings.validity_days),
        )
    )


def unseal_pin(letter: PinLetter, box: SecretBox) -> str | None:
    if letter.pin_sealed is None:
        return None
    return box.decrypt(letter.pin_sealed, letter.id.bytes).decode()


def same_address(letter: PinLetter, resident: ResidentRecord) -> bool:
    """Is the resident still registered where the letter went? A move voids the letter."""
    address = resident.address
    return (letter.street, letter.house_number, letter.postal_code, letter.city) == (
        address.street,
        address.house_number,
        address.postal_code,
        address.city,
    )
