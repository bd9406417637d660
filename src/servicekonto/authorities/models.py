"""An authority (Behörde) of the district and the kinds there are."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from servicekonto.store.base import Base, uuid_primary_key


class AuthorityKind(StrEnum):
    DISTRICT = "district"  # Kreisverwaltung
    MUNICIPAL_ASSOCIATION = "municipal_association"  # Verbandsgemeindeverwaltung
    MUNICIPALITY = "municipality"  # Stadt- oder Gemeindeverwaltung


_KIND_VALUES = ", ".join(f"'{kind.value}'" for kind in AuthorityKind)


class Authority(Base):
    __tablename__ = "authorities"
    __table_args__ = (CheckConstraint(f"kind IN ({_KIND_VALUES})", name="kind"),)

    id: Mapped[uuid.UUID] = uuid_primary_key()
    # Stable short name used in configuration, URLs and CLI arguments.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("authorities.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime]
