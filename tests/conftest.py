"""Shared fixtures: real databases (SQLite and PostgreSQL), settings, app clients.

Storage tests take the `db` fixture and so run twice: on a copy of a migrated SQLite file, and
inside a rolled-back transaction on a PostgreSQL schema that belongs to this test run alone.
PostgreSQL is found through SERVICEKONTO_TEST_POSTGRES_URL; when it does not answer those tests
are skipped with the reason, unless SERVICEKONTO_REQUIRE_POSTGRES=1 makes that a failure.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from servicekonto.app import create_app
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.observability import configure_logging
from servicekonto.store.engine import Database, create_database_engine
from servicekonto.store.schema import upgrade_to_head

POSTGRES_URL = os.environ.get(
    "SERVICEKONTO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("SERVICEKONTO_REQUIRE_POSTGRES") == "1"
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
# Variables that configure the tests themselves; every other SERVICEKONTO_ variable is cleared.
_TEST_VARIABLES = {"SERVICEKONTO_TEST_POSTGRES_URL", "SERVICEKONTO_REQUIRE_POSTGRES"}
pytest_plugins = ["tests.web_helpers"]

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session", autouse=True)
def _logging_through_stdlib() -> None:
    """As in the service, structlog goes through the standard library (so caplog sees it)."""
    configure_logging("info", "console")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own SERVICEKONTO_* settings must not leak into the tests."""
    for name in list(os.environ):
        if name.startswith("SERVICEKONTO_") and name not in _TEST_VARIABLES:
            monkeypatch.delenv(name)


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server URL, after proving it answers (or skipping/failing with the reason)."""
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure to connect means: no PostgreSQL here
        reason = f"PostgreSQL at {make_url(POSTGRES_URL).render_as_string()} unreachable: {error}"
        if REQUIRE_POSTGRES:
            pytest.fail(f"SERVICEKONTO_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    finally:
        engine.dispose()
    return POSTGRES_URL


def schema_url(server_url: str, schema: str) -> str:
    """A URL whose connections work inside one schema (search_path), so runs never meet."""
    return (
        make_url(server_url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


@dataclass
class PostgresSchema:
    name: str
    url: str


@pytest.fixture(scope="session")
def postgres_schema_factory(postgres_url: str) -> Iterator[PostgresSchemaFactory]:
    factory = PostgresSchemaFactory(postgres_url)
    yield factory
    factory.drop_all()


class PostgresSchemaFactory:
    """Creates uniquely named schemas for this test run and drops them at its end."""

    def __init__(self, server_url: str) -> None:
        self._admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self._server_url = server_url
        self._created: list[str] = []

    def create(self) -> PostgresSchema:
        name = f"sk_test_{os.getpid()}_{secrets.token_hex(4)}"
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
        self._created.append(name)
        return PostgresSchema(name=name, url=schema_url(self._server_url, name))

    def drop(self, name: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))

    def drop_all(self) -> None:
        for name in self._created:
            self.drop(name)
        self._admin.dispose()


@pytest.fixture(scope="session")
def migrated_postgres(postgres_schema_factory: PostgresSchemaFactory) -> Iterator[Engine]:
    schema = postgres_schema_factory.create()
    engine = create_database_engine(schema.url)
    with engine.connect() as connection:
        upgrade_to_head(connection)
        connection.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def race_db(postgres_schema_factory: PostgresSchemaFactory) -> Iterator[Database]:
    """A migrated schema behind a real pooled engine, for tests that race connections.

    The `db` fixture's PostgreSQL variant is one connection in one transaction; it cannot race
    itself.
    """
    schema = postgres_schema_factory.create()
    engine = create_database_engine(schema.url)
    with engine.connect() as connection:
        upgrade_to_head(connection)
        connection.commit()
    yield Database(engine)
    engine.dispose()
    postgres_schema_factory.drop(schema.name)


# --- SQLite ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    engine = create_database_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        upgrade_to_head(connection)
        connection.commit()
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


# --- the database fixture --------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database of each backend, isolated to this test."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_template"), path)
        database = Database.from_url(f"sqlite:///{path}")
        yield database
        database.dispose()
        return
    engine: Engine = request.getfixturevalue("migrated_postgres")
    with engine.connect() as connection:
        outer = connection.begin()
        # Services commit; on this connection a commit only releases a savepoint.
        yield Database(connection, session_options={"join_transaction_mode": "create_savepoint"})
        outer.rollback()


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database of each backend with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    factory: PostgresSchemaFactory = request.getfixturevalue("postgres_schema_factory")
    schema = factory.create()
    yield schema.url
    factory.drop(schema.name)


# --- settings, clock, app --------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 21, 9, 30, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var", secret_key=TEST_SECRET_KEY)


@pytest.fixture
def app(settings: Settings, db: Database, clock: FixedClock) -> FastAPI:
    return create_app(settings, database=db, clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as test_client:
        yield test_client
