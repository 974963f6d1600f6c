"""Klines at a moment: every interval an exact aggregation of 1m candles, Binance's
start/end/limit selection, the still-open last candle, and nothing after now."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from petrosa.contracts.market import Interval
from petrosa.exchange.simulator import market as market_module
from petrosa.exchange.simulator.bars import ADDITIVE, Bars
from petrosa.exchange.simulator.candles import KlineQuery, Klines, klines
from petrosa.exchange.simulator.grid import CandleGrid
from petrosa.exchange.simulator.instruments import MarketKind, instrument_for
from petrosa.exchange.simulator.market import Level, SyntheticMarket
from petrosa.exchange.simulator.noise import normal
from petrosa.exchange.simulator.trades import AggTrades, minute_trades
from tests.unit.exchange.simulator.conftest import LISTING_MS, NOW_MS, SEED

MINUTE_MS = 60_000
CANDLES_CHECKED = {Interval.MO1: 2, Interval.W1: 2, Interval.D3: 3}
"""Candles compared minute by minute per interval (default 4)."""
PAST_MS = 1_700_000_000_000
"""2023-11-14: every candle around it is closed at NOW_MS."""
DRAW_BUDGET = 2_000_000
"""Random draws (the generator's unit of work) for 1,000 candles of any interval: far below
the minutes they cover (10 million for weekly ones), so no request walks down to them."""
OLD_LISTING_MS = 631_152_000_000
"""1990-01-01: long enough ago for 1,000 weekly candles (and 425 monthly ones)."""


def _query(
    interval: Interval, *, start: int | None = None, end: int | None = None, limit: int = 500
) -> KlineQuery:
    return KlineQuery(interval, start, end, limit)


def _aggregate_minutes(minutes: Klines, opens: list[int], ends: list[int]) -> Bars:
    """The 1m candles grouped into [open, end) windows, merged the Binance way."""
    starts = minutes.bars.start
    group_starts = np.searchsorted(starts, np.array(opens))
    assert np.searchsorted(starts, ends[-1]) == len(starts)
    return minutes.bars.merge_groups(group_starts)


@pytest.mark.parametrize("interval", list(Interval), ids=lambda interval: interval.value)
def test_every_interval_aggregates_its_minutes_exactly(
    btc: SyntheticMarket, interval: Interval
) -> None:
    count = CANDLES_CHECKED.get(interval, 4)
    grid = CandleGrid(interval)
    first = grid.ceil_index(PAST_MS)
    coarse = klines(btc, _query(interval, start=grid.start(first), limit=count), NOW_MS)
    opens = coarse.bars.start.tolist()
    ends = [grid.start(first + i + 1) for i in range(count)]
    assert len(coarse) == count
    assert (coarse.close_time + 1).tolist() == ends
    minutes = klines(
        btc, _query(Interval.M1, start=opens[0], end=ends[-1] - 1, limit=10**6), NOW_MS
    )
    expected = _aggregate_minutes(minutes, opens, ends)
    for name in ("open", "high", "low", "close", *ADDITIVE):
        assert getattr(coarse.bars, name).tolist() == getattr(expected, name).tolist(), name


def test_without_times_the_newest_candles_end_with_the_open_one(btc: SyntheticMarket) -> None:
    found = klines(btc, _query(Interval.H1, limit=24), NOW_MS)
    assert len(found) == 24
    last_open = NOW_MS - NOW_MS % 3_600_000
    assert int(found.bars.start[-1]) == last_open
    assert int(found.close_time[-1]) == last_open + 3_600_000 - 1 > NOW_MS
    assert np.all(np.diff(found.bars.start) == 3_600_000)


def test_start_selects_candles_opening_at_or_after_it(btc: SyntheticMarket) -> None:
    start = PAST_MS + 1  # inside a candle: that candle is not returned
    found = klines(btc, _query(Interval.M5, start=start, limit=3), NOW_MS)
    assert found.bars.start.tolist()[0] == start - start % 300_000 + 300_000
    assert len(found) == 3


def test_end_selects_the_last_candles_opening_at_or_before_it(btc: SyntheticMarket) -> None:
    end = PAST_MS + 123
    found = klines(btc, _query(Interval.M1, end=end, limit=5), NOW_MS)
    assert int(found.bars.start[-1]) == end - end % MINUTE_MS
    assert len(found) == 5


def test_start_and_end_are_inclusive(btc: SyntheticMarket) -> None:
    start = PAST_MS - PAST_MS % MINUTE_MS
    found = klines(btc, _query(Interval.M1, start=start, end=start + 2 * MINUTE_MS), NOW_MS)
    assert found.bars.start.tolist() == [start, start + MINUTE_MS, start + 2 * MINUTE_MS]


def test_nothing_after_now_and_nothing_before_the_listing(btc: SyntheticMarket) -> None:
    future = klines(btc, _query(Interval.M1, start=NOW_MS + MINUTE_MS), NOW_MS)
    assert len(future) == 0
    up_to_now = klines(btc, _query(Interval.M1, start=NOW_MS - 10 * MINUTE_MS), NOW_MS)
    assert int(up_to_now.bars.start[-1]) <= NOW_MS
    early = klines(btc, _query(Interval.D1, start=0, limit=3), NOW_MS)
    assert int(early.bars.start[0]) == LISTING_MS
    before = klines(btc, _query(Interval.D1, end=LISTING_MS - 1), NOW_MS)
    assert len(before) == 0


def test_the_open_candle_is_the_trades_so_far(btc: SyntheticMarket) -> None:
    minute_open = NOW_MS - NOW_MS % MINUTE_MS
    found = klines(btc, _query(Interval.M1, limit=1), NOW_MS)
    full = btc.nodes(Level.MINUTE, minute_open // MINUTE_MS, minute_open // MINUTE_MS + 1)
    trades = minute_trades(btc, full)
    done = trades.take(trades.time <= NOW_MS)
    partial = found.bars
    assert int(partial.open[0]) == int(full.open[0])
    assert int(partial.close[0]) == int(done.price[-1])
    assert int(partial.high[0]) == int(done.price.max())
    assert int(partial.volume[0]) == int(done.qty.sum()) < int(full.volume[0])
    # once the minute is over, the same candle is the full one
    later = klines(btc, _query(Interval.M1, start=minute_open, limit=1), minute_open + MINUTE_MS)
    assert int(later.bars.volume[0]) == int(full.volume[0])
    assert int(later.bars.close[0]) == int(full.close[0])


@pytest.mark.parametrize("interval", [Interval.H4, Interval.D1, Interval.W1, Interval.MO1])
def test_open_coarse_candles_grow_into_the_closed_ones(
    btc: SyntheticMarket, interval: Interval
) -> None:
    grid = CandleGrid(interval)
    index = grid.index_of(NOW_MS)
    opened, closes_at = grid.start(index), grid.start(index + 1)
    partial = klines(btc, _query(interval, limit=1), NOW_MS).bars
    final = klines(btc, _query(interval, start=opened, limit=1), closes_at).bars
    assert int(partial.open[0]) == int(final.open[0])
    assert int(final.high[0]) >= int(partial.high[0])
    assert int(final.low[0]) <= int(partial.low[0])
    assert 0 < int(partial.volume[0]) < int(final.volume[0])


def _opening_trades(market: SyntheticMarket, minute: int) -> AggTrades:
    """The trades of ``minute`` that land on its first millisecond (usually none)."""
    trades = minute_trades(market, market.nodes(Level.MINUTE, minute, minute + 1))
    return trades.take(trades.time == minute * MINUTE_MS)


def test_a_new_candle_exactly_at_now_is_flat_and_empty(btc: SyntheticMarket) -> None:
    hour = NOW_MS - NOW_MS % 3_600_000
    while len(_opening_trades(btc, hour // MINUTE_MS)) > 0:
        hour -= 3_600_000  # an hour no trade opens
    found = klines(btc, _query(Interval.H1, limit=2), hour)
    previous, current = found.bars.take(slice(0, 1)), found.bars.take(slice(1, 2))
    assert int(current.start[0]) == hour
    assert int(current.volume[0]) == 0
    assert current.open.tolist() == current.close.tolist() == previous.close.tolist()
    assert current.high.tolist() == current.low.tolist() == previous.close.tolist()


def test_a_trade_on_a_new_candles_first_millisecond_is_in_it(btc: SyntheticMarket) -> None:
    minute = NOW_MS // MINUTE_MS
    while len(_opening_trades(btc, minute)) == 0:
        minute -= 1  # a minute a trade opens
    opening = _opening_trades(btc, minute)
    found = klines(btc, _query(Interval.M1, limit=1), minute * MINUTE_MS)
    assert int(found.bars.start[0]) == minute * MINUTE_MS
    assert int(found.bars.volume[0]) == int(opening.qty.sum()) > 0
    assert int(found.bars.close[0]) == int(opening.price[-1])


@pytest.mark.parametrize("interval", list(Interval), ids=lambda interval: interval.value)
def test_a_thousand_candles_of_any_interval_never_walk_down_to_their_minutes(
    interval: Interval, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = 0

    def counted_normal(key: int, index: Any) -> Any:
        nonlocal drawn
        values = normal(key, index)
        drawn += int(np.size(values))
        return values

    monkeypatch.setattr(market_module, "normal", counted_normal)
    old = SyntheticMarket(
        instrument_for("BTCUSDT"), MarketKind.SPOT, seed=SEED, listing_ms=OLD_LISTING_MS
    )
    found = klines(old, _query(interval, limit=1_000), NOW_MS)
    grid = CandleGrid(interval)
    assert len(found) == min(1_000, grid.index_of(NOW_MS) - grid.index_of(OLD_LISTING_MS) + 1)
    assert 0 < drawn <= DRAW_BUDGET
