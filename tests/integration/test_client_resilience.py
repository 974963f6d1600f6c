"""The client against a real Data Manager over HTTP, behind a proxy that fails then recovers.

Servers: a real ``petrosa data-manager serve`` process on SQLite, MariaDB and PostgreSQL
(the ``dm_url`` fixture), reached through ``tests.support.flaky_proxy.FlakyProxy``.
Proves with real sockets what the unit tests prove with a mock transport: retries fire and
succeed once the server is back, the breaker opens in a long outage and closes again after
recovery, and a call never runs past its total time budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from petrosa.client import (
    CircuitOpenError,
    CircuitState,
    DataManagerClient,
    RequestTimeoutError,
    ServiceUnavailableError,
    SyncDataManagerClient,
)
from petrosa.contracts import Kline
from tests.support.flaky_proxy import Fault, FlakyProxy

pytestmark = pytest.mark.integration

MINUTE_MS = 60_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
FAST_RETRIES: dict[str, Any] = {
    "backoff_initial": 0.02,
    "backoff_max": 0.1,
    "total_timeout": 10.0,
    "timeout": 10.0,
}
UNBUDGETED_S = 10.0
"""Longer than any budget here with room for a busy machine, yet shorter than the calls
would run without a budget (1,000 attempts with back-off; a 30 s request timeout)."""


@pytest.fixture
def proxy(dm_url: str) -> Iterator[FlakyProxy]:
    with FlakyProxy(dm_url) as running:
        yield running


def circuit_of(client: DataManagerClient) -> CircuitState:
    """The state now (a call, so the type checker does not carry an earlier check over)."""
    return client.circuit_state


def klines(count: int) -> list[Kline]:
    rows = []
    for index in range(count):
        open_time = T0 + index * MINUTE_MS
        rows.append(
            Kline(
                open_time=open_time,
                open=42_000.0 + index,
                high=42_010.0 + index,
                low=41_990.0 + index,
                close=42_005.0 + index,
                volume=1.5,
                close_time=open_time + MINUTE_MS - 1,
            )
        )
    return rows


async def test_retries_ride_out_a_short_outage(proxy: FlakyProxy) -> None:
    proxy.retry_after = "0.2"
    rows = klines(10)
    proxy.fail_next(Fault.UNAVAILABLE, Fault.BAD_GATEWAY, Fault.DROP)
    async with DataManagerClient(proxy.url, max_attempts=5, **FAST_RETRIES) as client:
        started = time.monotonic()
        written = await client.insert_klines("RETRYUSDT", "1m", rows)
        elapsed = time.monotonic() - started

        proxy.fail_next(Fault.DROP, Fault.BAD_GATEWAY)
        stored = await client.get_candles("RETRYUSDT", "1m", order="asc")

    assert written.received == 10
    assert written.inserted == 10  # the failed attempts wrote nothing, the retry wrote once
    assert stored == rows
    assert proxy.faults == {Fault.UNAVAILABLE: 1, Fault.BAD_GATEWAY: 2, Fault.DROP: 2}
    assert proxy.forwarded == 2
    assert elapsed >= 0.2  # the 503's Retry-After was honoured


async def test_retries_outlast_an_outage_window(proxy: FlakyProxy) -> None:
    outage_s = 0.6
    async with DataManagerClient(
        proxy.url, max_attempts=100, breaker_threshold=100, **FAST_RETRIES
    ) as client:
        proxy.fail_for(outage_s, Fault.DROP)
        started = time.monotonic()
        latest = await client.get_latest_kline("WINDOWUSDT", "1m")
        elapsed = time.monotonic() - started

    assert latest is None
    assert elapsed >= outage_s
    assert proxy.faults[Fault.DROP] > 1
    assert proxy.forwarded == 1


async def test_breaker_opens_in_a_long_outage_and_closes_after_recovery(
    proxy: FlakyProxy,
) -> None:
    threshold, cooldown_s = 3, 3.0  # calls while open must fit in it on a busy machine
    async with DataManagerClient(
        proxy.url,
        max_attempts=1,
        breaker_threshold=threshold,
        breaker_cooldown=cooldown_s,
        **FAST_RETRIES,
    ) as client:
        proxy.fail_always(Fault.UNAVAILABLE)
        for _ in range(threshold):
            with pytest.raises(ServiceUnavailableError):
                await client.get_latest_kline("BREAKUSDT", "1m")
        assert circuit_of(client) is CircuitState.OPEN

        # Open: calls fail fast and never reach the network.
        for _ in range(5):
            with pytest.raises(CircuitOpenError):
                await client.get_latest_kline("BREAKUSDT", "1m")
        assert proxy.received == threshold

        # Still down when the cool-down ends: one trial goes out, fails, the circuit re-opens.
        await asyncio.sleep(cooldown_s)
        with pytest.raises(ServiceUnavailableError):
            await client.get_latest_kline("BREAKUSDT", "1m")
        assert proxy.received == threshold + 1
        assert circuit_of(client) is CircuitState.OPEN

        # Recovered: the next trial succeeds and the circuit closes for good.
        proxy.recover()
        await asyncio.sleep(cooldown_s)
        assert circuit_of(client) is CircuitState.HALF_OPEN
        assert await client.get_latest_kline("BREAKUSDT", "1m") is None
        assert circuit_of(client) is CircuitState.CLOSED
        for _ in range(threshold * 2):
            await client.get_latest_kline("BREAKUSDT", "1m")
        assert circuit_of(client) is CircuitState.CLOSED
    assert proxy.forwarded == 1 + threshold * 2


async def test_total_time_budget_caps_retries_of_failing_answers(proxy: FlakyProxy) -> None:
    budget_s = 0.8
    proxy.fail_always(Fault.UNAVAILABLE)
    async with DataManagerClient(
        proxy.url,
        max_attempts=1_000,
        breaker_threshold=1_000,
        total_timeout=budget_s,
        backoff_initial=0.02,
        backoff_max=0.05,
    ) as client:
        started = time.monotonic()
        # The last attempt may also run out of budget while waiting for its answer.
        with pytest.raises((ServiceUnavailableError, RequestTimeoutError)) as raised:
            await client.get_latest_kline("BUDGETUSDT", "1m")
        elapsed = time.monotonic() - started

    assert elapsed < UNBUDGETED_S
    assert 2 < raised.value.attempts < 1_000
    assert 2 < proxy.received <= raised.value.attempts


async def test_total_time_budget_cuts_a_hanging_request(proxy: FlakyProxy) -> None:
    budget_s = 0.8
    proxy.fail_always(Fault.HANG)
    async with DataManagerClient(
        proxy.url, timeout=30.0, total_timeout=budget_s, max_attempts=5
    ) as client:
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError):
            await client.get_latest_kline("HANGUSDT", "1m")
        elapsed = time.monotonic() - started

    assert budget_s * 0.9 <= elapsed < UNBUDGETED_S


def test_sync_client_retries_through_the_outage(proxy: FlakyProxy) -> None:
    rows = klines(3)
    proxy.fail_next(Fault.DROP, Fault.UNAVAILABLE)
    with SyncDataManagerClient(proxy.url, max_attempts=5, **FAST_RETRIES) as client:
        assert client.insert_klines("SYNCUSDT", "1m", rows).received == 3
        proxy.fail_next(Fault.BAD_GATEWAY)
        assert client.get_latest_kline("SYNCUSDT", "1m") == rows[-1]
        assert client.health().ready is True
    assert proxy.forwarded == 3
