"""Bulk statements on SQLite through the aiosqlite connection under a SQLAlchemy one.

aiosqlite runs every driver call on the connection's own thread: a queue hand-off there and
a wake-up of the event loop back. Through SQLAlchemy a statement is three or four of those
trips (cursor, execute, fetch, close), so the count and the upsert of one ingest batch made
seven, and on a busy machine their wake-ups cost more than SQLite's work on the rows
(docs/benchmarks.md). Called on the driver connection directly, the count is one trip and the
upsert two.

The transaction stays SQLAlchemy's (``BEGIN IMMEDIATE`` … ``COMMIT`` around the work by
``Database.transaction``), and driver errors are wrapped as SQLAlchemy wraps them, so
deadlines, outage mapping and retries see the same exceptions as on the generic path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection


class SqliteDriver:
    """The aiosqlite connection of a checked-out SQLAlchemy connection (SQLite only)."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self._connection = connection
        self._dialect = dialect

    @classmethod
    async def of(cls, conn: AsyncConnection) -> SqliteDriver:
        """The driver under ``conn``; use it only inside ``conn``'s transaction."""
        pooled = await conn.get_raw_connection()
        return cls(pooled.driver_connection, conn.dialect)

    async def fetchall(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Every row of one statement, in one trip to the driver's thread."""
        try:
            return list(await self._connection.execute_fetchall(sql, params))
        except sqlite3.Error as error:
            raise self._wrapped(sql, error, many=False) from error

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement over all ``rows`` (the driver's ``executemany``), cursor closed."""
        try:
            async with self._connection.executemany(sql, rows):
                pass
        except sqlite3.Error as error:
            raise self._wrapped(sql, error, many=True) from error

    def _wrapped(self, sql: str, error: sqlite3.Error, *, many: bool) -> BaseException:
        return exc.DBAPIError.instance(
            sql, None, error, sqlite3.Error, hide_parameters=True, dialect=self._dialect,
            ismulti=many,
        )  # fmt: skip
