"""Storage behaves the same on SQLite and PostgreSQL: time zones, foreign keys, units of work."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from servicekonto.authorities.models import Authority
from servicekonto.clock import FixedClock
from servicekonto.store import engine as engine_module
from servicekonto.store.engine import Database, safe_url
from servicekonto.store.schema import alembic_config, current_revision, head_revision


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


# --- revisions without Alembic (the readiness probe) -------------------------------------------


def test_head_and_current_revision_agree_with_alembic(db: Database) -> None:
    with db.connection() as connection:
        assert current_revision(connection) == (
            MigrationContext.configure(connection).get_current_revision()
        )
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert [head_revision()] == heads


def test_a_database_without_migrations_has_no_revision(empty_database_url: str) -> None:
    database = Database.from_url(empty_database_url)
    try:
        with database.connection() as connection:
            assert current_revision(connection) is None
    finally:
        database.dispose()


# --- pooled connections on PostgreSQL: pinged only when idle, reads in autocommit -------------


def _backend_pid(database: Database) -> int:
    with database.unit_of_work() as uow:
        return int(uow.session.scalar(text("SELECT pg_backend_pid()")))


def _terminate(postgres_url: str, pid: int) -> None:
    """What a PostgreSQL restart does to a pooled connection."""
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()


@pytest.mark.postgres
def test_an_idle_connection_the_server_closed_is_replaced_before_use(
    race_db: Database, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _backend_pid(race_db)
    _terminate(postgres_url, pid)
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.0)  # every connection is "idle"
    assert _backend_pid(race_db) != pid, "pinged, found dead, replaced: the work succeeded"


@pytest.mark.postgres
def test_a_busy_connection_the_server_closed_fails_once_and_the_pool_recovers(
    race_db: Database, postgres_url: str
) -> None:
    """Without a ping per checkout, a connection used moments ago is trusted: after a restart
    the request on it fails, SQLAlchemy invalidates the pool, and the next one succeeds."""
    pid = _backend_pid(race_db)
    _terminate(postgres_url, pid)
    with pytest.raises(OperationalError) as failed:
        _backend_pid(race_db)
    assert failed.value.connection_invalidated
    assert _backend_pid(race_db) != pid


@pytest.mark.postgres
def test_readers_run_in_autocommit_and_leave_the_connection_transactional(
    race_db: Database,
) -> None:
    with race_db.reader() as session:
        session.execute(text("SELECT 1"))
        assert session.connection().connection.driver_connection.autocommit
    with race_db.unit_of_work() as uow:  # the same pooled connection (LIFO), reset on return
        uow.session.execute(text("SELECT 1"))
        assert not uow.session.connection().connection.driver_connection.autocommit
