"""Every query on the mock registry's residents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from servicekonto.registry.models import RegistryResident
from servicekonto.registry.port import Address, ResidentRecord


def to_record(row: RegistryResident) -> ResidentRecord:
    return ResidentRecord(
        resident_id=row.resident_id,
        academic_title=row.academic_title,
        given_names=row.given_names,
        family_name=row.family_name,
        birth_name=row.birth_name,
        birth_date=row.birth_date,
        birth_place=row.birth_place,
        address=Address(row.street, row.house_number, row.postal_code, row.city),
        municipality=row.municipality,
    )


def _row_values(record: ResidentRecord) -> dict[str, object]:
    return {
        "resident_id": record.resident_id,
        "academic_title": record.academic_title,
        "given_names": record.given_names,
        "family_name": record.family_name,
        "birth_name": record.birth_name,
        "birth_date": record.birth_date,
        "birth_place": record.birth_place,
        "street": record.address.street,
        "house_number": record.address.house_number,
        "postal_code": record.address.postal_code,
        "city": record.address.city,
        "municipality": record.municipality,
    }


class ResidentRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def born_on(self, birth_date: date) -> list[ResidentRecord]:
        query = select(RegistryResident).where(RegistryResident.birth_date == birth_date)
        return [to_record(row) for row in self._session.scalars(query)]

    def by_id(self, resident_id: str) -> ResidentRecord | None:
        row = self._session.get(RegistryResident, resident_id)
        return to_record(row) if row is not None else None

    def first(self, count: int) -> list[ResidentRecord]:
        query = select(RegistryResident).order_by(RegistryResident.resident_id).limit(count)
        return [to_record(row) for row in self._session.scalars(query)]

    def count(self) -> int:
        return self._session.scalar(select(func.count()).select_from(RegistryResident)) or 0

    def upsert(self, records: Sequence[ResidentRecord], chunk: int = 1000) -> None:
        """Replace the residents with these ids (a re-import after a move changes the address)."""
        for start in range(0, len(records), chunk):
            part = records[start : start + chunk]
            ids = [record.resident_id for record in part]
            self._session.execute(
                delete(RegistryResident).where(RegistryResident.resident_id.in_(ids))
            )
            self._session.execute(insert(RegistryResident), [_row_values(r) for r in part])
