"""The person data a procedure may be given, read for the token endpoints without the ORM.

Every userinfo answer and every ID token with claims reads the person behind the token; a
Core statement built once and a plain record cost a fraction of loading the whole
`Person` into a Session (issue 10's profile).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime

from sqlalchemy import bindparam, select

from servicekonto.accounts.models import Person
from servicekonto.store.engine import Database


@dataclass(slots=True)
class ReleasablePerson:
    """What `federation.attributes` releases of a person (it is a `VerifiedPerson`).

    Not frozen only because the protocols it meets declare plain attributes; nothing sets them.
    """

    email: str
    email_verified_at: datetime | None
    academic_title: str | None
    given_names: str
    family_name: str
    birth_name: str | None
    birth_date: date
    birth_place: str
    street: str
    house_number: str
    postal_code: str
    city: str
    identity_proofing: str
    identity_verified_at: datetime | None

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


_persons = Person.metadata.tables[Person.__tablename__]
_BY_ID = select(*(_persons.c[field.name] for field in fields(ReleasablePerson))).where(
    _persons.c.id == bindparam("person_id")
)


def releasable_person(database: Database, person_id: uuid.UUID) -> ReleasablePerson | None:
    with database.reading() as connection:
        row = connection.execute(_BY_ID, {"person_id": person_id}).first()
    return None if row is None else ReleasablePerson(**row._asdict())
