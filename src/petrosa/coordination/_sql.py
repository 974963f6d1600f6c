"""Leases in a SQL table (SQLite, MariaDB/MySQL, PostgreSQL) over SQLAlchemy's async engine.

Each operation is one short transaction; the caller's deadline bounds it. Outages (refused
or dropped connections) become :class:`StoreUnavailable`; a transaction the database
aborted as a deadlock, or SQLite's "database is locked", simply runs again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event, exc, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from petrosa.coordination._errors import StoreUnavailable
from petrosa.coordination._lease import Grant, LeaseInfo, from_epoch
from petrosa.coordination._sql_statements import LeaseStatements, statements_for
from petrosa.coordination._sql_urls import sql_async_url
from petrosa.resilience import full_jitter_backoff

log = logging.getLogger(__name__)
T = TypeVar("T")

SERVER_POOL_SIZE = 4
SERVER_POOL_OVERFLOW = 4
SQLITE_POOL_SIZE = 2
"""SQLite serializes writers anyway; a second connection only lets a renewal queue less."""
POOL_RECYCLE_S = 1800
CONFLICT_BACKOFF_INITIAL_S = 0.005
CONFLICT_BACKOFF_MAX_S = 0.1

_MYSQL_CONFLICTS = {1205, 1213}  # lock wait timeout, deadlock
_PG_CONFLICTS = {"40001", "40P01"}  # serialization failure, deadlock detected
_SQLITE_BUSY = ("database is locked", "database table is locked")


class _Conflict(Exception):
    """The database aborted the transaction to resolve contention: run it again."""


class SqlLeaseStore:
    """A :class:`LeaseStore` on one SQL database; creates its ``leases`` table on first use."""

    def __init__(self, url: str, *, connect_timeout: float, busy_timeout: float) -> None:
        self._url = sql_async_url(url)
        self._sql: LeaseStatements = statements_for(self._url.get_backend_name())
        self._engine = _create_engine(self._sql.dialect, self._url, connect_timeout, busy_timeout)
        self._schema_ready = False

    @property
    def backend(self) -> str:
        return self._sql.dialect

    @property
    def label(self) -> str:
        return self._url.render_as_string(hide_password=True)

    async def acquire(self, name: str, owner: str, ttl: float) -> Grant | None:
        params = {"name": name, "owner": owner, "ttl": ttl}

        async def work(conn: AsyncConnection) -> Grant | None:
            if self._sql.ensure_row is None:
                return _grant(await conn.execute(text(self._sql.acquire), params))
            await conn.execute(text(self._sql.ensure_row), params)
            taken = await conn.execute(text(self._sql.acquire), params)
            if taken.rowcount != 1:
                return None
            return _grant(await conn.execute(text(self._sql.read_back), params))

        return await self._run(work)

    async def renew(self, name: str, owner: str, token: int, ttl: float) -> Grant | None:
        params = {"name": name, "owner": owner, "token": token, "ttl": ttl}

        async def work(conn: AsyncConnection) -> Grant | None:
            renewed = await conn.execute(text(self._sql.renew), params)
            if self._sql.returning:
                return _grant(renewed)
            if renewed.rowcount != 1:
                return None
            return _grant(await conn.execute(text(self._sql.read_back), params))

        return await self._run(work)

    async def release(self, name: str, owner: str, token: int) -> bool:
        params = {"name": name, "owner": owner, "token": token}

        async def work(conn: AsyncConnection) -> bool:
            released = await conn.execute(text(self._sql.release), params)
            return released.rowcount == 1

        return await self._run(work)

    async def holder(self, name: str) -> LeaseInfo | None:
        async def work(conn: AsyncConnection) -> LeaseInfo | None:
            row = (await conn.execute(text(self._sql.holder), {"name": name})).first()
            if row is None:
                return None
            return LeaseInfo(name, str(row.owner), int(row.token), from_epoch(row.expires_at))

        return await self._run(work)

    async def ping(self) -> None:
        async def work(conn: AsyncConnection) -> None:
            await conn.execute(text(self._sql.ping))

        await self._run(work)

    async def close(self) -> None:
        await self._engine.dispose()

    async def _run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """``work`` in a transaction, creating the table first if this store has not yet."""
        if not self._schema_ready:
            await self._transaction(self._create_schema)
            self._schema_ready = True
        return await self._transaction(work)

    async def _transaction(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            try:
                async with _mapped_errors(self.backend), self._engine.begin() as conn:
                    return await work(conn)
            except _Conflict as conflict:
                attempt += 1
                log.debug("lease transaction conflict (%s), retrying", conflict)
                await asyncio.sleep(
                    full_jitter_backoff(
                        attempt,
                        initial_s=CONFLICT_BACKOFF_INITIAL_S,
                        max_s=CONFLICT_BACKOFF_MAX_S,
                        random=random.random,
                    )
                )

    async def _create_schema(self, conn: AsyncConnection) -> None:
        for statement in self._sql.create:
            await conn.execute(text(statement))


def _grant(result: Any) -> Grant | None:
    row = result.first()
    if row is None:
        return None
    return Grant(int(row.token), from_epoch(float(row.expires_at)))


@asynccontextmanager
async def _mapped_errors(backend: str) -> AsyncIterator[None]:
    """Driver errors → _Conflict (run again) or StoreUnavailable (outage); others pass."""
    try:
        yield
    except exc.DBAPIError as error:
        if _is_conflict(error):
            raise _Conflict(_describe(error)) from error
        if isinstance(error, exc.OperationalError | exc.InterfaceError) or (
            error.connection_invalidated
        ):
            raise StoreUnavailable(f"{backend} lease store: {_describe(error)}") from error
        raise
    except OSError as error:
        raise StoreUnavailable(f"{backend} lease store: {type(error).__name__}: {error}") from error


def _is_conflict(error: exc.DBAPIError) -> bool:
    original = error.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if code in _PG_CONFLICTS:
        return True
    args: tuple[Any, ...] = getattr(original, "args", ())
    if args and args[0] in _MYSQL_CONFLICTS:
        return True
    return any(marker in str(original) for marker in _SQLITE_BUSY)


def _describe(error: exc.DBAPIError) -> str:
    """First line of the driver's message, without SQL text or parameters."""
    original = error.orig if error.orig is not None else error
    message = str(original).splitlines()[0] if str(original) else ""
    return f"{type(original).__name__}: {message}"[:300]


def _create_engine(
    dialect: str, url: URL, connect_timeout: float, busy_timeout: float
) -> AsyncEngine:
    if dialect == "sqlite":
        engine = create_async_engine(
            url,
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=0,
            connect_args={"timeout": busy_timeout},
        )
        _sqlite_immediate_transactions(engine, busy_timeout)
        return engine
    connect_args: dict[str, Any] = (
        {"timeout": connect_timeout}
        if dialect == "postgresql"
        else {"connect_timeout": connect_timeout, "init_command": "SET time_zone = '+00:00'"}
    )
    return create_async_engine(
        url,
        pool_size=SERVER_POOL_SIZE,
        max_overflow=SERVER_POOL_OVERFLOW,
        pool_pre_ping=True,
        pool_recycle=POOL_RECYCLE_S,
        connect_args=connect_args,
    )


def _sqlite_immediate_transactions(engine: AsyncEngine, busy_timeout: float) -> None:
    """WAL, a busy timeout, and BEGIN IMMEDIATE: a lease write never upgrades a read lock."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event starts them
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
