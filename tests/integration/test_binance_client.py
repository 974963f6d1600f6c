"""The Binance client against the real exchange simulator: ``petrosa exchange-sim serve``
processes on free loopback ports, over HTTP. Needs no other server.

Checks that the client's weight table agrees with the simulator's, that a day of candles
pages through exactly once at the optimal cost, that a tiny budget slows the client down
instead of drawing a 429 or a ban, and that a 418 stops every request.

The simulators run their clock (not frozen): the rate-limit windows follow the running
clock and ``/time`` reports the same clock, so the client's windows line up with them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from petrosa.contracts import Kline
from petrosa.exchange.binance import (
    BinanceClient,
    InvalidSymbolError,
    IPBannedError,
    WeightBudget,
    closed_klines_only,
)
from tests.support.server import RunningServer, start_exchange_simulator

pytestmark = pytest.mark.integration

CLOCK_START = "2024-03-01T00:00:00Z"
DAY_START = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
MINUTE_MS = 60_000
DAY_MS = 86_400_000
TINY_FUTURES_LIMIT = 10
"""Weight per minute of the "tiny" simulator: the client may use 9 (90 %)."""
TINY_CLOCK_START = "2024-03-01T00:00:45Z"
"""15 s before a whole minute: the tiny simulator's first window ends soon after start-up."""
BAN_FUTURES_LIMIT = 3


def start_simulator(log_dir: Path, *args: str, clock_start: str = CLOCK_START) -> RunningServer:
    """A running ``petrosa exchange-sim serve`` on a free port, once it answers liveness."""
    return start_exchange_simulator(log_dir, "--clock-start", clock_start, "--run-clock", *args)


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A simulator with Binance's own limits."""
    server = start_simulator(tmp_path_factory.mktemp("sim"))
    yield server
    server.stop()


@pytest.fixture
def sim_url(simulator: RunningServer) -> str:
    httpx.post(f"{simulator.base_url}/sim/reset").raise_for_status()
    return simulator.base_url


@pytest.fixture
async def futures(sim_url: str) -> AsyncIterator[BinanceClient]:
    async with BinanceClient("futures", base_url=sim_url, weight_budget=_fresh("futures")) as c:
        yield c


@pytest.fixture
async def spot(sim_url: str) -> AsyncIterator[BinanceClient]:
    async with BinanceClient("spot", base_url=sim_url, weight_budget=_fresh("spot")) as c:
        yield c


def _fresh(market: str) -> WeightBudget:
    """A budget of the test's own: the process-wide one would carry other tests' usage."""
    return WeightBudget.for_market(market)


def sim_stats(base_url: str, market: str) -> dict[str, Any]:
    body = httpx.get(f"{base_url}/sim/stats").json()
    stats: dict[str, Any] = body["markets"][market]
    return stats


async def a_day_of_klines(client: BinanceClient, symbol: str = "BTCUSDT") -> list[Kline]:
    pages = [
        page
        async for page in client.iter_klines(
            symbol, "1m", DAY_START, DAY_START + dt.timedelta(days=1)
        )
    ]
    return [kline for page in pages for kline in page]


@pytest.mark.parametrize(("market", "weight"), [("futures", 6), ("spot", 4)])
async def test_a_day_of_1m_klines_pages_through_once_at_the_optimal_cost(
    sim_url: str, market: str, weight: int
) -> None:
    """1,440 candles: futures 499 + 499 + 442 (weight 2 each), spot 1000 + 440 (2 each)."""
    async with BinanceClient(market, base_url=sim_url, weight_budget=_fresh(market)) as client:
        klines = await a_day_of_klines(client)

        start_ms = int(DAY_START.timestamp() * 1000)
        assert [k.open_time for k in klines] == list(range(start_ms, start_ms + DAY_MS, MINUTE_MS))
        assert all(k.close_time == k.open_time + MINUTE_MS - 1 for k in klines)
        klines_weight = client.stats.weight - 1  # the clock sync's /time
        assert klines_weight == weight
        stats = sim_stats(sim_url, market)
        assert stats["weight_total"] == client.stats.weight  # both weight tables agree
        assert stats["rate_limited_429"] == stats["banned_418"] == 0


async def test_every_endpoint_weighs_what_the_simulator_charges(
    sim_url: str, futures: BinanceClient, spot: BinanceClient
) -> None:
    start = DAY_START
    for client in (futures, spot):
        await client.server_time()
        await client.symbols()
        await client.klines("BTCUSDT", "1m", start_time=start, limit=50)
        await client.klines("BTCUSDT", "1m", start_time=start, limit=1000)
        await client.agg_trades(
            "BTCUSDT", start_time=start, end_time=start + dt.timedelta(minutes=5)
        )
    await futures.funding_rates("BTCUSDT", start_time=start, limit=10)
    for client in (futures, spot):
        assert sim_stats(sim_url, client.market.value)["weight_total"] == client.stats.weight


async def test_trades_and_funding_page_through_once(futures: BinanceClient) -> None:
    start = DAY_START
    end = start + dt.timedelta(minutes=30)
    trades = [t async for page in futures.iter_agg_trades("BTCUSDT", start, end) for t in page]
    ids = [t.trade_id for t in trades]
    assert ids == sorted(set(ids))
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # no gap, no repeat
    assert all(start.timestamp() * 1000 <= t.time < end.timestamp() * 1000 for t in trades)

    rates = [
        r
        async for page in futures.iter_funding_rates(
            "BTCUSDT", start, start + dt.timedelta(days=20)
        )
        for r in page
    ]
    times = [r.funding_time for r in rates]
    assert times == sorted(set(times))
    assert len(times) == 20 * 3  # every 8 hours


async def test_only_closed_candles_are_final(futures: BinanceClient) -> None:
    now = await futures.server_time()
    recent = await futures.klines("BTCUSDT", "1m", limit=5)
    assert recent[-1].close_time >= now  # the last one is still open
    assert closed_klines_only(recent, now) == recent[:-1]


async def test_invalid_symbol_is_a_typed_error(futures: BinanceClient) -> None:
    with pytest.raises(InvalidSymbolError) as raised:
        await futures.klines("NOPE", "1m")
    assert raised.value.code == -1121


# -- a tiny budget: slower, never refused -------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_simulator(
        tmp_path_factory.mktemp("tiny"),
        "--futures-weight-limit",
        str(TINY_FUTURES_LIMIT),
        clock_start=TINY_CLOCK_START,
    )
    yield server
    server.stop()


@pytest.mark.timeout(150)
async def test_a_tiny_budget_slows_the_client_down_without_429_or_418(
    tiny_simulator: RunningServer,
) -> None:
    """Two symbols concurrently, 12 weight of klines plus 2 of set-up, against 10 per minute
    (9 for the client): it learns the limit from exchangeInfo, waits for the next minute
    instead of drawing 429s, and finishes."""
    url = tiny_simulator.base_url
    async with BinanceClient("futures", base_url=url, weight_budget=_fresh("futures")) as client:
        await client.symbols()  # adopts REQUEST_WEIGHT 10/min
        assert client.budget.capacity == 9
        end = DAY_START + dt.timedelta(minutes=3 * 499)  # three full pages per symbol

        async def page_through(symbol: str) -> list[int]:
            return [
                k.open_time
                async for page in client.iter_klines(symbol, "1m", DAY_START, end)
                for k in page
            ]

        btc, eth = await asyncio.gather(page_through("BTCUSDT"), page_through("ETHUSDT"))

        assert len(btc) == len(eth) == 3 * 499
        assert client.stats.weight == 2 + 12
        assert client.stats.budget_wait_s > 0
        assert client.budget.stats.waits > 0
        assert client.stats.rate_limited == 0
        stats = sim_stats(url, "futures")
        assert stats["rate_limited_429"] == 0
        assert stats["banned_418"] == 0
        assert stats["weight_total"] == client.stats.weight


# -- a ban: reported, and nothing more is sent -------------------------------------------------


@pytest.fixture(scope="module")
def ban_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_simulator(
        tmp_path_factory.mktemp("ban"),
        "--futures-weight-limit", str(BAN_FUTURES_LIMIT), "--ban-tolerance", "0",
    )  # fmt: skip
    yield server
    server.stop()


async def test_a_ban_is_reported_and_stops_every_request(ban_simulator: RunningServer) -> None:
    """Another process behind the IP ignores the limit and gets the IP banned; the client's
    first request gets the 418, reports the ban's length, and sends nothing after it."""
    url = ban_simulator.base_url
    async with httpx.AsyncClient(base_url=url) as reckless:
        for _ in range(BAN_FUTURES_LIMIT + 2):  # over the limit (429), then once more (418)
            await reckless.get("/fapi/v1/time")
    async with BinanceClient("futures", base_url=url, weight_budget=_fresh("futures")) as client:
        with pytest.raises(IPBannedError) as raised:
            await client.klines("BTCUSDT", "1m")
        assert raised.value.status == 418
        assert raised.value.ban_s is not None
        assert 100 < raised.value.ban_s <= 120
        sent = sim_stats(url, "futures")["requests"]

        with pytest.raises(IPBannedError):
            await client.exchange_info()
        assert sim_stats(url, "futures")["requests"] == sent
