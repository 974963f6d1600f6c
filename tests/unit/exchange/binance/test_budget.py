"""The shared weight budget on a fake clock: waits instead of exceeding, follows the server."""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict

import pytest

from petrosa.exchange.binance import IPBannedError, WeightBudget
from tests.unit.exchange.binance.fakes import T0_S, FakeTime

MARGIN_S = 1.0


def budget(
    time: FakeTime, limit: int = 100, fraction: float = 0.9, *, probe: bool = False
) -> WeightBudget:
    """A budget on the fake clock; without the probe unless asked (tested on its own)."""
    return WeightBudget(
        limit,
        fraction=fraction,
        boundary_margin_s=MARGIN_S,
        clock=time.clock,
        sleep=time.sleep,
        probe=probe,
    )


def minute(seconds: float) -> int:
    return math.floor(seconds / 60)


def test_capacity_is_a_share_of_the_limit() -> None:
    assert WeightBudget.for_market("spot").capacity == 5_400
    assert WeightBudget.for_market("futures").capacity == 2_160
    assert WeightBudget.for_funding_rates().capacity == 450
    assert WeightBudget(2_400, fraction=0.5).capacity == 1_200


async def test_a_weight_that_can_never_fit_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="never fit"):
        await WeightBudget(10, fraction=0.5).acquire(6)


async def test_reserves_without_waiting_while_there_is_room() -> None:
    time = FakeTime()
    weights = budget(time)
    for _ in range(45):
        reservation = await weights.acquire(2)
        weights.settle(reservation, used_weight=None, reached_server=True)
    assert weights.used == 90
    assert time.sleeps == []


async def test_waits_for_the_next_window_instead_of_exceeding() -> None:
    time = FakeTime(T0_S + 5)
    weights = budget(time)
    first = await weights.acquire(90)
    weights.settle(first, used_weight=None, reached_server=True)

    second = await weights.acquire(1)

    assert time.sleeps == [pytest.approx(60 - 5 + MARGIN_S)]
    assert second.waited_s == pytest.approx(56)
    assert time.now == pytest.approx(T0_S + 60 + MARGIN_S)
    assert weights.stats.waits == 1


async def test_concurrent_tasks_never_overshoot_together() -> None:
    """60 tasks x 10 requests of weight 3 on a 90-per-minute budget: no minute above 90."""
    time = FakeTime(T0_S + 30)
    weights = budget(time)
    by_minute: dict[int, int] = defaultdict(int)

    async def task() -> None:
        for _ in range(10):
            reservation = await weights.acquire(3)
            by_minute[minute(time.now - MARGIN_S)] += reservation.weight
            await asyncio.sleep(0)  # in flight while others try to reserve
            weights.settle(reservation, used_weight=None, reached_server=True)

    await asyncio.gather(*(task() for _ in range(60)))

    assert sum(by_minute.values()) == 60 * 10 * 3
    assert max(by_minute.values()) <= weights.capacity
    assert len(by_minute) == math.ceil(1_800 / 90)  # and every minute is used to the full


async def test_in_flight_weight_counts_before_any_answer() -> None:
    time = FakeTime()
    weights = budget(time)
    held = [await weights.acquire(30) for _ in range(3)]  # 90 in flight, nothing answered
    assert weights.used == 90
    waiter = asyncio.create_task(weights.acquire(1))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiter.done()
    for reservation in held:
        weights.settle(reservation, used_weight=None, reached_server=True)
    await waiter
    assert time.now >= T0_S + 60  # it went into the next window


async def test_a_windows_first_request_goes_out_alone() -> None:
    """Until the probe's answer shows what the server counts, nobody else is let through."""
    time = FakeTime(T0_S + 10)
    weights = budget(time, probe=True)
    probe = await weights.acquire(1)
    others = [asyncio.create_task(weights.acquire(1)) for _ in range(5)]
    for _ in range(10):
        await asyncio.sleep(0)
    assert not any(task.done() for task in others)

    weights.settle(probe, used_weight=89, reached_server=True)  # others used the minute
    first = await others[0]
    assert first.window == probe.window
    assert time.sleeps == []
    weights.settle(first, used_weight=90, reached_server=True)
    for task in others[1:]:
        reservation = await task
        assert reservation.window == probe.window + 1  # the next window
        weights.settle(reservation, used_weight=None, reached_server=True)


async def test_a_probe_that_never_arrived_hands_over_to_the_next_request() -> None:
    time = FakeTime()
    weights = budget(time, probe=True)
    probe = await weights.acquire(1)
    waiting = asyncio.create_task(weights.acquire(1))
    await asyncio.sleep(0)
    weights.settle(probe, used_weight=None, reached_server=False)
    second = await waiting
    third = asyncio.create_task(weights.acquire(1))
    for _ in range(10):
        await asyncio.sleep(0)
    assert not third.done()  # the second request is the new probe
    weights.settle(second, used_weight=2, reached_server=True)
    await third


async def test_each_window_is_probed_again() -> None:
    time = FakeTime(T0_S + 50)
    weights = budget(time, probe=True)
    weights.settle(await weights.acquire(1), used_weight=1, reached_server=True)
    await weights.acquire(1)  # answered window: no probe wait
    time.advance(20)  # a new window
    probe = await weights.acquire(1)
    blocked = asyncio.create_task(weights.acquire(1))
    await asyncio.sleep(0)
    assert not blocked.done()
    weights.settle(probe, used_weight=1, reached_server=True)
    await blocked


async def test_the_servers_count_replaces_the_estimate() -> None:
    time = FakeTime(T0_S + 10)
    weights = budget(time)
    reservation = await weights.acquire(2)
    weights.settle(reservation, used_weight=85, reached_server=True)  # other processes
    assert weights.used == 85

    more = await weights.acquire(5)
    assert time.sleeps == []
    weights.settle(more, used_weight=None, reached_server=True)
    assert weights.used == 90
    await weights.acquire(1)
    assert time.sleeps == [pytest.approx(60 - 10 + MARGIN_S)]


async def test_the_server_can_also_lower_the_estimate() -> None:
    time = FakeTime()
    weights = budget(time)
    lost = await weights.acquire(20)
    weights.settle(lost, used_weight=None, reached_server=True)  # counted, to be safe
    answered = await weights.acquire(2)
    weights.settle(answered, used_weight=2, reached_server=True)
    assert weights.used == 2


async def test_an_older_smaller_count_does_not_undo_a_newer_one() -> None:
    time = FakeTime()
    weights = budget(time)
    first, second = await weights.acquire(1), await weights.acquire(1)
    weights.settle(second, used_weight=50, reached_server=True)
    weights.settle(first, used_weight=49, reached_server=True)  # overtaken on the way back
    assert weights.used == 50


async def test_a_count_from_the_previous_window_is_not_applied() -> None:
    time = FakeTime(T0_S + 59.9)
    weights = budget(time)
    late = await weights.acquire(1)
    time.advance(2.0)  # the answer arrives in the next window
    weights.settle(late, used_weight=89, reached_server=True)
    assert weights.used == 1  # counted conservatively, not as 89


async def test_a_request_that_never_left_costs_nothing() -> None:
    time = FakeTime()
    weights = budget(time)
    reservation = await weights.acquire(10)
    weights.settle(reservation, used_weight=None, reached_server=False)
    assert weights.used == 0


async def test_windows_follow_the_server_clock() -> None:
    time = FakeTime(T0_S + 5)  # local: 5 s into a minute
    weights = budget(time)
    weights.observe_server_time(
        int((T0_S + 50) * 1000), sent_at=time.now - 0.1, received_at=time.now + 0.1
    )  # the server is 45 s ahead: 10 s before its next minute
    assert weights.server_now() == pytest.approx(T0_S + 50)
    full = await weights.acquire(90)
    weights.settle(full, used_weight=90, reached_server=True)
    await weights.acquire(1)
    assert time.sleeps == [pytest.approx(10 + MARGIN_S)]


async def test_clock_sync_asks_the_server_once_for_many_tasks() -> None:
    time = FakeTime()
    weights = budget(time)
    asked = 0

    async def measure() -> None:
        nonlocal asked
        asked += 1
        await asyncio.sleep(0)
        weights.observe_server_time(int(time.now * 1000), sent_at=time.now, received_at=time.now)

    await asyncio.gather(*(weights.sync_clock(measure) for _ in range(20)))
    assert asked == 1
    assert weights.clock_synced


async def test_a_429_pauses_every_waiting_task_once() -> None:
    time = FakeTime(T0_S + 10)
    weights = budget(time)
    pause = weights.rate_limited(retry_after_s=20)
    assert pause == 20

    reservations = await asyncio.gather(*(weights.acquire(1) for _ in range(10)))

    assert time.sleeps == [pytest.approx(20)]  # one sleeper; the rest queued behind it
    assert time.now == pytest.approx(T0_S + 30)
    assert [r.waited_s for r in reservations] == [pytest.approx(20)] * 10


async def test_a_429_without_retry_after_pauses_until_the_next_window() -> None:
    time = FakeTime(T0_S + 10)
    weights = budget(time)
    assert weights.rate_limited(retry_after_s=None) == pytest.approx(50 + MARGIN_S)


async def test_a_ban_refuses_every_request_until_it_ends() -> None:
    time = FakeTime()
    weights = budget(time)
    weights.ban(300)

    with pytest.raises(IPBannedError) as raised:
        await weights.acquire(1)
    assert raised.value.status == 418
    assert raised.value.retry_after_s == pytest.approx(300)
    assert weights.banned_for_s == pytest.approx(300)

    time.advance(301)
    await weights.acquire(1)


async def test_a_ban_stops_tasks_already_waiting() -> None:
    time = FakeTime(T0_S + 5)
    weights = budget(time)
    await weights.acquire(90)
    waiting = asyncio.create_task(weights.acquire(1))
    await asyncio.sleep(0)
    weights.ban(None)  # length unknown: the shortest ban, two minutes
    with pytest.raises(IPBannedError):
        await waiting
