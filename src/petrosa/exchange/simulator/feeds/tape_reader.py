"""Reading a market's aggregate trades forward in time, each exactly once.

A live trade stream asks "what traded since last time?" every poll, mostly within the same
minute; generating a minute's trades costs about as much as a whole quarter-hour's candles,
so the reader keeps the candles of the current quarter and the trades of the current minute.
"""

from __future__ import annotations

import numpy as np

from petrosa.exchange.simulator.bars import Bars
from petrosa.exchange.simulator.market import FANOUT, MINUTE_MS, Level, SyntheticMarket
from petrosa.exchange.simulator.trades import AggTrades, minute_trades

QUARTER_MINUTES = FANOUT[Level.QUARTER]


class TapeReader:
    """The trades of one market after a starting moment, in id order, a batch at a time."""

    def __init__(self, market: SyntheticMarket, start_ms: int) -> None:
        self._market = market
        self._minute = max(start_ms // MINUTE_MS, market.first_index(Level.MINUTE))
        self._quarter: tuple[int, int, Bars] | None = None
        self._trades: tuple[int, int, AggTrades] | None = None
        """(quarter or minute, the market's scenario version, what it holds)."""
        trades = self._trades_of(self._minute)
        self._next_id = int(trades.id[0]) + int(np.searchsorted(trades.time, start_ms, "right"))
        """The first trade not read yet."""

    def read(self, now_ms: int, limit: int, *, count_individual: bool = False) -> AggTrades:
        """The trades not read before with time up to ``now_ms``, oldest first: up to
        ``limit`` of them, or with ``count_individual`` as many as hold up to ``limit``
        individual trades (at least one)."""
        found: list[AggTrades] = []
        count = 0
        last_minute = now_ms // MINUTE_MS
        while self._minute <= last_minute and count < limit:
            trades = self._trades_of(self._minute)
            fresh = trades.take((trades.id >= self._next_id) & (trades.time <= now_ms))
            sizes = fresh.last_trade_id - fresh.first_trade_id + 1
            if not count_individual:
                sizes = np.ones_like(sizes)
            fits = int(np.searchsorted(np.cumsum(sizes), limit - count, "right"))
            if count == 0 and len(fresh):
                fits = max(fits, 1)  # never stuck behind one trade bigger than the limit
            fresh = fresh.take(slice(0, fits))
            if len(fresh):
                found.append(fresh)
                count += int(sizes[:fits].sum())
                self._next_id = int(fresh.id[-1]) + 1
            if self._next_id < int(trades.id[-1]) + 1:
                break  # the rest of this minute is later than now, or over the limit
            self._minute += 1
        return AggTrades.concat(found)

    def _trades_of(self, minute: int) -> AggTrades:
        version = self._market.overlay_version
        if self._trades is not None and self._trades[:2] == (minute, version):
            return self._trades[2]
        quarter = minute // QUARTER_MINUTES
        if self._quarter is None or self._quarter[:2] != (quarter, version):
            first = quarter * QUARTER_MINUTES
            bars = self._market.nodes(Level.MINUTE, first, first + QUARTER_MINUTES)
            self._quarter = (quarter, version, bars)
        bars = self._quarter[2]
        row = int(np.searchsorted(bars.start, minute * MINUTE_MS))
        trades = minute_trades(self._market, bars.take(slice(row, row + 1)))
        self._trades = (minute, version, trades)
        return trades
