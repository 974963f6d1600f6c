"""Virtual time and a store that can be cut off: the election and hold() state machines run
deterministically, with no real waiting and no real database."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from petrosa.coordination import Grant, LeaseInfo, LeaseStore, StoreUnavailable

SETTLE_YIELDS = 20
"""Loop turns given to woken tasks before time jumps again; memory-store calls never
suspend, so a woken task reaches its next sleep or wait within a few turns."""
IDLE_POLL_S = 0.001


class VirtualTime:
    """A monotonic clock that jumps straight to the next sleeper's wake-up time.

    ``clock`` and ``sleep`` plug into ``Locks(clock=…, sleep=…)``; run ``autojump()`` in
    the background while the test's tasks run.
    """

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), wake))
        await wake

    @asynccontextmanager
    async def running(self) -> AsyncIterator[VirtualTime]:
        jumper = asyncio.create_task(self._autojump())
        try:
            yield self
        finally:
            jumper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await jumper

    async def _autojump(self) -> None:
        while True:
            for _ in range(SETTLE_YIELDS):
                await asyncio.sleep(0)
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)  # its task was cancelled
            if not self._sleepers:
                await asyncio.sleep(IDLE_POLL_S)
                continue
            wake_at, _, wake = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake_at)
            wake.set_result(None)


class SwitchableStore:
    """Wraps a store that can be cut off: while ``down`` every call fails at once (connection
    refused); while ``frozen`` every call hangs (a blackholed network, a frozen process)."""

    def __init__(self, inner: LeaseStore) -> None:
        self.inner = inner
        self.down = False
        self.frozen = False
        self.calls = 0

    @property
    def backend(self) -> str:
        return self.inner.backend

    @property
    def label(self) -> str:
        return self.inner.label

    async def _gate(self) -> None:
        self.calls += 1
        if self.frozen:
            await asyncio.Event().wait()
        if self.down:
            raise StoreUnavailable("connection refused (test switch)")

    async def acquire(self, name: str, owner: str, ttl: float) -> Grant | None:
        await self._gate()
        return await self.inner.acquire(name, owner, ttl)

    async def renew(self, name: str, owner: str, token: int, ttl: float) -> Grant | None:
        await self._gate()
        return await self.inner.renew(name, owner, token, ttl)

    async def release(self, name: str, owner: str, token: int) -> bool:
        await self._gate()
        return await self.inner.release(name, owner, token)

    async def holder(self, name: str) -> LeaseInfo | None:
        await self._gate()
        return await self.inner.holder(name)

    async def ping(self) -> None:
        await self._gate()
        await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()
