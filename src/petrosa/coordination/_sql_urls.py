"""COORDINATION_URL for SQL stores → the async SQLAlchemy URL of its driver."""

from __future__ import annotations

from sqlalchemy.engine import URL

from petrosa.coordination._errors import UnsupportedCoordinationURL
from petrosa.sqlsupport.urls import ASYNC_DRIVERS, UnsupportedDatabaseURL, async_url

__all__ = ["ASYNC_DRIVERS", "sql_async_url"]


def sql_async_url(raw: str) -> URL:
    """``sqlite:///f.db``, ``mariadb://u@h/db``, ``postgresql://u@h/db`` → async driver URL.

    A driver already named in the URL (``mysql+pymysql://``) is replaced: coordination
    always runs on the async drivers. SQLite needs a file shared by the contenders.
    """
    try:
        return async_url(raw)
    except UnsupportedDatabaseURL as error:
        raise UnsupportedCoordinationURL(f"no SQL lease store for this URL: {error}") from None
