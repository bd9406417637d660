"""Statements on the event loop: the token endpoints' PostgreSQL work without the thread pool.

Issue 10's profiles showed a token request spending more CPU on its way to a pool thread and
back than on its own statements: the thread and the event loop take the GIL from each other at
every step. So, when the service owns a PostgreSQL database, the token endpoints run their
(synchronous, authlib-driven) code on the event loop, in a greenlet started with SQLAlchemy's
own bridge (`greenlet_spawn`). The statements that code runs through `Database.reading()` and
`Database.transaction()` go to psycopg's AsyncConnection; while PostgreSQL answers, the greenlet
waits (`await_only`) and the loop serves other requests.

Only those two doors lead here. Anything else the code reaches would hold up the loop, so the
endpoints send a request here only when it needs nothing else they know of (oidc/placement.py);
every other request goes to the thread pool as before. Two rules keep the loop safe:

- Every write on these paths goes through `transaction()`. A write through a Session would
  block the loop's thread on a row lock that another request, suspended on this loop, holds:
  neither could go on (a replayed code's revocation did exactly that in a test).
- No lock of the services is held across a statement: a greenlet waiting for PostgreSQL while
  holding one would block the next greenlet that takes it, and with it the loop.

A rare synchronous read (a client not in the cache, a key reload, the organisation claim) holds
up the loop for its round trip; reads never wait for locks in PostgreSQL.

Statements are compiled once per statement and parameter names with the dialect's bind and
result processors, then run as plain psycopg calls: the rows are what SQLAlchemy would return
(the tests compare them), at a third of the CPU.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import psycopg
from sqlalchemy import URL, Executable, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.util import await_only, greenlet_spawn

ASYNC_DRIVER = "postgresql+psycopg_async"
# Statements built per call (a family's revocation) are compiled again after this many.
PREPARED_KEPT = 64
Result = TypeVar("Result")

_RUNNING: ContextVar[LoopStatements | None] = ContextVar("loop_statements", default=None)


class LoopStatements:
    """An async connection pool of one PostgreSQL database, used from greenlets on the loop."""

    def __init__(self, url: URL, pool: dict[str, Any]) -> None:
        """`pool`: the engine's pool options (store/engine.py), so both pools are alike."""
        self._engine: AsyncEngine = create_async_engine(
            url.set(drivername=ASYNC_DRIVER),
            # Every statement commits on its own unless `transaction` opens one.
            isolation_level="AUTOCOMMIT",
            **pool,
        )
        self.sync_engine = self._engine.sync_engine
        self._prepared: dict[tuple[Executable, frozenset[str]], _Prepared] = {}

    async def run(self, work: Callable[..., Result], *args: Any) -> Result:
        """`work(*args)` on the loop; its reads and transactions wait here, not in a thread."""
        token = _RUNNING.set(self)
        try:
            result: Result = await greenlet_spawn(work, *args)
            return result
        finally:
            _RUNNING.reset(token)

    def running(self) -> bool:
        """True inside `run`: the Database hands out this pool's connections then."""
        return _RUNNING.get() is self

    @contextmanager
    def connection(self, *, transaction: bool) -> Iterator[LoopConnection]:
        pooled = self.sync_engine.raw_connection()
        try:
            driver = cast(psycopg.AsyncConnection[Any], pooled.driver_connection)
            connection = LoopConnection(self, pooled, driver)
            if not transaction:
                yield connection
                return
            block = driver.transaction()
            connection.wait(block.__aenter__())
            try:
                yield connection
            except BaseException as error:
                connection.wait(block.__aexit__(type(error), error, error.__traceback__))
                raise
            connection.wait(block.__aexit__(None, None, None))
        finally:
            pooled.close()

    def prepared(self, statement: Executable, names: frozenset[str]) -> _Prepared:
        key = (statement, names)
        found = self._prepared.get(key)
        if found is None:
            if len(self._prepared) >= PREPARED_KEPT:
                self._prepared.clear()
            found = self._prepared[key] = _prepare(statement, names, self._engine.dialect)
        return found

    async def close(self) -> None:
        await self._engine.dispose()


class LoopConnection:
    """What `Database.reading()` and `transaction()` yield on the loop: `execute` as on a
    SQLAlchemy Connection, for the Core statements the token endpoints run."""

    def __init__(
        self,
        statements: LoopStatements,
        pooled: PoolProxiedConnection,
        driver: psycopg.AsyncConnection[Any],
    ) -> None:
        self._statements = statements
        self._pooled = pooled
        self._driver = driver

    def execute(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> LoopResult:
        given = dict(parameters or {})
        prepared = self._statements.prepared(statement, frozenset(given))
        values = prepared.bind(given)
        cursor = self._driver.cursor()
        self.wait(cursor.execute(prepared.sql, values, prepare=True))
        if prepared.row is None:
            return LoopResult(None, cursor.rowcount)
        fetched = self.wait(cursor.fetchall())
        return LoopResult([prepared.row_of(row) for row in fetched], cursor.rowcount)

    def wait(self, awaitable: Any) -> Any:
        """Wait for psycopg on the loop; its errors become SQLAlchemy's, as on the thread path."""
        try:
            return await_only(awaitable)
        except psycopg.Error as error:
            if self._driver.closed or isinstance(error, psycopg.OperationalError):
                self._pooled.invalidate(error)
            raise DBAPIError.instance(None, None, error, psycopg.Error) from error


@dataclass(frozen=True)
class LoopResult:
    """The rows of a SELECT (attribute access and `_asdict`, as SQLAlchemy's Row) or a count."""

    rows: list[Any] | None
    rowcount: int

    def first(self) -> Any:
        return self.rows[0] if self.rows else None


@dataclass(frozen=True)
class _Prepared:
    sql: str
    binds: dict[str, Callable[[Any], Any]]
    defaults: dict[str, Any]
    generated: tuple[tuple[str, Callable[[], Any]], ...]  # column defaults computed in Python
    row: Any  # the namedtuple class of a SELECT's rows; None for other statements
    results: tuple[Callable[[Any], Any] | None, ...]

    def bind(self, given: dict[str, Any]) -> dict[str, Any]:
        values = {**self.defaults, **given}
        for name, default in self.generated:
            values[name] = default()
        for name, processor in self.binds.items():
            values[name] = processor(values[name])
        return values

    def row_of(self, values: tuple[Any, ...]) -> Any:
        return self.row._make(
            value if processor is None else processor(value)
            for processor, value in zip(self.results, values, strict=True)
        )


def _prepare(statement: Executable, names: frozenset[str], dialect: Any) -> _Prepared:
    if not isinstance(statement, ClauseElement):
        raise TypeError("only Core statements run on the loop")
    compiled = statement.compile(dialect=dialect, column_keys=sorted(names))
    if not isinstance(compiled, SQLCompiler) or compiled.positional:
        raise TypeError("only named-parameter SQL statements run on the loop")
    generated = tuple((column.key, _python_default(column)) for column in compiled.insert_prefetch)
    binds: dict[str, Callable[[Any], Any]] = {}
    for name, parameter in compiled.binds.items():
        processor = parameter.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            binds[name] = processor
    # Values written into the statement itself (`.values(revoked_at=now)`, `== True`).
    defaults = {
        name: parameter.effective_value
        for name, parameter in compiled.binds.items()
        if not parameter.required
    }
    if not isinstance(statement, Select):
        return _Prepared(compiled.string, binds, defaults, generated, None, ())
    columns = list(statement.selected_columns)
    row = namedtuple("Row", [column.key for column in columns], rename=True)  # type: ignore[misc]
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
    )
    return _Prepared(compiled.string, binds, defaults, generated, row, results)


def _python_default(column: Any) -> Callable[[], Any]:
    """A column's default computed in Python (a new primary key), as SQLAlchemy computes it."""
    default = column.default
    if default is None or not (default.is_scalar or default.is_callable):
        raise TypeError(f"an INSERT on the loop must give {column.key}")
    if default.is_scalar:
        return lambda: default.arg
    # SQLAlchemy wraps a default of no arguments to take its execution context.
    return lambda: default.arg(None)
