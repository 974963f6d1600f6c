"""What a driver error means, the same way on SQLite, MariaDB/MySQL and PostgreSQL.

- *transient*: the database rolled the transaction (or statement) back to resolve contention
  — deadlock, serialization failure, lock wait timeout, SQLite busy. Running the whole
  transaction again is safe and usually succeeds.
- *statement timeout*: the server stopped a statement at the session's time limit.

Both look through mapped exceptions: an error raised ``from`` a driver error is judged by it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exc

_PG_TRANSIENT = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available (lock_timeout)
    }
)
_MYSQL_TRANSIENT = frozenset({1205, 1213})  # ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK
_SQLITE_TRANSIENT_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED
_SQLITE_TRANSIENT_TEXT = ("database is locked", "database table is locked")

_PG_STATEMENT_TIMEOUT = "57014"  # query_canceled (statement_timeout)
_MYSQL_STATEMENT_TIMEOUT = frozenset({1969, 3024})  # MariaDB max_statement_time, MySQL's


def is_transient(error: BaseException) -> bool:
    """True when rerunning the transaction from the start is safe and may well succeed."""
    original = _driver_error(error)
    if original is None:
        return False
    if _sqlstate(original) in _PG_TRANSIENT or _mysql_code(original) in _MYSQL_TRANSIENT:
        return True
    if getattr(original, "sqlite_errorcode", None) in _SQLITE_TRANSIENT_CODES:
        return True
    return any(marker in str(original) for marker in _SQLITE_TRANSIENT_TEXT)


def is_statement_timeout(error: BaseException) -> bool:
    """True when the server cancelled a statement at its time limit."""
    original = _driver_error(error)
    if original is None:
        return False
    return (
        _sqlstate(original) == _PG_STATEMENT_TIMEOUT
        or _mysql_code(original) in _MYSQL_STATEMENT_TIMEOUT
    )


def describe(error: BaseException) -> str:
    """A one-line description of a driver error: never SQL text or bound parameters."""
    original = _driver_error(error) or error
    text = str(original)
    message = text.splitlines()[0] if text else ""
    return f"{type(original).__name__}: {message}"[:300]


def _driver_error(error: BaseException) -> BaseException | None:
    """The DB-API error inside ``error`` or the first SQLAlchemy error it was raised from."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, exc.DBAPIError):
            return current.orig if current.orig is not None else current
        current = current.__cause__
    return None


def _sqlstate(original: BaseException) -> Any:
    return getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)


def _mysql_code(original: BaseException) -> Any:
    args: tuple[Any, ...] = getattr(original, "args", ())
    return args[0] if args else None
