"""An issued access token, recorded by its `jti`.

The token itself is a signed JWT a resource server can check offline; the row exists so that
revocation (RFC 7009) and introspection (RFC 7662) can answer for it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from servicekonto.store.base import Base, uuid_primary_key


class IssuedToken(Base):
    __tablename__ = "issued_tokens"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    # None for procedure-to-service tokens (client_credentials): the client is the subject.
    person_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    scope: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]

    def is_valid(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at
