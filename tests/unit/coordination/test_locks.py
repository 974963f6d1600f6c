"""Locks on an in-memory store in virtual time: retries, health, local validity, hold()."""

from __future__ import annotations

import asyncio

import pytest

from petrosa.coordination import (
    CLOCK_DRIFT_FACTOR,
    Grant,
    LeaseLost,
    LockNotAcquired,
    LockOptions,
    Locks,
    LossReason,
    MemoryLeaseStore,
    StoreUnavailable,
)
from tests.unit.coordination.fakes import SwitchableStore, VirtualTime

TTL = 9.0
OPTIONS = LockOptions(
    attempt_timeout=1.0,
    operation_timeout=5.0,
    backoff_initial=0.1,
    backoff_max=1.0,
    poll_initial=0.05,
    poll_max=0.4,
)
HALF = 0.5


@pytest.fixture
def store(vt: VirtualTime) -> SwitchableStore:
    return SwitchableStore(MemoryLeaseStore(clock=vt.clock))


def locks_on(store: SwitchableStore, vt: VirtualTime, identity: str = "me") -> Locks:
    return Locks(
        store,
        options=OPTIONS,
        identity=identity,
        clock=vt.clock,
        sleep=vt.sleep,
        random=lambda: HALF,
    )


async def test_acquire_renew_release_and_holder(store: SwitchableStore, vt: VirtualTime) -> None:
    a, b = locks_on(store, vt, "a"), locks_on(store, vt, "b")
    assert not a.healthy  # nothing known before the first round trip
    lease = await a.acquire("lock", "a", TTL)
    assert lease is not None
    first = lease.token
    assert first > 0
    assert a.healthy
    assert lease.valid_until == pytest.approx(vt.now + TTL * (1 - CLOCK_DRIFT_FACTOR))
    assert await b.acquire("lock", "b", TTL) is None
    holder = await b.holder("lock")
    assert holder is not None
    assert (holder.owner, holder.token) == ("a", first)

    await vt.sleep(3)
    renewed = await a.renew(lease)
    assert renewed is not None
    assert renewed.token == first
    assert renewed.valid_until == pytest.approx(lease.valid_until + 3)
    assert renewed.expires_at > lease.expires_at

    assert await a.release(renewed)
    assert not await a.release(renewed)  # idempotent
    assert await b.holder("lock") is None
    assert await a.renew(renewed) is None  # released: nothing left to renew
    taken = await b.acquire("lock", "b", TTL)
    assert taken is not None
    assert taken.token == first + 1


async def test_expired_lease_is_taken_and_its_holder_cannot_renew(
    store: SwitchableStore, vt: VirtualTime
) -> None:
    a, b = locks_on(store, vt, "a"), locks_on(store, vt, "b")
    lease = await a.acquire("lock", "a", TTL)
    assert lease is not None
    await vt.sleep(TTL)
    assert not lease.is_valid(vt.now)
    taken = await b.acquire("lock", "b", TTL)
    assert taken is not None
    assert taken.token == lease.token + 1
    assert await a.renew(lease) is None
    assert not await a.release(lease)


async def test_outages_are_retried_with_backoff_and_shown_in_health(
    store: SwitchableStore, vt: VirtualTime
) -> None:
    locks = locks_on(store, vt)
    await locks.acquire("lock", "me", TTL)
    assert locks.healthy
    store.down = True
    started, calls = vt.now, store.calls
    with pytest.raises(StoreUnavailable):
        await locks.acquire("lock", "me", TTL)
    assert not locks.healthy
    assert locks.last_error is not None
    assert store.calls - calls > 3  # retried…
    assert vt.now - started <= OPTIONS.operation_timeout  # …within the operation deadline
    assert not await locks.ping()

    store.down = False
    assert await locks.ping()
    assert locks.healthy


async def test_a_store_that_never_answers_fails_within_the_attempt_timeout() -> None:
    class Silent(MemoryLeaseStore):
        async def acquire(self, name: str, owner: str, ttl: float) -> Grant | None:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    fast = LockOptions(attempt_timeout=0.05, operation_timeout=0.2, backoff_initial=0.01)
    locks = Locks(Silent(), options=fast, identity="me")
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(StoreUnavailable, match="did not answer"):
        await locks.acquire("lock", "me", TTL)
    assert loop.time() - started < 0.5
    assert not locks.healthy


async def test_an_attempt_whose_cancellation_blocks_is_abandoned_at_its_deadline() -> None:
    """Like asyncpg, which on cancellation connects again to send a cancel request."""
    cleanup_finished = asyncio.Event()

    class StubbornStore(MemoryLeaseStore):
        async def renew(self, name: str, owner: str, token: int, ttl: float) -> Grant | None:
            try:
                await asyncio.Event().wait()
            finally:
                try:
                    await asyncio.sleep(30)  # a cancel request to a dead server
                finally:
                    cleanup_finished.set()
            raise AssertionError("unreachable")

    fast = LockOptions(attempt_timeout=0.05, operation_timeout=0.2, backoff_initial=0.01)
    locks = Locks(StubbornStore(), options=fast, identity="me")
    lease = await locks.acquire("lock", "me", TTL)
    assert lease is not None
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(StoreUnavailable):
        await locks.renew(lease)
    assert loop.time() - started < 0.5
    await locks.close()  # stops what was abandoned
    assert cleanup_finished.is_set()


async def test_hold_renews_in_the_background_and_releases_at_the_end(
    store: SwitchableStore, vt: VirtualTime
) -> None:
    locks, other = locks_on(store, vt), locks_on(store, vt, "other")
    async with locks.hold("lock", "me", TTL) as held:
        first = held.token
        for _ in range(10):
            await vt.sleep(TTL / 2)
            assert held.valid
            held.ensure_valid()
        assert held.token == first
        assert held.remaining() > TTL / 2
        assert await other.acquire("lock", "other", TTL) is None
    assert not held.valid
    assert held.loss_reason is LossReason.RELEASED
    assert await other.holder("lock") is None


async def test_hold_waits_for_the_lock_then_gives_up(
    store: SwitchableStore, vt: VirtualTime
) -> None:
    locks, other = locks_on(store, vt), locks_on(store, vt, "other")
    blocker = await other.acquire("lock", "other", TTL)
    assert blocker is not None
    started = vt.now
    with pytest.raises(LockNotAcquired):
        async with locks.hold("lock", "me", TTL, wait=2.0):
            raise AssertionError("must not enter")
    assert 2.0 <= vt.now - started < 2.0 + OPTIONS.poll_max

    async def release_soon() -> None:
        await vt.sleep(1.0)
        await other.release(blocker)

    releaser = asyncio.create_task(release_soon())
    async with locks.hold("lock", "me", TTL, wait=5.0) as held:
        assert held.token == blocker.token + 1
        assert vt.now - started < 2.0 + 1.0 + OPTIONS.poll_max + 1.0
    await releaser


async def test_hold_reports_loss_once_the_lease_runs_out_unrenewed(
    store: SwitchableStore, vt: VirtualTime
) -> None:
    locks = locks_on(store, vt)
    async with locks.hold("lock", "me", TTL) as held:
        last_renewal_deadline = held.lease.valid_until
        store.down = True
        reason = await held.wait_lost()
        assert reason is LossReason.EXPIRED
        assert vt.now == pytest.approx(last_renewal_deadline, abs=OPTIONS.backoff_max)
        assert not held.valid
        assert held.remaining() == 0.0
        assert not locks.healthy
        with pytest.raises(LeaseLost):
            held.ensure_valid()
        store.down = False  # back, but the loss is final for this hold
        await vt.sleep(1.0)
        assert not held.valid


async def test_hold_reports_a_lease_taken_meanwhile(
    store: SwitchableStore, vt: VirtualTime
) -> None:
    locks, intruder = locks_on(store, vt), locks_on(store, vt, "intruder")
    async with locks.hold("lock", "me", TTL) as held:
        await intruder.release(held.lease)  # e.g. an operator freeing it by hand
        assert await intruder.acquire("lock", "intruder", TTL) is not None
        assert await held.wait_lost() is LossReason.TAKEN
        assert not held.valid
    holder = await intruder.holder("lock")
    assert holder is not None
    assert holder.owner == "intruder"


async def test_two_tasks_of_one_process_hold_a_name_one_after_the_other(
    store: SwitchableStore, vt: VirtualTime
) -> None:
    locks = locks_on(store, vt)
    inside: list[int] = []
    overlaps = 0

    async def worker(n: int) -> None:
        nonlocal overlaps
        async with locks.hold("lock", "me", TTL, wait=60) as held:
            overlaps += len(inside)
            inside.append(n)
            assert held.valid
            await vt.sleep(0.5)
            inside.remove(n)

    await asyncio.gather(*(worker(n) for n in range(5)))
    assert overlaps == 0


async def test_hold_refuses_a_renewal_interval_as_long_as_the_ttl(
    store: SwitchableStore, vt: VirtualTime
) -> None:
    with pytest.raises(ValueError, match="renew_interval"):
        async with locks_on(store, vt).hold("lock", "me", TTL, renew_interval=TTL):
            pass
