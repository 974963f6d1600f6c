"""Small SQLite reads without the async machinery around them.

A "newest 100 candles" query takes ~0.1 ms in SQLite; through SQLAlchemy + aiosqlite the same
read makes several trips to a worker thread and costs ~30 times that (see
docs/benchmarks.md). Hot, small, indexed reads therefore run on a plain ``sqlite3``
connection opened read-only (``query_only``): on the event loop itself when the page is small,
else with one hop to a small thread pool. WAL mode lets them run beside the writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

INLINE_MAX_ROWS = 1_000
"""Pages up to this size are read on the event loop (well under a millisecond)."""
READ_THREADS = 4


class SqliteReadError(Exception):
    """The SQLite file could not be read (locked past the timeout, missing, corrupt)."""


class SqliteReader:
    def __init__(self, path: str, *, busy_timeout_s: float) -> None:
        self.path = path
        self.busy_timeout_ms = int(busy_timeout_s * 1000)
        self._local = threading.local()
        self._executor: ThreadPoolExecutor | None = None

    async def fetch(self, sql: str, params: tuple[Any, ...], *, rows: int) -> list[tuple[Any, ...]]:
        """All rows of ``sql``; ``rows`` is the most it can return (picks inline or thread)."""
        if rows <= INLINE_MAX_ROWS:
            return self._run(sql, params)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="sqlite-read")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, sql, params)

    def _run(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise SqliteReadError(f"{type(error).__name__}: {error}") from None

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
            conn.execute("PRAGMA query_only=1")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)
