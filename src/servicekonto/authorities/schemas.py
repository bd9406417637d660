"""What callers hand in to create an authority and what they get back."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from servicekonto.authorities.models import AuthorityKind


class AuthoritySpec(BaseModel):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
    name: str = Field(min_length=2, max_length=200)
    kind: AuthorityKind
    parent_slug: str | None = None


class AuthorityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    name: str
    kind: AuthorityKind
    parent_id: uuid.UUID | None
