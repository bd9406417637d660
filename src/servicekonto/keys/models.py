"""A signing key and its life: published first, then signing, then published until its
tokens have expired, then gone.

```mermaid
stateDiagram-v2
    [*] --> published: keys rotate (activates_at in the future)
    published --> signing: activates_at reached (the newest active key of its algorithm signs)
    signing --> retiring: a newer key of the same algorithm activates
    retiring --> [*]: expires_at reached (no token it signed is still valid)
```

The state is derived from the times, so every instance agrees without coordination: a
rotation written to the database is picked up by all of them at the same moment.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from servicekonto.store.base import Base, uuid_primary_key


class SigningKey(Base):
    __tablename__ = "signing_keys"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    # ES256 by default; RS256 for relying parties that cannot verify ECDSA.
    alg: Mapped[str] = mapped_column(String(10), index=True)
    # The private key as a JWK, encrypted under a key derived from the service's secret.
    private_jwk_sealed: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    # Published from creation; signs from here on (unless a newer key has activated).
    activates_at: Mapped[datetime]
    # Set when a newer key takes over: published until then, gone afterwards.
    expires_at: Mapped[datetime | None]

    def is_published(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at

    def is_active(self, now: datetime) -> bool:
        return self.activates_at <= now and self.is_published(now)
