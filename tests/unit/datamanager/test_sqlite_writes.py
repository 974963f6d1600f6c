"""The plain SQLite writer: one transaction per call, off the event loop, stopped at its
deadline, errors raised as SQLAlchemy raises them."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import exc
from sqlalchemy.dialects import sqlite

from petrosa.datamanager.storage.sqlite_writes import SqliteWriter

GUARD_S = 60.0
"""Ends a test whose transaction would wait far past its deadline."""
SLOW_QUERY = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
)
"""Never ends on its own: only an interrupt stops it."""


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "writes.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
    return path


@pytest.fixture
async def writer(database: Path) -> AsyncIterator[SqliteWriter]:
    writer = SqliteWriter(str(database), sqlite.dialect())
    yield writer
    await writer.close()


@contextmanager
def _write_locked(path: Path) -> Iterator[None]:
    """Another connection holds the write lock until the block ends."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


def _rows(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [x for (x,) in conn.execute("SELECT x FROM t ORDER BY x")]


def _insert(values: list[int]) -> Callable[[sqlite3.Connection], int]:
    def work(conn: sqlite3.Connection) -> int:
        conn.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])
        return conn.total_changes

    return work


async def test_a_transaction_commits_its_work_and_returns_its_result(
    writer: SqliteWriter, database: Path
) -> None:
    deadline = time.monotonic() + GUARD_S
    assert await writer.transaction(_insert([1, 2, 3]), deadline=deadline) == 3
    assert _rows(database) == [1, 2, 3]


async def test_a_failed_transaction_is_rolled_back_and_raised_as_sqlalchemy_raises_it(
    writer: SqliteWriter, database: Path
) -> None:
    deadline = time.monotonic() + GUARD_S
    with pytest.raises(exc.IntegrityError) as caught:
        await writer.transaction(_insert([1, 2, 2]), deadline=deadline)
    assert isinstance(caught.value.orig, sqlite3.IntegrityError)
    assert _rows(database) == []
    await writer.transaction(_insert([4]), deadline=deadline)
    assert _rows(database) == [4]


async def test_waiting_for_the_write_lock_leaves_the_event_loop_free(
    writer: SqliteWriter, database: Path
) -> None:
    with _write_locked(database):
        write = asyncio.create_task(
            writer.transaction(_insert([1]), deadline=time.monotonic() + GUARD_S)
        )
        for _ in range(5):  # the loop keeps turning while the writer waits for the lock
            await asyncio.sleep(0.01)
        assert not write.done()
    await asyncio.wait_for(write, GUARD_S)
    assert _rows(database) == [1]


async def test_a_transaction_behind_a_held_lock_gives_up_at_its_deadline(
    writer: SqliteWriter, database: Path
) -> None:
    with _write_locked(database):
        started = time.monotonic()
        with pytest.raises(exc.OperationalError, match="locked"):
            await asyncio.wait_for(
                writer.transaction(_insert([1]), deadline=started + 0.2),
                GUARD_S,
            )
        assert time.monotonic() - started < GUARD_S / 2
    assert _rows(database) == []


async def test_a_statement_running_past_the_deadline_is_interrupted_and_rolled_back(
    writer: SqliteWriter, database: Path
) -> None:
    def work(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES (1)")
        conn.execute(SLOW_QUERY).fetchall()

    with pytest.raises(exc.OperationalError, match="interrupted"):
        await asyncio.wait_for(writer.transaction(work, deadline=time.monotonic() + 0.2), GUARD_S)
    assert _rows(database) == []


async def test_a_transaction_whose_caller_gave_up_is_never_committed(
    writer: SqliteWriter, database: Path
) -> None:
    with _write_locked(database):
        deadline = time.monotonic() + GUARD_S
        given_up = asyncio.create_task(writer.transaction(_insert([1]), deadline=deadline))
        await asyncio.sleep(0.05)  # the writer thread now waits for the lock
        given_up.cancel()
        with pytest.raises(asyncio.CancelledError):
            await given_up
    await writer.transaction(_insert([2]), deadline=time.monotonic() + GUARD_S)
    assert _rows(database) == [2]
