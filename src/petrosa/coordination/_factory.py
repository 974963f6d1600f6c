"""One URL → one lease store: the backend is chosen by the URL's scheme."""

from __future__ import annotations

from urllib.parse import urlsplit

from petrosa.coordination._errors import UnsupportedCoordinationURL
from petrosa.coordination._memory import MemoryLeaseStore
from petrosa.coordination._sql_urls import ASYNC_DRIVERS
from petrosa.coordination._store import LeaseStore

MONGODB_SCHEMES = frozenset({"mongodb", "mongodb+srv"})
MEMORY_SCHEME = "memory"


def open_store(url: str, *, connect_timeout: float, busy_timeout: float) -> LeaseStore:
    """The lease store of ``url``; nothing connects until the first operation.

    ``busy_timeout`` is how long SQLite waits for another process's write to finish.
    """
    scheme = urlsplit(url).scheme.lower()
    backend = scheme.split("+", 1)[0]
    if scheme in MONGODB_SCHEMES:
        from petrosa.coordination._mongo import MongoLeaseStore

        return MongoLeaseStore.connect(url, connect_timeout=connect_timeout)
    if backend in ASYNC_DRIVERS:
        from petrosa.coordination._sql import SqlLeaseStore

        return SqlLeaseStore(url, connect_timeout=connect_timeout, busy_timeout=busy_timeout)
    if scheme == MEMORY_SCHEME:
        return MemoryLeaseStore()
    raise UnsupportedCoordinationURL(
        f"unsupported coordination URL scheme {scheme!r}: use sqlite, mysql/mariadb,"
        " postgresql, mongodb or memory"
    )
