"""``Locks``: lease operations with deadlines, retries and a truthful health flag.

The store answers one attempt at a time; this layer retries outages with full-jitter
backoff until the operation's deadline, turns the store's answers into :class:`Lease`
values whose local validity is computed conservatively, and serializes ``hold()`` of one
name inside the process (two tasks of one owner would otherwise share a lease).
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from petrosa.coordination._errors import LockNotAcquired, StoreUnavailable
from petrosa.coordination._factory import open_store
from petrosa.coordination._hold import HeldLock
from petrosa.coordination._lease import (
    Grant,
    Lease,
    LeaseInfo,
    check_lease_args,
    check_name,
    default_renew_interval,
    local_deadline,
)
from petrosa.coordination._store import LeaseStore
from petrosa.coordination.settings import (
    DEFAULT_ATTEMPT_TIMEOUT_S,
    DEFAULT_BACKOFF_INITIAL_S,
    DEFAULT_BACKOFF_MAX_S,
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_OPERATION_TIMEOUT_S,
    DEFAULT_POLL_INITIAL_S,
    DEFAULT_POLL_MAX_S,
    CoordinationSettings,
    default_identity,
)
from petrosa.resilience import Clock, RandomUnit, Sleep, full_jitter_backoff

log = logging.getLogger(__name__)
T = TypeVar("T")

ABANDONED_GRACE_S = 1.0
"""How long close() lets abandoned tries finish their cancellation before disposing."""
ABANDONED_RECANCEL_S = 0.05


@dataclass(frozen=True, slots=True)
class LockOptions:
    """Deadlines and pacing of lease operations (seconds)."""

    attempt_timeout: float = DEFAULT_ATTEMPT_TIMEOUT_S
    """One round trip to the store."""
    operation_timeout: float = DEFAULT_OPERATION_TIMEOUT_S
    """One operation with its retries (acquire, release, holder, ping)."""
    backoff_initial: float = DEFAULT_BACKOFF_INITIAL_S
    backoff_max: float = DEFAULT_BACKOFF_MAX_S
    """Retry pacing while the store is unreachable."""
    poll_initial: float = DEFAULT_POLL_INITIAL_S
    poll_max: float = DEFAULT_POLL_MAX_S
    """Pacing of ``hold(wait=…)`` while someone else holds the lock."""


DEFAULT_LOCK_OPTIONS = LockOptions()


class Locks:
    """Distributed lease locks with fencing tokens on one store.

    ``clock`` must be monotonic: it measures local validity and deadlines, never expiry on
    the store (the store decides that on its own clock).
    """

    def __init__(
        self,
        store: LeaseStore,
        *,
        options: LockOptions = DEFAULT_LOCK_OPTIONS,
        identity: str | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        random: RandomUnit = _random.random,
    ) -> None:
        self.store = store
        self.options = options
        self.identity = identity if identity is not None else default_identity()
        self.clock = clock
        self.sleep = sleep
        self.random = random
        self._healthy = False
        self._last_error: str | None = None
        self._local: dict[str, asyncio.Lock] = {}
        self._abandoned: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        options: LockOptions = DEFAULT_LOCK_OPTIONS,
        identity: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> Locks:
        # A connection that takes longer than one attempt is abandoned anyway.
        store = open_store(
            url,
            connect_timeout=min(connect_timeout, options.attempt_timeout),
            busy_timeout=options.attempt_timeout,
        )
        return cls(store, options=options, identity=identity)

    @classmethod
    def from_settings(cls, settings: CoordinationSettings | None = None) -> Locks:
        """Locks on ``COORDINATION_URL`` with the ``COORDINATION_*`` deadlines."""
        s = settings if settings is not None else CoordinationSettings()
        options = LockOptions(
            attempt_timeout=s.attempt_timeout_s,
            operation_timeout=s.operation_timeout_s,
            backoff_initial=s.backoff_initial_s,
            backoff_max=s.backoff_max_s,
            poll_initial=s.poll_initial_s,
            poll_max=s.poll_max_s,
        )
        return cls.from_url(
            s.url.get_secret_value(),
            options=options,
            identity=s.identity,
            connect_timeout=s.connect_timeout_s,
        )

    async def __aenter__(self) -> Locks:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @property
    def healthy(self) -> bool:
        """The last store round trip succeeded (False before the first one)."""
        return self._healthy

    @property
    def last_error(self) -> str | None:
        """Why the store was last unreachable (no credentials), or None."""
        return self._last_error

    async def acquire(
        self, name: str, owner: str, ttl: float, *, deadline: float | None = None
    ) -> Lease | None:
        """Take ``name`` for ``owner`` for ``ttl`` seconds, or None if someone else holds it.

        One atomic step on the store: free or expired locks are taken with a new fencing
        token; the current holder re-acquiring extends its lease and keeps its token.
        Retries outages until ``deadline`` (local clock; default: the operation timeout),
        then raises :class:`StoreUnavailable`.
        """
        check_lease_args(name, owner, ttl)
        sent_at, grant = await self._retrying(
            lambda: self.store.acquire(name, owner, ttl), deadline
        )
        return _lease(name, owner, ttl, grant, sent_at)

    async def renew(self, lease: Lease, *, deadline: float | None = None) -> Lease | None:
        """Extend ``lease`` by its ttl from now; None if it was lost (taken or released)."""
        sent_at, grant = await self._retrying(
            lambda: self.store.renew(lease.name, lease.owner, lease.token, lease.ttl),
            deadline,
        )
        return _lease(lease.name, lease.owner, lease.ttl, grant, sent_at)

    async def release(self, lease: Lease) -> bool:
        """Give ``lease`` up; False if it was not held any more. Safe to repeat."""
        _, released = await self._retrying(
            lambda: self.store.release(lease.name, lease.owner, lease.token),
            None,
        )
        return released

    async def holder(self, name: str) -> LeaseInfo | None:
        """Who holds ``name`` now, by the store's clock; None when free or expired."""
        check_name("lock name", name)
        _, info = await self._retrying(lambda: self.store.holder(name), None)
        return info

    async def ping(self) -> bool:
        """One round trip (readiness probe): updates and returns :attr:`healthy`."""
        try:
            await self._retrying(self.store.ping, None)
        except StoreUnavailable:
            return False
        return True

    @asynccontextmanager
    async def hold(
        self,
        name: str,
        owner: str,
        ttl: float,
        *,
        wait: float = 0.0,
        renew_interval: float | None = None,
    ) -> AsyncIterator[HeldLock]:
        """Hold ``name`` for the block, renewing every ``renew_interval`` (default ttl/3).

        Waits up to ``wait`` seconds for the lock (polling with jittered backoff), then
        raises :class:`LockNotAcquired` (or :class:`StoreUnavailable` if the store could
        not be reached). Inside the block, check ``held.valid`` (or ``ensure_valid()``)
        before every action and pass ``held.token`` to the resources it writes: the lease
        can be lost (store unreachable until the lease ran out, or taken) while the block
        still runs. The lease is released when the block ends. Tasks of this process that
        hold one name through this ``Locks`` take turns before competing on the store.
        """
        check_lease_args(name, owner, ttl)
        interval = renew_interval if renew_interval is not None else default_renew_interval(ttl)
        if not 0 < interval < ttl:
            raise ValueError("renew_interval must be positive and shorter than the ttl")
        wait_until = self.clock() + wait
        local = self._local.setdefault(name, asyncio.Lock())
        try:
            async with asyncio.timeout(max(wait, 0.0)):
                await local.acquire()
        except TimeoutError:
            raise LockNotAcquired(f"{name!r} is held by another task of this process") from None
        try:
            lease = await self._acquire_waiting(name, owner, ttl, wait_until)
            held = HeldLock(self, lease, renew_interval=interval)
            held.start()
            try:
                yield held
            finally:
                await held.finish()
        finally:
            local.release()

    async def close(self) -> None:
        """Stop abandoned attempts and close the store's connections."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + ABANDONED_GRACE_S
        while self._abandoned and loop.time() < give_up_at:
            # Again and again: a cancel that lands before the task ran again is merged
            # with the first one, and the task's own cleanup may be what is stuck.
            for task in self._abandoned:
                task.cancel()
            await asyncio.wait(set(self._abandoned), timeout=ABANDONED_RECANCEL_S)
        await self.store.close()

    async def _acquire_waiting(self, name: str, owner: str, ttl: float, wait_until: float) -> Lease:
        polls = 0
        while True:
            deadline = max(wait_until, self.clock() + self.options.attempt_timeout)
            lease = await self.acquire(name, owner, ttl, deadline=deadline)
            if lease is not None:
                return lease
            remaining = wait_until - self.clock()
            if remaining <= 0:
                raise LockNotAcquired(f"{name!r} is held by another owner")
            polls += 1
            pause = self._backoff(polls, self.options.poll_initial, self.options.poll_max)
            await self.sleep(min(pause, remaining))

    async def _retrying(
        self, attempt: Callable[[], Awaitable[T]], deadline: float | None
    ) -> tuple[float, T]:
        """Run ``attempt()`` until the store answers; returns (local send time, answer).

        Each try gets the attempt timeout (or what is left before ``deadline``); outages
        are retried after full-jitter backoff while time remains.
        """
        if deadline is None:
            deadline = self.clock() + self.options.operation_timeout
        failures = 0
        while True:
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise StoreUnavailable(self._last_error or "no time left to reach the store")
            sent_at = self.clock()
            try:
                answer = await self._attempt(attempt, min(self.options.attempt_timeout, remaining))
            except StoreUnavailable as error:
                self._note_outage(str(error))
                failures += 1
                pause = self._backoff(
                    failures, self.options.backoff_initial, self.options.backoff_max
                )
                if self.clock() + pause >= deadline:
                    raise
                await self.sleep(pause)
                continue
            self._healthy = True
            return sent_at, answer

    def _backoff(self, attempt: int, initial_s: float, max_s: float) -> float:
        return full_jitter_backoff(attempt, initial_s=initial_s, max_s=max_s, random=self.random)

    async def _attempt(self, attempt: Callable[[], Awaitable[T]], limit_s: float) -> T:
        """One try, given up after ``limit_s``: a store that does not answer is unavailable.

        The try runs as its own task and is abandoned (cancelled, not awaited) at the
        deadline: cancelling a driver mid-query can itself block on the dead network (asyncpg
        opens a connection to send a cancel request), and a holder must not wait for that.
        """
        task = asyncio.ensure_future(attempt())
        try:
            done, _ = await asyncio.wait({task}, timeout=limit_s)
        except asyncio.CancelledError:
            self._abandon(task)
            raise
        if task in done:
            return task.result()
        self._abandon(task)
        raise StoreUnavailable(
            f"{self.store.backend} lease store did not answer within {limit_s:.3g}s"
        )

    def _abandon(self, task: asyncio.Future[Any]) -> None:
        task.cancel()
        if isinstance(task, asyncio.Task):
            self._abandoned.add(task)
            task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: an abandoned try's error is of no interest

    def _note_outage(self, reason: str) -> None:
        if self._healthy:
            log.warning("lease store %s unreachable: %s", self.store.label, reason)
        self._healthy = False
        self._last_error = reason


def _lease(name: str, owner: str, ttl: float, grant: Grant | None, sent_at: float) -> Lease | None:
    if grant is None:
        return None
    return Lease(
        name=name,
        owner=owner,
        token=grant.token,
        ttl=ttl,
        expires_at=grant.expires_at,
        valid_until=local_deadline(sent_at, ttl),
    )
