"""Aggregate trades: consistent with their minute's candle, ids in time order, and the
tape's queries by id, by time and newest-first."""

from __future__ import annotations

import numpy as np
import pytest

from petrosa.exchange.simulator import tape
from petrosa.exchange.simulator.market import Level, SyntheticMarket
from petrosa.exchange.simulator.trades import AggTrades, minute_trades
from tests.unit.exchange.simulator.conftest import NOW_MS, MarketFactory

MINUTE_MS = 60_000
NOW_MINUTE = NOW_MS // MINUTE_MS


def _trades(market: SyntheticMarket, first: int, stop: int) -> list[tuple[AggTrades, int]]:
    bars = market.nodes(Level.MINUTE, first, stop)
    return [(minute_trades(market, bars.take(slice(i, i + 1))), i) for i in range(len(bars))]


@pytest.mark.parametrize("symbol", ["BTCUSDT", "XLMUSDT", "FOOUSDT"])
def test_trades_add_up_to_their_candle(make_market: MarketFactory, symbol: str) -> None:
    market = make_market(symbol)
    bars = market.nodes(Level.MINUTE, NOW_MINUTE - 30, NOW_MINUTE)
    for trades, row in _trades(market, NOW_MINUTE - 30, NOW_MINUTE):
        bar = bars.take(slice(row, row + 1))
        assert len(trades) == int(bar.aggs[0])
        assert int(trades.price.min()) == int(bar.low[0])
        assert int(trades.price.max()) == int(bar.high[0])
        assert int(trades.price[0]) == int(bar.open[0])
        assert int(trades.price[-1]) == int(bar.close[0])
        assert int(trades.qty.sum()) == int(bar.volume[0])
        assert int(trades.qty[~trades.buyer_maker].sum()) == int(bar.volume_buy[0])
        individual = trades.last_trade_id - trades.first_trade_id + 1
        assert int(individual.sum()) == int(bar.trades[0])
        assert np.all(trades.qty >= individual)
        assert np.all((trades.time >= bar.start[0]) & (trades.time < bar.start[0] + MINUTE_MS))


def test_ids_increase_with_time_without_gaps(btc: SyntheticMarket) -> None:
    everything = AggTrades.concat([t for t, _ in _trades(btc, NOW_MINUTE - 20, NOW_MINUTE)])
    assert np.all(np.diff(everything.id) == 1)
    assert np.all(np.diff(everything.time) >= 0)
    assert np.array_equal(everything.first_trade_id[1:], everything.last_trade_id[:-1] + 1)


def test_recent_trades_end_at_now(btc: SyntheticMarket) -> None:
    found = tape.recent(btc, now=NOW_MS, limit=700)
    assert len(found) == 700
    assert int(found.time.max()) <= NOW_MS
    assert np.all(np.diff(found.id) == 1)
    everything = tape.between(btc, NOW_MS - MINUTE_MS, NOW_MS, now=NOW_MS, limit=10**6)
    assert int(found.id[-1]) == int(everything.id[-1])


def test_trades_between_times_are_inclusive_and_stop_at_now(btc: SyntheticMarket) -> None:
    found = tape.between(btc, NOW_MS - 600_000, NOW_MS + 600_000, now=NOW_MS, limit=1_000)
    assert len(found) == 1_000
    assert int(found.time[0]) >= NOW_MS - 600_000
    exact = int(found.time[5])
    again = tape.between(btc, exact, exact, now=NOW_MS, limit=1_000)
    assert len(again) >= 1
    assert set(again.time.tolist()) == {exact}
    all_recent = tape.between(btc, NOW_MS - 120_000, NOW_MS + 600_000, now=NOW_MS, limit=10**6)
    assert int(all_recent.time.max()) <= NOW_MS


def test_trades_from_an_id(btc: SyntheticMarket) -> None:
    recent = tape.recent(btc, now=NOW_MS, limit=1_000)
    first_id = int(recent.id[100])
    found = tape.from_id(btc, first_id, now=NOW_MS, limit=50)
    assert found.id.tolist() == list(range(first_id, first_id + 50))
    assert found.time.tolist() == recent.time[100:150].tolist()
    # the very first trade of the listing, and ids that do not exist yet
    assert tape.from_id(btc, 0, now=NOW_MS, limit=1).id.tolist() == [0]
    assert len(tape.from_id(btc, int(recent.id[-1]) + 1, now=NOW_MS, limit=10)) == 0


def test_from_id_pages_walk_the_tape(btc: SyntheticMarket) -> None:
    start = int(tape.recent(btc, now=NOW_MS - 3_600_000, limit=1).id[0])
    first = tape.from_id(btc, start, now=NOW_MS, limit=1_000)
    second = tape.from_id(btc, int(first.id[-1]) + 1, now=NOW_MS, limit=1_000)
    assert int(second.id[0]) == int(first.id[-1]) + 1
    assert int(second.time[0]) >= int(first.time[-1])
