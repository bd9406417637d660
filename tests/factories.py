"""Rows the storage tests need, written directly (the use cases are tested elsewhere)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from servicekonto.accounts.models import Person


def add_person(session: Session, email: str, now: datetime) -> Person:
    person = Person(
        email=email,
        password_hash="$argon2id$not-checked-here",
        given_names="Anna",
        family_name="Schmitt",
        birth_date=date(1985, 4, 12),
        birth_place="Cochem",
        street="Moselstraße",
        house_number="2",
        postal_code="56812",
        city="Cochem",
        created_at=now,
        updated_at=now,
    )
    session.add(person)
    session.flush()
    return person
