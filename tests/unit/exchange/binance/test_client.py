"""Endpoints, parsing, weight accounting, header sync and settings, against ``FakeBinance``."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest

from petrosa.contracts import FundingRate, Kline, Trade
from petrosa.exchange.binance import (
    BinanceClient,
    BinanceDecodingError,
    BinanceSettings,
    WeightBudget,
)
from tests.unit.exchange.binance.conftest import BASE_URL, MakeClient
from tests.unit.exchange.binance.fakes import T0_S, FakeBinance, FakeTime

NOW_MS = int(T0_S * 1000)


async def test_server_time(make_client: MakeClient, futures: FakeBinance) -> None:
    client = make_client(futures)
    assert await client.server_time() == futures.now_ms
    assert [seen.endpoint for seen in futures.seen] == ["time"]


async def test_klines_are_parsed_into_contract_models(
    make_client: MakeClient, futures: FakeBinance
) -> None:
    client = make_client(futures)
    start = NOW_MS - 10 * 60_000

    klines = await client.klines("BTCUSDT", "1m", start_time=start, limit=3)

    assert [k.open_time for k in klines] == [start, start + 60_000, start + 120_000]
    assert all(isinstance(k, Kline) for k in klines)
    assert klines[0] == Kline(
        open_time=start, open=1.0, high=2.0, low=0.5, close=1.5, volume=10.0,
        close_time=start + 59_999, quote_volume=15.0, trades=3,
        taker_buy_base_volume=4.0, taker_buy_quote_volume=6.0,
    )  # fmt: skip
    sent = futures.calls("klines")[0].params
    assert sent == {"symbol": "BTCUSDT", "interval": "1m", "startTime": str(start), "limit": "3"}


async def test_raw_klines_are_binance_arrays(make_client: MakeClient, spot: FakeBinance) -> None:
    client = make_client(spot)
    rows = await client.klines_raw("BTCUSDT", "1m", limit=2)
    assert len(rows) == 2
    assert all(len(row) == 12 for row in rows)


async def test_datetimes_are_sent_as_epoch_milliseconds(
    make_client: MakeClient, futures: FakeBinance
) -> None:
    client = make_client(futures)
    start = dt.datetime.fromtimestamp(T0_S - 600, tz=dt.UTC)
    await client.klines("BTCUSDT", "1m", start_time=start, end_time=NOW_MS - 1, limit=5)
    params = futures.calls("klines")[0].params
    assert params["startTime"] == str(NOW_MS - 600_000)
    assert params["endTime"] == str(NOW_MS - 1)


async def test_naive_datetimes_are_refused(make_client: MakeClient, futures: FakeBinance) -> None:
    client = make_client(futures)
    with pytest.raises(ValueError, match="timezone-aware"):
        await client.klines("BTCUSDT", "1m", start_time=dt.datetime(2024, 1, 1))


async def test_agg_trades_are_parsed(make_client: MakeClient, spot: FakeBinance) -> None:
    client = make_client(spot)
    trades = await client.agg_trades("BTCUSDT", from_id=10, limit=4)
    assert [t.trade_id for t in trades] == [10, 11, 12, 13]
    assert trades[0] == Trade(
        trade_id=10, price=100.5, quantity=0.25, time=spot.trades_from_ms + 5 * 1_500,
        is_buyer_maker=False, first_trade_id=30, last_trade_id=32,
    )  # fmt: skip


async def test_funding_rates_are_parsed(make_client: MakeClient, futures: FakeBinance) -> None:
    client = make_client(futures)
    rates = await client.funding_rates("BTCUSDT", start_time=futures.funding_from_ms, limit=2)
    assert rates == [
        FundingRate(funding_time=futures.funding_from_ms, funding_rate=0.0001, mark_price=34287.5),
        FundingRate(
            funding_time=futures.funding_from_ms + 8 * 3_600_000,
            funding_rate=0.0001,
            mark_price=34287.5,
        ),
    ]


async def test_spot_has_no_funding_rates(make_client: MakeClient, spot: FakeBinance) -> None:
    client = make_client(spot)
    with pytest.raises(ValueError, match="futures"):
        await client.funding_rates("BTCUSDT")
    assert spot.seen == []


async def test_symbols_lists_trading_symbols(make_client: MakeClient, spot: FakeBinance) -> None:
    client = make_client(spot)
    assert await client.symbols() == ["BTCUSDT", "ETHUSDT"]
    assert await client.symbols(trading_only=False) == ["BTCUSDT", "ETHUSDT", "OLDUSDT"]
    assert (await client.exchange_info())["timezone"] == "UTC"


async def test_exchange_info_sets_the_budget_to_the_published_limit(
    make_client: MakeClient, fake_time: FakeTime
) -> None:
    fake = FakeBinance(fake_time, market="spot", weight_limit=100)
    client = make_client(fake)
    assert client.budget.capacity == 5_400
    await client.symbols()
    assert (client.budget.limit, client.budget.capacity) == (100, 90)


@pytest.mark.parametrize("limit", [50, 99, 100, 499, 500, 1000, 1001, 1500, None])
async def test_futures_kline_weight_matches_the_server(
    make_client: MakeClient, futures: FakeBinance, limit: int | None
) -> None:
    client = make_client(futures, sync_clock=False)
    await client.klines("BTCUSDT", "1m", limit=limit)
    assert client.stats.weight == futures.seen[0].weight
    assert client.budget.used == futures.seen[0].weight


@pytest.mark.parametrize("market", ["spot", "futures"])
async def test_every_endpoint_weight_matches_the_server(
    make_client: MakeClient, fake_time: FakeTime, market: str
) -> None:
    fake = FakeBinance(fake_time, market=market)
    client = make_client(fake)
    await client.server_time()
    await client.exchange_info()
    await client.klines("BTCUSDT", "1m", limit=10)
    await client.agg_trades("BTCUSDT", limit=10)
    if market == "futures":
        await client.funding_rates("BTCUSDT", limit=10)
    assert client.stats.requests == len(fake.seen)
    assert client.stats.weight == sum(seen.weight for seen in fake.seen)
    assert client.stats.server_used_weight == sum(seen.weight for seen in fake.seen)


async def test_clock_is_synced_once_before_the_first_request(
    make_client: MakeClient, futures: FakeBinance
) -> None:
    client = make_client(futures)
    await asyncio.gather(*(client.klines("BTCUSDT", "1m", limit=5) for _ in range(10)))
    endpoints = [seen.endpoint for seen in futures.seen]
    assert endpoints[0] == "time"
    assert endpoints.count("time") == 1
    assert client.budget.clock_synced


@pytest.mark.parametrize(("sync_clock", "resumes_at_s"), [(True, 121), (False, 151)])
async def test_budget_windows_follow_the_server_clock(
    make_client: MakeClient, fake_time: FakeTime, sync_clock: bool, resumes_at_s: float
) -> None:
    """The server's clock is 30 s ahead: its minutes start half-way through the client's.

    40 requests of weight 1 against a budget of 27 per minute: a client that knows the
    server clock resumes as soon as the server's minute turns (+1 s margin); one that does
    not waits for its own minute, 30 s later. The window probe and the header keep both
    under the server's limit.
    """
    fake_time.now = T0_S + 50
    fake = FakeBinance(fake_time, weight_limit=30, clock_offset_s=30)
    budget = WeightBudget(30, clock=fake_time.clock, sleep=fake_time.sleep)  # 27 per minute
    client = make_client(fake, weight_budget=budget, sync_clock=sync_clock)

    async def burst() -> None:
        await asyncio.gather(*(client.klines("BTCUSDT", "1m", limit=50) for _ in range(20)))

    await burst()
    fake_time.now = T0_S + 61
    await burst()

    assert client.stats.rate_limited == 0
    assert max(fake.weight_by_minute.values()) <= 27
    assert fake.seen[-1].at_s == T0_S + resumes_at_s


async def test_usage_reported_by_the_server_makes_the_client_wait(
    make_client: MakeClient, fake_time: FakeTime, futures: FakeBinance
) -> None:
    """Other processes behind the IP used most of the minute: the header says so."""
    minute = int(fake_time.now // 60)
    futures.other_usage[minute] = 2_150
    client = make_client(futures, sync_clock=False)

    await client.klines("BTCUSDT", "1m", limit=499)  # weight 2: used 2,152 of 2,160
    await client.klines("BTCUSDT", "1m", limit=499)  # 2,154
    await client.klines("BTCUSDT", "1m", limit=1000)  # weight 5 would make 2,159: fits
    assert fake_time.sleeps == []
    await client.klines("BTCUSDT", "1m", limit=499)  # 2,161 > 2,160: next minute

    assert len(fake_time.sleeps) == 1
    assert futures.seen[-1].at_s >= (minute + 1) * 60
    assert client.stats.rate_limited == 0
    assert client.stats.budget_wait_s == pytest.approx(fake_time.sleeps[0])


async def test_stats_report_candles_per_weight(make_client: MakeClient, spot: FakeBinance) -> None:
    client = make_client(spot, sync_clock=False)
    await client.klines("BTCUSDT", "1m", limit=1000)
    stats = client.stats.snapshot()
    assert stats.requests == 1
    assert stats.weight == 2
    assert stats.klines == 1000
    assert stats.klines_per_weight == 500
    await client.klines("BTCUSDT", "1m", limit=10)
    assert stats.klines == 1000  # a snapshot does not move


async def test_clients_of_one_market_can_share_a_budget(
    make_client: MakeClient, fake_time: FakeTime, futures: FakeBinance
) -> None:
    shared = WeightBudget.for_market("futures", clock=fake_time.clock, sleep=fake_time.sleep)
    first = make_client(futures, weight_budget=shared, sync_clock=False)
    second = make_client(futures, weight_budget=shared, sync_clock=False)
    await first.klines("BTCUSDT", "1m", limit=10)
    await second.klines("ETHUSDT", "1m", limit=10)
    assert shared.used == 2
    assert shared.stats.reservations == 2


async def test_a_malformed_answer_is_a_decoding_error(
    make_client: MakeClient, futures: FakeBinance
) -> None:
    futures.script(httpx.Response(200, json=[[1, 2, 3]]))
    client = make_client(futures, sync_clock=False)
    with pytest.raises(BinanceDecodingError, match="kline"):
        await client.klines("BTCUSDT", "1m")


async def test_non_json_is_a_decoding_error(make_client: MakeClient, futures: FakeBinance) -> None:
    futures.script(httpx.Response(200, content=b"<html>maintenance</html>"))
    client = make_client(futures, sync_clock=False)
    with pytest.raises(BinanceDecodingError, match="non-JSON"):
        await client.exchange_info()


async def test_base_urls_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINANCE_API_URL", "http://127.0.0.1:8100")
    monkeypatch.setenv("BINANCE_FUTURES_API_URL", "http://127.0.0.1:8101")
    async with BinanceClient("spot") as spot, BinanceClient("futures") as futures:
        assert spot.base_url == "http://127.0.0.1:8100"
        assert futures.base_url == "http://127.0.0.1:8101"
    async with BinanceClient("futures", base_url=BASE_URL) as explicit:
        assert explicit.base_url == BASE_URL


def test_base_urls_default_to_binance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BINANCE_API_URL", raising=False)
    monkeypatch.delenv("BINANCE_FUTURES_API_URL", raising=False)
    settings = BinanceSettings()
    assert settings.base_url("spot") == "https://api.binance.com"
    assert settings.base_url("futures") == "https://fapi.binance.com"


async def test_clients_without_a_budget_share_the_process_budget_of_their_market() -> None:
    async with (
        BinanceClient("spot", base_url=BASE_URL) as first,
        BinanceClient("spot", base_url=BASE_URL) as second,
        BinanceClient("futures", base_url=BASE_URL) as other,
    ):
        assert first.budget is second.budget
        assert first.budget is not other.budget
        assert first.budget.capacity == 5_400
        assert first.funding_budget is None
        assert other.funding_budget is not None


async def test_a_full_funding_limit_does_not_hold_up_other_requests(
    make_client: MakeClient, fake_time: FakeTime, futures: FakeBinance
) -> None:
    """fundingRate's own limit is full: its next call waits, klines calls go on meanwhile."""
    released = asyncio.Event()

    async def blocked_sleep(seconds: float) -> None:
        await released.wait()
        fake_time.advance(seconds)

    funding = WeightBudget(
        1, fraction=1.0, window_s=300, clock=fake_time.clock, sleep=blocked_sleep, probe=False
    )
    client = make_client(futures, funding_budget=funding)
    await client.funding_rates("BTCUSDT", limit=5)
    fake_time.advance(60)  # a new weight window: its first request will probe it
    waiting = asyncio.create_task(client.funding_rates("BTCUSDT", limit=5))
    await asyncio.sleep(0)

    klines = await asyncio.gather(*(client.klines("BTCUSDT", "1m", limit=5) for _ in range(5)))

    assert all(len(page) == 5 for page in klines)
    assert not waiting.done()
    released.set()
    assert len(await waiting) == 5
    assert len(futures.calls("fundingRate")) == 2
