"""Authorities: created once, audited once, and nothing written when the input is wrong."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from servicekonto.audit.repository import AuditRepository
from servicekonto.authorities.errors import UnknownParentAuthorityError
from servicekonto.authorities.models import AuthorityKind
from servicekonto.authorities.schemas import AuthoritySpec
from servicekonto.authorities.service import AuthorityService
from servicekonto.clock import FixedClock
from servicekonto.store.engine import Database

DISTRICT = AuthoritySpec(
    slug="kreis-test", name="Kreisverwaltung Test", kind=AuthorityKind.DISTRICT
)


def test_ensure_creates_once_and_audits_once(db: Database, clock: FixedClock) -> None:
    service = AuthorityService(db, clock)
    first = service.ensure(DISTRICT, actor="cli:test")
    second = service.ensure(DISTRICT, actor="cli:test")
    assert first.created and not second.created
    assert first.authority.id == second.authority.id
    with db.session() as session:
        events = AuditRepository(session).for_subject("authority", str(first.authority.id))
    assert [(event.action, event.actor) for event in events] == [("authority.created", "cli:test")]


def test_child_points_to_its_parent(db: Database, clock: FixedClock) -> None:
    service = AuthorityService(db, clock)
    district = service.ensure(DISTRICT, actor="cli:test").authority
    child = AuthoritySpec(
        slug="vg-test",
        name="VG Test",
        kind=AuthorityKind.MUNICIPAL_ASSOCIATION,
        parent_slug="kreis-test",
    )
    assert service.ensure(child, actor="cli:test").authority.parent_id == district.id
    assert [a.slug for a in service.list()] == ["kreis-test", "vg-test"]


def test_unknown_parent_is_refused_and_nothing_is_written(db: Database, clock: FixedClock) -> None:
    service = AuthorityService(db, clock)
    orphan = AuthoritySpec(
        slug="vg-orphan", name="VG Orphan", kind=AuthorityKind.MUNICIPALITY, parent_slug="nope"
    )
    with pytest.raises(UnknownParentAuthorityError):
        service.ensure(orphan, actor="cli:test")
    assert service.list() == []
    with db.session() as session:
        assert AuditRepository(session).by_action("authority.created") == []


@pytest.mark.parametrize(
    "slug", ["A", "Upper-Case", "-leading", "trailing-", "with space", "x" * 70]
)
def test_bad_slugs_are_refused(slug: str) -> None:
    with pytest.raises(ValidationError):
        AuthoritySpec(slug=slug, name="Name", kind=AuthorityKind.MUNICIPALITY)
