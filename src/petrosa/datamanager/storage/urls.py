"""Turning the one database URL setting into async SQLAlchemy URLs, and hiding passwords."""

from __future__ import annotations

from petrosa.sqlsupport.urls import UnsupportedDatabaseURL, async_url, redacted

__all__ = ["UnsupportedDatabaseURL", "async_url", "redacted"]
