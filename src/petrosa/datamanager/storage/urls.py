"""Turning the one database URL setting into async SQLAlchemy URLs, and hiding passwords."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "mysql": "mysql+aiomysql",
    "mariadb": "mysql+aiomysql",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


class UnsupportedDatabaseURL(ValueError):
    pass


def async_url(raw: str) -> URL:
    """``sqlite:///f.db``, ``mysql://u@h/db`` or ``postgresql://u@h/db`` → async driver URL."""
    try:
        url = make_url(raw)
    except Exception as exc:
        raise UnsupportedDatabaseURL(f"cannot parse database URL: {exc}") from None
    backend = url.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise UnsupportedDatabaseURL(
            f"unsupported database {backend!r}: use sqlite, mysql/mariadb or postgresql"
        )
    url = url.set(drivername=_ASYNC_DRIVERS[backend])
    if backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise UnsupportedDatabaseURL("SQLite needs a file path, e.g. sqlite:///var/petrosa.db")
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    return url


def redacted(url: URL) -> str:
    """The URL without its password, safe for logs and health output."""
    return url.render_as_string(hide_password=True)
