"""The aggregate-trade tape: trades by id or by time, never past ``now``.

Minutes are visited in chunks (a quarter-hour of candles generated at a time) until
``limit`` trades are found; every minute holds at least four, so a page of 1,000 trades
never visits more than 250 minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from numpy.typing import NDArray

from petrosa.exchange.simulator.market import LEVEL_MS, MINUTE_MS, Level, SyntheticMarket
from petrosa.exchange.simulator.trades import AggTrades, minute_trades

LOOKUP_WINDOW_MS = 3_600_000
"""Binance wants ``endTime - startTime`` below one hour in a time-ranged request."""
CHUNK_MINUTES = 15
Keep = Callable[[AggTrades], NDArray[np.bool_]]


def _chunks(
    market: SyntheticMarket, first: int, last: int, *, backwards: bool
) -> Iterator[tuple[int, int]]:
    """(first, stop) chunks of minute indices covering [first, last], in visiting order."""
    first = max(first, market.first_index(Level.MINUTE))
    if backwards:
        for stop in range(last + 1, first, -CHUNK_MINUTES):
            yield max(first, stop - CHUNK_MINUTES), stop
    else:
        for lo in range(first, last + 1, CHUNK_MINUTES):
            yield lo, min(lo + CHUNK_MINUTES, last + 1)


def _scan(
    market: SyntheticMarket,
    first: int,
    last: int,
    keep: Keep,
    limit: int,
    *,
    backwards: bool = False,
) -> AggTrades:
    """Up to ``limit`` trades that ``keep`` accepts in minutes [first, last]: the earliest
    ones, or with ``backwards`` the latest ones; in time order either way."""
    found: list[AggTrades] = []
    count = 0
    for chunk_first, chunk_stop in _chunks(market, first, last, backwards=backwards):
        bars = market.nodes(Level.MINUTE, chunk_first, chunk_stop)
        rows = range(len(bars) - 1, -1, -1) if backwards else range(len(bars))
        for row in rows:
            trades = minute_trades(market, bars.take(slice(row, row + 1)))
            trades = trades.take(keep(trades))
            found.append(trades)
            count += len(trades)
            if count >= limit:
                break
        if count >= limit:
            break
    if backwards:
        found.reverse()
        everything = AggTrades.concat(found)
        return everything.take(slice(max(0, len(everything) - limit), None))
    return AggTrades.concat(found).take(slice(0, limit))


def recent(market: SyntheticMarket, *, now: int, limit: int) -> AggTrades:
    """The newest ``limit`` trades at ``now``."""
    minute = now // MINUTE_MS
    return _scan(market, minute - limit, minute, lambda t: t.time <= now, limit, backwards=True)


def between(market: SyntheticMarket, start: int, end: int, *, now: int, limit: int) -> AggTrades:
    """The first ``limit`` trades with time in [start, end] (inclusive), up to ``now``."""
    end = min(end, now)
    if end < start:
        return AggTrades.concat([])

    def keep(trades: AggTrades) -> NDArray[np.bool_]:
        return (trades.time >= start) & (trades.time <= end)

    return _scan(market, start // MINUTE_MS, end // MINUTE_MS, keep, limit)


def from_id(
    market: SyntheticMarket,
    first_id: int,
    *,
    now: int,
    limit: int,
    start: int | None = None,
    end: int | None = None,
) -> AggTrades:
    """The first ``limit`` trades with id >= ``first_id`` (and time in [start, end])."""
    day_ms = LEVEL_MS[Level.DAY]
    day = market.day_of_agg_id(first_id, last_day=now // day_ms)
    if day is None:
        return AggTrades.concat([])
    per_day = day_ms // MINUTE_MS
    minutes = market.nodes(Level.MINUTE, day * per_day, (day + 1) * per_day)
    row = int(np.searchsorted(minutes.first_agg_id, first_id, side="right")) - 1
    first_minute = int(minutes.start[row]) // MINUTE_MS
    lo = -1 if start is None else start
    hi = now if end is None else min(end, now)

    def keep(trades: AggTrades) -> NDArray[np.bool_]:
        return (trades.id >= first_id) & (trades.time >= lo) & (trades.time <= hi)

    return _scan(market, first_minute, hi // MINUTE_MS, keep, limit)
