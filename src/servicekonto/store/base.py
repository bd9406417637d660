"""The one declarative Base every model derives from.

Constraint names follow a fixed convention so that migrations can address them by name on
PostgreSQL and in SQLite batch mode alike (Alembic cannot alter an unnamed constraint).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import MetaData, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekonto.store.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


def uuid_primary_key() -> Mapped[uuid.UUID]:
    """A random UUID primary key: ids are not guessable and need no database round trip."""
    return mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
