"""The leader-election state machine, on an in-memory store in virtual time.

Every contender has its own view of the shared store (``SwitchableStore``) so one can be
cut off, as if its pod lost the network or froze, while the others still reach it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from petrosa.coordination import (
    LeaderElection,
    LockOptions,
    Locks,
    LossReason,
    MemoryLeaseStore,
)
from petrosa.coordination._rules import first_token
from tests.unit.coordination.fakes import SwitchableStore, VirtualTime

TTL = 6.0
RENEW = 2.0
OPTIONS = LockOptions(attempt_timeout=0.5, operation_timeout=2.0, backoff_initial=0.1)
REAL_WAIT_S = 5.0
"""Real seconds a test waits for a virtual-time event: virtual hours pass meanwhile."""


@dataclass
class Contender:
    election: LeaderElection
    store: SwitchableStore
    changes: list[tuple[float, bool]] = field(default_factory=list)


@pytest.fixture
def shared(vt: VirtualTime) -> MemoryLeaseStore:
    return MemoryLeaseStore(clock=vt.clock)


def contender(shared: MemoryLeaseStore, vt: VirtualTime, identity: str) -> Contender:
    store = SwitchableStore(shared)
    locks = Locks(
        store,
        options=OPTIONS,
        identity=identity,
        clock=vt.clock,
        sleep=vt.sleep,
        random=lambda: 0.5,
    )
    changes: list[tuple[float, bool]] = []
    election = LeaderElection(
        locks,
        "leader",
        ttl=TTL,
        renew_interval=RENEW,
        on_change=lambda leading: changes.append((vt.now, leading)),
    )
    return Contender(election, store, changes)


@asynccontextmanager
async def campaigning(
    shared: MemoryLeaseStore, vt: VirtualTime, count: int
) -> AsyncIterator[list[Contender]]:
    """``count`` contenders campaigning; all resign at the end, which must never have seen
    two leaders at once."""
    contenders = [contender(shared, vt, f"pod-{n}") for n in range(count)]
    for c in contenders:
        c.election.start()
    try:
        yield contenders
    finally:
        for c in contenders:
            await c.election.resign()
    assert_never_two_leaders(contenders, vt.now)


async def wait_for_leader(contenders: list[Contender]) -> Contender:
    async def any_leader() -> Contender:
        while True:
            leaders = [c for c in contenders if c.election.is_leader]
            if leaders:
                return leaders[0]
            await asyncio.sleep(0)

    return await asyncio.wait_for(any_leader(), REAL_WAIT_S)


def leadership_intervals(contenders: list[Contender], end: float) -> list[tuple[float, float]]:
    intervals = []
    for c in contenders:
        start: float | None = None
        for at, leading in c.changes:
            if leading:
                start = at
            elif start is not None:
                intervals.append((start, at))
                start = None
        if start is not None:
            intervals.append((start, end))
    return sorted(intervals)


def assert_never_two_leaders(contenders: list[Contender], end: float) -> None:
    intervals = leadership_intervals(contenders, end)
    for (_, first_end), (second_start, _) in itertools.pairwise(intervals):
        assert second_start >= first_end, intervals


async def test_a_lone_contender_leads_and_keeps_leading_with_one_token(
    shared: MemoryLeaseStore, vt: VirtualTime
) -> None:
    solo = contender(shared, vt, "solo")
    async with solo.election as election:
        await asyncio.wait_for(election.wait_elected(), REAL_WAIT_S)
        assert election.is_leader
        first = election.token
        assert first is not None
        assert election.healthy
        await vt.sleep(20 * TTL)
        assert election.is_leader
        assert election.token == first
        assert solo.changes == [(solo.changes[0][0], True)]
    assert not election.is_leader
    assert election.token is None
    assert solo.changes[-1][1] is False


async def test_three_contenders_one_leader_and_failover_when_the_leader_is_cut_off(
    shared: MemoryLeaseStore, vt: VirtualTime
) -> None:
    async with campaigning(shared, vt, 3) as contenders:
        await three_contenders_fail_over(contenders, vt)


async def three_contenders_fail_over(contenders: list[Contender], vt: VirtualTime) -> None:
    first = await wait_for_leader(contenders)
    await vt.sleep(5 * TTL)
    assert [c.election.is_leader for c in contenders].count(True) == 1
    first_token = first.election.token
    assert first_token is not None

    first.store.down = True  # frozen or partitioned: it can no longer renew
    cut_at = vt.now
    await asyncio.wait_for(first.election.wait_deposed(), REAL_WAIT_S)
    assert first.election.last_loss is LossReason.EXPIRED
    assert vt.now - cut_at <= TTL  # stepped down by its own lease deadline
    second = await wait_for_leader([c for c in contenders if c is not first])
    assert vt.now - cut_at <= TTL + RENEW  # failover within about one ttl
    assert second.election.token == first_token + 1

    first.store.down = False  # back: it follows, it does not steal
    await vt.sleep(5 * TTL)
    assert second.election.is_leader
    assert not first.election.is_leader
    attempts_before = first.election.attempts
    await vt.sleep(5 * TTL)
    assert first.election.attempts > attempts_before  # followers keep trying


async def test_followers_never_give_up_while_the_store_is_unreachable(
    shared: MemoryLeaseStore, vt: VirtualTime
) -> None:
    contenders = [contender(shared, vt, f"pod-{n}") for n in range(3)]
    for c in contenders:
        c.store.down = True
        c.election.start()
    try:
        await vt.sleep(100 * TTL)
        assert not any(c.election.is_leader or c.election.healthy for c in contenders)
        assert all(c.election.attempts > 10 for c in contenders)
        back_at = vt.now
        for c in contenders:
            c.store.down = False
        leader = await wait_for_leader(contenders)
        assert leader.election.healthy
        # The lock's first token (its grant time in µs): none was handed out during the outage.
        token = leader.election.token
        assert token is not None
        assert first_token(back_at) <= token <= first_token(vt.now)
    finally:
        for c in contenders:
            await c.election.resign()


async def test_resigning_hands_over_without_waiting_for_expiry(
    shared: MemoryLeaseStore, vt: VirtualTime
) -> None:
    async with campaigning(shared, vt, 2) as contenders:
        first = await wait_for_leader(contenders)
        resigned_at = vt.now
        await first.election.resign()
        assert first.election.last_loss is LossReason.RELEASED
        assert not first.election.running
        await wait_for_leader([c for c in contenders if c is not first])
        assert vt.now - resigned_at <= RENEW + OPTIONS.attempt_timeout  # no ttl wait


async def test_a_leader_whose_lease_was_taken_steps_down_and_campaigns_again(
    shared: MemoryLeaseStore, vt: VirtualTime
) -> None:
    solo = contender(shared, vt, "solo")
    async with solo.election as election:
        await asyncio.wait_for(election.wait_elected(), REAL_WAIT_S)
        token = election.token
        assert token is not None
        await shared.release("leader", "solo", token)  # freed behind its back…
        assert await shared.acquire("leader", "intruder", TTL) is not None  # …and taken
        await asyncio.wait_for(election.wait_deposed(), REAL_WAIT_S)
        assert election.last_loss is LossReason.TAKEN
        await asyncio.wait_for(election.wait_elected(), REAL_WAIT_S)  # after the intruder's ttl
        assert election.token == token + 2


async def test_a_failing_callback_does_not_stop_the_campaign(
    shared: MemoryLeaseStore, vt: VirtualTime
) -> None:
    def broken(_leading: bool) -> None:
        raise RuntimeError("callback bug")

    locks = Locks(
        SwitchableStore(shared), options=OPTIONS, clock=vt.clock, sleep=vt.sleep, identity="x"
    )
    async with LeaderElection(locks, "leader", ttl=TTL, on_change=broken) as election:
        await asyncio.wait_for(election.wait_elected(), REAL_WAIT_S)
        await vt.sleep(3 * TTL)
        assert election.is_leader
        assert election.running


def test_identity_defaults_to_the_locks_identity(shared: MemoryLeaseStore) -> None:
    election = LeaderElection(Locks(shared, identity="pod-7"), "leader")
    assert election.identity == "pod-7"
    assert election.renew_interval == pytest.approx(election.ttl / 3)
    with pytest.raises(ValueError, match="renew_interval"):
        LeaderElection(Locks(shared, identity="pod-7"), "leader", ttl=1.0, renew_interval=2.0)
