"""Small SQLite reads without the async machinery around them.

A "newest 100 candles" query takes ~0.1 ms in SQLite; through SQLAlchemy + aiosqlite the same
read makes several trips to a worker thread and costs ~30 times that (see
docs/benchmarks.md). Hot, small, indexed reads therefore run on a plain ``sqlite3``
connection opened read-only (``query_only``): on the event loop itself when the page is small,
else with one hop to a small thread pool. WAL mode lets them run beside the writer.

A read on the event loop must never wait: its connection has no busy timeout and a budget of
:data:`INLINE_BUDGET_S`. A read that finds the file locked, or runs past the budget, is
abandoned and run again in the thread pool, where it may wait for the lock but is
interrupted at its deadline (SQLite's counterpart of a server-side statement timeout).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

INLINE_MAX_ROWS = 1_000
"""Pages up to this size are tried on the event loop first (well under a millisecond)."""
INLINE_BUDGET_S = 0.02
"""Longest an inline read may hold the event loop before it moves to a thread."""
PROGRESS_STEPS = 1_000
"""SQLite virtual-machine steps between two checks of the read's time limit."""
READ_THREADS = 4


class SqliteReadError(Exception):
    """The SQLite file could not be read (locked past the timeout, missing, corrupt)."""


class _MoveToThread(Exception):
    """The inline attempt found the file busy or ran past its budget."""


class SqliteReader:
    def __init__(self, path: str, *, busy_timeout_s: float) -> None:
        self.path = path
        self.busy_timeout_ms = int(busy_timeout_s * 1000)
        self._local = threading.local()
        self._executor: ThreadPoolExecutor | None = None

    async def fetch(
        self, sql: str, params: tuple[Any, ...], *, rows: int, timeout_s: float
    ) -> list[tuple[Any, ...]]:
        """All rows of ``sql``; ``rows`` is the most it can return (picks inline or thread).

        ``timeout_s`` bounds the read in the thread pool: past it the query is interrupted.
        """
        deadline = time.monotonic() + timeout_s
        if rows <= INLINE_MAX_ROWS:
            try:
                return self._run_inline(sql, params)
            except _MoveToThread:
                pass
        if self._executor is None:
            self._executor = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="sqlite-read")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, sql, params, deadline)

    def _run_inline(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        conn = self._connection(busy_timeout_ms=0)
        budget_end = time.monotonic() + INLINE_BUDGET_S
        conn.set_progress_handler(_past(budget_end), PROGRESS_STEPS)
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as error:
            if _busy(error) or _interrupted(error):
                raise _MoveToThread from None
            raise SqliteReadError(f"{type(error).__name__}: {error}") from None
        except sqlite3.Error as error:
            raise SqliteReadError(f"{type(error).__name__}: {error}") from None
        finally:
            conn.set_progress_handler(None, PROGRESS_STEPS)

    def _run(self, sql: str, params: tuple[Any, ...], deadline: float) -> list[tuple[Any, ...]]:
        remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
        conn = self._connection(busy_timeout_ms=min(self.busy_timeout_ms, remaining_ms))
        conn.set_progress_handler(_past(deadline), PROGRESS_STEPS)
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error as error:
            if _interrupted(error):
                raise SqliteReadError("read interrupted at its deadline") from None
            raise SqliteReadError(f"{type(error).__name__}: {error}") from None
        finally:
            conn.set_progress_handler(None, PROGRESS_STEPS)

    def _connection(self, *, busy_timeout_ms: int) -> sqlite3.Connection:
        """This thread's read-only connection, with the busy timeout this read may wait."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=0
            )
            conn.execute("PRAGMA query_only=1")
            self._local.conn = conn
            self._local.busy_timeout_ms = None
        if self._local.busy_timeout_ms != busy_timeout_ms:
            conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            self._local.busy_timeout_ms = busy_timeout_ms
        return conn

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)


def _past(moment: float) -> Callable[[], bool]:
    """A progress handler that interrupts the statement once ``moment`` has passed."""
    return lambda: time.monotonic() > moment


def _busy(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(error)


def _interrupted(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_INTERRUPT or (
        "interrupted" in str(error)
    )
