"""Failures: typed errors, what is retried and how, 429 pauses without storms, 418 stops all."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from petrosa.exchange.binance import (
    BinanceAPIError,
    BinanceError,
    BinanceRequestError,
    BinanceServerError,
    BinanceTransportError,
    InvalidIntervalError,
    InvalidParameterError,
    InvalidSymbolError,
    IPBannedError,
    RateLimitedError,
    RetryPolicy,
    WeightBudget,
)
from tests.unit.exchange.binance.conftest import JITTER, MakeClient
from tests.unit.exchange.binance.fakes import T0_S, FakeBinance, FakeTime, binance_error

BAN_S = 180


def rate_limited(retry_after: int | None) -> httpx.Response:
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return binance_error(429, -1003, "Too much request weight used.", **headers)


def banned(
    retry_after: int | None = BAN_S, msg: str = "Way too much request weight used."
) -> httpx.Response:
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return binance_error(418, -1003, msg, **headers)


# -- request errors: typed, never retried ---------------------------------------------------


async def test_invalid_symbol_is_typed_and_not_retried(
    make_client: MakeClient, futures: FakeBinance
) -> None:
    client = make_client(futures, sync_clock=False)
    with pytest.raises(InvalidSymbolError) as raised:
        await client.klines("NOSUCHPAIR", "1m")
    error = raised.value
    assert (error.status, error.code, error.msg) == (400, -1121, "Invalid symbol.")
    assert isinstance(error, BinanceRequestError)
    assert isinstance(error, BinanceAPIError)
    assert error.attempts == 1
    assert len(futures.calls("klines")) == 1


async def test_invalid_interval_is_typed(make_client: MakeClient, spot: FakeBinance) -> None:
    client = make_client(spot, sync_clock=False)
    with pytest.raises(InvalidIntervalError) as raised:
        await client.klines("BTCUSDT", "7m")
    assert raised.value.code == -1120
    assert len(spot.seen) == 1


async def test_invalid_parameter_is_typed(make_client: MakeClient, futures: FakeBinance) -> None:
    client = make_client(futures, sync_clock=False)
    with pytest.raises(InvalidParameterError) as raised:
        await client.agg_trades("BTCUSDT", start_time=0, end_time=7_200_000)
    assert raised.value.code == -1127


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_other_4xx_are_not_retried(
    make_client: MakeClient, futures: FakeBinance, status: int
) -> None:
    futures.script(binance_error(status, -1000, "no"))
    client = make_client(futures, sync_clock=False)
    with pytest.raises(BinanceRequestError) as raised:
        await client.klines("BTCUSDT", "1m")
    assert raised.value.status == status
    assert len(futures.seen) == 1


async def test_an_error_without_a_binance_body_keeps_its_status(
    make_client: MakeClient, futures: FakeBinance
) -> None:
    futures.script(httpx.Response(403, text="WAF says no"))
    client = make_client(futures, sync_clock=False)
    with pytest.raises(BinanceRequestError) as raised:
        await client.klines("BTCUSDT", "1m")
    assert (raised.value.status, raised.value.code, raised.value.msg) == (403, None, None)


# -- transient failures: backoff retries, capped --------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_retried_with_backoff(
    make_client: MakeClient, fake_time: FakeTime, futures: FakeBinance, status: int
) -> None:
    futures.script(status, status)
    client = make_client(futures, sync_clock=False)

    klines = await client.klines("BTCUSDT", "1m", limit=3)

    assert len(klines) == 3
    assert len(futures.calls("klines")) == 3
    assert fake_time.sleeps == [0.5 * JITTER, 1.0 * JITTER]  # full jitter, doubling ceiling
    assert client.stats.retries == 2


TRANSPORT_FAILURES = {
    "connect refused": httpx.ConnectError("refused"),
    "connect timeout": httpx.ConnectTimeout("slow connect"),
    "read timeout": httpx.ReadTimeout("slow answer"),
    "dropped": httpx.RemoteProtocolError("server disconnected"),
}


@pytest.mark.parametrize("failure", TRANSPORT_FAILURES.values(), ids=TRANSPORT_FAILURES.keys())
async def test_transport_failures_are_retried(
    make_client: MakeClient, futures: FakeBinance, failure: Exception
) -> None:
    futures.script(failure)
    client = make_client(futures, sync_clock=False)
    assert len(await client.klines("BTCUSDT", "1m", limit=2)) == 2
    assert client.stats.retries == 1


async def test_retries_stop_at_max_attempts_and_raise_the_last_error(
    make_client: MakeClient, fake_time: FakeTime, futures: FakeBinance
) -> None:
    futures.script(*[503] * 10)
    client = make_client(futures, sync_clock=False)
    with pytest.raises(BinanceServerError) as raised:
        await client.klines("BTCUSDT", "1m")
    assert raised.value.attempts == 5
    assert len(futures.seen) == 5
    assert fake_time.sleeps == [0.25, 0.5, 1.0, 2.0]


async def test_backoff_is_capped(
    make_client: MakeClient, fake_time: FakeTime, futures: FakeBinance
) -> None:
    futures.script(*[httpx.ConnectError("down")] * 8)
    policy = RetryPolicy(max_attempts=9, backoff_initial_s=1.0, backoff_max_s=4.0)
    client = make_client(futures, sync_clock=False, retry=policy, random=lambda: 0.999)
    await client.klines("BTCUSDT", "1m", limit=1)
    assert max(fake_time.sleeps) <= 4.0
    assert fake_time.sleeps[-3:] == [pytest.approx(3.996)] * 3


async def test_a_connect_failure_costs_no_weight(
    make_client: MakeClient, futures: FakeBinance
) -> None:
    futures.script(*[httpx.ConnectError("down")] * 10)
    client = make_client(futures, sync_clock=False)
    with pytest.raises(BinanceTransportError) as raised:
        await client.klines("BTCUSDT", "1m", limit=1000)
    assert raised.value.sent is False
    assert client.budget.used == 0
    assert (client.stats.requests, client.stats.weight) == (0, 0)


async def test_a_read_timeout_is_counted_as_spent(
    make_client: MakeClient, futures: FakeBinance
) -> None:
    futures.script(httpx.ReadTimeout("slow"))
    client = make_client(futures, sync_clock=False, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(BinanceTransportError) as raised:
        await client.klines("BTCUSDT", "1m", limit=1000)
    assert raised.value.sent is True
    assert client.budget.used == 5


# -- 429: one shared pause, then success -----------------------------------------------------


async def test_429_waits_retry_after_once_then_succeeds(
    make_client: MakeClient, fake_time: FakeTime, futures: FakeBinance
) -> None:
    futures.script(rate_limited(retry_after=7))
    client = make_client(futures, sync_clock=False)

    klines = await client.klines("BTCUSDT", "1m", limit=3)

    assert len(klines) == 3
    assert fake_time.sleeps == [7]
    calls = futures.calls("klines")
    assert len(calls) == 2
    assert calls[1].at_s - calls[0].at_s == 7
    assert client.stats.rate_limited == 1
    assert client.stats.budget_wait_s == 7


async def test_429_without_retry_after_waits_for_the_next_window(
    make_client: MakeClient, fake_time: FakeTime, futures: FakeBinance
) -> None:
    futures.script(rate_limited(retry_after=None))
    client = make_client(futures, sync_clock=False)
    await client.klines("BTCUSDT", "1m", limit=3)
    assert futures.calls("klines")[1].at_s >= T0_S + 60


async def test_many_429s_give_up_with_rate_limited_error(
    make_client: MakeClient, futures: FakeBinance
) -> None:
    futures.script(*[rate_limited(retry_after=1)] * 10)
    client = make_client(futures, sync_clock=False)
    with pytest.raises(RateLimitedError) as raised:
        await client.klines("BTCUSDT", "1m")
    assert raised.value.attempts == 4  # the first try and three pauses
    assert raised.value.retry_after_s == 1


async def test_the_window_probe_sees_other_processes_before_a_burst(
    make_client: MakeClient, fake_time: FakeTime, futures: FakeBinance
) -> None:
    """Another process nearly filled the IP's minute: the first answer's header says so, and
    the other 29 calls wait for the next minute instead of drawing 429s."""
    minute = int(fake_time.now // 60)
    futures.other_usage[minute] = 2_395
    client = make_client(futures, sync_clock=False)

    pages = await asyncio.gather(*(client.klines("BTCUSDT", "1m", limit=499) for _ in range(30)))

    assert all(len(page) == 499 for page in pages)
    assert client.stats.rate_limited == 0
    assert [seen.at_s < (minute + 1) * 60 for seen in futures.seen].count(True) == 1


async def test_a_429_pauses_every_task_instead_of_a_retry_storm(
    make_client: MakeClient, fake_time: FakeTime, futures: FakeBinance
) -> None:
    """Without the usage header the budget cannot see the other process: the requests already
    in flight draw 429s, but each is sent again once, after one shared pause, and nothing at
    all is sent during the pause."""
    futures.send_used_weight = False
    minute = int(fake_time.now // 60)
    futures.other_usage[minute] = 2_395
    client = make_client(futures, sync_clock=False)

    pages = await asyncio.gather(*(client.klines("BTCUSDT", "1m", limit=499) for _ in range(30)))

    assert all(len(page) == 499 for page in pages)
    refused = client.stats.rate_limited
    assert refused > 0
    assert len(futures.seen) == 30 + refused  # each refused request was sent once more
    next_minute = (minute + 1) * 60
    first_429_at = futures.seen[0].at_s
    assert not [s for s in futures.seen if first_429_at < s.at_s < next_minute]
    assert fake_time.sleeps == [pytest.approx(next_minute - first_429_at)]  # one pause


# -- 418: stop everything, report the ban ------------------------------------------------------


async def test_418_raises_ip_banned_with_the_ban_length(
    make_client: MakeClient, futures: FakeBinance
) -> None:
    futures.script(banned(retry_after=BAN_S))
    client = make_client(futures, sync_clock=False)
    with pytest.raises(IPBannedError) as raised:
        await client.klines("BTCUSDT", "1m")
    assert raised.value.status == 418
    assert raised.value.ban_s == BAN_S
    assert raised.value.attempts == 1
    assert client.stats.banned == 1


async def test_418_without_retry_after_reads_the_ban_end_from_the_message(
    make_client: MakeClient, fake_time: FakeTime, futures: FakeBinance
) -> None:
    until_ms = int((fake_time.now + 600) * 1000)
    futures.script(
        banned(
            retry_after=None, msg=f"Way too much request weight used; IP banned until {until_ms}."
        )
    )
    client = make_client(futures, sync_clock=False)
    with pytest.raises(IPBannedError) as raised:
        await client.klines("BTCUSDT", "1m")
    assert raised.value.ban_s == pytest.approx(600, abs=0.01)


async def test_after_418_no_client_sharing_the_budget_sends_anything(
    make_client: MakeClient, fake_time: FakeTime, futures: FakeBinance
) -> None:
    shared = WeightBudget.for_market("futures", clock=fake_time.clock, sleep=fake_time.sleep)
    first = make_client(futures, weight_budget=shared, sync_clock=False)
    second = make_client(futures, weight_budget=shared, sync_clock=False)
    futures.script(banned())
    with pytest.raises(IPBannedError):
        await first.klines("BTCUSDT", "1m")

    for client in (first, second):
        with pytest.raises(IPBannedError) as raised:
            await client.exchange_info()
        assert raised.value.retry_after_s == pytest.approx(BAN_S)
    assert len(futures.seen) == 1
    assert fake_time.sleeps == []


async def test_418_stops_tasks_waiting_on_the_budget(
    make_client: MakeClient, fake_time: FakeTime, futures: FakeBinance
) -> None:
    """One request fits per minute; the other nine queue on the budget and never go out."""
    tiny = WeightBudget(5, fraction=1.0, clock=fake_time.clock, sleep=fake_time.sleep)
    futures.script(banned())
    client = make_client(futures, weight_budget=tiny, sync_clock=False)
    results = await asyncio.gather(
        *(client.klines("BTCUSDT", "1m", limit=500) for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(result, IPBannedError) for result in results)
    assert len(futures.seen) == 1


def test_every_error_is_a_binance_error() -> None:
    for error_type in (
        BinanceTransportError,
        BinanceServerError,
        RateLimitedError,
        IPBannedError,
        InvalidSymbolError,
        InvalidIntervalError,
        InvalidParameterError,
    ):
        assert issubclass(error_type, BinanceError)
    assert not issubclass(IPBannedError, RateLimitedError)
