"""Where the simulated futures price is: the last trade at a moment, and the first trade
after a moment that crosses a resting algo order's trigger price.

The tape is the market's own aggregate trades (``trades``), so an algo order fires at the
exact trade that reached it, whatever time the next request comes at. Minutes are first
screened by their candle's high and low, and only a minute whose range reaches a trigger is
replayed trade by trade.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import numpy as np

from petrosa.exchange.simulator.algo_orders import AlgoOrder
from petrosa.exchange.simulator.bars import Bars, Ints
from petrosa.exchange.simulator.market import MINUTE_MS, Level, SyntheticMarket
from petrosa.exchange.simulator.trades import minute_trades

MINUTE_TAPES_CACHED = 256
"""Minutes whose trade tape is kept for last-price look-ups (a few per listed symbol)."""
SCAN_CHUNK_MINUTES = 60
"""Minutes screened per batch of candles."""
LAST_ID = 2**63 - 1


def tick_size(market: SyntheticMarket) -> Decimal:
    return Decimal(1).scaleb(-market.contract.price_decimals)


def price_of(market: SyntheticMarket, ticks: int) -> Decimal:
    """A price in ticks as an exact decimal."""
    return Decimal(ticks).scaleb(-market.contract.price_decimals)


def last_price(market: SyntheticMarket, now: int) -> Decimal:
    """The price of the last trade at or before ``now`` (a minute's open before its first)."""
    opening, times, prices = _minute_tape(market, now // MINUTE_MS, market.overlay_version)
    done = int(np.searchsorted(times, now, side="right"))
    return price_of(market, int(prices[done - 1]) if done else opening)


@lru_cache(maxsize=MINUTE_TAPES_CACHED)
def _minute_tape(market: SyntheticMarket, minute: int, version: int) -> tuple[int, Ints, Ints]:
    """A minute's opening price and its trades' times and prices (in time order). The tape
    is a pure function of the market's seed (and its scenarios' ``version``), so a minute is
    replayed once, not per request (replaying costs milliseconds; the mark price is asked
    for by every order)."""
    bar = market.nodes(Level.MINUTE, minute, minute + 1)
    trades = minute_trades(market, bar)
    return int(bar.open[0]), trades.time, trades.price


@dataclass(frozen=True)
class Cursor:
    """A point on the tape: trades strictly after (time, trade id) come later."""

    time: int
    trade_id: int = LAST_ID

    def __lt__(self, other: Cursor) -> bool:
        return (self.time, self.trade_id) < (other.time, other.trade_id)


@dataclass(frozen=True)
class Crossing:
    """A trade that fires a resting algo order."""

    order: AlgoOrder
    price: Decimal
    at: Cursor


def _trigger_ticks(market: SyntheticMarket, order: AlgoOrder) -> int:
    return int(order.trigger_price.scaleb(market.contract.price_decimals))


def first_crossing(
    market: SyntheticMarket, orders: Sequence[AlgoOrder], after: Cursor, end: int
) -> Crossing | None:
    """The earliest trade after ``after`` and up to ``end`` that fires one of ``orders``
    (each only by trades later than its own placement); ties go to the older order."""
    if not orders or end < after.time:
        return None
    stops = np.array([_trigger_ticks(market, o) for o in orders], dtype=np.int64)
    rising = np.array([o.fires_rising for o in orders], dtype=np.bool_)
    placed = np.array([o.create_time for o in orders], dtype=np.int64)
    first_minute = max(after.time, int(placed.min())) // MINUTE_MS
    last_minute = end // MINUTE_MS
    for lo in range(first_minute, last_minute + 1, SCAN_CHUNK_MINUTES):
        bars = market.nodes(Level.MINUTE, lo, min(lo + SCAN_CHUNK_MINUTES, last_minute + 1))
        reach = np.where(
            rising[None, :], bars.high[:, None] >= stops, bars.low[:, None] <= stops
        ) & (bars.start[:, None] + MINUTE_MS > placed)
        for row in np.flatnonzero(reach.any(axis=1)).tolist():
            crossing = _in_minute(market, bars.take(slice(row, row + 1)), orders, after, end)
            if crossing is not None:
                return crossing
    return None


def _in_minute(
    market: SyntheticMarket, bar: Bars, orders: Sequence[AlgoOrder], after: Cursor, end: int
) -> Crossing | None:
    trades = minute_trades(market, bar)
    later = (trades.time > after.time) | (
        (trades.time == after.time) & (trades.id > after.trade_id)
    )
    live = later & (trades.time <= end)
    best: tuple[int, int] | None = None
    for index, order in enumerate(orders):
        stop = _trigger_ticks(market, order)
        hits = trades.price >= stop if order.fires_rising else trades.price <= stop
        hits &= live & (trades.time > order.create_time)
        if hits.any():
            row = int(np.argmax(hits))
            if best is None or row < best[0]:
                best = (row, index)
    if best is None:
        return None
    row, index = best
    at = Cursor(int(trades.time[row]), int(trades.id[row]))
    return Crossing(orders[index], price_of(market, int(trades.price[row])), at)
