"""Leases in a SQL table (SQLite, MariaDB/MySQL, PostgreSQL) over SQLAlchemy's async engine.

Each operation is one short transaction; the caller's deadline bounds it, and the server
stops any statement past the attempt timeout. Outages (refused or dropped connections)
become :class:`StoreUnavailable`; a transaction the database aborted under contention
(deadlock, lock wait timeout, SQLite's "database is locked") runs again under
petrosa.sqlsupport's one policy, and still failing becomes :class:`StoreUnavailable` too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import exc, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from petrosa.coordination._errors import StoreUnavailable
from petrosa.coordination._lease import Grant, LeaseInfo, from_epoch
from petrosa.coordination._sql_statements import LeaseStatements, statements_for
from petrosa.coordination._sql_urls import sql_async_url
from petrosa.sqlsupport import (
    EngineOptions,
    create_engine,
    describe,
    is_transient,
    retry_transient,
)

T = TypeVar("T")

SERVER_POOL_SIZE = 4
SERVER_POOL_OVERFLOW = 4
SQLITE_POOL_SIZE = 2
"""SQLite serializes writers anyway; a second connection only lets a renewal queue less."""


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
        """``work`` in one transaction, rerun if the database aborted it under contention."""

        async def attempt() -> T:
            async with _mapped_errors(self.backend), self._engine.begin() as conn:
                return await work(conn)

        return await retry_transient(attempt)

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
    """Outages and contention that outlasted its reruns → StoreUnavailable; others pass."""
    try:
        yield
    except exc.DBAPIError as error:
        if (
            is_transient(error)
            or isinstance(error, exc.OperationalError | exc.InterfaceError)
            or error.connection_invalidated
        ):
            raise StoreUnavailable(f"{backend} lease store: {describe(error)}") from error
        raise
    except OSError as error:
        raise StoreUnavailable(f"{backend} lease store: {type(error).__name__}: {error}") from error


def _create_engine(
    dialect: str, url: URL, connect_timeout: float, busy_timeout: float
) -> AsyncEngine:
    """Statements are limited server-side to ``busy_timeout`` (the attempt timeout)."""
    sqlite = dialect == "sqlite"
    options = EngineOptions(
        connect_timeout_s=connect_timeout,
        statement_timeout_s=busy_timeout,
        pool_size=SQLITE_POOL_SIZE if sqlite else SERVER_POOL_SIZE,
        max_overflow=0 if sqlite else SERVER_POOL_OVERFLOW,
        sqlite_begin="BEGIN IMMEDIATE",
    )
    return create_engine(url, options)
