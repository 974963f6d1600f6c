"""What the client sends can never exceed Binance's per-connection message limit."""

from __future__ import annotations

import asyncio

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from petrosa.contracts.market import Market
from petrosa.exchange.binance.streams import INCOMING_MESSAGES_PER_SECOND
from petrosa.socketclient.pacing import (
    CONTROL_WINDOW_S,
    STREAMS_PER_CONTROL_MESSAGE,
    ReconnectBackoff,
    SlidingWindow,
    control_budget,
    control_messages,
)

PONGS_PER_SECOND_AT_MOST = 1
"""Answers to server pings (every 20 s on spot, 3 min on futures): at most one per second."""


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def max_in_any_window(times: list[float], window_s: float) -> int:
    worst, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > window_s:  # closed windows: the strictest count
            start += 1
        worst = max(worst, end - start + 1)
    return worst


@given(
    market=st.sampled_from(list(Market)),
    bursts=st.lists(
        st.tuples(st.integers(0, 40), st.floats(0, 3, allow_nan=False)), min_size=1, max_size=12
    ),
)
@settings(max_examples=60, deadline=None)
def test_control_messages_plus_pongs_stay_under_the_limit(
    market: Market, bursts: list[tuple[int, float]]
) -> None:
    """Any pattern of bursts (n messages wanted at once, then a pause) through the pacer."""

    async def run() -> list[float]:
        fake = FakeTime()
        window = SlidingWindow(
            control_budget(market), CONTROL_WINDOW_S, clock=fake.clock, sleep=fake.sleep
        )
        sent: list[float] = []
        for count, pause in bursts:
            for _ in range(count):
                await window.acquire()
                sent.append(fake.now)
            fake.now += pause
        return sent

    sent = asyncio.run(run())
    limit = INCOMING_MESSAGES_PER_SECOND[market]
    assert max_in_any_window(sent, 1.0) + PONGS_PER_SECOND_AT_MOST < limit, (bursts, sent)


def test_concurrent_senders_share_the_window() -> None:
    async def run() -> list[float]:
        fake = FakeTime()
        window = SlidingWindow(2, CONTROL_WINDOW_S, clock=fake.clock, sleep=fake.sleep)
        sent: list[float] = []

        async def sender() -> None:
            for _ in range(5):
                await window.acquire()
                sent.append(fake.now)

        await asyncio.gather(*(sender() for _ in range(4)))
        return sorted(sent)

    sent = asyncio.run(run())
    assert len(sent) == 20
    assert max_in_any_window(sent, 1.0) <= 2


@given(count=st.integers(0, 1024))
def test_control_messages_cover_every_name_once_in_bounded_batches(count: int) -> None:
    names = [f"s{i}usdt@aggTrade" for i in range(count)]
    messages = [orjson.loads(m) for m in control_messages("SUBSCRIBE", names, first_id=5)]
    assert [n for m in messages for n in m["params"]] == names
    assert all(len(m["params"]) <= STREAMS_PER_CONTROL_MESSAGE for m in messages)
    assert [m["id"] for m in messages] == list(range(5, 5 + len(messages)))
    assert all(m["method"] == "SUBSCRIBE" for m in messages)


@given(unit=st.floats(0, 0.999999), failures=st.integers(1, 200))
def test_backoff_waits_within_the_capped_full_jitter_bounds(unit: float, failures: int) -> None:
    backoff = ReconnectBackoff(max_s=60.0, reset_after_s=60.0, random=lambda: unit)
    waits = [backoff.record(data_flowed_s=0.0) for _ in range(failures)]
    for n, wait in enumerate(waits, start=1):
        assert 0 <= wait <= min(60.0, 2.0 ** (n - 1))
    assert backoff.failures == failures


def test_a_minute_of_data_resets_the_backoff() -> None:
    backoff = ReconnectBackoff(max_s=60.0, reset_after_s=60.0, random=lambda: 0.999)
    for _ in range(10):
        backoff.record(data_flowed_s=5.0)
    assert backoff.record(data_flowed_s=5.0) > 30
    assert backoff.record(data_flowed_s=61.0) < 1.0
