"""Engines, connections with deadlines, and the mapping of outages to one error.

Every database call goes through :meth:`Database.read` or :meth:`Database.write`, which put
a deadline on the whole unit of work: a database that stops answering yields
:class:`StoreUnavailable` within ``query_timeout_s``, never a hang.

SQLite gets two engines: readers on a small pool (WAL lets them run beside the writer) and
a single writer connection whose transactions start with ``BEGIN IMMEDIATE``, so a
read-modify-write never deadlocks on lock upgrade. Servers use one engine for both.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import event, exc, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from petrosa.datamanager.settings import DataManagerSettings
from petrosa.datamanager.storage.sqlite_reads import SqliteReader, SqliteReadError
from petrosa.datamanager.storage.urls import async_url, redacted

log = logging.getLogger(__name__)

SQLITE_READ_POOL_SIZE = 4
T = TypeVar("T")


class StoreUnavailable(Exception):
    """The database did not answer (down, unreachable, too slow): retry later (HTTP 503)."""


class TransactionConflict(StoreUnavailable):
    """Deadlock or serialization failure: the transaction can simply run again."""


DEADLOCK_RETRIES = 5
_MYSQL_RETRYABLE = {1205, 1213}  # lock wait timeout, deadlock
_PG_RETRYABLE = {"40001", "40P01"}  # serialization failure, deadlock detected


def is_transaction_conflict(error: BaseException) -> bool:
    original = getattr(error, "orig", None)
    if original is None:
        return False
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if code in _PG_RETRYABLE:
        return True
    args: tuple[Any, ...] = getattr(original, "args", ())
    return len(args) > 0 and args[0] in _MYSQL_RETRYABLE


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

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def safe_url(self) -> str:
        return redacted(self.url)

    def _create_engine(self, *, writer: bool) -> AsyncEngine:
        s = self.settings
        if self.is_sqlite:
            engine = create_async_engine(
                self.url,
                pool_size=1 if writer else SQLITE_READ_POOL_SIZE,
                max_overflow=0,
                pool_timeout=s.query_timeout_s,
                connect_args={"timeout": s.query_timeout_s},
            )
            _configure_sqlite(engine, busy_timeout_s=s.query_timeout_s, writer=writer)
            return engine
        connect_args: dict[str, Any]
        if self.dialect == "postgresql":
            connect_args = {
                "timeout": s.connect_timeout_s,
                "command_timeout": s.query_timeout_s,
                "server_settings": {"timezone": "UTC"},
            }
        else:
            connect_args = {
                "connect_timeout": s.connect_timeout_s,
                "init_command": "SET time_zone='+00:00'",
            }
        return create_async_engine(
            self.url,
            pool_size=s.pool_size,
            max_overflow=s.max_overflow,
            pool_timeout=s.query_timeout_s,
            pool_pre_ping=True,
            pool_recycle=1800,
            connect_args=connect_args,
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads, with the query deadline applied to the whole block."""
        async with self._guarded(), self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction, committed when the block ends, rolled back on any error."""
        async with self._guarded(), self.write_engine.begin() as conn:
            yield conn

    async def transaction(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``work`` in a write transaction, again on deadlock (a few times, with jitter)."""
        for attempt in range(1, DEADLOCK_RETRIES + 1):
            try:
                async with self.write() as conn:
                    return await work(conn)
            except TransactionConflict:
                if attempt == DEADLOCK_RETRIES:
                    raise
                log.info("transaction conflict, retrying (attempt %d)", attempt)
                await asyncio.sleep(random.uniform(0, 0.02 * attempt))
        raise AssertionError("unreachable")

    async def fetch_sqlite(
        self, sql: str, params: tuple[Any, ...], *, rows: int
    ) -> list[tuple[Any, ...]]:
        """A small read on the plain SQLite reader (SQLite only; see ``sqlite_reads``)."""
        assert self.sqlite_reader is not None
        async with self._guarded():
            return await self.sqlite_reader.fetch(sql, params, rows=rows)

    @asynccontextmanager
    async def _guarded(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self.settings.query_timeout_s):
                yield
        except TimeoutError:
            raise self._unavailable(
                f"database did not answer within {self.settings.query_timeout_s:g}s"
            ) from None
        except exc.DBAPIError as error:
            if is_transaction_conflict(error):
                raise TransactionConflict(_describe(error)) from error
            if isinstance(error, exc.OperationalError | exc.InterfaceError):
                raise self._unavailable(_describe(error)) from error
            if error.connection_invalidated:
                raise self._unavailable(_describe(error)) from error
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
            async with asyncio.timeout(timeout_s), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except TimeoutError:
            raise self._unavailable(f"ping got no answer within {timeout_s:g}s") from None
        except (exc.DBAPIError, OSError) as error:
            raise self._unavailable(_describe(error)) from error
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
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()


def _describe(error: BaseException) -> str:
    """A one-line description of a driver error, without SQL text or parameters."""
    original = getattr(error, "orig", None) or error
    message = str(original).splitlines()[0] if str(original) else type(original).__name__
    return f"{type(original).__name__}: {message}"[:300]


def _configure_sqlite(engine: AsyncEngine, *, busy_timeout_s: float, writer: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions start (see "begin").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")
