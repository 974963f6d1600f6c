"""Bulk SQLite writes in one hop to a writer thread, on a plain ``sqlite3`` connection.

Through SQLAlchemy + aiosqlite, one ingest batch was eight trips to aiosqlite's thread
(``BEGIN IMMEDIATE`` three, the key count one, the upsert two, ``COMMIT`` one, the pool's
reset one), each a queue hand-off and a wake-up of the event loop, and the loop thread ran
SQLAlchemy's transaction machinery around them. Here the whole transaction is one function
run on a dedicated thread: ``BEGIN IMMEDIATE``, the caller's statements, ``COMMIT``.

It sits beside the SQLAlchemy writer engine as a second writer connection; ``BEGIN
IMMEDIATE`` on both means they queue for SQLite's write lock (up to the busy timeout) and
never deadlock on a lock upgrade. Driver errors are raised as SQLAlchemy raises them
(``sqlalchemy.exc.DBAPIError`` subclasses, parameters hidden), so ``Database``'s outage,
data-error and rerun handling treat both writers alike. A transaction still running at its
deadline is interrupted by SQLite's progress handler and rolled back, the counterpart of a
server-side statement timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import exc
from sqlalchemy.engine import Dialect

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]

PROGRESS_STEPS = 1_000
"""SQLite virtual-machine steps between two checks of the transaction's deadline."""


class SqliteWriter:
    """One writer connection to the SQLite file at ``path``, used from one thread."""

    def __init__(self, path: str, dialect: Dialect) -> None:
        self.path = path
        self._dialect = dialect
        self._conn: sqlite3.Connection | None = None
        self._busy_timeout_ms: int | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="sqlite-write")

    async def transaction(self, work: Work[T], *, deadline: float) -> T:
        """``work(connection)`` between ``BEGIN IMMEDIATE`` and ``COMMIT``, on the writer thread.

        ``deadline`` (``time.monotonic()``) bounds the wait for the write lock and the work;
        past it, or once the caller stopped waiting (cancelled), the statement running is
        interrupted and the transaction rolled back instead of committed.
        """
        abandoned = threading.Event()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._run, work, deadline, abandoned)
        except asyncio.CancelledError:
            abandoned.set()  # the caller answers without this write: it must not land later
            raise

    def _run(self, work: Work[T], deadline: float, abandoned: threading.Event) -> T:
        def stop() -> bool:
            return abandoned.is_set() or time.monotonic() > deadline

        sql = "BEGIN IMMEDIATE"
        try:
            conn = self._connection(deadline)
            conn.set_progress_handler(stop, PROGRESS_STEPS)
            conn.execute(sql)
            try:
                sql = "(transaction body)"
                result = work(conn)
                sql = "COMMIT"
                if stop():  # statements too short for the progress handler end here
                    raise sqlite3.OperationalError("interrupted: past the transaction's deadline")
                conn.execute(sql)
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise
            return result
        except sqlite3.Error as error:
            raise exc.DBAPIError.instance(
                sql, None, error, sqlite3.Error, hide_parameters=True, dialect=self._dialect
            ) from error

    def _connection(self, deadline: float) -> sqlite3.Connection:
        """The writer connection, waiting for the write lock at most until ``deadline``."""
        if self._conn is None:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=0
            )
            # The writer engine's settings (petrosa.sqlsupport.engines): WAL, NORMAL sync.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._conn = conn
        busy_timeout_ms = max(0, int((deadline - time.monotonic()) * 1000))
        if busy_timeout_ms != self._busy_timeout_ms:
            self._conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            self._busy_timeout_ms = busy_timeout_ms
        return self._conn

    async def close(self) -> None:
        """Close the connection on its thread once the queued transactions have ended."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._close)
        finally:
            self._executor.shutdown(wait=False)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
