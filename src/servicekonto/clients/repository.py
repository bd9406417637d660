"""Every query on registered procedures (OIDC clients)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekonto.clients.models import OidcClient


class ClientRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, client: OidcClient) -> OidcClient:
        """Insert and flush, so a duplicate id or an unknown authority fails here."""
        self._session.add(client)
        self._session.flush()
        return client

    def by_client_id(self, client_id: str) -> OidcClient | None:
        query = select(OidcClient).where(OidcClient.client_id == client_id)
        return self._session.scalars(query).one_or_none()

    def exists(self, client_id: str) -> bool:
        query = select(OidcClient.id).where(OidcClient.client_id == client_id)
        return self._session.scalars(query).first() is not None

    def all(self, authority_id: uuid.UUID | None = None) -> list[OidcClient]:
        query = select(OidcClient).order_by(OidcClient.client_id)
        if authority_id is not None:
            query = query.where(OidcClient.authority_id == authority_id)
        return list(self._session.scalars(query))

    def save(self, client: OidcClient) -> OidcClient:
        """Flush the changes made to a loaded client."""
        self._session.flush()
        return client
