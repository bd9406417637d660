"""Use cases on authorities; each owns its transaction and audits what it changes."""

from __future__ import annotations

from dataclasses import dataclass

from servicekonto.audit.service import AuditEntry, record
from servicekonto.authorities.errors import UnknownParentAuthorityError
from servicekonto.authorities.models import Authority
from servicekonto.authorities.repository import AuthorityRepository
from servicekonto.authorities.schemas import AuthorityOut, AuthoritySpec
from servicekonto.clock import Clock
from servicekonto.store.engine import Database


@dataclass(frozen=True)
class EnsuredAuthority:
    authority: AuthorityOut
    created: bool


class AuthorityService:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock

    def ensure(self, spec: AuthoritySpec, actor: str) -> EnsuredAuthority:
        """Create the authority unless one with its slug exists: safe to run again and again."""
        with self._database.unit_of_work() as uow:
            repository = AuthorityRepository(uow.session)
            existing = repository.by_slug(spec.slug)
            if existing is not None:
                return EnsuredAuthority(AuthorityOut.model_validate(existing), created=False)
            authority = repository.add(self._new_authority(repository, spec))
            record(uow.session, self._clock, _created_entry(authority, actor))
            result = EnsuredAuthority(AuthorityOut.model_validate(authority), created=True)
            uow.commit()
        return result

    def by_slug(self, slug: str) -> AuthorityOut | None:
        with self._database.unit_of_work() as uow:
            found = AuthorityRepository(uow.session).by_slug(slug)
            return None if found is None else AuthorityOut.model_validate(found)

    def list(self) -> list[AuthorityOut]:
        with self._database.unit_of_work() as uow:
            return [AuthorityOut.model_validate(a) for a in AuthorityRepository(uow.session).all()]

    def _new_authority(self, repository: AuthorityRepository, spec: AuthoritySpec) -> Authority:
        parent_id = None
        if spec.parent_slug is not None:
            parent = repository.by_slug(spec.parent_slug)
            if parent is None:
                raise UnknownParentAuthorityError(spec.parent_slug)
            parent_id = parent.id
        return Authority(
            slug=spec.slug,
            name=spec.name,
            kind=spec.kind.value,
            parent_id=parent_id,
            created_at=self._clock.now(),
        )


def _created_entry(authority: Authority, actor: str) -> AuditEntry:
    return AuditEntry(
        action="authority.created",
        actor=actor,
        subject_type="authority",
        subject_id=str(authority.id),
        authority_id=authority.id,
        details={"slug": authority.slug, "kind": authority.kind},
    )
