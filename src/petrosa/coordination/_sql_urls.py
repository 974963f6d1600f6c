"""COORDINATION_URL for SQL stores → the async SQLAlchemy URL of its driver."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url

from petrosa.coordination._errors import UnsupportedCoordinationURL

ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "mysql": "mysql+aiomysql",
    "mariadb": "mysql+aiomysql",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
"""URL scheme (without a driver part) → the async driver this package uses for it."""


def sql_async_url(raw: str) -> URL:
    """``sqlite:///f.db``, ``mariadb://u@h/db``, ``postgresql://u@h/db`` → async driver URL.

    A driver already named in the URL (``mysql+pymysql://``) is replaced: coordination
    always runs on the async drivers. SQLite needs a file, whose folder is created.
    """
    try:
        url = make_url(raw)
    except Exception as error:
        raise UnsupportedCoordinationURL(f"cannot parse coordination URL: {error}") from None
    scheme = url.get_backend_name()
    if scheme not in ASYNC_DRIVERS:
        raise UnsupportedCoordinationURL(f"no SQL lease store for {scheme!r} URLs")
    url = url.set(drivername=ASYNC_DRIVERS[scheme])
    if scheme == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise UnsupportedCoordinationURL(
                "SQLite leases need a file shared by the contenders, e.g. sqlite:///var/locks.db"
            )
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    return url
