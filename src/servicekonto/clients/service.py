"""Use cases on registered procedures; each owns its transaction and audits what it changes.

A client secret is shown once, to the operator who created or rotated it, and stored only as
a keyed digest: a copy of the database authenticates no one.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from dataclasses import dataclass
from time import monotonic

from sqlalchemy.exc import IntegrityError

from servicekonto.audit.service import AuditEntry, record
from servicekonto.clients.errors import (
    ClientExistsError,
    ClientNotConfidentialError,
    UnknownAuthorityError,
    UnknownClientError,
)
from servicekonto.clients.models import OidcClient
from servicekonto.clients.repository import ClientRepository
from servicekonto.clients.schemas import (
    SECRET_AUTH_METHODS,
    ClientOut,
    ClientSpec,
    ClientWithSecret,
)
from servicekonto.clock import Clock
from servicekonto.security.secrets import Digester, new_token
from servicekonto.store.engine import Database
from servicekonto.store.uow import UnitOfWork

SECRET_DIGEST_PURPOSE = "client-secret"
SECRET_KIND = "cs"  # handed out as sk_cs_…
# How long the token endpoints trust a client row they read (see ClientCache): a client disabled
# or given a new secret by another process (another worker, the CLI) is refused by this one
# within this many seconds; by the process that made the change at once.
CLIENT_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class ClientRecord:
    """A client as the token endpoints need it: its registration and its secret's digest."""

    client: ClientOut
    secret_digest: str | None


class ClientCache:
    """Client rows of one database, each kept for CLIENT_CACHE_SECONDS after it was read.

    Every token, introspection and userinfo request authenticates or checks a client; reading
    its row each time was a third of the token endpoint's database work. Only clients that
    exist are kept (an unknown id must not fill memory), and every change made through a
    ClientService in this process forgets the client at once.
    """

    def __init__(self, seconds: float = CLIENT_CACHE_SECONDS) -> None:
        self._seconds = seconds
        self._entries: dict[str, tuple[float, ClientRecord]] = {}
        # When each client was last forgotten: a row read before that is not put back.
        self._forgotten: dict[str, float] = {}

    def get(self, client_id: str) -> ClientRecord | None:
        entry = self._entries.get(client_id)
        if entry is None or monotonic() - entry[0] > self._seconds:
            return None
        return entry[1]

    def put(self, record: ClientRecord, read_at: float) -> None:
        client_id = record.client.client_id
        if read_at > self._forgotten.get(client_id, float("-inf")):
            self._entries[client_id] = (read_at, record)

    def forget(self, client_id: str) -> None:
        self._forgotten[client_id] = monotonic()
        self._entries.pop(client_id, None)


_caches: weakref.WeakKeyDictionary[Database, ClientCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def cache_for(database: Database) -> ClientCache:
    """One cache per database handle, shared by every ClientService of this process on it."""
    with _caches_lock:
        cache = _caches.get(database)
        if cache is None:
            cache = _caches[database] = ClientCache()
        return cache


def digester_for(root_secret: str) -> Digester:
    return Digester(root_secret, SECRET_DIGEST_PURPOSE)


class ClientService:
    def __init__(self, database: Database, clock: Clock, digester: Digester) -> None:
        self._database = database
        self._clock = clock
        self._digester = digester
        self._cache = cache_for(database)
        # Compared against when there is no digest to compare with, so that an unknown client
        # id costs the same time as a wrong secret and timing does not reveal which ids exist.
        self._decoy_digest = digester.digest(new_token(SECRET_KIND))

    def add(self, spec: ClientSpec, authority_id: uuid.UUID, actor: str) -> ClientWithSecret:
        """Register a procedure; confidential clients with secret-based auth get a secret."""
        secret = new_token(SECRET_KIND) if spec.uses_secret else None
        with self._database.unit_of_work() as uow:
            repository = ClientRepository(uow.session)
            if repository.exists(spec.client_id):
                raise ClientExistsError(spec.client_id)
            client = _insert(uow, repository, self._new_client(spec, authority_id, secret))
            record(uow.session, self._clock, _entry("client.added", client, actor))
            result = _with_secret(client, secret)
            uow.commit()
        return result

    def get(self, client_id: str) -> ClientOut | None:
        with self._database.unit_of_work() as uow:
            client = ClientRepository(uow.session).by_client_id(client_id)
            return None if client is None else ClientOut.model_validate(client)

    def lookup(self, client_id: str) -> ClientRecord | None:
        """The client with its secret's digest, from the cache if read in the last seconds."""
        cached = self._cache.get(client_id)
        if cached is not None:
            return cached
        read_at = monotonic()
        with self._database.reader() as session:
            record = _record(ClientRepository(session).by_client_id(client_id))
        if record is None:
            return None
        self._cache.put(record, read_at)
        return record

    def is_cached(self, client_id: str) -> bool:
        """True when `lookup` would answer from the cache, without the database."""
        return self._cache.get(client_id) is not None

    def secret_matches(self, record: ClientRecord | None, secret: str) -> bool:
        """True only for an enabled client whose secret matches, compared in constant time."""
        usable = record is not None and not record.client.disabled
        expected = record.secret_digest if record is not None and usable else None
        # The digest work is done either way (see _decoy_digest).
        matches = self._digester.matches(secret, expected or self._decoy_digest)
        return matches and expected is not None

    def rotate_secret(
        self, client_id: str, actor: str, secret: str | None = None
    ) -> ClientWithSecret:
        """A new secret replaces the old one at once; the old one stops working.

        `secret` is for seeded demo procedures only, whose documented secret must keep working.
        """
        secret = secret or new_token(SECRET_KIND)
        with self._database.unit_of_work() as uow:
            repository = ClientRepository(uow.session)
            client = _existing(repository, client_id)
            if client.token_endpoint_auth_method not in SECRET_AUTH_METHODS:
                raise ClientNotConfidentialError(client_id, client.token_endpoint_auth_method)
            now = self._clock.now()
            client.secret_digest = self._digester.digest(secret)
            client.secret_rotated_at = client.updated_at = now
            repository.save(client)
            record(uow.session, self._clock, _entry("client.secret_rotated", client, actor))
            result = _with_secret(client, secret)
            uow.commit()
        self._cache.forget(client_id)
        return result

    def disable(self, client_id: str, actor: str) -> ClientOut:
        """Stop the client from authenticating; disabling twice changes nothing."""
        with self._database.unit_of_work() as uow:
            repository = ClientRepository(uow.session)
            client = _existing(repository, client_id)
            if client.disabled_at is not None:
                return ClientOut.model_validate(client)
            client.disabled_at = client.updated_at = self._clock.now()
            repository.save(client)
            record(uow.session, self._clock, _entry("client.disabled", client, actor))
            result = ClientOut.model_validate(client)
            uow.commit()
        self._cache.forget(client_id)
        return result

    def authenticate_secret(self, client_id: str, secret: str) -> bool:
        """True only for an enabled client whose secret matches, compared in constant time."""
        with self._database.unit_of_work() as uow:
            record = _record(ClientRepository(uow.session).by_client_id(client_id))
        return self.secret_matches(record, secret)

    def list(self, authority_id: uuid.UUID | None = None) -> list[ClientOut]:
        with self._database.unit_of_work() as uow:
            clients = ClientRepository(uow.session).all(authority_id)
            return [ClientOut.model_validate(client) for client in clients]

    def _new_client(
        self, spec: ClientSpec, authority_id: uuid.UUID, secret: str | None
    ) -> OidcClient:
        now = self._clock.now()
        return OidcClient(
            **spec.model_dump(mode="json", exclude={"authority"}),
            authority_id=authority_id,
            secret_digest=None if secret is None else self._digester.digest(secret),
            created_at=now,
            updated_at=now,
        )


def _insert(uow: UnitOfWork, repository: ClientRepository, client: OidcClient) -> OidcClient:
    try:
        return repository.add(client)
    except IntegrityError:
        uow.session.rollback()
        # The id was free a moment ago: another operator won the race for it.
        if repository.exists(client.client_id):
            raise ClientExistsError(client.client_id) from None
        # Otherwise the foreign key refused the authority (capabilities refer by id only).
        raise UnknownAuthorityError(client.authority_id) from None


def _existing(repository: ClientRepository, client_id: str) -> OidcClient:
    client = repository.by_client_id(client_id)
    if client is None:
        raise UnknownClientError(client_id)
    return client


def _record(client: OidcClient | None) -> ClientRecord | None:
    if client is None:
        return None
    return ClientRecord(ClientOut.model_validate(client), client.secret_digest)


def _with_secret(client: OidcClient, secret: str | None) -> ClientWithSecret:
    out = ClientOut.model_validate(client)
    return ClientWithSecret(**out.model_dump(), client_secret=secret)


def _entry(action: str, client: OidcClient, actor: str) -> AuditEntry:
    # Never the secret, nor its digest: the audit trail is read by more people than the table.
    return AuditEntry(
        action=action,
        actor=actor,
        subject_type="oidc_client",
        subject_id=client.client_id,
        authority_id=client.authority_id,
        details={"client_id": client.client_id, "authority_id": str(client.authority_id)},
    )
