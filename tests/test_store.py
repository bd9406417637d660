"""Storage behaves the same on SQLite and PostgreSQL: time zones, foreign keys, units of work."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, StatementError

from servicekonto.authorities.models import Authority
from servicekonto.clock import FixedClock
from servicekonto.store.engine import Database, safe_url


def _authority(slug: str, created_at: datetime, parent_id: uuid.UUID | None = None) -> Authority:
    return Authority(
        slug=slug,
        name=f"Authority {slug}",
        kind="municipality",
        created_at=created_at,
        parent_id=parent_id,
    )


def _count(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Authority)) or 0


def test_datetimes_come_back_aware_in_utc(db: Database) -> None:
    berlin = timezone(timedelta(hours=1))
    written = datetime(2026, 11, 21, 10, 30, 15, 123456, tzinfo=berlin)
    with db.unit_of_work() as uow:
        uow.session.add(_authority("tz-test", written))
        uow.commit()
    with db.session() as session:
        read = (
            session.scalars(select(Authority).where(Authority.slug == "tz-test")).one().created_at
        )
    assert read.utcoffset() == timedelta(0)
    assert read == written


def test_naive_datetimes_are_refused(db: Database) -> None:
    with db.unit_of_work() as uow:
        uow.session.add(_authority("naive", datetime(2026, 11, 21, 10, 30)))
        with pytest.raises(StatementError, match="naive datetime"):
            uow.session.flush()


def test_leaving_a_unit_of_work_without_commit_writes_nothing(
    db: Database, clock: FixedClock
) -> None:
    def use_case_failing_half_way() -> None:
        with db.unit_of_work() as uow:
            uow.session.add(_authority("half-written", clock.now()))
            uow.session.flush()
            raise RuntimeError("failure half-way through a use case")

    before = _count(db)
    with pytest.raises(RuntimeError, match="half-way"):
        use_case_failing_half_way()
    assert _count(db) == before


def test_foreign_keys_are_enforced(db: Database, clock: FixedClock) -> None:
    with db.unit_of_work() as uow:
        uow.session.add(_authority("orphan", clock.now(), parent_id=uuid.uuid4()))
        with pytest.raises(IntegrityError):
            uow.session.flush()


def test_unique_constraints_are_enforced(db: Database, clock: FixedClock) -> None:
    with db.unit_of_work() as uow:
        uow.session.add(_authority("twice", clock.now()))
        uow.commit()
    with db.unit_of_work() as uow:
        uow.session.add(_authority("twice", clock.now()))
        with pytest.raises(IntegrityError):
            uow.session.flush()


def test_unit_of_work_session_outside_block_is_an_error(db: Database) -> None:
    with pytest.raises(RuntimeError, match="not open"):
        _ = db.unit_of_work().session


def test_safe_url_hides_the_password() -> None:
    assert (
        safe_url("postgresql+psycopg://sk:hunter2@db:5432/sk")
        == "postgresql+psycopg://sk:***@db:5432/sk"
    )
