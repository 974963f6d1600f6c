"""The synthetic market model: determinism, continuity, OHLC invariants, realistic levels."""

from __future__ import annotations

import numpy as np
import pytest

from petrosa.contracts.market import DEFAULT_SYMBOLS
from petrosa.exchange.simulator.bars import ADDITIVE, Bars
from petrosa.exchange.simulator.instruments import (
    KNOWN_INSTRUMENTS,
    MarketKind,
    derived_instrument,
)
from petrosa.exchange.simulator.market import LEVEL_MS, Level, SyntheticMarket
from tests.unit.exchange.simulator.conftest import LISTING_MS, NOW_MS, MarketFactory

DAY_MS = LEVEL_MS[Level.DAY]
NOW_MINUTE = NOW_MS // LEVEL_MS[Level.MINUTE]
TYPICAL_PRICE = {
    "BTCUSDT": (15_000, 200_000),
    "ETHUSDT": (700, 12_000),
    "XRPUSDT": (0.1, 2.0),
    "XLMUSDT": (0.02, 0.5),
}


def _same(a: Bars, b: Bars) -> bool:
    names = ("start", "open", "high", "low", "close", "first_agg_id", "first_trade_id")
    return all(np.array_equal(getattr(a, n), getattr(b, n)) for n in (*names, *ADDITIVE))


def test_same_seed_same_market_in_every_instance(make_market: MarketFactory) -> None:
    first, second = make_market(), make_market()
    span = (NOW_MINUTE - 3_000, NOW_MINUTE)
    assert _same(first.nodes(Level.MINUTE, *span), second.nodes(Level.MINUTE, *span))
    # random access: asking for a sub-range (fresh instance, no history) gives the same rows
    third = make_market()
    assert _same(
        third.nodes(Level.MINUTE, span[0] + 1_234, span[0] + 1_300),
        first.nodes(Level.MINUTE, *span).take(slice(1_234, 1_300)),
    )


def test_other_seed_other_market(make_market: MarketFactory) -> None:
    span = (NOW_MINUTE - 100, NOW_MINUTE)
    one = make_market(seed=1).nodes(Level.MINUTE, *span)
    two = make_market(seed=2).nodes(Level.MINUTE, *span)
    assert not np.array_equal(one.close, two.close)
    assert not np.array_equal(one.volume, two.volume)


@pytest.mark.parametrize("level", list(Level), ids=lambda level: level.name)
def test_continuous_with_valid_ohlc(btc: SyntheticMarket, level: Level) -> None:
    per_day = DAY_MS // LEVEL_MS[level]
    today = NOW_MS // LEVEL_MS[level]
    count = min(3_000, 2 * per_day) if level is not Level.DAY else 1_500
    bars = btc.nodes(level, today - count, today)
    assert len(bars) == count
    assert np.array_equal(bars.open[1:], bars.close[:-1])
    assert np.all(bars.high >= np.maximum(bars.open, bars.close))
    assert np.all(bars.low <= np.minimum(bars.open, bars.close))
    assert np.all(bars.low > 0)
    assert np.all(np.diff(bars.start) == LEVEL_MS[level])


def test_volumes_are_plausible(btc: SyntheticMarket) -> None:
    bars = btc.nodes(Level.MINUTE, NOW_MINUTE - 2_000, NOW_MINUTE)
    assert np.all(bars.volume_buy <= bars.volume)
    assert np.all(bars.volume_buy > 0)
    assert np.all(bars.trades >= bars.aggs)
    assert np.all(bars.aggs >= 4)
    assert np.all(bars.volume >= bars.trades)  # every trade moves at least one lot
    quote_per_unit = btc.tick * btc.lot
    vwap = bars.quote * quote_per_unit / (bars.volume * btc.lot)
    typical = (bars.high + bars.low + bars.close) / 3 * btc.tick
    assert np.allclose(vwap, typical, rtol=0.01)
    assert np.all(bars.quote_buy <= bars.quote)


def test_ids_run_on_without_gaps(btc: SyntheticMarket) -> None:
    bars = btc.nodes(Level.MINUTE, NOW_MINUTE - 500, NOW_MINUTE)
    assert np.array_equal(bars.first_agg_id[1:], bars.first_agg_id[:-1] + bars.aggs[:-1])
    assert np.array_equal(bars.first_trade_id[1:], bars.first_trade_id[:-1] + bars.trades[:-1])
    first = btc.nodes(Level.MINUTE, 0, LISTING_MS // LEVEL_MS[Level.MINUTE] + 1)
    assert first.first_agg_id.tolist() == [0]
    assert first.first_trade_id.tolist() == [0]


def test_nothing_before_the_listing(btc: SyntheticMarket) -> None:
    listing_day = LISTING_MS // DAY_MS
    assert len(btc.nodes(Level.DAY, listing_day - 10, listing_day)) == 0
    assert btc.nodes(Level.DAY, listing_day - 10, listing_day + 1).start.tolist() == [LISTING_MS]


@pytest.mark.parametrize("symbol", sorted(TYPICAL_PRICE))
def test_prices_are_realistic_for_the_symbol(make_market: MarketFactory, symbol: str) -> None:
    market = make_market(symbol)
    today = NOW_MS // DAY_MS
    days = market.nodes(Level.DAY, today - 1_500, today)
    low, high = TYPICAL_PRICE[symbol]
    assert low < days.low.min() * market.tick
    assert days.high.max() * market.tick < high


def test_spot_and_futures_share_prices_not_activity(make_market: MarketFactory) -> None:
    spot = make_market("ETHUSDT")
    futures = make_market("ETHUSDT", kind=MarketKind.FUTURES)
    span = (NOW_MINUTE - 60, NOW_MINUTE)
    spot_close = spot.nodes(Level.MINUTE, *span).close * spot.tick
    futures_close = futures.nodes(Level.MINUTE, *span).close * futures.tick
    assert np.allclose(spot_close, futures_close, rtol=0.002)
    spot_trades = spot.nodes(Level.MINUTE, *span).trades
    assert not np.array_equal(spot_trades, futures.nodes(Level.MINUTE, *span).trades)


def test_every_default_symbol_is_known() -> None:
    assert set(DEFAULT_SYMBOLS) <= set(KNOWN_INSTRUMENTS)


def test_unknown_symbols_get_a_stable_plausible_market(make_market: MarketFactory) -> None:
    spec = derived_instrument("FOOUSDT")
    assert spec == derived_instrument("FOOUSDT")
    assert (spec.base_asset, spec.quote_asset) == ("FOO", "USDT")
    assert derived_instrument("FOOBTC").quote_asset == "BTC"
    assert 0.1 <= spec.base_price <= 10**2.5
    assert spec.spot.quote_decimals <= 8
    market = make_market("FOOUSDT")
    bars = market.nodes(Level.MINUTE, NOW_MINUTE - 100, NOW_MINUTE)
    relative_tick = market.tick / (bars.close[-1] * market.tick)
    assert relative_tick < 1e-3  # several significant digits of price
    assert np.all(bars.volume > 0)
