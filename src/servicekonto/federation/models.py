"""An interaction: a procedure's authentication request waiting for the person.

```mermaid
stateDiagram-v2
    [*] --> waiting: the request is valid but needs the person (login, step-up, consent)
    waiting --> finished: the front end answered the procedure (code or error)
    waiting --> [*]: expired unanswered
```

The request is stored as the protocol front end parsed it, so after the login pages are done the
front end resumes exactly the request the procedure made, not one the browser may have altered.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servicekonto.store.base import Base, uuid_primary_key

# Where the hosted pages send the browser when they are done, per protocol front end: the
# front end then answers the procedure in its own protocol.
RESUME_PATHS = {"oidc": "/oidc/authorize/resume/", "saml": "/saml/sso/resume/"}
DENY_PATHS = {"oidc": "/oidc/authorize/deny/", "saml": "/saml/sso/deny/"}


class Interaction(Base):
    __tablename__ = "interactions"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    protocol: Mapped[str] = mapped_column(String(10))
    client_id: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    @property
    def resume_path(self) -> str:
        return f"{RESUME_PATHS[self.protocol]}{self.id}"

    @property
    def deny_path(self) -> str:
        return f"{DENY_PATHS[self.protocol]}{self.id}"


class Consent(Base):
    """The person agreed that these scopes' attributes go to this procedure."""

    __tablename__ = "consents"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    granted_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class AttributeRelease(Base):
    """One release of attributes to a procedure: which names, at which level — never values."""

    __tablename__ = "attribute_releases"

    id: Mapped[uuid.UUID] = uuid_primary_key()
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(100))
    client_name: Mapped[str] = mapped_column(String(200))
    authority_id: Mapped[uuid.UUID]
    attributes: Mapped[list[str]] = mapped_column(JSON)
    level: Mapped[int] = mapped_column(Integer)
    released_at: Mapped[datetime] = mapped_column(index=True)


class ProcedureSubject(Base):
    """The subject (`sub`) a procedure learned for a person, public or pairwise.

    Lets a procedure address the person later (document safe) by the only identifier it has,
    and only a procedure that really had a login from the person: a subject it never received
    is unknown to it, even if it is the same pairwise value as another procedure's of the sector.
    """

    __tablename__ = "procedure_subjects"
    __table_args__ = (UniqueConstraint("client_id", "subject"),)

    id: Mapped[uuid.UUID] = uuid_primary_key()
    client_id: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    first_seen_at: Mapped[datetime]
