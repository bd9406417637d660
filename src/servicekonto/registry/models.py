"""The residents the in-process mock registry answers from (loaded by `registry import`)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from servicekonto.store.base import Base


class RegistryResident(Base):
    __tablename__ = "registry_residents"

    resident_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    academic_title: Mapped[str | None] = mapped_column(String(50))
    given_names: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    birth_name: Mapped[str | None] = mapped_column(String(200))
    # Candidates are found by birth date (exact in every match), then compared in full.
    birth_date: Mapped[date] = mapped_column(Date, index=True)
    birth_place: Mapped[str] = mapped_column(String(200))
    street: Mapped[str] = mapped_column(String(200))
    house_number: Mapped[str] = mapped_column(String(20))
    postal_code: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(200))
    municipality: Mapped[str] = mapped_column(String(64))
