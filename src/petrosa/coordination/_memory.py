"""An in-process lease store: for one process (embedded mode) and for tests of callers.

It applies ``_rules`` directly on a dict; exclusion holds between tasks and between
``Locks`` objects sharing this store, never between processes.
"""

from __future__ import annotations

import time

from petrosa.coordination._lease import Grant, LeaseInfo, from_epoch
from petrosa.coordination._rules import (
    LeaseRow,
    after_acquire,
    after_release,
    after_renew,
    is_held,
)
from petrosa.resilience import Clock


class MemoryLeaseStore:
    """Leases in a dict; ``clock`` is the store clock (wall seconds by default)."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._rows: dict[str, LeaseRow] = {}

    @property
    def backend(self) -> str:
        return "memory"

    @property
    def label(self) -> str:
        return "memory://"

    async def acquire(self, name: str, owner: str, ttl: float) -> Grant | None:
        row = after_acquire(self._rows.get(name), owner, self._clock(), ttl)
        return self._store(name, row)

    async def renew(self, name: str, owner: str, token: int, ttl: float) -> Grant | None:
        row = after_renew(self._rows.get(name), owner, token, self._clock(), ttl)
        return self._store(name, row)

    async def release(self, name: str, owner: str, token: int) -> bool:
        row = after_release(self._rows.get(name), owner, token, self._clock())
        return self._store(name, row) is not None

    async def holder(self, name: str) -> LeaseInfo | None:
        row = self._rows.get(name)
        if row is None or row.owner is None or not is_held(row, self._clock()):
            return None
        return LeaseInfo(name, row.owner, row.token, from_epoch(row.expires_at))

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _store(self, name: str, row: LeaseRow | None) -> Grant | None:
        if row is None:
            return None
        self._rows[name] = row
        return Grant(row.token, from_epoch(row.expires_at))
