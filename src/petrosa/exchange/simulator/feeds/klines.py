"""``<symbol>@kline_<interval>``: the open kline at every cadence boundary, and each kline
once more, closed (``x`` true), at the boundary where it closes.

A closed kline is the REST kline of the same open time, formatted by the same function
(``marketdata.kline_table``); the open one is the partial kline at the event time. After a
jump of the clock a poll gives every kline that closed meanwhile (at most
``MAX_EVENTS_PER_POLL``, the rest next poll) and then the current one at the last boundary.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from petrosa.contracts.market import Interval
from petrosa.exchange.binance.streams import Stream
from petrosa.exchange.simulator.bars import Bars
from petrosa.exchange.simulator.candles import KlineQuery, Klines, klines
from petrosa.exchange.simulator.feeds.base import (
    MAX_EVENTS_PER_POLL,
    cadence_of,
    encode,
    latest_boundary,
    market_kind,
    profile_of,
)
from petrosa.exchange.simulator.grid import CandleGrid
from petrosa.exchange.simulator.market import MINUTE_MS, Level
from petrosa.exchange.simulator.marketdata import kline_table
from petrosa.exchange.simulator.trades import partial_minute
from petrosa.exchange.simulator.venue import Venue

NO_TRADE_ID = -1
"""``f`` and ``L`` of a kline without trades."""


class KlineFeed:
    """Klines of one symbol and interval."""

    def __init__(self, venue: Venue, stream: Stream, now_ms: int) -> None:
        self.stream = stream
        self._market = venue.market(market_kind(stream), stream.symbol)
        self._profile = profile_of(stream)
        assert stream.type.interval is not None
        self._interval = Interval(stream.type.interval)
        self._grid = CandleGrid(self._interval)
        self._cadence_ms = cadence_of(stream)
        self._emitted_ms = now_ms
        """Events up to this time are out (or predate the feed)."""
        self._settled: tuple[tuple[int, int], Bars | None, Bars] | None = None
        """((minute, scenario version), the current kline's finished minutes before it, the
        minute's candle): generated once per minute, not per event."""

    def poll(self, now_ms: int) -> list[bytes]:
        if now_ms <= self._emitted_ms:
            return []
        grid = self._grid
        first = grid.index_of(self._emitted_ms)  # closes after what went out
        last = min(grid.index_of(now_ms) - 1, first + MAX_EVENTS_PER_POLL - 1)
        events: list[bytes] = []
        if last >= first:
            count = last - first + 1
            query = KlineQuery(self._interval, grid.start(first), grid.start(last), count)
            closed = klines(self._market, query, now_ms)
            closes = closed.close_time.tolist()
            events = [
                self._event(body, close + 1, closed=True)
                for body, close in zip(self._bodies(closed), closes, strict=True)
            ]
            if count == MAX_EVENTS_PER_POLL:  # more to catch up: current one later
                self._emitted_ms = grid.start(last + 1)
                return events
        boundary = latest_boundary(self._emitted_ms, now_ms, self._cadence_ms)
        self._emitted_ms = now_ms
        if boundary is not None:
            current = self._current(boundary)
            events += [self._event(body, boundary, closed=False) for body in self._bodies(current)]
        return events

    def _current(self, at_ms: int) -> Klines:
        """The kline holding ``at_ms``, as ``klines`` gives it at ``at_ms``: its finished
        minutes (merged once per minute) and the minute in progress up to ``at_ms``."""
        minute = at_ms // MINUTE_MS
        key = (minute, self._market.overlay_version)
        if self._settled is None or self._settled[0] != key:
            bar = self._market.nodes(Level.MINUTE, minute, minute + 1)
            self._settled = (key, self._finished_minutes(minute), bar)
        _, finished, bar = self._settled
        if len(bar) == 0:  # before the listing
            return klines(self._market, KlineQuery(self._interval, None, at_ms, 1), at_ms)
        parts = [partial_minute(self._market, bar, at_ms)]
        merged = Bars.concat([finished, *parts]).merged() if finished is not None else parts[0]
        index = self._grid.index_of(at_ms)
        start = np.array([self._grid.start(index)], dtype=np.int64)
        close = np.array([self._grid.start(index + 1) - 1], dtype=np.int64)
        return Klines(replace(merged, start=start), close)

    def _finished_minutes(self, minute: int) -> Bars | None:
        """The kline holding ``minute`` up to that minute's start; None if it opens then."""
        before = minute * MINUTE_MS - 1
        if self._grid.index_of(before) != self._grid.index_of(before + 1):
            return None
        return klines(self._market, KlineQuery(self._interval, None, before, 1), before).bars

    def _bodies(self, found: Klines) -> list[dict[str, Any]]:
        """The ``k`` objects of ``found`` (without ``x``), from the REST rows."""
        rows = kline_table(found, self._market.contract, self._profile)
        bars = found.bars
        counts = bars.trades.tolist()
        firsts = bars.first_trade_id.tolist()
        bodies = []
        for row, count, first in zip(rows, counts, firsts, strict=True):
            t, o, h, low, c, v, close, q, n, taker_v, taker_q, _ = row
            bodies.append(
                {
                    "t": t,
                    "T": close,
                    "s": self.stream.symbol,
                    "i": self._interval.value,
                    "f": first if count else NO_TRADE_ID,
                    "L": first + count - 1 if count else NO_TRADE_ID,
                    "o": o,
                    "c": c,
                    "h": h,
                    "l": low,
                    "v": v,
                    "n": n,
                    "x": False,
                    "q": q,
                    "V": taker_v,
                    "Q": taker_q,
                    "B": "0",
                }
            )
        return bodies

    def _event(self, body: dict[str, Any], event_ms: int, *, closed: bool) -> bytes:
        body["x"] = closed
        return encode({"e": "kline", "E": event_ms, "s": self.stream.symbol, "k": body})
