"""Paging over a range: every item exactly once, no overlap, cheapest pages; closed candles."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from petrosa.contracts import Kline, Trade
from petrosa.exchange.binance import BinanceClient, closed_klines_only
from tests.unit.exchange.binance.conftest import MakeClient
from tests.unit.exchange.binance.fakes import HOUR_MS, MINUTE_MS, T0_S, FakeBinance, FakeTime

NOW_MS = int(T0_S * 1000)
DAY_MS = 24 * HOUR_MS
EIGHT_HOURS_MS = 8 * HOUR_MS


async def all_klines(
    client: BinanceClient, start: int | dt.datetime, end: int | dt.datetime, interval: str = "1m"
) -> list[list[Kline]]:
    return [page async for page in client.iter_klines("BTCUSDT", interval, start, end)]


def open_times(pages: list[list[Kline]]) -> list[int]:
    return [kline.open_time for page in pages for kline in page]


@pytest.mark.parametrize(("market", "page", "weight"), [("futures", 499, 2), ("spot", 1000, 2)])
async def test_a_day_of_1m_klines_every_candle_once(
    make_client: MakeClient, fake_time: FakeTime, market: str, page: int, weight: int
) -> None:
    fake = FakeBinance(fake_time, market=market)
    client = make_client(fake)
    start = NOW_MS - 2 * DAY_MS

    pages = await all_klines(client, start, start + DAY_MS)

    assert open_times(pages) == list(range(start, start + DAY_MS, MINUTE_MS))
    limits = [int(seen.params["limit"]) for seen in fake.calls("klines")]
    assert limits[:-1] == [page] * (len(limits) - 1)
    assert limits[-1] == 1_440 - page * (len(limits) - 1)  # the last page asks only for the rest
    assert all(len(p) <= page for p in pages)
    assert client.stats.klines == 1_440
    kline_weight = sum(seen.weight for seen in fake.calls("klines"))
    assert kline_weight <= weight * len(limits)


async def test_futures_day_costs_the_optimal_weight(
    make_client: MakeClient, futures: FakeBinance
) -> None:
    """1,440 candles: 2 pages of 499 (weight 2 each) and 442 (weight 2): 6, not 10 or 15."""
    client = make_client(futures, sync_clock=False)
    start = NOW_MS - 2 * DAY_MS
    await all_klines(client, start, start + DAY_MS)
    assert client.stats.weight == 6
    assert client.stats.klines_per_weight == 240


async def test_pages_never_overlap_and_stay_in_range(
    make_client: MakeClient, futures: FakeBinance
) -> None:
    client = make_client(futures, sync_clock=False)
    start = NOW_MS - 3 * HOUR_MS + 30_000  # not on a candle boundary
    end = NOW_MS - HOUR_MS - 1

    pages = await all_klines(client, start, end)

    times = open_times(pages)
    assert len(times) == len(set(times))
    assert times == sorted(times)
    assert times[0] == start + 30_000
    assert all(start <= t < end for t in times)
    for earlier, later in itertools.pairwise(pages):
        assert earlier[-1].open_time < later[0].open_time


async def test_missing_candles_are_skipped_not_repeated(
    make_client: MakeClient, futures: FakeBinance
) -> None:
    start = NOW_MS - DAY_MS
    gap = set(range(start + 400 * MINUTE_MS, start + 700 * MINUTE_MS, MINUTE_MS))
    futures.missing_klines = gap
    client = make_client(futures, sync_clock=False)

    times = open_times(await all_klines(client, start, start + 1_000 * MINUTE_MS))

    assert times == [t for t in range(start, start + 1_000 * MINUTE_MS, MINUTE_MS) if t not in gap]


async def test_the_range_may_reach_the_open_candle(
    make_client: MakeClient, futures: FakeBinance
) -> None:
    client = make_client(futures, sync_clock=False)
    now = futures.now_ms
    pages = await all_klines(client, now - 10 * MINUTE_MS, now + HOUR_MS)
    klines = [kline for page in pages for kline in page]
    assert klines[-1].open_time <= now < klines[-1].close_time  # still open
    assert closed_klines_only(klines, now) == klines[:-1]


async def test_datetimes_bound_the_range(make_client: MakeClient, futures: FakeBinance) -> None:
    client = make_client(futures, sync_clock=False)
    start = dt.datetime.fromtimestamp(T0_S, tz=dt.UTC) - dt.timedelta(hours=5)
    pages = await all_klines(client, start, start + dt.timedelta(hours=1), interval="5m")
    assert len(open_times(pages)) == 12
    assert futures.calls("klines")[0].params["limit"] == "12"


async def test_an_empty_range_sends_nothing(make_client: MakeClient, futures: FakeBinance) -> None:
    client = make_client(futures, sync_clock=False)
    assert await all_klines(client, NOW_MS, NOW_MS) == []
    assert futures.seen == []


# -- aggregate trades --------------------------------------------------------------------------


async def all_trades(
    client: BinanceClient, start: int | None, end: int, from_id: int | None = None
) -> list[Trade]:
    pages = [page async for page in client.iter_agg_trades("BTCUSDT", start, end, from_id=from_id)]
    return [trade for page in pages for trade in page]


@pytest.mark.parametrize("market", ["spot", "futures"])
async def test_trades_in_a_range_every_trade_once(
    make_client: MakeClient, fake_time: FakeTime, market: str
) -> None:
    """The range opens two hours before the first trade: empty hour windows are skipped."""
    fake = FakeBinance(fake_time, market=market)
    client = make_client(fake, sync_clock=False)
    start = fake.trades_from_ms - 2 * HOUR_MS
    end = fake.trades_from_ms + 3_000 * 1_500 // 2 + 1  # pairs every 1.5 s: ids 0..3001

    trades = await all_trades(client, start, end)

    assert [t.trade_id for t in trades] == list(range(3_002))
    assert all(start <= t.time < end for t in trades)
    by_time = [s for s in fake.calls("aggTrades") if "startTime" in s.params]
    assert all(
        int(s.params["endTime"]) - int(s.params["startTime"]) < HOUR_MS for s in by_time
    )  # futures would refuse an hour or more
    assert {s.params.get("limit") for s in fake.calls("aggTrades")} == {"1000"}


async def test_trades_resume_from_an_id(make_client: MakeClient, spot: FakeBinance) -> None:
    client = make_client(spot, sync_clock=False)
    trades = await all_trades(client, None, spot.now_ms, from_id=4_500)
    assert [t.trade_id for t in trades] == list(range(4_500, spot.trade_count))
    assert "startTime" not in spot.calls("aggTrades")[0].params


async def test_trades_stop_when_there_are_no_newer_ones(
    make_client: MakeClient, spot: FakeBinance
) -> None:
    client = make_client(spot, sync_clock=False)
    trades = await all_trades(client, spot.trades_from_ms, spot.now_ms + HOUR_MS)
    assert len(trades) == spot.trade_count
    assert len(spot.calls("aggTrades")) == 6  # five full pages, then an empty one


async def test_no_trades_in_the_range(make_client: MakeClient, futures: FakeBinance) -> None:
    client = make_client(futures, sync_clock=False)
    start = futures.trades_from_ms - 5 * HOUR_MS
    assert await all_trades(client, start, start + 3 * HOUR_MS) == []
    assert len(futures.calls("aggTrades")) == 3  # one request per hour window


async def test_trades_need_a_start_or_an_id(make_client: MakeClient, spot: FakeBinance) -> None:
    client = make_client(spot, sync_clock=False)
    with pytest.raises(ValueError, match="from_id"):
        await all_trades(client, None, spot.now_ms)


# -- funding rates ------------------------------------------------------------------------------


async def test_funding_rates_over_a_range(make_client: MakeClient, futures: FakeBinance) -> None:
    client = make_client(futures, sync_clock=False)
    start = futures.funding_from_ms
    end = start + 1_200 * EIGHT_HOURS_MS  # ends after now: 400 events exist

    pages = [page async for page in client.iter_funding_rates("BTCUSDT", start, end)]

    times = [rate.funding_time for page in pages for rate in page]
    expected = list(range(start, futures.now_ms + 1, EIGHT_HOURS_MS))
    assert times == expected
    assert client.stats.funding_rates == len(expected)
    assert client.funding_budget is not None
    assert client.funding_budget.stats.reservations == len(futures.calls("fundingRate"))


async def test_funding_rates_page_by_a_thousand(
    make_client: MakeClient, fake_time: FakeTime
) -> None:
    fake = FakeBinance(fake_time, funding_from_ms=NOW_MS - 2_500 * EIGHT_HOURS_MS)
    client = make_client(fake, sync_clock=False)
    pages = [
        page async for page in client.iter_funding_rates("BTCUSDT", fake.funding_from_ms, NOW_MS)
    ]
    assert [len(page) for page in pages] == [1_000, 1_000, 500]
    assert client.stats.weight == 0  # fundingRate weighs nothing of the minute's budget


async def test_spot_iterates_no_funding(make_client: MakeClient, spot: FakeBinance) -> None:
    client = make_client(spot, sync_clock=False)
    with pytest.raises(ValueError, match="funding"):
        async for _ in client.iter_funding_rates("BTCUSDT", 0, NOW_MS):
            pass


# -- closed candles ---------------------------------------------------------------------------


def kline(open_time: int) -> Kline:
    return Kline(
        open_time=open_time, open=1, high=1, low=1, close=1, volume=1,
        close_time=open_time + MINUTE_MS - 1,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("server_time", "closed"),
    [
        (NOW_MS + 2 * MINUTE_MS - 1, 1),  # the second candle's last millisecond: still open
        (NOW_MS + 2 * MINUTE_MS, 2),  # the second candle just closed
        (NOW_MS + MINUTE_MS + 5, 1),
        (NOW_MS, 0),
    ],
)
def test_only_candles_closed_before_server_time_are_final(server_time: int, closed: int) -> None:
    candles = [kline(NOW_MS), kline(NOW_MS + MINUTE_MS)]
    assert closed_klines_only(candles, server_time) == candles[:closed]
