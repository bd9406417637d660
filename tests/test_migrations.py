"""Migrations run unchanged on both backends and leave the database exactly as the models say."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from servicekonto.models import metadata
from servicekonto.store.engine import create_database_engine
from servicekonto.store.schema import (
    current_revision,
    downgrade_to_base,
    head_revision,
    upgrade_to_head,
)


@pytest.fixture
def connection(empty_database_url: str) -> Iterator[Connection]:
    engine = create_database_engine(empty_database_url)
    with engine.connect() as open_connection:
        yield open_connection
    engine.dispose()


def _drift(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def test_upgrade_head_matches_the_models(connection: Connection) -> None:
    assert current_revision(connection) is None
    upgrade_to_head(connection)
    connection.commit()
    assert current_revision(connection) == head_revision()
    assert _tables(connection) == set(metadata.tables)
    assert _drift(connection) == []


def test_downgrade_to_base_and_upgrade_again(connection: Connection) -> None:
    upgrade_to_head(connection)
    connection.commit()
    downgrade_to_base(connection)
    connection.commit()
    assert _tables(connection) == set()
    upgrade_to_head(connection)
    connection.commit()
    assert _drift(connection) == []


def test_upgrade_is_idempotent(connection: Connection) -> None:
    upgrade_to_head(connection)
    upgrade_to_head(connection)
    connection.commit()
    assert current_revision(connection) == head_revision()


def test_migrations_have_exactly_one_head() -> None:
    assert head_revision()
