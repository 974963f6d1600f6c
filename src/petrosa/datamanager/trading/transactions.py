"""Read-modify-write on every engine: make sure the row exists, lock it, decide in Python.

A row that may not exist yet is first inserted if absent (a no-op when it exists), then read
with ``SELECT … FOR UPDATE``. Locking a *missing* row instead would take a gap lock on
MariaDB/MySQL, and two writers creating neighbouring keys would deadlock on their inserts;
inserting first takes only the record lock. SQLite ignores ``FOR UPDATE``: its write
transactions begin ``IMMEDIATE`` and are serialized anyway.

Whether the insert happened is told by ``write_id``, a fresh uuid the caller puts in the row:
affected-row counts cannot tell on MySQL, where an insert and a no-op both report 1.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Row, Table, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from petrosa.datamanager.storage.database import Database

T = TypeVar("T")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_write_id() -> str:
    return uuid.uuid4().hex


async def run_write(db: Database, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run ``work`` in one write transaction, rerun if the database aborted it under
    contention (the shared policy of ``Database.transaction``)."""
    return await db.transaction(work)


async def ensure_and_lock(
    conn: AsyncConnection, table: Table, values: Mapping[str, Any]
) -> Row[Any]:
    """Insert ``values`` unless a row with their key exists; return the row, locked."""
    key_columns = [column.name for column in table.primary_key.columns]
    await conn.execute(_insert_if_absent(conn.dialect.name, table, values, key_columns))
    row = await lock_row(conn, table, {name: values[name] for name in key_columns})
    if row is None:  # only a concurrent DELETE could cause this, and nothing deletes these rows
        raise RuntimeError(f"{table.name} row {values!r} vanished after insert")
    return row


async def lock_row(conn: AsyncConnection, table: Table, key: Mapping[str, Any]) -> Row[Any] | None:
    """The row with this primary key, locked until the transaction ends (None if absent)."""
    where = [table.c[name] == value for name, value in key.items()]
    result = await conn.execute(select(table).where(*where).with_for_update())
    return result.first()


def _insert_if_absent(
    dialect: str, table: Table, values: Mapping[str, Any], key_columns: list[str]
) -> Any:
    if dialect == "mysql":
        stmt = mysql.insert(table).values(dict(values))
        # A no-op update rather than INSERT IGNORE, which would also hide data errors.
        first = key_columns[0]
        return stmt.on_duplicate_key_update({first: table.c[first]})
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return (
        module.insert(table).values(dict(values)).on_conflict_do_nothing(index_elements=key_columns)
    )
