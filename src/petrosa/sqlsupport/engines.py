"""Async engines for petrosa's three databases, configured one way.

Every engine:

- hides bound parameters from exception text (``hide_parameters``), so a failing statement
  logged with its traceback never dumps the rows or values it carried;
- has server-side time limits derived from the caller's deadline, so the database stops work
  the client has given up on: PostgreSQL ``statement_timeout``, MariaDB
  ``max_statement_time``, SQLite a busy timeout;
- checks pooled server connections before use and recycles them, and runs in UTC.

SQLite connections run in WAL mode; ``sqlite_begin`` chooses how their transactions start
(``BEGIN IMMEDIATE`` for writers, so a read-modify-write never deadlocks on lock upgrade).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

POOL_RECYCLE_S = 1800


@dataclass(frozen=True)
class EngineOptions:
    connect_timeout_s: float
    """Longest wait for a new server connection."""
    statement_timeout_s: float
    """Server-side limit per statement (SQLite: how long to wait for another writer)."""
    pool_size: int
    max_overflow: int
    pool_timeout_s: float | None = None
    """Longest wait for a free pooled connection (default: ``statement_timeout_s``)."""
    sqlite_begin: str = "BEGIN"


def create_engine(url: URL, options: EngineOptions) -> AsyncEngine:
    """The engine for ``url`` (an async driver URL, see :func:`urls.async_url`)."""
    dialect = url.get_backend_name()
    pool_timeout = (
        options.pool_timeout_s
        if options.pool_timeout_s is not None
        else options.statement_timeout_s
    )
    if dialect == "sqlite":
        engine = create_async_engine(
            url,
            pool_size=options.pool_size,
            max_overflow=options.max_overflow,
            pool_timeout=pool_timeout,
            hide_parameters=True,
            connect_args={"timeout": options.statement_timeout_s},
        )
        _configure_sqlite(
            engine, busy_timeout_s=options.statement_timeout_s, begin=options.sqlite_begin
        )
        return engine
    return create_async_engine(
        url,
        pool_size=options.pool_size,
        max_overflow=options.max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        pool_recycle=POOL_RECYCLE_S,
        hide_parameters=True,
        connect_args=server_connect_args(dialect, options),
    )


def server_connect_args(dialect: str, options: EngineOptions) -> dict[str, Any]:
    """Driver connect arguments: connect timeout, UTC, and the server-side statement limit."""
    if dialect == "postgresql":
        return {
            "timeout": options.connect_timeout_s,
            "server_settings": {
                "timezone": "UTC",
                "statement_timeout": str(_milliseconds(options.statement_timeout_s)),
            },
        }
    if dialect == "mysql":
        # MariaDB runs the /*M! … */ part (seconds); MySQL skips it (its own limit,
        # max_execution_time, covers only SELECT).
        limit = f"{options.statement_timeout_s:.3f}"
        return {
            "connect_timeout": options.connect_timeout_s,
            "init_command": f"SET time_zone = '+00:00' /*M!, max_statement_time = {limit} */",
        }
    raise ValueError(f"no engine configuration for dialect {dialect!r}")


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _configure_sqlite(engine: AsyncEngine, *, busy_timeout_s: float, begin: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions start (see "begin").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={_milliseconds(busy_timeout_s)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)
