"""Every query on authorities."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekonto.authorities.models import Authority


class AuthorityRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def by_slug(self, slug: str) -> Authority | None:
        return self._session.scalars(select(Authority).where(Authority.slug == slug)).one_or_none()

    def all(self) -> list[Authority]:
        return list(self._session.scalars(select(Authority).order_by(Authority.name)))

    def add(self, authority: Authority) -> Authority:
        self._session.add(authority)
        self._session.flush()
        return authority
