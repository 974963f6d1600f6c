"""A database URL as a user writes it → the async SQLAlchemy URL of the driver petrosa uses."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url

ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "mysql": "mysql+aiomysql",
    "mariadb": "mysql+aiomysql",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
"""URL scheme (without a driver part) → the async driver used for it."""


class UnsupportedDatabaseURL(ValueError):
    """The URL cannot be parsed, names no supported database, or is an unusable SQLite URL."""


def async_url(raw: str) -> URL:
    """``sqlite:///f.db``, ``mariadb://u@h/db``, ``postgresql://u@h/db`` → async driver URL.

    A driver already named in the URL (``mysql+pymysql://``) is replaced. SQLite needs a
    file (shared by every process using it), whose folder is created.
    """
    try:
        url = make_url(raw)
    except Exception as error:
        raise UnsupportedDatabaseURL(f"cannot parse database URL: {error}") from None
    scheme = url.get_backend_name()
    if scheme not in ASYNC_DRIVERS:
        raise UnsupportedDatabaseURL(
            f"unsupported database {scheme!r}: use sqlite, mysql/mariadb or postgresql"
        )
    url = url.set(drivername=ASYNC_DRIVERS[scheme])
    if scheme == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise UnsupportedDatabaseURL("SQLite needs a file path, e.g. sqlite:///var/petrosa.db")
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    return url


def redacted(url: URL) -> str:
    """The URL without its password, safe for logs and health output."""
    return url.render_as_string(hide_password=True)
