"""The database handle: engine construction per backend, sessions and a liveness probe."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from servicekonto.config import DatabaseSettings
from servicekonto.errors import DatabaseUnavailableError
from servicekonto.store.loop import LoopConnection, LoopStatements
from servicekonto.store.uow import UnitOfWork

SQLITE_BUSY_TIMEOUT_MS = 5000
# A pooled connection unused this long is pinged before it is handed out (see below).
IDLE_PING_SECONDS = 5.0
# Connections are replaced after this long, before a server or firewall idle limit closes them.
POOL_RECYCLE_SECONDS = 1800
_LAST_USED = "servicekonto_last_used"
Result = TypeVar("Result")
# What runs a statement in a transaction: a unit of work's Session or a `transaction()`.
Executor = Session | Connection | LoopConnection
# What `reading()` yields: a pooled connection, or one of the loop's (store/loop.py).
Reader = Connection | LoopConnection


def create_database_engine(url: str, settings: DatabaseSettings | None = None) -> Engine:
    settings = settings or DatabaseSettings()
    if url.startswith("sqlite"):
        return _sqlite_engine(url, settings)
    engine = create_engine(url, echo=settings.echo, **_server_pool(settings))
    ping_connections_when_idle(engine)
    return engine


def _server_pool(settings: DatabaseSettings) -> dict[str, Any]:
    """The pool of a database server's connections: the engine's and the loop's alike."""
    return {
        "pool_size": settings.pool_size,
        "max_overflow": settings.max_overflow,
        "pool_recycle": POOL_RECYCLE_SECONDS,
        # The most recently returned connection first: busy connections stay busy (no ping),
        # the spare ones age and are pinged or recycled.
        "pool_use_lifo": True,
        "connect_args": {"connect_timeout": max(1, round(settings.connect_timeout))},
    }


def ping_connections_when_idle(engine: Engine) -> None:
    """Ping a pooled connection at checkout only if it sat unused for IDLE_PING_SECONDS.

    `pool_pre_ping` pinged at every checkout: one more round trip per unit of work, a fifth
    of a code exchange's. A connection handed back moments ago is alive unless the server
    went away in those moments; then the statement fails, SQLAlchemy sees the disconnect and
    invalidates the whole pool, so only the requests already under way at a restart fail (as
    they would with a pre-ping). An idle connection, which a restart or an idle timeout may
    have closed long ago, is pinged, and a dead one is replaced before anyone uses it
    (SQLAlchemy's "pessimistic disconnect handling", raising DisconnectionError at checkout).
    """

    def stamp(_dbapi_connection: Any, record: ConnectionPoolEntry, *_args: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    def ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_LAST_USED, 0.0) <= IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
            # The driver began a transaction for the ping; end it, so the connection comes out
            # of the pool as it went in (an autocommit reader cannot switch inside one).
            dbapi_connection.rollback()
        except Exception as error:  # whatever the driver raises, the connection is unusable
            raise DisconnectionError(first_line(error)) from error

    event.listen(engine, "connect", stamp)
    event.listen(engine, "checkin", stamp)
    event.listen(engine, "checkout", ping_if_idle)


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
        self._reader_factory = self.session_factory
        self._reader_bind: Engine | Connection = bind
        self._loop: LoopStatements | None = None
        if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
            # Lookups of one statement need no transaction: autocommit spares the BEGIN and
            # ROLLBACK round trips around them (a statement sees a consistent snapshot anyway).
            autocommit = bind.execution_options(isolation_level="AUTOCOMMIT")
            self._reader_bind = autocommit
            self._reader_factory = sessionmaker(bind=autocommit, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, settings: DatabaseSettings | None = None) -> Database:
        return cls(create_database_engine(url, settings))

    def session(self) -> Session:
        session: Session = self.session_factory()
        return session

    def reader(self) -> Session:
        """A session for reads of one statement each; it never writes (use a unit of work)."""
        session: Session = self._reader_factory()
        return session

    # --- statements on the event loop (store/loop.py) -------------------------------------------

    def start_loop_statements(self, settings: DatabaseSettings) -> None:
        """Open the loop's pool beside the engine's (PostgreSQL on an engine only).

        Called in the app's lifespan, on the loop that will use it; `close_loop_statements`
        ends it there. `runs_statements_on_loop` tells whether it opened one.
        """
        if not isinstance(self.bind, Engine) or self.bind.dialect.name != "postgresql":
            return
        if self._loop is not None:
            raise RuntimeError("the loop's statements are started already")
        self._loop = LoopStatements(self.bind.url, _server_pool(settings))
        ping_connections_when_idle(self._loop.sync_engine)

    async def close_loop_statements(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None:
            await loop.close()

    @property
    def runs_statements_on_loop(self) -> bool:
        return self._loop is not None

    async def on_loop(self, work: Callable[..., Result], *args: Any) -> Result:
        """`work(*args)` on the event loop, its `reading()` and `transaction()` awaited there.

        Only for work that reaches the database through those two alone (store/loop.py).
        """
        if self._loop is None:
            raise RuntimeError("no statements on the loop: start_loop_statements first")
        return await self._loop.run(work, *args)

    def _loop_running(self) -> LoopStatements | None:
        loop = self._loop
        return loop if loop is not None and loop.running() else None

    @contextmanager
    def reading(self) -> Iterator[Reader]:
        """A connection for Core reads of one statement each, as `reader` but without the ORM.

        The hot lookups (a token at every userinfo and introspection call, the person behind
        it) run prepared Core statements here: a Session's bookkeeping cost more than the
        statement itself.
        """
        loop = self._loop_running()
        if loop is not None:
            with loop.connection(transaction=False) as connection:
                yield connection
            return
        if isinstance(self._reader_bind, Connection):
            yield self._reader_bind
            return
        with self._reader_bind.connect() as connection:
            yield connection

    @contextmanager
    def transaction(self) -> Iterator[Connection | LoopConnection]:
        """Core statements in one transaction: committed when the block ends, else rolled back.

        For the token endpoint's writes (prepared statements only): a Session's bookkeeping
        around them cost more than the statements. Services that load and change objects use
        `unit_of_work`.
        """
        loop = self._loop_running()
        if loop is not None:
            with loop.connection(transaction=True) as connection:
                yield connection
            return
        if isinstance(self.bind, Connection):
            with self.bind.begin_nested():
                yield self.bind
            return
        with self.bind.begin() as connection:
            yield connection

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
