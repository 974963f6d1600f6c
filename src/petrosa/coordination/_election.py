"""Leader election: one lease per election, campaigned for by every replica, forever.

States: a *follower* tries to acquire the election's lease every ``retry_interval``
(jittered; with backoff while the store is unreachable) and never gives up; a *leader*
renews it every ``renew_interval`` and becomes a follower again the moment it cannot be
sure it still leads: the lease was taken, or no renewal succeeded before the lease's local
deadline (the store unreachable past the lease end). ``resign()`` releases the lease and
stops campaigning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from petrosa.coordination._errors import StoreUnavailable
from petrosa.coordination._keeper import LossReason, keep_alive
from petrosa.coordination._lease import Lease, check_lease_args, default_renew_interval
from petrosa.coordination._locks import Locks
from petrosa.resilience import full_jitter_backoff

log = logging.getLogger(__name__)

DEFAULT_ELECTION_TTL_S = 10.0
RETRY_JITTER = 0.5
"""Followers wait between (1 - RETRY_JITTER) and 1 times the retry interval between tries."""

LeadershipCallback = Callable[[bool], None]
"""Called with True when this contender becomes leader and False when it stops leading."""


class LeaderElection:
    """Campaign for leadership of ``name`` as ``identity`` (default: ``HOSTNAME``).

    ::

        async with LeaderElection(locks, "tradeengine", ttl=10) as election:
            await election.wait_elected()
            while election.is_leader:
                ...  # act, passing election.token as the fencing token
    """

    def __init__(
        self,
        locks: Locks,
        name: str,
        identity: str | None = None,
        ttl: float = DEFAULT_ELECTION_TTL_S,
        renew_interval: float | None = None,
        *,
        retry_interval: float | None = None,
        on_change: LeadershipCallback | None = None,
    ) -> None:
        self.locks = locks
        self.name = name
        self.identity = identity if identity is not None else locks.identity
        self.ttl = ttl
        self.renew_interval = (
            renew_interval if renew_interval is not None else default_renew_interval(ttl)
        )
        self.retry_interval = retry_interval if retry_interval is not None else self.renew_interval
        check_lease_args(name, self.identity, ttl)
        if not 0 < self.renew_interval < ttl:
            raise ValueError("renew_interval must be positive and shorter than the ttl")
        if not self.retry_interval > 0:
            raise ValueError("retry_interval must be positive")
        self._on_change = on_change
        self._lease: Lease | None = None
        self._elected = asyncio.Event()
        self._following = asyncio.Event()
        self._following.set()
        self._task: asyncio.Task[None] | None = None
        self.attempts = 0
        """Acquisition attempts made so far (followers keep counting up)."""
        self.last_loss: LossReason | None = None

    async def __aenter__(self) -> LeaderElection:
        self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.resign()

    @property
    def is_leader(self) -> bool:
        """Leading right now: elected, and the lease's local deadline has not passed."""
        lease = self._lease
        return lease is not None and lease.is_valid(self.locks.clock())

    @property
    def token(self) -> int | None:
        """The leader's fencing token (None while following)."""
        return self._lease.token if self.is_leader and self._lease is not None else None

    @property
    def healthy(self) -> bool:
        """The last round trip to the store succeeded."""
        return self.locks.healthy

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def wait_elected(self) -> None:
        await self._elected.wait()

    async def wait_deposed(self) -> None:
        await self._following.wait()

    def start(self) -> None:
        """Begin campaigning in a background task."""
        if self.running:
            raise RuntimeError("this election is already running")
        self._task = asyncio.create_task(self._campaign(), name=f"election:{self.name}")

    async def resign(self) -> None:
        """Stop campaigning; if leading, release the lease so another replica takes over."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        lease = self._lease
        if lease is None:
            return
        self._follow(LossReason.RELEASED)
        try:
            await self.locks.release(lease)
        except StoreUnavailable as error:
            log.warning("could not release leadership of %r, it will expire: %s", self.name, error)

    async def _campaign(self) -> None:
        failures = 0
        while True:
            self.attempts += 1
            try:
                lease = await self.locks.acquire(self.name, self.identity, self.ttl)
            except StoreUnavailable:
                lease, failures = None, failures + 1
            except Exception:
                log.exception("campaign for %r failed unexpectedly; trying again", self.name)
                lease, failures = None, failures + 1
            else:
                failures = 0
            if lease is None:
                await self.locks.sleep(self._pause(failures))
                continue
            self._lead(lease)
            reason = await keep_alive(
                self.locks, lease, renew_interval=self.renew_interval, on_renewed=self._renewed
            )
            self._follow(reason)

    def _pause(self, failures: int) -> float:
        if failures == 0:
            return self.retry_interval * (1 - RETRY_JITTER * self.locks.random())
        return max(
            self.retry_interval * RETRY_JITTER,
            full_jitter_backoff(
                failures,
                initial_s=self.locks.options.backoff_initial,
                max_s=max(self.locks.options.backoff_max, self.retry_interval),
                random=self.locks.random,
            ),
        )

    def _lead(self, lease: Lease) -> None:
        self._lease = lease
        self._following.clear()
        self._elected.set()
        log.info("%s leads %r (token %d)", self.identity, self.name, lease.token)
        self._notify(True)

    def _renewed(self, lease: Lease) -> None:
        self._lease = lease

    def _follow(self, reason: LossReason) -> None:
        if self._lease is None:
            return
        self._lease = None
        self.last_loss = reason
        self._elected.clear()
        self._following.set()
        log.warning("%s no longer leads %r: %s", self.identity, self.name, reason)
        self._notify(False)

    def _notify(self, leading: bool) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(leading)
        except Exception:
            log.exception("leadership callback for %r failed", self.name)
