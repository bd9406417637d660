"""Use cases on SAML service providers: register from metadata, look up, remember request IDs
and which sessions reached which provider. Each owns its transaction and audits changes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from servicekonto.audit.service import AuditEntry, record
from servicekonto.clock import Clock
from servicekonto.errors import ServicekontoError
from servicekonto.saml.metadata import MetadataError, SpMetadata, parse_sp_metadata
from servicekonto.saml.models import SamlParticipation, ServiceProvider
from servicekonto.saml.repository import ProviderRepository
from servicekonto.saml.signing import RSA_SHA256, SIGNATURE_ALGORITHMS
from servicekonto.store.engine import Database

MAX_ENTITY_ID = 100


class ProviderExistsError(ServicekontoError):
    """A provider with this entityID is registered already."""


@dataclass(frozen=True)
class ProviderOptions:
    authority_id: uuid.UUID
    name: str | None = None
    metadata_url: str | None = None
    require_signed_requests: bool = True
    signature_algorithm: str = RSA_SHA256
    minimum_trust_level: int = 1
    consent_required: bool = True


@dataclass(frozen=True)
class RegisteredProvider:
    """A provider as the SSO endpoint needs it: its settings and its parsed metadata."""

    entity_id: str
    name: str
    authority_id: uuid.UUID
    metadata: SpMetadata
    require_signed_requests: bool
    signature_algorithm: str
    minimum_trust_level: int
    consent_required: bool


class ProviderService:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock

    def add(self, metadata_xml: bytes, options: ProviderOptions, actor: str) -> RegisteredProvider:
        """Register a provider from its metadata (MetadataError when the file is unusable)."""
        parsed = parse_sp_metadata(metadata_xml)
        if len(parsed.entity_id) > MAX_ENTITY_ID:
            # Consents, releases and subjects name a procedure in 100 characters, as for OIDC.
            raise MetadataError(
                f"an entityID longer than {MAX_ENTITY_ID} characters is not supported"
            )
        if options.signature_algorithm not in SIGNATURE_ALGORITHMS:
            raise MetadataError(f"unsupported signature algorithm {options.signature_algorithm}")
        now = self._clock.now()
        row = ServiceProvider(
            entity_id=parsed.entity_id,
            name=(options.name or parsed.name or parsed.entity_id)[:200],
            authority_id=options.authority_id,
            metadata_xml=metadata_xml.decode("utf-8"),
            metadata_url=options.metadata_url,
            require_signed_requests=options.require_signed_requests,
            signature_algorithm=options.signature_algorithm,
            minimum_trust_level=options.minimum_trust_level,
            consent_required=options.consent_required,
            created_at=now,
            updated_at=now,
        )
        with self._database.unit_of_work() as uow:
            repository = ProviderRepository(uow.session)
            if repository.by_entity_id(parsed.entity_id) is not None:
                raise ProviderExistsError(parsed.entity_id)
            try:
                repository.add(row)
            except IntegrityError:
                raise ProviderExistsError(parsed.entity_id) from None
            record(uow.session, self._clock, _entry("saml_provider.added", row, actor))
            uow.commit()
        return _registered(row, parsed)

    def get(self, entity_id: str) -> RegisteredProvider | None:
        """An enabled provider, or None (unknown and disabled look the same to a caller)."""
        with self._database.session() as session:
            row = ProviderRepository(session).by_entity_id(entity_id)
            if row is None or row.disabled_at is not None:
                return None
            return _registered(row, parse_sp_metadata(row.metadata_xml.encode("utf-8")))

    def all(self) -> list[RegisteredProvider]:
        with self._database.session() as session:
            rows = ProviderRepository(session).all()
            return [_registered(row, parse_sp_metadata(row.metadata_xml.encode())) for row in rows]

    def first_use(self, entity_id: str, request_id: str, fresh_until: datetime) -> bool:
        """True the first time a provider's request ID is seen; False for a replay."""
        with self._database.unit_of_work() as uow:
            repository = ProviderRepository(uow.session)
            repository.forget_requests_before(self._clock.now())
            first = repository.first_use(entity_id, request_id, fresh_until)
            uow.commit()
        return first

    def participated(
        self, login_session_id: uuid.UUID, entity_id: str, name_id: str, session_index: str
    ) -> None:
        with self._database.unit_of_work() as uow:
            ProviderRepository(uow.session).add_participation(
                SamlParticipation(
                    login_session_id=login_session_id,
                    entity_id=entity_id,
                    name_id=name_id,
                    session_index=session_index,
                    created_at=self._clock.now(),
                )
            )
            uow.commit()

    def participations(self, login_session_id: uuid.UUID) -> list[SamlParticipation]:
        with self._database.unit_of_work() as uow:
            found = ProviderRepository(uow.session).participations(login_session_id)
            for item in found:
                uow.session.expunge(item)
            return found

    def sessions_for(
        self, entity_id: str, name_id: str, session_index: str | None
    ) -> set[uuid.UUID]:
        """The login sessions a provider's LogoutRequest names (by NameID and SessionIndex)."""
        with self._database.session() as session:
            found = ProviderRepository(session).participation(entity_id, name_id, session_index)
            return {item.login_session_id for item in found}

    def end_participations(self, login_session_id: uuid.UUID) -> None:
        with self._database.unit_of_work() as uow:
            ProviderRepository(uow.session).end_participations(login_session_id, self._clock.now())
            uow.commit()


def _registered(row: ServiceProvider, parsed: SpMetadata) -> RegisteredProvider:
    return RegisteredProvider(
        entity_id=row.entity_id,
        name=row.name,
        authority_id=row.authority_id,
        metadata=parsed,
        require_signed_requests=row.require_signed_requests,
        signature_algorithm=row.signature_algorithm,
        minimum_trust_level=row.minimum_trust_level,
        consent_required=row.consent_required,
    )


def _entry(action: str, row: ServiceProvider, actor: str) -> AuditEntry:
    return AuditEntry(
        action=action,
        actor=actor,
        subject_type="saml_provider",
        subject_id=row.entity_id,
        details={"authority_id": str(row.authority_id), "name": row.name},
    )
