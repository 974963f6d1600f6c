"""Plain SQLite reads never hold the event loop while they wait, and stop at their deadline."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from petrosa.datamanager.storage.sqlite_reads import (
    INLINE_MAX_ROWS,
    SqliteReader,
    SqliteReadError,
)

BUSY_TIMEOUT_S = 120.0
"""How long a read may wait for a lock: far longer than the test ever holds one."""
GUARD_S = 60.0
"""Ends a test whose read would wait out the whole busy timeout."""


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A small database in rollback-journal mode, where a writer's lock blocks readers."""
    path = tmp_path / "reads.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10)])
    return path


def _lock_exclusively(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


async def test_a_small_read_waiting_for_a_lock_leaves_the_event_loop_free(
    database: Path,
) -> None:
    reader = SqliteReader(str(database), busy_timeout_s=BUSY_TIMEOUT_S)
    holder = _lock_exclusively(database)
    try:
        read = asyncio.create_task(
            reader.fetch("SELECT count(*) FROM t", (), rows=1, timeout_s=BUSY_TIMEOUT_S)
        )
        loop_turned = asyncio.Event()
        asyncio.get_running_loop().call_soon(loop_turned.set)
        await loop_turned.wait()
        assert not read.done(), "the read ran to its end on the event loop"
    finally:
        holder.rollback()
        holder.close()
    assert await read == [(10,)]
    reader.close()


async def test_a_read_stuck_behind_a_lock_stops_at_its_deadline(database: Path) -> None:
    reader = SqliteReader(str(database), busy_timeout_s=BUSY_TIMEOUT_S)
    holder = _lock_exclusively(database)
    try:
        with pytest.raises(SqliteReadError, match=r"locked|deadline"):
            await asyncio.wait_for(
                reader.fetch("SELECT x FROM t", (), rows=INLINE_MAX_ROWS + 1, timeout_s=0.2),
                GUARD_S,
            )
    finally:
        holder.rollback()
        holder.close()
    reader.close()


async def test_a_small_read_answers_its_rows(database: Path) -> None:
    reader = SqliteReader(str(database), busy_timeout_s=BUSY_TIMEOUT_S)
    assert await reader.fetch("SELECT x FROM t ORDER BY x LIMIT 3", (), rows=3, timeout_s=5) == [
        (0,),
        (1,),
        (2,),
    ]
    reader.close()
