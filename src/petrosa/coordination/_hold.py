"""``HeldLock``: what the block of ``async with locks.hold(...)`` gets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from petrosa.coordination._errors import LeaseLost, StoreUnavailable
from petrosa.coordination._keeper import LossReason, keep_alive
from petrosa.coordination._lease import Lease

if TYPE_CHECKING:
    from petrosa.coordination._locks import Locks

log = logging.getLogger(__name__)


class HeldLock:
    """A lease renewed in the background while the block runs.

    ``valid`` turns False (for good) as soon as the lease's local deadline passes without
    a successful renewal, or a renewal finds the lease taken; act only while it is True.
    """

    def __init__(self, locks: Locks, lease: Lease, *, renew_interval: float) -> None:
        self._locks = locks
        self._lease = lease
        self._renew_interval = renew_interval
        self._lost = asyncio.Event()
        self._loss_reason: LossReason | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self._lease.name

    @property
    def owner(self) -> str:
        return self._lease.owner

    @property
    def token(self) -> int:
        """The fencing token: pass it with every write the lock protects."""
        return self._lease.token

    @property
    def lease(self) -> Lease:
        """The lease as last renewed."""
        return self._lease

    @property
    def valid(self) -> bool:
        return not self._lost.is_set() and self._lease.is_valid(self._locks.clock())

    @property
    def loss_reason(self) -> LossReason | None:
        return self._loss_reason

    def remaining(self) -> float:
        """Seconds the lease is certainly still held (0 once lost)."""
        return self._lease.remaining(self._locks.clock()) if self.valid else 0.0

    def ensure_valid(self) -> None:
        """Raise :class:`LeaseLost` unless the lease is still valid."""
        if not self.valid:
            reason = self._loss_reason or LossReason.EXPIRED
            raise LeaseLost(f"lease on {self.name!r} (token {self.token}) lost: {reason}")

    async def wait_lost(self) -> LossReason:
        """Wait until the lease is lost or released; return why."""
        await self._lost.wait()
        assert self._loss_reason is not None
        return self._loss_reason

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep(), name=f"lease-renewal:{self.name}")

    async def finish(self) -> None:
        """Stop renewing and release the lease if it is still ours (best effort)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._lost.is_set():
            return
        self._lose(LossReason.RELEASED)
        try:
            await self._locks.release(self._lease)
        except StoreUnavailable as error:
            log.warning("could not release %r, it will expire: %s", self.name, error)

    async def _keep(self) -> None:
        reason = await keep_alive(
            self._locks, self._lease, renew_interval=self._renew_interval, on_renewed=self._renewed
        )
        if reason is not LossReason.RELEASED:
            log.warning("lease on %r (token %d) lost: %s", self.name, self.token, reason)
        self._lose(reason)

    def _renewed(self, lease: Lease) -> None:
        self._lease = lease

    def _lose(self, reason: LossReason) -> None:
        if not self._lost.is_set():
            self._loss_reason = reason
            self._lost.set()
