"""Engines, connections with deadlines, and the mapping of outages to one error.

Every database call goes through :meth:`Database.read` or :meth:`Database.write`, which put
a deadline on the whole unit of work, the pool's cleanup included: a database that stops
answering yields :class:`StoreUnavailable` within ``query_timeout_s``, never a hang. The
same limit is set on the server for every statement (see ``petrosa.sqlsupport.engines``), so
the database stops the work the client gave up on.

SQLite gets two engines: readers on a small pool (WAL lets them run beside the writer) and
a single writer connection whose transactions start with ``BEGIN IMMEDIATE``, so a
read-modify-write never deadlocks on lock upgrade. Servers use one engine for both. Bulk
market-data writes on SQLite take a plain ``sqlite3`` writer beside it (``sqlite_writes``),
also ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import exc, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from petrosa.datamanager.data_errors import data_error_code
from petrosa.datamanager.settings import DataManagerSettings
from petrosa.datamanager.storage.sqlite_reads import SqliteReader, SqliteReadError
from petrosa.datamanager.storage.sqlite_writes import SqliteWriter, Work
from petrosa.datamanager.storage.urls import async_url, redacted
from petrosa.sqlsupport import (
    DeadlineExceeded,
    EngineOptions,
    create_engine,
    describe,
    hard_deadline,
    is_statement_timeout,
    is_transient,
    retry_transient,
)

log = logging.getLogger(__name__)

SQLITE_READ_POOL_SIZE = 4
T = TypeVar("T")
P = ParamSpec("P")


class StoreUnavailable(Exception):
    """The database did not answer (down, unreachable, too slow): retry later (HTTP 503)."""


class TransactionConflict(StoreUnavailable):
    """Deadlock, serialization failure or lock wait timeout, still so after every rerun."""


def rerun_on_conflict(
    method: Callable[P, Awaitable[T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Rerun a store method whose write transaction the database aborted under contention.

    For methods that each run their write as one ``Database.write()`` transaction (what ran
    before it only reads or is idempotent); the policy is :func:`retry_transient`'s.
    """

    @functools.wraps(method)
    async def rerun(*args: P.args, **kwargs: P.kwargs) -> T:
        return await retry_transient(lambda: method(*args, **kwargs))

    return rerun


@dataclass
class StoreStatus:
    """What health endpoints report about the store; never holds credentials."""

    connected: bool = False
    last_ping_ms: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    errors_total: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Database:
    """The Data Manager's handle on its one configured database."""

    def __init__(self, settings: DataManagerSettings) -> None:
        self.settings = settings
        self.url: URL = async_url(settings.database_url.get_secret_value())
        self.dialect: str = self.url.get_backend_name()
        self.status = StoreStatus()
        self.error_listeners: list[Callable[[str], None]] = []
        self.engine = self._create_engine(writer=False)
        self.write_engine = self._create_engine(writer=True) if self.is_sqlite else self.engine
        self.sqlite_reader = (
            SqliteReader(str(self.url.database), busy_timeout_s=settings.query_timeout_s)
            if self.is_sqlite
            else None
        )
        self._write_turns = asyncio.Lock()
        self.sqlite_writer = (
            SqliteWriter(str(self.url.database), self.write_engine.dialect)
            if self.is_sqlite
            else None
        )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def safe_url(self) -> str:
        return redacted(self.url)

    def _create_engine(self, *, writer: bool) -> AsyncEngine:
        s = self.settings
        sqlite = self.is_sqlite
        options = EngineOptions(
            connect_timeout_s=s.connect_timeout_s,
            statement_timeout_s=s.query_timeout_s,
            pool_size=(1 if writer else SQLITE_READ_POOL_SIZE) if sqlite else s.pool_size,
            max_overflow=0 if sqlite else s.max_overflow,
            sqlite_begin="BEGIN IMMEDIATE" if writer else "BEGIN",
        )
        return create_engine(self.url, options)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads, with the query deadline applied to the whole block."""
        async with self._guarded(), self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction, committed when the block ends, rolled back on any error."""
        async with self._guarded(), self._writers_turn(), self.write_engine.begin() as conn:
            yield conn

    async def transaction(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``work`` in a write transaction, rerun if the database aborted it under
        contention (:func:`retry_transient`); one query deadline bounds all the runs."""

        async def attempt() -> T:
            async with self._writers_turn(), self.write_engine.begin() as conn:
                return await work(conn)

        async with self._guarded():
            return await retry_transient(attempt)

    async def sqlite_transaction(self, work: Work[T]) -> T:
        """:meth:`transaction` for plain ``sqlite3`` work on the SQLite writer thread (SQLite
        only; see ``sqlite_writes``): same deadline, reruns and error mapping."""
        writer = self.sqlite_writer
        assert writer is not None
        deadline = time.monotonic() + self.settings.query_timeout_s

        async def attempt() -> T:
            async with self._writers_turn():
                return await writer.transaction(work, deadline=deadline)

        async with self._guarded():
            return await retry_transient(attempt)

    def _writers_turn(self) -> AbstractAsyncContextManager[Any]:
        """On SQLite, one write transaction at a time from this process, in arrival order.

        The SQLAlchemy writer and the plain one would otherwise meet at SQLite's file lock,
        where a waiting writer polls with growing sleeps (up to 100 ms) and can lose every
        round to a stream of ingest batches until its busy timeout ends.
        """
        return self._write_turns if self.is_sqlite else nullcontext()

    async def fetch_sqlite(
        self, sql: str, params: tuple[Any, ...], *, rows: int
    ) -> list[tuple[Any, ...]]:
        """A small read on the plain SQLite reader (SQLite only; see ``sqlite_reads``)."""
        assert self.sqlite_reader is not None
        timeout_s = self.settings.query_timeout_s
        async with self._guarded():
            return await self.sqlite_reader.fetch(sql, params, rows=rows, timeout_s=timeout_s)

    @asynccontextmanager
    async def _guarded(self) -> AsyncIterator[None]:
        """The query deadline on the block (cleanup included), driver errors mapped."""
        try:
            async with hard_deadline(self.settings.query_timeout_s):
                yield
        except DeadlineExceeded:
            raise self._unavailable(
                f"database did not answer within {self.settings.query_timeout_s:g}s"
            ) from None
        except TimeoutError:  # the driver's own: connecting took longer than connect_timeout_s
            raise self._unavailable(
                f"could not connect within {self.settings.connect_timeout_s:g}s"
            ) from None
        except exc.DBAPIError as error:
            if is_transient(error):
                raise TransactionConflict(
                    f"write kept conflicting with concurrent writes: {describe(error)}"
                ) from error
            if is_statement_timeout(error):
                raise self._unavailable(f"statement timeout: {describe(error)}") from error
            if data_error_code(error) is not None:
                raise  # a value the database refused: the client's fault (422), not an outage
            if isinstance(error, exc.OperationalError | exc.InterfaceError):
                raise self._unavailable(describe(error)) from error
            if error.connection_invalidated:
                raise self._unavailable(describe(error)) from error
            raise
        except (OSError, SqliteReadError) as error:
            raise self._unavailable(f"{type(error).__name__}: {error}") from error

    def _unavailable(self, reason: str) -> StoreUnavailable:
        self.note_error(reason)
        return StoreUnavailable(reason)

    def note_error(self, reason: str) -> None:
        self.status.connected = False
        self.status.last_error = reason
        self.status.last_error_at = time.time()
        self.status.errors_total += 1
        for listener in self.error_listeners:
            listener(reason)
        log.warning("database error: %s", reason)

    async def ping(self, timeout_s: float) -> float:
        """Round-trip ``SELECT 1`` in ms; raises :class:`StoreUnavailable` past ``timeout_s``."""
        started = time.perf_counter()
        try:
            async with hard_deadline(timeout_s), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except DeadlineExceeded:
            raise self._unavailable(f"ping got no answer within {timeout_s:g}s") from None
        except TimeoutError:
            raise self._unavailable(
                f"could not connect within {self.settings.connect_timeout_s:g}s"
            ) from None
        except (exc.DBAPIError, OSError) as error:
            raise self._unavailable(describe(error)) from error
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.status.connected = True
        self.status.last_ping_ms = round(elapsed_ms, 3)
        return elapsed_ms

    def pool_status(self) -> dict[str, int]:
        pool: Any = self.engine.pool
        size = pool.size() if hasattr(pool, "size") else 0
        in_use = pool.checkedout() if hasattr(pool, "checkedout") else 0
        return {"size": int(size), "in_use": int(in_use)}

    async def dispose(self) -> None:
        if self.sqlite_reader is not None:
            self.sqlite_reader.close()
        if self.sqlite_writer is not None:
            await self.sqlite_writer.close()
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()
