"""The database handle: engine construction per backend, sessions and a liveness probe."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from servicekonto.config import DatabaseSettings
from servicekonto.errors import DatabaseUnavailableError
from servicekonto.store.uow import UnitOfWork

SQLITE_BUSY_TIMEOUT_MS = 5000


def create_database_engine(url: str, settings: DatabaseSettings | None = None) -> Engine:
    settings = settings or DatabaseSettings()
    if url.startswith("sqlite"):
        return _sqlite_engine(url, settings)
    return create_engine(
        url,
        echo=settings.echo,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_pre_ping=True,
        connect_args={"connect_timeout": max(1, round(settings.connect_timeout))},
    )


def _sqlite_engine(url: str, settings: DatabaseSettings) -> Engine:
    database = make_url(url).database
    if database:
        Path(database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=settings.echo,
        connect_args={"check_same_thread": False, "timeout": settings.connect_timeout},
    )
    event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed while one writer commits; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def safe_url(url: str) -> str:
    """The URL with its password masked, fit for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def first_line(error: BaseException) -> str:
    """The driver's own first line of an error: says what failed without a traceback."""
    original = getattr(error, "orig", None) or error
    message = str(original).strip()
    return message.splitlines()[0] if message else type(original).__name__


class Database:
    """Sessions and units of work over one engine (or, in tests, one connection)."""

    def __init__(
        self, bind: Engine | Connection, session_options: dict[str, Any] | None = None
    ) -> None:
        self.bind = bind
        self.session_factory = sessionmaker(
            bind=bind, expire_on_commit=False, **(session_options or {})
        )

    @classmethod
    def from_url(cls, url: str, settings: DatabaseSettings | None = None) -> Database:
        return cls(create_database_engine(url, settings))

    def session(self) -> Session:
        session: Session = self.session_factory()
        return session

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection for schema work: a fresh one from the engine, or the test's own."""
        if isinstance(self.bind, Connection):
            yield self.bind
            return
        with self.bind.connect() as connection:
            yield connection

    def ping(self) -> None:
        """Raise DatabaseUnavailableError unless the database answers a trivial query."""
        try:
            with self.session() as session:
                session.execute(text("SELECT 1"))
        except (OperationalError, DBAPIError) as error:
            raise DatabaseUnavailableError(self.unavailable_message(error)) from None

    def unavailable_message(self, error: BaseException) -> str:
        return f"cannot reach the database at {safe_url(self.url)}: {first_line(error)}"

    @property
    def url(self) -> str:
        engine = self.bind if isinstance(self.bind, Engine) else self.bind.engine
        return engine.url.render_as_string(hide_password=False)

    def dispose(self) -> None:
        if isinstance(self.bind, Engine):
            self.bind.dispose()
